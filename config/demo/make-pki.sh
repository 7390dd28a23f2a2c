#!/usr/bin/env bash
# Regenerates the THROWAWAY lab PKI of the demo (config/demo.toml, config/liprobe.toml):
# one CA and four EC P-256 certificates. The private keys are public knowledge once committed:
# use them only on loopback, never for real interception.
#   ca.pem              CA that signed everything below (its key is discarded)
#   probe.pem/.key      liprobe's client certificate towards the LEMF (HI2/HI3)
#   lemf.pem/.key       liprobe-lemf's server certificate (localhost, 127.0.0.1, ::1)
#   api.pem/.key        liprobe's control API server certificate (localhost, 127.0.0.1, ::1)
#   mf.pem/.key         the mediation function's client certificate for /v1/keys
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
days=3650

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$work/ca.key" -out ca.pem -days "$days" -subj "/O=liprobe demo/CN=liprobe demo CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null

issue() {  # name subject extendedKeyUsage [subjectAltName]
  local name=$1 subject=$2 eku=$3 san=${4:-}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$name.key" -out "$work/$name.csr" -subj "$subject" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$eku"
    if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
  } > "$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA ca.pem -CAkey "$work/ca.key" -CAcreateserial \
    -CAserial "$work/ca.srl" -out "$name.pem" -days "$days" -sha256 \
    -extfile "$work/$name.ext" 2>/dev/null
  chmod 600 "$name.key"
}

issue probe "/O=liprobe demo/CN=liprobe-demo-probe" clientAuth
issue lemf "/O=liprobe demo/CN=localhost" serverAuth "DNS:localhost,IP:127.0.0.1,IP:::1"
issue api "/O=liprobe demo/CN=localhost" serverAuth "DNS:localhost,IP:127.0.0.1,IP:::1"
issue mf "/O=liprobe demo/CN=liprobe-demo-mf" clientAuth
echo "demo PKI written to $(pwd)"
