//! Several `login_server` processes on one PostgreSQL (CONTRACT section 8):
//! a real PostgreSQL started by the harness (`support/pg.rs`), three
//! `login_server` processes on loopback ports sharing it, each with the
//! admin token in `JWT_SSO_ADMIN_TOKEN`, and real HTTP between them
//! (reqwest). Users, sessions, used `jti`s and configurations are shared;
//! an outage of the database is answered `503` `store` and heals without a
//! restart of any server.

#![cfg(all(feature = "postgres", feature = "axum", feature = "remote"))]

use crate::support::fixtures::TempDir;
use crate::support::fixtures::{now, sign};
use crate::support::http::Reply;
use crate::support::pg::PgServer;
use crate::support::server::{
    ERP, ONCE, PARTNER, SECRET_ERP, SECRET_ONCE, SECRET_PARTNER, Server, hs256_config,
};

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

/// The contract's bound for a configuration change to reach every instance.
const PROPAGATION: Duration = Duration::from_secs(5);

/// ERP (user in `loginname`, roles from `groups`) and the single-use Once.
fn configs() -> Value {
    let mut erp = hs256_config("ERP", ERP, SECRET_ERP);
    erp["claims"] = json!({"user_id": "loginname", "roles": "groups"});
    erp["user_type"] = json!("reader");
    erp["initial_roles"] = json!(["Viewer"]);
    let mut once = hs256_config("Once", ONCE, SECRET_ONCE);
    once["token_name"] = json!("once");
    once["single_use"] = json!(true);
    json!([erp, once])
}

fn partner_config(audience: &str) -> Value {
    let mut partner = hs256_config("Partner", PARTNER, SECRET_PARTNER);
    partner["token_name"] = json!("ptoken");
    partner["audience"] = json!(audience);
    partner["user_type"] = json!("analyst");
    partner
}

/// An ERP token for `user`; `n` makes each token distinct.
fn erp_token(user: &str, n: usize) -> String {
    sign(
        SECRET_ERP,
        json!({"iss": ERP, "loginname": user, "groups": ["Sales"], "n": n,
               "iat": now(), "exp": now() + 3600}),
    )
}

fn once_token(user: &str, jti: &str) -> String {
    sign(
        SECRET_ONCE,
        json!({"iss": ONCE, "sub": user, "jti": jti, "iat": now(), "exp": now() + 600}),
    )
}

fn partner_token(user: &str, audience: &str) -> String {
    sign(
        SECRET_PARTNER,
        json!({"iss": PARTNER, "sub": user, "aud": audience, "iat": now(), "exp": now() + 600}),
    )
}

/// A PostgreSQL server and `login_server` instances on it, all started
/// with the same `--config` file (in `dir`, with the servers' logs).
struct Cluster {
    instances: Vec<Server>,
    pg: PgServer,
    dir: TempDir,
}

impl std::ops::Index<usize> for Cluster {
    type Output = Server;
    fn index(&self, n: usize) -> &Server {
        &self.instances[n]
    }
}

impl Cluster {
    /// A new database and three instances on it, each started with `args`
    /// too; `None` when PostgreSQL is not installed (and `CI` is not `true`).
    fn start(name: &str, args: &[&str]) -> Option<Cluster> {
        let pg = PgServer::launch()?;
        let dir = TempDir::new(&format!("multi-{name}"));
        std::fs::write(dir.join("configs.json"), configs().to_string()).unwrap();
        let mut cluster = Cluster {
            instances: Vec::new(),
            pg,
            dir,
        };
        // The first seeds the empty database from --config; the others find it seeded.
        for n in 0..3 {
            let instance = cluster.instance(n, args);
            cluster.instances.push(instance);
        }
        Some(cluster)
    }

    /// A new instance over the cluster's database, its log `server-N.log`.
    fn instance(&self, n: usize, args: &[&str]) -> Server {
        let log = self.dir.join(format!("server-{n}.log"));
        Server::start(&self.dir.join("configs.json"), &self.pg.url(), log, args)
    }

    /// `GET /api/admin/events?QUERY` on instance `n`, which must answer 200.
    async fn events(&self, n: usize, query: &str) -> Value {
        let path = format!("/api/admin/events?{query}");
        let reply = self[n].admin(Method::GET, &path, None, None).await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.body
    }

    /// Waits until `check` holds on every instance in `instances`, and
    /// asserts it did so within [`PROPAGATION`] of `since`.
    async fn in_force_within_5s(
        &self,
        what: &str,
        since: Instant,
        instances: &[usize],
        check: impl AsyncFn(&Server) -> bool,
    ) {
        for &n in instances {
            while !check(&self[n]).await {
                assert!(
                    since.elapsed() < PROPAGATION,
                    "{what}: not in force on instance {n} within 5 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert!(
            since.elapsed() < PROPAGATION,
            "{what}: took {:?}",
            since.elapsed()
        );
    }

    /// Waits until a login with `token()` answers `status` with `kind` ("" for
    /// a success) on every instance in `instances`, within [`PROPAGATION`]
    /// of now (a change was just made).
    async fn logins_within_5s(
        &self,
        what: &str,
        instances: &[usize],
        token: impl Fn() -> String,
        (status, kind): (u16, &str),
    ) {
        let check = async |s: &Server| {
            let reply = s.login(&token()).await;
            (reply.status, reply.kind()) == (status, kind)
        };
        self.in_force_within_5s(what, Instant::now(), instances, check)
            .await;
    }
}

/// The contract's answer to a login that succeeded: 200, no error kind.
const OK: (u16, &str) = (200, "");

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_across_instances_create_one_user() {
    let Some(c) = Cluster::start("first", &[]) else {
        return;
    };
    let c = Arc::new(c);
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (c, barrier) = (c.clone(), barrier.clone());
            let token = erp_token("racer", i);
            tokio::spawn(async move {
                barrier.wait().await;
                c[i % 3].login(&token).await
            })
        })
        .collect();
    let mut first = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.body["user"]["user_id"], "racer");
        assert_eq!(reply.body["user"]["user_type"], "reader");
        assert_eq!(reply.body["user"]["roles"], json!(["Viewer", "Sales"]));
        if reply.body["first_login"] == json!(true) {
            first += 1;
        }
    }
    assert_eq!(first, 1, "exactly one of 30 racing logins created the user");
    // Every instance now finds the user.
    for n in 0..3 {
        let reply = c[n].login(&erp_token("racer", 100 + n)).await;
        assert_eq!(
            (reply.status, reply.body["first_login"].clone()),
            (200, json!(false)),
            "instance {n}: {reply:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_from_one_instance_works_on_all_and_a_logout_ends_it_everywhere() {
    let Some(c) = Cluster::start("session", &[]) else {
        return;
    };
    let login = c[0].login(&erp_token("jdoe", 0)).await;
    assert_eq!(login.status, 200, "{login:?}");
    let session = login.session.clone().expect("X-Auth-Token");
    for n in 0..3 {
        let reply = c[n].session(&session).await;
        assert_eq!(reply.status, 200, "instance {n}: {reply:?}");
        assert_eq!(reply.body["user"]["user_id"], "jdoe", "{reply:?}");
    }
    // A second session of the same user is independent.
    let other = c[2].login(&erp_token("jdoe", 1)).await.session.unwrap();
    assert_ne!(other, session);

    assert_eq!(c[1].logout(&session).await.status, 204);
    for n in 0..3 {
        let reply = c[n].session(&session).await;
        assert_eq!(reply.status, 401, "instance {n} after logout: {reply:?}");
        assert_eq!(
            c[n].session(&other).await.status,
            200,
            "the other session lives"
        );
    }
}

/// CONTRACT section 6: a session ends when the configuration that created
/// it is disabled or deleted, for good and on every instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_end_with_their_configuration_on_every_instance_for_good() {
    let Some(c) = Cluster::start("ending", &[]) else {
        return;
    };
    c[0].create(&partner_config("bi")).await;
    let warmup = || partner_token("warmup", "bi");
    c.logins_within_5s("the new configuration", &[1, 2], warmup, OK)
        .await;
    // Sessions made on instances 1 and 2, one of them never used again
    // while the configuration is off.
    let used = c[1].login(&partner_token("pat", "bi")).await.session;
    let used = used.expect("a session on instance 1");
    let idle = c[2].login(&partner_token("sam", "bi")).await.session;
    let idle = idle.expect("a session on instance 2");
    let erp = c[2].login(&erp_token("jdoe", 0)).await.session.unwrap();
    for n in 0..3 {
        assert_eq!(c[n].session(&used).await.status, 200, "instance {n}");
    }
    c[0].set_enabled("Partner", false).await;
    let since = Instant::now();
    let ended = async |s: &Server| s.session(&used).await.status == 401;
    let what = "the disabled configuration's session ended";
    c.in_force_within_5s(what, since, &[0, 1, 2], ended).await;
    let disabled =
        async |s: &Server| s.login(&partner_token("pat", "bi")).await.kind() == "disabled";
    c.in_force_within_5s("disabled", since, &[1], disabled)
        .await;
    // Re-enabled (through another instance): no session comes back.
    c[1].set_enabled("Partner", true).await;
    let again = || partner_token("again", "bi");
    c.logins_within_5s("re-enabled", &[0, 1, 2], again, OK)
        .await;
    for n in 0..3 {
        assert_eq!(c[n].session(&used).await.status, 401, "instance {n}: used");
        assert_eq!(c[n].session(&idle).await.status, 401, "instance {n}: idle");
        assert_eq!(
            c[n].session(&erp).await.status,
            200,
            "instance {n}: ERP lives"
        );
    }
    // Deleted on instance 2: a new session of it ends everywhere.
    let fresh = c[0].login(&partner_token("pat", "bi")).await.session;
    let fresh = fresh.expect("a session on instance 0");
    c[2].delete("Partner").await;
    let since = Instant::now();
    let ended = async |s: &Server| s.session(&fresh).await.status == 401;
    let what = "the deleted configuration's session ended";
    c.in_force_within_5s(what, since, &[0, 1, 2], ended).await;
    // DELETE /api/admin/sessions on one instance ends them everywhere.
    let path = "/api/admin/sessions?user_id=jdoe";
    let reply = c[1].admin(Method::DELETE, path, None, None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, json!({"ended": 1}));
    for n in 0..3 {
        assert_eq!(c[n].session(&erp).await.status, 401, "instance {n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_uses_of_one_single_use_token_across_instances_give_one_success() {
    let Some(c) = Cluster::start("once", &[]) else {
        return;
    };
    let c = Arc::new(c);
    let token = Arc::new(once_token("ann", "jti-race-1"));
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (c, barrier, token) = (c.clone(), barrier.clone(), token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                c[i % 3].login(&token).await
            })
        })
        .collect();
    let (mut ok, mut replayed) = (0, 0);
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            200 => ok += 1,
            401 if reply.kind() == "token_replayed" => replayed += 1,
            _ => panic!("unexpected reply: {reply:?}"),
        }
    }
    assert_eq!((ok, replayed), (1, 29));
    // Later uses on any instance are replays too; a new jti logs in.
    for n in 0..3 {
        let reply = c[n].login(&token).await;
        assert_eq!(
            (reply.status, reply.kind()),
            (401, "token_replayed"),
            "instance {n}"
        );
    }
    let reply = c[2].login(&once_token("ann", "jti-race-2")).await;
    assert_eq!(reply.status, 200, "a new jti: {reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configuration_changes_through_one_admin_api_are_in_force_everywhere_within_5s() {
    // The checks below poll with logins that are refused until a change
    // arrives: more than the failed-login limit, which is not under test here.
    let Some(c) = Cluster::start("admin", &["--max-failed-logins", "0"]) else {
        return;
    };
    let others = [1, 2];
    let pat = |audience: &'static str| move || partner_token("pat", audience);
    // Unknown before: no configuration has the partner's issuer.
    let before = c[1].login(&partner_token("pat", "bi")).await;
    assert_eq!(
        (before.status, before.kind()),
        (401, "no_matching_config"),
        "{before:?}"
    );

    // Created on instance 0.
    c[0].create(&partner_config("bi")).await;
    c.logins_within_5s("the created configuration", &others, pat("bi"), OK)
        .await;
    let user = c[2].login(&partner_token("pat", "bi")).await;
    assert_eq!(user.body["user"]["user_type"], "analyst", "{user:?}");

    // Changed: a new audience.
    let (etag, _) = c[0].view("partner").await;
    let body = partner_config("bi-v2");
    let path = "/api/admin/configs/partner";
    let changed = c[0]
        .admin(Method::PUT, path, Some(&etag), Some(&body))
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let since = Instant::now();
    let moved = async |s: &Server| {
        let old = s.login(&partner_token("pat", "bi")).await;
        let new = s.login(&partner_token("pat", "bi-v2")).await;
        old.kind() == "audience_mismatch" && new.status == 200
    };
    c.in_force_within_5s("the changed audience", since, &others, moved)
        .await;

    // Disabled.
    c[0].set_enabled("partner", false).await;
    let refused = (401, "disabled");
    c.logins_within_5s("the disabled configuration", &others, pat("bi-v2"), refused)
        .await;
    // The other instances' admin APIs see it too (same version: an edit there works).
    let listed = c[1]
        .admin(Method::GET, "/api/admin/configs", None, None)
        .await;
    let partner = listed
        .body
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "Partner").cloned());
    assert_eq!(
        partner.map(|p| p["enabled"].clone()),
        Some(json!(false)),
        "Partner as instance 1 lists it: {listed:?}"
    );
    c[2].set_enabled("partner", true).await;
    c.logins_within_5s("enabled again from instance 2", &[0, 1], pat("bi-v2"), OK)
        .await;

    // Deleted on instance 0.
    c[0].delete("Partner").await;
    let gone = (401, "no_matching_config");
    c.logins_within_5s("the deletion", &others, pat("bi-v2"), gone)
        .await;
    for n in 0..3 {
        let reply = c[n]
            .admin(Method::GET, "/api/admin/configs/partner", None, None)
            .await;
        assert_eq!(reply.status, 404, "instance {n}: {reply:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_is_503_store_and_logins_return_without_a_restart() {
    // The last check polls with logins refused until a change arrives: no
    // failed-login limit (not under test here).
    let args = [
        "--metrics-listen",
        "127.0.0.1:0",
        "--max-failed-logins",
        "0",
    ];
    let Some(c) = Cluster::start("outage", &args) else {
        return;
    };
    let before = c[0].login(&erp_token("jdoe", 0)).await;
    assert_eq!(before.status, 200, "{before:?}");
    let session = before.session.unwrap();

    c.pg.stop();
    for n in 0..3 {
        let started = Instant::now();
        let reply = c[n].login(&erp_token("jdoe", 1 + n)).await;
        assert_eq!(
            (reply.status, reply.kind()),
            (503, "store"),
            "instance {n}: {reply:?}"
        );
        // The contract's bound for a store that cannot answer.
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "503 after {:?}",
            started.elapsed()
        );
        // A single-use token refused for the outage is not let through.
        let once = c[n].login(&once_token("ann", &format!("outage-{n}"))).await;
        assert_eq!((once.status, once.kind()), (503, "store"), "{once:?}");
    }

    // The events of those refusals could not be stored: counted as dropped
    // on each instance (the logins were answered all the same).
    for n in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let dropped = c[n].metrics().await.sum("jwt_sso_events_dropped_total");
            if dropped >= 2.0 {
                break;
            }
            assert!(Instant::now() < deadline, "instance {n}: {dropped} dropped");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    c.pg.start();
    for n in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reply = c[n].login(&erp_token("jdoe", 10 + n)).await;
            if reply.status == 200 {
                assert_eq!(reply.body["first_login"], false, "the user survived");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "instance {n} still refuses after the database is back: {reply:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            c[n].session(&session).await.status,
            200,
            "the session survived"
        );
        // The single-use token refused during the outage was not used up.
        let once = c[n].login(&once_token("ann", &format!("outage-{n}"))).await;
        assert_eq!(once.status, 200, "{once:?}");
    }

    // The configuration sync recovered too: a change on one instance
    // reaches the others.
    c[0].create(&partner_config("bi")).await;
    let pat = || partner_token("pat", "bi");
    c.logins_within_5s("a change after the outage", &[1, 2], pat, OK)
        .await;
}

/// CONTRACT section 8: `--config` seeds only a database that never held
/// configurations. After an administrator deleted every configuration, a
/// restarted instance finds the database empty and leaves it so (its log
/// says it did not seed), a token of a deleted configuration logs nobody
/// in anywhere, and a new configuration with a deleted one's name gets a
/// fresh id: the deleted one's users are not its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configurations_deleted_through_the_admin_api_stay_deleted_across_a_restart() {
    let Some(mut c) = Cluster::start("reseed", &[]) else {
        return;
    };
    // The first instance seeded; the others found the database seeded.
    let (first, second) = (c[0].process.log(), c[1].process.log());
    assert!(first.contains("seeded it"), "{first}");
    assert!(second.contains("not seeded"), "{second}");
    let ana = c[0].login(&erp_token("ana", 0)).await;
    assert_eq!(ana.status, 200, "{ana:?}");

    // Every configuration deleted through instance 0's admin API.
    let names = c[0].config_names().await;
    assert_eq!(names, ["ERP", "Once"]);
    for name in &names {
        c[0].delete(name).await;
    }
    let gone = (401, "no_matching_config");
    let ana = || erp_token("ana", 1);
    c.logins_within_5s("the deletes", &[0, 1, 2], ana, gone)
        .await;

    // Instance 1 restarts with the same --config file, which still holds them.
    let restarted = c.instance(3, &[]);
    c.instances[1] = restarted;
    let log = c[1].process.log();
    assert!(log.contains("not seeded"), "{log}");
    assert!(!log.contains("seeded it"), "{log}");
    assert_eq!(c[1].config_names().await, Vec::<String>::new());
    // Nothing spreads back: the database and every instance stay empty.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for n in 0..3 {
        let refused = c[n].login(&erp_token("ana", 2 + n)).await;
        assert_eq!(
            (refused.status, refused.kind()),
            gone,
            "instance {n}: {refused:?}"
        );
        let names = c[n].config_names().await;
        assert_eq!(names, Vec::<String>::new(), "instance {n}");
    }

    // A new ERP (the same name, issuer and secret) through the admin API:
    // a fresh id, so ana, whom the deleted ERP created, is not its user.
    let created = c[2].create(&configs()[0]).await;
    let id = created.body["id"].as_str().unwrap_or_default();
    assert!(id.len() == 32 && id != "erp", "a fresh id: {created:?}");
    let bob = || erp_token("bob", 10);
    c.logins_within_5s("the new ERP", &[0, 1, 2], bob, OK).await;
    let conflict = c[1].login(&erp_token("ana", 20)).await;
    assert_eq!(
        (conflict.status, conflict.kind()),
        (403, "user_conflict"),
        "{conflict:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_login_events_of_three_instances_are_one_history_newest_first_within_the_retention() {
    let Some(c) = Cluster::start("events", &["--event-retention", "30"]) else {
        return;
    };
    // 45 attempts, 15 on each instance; rounds 1, 5, 9 and 13 refused (expired).
    for round in 0..15 {
        for n in 0..3 {
            let user = format!("u{n}-{round}");
            let (token, status) = if round % 4 == 1 {
                let expired = sign(
                    SECRET_ERP,
                    json!({"iss": ERP, "loginname": user, "iat": now() - 7200, "exp": now() - 3600}),
                );
                (expired, 401)
            } else {
                (erp_token(&user, round), 200)
            };
            assert_eq!(c[n].login(&token).await.status, status, "{user}");
        }
    }
    // Each instance writes its own events; wait for the last round of all three.
    let deadline = Instant::now() + Duration::from_secs(30);
    let list = loop {
        let list = c.events(1, "limit=500").await;
        let events = list["events"].as_array().unwrap();
        // No bound while the instances' writers still insert and trim (a
        // reader can see one insert before its trim); the retention is
        // asserted once every event is written (`at the limit` below).
        let users: Vec<&str> = events
            .iter()
            .filter_map(|e| e["user_id"].as_str())
            .collect();
        if ["u0-14", "u1-14", "u2-14"]
            .iter()
            .all(|u| users.contains(u))
        {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "the history did not catch up: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let events = list["events"].as_array().unwrap();
    assert_eq!(events.len(), 30, "at the limit");
    assert_eq!(list["next"], Value::Null);
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    for n in 0..3 {
        let prefix = format!("u{n}-");
        assert!(
            events.iter().any(|e| e["user_id"]
                .as_str()
                .is_some_and(|u| u.starts_with(&prefix))),
            "events of instance {n} in the one list"
        );
    }
    for event in events {
        assert_eq!(event["config"], "ERP", "{event}");
        assert_eq!(event["client"], "127.0.0.1", "{event}");
        match event["outcome"].as_str().unwrap() {
            "accepted" => assert_eq!(event["first_login"], true, "{event}"),
            "refused" => {
                assert_eq!(event["kind"], "expired", "{event}");
                let hint = event["hint"].as_str().unwrap_or_default();
                assert!(!hint.is_empty(), "a refusal's hint: {event}");
            }
            other => panic!("outcome {other}"),
        }
    }
    // The same list through another instance, in pages of 7: nothing lost,
    // nothing repeated.
    let mut paged = Vec::new();
    let mut query = "limit=7".to_owned();
    loop {
        let page = c.events(2, &query).await;
        let batch = page["events"].as_array().unwrap();
        assert!(batch.len() <= 7, "a page of at most 7: {page}");
        paged.extend(batch.iter().map(|e| e["id"].as_u64().unwrap()));
        match page["next"].as_u64() {
            Some(next) => query = format!("limit=7&before={next}"),
            None => break,
        }
    }
    assert_eq!(paged, ids);
    // Filters agree with the list.
    let refused = c.events(0, "outcome=refused&config=erp").await;
    let refused_ids: Vec<u64> = refused["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = events
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(refused_ids, expected);
    assert!(!expected.is_empty(), "refusals in the list: {list}");
    let one = c.events(0, "user_id=u2-14").await;
    assert_eq!(one["events"].as_array().unwrap().len(), 1);
    // A bad query is the admin API's 400; no credential is 401.
    let path = "/api/admin/events?limit=0";
    let bad = c[0].admin(Method::GET, path, None, None).await;
    assert_eq!((bad.status, bad.kind()), (400, "bad_request"), "{bad:?}");
    let anonymous = Reply::send(c[0].http.get(c[0].url("/api/admin/events"))).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
}
