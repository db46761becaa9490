//! `Configs`, the one owner of configuration state (issue 19, and the
//! configuration items of issue 20), over real stores: a file in a
//! temporary directory, a SQLite file, and PostgreSQL started by the test
//! harness where it is installed.
//!
//! - one mutation path: create, read, update, enable, delete through the
//!   owner, saved before they are served; a change made in code persists
//!   across a restart (file, SQLite) and reaches a second instance
//!   (PostgreSQL) within 5 s;
//! - the file is the store: hand edits are picked up, kept by later
//!   changes, refused when invalid (the last good set serves), and a change
//!   based on a version a hand edit replaced is a conflict;
//! - versions (`ETag`s) are random: unrelated changes leave them alone, and
//!   a dictionary of secrets hashed every plausible way never reproduces one;
//! - ids are never reused, across restarts, on the file and the database;
//! - an edit rebuilds only its own verifier (600 configurations);
//! - swaps while tokens are verified never mix old and new.

#![cfg(all(feature = "admin", feature = "sqlite"))]

use crate::support::fixtures::TempDir;
use crate::support::owner::{self, applied, config_field, live, load_at, refused, verified_by};
#[cfg(feature = "postgres")]
use crate::support::pg;
use crate::support::two_issuers::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jwt_sso::{
    Admin, Authenticator, Caller, Clock, ConfigChange, ConfigFile, ConfigStore, Configs, ErrorKind,
    JwtConfig, ManualClock, MemoryConfigStore, Registry, SqlStore, UnixTime, Verification,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

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

/// An empty configuration file in `dir`.
fn empty_file(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.join("configs.json");
    std::fs::write(&path, "[]").expect("the file");
    path
}

/// A SQLite database in `dir`.
fn sqlite_url(dir: &TempDir) -> String {
    format!("sqlite:{}", dir.join("db.sqlite").display())
}

fn at(secs: i64) -> Option<OffsetDateTime> {
    Some(OffsetDateTime::from_unix_timestamp(secs).unwrap())
}

fn update(name: &str, version: &str, config: JwtConfig) -> ConfigChange {
    ConfigChange::Update {
        name: name.into(),
        version: version.into(),
        config,
    }
}

/// Waits up to 5 s (the contract's bound) for `f`; returns how long it took.
async fn within_5s(what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not within 5 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

// ------------------------------------------------------------ one path

#[tokio::test]
async fn create_read_update_enable_delete_with_case_insensitive_names() {
    let clock = StepClock::new();
    let configs = Configs::new(MemoryConfigStore::new())
        .with_clock(clock.clone())
        .load()
        .await
        .unwrap();
    let registry = configs.registry();
    assert!(registry.is_empty());

    let mut erp = config("ERP", Some(ERP), SECRET_A);
    erp.created_by = Some("admin".into());
    erp.last_modified = at(1); // replaced: create stamps the time itself
    let created = applied(&configs, ConfigChange::Create(erp.clone())).await;
    let stored = registry.get("erp").unwrap();
    assert_eq!(created.config, stored);
    assert_eq!(stored.name, "ERP");
    assert_eq!(stored.created_by.as_deref(), Some("admin"));
    assert_eq!(stored.last_modified, at(NOW));
    assert_eq!(configs.get("ERP").unwrap().version, created.version);

    // Duplicates in any case are a typed error, and nothing changes.
    let mut shouting = config("erp", None, SECRET_B);
    shouting.name = "eRp".parse().unwrap();
    let err = refused(&configs, ConfigChange::Create(shouting)).await;
    assert_eq!(err.kind(), ErrorKind::DuplicateName);
    assert_eq!(err.kind().as_str(), "duplicate_name");
    assert!(err.to_string().contains("`ERP`"), "{err}");
    assert!(!err.hint().is_empty());
    assert_eq!(registry.len(), 1);

    // An invalid configuration is refused with `config`, its field named.
    let mut invalid = config("Broken", None, SECRET_A);
    invalid.expiration_time = 0;
    let err = refused(&configs, ConfigChange::Create(invalid)).await;
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(config_field(&err), "expiration_time");
    assert_eq!(registry.len(), 1);

    // Update: bumps last_modified, keeps created_by whatever the new value says.
    clock.advance(100);
    let mut changed = config("ERP", Some(ERP), SECRET_A);
    changed.audience = Some("bi-server".into());
    changed.created_by = Some("mallory".into());
    let version = configs.get("erp").unwrap().version;
    let updated = applied(&configs, update("Erp", &version, changed)).await;
    assert_ne!(updated.version, version);
    let stored = registry.get("ERP").unwrap();
    assert_eq!(stored.audience.as_deref(), Some("bi-server"));
    assert_eq!(stored.created_by.as_deref(), Some("admin"));
    assert_eq!(stored.last_modified, at(NOW + 100));
    assert_eq!(
        stored.stable_id(),
        created.config.stable_id(),
        "the id is kept"
    );

    // A stale version is a conflict, and changes nothing.
    let err = refused(
        &configs,
        update("ERP", &version, config("ERP", Some(ERP), SECRET_B)),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::VersionConflict);
    assert!(err.to_string().contains(&updated.version), "{err}");
    assert_eq!(registry.get("ERP").unwrap(), stored);

    // An update that fails validation leaves the old configuration in place.
    let mut invalid = stored.clone();
    invalid.algorithms = Vec::new();
    let err = refused(&configs, update("ERP", &updated.version, invalid)).await;
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(registry.get("ERP").unwrap(), stored);

    let err = refused(
        &configs,
        update("Nope", "x", config("Nope", None, SECRET_A)),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::UnknownConfig);
    assert!(
        err.to_string().contains("`Nope`") && err.to_string().contains("`ERP`"),
        "{err}"
    );

    // Rename through update; the new name must be free.
    clock.advance(100);
    applied(
        &configs,
        update(
            "ERP",
            &updated.version,
            config("ERP prod", Some(ERP), SECRET_A),
        ),
    )
    .await;
    assert_eq!(live(registry, "ERP"), None, "renamed");
    let renamed = registry.get("erp PROD").unwrap();
    assert_eq!(renamed.created_by.as_deref(), Some("admin"));
    assert_eq!(renamed.last_modified, at(NOW + 200));
    assert_eq!(renamed.stable_id(), created.config.stable_id());
    let crm = applied(
        &configs,
        ConfigChange::Create(config("CRM", Some(CRM), SECRET_B)),
    )
    .await;
    let err = refused(
        &configs,
        update("CRM", &crm.version, config("Erp Prod", Some(CRM), SECRET_B)),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::DuplicateName);
    // Changing only the case of a name is a rename onto itself: allowed.
    let crm = applied(
        &configs,
        update("crm", &crm.version, config("Crm", Some(CRM), SECRET_B)),
    )
    .await;
    assert_eq!(registry.get("CRM").unwrap().name, "Crm");

    // Enable/disable is an update of `enabled`.
    clock.advance(50);
    let mut off = crm.config.clone();
    off.enabled = false;
    applied(&configs, update("crm", &crm.version, off)).await;
    let crm = registry.get("Crm").unwrap();
    assert!(!crm.enabled);
    assert_eq!(crm.last_modified, at(NOW + 250));

    // Listing is sorted by name without regard to case.
    for name in ["gamma", "Beta", "alpha"] {
        applied(&configs, ConfigChange::Create(config(name, None, SECRET_A))).await;
    }
    assert_eq!(
        names(registry),
        ["alpha", "Beta", "Crm", "ERP prod", "gamma"]
    );

    let removed = applied(
        &configs,
        ConfigChange::Delete {
            name: "BETA".into(),
        },
    )
    .await;
    assert_eq!(removed.config.name, "Beta");
    assert_eq!(
        refused(
            &configs,
            ConfigChange::Delete {
                name: "beta".into()
            }
        )
        .await
        .kind(),
        ErrorKind::UnknownConfig
    );
    assert_eq!(registry.len(), 4);
    let alpha = registry
        .verifier("alpha")
        .map(|v| v.config().name.as_str().to_owned());
    assert_eq!(alpha.as_deref(), Some("alpha"), "its verifier is built");
}

#[test]
fn swapping_configurations_while_verifying_never_mixes_old_and_new() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let old = config("ERP", Some(ERP), SECRET_A);
    let mut new = config("ERP", Some(ERP), SECRET_B);
    new.user_type = "author".into();
    new.initial_roles = vec!["New".into()];
    let mut old = old;
    old.initial_roles = vec!["Old".into()];
    // A second configuration, so that tokens are routed by `iss`.
    let owned = runtime.block_on(owner::owned(
        [old.clone(), config("CRM", Some(CRM), SECRET_B)],
        ManualClock::new(UnixTime::from_secs(NOW)),
    ));
    let registry = Arc::clone(owned.registry());
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
                            registry.verify_cached(token, jwt_sso::Route::Config("erp").into())
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
                runtime.block_on(owned.update("ERP", next));
                if i == 0 {
                    // Hold the first new state until a reader has verified
                    // with it, so that both states are served on any machine.
                    let start = Instant::now();
                    while seen_new.load(Ordering::Relaxed) == 0 {
                        assert!(start.elapsed().as_secs() < 30, "new state never served");
                        std::thread::yield_now();
                    }
                }
                if i % 50 == 0 {
                    // Also swap the set of configurations around the one in use.
                    runtime.block_on(async {
                        owned
                            .create(config("Temp", Some("https://temp.example.com"), SECRET_A))
                            .await;
                        owned.delete("temp").await;
                    });
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

#[tokio::test]
async fn a_set_changed_elsewhere_is_taken_whole_or_not_at_all() {
    let owned = owner::owned(
        [
            config("ERP", Some(ERP), SECRET_A),
            config("CRM", Some(CRM), SECRET_B),
        ],
        ManualClock::new(UnixTime::from_secs(NOW)),
    )
    .await;
    let (configs, store, registry) = (&owned.configs, &owned.store, owned.registry());
    // Another instance changes ERP, deletes CRM and creates Portal.
    let stored = store.load().await.unwrap();
    let mut erp = config("ERP", Some(ERP), SECRET_A);
    erp.user_type = "author".into();
    erp.created_by = Some("other instance".into());
    let erp_version = &stored.get("erp").unwrap().version;
    store
        .apply(&update("ERP", erp_version, erp.clone()))
        .await
        .unwrap();
    store
        .apply(&ConfigChange::Delete { name: "crm".into() })
        .await
        .unwrap();
    let portal = config("Portal", Some("https://portal.example.com"), SECRET_B);
    store.apply(&ConfigChange::Create(portal)).await.unwrap();
    assert!(configs.sync().await.unwrap());
    assert_eq!(names(registry), ["ERP", "Portal"]);
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
        verified_by(registry, &crm_token()),
        Err(ErrorKind::NoMatchingConfig)
    );

    // An invalid set changes nothing: an invalid configuration, or two
    // with one stable id.
    let mut broken = config("CRM", Some(CRM), SECRET_B);
    broken.algorithms = Vec::new();
    store.apply(&ConfigChange::Create(broken)).await.unwrap();
    let err = configs.sync().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`CRM`"), "{err}");
    assert_eq!(names(registry), ["ERP", "Portal"]);
    store
        .apply(&ConfigChange::Delete { name: "crm".into() })
        .await
        .unwrap();
    let mut twin = config("Twin", None, SECRET_A);
    twin.id = Some("erp".into());
    store.apply(&ConfigChange::Create(twin)).await.unwrap();
    let err = configs.sync().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("same stable id"), "{err}");
    assert_eq!(names(registry), ["ERP", "Portal"]);
}

#[tokio::test]
async fn a_failed_save_leaves_the_file_as_it_was() {
    let dir = TempDir::new("failed-save");
    let path = dir.join("configs.json");
    let good = json!([config_json("ERP", Some(ERP), SECRET_A)]).to_string();
    std::fs::write(&path, &good).unwrap();

    // A clock that stamps a time RFC 3339 cannot write (the year -1): the
    // set cannot be serialised, and saving must not write an empty file.
    let year_minus_one = -62_167_219_200 - 366 * 86_400;
    let configs = Configs::new(ConfigFile::new(&path))
        .with_clock(ManualClock::new(UnixTime::from_secs(year_minus_one)))
        .load()
        .await
        .unwrap();
    let err = refused(
        &configs,
        ConfigChange::Create(config("CRM", Some(CRM), SECRET_B)),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
    assert_eq!(live(configs.registry(), "crm"), None, "nothing applied");

    // A write that fails (the target is a directory) leaves no temporary file.
    let target = dir.join("is-a-dir");
    std::fs::create_dir(&target).unwrap();
    let err = Configs::new(ConfigFile::new(&target))
        .load()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    let mut entries: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["configs.json", "is-a-dir"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
}

// ----------------------------------------------- only what changed is rebuilt

#[tokio::test]
async fn one_edit_among_600_configurations_rebuilds_only_its_verifier() {
    let set: Vec<JwtConfig> = (0..600)
        .map(|i| {
            config(
                &format!("C{i:03}"),
                Some(&format!("https://c{i}.example.com")),
                SECRET_A,
            )
        })
        .collect();
    let owned = owner::owned(set, ManualClock::new(UnixTime::from_secs(NOW))).await;
    let registry = owned.registry();
    let before: Vec<_> = (0..600)
        .map(|i| registry.verifier(&format!("c{i:03}")).unwrap())
        .collect();

    let mut edited = registry.get("C300").unwrap();
    edited.audience = Some("reports".into());
    owned.update("C300", edited).await;
    let mut kept = 0;
    for (i, old) in before.iter().enumerate() {
        let now = registry.verifier(&format!("c{i:03}")).unwrap();
        if i == 300 {
            assert!(!Arc::ptr_eq(old, &now), "the edited one is rebuilt");
            assert_eq!(now.config().audience.as_deref(), Some("reports"));
        } else if Arc::ptr_eq(old, &now) {
            kept += 1;
        }
    }
    assert_eq!(kept, 599);

    // So does a set arriving from the store with one change in it.
    let stored = owned.store.load().await.unwrap();
    let mut other = stored.get("C001").unwrap().config.clone();
    other.leeway = 5;
    let version = stored.get("C001").unwrap().version.clone();
    owned
        .store
        .apply(&update("C001", &version, other))
        .await
        .unwrap();
    let before: Vec<_> = (0..600)
        .map(|i| registry.verifier(&format!("c{i:03}")).unwrap())
        .collect();
    assert!(owned.configs.sync().await.unwrap());
    let kept = (0..600)
        .filter(|i| {
            Arc::ptr_eq(
                &before[*i],
                &registry.verifier(&format!("c{i:03}")).unwrap(),
            )
        })
        .count();
    assert_eq!(kept, 599);
    assert_eq!(registry.get("c001").unwrap().leeway, 5);
}

// ----------------------------------------------------------- versions

/// Every hash of `config` (with its secret replaced by `candidate`) an
/// attacker who sees a redacted configuration and its ETag might try: the
/// SHA-256 over its JSON (compact as stored, pretty as in the file, and the
/// redacted view with the secret put back), as hex and base64url, whole or
/// cut to 16 bytes (0.1's `JwtConfig::version` was the base64url of the
/// first 16 bytes of the SHA-256 of the compact JSON).
fn guesses(config: &JwtConfig, view: &Value, candidate: &str) -> Vec<String> {
    let mut with_candidate = serde_json::to_value(config).unwrap();
    with_candidate["key_source"]["secret"] = json!(candidate);
    let mut view = view.clone();
    view["key_source"]["secret"] = json!(candidate);
    let texts = [
        serde_json::to_vec(&with_candidate).unwrap(),
        serde_json::to_vec_pretty(&with_candidate).unwrap(),
        serde_json::to_vec(&view).unwrap(),
        serde_json::to_vec_pretty(&view).unwrap(),
        serde_json::to_vec(&json!([with_candidate])).unwrap(),
        candidate.as_bytes().to_vec(),
    ];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut out = Vec::new();
    for text in texts {
        let digest = Sha256::digest(&text);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        out.push(hex[..32].to_owned());
        out.push(hex);
        out.push(b64.encode(&digest[..16]));
        out.push(b64.encode(digest));
    }
    out
}

#[tokio::test]
async fn versions_are_random_move_with_their_configuration_only_and_reveal_no_secret() {
    let dir = TempDir::new("versions");
    let path = empty_file(&dir);
    let sqlite = SqlStore::open(&sqlite_url(&dir)).await.unwrap();
    // Human-chosen secrets, the README's trial secret among them.
    let dictionary = [
        "correct horse battery staple 0123",
        "changeme-changeme-changeme-changeme",
        "password-password-password-password",
        "a-shared-secret-of-32-bytes-or-more!",
        "letmein-letmein-letmein-letmein-00",
        "trial-secret-for-jwt-sso-0123456789",
    ];
    let secret = dictionary[3];
    let stores: Vec<(&str, Configs)> = vec![
        ("memory", Configs::new(MemoryConfigStore::new())),
        ("file", Configs::new(ConfigFile::new(&path))),
        ("sqlite", Configs::new(sqlite.clone())),
    ];
    for (kind, configs) in stores {
        let configs = configs.load().await.unwrap();
        let admin = Admin::new(configs.clone());
        let erp = config_json("ERP", Some(ERP), secret).to_string();
        let crm = config_json("CRM", Some(CRM), SECRET_B).to_string();
        let created = admin.create(&erp, &Caller::AdminToken).await.unwrap();
        admin.create(&crm, &Caller::AdminToken).await.unwrap();
        let v1 = admin.view("erp").unwrap().version;
        assert_eq!(v1, created.version, "{kind}");
        assert_eq!(v1.len(), 32, "{kind}: 128 random bits");

        // An unrelated change leaves ERP's version alone.
        let crm_version = admin.view("crm").unwrap().version;
        admin
            .set_enabled("crm", false, Some(&format!("\"{crm_version}\"")))
            .await
            .unwrap();
        assert_eq!(admin.view("erp").unwrap().version, v1, "{kind}");
        // Its own change moves it; a weak tag never matches (RFC 9110 13.1.1).
        let weak = admin
            .set_enabled("erp", false, Some(&format!("W/\"{v1}\"")))
            .await
            .unwrap_err();
        assert_eq!(weak.kind(), ErrorKind::VersionConflict, "{kind}");
        let changed = admin
            .set_enabled("erp", false, Some(&format!("\"{v1}\"")))
            .await
            .unwrap();
        assert_ne!(changed.version, v1, "{kind}");
        // Changing it back to the same content gives yet another version:
        // nothing is derived from the content.
        let back = admin
            .set_enabled("erp", true, Some(&format!("\"{}\"", changed.version)))
            .await
            .unwrap();
        assert!(
            back.version != v1 && back.version != changed.version,
            "{kind}"
        );

        // The dictionary attack of issue 20 finds nothing, the right secret
        // included.
        let stored = configs.get("erp").unwrap();
        let view = admin.view("erp").unwrap();
        assert_eq!(
            view.config["key_source"]["secret"],
            json!({"redacted": true})
        );
        for candidate in dictionary {
            for guess in guesses(&stored.config, &view.config, candidate) {
                assert_ne!(
                    guess, view.version,
                    "{kind}: `{candidate}` reproduces the ETag"
                );
            }
        }
        assert!(!view.version.contains(secret));
    }
    // The file holds no version; every instance of the database serves its own.
    assert!(!std::fs::read_to_string(&path).unwrap().contains("version"));
    let other = Configs::new(SqlStore::open(&sqlite_url(&dir)).await.unwrap())
        .load()
        .await
        .unwrap();
    let stored = sqlite.load().await.unwrap();
    assert_eq!(
        other.get("erp").unwrap().version,
        stored.get("erp").unwrap().version
    );
}

// ------------------------------------------------------------ ids

/// A user created through a configuration belongs to its id: after the
/// configuration is deleted, a new one with its name (a fresh id, also after
/// a restart) does not own that user (`user_conflict` under `user_scope:
/// own`).
async fn ids_are_never_reused<S, F, Fut>(open: F, users: SqlStore)
where
    S: ConfigStore + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let configs = Configs::new(open().await)
        .with_clock(clock.clone())
        .load()
        .await
        .unwrap();
    // An id sent with a new configuration is not taken.
    let mut claimed = config("ERP", Some(ERP), SECRET_A);
    claimed.id = Some("admin-users".into());
    let first = applied(&configs, ConfigChange::Create(claimed)).await;
    let first_id = first.config.stable_id();
    assert_ne!(first_id, "admin-users");
    assert_eq!(first_id.len(), 32);
    let auth = Authenticator::new(Arc::clone(configs.registry()), users.clone());
    let login = auth
        .login(&erp_token(), Verification::default())
        .await
        .unwrap();
    assert_eq!(
        login.user.created_by_config.as_deref(),
        Some(first_id.as_str())
    );
    applied(&configs, ConfigChange::Delete { name: "ERP".into() }).await;
    drop(auth);
    drop(configs);

    // A restart: a new owner over the same store.
    let configs = Configs::new(open().await)
        .with_clock(clock)
        .load()
        .await
        .unwrap();
    assert!(configs.registry().is_empty());
    let second = applied(
        &configs,
        ConfigChange::Create(config("ERP", Some(ERP), SECRET_A)),
    )
    .await;
    let second_id = second.config.stable_id();
    assert_ne!(second_id, first_id);
    assert_eq!(
        second.config.id.as_deref(),
        Some(second_id.as_str()),
        "written with it"
    );
    let auth = Authenticator::new(Arc::clone(configs.registry()), users);
    let err = auth
        .login(&erp_token(), Verification::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserConflict, "{err}");
    // And the id survives the next restart as written.
    drop(auth);
    drop(configs);
    let again = Configs::new(open().await).load().await.unwrap();
    assert_eq!(again.registry().get("erp").unwrap().stable_id(), second_id);
}

#[tokio::test]
async fn ids_are_never_reused_on_the_file_store() {
    let dir = TempDir::new("ids-file");
    let path = empty_file(&dir);
    let users = SqlStore::open(&sqlite_url(&dir)).await.unwrap();
    ids_are_never_reused(
        || {
            let path = path.clone();
            async move { ConfigFile::new(path) }
        },
        users,
    )
    .await;
}

#[tokio::test]
async fn ids_are_never_reused_on_sqlite() {
    let dir = TempDir::new("ids-sqlite");
    let url = sqlite_url(&dir);
    let users = SqlStore::open(&url).await.unwrap();
    ids_are_never_reused(
        || {
            let url = url.clone();
            async move { SqlStore::open(&url).await.unwrap() }
        },
        users,
    )
    .await;
}

// ---------------------------------------------------- persistence and propagation

/// A change made in code through the owner is in the store: a new owner
/// (a restart) serves it.
async fn a_change_in_code_persists<S, F, Fut>(open: F)
where
    S: ConfigStore + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let configs = Configs::new(open().await).load().await.unwrap();
    let erp = applied(
        &configs,
        ConfigChange::Create(config("ERP", Some(ERP), SECRET_A)),
    )
    .await;
    applied(
        &configs,
        ConfigChange::Create(config("CRM", Some(CRM), SECRET_B)),
    )
    .await;
    let mut changed = erp.config.clone();
    changed.audience = Some("reports".into());
    applied(&configs, update("erp", &erp.version, changed)).await;
    applied(&configs, ConfigChange::Delete { name: "crm".into() }).await;
    let served = configs.registry().list();
    drop(configs);

    let restarted = Configs::new(open().await).load().await.unwrap();
    assert_eq!(restarted.registry().list(), served);
    assert_eq!(
        restarted.registry().get("erp").unwrap().audience.as_deref(),
        Some("reports")
    );
    assert_eq!(
        live(restarted.registry(), "crm"),
        None,
        "deleted before the restart"
    );
}

#[tokio::test]
async fn a_change_in_code_persists_across_a_restart_on_the_file_store() {
    let dir = TempDir::new("persist-file");
    let path = empty_file(&dir);
    a_change_in_code_persists(|| std::future::ready(ConfigFile::new(&path))).await;
    // Written as the file format, readable by a fixed-set registry too.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(names(&Registry::from_json_str(&text).unwrap()), ["ERP"]);
}

#[tokio::test]
async fn a_change_in_code_persists_across_a_restart_on_sqlite() {
    let dir = TempDir::new("persist-sqlite");
    let url = sqlite_url(&dir);
    a_change_in_code_persists(|| {
        let url = url.clone();
        async move { SqlStore::open(&url).await.unwrap() }
    })
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_change_in_code_reaches_a_second_instance_within_5s() {
    let Some(pg) = pg::PgServer::launch() else {
        return;
    };
    let a = Configs::new(SqlStore::open(&pg.url()).await.unwrap())
        .load()
        .await
        .unwrap();
    let b = Configs::new(SqlStore::open(&pg.url()).await.unwrap())
        .load()
        .await
        .unwrap();
    let _sync = b.spawn_sync(Duration::from_secs(1));
    let registry = Arc::clone(b.registry());

    let created = applied(&a, ConfigChange::Create(config("ERP", Some(ERP), SECRET_A))).await;
    within_5s("the create", || registry.get("erp").is_some()).await;
    assert_eq!(b.get("erp").unwrap().version, created.version);
    let mut changed = created.config.clone();
    changed.enabled = false;
    applied(&a, update("erp", &created.version, changed)).await;
    within_5s("the disable", || !registry.get("erp").unwrap().enabled).await;
    assert_eq!(
        registry
            .verify_cached(
                &erp_token(),
                Verification::default().at(UnixTime::from_secs(NOW))
            )
            .unwrap_err()
            .kind(),
        ErrorKind::Disabled
    );
    applied(&a, ConfigChange::Delete { name: "ERP".into() }).await;
    within_5s("the delete", || registry.is_empty()).await;
    // And the other way round.
    applied(&b, ConfigChange::Create(config("CRM", Some(CRM), SECRET_B))).await;
    assert!(a.sync().await.unwrap());
    assert_eq!(
        live(a.registry(), "crm").as_deref(),
        Some("CRM"),
        "created by b"
    );
}

// ------------------------------------------------------- the file is the store

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_of_the_file_are_picked_up_kept_and_checked() {
    let dir = TempDir::new("hand-edits");
    let path = dir.join("configs.json");
    std::fs::write(
        &path,
        json!([config_json("ERP", Some(ERP), SECRET_A)]).to_string(),
    )
    .unwrap();
    let configs = load_at(ConfigFile::new(&path), NOW).await;
    let registry = Arc::clone(configs.registry());
    let sync = configs.spawn_sync(Duration::from_millis(100));
    let erp_version = configs.get("erp").unwrap().version;

    // Added by hand: in force within 5 s (here, within a poll or two).
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file.as_array_mut()
        .unwrap()
        .push(config_json("CRM", Some(CRM), SECRET_B));
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    within_5s("the hand-added CRM", || registry.get("crm").is_some()).await;
    assert_eq!(verified_by(&registry, &crm_token()), Ok("CRM".into()));
    assert_eq!(
        configs.get("erp").unwrap().version,
        erp_version,
        "an unrelated hand edit leaves ERP's version alone"
    );

    // A later change through the owner keeps it in the file.
    applied(
        &configs,
        ConfigChange::Create(config(
            "Portal",
            Some("https://portal.example.com"),
            SECRET_A,
        )),
    )
    .await;
    let on_disk = Registry::load(&path).unwrap();
    assert_eq!(names(&on_disk), ["CRM", "ERP", "Portal"]);

    // A hand edit of ERP replaces the version an administrator holds: a
    // change based on it is a conflict, never an overwrite.
    let held = configs.get("erp").unwrap().version;
    let text = std::fs::read_to_string(&path).unwrap();
    let mut file: Value = serde_json::from_str(&text).unwrap();
    file[1]["leeway"] = json!(7);
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    let mut mine = config("ERP", Some(ERP), SECRET_A);
    mine.leeway = 9;
    let err = refused(&configs, update("ERP", &held, mine)).await;
    assert_eq!(err.kind(), ErrorKind::VersionConflict, "{err}");
    assert_eq!(Registry::load(&path).unwrap().get("erp").unwrap().leeway, 7);
    assert_eq!(registry.get("erp").unwrap().leeway, 7, "served at once");

    // A hand edit that does not parse, or does not validate: refused with
    // the field and the configuration named; the last good set serves. (The
    // poller is stopped so that this test reads the refusals itself.)
    drop(sync);
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        good.replacen("\"leeway\": 7", "\"leeway\": \"seven\"", 1),
    )
    .unwrap();
    let err = configs.sync().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let text = err.to_string();
    assert!(text.contains("leeway") && text.contains("`ERP`"), "{text}");
    assert!(text.contains("configs.json"), "names the file: {text}");
    assert!(!text.contains(SECRET_A), "{text}");
    assert!(
        !configs.sync().await.unwrap(),
        "refused once, not read again"
    );
    assert_eq!(registry.len(), 3);
    assert_eq!(registry.get("erp").unwrap().leeway, 7);

    let mut invalid: Value = serde_json::from_str(&good).unwrap();
    invalid[0]["expiration_time"] = json!(0);
    std::fs::write(&path, serde_json::to_string_pretty(&invalid).unwrap()).unwrap();
    let err = configs.sync().await.unwrap_err();
    let field = config_field(&err);
    assert!(
        field.starts_with("expiration_time") && field.contains("`CRM`"),
        "{field}"
    );
    assert_eq!(
        registry.get("crm").unwrap().expiration_time,
        3600,
        "last good set"
    );
    assert_eq!(
        registry
            .verify_cached(&crm_token(), Verification::default())
            .map(|v| v.into_identity().user_id)
            .map_err(|e| e.kind()),
        Ok("jdoe".to_owned()),
        "the last good set still verifies"
    );

    // Fixed by hand (and Portal removed): in force again.
    let mut fixed: Value = serde_json::from_str(&good).unwrap();
    fixed.as_array_mut().unwrap().remove(2);
    std::fs::write(&path, serde_json::to_string_pretty(&fixed).unwrap()).unwrap();
    assert!(configs.sync().await.unwrap());
    assert_eq!(names(&registry), ["CRM", "ERP"]);
}
