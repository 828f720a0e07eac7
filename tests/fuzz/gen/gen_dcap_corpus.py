#!/usr/bin/env python3
"""gen_dcap_corpus: writes the seed corpora of fuzz_dcap_quote and fuzz_dcap_collateral.

Every seed is synthetic: quotes are assembled field by field from the published layout (with
zero or patterned bytes where real quotes carry measurements, keys and signatures), collateral
is built from the PCS JSON schema with made-up values. Nothing is copied from evidence files.
Run: python3 tests/fuzz/gen/gen_dcap_corpus.py  (rewrites tests/fuzz/corpus/dcap_*/)
"""
import base64
import json
import os
import struct

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENDOR = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")


def der(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    if n < 0x100:
        return bytes([tag, 0x81, n]) + body
    return bytes([tag, 0x82]) + struct.pack(">H", n) + body


OIDP = bytes.fromhex("2a864886f84d010d01")


def item(arcs, value):
    return der(0x30, der(0x06, OIDP + bytes(arcs)) + value)


def pck_ext(drop=None):
    tcb = b""
    for k in range(1, 17):
        tcb += item([2, k], der(0x02, bytes([k])))
    tcb += item([2, 17], der(0x02, b"\x0b"))
    tcb += item([2, 18], der(0x04, bytes(range(16))))
    items = [
        item([1], der(0x04, b"\xaa" * 16)),
        item([2], der(0x30, tcb)),
        item([3], der(0x04, b"\x00\x00")),
        item([4], der(0x04, bytes.fromhex("50806f000000"))),
        item([5], der(0x0A, b"\x01")),
        item([6], der(0x04, b"\x11" * 16)),
        item([7], der(0x30, item([7, 1], der(0x01, b"\xff")) + item([7, 2], der(0x01, b"\x00")))),
    ]
    if drop is not None:
        del items[drop]
    return der(0x30, b"".join(items))


def fake_pem(n_certs=3):
    out = b""
    for i in range(n_certs):
        body = der(0x30, der(0x30, bytes([i]) * 40) + der(0x30, b"\x06\x01\x01") + der(0x03, b"\x00" * 9))
        b = base64.b64encode(body)
        out += b"-----BEGIN CERTIFICATE-----\n"
        out += b"".join(b[j:j + 64] + b"\n" for j in range(0, len(b), 64))
        out += b"-----END CERTIFICATE-----\n"
    return out + b"\x00"


def sgx_report(fill):
    return bytes([fill]) * 384


def quote(version, tee, body_type=None, cert=None, auth=b"\x00" * 32, trailing=b""):
    hdr = struct.pack("<HHIHH", version, 2, tee, 4, 11) + VENDOR + b"\x00" * 20
    if tee == 0:
        body = sgx_report(0x5A)
    elif body_type == 3:
        body = bytes(range(256)) * 2 + bytes(648 - 512)
    else:
        body = bytes(range(256)) * 2 + bytes(584 - 512)
    signed = hdr
    if version == 5:
        signed += struct.pack("<HI", body_type, len(body))
    signed += body
    cert = fake_pem() if cert is None else cert
    qecd = sgx_report(0x33) + b"\x07" * 64 + struct.pack("<H", len(auth)) + auth
    qecd += struct.pack("<HI", 5, len(cert)) + cert
    sig = b"\x01" * 64 + b"\x02" * 64
    if version == 3:
        sig += qecd
    else:
        sig += struct.pack("<HI", 6, len(qecd)) + qecd
    return signed + struct.pack("<I", len(sig)) + sig + trailing


def write(dirname, name, data):
    d = os.path.join(TOP, "corpus", dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def quotes():
    q = {
        "v3_sgx": quote(3, 0),
        "v4_tdx": quote(4, 0x81),
        "v4_sgx": quote(4, 0),
        "v5_td10": quote(5, 0x81, 2),
        "v5_td15": quote(5, 0x81, 3),
        "v5_sgx": quote(5, 0, 1),
        "v4_tdx_zero_padding": quote(4, 0x81, trailing=b"\x00" * 200),
        "v4_tdx_text_tail": quote(4, 0x81, trailing=b"\nextra\n"),
        "v4_tdx_no_auth": quote(4, 0x81, auth=b""),
    }
    bad = bytearray(q["v4_tdx"])
    struct.pack_into("<I", bad, 632, 0x1010)  # signature-data size that leaves too little
    q["v4_tdx_bad_sig_len"] = bytes(bad)
    bad = bytearray(q["v5_td15"])
    struct.pack_into("<I", bad, 50, 584)  # body size disagreeing with its type
    q["v5_bad_body_size"] = bytes(bad)
    q["v4_tdx_cut"] = q["v4_tdx"][:700]
    q["pck_ext"] = pck_ext()
    q["pck_ext_no_fmspc"] = pck_ext(drop=3)
    q["sgx_report"] = sgx_report(0x01)
    for k, v in q.items():
        write("dcap_quote", k, v)


def tcb_level_v3(sgx, pce, tdx, status, adv=None):
    lvl = {
        "tcb": {
            "sgxtcbcomponents": [{"svn": s} for s in sgx],
            "pcesvn": pce,
        },
        "tcbDate": "2024-03-13T00:00:00Z",
        "tcbStatus": status,
    }
    if tdx is not None:
        lvl["tcb"]["tdxtcbcomponents"] = [{"svn": s} for s in tdx]
    if adv:
        lvl["advisoryIDs"] = adv
    return lvl


def signed(member, obj):
    body = json.dumps(obj, separators=(",", ":"))
    return ('{"%s":%s,"signature":"%s"}' % (member, body, "ab" * 64)).encode()


def collateral():
    z16 = [0] * 16
    tdx = {
        "id": "TDX", "version": 3, "issueDate": "2025-01-01T00:00:00Z",
        "nextUpdate": "2025-02-01T00:00:00Z", "fmspc": "00aa00bb0000", "pceId": "0000",
        "tcbType": 0, "tcbEvaluationDataNumber": 17,
        "tdxModule": {"mrsigner": "00" * 48, "attributes": "00" * 8, "attributesMask": "ff" * 8},
        "tdxModuleIdentities": [{
            "id": "TDX_01", "mrsigner": "00" * 48, "attributes": "00" * 8,
            "attributesMask": "ff" * 8,
            "tcbLevels": [{"tcb": {"isvsvn": 4}, "tcbDate": "2024-03-13T00:00:00Z",
                           "tcbStatus": "UpToDate"}],
        }],
        "tcbLevels": [
            tcb_level_v3([3] * 16, 11, [3] * 16, "UpToDate"),
            tcb_level_v3(z16, 0, z16, "OutOfDate", ["INTEL-SA-00001", "INTEL-SA-00002"]),
        ],
    }
    sgx2 = {
        "version": 2, "issueDate": "2025-01-01T00:00:00Z", "nextUpdate": "2025-02-01T00:00:00Z",
        "fmspc": "00606a000000", "pceId": "0000", "tcbType": 0, "tcbEvaluationDataNumber": 17,
        "tcbLevels": [{"tcb": dict({"sgxtcbcomp%02dsvn" % i: 1 for i in range(1, 17)}, pcesvn=13),
                       "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "SWHardeningNeeded"}],
    }
    qe = {
        "id": "TD_QE", "version": 2, "issueDate": "2025-01-01T00:00:00Z",
        "nextUpdate": "2025-02-01T00:00:00Z", "tcbEvaluationDataNumber": 17,
        "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
        "attributes": "11" + "00" * 15, "attributesMask": "FBFFFFFFFFFFFFFF" + "00" * 8,
        "mrsigner": "00" * 32, "isvprodid": 2,
        "tcbLevels": [{"tcb": {"isvsvn": 4}, "tcbDate": "2024-03-13T00:00:00Z",
                       "tcbStatus": "UpToDate"}],
    }
    c = {
        "tcbinfo_v3_tdx.json": signed("tcbInfo", tdx),
        "tcbinfo_v2_sgx.json": signed("tcbInfo", sgx2),
        "qeidentity_v2.json": signed("enclaveIdentity", qe),
        "escaped_key.json": b'{"tcb\\u0049nfo":{},"signature":"00"}',
        "duplicate_key.json": b'{"tcbInfo":{},"tcbInfo":{},"signature":"00"}',
        "deep.json": b'{"tcbInfo":' + b"[" * 40 + b"]" * 40 + b',"signature":"00"}',
        "strings.json": b'{"tcbInfo":{"a":"\\u00e9\\"\\\\","b":[1,-2.5e+3,true,false,null]},'
                        b'"signature":"00"}',
        "bundle.json": json.dumps({
            "tcb_info": json.dumps(tdx, separators=(",", ":")), "tcb_info_signature": "cd" * 64,
            "tcb_info_issuer_chain": fake_pem(2).rstrip(b"\x00").decode(),
            "qe_identity": json.dumps(qe, separators=(",", ":")),
            "qe_identity_signature": "ef" * 64, "root_ca_crl": "3000", "pck_crl": "30030201ff",
        }).encode(),
        "pem_chain.pem": fake_pem(2),
        "der_like.der": der(0x30, der(0x30, der(0x02, b"\x01") + der(0x30, b"") + der(0x30, b""))),
    }
    for k, v in c.items():
        write("dcap_collateral", k, v)


if __name__ == "__main__":
    quotes()
    collateral()
