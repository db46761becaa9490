//! Issue 23 in the administrator's API over real HTTP (CONTRACT section 7):
//! the host's catalogue (`GET /api/admin/catalog`, field errors on saves),
//! secret arrays redacted entry by entry and kept through a PUT, and the
//! token debugger's `header`, `claims` and `secret_index` in "test a token".
//! The router of `jwt_sso::axum::admin` on an ephemeral loopback port, a real
//! configuration file, reqwest as the client.
#![cfg(all(feature = "axum", feature = "remote"))]

use crate::support::fixtures::now;
use std::path::PathBuf;
use std::sync::Arc;

use jwt_sso::axum::admin::{AdminAccess, router};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Admin, Algorithm, ConfigFile, Configs, Registry, Route, Verification};
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "rules-http-admin-token-0123456789";
const OLD: &str = "rules-http-old-secret-0123456789abcdefgh";
const NEW: &str = "rules-http-new-secret-0123456789abcdefgh";
const NEXT: &str = "rules-http-next-secret-0123456789abcdefg";
const ISSUER: &str = "https://rot.example.com";

fn token(secret: &str, claims: Value) -> String {
    let mut claims = claims;
    claims["iss"] = json!(ISSUER);
    if claims.get("exp").is_none() {
        claims["exp"] = json!(now() + 600);
    }
    SigningKey::from_secret(secret.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

fn rotated(secret: Value) -> Value {
    json!({
        "name": "Rot", "token_name": "token", "issuer": ISSUER, "audience": "bi",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": secret},
        "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
        "initial_roles": ["Viewer"]
    })
}

struct Server {
    base: String,
    path: PathBuf,
    registry: Arc<Registry>,
    client: reqwest::Client,
}

struct Reply {
    status: u16,
    etag: Option<String>,
    body: Value,
    text: String,
}

impl Server {
    async fn start(name: &str, configs: Value, catalog: (&[&str], &[&str])) -> Server {
        let dir = std::env::temp_dir().join(format!(
            "jwt-sso-rules-http-{}-{name}-{}",
            std::process::id(),
            now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("configs.json");
        std::fs::write(&path, configs.to_string()).unwrap();
        let configs = Configs::new(ConfigFile::new(&path)).load().await.unwrap();
        let registry = Arc::clone(configs.registry());
        let admin =
            Admin::new(configs).with_catalog(catalog.0.iter().copied(), catalog.1.iter().copied());
        let app = router(
            Arc::new(admin),
            AdminAccess::new().with_admin_token(ADMIN_TOKEN),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server {
            base: format!("http://{addr}"),
            path,
            registry,
            client: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        etag: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"));
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        for secret in [OLD, NEW, NEXT, ADMIN_TOKEN] {
            assert!(!text.contains(secret), "a secret in: {text}");
        }
        Reply {
            status,
            etag,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// GET, change the redacted configuration with `edit`, PUT it back.
    async fn edit(&self, name: &str, edit: impl FnOnce(&mut Value)) -> Reply {
        let path = format!("/api/admin/configs/{name}");
        let got = self.call("GET", &path, None, None).await;
        assert_eq!(got.status, 200, "{}", got.text);
        let mut config = got.body.clone();
        edit(&mut config);
        self.call("PUT", &path, got.etag.as_deref(), Some(config))
            .await
    }

    /// Whether a token signed with `secret` verifies with the registry now.
    fn verifies(&self, secret: &str) -> Result<(), String> {
        let t = token(secret, json!({"sub": "jdoe", "aud": "bi"}));
        self.registry
            .verify_cached(&t, Verification::default().route(Route::Config("Rot")))
            .map(|_| ())
            .map_err(|e| e.kind().as_str().to_owned())
    }
}

#[tokio::test]
async fn the_catalogue_is_served_and_enforced_on_saves_with_the_field() {
    let server = Server::start(
        "catalog",
        json!([rotated(json!(OLD))]),
        (
            &["Viewer", "Analyst", "Administrator"],
            &["reader", "analyst", "author", "administrator"],
        ),
    )
    .await;
    let catalog = server.call("GET", "/api/admin/catalog", None, None).await;
    assert_eq!(catalog.status, 200);
    assert_eq!(
        catalog.body,
        json!({"roles": ["Viewer", "Analyst", "Administrator"], "user_types": ["reader", "analyst", "author", "administrator"]})
    );
    // Admin credentials as the other routes.
    let anonymous = reqwest::get(format!("{}/api/admin/catalog", server.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let new = |patch: Value| {
        let mut config = rotated(json!(NEW));
        config["name"] = json!("New");
        config["issuer"] = json!("https://new.example.com");
        for (k, v) in patch.as_object().unwrap() {
            config[k] = v.clone();
        }
        config
    };
    let cases = [
        (json!({"user_type": "Reader"}), "user_type"),
        (
            json!({"initial_roles": ["Viewer", "Veiwer"]}),
            "initial_roles[1]",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "roles": ["Analytics"]}]}),
            "role_rules[0].roles[0]",
        ),
        (
            json!({"role_rules": [
                {"claim": "groups", "value": "bi", "roles": ["Analyst"]},
                {"claim": "groups", "value": "x", "roles": ["Viewer", "Nobody"]}
            ]}),
            "role_rules[1].roles[1]",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "user_type": "superuser"}]}),
            "role_rules[0].user_type",
        ),
    ];
    for (patch, field) in cases {
        let reply = server
            .call("POST", "/api/admin/configs", None, Some(new(patch.clone())))
            .await;
        assert_eq!(reply.status, 400, "{patch}: {}", reply.text);
        assert_eq!(reply.body["error"]["kind"], "config", "{patch}");
        assert_eq!(
            reply.body["error"]["field"], field,
            "{patch}: {}",
            reply.text
        );
        let hint = reply.body["error"]["hint"].as_str().unwrap();
        assert!(
            hint.contains("`Viewer`") || hint.contains("`reader`"),
            "{hint}"
        );
    }
    assert_eq!(server.registry.len(), 1, "nothing was created");
    assert!(
        !std::fs::read_to_string(&server.path)
            .unwrap()
            .contains("\"New\"")
    );

    let good = new(json!({
        "user_type": "analyst", "initial_roles": ["Viewer"],
        "role_rules": [{"claim": "groups", "value": "bi", "roles": ["Analyst"], "user_type": "author"}]
    }));
    let created = server
        .call("POST", "/api/admin/configs", None, Some(good))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["role_rules"][0]["roles"], json!(["Analyst"]));

    // An update is checked too.
    let reply = server
        .edit("New", |c| {
            c["initial_roles"] = json!(["Viewer", "Administrators"])
        })
        .await;
    assert_eq!(
        (reply.status, reply.body["error"]["field"].as_str()),
        (400, Some("initial_roles[1]"))
    );
}

#[tokio::test]
async fn without_a_catalogue_any_name_is_saved_and_the_catalogue_is_empty() {
    let server = Server::start("no-catalog", json!([rotated(json!(OLD))]), (&[], &[])).await;
    let catalog = server.call("GET", "/api/admin/catalog", None, None).await;
    assert_eq!(catalog.body, json!({"roles": [], "user_types": []}));
    let reply = server
        .edit("Rot", |c| {
            c["user_type"] = json!("anything");
            c["initial_roles"] = json!(["Whatever"]);
        })
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn secret_arrays_are_redacted_entry_by_entry_and_kept_through_a_put() {
    let server = Server::start("rotation", json!([rotated(json!(OLD))]), (&[], &[])).await;
    assert_eq!(server.verifies(OLD), Ok(()));
    let redacted = json!({"redacted": true});

    // Rotation step 1: keep the stored secret, add the new one.
    let reply = server
        .edit("Rot", |c| {
            assert_eq!(c["key_source"]["secret"], redacted);
            c["key_source"]["secret"] = json!([redacted, NEW]);
        })
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["key_source"]["secret"],
        json!([redacted, redacted])
    );
    assert_eq!(
        (server.verifies(OLD), server.verifies(NEW)),
        (Ok(()), Ok(()))
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&server.path).unwrap()).unwrap();
    assert_eq!(
        file[0]["key_source"]["secret"],
        json!([OLD, NEW]),
        "the store holds both"
    );

    // Sent back as the API showed it: every stored entry is kept, in place.
    let reply = server.edit("Rot", |c| c["leeway"] = json!(30)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        (server.verifies(OLD), server.verifies(NEW)),
        (Ok(()), Ok(()))
    );
    // One marker for the whole secret keeps the whole rotation.
    let reply = server
        .edit("Rot", |c| c["key_source"]["secret"] = redacted.clone())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["key_source"]["secret"],
        json!([redacted, redacted])
    );
    assert_eq!(
        (server.verifies(OLD), server.verifies(NEW)),
        (Ok(()), Ok(()))
    );

    // A third, an environment variable: shown as is.
    let reply = server
        .edit("Rot", |c| {
            c["key_source"]["secret"] = json!([redacted, redacted, {"env": "PATH"}])
        })
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["key_source"]["secret"],
        json!([redacted, redacted, {"env": "PATH"}])
    );
    // A marker with nothing stored at its position is refused, naming it.
    let reply = server
        .edit("Rot", |c| {
            c["key_source"]["secret"] = json!([redacted, redacted, redacted, redacted])
        })
        .await;
    assert_eq!(
        (reply.status, reply.body["error"]["field"].as_str()),
        (400, Some("key_source.secret[3]"))
    );
    let reply = server
        .edit("Rot", |c| {
            c["key_source"]["secret"] = json!([redacted, redacted, {"env": "PATH"}, NEXT])
        })
        .await;
    assert_eq!(
        (reply.status, reply.body["error"]["field"].as_str()),
        (400, Some("key_source.secret"))
    );

    // Step 3: remove the old one. `null` holds its place, so the marker
    // after it still means the stored entry 1.
    let reply = server
        .edit("Rot", |c| {
            c["key_source"]["secret"] = json!([null, redacted])
        })
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["key_source"]["secret"], json!([redacted]));
    assert_eq!(server.verifies(OLD), Err("invalid_signature".to_owned()));
    assert_eq!(server.verifies(NEW), Ok(()));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&server.path).unwrap()).unwrap();
    assert_eq!(file[0]["key_source"]["secret"], json!([NEW]));

    // A marker at position 0 means the stored entry 0 (NEW); the next secret is added.
    let reply = server
        .edit("Rot", |c| {
            c["key_source"]["secret"] = json!([redacted, NEXT])
        })
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        (server.verifies(NEW), server.verifies(NEXT)),
        (Ok(()), Ok(()))
    );
    // `[{"redacted":true}]` alone keeps entry 0 and drops entry 1.
    let reply = server
        .edit("Rot", |c| c["key_source"]["secret"] = json!([redacted]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.verifies(NEXT), Err("invalid_signature".to_owned()));
    assert_eq!(server.verifies(NEW), Ok(()));
    // A new text replaces everything stored.
    let reply = server
        .edit("Rot", |c| c["key_source"]["secret"] = json!([NEXT]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.verifies(NEW), Err("invalid_signature".to_owned()));
    assert_eq!(server.verifies(NEXT), Ok(()));
    // The stored entry removed and a new secret typed in its place.
    let reply = server
        .edit("Rot", |c| c["key_source"]["secret"] = json!([null, NEW]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["key_source"]["secret"], json!([redacted]));
    assert_eq!(server.verifies(NEW), Ok(()));
    assert_eq!(server.verifies(NEXT), Err("invalid_signature".to_owned()));
}

#[tokio::test]
async fn the_test_endpoint_shows_header_claims_and_the_secret_that_verified() {
    let server = Server::start(
        "debugger",
        json!([rotated(json!([OLD, NEW, NEXT]))]),
        (&[], &[]),
    )
    .await;
    let test = |token: String| {
        let server = &server;
        async move {
            let reply = server
                .call(
                    "POST",
                    "/api/admin/configs/Rot/test",
                    None,
                    Some(json!({"token": token})),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.body
        }
    };
    for (i, secret) in [OLD, NEW, NEXT].into_iter().enumerate() {
        let body = test(token(
            secret,
            json!({"sub": "jdoe", "aud": "bi", "groups": ["Sales"]}),
        ))
        .await;
        assert_eq!(body["ok"], true, "{body}");
        assert_eq!(body["secret_index"], i, "{body}");
        assert_eq!(body["header"], json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(body["claims"]["groups"], json!(["Sales"]));
        assert_eq!(body["identity"]["roles"], json!(["Viewer", "Sales"]));
    }

    // Expired, yet signed with the second secret: claims and position shown.
    let exp = now() - 7200;
    let body = test(token(NEW, json!({"sub": "jdoe", "aud": "bi", "exp": exp}))).await;
    assert_eq!(
        (body["ok"].as_bool(), body["error"]["kind"].as_str()),
        (Some(false), Some("expired"))
    );
    assert_eq!(body["claims"]["exp"], exp);
    assert_eq!(body["secret_index"], 1);

    // A signature no secret verifies: the claims are shown (the administrator
    // pasted the token), no position.
    let body = test(token(
        "some-other-secret-0123456789abcdefghij",
        json!({"sub": "<b>x</b>", "aud": "bi"}),
    ))
    .await;
    assert_eq!(body["error"]["kind"], "invalid_signature");
    assert_eq!(body["claims"]["sub"], "<b>x</b>");
    assert!(body.get("secret_index").is_none(), "{body}");
    assert!(body.get("identity").is_none(), "{body}");

    // Parts that do not decode are null.
    let body = test("not-base64!.%%%.x".to_owned()).await;
    assert_eq!(body["error"]["kind"], "malformed");
    assert_eq!(
        (body["header"].clone(), body["claims"].clone()),
        (Value::Null, Value::Null)
    );
    let good = token(OLD, json!({"sub": "jdoe", "aud": "bi"}));
    let (header, _) = good.split_once('.').unwrap();
    let body = test(format!("{header}.bm90IGpzb24.c2ln")).await;
    assert_eq!(body["header"]["alg"], "HS256");
    assert_eq!(body["claims"], Value::Null, "{body}");

    // A configuration with one plain secret names no position.
    let plain = Server::start("debugger-plain", json!([rotated(json!(OLD))]), (&[], &[])).await;
    let reply = plain
        .call(
            "POST",
            "/api/admin/configs/Rot/test",
            None,
            Some(json!({"token": token(OLD, json!({"sub": "jdoe", "aud": "bi"}))})),
        )
        .await;
    assert_eq!(reply.body["ok"], true);
    assert!(reply.body.get("secret_index").is_none(), "{}", reply.text);
    assert_eq!(reply.body["claims"]["sub"], "jdoe");
}
