//! A `login_server` process ([`process::Instance`]) with a client that
//! speaks its API over real HTTP (the one client, [`http`]): logins,
//! sessions, the administrator's API with the admin token, `/metrics`.
//! Also what the end-to-end tests of `login_server` share: the admin
//! token, the issuers and their secrets, a configuration and a token of
//! each.

use super::fixtures::{now, sign};
use super::http::{self, Reply};
use super::process::{self, Instance};
use super::prometheus::Scrape;

use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The administrator's token the servers are started with (`JWT_SSO_ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "login-server-admin-token-0123456789ab";
pub const ERP: &str = "https://erp.example.com";
pub const CRM: &str = "https://crm.example.com";
pub const ONCE: &str = "https://once.example.com";
pub const PARTNER: &str = "https://partner.example.com";
pub const SECRET_ERP: &str = "login-server-erp-secret-0123456789abcd";
pub const SECRET_ONCE: &str = "login-server-once-secret-0123456789abc";
pub const SECRET_PARTNER: &str = "login-server-partner-secret-0123456789";
pub const SECRET_HAND: &str = "login-server-hand-secret-0123456789abc";

/// An HS256 configuration `name` for tokens of `issuer` signed with
/// `secret`, the user in `sub`.
pub fn hs256_config(name: &str, issuer: &str, secret: &str) -> Value {
    json!({
        "name": name, "token_name": "token", "issuer": issuer,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": secret},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    })
}

/// A token of `issuer` for `user` (in `sub`), signed with `secret`, valid
/// for ten minutes.
pub fn hs256_token(issuer: &str, secret: &str, user: &str) -> String {
    sign(
        secret,
        json!({"iss": issuer, "sub": user, "iat": now(), "exp": now() + 600}),
    )
}

/// One `login_server` process and a client for it (redirects not
/// followed); killed on drop.
pub struct Server {
    pub process: Instance,
    pub http: reqwest::Client,
}

impl Server {
    /// Starts `login_server --config CONFIG --db DB` with [`ADMIN_TOKEN`]
    /// and `args` (see [`Instance::start`]).
    pub fn start(config: &Path, db: &str, log: PathBuf, args: &[&str]) -> Server {
        Server {
            process: Instance::start(config, db, log, ADMIN_TOKEN, args),
            http: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
    }

    /// `kill -9`, and wait for the process to be gone.
    pub fn kill(self) {
        self.process.kill();
    }

    /// A JSON login with `token` (CONTRACT section 6).
    pub async fn login(&self, token: &str) -> Reply {
        self.login_from(token, None).await
    }

    /// [`Server::login`] from `client`, sent as the last `X-Forwarded-For` hop.
    pub async fn login_from(&self, token: &str, client: Option<&str>) -> Reply {
        let mut request = self
            .http
            .post(self.url("/api/auth/login"))
            .header("Content-Type", "application/json")
            .body(http::login_body(token));
        if let Some(client) = client {
            request = request.header("X-Forwarded-For", format!("192.0.2.200, {client}"));
        }
        Reply::send(request).await
    }

    /// `GET /api/session` with `session` as `X-Auth-Token`.
    pub async fn session(&self, session: &str) -> Reply {
        let request = self.http.get(self.url("/api/session"));
        Reply::send(request.header("X-Auth-Token", session)).await
    }

    /// `POST /api/auth/logout` with `session` as `X-Auth-Token`.
    pub async fn logout(&self, session: &str) -> Reply {
        let request = self.http.post(self.url("/api/auth/logout"));
        Reply::send(request.header("X-Auth-Token", session)).await
    }

    /// An admin API request with [`ADMIN_TOKEN`], not yet sent.
    pub fn admin_request(
        &self,
        method: Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        let url = self.url(path);
        http::admin_request(&self.http, method, url, ADMIN_TOKEN, if_match, body)
    }

    /// An admin API call with [`ADMIN_TOKEN`].
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        Reply::send(self.admin_request(method, path, if_match, body)).await
    }

    /// `GET /api/admin/configs/NAME`, which must answer 200: its `ETag`
    /// and body.
    pub async fn view(&self, name: &str) -> (String, Value) {
        let path = format!("/api/admin/configs/{name}");
        let reply = self.admin(Method::GET, &path, None, None).await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        (reply.etag.expect("an ETag"), reply.body)
    }

    /// The names of `GET /api/admin/configs`, in its order.
    pub async fn config_names(&self) -> Vec<String> {
        let reply = self
            .admin(Method::GET, "/api/admin/configs", None, None)
            .await;
        assert_eq!(reply.status, 200, "GET /api/admin/configs: {reply:?}");
        names(&reply.body)
    }

    /// `POST /api/admin/configs` with `config`, which must answer 201.
    pub async fn create(&self, config: &Value) -> Reply {
        let reply = self
            .admin(Method::POST, "/api/admin/configs", None, Some(config))
            .await;
        assert_eq!(reply.status, 201, "creating {}: {reply:?}", config["name"]);
        reply
    }

    /// `PATCH /api/admin/configs/NAME` with `{"enabled": …}` at the version
    /// the server shows now, which must answer 200.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Reply {
        let (etag, _) = self.view(name).await;
        let path = format!("/api/admin/configs/{name}");
        let body = json!({ "enabled": enabled });
        let reply = self
            .admin(Method::PATCH, &path, Some(&etag), Some(&body))
            .await;
        assert_eq!(reply.status, 200, "PATCH {path} {body}: {reply:?}");
        reply
    }

    /// `DELETE /api/admin/configs/NAME?confirm=NAME`, which must answer 204.
    pub async fn delete(&self, name: &str) {
        let path = format!("/api/admin/configs/{name}?confirm={name}");
        let reply = self.admin(Method::DELETE, &path, None, None).await;
        assert_eq!(reply.status, 204, "DELETE {path}: {reply:?}");
    }

    /// The metrics listener's page (`--metrics-listen`), which must be
    /// Prometheus text, parsed.
    pub async fn metrics(&self) -> Scrape {
        let reply = Reply::send(self.http.get(self.process.metrics_url())).await;
        assert_eq!(reply.status, 200, "/metrics: {reply:?}");
        let content_type = reply.header("content-type").unwrap_or("");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        match &reply.body {
            Value::String(text) => Scrape::parse(text),
            other => panic!("/metrics is not text: {other}"),
        }
    }
}

/// The one client's settings ([`http::client`]), but redirects are not
/// followed: a test reads a `303` and its `Location` itself.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client")
}

/// The `name`s of a JSON array of configurations, in order.
pub fn names(configs: &Value) -> Vec<String> {
    configs
        .as_array()
        .expect("an array of configurations")
        .iter()
        .map(|c| c["name"].as_str().expect("a name").to_owned())
        .collect()
}
