//! CONTRACT section 1: loading configurations from JSON and TOML, defaults,
//! round trips, and every configuration error (kind `config`, a message that
//! names the field, a hint, and never a secret).

// `remote` guards a test below; the feature may not be declared in Cargo.toml yet.
#![allow(unexpected_cfgs)]

use jwt_sso::{
    Algorithm, ClaimNames, ConfigError, ConfigName, Error, ErrorKind, JwtConfig, KeySource,
    PromptKind, PromptMapping, RemoteUrl, Secret, SecretSpec, StaticKey, TokenName,
};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::support::clocked;
use crate::support::fixtures::contract_config;
use clocked::TestVerifier;

/// The shared secret of most configurations here: distinctive, so a leak is easy to see.
const SECRET: &str = "SUPERSECRET-config-tests-0123456789abcdef";

fn key(name: &str) -> String {
    let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A minimal valid HS256 configuration.
fn base() -> Value {
    json!({
        "name": "ERP",
        "token_name": "token",
        "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 3600,
        "claims": {"user_id": "sub"}
    })
}

/// A minimal valid configuration with a static public key.
fn base_pem(alg: &str, pem_file: &str) -> Value {
    let mut v = base();
    v["algorithms"] = json!([alg]);
    v["key_source"] = json!({"type": "static", "public_key_pem": key(pem_file)});
    v
}

/// The configuration of CONTRACT section 1, with a real RSA key.
fn contract_example() -> Value {
    let key_source = json!({"type": "static", "public_key_pem": key("rsa2048_public.pem")});
    contract_config(json!(["RS256"]), key_source)
}

/// Returns `v` with the member at JSON Pointer `pointer` set to `new`, or removed when `None`.
fn edit(mut v: Value, pointer: &str, new: Option<Value>) -> Value {
    let (parent, last) = pointer.rsplit_once('/').expect("a JSON Pointer");
    let shown = v.to_string();
    let target = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent} in {shown}"));
    match (target, new) {
        (Value::Object(map), Some(new)) => {
            map.insert(last.to_owned(), new);
        }
        (Value::Object(map), None) => {
            let removed = map.remove(last);
            assert_ne!(removed, None, "nothing to remove at {pointer}");
        }
        (Value::Array(items), Some(new)) => items[last.parse::<usize>().unwrap()] = new,
        (other, _) => panic!("cannot edit {pointer} in {other}"),
    }
    v
}

fn set(v: Value, pointer: &str, new: Value) -> Value {
    edit(v, pointer, Some(new))
}

fn remove(v: Value, pointer: &str) -> Value {
    edit(v, pointer, None)
}

/// Parses and validates `v`: a configuration that loads is one that can verify.
fn load(v: &Value) -> Result<JwtConfig, Error> {
    load_json(&v.to_string())
}

fn load_json(text: &str) -> Result<JwtConfig, Error> {
    Ok(JwtConfig::from_json_str(text)?.validate()?.into_config())
}

fn load_toml(text: &str) -> Result<JwtConfig, Error> {
    Ok(JwtConfig::from_toml_str(text)?.validate()?.into_config())
}

/// What the config tests read of an error: `Error` and `ConfigError` alike.
trait Reported: std::fmt::Display + std::fmt::Debug {
    fn kind(&self) -> ErrorKind;
    fn hint(&self) -> &str;
    fn to_json(&self) -> Value;
}

/// `Error` and `ConfigError` have the same three methods of their own.
macro_rules! reported {
    ($($t:ty),*) => {$(
        impl Reported for $t {
            fn kind(&self) -> ErrorKind {
                <$t>::kind(self)
            }
            fn hint(&self) -> &str {
                <$t>::hint(self)
            }
            fn to_json(&self) -> Value {
                <$t>::to_json(self)
            }
        }
    )*};
}
reported!(Error, ConfigError);

#[track_caller]
fn load_ok(v: &Value) -> JwtConfig {
    load(v).unwrap_or_else(|e| panic!("expected {v} to load, got {} ({e}): {}", e.kind(), e.hint()))
}

/// Every way an error can be shown to a person or a log.
fn renderings(err: &impl Reported) -> Vec<String> {
    vec![
        err.to_string(),
        format!("{err:?}"),
        err.hint().to_owned(),
        err.to_json().to_string(),
    ]
}

#[track_caller]
fn assert_hidden(what: &str, texts: &[String], secrets: &[&str]) {
    for text in texts {
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{what} shows the secret {secret:?}: {text}"
            );
        }
    }
}

/// Asserts `err` is a config error whose message names each of `names`, with
/// a hint, and that no rendering of it shows a secret.
#[track_caller]
fn assert_config_error(err: &impl Reported, names: &[&str], secrets: &[&str]) {
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(err.kind().as_str(), "config");
    let message = err.to_string();
    for name in names {
        assert!(
            message.contains(name),
            "message {message:?} does not name {name:?}"
        );
    }
    assert!(
        !err.hint().trim().is_empty(),
        "config error without a hint: {message}"
    );
    assert_eq!(err.to_json()["kind"], "config");
    assert_hidden("a config error", &renderings(err), secrets);
}

/// Loads `v`, expecting a config error that names each of `names`.
#[track_caller]
fn config_error(v: &Value, names: &[&str]) -> Error {
    let err = match load(v) {
        Ok(c) => panic!("expected a config error naming {names:?}, but it loaded: {c:?}"),
        Err(e) => e,
    };
    assert_config_error(&err, names, &[SECRET]);
    err
}

fn prompt(kind: &str, slot: i64) -> Value {
    json!({"kind": kind, "slot": slot, "claim": "c"})
}

// ---------------------------------------------------------------- loading

#[test]
fn defaults_apply_when_fields_are_absent() {
    let c = load_ok(&base());
    assert!(c.enabled);
    assert_eq!(c.leeway, 60);
    assert_eq!(c.max_token_bytes, 16384);
    assert_eq!(c.user_type, "reader");
    assert_eq!(c.issuer, None);
    assert_eq!(c.audience, None);
    assert!(c.system_prompts.is_empty());
    assert!(c.initial_roles.is_empty());
    assert_eq!(c.created_by, None);
    assert_eq!(c.last_modified, None);
    assert_eq!(
        c.claims,
        ClaimNames {
            user_id: "sub".into(),
            name: None,
            email: None,
            roles: None
        }
    );
}

#[test]
fn the_contract_example_loads_as_written() {
    let c = load_ok(&contract_example());
    assert_eq!(c.name, "ERP");
    assert!(c.enabled);
    assert_eq!(c.token_name, "token");
    assert_eq!(c.issuer.as_deref(), Some("https://idp.example.com"));
    assert_eq!(c.audience.as_deref(), Some("bi-server"));
    assert_eq!(c.algorithms, ["RS256"]);
    assert_eq!(
        c.key_source,
        KeySource::Static(StaticKey::PublicKeyPem(key("rsa2048_public.pem")))
    );
    assert_eq!(c.expiration_time, 86400);
    assert_eq!(c.leeway, 60);
    assert_eq!(c.max_token_bytes, 16384);
    assert_eq!(c.claims.user_id, "loginname");
    assert_eq!(c.claims.name.as_deref(), Some("name"));
    assert_eq!(c.claims.email.as_deref(), Some("email"));
    assert_eq!(c.claims.roles.as_deref(), Some("groups"));
    assert_eq!(
        c.system_prompts,
        [
            PromptMapping {
                kind: PromptKind::Text,
                slot: 1,
                claim: "department".into()
            },
            PromptMapping {
                kind: PromptKind::Numeric,
                slot: 2,
                claim: "level".into()
            },
            PromptMapping {
                kind: PromptKind::Date,
                slot: 1,
                claim: "hired".into()
            },
        ]
    );
    assert_eq!(c.user_type, "reader");
    assert_eq!(c.initial_roles, ["Viewer"]);
    assert_eq!(c.created_by.as_deref(), Some("admin"));
    assert_eq!(c.last_modified, Some(datetime!(2026-03-13 10:00:00 UTC)));
    // It builds a verifier too.
    let verifier = TestVerifier::new(c.clone().validate().unwrap());
    assert_eq!(verifier.name(), "ERP");
    assert_eq!(verifier.config(), &c);
}

#[test]
fn non_default_values_are_kept() {
    let v = json!({
        "name": "Ünïcödé name", "enabled": false, "token_name": "jwt",
        "algorithms": ["HS512", "HS256", "HS384"],
        "key_source": {"type": "static", "secret": "SUPERSECRET-".repeat(6)},
        "expiration_time": 1, "leeway": 0, "max_token_bytes": 100,
        "claims": {"user_id": "/realm_access/user"},
        "user_type": "analyst", "initial_roles": ["A", "B"]
    });
    let c = load_ok(&v);
    assert!(!c.enabled);
    assert_eq!(c.name, "Ünïcödé name");
    assert_eq!(c.algorithms, ["HS512", "HS256", "HS384"]);
    assert_eq!(
        (c.expiration_time, c.leeway, c.max_token_bytes),
        (1, 0, 100)
    );
    assert_eq!(c.user_type, "analyst");
    assert_eq!(c.claims.user_id, "/realm_access/user");
}

#[test]
fn json_and_toml_load_the_same_model() {
    let pem = key("rsa2048_public.pem");
    let toml = format!(
        r#"
name = "ERP"
enabled = true
token_name = "token"
issuer = "https://idp.example.com"
audience = "bi-server"
algorithms = ["RS256"]
expiration_time = 86400
leeway = 60
max_token_bytes = 16384
user_type = "reader"
initial_roles = ["Viewer"]
created_by = "admin"
last_modified = "2026-03-13T10:00:00Z"

[key_source]
type = "static"
public_key_pem = """
{pem}"""

[claims]
user_id = "loginname"
name = "name"
email = "email"
roles = "groups"

[[system_prompts]]
kind = "text"
slot = 1
claim = "department"

[[system_prompts]]
kind = "numeric"
slot = 2
claim = "level"

[[system_prompts]]
kind = "date"
slot = 1
claim = "hired"
"#
    );
    let from_toml = load_toml(&toml).unwrap();
    let from_json = load_ok(&contract_example());
    assert_eq!(from_toml, from_json);
}

#[test]
fn toml_applies_the_same_defaults_and_secret_forms() {
    let minimal = r#"
name = "ERP"
token_name = "token"
algorithms = ["HS256"]
expiration_time = 3600
key_source = { type = "static", secret = { base64 = "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY" } }
claims = { user_id = "sub" }
"#;
    let c = load_toml(minimal).unwrap();
    assert!(c.enabled);
    assert_eq!(
        (c.leeway, c.max_token_bytes, c.user_type.as_str()),
        (60, 16384, "reader")
    );
    let json_form = load_ok(&set(
        base(),
        "/key_source/secret",
        json!({"base64": "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY"}),
    ));
    assert_eq!(c, json_form);
}

#[test]
fn toml_errors_are_config_errors_that_name_the_field() {
    let cases = [
        (set(base(), "/audiance", json!("bi")), "audiance"),
        (
            set(base(), "/claims/username", json!("x")),
            "claims.username",
        ),
        (set(base(), "/key_source/kid", json!("x")), "key_source.kid"),
        (set(base(), "/expiration_time", json!(0)), "expiration_time"),
        (
            set(base(), "/expiration_time", json!(-1)),
            "expiration_time",
        ),
        (set(base(), "/enabled", json!("yes")), "enabled"),
        (set(base(), "/algorithms", json!(["none"])), "algorithms"),
        (remove(base(), "/token_name"), "token_name"),
        (remove(base(), "/claims/user_id"), "claims.user_id"),
        (
            set(base(), "/system_prompts", json!([prompt("date", 11)])),
            "system_prompts[0]",
        ),
        (
            set(
                base(),
                "/system_prompts",
                json!([prompt("date", 1), {"kind": "text", "slot": "1", "claim": "c"}]),
            ),
            "system_prompts[1].slot",
        ),
        (
            set(base(), "/key_source/secret", json!("SUPERSECRET-short")),
            "key_source.secret",
        ),
    ];
    for (v, field) in cases {
        let text = toml::to_string(&v).unwrap();
        let err = load_toml(&text).expect_err(&text);
        assert_config_error(&err, &[field], &[SECRET, "SUPERSECRET"]);
    }
    // A syntax error gives the line and column, not the text.
    let err = load_toml("name = \"ERP\"\ntoken_name = ").unwrap_err();
    assert_config_error(&err, &["line 2"], &[]);
}

/// TOML error messages of the parser quote the offending source line; a line
/// that holds the secret must not end up in the error.
#[test]
fn toml_errors_never_quote_a_secret_line() {
    let texts = [
        format!(
            "name = \"ERP\"\ntoken_name = \"t\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\nclaims = {{ user_id = \"sub\" }}\nkey_source = {{ type = \"static\", secret = \"{SECRET}\", extra = 1 }}\n"
        ),
        format!(
            "name = \"ERP\"\ntoken_name = \"t\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\nclaims = {{ user_id = \"sub\" }}\nkey_source = {{ type = \"static\", secret = {{ base64 = \"{SECRET}\", env = \"X\" }} }}\n"
        ),
        format!(
            "name = \"ERP\"\ntoken_name = \"t\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\nclaims = {{ user_id = \"sub\" }}\nkey_source = {{ type = \"static\", secret = \"{SECRET}\" }} oops\n"
        ),
        format!(
            "name = \"ERP\"\ntoken_name = \"t\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\nclaims = {{ user_id = \"sub\" }}\nkey_source = {{ type = \"static\", secret = \"{SECRET}\", public_key_pem = 5 }}\n"
        ),
    ];
    for text in &texts {
        let err = load_toml(text).unwrap_err();
        assert_config_error(&err, &[], &[SECRET]);
    }
}

#[test]
fn last_modified_is_rfc3339_and_round_trips() {
    let c = load_ok(&set(
        base(),
        "/last_modified",
        json!("2026-03-13T10:00:00Z"),
    ));
    assert_eq!(c.last_modified, Some(datetime!(2026-03-13 10:00:00 UTC)));
    let out: Value = serde_json::from_str(&c.to_json_string().unwrap()).unwrap();
    assert_eq!(out["last_modified"], "2026-03-13T10:00:00Z");

    // An offset and fractional seconds are kept as the same instant.
    let c = load_ok(&set(
        base(),
        "/last_modified",
        json!("2026-03-13T12:00:00.250+02:00"),
    ));
    let when = c.last_modified.unwrap();
    assert_eq!(when, datetime!(2026-03-13 10:00:00.250 UTC));
    let again = JwtConfig::from_json_str(&c.to_json_string().unwrap()).unwrap();
    assert_eq!(again.last_modified, Some(when));

    // Not RFC 3339: a config error that names the field.
    for bad in [
        json!("yesterday"),
        json!("2026-03-13"),
        json!("2026-03-13 10:00:00"),
        json!(1773396000),
    ] {
        config_error(&set(base(), "/last_modified", bad), &["last_modified"]);
    }
}

#[test]
fn last_modified_may_be_a_toml_datetime() {
    let quoted = load_toml(&toml_hs256("last_modified = \"2026-03-13T10:00:00Z\"")).unwrap();
    let native = load_toml(&toml_hs256("last_modified = 2026-03-13T10:00:00Z")).unwrap();
    assert_eq!(
        quoted.last_modified,
        Some(datetime!(2026-03-13 10:00:00 UTC))
    );
    assert_eq!(native, quoted);
    // A TOML local date-time has no offset, so it is not an RFC 3339 instant.
    let err = load_toml(&toml_hs256("last_modified = 2026-03-13T10:00:00")).unwrap_err();
    assert_config_error(&err, &["last_modified"], &[SECRET]);
}

fn toml_hs256(extra: &str) -> String {
    format!(
        "name = \"ERP\"\ntoken_name = \"token\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\n{extra}\n[key_source]\ntype = \"static\"\nsecret = \"{SECRET}\"\n[claims]\nuser_id = \"sub\"\n"
    )
}

#[test]
fn serialising_and_loading_again_gives_an_equal_config() {
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe {
        std::env::set_var(
            "JWT_SSO_TEST_CONFIG_ROUND_TRIP",
            "SUPERSECRET-from-env-0123456789abcdef",
        )
    };
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
        "x": "my3R97rWYmxNKyWWDaq_vkgLKxTUIV-LolgD8A4Mfxs",
        "y": "QalSn-DT4g3V1GOgThqd09mYqhDq2WRZ0NEc3HFWDek"}]});
    let cases = [
        contract_example(),
        base(),
        set(
            base(),
            "/key_source/secret",
            json!({"base64": "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY="}),
        ),
        set(
            base(),
            "/key_source/secret",
            json!({"env": "JWT_SSO_TEST_CONFIG_ROUND_TRIP"}),
        ),
        set(
            base_pem("ES256", "p256_public.pem"),
            "/key_source",
            json!({"type": "jwks", "jwks": jwks}),
        ),
        set(
            set(base(), "/enabled", json!(false)),
            "/last_modified",
            json!("2026-03-13T12:00:00+02:00"),
        ),
    ];
    for v in cases {
        let c = load_ok(&v);
        let text = c.to_json_string().unwrap();
        let again = JwtConfig::from_json_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(again, c, "{text}");
        assert_eq!(again.to_json_string().unwrap(), text);
        // serde_json and TOML writers of the same model load back equal as well.
        let compact = serde_json::to_string(&c).unwrap();
        assert_eq!(JwtConfig::from_json_str(&compact).unwrap(), c);
        let toml = toml::to_string(&c).unwrap();
        assert_eq!(
            load_toml(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}")),
            c
        );
    }
}

#[test]
fn secrets_serialise_as_given() {
    // A text secret is written back as the text, so the file loads again.
    let out: Value = serde_json::from_str(&load_ok(&base()).to_json_string().unwrap()).unwrap();
    assert_eq!(
        out["key_source"],
        json!({"type": "static", "secret": SECRET})
    );

    let b64 = json!({"base64": "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY"});
    let out: Value = serde_json::from_str(
        &load_ok(&set(base(), "/key_source/secret", b64.clone()))
            .to_json_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out["key_source"]["secret"], b64);

    // An env secret stays a reference: the value never reaches the file.
    let value = "SUPERSECRET-env-value-serialised-0123456789";
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var("JWT_SSO_TEST_CONFIG_ENV_SERIALISE", value) };
    let c = load_ok(&set(
        base(),
        "/key_source/secret",
        json!({"env": "JWT_SSO_TEST_CONFIG_ENV_SERIALISE"}),
    ));
    let text = c.to_json_string().unwrap();
    let out: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        out["key_source"]["secret"],
        json!({"env": "JWT_SSO_TEST_CONFIG_ENV_SERIALISE"})
    );
    assert!(!text.contains(value));
    assert!(!toml::to_string(&c).unwrap().contains(value));
    assert_eq!(
        c.key_source,
        KeySource::Static(StaticKey::Secret(SecretSpec::Env(
            "JWT_SSO_TEST_CONFIG_ENV_SERIALISE".into()
        )))
    );
}

#[test]
fn parsing_is_data_and_validation_is_evidence() {
    // Parsing checks the shape; the rules (and the keys) are validate's.
    let mut short = base();
    short["key_source"]["secret"] = json!("SUPERSECRET-short");
    let parsed = JwtConfig::from_json_str(&short.to_string()).unwrap();
    let err = parsed.clone().validate().unwrap_err();
    assert_eq!(err.field(), "key_source.secret");
    assert!(err.problem().contains("32 bytes"), "{err}");
    assert!(!err.fix().is_empty());
    assert_config_error(&err, &["key_source.secret"], &["SUPERSECRET"]);
    // A valid configuration derefs to its data and gives it back.
    let valid = JwtConfig::from_json_str(&base().to_string())
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(valid.name, "ERP");
    assert_eq!(valid.config(), &load_ok(&base()));
    assert_eq!(valid.into_config(), load_ok(&base()));
    // TOML text is no JSON.
    let err = JwtConfig::from_json_str("name = \"ERP\"").unwrap_err();
    assert_config_error(&err, &[], &[]);
}

#[test]
fn a_config_built_in_code_is_validated_too() {
    let mut c = load_ok(&base());
    c.clone().validate().unwrap();
    c.key_source = KeySource::Static(StaticKey::Secret(SecretSpec::Text(Secret::new(
        "SUPERSECRET-short",
    ))));
    let err = c.clone().validate().unwrap_err();
    assert_config_error(&err, &["secret", "HS256", "32"], &["SUPERSECRET"]);
    let err = Error::from(c.clone().validate().unwrap_err());
    assert_config_error(&err, &["secret"], &["SUPERSECRET"]);

    // No `Algorithm` means `none`, so it is written through JSON text.
    let mut text = serde_json::to_value(load_ok(&base())).unwrap();
    text["algorithms"] = json!(["none"]);
    assert_config_error(&load(&text).unwrap_err(), &["algorithms"], &[SECRET]);
    // The rules a typed allowlist can still break are checked in code too.
    let mut c = load_ok(&base());
    c.algorithms = Vec::new();
    assert_config_error(
        &c.clone().validate().unwrap_err(),
        &["algorithms", "empty"],
        &[SECRET],
    );
    c.algorithms = vec![Algorithm::HS256, Algorithm::HS256];
    assert_config_error(
        &c.clone().validate().unwrap_err(),
        &["algorithms", "twice"],
        &[SECRET],
    );
    let mut c = load_ok(&base());
    c.expiration_time = 0;
    assert_config_error(
        &Error::from(c.clone().validate().unwrap_err()),
        &["expiration_time"],
        &[SECRET],
    );
}

// ---------------------------------------------------------------- secrets

#[test]
fn secret_length_boundaries_per_algorithm() {
    for (alg, need) in [("HS256", 32), ("HS384", 48), ("HS512", 64)] {
        assert_eq!(alg.parse::<Algorithm>().unwrap().min_secret_bytes(), need);
        let ok = set(
            set(base(), "/algorithms", json!([alg])),
            "/key_source/secret",
            json!("s".repeat(need)),
        );
        load_ok(&ok);
        let short = set(
            ok.clone(),
            "/key_source/secret",
            json!("s".repeat(need - 1)),
        );
        let err = config_error(
            &short,
            &["secret", alg, &need.to_string(), &(need - 1).to_string()],
        );
        assert!(err.hint().contains(&need.to_string()), "{}", err.hint());
        // The empty secret too.
        config_error(&set(ok, "/key_source/secret", json!("")), &["secret", alg]);
    }
}

#[test]
fn the_secret_must_fit_every_allowed_algorithm() {
    let v = set(
        set(base(), "/algorithms", json!(["HS256", "HS512"])),
        "/key_source/secret",
        json!("s".repeat(63)),
    );
    config_error(&v, &["secret", "HS512", "64"]);
    load_ok(&set(v, "/key_source/secret", json!("s".repeat(64))));
}

#[test]
fn a_text_secret_is_counted_in_utf8_bytes() {
    // 16 two-byte characters are 32 bytes.
    load_ok(&set(base(), "/key_source/secret", json!("é".repeat(16))));
    // 15 two-byte characters and one ASCII character are 31 bytes.
    config_error(
        &set(
            base(),
            "/key_source/secret",
            json!(format!("{}a", "é".repeat(15))),
        ),
        &["secret", "31"],
    );
    // 31 ASCII bytes are refused.
    config_error(
        &set(base(), "/key_source/secret", json!("a".repeat(31))),
        &["secret"],
    );
}

#[test]
fn a_base64_secret_is_counted_in_decoded_bytes() {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let b32 = STANDARD.encode([0xfbu8; 32]);
    load_ok(&set(base(), "/key_source/secret", json!({"base64": b32})));
    // 31 bytes encode to 44 characters: the text is long enough, the secret is not.
    let b31 = STANDARD.encode([0xfbu8; 31]);
    assert!(b31.len() > 32);
    config_error(
        &set(base(), "/key_source/secret", json!({"base64": b31})),
        &["secret", "31"],
    );
    // 24 bytes encode to exactly 32 characters.
    let b24 = URL_SAFE_NO_PAD.encode([7u8; 24]);
    assert_eq!(b24.len(), 32);
    config_error(
        &set(base(), "/key_source/secret", json!({"base64": b24})),
        &["secret", "24"],
    );
    // HS512 needs 64 decoded bytes.
    let hs512 = set(base(), "/algorithms", json!(["HS512"]));
    load_ok(&set(
        hs512.clone(),
        "/key_source/secret",
        json!({"base64": STANDARD.encode([1u8; 64])}),
    ));
    config_error(
        &set(
            hs512,
            "/key_source/secret",
            json!({"base64": STANDARD.encode([1u8; 63])}),
        ),
        &["secret", "HS512"],
    );
}

#[test]
fn invalid_base64_secrets_are_refused() {
    let secret_b64 = "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY";
    for bad in [
        "not base64 at all!".to_owned(),
        format!("{secret_b64}$"),
        format!("{secret_b64}===="),
        format!("{} {}", &secret_b64[..20], &secret_b64[20..]),
        "A".to_owned(),
    ] {
        let err = config_error(
            &set(base(), "/key_source/secret", json!({"base64": bad})),
            &["base64"],
        );
        assert_hidden("a base64 error", &renderings(&err), &[&bad, secret_b64]);
    }
}

#[test]
fn secret_objects_have_exactly_one_known_member() {
    for bad in [
        json!({}),
        json!({"hex": "00"}),
        json!({"base64": "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY", "env": "X"}),
        json!({"env": 5}),
        json!(42),
        // An array is a rotation (tests/rules.rs); an array inside it is not a secret.
        json!([["SUPERSECRET-in-an-array-0123456789abcdef"]]),
        json!(null),
    ] {
        config_error(&set(base(), "/key_source/secret", bad), &["secret"]);
    }
}

#[test]
fn an_unset_env_secret_is_a_config_error_naming_the_variable() {
    let var = "JWT_SSO_TEST_CONFIG_NEVER_SET_2F9A";
    assert_eq!(std::env::var_os(var), None, "{var} is unset");
    let err = config_error(
        &set(base(), "/key_source/secret", json!({"env": var})),
        &["env", var],
    );
    assert!(err.hint().contains(var), "{}", err.hint());
}

#[test]
fn an_env_secret_is_checked_for_length() {
    let var = "JWT_SSO_TEST_CONFIG_SHORT_ENV";
    let value = "SUPERSECRET-env-short";
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var(var, value) };
    let err = config_error(
        &set(base(), "/key_source/secret", json!({"env": var})),
        &["secret", "HS256"],
    );
    assert_hidden("an env secret error", &renderings(&err), &[value]);
}

#[test]
fn a_secret_cannot_verify_asymmetric_algorithms() {
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var("JWT_SSO_TEST_CONFIG_ASYM", SECRET) };
    for secret in [
        json!(SECRET),
        json!({"base64": "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY"}),
        json!({"env": "JWT_SSO_TEST_CONFIG_ASYM"}),
    ] {
        for algs in [
            json!(["RS256"]),
            json!(["PS384"]),
            json!(["ES256"]),
            json!(["EdDSA"]),
            json!(["HS256", "RS256"]),
        ] {
            let v = set(
                set(base(), "/algorithms", algs.clone()),
                "/key_source/secret",
                secret.clone(),
            );
            let err = config_error(&v, &["secret", last(&algs)]);
            assert!(err.hint().contains("public_key_pem"), "{}", err.hint());
        }
    }
}

/// An RS256 configuration with this `key_source`.
fn rsa_key_source(key_source: Value) -> Value {
    set(
        base_pem("RS256", "rsa2048_public.pem"),
        "/key_source",
        key_source,
    )
}

/// The last algorithm of a list: the one an error about the key names.
fn last(algorithms: &Value) -> &str {
    let last = algorithms.as_array().and_then(|a| a.last());
    last.and_then(Value::as_str).expect("a list of algorithms")
}

// ---------------------------------------------------------------- public keys

#[test]
fn a_public_key_cannot_verify_hmac() {
    for (pem, algs) in [
        ("rsa2048_public.pem", json!(["HS256"])),
        ("p256_public.pem", json!(["ES256", "HS384"])),
        ("ed25519_public.pem", json!(["HS512"])),
        ("rsa2048_cert.pem", json!(["RS256", "HS256"])),
    ] {
        let needles = ["public_key_pem", last(&algs)];
        let err = config_error(
            &set(base_pem("RS256", pem), "/algorithms", algs.clone()),
            &needles,
        );
        assert!(err.hint().contains("secret"), "{}", err.hint());
    }
}

#[test]
fn every_public_key_form_loads_for_its_algorithms() {
    let cases: &[(&str, &[&str])] = &[
        (
            "rsa2048_public.pem",
            &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
        ),
        ("rsa2048_public_pkcs1.pem", &["RS256", "PS512"]),
        ("rsa2048_cert.pem", &["RS384", "PS256"]),
        ("p256_public.pem", &["ES256"]),
        ("p256_cert.pem", &["ES256"]),
        ("p384_public.pem", &["ES384"]),
        ("ed25519_public.pem", &["EdDSA"]),
        ("ed25519_public.pem", &["Ed25519"]),
        ("ed25519_public.pem", &["EdDSA", "Ed25519"]),
    ];
    for (pem, algs) in cases {
        load_ok(&set(base_pem("RS256", pem), "/algorithms", json!(algs)));
    }
}

#[test]
fn key_and_algorithm_must_match() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("p256_public.pem", &["ES384"], "ES384"),
        ("p256_cert.pem", &["ES384"], "ES384"),
        ("p256_public.pem", &["ES256", "ES384"], "ES384"),
        ("p384_public.pem", &["ES256"], "ES256"),
        ("rsa2048_public.pem", &["ES256"], "ES256"),
        ("rsa2048_public.pem", &["RS256", "EdDSA"], "EdDSA"),
        ("p256_public.pem", &["RS256"], "RS256"),
        ("p256_public.pem", &["EdDSA"], "EdDSA"),
        ("p256_public.pem", &["Ed25519"], "Ed25519"),
        ("rsa2048_public.pem", &["RS256", "Ed25519"], "Ed25519"),
        ("ed25519_public.pem", &["ES256"], "ES256"),
        ("ed25519_public.pem", &["PS256"], "PS256"),
    ];
    for (pem, algs, wrong) in cases {
        let err = config_error(
            &set(base_pem("RS256", pem), "/algorithms", json!(algs)),
            &["public_key_pem", wrong],
        );
        // The fix names what the key does fit.
        let fits = match *pem {
            p if p.starts_with("p256") => "ES256",
            p if p.starts_with("p384") => "ES384",
            p if p.starts_with("rsa") => "RS256",
            _ => "EdDSA",
        };
        assert!(err.hint().contains(fits), "{pem}: {}", err.hint());
    }
}

#[test]
fn private_keys_are_refused_with_the_pubout_hint() {
    for (pem, alg) in [
        ("rsa2048_private.pem", "RS256"),
        ("rsa2048_private_pkcs1.pem", "RS256"),
        ("p256_private_sec1.pem", "ES256"),
        ("p256_private.pem", "ES256"),
        ("ed25519_private.pem", "EdDSA"),
    ] {
        let text = key(pem);
        let err = config_error(&base_pem(alg, pem), &["public_key_pem", "private key"]);
        assert!(
            err.hint().contains("openssl pkey -in key.pem -pubout"),
            "{pem}: {}",
            err.hint()
        );
        // No part of the private key is echoed.
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_hidden("a private-key error", &renderings(&err), &body);
    }
    // `openssl ecparam -genkey` prints the curve parameters before the private key;
    // a public key block after a private key does not make the paste harmless either.
    let ecparam = format!(
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
        key("p256_private_sec1.pem")
    );
    let both = format!("{}{}", key("p256_private.pem"), key("p256_public.pem"));
    for text in [ecparam, both] {
        let v = set(
            base_pem("ES256", "p256_public.pem"),
            "/key_source/public_key_pem",
            json!(text),
        );
        let err = config_error(&v, &["public_key_pem", "private key"]);
        assert!(
            err.hint().contains("openssl pkey -in key.pem -pubout"),
            "{}",
            err.hint()
        );
    }
}

#[test]
fn ec_public_key_label_is_refused_with_the_conversion() {
    let err = config_error(
        &base_pem("ES256", "p256_public_ec_label.pem"),
        &["public_key_pem", "EC PUBLIC KEY"],
    );
    assert!(
        err.hint().contains("BEGIN PUBLIC KEY") || err.hint().contains("SPKI"),
        "{}",
        err.hint()
    );
    assert!(err.hint().contains("openssl"), "{}", err.hint());
}

#[test]
fn non_pem_text_is_refused_with_the_conversion() {
    let spki_body: String = key("rsa2048_public.pem")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let truncated: String = key("rsa2048_public.pem")
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    let cases: Vec<(String, &str)> = vec![
        ("hello".into(), "openssl"),
        ("".into(), "PEM"),
        (spki_body, "openssl"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPrqtsjUiJ88TkVDYcNtPMMECgzBk5b6imhL0DKAIrYM user@host".into(), "ssh-keygen"),
        (json!({"kty": "OKP", "crv": "Ed25519", "x": "+uq2yNSInzxORUNhw208wwQKDMGTlvqKaEvQMoAitgw"}).to_string(), "jwks"),
        (truncated, "BEGIN"),
        ("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n".into(), "BEGIN"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into(), "pubout"),
        ("-----BEGIN SOMETHING ELSE-----\nAAAA\n-----END SOMETHING ELSE-----\n".into(), "BEGIN PUBLIC KEY"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(), "certificate"),
    ];
    for (text, in_hint) in cases {
        let v = set(
            base_pem("RS256", "rsa2048_public.pem"),
            "/key_source/public_key_pem",
            json!(text),
        );
        let err = config_error(&v, &["public_key_pem"]);
        assert!(
            err.hint().contains(in_hint),
            "{text:?}: hint {:?} lacks {in_hint:?}",
            err.hint()
        );
    }
}

#[test]
fn unsupported_curves_and_key_types_are_refused() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("p521_public.pem", "ES256", &["public_key_pem", "P-521"]),
        (
            "secp256k1_public.pem",
            "ES256",
            &["public_key_pem", "curve"],
        ),
        ("ed448_public.pem", "EdDSA", &["public_key_pem", "Ed448"]),
    ];
    for (pem, alg, names) in cases {
        let err = config_error(&base_pem(alg, pem), names);
        assert!(!err.hint().is_empty());
    }
}

/// RSA keys under 2048 bits, and ES512 whatever the key: (algorithm, key
/// file) -> what the message names, and what the hint names.
#[test]
fn short_rsa_keys_and_es512_are_refused() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "RS256",
            "rsa1024_public.pem",
            &["public_key_pem", "1024", "2048"],
            "2048",
        ),
        (
            "PS256",
            "rsa1024_public.pem",
            &["public_key_pem", "1024"],
            "2048",
        ),
        (
            "ES512",
            "p521_public.pem",
            &["algorithms", "ES512"],
            "ES256",
        ),
        (
            "ES512",
            "p256_public.pem",
            &["algorithms", "ES512"],
            "ES256",
        ),
    ];
    for &(alg, pem, needles, hint) in cases {
        let err = config_error(&base_pem(alg, pem), needles);
        assert!(err.hint().contains(hint), "{alg} {pem}: {}", err.hint());
    }
}

// ---------------------------------------------------------------- algorithms

#[test]
fn algorithm_allowlist_errors() {
    let cases: &[(Value, &[&str])] = &[
        (json!([]), &["algorithms", "empty"]),
        (json!(["none"]), &["algorithms", "none"]),
        (json!(["None"]), &["algorithms", "None"]),
        (json!(["NONE"]), &["algorithms", "NONE"]),
        (json!(["HS256", "none"]), &["algorithms", "none"]),
        (json!(["hs256"]), &["algorithms", "hs256"]),
        (json!(["HS257"]), &["algorithms", "HS257"]),
        (json!(["ES256K"]), &["algorithms", "ES256K"]),
        (json!(["ed25519"]), &["algorithms", "ed25519"]),
        (json!(["Ed448"]), &["algorithms", "Ed448"]),
        (json!(["RSA-OAEP"]), &["algorithms", "RSA-OAEP"]),
        (json!(["HS256 "]), &["algorithms"]),
        (json!([""]), &["algorithms"]),
        (json!("HS256"), &["algorithms"]),
        (json!([256]), &["algorithms"]),
    ];
    for (algs, names) in cases {
        let err = config_error(&set(base(), "/algorithms", algs.clone()), names);
        if algs
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
        {
            // The fix lists the supported names.
            assert!(err.hint().contains("HS256"), "{algs}: {}", err.hint());
        }
    }
    config_error(&remove(base(), "/algorithms"), &["algorithms"]);
}

#[test]
fn every_supported_algorithm_name_parses() {
    let names = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "EdDSA", "Ed25519",
    ];
    assert_eq!(Algorithm::ALL.map(Algorithm::as_str), names);
    for name in names {
        assert_eq!(name.parse::<Algorithm>().unwrap().as_str(), name);
    }
    // RFC 9864's fully-specified name is an algorithm of its own (issue 27).
    assert_eq!("Ed25519".parse::<Algorithm>(), Ok(Algorithm::Ed25519));
    assert_ne!(Algorithm::Ed25519, Algorithm::EdDSA);
    for bad in [
        "none", "None", "ES512", "hs256", "", "EDDSA", "ED25519", "Ed448",
    ] {
        let err = bad.parse::<Algorithm>().unwrap_err();
        assert_eq!(err.field(), "algorithms", "{bad}: {err}");
    }
    // An algorithm listed twice is a config error (CONTRACT section 1).
    let err = config_error(
        &set(base(), "/algorithms", json!(["HS256", "HS384", "HS256"])),
        &["algorithms", "HS256", "twice"],
    );
    assert!(err.hint().contains("once"), "{}", err.hint());
}

// ---------------------------------------------------------------- other fields

#[test]
fn required_fields() {
    for (pointer, name) in [
        ("/name", "name"),
        ("/token_name", "token_name"),
        ("/expiration_time", "expiration_time"),
        ("/claims/user_id", "claims.user_id"),
        ("/claims", "claims"),
        ("/key_source", "key_source"),
        ("/key_source/type", "key_source.type"),
    ] {
        config_error(&remove(base(), pointer), &[name]);
    }
}

#[test]
fn field_value_errors() {
    let cases: &[(&str, Value, &[&str])] = &[
        ("/expiration_time", json!(0), &["expiration_time"]),
        ("/name", json!(""), &["name"]),
        ("/name", json!("x".repeat(65)), &["name", "65", "64"]),
        ("/name", json!("é".repeat(65)), &["name", "65"]),
        ("/token_name", json!(""), &["token_name"]),
        ("/claims/user_id", json!(""), &["claims.user_id"]),
        ("/claims/user_id", json!("/a/~2"), &["claims.user_id"]),
        ("/claims/name", json!(""), &["claims.name"]),
        ("/claims/email", json!(""), &["claims.email"]),
        ("/claims/roles", json!(""), &["claims.roles"]),
        ("/user_type", json!(""), &["user_type"]),
        ("/issuer", json!(""), &["issuer"]),
        ("/audience", json!(""), &["audience"]),
        ("/initial_roles", json!(["Viewer", ""]), &["initial_roles"]),
        ("/max_token_bytes", json!(0), &["max_token_bytes"]),
    ];
    for (pointer, value, names) in cases {
        config_error(&set(base(), pointer, value.clone()), names);
    }
}

#[test]
fn wrongly_typed_fields_are_config_errors_naming_the_field() {
    let cases: &[(&str, Value, &str)] = &[
        ("/expiration_time", json!(-1), "expiration_time"),
        ("/expiration_time", json!("3600"), "expiration_time"),
        ("/expiration_time", json!(1.5), "expiration_time"),
        ("/leeway", json!(-5), "leeway"),
        ("/enabled", json!("yes"), "enabled"),
        ("/name", json!(7), "name"),
        ("/max_token_bytes", json!("big"), "max_token_bytes"),
        ("/initial_roles", json!("Viewer"), "initial_roles"),
        ("/claims", json!("sub"), "claims"),
        ("/system_prompts", json!({"kind": "text"}), "system_prompts"),
        ("/claims/roles", json!(["groups"]), "claims.roles"),
    ];
    for (pointer, value, name) in cases {
        config_error(&set(base(), pointer, value.clone()), &[name]);
    }
    // Not a configuration object at all.
    for text in ["", "[]", "null", "{", "{\"name\": \"ERP\",}"] {
        let err = load_json(text).unwrap_err();
        assert_config_error(&err, &[], &[]);
    }
}

#[test]
fn name_length_is_counted_in_characters() {
    load_ok(&set(base(), "/name", json!("x".repeat(64))));
    load_ok(&set(base(), "/name", json!("é".repeat(64))));
    load_ok(&set(base(), "/name", json!("x")));
}

#[test]
fn prompt_slots_must_be_in_range() {
    let bad = [
        ("text", 0),
        ("text", 16),
        ("numeric", 0),
        ("numeric", 16),
        ("date", 0),
        ("date", 11),
    ];
    for (kind, slot) in bad {
        let v = set(
            base(),
            "/system_prompts",
            json!([prompt("text", 3), prompt(kind, slot)]),
        );
        config_error(&v, &["system_prompts[1]", kind, &slot.to_string()]);
    }
    let ok = [
        ("text", 1),
        ("text", 15),
        ("numeric", 1),
        ("numeric", 15),
        ("date", 1),
        ("date", 10),
    ];
    let all: Vec<Value> = ok.iter().map(|(k, s)| prompt(k, *s)).collect();
    let c = load_ok(&set(base(), "/system_prompts", json!(all)));
    assert_eq!(c.system_prompts.len(), 6);
    assert_eq!(
        (
            PromptKind::Text.slots(),
            PromptKind::Numeric.slots(),
            PromptKind::Date.slots()
        ),
        (15, 15, 10)
    );
    // Negative slots and unknown kinds are refused too.
    config_error(
        &set(base(), "/system_prompts", json!([prompt("text", -1)])),
        &["system_prompts[0].slot"],
    );
    config_error(
        &set(
            base(),
            "/system_prompts",
            json!([prompt("date", 2), prompt("boolean", 1)]),
        ),
        &["system_prompts[1].kind", "boolean"],
    );
    config_error(
        &set(
            base(),
            "/system_prompts",
            json!([{"kind": "text", "slot": 1}]),
        ),
        &["system_prompts[0].claim"],
    );
    config_error(
        &set(
            base(),
            "/system_prompts",
            json!([{"kind": "text", "slot": 1, "claim": ""}]),
        ),
        &["system_prompts[0].claim"],
    );
}

#[test]
fn a_prompt_slot_may_be_used_once_per_kind() {
    let twice = json!([prompt("numeric", 4), {"kind": "numeric", "slot": 4, "claim": "other"}]);
    config_error(
        &set(base(), "/system_prompts", twice),
        &["system_prompts[1]", "numeric", "4"],
    );
    let twice = json!([prompt("date", 10), prompt("text", 1), prompt("date", 10)]);
    config_error(
        &set(base(), "/system_prompts", twice),
        &["system_prompts[2]", "date"],
    );
    // The same slot number in different kinds is fine (as in the contract example).
    load_ok(&set(
        base(),
        "/system_prompts",
        json!([prompt("text", 1), prompt("numeric", 1), prompt("date", 1)]),
    ));
}

#[test]
fn unknown_fields_are_errors_everywhere() {
    let cases: &[(&str, Value, &str)] = &[
        ("/audiance", json!("bi-server"), "audiance"),
        ("/Name", json!("ERP"), "Name"),
        ("/claims/username", json!("sub"), "username"),
        ("/key_source/secrets", json!("x"), "secrets"),
        (
            "/key_source/url",
            json!("https://idp.example.com/jwks"),
            "url",
        ),
        ("/key_source/jwks", json!({"keys": []}), "jwks"),
    ];
    for (pointer, value, name) in cases {
        let err = config_error(&set(base(), pointer, value.clone()), &[name]);
        assert!(err.hint().contains(name), "{}", err.hint());
    }
    let typo = json!([{"kind": "text", "slot": 1, "claim": "department", "audiance": "x"}]);
    config_error(&set(base(), "/system_prompts", typo), &["audiance"]);
    let typo = json!({"type": "jwks", "jwks": {"keys": []}, "public_key_pem": "x"});
    config_error(&set(base(), "/key_source", typo), &["public_key_pem"]);
    let typo = json!({"type": "static", "public_key_pem": key("p256_public.pem"), "kid": "k1"});
    config_error(
        &set(base_pem("ES256", "p256_public.pem"), "/key_source", typo),
        &["kid"],
    );
}

#[test]
fn static_key_source_needs_exactly_one_key() {
    let both =
        json!({"type": "static", "secret": SECRET, "public_key_pem": key("rsa2048_public.pem")});
    let err = config_error(
        &set(base(), "/key_source", both),
        &["key_source", "secret", "public_key_pem"],
    );
    assert!(err.hint().contains("secret") && err.hint().contains("public_key_pem"));
    let neither = json!({"type": "static"});
    config_error(&set(base(), "/key_source", neither), &["key_source"]);
    for null in [
        json!({"type": "static", "secret": null}),
        json!({"type": "static", "public_key_pem": null}),
    ] {
        // An explicit null is no key at all.
        let err = load(&set(base(), "/key_source", null)).unwrap_err();
        assert_config_error(&err, &["key_source"], &[SECRET]);
    }
}

#[test]
fn unknown_key_source_types_are_refused() {
    for ty in ["file", "Static", "JWKS", ""] {
        config_error(&set(base(), "/key_source/type", json!(ty)), &[]);
    }
    config_error(
        &set(base(), "/key_source", json!({"secret": SECRET})),
        &["type"],
    );
}

#[cfg(not(feature = "remote"))]
#[test]
fn remote_key_sources_need_the_remote_feature() {
    let uri = rsa_key_source(json!({"type": "jwks_uri", "url": "https://idp.example.com/jwks"}));
    let err = config_error(&uri, &["key_source", "jwks_uri"]);
    assert!(err.hint().contains("remote"), "{}", err.hint());
    let issuer = set(
        rsa_key_source(json!({"type": "issuer"})),
        "/issuer",
        json!("https://idp.example.com"),
    );
    let err = config_error(&issuer, &["key_source", "issuer"]);
    assert!(err.hint().contains("remote"), "{}", err.hint());
}

#[test]
fn issuer_key_source_needs_the_issuer() {
    let v = rsa_key_source(json!({"type": "issuer"}));
    let err = config_error(&v, &["issuer"]);
    match &err {
        Error::Config(e) => assert_eq!(e.field(), "issuer"),
        other => panic!("{other:?}"),
    }
    config_error(&set(v, "/key_source/extra", json!(1)), &["extra"]);
}

#[test]
fn jwks_uri_needs_a_url() {
    let v = rsa_key_source(json!({"type": "jwks_uri"}));
    config_error(&v, &["url"]);
}

// ---------------------------------------------------------------- secret hygiene

#[test]
fn debug_output_never_shows_secrets() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let env_value = "SUPERSECRET-env-debug-0123456789abcdef";
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var("JWT_SSO_TEST_CONFIG_DEBUG", env_value) };
    let oct_k = "U1VQRVJTRUNSRVQtb2N0LWp3ay0wMTIzNDU2Nzg5YWJjZGVm";
    let cases = [
        (base(), SECRET),
        (
            set(base(), "/key_source/secret", json!({"base64": b64})),
            b64.as_str(),
        ),
        (
            set(
                base(),
                "/key_source/secret",
                json!({"env": "JWT_SSO_TEST_CONFIG_DEBUG"}),
            ),
            env_value,
        ),
        (
            set(
                base(),
                "/key_source",
                json!({"type": "jwks", "jwks": {"keys": [{"kty": "oct", "k": oct_k, "kid": "h"}]}}),
            ),
            oct_k,
        ),
    ];
    for (v, secret) in cases {
        let c = load_ok(&v);
        let verifier = TestVerifier::new(c.clone().validate().unwrap());
        let texts = [
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{:?}", c.key_source),
            format!("{verifier:?}"),
            format!("{verifier:#?}"),
        ];
        assert_hidden("Debug", &texts, &[secret, "SUPERSECRET"]);
        // The Debug output is still useful.
        assert!(texts[0].contains("ERP"), "{}", texts[0]);
        // Errors from the verifier never show it either.
        let err = verifier.verify_at("a.b.c", 0).unwrap_err();
        assert_hidden("a token error", &renderings(&err), &[secret]);
    }
}

#[test]
fn config_errors_never_show_the_secret() {
    // Every config error raised next to a secret, with the secret in all three forms.
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var("JWT_SSO_TEST_CONFIG_HYGIENE", SECRET) };
    let forms = [
        json!(SECRET),
        json!({"base64": "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY"}),
        json!({"env": "JWT_SSO_TEST_CONFIG_HYGIENE"}),
    ];
    let breakages: Vec<Box<dyn Fn(Value) -> Value>> = vec![
        Box::new(|v| set(v, "/algorithms", json!(["RS256"]))),
        Box::new(|v| set(v, "/algorithms", json!(["HS512"]))),
        Box::new(|v| set(v, "/algorithms", json!(["none"]))),
        Box::new(|v| set(v, "/algorithms", json!([]))),
        Box::new(|v| set(v, "/expiration_time", json!(0))),
        Box::new(|v| set(v, "/expiration_time", json!(-1))),
        Box::new(|v| set(v, "/name", json!(""))),
        Box::new(|v| set(v, "/audiance", json!("x"))),
        Box::new(|v| set(v, "/key_source/extra", json!("x"))),
        Box::new(|v| set(v, "/key_source/public_key_pem", json!("x"))),
        Box::new(|v| set(v, "/key_source/type", json!("jwks"))),
        Box::new(|v| set(v, "/key_source/type", json!("nope"))),
        Box::new(|v| set(v, "/system_prompts", json!([prompt("text", 16)]))),
        Box::new(|v| remove(v, "/claims/user_id")),
        Box::new(|v| remove(v, "/token_name")),
    ];
    for form in &forms {
        for (i, breakage) in breakages.iter().enumerate() {
            let v = breakage(set(base(), "/key_source/secret", form.clone()));
            let err = load(&v).expect_err(&format!("breakage {i} with {form}"));
            assert_config_error(
                &err,
                &[],
                &[
                    SECRET,
                    "U1VQRVJTRUNSRVQtY29uZmlnLXRlc3RzLTAxMjM0NTY3ODlhYmNkZWY",
                ],
            );
            // TOML is the same model, and its errors are as clean.
            let toml = toml::to_string(&v).unwrap();
            let err = load_toml(&toml).expect_err(&toml);
            assert_config_error(&err, &[], &[SECRET]);
        }
    }
}

// ---------------------------------------------------------------- hardening (issue 14)

#[test]
fn token_name_is_1_to_64_parameter_safe_characters() {
    for good in ["token", "jwt_token", "a.b-c_D9", &"t".repeat(64)] {
        load_ok(&set(base(), "/token_name", json!(good)));
    }
    for bad in [
        "to&ken=", "to ken", "tök", "a;b", "a/b", "a\"b", "a\nb", "%74oken", "a:b",
    ] {
        let err = config_error(&set(base(), "/token_name", json!(bad)), &["token_name"]);
        assert!(
            err.hint().contains("ASCII letters"),
            "{bad}: {}",
            err.hint()
        );
        // Control characters are shown escaped.
        assert!(!err.to_string().contains('\n'), "{err}");
    }
    config_error(
        &set(base(), "/token_name", json!("t".repeat(65))),
        &["token_name", "65", "64"],
    );
}

#[test]
fn name_without_control_characters() {
    load_ok(&set(base(), "/name", json!("ERP – Produktion (é)")));
    for bad in [
        "ERP\n",
        "E\u{1b}[31mRP",
        "E\u{0}RP",
        "E\u{7f}",
        "E\u{85}RP",
        "E\tRP",
    ] {
        let err = config_error(&set(base(), "/name", json!(bad)), &["name", "control"]);
        let message = err.to_string();
        assert!(
            !message.chars().any(char::is_control),
            "the message quotes the control character raw: {message:?}"
        );
    }
}

/// A secret given as a number, boolean, array or object is refused without
/// echoing it, in JSON and TOML (serde's own "invalid type: integer `…`"
/// message would quote it).
#[test]
fn secret_fields_of_any_type_are_never_quoted() {
    let json_cases: Vec<(Value, &str)> = vec![
        (json!(12345), "12345"),
        (json!(31415926535897932_u64), "31415926535897932"),
        (json!(-271828182845_i64), "271828182845"),
        (json!(1.234567891), "1.234567891"),
        (json!(true), "true"),
        (json!([98765, 43210]), "98765"),
        (json!({"base64": 9876543210123_u64}), "9876543210123"),
        (json!({"base64": false}), "false"),
        (json!({"base64": [7777777]}), "7777777"),
        (json!({"env": 5}), "5"),
        (json!({"env": 55555555}), "55555555"),
        (json!({"env": {"x": 4444444}}), "4444444"),
    ];
    for (secret, shown) in &json_cases {
        let v = set(base(), "/key_source/secret", secret.clone());
        let err = config_error(&v, &["secret"]);
        assert_hidden("a secret of the wrong type", &renderings(&err), &[shown]);
        assert!(err.to_string().contains("not shown"), "{err}");
    }
    let toml_cases = [
        ("31415926535897932", "31415926535897932"),
        ("true", "true"),
        ("[123456789, 2]", "123456789"),
        ("1.2345678", "1.2345678"),
        ("{ base64 = 9876543210123 }", "9876543210123"),
        ("{ env = 5 }", "5"),
        ("1979-05-27T07:32:00Z", "1979-05-27"),
    ];
    for (value, shown) in toml_cases {
        let text = format!(
            "name = \"ERP\"\ntoken_name = \"t\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\nclaims = {{ user_id = \"sub\" }}\nkey_source = {{ type = \"static\", secret = {value} }}\n"
        );
        let err = load_toml(&text).unwrap_err();
        assert_config_error(&err, &["secret"], &[shown]);
    }
}

/// Issue 20: the member name of an object given as a secret is never echoed
/// (someone may have typed the secret as the name), and a TOML date-time is
/// "a date-time", not the `toml` crate's private member name.
#[test]
fn secret_object_member_names_and_toml_datetimes_are_not_echoed() {
    for secret in [
        json!({"mysecretvalue": 1}),
        json!({"mysecretvalue": "x"}),
        json!({"base64": "QUJD", "mysecretvalue": 1}),
        json!({"env": "X", "mysecretvalue": null}),
    ] {
        let v = set(base(), "/key_source/secret", secret.clone());
        let err = config_error(&v, &["secret", "not shown"]);
        assert_hidden(
            "a secret object's member",
            &renderings(&err),
            &["mysecretvalue"],
        );
        let Error::Config(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.field(), "key_source.secret", "{secret}");
    }
    let message = config_error(
        &set(base(), "/key_source/secret", json!({"mysecretvalue": 1})),
        &[],
    )
    .to_string();
    assert!(
        message.contains("an object whose member is neither `base64` nor `env`"),
        "{message}"
    );

    for (value, field) in [
        ("1979-05-27T07:32:00Z", "key_source.secret"),
        ("1979-05-27", "key_source.secret"),
        ("07:32:00", "key_source.secret"),
        (
            "{ base64 = 1979-05-27T07:32:00Z }",
            "key_source.secret.base64",
        ),
        ("{ env = 1979-05-27 }", "key_source.secret.env"),
    ] {
        let text = format!(
            "name = \"ERP\"\ntoken_name = \"t\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\nclaims = {{ user_id = \"sub\" }}\nkey_source = {{ type = \"static\", secret = {value} }}\n"
        );
        let err = JwtConfig::from_toml_str(&text).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("found a date-time (the value is not shown"),
            "{value}: {message}"
        );
        assert!(!message.contains("toml_private"), "{value}: {message}");
        assert!(
            !message.contains("1979") && !message.contains("07:32"),
            "{message}"
        );
        assert_eq!(err.field(), field, "{value}: {message}");
    }
}

#[test]
fn login_policy_fields_default_validate_and_round_trip() {
    use jwt_sso::{UserIdNormalize, UserScope};
    let c = load_ok(&base());
    assert!(!c.single_use);
    assert!(c.create_users);
    assert_eq!(c.user_scope, UserScope::Own);
    assert_eq!(c.user_id_normalize, UserIdNormalize::None);
    assert!(c.sync_on_login.is_off());
    assert!(c.role_rules.is_empty() && !c.role_rules_required && !c.may_grant_admin);
    // Defaults are not written back.
    let text = c.to_json_string().unwrap();
    for field in [
        "single_use",
        "create_users",
        "user_scope",
        "user_id_normalize",
        "sync_on_login",
        "role_rules",
        "may_grant_admin",
    ] {
        assert!(
            !text.contains(field),
            "{field} written as a default: {text}"
        );
    }

    let mut v = base();
    v["single_use"] = json!(true);
    v["create_users"] = json!(false);
    v["user_scope"] = json!("shared");
    v["user_id_normalize"] = json!("lowercase");
    v["sync_on_login"] = json!(true);
    let c = load_ok(&v);
    assert!(c.single_use && !c.create_users && !c.sync_on_login.is_off());
    assert_eq!(c.user_scope, UserScope::Shared);
    assert_eq!(c.user_id_normalize, UserIdNormalize::Lowercase);
    let again = JwtConfig::from_json_str(&c.to_json_string().unwrap()).unwrap();
    assert_eq!(again, c);
    let written: Value = serde_json::from_str(&c.to_json_string().unwrap()).unwrap();
    assert_eq!(written["user_scope"], "shared");
    assert_eq!(written["user_id_normalize"], "lowercase");
    assert_eq!(written["create_users"], false);

    let cases: &[(&str, Value)] = &[
        ("user_scope", json!("all")),
        ("user_scope", json!("Own")),
        ("user_id_normalize", json!("uppercase")),
        ("user_id_normalize", json!(true)),
        ("single_use", json!("yes")),
        ("create_users", json!(1)),
        ("sync_on_login", json!(null)),
    ];
    for (field, value) in cases {
        let err = config_error(&set(base(), &format!("/{field}"), value.clone()), &[field]);
        assert!(
            err.to_string()
                .starts_with(&format!("invalid configuration: {field}:")),
            "{err}"
        );
    }
    let toml = format!(
        "name = \"ERP\"\ntoken_name = \"t\"\nalgorithms = [\"HS256\"]\nexpiration_time = 3600\nuser_scope = \"all\"\nclaims = {{ user_id = \"sub\" }}\nkey_source = {{ type = \"static\", secret = \"{SECRET}\" }}\n"
    );
    let err = load_toml(&toml).unwrap_err();
    assert_config_error(&err, &["user_scope", "all"], &[SECRET]);
}

/// Issue 18: a configuration name, a token name and a remote URL are
/// checked when the value is made, so a `JwtConfig` never holds one that
/// breaks its rule (built in code or read from JSON alike).
#[test]
fn names_and_urls_are_checked_when_they_are_made() {
    let long = "x".repeat(65);
    for bad in ["", "   ", long.as_str(), "a\nb"] {
        let err = ConfigName::new(bad).unwrap_err();
        assert_eq!(err.field(), "name", "{bad:?}");
        assert_config_error(&err, &["name"], &[]);
    }
    assert_eq!(ConfigName::new("é".repeat(64)).unwrap().chars().count(), 64);
    for bad in ["", "to&ken=", "tok en", "jwt\u{1b}", long.as_str()] {
        let err = bad.parse::<TokenName>().unwrap_err();
        assert_eq!(err.field(), "token_name", "{bad:?}");
    }
    let name: TokenName = "jwt_token-1.v2".parse().unwrap();
    assert_eq!(name, "jwt_token-1.v2");
    // The same rules hold for JSON: the field is named, the value shown escaped.
    let err = load(&set(base(), "/token_name", json!("to&ken="))).unwrap_err();
    assert_config_error(&err, &["token_name", "`to&ken=`"], &[SECRET]);
    // ... said once, as an error of the newtype itself (the console takes
    // "invalid configuration: token_name: " off the message).
    let direct = "to&ken=".parse::<TokenName>().unwrap_err();
    assert_eq!(err.to_string(), direct.to_string());
    assert_eq!(err.hint(), direct.fix());
    for (field, value) in [("name", json!("a\nb")), ("token_name", json!("tok en"))] {
        let err = JwtConfig::from_json_str(&set(base(), &format!("/{field}"), value).to_string())
            .unwrap_err();
        assert_eq!(err.field(), field);
        assert!(!err.problem().contains("invalid configuration"), "{err}");
    }
    let remote: Result<RemoteUrl, _> = "https://idp.example.com/jwks".parse();
    assert_eq!(remote.unwrap(), "https://idp.example.com/jwks");
    #[cfg(feature = "remote")]
    {
        let err = RemoteUrl::new("http://idp.example.com/jwks").unwrap_err();
        assert_eq!(err.field(), "key_source.url");
        let err = RemoteUrl::new("https://jdoe:SUPERSECRET-pw@idp.example.com/jwks").unwrap_err();
        assert_config_error(&err, &["key_source.url"], &["SUPERSECRET"]);
    }
}

// ------------------------------------------------- bearer and logout_url

#[test]
fn bearer_is_opt_in_and_refused_with_single_use() {
    let c = load_ok(&base());
    assert!(!c.bearer, "bearer defaults to false");
    assert_eq!(c.logout_url, None);
    let c = load_ok(&set(base(), "/bearer", json!(true)));
    assert!(c.bearer);
    let both = set(
        set(base(), "/bearer", json!(true)),
        "/single_use",
        json!(true),
    );
    config_error(&both, &["bearer", "single_use"]);
    let parsed = JwtConfig::from_json_str(&both.to_string()).unwrap();
    assert_eq!(parsed.validate().unwrap_err().field(), "bearer");
}

#[test]
fn logout_url_is_https_or_loopback_http() {
    let c = load_ok(&set(
        base(),
        "/logout_url",
        json!("https://erp.example.com/signed-out"),
    ));
    assert_eq!(
        c.logout_url.as_deref(),
        Some("https://erp.example.com/signed-out")
    );
    let refused = |url: &str| {
        let v = set(base(), "/logout_url", json!(url));
        config_error(&v, &[]);
        let parsed = JwtConfig::from_json_str(&v.to_string()).unwrap();
        assert_eq!(
            parsed.validate().unwrap_err().field(),
            "logout_url",
            "{url}"
        );
    };
    for bad in [
        "http://erp.example.com/bye",
        "javascript:alert(1)",
        "/relative",
    ] {
        refused(bad);
    }
    // Plain http to loopback, and the check for credentials, need the URL
    // parser of `remote`; without it a logout_url is https only
    // (src/config/rules.rs), so loopback http is refused.
    for loopback in ["http://127.0.0.1:8080/bye", "http://localhost/bye"] {
        if cfg!(feature = "remote") {
            let c = load_ok(&set(base(), "/logout_url", json!(loopback)));
            assert_eq!(c.logout_url.as_deref(), Some(loopback));
        } else {
            refused(loopback);
        }
    }
    if cfg!(feature = "remote") {
        refused("https://user:pw@erp.example.com/");
    }
}
