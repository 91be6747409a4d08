#!/usr/bin/env bash
# Development certificates for ringcastd's TLS and mTLS: a throw-away CA, a server certificate and
# a client certificate, all signed by that CA, written to DIR (default: ./ringcast-dev-certs).
# For development and tests only: the CA key sits next to the certificates and nothing protects it.
#
#   deploy/dev-certs.sh [DIR]
#
# Files (the names the Kubernetes Secret and the systemd credentials use too):
#   ca.crt, ca.key          the CA (ca.crt is --tls_client_ca for ringcastd and --tls_ca for clients)
#   tls.crt, tls.key        the server: CN=ringcastd, names ringcastd, localhost,
#                           ringcast.ringcast.svc(.cluster.local) and 127.0.0.1; extended key usage
#                           serverAuth and clientAuth, so that a health check inside the pod or
#                           container can present it as its client certificate under mTLS
#   client.crt, client.key  a client: subject "CN=dev-client,O=ringcast-dev" (the subject that
#                           deploy/auth.example.json gives rights to)
#
# Existing files are kept (delete DIR to start over): a running ringcastd keeps working.
# Files are readable by everyone (mode 0644) so that ringcastd's container user (uid 10001) can read
# them from a bind mount or volume; tighten that for anything but development.
set -euo pipefail

dir=${1:-ringcast-dev-certs}
days=${RINGCAST_DEV_CERT_DAYS:-825}
mkdir -p "$dir"
cd "$dir"

if [[ -s ca.crt && -s ca.key && -s tls.crt && -s tls.key && -s client.crt && -s client.key ]]; then
  echo "dev-certs.sh: $PWD already holds the certificates; delete it to make new ones"
  exit 0
fi
command -v openssl >/dev/null || { echo "dev-certs.sh: openssl is missing (Debian package openssl)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The CA.
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout ca.key -out ca.crt -days "$days" -subj "/O=ringcast-dev/CN=ringcast development CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null

# sign NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt signed by the CA.
sign() {
  local name=$1 subject=$2 extensions=$3
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$name.key" -out "$work/$name.csr" -subj "$subject" 2>/dev/null
  printf '%s\n' "$extensions" > "$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$name.crt" -days "$days" -extfile "$work/$name.ext" 2>/dev/null
}

sign tls "/O=ringcast-dev/CN=ringcastd" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:ringcastd,DNS:localhost,DNS:ringcast.ringcast.svc,DNS:ringcast.ringcast.svc.cluster.local,IP:127.0.0.1"

sign client "/O=ringcast-dev/CN=dev-client" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

rm -f ca.srl
chmod 0644 ./*.crt ./*.key
openssl verify -CAfile ca.crt tls.crt client.crt >/dev/null
echo "dev-certs.sh: wrote $PWD/{ca,tls,client}.{crt,key}"
echo "client subject: $(openssl x509 -in client.crt -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
