#!/usr/bin/env python3
"""Writes public_jwks.json: the JWK (RFC 7517/7518/8037) of each public test key
in ../keys/, keyed by the PEM file's stem. Run from this directory:
`python3 make_jwks.py` (needs `pip install cryptography`)."""
import base64
import json
import pathlib

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding, PublicFormat, load_pem_private_key, load_pem_public_key)

KEYS = pathlib.Path(__file__).resolve().parent.parent / "keys"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int, size: int = 0) -> bytes:
    return n.to_bytes(size or max(1, (n.bit_length() + 7) // 8), "big")


def jwk(key) -> dict:
    if isinstance(key, rsa.RSAPublicKey):
        nums = key.public_numbers()
        return {"kty": "RSA", "n": b64u(uint(nums.n)), "e": b64u(uint(nums.e))}
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521",
               "secp256k1": "secp256k1"}[key.curve.name]
        size = (key.curve.key_size + 7) // 8
        nums = key.public_numbers()
        return {"kty": "EC", "crv": crv, "x": b64u(uint(nums.x, size)),
                "y": b64u(uint(nums.y, size))}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"kty": "OKP", "crv": "Ed25519",
                "x": b64u(key.public_bytes(Encoding.Raw, PublicFormat.Raw))}
    raise TypeError(type(key))


out = {}
for name in ["rsa2048", "rsa2048b", "rsa1024", "p256", "p384", "p521", "secp256k1", "ed25519"]:
    out[name] = jwk(load_pem_public_key((KEYS / f"{name}_public.pem").read_bytes()))

# One private JWK, for the test that refuses private material in a JWK Set.
private = load_pem_private_key((KEYS / "p256_private.pem").read_bytes(), None)
out["p256_private"] = dict(
    jwk(private.public_key()),
    d=b64u(uint(private.private_numbers().private_value, 32)))

(pathlib.Path(__file__).resolve().parent / "public_jwks.json").write_text(
    json.dumps(out, indent=2) + "\n")
