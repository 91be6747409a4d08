#!/usr/bin/env bash
# tests/support/make_test_certs.sh makes what the mTLS tests expect: the good client and the
# server verify against the CA (the server for localhost and 127.0.0.1), the expired client fails
# as expired, the client of another CA fails; the subjects read as the auth file names them; a
# second run changes nothing.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 make_test_certs.sh" >&2; exit 2; }
make_certs=$(realpath "$1")
dir=$(mktemp -d "${TMPDIR:-/tmp}/ringcast-certs-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

output=$(bash "$make_certs" "$dir/certs" 2>&1) || fail "make_test_certs.sh failed: $output"
[[ -z "$output" ]] || fail "make_test_certs.sh is not quiet: $output"
before=$(cd "$dir/certs" && sha256sum ./*)
bash "$make_certs" "$dir/certs"
[[ "$(cd "$dir/certs" && sha256sum ./*)" == "$before" ]] || fail "a second run changed the files"

cd "$dir/certs"
verify() { openssl verify -CAfile ca.pem "$@" 2>&1; }

out=$(verify -purpose sslclient client.pem) || fail "client.pem does not verify: $out"
out=$(verify -purpose sslclient client2.pem) || fail "client2.pem does not verify: $out"
out=$(verify -purpose sslserver -verify_hostname localhost server.pem) ||
  fail "server.pem does not verify for localhost: $out"
out=$(verify -purpose sslserver -verify_ip 127.0.0.1 server.pem) ||
  fail "server.pem does not verify for 127.0.0.1: $out"

if out=$(verify expired-client.pem); then fail "the expired certificate verifies"; fi
[[ "$out" == *"certificate has expired"* ]] || fail "expired-client.pem fails for another reason: $out"

if out=$(verify other-client.pem); then fail "the other CA's client verifies"; fi
[[ "$out" == *"unable to get local issuer certificate"* ]] ||
  fail "other-client.pem fails for another reason: $out"
out=$(openssl verify -CAfile other-ca.pem other-client.pem 2>&1) ||
  fail "other-client.pem does not verify against its own CA: $out"

subject=$(openssl x509 -in client.pem -noout -subject -nameopt RFC2253)
[[ "$subject" == "subject=CN=orders-writer,O=ringcast-test" ]] || fail "client subject: $subject"
key_mode=$(stat -c %a client.key)
[[ "$key_mode" == 600 ]] || fail "client.key has mode $key_mode"

# A missing file makes the script rebuild the whole set.
rm client2.pem
bash "$make_certs" "$dir/certs"
[[ -s client2.pem ]] || fail "client2.pem not remade"
out=$(verify client2.pem) || fail "remade client2.pem does not verify: $out"
out=$(verify client.pem) || fail "remade client.pem does not verify: $out"

# Fails loudly: a directory it cannot write.
if bash "$make_certs" /proc/ringcast-certs 2>/dev/null; then fail "no error for an unwritable DIR"; fi
echo "ok: make_test_certs.sh"
