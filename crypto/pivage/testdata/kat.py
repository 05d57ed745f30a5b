#!/usr/bin/env python3
"""Recomputes the pivage known-answer values with OpenSSL (pyca/cryptography)
and a BIP 173 Bech32 encoder, independently of the Go code. Run by
TestKnownAnswerPython when python3 and the cryptography package exist.
Prints one "name value" line per value."""
import base64
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32(hrp, data):
    acc, bits, five = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    mod = polymod(exp + five + [0] * 6) ^ 1  # 1: Bech32, not Bech32m
    check = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in five + check)


def b64(b):
    return base64.b64encode(b).decode().rstrip("=")


def key(label):
    scalar = int.from_bytes(hashlib.sha256(label).digest(), "big")
    return ec.derive_private_key(scalar, ec.SECP256R1())


def compressed(pub):
    return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


sk = key(b"valv pivage KAT recipient key")
esk = key(b"valv pivage KAT ephemeral key")
file_key = bytes(range(16))

rc = compressed(sk.public_key())
ec_ = compressed(esk.public_key())
tag = hashlib.sha256(rc).digest()[:4]
shared = esk.exchange(ec.ECDH(), sk.public_key())
wrap = HKDF(algorithm=hashes.SHA256(), length=32, salt=ec_ + rc, info=b"piv-p256").derive(shared)
body = ChaCha20Poly1305(wrap).encrypt(b"\x00" * 12, file_key, None)
stub = (12345678).to_bytes(4, "little") + bytes([0x82]) + tag

print("recipient", bech32("age1yubikey", rc))
print("identity", bech32("age-plugin-yubikey-", stub).upper())
print("tag", tag.hex())
print("arg0", b64(tag))
print("arg1", b64(ec_))
print("body", body.hex())
