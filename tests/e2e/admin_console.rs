//! The web console (CONTRACT section 7) in headless Chromium, against the real
//! `login_server` example run as a process, used as an administrator would,
//! finding buttons, links and fields by their text and labels: sign in with a
//! single sign-on token (refused without the administrator role), sign out,
//! sign in with the admin token, open a configuration from the list by its
//! name (with the keyboard), create one through the form (the advanced
//! options folded, Submit and Cancel always on screen; the algorithms offered
//! follow the key source and a pasted key's type; the secret's required
//! length shown while typing; server errors beside their field in plain
//! sentences; a name that is taken), see the same warning component in the
//! form and after a save, disable a configuration through its confirmation
//! and enable it again by editing it, test tokens (the identity as a table,
//! "Check at" in the browser's time zone), delete through the
//! confirmation dialog, and read recent logins (a refused login's message
//! and hint; values from tokens shown as text; filters). A second test drives
//! the screens of role rules, the host's catalogue, secret rotation, sync
//! boxes, `may_grant_admin` and the token debugger (see its doc); a third
//! `bearer` and `logout_url` (see its doc). Focus moves into each dialog and back. axe-core
//! audits every screen for WCAG 2.1 A and AA. Each screen is saved as a PNG
//! under `target/console-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`, and npm for axe-core;
//! without them the test (or the audit) is skipped with a note, and fails
//! under `CI=true` (see tests/support/browser.rs).
#![cfg(all(feature = "axum", feature = "remote"))]

use crate::support::browser;
use crate::support::fixtures::{TempDir, now};
use crate::support::http::Reply;
use crate::support::server::{ADMIN_TOKEN, Server};

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use browser::Browser;
use fantoccini::key::Key;
use jwt_sso::Algorithm;
use jwt_sso::mint::SigningKey;
use reqwest::Method;
use serde_json::{Value, json};

const ERP_SECRET: &str = "console-test-erp-secret-0123456789abcdef";
const PORTAL_SECRET: &str = "portal-shared-secret-0123456789-abcdef";
const PORTAL_ISSUER: &str = "https://portal.example.com";
const HOSTILE_NAME: &str = "<img src=x onerror=\"window.__xss=1\"><b>Ops</b>";

/// `login_server` (a [`Server`]: the one HTTP client, the admin token in
/// its environment) with a configuration file and a SQLite database in a
/// fresh directory. Killed when dropped; its log is kept under `target/`
/// for a failed run.
struct LoginServer {
    server: Server,
    dir: TempDir,
}

impl std::ops::Deref for LoginServer {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl LoginServer {
    fn start() -> LoginServer {
        let configs = json!([{
            "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
            "audience": "bi-server", "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": ERP_SECRET},
            "expiration_time": 86400, "claims": {"user_id": "loginname", "roles": "groups"},
            // Its tokens' `Administrator` group makes a console administrator.
            "may_grant_admin": true,
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
        LoginServer::start_with("main", &configs, &[])
    }

    /// `login_server` with the configurations `configs` and the extra
    /// arguments `args`, in a directory of its own (`tag`).
    fn start_with(tag: &str, configs: &Value, args: &[&str]) -> LoginServer {
        let dir = TempDir::new(&format!("console-{tag}"));
        std::fs::write(dir.join("configs.json"), configs.to_string()).unwrap();
        let log = browser::target_dir().join(format!("admin_console-login_server-{tag}.log"));
        let db = dir.join("users.sqlite");
        let config = dir.join("configs.json");
        let server = Server::start(&config, db.to_str().unwrap(), log, args);
        LoginServer { server, dir }
    }

    fn config_file(&self) -> String {
        std::fs::read_to_string(self.dir.join("configs.json")).unwrap()
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
    let mut audits = Audits::default();

    // ---- The page is served without credentials, under a strict CSP.
    for path in ["/admin", "/admin/console.js", "/admin/console.css"] {
        let reply = Reply::send(server.http.get(server.url(path))).await;
        assert_eq!(reply.status, 200, "{path}");
        let csp = reply
            .header("content-security-policy")
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
    audits.run(&b, "sign-in").await;

    // ---- Single sign-on: a refused token says why; a user without the
    // administrator role is told so (and the session it started ends); a
    // user with it gets in, and signing out ends the session on the server.
    b.type_into("Single sign-on token", "not-a-jwt").await;
    b.press("Sign in with the token").await;
    b.wait_text("#sso-error", "malformed").await;
    b.type_into(
        "Single sign-on token",
        &erp_user_token("viewer1", &["Viewer"]),
    )
    .await;
    b.press("Sign in with the token").await;
    b.wait_text("#sso-error", "has no administrator role").await;
    assert_eq!(stored_session(&b).await, Value::Null);
    b.screenshot("sso-not-administrator").await;
    b.type_into(
        "Single sign-on token",
        &erp_user_token("boss", &["Administrator"]),
    )
    .await;
    b.press("Sign in with the token").await;
    b.visible("#list-view").await;
    b.wait_text(&format!("{} [data-testid=config-name]", row("ERP")), "ERP")
        .await;
    let session = stored_session(&b).await;
    let session = session
        .as_str()
        .expect("the session is kept in sessionStorage");
    assert_eq!(session_token(&b).await, Value::Null);
    let user = server.session(session).await;
    assert_eq!(user.status, 200, "{user:?}");
    assert_eq!(user.body["user"]["user_id"], "boss", "{user:?}");
    b.screenshot("sso-signed-in").await;
    b.press("Sign out").await;
    b.visible("#signin-view").await;
    assert_eq!(stored_session(&b).await, Value::Null);
    let ended = async || server.session(session).await.status;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while ended().await != 401 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        ended().await,
        401,
        "signing out ended the session on the server"
    );

    // ---- A wrong admin token is refused and not kept.
    b.type_into("Admin token", "not-the-admin-token").await;
    b.press("Sign in").await;
    b.wait_text("#signin-error", "not accepted").await;
    assert_eq!(session_token(&b).await, Value::Null);
    b.screenshot("sign-in-refused").await;

    // ---- Signing in shows the list; the token stays in sessionStorage only.
    b.type_into("Admin token", ADMIN_TOKEN).await;
    b.press("Sign in").await;
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
    // The switch tells its state in words too.
    assert_eq!(switch_text(&b, "ERP").await, "Enabled");
    b.screenshot("list").await;
    audits.run(&b, "list").await;

    // ---- A configuration's name is a link that the keyboard reaches: Tab
    // from the "New configuration" button to it, Enter opens it for editing.
    let erp_link = b.link("ERP").await;
    b.js("document.getElementById('add-config').focus();", vec![])
        .await;
    let mut tabs = 0;
    while !b.has_focus(&erp_link).await {
        tabs += 1;
        assert!(
            tabs <= 12,
            "Tab never reaches the ERP link: {}",
            b.focused().await
        );
        key(&b, Key::Tab).await;
    }
    key(&b, Key::Enter).await;
    b.visible("#form-view").await;
    b.wait_text("#form-title", "Edit configuration — ERP").await;
    assert_eq!(b.prop("#f-name", "value").await.as_deref(), Some("ERP"));
    b.press("Cancel").await;
    b.visible("#list-view").await;

    // ---- Create: the product's sections first, the advanced options
    // folded, Submit and Cancel on screen however far the form scrolls.
    b.press("New configuration").await;
    b.visible("#form-view").await;
    let legends = b
        .js(
            "return [...document.querySelectorAll('#config-form legend')]
               .filter((e) => e.checkVisibility()).map((e) => e.innerText);",
            vec![],
        )
        .await;
    assert_eq!(
        legends,
        json!([
            "General",
            "Signature key",
            "Token checks",
            "Claims",
            "Users"
        ])
    );
    assert_eq!(b.prop("#advanced", "open").await.as_deref(), Some("false"));
    for hidden in [
        "#f-leeway",
        "#f-max_token_bytes",
        "#f-single_use",
        "#f-user_scope",
    ] {
        assert!(
            !b.is_visible(hidden).await,
            "{hidden} is folded away in a new form"
        );
    }
    assert_actions_reachable(&b, "the new form").await;
    b.screenshot("create-form").await;
    audits.run(&b, "form (new)").await;

    // A secret offers the HMAC algorithms only, on one line.
    assert_eq!(offered(&b).await, ["HS256", "HS384", "HS512"]);
    assert_eq!(checked(&b).await, ["HS256"]);
    assert_eq!(
        b.js(
            "return [...document.querySelectorAll('.alg-family')].every((f) =>
               new Set([...f.querySelectorAll('label')].map((l) => Math.round(l.getBoundingClientRect().top))).size === 1);",
            vec![],
        )
        .await,
        json!(true),
        "each family of algorithms stays on one line"
    );

    // The required length is shown while typing, for the algorithms chosen.
    let status = "[data-testid=secret-status]";
    b.wait_text(status, "HS256 needs at least 32 bytes").await;
    b.type_into("Secret Key", "too-short").await;
    b.wait_text(status, "9 of 32 bytes: too short").await;
    b.click_on(&b.field("HS512").await, "HS512").await;
    b.wait_text(
        status,
        "9 of 64 bytes: too short, HS512 needs at least 64 bytes",
    )
    .await;
    b.click_on(&b.field("HS512").await, "HS512").await;
    b.wait_text(status, "9 of 32 bytes").await;
    b.choose("Secret given as", "Base64 (binary secret)").await;
    b.type_into("Secret Key", &STANDARD.encode([7u8; 24])).await;
    b.wait_text(status, "24 of 32 bytes (decoded): too short")
        .await;
    b.type_into("Secret Key", &URL_SAFE_NO_PAD.encode([0xfbu8; 40]))
        .await;
    b.wait_text(status, "40 bytes (decoded): long enough for HS256")
        .await;
    b.type_into("Secret Key", "not base64!").await;
    b.wait_text(status, "not valid base64").await;
    b.choose("Secret given as", "Environment variable").await;
    b.type_into("Environment variable", "PORTAL_SECRET").await;
    b.wait_text(status, "cannot be checked here").await;
    b.screenshot("secret-in-environment").await;
    b.choose("Secret given as", "Text (UTF-8)").await;
    b.type_into("Secret Key", "too-short").await;
    b.wait_text(status, "9 of 32 bytes").await;

    // A PEM key offers what its type allows, once it is pasted.
    b.choose("Key source", "Static public key (PEM)").await;
    assert!(
        offered(&b).await.is_empty(),
        "nothing before a key is pasted"
    );
    b.wait_text("[data-testid=algorithms-help]", "Paste the public key")
        .await;
    let rsa = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    let cases: [(&str, &[&str], &str); 13] = [
        (
            "rsa2048_public.pem",
            &rsa,
            "An RSA public key of 2048 bits.",
        ),
        (
            "rsa2048_public_pkcs1.pem",
            &rsa,
            "An RSA public key of 2048 bits.",
        ),
        ("rsa2048_cert.pem", &rsa, "An RSA public key of 2048 bits."),
        ("rsa1024_public.pem", &[], "1024 bits: too short"),
        ("p256_public.pem", &["ES256"], "An EC public key on P-256."),
        ("p256_cert.pem", &["ES256"], "An EC public key on P-256."),
        ("p384_public.pem", &["ES384"], "An EC public key on P-384."),
        ("p521_public.pem", &[], "P-521: not supported"),
        ("secp256k1_public.pem", &[], "another curve: not supported"),
        (
            "ed25519_public.pem",
            &["EdDSA", "Ed25519"],
            "An Ed25519 public key.",
        ),
        ("ed448_public.pem", &[], "Ed448 public key: not supported"),
        ("p256_private.pem", &[], "This is a private key"),
        ("p256_public_ec_label.pem", &[], "EC PUBLIC KEY is not read"),
    ];
    for (file, algorithms, note) in cases {
        b.type_into("Public key (PEM)", &test_key(file)).await;
        b.wait_text("[data-testid=pem-status]", note).await;
        assert_eq!(offered(&b).await, algorithms, "{file}");
        match file {
            "rsa2048_public.pem" => {
                assert_eq!(checked(&b).await, ["RS256"], "the usual one, checked");
                b.screenshot("key-rsa").await;
            }
            "p256_public.pem" => {
                assert_eq!(checked(&b).await, ["ES256"], "RS256 no longer fits")
            }
            "ed25519_public.pem" => {
                assert_eq!(checked(&b).await, ["EdDSA"]);
                b.screenshot("key-ed25519").await;
            }
            _ => {}
        }
    }
    // A remote source offers the asymmetric algorithms, Ed25519 included.
    b.choose("Key source", "JWK Set URI").await;
    assert_eq!(
        offered(&b).await,
        [
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
            "Ed25519"
        ]
    );
    b.screenshot("key-remote").await;
    // An inline JWK Set offers what its keys allow (a key's own `alg` pins it).
    b.choose("Key source", "Inline JWK Set").await;
    b.type_into(
        "JWK Set (JSON)",
        r#"{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},{"kty":"OKP","crv":"Ed25519","x":"AA","alg":"Ed25519"}]}"#,
    )
    .await;
    b.wait_text("[data-testid=jwks-status]", "2 keys: EC P-384, OKP Ed25519")
        .await;
    assert_eq!(offered(&b).await, ["ES384", "Ed25519"]);
    b.choose("Key source", "Static secret (HS256 / HS384 / HS512)")
        .await;
    assert_eq!(offered(&b).await, ["HS256", "HS384", "HS512"]);
    assert_eq!(checked(&b).await, ["HS256"]);

    // ---- A server error is shown beside its field as sentences in the
    // administrator's words: no internal prefix, no field path, code as code.
    b.type_into("Name", "Portal").await;
    b.type_into("Token Name", "portal token").await;
    b.type_into("Issuer", PORTAL_ISSUER).await;
    b.type_into("Audience", "bi-server").await;
    b.type_into("Username Field", "loginname").await;
    b.type_into("Name Field", "name").await;
    b.type_into("Email Field", "email").await;
    b.press("Add prompt").await;
    b.choose("Kind of prompt 1", "Text").await;
    b.type_into("Slot of prompt 1", "1").await;
    b.type_into("Claim of prompt 1", "department").await;
    b.type_into("Initialization Roles", "Viewer, Analyst").await;
    b.press("Submit").await;
    let error = b
        .wait_text("[data-error-for=\"token_name\"]", "Token Name")
        .await;
    assert_plain_language(&error);
    assert!(
        error.starts_with("The token name portal token holds the character ' '"),
        "{error}"
    );
    assert!(error.contains("in “Token Name”"), "{error}");
    assert_eq!(
        codes(&b, "[data-error-for=\"token_name\"]").await,
        ["portal token", "-", "_", "."]
    );
    assert!(beside(&b, "[data-error-for=\"token_name\"]", "f-token_name").await);
    b.screenshot("create-token-name-error").await;

    b.type_into("Token Name", "jwt").await;
    b.press("Submit").await;
    let error = b
        .wait_text("[data-error-for=\"key_source.secret\"]", "bytes")
        .await;
    assert!(
        error.starts_with("The secret is 9 bytes; HS256 needs at least 32 bytes. Use a random secret of at least 32 bytes"),
        "the problem, then the fix: {error}"
    );
    assert!(error.contains("given as “Base64”"), "{error}");
    assert_plain_language(&error);
    assert!(
        !error.contains("too-short"),
        "the error never quotes the secret: {error}"
    );
    assert_eq!(
        codes(&b, "[data-error-for=\"key_source.secret\"]").await,
        ["openssl rand -base64 32"]
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
    b.type_into("Secret Key", PORTAL_SECRET).await;
    b.wait_text(status, "38 bytes: long enough for HS256").await;
    b.type_into("Name", "erp").await;
    b.press("Submit").await;
    b.wait_text("#banner", "already exists").await;
    assert_eq!(banner_kind(&b).await, json!("duplicate_name"));
    assert!(
        !b.is_visible("[data-error-for=\"key_source.secret\"]").await,
        "the old field error is gone"
    );
    assert_plain_language(&b.text("#banner").await);
    b.screenshot("create-duplicate-name").await;

    // ---- An advanced option: unfolded, changed, counted in the summary.
    b.press("Advanced options").await;
    b.type_into("Leeway (s)", "30").await;
    b.wait_text("[data-testid=advanced-note]", "1 changed from the defaults")
        .await;
    assert_actions_reachable(&b, "the new form, advanced options open").await;
    b.screenshot("create-advanced-open").await;

    // ---- Then correctly: it is in the list, created by `admin`, enabled.
    b.type_into("Name", "Portal").await;
    b.press("Submit").await;
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
    let saved = stored_config(&server, "Portal");
    assert_eq!(saved["leeway"], 30, "{saved}");
    assert_eq!(saved["algorithms"], json!(["HS256"]), "{saved}");
    let valid = portal_token(PORTAL_SECRET, now() + 600);
    assert_eq!(
        login(&server, &valid).await.0,
        200,
        "the new configuration logs users in"
    );
    b.screenshot("created").await;

    // ---- One warning component, in the form and after a save: the
    // configuration without an audience.
    b.click_on(&b.link(HOSTILE_NAME).await, HOSTILE_NAME).await;
    b.visible("#form-view").await;
    let in_form = b.wait_text("#form-warnings", "No “Audience” is set").await;
    let form_look = look(&b, "#form-warnings").await;
    b.screenshot("edit-form-warning").await;
    b.press("Submit").await;
    b.visible("#list-view").await;
    b.wait_text("#banner", "saved").await;
    let after_save = b
        .wait_text("[data-testid=notice-warnings]", "No “Audience” is set")
        .await;
    assert_eq!(after_save, in_form, "the same warning, the same words");
    assert_eq!(
        look(&b, "[data-testid=notice-warnings]").await,
        form_look,
        "and the same look"
    );
    assert_eq!(
        form_look[1],
        json!("rgb(255, 248, 225)"),
        "amber: {form_look}"
    );
    b.screenshot("saved-with-warning").await;
    let page_text = b.js("return document.body.innerText;", vec![]).await;
    assert!(
        !page_text.as_str().unwrap().contains('`'),
        "no literal backticks: {page_text}"
    );

    // ---- Disabling asks first and says what happens; Cancel changes nothing.
    b.click_on(&b.field("Enabled: Portal").await, "Enabled: Portal")
        .await;
    b.visible("#disable-dialog").await;
    let dialog = b.text("#disable-dialog").await;
    assert!(dialog.starts_with("Disable “Portal”?"), "{dialog}");
    assert!(
        dialog.contains("its users cannot log in") && dialog.contains("sessions it started end"),
        "{dialog}"
    );
    assert_focus(&b, &b.button("Cancel").await, "focus moves into the dialog").await;
    b.screenshot("disable-dialog").await;
    audits.run(&b, "disable dialog").await;
    cancel_dialog(&b, "#disable-dialog").await;
    let switch = b.field("Enabled: Portal").await;
    assert_focus(&b, &switch, "focus returns to the switch").await;
    assert_eq!(b.prop(&toggle, "checked").await.as_deref(), Some("true"));
    assert_eq!(login(&server, &valid).await.0, 200, "still enabled");

    // ---- Confirmed: logins are refused with `disabled`, a notice says so,
    // the switch says "Disabled"; the state survives a reload.
    b.click_on(&b.field("Enabled: Portal").await, "Enabled: Portal")
        .await;
    b.visible("#disable-dialog").await;
    b.press("Disable").await;
    b.wait_gone("#disable-dialog").await;
    let said = b.wait_text("#banner", "“Portal” is disabled").await;
    assert!(
        said.contains("its users cannot log in") && said.contains("sessions it started have ended"),
        "{said}"
    );
    assert_eq!(b.prop(&toggle, "checked").await.as_deref(), Some("false"));
    assert_eq!(switch_text(&b, "Portal").await, "Disabled");
    assert_focus(
        &b,
        &b.field("Enabled: Portal").await,
        "focus returns to the switch",
    )
    .await;
    let refused = login(&server, &portal_token(PORTAL_SECRET, now() + 600)).await;
    assert_eq!(refused, (401, "disabled".to_owned()));
    b.screenshot("disabled").await;
    assert_no_csp_violations(&b).await;
    b.client().refresh().await.unwrap();
    watch_csp(&b).await;
    b.visible("#list-view").await;
    b.wait_until("the list after a reload", || async {
        b.is_visible(&toggle).await
    })
    .await;
    assert_eq!(b.prop(&toggle, "checked").await.as_deref(), Some("false"));
    assert_eq!(switch_text(&b, "Portal").await, "Disabled");

    // ---- Edit it by its name: the secret is not in the page ("(unchanged)")
    // and is kept when not retyped; the changed advanced option shows them
    // unfolded; switch it on again and change the expiration time.
    b.click_on(&b.link("Portal").await, "Portal").await;
    b.visible("#form-view").await;
    b.wait_text("#form-title", "Portal").await;
    assert_eq!(b.prop("#f-name", "value").await.as_deref(), Some("Portal"));
    assert_eq!(b.prop("#f-secret", "value").await.as_deref(), Some(""));
    assert_eq!(
        b.prop("#f-secret", "placeholder").await.as_deref(),
        Some("(unchanged)")
    );
    b.visible("[data-testid=secret-unchanged]").await;
    b.wait_text(status, "The stored secret is kept").await;
    let source = b.client().source().await.unwrap();
    assert!(
        !source.contains(PORTAL_SECRET),
        "the secret is never in the page"
    );
    assert_eq!(b.prop("#advanced", "open").await.as_deref(), Some("true"));
    assert_eq!(b.prop("#f-leeway", "value").await.as_deref(), Some("30"));
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
    b.click_on(&b.field("Enabled").await, "Enabled").await;
    b.type_into("Expiration Time (s)", "3600").await;
    b.press("Add prompt").await;
    b.choose("Kind of prompt 2", "Numeric").await;
    b.type_into("Slot of prompt 2", "99").await;
    b.type_into("Claim of prompt 2", "level").await;
    b.press("Submit").await;
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
    let shown = b.visible_text(".field-error").await;
    assert_eq!(
        shown.matches("out of range").count(),
        1,
        "one error, shown once"
    );
    assert!(
        shown.starts_with("Numeric slot 99 is out of range. Use a numeric slot from 1 to 15."),
        "{shown}"
    );
    b.screenshot("edit-prompt-slot-out-of-range").await;
    audits.run(&b, "form (edit, with an error)").await;
    b.type_into("Slot of prompt 2", "2").await;
    b.screenshot("edit-form").await;
    b.press("Submit").await;
    b.visible("#list-view").await;
    b.wait_text("#banner", "saved").await;
    assert_eq!(b.prop(&toggle, "checked").await.as_deref(), Some("true"));
    assert_eq!(switch_text(&b, "Portal").await, "Enabled");
    assert_eq!(
        login(&server, &portal_token(PORTAL_SECRET, now() + 600))
            .await
            .0,
        200,
        "enabled again, and the secret kept through the redacted round trip"
    );
    let saved = stored_config(&server, "Portal");
    assert_eq!(saved["expiration_time"], 3600, "{saved}");
    assert_eq!(saved["leeway"], 30, "{saved}");
    assert_eq!(saved["system_prompts"][1]["claim"], "level", "{saved}");
    b.screenshot("edited").await;

    // ---- Two administrators: while this form is open, someone else saves ERP.
    b.click_on(&b.link("ERP").await, "ERP").await;
    b.wait_text("#form-title", "ERP").await;
    server.set_enabled("ERP", false).await;
    b.type_into("Audience", "another-audience").await;
    b.press("Submit").await;
    b.wait_text("#banner", "Someone else saved").await;
    assert_eq!(banner_kind(&b).await, json!("version_conflict"));
    assert!(b.is_visible("#form-view").await, "the form stays open");
    b.screenshot("edit-version-conflict").await;
    // Reloading shows the other administrator's change and drops this one.
    b.press("Reload the configuration").await;
    b.wait_until("the reloaded form", || async {
        b.prop("#f-enabled", "checked").await.as_deref() == Some("false")
    })
    .await;
    assert_eq!(
        b.prop("#f-audience", "value").await.as_deref(),
        Some("bi-server")
    );
    b.press("Cancel").await;
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

    // ---- Test tokens: a good one shows the identity as a table.
    open_token_test(&b, "Portal").await;
    assert_eq!(b.text("#test-config-name").await, "Portal");
    test_token(&b, &valid).await;
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
    let identity = b
        .js(
            "const cell = (key) => document.querySelector(`[data-testid=identity-${key}]`);
             return {
               rows: [...document.querySelectorAll('#test-identity-rows > tr > th')].map((e) => e.innerText),
               user: cell('user_id').innerText,
               name: cell('name').innerText,
               roles: [...cell('roles').querySelectorAll('li')].map((e) => e.innerText),
               roles_text: cell('roles').innerText,
               prompts: [...cell('prompts').querySelector('table').tBodies[0].rows]
                 .map((r) => [...r.cells].map((c) => c.innerText)),
               valid_until: cell('expires_at').innerText,
             };",
            vec![],
        )
        .await;
    assert_eq!(identity["user"], "jdoe");
    assert_eq!(identity["name"], "Jane Doe");
    assert_eq!(
        identity["roles"],
        json!(["Viewer", "Analyst"]),
        "{identity}"
    );
    assert!(
        !identity["roles_text"].as_str().unwrap().contains('['),
        "roles are a list, not JSON: {identity}"
    );
    assert_eq!(
        identity["prompts"],
        json!([["Text", "1", "Sales"], ["Numeric", "2", "7"]]),
        "prompts by kind and slot: {identity}"
    );
    assert!(
        identity["valid_until"]
            .as_str()
            .unwrap()
            .ends_with(&format!("({})", browser::TIME_ZONE)),
        "{identity}"
    );
    for label in [
        "User ID",
        "Name",
        "Email",
        "User type",
        "Roles",
        "System prompts",
    ] {
        assert!(
            identity["rows"].as_array().unwrap().contains(&json!(label)),
            "{label}: {identity}"
        );
    }
    // Code in the checklist is code, never backticks.
    let page_text = b.js("return document.body.innerText;", vec![]).await;
    assert!(
        !page_text.as_str().unwrap().contains('`'),
        "no literal backticks: {page_text}"
    );
    let checklist_code = codes(&b, "#test-steps").await;
    for code in ["crit", "exp", "jti"] {
        assert!(
            checklist_code.iter().any(|c| c == code),
            "{code} as code: {checklist_code:?}"
        );
    }
    b.screenshot("test-accepted").await;
    audits.run(&b, "test a token").await;

    let expired_at = now() - 3600;
    let expired = portal_token(PORTAL_SECRET, expired_at);
    test_token(&b, &expired).await;
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
    failed_step(&b).await;
    b.screenshot("test-expired").await;

    // "Check at" is a date and time in the browser's time zone: ten minutes
    // before the token expired, it is accepted (read as UTC, it would be
    // nine and a half hours off, and refused).
    let at = expired_at - 600;
    type_local_time(&b, "Check at", at).await;
    b.press("Test").await;
    b.wait_text("#test-summary", "accepted").await;
    // (ICU puts a narrow no-break space before AM/PM; WebDriver's text may not.)
    let when = b.text("#test-when").await.replace('\u{202f}', " ");
    assert!(
        when.contains(&clock_text(at)) && when.contains(browser::TIME_ZONE),
        "{when} (expected {})",
        clock_text(at)
    );
    b.screenshot("test-check-at").await;
    b.press("Now").await;
    assert_eq!(b.prop("#test-at", "value").await.as_deref(), Some(""));

    let forged = portal_token("another-secret-0123456789-abcdefghij", now() + 600);
    test_token(&b, &forged).await;
    let summary = b.wait_text("#test-summary", "refused").await;
    assert!(summary.contains("invalid_signature"), "{summary}");
    assert!(
        summary.contains("refused at step 7: Signature verifies") || summary.contains("step 7"),
        "{summary}"
    );
    let hint = b.text("#test-steps li.fail [data-testid=step-hint]").await;
    assert!(
        hint.to_lowercase().contains("secret"),
        "the hint points at the secret: {hint}"
    );
    failed_step(&b).await;
    b.screenshot("test-invalid-signature").await;

    // ---- Delete through the confirmation dialog, which wants the exact name.
    b.press("Back to the list").await;
    b.visible("#list-view").await;
    b.press("Delete Portal").await;
    b.visible("#delete-dialog").await;
    assert_eq!(b.text("#delete-name").await, "Portal");
    let confirm = b.field("Type its name to confirm").await;
    assert_focus(&b, &confirm, "focus moves into the dialog").await;
    assert_eq!(
        b.prop("#delete-submit", "disabled").await.as_deref(),
        Some("true")
    );
    audits.run(&b, "delete dialog").await;
    cancel_dialog(&b, "#delete-dialog").await;
    let delete = b.button("Delete Portal").await;
    assert_focus(&b, &delete, "focus returns to the Delete button").await;
    b.press("Delete Portal").await;
    b.visible("#delete-dialog").await;
    b.type_into("Type its name to confirm", "Portl").await;
    assert_eq!(
        b.prop("#delete-submit", "disabled").await.as_deref(),
        Some("true")
    );
    b.type_into("Type its name to confirm", "Portal").await;
    assert_eq!(
        b.prop("#delete-submit", "disabled").await.as_deref(),
        Some("false")
    );
    b.screenshot("delete-dialog").await;
    b.press("Delete").await;
    b.wait_gone("#delete-dialog").await;
    b.wait_text("#banner", "deleted").await;
    b.wait_gone(&portal).await;
    assert_eq!(
        b.js("return document.activeElement.id;", vec![]).await,
        json!("list-title"),
        "with the row gone, focus goes to the list's heading"
    );
    assert!(
        b.is_visible(&row("ERP")).await,
        "the other configuration stays"
    );
    assert!(
        !server.config_file().contains("Portal"),
        "the deletion is saved"
    );
    let (status_code, _) = login(&server, &valid).await;
    assert_ne!(status_code, 200, "a deleted configuration logs nobody in");
    b.screenshot("deleted").await;

    // ---- Recent logins: the reason of a refused login without the server's
    // log, and values from tokens shown as text that runs nothing.
    const MARKUP: &str = "<img src=x onerror=alert(1)>";
    b.js(
        "window.__alerts = 0; window.alert = () => { window.__alerts += 1; };",
        vec![],
    )
    .await;
    // ERP is disabled by now; the other configuration logs in a user whose
    // ID is markup, and a token whose issuer is markup is refused (its
    // message quotes the issuer).
    let ops_token = |iss: &str, sub: &str| {
        SigningKey::from_secret(ERP_SECRET.as_bytes())
            .sign(
                Algorithm::HS256,
                &json!({"iss": iss, "sub": sub, "iat": now() - 60, "exp": now() + 600}),
            )
            .unwrap()
    };
    let markup_user = login(&server, &ops_token("https://ops.example.com", MARKUP)).await;
    assert_eq!(markup_user, (200, String::new()));
    let (status, refused_kind) = login(&server, &ops_token(MARKUP, "jdoe")).await;
    assert_eq!(status, 401, "{refused_kind:?}");
    assert!(!refused_kind.is_empty(), "a refusal names its kind");
    // The history is written in the background: wait until it has them.
    let events = format!("/api/admin/events?kind={refused_kind}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server
        .admin(Method::GET, &events, None, None)
        .await
        .body
        .to_string()
        .contains(&refused_kind)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the event was not stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recent = b.link("Recent logins").await;
    b.click_on(&recent, "Recent logins").await;
    b.visible("#events-view").await;
    b.wait_text("#event-rows", &refused_kind).await;
    let rows = b
        .js(
            "return [...document.querySelectorAll('#event-rows tr[data-testid=event-row]')].map((row) => {
               const next = row.nextElementSibling;
               const detail = next && next.dataset.testid === 'event-detail' ? next : null;
               const t = (sel, root = row) => { const e = root && root.querySelector(sel); return e ? e.textContent : null; };
               return { config: t('[data-testid=event-config]'), user: t('[data-testid=event-user]'),
                        outcome: t('[data-testid=event-outcome]'), kind: t('[data-testid=event-kind]'),
                        message: t('[data-testid=event-message]', detail), hint: t('[data-testid=event-hint]', detail) };
             });",
            vec![],
        )
        .await;
    let rows = rows.as_array().unwrap();
    // Newest first: the refused markup issuer, then the user named by markup.
    let refused = &rows[0];
    assert_eq!(refused["outcome"], "Refused", "{rows:#?}");
    assert_eq!(refused["kind"], refused_kind.as_str());
    assert!(
        refused["message"].as_str().unwrap().contains(MARKUP),
        "the token's value, as text: {refused}"
    );
    assert!(
        refused["hint"].as_str().unwrap().contains("issuer"),
        "the hint is shown: {refused}"
    );
    assert_eq!(rows[1]["outcome"], "Accepted");
    assert_eq!(rows[1]["user"], MARKUP);
    assert_eq!(
        rows[1]["config"], HOSTILE_NAME,
        "a configuration's name as text"
    );
    assert_eq!(
        rows[1]["message"],
        Value::Null,
        "no detail for an accepted login"
    );
    // The single sign-on refusal at the start is there with its reason too.
    assert!(
        rows.iter()
            .any(|r| r["kind"] == "malformed" && r["hint"].as_str().is_some_and(|h| !h.is_empty())),
        "{rows:#?}"
    );
    assert_eq!(
        b.js(
            "return [document.querySelectorAll('#events-view img').length, window.__alerts];",
            vec![]
        )
        .await,
        json!([0, 0]),
        "no element from a token's value, nothing ran"
    );
    b.screenshot("recent-logins").await;
    audits.run(&b, "recent logins").await;
    // Filters: refused logins of ERP only.
    b.choose("Outcome", "Refused").await;
    b.wait_until("only refused logins", || async {
        b.js(
            "const o = [...document.querySelectorAll('#event-rows [data-testid=event-outcome]')].map((e) => e.textContent);
             return o.length > 0 && o.every((x) => x === 'Refused');",
            vec![],
        )
        .await
            == json!(true)
    })
    .await;
    // And one configuration's logins, whatever their outcome (the name,
    // markup, is an option's text).
    b.choose("Outcome", "Accepted and refused").await;
    b.choose("Configuration", HOSTILE_NAME).await;
    b.wait_until("only that configuration's logins", || async {
        b.js(
            "const c = [...document.querySelectorAll('#event-rows [data-testid=event-config]')].map((e) => e.textContent);
             return c.length > 0 && c.every((x) => x === arguments[0]);",
            vec![json!(HOSTILE_NAME)],
        )
        .await
            == json!(true)
    })
    .await;
    b.screenshot("recent-logins-filtered").await;

    // ---- The page caused no CSP violation; signing out forgets the token.
    assert_no_csp_violations(&b).await;
    b.press("Sign out").await;
    b.visible("#signin-view").await;
    assert_eq!(session_token(&b).await, Value::Null);
    audits.assert_complete();
    b.close().await;
}

const ROTATED_SECRET: &str = "console-test-rotated-secret-fedcba9876543210";

/// A token of ERP's signed with `secret`: `loginname` `user`, the roles
/// `groups`, and the claims of `extra` on top.
fn erp_token_with(secret: &str, user: &str, groups: &[&str], extra: Value) -> String {
    let mut claims = json!({
        "iss": "https://erp.example.com", "aud": "bi-server", "loginname": user,
        "groups": groups, "iat": now() - 60, "exp": now() + 600
    });
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    SigningKey::from_secret(secret.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

/// The role checkboxes checked in the element `css`.
async fn checked_roles(b: &Browser, css: &str) -> Vec<String> {
    let list = b
        .js(
            "return [...document.querySelector(arguments[0]).querySelectorAll('input[type=checkbox]')]
               .filter((e) => e.checked).map((e) => e.value);",
            vec![json!(css)],
        )
        .await;
    serde_json::from_value(list).unwrap()
}

/// The request bodies the console sends with `PUT` from now on
/// (`window.__puts`), recorded by wrapping `fetch`.
async fn record_puts(b: &Browser) {
    b.js(
        "window.__puts = []; const original = window.fetch;
         window.fetch = (url, options) => {
           if (options && options.method === 'PUT') window.__puts.push(JSON.parse(options.body));
           return original(url, options);
         };",
        vec![],
    )
    .await;
}

/// Opens the configuration `name` from the list and unfolds its advanced options.
async fn open_advanced(b: &Browser, name: &str) {
    b.visible("#list-view").await;
    b.click_on(&b.link(name).await, name).await;
    b.wait_text("#form-title", name).await;
    if b.prop("#advanced", "open").await.as_deref() != Some("true") {
        b.press("Advanced options").await;
    }
}

/// Submits the form and waits for the list.
async fn submit(b: &Browser) {
    b.press("Submit").await;
    b.visible("#list-view").await;
}

/// Ticks (or unticks) the checkbox labelled `label`.
async fn tick(b: &Browser, label: &str, on: bool) {
    let field = b.field(label).await;
    let checked = field.prop("checked").await.unwrap().as_deref() == Some("true");
    if checked != on {
        b.click_on(&field, label).await;
    }
}

/// The console's screens of issue 23 in Chromium, against `login_server`
/// with the host's catalogue (`--roles`, `--user-types`): the role rules
/// table (add, remove, reorder, the strict switch), the host's roles and
/// user types as checkboxes and selects (a name outside them marked and
/// refused beside its field), the secret array (add a second secret, remove
/// the old one; stored ones shown as "stored secret", never their value),
/// `sync_on_login`'s boxes, the `may_grant_admin` switch, members the form
/// does not show sent back, and the token debugger (decoded header and
/// claims beside the checklist, `exp` marked with "expired 3 hours ago",
/// markup in a claim shown as text, the rotated secret that verified). Every
/// change is checked where it lands: the server's file and real logins.
/// axe-core audits the new screens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_rules_secrets_catalogue_and_the_token_debugger_in_the_console() {
    if !browser::available() {
        return;
    }
    let configs = json!([{
        "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
        "audience": "bi-server", "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 86400, "claims": {"user_id": "loginname", "roles": "groups"},
        "user_type": "reader",
        // `Guest` is not one of the host's roles: loaded from the file as it is.
        "initial_roles": ["Viewer", "Guest"],
        "role_rules": [{"claim": "groups", "value": "Sales", "roles": ["Analyst"], "user_type": "analyst"}],
        // The stable id: a member the form does not show.
        "id": "0d15ea5e0d15ea5e0d15ea5e0d15ea5e",
        "created_by": "admin", "last_modified": "2026-03-13T10:00:00Z"
    }]);
    let server = LoginServer::start_with(
        "rules",
        &configs,
        &[
            "--roles",
            "Viewer,Analyst,Administrator",
            "--user-types",
            "reader,analyst,author,administrator",
        ],
    );
    let Some(mut b) = Browser::start("console-screenshots-rules").await else {
        return;
    };
    let mut audited = Vec::new();

    // The catalogue as the API serves it.
    let catalog = server
        .admin(Method::GET, "/api/admin/catalog", None, None)
        .await;
    assert_eq!(catalog.status, 200, "{catalog:?}");
    assert_eq!(
        catalog.body,
        json!({"roles": ["Viewer", "Analyst", "Administrator"],
               "user_types": ["reader", "analyst", "author", "administrator"]})
    );

    // ---- may_grant_admin off (the default): a token's Administrator group
    // does not open the console.
    b.goto(&server.url("/admin")).await;
    b.visible("#signin-view").await;
    watch_csp(&b).await;
    b.type_into(
        "Single sign-on token",
        &erp_token_with(ERP_SECRET, "boss", &["Administrator"], json!({})),
    )
    .await;
    b.press("Sign in with the token").await;
    b.wait_text("#sso-error", "has no administrator role").await;
    b.type_into("Admin token", ADMIN_TOKEN).await;
    b.press("Sign in").await;
    open_advanced(&b, "ERP").await;

    // ---- The catalogue's choices: a select for the user type, checkboxes
    // for the roles; a role outside the catalogue is marked, still checked.
    let user_type = b.field("User Type").await;
    assert_eq!(user_type.tag_name().await.unwrap(), "select");
    let options = b
        .js(
            "return [...document.getElementById('f-user_type-select').options].map((o) => o.value);",
            vec![],
        )
        .await;
    assert_eq!(
        options,
        json!(["reader", "analyst", "author", "administrator"])
    );
    assert_eq!(
        b.prop("#f-user_type-select", "value").await.as_deref(),
        Some("reader")
    );
    assert!(!b.is_visible("#f-initial_roles").await, "no free text");
    assert_eq!(
        checked_roles(&b, "#f-initial_roles-choices").await,
        ["Viewer", "Guest"]
    );
    let guest = b.text("#f-initial_roles-choices label.misfit").await;
    assert!(
        guest.contains("Guest") && guest.contains("not one of this server's"),
        "{guest}"
    );

    // ---- The rules table as loaded: the rule's roles as checkboxes, its
    // user type a select.
    assert_eq!(b.all("#rule-rows [data-testid=rule-row]").await.len(), 1);
    assert_eq!(
        b.prop("#rule-rows [data-testid=rule-claim]", "value")
            .await
            .as_deref(),
        Some("groups")
    );
    assert_eq!(
        checked_roles(&b, "#rule-rows [data-testid=rule-roles]").await,
        ["Analyst"]
    );
    assert_eq!(
        b.prop("#rule-rows [data-testid=rule-user_type]", "value")
            .await
            .as_deref(),
        Some("analyst")
    );

    // ---- Saving with the role outside the catalogue: refused, beside the roles.
    record_puts(&b).await;
    b.press("Submit").await;
    let error = b.wait_text("[data-error-for=initial_roles]", "Guest").await;
    assert!(b.is_visible("#form-view").await, "{error}");
    assert_eq!(
        stored_config(&server, "ERP")["initial_roles"],
        json!(["Viewer", "Guest"])
    );
    b.screenshot("rules-catalogue-error").await;

    // ---- Edit: untick Guest, user type "author"; add two rules (a JSON
    // Pointer), move the second up, remove the third; the strict switch,
    // may_grant_admin, two sync boxes; a second secret.
    tick(&b, "Guest (not one of this server's)", false).await;
    b.choose("User Type", "author").await;
    b.press("Add rule").await;
    b.type_into("Claim of rule 2", "/realm_access/roles").await;
    b.type_into("Value of rule 2", "auditor").await;
    tick(&b, "Viewer (rule 2)", true).await;
    b.choose("User type of rule 2", "(none)").await;
    b.press("Add rule").await;
    b.type_into("Claim of rule 3", "department").await;
    b.type_into("Value of rule 3", "Finance").await;
    assert_eq!(b.all("#rule-rows [data-testid=rule-row]").await.len(), 3);
    b.press("Move rule 2 up").await;
    assert_eq!(
        b.prop(
            "#rule-rows tr[data-index=\"0\"] [data-testid=rule-claim]",
            "value"
        )
        .await
        .as_deref(),
        Some("/realm_access/roles"),
        "moved up"
    );
    b.press("Remove rule 3").await;
    assert_eq!(b.all("#rule-rows [data-testid=rule-row]").await.len(), 2);
    tick(&b, "Require a matching rule", true).await;
    tick(&b, "Tokens may grant the administrator role", true).await;
    tick(&b, "Roles (synced on login)", true).await;
    tick(&b, "User type (synced on login)", true).await;
    b.press("Add a secret").await;
    b.type_into("Secret 2", ROTATED_SECRET).await;
    b.screenshot("rules-form").await;
    if b.audit("form (rules, catalogue, secrets)").await.is_some() {
        audited.push("form (rules, catalogue, secrets)");
    }
    submit(&b).await;

    let saved = stored_config(&server, "ERP");
    assert_eq!(saved["user_type"], "author", "{saved}");
    assert_eq!(saved["initial_roles"], json!(["Viewer"]), "{saved}");
    assert_eq!(
        saved["role_rules"],
        json!([
            {"claim": "/realm_access/roles", "value": "auditor", "roles": ["Viewer"]},
            {"claim": "groups", "value": "Sales", "roles": ["Analyst"], "user_type": "analyst"}
        ]),
        "{saved}"
    );
    assert_eq!(saved["role_rules_required"], true, "{saved}");
    assert_eq!(saved["may_grant_admin"], true, "{saved}");
    assert_eq!(
        saved["sync_on_login"],
        json!(["roles", "user_type"]),
        "{saved}"
    );
    assert_eq!(
        saved["key_source"]["secret"],
        json!([ERP_SECRET, ROTATED_SECRET]),
        "the stored secret kept at its place, the new one after it"
    );
    // Members the form does not show went back as they came (the second
    // PUT: the first was refused).
    let puts = b.js("return window.__puts;", vec![]).await;
    let sent = &puts[1];
    let (_, view) = server.view("ERP").await;
    assert_eq!(view["id"], "0d15ea5e0d15ea5e0d15ea5e0d15ea5e", "{view}");
    for (name, value) in view.as_object().unwrap() {
        if !["created_by", "last_modified", "key_source"].contains(&name.as_str()) {
            assert_eq!(&sent[name], value, "{name} went back as it came: {sent}");
        }
    }
    assert_eq!(
        sent["key_source"]["secret"][0],
        json!({"redacted": true}),
        "{sent}"
    );

    // What the saved rules do, at the server: both secrets log in; a token
    // matching no rule is refused with `no_matching_role`; a token's
    // Administrator group now opens the console.
    for secret in [ERP_SECRET, ROTATED_SECRET] {
        let token = erp_token_with(secret, "ann", &["Sales"], json!({}));
        assert_eq!(login(&server, &token).await.0, 200);
    }
    let pointer = erp_token_with(
        ROTATED_SECRET,
        "audrey",
        &[],
        json!({"realm_access": {"roles": ["auditor"]}}),
    );
    assert_eq!(login(&server, &pointer).await.0, 200);
    let none = erp_token_with(ERP_SECRET, "nobody", &["Marketing"], json!({}));
    assert_eq!(
        login(&server, &none).await,
        (403, "no_matching_role".to_owned())
    );

    // ---- The token debugger: an accepted token says which secret of the
    // rotation verified, and the identity it would get.
    open_token_test(&b, "ERP").await;
    let rotated = erp_token_with(ROTATED_SECRET, "ann", &["Sales"], json!({}));
    test_token(&b, &rotated).await;
    b.wait_text("#test-summary", "accepted").await;
    let index = b.text("#test-secret-index").await;
    assert!(index.contains("secret 2"), "{index}");
    let identity = b.text("#test-identity").await;
    assert!(
        identity.contains("Analyst") && identity.contains("analyst"),
        "{identity}"
    );
    b.press("Back to the list").await;

    // ---- Opened again: the secrets are "stored secret", never their value;
    // the boxes and switches as saved.
    open_advanced(&b, "ERP").await;
    let stored = b.text("#f-secret-more [data-testid=secret-row]").await;
    assert!(
        stored.contains("Secret 2") && stored.contains("stored secret"),
        "{stored}"
    );
    assert!(
        b.text("#f-secret-status")
            .await
            .contains("stored secret is kept"),
        "{}",
        b.text("#f-secret-status").await
    );
    let page = b
        .js("return document.documentElement.outerHTML + [...document.querySelectorAll('input')].map((i) => i.value).join(' ');", vec![])
        .await;
    let page = page.as_str().unwrap();
    assert!(
        !page.contains(ERP_SECRET) && !page.contains(ROTATED_SECRET),
        "no secret in the page"
    );
    for (id, on) in [
        ("#f-sync-name", "false"),
        ("#f-sync-email", "false"),
        ("#f-sync-roles", "true"),
        ("#f-sync-user_type", "true"),
        ("#f-role_rules_required", "true"),
        ("#f-may_grant_admin", "true"),
    ] {
        assert_eq!(b.prop(id, "checked").await.as_deref(), Some(on), "{id}");
    }

    // ---- Remove the old secret: its tokens fail, the new one's log in.
    b.press("Remove secret 1").await;
    assert!(!b.is_visible("#f-secret-remove").await, "one secret left");
    submit(&b).await;
    assert_eq!(
        stored_config(&server, "ERP")["key_source"]["secret"],
        json!([ROTATED_SECRET])
    );
    let old = erp_token_with(ERP_SECRET, "ann", &["Sales"], json!({}));
    assert_eq!(
        login(&server, &old).await,
        (401, "invalid_signature".to_owned())
    );
    let new = erp_token_with(ROTATED_SECRET, "ann", &["Sales"], json!({}));
    assert_eq!(login(&server, &new).await.0, 200);

    // ---- The token debugger (again below for a refused token).
    open_token_test(&b, "ERP").await;
    // An expired token with markup in a claim: the decoded claims beside
    // the checklist, `exp` marked with how long ago, the markup as text.
    let markup = "<img src=x onerror=\"window.__xss=1\"><b>bold</b>";
    let expired = erp_token_with(
        ROTATED_SECRET,
        "ann",
        &["Sales"],
        json!({"exp": now() - 3 * 3600 - 120, "iat": now() - 4 * 3600, "note": markup}),
    );
    test_token(&b, &expired).await;
    b.wait_text("#test-summary", "refused").await;
    let header = b.text("#test-header").await;
    assert!(header.contains("\"alg\": \"HS256\""), "{header}");
    let script = "return [...document.querySelectorAll('#test-claims .flagged')].map((e) => e.dataset.claim);";
    let flagged = b.js(script, vec![]).await;
    assert_eq!(flagged, json!(["exp"]), "only exp is marked");
    let exp = b.text("#test-claims [data-claim=exp]").await;
    assert!(exp.contains("expired 3 hours ago"), "{exp}");
    let note = b.text("#test-claims [data-claim=note]").await;
    assert!(note.contains("<img src=x"), "the markup as text: {note}");
    let script = "return [document.querySelectorAll('#test-view img, #test-view b').length, window.__xss === undefined];";
    let injected = b.js(script, vec![]).await;
    assert_eq!(
        injected,
        json!([0, true]),
        "nothing of the claim ran or rendered"
    );
    b.screenshot("token-debugger").await;
    if b.audit("token debugger").await.is_some() {
        audited.push("token debugger");
    }
    assert_no_csp_violations(&b).await;
    assert_audited(
        &audited,
        &["form (rules, catalogue, secrets)", "token debugger"],
    );
    b.close().await;
}

/// The kind of the banner's message (its `data-kind`).
async fn banner_kind(b: &Browser) -> Value {
    let script = "return document.getElementById('banner').dataset.kind;";
    b.js(script, vec![]).await
}

/// Asserts that `element` has the focus (`what`: why it should).
async fn assert_focus(b: &Browser, element: &fantoccini::elements::Element, what: &str) {
    assert!(b.has_focus(element).await, "{what}: {}", b.focused().await);
}

/// Asserts that Submit and Cancel are on screen at the top, middle and end
/// of the form (`form`: which, for the message).
async fn assert_actions_reachable(b: &Browser, form: &str) {
    let reach = reachable_actions(b).await;
    eprintln!("{form}: {reach}");
    let everywhere = json!([[true, true], [true, true], [true, true]]);
    assert_eq!(
        reach["at"], everywhere,
        "Submit and Cancel are on screen at the top, middle and end of {form}: {reach}"
    );
}

/// Asserts that the token test failed at exactly one step, every step
/// before it passed and every one after it skipped; returns its index.
async fn failed_step(b: &Browser) -> usize {
    let statuses = step_statuses(b).await;
    let fail = statuses.iter().position(|s| s == "fail");
    let fail = fail.unwrap_or_else(|| panic!("no failing step: {statuses:?}"));
    assert!(statuses[..fail].iter().all(|s| s == "ok"), "{statuses:?}");
    let after = &statuses[fail + 1..];
    assert!(after.iter().all(|s| s == "skipped"), "{statuses:?}");
    fail
}

/// Presses the open dialog's Cancel and waits until `dialog` is gone.
async fn cancel_dialog(b: &Browser, dialog: &str) {
    b.press("Cancel").await;
    b.wait_gone(dialog).await;
}

/// When axe-core ran (it is skipped outside CI without npm), it audited
/// exactly the `screens`, in order.
fn assert_audited(audited: &[&str], screens: &[&str]) {
    if !audited.is_empty() {
        assert_eq!(audited, screens, "the screens audited");
    }
}

/// Opens the token test of the configuration `name` from the list.
async fn open_token_test(b: &Browser, name: &str) {
    b.press(&format!("Test a token with {name}")).await;
    b.visible("#test-view").await;
}

/// Tests `token` in the open token test.
async fn test_token(b: &Browser, token: &str) {
    b.type_into("Token", token).await;
    b.press("Test").await;
}

/// A login with `token` at `server`: its status and error kind ("" when none).
async fn login(server: &LoginServer, token: &str) -> (u16, String) {
    let reply = server.login(token).await;
    (reply.status, reply.kind().to_owned())
}

/// The text of the error slot of the field `path` (empty when it shows none).
async fn error_text(b: &Browser, path: &str) -> String {
    b.js(
        "return [...document.querySelectorAll('[data-error-for]')]
           .filter((s) => s.dataset.errorFor === arguments[0]).map((s) => s.textContent).join('');",
        vec![json!(path)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// `GET /api/me` with ERP's token for `jdoe` as `Authorization: Bearer`:
/// the status and the reply.
async fn me_by_bearer(server: &LoginServer) -> (u16, Value) {
    let token = erp_token_with(ERP_SECRET, "jdoe", &["Sales"], json!({}));
    let me = server.http.get(server.url("/api/me")).bearer_auth(token);
    let reply = Reply::send(me).await;
    (reply.status, reply.body)
}

/// Logs `jdoe` in with ERP's token (`POST /api/auth/login`), then signs out
/// as a browser does (`POST /logout` with the session cookie): the
/// `Location` it is sent to.
async fn sign_out_location(server: &LoginServer) -> Option<String> {
    let token = erp_token_with(ERP_SECRET, "jdoe", &["Sales"], json!({}));
    let login = server.login(&token).await;
    assert_eq!(login.status, 200, "{login:?}");
    let session = login.session.expect("a session token");
    let cookie = format!("jwt_sso_session={session}");
    let logout = server
        .http
        .post(server.url("/logout"))
        .header("Cookie", cookie);
    let reply = Reply::send(logout).await;
    assert_eq!(reply.status, 303, "{reply:?}");
    reply.header("location").map(str::to_owned)
}

/// The configuration fields `bearer` and `logout_url` (CONTRACT section 1)
/// in the console's folded advanced options, against `login_server`: both
/// counted in the options' "changed" note, saved as `bearer: true` and the
/// URL (read back through `GET /api/admin/configs/ERP` and the server's
/// file) and acting at the server (ERP's token is a bearer credential on
/// `/api/me` only after the save; `POST /logout` goes to the URL), shown
/// again when the form is reopened (the options unfolded by themselves);
/// `single_use` with `bearer` refused by the server with its error beside
/// the bearer switch and nothing saved; a plain-http URL to a host that is
/// not loopback refused beside its field; emptied, the URL is left out (no
/// `logout_url` member; sign-out goes to `/`). The token test's checklist
/// and identity table still render for a `bearer` configuration. axe-core
/// audits the form with the fields set and with an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_logout_url_in_the_console() {
    if !browser::available() {
        return;
    }
    const LOGOUT_URL: &str = "https://portal.example.com/signed-out";
    let configs = json!([{
        "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
        "audience": "bi-server", "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 86400, "claims": {"user_id": "loginname", "roles": "groups"},
        "initial_roles": ["Viewer"],
        "created_by": "admin", "last_modified": "2026-03-13T10:00:00Z"
    }]);
    let server = LoginServer::start_with("bearer", &configs, &[]);
    let Some(mut b) = Browser::start("console-screenshots-bearer").await else {
        return;
    };
    let mut audited = Vec::new();
    let view = async || server.view("ERP").await.1;

    // Before: a login-only configuration (its token is no bearer
    // credential), and sign-out goes to `/`.
    let (status, reply) = me_by_bearer(&server).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["error"]["kind"], "no_matching_config", "{reply}");
    assert_eq!(sign_out_location(&server).await.as_deref(), Some("/"));

    b.goto(&server.url("/admin")).await;
    b.visible("#signin-view").await;
    watch_csp(&b).await;
    b.type_into("Admin token", ADMIN_TOKEN).await;
    b.press("Sign in").await;
    b.visible("#list-view").await;
    b.click_on(&b.link("ERP").await, "ERP").await;
    b.wait_text("#form-title", "ERP").await;

    // ---- Folded, at their defaults: named in the summary, off and empty.
    assert_eq!(b.prop("#advanced", "open").await.as_deref(), Some("false"));
    let note = b.text("[data-testid=advanced-note]").await;
    assert!(
        note.contains("bearer use, sign-out") && note.ends_with("defaults"),
        "{note}"
    );
    b.press("Advanced options").await;
    let bearer = b
        .field("Accept as a bearer token on protected routes")
        .await;
    assert_eq!(
        bearer.prop("checked").await.unwrap().as_deref(),
        Some("false")
    );
    assert_eq!(
        b.field("After sign-out, go to")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    let help = b.text("#f-bearer-help").await;
    assert!(
        help.contains("never a per-request credential") && help.contains("Single use"),
        "{help}"
    );

    // ---- Both set: each counted as a change.
    tick(&b, "Accept as a bearer token on protected routes", true).await;
    b.wait_text("[data-testid=advanced-note]", "1 changed from the defaults")
        .await;
    b.type_into("After sign-out, go to", LOGOUT_URL).await;
    b.wait_text("[data-testid=advanced-note]", "2 changed from the defaults")
        .await;
    b.screenshot("bearer-logout-form").await;
    if b.audit("form (bearer, logout_url)").await.is_some() {
        audited.push("form (bearer, logout_url)");
    }
    submit(&b).await;

    // Stored, as the admin API and the server's file show it.
    let saved = view().await;
    assert_eq!(saved["bearer"], true, "{saved}");
    assert_eq!(saved["logout_url"], LOGOUT_URL, "{saved}");
    let file = stored_config(&server, "ERP");
    assert_eq!(file["bearer"], true, "{file}");
    assert_eq!(file["logout_url"], LOGOUT_URL, "{file}");
    // And in effect: the token is a bearer credential; sign-out goes to the URL.
    let (status, reply) = me_by_bearer(&server).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["via"], "bearer", "{reply}");
    assert_eq!(reply["identity"]["user_id"], "jdoe", "{reply}");
    assert_eq!(
        sign_out_location(&server).await.as_deref(),
        Some(LOGOUT_URL)
    );

    // ---- The token test of a bearer configuration: checklist and identity table.
    open_token_test(&b, "ERP").await;
    let token = erp_token_with(ERP_SECRET, "ann", &["Sales"], json!({}));
    test_token(&b, &token).await;
    b.wait_text("#test-summary", "accepted").await;
    let statuses = step_statuses(&b).await;
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s == "ok" || s == "skipped"),
        "{statuses:?}"
    );
    let identity = b.text("#test-identity").await;
    assert!(
        identity.contains("ann") && identity.contains("Sales") && identity.contains("Viewer"),
        "{identity}"
    );
    b.press("Back to the list").await;

    // ---- Reopened: the options unfold by themselves, both shown as saved.
    b.visible("#list-view").await;
    b.click_on(&b.link("ERP").await, "ERP").await;
    b.wait_text("#form-title", "ERP").await;
    assert_eq!(b.prop("#advanced", "open").await.as_deref(), Some("true"));
    b.wait_text("[data-testid=advanced-note]", "2 changed from the defaults")
        .await;
    assert_eq!(
        b.prop("#f-bearer", "checked").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        b.prop("#f-logout_url", "value").await.as_deref(),
        Some(LOGOUT_URL)
    );

    // ---- Single use with bearer: the server's error beside the bearer
    // switch, in the form's words; nothing saved.
    tick(&b, "Single use", true).await;
    b.press("Submit").await;
    let error = b.wait_text("[data-error-for=bearer]", "bearer: true").await;
    assert!(
        error.contains("single_use: true") && error.contains("“Single use”"),
        "the problem, then the fix naming the form's label: {error}"
    );
    assert!(beside(&b, "[data-error-for=bearer]", "f-bearer").await);
    assert_eq!(
        b.prop("#f-bearer", "ariaInvalid").await.as_deref(),
        Some("true")
    );
    assert!(b.is_visible("#form-view").await, "the form stays open");
    assert_eq!(error_text(&b, "single_use").await, "");
    let kept = view().await;
    assert_eq!(kept["single_use"], Value::Null, "not saved: {kept}");
    assert_eq!(kept["bearer"], true, "{kept}");
    b.screenshot("bearer-single-use-error").await;

    // ---- A plain-http URL to a host that is not loopback: refused beside
    // its field; the stored URL kept.
    tick(&b, "Single use", false).await;
    b.type_into("After sign-out, go to", "http://example.com/bye")
        .await;
    b.press("Submit").await;
    let error = b
        .wait_text("[data-error-for=logout_url]", "http://example.com/bye")
        .await;
    assert!(error.contains("plain http"), "{error}");
    assert!(beside(&b, "[data-error-for=logout_url]", "f-logout_url").await);
    assert_eq!(
        b.prop("#f-logout_url", "ariaInvalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(error_text(&b, "bearer").await, "", "the old error is gone");
    assert_eq!(view().await["logout_url"], LOGOUT_URL);
    b.screenshot("logout-url-error").await;
    if b.audit("form (logout_url error)").await.is_some() {
        audited.push("form (logout_url error)");
    }

    // ---- Emptied: no `logout_url` member; sign-out goes to `/` again.
    b.type_into("After sign-out, go to", "").await;
    b.wait_text("[data-testid=advanced-note]", "1 changed from the defaults")
        .await;
    submit(&b).await;
    let saved = view().await;
    assert!(
        saved.get("logout_url").is_none_or(Value::is_null),
        "{saved}"
    );
    assert_eq!(saved["bearer"], true, "{saved}");
    assert_eq!(stored_config(&server, "ERP").get("logout_url"), None);
    assert_eq!(sign_out_location(&server).await.as_deref(), Some("/"));

    assert_no_csp_violations(&b).await;
    assert_audited(
        &audited,
        &["form (bearer, logout_url)", "form (logout_url error)"],
    );
    b.close().await;
}

/// The screens audited with axe-core.
#[derive(Default)]
struct Audits {
    done: Vec<&'static str>,
    available: bool,
}

impl Audits {
    async fn run(&mut self, b: &Browser, screen: &'static str) {
        if let Some(passes) = b.audit(screen).await {
            self.available = true;
            self.done.push(screen);
            eprintln!("axe-core: {screen}: no violations, {passes} rules passed");
        }
    }

    /// Every screen the console has was audited (when axe-core was there).
    fn assert_complete(&self) {
        if self.available {
            assert_eq!(
                self.done,
                [
                    "sign-in",
                    "list",
                    "form (new)",
                    "disable dialog",
                    "form (edit, with an error)",
                    "test a token",
                    "delete dialog",
                    "recent logins"
                ]
            );
        }
    }
}

/// A key of tests/data/keys.
fn test_key(file: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/keys")
            .join(file),
    )
    .unwrap_or_else(|e| panic!("reading {file}: {e}"))
}

/// The configuration `name` as the server's file holds it.
fn stored_config(server: &LoginServer, name: &str) -> Value {
    let file: Value = serde_json::from_str(&server.config_file()).unwrap();
    let list = file
        .as_array()
        .cloned()
        .or_else(|| file["configs"].as_array().cloned())
        .unwrap_or_default();
    list.into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {file}"))
}

/// Presses `key` on the focused element.
async fn key(b: &Browser, key: Key) {
    b.client()
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(key).to_string())
        .await
        .unwrap();
}

/// The algorithms the form offers (their checkboxes shown).
async fn offered(b: &Browser) -> Vec<String> {
    algorithm_boxes(b, "").await
}

/// The algorithms checked.
async fn checked(b: &Browser) -> Vec<String> {
    algorithm_boxes(b, ":checked").await
}

async fn algorithm_boxes(b: &Browser, filter: &str) -> Vec<String> {
    let list = b
        .js(
            "return [...document.querySelectorAll('#f-algorithms input[type=checkbox]' + arguments[0])]
               .filter((e) => e.checkVisibility()).map((e) => e.value);",
            vec![json!(filter)],
        )
        .await;
    serde_json::from_value(list).unwrap()
}

/// The words beside the switch of configuration `name`.
async fn switch_text(b: &Browser, name: &str) -> String {
    b.text(&format!("{} [data-testid=config-enabled-text]", row(name)))
        .await
}

/// The texts of the `<code>` elements in `css`.
async fn codes(b: &Browser, css: &str) -> Vec<String> {
    let list = b
        .js(
            "return [...document.querySelector(arguments[0]).querySelectorAll('code')].map((e) => e.textContent);",
            vec![json!(css)],
        )
        .await;
    serde_json::from_value(list).unwrap()
}

/// A message in the administrator's words: sentences, no internal prefix,
/// no field path, no literal backtick, no JSON.
#[track_caller]
fn assert_plain_language(message: &str) {
    for jargon in [
        "invalid configuration",
        "key_source",
        "token_name",
        "`",
        "{\"",
        "Hint:",
        "(duplicate_name)",
    ] {
        assert!(
            !message.contains(jargon),
            "{jargon:?} in the message: {message}"
        );
    }
    assert!(
        message.chars().next().is_some_and(char::is_uppercase),
        "a sentence starts with a capital: {message}"
    );
}

/// The look of a warning component: class, background, left border, text colour.
async fn look(b: &Browser, css: &str) -> Value {
    b.js(
        "const e = document.querySelector(arguments[0]); const s = getComputedStyle(e);
         return [e.className, s.backgroundColor, s.borderLeftColor, s.color];",
        vec![json!(css)],
    )
    .await
}

/// Whether Submit and Cancel are inside the window with the page scrolled to
/// the top, the middle and the end of the form; and the page's height.
async fn reachable_actions(b: &Browser) -> Value {
    b.js(
        "const form = document.getElementById('config-form');
         const end = form.getBoundingClientRect().bottom + window.scrollY;
         const inView = (id) => { const r = document.getElementById(id).getBoundingClientRect();
                                  return r.top >= 0 && r.bottom <= window.innerHeight; };
         const at = [0, end / 2 - innerHeight / 2, end].map((y) => {
           window.scrollTo(0, Math.max(0, y));
           return [inView('form-submit'), inView('form-cancel')];
         });
         window.scrollTo(0, 0);
         return { at, height: document.documentElement.scrollHeight, viewport: innerHeight };",
        vec![],
    )
    .await
}

/// `at` (seconds since 1970) as the browser's local time.
fn local(at: i64) -> time::PrimitiveDateTime {
    let t = time::OffsetDateTime::from_unix_timestamp(at + browser::TIME_ZONE_OFFSET).unwrap();
    time::PrimitiveDateTime::new(t.date(), t.time())
}

/// `at` as the clock part of en-US `toLocaleString` ("3:04:05 PM").
fn clock_text(at: i64) -> String {
    let t = local(at);
    let hour = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let half = if t.hour() < 12 { "AM" } else { "PM" };
    format!("{hour}:{:02}:{:02} {half}", t.minute(), t.second())
}

/// Types `at` into the date-and-time field labelled `label`, as a person
/// with an en-US browser would: month, day, year, then hour, minute, second
/// and AM/PM.
async fn type_local_time(b: &Browser, label: &str, at: i64) {
    let t = local(at);
    let hour = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let half = if t.hour() < 12 { "A" } else { "P" };
    let field = b.field(label).await;
    b.click_on(&field, label).await;
    let keys = format!(
        "{:02}{:02}{:04}{}{:02}{:02}{:02}{half}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        char::from(Key::Right),
        hour,
        t.minute(),
        t.second(),
    );
    field.send_keys(&keys).await.unwrap();
    let expected = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    // A browser leaves `:00` seconds out of the value.
    let expected = expected.strip_suffix(":00").unwrap_or(&expected);
    let value = b.prop("#test-at", "value").await;
    let value = value.as_deref().map(|v| v.strip_suffix(":00").unwrap_or(v));
    assert_eq!(value, Some(expected), "typed into {label:?}");
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
