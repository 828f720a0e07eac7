#!/usr/bin/env python3
"""gen_corpus_cbor: writes the committed seed corpora of fuzz_cbor, fuzz_cose and fuzz_nitro.

Every seed is built here from scratch (RFC 8949 examples, synthetic COSE_Sign1 and Nitro-shaped
documents with made-up keys, certificates and PCRs, and hostile variants); nothing is copied
from the evidence corpus. Run from the repository root:  python3 tests/fuzz/gen_corpus_cbor.py
"""
import hashlib
import os
import struct
import sys


def head(major, arg):
    if arg < 24:
        return bytes([major << 5 | arg])
    for ai, fmt, lim in ((24, ">B", 0xFF), (25, ">H", 0xFFFF), (26, ">I", 0xFFFFFFFF),
                         (27, ">Q", 0xFFFFFFFFFFFFFFFF)):
        if arg <= lim:
            return bytes([major << 5 | ai]) + struct.pack(fmt, arg)
    raise ValueError(arg)


class Tag:
    def __init__(self, n, v):
        self.n, self.v = n, v


class Raw:
    def __init__(self, b):
        self.b = b


def enc(v):
    if isinstance(v, Raw):
        return v.b
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    if isinstance(v, Tag):
        return head(6, v.n) + enc(v.v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    raise TypeError(v)


def fake(label, n):
    """Deterministic filler bytes: SHA-512 in counter mode over a label."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha512(f"{label}/{i}".encode()).digest()
        i += 1
    return out[:n]


def fake_der(label, n):
    """A DER SEQUENCE of n content bytes (not a real certificate)."""
    body = fake(label, n)
    return b"\x30\x82" + struct.pack(">H", n) + body


def nitro_payload(debug=False, pcr_len=48, n_pcrs=16, cabundle=4, optional=True, ts=1700000000000):
    pcrs = {}
    for i in range(n_pcrs):
        pcrs[i] = bytes(pcr_len) if (debug and i < 3) or i >= 5 else fake(f"pcr{i}", pcr_len)
    doc = {
        "module_id": "i-0123456789abcdef0-enc0123456789abcdef",
        "digest": "SHA384",
        "timestamp": ts,
        "pcrs": pcrs,
        "certificate": fake_der("leaf", 600),
        "cabundle": [fake_der(f"ca{i}", 500 + 50 * i) for i in range(cabundle)],
    }
    if optional:
        doc["public_key"] = fake("pk", 91)
        doc["user_data"] = b"hello, sealbox"
        doc["nonce"] = fake("nonce", 32)
    else:
        doc["public_key"] = None
        doc["user_data"] = None
        doc["nonce"] = None
    return enc(doc)


def cose(payload, alg=-35, tagged=False, unprot=None, sig_len=96, prot=None):
    p = enc({1: alg}) if prot is None else prot
    arr = [p, {} if unprot is None else unprot, payload, fake("sig", sig_len)]
    return enc(Tag(18, arr) if tagged else arr)


def cbor_seeds():
    s = {}
    rfc = ["00", "17", "1818", "1903e8", "1bffffffffffffffff", "3bffffffffffffffff", "3903e7",
           "f90000", "f97c00", "fa47c35000", "fb7e37e43c8800759c", "f4", "f6", "f8ff",
           "c074323031332d30332d32315432303a30343a30305a", "c249010000000000000000",
           "d82076687474703a2f2f7777772e6578616d706c652e636f6d", "4401020304", "64f0908591",
           "8301820203820405", "a26161016162820203", "826161a161626163",
           "98190102030405060708090a0b0c0d0e0f101112131415161718181819"]
    for i, h in enumerate(rfc):
        s[f"rfc8949_{i:02d}"] = bytes.fromhex(h)
    s["nested16"] = b"\x81" * 16 + b"\x00"
    s["nested17"] = b"\x81" * 17 + b"\x00"
    s["huge_array"] = bytes.fromhex("9bffffffffffffffff")
    s["huge_map"] = bytes.fromhex("bb7fffffffffffffff00")
    s["huge_bytes"] = bytes.fromhex("5a7fffffff00")
    s["dup_key"] = bytes.fromhex("a2616101616102")
    s["bad_utf8"] = bytes.fromhex("63eda080")
    s["non_preferred"] = bytes.fromhex("1900ff")
    s["indefinite"] = bytes.fromhex("9f018202039f0405ffff")
    s["stream"] = enc(1) + enc("two") + enc([3]) + enc({4: 5})
    s["nitro_like"] = cose(nitro_payload())
    s["veraison_like"] = enc(Tag(1668547090, {0: fake("report", 1184), 1: fake("cert", 64),
                                              2: "sev_guest", 3: 1}))
    return s


def cose_seeds():
    s = {}
    pl = nitro_payload()
    s["es384_untagged"] = cose(pl)
    s["es384_tagged"] = cose(pl, tagged=True)
    s["es256"] = cose(b"payload", alg=-7, sig_len=64)
    s["es512"] = cose(b"payload", alg=-36, sig_len=132)
    s["unknown_alg"] = cose(b"payload", alg=-8)
    s["null_unprotected"] = cose(pl)[:0] + enc([enc({1: -35}), None, pl, fake("sig", 96)])
    s["empty_protected"] = cose(b"x", prot=b"")
    s["nil_payload"] = enc([enc({1: -35}), {}, None, fake("sig", 96)])
    s["crit"] = cose(b"x", prot=enc({1: -35, 2: [99]}))
    s["five_elements"] = enc([enc({1: -35}), {}, b"x", fake("sig", 96), 0])
    s["short_sig"] = cose(b"x", sig_len=95)
    return s


def nitro_seeds():
    s = {}
    s["production"] = cose(nitro_payload())
    s["debug"] = cose(nitro_payload(debug=True))
    s["no_optional"] = cose(nitro_payload(optional=False))
    s["sha256_pcrs"] = cose(nitro_payload(pcr_len=32))
    s["sha512_pcrs"] = cose(nitro_payload(pcr_len=64, n_pcrs=32))
    s["no_cabundle"] = cose(nitro_payload(cabundle=0))
    s["seconds_timestamp"] = cose(nitro_payload(ts=1700000000))
    s["tagged"] = cose(nitro_payload(), tagged=True)
    import base64
    s["base64"] = base64.b64encode(cose(nitro_payload()))
    bad = nitro_payload()
    s["digest_sha256"] = cose(bad.replace(enc("SHA384"), enc("SHA256")))
    s["pcr_len_47"] = cose(nitro_payload(pcr_len=47))
    return s


def write(dirname, seeds):
    os.makedirs(dirname, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(dirname, name), "wb") as f:
            f.write(data)
    print(f"{dirname}: {len(seeds)} seeds")


def main():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    which = sys.argv[1:] or ["cbor", "cose", "nitro"]
    gens = {"cbor": cbor_seeds, "cose": cose_seeds, "nitro": nitro_seeds}
    for w in which:
        write(os.path.join(top, w), gens[w]())


if __name__ == "__main__":
    main()
