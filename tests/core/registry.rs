//! The registry: the file format, routing by `iss`, by token name and by
//! name, and routing warnings. (Changes through the owner of the
//! configurations: tests/configs.rs.)
#![cfg(feature = "admin")]

use crate::support::fixtures::{TempDir, assert_mentions, contract_config, patched};
use crate::support::owner::{self, verified_by};

use std::sync::Arc;

use jwt_sso::mint::SigningKey;
use jwt_sso::{
    Algorithm, ConfigChange, ConfigFile, ConfigStore, Configs, ErrorKind, Registry, Route,
    UnixTime, Verification,
};
use serde_json::{Value, json};

use crate::support::two_issuers::*;

/// Cargo sets this for the test process; at least 32 bytes long.
const ENV_SECRET: &str = "CARGO_PKG_DESCRIPTION";

#[tokio::test]
async fn files_load_and_save_losslessly() {
    assert!(
        std::env::var(ENV_SECRET).is_ok_and(|v| v.len() >= 32),
        "cargo sets {ENV_SECRET} for tests"
    );
    // Every field written out in the canonical form, so text can be compared.
    let key_source = json!({"type": "static", "secret": {"env": ENV_SECRET}});
    let changed = json!({
        "enabled": false, "issuer": ERP, "leeway": 30, "max_token_bytes": 8192,
        "user_type": "analyst", "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "date", "slot": 1, "claim": "/hr/hired"}
        ]
    });
    let full = patched(
        contract_config(json!(["HS256", "HS384"]), key_source),
        changed,
    );
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

    // Through the file store, twice (the second save replaces the first).
    let dir = TempDir::new("registry-files");
    let path = dir.0.join("configs.json");
    std::fs::write(&path, registry.to_json_string().unwrap()).unwrap();
    let loaded = Configs::new(ConfigFile::new(&path)).load().await.unwrap();
    assert_eq!(loaded.registry().list(), registry.list());
    loaded
        .apply(ConfigChange::Create(config("Extra", None, SECRET_B)))
        .await
        .unwrap();
    let again = Registry::load(&path).unwrap();
    assert_eq!(again.list(), loaded.registry().list());
    assert_eq!(
        again.to_json_string().unwrap(),
        loaded.registry().to_json_string().unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
    #[cfg(unix)]
    {
        // The file holds secrets: every save leaves it private.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        loaded
            .apply(ConfigChange::Delete {
                name: "extra".into(),
            })
            .await
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a saved registry file is private");
        let fresh = dir.0.join("fresh.json");
        let store = ConfigFile::new(&fresh);
        assert!(store.seed(&registry.list()).await.unwrap());
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a new registry file is private");
    }

    // One object is a registry of one.
    let single = Registry::from_json_str(&text_secret.to_string()).unwrap();
    assert_eq!(names(&single), ["Portal"]);
    assert!(Registry::from_json_str("[]").unwrap().is_empty());
}

#[tokio::test]
async fn bad_files_say_what_and_where() {
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
    let source = std::error::Error::source(&err).expect("the I/O error is the source");
    let io = source
        .downcast_ref::<std::io::Error>()
        .map(std::io::Error::kind);
    assert_eq!(io, Some(std::io::ErrorKind::NotFound), "{source}");
    let err = Configs::new(ConfigFile::new(dir.0.join("no-such-dir").join("x.json")))
        .load()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
}

#[tokio::test]
async fn routing_by_issuer_one_none_two() {
    let owned = owner::owned(
        [
            config("ERP", Some(ERP), SECRET_A),
            config("CRM", Some(CRM), SECRET_B),
        ],
        jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)),
    )
    .await;
    let registry = owned.registry();

    // One match each.
    assert_eq!(verified_by(registry, &erp_token()), Ok("ERP".into()));
    assert_eq!(verified_by(registry, &crm_token()), Ok("CRM".into()));
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
    let (erp, crm) = (
        format!("`ERP` (issuer `{ERP}`)"),
        format!("`CRM` (issuer `{CRM}`)"),
    );
    assert_mentions(&err, &["`https://evil.example.com`", &erp, &crm]);
    let message = err.to_string();
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
        verified_by(registry, &numeric_iss),
        Err(ErrorKind::NoMatchingConfig)
    );

    // Two: ambiguous, naming both.
    let mut copy = config("ERP copy", Some(ERP), SECRET_A);
    copy.user_type = "author".into();
    owned.create(copy).await;
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
    owned.set_enabled("ERP copy", false).await;
    assert_eq!(verified_by(registry, &erp_token()), Ok("ERP".into()));
    owned
        .create(config("Old", Some("https://old.example.com"), SECRET_A))
        .await;
    owned.set_enabled("old", false).await;
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
    assert_eq!(verified_by(registry, &padded), Err(ErrorKind::Malformed));
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
    assert_eq!(verified_by(registry, &huge), Err(ErrorKind::TokenTooLarge));

    // No configuration at all.
    let empty = Registry::from_configs([]).unwrap();
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
    assert_eq!(verified_by(&open, &erp_token()), Ok("Only".into()));
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
    let mut erp = config("ERP", Some(ERP), SECRET_A);
    erp.enabled = false;
    let registry = Registry::from_configs([erp, config("CRM", Some(CRM), SECRET_B)])
        .unwrap()
        .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));
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
    let owned = owner::owned(
        [config("ERP", Some(ERP), SECRET_A), crm, portal],
        jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)),
    )
    .await;
    let registry = owned.registry();

    let expired = || Verification::default().at(UnixTime::from_secs(NOW + 3600));
    let named = |name: &'static str| Verification::from(Route::TokenName(name));
    let by_config = |name: &'static str| Verification::from(Route::Config(name));
    // A token with an issuer that no configuration has.
    let stranger = token(
        SECRET_B,
        json!({"iss": "https://stranger.example.com", "sub": "s", "exp": NOW + 600}),
    );
    let portal = token(SECRET_B, json!({"sub": "p", "exp": NOW + 600}));
    let any = Verification::default;
    routes(
        registry,
        vec![
            // By `iss` among all enabled configurations.
            ("ERP by iss", erp_token(), any(), Ok("ERP")),
            ("CRM by iss", crm_token(), any(), Ok("CRM")),
            (
                "ERP expired",
                erp_token(),
                expired(),
                Err(ErrorKind::Expired),
            ),
            ("CRM by name", crm_token(), by_config("crm"), Ok("CRM")),
            (
                "an unknown name",
                crm_token(),
                by_config("nope"),
                Err(ErrorKind::UnknownConfig),
            ),
            // Under `jwt` only CRM is a candidate: the only one there takes
            // the token, but a token whose `iss` belongs to a configuration
            // of another name travels under the wrong name, and is refused
            // as such.
            ("CRM under jwt", crm_token(), named("jwt"), Ok("CRM")),
            (
                "ERP under jwt",
                erp_token(),
                named("jwt"),
                Err(ErrorKind::NoMatchingConfig),
            ),
            (
                "CRM under token",
                crm_token(),
                named("token"),
                Err(ErrorKind::NoMatchingConfig),
            ),
            // A token with an issuer that no configuration has still goes to
            // the only configuration of the name, whose own checks then speak.
            (
                "a stranger under jwt",
                stranger,
                named("jwt"),
                Err(ErrorKind::IssuerMismatch),
            ),
            // A configuration without issuer is reached through its own name only.
            (
                "Portal by its name",
                portal.clone(),
                named("portal_token"),
                Ok("Portal"),
            ),
            (
                "Portal by iss",
                portal,
                any(),
                Err(ErrorKind::NoMatchingConfig),
            ),
        ],
    )
    .await;
    for (name, wrong) in [("jwt", erp_token()), ("token", crm_token())] {
        let routed = registry
            .route(&wrong, Route::TokenName(name))
            .map(|c| c.name().to_owned());
        assert_eq!(
            routed.map_err(|e| e.kind()),
            Err(ErrorKind::NoMatchingConfig),
            "{name}"
        );
    }

    // Two configurations under one name route by `iss` among themselves only.
    let mut crm2 = config("CRM two", Some("https://crm2.example.com"), SECRET_A);
    crm2.token_name = "jwt".parse().expect("a token name");
    owned.create(crm2).await;
    let err = registry.verify(&erp_token(), named("jwt")).await;
    let err = err.expect_err("ERP is no candidate under jwt");
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    assert!(!err.to_string().contains("`ERP`"), "{err}");
    routes(
        registry,
        vec![
            (
                "CRM among two under jwt",
                crm_token(),
                named("jwt"),
                Ok("CRM"),
            ),
            // A name no configuration uses matches nothing.
            (
                "a name nobody uses",
                erp_token(),
                named("other"),
                Err(ErrorKind::NoMatchingConfig),
            ),
        ],
    )
    .await;
    // A disabled configuration under that name says so.
    owned.set_enabled("crm", false).await;
    owned.set_enabled("crm two", false).await;
    let disabled = (
        "both disabled",
        crm_token(),
        named("jwt"),
        Err(ErrorKind::Disabled),
    );
    routes(registry, vec![disabled]).await;
}

/// One routing of a table: (what, token, how) -> the configuration that
/// accepts it, or the kind it is refused with.
type RouteRow = (
    &'static str,
    String,
    Verification<'static>,
    Result<&'static str, ErrorKind>,
);

async fn routes(registry: &Registry, rows: Vec<RouteRow>) {
    for (what, token, how, want) in rows {
        let got = outcome(registry.verify(&token, how)).await;
        assert_eq!(got, want.map(str::to_owned), "{what}");
    }
}

#[tokio::test]
async fn warnings_name_configurations_that_routing_never_chooses() {
    // One configuration alone takes every token: no warning.
    let owned = owner::owned([config("Portal", None, SECRET_A)], jwt_sso::SystemClock).await;
    let registry = owned.registry();
    assert!(registry.warnings().is_empty());

    // A second enabled one: the issuer-less one shares `token`, so nothing
    // can ever reach it.
    owned.create(config("ERP", Some(ERP), SECRET_A)).await;
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
    owned.update("portal", portal).await;
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
    owned.create(config("ERP copy", Some(ERP), SECRET_B)).await;
    let warnings = registry.warnings();
    let names: Vec<&str> = warnings.iter().map(|w| w.config.as_str()).collect();
    assert_eq!(names, ["ERP", "ERP copy", "Portal"], "{warnings:?}");
    assert!(
        warnings[0].message.contains("ambiguous_config"),
        "{}",
        warnings[0]
    );

    // Fixed: an issuer, and the copy disabled.
    owned.set_enabled("erp copy", false).await;
    let mut portal = registry.get("portal").unwrap();
    portal.issuer = Some("https://portal.example.com".into());
    owned.update("portal", portal).await;
    assert!(registry.warnings().is_empty(), "{:?}", registry.warnings());

    // Loading a file finds them too.
    let file = json!([
        config_json("A", None, SECRET_A),
        config_json("B", None, SECRET_B)
    ]);
    let loaded = Registry::from_json_str(&file.to_string()).unwrap();
    assert_eq!(loaded.warnings().len(), 2);
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
    let mut crm = config("CRM", Some(CRM), SECRET_B);
    crm.enabled = false;
    let registry = Registry::from_configs([config("ERP", Some(ERP), SECRET_A), crm])
        .unwrap()
        .with_clock(jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)));

    let err = registry
        .verify_cached(&crm_token(), Verification::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disabled, "{err}");
    assert!(err.to_string().contains("`CRM`"), "{err}");
    assert_eq!(verified_by(&registry, &erp_token()), Ok("ERP".into()));
    // Another issuer still goes to the only enabled configuration, which says why it fails.
    let other = token(
        SECRET_A,
        json!({"iss": "https://other.example.com", "sub": "x", "exp": NOW + 600}),
    );
    assert_eq!(
        verified_by(&registry, &other),
        Err(ErrorKind::IssuerMismatch)
    );
    // A payload that cannot be read goes to it too, checked in the verifier's order.
    assert_eq!(verified_by(&registry, "x.y.z"), Err(ErrorKind::Malformed));
}
