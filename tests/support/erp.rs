//! CONTRACT section 1's example configuration, "ERP" (user ID from
//! `loginname`, name, email and roles claims, three system prompts, user
//! type `reader` with the initial role `Viewer`), on HS256 with a test's own
//! issuer and secret; claims that fill each of its mappings; and the
//! configuration values no refusal of the HTTP tests may show.

use serde_json::{Value, json};

use super::fixtures::contract_config;

/// Values of the tests' configurations (names, hosts, audience, algorithm,
/// the word of their secrets, the loopback address of a key server) that no
/// refusal may show a client.
pub const CONFIG_VALUES: [&str; 9] = [
    "ERP",
    "CRM",
    "Old",
    "erp.example.com",
    "crm.example.com",
    "bi-server",
    "HS256",
    "secret",
    "127.0.0.1",
];

/// The ERP configuration ([`contract_config`]) with `issuer`, HS256 with
/// `secret`.
pub fn config(issuer: &str, secret: &str) -> Value {
    let mut config = contract_config(
        json!(["HS256"]),
        json!({"type": "static", "secret": secret}),
    );
    config["issuer"] = json!(issuer);
    config
}

/// Claims of `user` that [`config`] with `issuer` maps in full (no `exp`:
/// the caller adds its time): Jane Doe of Sales, level 7, hired 2021-04-15.
pub fn claims(issuer: &str, user: &str) -> Value {
    json!({
        "iss": issuer, "aud": "bi-server", "loginname": user,
        "name": "Jane Doe", "email": "jane@example.com",
        "department": "Sales", "level": 7, "hired": "2021-04-15"
    })
}
