//! The administrator's API over real HTTP (CONTRACT section 7): the router of
//! `jwt_sso::axum::admin` on an ephemeral loopback port, a real
//! configuration file in a temporary directory, and reqwest as the client.
#![cfg(all(feature = "axum", feature = "remote"))]

use crate::support::fixtures::now;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jwt_sso::axum::admin::{AdminAccess, router};
use jwt_sso::axum::{LoginOptions, SessionAuth};

/// The console's `Content-Security-Policy`: nothing but the page's own
/// script, styles and API.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
use jwt_sso::mint::SigningKey;
use jwt_sso::{Admin, Algorithm, ConfigFile, ConfigStore, Configs, Registry, Route};
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "admin-token-for-the-tests-0123456789";
const SECRET_ERP: &str = "admin-http-erp-secret-0123456789abcdef";
const SECRET_CRM: &str = "admin-http-crm-secret-0123456789abcdef";
const SECRET_NEW: &str = "admin-http-new-secret-0123456789abcdef";
const B64_SECRET: &str = "YWRtaW4taHR0cC1iYXNlNjQtc2VjcmV0LTAxMjM0NTY3ODlhYmM";
/// Every secret the tests use: none may appear in any response.
const SECRETS: [&str; 5] = [ADMIN_TOKEN, SECRET_ERP, SECRET_CRM, SECRET_NEW, B64_SECRET];

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

fn sign(secret: &[u8], claims: Value) -> String {
    SigningKey::from_secret(secret)
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

fn erp_token(sub: &str) -> String {
    sign(
        SECRET_ERP.as_bytes(),
        json!({"iss": "https://erp.example.com", "aud": "bi-server", "sub": sub, "exp": now() + 600}),
    )
}

/// One server: the file, the registry it was built from, the base URL.
struct Server {
    base: String,
    dir: PathBuf,
    path: PathBuf,
    registry: Arc<Registry>,
    configs: Configs,
    client: reqwest::Client,
    /// Every response's headers and body, to check that no secret leaks.
    seen: Arc<Mutex<Vec<String>>>,
    /// The session tokens of alice (an administrator) and bob (a viewer).
    alice: String,
    bob: String,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn etag(&self) -> String {
        self.header("etag").expect("an ETag").to_owned()
    }
    fn kind(&self) -> &str {
        self.body["error"]["kind"].as_str().unwrap_or("")
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "jwt-sso-admin-http-{}-{name}-{}",
        std::process::id(),
        now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The admin API's callers: the admin token, and real sessions (the
/// crate's `Sessions` and a user store): alice has the administrator's
/// role, bob does not.
struct Callers {
    access: AdminAccess,
    alice: String,
    bob: String,
}

async fn callers() -> Callers {
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
        users.create(&user).await.unwrap();
    }
    let clock = ManualClock::new(UnixTime::from_secs(now()));
    let sessions = Arc::new(Sessions::new(MemoryStore::new(), clock));
    let alice = sessions.create("alice", "ERP").await.unwrap();
    let bob = sessions.create("bob", "ERP").await.unwrap();
    let auth = SessionAuth::new(sessions, users, &LoginOptions::default());
    Callers {
        access: AdminAccess::new()
            .with_admin_token(ADMIN_TOKEN)
            .with_sessions(auth, "Administrator"),
        alice,
        bob,
    }
}

impl Server {
    async fn start(name: &str) -> Server {
        let dir = temp_dir(name);
        let path = dir.join("configs.json");
        std::fs::write(&path, serde_json::to_string_pretty(&configs()).unwrap()).unwrap();
        Server::on_file(dir, path, callers().await).await
    }

    /// A server over an existing file (a restart).
    async fn on_file(dir: PathBuf, path: PathBuf, callers: Callers) -> Server {
        let Callers { access, alice, bob } = callers;
        let configs = Configs::new(ConfigFile::new(&path)).load().await.unwrap();
        let registry = Arc::clone(configs.registry());
        let admin = Arc::new(Admin::new(configs.clone()));
        let app = router(admin, access);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server {
            base: format!("http://{addr}"),
            dir,
            path,
            registry,
            configs,
            client: reqwest::Client::new(),
            seen: Arc::default(),
            alice,
            bob,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        self.seen
            .lock()
            .unwrap()
            .push(format!("{headers:?}\n{text}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// A call as the holder of the admin token.
    async fn admin(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        self.call(method, path, &headers, body.map(|b| b.to_string()))
            .await
    }

    fn file(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }

    /// No secret in anything this server answered.
    fn assert_no_secret_seen(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(!seen.is_empty());
        for response in seen.iter() {
            for secret in SECRETS {
                assert!(!response.contains(secret), "a secret in: {response}");
            }
        }
    }
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

#[tokio::test]
async fn who_may_call_the_api() {
    let server = Server::start("auth").await;
    let none = server.call("GET", "/api/admin/configs", &[], None).await;
    assert_eq!((none.status, none.kind()), (401, "unauthorized"));
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));

    let wrong = server
        .call(
            "GET",
            "/api/admin/configs",
            &[(
                "authorization",
                "Bearer admin-token-for-the-tests-0123456788",
            )],
            None,
        )
        .await;
    assert_eq!((wrong.status, wrong.kind()), (401, "unauthorized"));
    let basic = server
        .call(
            "GET",
            "/api/admin/configs",
            &[("authorization", &format!("Basic {ADMIN_TOKEN}"))],
            None,
        )
        .await;
    assert_eq!(basic.status, 401);
    // Credentials come from headers only, never from cookies.
    let cookie = server
        .call(
            "GET",
            "/api/admin/configs",
            &[(
                "cookie",
                &format!("X-Auth-Token={}; token={ADMIN_TOKEN}", server.alice),
            )],
            None,
        )
        .await;
    assert_eq!(cookie.status, 401);

    let unknown = server
        .call(
            "GET",
            "/api/admin/configs",
            &[("x-auth-token", "session-nobody")],
            None,
        )
        .await;
    assert_eq!((unknown.status, unknown.kind()), (401, "unauthorized"));
    let viewer = server
        .call(
            "GET",
            "/api/admin/configs",
            &[("x-auth-token", server.bob.as_str())],
            None,
        )
        .await;
    assert_eq!((viewer.status, viewer.kind()), (403, "forbidden"));
    let alice = server
        .call(
            "GET",
            "/api/admin/configs",
            &[("x-auth-token", server.alice.as_str())],
            None,
        )
        .await;
    assert_eq!(alice.status, 200);
    let token = server.admin("GET", "/api/admin/configs", &[], None).await;
    assert_eq!(token.status, 200);
    // Every endpoint asks.
    for (method, path) in [
        ("GET", "/api/admin/configs/erp"),
        ("PUT", "/api/admin/configs/erp"),
        ("PATCH", "/api/admin/configs/erp"),
        ("DELETE", "/api/admin/configs/erp?confirm=ERP"),
        ("POST", "/api/admin/configs"),
        ("POST", "/api/admin/configs/erp/test"),
    ] {
        let r = server
            .call(
                method,
                path,
                &[("x-auth-token", server.bob.as_str())],
                Some("{}".into()),
            )
            .await;
        assert_eq!(r.status, 403, "{method} {path}");
        let r = server.call(method, path, &[], Some("{}".into())).await;
        assert_eq!(r.status, 401, "{method} {path}");
    }
    assert!(server.registry.get("ERP").is_some());

    // Without an admin token configured, no bearer gets in.
    let dir = temp_dir("no-token");
    let path = dir.join("configs.json");
    std::fs::write(&path, configs().to_string()).unwrap();
    let nobody = Callers {
        access: AdminAccess::new(),
        alice: String::new(),
        bob: String::new(),
    };
    let closed = Server::on_file(dir, path, nobody).await;
    for auth in [
        format!("Bearer {ADMIN_TOKEN}"),
        "Bearer ".to_owned(),
        "Bearer x".to_owned(),
    ] {
        let r = closed
            .call(
                "GET",
                "/api/admin/configs",
                &[("authorization", &auth)],
                None,
            )
            .await;
        assert_eq!(r.status, 401, "{auth}");
    }
    server.assert_no_secret_seen();
}

#[tokio::test]
async fn the_console_is_served_without_credentials_under_a_strict_policy() {
    let server = Server::start("console").await;
    for (path, kind) in [
        ("/admin", "text/html"),
        ("/admin/console.js", "text/javascript"),
        ("/admin/console.css", "text/css"),
    ] {
        let r = server.call("GET", path, &[], None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert_eq!(r.header("content-security-policy"), Some(CONSOLE_CSP));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(!r.text.contains("ERP"), "the page holds no data");
    }
    assert_eq!(
        CONSOLE_CSP,
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn list_and_view_show_no_secrets() {
    let server = Server::start("list").await;
    let list = server.admin("GET", "/api/admin/configs", &[], None).await;
    assert_eq!(list.status, 200);
    let names: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["crm", "Env", "ERP"]);
    let erp = &list.body[2];
    assert_eq!(
        erp,
        &json!({"name": "ERP", "enabled": true, "last_modified": "2026-03-13T10:00:00Z",
                "created_by": "setup", "issuer": "https://erp.example.com", "audience": "bi-server",
                "key_source": "static", "algorithms": ["HS256"]})
    );
    assert_eq!(list.body[0]["created_by"], Value::Null);
    assert_eq!(list.body[0]["audience"], Value::Null);

    let view = server
        .admin("GET", "/api/admin/configs/erp", &[], None)
        .await;
    assert_eq!(view.status, 200);
    assert_eq!(view.body["name"], "ERP");
    assert_eq!(view.body["key_source"]["secret"], json!({"redacted": true}));
    let version = server.configs.get("ERP").unwrap().version;
    assert_eq!(view.etag(), format!("\"{version}\""));
    let crm = server
        .admin("GET", "/api/admin/configs/CRM", &[], None)
        .await;
    assert_eq!(crm.body["key_source"]["secret"], json!({"redacted": true}));
    assert_eq!(crm.body["single_use"], true);
    let warnings: Vec<String> =
        serde_json::from_str(crm.header("x-config-warnings").unwrap()).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("audience")),
        "{warnings:?}"
    );
    let env = server
        .admin("GET", "/api/admin/configs/env", &[], None)
        .await;
    assert_eq!(env.body["key_source"]["secret"], json!({"env": "PATH"}));

    let missing = server
        .admin("GET", "/api/admin/configs/nope", &[], None)
        .await;
    assert_eq!((missing.status, missing.kind()), (404, "unknown_config"));
    assert!(missing.body["error"]["hint"].as_str().is_some());
    server.assert_no_secret_seen();
}

#[tokio::test]
async fn create_sets_metadata_and_names_the_field_of_an_error() {
    let server = Server::start("create").await;
    let before = now();
    let created = server
        .admin("POST", "/api/admin/configs", &[], Some(new_config("Sales")))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["created_by"], "admin");
    assert_eq!(
        created.body["key_source"]["secret"],
        json!({"redacted": true})
    );
    let stored = server.registry.get("sales").unwrap();
    assert!(stored.last_modified.unwrap().unix_timestamp() >= before);
    assert_eq!(
        created.etag(),
        format!("\"{}\"", server.configs.get("sales").unwrap().version)
    );
    // It takes effect for the next login, and it is on disk.
    let token = sign(
        SECRET_NEW.as_bytes(),
        json!({"iss": "https://sales.example.com", "aud": "bi-server", "sub": "jdoe", "exp": now() + 60}),
    );
    assert_eq!(
        server
            .registry
            .verify_cached(&token, Route::Config("Sales").into())
            .unwrap()
            .user_id,
        "jdoe"
    );
    assert!(server.file().contains("\"Sales\""));

    // A session's user becomes the creator.
    let by_alice = server
        .call(
            "POST",
            "/api/admin/configs",
            &[("x-auth-token", server.alice.as_str())],
            Some(new_config("Finance").to_string()),
        )
        .await;
    assert_eq!(by_alice.status, 201);
    assert_eq!(
        server
            .registry
            .get("finance")
            .unwrap()
            .created_by
            .as_deref(),
        Some("alice")
    );

    // A taken name, in any case.
    let dup = server
        .admin("POST", "/api/admin/configs", &[], Some(new_config("SALES")))
        .await;
    assert_eq!((dup.status, dup.kind()), (409, "duplicate_name"));

    // Invalid: 400 with the field, never the secret.
    let mut short = new_config("Short");
    short["key_source"]["secret"] = json!("too-short-secret");
    let r = server
        .admin("POST", "/api/admin/configs", &[], Some(short))
        .await;
    assert_eq!((r.status, r.kind()), (400, "config"), "{}", r.text);
    assert_eq!(r.body["error"]["field"], "key_source.secret");
    assert!(!r.text.contains("too-short-secret"));
    assert!(r.body["error"]["hint"].as_str().unwrap().len() > 10);

    let mut slot = new_config("Slot");
    slot["system_prompts"] = json!([{"kind": "text", "slot": 1, "claim": "a"}, {"kind": "date", "slot": 11, "claim": "b"}]);
    let r = server
        .admin("POST", "/api/admin/configs", &[], Some(slot))
        .await;
    assert_eq!(r.status, 400);
    // CONTRACT 7: the field a form shows the error beside.
    assert_eq!(
        r.body["error"]["field"], "system_prompts[1].slot",
        "{}",
        r.text
    );
    // A secret of the wrong type is refused at its own field, never echoed.
    let mut typed = new_config("Typed");
    typed["key_source"] = json!({"type": "static", "secret": 31415926535897932_u64});
    let r = server
        .admin("POST", "/api/admin/configs", &[], Some(typed))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["field"], "key_source.secret", "{}", r.text);
    assert!(!r.text.contains("31415926535897932"), "{}", r.text);

    let mut typo = new_config("Typo");
    typo["audiance"] = json!("x");
    let r = server
        .admin("POST", "/api/admin/configs", &[], Some(typo))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["field"], "audiance", "{}", r.text);

    let r = server
        .call(
            "POST",
            "/api/admin/configs",
            &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
            Some("{not json".into()),
        )
        .await;
    assert_eq!((r.status, r.kind()), (400, "config"));
    for name in ["Short", "Slot", "Typo"] {
        assert!(server.registry.get(name).is_none());
        assert!(!server.file().contains(name));
    }
    server.assert_no_secret_seen();
}

#[tokio::test]
async fn update_needs_the_current_version_and_keeps_redacted_secrets() {
    let server = Server::start("update").await;
    let view = server
        .admin("GET", "/api/admin/configs/ERP", &[], None)
        .await;
    let etag = view.etag();
    let mut body = view.body.clone();
    body["audience"] = json!("reports");

    let r = server
        .admin("PUT", "/api/admin/configs/erp", &[], Some(body.clone()))
        .await;
    assert_eq!((r.status, r.kind()), (428, "precondition_required"));
    let r = server
        .admin(
            "PUT",
            "/api/admin/configs/erp",
            &[("if-match", "\"AAAAAAAAAAAAAAAAAAAAAA\"")],
            Some(body.clone()),
        )
        .await;
    assert_eq!((r.status, r.kind()), (412, "version_conflict"));
    assert_eq!(
        server.registry.get("ERP").unwrap().audience.as_deref(),
        Some("bi-server")
    );

    let before = now();
    let r = server
        .admin(
            "PUT",
            "/api/admin/configs/erp",
            &[("if-match", &etag)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.etag(), etag);
    let stored = server.registry.get("ERP").unwrap();
    assert_eq!(stored.audience.as_deref(), Some("reports"));
    assert_eq!(stored.created_by.as_deref(), Some("setup"));
    assert!(stored.last_modified.unwrap().unix_timestamp() >= before);
    assert_eq!(
        r.etag(),
        format!("\"{}\"", server.configs.get("ERP").unwrap().version)
    );
    // The secret sent as {"redacted":true} is the stored one: its tokens verify.
    let token = sign(
        SECRET_ERP.as_bytes(),
        json!({"iss": "https://erp.example.com", "aud": "reports", "sub": "jdoe", "exp": now() + 60}),
    );
    assert_eq!(
        server
            .registry
            .verify_cached(&token, Route::Config("erp").into())
            .map(|v| String::from(v.into_identity().user_id))
            .map_err(|e| e.kind()),
        Ok("jdoe".to_owned())
    );
    assert!(server.file().contains(SECRET_ERP));
    // The old ETag is stale now.
    let r = server
        .admin(
            "PUT",
            "/api/admin/configs/erp",
            &[("if-match", &etag)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 412);

    // A rename onto a taken name is refused; a marker with nothing stored is a field error.
    let current = server
        .admin("GET", "/api/admin/configs/erp", &[], None)
        .await;
    let mut renamed = current.body.clone();
    renamed["name"] = json!("CRM");
    let r = server
        .admin(
            "PUT",
            "/api/admin/configs/erp",
            &[("if-match", &current.etag())],
            Some(renamed),
        )
        .await;
    assert_eq!((r.status, r.kind()), (409, "duplicate_name"));
    let mut pem = current.body.clone();
    pem["key_source"] = json!({"type": "jwks", "jwks": {"keys": [{"kty": "oct", "kid": "new", "k": {"redacted": true}}]}});
    let r = server
        .admin(
            "PUT",
            "/api/admin/configs/erp",
            &[("if-match", &current.etag())],
            Some(pem),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["field"], "key_source.jwks.keys[0].k");

    // PATCH enabled, versioned too.
    let r = server
        .admin(
            "PATCH",
            "/api/admin/configs/ERP",
            &[],
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, 428);
    let r = server
        .admin(
            "PATCH",
            "/api/admin/configs/ERP",
            &[("if-match", &current.etag())],
            Some(json!({"enabled": "no"})),
        )
        .await;
    assert_eq!((r.status, r.kind()), (400, "bad_request"));
    let r = server
        .admin(
            "PATCH",
            "/api/admin/configs/ERP",
            &[("if-match", &current.etag())],
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enabled"], false);
    assert!(!server.registry.get("erp").unwrap().enabled);
    assert_eq!(
        server
            .registry
            .verify_cached(&token, Route::Config("erp").into())
            .unwrap_err()
            .kind()
            .as_str(),
        "disabled"
    );
    let r = server
        .admin(
            "PATCH",
            "/api/admin/configs/ERP",
            &[("if-match", &current.etag())],
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(r.status, 412);
    server.assert_no_secret_seen();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_administrators_racing_on_one_configuration_one_wins() {
    let server = Arc::new(Server::start("race").await);
    for round in 0..5 {
        let view = server
            .admin("GET", "/api/admin/configs/erp", &[], None)
            .await;
        let etag = view.etag();
        let mut tasks = Vec::new();
        for who in 0..2 {
            let server = Arc::clone(&server);
            let etag = etag.clone();
            let mut body = view.body.clone();
            body["leeway"] = json!(100 + round * 10 + who);
            tasks.push(tokio::spawn(async move {
                let r = server
                    .admin(
                        "PUT",
                        "/api/admin/configs/erp",
                        &[("if-match", &etag)],
                        Some(body),
                    )
                    .await;
                (r.status, r.kind().to_owned(), who)
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
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
        assert_eq!(server.registry.get("erp").unwrap().leeway, leeway as u64);
        // Memory and disk agree.
        let on_disk = ConfigFile::new(&server.path).load().await.unwrap();
        let erp = &on_disk.get("ERP").unwrap().config;
        assert_eq!(erp, &server.registry.get("erp").unwrap());
    }
}

#[tokio::test]
async fn delete_needs_the_name_as_confirmation() {
    let server = Server::start("delete").await;
    let r = server
        .admin("DELETE", "/api/admin/configs/crm", &[], None)
        .await;
    assert_eq!((r.status, r.kind()), (400, "confirmation_required"));
    let r = server
        .admin("DELETE", "/api/admin/configs/crm?confirm=ERP", &[], None)
        .await;
    assert_eq!((r.status, r.kind()), (400, "confirmation_required"));
    assert!(server.registry.get("crm").is_some());
    assert!(server.file().contains("\"crm\""));
    let r = server
        .admin("DELETE", "/api/admin/configs/CRM?confirm=Crm", &[], None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(server.registry.get("crm").is_none());
    assert!(!server.file().contains("\"crm\""));
    let r = server
        .admin("DELETE", "/api/admin/configs/crm?confirm=crm", &[], None)
        .await;
    assert_eq!(r.status, 404);
    server.assert_no_secret_seen();
}

#[tokio::test]
async fn testing_a_token_returns_the_checklist_and_uses_nothing_up() {
    let server = Server::start("test").await;
    let ok = server
        .admin(
            "POST",
            "/api/admin/configs/erp/test",
            &[],
            Some(json!({"token": erp_token("jdoe")})),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["ok"], true);
    assert_eq!(ok.body["identity"]["user_id"], "jdoe");
    let steps = ok.body["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 16);
    assert!(steps.iter().all(|s| s["status"] == "ok"));
    assert_eq!(steps[0]["step"], 1);

    // A wrong audience: steps 1-11 ok, 12 fails with the full message and hint.
    let token = sign(
        SECRET_ERP.as_bytes(),
        json!({"iss": "https://erp.example.com", "aud": "other", "sub": "jdoe", "exp": now() + 600}),
    );
    let r = server
        .admin(
            "POST",
            "/api/admin/configs/ERP/test",
            &[],
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["error"]["kind"], "audience_mismatch");
    let steps = r.body["steps"].as_array().unwrap();
    assert!(
        steps[..11]
            .iter()
            .all(|s| s["status"] == "ok" && s.get("message").is_none())
    );
    assert_eq!(steps[11]["status"], "fail");
    assert!(steps[11]["message"].as_str().unwrap().contains("bi-server"));
    assert!(steps[11]["hint"].as_str().unwrap().contains("audience"));
    assert!(steps[12..].iter().all(|s| s["status"] == "skipped"));

    // `now` is honoured.
    let r = server
        .admin(
            "POST",
            "/api/admin/configs/erp/test",
            &[],
            Some(json!({"token": erp_token("jdoe"), "now": now() + 7200})),
        )
        .await;
    assert_eq!(r.body["error"]["kind"], "expired");
    assert_eq!(r.body["steps"][10]["status"], "fail");

    // A single_use configuration: testing never uses the jti up.
    let secret = base64_decode(B64_SECRET);
    let token = sign(
        &secret,
        json!({"iss": "https://crm.example.com", "sub": "jdoe", "jti": "once", "exp": now() + 600}),
    );
    for _ in 0..2 {
        let r = server
            .admin(
                "POST",
                "/api/admin/configs/crm/test",
                &[],
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
    }
    let r = server
        .admin(
            "POST",
            "/api/admin/configs/nope/test",
            &[],
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = server
        .admin(
            "POST",
            "/api/admin/configs/erp/test",
            &[],
            Some(json!({"jwt": token})),
        )
        .await;
    assert_eq!((r.status, r.kind()), (400, "bad_request"));
    server.assert_no_secret_seen();
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .unwrap()
}

/// Makes `dir` unwritable for this process: `chmod 0500`, or (as root, who
/// ignores modes) the immutable attribute. `None` when neither holds.
fn make_read_only(dir: &Path) -> Option<ReadOnly> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
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
    let server = Server::start("failed-save").await;
    let view = server
        .admin("GET", "/api/admin/configs/erp", &[], None)
        .await;
    let file_before = server.file();
    let list_before = server
        .admin("GET", "/api/admin/configs", &[], None)
        .await
        .body;
    let registry_before = server.registry.list();

    let guard = make_read_only(&server.dir).expect("the test directory can be made read-only");
    let mut body = view.body.clone();
    body["audience"] = json!("changed");
    let attempts = [
        server
            .admin("POST", "/api/admin/configs", &[], Some(new_config("Sales")))
            .await,
        server
            .admin(
                "PUT",
                "/api/admin/configs/erp",
                &[("if-match", &view.etag())],
                Some(body.clone()),
            )
            .await,
        server
            .admin(
                "PATCH",
                "/api/admin/configs/erp",
                &[("if-match", &view.etag())],
                Some(json!({"enabled": false})),
            )
            .await,
        server
            .admin("DELETE", "/api/admin/configs/erp?confirm=erp", &[], None)
            .await,
    ];
    for r in &attempts {
        assert_eq!((r.status, r.kind()), (503, "store"), "{}", r.text);
    }
    assert_eq!(server.file(), file_before);
    assert_eq!(server.registry.list(), registry_before);
    let list_after = server
        .admin("GET", "/api/admin/configs", &[], None)
        .await
        .body;
    assert_eq!(list_after, list_before);
    let after = server
        .admin("GET", "/api/admin/configs/erp", &[], None)
        .await;
    assert_eq!(after.etag(), view.etag());
    drop(guard);

    // Writable again: the same change goes through.
    let r = server
        .admin(
            "PUT",
            "/api/admin/configs/erp",
            &[("if-match", &view.etag())],
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(server.file().contains("changed"));
    let leftovers = std::fs::read_dir(&server.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
    server.assert_no_secret_seen();
}

#[tokio::test]
async fn changes_survive_a_restart() {
    let server = Server::start("restart").await;
    let created = server
        .admin("POST", "/api/admin/configs", &[], Some(new_config("Sales")))
        .await;
    assert_eq!(created.status, 201);
    let view = server
        .admin("GET", "/api/admin/configs/erp", &[], None)
        .await;
    let r = server
        .admin(
            "PATCH",
            "/api/admin/configs/erp",
            &[("if-match", &view.etag())],
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = server
        .admin("DELETE", "/api/admin/configs/crm?confirm=crm", &[], None)
        .await;
    assert_eq!(r.status, 204);
    let list = server
        .admin("GET", "/api/admin/configs", &[], None)
        .await
        .body;
    let sales_etag = server
        .admin("GET", "/api/admin/configs/sales", &[], None)
        .await
        .etag();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&server.path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A new registry from the file: the same list.
    let restarted = Server::on_file(server.dir.clone(), server.path.clone(), callers().await).await;
    let list_after = restarted
        .admin("GET", "/api/admin/configs", &[], None)
        .await
        .body;
    assert_eq!(list_after, list);
    let names: Vec<&str> = list_after
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Env", "ERP", "Sales"]);
    assert_eq!(list_after[1]["enabled"], false);
    // The file store's versions live in memory: drawn anew at a restart,
    // so an `If-Match` from before it is stale (never a silent overwrite).
    let again = restarted
        .admin("GET", "/api/admin/configs/SALES", &[], None)
        .await;
    assert_ne!(again.etag(), sales_etag);
    let stale = restarted
        .admin(
            "PATCH",
            "/api/admin/configs/sales",
            &[("if-match", &sales_etag)],
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!((stale.status, stale.kind()), (412, "version_conflict"));
    let token = sign(
        SECRET_NEW.as_bytes(),
        json!({"iss": "https://sales.example.com", "aud": "bi-server", "sub": "jdoe", "exp": now() + 60}),
    );
    assert_eq!(
        restarted
            .registry
            .verify_cached(&token, Route::Config("sales").into())
            .map(|v| String::from(v.into_identity().user_id))
            .map_err(|e| e.kind()),
        Ok("jdoe".to_owned())
    );
    restarted.assert_no_secret_seen();
    server.assert_no_secret_seen();
}

/// A rename through the API keeps the configuration's stable id (its users
/// and used `jti`s stay its own), on disk and after a restart; a new
/// configuration under the old name gets another id; the id cannot be
/// changed through the API.
#[tokio::test]
async fn a_rename_keeps_the_stable_id_across_a_restart() {
    let server = Server::start("rename").await;
    let view = server
        .admin("GET", "/api/admin/configs/erp", &[], None)
        .await;
    assert_eq!(view.body.get("id"), None, "{}", view.text);
    let mut renamed = view.body.clone();
    renamed["name"] = json!("ERP (old)");
    renamed["id"] = json!("something-else");
    let r = server
        .admin(
            "PUT",
            "/api/admin/configs/erp",
            &[("if-match", &view.etag())],
            Some(renamed),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "ERP (old)");
    assert_eq!(r.body["id"], "erp", "{}", r.text);
    let on_disk: Value = serde_json::from_str(&server.file()).unwrap();
    assert!(
        on_disk
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "ERP (old)" && c["id"] == "erp"),
        "{on_disk}"
    );

    let r = server
        .admin("POST", "/api/admin/configs", &[], Some(new_config("ERP")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // A new configuration gets a fresh random id, never the renamed one's.
    let fresh = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(fresh.len(), 32, "{}", r.text);
    assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()), "{fresh}");

    let restarted = Server::on_file(server.dir.clone(), server.path.clone(), callers().await).await;
    assert_eq!(
        restarted.registry.get("erp (old)").unwrap().stable_id(),
        "erp"
    );
    assert_eq!(restarted.registry.get("erp").unwrap().stable_id(), fresh);
    server.assert_no_secret_seen();
}

/// Issue 27: the admin API takes, stores, lists and tests a configuration
/// that allows `Ed25519` (RFC 9864's name) beside `EdDSA`.
#[tokio::test]
async fn an_ed25519_configuration_is_created_listed_and_tested() {
    let server = Server::start("ed25519").await;
    let keys = format!("{}/tests/data/keys", env!("CARGO_MANIFEST_DIR"));
    let mut config = new_config("Edge");
    config["algorithms"] = json!(["Ed25519", "EdDSA"]);
    config["key_source"] = json!({"type": "static",
        "public_key_pem": std::fs::read_to_string(format!("{keys}/ed25519_public.pem")).unwrap()});
    let created = server
        .admin("POST", "/api/admin/configs", &[], Some(config))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let view = server
        .admin("GET", "/api/admin/configs/edge", &[], None)
        .await;
    assert_eq!(view.body["algorithms"], json!(["Ed25519", "EdDSA"]));
    let list = server.admin("GET", "/api/admin/configs", &[], None).await;
    let edge = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Edge")
        .unwrap();
    assert_eq!(edge["algorithms"], json!(["Ed25519", "EdDSA"]));
    assert!(server.file().contains("\"Ed25519\""));

    let token = (SigningKey::from_pem(
        &std::fs::read_to_string(format!("{keys}/ed25519_private.pem")).unwrap(),
    ))
    .sign_with_header(
        Algorithm::Ed25519,
        &json!({"alg": "Ed25519", "typ": "at+jwt", "kid": "ed-1"}),
        &json!({"iss": "https://edge.example.com", "aud": "bi-server", "sub": "jdoe",
            "exp": now() + 600}),
    )
    .unwrap();
    let r = server
        .admin(
            "POST",
            "/api/admin/configs/edge/test",
            &[],
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
    assert_eq!(r.body["identity"]["user_id"], "jdoe", "{}", r.text);
    // Only EdDSA allowed: step 4 fails and says why.
    let current = server
        .admin("GET", "/api/admin/configs/edge", &[], None)
        .await;
    let etag = current.headers["etag"].to_str().unwrap().to_owned();
    let mut only_eddsa = current.body.clone();
    only_eddsa["algorithms"] = json!(["EdDSA"]);
    let put = server
        .admin(
            "PUT",
            "/api/admin/configs/edge",
            &[("if-match", &etag)],
            Some(only_eddsa),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let r = server
        .admin(
            "POST",
            "/api/admin/configs/edge/test",
            &[],
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(
        r.body["error"]["kind"], "algorithm_not_allowed",
        "{}",
        r.text
    );
    assert!(
        r.body["steps"][3]["message"]
            .as_str()
            .unwrap()
            .contains("add `Ed25519` to `algorithms`"),
        "{}",
        r.text
    );
    server.assert_no_secret_seen();
}
