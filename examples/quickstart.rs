//! A one-second trial of jwt-sso: no files, no network.
//!
//! It builds a configuration in memory, signs a demo token as an ERP would,
//! verifies it and prints the identity; then it shows two failing tokens
//! (expired, wrong secret) with the kind, message and hint an administrator sees.
//!
//! Run: `cargo run --example quickstart`

use jwt_sso::mint::SigningKey;
use std::time::Duration;

use jwt_sso::{Algorithm, Clock, JwtConfig, ManualClock, UnixTime, Verifier};
use serde_json::json;

const SECRET: &str = "demo-secret-for-the-quickstart-only-0123456789";

fn main() -> Result<(), jwt_sso::Error> {
    let config = JwtConfig::from_json_str(
        &json!({
            "name": "ERP",
            "token_name": "token",
            "issuer": "https://erp.example.com",
            "audience": "bi-server",
            "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": SECRET},
            "expiration_time": 3600,
            "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
            "system_prompts": [
                {"kind": "text", "slot": 1, "claim": "department"},
                {"kind": "numeric", "slot": 2, "claim": "level"},
                {"kind": "date", "slot": 1, "claim": "hired"}
            ],
            "initial_roles": ["Viewer"]
        })
        .to_string(),
    )?
    .validate()?;
    // 2026-01-01T00:00:00Z, fixed so the output is the same every run.
    let clock = ManualClock::new(UnixTime::from_secs(1_767_225_600));
    let verifier = Verifier::new(config).with_clock(clock.clone());
    println!("configuration `{}` loaded: {verifier:?}\n", verifier.name());

    let now = clock.now().as_secs();
    let claims = json!({
        "iss": "https://erp.example.com",
        "aud": "bi-server",
        "loginname": "jdoe",
        "name": "Jane Doe",
        "email": "jane@example.com",
        "groups": "Sales, Analysts",
        "department": "Sales",
        "level": "7",
        "hired": "2021-04-15",
        "iat": now,
        "exp": now + 3600,
    });
    let erp_key = SigningKey::from_secret(SECRET.as_bytes());
    let token = erp_key.sign(Algorithm::HS256, &claims)?;
    println!("a token from the ERP:\n  {token}\n");

    let identity = verifier.verify_cached(&token)?;
    println!(
        "accepted; the identity:\n{}\n",
        serde_json::to_string_pretty(&identity).unwrap_or_default()
    );

    println!("the same token two hours later:");
    clock.advance(Duration::from_secs(7200));
    show(&verifier, &token);
    clock.set(UnixTime::from_secs(now));

    let forged = SigningKey::from_secret(b"a-different-secret-that-is-long-enough-0123456789")
        .sign(Algorithm::HS256, &claims)?;
    println!("a token signed with the wrong secret:");
    show(&verifier, &forged);
    Ok(())
}

fn show(verifier: &Verifier, token: &str) {
    match verifier.verify_cached(token) {
        Ok(identity) => println!("  unexpectedly accepted for {}\n", identity.user_id),
        Err(e) => println!(
            "  kind:    {}\n  message: {e}\n  hint:    {}\n",
            e.kind(),
            e.hint()
        ),
    }
}
