#!/usr/bin/env python3
"""Generate tests/data/external/cases.json: tokens made by Python JWT libraries.

Every case names the configuration it is verified with, the token, the time of
verification and the outcome that CONTRACT.md prescribes. The expectations are
written by hand from the contract (sections 2-4); they are never taken from
jwt-sso itself.

    pip install pyjwt cryptography jwcrypto python-jose
    python3 tests/data/external/generate.py

All timestamps are fixed, so each outcome is deterministic; RSASSA-PSS, ECDSA
signatures differ from run to run, so regenerating changes the file even when
nothing else did. The file is generated once and committed; CI only reads it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from importlib.metadata import version
from pathlib import Path

import cryptography
import jwt as pyjwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws

try:  # python-jose is optional: a third implementation where it installs.
    import jose
    from jose import jwt as jose_jwt
except ImportError:  # pragma: no cover
    jose = None

HERE = Path(__file__).resolve().parent
KEYS = HERE.parent / "keys"
OUT = HERE / "cases.json"

PYJWT = f"PyJWT {pyjwt.__version__}"
CRYPTOGRAPHY = f"cryptography {cryptography.__version__}"
JOSE = f"python-jose {jose.__version__}" if jose else None

# 2026-01-01T00:00:00Z
T0 = 1767225600
E = 3600  # expiration_time of the default configuration
L = 60  # default leeway
ISS = "https://idp.example.com"
AUD = "bi-server"


JWCRYPTO = f"jwcrypto {version('jwcrypto')}"


def read(name: str) -> str:
    return (KEYS / name).read_text()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- keys ------------------------------------------------------------------

HS256_SECRET = hashlib.sha256(b"jwt-sso external HS256").hexdigest()[:32]
HS384_SECRET = hashlib.sha384(b"jwt-sso external HS384").hexdigest()[:48]
HS512_SECRET = hashlib.sha512(b"jwt-sso external HS512").hexdigest()[:64]
HS_WRONG_SECRET = hashlib.sha256(b"some other secret").hexdigest()[:32]
HS512_BINARY = hashlib.sha512(b"jwt-sso external binary HS512").digest()  # 64 bytes
HS_JWKS_SECRET = hashlib.sha512(b"jwt-sso external JWKS oct key").digest()  # 64 bytes
assert len(HS256_SECRET) == 32 and len(HS384_SECRET) == 48 and len(HS512_SECRET) == 64

PRIVATE = {
    "rsa": read("rsa2048_private.pem"),
    "rsa_b": read("rsa2048b_private.pem"),
    "p256": read("p256_private.pem"),
    "p384": read("p384_private.pem"),
    "ed25519": read("ed25519_private.pem"),
}
PUBLIC = {
    "rsa": read("rsa2048_public.pem"),
    "rsa_b": read("rsa2048b_public.pem"),
    "p256": read("p256_public.pem"),
    "p384": read("p384_public.pem"),
    "ed25519": read("ed25519_public.pem"),
}

# The key each asymmetric algorithm is signed with in the "static" cases.
ALG_KEY = {
    "RS256": "rsa",
    "RS384": "rsa",
    "RS512": "rsa",
    "PS256": "rsa",
    "PS384": "rsa",
    "PS512": "rsa",
    "ES256": "p256",
    "ES384": "p384",
    "EdDSA": "ed25519",
}
HS_SECRET = {"HS256": HS256_SECRET, "HS384": HS384_SECRET, "HS512": HS512_SECRET}
ALL_ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
            "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]


def public_jwk(key: str, kid: str, **extra) -> dict:
    """The public JWK of one of the test keys, exported by jwcrypto."""
    k = jc_jwk.JWK.from_pem(PUBLIC[key].encode())
    d = k.export_public(as_dict=True)
    d["kid"] = kid
    d.update(extra)
    return d


def oct_jwk(secret: bytes, kid: str, **extra) -> dict:
    d = {"kty": "oct", "k": b64url(secret), "kid": kid}
    d.update(extra)
    return d


# --- signers ---------------------------------------------------------------


def sign_key_for(alg: str, key: str | None):
    if alg.startswith("HS"):
        return key if key is not None else HS_SECRET[alg]
    return PRIVATE[key or ALG_KEY[alg]]


def pyjwt_token(alg: str, claims: dict, key=None, headers: dict | None = None) -> str:
    secret = sign_key_for(alg, key)
    if isinstance(secret, str) and not alg.startswith("HS"):
        secret = secret.encode()
    return pyjwt.encode(claims, secret, algorithm=alg, headers=headers)


def pyjwt_raw(alg: str, payload: bytes, key=None, headers: dict | None = None) -> str:
    """PyJWT's JWS layer: signs arbitrary payload bytes."""
    secret = sign_key_for(alg, key)
    if isinstance(secret, str) and not alg.startswith("HS"):
        secret = secret.encode()
    return pyjwt.api_jws.encode(payload, secret, algorithm=alg, headers=headers)


def jwcrypto_key(alg: str, key=None) -> jc_jwk.JWK:
    if alg.startswith("HS"):
        secret = key if key is not None else HS_SECRET[alg]
        if isinstance(secret, str):
            secret = secret.encode()
        return jc_jwk.JWK(kty="oct", k=b64url(secret))
    return jc_jwk.JWK.from_pem(PRIVATE[key or ALG_KEY[alg]].encode())


def jwcrypto_raw(alg: str, payload: bytes, key=None, header: dict | None = None) -> str:
    protected = {"alg": alg}
    protected.update(header or {})
    s = jc_jws.JWS(payload)
    s.allowed_algs = ALL_ALGS
    s.add_signature(jwcrypto_key(alg, key), alg=None,
                    protected=json.dumps(protected, separators=(",", ":")))
    return s.serialize(compact=True)


def jwcrypto_token(alg: str, claims: dict, key=None, header: dict | None = None) -> str:
    hdr = {"typ": "JWT"}
    hdr.update(header or {})
    return jwcrypto_raw(alg, json.dumps(claims, separators=(",", ":")).encode(), key, hdr)


def jose_token(alg: str, claims: dict, key=None, headers: dict | None = None) -> str:
    return jose_jwt.encode(claims, sign_key_for(alg, key), algorithm=alg, headers=headers)


# --- configurations --------------------------------------------------------


def overridden(base: dict, overrides: dict, absent) -> dict:
    """`base` with `overrides` set; a value that is `absent` removes the member."""
    for k, v in overrides.items():
        if v is absent:
            base.pop(k, None)
        else:
            base[k] = v
    return base


def config(algorithms: list[str], key_source: dict, **overrides) -> dict:
    """A configuration; an override of `None` removes the member."""
    return overridden({
        "name": "external",
        "token_name": "token",
        "issuer": ISS,
        "audience": AUD,
        "algorithms": algorithms,
        "key_source": key_source,
        "expiration_time": E,
        "claims": {"user_id": "loginname"},
    }, overrides, None)


def static_pem(key: str) -> dict:
    return {"type": "static", "public_key_pem": PUBLIC[key]}


def static_secret(secret) -> dict:
    return {"type": "static", "secret": secret}


def static_config(alg: str, **overrides) -> dict:
    if alg.startswith("HS"):
        return config([alg], static_secret(HS_SECRET[alg]), **overrides)
    return config([alg], static_pem(ALG_KEY[alg]), **overrides)


JWKS_HS = {"type": "jwks", "jwks": {"keys": [oct_jwk(HS_JWKS_SECRET, "hs-main")]}}
JWKS_RSA = {"type": "jwks", "jwks": {"keys": [
    public_jwk("rsa", "rsa-a", use="sig"),
    public_jwk("rsa_b", "rsa-b", use="sig"),
]}}
JWKS_EC = {"type": "jwks", "jwks": {"keys": [
    public_jwk("p256", "ec-256", use="sig"),
    public_jwk("p384", "ec-384", use="sig"),
]}}
JWKS_OKP = {"type": "jwks", "jwks": {"keys": [public_jwk("ed25519", "ed-1", use="sig")]}}
RSA_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]


def claims(**overrides) -> dict:
    """Claims; an override of `_ABSENT` removes the member (`None` is JSON null)."""
    base = {"iss": ISS, "aud": AUD, "loginname": "jdoe", "iat": T0, "exp": T0 + E}
    return overridden(base, overrides, _ABSENT)


class _Absent:
    pass


_ABSENT = _Absent()

# --- cases -----------------------------------------------------------------

CASES: list[dict] = []
NOW = T0 + 100


def ok(user_id="jdoe", expires_at=T0 + E, **more) -> dict:
    e = {"ok": True, "user_id": user_id, "expires_at": expires_at}
    e.update(more)
    return e


def err(kind: str) -> dict:
    return {"ok": False, "kind": kind}


def add(name: str, made_by: str, cfg: dict, token: str, expect: dict, now: int | float = NOW,
        note: str | None = None) -> None:
    assert not any(c["name"] == name for c in CASES), name
    case = {"name": name, "made_by": made_by}
    if note:
        case["note"] = note
    case.update({"config": cfg, "token": token, "now": now, "expect": expect})
    CASES.append(case)


def every_algorithm() -> None:
    for alg in ALL_ALGS:
        add(f"pyjwt/{alg.lower()}_static_ok", PYJWT, static_config(alg),
            pyjwt_token(alg, claims()), ok())
        add(f"jwcrypto/{alg.lower()}_static_ok", JWCRYPTO, static_config(alg),
            jwcrypto_token(alg, claims()), ok())
    if jose:
        for alg in ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384"]:
            add(f"python-jose/{alg.lower()}_static_ok", JOSE, static_config(alg),
                jose_token(alg, claims()), ok())

    # Other key formats of the contract's key-source table.
    add("pyjwt/rs256_pkcs1_public_key_ok", PYJWT,
        config(["RS256"], {"type": "static", "public_key_pem": read("rsa2048_public_pkcs1.pem")}),
        pyjwt_token("RS256", claims()), ok())
    add("pyjwt/ps384_certificate_ok", PYJWT,
        config(["PS384"], {"type": "static", "public_key_pem": read("rsa2048_cert.pem")}),
        pyjwt_token("PS384", claims()), ok())
    add("pyjwt/es256_certificate_ok", PYJWT,
        config(["ES256"], {"type": "static", "public_key_pem": read("p256_cert.pem")}),
        pyjwt_token("ES256", claims()), ok())
    add("pyjwt/hs512_base64_secret_ok", PYJWT,
        config(["HS512"], static_secret({"base64": base64.b64encode(HS512_BINARY).decode()})),
        pyjwt_token("HS512", claims(), key=HS512_BINARY), ok())
    add("pyjwt/hs256_base64url_unpadded_secret_ok", PYJWT,
        config(["HS256"], static_secret({"base64": b64url(HS512_BINARY)})),
        pyjwt_token("HS256", claims(), key=HS512_BINARY), ok())
    add("pyjwt/rs256_with_kid_static_key_ok", PYJWT, static_config("RS256"),
        pyjwt_token("RS256", claims(), headers={"kid": "whatever-2026"}), ok(),
        note="a static key ignores kid (key_not_found is for JWKS sources)")
    add("pyjwt/several_algorithms_allowed_ok", PYJWT,
        config(RSA_ALGS, static_pem("rsa")), pyjwt_token("PS512", claims()), ok())
    add("pyjwt/hs256_config_allowing_all_hs_ok", PYJWT,
        config(["HS256", "HS384", "HS512"], static_secret(HS512_SECRET)),
        pyjwt_token("HS384", claims(), key=HS512_SECRET), ok())


def jwks_cases() -> None:
    for alg in ["HS256", "HS384", "HS512"]:
        add(f"pyjwt/{alg.lower()}_jwks_ok", PYJWT, config(["HS256", "HS384", "HS512"], JWKS_HS),
            pyjwt_token(alg, claims(), key=HS_JWKS_SECRET, headers={"kid": "hs-main"}), ok())
    for i, alg in enumerate(RSA_ALGS):
        kid, key = ("rsa-a", "rsa") if i % 2 == 0 else ("rsa-b", "rsa_b")
        add(f"pyjwt/{alg.lower()}_jwks_ok", PYJWT, config(RSA_ALGS, JWKS_RSA),
            pyjwt_token(alg, claims(), key=key, headers={"kid": kid}), ok())
    for alg, kid in [("ES256", "ec-256"), ("ES384", "ec-384")]:
        add(f"pyjwt/{alg.lower()}_jwks_ok", PYJWT, config(["ES256", "ES384"], JWKS_EC),
            pyjwt_token(alg, claims(), headers={"kid": kid}), ok())
    add("pyjwt/eddsa_jwks_ok", PYJWT, config(["EdDSA"], JWKS_OKP),
        pyjwt_token("EdDSA", claims(), headers={"kid": "ed-1"}), ok())
    add("jwcrypto/rs256_jwks_ok", JWCRYPTO, config(RSA_ALGS, JWKS_RSA),
        jwcrypto_token("RS256", claims(), key="rsa_b", header={"kid": "rsa-b"}), ok())
    add("jwcrypto/es384_jwks_ok", JWCRYPTO, config(["ES256", "ES384"], JWKS_EC),
        jwcrypto_token("ES384", claims(), header={"kid": "ec-384"}), ok())
    add("jwcrypto/eddsa_jwks_ok", JWCRYPTO, config(["EdDSA"], JWKS_OKP),
        jwcrypto_token("EdDSA", claims(), header={"kid": "ed-1"}), ok())
    add("jwcrypto/hs512_jwks_ok", JWCRYPTO, config(["HS256", "HS384", "HS512"], JWKS_HS),
        jwcrypto_token("HS512", claims(), key=HS_JWKS_SECRET, header={"kid": "hs-main"}), ok())

    # A JWKS exported by PyJWT (to_jwk) rather than jwcrypto.
    pyjwt_set = {"type": "jwks", "jwks": {"keys": [
        dict(pyjwt.algorithms.RSAAlgorithm.to_jwk(
            serialization.load_pem_public_key(PUBLIC["rsa"].encode()), as_dict=True), kid="k1"),
        dict(pyjwt.algorithms.ECAlgorithm.to_jwk(
            serialization.load_pem_public_key(PUBLIC["p256"].encode()), as_dict=True), kid="k2"),
        dict(pyjwt.algorithms.OKPAlgorithm.to_jwk(
            serialization.load_pem_public_key(PUBLIC["ed25519"].encode()), as_dict=True), kid="k3"),
    ]}}
    mixed = ["RS256", "ES256", "EdDSA"]
    for alg, kid in [("RS256", "k1"), ("ES256", "k2"), ("EdDSA", "k3")]:
        add(f"pyjwt/{alg.lower()}_pyjwt_exported_jwks_ok", PYJWT, config(mixed, pyjwt_set),
            pyjwt_token(alg, claims(), headers={"kid": kid}), ok())

    # Candidate selection (CONTRACT section 2, step 6).
    add("pyjwt/jwks_unknown_kid", PYJWT, config(RSA_ALGS, JWKS_RSA),
        pyjwt_token("RS256", claims(), headers={"kid": "rsa-rotated-away"}), err("key_not_found"))
    add("pyjwt/jwks_no_kid_two_rsa_candidates", PYJWT, config(RSA_ALGS, JWKS_RSA),
        pyjwt_token("RS256", claims()), err("key_not_found"),
        note="without kid there must be exactly one candidate; both RSA keys fit RS256")
    add("pyjwt/jwks_no_kid_single_candidate_ok", PYJWT, config(["ES256", "ES384"], JWKS_EC),
        pyjwt_token("ES256", claims()), ok(),
        note="only the P-256 key fits ES256, so it is the one candidate")
    add("pyjwt/jwks_kid_of_key_with_wrong_curve", PYJWT, config(["ES256", "ES384"], JWKS_EC),
        pyjwt_token("ES256", claims(), headers={"kid": "ec-384"}), err("key_not_found"),
        note="the JWK named by kid is P-384 and cannot verify ES256")
    pinned = {"type": "jwks", "jwks": {"keys": [public_jwk("rsa", "rsa-a", alg="RS256")]}}
    add("pyjwt/jwks_key_pinned_to_other_alg", PYJWT, config(["RS256", "PS256"], pinned),
        pyjwt_token("PS256", claims(), headers={"kid": "rsa-a"}), err("key_not_found"),
        note="the JWK's alg RS256 differs from the token's PS256")
    add("pyjwt/jwks_key_pinned_to_same_alg_ok", PYJWT, config(["RS256", "PS256"], pinned),
        pyjwt_token("RS256", claims(), headers={"kid": "rsa-a"}), ok())
    enc = {"type": "jwks", "jwks": {"keys": [
        public_jwk("rsa", "sig-key", use="sig"),
        public_jwk("rsa_b", "enc-key", use="enc"),
    ]}}
    add("pyjwt/jwks_kid_of_encryption_key", PYJWT, config(["RS256"], enc),
        pyjwt_token("RS256", claims(), key="rsa_b", headers={"kid": "enc-key"}),
        err("key_not_found"), note="a JWK with use=enc is never a candidate")
    ops = {"type": "jwks", "jwks": {"keys": [
        public_jwk("rsa", "verify-key", key_ops=["verify"]),
        public_jwk("rsa_b", "encrypt-key", key_ops=["encrypt"]),
    ]}}
    add("jwcrypto/jwks_key_ops_verify_ok", JWCRYPTO, config(["RS256"], ops),
        jwcrypto_token("RS256", claims(), header={"kid": "verify-key"}), ok())
    add("jwcrypto/jwks_key_ops_without_verify", JWCRYPTO, config(["RS256"], ops),
        jwcrypto_token("RS256", claims(), key="rsa_b", header={"kid": "encrypt-key"}),
        err("key_not_found"))
    add("pyjwt/jwks_kid_of_other_key", PYJWT, config(RSA_ALGS, JWKS_RSA),
        pyjwt_token("RS256", claims(), key="rsa_b", headers={"kid": "rsa-a"}),
        err("invalid_signature"), note="signed with key b but names key a")


def rejection_cases() -> None:
    add("pyjwt/hs256_wrong_secret", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims(), key=HS_WRONG_SECRET), err("invalid_signature"))
    add("python-jose/hs256_wrong_secret" if jose else "jwcrypto/hs256_wrong_secret",
        JOSE or JWCRYPTO, static_config("HS256"),
        (jose_token if jose else jwcrypto_token)("HS256", claims(), key=HS_WRONG_SECRET),
        err("invalid_signature"))
    add("pyjwt/hs384_to_hs256_config", PYJWT, static_config("HS256"),
        pyjwt_token("HS384", claims()), err("algorithm_not_allowed"))
    add("pyjwt/hs512_to_hs256_config_same_secret", PYJWT,
        config(["HS256"], static_secret(HS512_SECRET)),
        pyjwt_token("HS512", claims(), key=HS512_SECRET), err("algorithm_not_allowed"))
    add("pyjwt/alg_none_to_hs256_config", PYJWT, static_config("HS256"),
        pyjwt.encode(claims(), None, algorithm="none"), err("algorithm_not_allowed"))
    add("pyjwt/alg_none_to_rs256_config", PYJWT, static_config("RS256"),
        pyjwt.encode(claims(), None, algorithm="none"), err("algorithm_not_allowed"))
    add("pyjwt/alg_none_to_jwks_config", PYJWT, config(RSA_ALGS, JWKS_RSA),
        pyjwt.encode(claims(), None, algorithm="none", headers={"kid": "rsa-a"}),
        err("algorithm_not_allowed"))
    add("pyjwt/ps256_to_rs256_config", PYJWT, static_config("RS256"),
        pyjwt_token("PS256", claims()), err("algorithm_not_allowed"))
    add("pyjwt/rs256_to_ps256_config", PYJWT, static_config("PS256"),
        pyjwt_token("RS256", claims()), err("algorithm_not_allowed"))
    add("pyjwt/rs512_to_rs256_config", PYJWT, static_config("RS256"),
        pyjwt_token("RS512", claims()), err("algorithm_not_allowed"))
    add("pyjwt/es384_to_es256_config", PYJWT, static_config("ES256"),
        pyjwt_token("ES384", claims()), err("algorithm_not_allowed"))
    add("pyjwt/eddsa_to_es256_config", PYJWT, static_config("ES256"),
        pyjwt_token("EdDSA", claims()), err("algorithm_not_allowed"))
    add("pyjwt/rs256_other_rsa_key", PYJWT, static_config("RS256"),
        pyjwt_token("RS256", claims(), key="rsa_b"), err("invalid_signature"))
    add("jwcrypto/ps256_other_rsa_key", JWCRYPTO, static_config("PS256"),
        jwcrypto_token("PS256", claims(), key="rsa_b"), err("invalid_signature"))
    add("pyjwt/es256_other_curve_key_config", PYJWT,
        config(["ES384"], static_pem("p384")),
        pyjwt_token("ES256", claims()), err("algorithm_not_allowed"))

    # Algorithm confusion: HS256 keyed with the RSA public key's PEM text.
    confusion = jwcrypto_token("HS256", claims(), key=PUBLIC["rsa"])
    add("jwcrypto/hs256_keyed_with_rsa_public_pem", JWCRYPTO, static_config("RS256"), confusion,
        err("algorithm_not_allowed"), note="the classic RS256/HS256 key-confusion attack")

    # crit (step 5), before any key lookup or signature check.
    try:
        crit = pyjwt_token("RS256", claims(), headers={"crit": ["exp"]})
        add("pyjwt/crit_header", PYJWT, static_config("RS256"), crit, err("critical_header"))
        crit = pyjwt_token("RS256", claims(), headers={"crit": ["exp"], "kid": "unknown"})
        add("pyjwt/crit_header_before_key_lookup", PYJWT, config(RSA_ALGS, JWKS_RSA), crit,
            err("critical_header"))
    except Exception as e:  # pragma: no cover
        print(f"PyJWT refused a crit header: {e}", file=sys.stderr)
    add("jwcrypto/crit_b64_false", JWCRYPTO, static_config("ES256"),
        jwcrypto_raw("ES256", b"ssotoken", header={"b64": False, "crit": ["b64"]}),
        err("critical_header"),
        note="RFC 7797 unencoded payload; the payload 'ssotoken' happens to be valid base64url")

    # Embedded keys and key URLs are never used (step 7).
    attacker = jc_jwk.JWK.from_pem(PUBLIC["rsa_b"].encode()).export_public(as_dict=True)
    add("jwcrypto/embedded_jwk_header_ignored", JWCRYPTO, static_config("RS256"),
        jwcrypto_token("RS256", claims(), key="rsa_b", header={"jwk": attacker}),
        err("invalid_signature"), note="signed with the key in the jwk header, not the configured one")
    add("pyjwt/jku_header_ignored", PYJWT, config(RSA_ALGS, JWKS_RSA),
        pyjwt_token("RS256", claims(), key="rsa_b",
                    headers={"kid": "rsa-a", "jku": "https://attacker.example/jwks.json"}),
        err("invalid_signature"))

    # Signature encodings.
    good = pyjwt_token("RS256", claims())
    add("pyjwt/stripped_signature", PYJWT, static_config("RS256"),
        good.rsplit(".", 1)[0] + ".", err("invalid_signature"))
    add("pyjwt/hs256_stripped_signature", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims()).rsplit(".", 1)[0] + ".", err("invalid_signature"))
    add("cryptography/es256_der_signature", CRYPTOGRAPHY, static_config("ES256"),
        _es256_der(claims()), err("invalid_signature"),
        note="ECDSA signature in ASN.1 DER instead of the JWS r||s form")
    add("pyjwt/signature_of_other_token", PYJWT, static_config("HS256"),
        _swap_signature(pyjwt_token("HS256", claims()), pyjwt_token("HS256", claims(loginname="admin"))),
        err("invalid_signature"))

    # Order of the pipeline: the first failing step is reported.
    add("pyjwt/order_bad_signature_before_expired", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims(exp=T0 - 10_000, iat=T0 - 12_000), key=HS_WRONG_SECRET),
        err("invalid_signature"))
    add("pyjwt/order_expired_before_issuer", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims(iss="https://evil.example.com", exp=T0 - 1000, iat=T0 - 2000)),
        err("expired"))
    add("pyjwt/order_missing_exp_before_issuer", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims(iss="https://evil.example.com", exp=_ABSENT)),
        err("missing_exp"))
    add("pyjwt/order_issuer_before_audience", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims(iss="https://evil.example.com", aud="other")),
        err("issuer_mismatch"))
    add("pyjwt/order_audience_before_user_id", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims(aud="other", loginname=_ABSENT)), err("audience_mismatch"))
    add("pyjwt/order_claim_type_before_missing_exp", PYJWT, static_config("HS256"),
        pyjwt_token("HS256", claims(exp=_ABSENT, nbf="yesterday")), err("invalid_claim"))

    # Disabled configuration, token size.
    add("pyjwt/disabled_config", PYJWT, static_config("HS256", enabled=False),
        pyjwt_token("HS256", claims()), err("disabled"))
    big = pyjwt_token("HS256", claims())
    add("pyjwt/token_too_large", PYJWT, static_config("HS256", max_token_bytes=len(big) - 1),
        big, err("token_too_large"))
    add("pyjwt/token_exactly_max_size_ok", PYJWT, static_config("HS256", max_token_bytes=len(big)),
        big, ok())

    # Payloads that are not a JSON object, or repeat a member (step 8).
    add("pyjwt/payload_json_array", PYJWT, static_config("HS256"),
        pyjwt_raw("HS256", b'[{"loginname":"jdoe"}]'), err("malformed"))
    add("jwcrypto/payload_not_json", JWCRYPTO, static_config("ES256"),
        jwcrypto_raw("ES256", b"loginname=jdoe"), err("malformed"))
    dup = ('{"iss":"%s","aud":"%s","loginname":"jdoe","loginname":"admin","iat":%d,"exp":%d}'
           % (ISS, AUD, T0, T0 + E)).encode()
    add("pyjwt/payload_duplicate_member", PYJWT, static_config("HS256"),
        pyjwt_raw("HS256", dup), err("malformed"))
    add("pyjwt/payload_duplicate_member_bad_signature", PYJWT, static_config("HS256"),
        pyjwt_raw("HS256", dup, key=HS_WRONG_SECRET), err("invalid_signature"),
        note="unauthenticated bytes are never parsed: the signature fails first")


def edge_cases() -> None:
    """Shapes Python libraries produce without being asked to misbehave."""
    hs = static_config("HS256")
    tok = lambda **c: pyjwt_token("HS256", claims(**c))  # noqa: E731

    # Header variations that must not matter.
    add("pyjwt/typ_at_jwt_ok", PYJWT, hs,
        pyjwt_token("HS256", claims(), headers={"typ": "at+jwt"}), ok(),
        note="RFC 9068 access-token typ; the contract does not restrict typ")
    add("jwcrypto/no_typ_header_ok", JWCRYPTO, static_config("ES256"),
        jwcrypto_raw("ES256", json.dumps(claims()).encode()), ok(),
        note="header is just {\"alg\":\"ES256\"}; payload JSON with spaces after separators")
    add("pyjwt/extra_header_members_ok", PYJWT, static_config("RS256"),
        pyjwt_token("RS256", claims(), headers={"x5t": "bm90LWEtdGh1bWJwcmludA",
                                                 "cty": "JWT", "ext": {"a": [1, 2]}}), ok())

    # Algorithms outside the allowlist that PyJWT signs with.
    p521 = ec.generate_private_key(ec.SECP521R1())
    add("pyjwt/es512_to_es256_config", PYJWT, static_config("ES256"),
        pyjwt.encode(claims(), p521, algorithm="ES512"), err("algorithm_not_allowed"))
    k1 = ec.generate_private_key(ec.SECP256K1())
    add("pyjwt/es256k_to_es256_config", PYJWT, static_config("ES256"),
        pyjwt.encode(claims(), k1, algorithm="ES256K"), err("algorithm_not_allowed"))

    # Nesting depth: the top-level object is level 1; more than 64 levels is malformed.
    def nested(levels_below_top: int):
        v: dict = {}
        for _ in range(levels_below_top - 1):
            v = {"n": v}
        return v

    add("pyjwt/payload_nesting_64_levels_ok", PYJWT, hs, tok(deep=nested(63)), ok())
    add("pyjwt/payload_nesting_65_levels", PYJWT, hs, tok(deep=nested(64)), err("malformed"))
    add("pyjwt/payload_nesting_65_levels_bad_signature", PYJWT, hs,
        pyjwt_token("HS256", claims(deep=nested(64)), key=HS_WRONG_SECRET), err("invalid_signature"))
    add("pyjwt/header_nesting_64_levels_ok", PYJWT, hs,
        pyjwt_token("HS256", claims(), headers={"deep": nested(63)}), ok())
    add("pyjwt/header_nesting_65_levels", PYJWT, hs,
        pyjwt_token("HS256", claims(), headers={"deep": nested(64)}), err("malformed"))

    # Python's json module writes NaN and Infinity, which are not JSON.
    add("pyjwt/payload_with_infinity_exp", PYJWT, hs, tok(exp=float("inf")), err("malformed"),
        note="json.dumps writes Infinity: the payload is not JSON")
    add("pyjwt/payload_with_nan_claim", PYJWT, hs, tok(score=float("nan")), err("malformed"))

    # Large and unusual NumericDates.
    add("pyjwt/exp_far_future_with_iat_ok", PYJWT, hs, tok(exp=10**12), ok(expires_at=T0 + E),
        note="exp in year 33658; iat + expiration_time bounds the validity")
    add("pyjwt/exp_1e300_with_iat_ok", PYJWT, hs, tok(exp=1e300), ok(expires_at=T0 + E))
    add("pyjwt/exp_far_future_without_iat", PYJWT, hs, tok(exp=10**12, iat=_ABSENT),
        err("max_age_exceeded"))
    add("pyjwt/exp_negative", PYJWT, hs, tok(exp=-1, iat=_ABSENT), err("expired"))
    add("pyjwt/exp_zero", PYJWT, hs, tok(exp=0, iat=_ABSENT), err("expired"))
    add("pyjwt/exp_bool", PYJWT, hs, tok(exp=True), err("invalid_claim"))

    # Integer user IDs as Python writes them.
    full = static_config("HS256")
    add("pyjwt/user_id_negative_integer", PYJWT, full, tok(loginname=-42), ok(user_id="-42"))
    add("pyjwt/user_id_u64_max", PYJWT, full, tok(loginname=2**64 - 1),
        ok(user_id="18446744073709551615"))
    add("pyjwt/user_id_integer_beyond_u64", PYJWT, full, tok(loginname=2**64),
        ok(user_id="18446744073709551616"),
        note="Python ints are unbounded; the contract maps an integer to its decimal text")
    add("pyjwt/user_id_zero", PYJWT, full, tok(loginname=0), ok(user_id="0"))

    # A UTF-8 secret is measured in bytes: 16 characters, 32 bytes.
    umlauts = "äöüß" * 4
    assert len(umlauts) == 16 and len(umlauts.encode()) == 32
    add("pyjwt/hs256_utf8_secret_counted_in_bytes_ok", PYJWT,
        config(["HS256"], static_secret(umlauts)),
        pyjwt_token("HS256", claims(), key=umlauts), ok())

    # Dates as Python's datetime.isoformat() writes them.
    prompt_cfg = static_config("HS256", system_prompts=[{"kind": "date", "slot": 2, "claim": "hired"}])
    add("pyjwt/prompts_date_python_isoformat_utc", PYJWT, prompt_cfg,
        tok(hired="2021-04-15T22:30:00.123456+00:00"),
        ok(prompts=[{"kind": "date", "slot": 2, "value": "2021-04-15"}]))
    add("pyjwt/prompts_date_python_isoformat_positive_offset", PYJWT, prompt_cfg,
        tok(hired="2021-04-15T01:30:00+05:30"),
        ok(prompts=[{"kind": "date", "slot": 2, "value": "2021-04-14"}]),
        note="01:30 at UTC+05:30 is 20:00 UTC the day before")
    add("pyjwt/prompts_date_naive_isoformat", PYJWT, prompt_cfg,
        tok(hired="2021-04-15T08:30:00"), err("invalid_claim"),
        note="a date-time without offset is not RFC 3339 (datetime.isoformat() of a naive datetime)")

    # One kid for keys of two types: only the one that fits the alg is a candidate.
    shared = {"type": "jwks", "jwks": {"keys": [public_jwk("rsa", "main"), public_jwk("p256", "main")]}}
    add("pyjwt/jwks_shared_kid_rsa_ok", PYJWT, config(["RS256", "ES256"], shared),
        pyjwt_token("RS256", claims(), headers={"kid": "main"}), ok())
    add("pyjwt/jwks_shared_kid_ec_ok", PYJWT, config(["RS256", "ES256"], shared),
        pyjwt_token("ES256", claims(), headers={"kid": "main"}), ok())
    # A token with kid, a set whose keys have none.
    no_kids = {"type": "jwks", "jwks": {"keys": [
        pyjwt.algorithms.RSAAlgorithm.to_jwk(
            serialization.load_pem_public_key(PUBLIC["rsa"].encode()), as_dict=True)]}}
    add("pyjwt/jwks_without_kids_token_with_kid", PYJWT, config(["RS256"], no_kids),
        pyjwt_token("RS256", claims(), headers={"kid": "rsa-a"}), err("key_not_found"),
        note="no key of the set has that kid")
    add("pyjwt/jwks_without_kids_token_without_kid_ok", PYJWT, config(["RS256"], no_kids),
        pyjwt_token("RS256", claims()), ok(), note="exactly one candidate")

    # Size: the default limit is 16384 bytes.
    def sized(target: int) -> str:
        for n in range(target):
            t = tok(filler="x" * n)
            if len(t) == target:
                return t
            if len(t) > target:
                break
        for n in range(target):  # a one-character claim shifts the length by one or two
            t = tok(filler="x" * n, f="y")
            if len(t) == target:
                return t
        raise SystemExit(f"no token of exactly {target} bytes")

    add("pyjwt/default_max_size_exactly_ok", PYJWT, hs, sized(16384), ok())
    add("pyjwt/default_max_size_plus_one", PYJWT, hs, sized(16385), err("token_too_large"))


def _es256_der(payload: dict) -> str:
    key = serialization.load_pem_private_key(PRIVATE["p256"].encode(), password=None)
    header = b64url(b'{"alg":"ES256","typ":"JWT"}')
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = key.sign(f"{header}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    return f"{header}.{body}.{b64url(sig)}"


def _swap_signature(a: str, b: str) -> str:
    return a.rsplit(".", 1)[0] + "." + b.rsplit(".", 1)[1]


def time_cases() -> None:
    hs = static_config("HS256")
    tok = lambda **c: pyjwt_token("HS256", claims(**c))  # noqa: E731

    # exp: expired when now >= exp + L.
    t = tok(iat=_ABSENT)
    add("pyjwt/exp_within_leeway_ok", PYJWT, hs, t, ok(), now=T0 + E + L - 1)
    add("pyjwt/exp_plus_leeway_expired", PYJWT, hs, t, err("expired"), now=T0 + E + L)
    add("pyjwt/exp_long_past", PYJWT, hs, t, err("expired"), now=T0 + 2 * E)
    t = tok()
    add("pyjwt/exp_exactly_now_ok", PYJWT, hs, t, ok(), now=T0 + E)
    no_leeway = static_config("HS256", leeway=0)
    add("pyjwt/leeway0_one_second_before_exp_ok", PYJWT, no_leeway, t, ok(), now=T0 + E - 1)
    add("pyjwt/leeway0_exactly_exp_expired", PYJWT, no_leeway, t, err("expired"), now=T0 + E)

    # nbf: not yet valid when now + L < nbf.
    t = tok(iat=_ABSENT, nbf=T0 + 1000, exp=T0 + 2000)
    add("pyjwt/nbf_within_leeway_ok", PYJWT, hs, t, ok(expires_at=T0 + 2000), now=T0 + 1000 - L)
    add("pyjwt/nbf_beyond_leeway_not_yet_valid", PYJWT, hs, t, err("not_yet_valid"),
        now=T0 + 1000 - L - 1)
    add("pyjwt/nbf_past_ok", PYJWT, hs, tok(nbf=T0 - 5), ok())

    # iat: issued in the future when now + L < iat.
    t = tok(iat=T0 + 1000, exp=T0 + 2000)
    add("pyjwt/iat_within_leeway_ok", PYJWT, hs, t, ok(expires_at=T0 + 2000), now=T0 + 1000 - L)
    add("pyjwt/iat_beyond_leeway_issued_in_future", PYJWT, hs, t, err("issued_in_future"),
        now=T0 + 1000 - L - 1)

    # Max age with iat: now > iat + E + L.
    t = tok(exp=T0 + 86400)
    add("pyjwt/max_age_iat_boundary_ok", PYJWT, hs, t, ok(expires_at=T0 + E), now=T0 + E + L,
        note="exp is a day later, but iat + expiration_time bounds expires_at")
    add("pyjwt/max_age_iat_exceeded", PYJWT, hs, t, err("max_age_exceeded"), now=T0 + E + L + 1)
    # Max age without iat: exp - now > E + L.
    t = tok(iat=_ABSENT, exp=T0 + 10_000)
    add("pyjwt/max_age_no_iat_boundary_ok", PYJWT, hs, t, ok(expires_at=T0 + 10_000),
        now=T0 + 10_000 - E - L)
    add("pyjwt/max_age_no_iat_lives_too_long", PYJWT, hs, t, err("max_age_exceeded"),
        now=T0 + 10_000 - E - L - 1)
    add("pyjwt/max_age_one_day_token_one_hour_config", PYJWT, hs,
        tok(iat=_ABSENT, exp=T0 + 86400), err("max_age_exceeded"), now=T0)
    add("pyjwt/long_expiration_time_config_ok", PYJWT,
        static_config("HS256", expiration_time=86400), tok(exp=T0 + 86400), ok(expires_at=T0 + 86400))
    add("pyjwt/expires_at_is_exp_when_earlier", PYJWT, hs, tok(exp=T0 + 600), ok(expires_at=T0 + 600))

    # Non-integer NumericDates.
    t = tok(exp=T0 + 1800.5)
    add("pyjwt/fractional_exp_ok", PYJWT, hs, t, ok(expires_at=T0 + 1800.5), now=T0 + 1800 + L)
    add("pyjwt/fractional_exp_expired", PYJWT, hs, t, err("expired"), now=T0 + 1800 + L + 1)
    t = tok(iat=T0 + 1000.5, exp=T0 + 2000)
    add("pyjwt/fractional_iat_issued_in_future", PYJWT, hs, t, err("issued_in_future"),
        now=T0 + 1000 - L)
    add("pyjwt/fractional_iat_ok", PYJWT, hs, t, ok(expires_at=T0 + 2000), now=T0 + 1000 - L + 1)
    t = tok(iat=_ABSENT, nbf=T0 + 500.25, exp=T0 + 2000)
    add("pyjwt/fractional_nbf_not_yet_valid", PYJWT, hs, t, err("not_yet_valid"), now=T0 + 440)
    add("pyjwt/fractional_nbf_ok", PYJWT, hs, t, ok(expires_at=T0 + 2000), now=T0 + 441)
    add("jwcrypto/exponent_notation_exp_ok", JWCRYPTO, hs, _hs256_raw_claims(
        '{"iss":"%s","aud":"%s","loginname":"jdoe","exp":1.7672292E9}' % (ISS, AUD)),
        ok(expires_at=1767229200), note="exp written as 1.7672292E9 = T0 + 3600")

    # Registered claims of the wrong type (step 9), missing exp (step 10).
    add("pyjwt/missing_exp", PYJWT, hs, tok(exp=_ABSENT), err("missing_exp"))
    add("pyjwt/exp_as_string", PYJWT, hs, tok(exp=str(T0 + E)), err("invalid_claim"))
    add("pyjwt/iat_as_string", PYJWT, hs, tok(iat="2026-01-01T00:00:00Z"), err("invalid_claim"))
    add("pyjwt/exp_null", PYJWT, hs, tok(exp=None), err("invalid_claim"),
        note="null is not a number (section 2, step 9)")
    add("jwcrypto/iss_as_number", JWCRYPTO, hs,
        jwcrypto_token("HS256", claims(iss=42)), err("invalid_claim"))
    add("pyjwt/aud_array_with_number", PYJWT, hs, tok(aud=[AUD, 7]), err("invalid_claim"))
    add("pyjwt/aud_as_object", PYJWT, hs, tok(aud={"name": AUD}), err("invalid_claim"))


def _hs256_raw_claims(text: str) -> str:
    return jwcrypto_raw("HS256", text.encode(), header={"typ": "JWT"})


def iss_aud_cases() -> None:
    hs = static_config("HS256")
    tok = lambda **c: pyjwt_token("HS256", claims(**c))  # noqa: E731
    add("pyjwt/issuer_trailing_slash", PYJWT, hs, tok(iss=ISS + "/"), err("issuer_mismatch"))
    add("pyjwt/issuer_other_case", PYJWT, hs, tok(iss="https://IDP.example.com"),
        err("issuer_mismatch"))
    add("pyjwt/issuer_missing", PYJWT, hs, tok(iss=_ABSENT), err("issuer_mismatch"))
    add("pyjwt/issuer_not_configured_any_iss_ok", PYJWT, static_config("HS256", issuer=None),
        tok(iss="https://anything.example.org"), ok())
    add("pyjwt/audience_mismatch", PYJWT, hs, tok(aud="bi-server-test"), err("audience_mismatch"))
    add("pyjwt/audience_case_differs", PYJWT, hs, tok(aud="BI-Server"), err("audience_mismatch"))
    add("pyjwt/audience_missing", PYJWT, hs, tok(aud=_ABSENT), err("audience_mismatch"))
    add("pyjwt/audience_array_containing_ok", PYJWT, hs, tok(aud=["erp", AUD, "crm"]), ok())
    add("jwcrypto/audience_array_containing_ok", JWCRYPTO, static_config("ES256"),
        jwcrypto_token("ES256", claims(aud=[AUD])), ok())
    add("pyjwt/audience_array_not_containing", PYJWT, hs, tok(aud=["erp", "crm"]),
        err("audience_mismatch"))
    add("pyjwt/audience_empty_array", PYJWT, hs, tok(aud=[]), err("audience_mismatch"))
    add("pyjwt/audience_not_configured_any_aud_ok", PYJWT, static_config("HS256", audience=None),
        tok(aud="whatever"), ok())
    add("pyjwt/audience_not_configured_no_aud_ok", PYJWT, static_config("HS256", audience=None),
        tok(aud=_ABSENT), ok())


def mapping_cases() -> None:
    full = static_config(
        "RS256",
        claims={"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        initial_roles=["Viewer"],
    )
    tok = lambda **c: pyjwt_token("RS256", claims(**c))  # noqa: E731
    jtok = lambda **c: jwcrypto_token("RS256", claims(**c))  # noqa: E731

    add("pyjwt/map_name_email_roles_array", PYJWT, full,
        tok(name="Jane Doe", email="jane@example.com", groups=["Sales", "Viewer", "Admin", "Sales"]),
        ok(name="Jane Doe", email="jane@example.com", roles=["Viewer", "Sales", "Admin"],
           user_type="reader", warnings=0))
    add("pyjwt/map_roles_string_split", PYJWT, full,
        tok(name="Jane Doe", groups="Sales, Admin  Viewer,,Ops , "),
        ok(name="Jane Doe", email=None, roles=["Viewer", "Sales", "Admin", "Ops"]))
    add("jwcrypto/map_roles_string_single", JWCRYPTO, full, jtok(groups="Admin"),
        ok(name=None, email=None, roles=["Viewer", "Admin"]))
    add("pyjwt/map_roles_absent", PYJWT, full, tok(), ok(name=None, email=None, roles=["Viewer"]))
    add("pyjwt/map_roles_null", PYJWT, full, tok(groups=None), ok(roles=["Viewer"]),
        note="contract silent on a null roles claim; null means absent as for name, email, prompts")
    add("pyjwt/map_roles_empty_array", PYJWT, full, tok(groups=[]), ok(roles=["Viewer"]))
    add("pyjwt/map_roles_number", PYJWT, full, tok(groups=5), err("invalid_claim"))
    add("pyjwt/map_roles_array_with_number", PYJWT, full, tok(groups=["Sales", 3]),
        err("invalid_claim"))
    add("pyjwt/map_name_null", PYJWT, full, tok(name=None, email="jane@example.com"),
        ok(name=None, email="jane@example.com"))
    add("pyjwt/map_name_number", PYJWT, full, tok(name=12), err("invalid_claim"))
    add("pyjwt/map_email_array", PYJWT, full, tok(email=["a@example.com"]), err("invalid_claim"))
    add("pyjwt/map_unicode_name", PYJWT, full, tok(name="Zoë Ångström 山田"),
        ok(name="Zoë Ångström 山田"))
    add("pyjwt/map_user_type_and_initial_roles", PYJWT,
        static_config("RS256", user_type="analyst", initial_roles=["Viewer", "Editor"],
                      claims={"user_id": "loginname", "roles": "groups"}),
        tok(groups=["Editor", "Sales"]),
        ok(user_type="analyst", roles=["Viewer", "Editor", "Sales"]))

    # User ID (steps 13, 14).
    add("pyjwt/user_id_missing", PYJWT, full, tok(loginname=_ABSENT), err("missing_user_id"))
    add("pyjwt/user_id_empty", PYJWT, full, tok(loginname=""), err("missing_user_id"))
    add("pyjwt/user_id_null", PYJWT, full, tok(loginname=None), err("missing_user_id"))
    add("pyjwt/user_id_integer", PYJWT, full, tok(loginname=4711), ok(user_id="4711"))
    add("pyjwt/user_id_float", PYJWT, full, tok(loginname=47.5), err("invalid_claim"))
    add("pyjwt/user_id_bool", PYJWT, full, tok(loginname=True), err("invalid_claim"))
    add("pyjwt/user_id_array", PYJWT, full, tok(loginname=["jdoe"]), err("invalid_claim"))
    add("pyjwt/user_id_from_sub", PYJWT, static_config("EdDSA", claims={"user_id": "sub"}),
        pyjwt_token("EdDSA", claims(sub="f81d4fae-7dec-11d0-a765-00a0c91e6bf6")),
        ok(user_id="f81d4fae-7dec-11d0-a765-00a0c91e6bf6"))
    add("pyjwt/user_id_missing_when_mapped_claim_absent", PYJWT,
        static_config("EdDSA", claims={"user_id": "preferred_username"}),
        pyjwt_token("EdDSA", claims(sub="jdoe")), err("missing_user_id"),
        note="only sub is present; the mapping names preferred_username")

    # JSON Pointer mappings (a Keycloak-shaped token).
    kc = static_config(
        "ES256",
        claims={"user_id": "preferred_username", "roles": "/realm_access/roles",
                "email": "/contact/email"},
        system_prompts=[{"kind": "text", "slot": 3, "claim": "/org/unit~1team"}],
    )
    add("pyjwt/map_json_pointer_keycloak", PYJWT, kc,
        pyjwt_token("ES256", claims(preferred_username="jdoe",
                                    realm_access={"roles": ["offline_access", "bi-user"]},
                                    contact={"email": "jane@example.com"},
                                    org={"unit/team": "Finance"})),
        ok(roles=["offline_access", "bi-user"], email="jane@example.com",
           prompts=[{"kind": "text", "slot": 3, "value": "Finance"}], warnings=0))

    # System prompts.
    prompts_cfg = static_config(
        "PS256",
        system_prompts=[
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "numeric", "slot": 2, "claim": "level"},
            {"kind": "date", "slot": 1, "claim": "hired"},
        ],
    )
    ptok = lambda **c: pyjwt_token("PS256", claims(**c))  # noqa: E731

    def prompts(text, numeric, date):
        out = []
        if text is not None:
            out.append({"kind": "text", "slot": 1, "value": text})
        if numeric is not None:
            out.append({"kind": "numeric", "slot": 2, "value": numeric})
        if date is not None:
            out.append({"kind": "date", "slot": 1, "value": date})
        return out

    add("pyjwt/prompts_plain", PYJWT, prompts_cfg,
        ptok(department="Sales", level=7, hired="2021-04-15"),
        ok(prompts=prompts("Sales", 7, "2021-04-15"), warnings=0))
    add("pyjwt/prompts_numeric_from_string", PYJWT, prompts_cfg,
        ptok(department="Sales", level="12.5", hired="2021-04-15"),
        ok(prompts=prompts("Sales", 12.5, "2021-04-15")))
    add("pyjwt/prompts_numeric_integer_string", PYJWT, prompts_cfg,
        ptok(department="Sales", level="42", hired="2021-04-15"),
        ok(prompts=prompts("Sales", 42, "2021-04-15")))
    add("pyjwt/prompts_numeric_float", PYJWT, prompts_cfg,
        ptok(department="Sales", level=-0.25, hired="2021-04-15"),
        ok(prompts=prompts("Sales", -0.25, "2021-04-15")))
    add("pyjwt/prompts_text_from_number_and_bool", PYJWT,
        static_config("PS256", system_prompts=[
            {"kind": "text", "slot": 1, "claim": "cost_center"},
            {"kind": "text", "slot": 2, "claim": "manager"},
        ]),
        ptok(cost_center=4711, manager=True),
        ok(prompts=[{"kind": "text", "slot": 1, "value": "4711"},
                    {"kind": "text", "slot": 2, "value": "true"}]))
    add("pyjwt/prompts_date_from_rfc3339_utc", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired="2021-04-15T08:30:00Z"),
        ok(prompts=prompts("Sales", 1, "2021-04-15")))
    add("pyjwt/prompts_date_from_rfc3339_offset", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired="2021-04-15T23:30:00-02:00"),
        ok(prompts=prompts("Sales", 1, "2021-04-16")),
        note="23:30 at UTC-2 is 01:30 UTC the next day")
    add("pyjwt/prompts_date_from_rfc3339_fraction", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired="2021-04-15T00:30:00.123+01:00"),
        ok(prompts=prompts("Sales", 1, "2021-04-14")))
    add("pyjwt/prompts_date_from_numericdate", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired=1618444800),
        ok(prompts=prompts("Sales", 1, "2021-04-15")), note="1618444800 = 2021-04-15T00:00:00Z")
    add("pyjwt/prompts_date_from_numericdate_end_of_day", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired=1618531199),
        ok(prompts=prompts("Sales", 1, "2021-04-15")), note="1618531199 = 2021-04-15T23:59:59Z")
    add("pyjwt/prompts_date_from_fractional_numericdate", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired=1618531199.75),
        ok(prompts=prompts("Sales", 1, "2021-04-15")))
    add("pyjwt/prompts_absent_claims_warn", PYJWT, prompts_cfg, ptok(department="Sales"),
        ok(prompts=prompts("Sales", None, None), warnings=2))
    add("pyjwt/prompts_null_claim_warns", PYJWT, prompts_cfg,
        ptok(department=None, level=3, hired="2021-04-15"),
        ok(prompts=prompts(None, 3, "2021-04-15"), warnings=1))
    add("pyjwt/prompts_numeric_not_a_number", PYJWT, prompts_cfg,
        ptok(department="Sales", level="seven", hired="2021-04-15"), err("invalid_claim"))
    add("pyjwt/prompts_numeric_from_bool", PYJWT, prompts_cfg,
        ptok(department="Sales", level=True, hired="2021-04-15"), err("invalid_claim"))
    add("pyjwt/prompts_date_not_a_date", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired="15/04/2021"), err("invalid_claim"))
    add("pyjwt/prompts_date_impossible", PYJWT, prompts_cfg,
        ptok(department="Sales", level=1, hired="2021-02-30"), err("invalid_claim"))
    add("pyjwt/prompts_text_from_object", PYJWT, prompts_cfg,
        ptok(department={"name": "Sales"}, level=1, hired="2021-04-15"), err("invalid_claim"))
    add("jwcrypto/prompts_plain", JWCRYPTO, prompts_cfg,
        jwcrypto_token("PS256", claims(department="Vertrieb", level="3", hired="2020-02-29")),
        ok(prompts=prompts("Vertrieb", 3, "2020-02-29")))

    # The example identity of CONTRACT section 5.
    contract = static_config(
        "RS256",
        name="ERP",
        claims={"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        system_prompts=[
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "numeric", "slot": 2, "claim": "level"},
            {"kind": "date", "slot": 1, "claim": "hired"},
        ],
        initial_roles=["Viewer"],
        user_type="reader",
        expiration_time=86400,
    )
    add("pyjwt/contract_section5_example", PYJWT, contract,
        pyjwt_token("RS256", claims(name="Jane Doe", email="jane@example.com", groups=[],
                                    department="Sales", level=7, hired="2021-04-15",
                                    iat=T0 - 1000, exp=T0 + 3600)),
        ok(name="Jane Doe", email="jane@example.com", user_type="reader", roles=["Viewer"],
           prompts=prompts("Sales", 7, "2021-04-15"), warnings=0, expires_at=T0 + 3600))


def config_error_cases() -> None:
    """A configuration pasted from a Python library's output that must not load."""
    private = dict(pyjwt.algorithms.RSAAlgorithm.to_jwk(
        serialization.load_pem_private_key(PRIVATE["rsa"].encode(), password=None), as_dict=True),
        kid="k1")
    add("pyjwt/config_jwks_with_private_key", PYJWT,
        config(["RS256"], {"type": "jwks", "jwks": {"keys": [private]}}),
        pyjwt_token("RS256", claims(), headers={"kid": "k1"}), err("config"),
        note="RSAAlgorithm.to_jwk(private_key) has d and key_ops [sign]: the key is never a "
             "candidate (key_ops lacks verify), so the inline set has no usable key")
    add("pyjwt/config_private_pem_as_public_key", PYJWT,
        config(["ES256"], {"type": "static", "public_key_pem": PRIVATE["p256"]}),
        pyjwt_token("ES256", claims()), err("config"))
    add("pyjwt/config_hs256_secret_too_short", PYJWT,
        config(["HS256"], static_secret(HS256_SECRET[:31])),
        pyjwt_token("HS256", claims(), key=HS256_SECRET[:31]), err("config"),
        note="31-byte secret for HS256")


def main() -> None:
    every_algorithm()
    jwks_cases()
    rejection_cases()
    time_cases()
    iss_aud_cases()
    mapping_cases()
    edge_cases()
    config_error_cases()
    OUT.write_text(json.dumps(CASES, indent=1, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for c in CASES:
        counts[c["made_by"]] = counts.get(c["made_by"], 0) + 1
    print(f"wrote {len(CASES)} cases to {OUT}: {counts}")


if __name__ == "__main__":
    main()
