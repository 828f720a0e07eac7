#!/usr/bin/env bash
# gen_collateral_corpus: writes the seed corpus of fuzz_collateral (tests/fuzz/corpus/collateral)
# from scratch: throw-away self-signed certificates carrying AMD VCEK/VLEK-shaped and Intel
# PCK-shaped extensions, a CRL, TCB info / QE identity JSON, and a few broken inputs.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)/corpus/collateral
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
cd "$tmp"
openssl ecparam -name prime256v1 -genkey -noout -out k.pem 2>/dev/null
chip=$(printf '%0128x' 7)
openssl req -x509 -new -key k.pem -subj "/CN=SEV-VCEK/O=Seed" -days 30 -outform DER -out "$out/vcek.der" \
  -addext "1.3.6.1.4.1.3704.1.2=ASN1:IA5STRING:Milan-B0" \
  -addext "1.3.6.1.4.1.3704.1.3.1=ASN1:INTEGER:3" -addext "1.3.6.1.4.1.3704.1.3.2=ASN1:INTEGER:0" \
  -addext "1.3.6.1.4.1.3704.1.3.3=ASN1:INTEGER:8" -addext "1.3.6.1.4.1.3704.1.3.8=ASN1:INTEGER:115" \
  -addext "1.3.6.1.4.1.3704.1.4=DER:0440$chip"
openssl req -x509 -new -key k.pem -subj "/CN=SEV-VLEK" -days 30 -out "$out/vlek.pem" \
  -addext "1.3.6.1.4.1.3704.1.5=ASN1:IA5STRING:seed-csp" -addext "1.3.6.1.4.1.3704.1.3.3=ASN1:INTEGER:24"
# Intel SGX extension: SEQUENCE { SEQUENCE { OID ...13.1.4, OCTET STRING fmspc } }
openssl req -x509 -new -key k.pem -subj "/CN=Intel SGX PCK Certificate" -days 30 -outform DER \
  -out "$out/pck.der" -addext "1.2.840.113741.1.13.1=DER:30163014060a2a864886f84d010d0104040650806f000000"
openssl req -x509 -new -key k.pem -subj "/CN=Seed Root" -days 30 -out ca.pem
printf 'V\t300101000000Z\t\t01\tunknown\t/CN=x\n' >index.txt
cat >ca.cnf <<'CNF'
[ca]
default_ca = c
[c]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 30
CNF
echo 01 >crlnumber
openssl ca -config ca.cnf -gencrl -keyfile k.pem -cert ca.pem -out crl.pem 2>/dev/null
cp crl.pem "$out/crl.pem"
openssl crl -in crl.pem -outform DER -out "$out/crl.der"
printf '{"tcbInfo":{"id":"TDX","version":3,"issueDate":"2025-01-01T00:00:00Z","nextUpdate":"2025-02-01T00:00:00Z","fmspc":"00906ed50000","tcbEvaluationDataNumber":1},"signature":"00"}' >"$out/tcbinfo.json"
printf '{"enclaveIdentity":{"id":"QE","version":2,"issueDate":"2025-01-01T00:00:00Z","nextUpdate":"x"},"signature":"00"}' >"$out/qeid.json"
printf '{"tcb_info":"{\\"tcbInfo\\":{\\"fmspc\\":\\"00a067110000\\"}}","pck_crl":"00"}' >"$out/bundle.json"
printf '{"tcbInfo":{"fmspc":1}}' >"$out/wrongtype.json"
head -c 200 "$out/vcek.der" >"$out/truncated.der"
printf '\x30\x84\xff\xff\xff\xff' >"$out/hugelen.der"
printf '{"a":1,"a":2}' >"$out/dupkey.json"
echo "wrote $(ls "$out" | wc -l) seeds to $out"
