//! The login policies of CONTRACT section 6: `user_scope` across
//! configurations, `create_users: false`, single-use tokens (racing logins,
//! refused logins keep their `jti`, a failing replay store refuses), the
//! dry run (the outcome event: tests/login_events.rs).
#![cfg(feature = "admin")]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jwt_sso::ErrorKind::{MissingJti, NotYetValid, TokenReplayed, UnknownUser, UserConflict};
use jwt_sso::{
    Authenticator, ErrorKind, MemoryStore, Route, UnixTime, User, UserStore, Verification,
};
use serde_json::json;

use crate::support::owner;
use crate::support::policies;
use policies::*;

/// [`registry`] under an owner, for the tests that change configurations.
async fn owned(erp: serde_json::Value, crm: serde_json::Value) -> owner::Owned {
    owner::owned(
        [
            config("ERP", ERP, ERP_SECRET, erp),
            config("CRM", CRM, CRM_SECRET, crm),
        ],
        jwt_sso::ManualClock::new(UnixTime::from_secs(NOW)),
    )
    .await
}

/// What one login of a table must give.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Accepted, creating the user `.0`.
    Created(&'static str),
    /// Accepted, the user `.0` already known.
    Known(&'static str),
    /// Refused with this kind.
    Refused(ErrorKind),
}

/// One row of a login table: why, the token, the time of the login
/// (`None`: the registry's clock) and the outcome.
type Row<'a> = (&'a str, &'a str, Option<i64>, Outcome);

/// Logs each row's token in, in order, and checks its outcome.
async fn logins<S: UserStore, R: jwt_sso::ReplayStore>(
    auth: &Authenticator<S, R>,
    rows: &[Row<'_>],
) {
    for &(why, token, at, expected) in rows {
        let mut verification = Verification::default();
        if let Some(at) = at {
            verification = verification.at(UnixTime::from_secs(at));
        }
        let got = auth.login(token, verification).await;
        match (expected, got) {
            (Outcome::Created(user), Ok(login)) => {
                assert_eq!(
                    (login.user.user_id.as_str(), login.first_login),
                    (user, true),
                    "{why}"
                )
            }
            (Outcome::Known(user), Ok(login)) => {
                assert_eq!(
                    (login.user.user_id.as_str(), login.first_login),
                    (user, false),
                    "{why}"
                )
            }
            (Outcome::Refused(kind), Err(e)) => assert_eq!(e.kind(), kind, "{why}: {e}"),
            (expected, got) => panic!(
                "{why}: expected {expected:?}, got {:?}",
                got.map(|l| l.user.user_id).map_err(|e| e.kind())
            ),
        }
    }
}

// -------------------------------------------------------------- user_scope

#[tokio::test]
async fn a_user_of_another_configuration_needs_user_scope_shared() {
    let owned = owned(json!({}), json!({})).await;
    let registry = Arc::clone(owned.registry());
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let first = accepted(
        &auth,
        &erp(json!({"loginname": "jdoe", "groups": ["Sales"]})),
    )
    .await;
    assert_eq!(first.user.created_by_config.as_deref(), Some("erp"));

    // CRM's `jdoe` is not ERP's `jdoe`.
    let err = refused(&auth, &crm(json!({"loginname": "jdoe"}))).await;
    assert_eq!(err.kind(), ErrorKind::UserConflict);
    // The status is the axum module's (feature `axum`).
    #[cfg(feature = "axum")]
    assert_eq!(err.kind().http_status(), 403);
    let message = err.to_string();
    assert!(
        message.contains("`ERP`") && message.contains("`CRM`"),
        "{message}"
    );
    let hint = err.hint();
    assert!(hint.contains("configuration `ERP`"), "{hint}");
    assert!(hint.contains(r#"user_scope: "shared""#), "{hint}");
    assert!(hint.contains("configuration `CRM`"), "{hint}");
    assert_eq!(
        auth.store().users(),
        std::slice::from_ref(&first.user),
        "nothing changed"
    );

    // The other direction too: CRM's own user is not ERP's.
    accepted(&auth, &crm(json!({"loginname": "crm-only"}))).await;
    assert_eq!(
        refused(&auth, &erp(json!({"loginname": "crm-only"})))
            .await
            .kind(),
        ErrorKind::UserConflict
    );

    // Shared: CRM may log ERP's user in, who keeps ERP's type and roles.
    let mut shared = registry.get("crm").unwrap();
    shared.user_scope = jwt_sso::UserScope::Shared;
    owned.update("crm", shared).await;
    let later = accepted(
        &auth,
        &crm(json!({"loginname": "jdoe", "groups": ["Other"]})),
    )
    .await;
    assert!(!later.first_login);
    assert_eq!(later.user, first.user);
    assert_eq!(later.identity.config, "CRM");
}

#[tokio::test]
async fn users_the_host_created_may_be_logged_in_by_any_configuration() {
    let auth = Authenticator::new(registry(json!({}), json!({})), MemoryStore::new());
    let admin = User {
        user_id: "admin".into(),
        user_type: "administrator".into(),
        roles: vec!["Administrator".into()],
        name: None,
        email: None,
        created_by_config: None,
    };
    auth.store().create(&admin).await.unwrap();
    for token in [
        erp(json!({"loginname": "admin"})),
        crm(json!({"loginname": "admin"})),
    ] {
        let login = accepted(&auth, &token).await;
        assert!(!login.first_login);
        assert_eq!(login.user, admin);
    }
    // The owner is compared without regard to case, like configuration names.
    let mut lower = admin.clone();
    lower.user_id = "jdoe".into();
    lower.created_by_config = Some("erp".into());
    auth.store().create(&lower).await.unwrap();
    assert_eq!(
        accepted(&auth, &erp(json!({"loginname": "jdoe"})))
            .await
            .user,
        lower
    );
}

// ------------------------------------------------------------ create_users

#[tokio::test]
async fn create_users_false_refuses_unknown_users_and_creates_nothing() {
    let auth = Authenticator::new(
        registry(json!({"create_users": false}), json!({})),
        MemoryStore::new(),
    );
    let err = refused(&auth, &erp(json!({"loginname": "jdoe"}))).await;
    assert_eq!(err.kind(), ErrorKind::UnknownUser);
    // The status is the axum module's (feature `axum`).
    #[cfg(feature = "axum")]
    assert_eq!(err.kind().http_status(), 403);
    assert!(err.to_string().contains("create_users = false"), "{err}");
    assert!(auth.store().is_empty());
    // A dry run says the same and creates nothing either.
    assert_eq!(
        auth.check(&erp(json!({"loginname": "jdoe"})), Verification::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::UnknownUser
    );
    assert!(auth.store().is_empty());

    // Another configuration creates the user; ERP still may not log it in
    // (own scope), but a host-made user it may.
    let host_user = User {
        user_id: "known".into(),
        user_type: "reader".into(),
        roles: vec![],
        name: None,
        email: None,
        created_by_config: None,
    };
    auth.store().create(&host_user).await.unwrap();
    logins(
        &auth,
        &[
            (
                "CRM creates jdoe",
                &crm(json!({"loginname": "jdoe"})),
                None,
                Outcome::Created("jdoe"),
            ),
            (
                "CRM's jdoe, ERP's own scope",
                &erp(json!({"loginname": "jdoe"})),
                None,
                Outcome::Refused(UserConflict),
            ),
            (
                "a user the host made",
                &erp(json!({"loginname": "known"})),
                None,
                Outcome::Known("known"),
            ),
        ],
    )
    .await;
    assert_eq!(auth.store().len(), 2);
}

// -------------------------------------------------------------- single use

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_racing_logins_with_one_single_use_token_exactly_one_wins() {
    for existing in [false, true] {
        let auth = Arc::new(Authenticator::new(single_use(), MemoryStore::new()));
        if existing {
            accepted(&auth, &erp(json!({"loginname": "jdoe", "jti": "earlier"}))).await;
        }
        let token = erp(json!({"loginname": "jdoe", "jti": "race-1"}));
        let barrier = Arc::new(tokio::sync::Barrier::new(30));
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let (auth, token, barrier) =
                    (Arc::clone(&auth), token.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    auth.login(&token, Verification::default()).await
                })
            })
            .collect();
        let (mut ok, mut replayed) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(login) => {
                    ok += 1;
                    assert_eq!(login.first_login, !existing);
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TokenReplayed, "{e}");
                    // The status is the axum module's (feature `axum`).
                    #[cfg(feature = "axum")]
                    assert_eq!(e.kind().http_status(), 401);
                    replayed += 1;
                }
            }
        }
        assert_eq!((ok, replayed), (1, 29), "existing user: {existing}");
        assert_eq!(auth.store().len(), 1);
    }
}

#[tokio::test]
async fn a_single_use_token_works_once_per_configuration_and_issuer() {
    use Outcome::*;
    let auth = Authenticator::new(single_use(), MemoryStore::new());
    let token = erp(json!({"loginname": "jdoe", "jti": "j-1"}));
    let same_jti = erp(json!({"loginname": "jdoe", "jti": "j-1", "groups": ["x"]}));
    let crm_same_jti = crm(json!({"loginname": "crm-user", "jti": "j-1"}));
    let no_jti = erp(json!({"loginname": "jdoe"}));
    logins(
        &auth,
        &[
            ("first use", &token, None, Created("jdoe")),
            ("second use", &token, None, Refused(TokenReplayed)),
            (
                "another token, same jti",
                &same_jti,
                None,
                Refused(TokenReplayed),
            ),
            (
                "same jti, other configuration and issuer",
                &crm_same_jti,
                None,
                Created("crm-user"),
            ),
            (
                "no jti on a single-use configuration",
                &no_jti,
                None,
                Refused(MissingJti),
            ),
        ],
    )
    .await;
    let err = refused(&auth, &token).await;
    assert!(err.to_string().contains("`j-1`"), "{err}");
    // A configuration that is not single-use never records.
    let plain = Authenticator::new(registry(json!({}), json!({})), MemoryStore::new());
    logins(
        &plain,
        &[
            ("first", &token, None, Created("jdoe")),
            ("again", &token, None, Known("jdoe")),
        ],
    )
    .await;
    assert_eq!(plain.replay_store().used_jtis(), 0);
}

#[tokio::test]
async fn a_refused_login_leaves_its_jti_unused() {
    use Outcome::*;
    let owned = owned(
        json!({"single_use": true, "create_users": false}),
        json!({}),
    )
    .await;
    let registry = Arc::clone(owned.registry());
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let token = erp(json!({"loginname": "jdoe", "jti": "keep-me", "nbf": NOW + 300}));
    let crm_jdoe = crm(json!({"loginname": "jdoe"}));
    let later = Some(NOW + 400);

    // Refused by verification (not yet valid), by the policy (unknown user),
    // and by user_scope: none of them uses the jti up.
    logins(
        &auth,
        &[
            ("not yet valid", &token, None, Refused(NotYetValid)),
            ("create_users: false", &token, later, Refused(UnknownUser)),
            ("CRM creates jdoe", &crm_jdoe, None, Created("jdoe")),
            (
                "CRM's user, own scope",
                &token,
                later,
                Refused(UserConflict),
            ),
        ],
    )
    .await;
    assert_eq!(auth.replay_store().used_jtis(), 0);
    // A dry run never records either.
    let mut erp_config = registry.get("erp").unwrap();
    erp_config.user_scope = jwt_sso::UserScope::Shared;
    owned.update("erp", erp_config).await;
    for _ in 0..2 {
        let dry = auth
            .check(
                &token,
                Verification::from(Route::Issuer).at(UnixTime::from_secs(NOW + 400)),
            )
            .await
            .unwrap();
        assert!(!dry.first_login);
    }
    assert_eq!(auth.replay_store().used_jtis(), 0);

    // Now it passes, once.
    logins(
        &auth,
        &[
            ("shared scope", &token, later, Known("jdoe")),
            ("used up", &token, later, Refused(TokenReplayed)),
        ],
    )
    .await;
    assert_eq!(auth.replay_store().used_jtis(), 1);
}

/// A replay store that is down.
#[tokio::test]
async fn a_failing_replay_store_refuses_the_login() {
    let auth = Authenticator::new(single_use(), MemoryStore::new())
        .with_replay_store(DownReplay::default());
    let token = erp(json!({"loginname": "jdoe", "jti": "j-1"}));
    for _ in 0..3 {
        let err = refused(&auth, &token).await;
        assert_eq!(err.kind(), ErrorKind::Store);
        // The status is the axum module's (feature `axum`).
        #[cfg(feature = "axum")]
        assert_eq!(err.kind().http_status(), 503);
        assert!(
            err.to_string().contains("recording the used token ID"),
            "{err}"
        );
        let source = std::error::Error::source(&err).expect("the replay store's error");
        let down = source
            .downcast_ref::<Unreachable>()
            .map(ToString::to_string);
        assert_eq!(down.as_deref(), Some("replay database unreachable"));
    }
    assert_eq!(auth.replay_store().calls.load(Ordering::SeqCst), 3);
    assert!(auth.store().is_empty(), "no user was created");

    // A full memory store refuses too, and says why.
    let auth = Authenticator::new(single_use(), MemoryStore::new())
        .with_replay_store(MemoryStore::new().with_jti_capacity(1));
    accepted(&auth, &erp(json!({"loginname": "jdoe", "jti": "a"}))).await;
    let err = refused(&auth, &erp(json!({"loginname": "jdoe", "jti": "b"}))).await;
    assert_eq!(err.kind(), ErrorKind::Store);
    let source = std::error::Error::source(&err)
        .expect("the store's error")
        .to_string();
    assert!(
        source.contains("full") && source.contains("with_jti_capacity"),
        "{source}"
    );
    // Once `a` can no longer be accepted (exp + leeway), its record goes.
    let after = NOW + 600 + 60 + 1;
    let fresh = erp(json!({"loginname": "jdoe", "jti": "c", "exp": after + 600}));
    let login = auth.login(
        &fresh,
        Verification::default().at(UnixTime::from_secs(after)),
    );
    let login = login
        .await
        .expect("a fresh jti is accepted once `a` is gone");
    assert_eq!(login.user.user_id, "jdoe");
}

// ----------------------------------------------------------------- renames

/// A configuration's users and used `jti`s are recorded under its stable
/// id, so a rename keeps both; a new configuration that takes the old name
/// gets an id of its own and owns none of them.
#[tokio::test]
async fn renaming_a_configuration_keeps_its_users_and_used_jtis() {
    let owned = owned(json!({"single_use": true}), json!({})).await;
    let registry = Arc::clone(owned.registry());
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let token = erp(json!({"loginname": "jdoe", "jti": "r-1"}));
    let first = accepted(&auth, &token).await;
    assert_eq!(first.user.created_by_config.as_deref(), Some("erp"));
    // jdoe of another configuration is refused, the hint naming jdoe's own.
    let conflict = |issuer: &'static str, secret: &'static str, owner: &'static str| {
        let auth = &auth;
        async move {
            let err = refused(auth, &signed(issuer, secret, json!({"loginname": "jdoe"}))).await;
            assert_eq!(err.kind(), ErrorKind::UserConflict, "{issuer}");
            assert!(err.hint().contains(owner), "{issuer}: {}", err.hint());
        }
    };

    let mut renamed = registry.get("ERP").unwrap();
    renamed.name = "ERP (old)".parse().unwrap();
    owned.update("ERP", renamed).await;
    let now = registry.get("erp (old)").unwrap();
    assert_eq!(now.id.as_deref(), Some("erp"));
    assert_eq!(now.stable_id(), "erp");

    // The used jti is still used; a fresh token logs the same user in.
    let err = refused(&auth, &token).await;
    assert_eq!(err.kind(), ErrorKind::TokenReplayed, "{err}");
    let again = accepted(&auth, &erp(json!({"loginname": "jdoe", "jti": "r-2"}))).await;
    assert!(!again.first_login);
    assert_eq!(again.identity.config, "ERP (old)");

    // A new configuration under the old name is another configuration,
    // with a fresh random id.
    owned
        .create(config(
            "ERP",
            "https://erp-new.example.com",
            ERP_SECRET,
            json!({}),
        ))
        .await;
    let newcomer = registry.get("ERP").unwrap();
    assert_eq!(newcomer.stable_id().len(), 32);
    assert_ne!(newcomer.stable_id(), "erp");
    conflict("https://erp-new.example.com", ERP_SECRET, "`ERP (old)`").await;

    // Renaming back drops the id again: the name is the default id.
    let mut back = registry.get("ERP (old)").unwrap();
    back.name = "Erp".parse().unwrap();
    owned.delete("ERP").await;
    owned.update("ERP (old)", back).await;
    assert_eq!(registry.get("erp").unwrap().id, None);
    let err = refused(&auth, &token).await;
    assert_eq!(err.kind(), ErrorKind::TokenReplayed, "{err}");

    // A new configuration cannot claim another's id: the one it sends is
    // replaced by a fresh one, so it owns none of that one's users.
    let mut clash = config("Other", "https://other.example.com", CRM_SECRET, json!({}));
    clash.id = Some("ERP".into());
    let created = owned.create(clash).await;
    assert_ne!(created.config.stable_id(), "erp");
    conflict("https://other.example.com", CRM_SECRET, "`Erp`").await;
}
