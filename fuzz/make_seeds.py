#!/usr/bin/env python3
"""Writes a small starting corpus for each fuzz target into fuzz/corpus/ (not
committed), from the crate's own test data. Run from anywhere; idempotent."""
import base64
import json
import pathlib

here = pathlib.Path(__file__).resolve().parent
data = here.parent / "tests" / "data"
corpus = here / "corpus"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def write(target, name, content):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(content if isinstance(content, bytes) else content.encode())


# verify_token: raw tokens (mode byte 0), payloads (1), header\0payload (3).
claims = {"sub": "jdoe", "name": "Jane", "email": "j@example.com", "exp": 1767226000, "iat": 1767225600,
          "realm_access": {"roles": ["a", "b"]}, "dept": "Sales", "level": "7", "hired": "2021-04-15"}
for i, f in enumerate(sorted((data / "rfc").glob("*.json"))):
    token = json.loads(f.read_text()).get("token")
    if token:
        write("verify_token", f"rfc{i}", b"\x00" + token.encode())
write("verify_token", "claims", b"\x01" + json.dumps(claims).encode())
write("verify_token", "header_payload", b"\x03" + b'{"alg":"HS256","kid":"hmac"}\x00' + json.dumps(claims).encode())
write("verify_token", "token", b"\x00" + b64(b'{"alg":"HS256"}') + b"." + b64(json.dumps(claims).encode()) + b".AAAA")

# config_load: JSON and TOML configurations.
pem = (data / "keys" / "rsa2048_public.pem").read_text()
jwks = json.loads((data / "jwks" / "public_jwks.json").read_text())
base = {"name": "ERP", "token_name": "token", "issuer": "https://idp.example.com", "audience": "bi",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
        "expiration_time": 3600, "leeway": 60, "max_token_bytes": 16384,
        "claims": {"user_id": "sub", "name": "name", "email": "email", "roles": "/realm/roles"},
        "system_prompts": [{"kind": "text", "slot": 1, "claim": "dept"}, {"kind": "date", "slot": 2, "claim": "hired"}],
        "user_type": "reader", "initial_roles": ["Viewer"], "created_by": "admin",
        "last_modified": "2026-03-13T10:00:00Z"}
write("config_load", "hs256", json.dumps(base))
write("config_load", "rs256", json.dumps({**base, "algorithms": ["RS256"], "key_source": {"type": "static", "public_key_pem": pem}}))
write("config_load", "b64", json.dumps({**base, "key_source": {"type": "static", "secret": {"base64": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}}))
write("config_load", "jwks", json.dumps({**base, "algorithms": ["RS256", "ES256"], "key_source": {"type": "jwks", "jwks": {"keys": [jwks["rsa2048"], jwks["p256"]]}}}))
write("config_load", "toml", 'name = "ERP"\ntoken_name = "t"\nalgorithms = ["HS256"]\nexpiration_time = 3600\n'
      'last_modified = 2026-03-13T10:00:00Z\n[key_source]\ntype = "static"\nsecret = "0123456789abcdef0123456789abcdef"\n'
      '[claims]\nuser_id = "sub"\n[[system_prompts]]\nkind = "numeric"\nslot = 3\nclaim = "level"\n')

# jwks_parse: JWK Sets.
for name, key in jwks.items():
    write("jwks_parse", name, json.dumps({"keys": [dict(key, kid="a")]}))
write("jwks_parse", "all", json.dumps({"keys": [dict(k, kid=str(i)) for i, k in enumerate(jwks.values())]}))
write("jwks_parse", "oct", json.dumps({"keys": [{"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "alg": "HS256", "use": "sig", "kid": "a"}]}))
print("seeds written to", corpus)
