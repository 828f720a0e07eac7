#!/usr/bin/env python3
"""gen_snp_corpus: writes the committed seed corpus of fuzz_snp (tests/fuzz/corpus/snp/) from
scratch: synthetic SNP reports of each version, their hex form, GHCB certificate tables,
configfs-tsm JSON captures and Trustee SnpEvidence JSON. Nothing here comes from real evidence;
the signatures are random bytes. Run: python3 tests/fuzz/gen_snp_corpus.py tests/fuzz/corpus/snp"""
import base64
import json
import os
import random
import struct
import sys

rng = random.Random(20261129)
GUIDS = {
    "vcek": bytes.fromhex("63da758de6644564adc5f4b93be8accd"),
    "vlek": bytes.fromhex("a8074bc2a25a483eaae639c045a0b8a1"),
    "ask": bytes.fromhex("4ab7b379bbac4fe4a02f05aef327c782"),
    "ark": bytes.fromhex("c0b406a4a80349529743 3fb6014cd0ae".replace(" ", "")),
}


def rnd(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def tcb(bl, tee, snp, uc, fmc=None):
    if fmc is None:
        return bytes([bl, tee, 0, 0, 0, 0, snp, uc])
    return bytes([fmc, bl, tee, snp, 0, 0, 0, uc])


def report(version=3, key=0, sig_algo=1, policy=0x30000, vmpl=0, fmc=None, cpuid=(0x19, 0x11, 1)):
    t = tcb(3, 0, 8, 115, fmc)
    b = bytearray()
    b += struct.pack("<IIQ", version, 1, policy)
    b += rnd(16) + rnd(16)
    b += struct.pack("<II", vmpl, sig_algo) + t + struct.pack("<Q", 0x25)
    b += struct.pack("<II", key << 2, 0)
    b += rnd(64) + rnd(48) + rnd(32) + bytes(48) + bytes(48) + rnd(32) + b"\xff" * 32
    b += t + (bytes(cpuid) if version >= 3 else bytes(3)) + bytes(21)
    b += rnd(64) + t + bytes([40, 55, 1, 0, 40, 55, 1, 0]) + t
    b += (struct.pack("<QQ", 3, 3) if version >= 5 else bytes(16)) + bytes(0x2A0 - 0x208)
    b += rnd(48) + bytes(24) + rnd(48) + bytes(24) + bytes(368)
    assert len(b) == 1184, len(b)
    return bytes(b)


def fake_pem(tag):
    body = base64.encodebytes(b"0\x82" + rnd(60)).decode()
    return f"-----BEGIN CERTIFICATE-----\n{tag}{body}-----END CERTIFICATE-----\n".encode()


def cert_table(entries, efi=False):
    hdr = 24 * (len(entries) + 1)
    out, data = bytearray(), bytearray()
    for name, blob in entries:
        g = GUIDS[name]
        if efi:
            g = g[3::-1] + g[5:3:-1] + g[7:5:-1] + g[8:]
        out += g + struct.pack("<II", hdr + len(data), len(blob))
        data += blob
    out += bytes(24)
    return bytes(out + data)


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def tsm_json(rep, aux):
    d = {"provider": "sev_guest\n", "outblob": b64u(rep)}
    if aux is not None:
        d["auxblob"] = b64u(aux)
    return json.dumps(d).encode()


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def cbor_map(pairs):
    out = cbor_head(5, len(pairs))
    for k, v in pairs:
        kb = k.encode()
        out += cbor_head(3, len(kb)) + kb
        if isinstance(v, str):
            vb = v.encode()
            out += cbor_head(3, len(vb)) + vb
        else:
            out += cbor_head(2, len(v)) + v
    return out


def tsm_cbor(rep, aux):
    pairs = [("auxblob", aux)] if aux is not None else []
    return cbor_map(pairs + [("outblob", rep), ("provider", "sev_guest\n")])


def ratsd(rep, aux, inner_cbor=False):
    if inner_cbor:
        rec = ["application/vnd.veraison.tsm-report+cbor", b64u(tsm_cbor(rep, aux))]
    else:
        rec = ["application/vnd.veraison.tsm-report+json", b64u(tsm_json(rep, aux))]
    cmw = json.dumps({"__cmwc_t": "tag:github.com,2025:veraison/ratsd/cmw", "tsm-report": rec})
    return json.dumps({"cmw": b64u(cmw.encode()), "eat_nonce": b64u(rep[0x50:0x90]),
                       "eat_profile": "tag:github.com,2024:veraison/ratsd"}).encode()


def trustee_json(rep, certs):
    u32 = lambda o: struct.unpack_from("<I", rep, o)[0]
    u64 = lambda o: struct.unpack_from("<Q", rep, o)[0]
    arr = lambda o, n: list(rep[o:o + n])

    def t(o):
        return {"fmc": None, "bootloader": rep[o], "tee": rep[o + 1], "snp": rep[o + 6],
                "microcode": rep[o + 7]}

    ar = {"version": u32(0), "guest_svn": u32(4), "policy": u64(8), "family_id": arr(0x10, 16),
          "image_id": arr(0x20, 16), "vmpl": u32(0x30), "sig_algo": u32(0x34),
          "current_tcb": t(0x38), "plat_info": u64(0x40), "key_info": u32(0x48),
          "report_data": arr(0x50, 64), "measurement": arr(0x90, 48), "host_data": arr(0xC0, 32),
          "id_key_digest": arr(0xE0, 48), "author_key_digest": arr(0x110, 48),
          "report_id": arr(0x140, 32), "report_id_ma": arr(0x160, 32), "reported_tcb": t(0x180),
          "cpuid_fam_id": rep[0x188], "cpuid_mod_id": rep[0x189], "cpuid_step": rep[0x18A],
          "chip_id": arr(0x1A0, 64), "committed_tcb": t(0x1E0),
          "current": {"build": rep[0x1E8], "minor": rep[0x1E9], "major": rep[0x1EA]},
          "committed": {"build": rep[0x1EC], "minor": rep[0x1ED], "major": rep[0x1EE]},
          "launch_tcb": t(0x1F0),
          "signature": {"r": arr(0x2A0, 72), "s": arr(0x2E8, 72)}}
    return json.dumps({"attestation_report": ar,
                       "cert_chain": [{"cert_type": k, "data": list(v)} for k, v in certs]}).encode()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/snp"
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for v in (2, 3, 5, 7):
        seeds[f"report_v{v}.bin"] = report(version=v)
    seeds["report_vlek.bin"] = report(key=1, vmpl=1)
    seeds["report_nokey.bin"] = report(key=7)
    seeds["report_turin.bin"] = report(fmc=2, cpuid=(0x1A, 0x02, 0))
    seeds["report_trailing.bin"] = report() + bytes(39)
    seeds["report_v1.bin"] = report(version=1)
    seeds["report.hex"] = report().hex().encode() + b"\n"
    pems = [("ark", fake_pem("")), ("ask", fake_pem("")), ("vcek", fake_pem(""))]
    seeds["certtable.bin"] = cert_table(pems)
    seeds["certtable_efi.bin"] = cert_table([("vlek", rnd(40))], efi=True)
    seeds["tsm.json"] = tsm_json(report(), cert_table(pems))
    seeds["tsm_noaux.json"] = tsm_json(report(version=5), None)
    seeds["tsm.cbor"] = tsm_cbor(report(), cert_table(pems))
    seeds["tsm_noaux.cbor"] = tsm_cbor(report(version=5), None)
    seeds["ratsd.json"] = ratsd(report(), cert_table(pems))
    seeds["ratsd_cbor.json"] = ratsd(report(version=2), None, inner_cbor=True)
    seeds["trustee.json"] = trustee_json(report(), [("VCEK", b"0\x82" + rnd(30))])
    seeds["trustee_nochain.json"] = trustee_json(report(version=2), [])
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
