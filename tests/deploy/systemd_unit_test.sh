#!/usr/bin/env bash
# deploy/systemd/ringcastd.service: `systemd-analyze verify` accepts it without a single warning
# (run on a copy whose ExecStart names the built ringcastd, since verify checks the binary exists),
# `systemd-analyze security --offline=yes` rates its exposure 2.0 or better, it carries the
# hardening and restart settings the deploy README promises, reads its flags with --flagfile, and
# gives the graceful shutdown (--shutdown_timeout of ringcastd.flags) time before SIGKILL, and gives
# the durable topics a StateDirectory that the flag file's --data_dir names; `systemctl reload`
# sends SIGHUP; the TLS drop-in ringcastd-tls.conf verifies with it and loads the TLS files the
# flags name as credentials.
# Usage: systemd_unit_test.sh DEPLOY_DIR RINGCASTD
set -euo pipefail
deploy=$1
ringcastd=$2
unit=$deploy/systemd/ringcastd.service
flags=$deploy/systemd/ringcastd.flags
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (Debian package systemd)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}

sed "s#^ExecStart=/usr/local/bin/ringcastd #ExecStart=$ringcastd #" "$unit" > "$work/ringcastd.service"
check "the copy's ExecStart names the built binary" grep -q "^ExecStart=$ringcastd " "$work/ringcastd.service"
verify_rc=0
(cd "$work" && systemd-analyze verify "$work/ringcastd.service") > "$work/verify.out" 2>&1 || verify_rc=$?
cat "$work/verify.out"
check "systemd-analyze verify exits 0" test "$verify_rc" -eq 0
check "systemd-analyze verify prints no warning" test ! -s "$work/verify.out"
# --threshold is in tenths of the printed 0-10 exposure level: 20 means 2.0.
security_rc=0
systemd-analyze security --offline=yes --threshold=20 "$work/ringcastd.service" > "$work/security.out" 2>&1 \
  || security_rc=$?
grep 'Overall exposure' "$work/security.out" || cat "$work/security.out"
check "systemd-analyze security: exposure 2.0 or better" test "$security_rc" -eq 0

setting() { grep -E "^$1=" "$unit" | tail -1 | cut -d= -f2-; }
expect() {  # expect KEY VALUE
  check "$1=$2" test "$(setting "$1")" == "$2"
}
unprivileged() { [[ "$(setting DynamicUser)" == yes || ( -n "$(setting User)" && "$(setting User)" != root ) ]]; }
check "DynamicUser=yes or a dedicated User=" unprivileged
expect NoNewPrivileges yes
expect ProtectSystem strict
expect ProtectHome yes
expect PrivateTmp yes
expect PrivateDevices yes
expect MemoryDenyWriteExecute yes
expect Restart on-failure
expect KillSignal SIGTERM
check "RestrictAddressFamilies is set" test -n "$(setting RestrictAddressFamilies)"
check "SystemCallFilter=@system-service" grep -qx 'SystemCallFilter=@system-service' "$unit"
check "LimitNOFILE is set" test -n "$(setting LimitNOFILE)"
check "ExecStart reads /etc/ringcast/ringcastd.flags" \
  grep -qE '^ExecStart=/usr/local/bin/ringcastd --flagfile=/etc/ringcast/ringcastd.flags$' "$unit"

# Durable topics: the data directory is the unit's StateDirectory (under ProtectSystem=strict the
# only writable path), owned by the dynamic user and private to it. The flag file names it by its
# absolute path: ringcastd's default, relative to the working directory (/), is read-only here.
expect StateDirectory ringcast
expect StateDirectoryMode 0700
check "no ReadWritePaths= (nothing writable but the state directory)" test -z "$(setting ReadWritePaths)"
data_dir=$(grep -E '^--data_dir=' "$flags" | tail -1 | cut -d= -f2- || true)
echo "--data_dir=$data_dir"
check "ringcastd.flags --data_dir=/var/lib/\$StateDirectory" \
  test "$data_dir" == "/var/lib/$(setting StateDirectory)"

# `systemctl reload` sends SIGHUP, which makes ringcastd read its auth file again.
# shellcheck disable=SC2016  # $MAINPID is systemd's, not the shell's
check "ExecReload=/bin/kill -HUP \$MAINPID" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit"

# The TLS drop-in: verifies with the unit (drop-ins next to a unit given by path are loaded) without
# a warning and keeps its exposure; its credentials are the TLS files the flags name under %d, and
# its ExecStart replaces the unit's with the same flag file first.
dropin=$deploy/systemd/ringcastd-tls.conf
mkdir -p "$work/tls/ringcastd.service.d"
cp "$work/ringcastd.service" "$work/tls/ringcastd.service"
sed "s#^ExecStart=/usr/local/bin/ringcastd #ExecStart=$ringcastd #" "$dropin" > "$work/tls/ringcastd.service.d/ringcastd-tls.conf"
echo 'Bogus=1' >> "$work/tls/ringcastd.service.d/ringcastd-tls.conf"
(cd "$work/tls" && systemd-analyze verify "$work/tls/ringcastd.service") > "$work/tls/probe.out" 2>&1 || true
check "systemd-analyze verify reads the drop-in (a bad line in it is reported)" grep -q Bogus "$work/tls/probe.out"
sed -i '$d' "$work/tls/ringcastd.service.d/ringcastd-tls.conf"
tls_rc=0
(cd "$work/tls" && systemd-analyze verify "$work/tls/ringcastd.service") > "$work/tls/verify.out" 2>&1 || tls_rc=$?
cat "$work/tls/verify.out"
check "with ringcastd-tls.conf: systemd-analyze verify exits 0, no warning" \
  test "$tls_rc" -eq 0 -a ! -s "$work/tls/verify.out"
tls_security_rc=0
systemd-analyze security --offline=yes --threshold=20 "$work/tls/ringcastd.service" > "$work/tls/security.out" 2>&1 \
  || tls_security_rc=$?
grep 'Overall exposure' "$work/tls/security.out" || cat "$work/tls/security.out"
check "with ringcastd-tls.conf: exposure 2.0 or better" test "$tls_security_rc" -eq 0
exec_start=$(grep -E '^ExecStart=.' "$dropin" | tail -1 | cut -d= -f2-)
check "ringcastd-tls.conf resets ExecStart= first" grep -qx 'ExecStart=' "$dropin"
check "ringcastd-tls.conf's ExecStart reads /etc/ringcast/ringcastd.flags first" \
  grep -qE '^/usr/local/bin/ringcastd --flagfile=/etc/ringcast/ringcastd.flags ' <<<"$exec_start"
for pair in tls_cert:tls.crt tls_key:tls.key tls_client_ca:ca.crt; do
  flag=${pair%%:*} id=${pair#*:}
  # shellcheck disable=SC2016  # the inner script's positional parameters
  check "ringcastd-tls.conf: --$flag=%d/$id, loaded by LoadCredential=$id:/etc/ringcast/tls/$id" \
    bash -c 'grep -q -- " --$1=%d/$2\( \|$\)" <<<"$3" && grep -qx "LoadCredential=$2:/etc/ringcast/tls/$2" "$4"' \
    _ "$flag" "$id" "$exec_start" "$dropin"
done
check "ringcastd-tls.conf: --auth_file is read in place (a credential copy would not reload)" \
  grep -q -- ' --auth_file=/etc/ringcast/auth.json' <<<"$exec_start"

# TimeoutStopSec above the flag file's --shutdown_timeout (ringcastd's default: 30s).
microseconds() { systemd-analyze timespan "$1" | awk '$1 == "μs:" { print $2 }'; }
shutdown=$(grep -E '^--shutdown_timeout=' "$flags" | tail -1 | cut -d= -f2 || true)
stop=$(setting TimeoutStopSec || true)
if [[ -n "$stop" ]]; then
  stop_us=$(microseconds "$stop")
  shutdown_us=$(microseconds "${shutdown:-30s}")
  echo "TimeoutStopSec $stop_us us, --shutdown_timeout $shutdown_us us"
  check "TimeoutStopSec exceeds --shutdown_timeout" test "$stop_us" -gt "$shutdown_us"
else
  check "TimeoutStopSec is set" false
fi

if [[ $failures -ne 0 ]]; then echo "$failures checks failed"; exit 1; fi
echo "all checks passed"
