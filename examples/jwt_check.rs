//! `jwt_check`: check a token against a configuration, as CONTRACT section 5
//! describes.
//!
//! ```text
//! cargo run --release --example jwt_check -- --config CONFIG.json [--now UNIX_SECONDS] [--json] TOKEN
//! ```
//!
//! - `--config` reads JSON, or TOML when the file name ends in `.toml`.
//! - `TOKEN` may be `-`: tokens are read from standard input, one per line
//!   (blank lines are skipped), all verified by one shared verifier, and one
//!   JSON line is printed per token, in order.
//! - Without `--json` it prints a checklist of the verification steps with
//!   pass/fail and the hint; with `--json` the last line of stdout is one JSON
//!   object: `{"ok":true,"identity":{…}}` or `{"ok":false,"error":{"kind","message","hint"}}`.
//! - Exit status: 0 when every token was accepted, 1 otherwise, 2 for a
//!   configuration (or command-line) error.
//! - With the cargo feature `remote` (`jwt_check --features remote`),
//!   `jwks_uri` and `issuer` configurations work: tokens go through
//!   `verify_async` on one tokio runtime, so keys are fetched on demand and
//!   cached across the whole batch (an unknown `kid` refetches at most once
//!   per 30 s).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use jwt_sso::{Error, ErrorKind, JwtConfig, MappedIdentity, TokenPart, Verifier};
use serde::Serialize;
use serde_json::json;

const USAGE: &str =
    "usage: jwt_check --config CONFIG.json|CONFIG.toml [--now UNIX_SECONDS] [--json] TOKEN|-";

struct Args {
    config: String,
    now: Option<i64>,
    json: bool,
    token: String,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut now = None;
    let mut json = false;
    let mut token = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Some(args.next().ok_or("--config needs a file name")?),
            "--now" => {
                let text = args.next().ok_or("--now needs UNIX seconds")?;
                let secs = text
                    .parse::<i64>()
                    .ok()
                    .or_else(|| {
                        text.parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite())
                            .map(|f| f.floor() as i64)
                    })
                    .ok_or_else(|| format!("--now: `{text}` is not a number of seconds"))?;
                now = Some(secs);
            }
            "--json" => json = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if other.starts_with("--") => return Err(format!("unknown option `{other}`")),
            _ if token.is_some() => return Err("only one TOKEN (or `-`) may be given".to_owned()),
            _ => token = Some(arg),
        }
    }
    Ok(Args {
        config: config.ok_or("--config is required")?,
        now,
        json,
        token: token.ok_or("TOKEN (or `-` for standard input) is required")?,
    })
}

fn load(path: &str) -> Result<Verifier, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        field: "--config".to_owned(),
        problem: format!("cannot read `{path}`: {e}"),
        fix: "give the path of a readable JSON or TOML configuration file".to_owned(),
    })?;
    let config = if path.ends_with(".toml") {
        JwtConfig::from_toml_str(&text)?
    } else {
        JwtConfig::from_json_str(&text)?
    };
    Verifier::new(config)
}

/// Verifies tokens with one verifier: synchronously, or with the `remote`
/// feature through the async path on one runtime (so the key cache is shared).
struct Checker<'a> {
    verifier: &'a Verifier,
    now: Option<i64>,
    #[cfg(feature = "remote")]
    runtime: tokio::runtime::Runtime,
}

impl<'a> Checker<'a> {
    fn new(verifier: &'a Verifier, now: Option<i64>) -> Result<Self, String> {
        Ok(Checker {
            verifier,
            now,
            #[cfg(feature = "remote")]
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?,
        })
    }

    #[cfg(not(feature = "remote"))]
    fn check(&self, token: &str) -> Result<MappedIdentity, Error> {
        match self.now {
            Some(now) => self.verifier.verify_at(token, now),
            None => self.verifier.verify(token),
        }
    }

    #[cfg(feature = "remote")]
    fn check(&self, token: &str) -> Result<MappedIdentity, Error> {
        self.runtime.block_on(async {
            match self.now {
                Some(now) => self.verifier.verify_at_async(token, now).await,
                None => self.verifier.verify_async(token).await,
            }
        })
    }
}

/// One result line, members in the order CONTRACT section 5 shows.
#[derive(Serialize)]
#[serde(untagged)]
enum Outcome<'a> {
    Accepted {
        ok: bool,
        identity: &'a MappedIdentity,
    },
    Rejected {
        ok: bool,
        error: &'a Error,
    },
}

fn outcome_json(result: &Result<MappedIdentity, Error>) -> String {
    let outcome = match result {
        Ok(identity) => Outcome::Accepted { ok: true, identity },
        Err(error) => Outcome::Rejected { ok: false, error },
    };
    serde_json::to_string(&outcome).unwrap_or_else(|e| {
        json!({"ok": false, "error": {"kind": "malformed", "message": e.to_string(), "hint": ""}}).to_string()
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("jwt_check: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let verifier = match load(&args.config) {
        Ok(v) => v,
        Err(e) => {
            if args.json || args.token == "-" {
                println!("{}", outcome_json(&Err(e)));
            } else {
                println!(
                    "configuration `{}` is invalid\n  {e}\n  hint: {}",
                    args.config,
                    e.hint()
                );
            }
            return ExitCode::from(2);
        }
    };
    let verify = match Checker::new(&verifier, args.now) {
        Ok(checker) => checker,
        Err(message) => {
            eprintln!("jwt_check: {message}");
            return ExitCode::from(2);
        }
    };
    let verify = |token: &str| verify.check(token);

    if args.token == "-" {
        let mut all_ok = true;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else {
                all_ok = false;
                let line = json!({"ok": false, "error": {"kind": "malformed", "message": "the input line is not UTF-8", "hint": ErrorKind::Malformed.hint()}});
                let _ = writeln!(out, "{line}");
                continue;
            };
            let token = line.trim();
            if token.is_empty() {
                continue;
            }
            let result = verify(token);
            all_ok &= result.is_ok();
            let _ = writeln!(out, "{}", outcome_json(&result));
        }
        let _ = out.flush();
        return if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }

    let result = verify(&args.token);
    if args.json {
        println!("{}", outcome_json(&result));
    } else {
        print_checklist(&verifier, &result);
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The steps of CONTRACT section 2, in order.
const STEPS: [&str; 14] = [
    "configuration is enabled",
    "token size is within max_token_bytes",
    "three segments of strict base64url, header a JSON object",
    "algorithm is allowed",
    "no critical header (`crit`)",
    "a key fits the token's kid and alg",
    "signature verifies",
    "payload is a JSON object",
    "registered claims have their types (exp, nbf, iat, iss, aud)",
    "`exp` is present",
    "time: exp, nbf, iat and the expiration time",
    "issuer and audience match",
    "user ID claim is present",
    "claims map into the identity",
];

/// Which step (1-based) an error belongs to.
fn failed_step(error: &Error) -> usize {
    match error {
        Error::Disabled { .. } => 1,
        Error::TokenTooLarge { .. } => 2,
        Error::Malformed {
            part: TokenPart::Payload,
            ..
        } => 8,
        Error::Malformed { .. } => 3,
        Error::AlgorithmNotAllowed { .. } => 4,
        Error::CriticalHeader { .. } => 5,
        Error::KeyNotFound { .. } | Error::KeyFetch { .. } => 6,
        Error::InvalidSignature { .. } => 7,
        Error::InvalidClaim { claim, .. }
            if ["exp", "nbf", "iat", "iss", "aud"].contains(&claim.as_str()) =>
        {
            9
        }
        Error::MissingExp { .. } => 10,
        Error::Expired { .. }
        | Error::NotYetValid { .. }
        | Error::IssuedInFuture { .. }
        | Error::MaxAgeExceeded { .. } => 11,
        Error::IssuerMismatch { .. } | Error::AudienceMismatch { .. } => 12,
        Error::MissingUserId { .. } => 13,
        _ => 14,
    }
}

fn print_checklist(verifier: &Verifier, result: &Result<MappedIdentity, Error>) {
    let config = verifier.config();
    println!(
        "configuration `{}`: algorithms {}, key source {}",
        config.name,
        config
            .algorithms
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        config.key_source.type_name()
    );
    let failed = result.as_ref().err().map(|e| (failed_step(e), e));
    for (i, step) in STEPS.iter().enumerate() {
        let n = i + 1;
        match failed {
            Some((f, e)) if f == n => {
                println!(
                    "  [FAIL] {n:>2}. {step}\n           {} ({})\n           hint: {}",
                    e,
                    e.kind(),
                    e.hint()
                );
            }
            Some((f, _)) if n > f => println!("  [ -- ] {n:>2}. {step} (not checked)"),
            _ => println!("  [ ok ] {n:>2}. {step}"),
        }
    }
    match result {
        Ok(identity) => {
            println!(
                "accepted: user `{}` ({})",
                identity.user_id, identity.user_type
            );
            for warning in &identity.warnings {
                println!("  warning: {warning}");
            }
            println!(
                "{}",
                serde_json::to_string_pretty(identity).unwrap_or_default()
            );
        }
        Err(e) => println!("rejected: {}", e.kind()),
    }
}
