#!/usr/bin/env python3
"""gen_corpus_spdm: writes the committed seed corpus of fuzz_spdm.

Synthetic SPDM 1.1 GET_MEASUREMENTS request || MEASUREMENTS response pairs in the shape NVIDIA
GPUs produce (DMTF measurement blocks, NVIDIA opaque TLVs, a 96-byte signature that is just
filler), as binary, hex text and the attestation SDK's JSON container, plus broken variants.
Nothing is copied from the evidence corpus. Run from the repository root:
    python3 tests/fuzz/gen_corpus_spdm.py
"""
import base64
import hashlib
import json
import os
import struct


def fill(label, n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha512(f"{label}/{i}".encode()).digest()
        i += 1
    return out[:n]


def tlv(t, v):
    return struct.pack("<HH", t, len(v)) + v


def report(blocks=64, value_len=48, opaque=None, version=0x11, trailing=b"", sig_len=96,
           dup_index=False, param1=0x01):
    nonce = fill("nonce", 32)
    req = bytes([version, 0xE0, param1, 0xFF]) + nonce + b"\x00"
    rec = b""
    for i in range(1, blocks + 1):
        idx = 1 if dup_index and i == 2 else i
        m = bytes([0x01]) + struct.pack("<H", value_len) + fill(f"block{i}", value_len)
        rec += bytes([idx, 0x01]) + struct.pack("<H", len(m)) + m
    if opaque is None:
        opaque = (tlv(6, bytes([0x00, 0x9F, 0x00, 0x96, 0x01, 0, 0, 0])) + tlv(14, b"\xb1\x03\x00\x00")
                  + tlv(15, b"882\x00\x00\x00\x00\x00\x00") + tlv(3, b"550.00.00\x00")
                  + tlv(12, b"".join(struct.pack("<I", i % 3) for i in range(blocks)))
                  + tlv(11, b"U") + tlv(20, fill("fwid", 48)) + tlv(21, b"U"))
    resp = (bytes([version, 0x60, 0x00, 0x00, blocks]) + struct.pack("<I", len(rec))[:3] + rec
            + fill("respnonce", 32) + struct.pack("<H", len(opaque)) + opaque)
    return req + resp + fill("sig", sig_len) + trailing


def fake_pem(n):
    body = base64.encodebytes(b"\x30\x82" + struct.pack(">H", 200) + fill(f"cert{n}", 200))
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


def sdk_json(reports, arch="HOPPER"):
    chain = b"".join(fake_pem(i) for i in range(5))
    return json.dumps([{"arch": arch, "certificate": base64.b64encode(chain).decode(),
                        "evidence": base64.b64encode(r).decode(),
                        "nonce": fill("nonce", 32).hex()} for r in reports]).encode()


def seeds():
    s = {}
    good = report()
    s["hopper_bin"] = good
    s["hopper_hex"] = good.hex().encode() + b"\n"
    s["hopper_trailing_byte"] = report(trailing=b"\x00")
    s["switch_31_blocks"] = report(blocks=31, opaque=tlv(6, b"96.10.55.00.01") + tlv(22, fill("pdi", 8)))
    s["no_opaque"] = report(opaque=b"")
    s["one_block"] = report(blocks=1)
    s["short_values"] = report(value_len=32)
    s["version_12"] = report(version=0x12)
    s["no_signature_requested"] = report(param1=0x00)
    s["duplicate_index"] = report(dup_index=True)
    s["bad_opaque_tlv"] = report(opaque=b"\x03\x00\xff\x00abc")
    s["cut_in_record"] = good[:1000]
    s["cut_in_signature"] = good[:-10]
    s["sdk_json_one"] = sdk_json([good])
    s["sdk_json_four"] = sdk_json([good] * 4)
    s["sdk_json_object"] = json.dumps(json.loads(sdk_json([good]))[0]).encode()
    return s


def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "spdm")
    os.makedirs(d, exist_ok=True)
    ss = seeds()
    for name, data in ss.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{d}: {len(ss)} seeds")


if __name__ == "__main__":
    main()
