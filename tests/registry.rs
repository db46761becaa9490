//! The registry: CRUD and metadata, the file format, routing by `iss`, and
//! configuration swaps while tokens are being verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Clock, ErrorKind, JwtConfig, Registry, Route, UnixTime, Verification};
use serde_json::{Value, json};
use time::OffsetDateTime;

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const SECRET_A: &str = "registry-secret-a-0123456789abcdef";
const SECRET_B: &str = "registry-secret-b-0123456789abcdef";
const ERP: &str = "https://erp.example.com";
const CRM: &str = "https://crm.example.com";

/// A clock the test moves by hand.
#[derive(Debug, Clone)]
struct StepClock(Arc<AtomicI64>);

impl StepClock {
    fn new() -> Self {
        StepClock(Arc::new(AtomicI64::new(NOW)))
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for StepClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

fn at(secs: i64) -> Option<OffsetDateTime> {
    Some(OffsetDateTime::from_unix_timestamp(secs).unwrap())
}

fn config_json(name: &str, issuer: Option<&str>, secret: &str) -> Value {
    let mut config = json!({
        "name": name,
        "token_name": "token",
        "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": secret},
        "expiration_time": 3600,
        "claims": {"user_id": "sub"},
    });
    if let Some(issuer) = issuer {
        config["issuer"] = json!(issuer);
    }
    config
}

fn config(name: &str, issuer: Option<&str>, secret: &str) -> JwtConfig {
    JwtConfig::from_json_str(&config_json(name, issuer, secret).to_string()).unwrap()
}

fn token(secret: &str, claims: Value) -> String {
    SigningKey::from_secret(secret.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

fn erp_token() -> String {
    token(
        SECRET_A,
        json!({"iss": ERP, "sub": "jdoe", "exp": NOW + 600}),
    )
}

fn crm_token() -> String {
    token(
        SECRET_B,
        json!({"iss": CRM, "sub": "jdoe", "exp": NOW + 600}),
    )
}

fn names(registry: &Registry) -> Vec<String> {
    registry.list().into_iter().map(|c| c.name.into()).collect()
}

#[test]
fn create_read_update_enable_delete_with_case_insensitive_names() {
    let clock = StepClock::new();
    let registry = Registry::new().with_clock(clock.clone());
    assert!(registry.is_empty());

    let mut erp = config("ERP", Some(ERP), SECRET_A);
    erp.created_by = Some("admin".into());
    erp.last_modified = at(1); // replaced: create stamps the time itself
    registry.create(erp.clone()).unwrap();
    let stored = registry.get("erp").unwrap();
    assert_eq!(stored.name, "ERP");
    assert_eq!(stored.created_by.as_deref(), Some("admin"));
    assert_eq!(stored.last_modified, at(NOW));

    // Duplicates in any case are a typed error, and nothing changes.
    let mut shouting = config("erp", None, SECRET_B);
    shouting.name = "eRp".parse().unwrap();
    let err = registry.create(shouting).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateName);
    assert_eq!(err.kind().as_str(), "duplicate_name");
    assert!(err.to_string().contains("`ERP`"), "{err}");
    assert!(!err.hint().is_empty());
    assert_eq!(registry.len(), 1);

    // An invalid configuration is refused with `config`.
    let mut invalid = config("Broken", None, SECRET_A);
    invalid.expiration_time = 0;
    assert_eq!(
        registry.create(invalid).unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(registry.len(), 1);

    // Update: bumps last_modified, keeps created_by whatever the new value says.
    clock.advance(100);
    let mut changed = config("ERP", Some(ERP), SECRET_A);
    changed.audience = Some("bi-server".into());
    changed.created_by = Some("mallory".into());
    registry.update("Erp", changed).unwrap();
    let stored = registry.get("ERP").unwrap();
    assert_eq!(stored.audience.as_deref(), Some("bi-server"));
    assert_eq!(stored.created_by.as_deref(), Some("admin"));
    assert_eq!(stored.last_modified, at(NOW + 100));

    // An update that fails validation leaves the old configuration in place.
    let mut invalid = stored.clone();
    invalid.algorithms = Vec::new();
    assert_eq!(
        registry.update("ERP", invalid).unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(registry.get("ERP").unwrap(), stored);

    let err = registry
        .update("Nope", config("Nope", None, SECRET_A))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownConfig);
    assert!(
        err.to_string().contains("`Nope`") && err.to_string().contains("`ERP`"),
        "{err}"
    );

    // Rename through update; the new name must be free.
    clock.advance(100);
    registry
        .update("ERP", config("ERP prod", Some(ERP), SECRET_A))
        .unwrap();
    assert!(registry.get("ERP").is_none());
    let renamed = registry.get("erp PROD").unwrap();
    assert_eq!(renamed.created_by.as_deref(), Some("admin"));
    assert_eq!(renamed.last_modified, at(NOW + 200));
    registry.create(config("CRM", Some(CRM), SECRET_B)).unwrap();
    let err = registry
        .update("CRM", config("Erp Prod", Some(CRM), SECRET_B))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateName);
    // Changing only the case of a name is a rename onto itself: allowed.
    registry
        .update("crm", config("Crm", Some(CRM), SECRET_B))
        .unwrap();
    assert_eq!(registry.get("CRM").unwrap().name, "Crm");

    // Enable/disable is a modification.
    clock.advance(50);
    registry.set_enabled("crm", false).unwrap();
    let crm = registry.get("Crm").unwrap();
    assert!(!crm.enabled);
    assert_eq!(crm.last_modified, at(NOW + 250));
    assert_eq!(
        registry.set_enabled("ghost", true).unwrap_err().kind(),
        ErrorKind::UnknownConfig
    );

    // Listing is sorted by name without regard to case.
    for name in ["gamma", "Beta", "alpha"] {
        registry.create(config(name, None, SECRET_A)).unwrap();
    }
    assert_eq!(
        names(&registry),
        ["alpha", "Beta", "Crm", "ERP prod", "gamma"]
    );

    let removed = registry.delete("BETA").unwrap();
    assert_eq!(removed.name, "Beta");
    assert_eq!(
        registry.delete("beta").unwrap_err().kind(),
        ErrorKind::UnknownConfig
    );
    assert_eq!(registry.len(), 4);
    assert!(registry.verifier("alpha").is_some());
}

/// A temporary directory for one test, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("jwt-sso-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Cargo sets this for the test process; at least 32 bytes long.
const ENV_SECRET: &str = "CARGO_PKG_DESCRIPTION";

#[test]
fn files_load_and_save_losslessly() {
    assert!(
        std::env::var(ENV_SECRET).is_ok_and(|v| v.len() >= 32),
        "cargo sets {ENV_SECRET} for tests"
    );
    // Every field written out in the canonical form, so text can be compared.
    let full = json!({
        "name": "ERP",
        "enabled": false,
        "token_name": "token",
        "issuer": ERP,
        "audience": "bi-server",
        "algorithms": ["HS256", "HS384"],
        "key_source": {"type": "static", "secret": {"env": ENV_SECRET}},
        "expiration_time": 86400,
        "leeway": 30,
        "max_token_bytes": 8192,
        "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "date", "slot": 1, "claim": "/hr/hired"}
        ],
        "user_type": "analyst",
        "initial_roles": ["Viewer"],
        "created_by": "admin",
        "last_modified": "2026-03-13T10:00:00Z"
    });
    let b64 = json!({
        "name": "crm", "token_name": "jwt", "issuer": CRM, "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": {"base64": "cmVnaXN0cnktc2VjcmV0LWItMDEyMzQ1Njc4OWFiY2RlZg"}},
        "expiration_time": 60, "claims": {"user_id": "sub"}
    });
    let text_secret = config_json("Portal", None, SECRET_A);
    let file_text = json!([full, b64, text_secret]).to_string();

    let registry = Registry::from_json_str(&file_text).unwrap();
    assert_eq!(names(&registry), ["crm", "ERP", "Portal"]);
    let saved = registry.to_json_string().unwrap();
    let saved_value: Value = serde_json::from_str(&saved).unwrap();
    // The full entry comes back exactly; the env secret stays a reference.
    assert_eq!(saved_value[1], full);
    assert!(saved.contains(&format!(r#""env": "{ENV_SECRET}""#)));
    assert!(!saved.contains(&std::env::var(ENV_SECRET).unwrap()));
    assert_eq!(saved_value[0]["key_source"], b64["key_source"]);
    assert_eq!(saved_value[2]["key_source"]["secret"], SECRET_A);
    // Metadata is kept as written when loading.
    let erp = registry.get("erp").unwrap();
    assert_eq!(
        erp.last_modified,
        Some(time::macros::datetime!(2026-03-13 10:00 UTC))
    );
    assert_eq!(erp.created_by.as_deref(), Some("admin"));

    // Through a file, twice (the second save replaces the first).
    let dir = TempDir::new("registry-files");
    let path = dir.0.join("configs.json");
    registry.save(&path).unwrap();
    let loaded = Registry::load(&path).unwrap();
    assert_eq!(loaded.list(), registry.list());
    loaded.create(config("Extra", None, SECRET_B)).unwrap();
    loaded.save(&path).unwrap();
    let again = Registry::load(&path).unwrap();
    assert_eq!(again.list(), loaded.list());
    assert_eq!(
        again.to_json_string().unwrap(),
        loaded.to_json_string().unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a new registry file is private");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        again.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o640,
            "an existing file keeps its permissions"
        );
    }

    // One object is a registry of one.
    let single = Registry::from_json_str(&text_secret.to_string()).unwrap();
    assert_eq!(names(&single), ["Portal"]);
    assert!(Registry::from_json_str("[]").unwrap().is_empty());
}

#[test]
fn bad_files_say_what_and_where() {
    let dup = json!([
        config_json("ERP", None, SECRET_A),
        config_json("erp", None, SECRET_B)
    ]);
    let err = Registry::from_json_str(&dup.to_string()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateName);

    let mut broken = config_json("CRM", None, SECRET_B);
    broken["key_source"]["secret"] = json!("short");
    let two = json!([config_json("ERP", None, SECRET_A), broken]);
    let err = Registry::from_json_str(&two.to_string()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let message = err.to_string();
    assert!(
        message.contains("entry 2") && message.contains("`CRM`"),
        "{message}"
    );
    assert!(message.contains("key_source.secret"), "{message}");
    assert!(
        !message.contains("short"),
        "the secret is never shown: {message}"
    );

    let mut typo = config_json("ERP", None, SECRET_A);
    typo["audiance"] = json!("x");
    let err = Registry::from_json_str(&json!([typo]).to_string()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("audiance"), "{err}");

    assert_eq!(
        Registry::from_json_str("{").unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(
        Registry::from_json_str("42").unwrap_err().kind(),
        ErrorKind::Config
    );

    let dir = TempDir::new("registry-missing");
    let missing = dir.0.join("nope.json");
    let err = Registry::load(&missing).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("nope.json"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
    let err = Registry::new()
        .save(dir.0.join("no-such-dir").join("x.json"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
}

#[test]
fn routing_by_issuer_one_none_two() {
    let registry = Registry::from_configs([
        config("ERP", Some(ERP), SECRET_A),
        config("CRM", Some(CRM), SECRET_B),
    ])
    .unwrap()
    .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));

    // One match each.
    assert_eq!(
        registry
            .verify_cached(&erp_token(), Verification::default())
            .unwrap()
            .config,
        "ERP"
    );
    assert_eq!(
        registry
            .verify_cached(&crm_token(), Verification::default())
            .unwrap()
            .config,
        "CRM"
    );
    assert_eq!(
        registry.route(&crm_token(), Route::Issuer).unwrap().name(),
        "CRM"
    );
    assert_eq!(
        registry
            .verify_cached(
                &erp_token(),
                Verification::default().at(UnixTime::from_secs(NOW + 3600))
            )
            .unwrap_err()
            .kind(),
        ErrorKind::Expired
    );

    // None: the error names the token's iss and the candidates, and nothing
    // else of the unverified payload.
    let stranger = token(
        SECRET_A,
        json!({"iss": "https://evil.example.com", "sub": "jdoe", "password": "hunter2", "exp": NOW + 600}),
    );
    let err = registry
        .verify_cached(&stranger, Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    assert_eq!(err.kind().as_str(), "no_matching_config");
    let message = err.to_string();
    assert!(message.contains("`https://evil.example.com`"), "{message}");
    assert!(
        message.contains(&format!("`ERP` (issuer `{ERP}`)")),
        "{message}"
    );
    assert!(
        message.contains(&format!("`CRM` (issuer `{CRM}`)")),
        "{message}"
    );
    assert!(
        !message.contains("hunter2") && !message.contains("jdoe"),
        "{message}"
    );
    assert!(err.hint().contains("issuer"));

    let no_iss = token(SECRET_A, json!({"sub": "jdoe", "exp": NOW + 600}));
    let err = registry
        .verify_cached(&no_iss, Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    assert!(err.to_string().contains("no string `iss`"), "{err}");
    let numeric_iss = token(SECRET_A, json!({"iss": 7, "sub": "jdoe", "exp": NOW + 600}));
    assert_eq!(
        registry
            .verify_cached(&numeric_iss, Verification::default())
            .unwrap_err()
            .kind(),
        ErrorKind::NoMatchingConfig
    );

    // Two: ambiguous, naming both.
    let mut copy = config("ERP copy", Some(ERP), SECRET_A);
    copy.user_type = "author".into();
    registry.create(copy).unwrap();
    let err = registry
        .verify_cached(&erp_token(), Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AmbiguousConfig);
    assert_eq!(
        err.to_string(),
        format!("token issuer `{ERP}` matches 2 enabled configurations: `ERP`, `ERP copy`")
    );
    // By name it is unambiguous.
    assert_eq!(
        registry
            .verify_cached(&erp_token(), Route::Config("erp copy").into())
            .unwrap()
            .user_type,
        "author"
    );
    let err = registry
        .verify_cached(&erp_token(), Route::Config("ERP2").into())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownConfig);
    assert!(err.to_string().contains("`ERP copy`"), "{err}");

    // Disabled configurations are not candidates; a disabled match says so.
    registry.set_enabled("ERP copy", false).unwrap();
    assert_eq!(
        registry
            .verify_cached(&erp_token(), Verification::default())
            .unwrap()
            .config,
        "ERP"
    );
    registry
        .create(config("Old", Some("https://old.example.com"), SECRET_A))
        .unwrap();
    registry.set_enabled("old", false).unwrap();
    let old = token(
        SECRET_A,
        json!({"iss": "https://old.example.com", "sub": "x", "exp": NOW + 600}),
    );
    let err = registry
        .verify_cached(&old, Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disabled);
    assert!(err.to_string().contains("`Old`"), "{err}");

    // Strict decoding before routing.
    let err = registry
        .verify_cached("only.two", Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    let padded = erp_token().replacen('.', "=.", 1);
    assert_eq!(
        registry
            .verify_cached(&padded, Verification::default())
            .unwrap_err()
            .kind(),
        ErrorKind::Malformed
    );
    let not_json = SigningKey::from_secret(SECRET_A.as_bytes())
        .sign_raw(
            Algorithm::HS256,
            br#"{"alg":"HS256"}"#,
            br#"{"iss":"x","secret":"hunter2","iss":"y"}"#,
        )
        .unwrap();
    let err = registry
        .verify_cached(&not_json, Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(
        !err.to_string().contains("hunter2") && !err.to_string().contains("`iss`:"),
        "{err}"
    );
    let huge = format!("{}.{}.x", "a".repeat(20_000), "b");
    assert_eq!(
        registry
            .verify_cached(&huge, Verification::default())
            .unwrap_err()
            .kind(),
        ErrorKind::TokenTooLarge
    );

    // No configuration at all.
    let empty = Registry::new();
    let err = empty
        .verify_cached(&erp_token(), Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    assert!(
        err.to_string().contains("no configuration is enabled"),
        "{err}"
    );
}

#[test]
fn the_only_enabled_configuration_takes_every_token() {
    // Without an issuer, a single configuration accepts tokens with any iss.
    let open = Registry::from_configs([config("Only", None, SECRET_A)])
        .unwrap()
        .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));
    assert_eq!(
        open.verify_cached(&erp_token(), Verification::default())
            .unwrap()
            .config,
        "Only"
    );
    let no_iss = token(SECRET_A, json!({"sub": "jdoe", "exp": NOW + 600}));
    assert_eq!(
        open.verify_cached(&no_iss, Verification::default())
            .unwrap()
            .user_id,
        "jdoe"
    );

    // With one enabled among others, that one decides and gives its own errors,
    // except for a token whose `iss` matches only a disabled configuration
    // (CONTRACT 6: `disabled`; see the test below).
    let registry = Registry::from_configs([
        config("ERP", Some(ERP), SECRET_A),
        config("CRM", Some(CRM), SECRET_B),
    ])
    .unwrap()
    .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));
    registry.set_enabled("erp", false).unwrap();
    let err = registry
        .verify_cached(&erp_token(), Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disabled);
    let forged = token(
        SECRET_A,
        json!({"iss": CRM, "sub": "jdoe", "exp": NOW + 600}),
    );
    let err = registry
        .verify_cached(&forged, Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    let err = registry
        .verify_cached("not-a-token", Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert_eq!(registry.token_names(), ["token"]);
}

#[test]
fn token_names_are_those_of_enabled_configurations() {
    let mut crm = config("CRM", Some(CRM), SECRET_B);
    crm.token_name = "jwt".parse().unwrap();
    let mut old = config("Old", None, SECRET_B);
    old.token_name = "legacy".parse().unwrap();
    old.enabled = false;
    let registry = Registry::from_configs([config("ERP", Some(ERP), SECRET_A), crm, old]).unwrap();
    assert_eq!(registry.token_names(), ["jwt", "token"]);
}

#[test]
fn swapping_configurations_while_verifying_never_mixes_old_and_new() {
    let old = config("ERP", Some(ERP), SECRET_A);
    let mut new = config("ERP", Some(ERP), SECRET_B);
    new.user_type = "author".into();
    new.initial_roles = vec!["New".into()];
    let mut old = old;
    old.initial_roles = vec!["Old".into()];
    // A second configuration, so that tokens are routed by `iss`.
    let registry = Arc::new(
        Registry::from_configs([old.clone(), config("CRM", Some(CRM), SECRET_B)])
            .unwrap()
            .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW))),
    );
    let token_old = erp_token();
    let token_new = token(
        SECRET_B,
        json!({"iss": ERP, "sub": "jdoe", "exp": NOW + 600}),
    );

    let done = AtomicBool::new(false);
    let (seen_old, seen_new, checked) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    std::thread::scope(|scope| {
        for reader in 0..3 {
            let (registry, token_old, token_new) = (&registry, &token_old, &token_new);
            let (done, seen_old, seen_new, checked) = (&done, &seen_old, &seen_new, &checked);
            scope.spawn(move || {
                let mut rounds = 0;
                while rounds < 200 || !done.load(Ordering::SeqCst) {
                    rounds += 1;
                    for (token, is_old) in [(token_old, true), (token_new, false)] {
                        let result = if reader == 0 {
                            registry.verify_cached(token, Route::Config("erp").into())
                        } else {
                            registry.verify_cached(token, Verification::default())
                        };
                        match result {
                            Ok(identity) if is_old => {
                                assert_eq!(
                                    (identity.user_type.as_str(), identity.roles.as_slice()),
                                    ("reader", &["Old".to_owned()][..])
                                );
                                seen_old.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(identity) => {
                                assert_eq!(
                                    (identity.user_type.as_str(), identity.roles.as_slice()),
                                    ("author", &["New".to_owned()][..])
                                );
                                seen_new.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidSignature, "{e}"),
                        }
                        checked.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        scope.spawn(|| {
            for i in 0..300 {
                let next = if i % 2 == 0 { new.clone() } else { old.clone() };
                registry.update("ERP", next).unwrap();
                if i == 0 {
                    // Hold the first new state until a reader has verified
                    // with it, so that both states are served on any machine.
                    let start = std::time::Instant::now();
                    while seen_new.load(Ordering::Relaxed) == 0 {
                        assert!(start.elapsed().as_secs() < 30, "new state never served");
                        std::thread::yield_now();
                    }
                }
                if i % 50 == 0 {
                    // Also swap the set of configurations around the one in use.
                    registry
                        .create(config("Temp", Some("https://temp.example.com"), SECRET_A))
                        .unwrap();
                    registry.delete("temp").unwrap();
                }
            }
            done.store(true, Ordering::SeqCst);
        });
    });
    assert!(checked.load(Ordering::Relaxed) >= 1200);
    // Both states were served (the writer ends on the old configuration).
    assert!(seen_old.load(Ordering::Relaxed) > 0);
    assert_eq!(registry.get("ERP").unwrap().user_type, "reader");
    assert!(seen_new.load(Ordering::Relaxed) > 0);
}

// ------------------------------------------------- async, token names, sets

/// What an asynchronous verification ends in: the configuration that
/// accepted the token, or the error's kind.
async fn outcome(
    verification: impl std::future::Future<Output = Result<jwt_sso::Verified, jwt_sso::Error>>,
) -> Result<String, ErrorKind> {
    verification
        .await
        .map(|identity| identity.config.clone())
        .map_err(|e| e.kind())
}

#[tokio::test]
async fn async_routing_follows_the_same_rules_and_token_names_never_cross() {
    let mut crm = config("CRM", Some(CRM), SECRET_B);
    crm.token_name = "jwt".parse().unwrap();
    let mut portal = config("Portal", None, SECRET_B);
    portal.token_name = "portal_token".parse().unwrap();
    let registry = Registry::from_configs([config("ERP", Some(ERP), SECRET_A), crm, portal])
        .unwrap()
        .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));

    // By `iss` among all enabled configurations.
    assert_eq!(
        outcome(registry.verify(&erp_token(), Verification::default())).await,
        Ok("ERP".into())
    );
    assert_eq!(
        outcome(registry.verify(&crm_token(), Verification::default())).await,
        Ok("CRM".into())
    );
    assert_eq!(
        outcome(registry.verify(
            &erp_token(),
            Verification::default().at(UnixTime::from_secs(NOW + 3600))
        ))
        .await,
        Err(ErrorKind::Expired)
    );
    assert_eq!(
        outcome(registry.verify(&crm_token(), Route::Config("crm").into())).await,
        Ok("CRM".into())
    );
    assert_eq!(
        outcome(registry.verify(&crm_token(), Route::Config("nope").into())).await,
        Err(ErrorKind::UnknownConfig)
    );

    // Under `jwt` only CRM is a candidate: the only one there takes the
    // token, but a token whose `iss` belongs to a configuration of another
    // name travels under the wrong name, and is refused as such.
    assert_eq!(
        outcome(registry.verify(&crm_token(), Route::TokenName("jwt").into())).await,
        Ok("CRM".into())
    );
    for (name, wrong) in [("jwt", erp_token()), ("token", crm_token())] {
        let err = registry
            .verify(&wrong, Route::TokenName(name).into())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoMatchingConfig, "{name}: {err}");
        assert_eq!(
            registry
                .route(&wrong, Route::TokenName(name))
                .unwrap_err()
                .kind(),
            ErrorKind::NoMatchingConfig
        );
    }
    // A token with an issuer that no configuration has still goes to the
    // only configuration of the name, whose own checks then speak.
    let stranger = token(
        SECRET_B,
        json!({"iss": "https://stranger.example.com", "sub": "s", "exp": NOW + 600}),
    );
    assert_eq!(
        outcome(registry.verify(&stranger, Route::TokenName("jwt").into())).await,
        Err(ErrorKind::IssuerMismatch)
    );
    // A configuration without issuer is reached through its own name only.
    let portal_token = token(SECRET_B, json!({"sub": "p", "exp": NOW + 600}));
    assert_eq!(
        outcome(registry.verify(&portal_token, Route::TokenName("portal_token").into())).await,
        Ok("Portal".into())
    );
    assert_eq!(
        outcome(registry.verify(&portal_token, Verification::default())).await,
        Err(ErrorKind::NoMatchingConfig)
    );

    // Two configurations under one name route by `iss` among themselves only.
    let mut crm2 = config("CRM two", Some("https://crm2.example.com"), SECRET_A);
    crm2.token_name = "jwt".parse().unwrap();
    registry.create(crm2).unwrap();
    let err = registry
        .verify(&erp_token(), Route::TokenName("jwt").into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    assert!(!err.to_string().contains("`ERP`"), "{err}");
    assert_eq!(
        outcome(registry.verify(&crm_token(), Route::TokenName("jwt").into())).await,
        Ok("CRM".into())
    );
    // A name no configuration uses matches nothing.
    assert_eq!(
        outcome(registry.verify(&erp_token(), Route::TokenName("other").into())).await,
        Err(ErrorKind::NoMatchingConfig)
    );
    // A disabled configuration under that name says so.
    registry.set_enabled("crm", false).unwrap();
    registry.set_enabled("crm two", false).unwrap();
    assert_eq!(
        outcome(registry.verify(&crm_token(), Route::TokenName("jwt").into())).await,
        Err(ErrorKind::Disabled)
    );
}

#[test]
fn warnings_name_configurations_that_routing_never_chooses() {
    // One configuration alone takes every token: no warning.
    let registry = Registry::from_configs([config("Portal", None, SECRET_A)]).unwrap();
    assert!(registry.warnings().is_empty());

    // A second enabled one: the issuer-less one shares `token`, so nothing
    // can ever reach it.
    registry.create(config("ERP", Some(ERP), SECRET_A)).unwrap();
    let warnings = registry.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].config, "Portal");
    let message = &warnings[0].message;
    assert!(message.contains("no `issuer`"), "{message}");
    assert!(
        message.contains("shares its token_name `token` with `ERP`"),
        "{message}"
    );
    assert!(
        message.contains("no token can ever be routed to it"),
        "{message}"
    );

    // Its own token name: reachable through it only, and the warning says so.
    let mut portal = registry.get("portal").unwrap();
    portal.token_name = "portal_token".parse().unwrap();
    registry.update("portal", portal).unwrap();
    let warnings = registry.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .message
            .contains("only a token sent under its own token_name `portal_token`"),
        "{}",
        warnings[0].message
    );

    // Two with one issuer and one token name are ambiguous for ever.
    registry
        .create(config("ERP copy", Some(ERP), SECRET_B))
        .unwrap();
    let warnings = registry.warnings();
    let names: Vec<&str> = warnings.iter().map(|w| w.config.as_str()).collect();
    assert_eq!(names, ["ERP", "ERP copy", "Portal"], "{warnings:?}");
    assert!(
        warnings[0].message.contains("ambiguous_config"),
        "{}",
        warnings[0]
    );

    // Fixed: an issuer, and the copy disabled.
    registry.set_enabled("erp copy", false).unwrap();
    let mut portal = registry.get("portal").unwrap();
    portal.issuer = Some("https://portal.example.com".into());
    registry.update("portal", portal).unwrap();
    assert!(registry.warnings().is_empty(), "{:?}", registry.warnings());

    // Loading a file finds them too.
    let file = json!([
        config_json("A", None, SECRET_A),
        config_json("B", None, SECRET_B)
    ]);
    let loaded = Registry::from_json_str(&file.to_string()).unwrap();
    assert_eq!(loaded.warnings().len(), 2);
}

#[test]
fn replace_all_swaps_the_whole_set_or_changes_nothing() {
    let registry = Registry::from_configs([
        config("ERP", Some(ERP), SECRET_A),
        config("CRM", Some(CRM), SECRET_B),
    ])
    .unwrap()
    .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));
    let mut erp = config("ERP", Some(ERP), SECRET_A);
    erp.user_type = "author".into();
    erp.created_by = Some("other instance".into());
    let portal = config("Portal", Some("https://portal.example.com"), SECRET_B);
    registry.replace_all([erp.clone(), portal]).unwrap();
    assert_eq!(names(&registry), ["ERP", "Portal"]);
    // Taken as they are: metadata untouched, changes in force.
    assert_eq!(registry.get("erp").unwrap(), erp);
    assert_eq!(
        registry
            .verify_cached(&erp_token(), Verification::default())
            .unwrap()
            .user_type,
        "author"
    );
    assert_eq!(
        registry
            .verify_cached(&crm_token(), Verification::default())
            .unwrap_err()
            .kind(),
        ErrorKind::NoMatchingConfig
    );

    // An invalid set changes nothing.
    let mut broken = config("CRM", Some(CRM), SECRET_B);
    broken.algorithms = Vec::new();
    let err = registry
        .replace_all([config("New", None, SECRET_A), broken])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = registry
        .replace_all([config("X", None, SECRET_A), config("x", None, SECRET_A)])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateName);
    assert_eq!(names(&registry), ["ERP", "Portal"]);
}

#[test]
fn a_failed_save_leaves_the_file_as_it_was() {
    let dir = TempDir::new("registry-failed-save");
    let path = dir.0.join("configs.json");
    let good = Registry::from_configs([config("ERP", Some(ERP), SECRET_A)]).unwrap();
    good.save(&path).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();

    // A timestamp that RFC 3339 cannot write (the year -1): the registry
    // cannot be serialised, and saving must not write an empty file.
    let year_minus_one = -62_167_219_200 - 366 * 86_400;
    let mut odd = config("CRM", Some(CRM), SECRET_B);
    odd.last_modified = at(year_minus_one);
    let bad = Registry::from_configs([config("ERP", Some(ERP), SECRET_A), odd]).unwrap();
    let err = bad.to_json_string().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`CRM`"), "{err}");
    let err = bad.save(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // The same from a clock that stamps such a time on create.
    let stamped = Registry::new().with_clock(jwt_sso::ManualClock::new(
        jwt_sso::UnixTime::from_secs(year_minus_one),
    ));
    stamped.create(config("ERP", Some(ERP), SECRET_A)).unwrap();
    assert!(stamped.save(&path).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // A write that fails (the target is a directory) leaves no temporary file.
    let target = dir.0.join("is-a-dir");
    std::fs::create_dir(&target).unwrap();
    assert_eq!(good.save(&target).unwrap_err().kind(), ErrorKind::Io);
    let mut entries: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["configs.json", "is-a-dir"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

/// Collects `tracing` events (level, target, message and fields) on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<String>>>);

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        use tracing_subscriber::layer::SubscriberExt;
        tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()))
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    // `%value` fields arrive here as `DisplayValue`s, whose Debug prints
    // their Display: a raw line break would show as one.
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        use std::fmt::Write as _;
        // Raw, as a plain-text formatter would print it.
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut line = format!("{} {}", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

/// All captured lines, for a failure message.
fn raw(lines: &[String]) -> String {
    lines.join("\n---\n")
}

#[tokio::test]
async fn log_injection_through_routing_is_escaped() {
    let captured = Captured::default();
    let _guard = captured.install();
    let registry = Registry::from_configs([
        config("ERP", Some(ERP), SECRET_A),
        config("CRM", Some(CRM), SECRET_B),
    ])
    .unwrap()
    .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));
    let forged_iss = "https://evil.example.com\nINFO jwt_sso: login ok user=admin\u{1b}[2K";
    let evil = token(
        SECRET_A,
        json!({"iss": forged_iss, "sub": "x", "exp": NOW + 600}),
    );
    let err = registry
        .verify(&evil, Verification::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    let err = registry.route(&evil, Route::Issuer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    let lines = captured.lines();
    let routed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("no configuration for token"))
        .collect();
    assert_eq!(routed.len(), 2, "{}", raw(&lines));
    for line in routed {
        assert!(line.contains("evil.example.com"), "{line}");
        assert!(line.contains("\\n"), "the line break is escaped: {line}");
        assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
    }
}

/// CONTRACT 6: with one configuration enabled, every token goes to it, except one
/// whose `iss` matches only a disabled configuration: that is `disabled`.
#[test]
fn the_only_enabled_configuration_takes_every_token_but_a_disabled_ones() {
    let registry = Registry::from_configs([
        config("ERP", Some(ERP), SECRET_A),
        config("CRM", Some(CRM), SECRET_B),
    ])
    .unwrap()
    .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));
    registry.set_enabled("CRM", false).unwrap();

    let err = registry
        .verify_cached(&crm_token(), Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disabled, "{err}");
    assert!(err.to_string().contains("`CRM`"), "{err}");
    assert_eq!(
        registry
            .verify_cached(&erp_token(), Verification::default())
            .unwrap()
            .config,
        "ERP"
    );
    // Another issuer still goes to the only enabled configuration, which says why it fails.
    let other = token(
        SECRET_A,
        json!({"iss": "https://other.example.com", "sub": "x", "exp": NOW + 600}),
    );
    assert_eq!(
        registry
            .verify_cached(&other, Verification::default())
            .unwrap_err()
            .kind(),
        ErrorKind::IssuerMismatch
    );
    // A payload that cannot be read goes to it too, checked in the verifier's order.
    assert_eq!(
        registry
            .verify_cached("x.y.z", Verification::default())
            .unwrap_err()
            .kind(),
        ErrorKind::Malformed
    );
}
