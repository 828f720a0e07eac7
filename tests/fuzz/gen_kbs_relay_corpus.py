#!/usr/bin/env python3
"""gen_kbs_relay_corpus: writes the seeds of fuzz_kbs_relay (tests/fuzz/corpus/kbs_relay/): the
routes sealbox-init may and may not ask the host to relay, and runtime data it asks the host to
attest (first byte: even = route, bit 1 = POST; odd = runtime data), built from scratch."""
import base64, json, os, sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "kbs_relay")
os.makedirs(out, exist_ok=True)
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
ec = {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW",
      "x": b64u(bytes.fromhex('6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296')),
      "y": b64u(bytes.fromhex('4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5'))}
rd = {"tee-pubkey": ec, "nonce": "bm9uY2U=", "additional-evidence": "", "sealbox-log": "sha384:"}
seeds = {
    "route_auth": b"\x02auth",
    "route_attest": b"\x02attest",
    "route_resource": b"\x00resource/app/db/password",
    "route_admin": b"\x02resource-policy",
    "route_dotdot": b"\x00resource/a/../b",
    "route_get_auth": b"\x00auth",
    "runtime_ok": b"\x01" + json.dumps(rd).encode(),
    "runtime_other_nonce": b"\x01" + json.dumps(dict(rd, nonce="b3RoZXI=")).encode(),
    "runtime_other_log": b"\x01" + json.dumps(dict(rd, **{"sealbox-log": "sha384:" + "11" * 48})).encode(),
    "runtime_extra": b"\x01" + json.dumps(dict(rd, more=1)).encode(),
    "runtime_rsa15": b"\x01" + json.dumps(dict(rd, **{"tee-pubkey": {"kty": "RSA", "alg": "RSA1_5", "n": "AQAB", "e": "AQAB"}})).encode(),
    "runtime_dup": b'\x01{"nonce":"bm9uY2U=","nonce":"bm9uY2U="}',
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
