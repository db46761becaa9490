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

const USAGE: &str = "usage: mint --config CONFIG.json [--key PRIVATE.pem | --secret TEXT] [--alg ALG] [--kid KID] [--ttl SECONDS] [--now UNIX_SECONDS] [--claim NAME=VALUE]...";

fn main() -> ExitCode {
    match run() {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("mint: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    let mut config_path = None;
    let mut key = None;
    let mut alg = None;
    let mut kid = None;
    let mut ttl = None;
    let mut now = None;
    let mut extra = Map::new();
    let mut args = std::env::args().skip(1);
    let value_of = |flag: &str, args: &mut dyn Iterator<Item = String>| {
        args.next().ok_or_else(|| format!("{flag} needs a value"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config_path = Some(value_of("--config", &mut args)?),
            "--key" => {
                let path = value_of("--key", &mut args)?;
                let pem = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read `{path}`: {e}"))?;
                key = Some(SigningKey::from_pem(&pem));
            }
            "--secret" => {
                key = Some(SigningKey::from_secret(
                    value_of("--secret", &mut args)?.as_bytes(),
                ))
            }
            "--alg" => {
                let name = value_of("--alg", &mut args)?;
                alg = Some(name.parse::<Algorithm>().map_err(|e| e.to_string())?);
            }
            "--kid" => kid = Some(value_of("--kid", &mut args)?),
            "--ttl" => ttl = Some(number(&value_of("--ttl", &mut args)?)?),
            "--now" => now = Some(number(&value_of("--now", &mut args)?)?),
            "--claim" => {
                let pair = value_of("--claim", &mut args)?;
                let (name, value) = pair.split_once('=').ok_or("--claim takes NAME=VALUE")?;
                let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
                extra.insert(name.to_owned(), value);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let path = config_path.ok_or("--config is required")?;
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

fn number(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a whole number of seconds"))
}
