//! The administrator's API (CONTRACT section 7) on loopback for the host
//! tier's table-driven tests: [`AdminServer`], the router of
//! `jwt_sso::axum::admin` over a real configuration file, and [`Row`], one
//! request with what its reply must show, sent through the one client
//! ([`admin_request`], [`Reply`]). Every reply is searched for the secrets the
//! server was given: none may appear in a header or a body.

use std::path::PathBuf;
use std::sync::Arc;

use jwt_sso::axum::admin::{AdminAccess, router};
use jwt_sso::{Admin, ConfigFile, Configs, Registry};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::Value;

use super::fixtures::TempDir;
use super::http::{Reply, admin_request, client};

/// The admin token of [`Caller::Admin`] (ends in `9`, so a test can make a
/// wrong one of the same length).
pub const ADMIN_TOKEN: &str = "admin-token-for-the-tests-0123456789";
/// The list of configurations; `CONFIGS/{name}` one of them.
pub const CONFIGS: &str = "/api/admin/configs";
/// The host's catalogue of role names and user types.
pub const CATALOG: &str = "/api/admin/catalog";

/// A server of the administrator's API over `configs.json` in a directory
/// of its own.
pub struct AdminServer {
    pub base: String,
    /// Shared by a restarted server over the same file.
    pub dir: Arc<TempDir>,
    pub path: PathBuf,
    pub registry: Arc<Registry>,
    pub configs: Configs,
    pub http: reqwest::Client,
    /// Texts no reply may hold.
    pub secrets: Vec<String>,
}

/// A fresh directory holding `configs` as `configs.json`.
pub fn config_dir(name: &str, configs: &Value) -> Arc<TempDir> {
    let dir = TempDir::new(&format!("admin-{name}"));
    let text = serde_json::to_string_pretty(configs).expect("JSON");
    std::fs::write(dir.join("configs.json"), text).expect("the configuration file");
    Arc::new(dir)
}

impl AdminServer {
    /// Serves the file in `dir` through the `Admin` that `admin` makes of
    /// its configurations, behind `access` (which holds [`ADMIN_TOKEN`] or
    /// not). No reply may hold a secret of `secrets` or the admin token.
    pub async fn serve(
        dir: Arc<TempDir>,
        admin: impl FnOnce(Configs) -> Admin,
        access: AdminAccess,
        secrets: &[&str],
    ) -> AdminServer {
        let path = dir.join("configs.json");
        let configs = Configs::new(ConfigFile::new(&path))
            .load()
            .await
            .expect("a valid configuration file");
        let registry = Arc::clone(configs.registry());
        let app = router(Arc::new(admin(configs.clone())), access);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serving") });
        let mut all: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        all.push(ADMIN_TOKEN.to_owned());
        AdminServer {
            base: format!("http://{addr}"),
            dir,
            path,
            registry,
            configs,
            http: client(),
            secrets: all,
        }
    }

    /// The configuration file's text.
    pub fn file(&self) -> String {
        std::fs::read_to_string(&self.path).expect("the configuration file")
    }

    /// The file as JSON.
    pub fn file_json(&self) -> Value {
        serde_json::from_str(&self.file()).expect("JSON in the configuration file")
    }

    /// The ETag of the version the owner stores now for `name`.
    pub fn etag_of(&self, name: &str) -> String {
        let stored = self
            .configs
            .get(name)
            .unwrap_or_else(|| panic!("a stored configuration {name}"));
        format!("\"{}\"", stored.version)
    }

    /// Sends `row`'s request and returns the reply, after checking that it
    /// holds no secret (without checking the row's expectations).
    pub async fn send(&self, row: &Row) -> Reply {
        let url = format!("{}{}", self.base, row.path);
        let (mut body, mut raw, mut viewed) = (None, None, None);
        match &row.body {
            Body::None => {}
            Body::Json(value) => body = Some(value.clone()),
            Body::Raw(text) => raw = Some(text.clone()),
            Body::Edit(edit) => {
                let name = format!("{}: the view to edit", row.name);
                let view = Row::new(&name, "GET", &row.path, 200, "");
                let mut view = Box::pin(self.one(view)).await;
                edit(&mut view.body);
                body = Some(view.body);
                viewed = view.etag;
            }
        }
        let if_match = match &row.if_match {
            IfMatch::None => viewed,
            IfMatch::Tag(tag) => Some(tag.clone()),
            IfMatch::Stored(name) => Some(self.etag_of(name)),
        };
        let token = match row.caller {
            Caller::Admin => ADMIN_TOKEN,
            _ => "",
        };
        let mut request = admin_request(
            &self.http,
            row.method.clone(),
            url,
            token,
            if_match.as_deref(),
            body.as_ref(),
        )
        .build()
        .expect("a request");
        let headers = request.headers_mut();
        if let Caller::Headers(extra) = &row.caller {
            headers.remove(AUTHORIZATION);
            for (name, value) in extra {
                let value = HeaderValue::from_str(value).expect("a header value");
                headers.append(HeaderName::from_static(name), value);
            }
        } else if let Caller::Nobody = row.caller {
            headers.remove(AUTHORIZATION);
        }
        if let Some(text) = raw {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(text.into());
        }
        let reply = Reply::of(
            self.http
                .execute(request)
                .await
                .expect("the server answers"),
        )
        .await;
        let seen = format!("{:?}\n{}", reply.headers, reply.body);
        for secret in &self.secrets {
            assert!(
                !seen.contains(secret.as_str()),
                "{}: a secret in {seen}",
                row.name
            );
        }
        reply
    }

    /// Runs `rows` in order, each checked against its expectations; the
    /// replies in the same order.
    pub async fn run(&self, rows: Vec<Row>) -> Vec<Reply> {
        let mut replies = Vec::with_capacity(rows.len());
        for row in &rows {
            let reply = self.send(row).await;
            row.assert_reply(&reply, self);
            replies.push(reply);
        }
        replies
    }

    /// Runs one row; its reply.
    pub async fn one(&self, row: Row) -> Reply {
        self.run(vec![row]).await.remove(0)
    }
}

/// `method path` as the admin token's holder, answered with `status` and
/// error `kind` ("" for none): [`Row::new`].
pub fn row(name: &str, method: &str, path: &str, status: u16, kind: &'static str) -> Row {
    Row::new(name, method, path, status, kind)
}

/// Who sends a request.
pub enum Caller {
    /// The holder of the admin token (a bearer).
    Admin,
    /// No credentials at all.
    Nobody,
    /// These headers as credentials, and no bearer.
    Headers(Vec<(&'static str, String)>),
}

impl Caller {
    /// A session token in `X-Auth-Token`.
    pub fn session(token: &str) -> Caller {
        Caller::Headers(vec![("x-auth-token", token.to_owned())])
    }

    /// An `Authorization` header of the row's own.
    pub fn authorization(value: &str) -> Caller {
        Caller::Headers(vec![("authorization", value.to_owned())])
    }
}

/// The `If-Match` a request sends.
pub enum IfMatch {
    None,
    Tag(String),
    /// The ETag of the version stored for this configuration when the row
    /// is sent.
    Stored(&'static str),
}

/// A request's body.
pub enum Body {
    None,
    Json(Value),
    /// Sent as is, as `application/json`.
    Raw(String),
    /// The redacted view `GET`'s of the row's path, changed by the closure.
    Edit(Box<dyn Fn(&mut Value) + Send + Sync>),
}

/// What a reply must show beside its status and error kind.
pub enum Check {
    /// The JSON value at a pointer (RFC 6901) of the body.
    Is(&'static str, Value),
    /// The value at a pointer is a string that contains this.
    Says(&'static str, &'static str),
    /// Nothing at a pointer: the member is absent.
    Absent(&'static str),
    /// The body does not hold this text anywhere.
    Lacks(String),
    /// A header's value, exactly.
    Header(&'static str, &'static str),
    /// A header's value starts with this.
    HeaderStarts(&'static str, &'static str),
    /// The ETag is the version now stored for this configuration.
    Etag(&'static str),
    /// An ETag, other than this one.
    EtagNot(String),
    /// The checklist of "test a token": runs of (status, count) in step
    /// order, and no `message` on a step that is `ok`.
    Steps(&'static [(&'static str, usize)]),
}

/// One request and what its reply must show.
pub struct Row {
    pub name: String,
    pub method: Method,
    pub path: String,
    pub caller: Caller,
    pub if_match: IfMatch,
    pub body: Body,
    pub status: u16,
    /// The error kind, or "" for a reply that is not an error.
    pub kind: &'static str,
    pub checks: Vec<Check>,
}

impl Row {
    /// `method path` as the admin token's holder, answered with `status`
    /// and error `kind` ("" for none).
    pub fn new(name: &str, method: &str, path: &str, status: u16, kind: &'static str) -> Row {
        Row {
            name: name.to_owned(),
            method: Method::from_bytes(method.as_bytes()).expect("a method"),
            path: path.to_owned(),
            caller: Caller::Admin,
            if_match: IfMatch::None,
            body: Body::None,
            status,
            kind,
            checks: Vec::new(),
        }
    }

    pub fn by(mut self, caller: Caller) -> Row {
        self.caller = caller;
        self
    }

    /// `If-Match` with the version stored for `config` when sent.
    pub fn stored(mut self, config: &'static str) -> Row {
        self.if_match = IfMatch::Stored(config);
        self
    }

    /// `If-Match` with this tag.
    pub fn tag(mut self, tag: &str) -> Row {
        self.if_match = IfMatch::Tag(tag.to_owned());
        self
    }

    pub fn json(mut self, body: Value) -> Row {
        self.body = Body::Json(body);
        self
    }

    pub fn raw(mut self, body: &str) -> Row {
        self.body = Body::Raw(body.to_owned());
        self
    }

    /// The body is the path's current view changed by `edit`; `If-Match`
    /// the view's ETag unless the row sets one.
    pub fn edit(mut self, edit: impl Fn(&mut Value) + Send + Sync + 'static) -> Row {
        self.body = Body::Edit(Box::new(edit));
        self
    }

    pub fn check(mut self, check: Check) -> Row {
        self.checks.push(check);
        self
    }

    pub fn checks(mut self, checks: impl IntoIterator<Item = Check>) -> Row {
        self.checks.extend(checks);
        self
    }

    /// The row's status, kind and checks hold of `r`; each message names
    /// the row.
    fn assert_reply(&self, r: &Reply, server: &AdminServer) {
        let (name, body) = (&self.name, &r.body);
        let expected = (self.status, self.kind);
        assert_eq!((r.status, r.kind()), expected, "{name}: {body}");
        for check in &self.checks {
            match check {
                Check::Is(pointer, value) => {
                    let got = body.pointer(pointer).unwrap_or(&Value::Null);
                    assert_eq!(got, value, "{name}: {pointer} in {body}");
                }
                Check::Says(pointer, text) => {
                    let got = body.pointer(pointer).and_then(Value::as_str);
                    let got =
                        got.unwrap_or_else(|| panic!("{name}: no text at {pointer} in {body}"));
                    assert!(
                        got.contains(text),
                        "{name}: {pointer} = {got:?}, not {text:?}"
                    );
                }
                Check::Absent(pointer) => {
                    assert_eq!(body.pointer(pointer), None, "{name}: {pointer} in {body}");
                }
                Check::Lacks(text) => {
                    let all = body.to_string();
                    assert!(!all.contains(text.as_str()), "{name}: {text:?} in {all}");
                }
                Check::Header(header, value) => {
                    assert_eq!(r.header(header), Some(*value), "{name}: {header}");
                }
                Check::HeaderStarts(header, prefix) => {
                    let got = r.header(header).unwrap_or("");
                    assert!(got.starts_with(prefix), "{name}: {header} = {got:?}");
                }
                Check::Etag(config) => {
                    let stored = server.etag_of(config);
                    assert_eq!(r.etag.as_deref(), Some(stored.as_str()), "{name}: the ETag");
                }
                Check::EtagNot(old) => {
                    let got = r
                        .etag
                        .as_deref()
                        .unwrap_or_else(|| panic!("{name}: no ETag"));
                    assert_ne!(got, old, "{name}: the ETag did not change");
                }
                Check::Steps(runs) => {
                    let steps = body["steps"].as_array();
                    let steps = steps.unwrap_or_else(|| panic!("{name}: no steps in {body}"));
                    let want: Vec<&str> = runs
                        .iter()
                        .flat_map(|&(s, n)| std::iter::repeat_n(s, n))
                        .collect();
                    let got: Vec<&str> = steps
                        .iter()
                        .map(|s| s["status"].as_str().unwrap_or(""))
                        .collect();
                    assert_eq!(got, want, "{name}: the steps' statuses");
                    for (i, step) in steps.iter().enumerate() {
                        assert_eq!(step["step"], i + 1, "{name}: step {i}'s number");
                        if step["status"] == "ok" {
                            assert_eq!(step.get("message"), None, "{name}: step {i}");
                        }
                    }
                }
            }
        }
    }
}
