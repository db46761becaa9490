//! `login_server`'s router ([`super::app`]) served in process on a loopback
//! port by `jwt_sso::axum::serve`, over `configs.json` and a SQLite file in
//! a temporary directory, and spoken to through the one HTTP client
//! ([`super::http::no_redirects`]: a `303` is read, not followed).
//!
//! The issuers and secrets the tests share are [`super::server`]'s.

use std::net::SocketAddr;
use std::path::PathBuf;

use jwt_sso::axum::ServeOptions;
use jwt_sso::axum::admin::AdminAccess;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::app;
use super::fixtures::TempDir;
use super::http::{self, Reply};

pub use super::erp::CONFIG_VALUES;
pub use super::server::{CRM, ERP, ONCE, SECRET_ERP, SECRET_ONCE};
/// The HS256 secret of [`CRM`] (the e2e tests have none).
pub const SECRET_CRM: &str = "served-crm-secret-0123456789abcdef";

/// A temporary directory holding `configs.json` with `configs`.
pub fn dir(name: &str, configs: &Value) -> TempDir {
    let dir = TempDir::new(name);
    write_configs(&dir, configs);
    dir
}

/// Replaces the directory's `configs.json`.
pub fn write_configs(dir: &TempDir, configs: &Value) {
    std::fs::write(config_file(dir), configs.to_string()).expect("writing configs.json");
}

/// The `--config` file of a [`dir`].
pub fn config_file(dir: &TempDir) -> PathBuf {
    dir.join("configs.json")
}

/// The `--db` file of a [`dir`].
pub fn db_file(dir: &TempDir) -> PathBuf {
    dir.join("users.sqlite")
}

/// The rows of `jwt_sso_users` with `user_id` in the directory's database.
pub fn user_rows(dir: &TempDir, user_id: &str) -> i64 {
    let conn = rusqlite::Connection::open(db_file(dir)).expect("opening the SQLite file");
    conn.query_row(
        "SELECT COUNT(*) FROM jwt_sso_users WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )
    .expect("counting users")
}

/// How a [`Served`] runs: `login_server`'s options, the break-glass admin
/// token (none: the admin API takes sessions only), the connection bounds
/// (`login_server`'s defaults unless a test shortens them).
#[derive(Default)]
pub struct Setup {
    pub ops: app::Ops,
    pub admin_token: Option<&'static str>,
    pub options: ServeOptions,
}

/// One server; its background tasks end when it is dropped or stopped.
pub struct Served {
    pub addr: SocketAddr,
    http: reqwest::Client,
    task: JoinHandle<()>,
    _background: [jwt_sso::Task; 2],
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Served {
    /// Serves the directory's configurations with [`Setup::default`].
    pub async fn start(dir: &TempDir) -> Served {
        Served::start_with(dir, Setup::default()).await
    }

    pub async fn start_with(dir: &TempDir, setup: Setup) -> Served {
        let db = db_file(dir);
        let state = app::state_with(&config_file(dir), &db.to_string_lossy(), &setup.ops)
            .await
            .unwrap_or_else(|e| panic!("login_server's state: {e} ({})", e.hint()));
        let background = state.spawn_background();
        let access = match setup.admin_token {
            Some(token) => AdminAccess::new().with_admin_token(token),
            None => AdminAccess::new(),
        };
        let router = app::router_with(state, access);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("its address");
        let options = setup.options;
        let task = tokio::spawn(async move {
            jwt_sso::axum::serve(listener, router)
                .options(options)
                .await
                .expect("serving")
        });
        Served {
            addr,
            http: http::no_redirects(),
            task,
            _background: background,
        }
    }

    /// Stops serving (the connections with it) and waits until it has.
    pub async fn stop(mut self) {
        self.task.abort();
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request to `path` on the server's client.
    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        self.http.request(method, self.url(path))
    }

    /// One request with `headers` and `body`, on a connection of its own.
    /// Every answer but a `204` has a `Content-Length` (no chunked bodies
    /// from these routes).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut request = self.request(method, path).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let reply = Reply::send(request).await;
        assert!(
            reply.status == 204 || reply.headers.contains_key("content-length"),
            "{method} {path}: a sized body, got {:?}",
            reply.headers
        );
        reply
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", path, headers, "").await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let json = ("Content-Type", "application/json");
        self.send("POST", path, &[json], body).await
    }

    /// The JSON login (`POST /api/auth/login`) with `token`.
    pub async fn login(&self, token: &str) -> Reply {
        self.post_json("/api/auth/login", http::login_body(token))
            .await
    }

    /// A JSON login that must succeed; its session token.
    pub async fn session(&self, token: &str) -> String {
        let reply = self.login(token).await;
        assert_eq!(reply.status, 200, "a login: {}", reply.text);
        reply.session.expect("X-Auth-Token")
    }

    /// The browser's form login (`POST /login`).
    pub async fn form(&self, body: &str) -> Reply {
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        self.send("POST", "/login", &[form], body.to_owned()).await
    }

    /// `GET /api/session` with session token `session`.
    pub async fn whoami(&self, session: &str) -> Reply {
        self.get("/api/session", &[("X-Auth-Token", session)]).await
    }

    /// An administrator's request with bearer `token` (see
    /// [`http::admin_request`]).
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        token: &str,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let request =
            http::admin_request(&self.http, method, self.url(path), token, if_match, body);
        Reply::send(request).await
    }

    /// Sets members of configuration `name` through the admin API
    /// (`PATCH` with the current `ETag`); expects `200`.
    pub async fn patch_config(&self, token: &str, name: &str, patch: Value) {
        let path = format!("/api/admin/configs/{name}");
        let current = self.admin("GET", &path, token, None, None).await;
        assert_eq!(current.status, 200, "GET {path}: {}", current.text);
        let etag = current.etag.expect("an ETag");
        let reply = self
            .admin("PATCH", &path, token, Some(&etag), Some(&patch))
            .await;
        assert_eq!(reply.status, 200, "PATCH {path} {patch}: {}", reply.text);
    }
}
