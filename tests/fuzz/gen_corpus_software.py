#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_software_evidence (tests/fuzz/corpus/software_evidence/):
sealbox software evidence (docs/secrets.md) signed with fresh P-384 (ES384) and P-256 (ES256)
keys, plus near-misses."""
import base64
import copy
import json
import os
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "software_evidence")
os.makedirs(out, exist_ok=True)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jcs(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":")).encode()


def evidence(report_data, curve=ec.SECP384R1(), es256=False):
    k = ec.generate_private_key(curve)
    n = k.public_key().public_numbers()
    size = (curve.key_size + 7) // 8
    jwk = {"kty": "EC", "crv": {384: "P-384", 256: "P-256"}[curve.key_size],
           "x": b64u(n.x.to_bytes(size, "big")), "y": b64u(n.y.to_bytes(size, "big"))}
    ev = {"sealbox-software-evidence": 1, "report_data": report_data.hex(), "key": jwk}
    if es256:  # a P-256 key signs ES256: 64 bytes
        r, s = decode_dss_signature(k.sign(jcs(ev), ec.ECDSA(hashes.SHA256())))
        ev["signature"] = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return ev
    r, s = decode_dss_signature(k.sign(jcs(ev), ec.ECDSA(hashes.SHA384())))
    ev["signature"] = b64u(r.to_bytes(48, "big") + s.to_bytes(48, "big"))
    return ev


seeds = {
    "valid": evidence(bytes(range(48)) + bytes(16)),
    "valid_zero": evidence(bytes(64)),
}
bad = copy.deepcopy(seeds["valid"])
bad["report_data"] = "ff" + bad["report_data"][2:]
seeds["tampered_report_data"] = bad
bad = copy.deepcopy(seeds["valid"])
bad["extra"] = 1
seeds["unknown_member"] = bad
bad = copy.deepcopy(seeds["valid"])
bad["sealbox-software-evidence"] = 2
seeds["version2"] = bad
seeds["p256_key"] = evidence(bytes(64), ec.SECP256R1())
seeds["valid_p256_es256"] = evidence(bytes(range(48)) + bytes(16), ec.SECP256R1(), es256=True)
bad = copy.deepcopy(seeds["valid"])
bad["key"] = {"kty": "RSA", "n": "AQAB", "e": "AQAB"}
seeds["rsa_key"] = bad
for name, v in seeds.items():
    with open(os.path.join(out, name + ".json"), "wb") as f:
        f.write(json.dumps(v).encode())
