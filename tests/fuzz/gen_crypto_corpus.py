#!/usr/bin/env python3
"""gen_crypto_corpus: writes the committed seed corpora of fuzz_x509 and fuzz_jwk.

Every seed is made here: a throw-away CA, leaf, CRL and keys created with the openssl CLI
(including a leaf with private-arc extensions shaped like AMD's and Intel's), their PEM/DER
forms and truncated or corrupted variants, and hand-written JWKs. Nothing comes from the
evidence corpus. Run from the repository root:  python3 tests/fuzz/gen_crypto_corpus.py
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def write(corpus, name, data):
    os.makedirs(os.path.join(ROOT, corpus), exist_ok=True)
    with open(os.path.join(ROOT, corpus, name), "wb") as f:
        f.write(data)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def x509_seeds():
    with tempfile.TemporaryDirectory() as d:
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=d)
        run("openssl", "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=seed CA",
            "-days", "3650", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem", cwd=d)
        run("openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "leaf.key", cwd=d)
        run("openssl", "req", "-new", "-key", "leaf.key", "-subj", "/CN=seed leaf", "-out", "leaf.csr", cwd=d)
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("1.3.6.1.4.1.3704.1.3.1=DER:020103\n"
                    "1.3.6.1.4.1.3704.1.4=DER:" + "ab" * 64 + "\n"
                    "1.2.840.113741.1.13.1=DER:3003020101\n")
        run("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", "0", "-days", "365", "-extfile", "ext.cnf", "-out", "leaf.pem", cwd=d)
        with open(os.path.join(d, "index.txt"), "w") as f:
            f.write("R\t301231000000Z\t250101000000Z\t1234\tunknown\t/CN=revoked\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ndefault_md=sha256\n"
                    "default_crl_days=30\ncrlnumber=crlnumber\n")
        with open(os.path.join(d, "crlnumber"), "w") as f:
            f.write("01\n")
        run("openssl", "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem",
            "-out", "crl.pem", cwd=d)
        run("openssl", "x509", "-in", "leaf.pem", "-outform", "der", "-out", "leaf.der", cwd=d)
        run("openssl", "crl", "-in", "crl.pem", "-outform", "der", "-out", "crl.der", cwd=d)
        run("openssl", "pkey", "-in", "leaf.key", "-pubout", "-outform", "der", "-out", "spki.der", cwd=d)
        run("openssl", "pkey", "-in", "leaf.key", "-pubout", "-out", "spki.pem", cwd=d)
        leaf_der, leaf_pem, ca_pem = read(d, "leaf.der"), read(d, "leaf.pem"), read(d, "ca.pem")
        write("x509", "leaf.der", leaf_der)
        write("x509", "leaf.pem", leaf_pem)
        write("x509", "bundle.pem", leaf_pem + ca_pem)
        write("x509", "crl.der", read(d, "crl.der"))
        write("x509", "crl.pem", read(d, "crl.pem"))
        write("x509", "spki.der", read(d, "spki.der"))
        write("x509", "spki.pem", read(d, "spki.pem"))
        write("x509", "leaf_truncated.der", leaf_der[: len(leaf_der) // 2])
        write("x509", "leaf_trailing.der", leaf_der + b"\x00")
        flipped = bytearray(leaf_der)
        flipped[len(flipped) - 10] ^= 0xFF  # inside the signature
        write("x509", "leaf_badsig.der", bytes(flipped))
        write("x509", "huge_length.der", b"\x30\x84\xff\xff\xff\xff\x02\x01\x00")
        write("x509", "pem_garbage.pem", b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")


def jwk_seeds():
    with tempfile.TemporaryDirectory() as d:
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", "rsa.key", cwd=d)
        mod = subprocess.run(["openssl", "rsa", "-in", "rsa.key", "-noout", "-modulus"], cwd=d,
                             check=True, capture_output=True).stdout.decode().strip().split("=")[1]
        n = bytes.fromhex(mod)
        run("openssl", "genpkey", "-algorithm", "ED25519", "-out", "ed.key", cwd=d)
        run("openssl", "pkey", "-in", "ed.key", "-pubout", "-outform", "der", "-out", "ed.der", cwd=d)
        ed_x = read(d, "ed.der")[-32:]
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.key", cwd=d)
        run("openssl", "ec", "-in", "ec.key", "-pubout", "-outform", "der", "-out", "ec.der", cwd=d)
        pt = read(d, "ec.der")[-65:]
    seeds = {
        "rsa": {"kty": "RSA", "n": b64u(n), "e": "AQAB"},
        "okp": {"kty": "OKP", "crv": "Ed25519", "x": b64u(ed_x)},
        "ec": {"kty": "EC", "crv": "P-256", "x": b64u(pt[1:33]), "y": b64u(pt[33:])},
        "ec_short_x": {"kty": "EC", "crv": "P-256", "x": b64u(pt[2:33]), "y": b64u(pt[33:])},
        "ec_private": {"kty": "EC", "crv": "P-256", "x": b64u(pt[1:33]), "y": b64u(pt[33:]), "d": "AA"},
        "unknown_kty": {"kty": "oct"},
        "jcs_mixed": {"\u20ac": 1e30, "a": [1.5, -0.0, None, True, "\u0000\n\u2028"], "\U0001F600": {}},
    }
    for name, obj in seeds.items():
        write("jwk", name, json.dumps(obj).encode())
    write("jwk", "not_json", b"{\"kty\":")


def main():
    x509_seeds()
    jwk_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
