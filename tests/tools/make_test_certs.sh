#!/bin/sh
# Makes throw-away TLS material for the web config tests in DIR (created if missing): a CA, a
# server certificate for 127.0.0.1/localhost, a client certificate the CA signed (SANs
# client.example and 127.0.0.1), a self-signed client nobody trusts, and a second key that
# matches no certificate. ECDSA P-256: fast to make. Nothing here is committed; keys live and
# die with the test's temporary directory.
set -eu
dir=${1:?usage: make_test_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
days=2
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -subj "/CN=nfct test CA" -days $days -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

key server.key
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
  "basicConstraints=CA:FALSE" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days $days \
  -extfile server.ext -out server.crt 2>/dev/null

key client.key
openssl req -new -key client.key -subj "/CN=scraper" -out client.csr
printf '%s\n' "subjectAltName=DNS:client.example,IP:127.0.0.1" "extendedKeyUsage=clientAuth" \
  "basicConstraints=CA:FALSE" > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days $days \
  -extfile client.ext -out client.crt 2>/dev/null

key rogue.key
openssl req -x509 -new -key rogue.key -subj "/CN=rogue" -days $days -out rogue.crt \
  -addext "subjectAltName=DNS:client.example" -addext "extendedKeyUsage=clientAuth"

key other.key
rm -f ./*.csr ./*.ext ./*.srl
