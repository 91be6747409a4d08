#!/usr/bin/env bash
# Every shell script of the deploy tests and of deploy/ passes shellcheck (any finding fails).
# Usage: shellcheck_test.sh TESTS_DEPLOY_DIR DEPLOY_DIR
set -euo pipefail
command -v shellcheck >/dev/null || { echo "shellcheck is missing (Debian package shellcheck)" >&2; exit 1; }
mapfile -t scripts < <(find "$@" -type f -name '*.sh' | sort)
[[ ${#scripts[@]} -gt 0 ]] || { echo "no shell scripts found under $*"; exit 1; }
printf '%s\n' "${scripts[@]}"
shellcheck --shell=bash --severity=style "${scripts[@]}"
echo "${#scripts[@]} scripts pass shellcheck"
