//! The web console (CONTRACT section 7) in headless Chromium, against the real
//! `login_server` example run as a process, used as an administrator would:
//! sign in with a single sign-on token (refused without the administrator
//! role), sign out, sign in with the admin token, create a configuration
//! through the form (first with a secret that is too short, then a name that
//! is taken, then correctly), see it in the list,
//! switch it off and on, edit it, test tokens and read the failing step and its
//! hint, and delete it through the confirmation dialog. Each screen is saved as
//! a PNG under `target/console-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test is
//! skipped with a note (it fails under `CI=true`, see tests/support/browser.rs).

#[path = "support/browser.rs"]
mod browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use browser::Browser;
use jwt_sso::Algorithm;
use jwt_sso::mint::SigningKey;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "console-test-admin-token-5a1e0c";
const ERP_SECRET: &str = "console-test-erp-secret-0123456789abcdef";
const PORTAL_SECRET: &str = "portal-shared-secret-0123456789-abcdef";
const PORTAL_ISSUER: &str = "https://portal.example.com";
const HOSTILE_NAME: &str = "<img src=x onerror=\"window.__xss=1\"><b>Ops</b>";

/// The `login_server` example, built once with this test's features.
fn login_server_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let path = browser::target_dir()
        .join("debug")
        .join("examples")
        .join(format!("login_server{}", std::env::consts::EXE_SUFFIX));
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "login_server", "--all-features"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building the login_server example failed");
    });
    path
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `login_server` on an ephemeral loopback port, with the admin token in its
/// environment, a configuration file and a SQLite database in a fresh
/// directory. Killed when dropped.
struct LoginServer {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl LoginServer {
    fn start() -> LoginServer {
        let dir = std::env::temp_dir().join(format!("jwt-sso-console-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let configs = json!([{
            "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
            "audience": "bi-server", "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": ERP_SECRET},
            "expiration_time": 86400, "claims": {"user_id": "loginname", "roles": "groups"},
            "created_by": "admin", "last_modified": "2026-03-13T10:00:00Z"
        }, {
            // A name is any text without control characters: the page must show it as text.
            // Enabled, so that a token is routed by its `iss` (with one enabled
            // configuration, every token goes to that one).
            "name": HOSTILE_NAME, "token_name": "token",
            "issuer": "https://ops.example.com", "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": ERP_SECRET},
            "expiration_time": 3600, "claims": {"user_id": "sub"},
            "created_by": "<i>someone</i>"
        }]);
        std::fs::write(dir.join("configs.json"), configs.to_string()).unwrap();
        // Its log (stderr) is kept under target/ for a failed run.
        let log = browser::target_dir().join("admin_console-login_server.log");
        let mut child = Command::new(login_server_binary())
            .arg("--config")
            .arg(dir.join("configs.json"))
            .arg("--db")
            .arg(dir.join("users.sqlite"))
            .args(["--listen", "127.0.0.1:0"])
            .env("JWT_SSO_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("creating the server's log"))
            .spawn()
            .expect("starting login_server");
        // It prints `login_server: listening on http://ADDR` once it listens.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                _ => {
                    let _ = child.kill();
                    panic!("login_server exited before it listened: {:?}", child.wait());
                }
            };
            if let Some(rest) = line.split("http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or(rest);
                break addr.trim_end_matches('/').parse::<SocketAddr>().unwrap();
            }
        };
        // Keep reading its stdout so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        LoginServer { child, addr, dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn config_file(&self) -> String {
        std::fs::read_to_string(self.dir.join("configs.json")).unwrap()
    }

    /// One HTTP/1.1 request: status, header block and JSON body (`Null` when empty).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, Value) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        (status, head.to_owned(), json)
    }

    /// What a second administrator does through the API: switch `name` off.
    fn disable_elsewhere(&self, name: &str) {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let path = format!("/api/admin/configs/{name}");
        let (status, head, _) = self.request("GET", &path, &[("Authorization", &auth)], "");
        assert_eq!(status, 200);
        let etag = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("etag")
                    .then(|| value.trim().to_owned())
            })
            .expect("an ETag");
        let (status, _, _) = self.request(
            "PATCH",
            &path,
            &[
                ("Authorization", &auth),
                ("If-Match", &etag),
                ("Content-Type", "application/json"),
            ],
            r#"{"enabled":false}"#,
        );
        assert_eq!(status, 200);
    }

    /// `POST /api/auth/login` with `token`: the status and the error kind.
    fn login(&self, token: &str) -> (u16, Option<String>) {
        let body = json!({"loginMode": 67108864, "password": token}).to_string();
        let (status, _, reply) = self.request(
            "POST",
            "/api/auth/login",
            &[("Content-Type", "application/json")],
            &body,
        );
        let kind = reply["error"]["kind"].as_str().map(str::to_owned);
        (status, kind)
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for LoginServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn portal_token(secret: &str, exp: i64) -> String {
    SigningKey::from_secret(secret.as_bytes())
        .sign(
            Algorithm::HS256,
            &json!({
                "iss": PORTAL_ISSUER, "aud": "bi-server", "loginname": "jdoe",
                "name": "Jane Doe", "email": "jane@example.com", "department": "Sales",
                "level": 7, "iat": exp - 1800, "exp": exp
            }),
        )
        .unwrap()
}

/// A single sign-on token of ERP's for `user` with the roles `groups`.
fn erp_user_token(user: &str, groups: &[&str]) -> String {
    SigningKey::from_secret(ERP_SECRET.as_bytes())
        .sign(
            Algorithm::HS256,
            &json!({
                "iss": "https://erp.example.com", "aud": "bi-server", "loginname": user,
                "groups": groups, "iat": now() - 60, "exp": now() + 600
            }),
        )
        .unwrap()
}

/// The input `part` (`kind`, `slot`, `claim`) of system prompt row `index`.
fn prompt(index: usize, part: &str) -> String {
    format!("#prompt-rows tr[data-index=\"{index}\"] [data-testid=prompt-{part}]")
}

/// The row of the configuration list for `name`.
fn row(name: &str) -> String {
    format!("#config-rows tr[data-name=\"{name}\"]")
}

/// Whether `inner` is inside the same form row as the input `input_id`:
/// "beside the field".
async fn beside(b: &Browser, inner: &str, input_id: &str) -> bool {
    b.js(
        "const row = document.getElementById(arguments[1]).closest('.row');
         const el = document.querySelector(arguments[0]);
         return !!row && !!el && row.contains(el);",
        vec![json!(inner), json!(input_id)],
    )
    .await
    .as_bool()
    .unwrap_or(false)
}

async fn stored_session(b: &Browser) -> Value {
    b.js("return sessionStorage.getItem('jwt-sso.session');", vec![])
        .await
}

async fn session_token(b: &Browser) -> Value {
    b.js(
        "return sessionStorage.getItem('jwt-sso.admin-token');",
        vec![],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_manages_a_configuration_in_the_console() {
    if !browser::available() {
        return;
    }
    let server = LoginServer::start();
    let Some(mut b) = Browser::start("console-screenshots").await else {
        return;
    };
    let admin = server.url("/admin");

    // ---- The page is served without credentials, under a strict CSP.
    for path in ["/admin", "/admin/console.js", "/admin/console.css"] {
        let (status, head, _) = server.request("GET", path, &[], "");
        assert_eq!(status, 200, "{path}");
        let csp = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-security-policy")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"));
        assert!(
            csp.starts_with("default-src 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
    }

    // ---- The page loads under its Content-Security-Policy and asks for the token.
    b.goto(&admin).await;
    b.visible("#signin-view").await;
    let topbar = b
        .js(
            "return getComputedStyle(document.querySelector('.topbar')).backgroundColor;",
            vec![],
        )
        .await;
    assert_eq!(topbar, json!("rgb(28, 43, 58)"), "console.css is applied");
    watch_csp(&b).await;
    b.screenshot("sign-in").await;

    // ---- Single sign-on: a refused token says why; a user without the
    // administrator role is told so (and the session it started ends); a
    // user with it gets in, and signing out ends the session on the server.
    b.fill("#sso-token", "not-a-jwt").await;
    b.click("#sso-submit").await;
    b.wait_text("#sso-error", "malformed").await;
    b.fill("#sso-token", &erp_user_token("viewer1", &["Viewer"]))
        .await;
    b.click("#sso-submit").await;
    b.wait_text("#sso-error", "has no administrator role").await;
    assert_eq!(stored_session(&b).await, Value::Null);
    b.screenshot("sso-not-administrator").await;
    b.fill("#sso-token", &erp_user_token("boss", &["Administrator"]))
        .await;
    b.click("#sso-submit").await;
    b.visible("#list-view").await;
    b.wait_text(&format!("{} [data-testid=config-name]", row("ERP")), "ERP")
        .await;
    let session = stored_session(&b).await;
    let session = session
        .as_str()
        .expect("the session is kept in sessionStorage");
    assert_eq!(session_token(&b).await, Value::Null);
    let (status, _, user) = server.request("GET", "/api/session", &[("X-Auth-Token", session)], "");
    assert_eq!(status, 200, "{user}");
    assert!(user.to_string().contains("boss"), "{user}");
    b.screenshot("sso-signed-in").await;
    b.click("#signout").await;
    b.visible("#signin-view").await;
    assert_eq!(stored_session(&b).await, Value::Null);
    let ended = || {
        server
            .request("GET", "/api/session", &[("X-Auth-Token", session)], "")
            .0
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while ended() != 401 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ended(), 401, "signing out ended the session on the server");

    // ---- A wrong admin token is refused and not kept.
    b.fill("#admin-token", "not-the-admin-token").await;
    b.click("#signin-submit").await;
    b.wait_text("#signin-error", "not accepted").await;
    assert_eq!(session_token(&b).await, Value::Null);
    b.screenshot("sign-in-refused").await;

    // ---- Signing in shows the list; the token stays in sessionStorage only.
    b.fill("#admin-token", ADMIN_TOKEN).await;
    b.click("#signin-submit").await;
    b.visible("#list-view").await;
    b.wait_text(&format!("{} [data-testid=config-name]", row("ERP")), "ERP")
        .await;
    assert_eq!(session_token(&b).await, json!(ADMIN_TOKEN));
    let cookie_and_url = b
        .js("return document.cookie + ' ' + location.href;", vec![])
        .await;
    assert!(
        !cookie_and_url.as_str().unwrap().contains(ADMIN_TOKEN),
        "the admin token is in no cookie and no URL: {cookie_and_url}"
    );
    assert_eq!(
        b.text(&format!("{} [data-testid=config-creator]", row("ERP")))
            .await,
        "admin"
    );
    assert_eq!(
        b.text(&format!(
            "{} [data-testid=config-last-modified]",
            row("ERP")
        ))
        .await,
        "2026-03-13 10:00:00 UTC"
    );
    // Values from the API are text, never markup.
    let markup = b
        .js(
            "return [document.querySelectorAll('#config-rows img, #config-rows b, #config-rows i').length,
                     window.__xss === undefined,
                     [...document.querySelectorAll('#config-rows [data-testid=config-name]')]
                       .map((e) => e.textContent),
                     [...document.querySelectorAll('#config-rows [data-testid=config-creator]')]
                       .map((e) => e.textContent)];",
            vec![],
        )
        .await;
    assert_eq!(
        markup,
        json!([0, true, [HOSTILE_NAME, "ERP"], ["<i>someone</i>", "admin"]]),
        "names and creators are rendered as text"
    );
    b.screenshot("list").await;

    // ---- Create: the form, first with a secret that is too short.
    b.click("#add-config").await;
    b.visible("#form-view").await;
    b.fill("#f-name", "Portal").await;
    b.fill("#f-token_name", "jwt").await;
    assert!(
        b.is_visible("#f-secret").await,
        "a secret source shows the secret field"
    );
    assert!(!b.is_visible("#f-url").await, "and not the JWKS URI field");
    b.fill("#f-secret", "too-short").await;
    b.fill("#f-issuer", PORTAL_ISSUER).await;
    b.fill("#f-audience", "bi-server").await;
    b.fill("#f-claims-user_id", "loginname").await;
    b.fill("#f-claims-name", "name").await;
    b.fill("#f-claims-email", "email").await;
    b.click("#prompt-add").await;
    b.select(&prompt(0, "kind"), "text").await;
    b.fill(&prompt(0, "slot"), "1").await;
    b.fill(&prompt(0, "claim"), "department").await;
    b.fill("#f-initial_roles", "Viewer, Analyst").await;
    b.click("#form-submit").await;
    let error = b
        .wait_text("[data-error-for=\"key_source.secret\"]", "bytes")
        .await;
    assert!(
        error.contains("32"),
        "the error names what HS256 needs: {error}"
    );
    assert!(
        !error.contains("too-short"),
        "the error never quotes the secret: {error}"
    );
    assert!(
        beside(&b, "[data-error-for=\"key_source.secret\"]", "f-secret").await,
        "the error is shown beside the secret field"
    );
    assert_eq!(
        b.prop("#f-secret", "className").await.as_deref(),
        Some("invalid")
    );
    assert!(b.is_visible("#form-view").await, "the form stays open");
    b.screenshot("create-secret-too-short").await;

    // ---- A name that is taken (case-insensitive): a banner.
    b.fill("#f-secret", PORTAL_SECRET).await;
    b.fill("#f-name", "erp").await;
    b.click("#form-submit").await;
    b.wait_text("#banner", "already exists").await;
    let kind = b
        .js(
            "return document.getElementById('banner').dataset.kind;",
            vec![],
        )
        .await;
    assert_eq!(kind, json!("duplicate_name"));
    assert!(
        !b.is_visible("[data-error-for=\"key_source.secret\"]").await,
        "the old field error is gone"
    );
    b.screenshot("create-duplicate-name").await;

    // ---- Then correctly: it is in the list, created by `admin`, enabled.
    b.fill("#f-name", "Portal").await;
    b.click("#form-submit").await;
    b.visible("#list-view").await;
    b.wait_text("#banner", "created").await;
    let portal = row("Portal");
    assert_eq!(
        b.text(&format!("{portal} [data-testid=config-creator]"))
            .await,
        "admin"
    );
    let created_at = b
        .text(&format!("{portal} [data-testid=config-last-modified]"))
        .await;
    assert!(created_at.ends_with(" UTC"), "{created_at}");
    let toggle = format!("{portal} [data-testid=config-enabled]");
    assert_eq!(b.prop(&toggle, "checked").await.as_deref(), Some("true"));
    let names: Vec<String> = {
        let mut names = Vec::new();
        for cell in b.all("#config-rows [data-testid=config-name]").await {
            names.push(cell.text().await.unwrap());
        }
        names
    };
    assert_eq!(
        names,
        [HOSTILE_NAME, "ERP", "Portal"],
        "the list is sorted by name"
    );
    let saved = server.config_file();
    assert!(
        saved.contains("Portal"),
        "the new configuration is saved: {saved}"
    );
    let valid = portal_token(PORTAL_SECRET, now() + 600);
    assert_eq!(
        server.login(&valid).0,
        200,
        "the new configuration logs users in"
    );
    b.screenshot("created").await;

    // ---- Toggle it off: logins are refused with `disabled`; the state survives a reload.
    b.click(&toggle).await;
    b.wait_until("the toggle to show disabled", || async {
        b.prop(&toggle, "checked").await.as_deref() == Some("false")
            && b.prop(&toggle, "disabled").await.as_deref() == Some("false")
    })
    .await;
    let (status, kind) = server.login(&portal_token(PORTAL_SECRET, now() + 600));
    assert_eq!((status, kind.as_deref()), (401, Some("disabled")));
    assert_no_csp_violations(&b).await;
    b.client().refresh().await.unwrap();
    watch_csp(&b).await;
    b.visible("#list-view").await;
    b.wait_until("the list after a reload", || async {
        b.is_visible(&toggle).await
    })
    .await;
    assert_eq!(b.prop(&toggle, "checked").await.as_deref(), Some("false"));
    b.screenshot("toggled-off").await;

    // ---- Edit it: the secret is not in the page ("(unchanged)"), is kept when
    // not retyped; switch it on again and change the expiration time.
    b.click(&format!("{portal} [data-testid=config-edit]"))
        .await;
    b.visible("#form-view").await;
    b.wait_text("#form-title", "Portal").await;
    assert_eq!(b.prop("#f-name", "value").await.as_deref(), Some("Portal"));
    assert_eq!(b.prop("#f-secret", "value").await.as_deref(), Some(""));
    assert_eq!(
        b.prop("#f-secret", "placeholder").await.as_deref(),
        Some("(unchanged)")
    );
    b.visible("[data-testid=secret-unchanged]").await;
    let source = b.client().source().await.unwrap();
    assert!(
        !source.contains(PORTAL_SECRET),
        "the secret is never in the page"
    );
    assert_eq!(
        b.prop("#f-enabled", "checked").await.as_deref(),
        Some("false")
    );
    assert_eq!(
        b.prop(&prompt(0, "claim"), "value").await.as_deref(),
        Some("department")
    );
    assert_eq!(
        b.prop("#f-initial_roles", "value").await.as_deref(),
        Some("Viewer, Analyst")
    );
    b.click("#f-enabled").await;
    b.fill("#f-expiration_time", "3600").await;
    b.click("#prompt-add").await;
    b.select(&prompt(1, "kind"), "numeric").await;
    b.fill(&prompt(1, "slot"), "99").await;
    b.fill(&prompt(1, "claim"), "level").await;
    b.click("#form-submit").await;
    // The API names `system_prompts[1]` (or its `.slot`): the error shows in that row.
    let prompt_error =
        "[data-error-for=\"system_prompts[1]\"], [data-error-for=\"system_prompts[1].slot\"]";
    b.wait_until("the prompt's error", || async {
        b.visible_text(prompt_error).await.contains("out of range")
    })
    .await;
    let in_row = b
        .js(
            "const row = document.querySelector('#prompt-rows tr[data-index=\"1\"]');
             return [...document.querySelectorAll(arguments[0])]
               .filter((e) => e.getClientRects().length > 0)
               .every((e) => row.contains(e) || row.nextElementSibling.contains(e));",
            vec![json!(prompt_error)],
        )
        .await;
    assert_eq!(in_row, json!(true), "the error is beside the second prompt");
    assert!(
        b.visible_text(".field-error")
            .await
            .matches("out of range")
            .count()
            == 1,
        "one error, shown once"
    );
    b.screenshot("edit-prompt-slot-out-of-range").await;
    b.fill(&prompt(1, "slot"), "2").await;
    b.screenshot("edit-form").await;
    b.click("#form-submit").await;
    b.visible("#list-view").await;
    b.wait_text("#banner", "saved").await;
    assert_eq!(b.prop(&toggle, "checked").await.as_deref(), Some("true"));
    assert_eq!(
        server.login(&portal_token(PORTAL_SECRET, now() + 600)).0,
        200,
        "enabled again, and the secret kept through the redacted round trip"
    );
    let saved = server.config_file();
    assert!(
        saved.contains("3600") && saved.contains("level"),
        "the edit is saved: {saved}"
    );
    b.screenshot("edited").await;

    // ---- Two administrators: while this form is open, someone else saves ERP.
    b.click(&format!("{} [data-testid=config-edit]", row("ERP")))
        .await;
    b.wait_text("#form-title", "ERP").await;
    server.disable_elsewhere("ERP");
    b.fill("#f-audience", "another-audience").await;
    b.click("#form-submit").await;
    b.wait_text("#banner", "Someone else saved").await;
    let kind = b
        .js(
            "return document.getElementById('banner').dataset.kind;",
            vec![],
        )
        .await;
    assert_eq!(kind, json!("version_conflict"));
    assert!(b.is_visible("#form-view").await, "the form stays open");
    b.screenshot("edit-version-conflict").await;
    // Reloading shows the other administrator's change and drops this one.
    b.click("#banner-action").await;
    b.wait_until("the reloaded form", || async {
        b.prop("#f-enabled", "checked").await.as_deref() == Some("false")
    })
    .await;
    assert_eq!(
        b.prop("#f-audience", "value").await.as_deref(),
        Some("bi-server")
    );
    b.click("#form-cancel").await;
    b.visible("#list-view").await;
    let erp_toggle = format!("{} [data-testid=config-enabled]", row("ERP"));
    assert_eq!(
        b.prop(&erp_toggle, "checked").await.as_deref(),
        Some("false")
    );
    let saved = server.config_file();
    assert!(
        !saved.contains("another-audience"),
        "the stale save changed nothing: {saved}"
    );

    // ---- Test tokens: a good one, an expired one, one signed with another secret.
    b.click(&format!("{portal} [data-testid=config-test]"))
        .await;
    b.visible("#test-view").await;
    assert_eq!(b.text("#test-config-name").await, "Portal");
    b.fill("#test-token", &valid).await;
    b.click("#test-run").await;
    b.wait_text("#test-summary", "accepted").await;
    let steps = b.all("#test-steps [data-testid=test-step]").await;
    assert!(
        steps.len() >= 10,
        "the whole checklist: {} steps",
        steps.len()
    );
    for step in &steps {
        assert_eq!(
            step.attr("data-status").await.unwrap().as_deref(),
            Some("ok")
        );
    }
    b.screenshot("test-accepted").await;

    let expired = portal_token(PORTAL_SECRET, now() - 3600);
    b.fill("#test-token", &expired).await;
    b.click("#test-run").await;
    let summary = b.wait_text("#test-summary", "refused").await;
    assert!(summary.contains("expired"), "{summary}");
    let failed = b.text("#test-steps li.fail").await;
    assert!(failed.to_lowercase().contains("fail"), "{failed}");
    let message = b
        .text("#test-steps li.fail [data-testid=step-message]")
        .await;
    assert!(
        message.contains("expired"),
        "the failing step's message: {message}"
    );
    let hint = b.text("#test-steps li.fail [data-testid=step-hint]").await;
    assert!(hint.starts_with("Hint: ") && hint.len() > 10, "{hint}");
    let statuses = step_statuses(&b).await;
    let fail = statuses.iter().position(|s| s == "fail").unwrap();
    assert!(statuses[..fail].iter().all(|s| s == "ok"), "{statuses:?}");
    assert!(
        statuses[fail + 1..].iter().all(|s| s == "skipped"),
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| *s == "fail").count(), 1);
    b.screenshot("test-expired").await;

    let forged = portal_token("another-secret-0123456789-abcdefghij", now() + 600);
    b.fill("#test-token", &forged).await;
    b.click("#test-run").await;
    let summary = b.wait_text("#test-summary", "refused").await;
    assert!(summary.contains("invalid_signature"), "{summary}");
    let hint = b.text("#test-steps li.fail [data-testid=step-hint]").await;
    assert!(
        hint.to_lowercase().contains("secret"),
        "the hint points at the secret: {hint}"
    );
    let statuses = step_statuses(&b).await;
    let fail = statuses.iter().position(|s| s == "fail").unwrap();
    assert!(statuses[..fail].iter().all(|s| s == "ok"), "{statuses:?}");
    assert!(
        statuses[fail + 1..].iter().all(|s| s == "skipped"),
        "{statuses:?}"
    );
    b.screenshot("test-invalid-signature").await;

    // ---- Delete through the confirmation dialog, which wants the exact name.
    b.click("#test-back").await;
    b.visible("#list-view").await;
    b.click(&format!("{portal} [data-testid=config-delete]"))
        .await;
    b.visible("#delete-dialog").await;
    assert_eq!(b.text("#delete-name").await, "Portal");
    assert_eq!(
        b.prop("#delete-submit", "disabled").await.as_deref(),
        Some("true")
    );
    b.fill("#delete-confirm", "Portl").await;
    assert_eq!(
        b.prop("#delete-submit", "disabled").await.as_deref(),
        Some("true")
    );
    b.fill("#delete-confirm", "Portal").await;
    assert_eq!(
        b.prop("#delete-submit", "disabled").await.as_deref(),
        Some("false")
    );
    b.screenshot("delete-dialog").await;
    b.click("#delete-submit").await;
    b.wait_gone("#delete-dialog").await;
    b.wait_text("#banner", "deleted").await;
    b.wait_gone(&portal).await;
    assert!(
        b.is_visible(&row("ERP")).await,
        "the other configuration stays"
    );
    assert!(
        !server.config_file().contains("Portal"),
        "the deletion is saved"
    );
    let (status, _) = server.login(&valid);
    assert_ne!(status, 200, "a deleted configuration logs nobody in");
    b.screenshot("deleted").await;

    // ---- The page caused no CSP violation; signing out forgets the token.
    assert_no_csp_violations(&b).await;
    b.click("#signout").await;
    b.visible("#signin-view").await;
    assert_eq!(session_token(&b).await, Value::Null);
    b.close().await;
}

/// Records every Content-Security-Policy violation of the page from now on.
async fn watch_csp(b: &Browser) {
    b.js(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',
           (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));",
        vec![],
    )
    .await;
}

async fn assert_no_csp_violations(b: &Browser) {
    let violations = b
        .js("return window.__csp || ['the listener is gone'];", vec![])
        .await;
    assert_eq!(
        violations,
        json!([]),
        "no Content-Security-Policy violations"
    );
}

async fn step_statuses(b: &Browser) -> Vec<String> {
    let mut out = Vec::new();
    for step in b.all("#test-steps [data-testid=test-step]").await {
        out.push(step.attr("data-status").await.unwrap().unwrap_or_default());
    }
    out
}
