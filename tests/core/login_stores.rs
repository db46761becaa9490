//! The in-memory stores: used `jti`s (expiry, cap, races), sessions (cap per
//! user, oldest first, expiry, purge), configurations (versions, names,
//! revisions) and users (never overwritten).

use std::sync::Arc;

use jwt_sso::{
    ConfigChange, ConfigStore, JwtConfig, MemoryConfigStore, MemoryStore, ReplayStore, Session,
    SessionStore, StoreError, UnixTime, UsedJti, User, UserStore,
};
use serde_json::json;

fn key(jti: &str) -> UsedJti<'_> {
    UsedJti {
        config: "ERP",
        issuer: "https://erp.example.com",
        jti,
        until: UnixTime::MAX,
    }
}

#[tokio::test]
async fn used_jtis_expire_and_a_full_store_refuses_without_forgetting() {
    let store = MemoryStore::new().with_jti_capacity(2);
    // (row, config, jti, until, now) -> first use, or refused with a reason
    // that says; then the records held.
    let rows = [
        ("a first use", "ERP", "a", 100, 0, Ok(true), 1),
        (
            "a replay before the expiry",
            "ERP",
            "a",
            100,
            99,
            Ok(false),
            1,
        ),
        // Another configuration or issuer is another key.
        (
            "the jti of another configuration",
            "CRM",
            "a",
            100,
            0,
            Ok(true),
            2,
        ),
        // Full: refused with an error, and `a` is still remembered.
        (
            "a third in a store of two",
            "ERP",
            "b",
            100,
            50,
            Err("full"),
            2,
        ),
        (
            "a replay after the refusal",
            "ERP",
            "a",
            100,
            50,
            Ok(false),
            2,
        ),
        // At `expires_at` a record is gone (purged by the next record).
        ("a again at its expiry", "ERP", "a", 200, 100, Ok(true), 1),
        ("b once there is room", "ERP", "b", 300, 100, Ok(true), 2),
    ];
    for (row, config, jti, until, now, want, held) in rows {
        let used = UsedJti {
            config,
            until: at(until),
            ..key(jti)
        };
        match (store.record(used, at(now)).await, want) {
            (Ok(first), Ok(want)) => assert_eq!(first, want, "{row}"),
            (Err(err), Err(reason)) => {
                assert!(!err.is_conflict(), "{row}: {err}");
                let source = std::error::Error::source(&err).expect("the store's reason");
                assert!(source.to_string().contains(reason), "{row}: {source}");
            }
            (got, want) => panic!("{row}: {got:?}, not {want:?}"),
        }
        assert_eq!(store.used_jtis(), held, "{row}: the records held");
    }
    let purged = ReplayStore::purge_expired(&store, at(250)).await;
    assert_eq!(purged.expect("a purge"), 1, "a, expired at 200");
    let purged = ReplayStore::purge_expired(&store, at(250)).await;
    assert_eq!(purged.expect("a purge"), 0, "nothing left to purge");
    assert_eq!(store.used_jtis(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_records_of_one_jti_exactly_one_first_use() {
    let store = Arc::new(MemoryStore::new());
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .record(
                        UsedJti {
                            until: at(100),
                            ..key("race")
                        },
                        at(0),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut first = 0;
    for task in tasks {
        first += usize::from(task.await.unwrap());
    }
    assert_eq!(first, 1);
}

fn session(user: &str, created_at: i64, ttl: i64) -> Session {
    Session {
        user_id: user.into(),
        config: "ERP".into(),
        created_at: UnixTime::from_secs(created_at),
        expires_at: UnixTime::from_secs(created_at + ttl),
    }
}

#[tokio::test]
async fn sessions_are_capped_per_user_oldest_first_and_expire() {
    let store = MemoryStore::new();
    for i in 0..25 {
        store
            .insert(&format!("jdoe-{i}"), &session("jdoe", 1000 + i, 3600), 20)
            .await
            .unwrap();
    }
    store
        .insert("other", &session("other", 1000, 3600), 20)
        .await
        .unwrap();
    assert_eq!(store.sessions_of("jdoe"), 20);
    assert_eq!(store.sessions_of("other"), 1, "other users are untouched");
    for i in 0..5 {
        assert_eq!(
            store.get(&format!("jdoe-{i}"), at(1100)).await.unwrap(),
            None
        );
    }
    for i in 5..25 {
        let kept = store.get(&format!("jdoe-{i}"), at(1100)).await;
        let kept = kept.expect("a read").map(|s| s.user_id);
        assert_eq!(
            kept.as_deref(),
            Some("jdoe"),
            "jdoe-{i}, among the newest 20"
        );
    }
    // Expired sessions are not served, are dropped on the user's next
    // login, and purged.
    assert_eq!(store.get("other", at(1000 + 3600)).await.unwrap(), None);
    store
        .insert("late", &session("jdoe", 1024 + 3600, 60), 20)
        .await
        .unwrap();
    assert_eq!(store.sessions_of("jdoe"), 1, "all earlier ones had expired");
    assert_eq!(
        SessionStore::purge_expired(&store, at(1000 + 3600))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.sessions(), 1);
    assert!(store.remove("late").await.unwrap());
    assert!(!store.remove("late").await.unwrap());
    assert_eq!(store.sessions(), 0);
    // A cap of 0 still keeps the new session.
    store.insert("a", &session("x", 1, 10), 0).await.unwrap();
    store.insert("b", &session("x", 2, 10), 0).await.unwrap();
    assert_eq!(store.get("a", at(3)).await.unwrap(), None);
    let b = store
        .get("b", at(3))
        .await
        .expect("a read")
        .map(|s| s.user_id);
    assert_eq!(b.as_deref(), Some("x"), "the new session is kept");
}

fn config(name: &str) -> JwtConfig {
    JwtConfig::from_json_str(
        &json!({
            "name": name, "token_name": "token", "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": "store-secret-0123456789abcdef0123"},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        })
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn configurations_check_versions_and_names() {
    let store = MemoryConfigStore::with_configs([config("ERP")]);
    assert_eq!(store.revision().await.unwrap(), 1);
    let erp_version = store
        .load()
        .await
        .unwrap()
        .get("erp")
        .unwrap()
        .version
        .clone();
    let twin = store.apply(&ConfigChange::Create(config("erp"))).await;
    assert_conflict("a create of a taken name in another case", twin);
    let set = store
        .apply(&ConfigChange::Create(config("CRM")))
        .await
        .unwrap();
    assert_eq!(set.revision, 2);
    // A change elsewhere leaves ERP's version alone.
    assert_eq!(set.get("ERP").unwrap().version, erp_version);
    let erp = config("ERP");
    let mut renamed = erp.clone();
    renamed.name = "crm".parse().unwrap();
    let taken = ConfigChange::Update {
        name: "ERP".into(),
        version: erp_version.clone(),
        config: renamed,
    };
    assert_conflict("a rename onto a taken name", store.apply(&taken).await);
    let mut changed = erp.clone();
    changed.audience = Some("bi".into());
    let update = ConfigChange::Update {
        name: "erp".into(),
        version: erp_version.clone(),
        config: changed.clone(),
    };
    let set = store.apply(&update).await.unwrap();
    assert_eq!(set.revision, 3);
    let new_version = &set.get("erp").unwrap().version;
    assert_ne!(new_version, &erp_version);
    assert_eq!(new_version.len(), 32);
    // The same change again is based on a stale version.
    assert_conflict(
        "a change based on a stale version",
        store.apply(&update).await,
    );
    assert_eq!(store.revision().await.unwrap(), 3);
    let loaded = store.load().await.unwrap();
    let names: Vec<&str> = loaded
        .configs
        .iter()
        .map(|c| c.config.name.as_str())
        .collect();
    assert_eq!((names, loaded.revision), (vec!["CRM", "ERP"], 3));
    assert_eq!(loaded.configs[1].config, changed);
    let delete = ConfigChange::Delete { name: "crm".into() };
    assert_eq!(store.apply(&delete).await.unwrap().revision, 4);
    assert_conflict("a delete of a deleted name", store.apply(&delete).await);
    // Seeding only into a store that never held a configuration: this one
    // has, even were it empty now.
    assert!(!store.seed(&[config("Seed")]).await.unwrap());
    let fresh = MemoryConfigStore::new();
    assert_eq!(fresh.revision().await.unwrap(), 0);
    assert!(fresh.seed(&[config("Seed")]).await.unwrap());
    assert!(!fresh.seed(&[config("Again")]).await.unwrap());
    assert_eq!(
        fresh.load().await.unwrap().into_configs(),
        vec![config("Seed")]
    );
}

#[tokio::test]
async fn users_are_never_overwritten_and_updates_replace_the_profile() {
    let store = MemoryStore::new();
    let mut user = User {
        user_id: "jdoe".into(),
        user_type: "reader".into(),
        roles: vec!["Viewer".into()],
        name: Some("Jane".into()),
        email: None,
        created_by_config: Some("ERP".into()),
    };
    store.create(&user).await.unwrap();
    let mut other = user.clone();
    other.user_type = "administrator".into();
    assert_conflict("a create of a known user", store.create(&other).await);
    user.roles = vec!["Finance".into()];
    user.name = None;
    user.email = Some("jane@example.com".into());
    store.update(&user).await.unwrap();
    assert_eq!(store.find("jdoe").await.unwrap(), Some(user.clone()));
    assert_eq!(store.find("JDOE").await.unwrap(), None, "exact match");
    user.user_id = "nobody".into();
    let err = store.update(&user).await.unwrap_err();
    assert!(
        !err.is_conflict(),
        "a missing user is a failure, not a conflict"
    );
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("nobody")),
        "{err}: {cause:?}"
    );
    assert_eq!(store.find("nobody").await.unwrap(), None, "nothing created");
}

/// `result` is the store's conflict (a stale or clashing change).
#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(err) if err.is_conflict() => {}
        other => panic!("{what}: not a conflict: {other:?}"),
    }
}

fn at(secs: i64) -> UnixTime {
    UnixTime::from_secs(secs)
}
