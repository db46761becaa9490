//! CONTRACT section 1's example configuration, "ERP" (user ID from
//! `loginname`, name, email and roles claims, three system prompts, user
//! type `reader` with the initial role `Viewer`), on HS256 with a test's own
//! issuer and secret; and claims that fill each of its mappings.

use serde_json::{Value, json};

/// The ERP configuration with `issuer`, audience `bi-server`, HS256 with
/// `secret`, and `expiration_time` of 86400 s.
pub fn config(issuer: &str, secret: &str) -> Value {
    json!({
        "name": "ERP",
        "token_name": "token",
        "issuer": issuer,
        "audience": "bi-server",
        "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": secret},
        "expiration_time": 86400,
        "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "numeric", "slot": 2, "claim": "level"},
            {"kind": "date", "slot": 1, "claim": "hired"}
        ],
        "user_type": "reader",
        "initial_roles": ["Viewer"]
    })
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
