#!/usr/bin/env bash
# make_test_certs.sh DIR: the certificates of the mTLS tests, made with Debian's openssl (3.0).
#
#   ca.pem, ca.key                       the test CA
#   server.pem, server.key               localhost, SANs DNS:localhost and IP:127.0.0.1
#   client.pem, client.key               CN=orders-writer,O=ringcast-test (RFC 2253 subject)
#   client2.pem, client2.key             CN=orders-reader,O=ringcast-test
#   expired-client.pem, .key             CN=expired-client,O=ringcast-test, valid only in 2020
#   other-ca.pem, other-ca.key           a second, unrelated CA
#   other-client.pem, other-client.key   CN=orders-writer,O=ringcast-test signed by the other CA
#
# Idempotent: when DIR already holds every file it changes nothing. Otherwise everything is made
# in a temporary directory and moved into DIR only when all of it succeeded. Quiet on success; on
# failure it prints the command that failed with openssl's output and exits non-zero.
set -euo pipefail

usage() { echo "usage: $0 DIR" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
out=$1

files=(ca.pem ca.key server.pem server.key client.pem client.key client2.pem client2.key
       expired-client.pem expired-client.key other-ca.pem other-ca.key
       other-client.pem other-client.key)

complete=1
for f in "${files[@]}"; do [[ -s "$out/$f" ]] || complete=0; done
[[ $complete -eq 1 ]] && exit 0

command -v openssl >/dev/null || { echo "make_test_certs: openssl not found" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/ringcast-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Runs a command, showing its output only when it fails.
run() {
  local output
  if ! output=$("$@" 2>&1); then
    echo "make_test_certs: failed: $*" >&2
    echo "$output" >&2
    exit 1
  fi
}

# new_ca NAME SUBJECT
new_ca() {
  run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -keyout "$work/$1.key" -out "$work/$1.pem" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# new_leaf NAME SUBJECT CA EXTENSIONS: a key and a certificate valid for 825 days from now.
new_leaf() {
  run openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/$1.key" -out "$work/$1.csr" -subj "$2"
  printf '%b\n' "$4" >"$work/$1.ext"
  run openssl x509 -req -sha256 -days 825 -in "$work/$1.csr" -CA "$work/$3.pem" \
    -CAkey "$work/$3.key" -CAcreateserial -CAserial "$work/$3.srl" \
    -extfile "$work/$1.ext" -out "$work/$1.pem"
}

client_ext='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
server_ext='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1'

new_ca ca "/O=ringcast-test/CN=ringcast test CA"
new_ca other-ca "/O=ringcast-other/CN=ringcast other test CA"
new_leaf server "/O=ringcast-test/CN=localhost" ca "$server_ext"
new_leaf client "/O=ringcast-test/CN=orders-writer" ca "$client_ext"
new_leaf client2 "/O=ringcast-test/CN=orders-reader" ca "$client_ext"
new_leaf other-client "/O=ringcast-test/CN=orders-writer" other-ca "$client_ext"

# The expired certificate: `openssl x509` (3.0) cannot set a start date, `openssl ca` can.
mkdir "$work/ca-db"
: >"$work/ca-db/index.txt"
echo 1000 >"$work/ca-db/serial"
cat >"$work/ca-db/ca.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = $work/ca-db/index.txt
serial = $work/ca-db/serial
new_certs_dir = $work/ca-db
certificate = $work/ca.pem
private_key = $work/ca.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
x509_extensions = client
[any]
commonName = supplied
organizationName = optional
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
run openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$work/expired-client.key" -out "$work/expired-client.csr" \
  -subj "/O=ringcast-test/CN=expired-client"
run openssl ca -batch -notext -config "$work/ca-db/ca.cnf" -in "$work/expired-client.csr" \
  -startdate 20200101000000Z -enddate 20200102000000Z -out "$work/expired-client.pem"

chmod 600 "$work"/*.key
for f in "${files[@]}"; do mv -f "$work/$f" "$out/$f"; done
