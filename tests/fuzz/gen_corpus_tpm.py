#!/usr/bin/env python3
"""gen_corpus_tpm: writes the committed seed corpora of fuzz_eventlog, fuzz_tpm_attest,
fuzz_protobuf and fuzz_tpm_container from scratch: synthetic TCG event logs (crypto-agile and
SHA-1, a padded CCEL-like area), TPMS_ATTEST quotes, TPMT_SIGNATUREs, RSA and ECC TPMT_PUBLIC
areas, go-tpm-tools-shaped protobuf Attestations and the JSON/bincode containers. Keys, digests
and signatures are made-up bytes; nothing comes from the evidence corpus.
Run from the repository root:  python3 tests/fuzz/gen_corpus_tpm.py"""
import base64
import hashlib
import json
import os
import random
import struct

rng = random.Random(20261129)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SIZES = {0x0004: 20, 0x000B: 32, 0x000C: 48, 0x000D: 64}


def rnd(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def write(parser, name, data):
    d = os.path.join(ROOT, parser)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- event logs ----------------------------------------------------------------------------

def legacy_event(pcr, typ, digest, data):
    return struct.pack("<II", pcr, typ) + digest + struct.pack("<I", len(data)) + data


def spec_id(algs):
    body = b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(algs))
    for a in algs:
        body += struct.pack("<HH", a, SIZES[a])
    body += b"\0"
    return legacy_event(0, 3, bytes(20), body)


def event2(pcr, typ, algs, data, fill=None):
    out = struct.pack("<III", pcr, typ, len(algs))
    for a in algs:
        out += struct.pack("<H", a) + (bytes([fill]) * SIZES[a] if fill is not None else
                                       hashlib.new({4: "sha1", 0xB: "sha256", 0xC: "sha384",
                                                    0xD: "sha512"}[a], data).digest())
    return out + struct.pack("<I", len(data)) + data


def agile_log(algs, n, first_pcr=0):
    log = spec_id(algs)
    log += event2(0, 3, algs, b"StartupLocality\0\x03", fill=0)
    for i in range(n):
        log += event2(first_pcr + i % 8, rng.choice([1, 4, 5, 7, 8, 0x80000001, 0x800000e0]),
                      algs, rnd(rng.randrange(0, 40)))
    return log


def eventlogs():
    write("eventlog", "agile_sha256", agile_log([0x000B], 12))
    write("eventlog", "agile_three_banks", agile_log([0x0004, 0x000B, 0x000C], 20))
    write("eventlog", "agile_sha512", agile_log([0x000D], 4))
    write("eventlog", "ccel_padded", agile_log([0x000C], 6, first_pcr=1) + b"\xff" * 300)
    write("eventlog", "ccel_zero_padded", agile_log([0x000C], 3, first_pcr=1) + b"\0" * 200)
    legacy = b"".join(legacy_event(i % 8, 5, rnd(20), rnd(rng.randrange(0, 30)))
                      for i in range(10))
    write("eventlog", "legacy_sha1", legacy)
    bad = spec_id([0x000B]) + struct.pack("<III", 0, 1, 1) + struct.pack("<H", 0x000C) + rnd(48)
    write("eventlog", "undeclared_alg", bad)
    huge = spec_id([0x000B]) + struct.pack("<III", 0, 1, 0xFFFFFFFF)
    write("eventlog", "huge_count", huge)
    write("eventlog", "index_out_of_range", spec_id([0x000B]) + event2(40, 1, [0x000B], b"x"))


# ---- TPM 2.0 structures ----------------------------------------------------------------------

def tpm2b(b):
    return struct.pack(">H", len(b)) + b


def attest(extra, banks, digest_len=32, fw=0x2020031200120003):
    out = struct.pack(">IH", 0xFF544347, 0x8018) + tpm2b(b"\x00\x0b" + rnd(32)) + tpm2b(extra)
    out += struct.pack(">QIIB", 123456, 7, 1, 1) + struct.pack(">Q", fw)
    out += struct.pack(">I", len(banks))
    for alg, sel in banks:
        out += struct.pack(">HB", alg, len(sel)) + sel
    return out + tpm2b(rnd(digest_len))


def rsa_public(scheme=0x0014, bits=2048):
    out = struct.pack(">HHI", 0x0001, 0x000B, 0x00050072) + tpm2b(b"")
    out += struct.pack(">H", 0x0010)  # symmetric NULL
    out += struct.pack(">HH", scheme, 0x000B) if scheme != 0x0010 else struct.pack(">H", scheme)
    out += struct.pack(">HI", bits, 0) + tpm2b(rnd(bits // 8))
    return out


def ecc_public(curve=0x0003, coord=32):
    out = struct.pack(">HHI", 0x0023, 0x000B, 0x00050072) + tpm2b(b"")
    out += struct.pack(">H", 0x0010) + struct.pack(">HH", 0x0018, 0x000B)
    out += struct.pack(">HH", curve, 0x0010) + tpm2b(rnd(coord)) + tpm2b(rnd(coord))
    return out


def structures():
    write("tpm_attest", "quote_sha256", attest(b"nonce-123", [(0x000B, b"\xff\xff\xff")]))
    write("tpm_attest", "quote_sha1_empty_extra", attest(b"", [(0x0004, b"\xff\x40\x00")], 20))
    write("tpm_attest", "quote_two_banks",
          attest(rnd(32), [(0x0004, b"\x01\x00\x00"), (0x000C, b"\x80\x00\x00\x01")], 48))
    write("tpm_attest", "quote_swtpm_fw",
          attest(rnd(64), [(0x000B, b"\xff\xff\xff")], fw=0x2019102300163636))
    write("tpm_attest", "quote_bad_magic", b"\xff\x54\x43\x48" + attest(b"", [])[4:])
    write("tpm_attest", "sig_rsassa", struct.pack(">HH", 0x0014, 0x000B) + tpm2b(rnd(256)))
    write("tpm_attest", "sig_rsapss", struct.pack(">HH", 0x0016, 0x000C) + tpm2b(rnd(384)))
    write("tpm_attest", "sig_ecdsa",
          struct.pack(">HH", 0x0018, 0x000B) + tpm2b(rnd(32)) + tpm2b(rnd(31)))
    write("tpm_attest", "public_rsa", rsa_public())
    write("tpm_attest", "public_rsa_null_scheme", rsa_public(0x0010, 3072))
    write("tpm_attest", "public_ecc_p256", ecc_public())
    write("tpm_attest", "public_ecc_p384", ecc_public(0x0004, 48))
    write("tpm_attest", "tpm2b_public_ecc", tpm2b(ecc_public()))


# ---- protobuf: go-tpm-tools attest.Attestation -------------------------------------------------

def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def pb_quote(alg, n_pcrs):
    pcrs = field(1, 0, varint(alg))
    for i in range(n_pcrs):
        entry = field(1, 0, varint(i)) + field(2, 2, rnd(SIZES[alg]))
        pcrs += field(2, 2, entry)
    sel = b"\xff\xff\xff"
    return (field(1, 2, attest(b"\x90\x09", [(alg, sel)], 32)) +
            field(2, 2, struct.pack(">HH", 0x0014, 0x000B) + tpm2b(rnd(256))) + field(3, 2, pcrs))


def protobufs():
    att = field(1, 2, rsa_public())
    for alg in (0x0004, 0x000B, 0x000C):
        att += field(2, 2, pb_quote(alg, 24))
    att += field(3, 2, agile_log([0x0004, 0x000B, 0x000C], 6))
    att += field(4, 2, field(1, 2, b"us-central1-a") + field(3, 0, varint(1234567)))
    att += field(6, 2, rnd(300)) + field(7, 2, rnd(200))
    write("protobuf", "gotpm_attestation", att)
    write("protobuf", "gotpm_unknown_fields",
          field(15, 0, varint(2**63)) + field(16, 1, rnd(8)) + field(17, 5, rnd(4)) +
          field(1, 2, ecc_public()) + field(2, 2, pb_quote(0x000B, 3)))
    write("protobuf", "varint_too_long", b"\x08" + b"\xff" * 11)
    write("protobuf", "len_over_rest", b"\x0a\xff\xff\x03abc")
    write("protobuf", "group_wire_type", b"\x0b\x0c")
    write("protobuf", "dup_pcr", field(1, 2, rsa_public()) + field(2, 2, field(1, 2, b"x") +
          field(3, 2, field(1, 0, b"\x0b") + field(2, 2, field(1, 0, b"\x01")) * 2)))


# ---- JSON and bincode containers ---------------------------------------------------------------

def containers():
    b64 = lambda b: base64.b64encode(b).decode()
    q = attest(b"", [(0x0004, b"\xff\xff\xff")], 20)
    ga = {"Static": {"TPMVersion": 2, "EKPem": None},
          "AK": {"Public": b64(rsa_public(0x0014)), "UseTCSDActivationFormat": False},
          "Quote": {"Nonce": "", "Alg": 4, "Quote": b64(q),
                    "Signature": b64(struct.pack(">HH", 0x0014, 0x0004) + tpm2b(rnd(256)))},
          "Log": {"PCRs": [{"Index": i, "Digest": b64(rnd(20)), "DigestAlg": 3}
                           for i in range(24)],
                  "PCRAlg": 0, "Raw": b64(agile_log([0x0004, 0x000B], 5))}}
    write("tpm_container", "go_attestation.json", json.dumps(ga).encode())
    long_logs(ga)
    tr = {"ak_public": b64(rnd(294)),
          "tpm_quote": {"message": b64(attest(rnd(64), [(0x000B, b"\xff\xff\xff")])),
                        "pcrs": [rnd(32).hex() for _ in range(24)],
                        "signature": b64(struct.pack(">HH", 0x0014, 0x000B) + tpm2b(rnd(256)))}}
    write("tpm_container", "trustee_tpm.json", json.dumps(tr).encode())
    az = {"signature": rnd(256).hex(),
          "message": attest(b"challenge", [(0x000B, b"\xff\xff\xff")]).hex(),
          "pcrs": [rnd(32).hex() for _ in range(24)]}
    write("tpm_container", "azure_quote.json", json.dumps(az).encode())
    azv0 = {"signature": list(rnd(256)), "message": list(attest(b"x", [(0x000B, b"\x01\0\0")])),
            "pcrs": [list(rnd(32))]}
    write("tpm_container", "azure_quote_arrays.json", json.dumps(azv0).encode())
    sig, msg = rnd(256), attest(b"challenge", [(0x000B, b"\xff\xff\xff")])
    pcrs = [rnd(32) for _ in range(24)]
    binc = (struct.pack("<Q", len(sig)) + sig + struct.pack("<Q", len(msg)) + msg +
            struct.pack("<Q", len(pcrs)) + b"".join(pcrs))
    write("tpm_container", "azure_quote.bin", binc)
    write("tpm_container", "bincode_huge_len", struct.pack("<Q", 2**63) + b"abc")


# ---- Azure HCL reports and Trustee az-snp-vtpm evidence ----------------------------------------

def hcl_report(report_type=2, var=None, pad=254, version=1):
    if var is None:
        var = json.dumps({"keys": [{"kid": "HCLAkPub", "key_ops": ["sign"], "kty": "RSA",
                                    "e": "AQAB", "n": base64.urlsafe_b64encode(rnd(256))
                                    .decode().rstrip("=")}],
                          "vm-configuration": {"secure-boot": True, "tpm-enabled": True},
                          "user-data": rnd(64).hex()}).encode()
    hw = rnd(0x4A0)
    size = 0x4D4 + len(var)
    out = struct.pack("<IIIII", 0x414C4348, version, size, 2, 0) + bytes(12) + hw
    out += struct.pack("<IIIII", 20 + len(var), 1, report_type, 1, len(var)) + var
    return out + bytes(pad)


def azure():
    write("azure_hcl", "hcl_snp", hcl_report())
    write("azure_hcl", "hcl_tdx_v2", hcl_report(4, version=2, pad=0))
    write("azure_hcl", "hcl_bad_size", hcl_report()[:8] + struct.pack("<I", 0xFFFFFFFF) +
          hcl_report()[12:])
    write("azure_hcl", "hcl_not_json", hcl_report(var=b"\x00not json"))
    q = {"signature": rnd(256).hex(), "pcrs": [rnd(32).hex() for _ in range(24)],
         "message": attest(b"challenge", [(0x000B, b"\xff\xff\xff")]).hex()}
    for v in (1, 2):
        ev = {"version": v, "tpm_quote": q,
              "hcl_report": base64.urlsafe_b64encode(hcl_report()).decode(),
              "vcek": base64.urlsafe_b64encode(rnd(1300)).decode()}
        write("azure_hcl", "evidence_v%d.json" % v, json.dumps(ev).encode())
    v0 = {"quote": {"signature": list(rnd(256)), "pcrs": [list(rnd(32)) for _ in range(3)],
                    "message": list(attest(b"x", [(0x000B, b"\x07\0\0")]))},
          "report": list(hcl_report(pad=0)), "vcek": "-----BEGIN CERTIFICATE-----\n"}
    write("azure_hcl", "evidence_v0.json", json.dumps(v0).encode())


def long_logs(ga):
    """go-attestation JSON with an event log long enough for the memo of
    sb_tpm_json_parse_memo (>= 4096 base64 characters); its own random stream, so the other
    files stay as they were."""
    global rng
    keep, rng = rng, random.Random(4096)
    ga = json.loads(json.dumps(ga))
    ga["Log"]["Raw"] = base64.b64encode(agile_log([0x0004, 0x000B], 60)).decode()
    write("tpm_container", "go_attestation_long_log.json", json.dumps(ga).encode())
    text = json.dumps(ga)
    # the same log with an escaped character inside its string (the scanner skips escapes)
    write("tpm_container", "go_attestation_escaped_log.json",
          text.replace('"Raw": "', '"Raw": "\\u0041', 1).encode())
    rng = keep


if __name__ == "__main__":
    eventlogs()
    structures()
    protobufs()
    containers()
    azure()
