#!/usr/bin/env python3
"""gen_kbs_corpus: writes the seeds of fuzz_kbs_request (auth and attest bodies, cookies) and
fuzz_kbs_rpolicy (resource policies) into tests/fuzz/corpus/, built from scratch."""
import base64, json, os

here = os.path.dirname(os.path.abspath(__file__))

def put(corpus, name, data):
    d = os.path.join(here, 'corpus', corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())

b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
ec = {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW",
      # the P-256 generator point: a valid public key
      "x": b64u(bytes.fromhex('6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296')),
      "y": b64u(bytes.fromhex('4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5'))}
rd = {"nonce": "bm9uY2U=", "tee-pubkey": ec}
put('kbs_request', 'auth', json.dumps({"version": "0.4.0", "tee": "snp", "extra-params": {}}))
put('kbs_request', 'auth-build', json.dumps({"version": "0.4.0+x.1", "tee": "tdx", "extra-params": ""}))
put('kbs_request', 'auth-old', json.dumps({"version": "0.1.0", "tee": "snp", "extra-params": {}}))
put('kbs_request', 'auth-pre', json.dumps({"version": "0.4.0-rc.1", "tee": "snp", "extra-params": {}}))
put('kbs_request', 'attest', json.dumps({"runtime-data": rd, "tee-evidence": {"primary_evidence": {"a": 1}, "additional_evidence": ""}}))
put('kbs_request', 'attest-string', json.dumps({"runtime-data": rd, "tee-evidence": {"primary_evidence": "aGVsbG8="}}))
put('kbs_request', 'attest-log', json.dumps({"runtime-data": dict(rd, **{"sealbox-log": "sha384:" + "00" * 48}),
                                             "tee-evidence": {"primary_evidence": {}, "sealbox_log": {"digest": "x"}}}))
put('kbs_request', 'attest-rsa15', json.dumps({"runtime-data": {"nonce": "n", "tee-pubkey": {"kty": "RSA", "alg": "RSA1_5", "n": "AQAB", "e": "AQAB"}},
                                               "tee-evidence": {"primary_evidence": {}}}))
put('kbs_request', 'attest-initdata', json.dumps({"runtime-data": rd, "init-data": {"format": "toml", "body": ""}, "tee-evidence": {"primary_evidence": {}}}))
put('kbs_request', 'claims-like', json.dumps({"runtime-data": rd, "report_data": "00" * 64, "tee-evidence": {"primary_evidence": {}}}))
put('kbs_request', 'cookie', 'a=b; kbs-session-id=0000000aabcdef0123456789abcdef0123456789; c=d')
put('kbs_request', 'cookie-short', 'kbs-session-id=abc')
put('kbs_rpolicy', 'default', json.dumps({"version": 1, "rules": [{"resources": ["*/*/*"]}]}))
put('kbs_rpolicy', 'full', json.dumps({"rules": [
    {"resources": ["img/*/*", "a/b/c"], "platforms": ["snp", "tdx"], "status": "warning",
     "allow_insecure": False, "allow_tainted": True, "allow_local": False, "require_log": True,
     "measurements": {"measurement": ["AA", "bb"]}, "image_digests": ["sha256:22"], "log_digests": ["sha384:11"]},
    {"resources": ["default/key/*"]}]}))
put('kbs_rpolicy', 'bad-pattern', json.dumps({"rules": [{"resources": ["a/b*/c"]}]}))
put('kbs_rpolicy', 'bad-key', json.dumps({"rules": [{"resources": ["a/b/c"], "nope": 1}]}))
print('wrote seeds to', os.path.join(here, 'corpus'))
