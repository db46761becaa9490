//! Issue 23 in the administrator's API over real HTTP (CONTRACT section 7):
//! the host's catalogue (`GET /api/admin/catalog`, field errors on saves),
//! secret arrays redacted entry by entry and kept through a PUT, and the
//! token debugger's `header`, `claims` and `secret_index` in "test a token".
//! The router of `jwt_sso::axum::admin` on an ephemeral loopback port over a
//! real configuration file (`support::admin`), each test a table of requests.
#![cfg(all(feature = "axum", feature = "remote"))]

use jwt_sso::{Admin, Route, Verification, axum::admin::AdminAccess};
use serde_json::{Value, json};

use crate::support::admin::{ADMIN_TOKEN, AdminServer, CATALOG, CONFIGS, Caller, Row, row};
use crate::support::{admin::Check::*, admin::config_dir, fixtures::now, fixtures::sign};

/// The rotation's secrets, oldest first.
const OLD: &str = "rules-http-old-secret-0123456789abcdefgh";
const NEW: &str = "rules-http-new-secret-0123456789abcdefgh";
const NEXT: &str = "rules-http-next-secret-0123456789abcdefg";

fn token(secret: &str, claims: Value) -> String {
    let mut claims = claims;
    claims["iss"] = json!(ISSUER);
    if claims.get("exp").is_none() {
        claims["exp"] = json!(now() + 600);
    }
    sign(secret, claims)
}

/// The one configuration's issuer and its place in the API.
const ISSUER: &str = "https://rot.example.com";
const ROT: &str = "/api/admin/configs/Rot";

fn rotated(secret: Value) -> Value {
    json!({
        "name": "Rot", "token_name": "token", "issuer": ISSUER, "audience": "bi",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": secret},
        "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
        "initial_roles": ["Viewer"]
    })
}

/// A server over a file holding `configs`, with the host's catalogue of
/// role names and user types (empty: none).
async fn start(name: &str, configs: Value, catalog: (&[&str], &[&str])) -> AdminServer {
    let (roles, user_types) = (catalog.0.iter().copied(), catalog.1.iter().copied());
    AdminServer::serve(
        config_dir(&format!("rules-{name}"), &configs),
        |configs| Admin::new(configs).with_catalog(roles, user_types),
        AdminAccess::new().with_admin_token(ADMIN_TOKEN),
        &[OLD, NEW, NEXT],
    )
    .await
}

/// Whether a token signed with `secret` verifies with the registry now.
fn verifies(server: &AdminServer, secret: &str) -> Result<(), String> {
    let t = token(secret, json!({"sub": "jdoe", "aud": "bi"}));
    server
        .registry
        .verify_cached(&t, Verification::default().route(Route::Config("Rot")))
        .map(|_| ())
        .map_err(|e| e.kind().as_str().to_owned())
}

fn redacted() -> Value {
    json!({"redacted": true})
}

#[tokio::test]
async fn the_catalogue_is_served_and_enforced_on_saves_with_the_field() {
    let server = start(
        "catalog",
        json!([rotated(json!(OLD))]),
        (
            &["Viewer", "Analyst", "Administrator"],
            &["reader", "analyst", "author", "administrator"],
        ),
    )
    .await;
    let catalog = json!({"roles": ["Viewer", "Analyst", "Administrator"],
        "user_types": ["reader", "analyst", "author", "administrator"]});
    let new = |patch: Value| {
        let mut config = rotated(json!(NEW));
        config["name"] = json!("New");
        config["issuer"] = json!("https://new.example.com");
        for (k, v) in patch.as_object().expect("a patch") {
            config[k] = v.clone();
        }
        config
    };
    let mut rows = vec![
        row("the catalogue", "GET", CATALOG, 200, "").check(Is("", catalog)),
        // Admin credentials as the other routes.
        row(
            "the catalogue, anonymous",
            "GET",
            CATALOG,
            401,
            "unauthorized",
        )
        .by(Caller::Nobody),
    ];
    // (patch, the field refused, the catalogue entry its hint names)
    let cases = [
        (json!({"user_type": "Reader"}), "user_type", "`reader`"),
        (
            json!({"initial_roles": ["Viewer", "Veiwer"]}),
            "initial_roles[1]",
            "`Viewer`",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "roles": ["Analytics"]}]}),
            "role_rules[0].roles[0]",
            "`Viewer`",
        ),
        (
            json!({"role_rules": [
                {"claim": "groups", "value": "bi", "roles": ["Analyst"]},
                {"claim": "groups", "value": "x", "roles": ["Viewer", "Nobody"]}
            ]}),
            "role_rules[1].roles[1]",
            "`Viewer`",
        ),
        (
            json!({"role_rules": [{"claim": "groups", "value": "bi", "user_type": "superuser"}]}),
            "role_rules[0].user_type",
            "`reader`",
        ),
    ];
    for (patch, field, entry) in cases {
        let refused = row(
            &format!("create with {patch}"),
            "POST",
            CONFIGS,
            400,
            "config",
        );
        rows.push(
            refused
                .json(new(patch))
                .checks([Is("/error/field", json!(field)), Says("/error/hint", entry)]),
        );
    }
    server.run(rows).await;
    assert_eq!(server.registry.len(), 1, "nothing was created");
    assert!(!server.file().contains("\"New\""), "nothing was saved");

    let good = new(json!({
        "user_type": "analyst", "initial_roles": ["Viewer"],
        "role_rules": [{"claim": "groups", "value": "bi", "roles": ["Analyst"], "user_type": "author"}]
    }));
    server
        .run(vec![
            row("create with known names", "POST", CONFIGS, 201, "")
                .json(good)
                .check(Is("/role_rules/0/roles", json!(["Analyst"]))),
            // An update is checked too.
            row(
                "update with an unknown role",
                "PUT",
                "/api/admin/configs/New",
                400,
                "config",
            )
            .edit(|c| c["initial_roles"] = json!(["Viewer", "Administrators"]))
            .check(Is("/error/field", json!("initial_roles[1]"))),
        ])
        .await;
}

#[tokio::test]
async fn without_a_catalogue_any_name_is_saved_and_the_catalogue_is_empty() {
    let server = start("no-catalog", json!([rotated(json!(OLD))]), (&[], &[])).await;
    let empty = json!({"roles": [], "user_types": []});
    server
        .run(vec![
            row("the empty catalogue", "GET", CATALOG, 200, "").check(Is("", empty)),
            row("any names", "PUT", ROT, 200, "").edit(|c| {
                c["user_type"] = json!("anything");
                c["initial_roles"] = json!(["Whatever"]);
            }),
        ])
        .await;
}

/// One step of a rotation: a PUT of the redacted view with the secret
/// changed to `secret`.
fn put_secret(name: &str, status: u16, kind: &'static str, secret: Value) -> Row {
    row(name, "PUT", ROT, status, kind).edit(move |c| c["key_source"]["secret"] = secret.clone())
}

#[tokio::test]
async fn secret_arrays_are_redacted_entry_by_entry_and_kept_through_a_put() {
    let server = start("rotation", json!([rotated(json!(OLD))]), (&[], &[])).await;
    assert_eq!(verifies(&server, OLD), Ok(()));
    let r = redacted;
    let shown = |secret: Value| Is("/key_source/secret", secret);
    let field = |field: &'static str| Is("/error/field", json!(field));
    // Each row, then the secrets a token verifies with (the others fail
    // with `invalid_signature`), and what the file holds when it says.
    let steps = [
        // Rotation step 1: keep the stored secret, add the new one.
        (
            row("keep the stored one, add NEW", "PUT", ROT, 200, "")
                .edit(|c| {
                    assert_eq!(c["key_source"]["secret"], redacted(), "the view");
                    c["key_source"]["secret"] = json!([redacted(), NEW]);
                })
                .check(shown(json!([r(), r()]))),
            &[OLD, NEW][..],
            Some(json!([OLD, NEW])),
        ),
        // Sent back as the API showed it: every stored entry is kept, in place.
        (
            row("as shown, another leeway", "PUT", ROT, 200, "").edit(|c| c["leeway"] = json!(30)),
            &[OLD, NEW],
            None,
        ),
        // One marker for the whole secret keeps the whole rotation.
        (
            put_secret("one marker for all", 200, "", r()).check(shown(json!([r(), r()]))),
            &[OLD, NEW],
            None,
        ),
        // A third, an environment variable: shown as is.
        (
            put_secret("add an env", 200, "", json!([r(), r(), {"env": "PATH"}]))
                .check(shown(json!([r(), r(), {"env": "PATH"}]))),
            &[OLD, NEW],
            None,
        ),
        // A marker with nothing stored at its position is refused, naming it.
        (
            put_secret(
                "a fourth marker",
                400,
                "config",
                json!([r(), r(), r(), r()]),
            )
            .check(field("key_source.secret[3]")),
            &[OLD, NEW],
            None,
        ),
        (
            put_secret(
                "add NEXT",
                400,
                "config",
                json!([r(), r(), {"env": "PATH"}, NEXT]),
            )
            .check(field("key_source.secret")),
            &[OLD, NEW],
            None,
        ),
        // Step 3: remove the old one. `null` holds its place, so the marker
        // after it still means the stored entry 1.
        (
            put_secret("null for OLD", 200, "", json!([null, r()])).check(shown(json!([r()]))),
            &[NEW],
            Some(json!([NEW])),
        ),
        // A marker at position 0 means the stored entry 0 (NEW); the next secret is added.
        (
            put_secret("keep NEW, add NEXT", 200, "", json!([r(), NEXT])),
            &[NEW, NEXT],
            None,
        ),
        // `[{"redacted":true}]` alone keeps entry 0 and drops entry 1.
        (
            put_secret("one marker in a list", 200, "", json!([r()])),
            &[NEW],
            None,
        ),
        // A new text replaces everything stored.
        (
            put_secret("NEXT alone", 200, "", json!([NEXT])),
            &[NEXT],
            None,
        ),
        // The stored entry removed and a new secret typed in its place.
        (
            put_secret("null and NEW", 200, "", json!([null, NEW])).check(shown(json!([r()]))),
            &[NEW],
            None,
        ),
    ];
    for (step, verifying, file) in steps {
        let name = step.name.clone();
        server.run(vec![step]).await;
        for secret in [OLD, NEW, NEXT] {
            let want = match verifying.contains(&secret) {
                true => Ok(()),
                false => Err("invalid_signature".to_owned()),
            };
            assert_eq!(verifies(&server, secret), want, "{name}: {secret}");
        }
        if let Some(file) = file {
            let stored = &server.file_json()[0]["key_source"]["secret"];
            assert_eq!(stored, &file, "{name}: the file");
        }
    }
}

#[tokio::test]
async fn the_test_endpoint_shows_header_claims_and_the_secret_that_verified() {
    let server = start(
        "debugger",
        json!([rotated(json!([OLD, NEW, NEXT]))]),
        (&[], &[]),
    )
    .await;
    let test = |name: &str, kind: &'static str, token: String| {
        row(name, "POST", "/api/admin/configs/Rot/test", 200, kind).json(json!({"token": token}))
    };
    let mut rows = Vec::new();
    for (i, secret) in [OLD, NEW, NEXT].into_iter().enumerate() {
        let signed = token(
            secret,
            json!({"sub": "jdoe", "aud": "bi", "groups": ["Sales"]}),
        );
        rows.push(
            test(&format!("signed with secret {i}"), "", signed).checks([
                Is("/ok", json!(true)),
                Is("/secret_index", json!(i)),
                Is("/header", json!({"alg": "HS256", "typ": "JWT"})),
                Is("/claims/groups", json!(["Sales"])),
                Is("/identity/roles", json!(["Viewer", "Sales"])),
            ]),
        );
    }
    let exp = now() - 7200;
    let expired = token(NEW, json!({"sub": "jdoe", "aud": "bi", "exp": exp}));
    let other = token(
        "some-other-secret-0123456789abcdefghij",
        json!({"sub": "<b>x</b>", "aud": "bi"}),
    );
    let good = token(OLD, json!({"sub": "jdoe", "aud": "bi"}));
    let (header, _) = good.split_once('.').expect("a header");
    rows.extend([
        // Expired, yet signed with the second secret: claims and position shown.
        test("expired, signed with the second", "expired", expired).checks([
            Is("/ok", json!(false)),
            Is("/claims/exp", json!(exp)),
            Is("/secret_index", json!(1)),
        ]),
        // A signature no secret verifies: the claims are shown (the administrator
        // pasted the token), no position.
        test("no secret verifies", "invalid_signature", other).checks([
            Is("/claims/sub", json!("<b>x</b>")),
            Absent("/secret_index"),
            Absent("/identity"),
        ]),
        // Parts that do not decode are null.
        test(
            "no part decodes",
            "malformed",
            "not-base64!.%%%.x".to_owned(),
        )
        .checks([Is("/header", Value::Null), Is("/claims", Value::Null)]),
        test(
            "claims that are not JSON",
            "invalid_signature",
            format!("{header}.bm90IGpzb24.c2ln"),
        )
        .checks([
            Is("/header/alg", json!("HS256")),
            Is("/claims", Value::Null),
        ]),
    ]);
    server.run(rows).await;

    // A configuration with one plain secret names no position.
    let plain = start("debugger-plain", json!([rotated(json!(OLD))]), (&[], &[])).await;
    plain
        .run(vec![test("one plain secret", "", good.clone()).checks([
            Is("/ok", json!(true)),
            Absent("/secret_index"),
            Is("/claims/sub", json!("jdoe")),
        ])])
        .await;
}
