#!/usr/bin/env bash
# gen_jwt_corpus: writes the seed corpus of fuzz_jwt (tests/fuzz/corpus/jwt): well-formed and
# broken compact JWS shapes built from scratch (no real token is needed to reach every branch).
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)/corpus/jwt
mkdir -p "$out"
b64u() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
sig64=$(head -c 64 /dev/zero | base64 -w0 | tr '+/' '-_' | tr -d '=')
pl=$(b64u '{"eat_profile":"tag:github.com,2023:veraison/ear","iat":1,"ear.verifier-id":{},"submods":{"x":{"ear.status":"affirming","ear.trustworthiness-vector":{"hardware":2}}}}')
printf '%s.%s.%s' "$(b64u '{"alg":"ES256","kid":"k1","typ":"JWT"}')" "$pl" "$sig64" >"$out/es256-zero-sig"
printf '%s.%s.%s' "$(b64u '{"alg":"ES384","kid":"k1"}')" "$pl" "$sig64" >"$out/alg-mismatch"
printf '%s.%s.' "$(b64u '{"alg":"none","kid":"k1"}')" "$pl" >"$out/alg-none"
printf '%s.%s.%s' "$(b64u '{"alg":"ES256","kid":"nope"}')" "$pl" "$sig64" >"$out/unknown-kid"
printf '%s.%s.AAAA' "$(b64u '{"alg":"ES256","kid":"k1"}')" "$pl" >"$out/short-sig"
printf '%s.%s.%s' "$(b64u '[1,2]')" "$pl" "$sig64" >"$out/header-array"
printf 'a.b.c.d' >"$out/four-parts"
printf '..' >"$out/empty-parts"
printf '%s.!!.%s' "$(b64u '{"alg":"ES256","kid":"k1"}')" "$sig64" >"$out/bad-b64"
echo "wrote $(ls "$out" | wc -l) seeds to $out"
