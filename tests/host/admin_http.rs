//! The administrator's API over real HTTP (CONTRACT section 7): the router of
//! `jwt_sso::axum::admin` on an ephemeral loopback port over a real
//! configuration file (`support::admin`). Each test is a table of requests,
//! one row each (caller, method, path, `If-Match`, body -> status, error
//! kind, body and header checks), with the checks of memory and disk between
//! the tables. No reply may hold a secret: the server checks every one.
#![cfg(all(feature = "axum", feature = "remote"))]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jwt_sso::axum::{LoginOptions, SessionAuth, admin::AdminAccess};
use jwt_sso::{Admin, Algorithm, ConfigFile, ConfigStore, Route, mint::SigningKey};
use serde_json::{Value, json};

use crate::support::admin::Check::*;
use crate::support::admin::{ADMIN_TOKEN, AdminServer, CONFIGS, Caller, config_dir, row};
use crate::support::fixtures::{TempDir, now, sign, unb64};

/// The console's `Content-Security-Policy`: nothing but the page's own
/// script, styles and API.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const SECRET_ERP: &str = "admin-http-erp-secret-0123456789abcdef";
const SECRET_NEW: &str = "admin-http-new-secret-0123456789abcdef";
/// Every secret of the tests' configurations: none may appear in a reply.
const SECRETS: [&str; 4] = [
    SECRET_ERP,
    "admin-http-crm-secret-0123456789abcdef",
    SECRET_NEW,
    B64_SECRET,
];
const B64_SECRET: &str = "YWRtaW4taHR0cC1iYXNlNjQtc2VjcmV0LTAxMjM0NTY3ODlhYmM";
const ERP: &str = "/api/admin/configs/erp";

fn configs() -> Value {
    json!([
        {
            "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
            "audience": "bi-server", "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": SECRET_ERP},
            "expiration_time": 86400, "claims": {"user_id": "sub"},
            "created_by": "setup", "last_modified": "2026-03-13T10:00:00Z"
        },
        {
            "name": "crm", "token_name": "jwt", "issuer": "https://crm.example.com",
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": {"base64": B64_SECRET}},
            "expiration_time": 3600, "claims": {"user_id": "sub"}, "single_use": true
        },
        {
            "name": "Env", "enabled": false, "token_name": "token", "issuer": "https://env.example.com",
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": {"env": "PATH"}},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        }
    ])
}

fn new_config(name: &str) -> Value {
    json!({
        "name": name, "token_name": "token", "issuer": format!("https://{}.example.com", name.to_lowercase()),
        "audience": "bi-server", "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": SECRET_NEW},
        "expiration_time": 3600, "claims": {"user_id": "sub"},
        "system_prompts": [{"kind": "text", "slot": 1, "claim": "dept"}]
    })
}

/// An HS256 token for the configuration of `issuer` and audience `aud`.
fn token(secret: &str, issuer: &str, aud: &str, exp: i64) -> String {
    let claims = json!({"iss": issuer, "aud": aud, "sub": "jdoe", "exp": exp});
    sign(secret, claims)
}

/// A token for the `Sales` configuration the tests create.
fn sales_token() -> String {
    token(
        SECRET_NEW,
        "https://sales.example.com",
        "bi-server",
        now() + 60,
    )
}

fn erp_token() -> String {
    token(
        SECRET_ERP,
        "https://erp.example.com",
        "bi-server",
        now() + 600,
    )
}

/// The user a token verifies as with the registry's `config` now, or the
/// error's kind.
fn verified(server: &AdminServer, token: &str, config: &str) -> Result<String, String> {
    server
        .registry
        .verify_cached(token, Route::Config(config).into())
        .map(|v| v.into_identity().user_id)
        .map_err(|e| e.kind().as_str().to_owned())
}

/// The names of a list reply, in order.
fn names(list: &Value) -> Vec<&str> {
    let list = list.as_array().expect("a list");
    list.iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect()
}

/// The server, and the session tokens of alice (an administrator) and bob
/// (a viewer).
struct Server {
    api: AdminServer,
    alice: String,
    bob: String,
}

impl std::ops::Deref for Server {
    type Target = AdminServer;
    fn deref(&self) -> &AdminServer {
        &self.api
    }
}

/// A server over a fresh file of [`configs`].
async fn start(name: &str) -> Server {
    serve(config_dir(name, &configs())).await
}

/// A server over the file in `dir` (a restart when another served it). The
/// callers: the admin token, and real sessions (the crate's `Sessions` and a
/// user store): alice has the administrator's role, bob does not.
async fn serve(dir: Arc<TempDir>) -> Server {
    use jwt_sso::{ManualClock, MemoryStore, Sessions, UnixTime, User, UserStore};
    let users = MemoryStore::new();
    for (id, roles) in [
        ("alice", vec!["Viewer", "Administrator"]),
        ("bob", vec!["Viewer"]),
    ] {
        let user = User {
            user_id: id.into(),
            user_type: "reader".into(),
            roles: roles.into_iter().map(Into::into).collect(),
            name: None,
            email: None,
            created_by_config: None,
        };
        users.create(&user).await.expect("a user");
    }
    let clock = ManualClock::new(UnixTime::from_secs(now()));
    let sessions = Arc::new(Sessions::new(MemoryStore::new(), clock));
    let alice = sessions.create("alice", "ERP").await.expect("a session");
    let bob = sessions.create("bob", "ERP").await.expect("a session");
    let auth = SessionAuth::new(sessions, users, &LoginOptions::default());
    let access = AdminAccess::new()
        .with_admin_token(ADMIN_TOKEN)
        .with_sessions(auth, "Administrator");
    let api = AdminServer::serve(dir, Admin::new, access, &SECRETS).await;
    Server { api, alice, bob }
}

#[tokio::test]
async fn who_may_call_the_api() {
    let server = start("auth").await;
    let cookie = format!("X-Auth-Token={}; token={ADMIN_TOKEN}", server.alice);
    let mut rows = vec![
        row("no credentials", "GET", CONFIGS, 401, "unauthorized")
            .by(Caller::Nobody)
            .check(Header("www-authenticate", "Bearer")),
        row("a wrong admin token", "GET", CONFIGS, 401, "unauthorized").by(Caller::authorization(
            &format!("Bearer {}8", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]),
        )),
        row(
            "the admin token as Basic",
            "GET",
            CONFIGS,
            401,
            "unauthorized",
        )
        .by(Caller::authorization(&format!("Basic {ADMIN_TOKEN}"))),
        // Credentials come from headers only, never from cookies.
        row(
            "a session and the token in cookies",
            "GET",
            CONFIGS,
            401,
            "unauthorized",
        )
        .by(Caller::Headers(vec![("cookie", cookie)])),
        row("an unknown session", "GET", CONFIGS, 401, "unauthorized")
            .by(Caller::session("session-nobody")),
        row("a viewer's session", "GET", CONFIGS, 403, "forbidden")
            .by(Caller::session(&server.bob)),
        row("an administrator's session", "GET", CONFIGS, 200, "")
            .by(Caller::session(&server.alice)),
        row("the admin token", "GET", CONFIGS, 200, ""),
    ];
    // Every endpoint asks.
    for (method, path) in [
        ("GET", ERP),
        ("PUT", ERP),
        ("PATCH", ERP),
        ("DELETE", "/api/admin/configs/erp?confirm=ERP"),
        ("POST", CONFIGS),
        ("POST", "/api/admin/configs/erp/test"),
    ] {
        let viewer = format!("{method} {path} by a viewer");
        rows.push(
            row(&viewer, method, path, 403, "forbidden")
                .by(Caller::session(&server.bob))
                .raw("{}"),
        );
        let nobody = format!("{method} {path} without credentials");
        rows.push(
            row(&nobody, method, path, 401, "unauthorized")
                .by(Caller::Nobody)
                .raw("{}"),
        );
    }
    server.run(rows).await;
    let erp = server
        .registry
        .get("ERP")
        .map(|c| c.name.as_str().to_owned());
    assert_eq!(erp.as_deref(), Some("ERP"), "refused calls delete nothing");

    // Without an admin token configured, no bearer gets in.
    let dir = config_dir("no-token", &configs());
    let closed = AdminServer::serve(dir, Admin::new, AdminAccess::new(), &SECRETS).await;
    closed
        .run(vec![
            row(
                "the admin token, none configured",
                "GET",
                CONFIGS,
                401,
                "unauthorized",
            ),
            row(
                "an empty bearer, none configured",
                "GET",
                CONFIGS,
                401,
                "unauthorized",
            )
            .by(Caller::authorization("Bearer ")),
            row(
                "a bearer x, none configured",
                "GET",
                CONFIGS,
                401,
                "unauthorized",
            )
            .by(Caller::authorization("Bearer x")),
        ])
        .await;
}

#[tokio::test]
async fn the_console_is_served_without_credentials_under_a_strict_policy() {
    let server = start("console").await;
    let rows = [
        ("/admin", "text/html"),
        ("/admin/console.js", "text/javascript"),
        ("/admin/console.css", "text/css"),
    ]
    .map(|(path, kind)| {
        row(path, "GET", path, 200, "").by(Caller::Nobody).checks([
            HeaderStarts("content-type", kind),
            Header("content-security-policy", CONSOLE_CSP),
            Header("x-content-type-options", "nosniff"),
            // The page holds no data.
            Lacks("ERP".into()),
        ])
    });
    server.run(rows.into()).await;
}

#[tokio::test]
async fn list_and_view_show_no_secrets() {
    let server = start("list").await;
    let redacted = json!({"redacted": true});
    let erp = json!({"name": "ERP", "enabled": true, "last_modified": "2026-03-13T10:00:00Z",
        "created_by": "setup", "issuer": "https://erp.example.com", "audience": "bi-server",
        "key_source": "static", "algorithms": ["HS256"]});
    let replies = server
        .run(vec![
            row("the list", "GET", CONFIGS, 200, "").checks([
                Is("/2", erp),
                Is("/0/created_by", Value::Null),
                Is("/0/audience", Value::Null),
            ]),
            row("a static secret", "GET", ERP, 200, "").checks([
                Is("/name", json!("ERP")),
                Is("/key_source/secret", redacted.clone()),
                Etag("ERP"),
            ]),
            row("a base64 secret", "GET", "/api/admin/configs/CRM", 200, "").checks([
                Is("/key_source/secret", redacted),
                Is("/single_use", json!(true)),
            ]),
            row(
                "an environment variable",
                "GET",
                "/api/admin/configs/env",
                200,
                "",
            )
            .check(Is("/key_source/secret", json!({"env": "PATH"}))),
            row(
                "an unknown name",
                "GET",
                "/api/admin/configs/nope",
                404,
                "unknown_config",
            )
            .check(Says("/error/hint", "list of configurations")),
        ])
        .await;
    assert_eq!(names(&replies[0].body), ["crm", "Env", "ERP"]);
    let warnings = replies[2].header("x-config-warnings").expect("warnings");
    let warnings: Vec<String> = serde_json::from_str(warnings).expect("a JSON list");
    assert!(
        warnings.iter().any(|w| w.contains("audience")),
        "a warning about crm's missing audience: {warnings:?}"
    );
}

#[tokio::test]
async fn create_sets_metadata_and_names_the_field_of_an_error() {
    let mut server = start("create").await;
    // The refused secrets below: no reply may echo them either.
    let refused = ["too-short-secret", "31415926535897932"];
    server.api.secrets.extend(refused.map(String::from));
    let before = now();
    let mut short = new_config("Short");
    short["key_source"]["secret"] = json!("too-short-secret");
    let mut slot = new_config("Slot");
    slot["system_prompts"] = json!([{"kind": "text", "slot": 1, "claim": "a"}, {"kind": "date", "slot": 11, "claim": "b"}]);
    let mut typed = new_config("Typed");
    typed["key_source"] = json!({"type": "static", "secret": 31415926535897932_u64});
    let mut typo = new_config("Typo");
    typo["audiance"] = json!("x");
    let field = |field: &'static str| Is("/error/field", json!(field));
    server
        .run(vec![
            row("create Sales", "POST", CONFIGS, 201, "")
                .json(new_config("Sales"))
                .checks([
                    Is("/created_by", json!("admin")),
                    Is("/key_source/secret", json!({"redacted": true})),
                    Etag("sales"),
                ]),
            // A session's user becomes the creator.
            row("create Finance as alice", "POST", CONFIGS, 201, "")
                .by(Caller::session(&server.alice))
                .json(new_config("Finance")),
            row(
                "a taken name, in another case",
                "POST",
                CONFIGS,
                409,
                "duplicate_name",
            )
            .json(new_config("SALES")),
            // Invalid: 400 with the field, never the secret (`refused`).
            row("a short secret", "POST", CONFIGS, 400, "config")
                .json(short)
                .checks([field("key_source.secret"), Says("/error/hint", "secret")]),
            // CONTRACT 7: the field a form shows the error beside.
            row("a slot out of range", "POST", CONFIGS, 400, "config")
                .json(slot)
                .check(field("system_prompts[1].slot")),
            // A secret of the wrong type is refused at its own field, never echoed.
            row("a secret of the wrong type", "POST", CONFIGS, 400, "config")
                .json(typed)
                .check(field("key_source.secret")),
            row("a misspelt field", "POST", CONFIGS, 400, "config")
                .json(typo)
                .check(field("audiance")),
            row("not JSON", "POST", CONFIGS, 400, "config").raw("{not json"),
        ])
        .await;
    let stored = server.registry.get("sales").expect("Sales is live");
    let modified = stored.last_modified.expect("a last_modified");
    assert!(modified.unix_timestamp() >= before, "{modified:?}");
    // It takes effect for the next login, and it is on disk.
    let token = sales_token();
    assert_eq!(verified(&server, &token, "Sales"), Ok("jdoe".to_owned()));
    assert!(server.file().contains("\"Sales\""));
    let finance = server.registry.get("finance").and_then(|c| c.created_by);
    assert_eq!(finance.as_deref(), Some("alice"));
    for name in ["Short", "Slot", "Typed", "Typo"] {
        let live = server
            .registry
            .get(name)
            .map(|c| c.name.as_str().to_owned());
        assert_eq!(live, None, "{name} was refused");
        assert!(!server.file().contains(name), "{name} is not on disk");
    }
}

#[tokio::test]
async fn update_needs_the_current_version_and_keeps_redacted_secrets() {
    let server = start("update").await;
    let view = server
        .one(row("the view", "GET", "/api/admin/configs/ERP", 200, "").check(Etag("ERP")))
        .await;
    let etag = view.etag.clone().expect("an ETag");
    let mut body = view.body.clone();
    body["audience"] = json!("reports");
    server
        .run(vec![
            row(
                "PUT without If-Match",
                "PUT",
                ERP,
                428,
                "precondition_required",
            )
            .json(body.clone()),
            row(
                "PUT with another version",
                "PUT",
                ERP,
                412,
                "version_conflict",
            )
            .tag("\"AAAAAAAAAAAAAAAAAAAAAA\"")
            .json(body.clone()),
        ])
        .await;
    let audience = server.registry.get("ERP").and_then(|c| c.audience);
    assert_eq!(
        audience.as_deref(),
        Some("bi-server"),
        "refused PUTs change nothing"
    );

    let before = now();
    server
        .one(
            row("PUT with the current version", "PUT", ERP, 200, "")
                .tag(&etag)
                .json(body.clone())
                .checks([EtagNot(etag.clone()), Etag("ERP")]),
        )
        .await;
    let stored = server.registry.get("ERP").expect("ERP");
    assert_eq!(stored.audience.as_deref(), Some("reports"));
    assert_eq!(stored.created_by.as_deref(), Some("setup"));
    let modified = stored.last_modified.expect("a last_modified");
    assert!(modified.unix_timestamp() >= before, "{modified:?}");
    // The secret sent as {"redacted":true} is the stored one: its tokens verify.
    let token = token(SECRET_ERP, "https://erp.example.com", "reports", now() + 60);
    assert_eq!(verified(&server, &token, "erp"), Ok("jdoe".to_owned()));
    assert!(server.file().contains(SECRET_ERP));

    let current = server.etag_of("erp");
    let enabled = |on: Value| json!({"enabled": on});
    let patch = "/api/admin/configs/ERP";
    server
        .run(vec![
            row(
                "the old ETag, stale now",
                "PUT",
                ERP,
                412,
                "version_conflict",
            )
            .tag(&etag)
            .json(body),
            row(
                "a rename onto a taken name",
                "PUT",
                ERP,
                409,
                "duplicate_name",
            )
            .edit(|c| c["name"] = json!("CRM")),
            row("a marker with nothing stored", "PUT", ERP, 400, "config")
                .edit(|c| {
                    c["key_source"] = json!({"type": "jwks", "jwks": {"keys": [
                        {"kty": "oct", "kid": "new", "k": {"redacted": true}}
                    ]}})
                })
                .check(Is("/error/field", json!("key_source.jwks.keys[0].k"))),
            // PATCH enabled, versioned too.
            row(
                "PATCH without If-Match",
                "PATCH",
                patch,
                428,
                "precondition_required",
            )
            .json(enabled(json!(false))),
            row(
                "PATCH enabled with a text",
                "PATCH",
                patch,
                400,
                "bad_request",
            )
            .tag(&current)
            .json(enabled(json!("no"))),
            row("PATCH enabled false", "PATCH", patch, 200, "")
                .tag(&current)
                .json(enabled(json!(false)))
                .check(Is("/enabled", json!(false))),
            row(
                "PATCH with the version before",
                "PATCH",
                patch,
                412,
                "version_conflict",
            )
            .tag(&current)
            .json(enabled(json!(true))),
        ])
        .await;
    let erp = server.registry.get("erp").expect("ERP");
    assert!(!erp.enabled, "ERP is disabled");
    assert_eq!(verified(&server, &token, "erp"), Err("disabled".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_administrators_racing_on_one_configuration_one_wins() {
    let server = Arc::new(start("race").await);
    for round in 0..5 {
        let view = server.one(row("the view", "GET", ERP, 200, "")).await;
        let etag = view.etag.clone().expect("an ETag");
        let mut tasks = Vec::new();
        for who in 0..2 {
            let server = Arc::clone(&server);
            let mut body = view.body.clone();
            body["leeway"] = json!(100 + round * 10 + who);
            let put = row(&format!("racer {who}"), "PUT", ERP, 0, "")
                .tag(&etag)
                .json(body);
            tasks.push(tokio::spawn(async move {
                let r = server.send(&put).await;
                (r.status, r.kind().to_owned(), who)
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("the racer"));
        }
        results.sort();
        assert_eq!(results[0].0, 200, "{results:?}");
        assert_eq!(
            (results[1].0, results[1].1.as_str()),
            (412, "version_conflict"),
            "{results:?}"
        );
        let winner = results[0].2;
        let leeway = 100 + round * 10 + winner;
        let live = server.registry.get("erp").expect("ERP");
        assert_eq!(live.leeway, leeway as u64);
        // Memory and disk agree.
        let on_disk = ConfigFile::new(&server.path)
            .load()
            .await
            .expect("the file");
        assert_eq!(on_disk.get("ERP").expect("ERP on disk").config, live);
    }
}

#[tokio::test]
async fn delete_needs_the_name_as_confirmation() {
    let server = start("delete").await;
    server
        .run(vec![
            row(
                "no confirmation",
                "DELETE",
                "/api/admin/configs/crm",
                400,
                "confirmation_required",
            ),
            row(
                "another name as confirmation",
                "DELETE",
                "/api/admin/configs/crm?confirm=ERP",
                400,
                "confirmation_required",
            ),
        ])
        .await;
    let crm = server
        .registry
        .get("crm")
        .map(|c| c.name.as_str().to_owned());
    assert_eq!(crm.as_deref(), Some("crm"), "crm is still live");
    assert!(server.file().contains("\"crm\""));
    let path = "/api/admin/configs/CRM?confirm=Crm";
    server
        .one(row("the name in another case", "DELETE", path, 204, ""))
        .await;
    let crm = server
        .registry
        .get("crm")
        .map(|c| c.name.as_str().to_owned());
    assert_eq!(crm, None, "crm is gone");
    assert!(!server.file().contains("\"crm\""));
    let path = "/api/admin/configs/crm?confirm=crm";
    server
        .one(row(
            "deleted already",
            "DELETE",
            path,
            404,
            "unknown_config",
        ))
        .await;
}

#[tokio::test]
async fn testing_a_token_returns_the_checklist_and_uses_nothing_up() {
    let server = start("test").await;
    // A wrong audience: steps 1-11 ok, 12 fails with the full message and hint.
    let other = token(SECRET_ERP, "https://erp.example.com", "other", now() + 600);
    // A single_use configuration: testing never uses the jti up.
    let crm = SigningKey::from_secret(&unb64(B64_SECRET))
        .sign(
            Algorithm::HS256,
            &json!({"iss": "https://crm.example.com", "sub": "jdoe", "jti": "once", "exp": now() + 600}),
        )
        .expect("a token");
    let test = |name: &str, config: &str, status, kind, body: Value| {
        let path = format!("/api/admin/configs/{config}/test");
        row(name, "POST", &path, status, kind).json(body)
    };
    let once = |name: &str| {
        test(name, "crm", 200, "", json!({"token": crm})).check(Is("/ok", json!(true)))
    };
    server
        .run(vec![
            test(
                "a good token",
                "erp",
                200,
                "",
                json!({"token": erp_token()}),
            )
            .checks([
                Is("/ok", json!(true)),
                Is("/identity/user_id", json!("jdoe")),
                Steps(&[("ok", 16)]),
            ]),
            test(
                "a wrong audience",
                "ERP",
                200,
                "audience_mismatch",
                json!({"token": other}),
            )
            .checks([
                Is("/ok", json!(false)),
                Steps(&[("ok", 11), ("fail", 1), ("skipped", 4)]),
                Says("/steps/11/message", "bi-server"),
                Says("/steps/11/hint", "audience"),
            ]),
            // `now` is honoured.
            test(
                "expired at the given now",
                "erp",
                200,
                "expired",
                json!({"token": erp_token(), "now": now() + 7200}),
            )
            .check(Is("/steps/10/status", json!("fail"))),
            once("a single_use token, tested once"),
            once("a single_use token, tested twice"),
            test(
                "an unknown configuration",
                "nope",
                404,
                "unknown_config",
                json!({"token": crm}),
            ),
            test(
                "no token member",
                "erp",
                400,
                "bad_request",
                json!({"jwt": crm}),
            ),
        ])
        .await;
}

/// Makes `dir` unwritable for this process: `chmod 0500`, or (as root, who
/// ignores modes) the immutable attribute. `None` when neither holds.
fn make_read_only(dir: &Path) -> Option<ReadOnly> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).expect("chmod");
    let probe = dir.join(".probe");
    if std::fs::write(&probe, "x").is_err() {
        return Some(ReadOnly(dir.to_path_buf(), false));
    }
    let _ = std::fs::remove_file(&probe);
    let ok = std::process::Command::new("chattr")
        .arg("+i")
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if ok && std::fs::write(&probe, "x").is_err() {
        return Some(ReadOnly(dir.to_path_buf(), true));
    }
    let _ = std::fs::remove_file(&probe);
    None
}

struct ReadOnly(PathBuf, bool);

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .status();
        }
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o700));
    }
}

#[tokio::test]
async fn a_failed_save_leaves_memory_and_disk_as_they_were() {
    let server = start("failed-save").await;
    let view = server.one(row("the view", "GET", ERP, 200, "")).await;
    let etag = view.etag.clone().expect("an ETag");
    let file_before = server.file();
    let list_before = server
        .one(row("the list", "GET", CONFIGS, 200, ""))
        .await
        .body;
    let registry_before = server.registry.list();

    let guard =
        make_read_only(server.dir.path()).expect("the test directory can be made read-only");
    let mut body = view.body.clone();
    body["audience"] = json!("changed");
    server
        .run(vec![
            row("create, unwritable", "POST", CONFIGS, 503, "store").json(new_config("Sales")),
            row("PUT, unwritable", "PUT", ERP, 503, "store")
                .tag(&etag)
                .json(body.clone()),
            row("PATCH, unwritable", "PATCH", ERP, 503, "store")
                .tag(&etag)
                .json(json!({"enabled": false})),
            row(
                "DELETE, unwritable",
                "DELETE",
                "/api/admin/configs/erp?confirm=erp",
                503,
                "store",
            ),
        ])
        .await;
    assert_eq!(server.file(), file_before);
    assert_eq!(server.registry.list(), registry_before);
    let after = server
        .run(vec![
            row("the list after", "GET", CONFIGS, 200, "").check(Is("", list_before)),
            row("the view after", "GET", ERP, 200, ""),
        ])
        .await;
    assert_eq!(after[1].etag, view.etag, "the version is the one before");
    drop(guard);

    // Writable again: the same change goes through.
    server
        .one(
            row("PUT, writable again", "PUT", ERP, 200, "")
                .tag(&etag)
                .json(body),
        )
        .await;
    assert!(server.file().contains("changed"));
    let leftovers = std::fs::read_dir(server.dir.path())
        .expect("the directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0, "no temporary file left");
}

#[tokio::test]
async fn changes_survive_a_restart() {
    let server = start("restart").await;
    let sales = "/api/admin/configs/sales";
    let replies = server
        .run(vec![
            row("create Sales", "POST", CONFIGS, 201, "").json(new_config("Sales")),
            row("disable ERP", "PATCH", ERP, 200, "")
                .stored("erp")
                .json(json!({"enabled": false})),
            row(
                "delete crm",
                "DELETE",
                "/api/admin/configs/crm?confirm=crm",
                204,
                "",
            ),
            row("the list", "GET", CONFIGS, 200, ""),
            row("Sales", "GET", sales, 200, "").check(Etag("sales")),
        ])
        .await;
    let (list, sales_etag) = (&replies[3].body, replies[4].etag.clone().expect("an ETag"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&server.path)
            .expect("the file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the file is the owner's only");
    }

    // A new registry from the file: the same list.
    let restarted = serve(Arc::clone(&server.dir)).await;
    let replies = restarted
        .run(vec![
            row("the list after a restart", "GET", CONFIGS, 200, "")
                .checks([Is("", list.clone()), Is("/1/enabled", json!(false))]),
            // The file store's versions live in memory: drawn anew at a restart,
            // so an `If-Match` from before it is stale (never a silent overwrite).
            row(
                "Sales after a restart",
                "GET",
                "/api/admin/configs/SALES",
                200,
                "",
            )
            .check(EtagNot(sales_etag.clone())),
            row(
                "an ETag from before the restart",
                "PATCH",
                sales,
                412,
                "version_conflict",
            )
            .tag(&sales_etag)
            .json(json!({"enabled": false})),
        ])
        .await;
    assert_eq!(names(&replies[0].body), ["Env", "ERP", "Sales"]);
    let token = sales_token();
    assert_eq!(verified(&restarted, &token, "sales"), Ok("jdoe".to_owned()));
}

/// A rename through the API keeps the configuration's stable id (its users
/// and used `jti`s stay its own), on disk and after a restart; a new
/// configuration under the old name gets another id; the id cannot be
/// changed through the API.
#[tokio::test]
async fn a_rename_keeps_the_stable_id_across_a_restart() {
    let server = start("rename").await;
    let replies = server
        .run(vec![
            row("the view", "GET", ERP, 200, "").check(Absent("/id")),
            row("a rename with another id", "PUT", ERP, 200, "")
                .edit(|c| {
                    c["name"] = json!("ERP (old)");
                    c["id"] = json!("something-else");
                })
                .checks([Is("/name", json!("ERP (old)")), Is("/id", json!("erp"))]),
            row("a new ERP", "POST", CONFIGS, 201, "").json(new_config("ERP")),
        ])
        .await;
    let on_disk = server.file_json();
    let disk = on_disk.as_array().expect("a list on disk");
    assert!(
        disk.iter()
            .any(|c| c["name"] == "ERP (old)" && c["id"] == "erp"),
        "{on_disk}"
    );
    // A new configuration gets a fresh random id, never the renamed one's.
    let fresh = replies[2].body["id"].as_str().expect("an id").to_owned();
    assert_eq!(fresh.len(), 32, "{fresh}");
    assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()), "{fresh}");

    let restarted = serve(Arc::clone(&server.dir)).await;
    let old = restarted.registry.get("erp (old)").expect("ERP (old)");
    assert_eq!(old.stable_id(), "erp");
    let new = restarted.registry.get("erp").expect("the new ERP");
    assert_eq!(new.stable_id(), fresh);
}

/// Issue 27: the admin API takes, stores, lists and tests a configuration
/// that allows `Ed25519` (RFC 9864's name) beside `EdDSA`.
#[tokio::test]
async fn an_ed25519_configuration_is_created_listed_and_tested() {
    let server = start("ed25519").await;
    let keys = format!("{}/tests/data/keys", env!("CARGO_MANIFEST_DIR"));
    let pem = |name: &str| std::fs::read_to_string(format!("{keys}/{name}")).expect("a key");
    let mut config = new_config("Edge");
    config["algorithms"] = json!(["Ed25519", "EdDSA"]);
    config["key_source"] = json!({"type": "static", "public_key_pem": pem("ed25519_public.pem")});
    let token = SigningKey::from_pem(&pem("ed25519_private.pem"))
        .sign_with_header(
            Algorithm::Ed25519,
            &json!({"alg": "Ed25519", "typ": "at+jwt", "kid": "ed-1"}),
            &json!({"iss": "https://edge.example.com", "aud": "bi-server", "sub": "jdoe",
                "exp": now() + 600}),
        )
        .expect("a token");
    let both = json!(["Ed25519", "EdDSA"]);
    let edge = "/api/admin/configs/edge";
    let test = "/api/admin/configs/edge/test";
    let replies = server
        .run(vec![
            row("create Edge", "POST", CONFIGS, 201, "").json(config),
            row("view Edge", "GET", edge, 200, "").check(Is("/algorithms", both.clone())),
            row("the list", "GET", CONFIGS, 200, ""),
            row("an Ed25519 token", "POST", test, 200, "")
                .json(json!({"token": token}))
                .checks([
                    Is("/ok", json!(true)),
                    Is("/identity/user_id", json!("jdoe")),
                ]),
        ])
        .await;
    let list = replies[2].body.as_array().expect("a list");
    let listed = list
        .iter()
        .find(|c| c["name"] == "Edge")
        .expect("Edge listed");
    assert_eq!(listed["algorithms"], both);
    assert!(server.file().contains("\"Ed25519\""));
    server
        .run(vec![
            row("allow EdDSA only", "PUT", edge, 200, "")
                .edit(|c| c["algorithms"] = json!(["EdDSA"])),
            // Only EdDSA allowed: step 4 fails and says why.
            row(
                "an Ed25519 token, EdDSA only",
                "POST",
                test,
                200,
                "algorithm_not_allowed",
            )
            .json(json!({"token": token}))
            .check(Says("/steps/3/message", "add `Ed25519` to `algorithms`")),
        ])
        .await;
}
