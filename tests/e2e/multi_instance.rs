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
use crate::support::pg;
use crate::support::process;
use crate::support::prometheus;

use std::sync::Arc;
use std::time::{Duration, Instant};

use pg::PgServer;
use process::Instance;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "multi-instance-admin-token-0123456789";
const ERP: &str = "https://erp.example.com";
const ONCE: &str = "https://once.example.com";
const PARTNER: &str = "https://partner.example.com";
const SECRET_ERP: &str = "multi-instance-erp-secret-0123456789";
const SECRET_ONCE: &str = "multi-instance-once-secret-012345678";
const SECRET_PARTNER: &str = "multi-instance-partner-secret-01234567";
/// The contract's bound for a configuration change to reach every instance.
const PROPAGATION: Duration = Duration::from_secs(5);

fn configs() -> Value {
    json!([
        {
            "name": "ERP", "token_name": "token", "issuer": ERP,
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
            "expiration_time": 3600, "claims": {"user_id": "loginname", "roles": "groups"},
            "user_type": "reader", "initial_roles": ["Viewer"]
        },
        {
            "name": "Once", "token_name": "once", "issuer": ONCE, "single_use": true,
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ONCE},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        }
    ])
}

fn partner_config(audience: &str) -> Value {
    json!({
        "name": "Partner", "token_name": "ptoken", "issuer": PARTNER, "audience": audience,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_PARTNER},
        "expiration_time": 3600, "claims": {"user_id": "sub"}, "user_type": "analyst"
    })
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

/// A temporary directory for the configuration file and the servers' logs.
/// A directory with the instances' `--config` file.
fn config_dir(name: &str) -> TempDir {
    let dir = TempDir::new(&format!("multi-{name}"));
    std::fs::write(dir.join("configs.json"), configs().to_string()).unwrap();
    dir
}

fn start(dir: &TempDir, db: &str, n: usize, args: &[&str]) -> Instance {
    Instance::start(
        &dir.0.join("configs.json"),
        db,
        dir.0.join(format!("server-{n}.log")),
        ADMIN_TOKEN,
        args,
    )
}

/// A PostgreSQL server and three `login_server` processes on it.
struct Cluster {
    instances: Vec<Instance>,
    http: reqwest::Client,
    pg: PgServer,
    _dir: TempDir,
}

/// `None` when PostgreSQL is not installed (and `CI` is not `true`).
fn cluster(name: &str) -> Option<Cluster> {
    cluster_with(name, &[])
}

/// [`cluster`], each instance started with `args` too.
fn cluster_with(name: &str, args: &[&str]) -> Option<Cluster> {
    let pg = PgServer::launch()?;
    let dir = config_dir(name);
    // The first seeds the empty database from --config; the others find it seeded.
    let instances = (0..3).map(|n| start(&dir, &pg.url(), n, args)).collect();
    let http = crate::support::http::client();
    Some(Cluster {
        instances,
        http,
        pg,
        _dir: dir,
    })
}

use crate::support::http::Reply;

impl Cluster {
    fn at(&self, n: usize) -> &Instance {
        &self.instances[n]
    }

    async fn login(&self, n: usize, token: &str) -> Reply {
        let body = json!({"loginMode": 67108864, "password": token});
        Reply::send(
            self.http
                .post(self.at(n).url("/api/auth/login"))
                .header("Content-Type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    async fn session(&self, n: usize, session: &str) -> Reply {
        Reply::send(
            self.http
                .get(self.at(n).url("/api/session"))
                .header("X-Auth-Token", session),
        )
        .await
    }

    async fn logout(&self, n: usize, session: &str) -> Reply {
        Reply::send(
            self.http
                .post(self.at(n).url("/api/auth/logout"))
                .header("X-Auth-Token", session),
        )
        .await
    }

    /// An admin API call on instance `n` with the admin token.
    async fn admin(
        &self,
        n: usize,
        method: reqwest::Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        Reply::send(crate::support::http::admin_request(
            &self.http,
            method,
            self.at(n).url(path),
            ADMIN_TOKEN,
            if_match,
            body.as_ref(),
        ))
        .await
    }

    /// Instance `n`'s `/metrics`, parsed.
    async fn metrics(&self, n: usize) -> prometheus::Scrape {
        let text = self
            .http
            .get(self.at(n).metrics_url())
            .send()
            .await
            .expect("the metrics listener answers")
            .text()
            .await
            .unwrap();
        prometheus::Scrape::parse(&text)
    }

    /// `GET /api/admin/events?QUERY` on instance `n`.
    async fn events(&self, n: usize, query: &str) -> Value {
        let reply = self
            .admin(
                n,
                reqwest::Method::GET,
                &format!("/api/admin/events?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    }

    async fn etag(&self, n: usize, name: &str) -> String {
        let reply = self
            .admin(
                n,
                reqwest::Method::GET,
                &format!("/api/admin/configs/{name}"),
                None,
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.etag.expect("an ETag")
    }
}

/// Waits until `check` holds on every instance in `instances`, and asserts
/// it did so within [`PROPAGATION`] of `since`.
async fn in_force_within_5s<F, Fut>(what: &str, since: Instant, instances: &[usize], check: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for &n in instances {
        loop {
            if check(n).await {
                break;
            }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_across_instances_create_one_user() {
    let Some(c) = cluster("first") else { return };
    let c = Arc::new(c);
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (c, barrier) = (c.clone(), barrier.clone());
            let token = erp_token("racer", i);
            tokio::spawn(async move {
                barrier.wait().await;
                c.login(i % 3, &token).await
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
        let reply = c.login(n, &erp_token("racer", 100 + n)).await;
        assert_eq!(
            (reply.status, reply.body["first_login"].clone()),
            (200, json!(false))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_from_one_instance_works_on_all_and_a_logout_ends_it_everywhere() {
    let Some(c) = cluster("session") else { return };
    let login = c.login(0, &erp_token("jdoe", 0)).await;
    assert_eq!(login.status, 200, "{login:?}");
    let session = login.session.clone().expect("X-Auth-Token");
    for n in 0..3 {
        let reply = c.session(n, &session).await;
        assert_eq!(reply.status, 200, "instance {n}: {reply:?}");
        assert_eq!(reply.body["user"]["user_id"], "jdoe", "{reply:?}");
    }
    // A second session of the same user is independent.
    let other = c.login(2, &erp_token("jdoe", 1)).await.session.unwrap();
    assert_ne!(other, session);

    assert_eq!(c.logout(1, &session).await.status, 204);
    for n in 0..3 {
        let reply = c.session(n, &session).await;
        assert_eq!(reply.status, 401, "instance {n} after logout: {reply:?}");
        assert_eq!(
            c.session(n, &other).await.status,
            200,
            "the other session lives"
        );
    }
}

/// CONTRACT section 6: a session ends when the configuration that created
/// it is disabled or deleted, for good and on every instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_end_with_their_configuration_on_every_instance_for_good() {
    let Some(c) = cluster("ending") else { return };
    let created = c
        .admin(
            0,
            reqwest::Method::POST,
            "/api/admin/configs",
            None,
            Some(partner_config("bi")),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let since = Instant::now();
    in_force_within_5s("the new configuration", since, &[1, 2], |n| {
        let c = &c;
        async move { c.login(n, &partner_token("warmup", "bi")).await.status == 200 }
    })
    .await;
    // Sessions made on instances 1 and 2, one of them never used again
    // while the configuration is off.
    let used = c
        .login(1, &partner_token("pat", "bi"))
        .await
        .session
        .unwrap();
    let idle = c
        .login(2, &partner_token("sam", "bi"))
        .await
        .session
        .unwrap();
    let erp = c.login(2, &erp_token("jdoe", 0)).await.session.unwrap();
    for n in 0..3 {
        assert_eq!(c.session(n, &used).await.status, 200, "instance {n}");
    }
    let tag = c.etag(0, "Partner").await;
    let off = c
        .admin(
            0,
            reqwest::Method::PATCH,
            "/api/admin/configs/partner",
            Some(&tag),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    let since = Instant::now();
    in_force_within_5s(
        "the disabled configuration's session ended",
        since,
        &[0, 1, 2],
        |n| {
            let (c, used) = (&c, &used);
            async move { c.session(n, used).await.status == 401 }
        },
    )
    .await;
    in_force_within_5s("disabled", since, &[1], |n| {
        let c = &c;
        async move { c.login(n, &partner_token("pat", "bi")).await.kind() == "disabled" }
    })
    .await;
    // Re-enabled (through another instance): no session comes back.
    let tag = c.etag(1, "Partner").await;
    let on = c
        .admin(
            1,
            reqwest::Method::PATCH,
            "/api/admin/configs/partner",
            Some(&tag),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(on.status, 200, "{on:?}");
    let since = Instant::now();
    in_force_within_5s("re-enabled", since, &[0, 1, 2], |n| {
        let c = &c;
        async move { c.login(n, &partner_token("again", "bi")).await.status == 200 }
    })
    .await;
    for n in 0..3 {
        assert_eq!(c.session(n, &used).await.status, 401, "instance {n}: used");
        assert_eq!(c.session(n, &idle).await.status, 401, "instance {n}: idle");
        assert_eq!(
            c.session(n, &erp).await.status,
            200,
            "instance {n}: ERP lives"
        );
    }
    // Deleted on instance 2: a new session of it ends everywhere.
    let fresh = c
        .login(0, &partner_token("pat", "bi"))
        .await
        .session
        .unwrap();
    let deleted = c
        .admin(
            2,
            reqwest::Method::DELETE,
            "/api/admin/configs/Partner?confirm=Partner",
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    let since = Instant::now();
    in_force_within_5s(
        "the deleted configuration's session ended",
        since,
        &[0, 1, 2],
        |n| {
            let (c, fresh) = (&c, &fresh);
            async move { c.session(n, fresh).await.status == 401 }
        },
    )
    .await;
    // DELETE /api/admin/sessions on one instance ends them everywhere.
    let reply = c
        .admin(
            1,
            reqwest::Method::DELETE,
            "/api/admin/sessions?user_id=jdoe",
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, json!({"ended": 1}));
    for n in 0..3 {
        assert_eq!(c.session(n, &erp).await.status, 401, "instance {n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_uses_of_one_single_use_token_across_instances_give_one_success() {
    let Some(c) = cluster("once") else { return };
    let c = Arc::new(c);
    let token = Arc::new(once_token("ann", "jti-race-1"));
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (c, barrier, token) = (c.clone(), barrier.clone(), token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                c.login(i % 3, &token).await
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
        let reply = c.login(n, &token).await;
        assert_eq!((reply.status, reply.kind()), (401, "token_replayed"));
    }
    assert_eq!(
        c.login(2, &once_token("ann", "jti-race-2")).await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configuration_changes_through_one_admin_api_are_in_force_everywhere_within_5s() {
    use reqwest::Method;
    // The checks below poll with logins that are refused until a change
    // arrives: more than the failed-login limit, which is not under test here.
    let Some(c) = cluster_with("admin", &["--max-failed-logins", "0"]) else {
        return;
    };
    let others = [1, 2];
    // Unknown before: no configuration has the partner's issuer.
    let before = c.login(1, &partner_token("pat", "bi")).await;
    assert_eq!(
        (before.status, before.kind()),
        (401, "no_matching_config"),
        "{before:?}"
    );

    // Created on instance 0.
    let created = c
        .admin(
            0,
            Method::POST,
            "/api/admin/configs",
            None,
            Some(partner_config("bi")),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let since = Instant::now();
    in_force_within_5s("the created configuration", since, &others, |n| {
        let c = &c;
        async move { c.login(n, &partner_token("pat", "bi")).await.status == 200 }
    })
    .await;
    let user = c.login(2, &partner_token("pat", "bi")).await;
    assert_eq!(user.body["user"]["user_type"], "analyst", "{user:?}");

    // Changed: a new audience.
    let etag = c.etag(0, "partner").await;
    let changed = c
        .admin(
            0,
            Method::PUT,
            "/api/admin/configs/partner",
            Some(&etag),
            Some(partner_config("bi-v2")),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let since = Instant::now();
    in_force_within_5s("the changed audience", since, &others, |n| {
        let c = &c;
        async move {
            let old = c.login(n, &partner_token("pat", "bi")).await;
            let new = c.login(n, &partner_token("pat", "bi-v2")).await;
            old.kind() == "audience_mismatch" && new.status == 200
        }
    })
    .await;

    // Disabled.
    let etag = match changed.etag {
        Some(tag) => tag,
        None => c.etag(0, "partner").await,
    };
    let disabled = c
        .admin(
            0,
            Method::PATCH,
            "/api/admin/configs/partner",
            Some(&etag),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(disabled.status, 200, "{disabled:?}");
    let since = Instant::now();
    in_force_within_5s("the disabled configuration", since, &others, |n| {
        let c = &c;
        async move { c.login(n, &partner_token("pat", "bi-v2")).await.kind() == "disabled" }
    })
    .await;
    // The other instances' admin APIs see it too (same version: an edit there works).
    let etag = c.etag(2, "partner").await;
    let listed = c
        .admin(1, Method::GET, "/api/admin/configs", None, None)
        .await;
    let partner = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Partner")
        .cloned()
        .unwrap();
    assert_eq!(partner["enabled"], false);
    let enabled = c
        .admin(
            2,
            Method::PATCH,
            "/api/admin/configs/partner",
            Some(&etag),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(
        enabled.status, 200,
        "an edit on another instance: {enabled:?}"
    );
    let since = Instant::now();
    in_force_within_5s("enabled again from instance 2", since, &[0, 1], |n| {
        let c = &c;
        async move { c.login(n, &partner_token("pat", "bi-v2")).await.status == 200 }
    })
    .await;

    // Deleted on instance 0.
    let deleted = c
        .admin(
            0,
            Method::DELETE,
            "/api/admin/configs/partner?confirm=Partner",
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    let since = Instant::now();
    in_force_within_5s("the deletion", since, &others, |n| {
        let c = &c;
        async move {
            c.login(n, &partner_token("pat", "bi-v2")).await.kind() == "no_matching_config"
        }
    })
    .await;
    for n in 0..3 {
        let reply = c
            .admin(n, Method::GET, "/api/admin/configs/partner", None, None)
            .await;
        assert_eq!(reply.status, 404, "instance {n}: {reply:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_is_503_store_and_logins_return_without_a_restart() {
    // The last check polls with logins refused until a change arrives: no
    // failed-login limit (not under test here).
    let Some(c) = cluster_with(
        "outage",
        &[
            "--metrics-listen",
            "127.0.0.1:0",
            "--max-failed-logins",
            "0",
        ],
    ) else {
        return;
    };
    let before = c.login(0, &erp_token("jdoe", 0)).await;
    assert_eq!(before.status, 200, "{before:?}");
    let session = before.session.unwrap();

    c.pg.stop();
    for n in 0..3 {
        let started = Instant::now();
        let reply = c.login(n, &erp_token("jdoe", 1 + n)).await;
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
        let once = c.login(n, &once_token("ann", &format!("outage-{n}"))).await;
        assert_eq!((once.status, once.kind()), (503, "store"), "{once:?}");
    }

    // The events of those refusals could not be stored: counted as dropped
    // on each instance (the logins were answered all the same).
    for n in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let dropped = c.metrics(n).await.sum("jwt_sso_events_dropped_total");
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
            let reply = c.login(n, &erp_token("jdoe", 10 + n)).await;
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
            c.session(n, &session).await.status,
            200,
            "the session survived"
        );
        // The single-use token refused during the outage was not used up.
        let once = c.login(n, &once_token("ann", &format!("outage-{n}"))).await;
        assert_eq!(once.status, 200, "{once:?}");
    }

    // The configuration sync recovered too: a change on one instance
    // reaches the others.
    let created = c
        .admin(
            0,
            reqwest::Method::POST,
            "/api/admin/configs",
            None,
            Some(partner_config("bi")),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let since = Instant::now();
    in_force_within_5s("a change after the outage", since, &[1, 2], |n| {
        let c = &c;
        async move { c.login(n, &partner_token("pat", "bi")).await.status == 200 }
    })
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
    use reqwest::Method;
    let Some(mut c) = cluster("reseed") else {
        return;
    };
    // The first instance seeded; the others found the database seeded.
    let seeded = |n: usize| std::fs::read_to_string(&c.at(n).log).unwrap_or_default();
    assert!(seeded(0).contains("seeded it"), "{}", seeded(0));
    assert!(seeded(1).contains("not seeded"), "{}", seeded(1));
    let ana = c.login(0, &erp_token("ana", 0)).await;
    assert_eq!(ana.status, 200, "{ana:?}");

    // Every configuration deleted through instance 0's admin API.
    let list = c
        .admin(0, Method::GET, "/api/admin/configs", None, None)
        .await;
    let names: Vec<String> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ERP", "Once"]);
    for name in &names {
        let path = format!("/api/admin/configs/{name}?confirm={name}");
        let deleted = c.admin(0, Method::DELETE, &path, None, None).await;
        assert_eq!(deleted.status, 204, "{deleted:?}");
    }
    let since = Instant::now();
    in_force_within_5s("the deletes", since, &[0, 1, 2], |n| {
        let c = &c;
        async move { c.login(n, &erp_token("ana", 1)).await.kind() == "no_matching_config" }
    })
    .await;

    // Instance 1 restarts with the same --config file, which still holds them.
    c.instances[1] = start(&c._dir, &c.pg.url(), 3, &[]);
    let log = std::fs::read_to_string(&c.at(1).log).unwrap();
    assert!(log.contains("not seeded"), "{log}");
    assert!(!log.contains("seeded it"), "{log}");
    let list = c
        .admin(1, Method::GET, "/api/admin/configs", None, None)
        .await;
    assert_eq!(list.body, json!([]), "{list:?}");
    // Nothing spreads back: the database and every instance stay empty.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for n in 0..3 {
        let refused = c.login(n, &erp_token("ana", 2 + n)).await;
        assert_eq!(
            (refused.status, refused.kind()),
            (401, "no_matching_config"),
            "instance {n}: {refused:?}"
        );
        let list = c
            .admin(n, Method::GET, "/api/admin/configs", None, None)
            .await;
        assert_eq!(list.body, json!([]), "instance {n}");
    }

    // A new ERP (the same name, issuer and secret) through the admin API:
    // a fresh id, so ana, whom the deleted ERP created, is not its user.
    let created = c
        .admin(
            2,
            Method::POST,
            "/api/admin/configs",
            None,
            Some(configs()[0].clone()),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["id"].as_str().unwrap();
    assert!(id.len() == 32 && id != "erp", "{id}");
    let since = Instant::now();
    in_force_within_5s("the new ERP", since, &[0, 1, 2], |n| {
        let c = &c;
        async move { c.login(n, &erp_token("bob", 10 + n)).await.status == 200 }
    })
    .await;
    let conflict = c.login(1, &erp_token("ana", 20)).await;
    assert_eq!(
        (conflict.status, conflict.kind()),
        (403, "user_conflict"),
        "{conflict:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_login_events_of_three_instances_are_one_history_newest_first_within_the_retention() {
    let Some(c) = cluster_with("events", &["--event-retention", "30"]) else {
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
            assert_eq!(c.login(n, &token).await.status, status, "{user}");
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
                assert!(event["hint"].as_str().is_some_and(|h| !h.is_empty()));
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
        assert!(batch.len() <= 7);
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
    assert!(!expected.is_empty());
    let one = c.events(0, "user_id=u2-14").await;
    assert_eq!(one["events"].as_array().unwrap().len(), 1);
    // A bad query is the admin API's 400; no credential is 401.
    let bad = c
        .admin(
            0,
            reqwest::Method::GET,
            "/api/admin/events?limit=0",
            None,
            None,
        )
        .await;
    assert_eq!((bad.status, bad.kind()), (400, "bad_request"), "{bad:?}");
    let anonymous = c
        .http
        .get(c.at(0).url("/api/admin/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
