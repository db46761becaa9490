//! `mint`: make a test token for a configuration, so an administrator can try
//! it before the ERP sends real tokens.
//!
//! ```text
//! cargo run --example mint -- --config CONFIG.json [--key PRIVATE.pem | --secret TEXT]
//!     [--alg ALG] [--kid KID] [--ttl SECONDS] [--now UNIX_SECONDS] [--claim NAME=VALUE]...
//! ```
//!
//! - `iss` and `aud` come from the configuration; `iat` is now and `exp` is
//!   now + `--ttl` (default: the configuration's expiration_time, at most 300 s).
//! - `--claim NAME=VALUE` adds a claim; VALUE is read as JSON when it parses
//!   (`level=7`, `groups=["a","b"]`), otherwise as a string (`loginname=jdoe`).
//! - Without `--key`/`--secret`, a static text secret of the configuration is used.
//! - The token is printed on stdout; pipe it into `jwt_check`.

use std::process::ExitCode;

use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, JwtConfig, KeySource, SecretSpec, StaticKey};
use serde_json::{Map, Value, json};

/// Makes a test token for a configuration (printed on stdout).
#[derive(clap::Parser)]
struct Args {
    /// The configuration: JSON, or TOML when the file name ends in `.toml`.
    #[arg(long, value_name = "CONFIG.json")]
    config: String,
    /// The private key (PEM) to sign with.
    #[arg(long, value_name = "PRIVATE.pem", conflicts_with = "secret")]
    key: Option<String>,
    /// The shared secret to sign with.
    #[arg(long, value_name = "TEXT")]
    secret: Option<String>,
    /// The algorithm (default: the configuration's first).
    #[arg(long)]
    alg: Option<Algorithm>,
    /// The `kid` header.
    #[arg(long)]
    kid: Option<String>,
    /// Seconds until `exp` (default: expiration_time, at most 300).
    #[arg(long, value_name = "SECONDS")]
    ttl: Option<i64>,
    /// `iat` (default: now).
    #[arg(long, value_name = "UNIX_SECONDS", allow_hyphen_values = true)]
    now: Option<i64>,
    /// A claim; VALUE is JSON when it parses, else a string (repeatable).
    #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = claim)]
    claims: Vec<(String, Value)>,
}

/// `--claim NAME=VALUE`.
fn claim(pair: &str) -> Result<(String, Value), String> {
    let (name, value) = pair.split_once('=').ok_or("takes NAME=VALUE")?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
    Ok((name.to_owned(), value))
}

fn main() -> ExitCode {
    match run(<Args as clap::Parser>::parse()) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("mint: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<String, String> {
    let key = match (&args.key, &args.secret) {
        (Some(path), _) => {
            let pem =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
            Some(SigningKey::from_pem(&pem))
        }
        (None, Some(secret)) => Some(SigningKey::from_secret(secret.as_bytes())),
        (None, None) => None,
    };
    let (alg, kid, ttl, now) = (args.alg, args.kid, args.ttl, args.now);
    let extra: Map<String, Value> = args.claims.into_iter().collect();
    let path = args.config;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let config = if path.ends_with(".toml") {
        JwtConfig::from_toml_str(&text)
    } else {
        JwtConfig::from_json_str(&text)
    }
    .map_err(|e| format!("{e}\nhint: {}", e.fix()))?;

    let alg = match alg {
        Some(alg) => alg,
        None => config
            .algorithms
            .first()
            .copied()
            .ok_or("the configuration allows no algorithm")?,
    };
    let key = match key {
        Some(key) => key,
        None => match &config.key_source {
            KeySource::Static(StaticKey::Secret(SecretSpec::Text(secret))) => {
                SigningKey::from_secret(secret.expose().as_bytes())
            }
            // A rotation: the newest secret (the last), when it is text.
            KeySource::Static(StaticKey::Secrets(secrets)) => match secrets.last() {
                Some(SecretSpec::Text(secret)) => {
                    SigningKey::from_secret(secret.expose().as_bytes())
                }
                _ => {
                    return Err(
                        "give --secret TEXT: the newest secret is not given as text".to_owned()
                    );
                }
            },
            _ => return Err("give --key PRIVATE.pem or --secret TEXT".to_owned()),
        },
    };
    let now = now.unwrap_or_else(|| jwt_sso::UnixTime::now().as_secs());
    let ttl = ttl.unwrap_or_else(|| i64::try_from(config.expiration_time.min(300)).unwrap_or(300));

    let mut claims = Map::new();
    if let Some(iss) = &config.issuer {
        claims.insert("iss".to_owned(), json!(iss));
    }
    if let Some(aud) = &config.audience {
        claims.insert("aud".to_owned(), json!(aud));
    }
    claims.insert("iat".to_owned(), json!(now));
    claims.insert("exp".to_owned(), json!(now + ttl));
    claims.extend(extra);

    let mut header = json!({"alg": alg.as_str(), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    key.sign_with_header(alg, &header, &Value::Object(claims))
        .map_err(|e| format!("{e}\nhint: {}", e.fix()))
}
