#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_nvidia_rim: RIM-shaped SWID tags made here (none is signed by
NVIDIA, so none loads; they walk the parser, the signature shape checks and the refusals)."""
import os
import sys

SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
H384 = "http://www.w3.org/2001/04/xmlenc#sha384"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"

def signed_info(c14n=C14N11, digest="A" * 64):
    return (f'<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/>'
            '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"/>'
            '<ds:Reference URI=""><ds:Transforms>'
            '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
            f'<ds:Transform Algorithm="{C14N11}"/></ds:Transforms>'
            '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/>'
            f'<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>')

def rim(sig, resources=None, doctype=""):
    res = resources if resources is not None else (
        f'<Resource type="Measurement" index="0" active="True" alternatives="1" size="48" ns2:Hash0="{"ab" * 48}"/>'
        '<Resource type="Measurement" index="1" active="False" alternatives="1" size="48"/>')
    return (f'{doctype}<SoftwareIdentity xmlns="{SWID}" xmlns:ns2="{H384}" tagId="seed" version="1.0">'
            '<Meta colloquialVersion="550.90.07" product="GH100"/>'
            f'<Payload>{res}</Payload>{sig}</SoftwareIdentity>\n')

cert = "MIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnNlYWxi"
full_sig = (f'<ds:Signature xmlns:ds="{DSIG}">{signed_info()}<ds:SignatureValue>{"B" * 128}'
            f'</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}'
            '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>')
seeds = {
    "shaped": rim(full_sig),
    "no_signature": rim(""),
    "exc_c14n": rim(f'<ds:Signature xmlns:ds="{DSIG}">{signed_info(c14n="http://www.w3.org/2001/10/xml-exc-c14n#")}</ds:Signature>'),
    "short_digest": rim(f'<ds:Signature xmlns:ds="{DSIG}">{signed_info(digest="AAAA")}</ds:Signature>'),
    "doctype": rim(full_sig, doctype='<!DOCTYPE SoftwareIdentity [<!ENTITY e "x">]>'),
    "many_alternatives": rim(full_sig, resources='<Resource type="Measurement" index="3" active="True" alternatives="17" size="48"/>'),
    "not_swid": '<SoftwareIdentity xmlns="urn:other"/>\n',
    "truncated": rim(full_sig)[:300],
}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "nvidia_rim")
os.makedirs(out, exist_ok=True)
for name, text in seeds.items():
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write(text)
