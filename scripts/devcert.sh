#!/usr/bin/env bash
# A self-signed certificate for https://localhost during development.
# Usage: devcert.sh DIR   -> DIR/cert.pem, DIR/key.pem (0600)
# Does nothing while the existing certificate is valid for more than a day.
# Browsers and curl will not trust it: use `curl -k` or accept the warning.
set -euo pipefail

dir=${1:?usage: devcert.sh DIR}
cert=$dir/cert.pem
key=$dir/key.pem

if [ -s "$cert" ] && [ -s "$key" ] &&
   openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1; then
    exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.devcert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 30 -sha256 \
        -subj "/CN=localhost/O=regain development" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=serverAuth" 2>/dev/null
)
chmod 600 "$tmp/key.pem"
chmod 644 "$tmp/cert.pem"
# Key first, so a reader never pairs a new certificate with an old key for long.
mv -f "$tmp/key.pem" "$key"
mv -f "$tmp/cert.pem" "$cert"
echo "devcert.sh: new self-signed certificate for localhost in $cert (valid 30 days)" >&2
