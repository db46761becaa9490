//! Issue 23 in the library (CONTRACT sections 1, 2, 4 and 6): role rules and
//! `role_rules_required` (step 15), `may_grant_admin`, secret rotation with a
//! secret array, and `sync_on_login` as a list of fields. The rules' table
//! of cases is `tests/data/cases/role_rules.json`; HTTP is in
//! tests/rules_http.rs.
#![cfg(feature = "admin")]

use crate::support::fixtures as common;

use std::sync::Arc;

use common::*;
use jwt_sso::mint::SigningKey;
use jwt_sso::{
    Algorithm, Authenticator, Checklist, ClaimMapper, ConfigChange, Configs, ErrorKind, JwtConfig,
    KeySource, ManualClock, MemoryConfigStore, MemoryStore, Registry, RoleRule, SecretSpec,
    StaticKey, StepStatus, SyncField, SyncOnLogin, UnixTime, Verification, Verifier,
};
use serde_json::{Value, json};

#[test]
fn role_rule_cases() {
    let n = run_cases("role_rules.json");
    assert!(n >= 30, "only {n} cases");
}

/// The `field` of the `config` error that `patch` on [`base_config`] gives,
/// whether parsing or validation refuses it.
#[track_caller]
fn refused_at(patch: Value) -> String {
    let value = patched(base_config(), patch);
    let err = match load(&value) {
        Ok(_) => panic!("should be refused: {value}"),
        Err(jwt_sso::Error::Config(e)) => e,
        Err(other) => panic!("expected a config error, got {other}"),
    };
    check_error(&jwt_sso::Error::Config(err.clone()));
    assert!(!err.problem().is_empty() && !err.fix().is_empty(), "{err}");
    err.field().to_owned()
}

fn rule(claim: &str, value: &str) -> Value {
    json!({"claim": claim, "value": value, "roles": ["Analyst"]})
}

#[test]
fn a_hundred_rules_are_accepted_and_a_hundred_and_one_refused_at_role_rules() {
    let hundred: Vec<Value> = (0..100).map(|i| rule("groups", &format!("g{i}"))).collect();
    let v = verifier_with(json!({"role_rules": hundred, "role_rules_required": true}));
    let identity = accept(&v, &hs256(&claims_with(json!({"groups": ["g99"]}))), NOW);
    assert_eq!(identity.roles, ["Analyst"]);
    reject(
        &v,
        &hs256(&claims_with(json!({"groups": ["g100"]}))),
        NOW,
        ErrorKind::NoMatchingRole,
    );

    let mut more = hundred;
    more.push(rule("groups", "g100"));
    assert_eq!(refused_at(json!({"role_rules": more})), "role_rules");
}

#[test]
fn rules_over_many_claims_are_all_read() {
    // More distinct claims than a verification keeps without allocating.
    let rules: Vec<Value> = (0..30).map(|i| rule(&format!("c{i}"), "yes")).collect();
    let mut roles_rules = rules.clone();
    roles_rules.push(json!({"claim": "c29", "value": "yes", "roles": ["Last"]}));
    let v = verifier_with(json!({"role_rules": roles_rules, "role_rules_required": true}));
    accept(&v, &hs256(&claims_with(json!({"c0": "yes"}))), NOW);
    let last = accept(&v, &hs256(&claims_with(json!({"c29": "yes"}))), NOW);
    assert_eq!(last.roles, ["Analyst", "Last"]);
    let err = reject(
        &v,
        &hs256(&claims_with(json!({"c5": "no"}))),
        NOW,
        ErrorKind::NoMatchingRole,
    );
    // Ten claims are shown, then a count of the rest.
    assert_mentions(
        &err,
        &["31 role rules", "`c5`: \"no\"", "and 20 more claims"],
    );
}

#[test]
fn every_config_error_of_the_rules_names_its_field() {
    let ok = rule("groups", "bi");
    let cases = [
        (
            json!({"role_rules": [ok, ok, {"claim": "groups", "value": "", "roles": ["A"]}]}),
            "role_rules[2].value",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi"}]}),
            "role_rules[0].roles",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "roles": []}]}),
            "role_rules[0].roles",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "roles": ["A", " "]}]}),
            "role_rules[0].roles[1]",
        ),
        (
            json!({"role_rules": [{"claim": "/a~2", "value": "bi", "roles": ["A"]}]}),
            "role_rules[0].claim",
        ),
        (
            json!({"role_rules": [{"claim": "", "value": "bi", "roles": ["A"]}]}),
            "role_rules[0].claim",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "user_type": ""}]}),
            "role_rules[0].user_type",
        ),
        // Structure, from serde: the rule's path.
        (
            json!({"role_rules": [ok, {"claim": "groups", "roles": ["A"]}]}),
            "role_rules[1].value",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "role": ["A"]}]}),
            "role_rules[0].role",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": 7, "roles": ["A"]}]}),
            "role_rules[0].value",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "roles": "A"}]}),
            "role_rules[0].roles",
        ),
        (json!({"role_rules": {"claim": "groups"}}), "role_rules"),
        (json!({"role_rules_required": true}), "role_rules_required"),
        (json!({"role_rules_required": "yes"}), "role_rules_required"),
        (json!({"may_grant_admin": 1}), "may_grant_admin"),
        (
            json!({"sync_on_login": ["name", "email", "name"]}),
            "sync_on_login[2]",
        ),
        (
            json!({"sync_on_login": ["name", "password"]}),
            "sync_on_login[1]",
        ),
        (json!({"sync_on_login": "name"}), "sync_on_login"),
    ];
    for (patch, field) in cases {
        assert_eq!(refused_at(patch.clone()), field, "{patch}");
    }
}

#[test]
fn rules_sync_lists_and_secret_arrays_are_written_back_as_given() {
    let value = patched(
        base_config(),
        json!({
            "key_source": {"type": "static", "secret": [SECRET, {"env": "ROTATED_SECRET_UNSET"}]},
            "sync_on_login": ["email", "user_type"],
            "role_rules": [
                {"claim": "/realm_access/roles", "value": "bi", "roles": ["Analyst"], "user_type": "analyst"},
                {"claim": "groups", "value": "authors", "user_type": "author"}
            ],
            "role_rules_required": true,
            "may_grant_admin": true
        }),
    );
    let config = JwtConfig::from_json_str(&value.to_string()).unwrap();
    assert_eq!(
        config.role_rules[0],
        RoleRule::new("/realm_access/roles", "bi", ["Analyst"]).with_user_type("analyst")
    );
    assert_eq!(
        config.sync_on_login,
        SyncOnLogin::from([SyncField::Email, SyncField::UserType])
    );
    assert_eq!(
        (config.role_rules_required, config.may_grant_admin),
        (true, true),
        "JSON: role_rules_required and may_grant_admin"
    );
    match &config.key_source {
        KeySource::Static(StaticKey::Secrets(secrets)) => {
            assert_eq!(secrets.len(), 2, "JSON: the secret array");
            assert_eq!(
                secrets[1],
                SecretSpec::Env("ROTATED_SECRET_UNSET".into()),
                "JSON: the second secret"
            );
        }
        other => panic!("JSON: expected a secret array, got {other:?}"),
    }
    let back: Value = serde_json::from_str(&config.to_json_string().unwrap()).unwrap();
    for member in [
        "key_source",
        "sync_on_login",
        "role_rules",
        "role_rules_required",
        "may_grant_admin",
    ] {
        assert_eq!(back[member], value[member], "{member}");
    }
    // TOML reads the same model.
    let toml = format!(
        r#"name = "T"
token_name = "token"
algorithms = ["HS256"]
expiration_time = 3600
sync_on_login = true
role_rules_required = true
[key_source]
type = "static"
secret = ["{SECRET}", {{ base64 = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0wMTIzNDU2Nzg5" }}]
[claims]
user_id = "sub"
[[role_rules]]
claim = "groups"
value = "bi"
roles = ["Analyst"]
"#
    );
    let from_toml = JwtConfig::from_toml_str(&toml).unwrap();
    assert_eq!(
        from_toml.sync_on_login,
        SyncOnLogin::Flag(true),
        "TOML: sync_on_login"
    );
    assert_eq!(
        from_toml.role_rules,
        [RoleRule::new("groups", "bi", ["Analyst"])],
        "TOML: role_rules"
    );
    match &from_toml.key_source {
        KeySource::Static(StaticKey::Secrets(s)) => assert_eq!(s.len(), 2, "TOML: the secrets"),
        other => panic!("TOML: expected a secret array, got {other:?}"),
    }
    from_toml
        .validate()
        .unwrap_or_else(|e| panic!("TOML: the configuration validates: {e}"));
    // `[]` stays a list, `false` the default.
    let empty =
        JwtConfig::from_json_str(&patched(base_config(), json!({"sync_on_login": []})).to_string())
            .unwrap();
    assert_eq!(
        empty.sync_on_login,
        SyncOnLogin::from([]),
        "sync_on_login []: an empty list"
    );
    assert!(
        empty.sync_on_login.is_off(),
        "sync_on_login []: syncs nothing"
    );
    let text = empty.to_json_string().unwrap();
    assert!(
        text.contains("\"sync_on_login\": []"),
        "sync_on_login []: written back as a list: {text}"
    );
    let off = JwtConfig::from_json_str(
        &patched(base_config(), json!({"sync_on_login": false})).to_string(),
    )
    .unwrap();
    assert_eq!(
        off.sync_on_login,
        SyncOnLogin::default(),
        "sync_on_login false: the default"
    );
}

// ------------------------------------------------------------ rotation

const SECRET_B: &str = "rotation-second-secret-0123456789abcdefgh";
/// `SECRET_C` in base64 (48 bytes: long enough for HS384 too).
const SECRET_C_TEXT: &str = "rotation-third-secret-0123456789abcdefghijklmnop";

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn signed_with(secret: &str) -> String {
    SigningKey::from_secret(secret.as_bytes())
        .sign(Algorithm::HS256, &good_claims())
        .unwrap()
}

#[test]
fn a_token_signed_with_each_of_three_secrets_verifies_and_a_removed_one_fails() {
    let var = "JWT_SSO_RULES_TEST_ROTATED_SECRET";
    // SAFETY: no other test of this binary reads or writes this variable.
    unsafe { std::env::set_var(var, SECRET_B) };
    let three = verifier_with(json!({
        "key_source": {"type": "static", "secret": [SECRET, {"env": var}, {"base64": b64(SECRET_C_TEXT)}]}
    }));
    for secret in [SECRET, SECRET_B, SECRET_C_TEXT] {
        assert_eq!(accept(&three, &signed_with(secret), NOW).user_id, "jdoe");
    }
    let err = reject(
        &three,
        &signed_with(OTHER_SECRET),
        NOW,
        ErrorKind::InvalidSignature,
    );
    assert_mentions(&err, &["3 candidate keys"]);

    // The old secret removed: its tokens fail, the others still verify.
    let two = verifier_with(json!({
        "key_source": {"type": "static", "secret": [{"env": var}, {"base64": b64(SECRET_C_TEXT)}]}
    }));
    reject(&two, &signed_with(SECRET), NOW, ErrorKind::InvalidSignature);
    accept(&two, &signed_with(SECRET_B), NOW);
    accept(&two, &signed_with(SECRET_C_TEXT), NOW);
    // An array of one is a plain secret.
    let one = verifier_with(json!({"key_source": {"type": "static", "secret": [SECRET_C_TEXT]}}));
    accept(&one, &signed_with(SECRET_C_TEXT), NOW);
    reject(
        &one,
        &signed_with(SECRET_B),
        NOW,
        ErrorKind::InvalidSignature,
    );
}

#[test]
fn each_secret_of_a_rotation_is_checked_and_errors_name_its_position() {
    let field = |secrets: Value, algorithms: Value| {
        refused_at(
            json!({"key_source": {"type": "static", "secret": secrets}, "algorithms": algorithms}),
        )
    };
    let hs256 = json!(["HS256"]);
    assert_eq!(field(json!([]), hs256.clone()), "key_source.secret");
    assert_eq!(
        field(json!([SECRET, SECRET_B, SECRET, SECRET_B]), hs256.clone()),
        "key_source.secret"
    );
    assert_eq!(
        field(json!([SECRET, "short"]), hs256.clone()),
        "key_source.secret[1]"
    );
    // Each entry long enough for every algorithm allowed: SECRET is 41 bytes, HS384 needs 48.
    assert_eq!(
        field(json!([SECRET_C_TEXT, SECRET]), json!(["HS256", "HS384"])),
        "key_source.secret[1]"
    );
    assert_eq!(
        field(
            json!([SECRET, SECRET_B, {"env": "JWT_SSO_RULES_NEVER_SET"}]),
            hs256.clone()
        ),
        "key_source.secret[2].env"
    );
    assert_eq!(
        field(json!([SECRET, {"base64": "!!"}]), hs256.clone()),
        "key_source.secret[1].base64"
    );
    assert_eq!(
        field(json!([[SECRET]]), hs256.clone()),
        "key_source.secret[0]"
    );
    assert_eq!(
        field(json!([SECRET, null]), hs256.clone()),
        "key_source.secret[1]"
    );
    // A wrong type is refused without echoing the value.
    let value = patched(
        base_config(),
        json!({"key_source": {"type": "static", "secret": [SECRET, 123456789]}}),
    );
    let err = load(&value).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Config,
        "a number in the array: {err}"
    );
    assert!(
        !err.to_string().contains("123456789"),
        "a number in the array: the value is echoed: {err}"
    );
    // Messages never hold a secret of the array.
    let err = load(&patched(
        base_config(),
        json!({"key_source": {"type": "static", "secret": [SECRET_B, "too-short-secret"]}}),
    ))
    .unwrap_err();
    assert!(
        !err.to_string().contains("too-short-secret") && !err.to_string().contains(SECRET_B),
        "{err}"
    );
    // Debug never shows them either.
    let config = JwtConfig::from_json_str(
        &patched(
            base_config(),
            json!({"key_source": {"type": "static", "secret": [SECRET, SECRET_B]}}),
        )
        .to_string(),
    )
    .unwrap();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains(SECRET_B),
        "{debug}"
    );
}

// ------------------------------------------------------------ step 15 in the checklist

#[test]
fn the_checklist_has_step_15_no_matching_role_before_step_16_missing_jti() {
    let v = verifier_with(json!({
        "single_use": true, "role_rules_required": true,
        "role_rules": [rule("groups", "bi")]
    }));
    let list = Checklist::from_result(v.verify_at(&hs256(&good_claims()), NOW));
    assert_eq!(list.steps.len(), 16, "the checklist's steps");
    let failed = list.failed_step().expect("no matching role: a failed step");
    assert_eq!(failed.step, 15, "no matching role: the failed step");
    assert!(
        failed.check.contains("role rule"),
        "step 15: {}",
        failed.check
    );
    let hint = failed.hint.as_deref().unwrap_or("");
    assert!(
        hint.contains("role_rules_required"),
        "step 15: the hint names role_rules_required: {hint:?}"
    );
    assert_eq!(
        list.steps[15].status,
        StepStatus::Skipped,
        "step 16 after a failed step 15"
    );
    assert_eq!(
        list.steps[15].check, "`jti` is present when the configuration is single_use",
        "step 16's check"
    );
    let json = list.to_json();
    assert_eq!(
        json["error"]["kind"], "no_matching_role",
        "the checklist's JSON error: {json}"
    );

    // With a matching rule, the missing `jti` fails step 16.
    let list =
        Checklist::from_result(v.verify_at(&hs256(&claims_with(json!({"groups": ["bi"]}))), NOW));
    assert_eq!(
        list.failed_step().map(|s| s.step),
        Some(16),
        "a matching rule, no jti: the failed step"
    );
    assert_eq!(
        list.steps[14].status,
        StepStatus::Ok,
        "a matching rule: step 15"
    );
}

// ------------------------------------------------------------ the administrator roles

#[test]
fn the_hosts_administrator_roles_are_the_verifiers_and_the_registrys() {
    let value = patched(
        base_config(),
        json!({"claims": {"user_id": "sub", "roles": "groups"}}),
    );
    let token = hs256(&claims_with(
        json!({"groups": ["Admins", "Administrator", "Viewer"]}),
    ));
    let clock = ManualClock::new(UnixTime::from_secs(NOW));

    // Default: `Administrator`.
    let plain = Verifier::new(config(&value)).with_clock(clock.clone());
    let identity = plain.verify_cached(&token).unwrap();
    assert_eq!(
        identity.roles,
        ["Admins", "Viewer"],
        "default: `Administrator` is dropped"
    );
    assert_eq!(
        identity.warnings.len(),
        1,
        "default: {:?}",
        identity.warnings
    );
    assert!(
        identity.warnings[0].contains("`Administrator`") && identity.warnings[0].contains("`T`"),
        "default: the warning names the role and the configuration: {}",
        identity.warnings[0]
    );

    // The host's own role instead.
    let custom = Verifier::new(config(&value))
        .with_clock(clock.clone())
        .with_admin_roles(["Admins"]);
    assert_eq!(
        custom.verify_cached(&token).unwrap().roles,
        ["Administrator", "Viewer"]
    );

    // A registry of a fixed set gives its roles to every verifier.
    let registry = Registry::from_configs([JwtConfig::from_json_str(&value.to_string()).unwrap()])
        .unwrap()
        .with_clock(clock.clone())
        .with_admin_roles(["Admins", "Owners"]);
    let routed = registry
        .verify_cached(&token, Verification::default())
        .unwrap();
    assert_eq!(routed.roles, ["Administrator", "Viewer"]);

    // The owner of the configurations too, also to ones added later.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let configs = runtime
        .block_on(
            Configs::new(MemoryConfigStore::with_configs([JwtConfig::from_json_str(
                &value.to_string(),
            )
            .unwrap()]))
            .with_clock(clock.clone())
            .with_admin_roles(["Admins", "Owners"])
            .load(),
        )
        .unwrap();
    let routed = configs
        .registry()
        .verify_cached(&token, Verification::default())
        .unwrap();
    assert_eq!(routed.roles, ["Administrator", "Viewer"]);
    let mut other = JwtConfig::from_json_str(&value.to_string()).unwrap();
    other.name = "U".parse().unwrap();
    other.issuer = Some("https://u.example.com".into());
    runtime
        .block_on(configs.apply(ConfigChange::Create(other)))
        .unwrap();
    let u_token = hs256(&claims_with(
        json!({"iss": "https://u.example.com", "groups": ["Owners", "Sales"]}),
    ));
    let routed = configs
        .registry()
        .verify_cached(&u_token, Verification::default())
        .unwrap();
    assert_eq!(routed.config, "U");
    assert_eq!(routed.roles, ["Sales"]);

    // The mapper alone (claims a host verified itself) is protected too.
    let parsed = JwtConfig::from_json_str(&value.to_string()).unwrap();
    let claims = json!({"sub": "jdoe", "groups": "Administrator Viewer"});
    let mapped = ClaimMapper::new(&parsed)
        .map(
            claims.as_object().unwrap(),
            time::macros::datetime!(2026-01-01 01:00 UTC),
        )
        .unwrap();
    assert_eq!(mapped.roles, ["Viewer"]);
}

// ------------------------------------------------------------ sync_on_login

const ISSUER: &str = "https://erp.example.com";

async fn sync_run(sync: Value) -> (jwt_sso::User, jwt_sso::User) {
    let value = json!({
        "name": "ERP", "token_name": "token", "issuer": ISSUER,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 3600,
        "claims": {"user_id": "sub", "name": "name", "email": "email", "roles": "groups"},
        "user_type": "reader", "initial_roles": ["Viewer"], "sync_on_login": sync,
        "role_rules": [{"claim": "groups", "value": "authors", "user_type": "author"}]
    });
    let registry = Arc::new(
        Registry::from_json_str(&value.to_string())
            .unwrap()
            .with_clock(ManualClock::new(UnixTime::from_secs(NOW))),
    );
    let auth = Authenticator::new(registry, MemoryStore::new());
    let token = |claims: Value| {
        let mut claims = claims;
        claims["iss"] = json!(ISSUER);
        claims["exp"] = json!(NOW + 600);
        hs256(&claims)
    };
    let first = auth
        .login(
            &token(json!({"sub": "jdoe", "name": "Jane Doe", "email": "jane@example.com", "groups": ["Sales"]})),
            Verification::default(),
        )
        .await
        .unwrap();
    assert!(first.first_login, "the first login is marked first");
    let later = auth
        .login(
            &token(json!({"sub": "jdoe", "name": "Jane Smith", "groups": ["Finance", "authors"]})),
            Verification::default(),
        )
        .await
        .unwrap();
    assert!(!later.first_login, "the second login is not marked first");
    // What the login answers is what the store holds.
    assert_eq!(
        auth.store().users(),
        std::slice::from_ref(&later.user),
        "the store holds what the second login answered"
    );
    (first.user, later.user)
}

#[tokio::test]
async fn sync_on_login_lists_replace_exactly_the_fields_they_name() {
    let (first, _) = sync_run(json!(false)).await;
    assert_eq!(
        (
            first.name.as_deref(),
            first.email.as_deref(),
            first.user_type.as_str()
        ),
        (Some("Jane Doe"), Some("jane@example.com"), "reader")
    );
    assert_eq!(first.roles, ["Viewer", "Sales"]);

    // The second login: name "Jane Smith", no email, groups Finance and
    // authors (a rule makes the type `author`).
    let synced_roles = ["Viewer", "Finance", "authors"];
    let cases: [(Value, (bool, bool, bool, bool)); 8] = [
        // (sync_on_login, (name, email, roles, user_type) replaced)
        (json!(false), (false, false, false, false)),
        (json!([]), (false, false, false, false)),
        (json!(true), (true, true, true, false)),
        (json!(["name"]), (true, false, false, false)),
        (json!(["email"]), (false, true, false, false)),
        (json!(["roles"]), (false, false, true, false)),
        (json!(["user_type"]), (false, false, false, true)),
        (
            json!(["user_type", "roles", "name", "email"]),
            (true, true, true, true),
        ),
    ];
    for (sync, (name, email, roles, user_type)) in cases {
        let (first, later) = sync_run(sync.clone()).await;
        let want_name = if name {
            Some("Jane Smith".to_owned())
        } else {
            first.name.clone()
        };
        assert_eq!(later.name, want_name, "{sync}");
        assert_eq!(
            later.email,
            if email { None } else { first.email.clone() },
            "{sync}"
        );
        let want_roles: Vec<String> = if roles {
            synced_roles.iter().map(|r| r.to_string()).collect()
        } else {
            first.roles.clone()
        };
        assert_eq!(later.roles, want_roles, "{sync}");
        // The role rule makes this login's user type `author`.
        assert_eq!(
            later.user_type,
            if user_type { "author" } else { "reader" },
            "{sync}"
        );
    }
}
