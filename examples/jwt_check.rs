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
//!   `Registry::verify` on one tokio runtime, so keys are fetched on demand
//!   and cached across the whole batch (an unknown `kid` refetches at most
//!   once per 30 s). `--now` pins the time of the token's claims only
//!   (`Verification::at`); the key cache keeps the system clock.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use jwt_sso::{
    Checklist, ErrorKind, JwtConfig, MappedIdentity, Registry, Route, StepStatus, UnixTime,
    Verification, Verifier,
};
use serde::Serialize;
use serde_json::json;

/// Checks a token against a configuration (CONTRACT section 5). Exit status:
/// 0 when every token was accepted, 1 otherwise, 2 for a configuration or
/// command-line error.
#[derive(clap::Parser)]
struct Args {
    /// The configuration: JSON, or TOML when the file name ends in `.toml`.
    #[arg(long, value_name = "CONFIG.json")]
    config: String,
    /// Check the token's time claims at these UNIX seconds (a fraction is
    /// rounded down).
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = unix_seconds, allow_hyphen_values = true)]
    now: Option<i64>,
    /// Print one JSON object per token (the last line of stdout).
    #[arg(long)]
    json: bool,
    /// The token, or `-`: tokens from standard input, one per line.
    #[arg(value_name = "TOKEN|-")]
    token: String,
}

/// `--now`: whole seconds, or a number of seconds rounded down.
fn unix_seconds(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        })
        .ok_or_else(|| "not a number of seconds".to_owned())
}

/// The largest configuration file read; a larger one is a `config` error
/// read no further (`--config /dev/zero` stops at once).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// An error as jwt_check prints it: `{"kind","message","hint"}`, from the
/// library's errors or from jwt_check's own (the file, standard input).
#[derive(Serialize)]
struct Failure {
    kind: ErrorKind,
    message: String,
    hint: String,
}

impl Failure {
    fn new(kind: ErrorKind, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            hint: hint.into(),
        }
    }

    fn of(error: &jwt_sso::Error) -> Self {
        Failure::new(error.kind(), error.to_string(), error.hint())
    }

    fn of_admin(error: &jwt_sso::AdminError) -> Self {
        Failure::new(error.kind(), error.to_string(), error.hint())
    }
}

fn config_error(problem: String, fix: &str) -> Failure {
    Failure::new(
        ErrorKind::Config,
        format!("invalid configuration: --config: {problem}"),
        fix,
    )
}

/// The configuration of `path`, alone in a registry (so that `--now` can
/// pin the token's time through `Verification::at`).
fn load(path: &str) -> Result<Loaded, Failure> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| {
        config_error(
            format!("cannot read `{path}`: {e}"),
            "give the path of a readable JSON or TOML configuration file",
        )
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(config_error(
            format!("`{path}` is larger than 1 MiB"),
            "give the path of a JSON or TOML configuration file (at most 1 MiB)",
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        config_error(
            format!("`{path}` is not UTF-8 text"),
            "save the configuration file as UTF-8",
        )
    })?;
    let parsed = if path.ends_with(".toml") {
        JwtConfig::from_toml_str(&text)
    } else {
        JwtConfig::from_json_str(&text)
    };
    let config = parsed.map_err(|e| Failure::of(&e.into()))?;
    let name = config.name.to_string();
    let registry = Registry::from_configs([config]).map_err(|e| Failure::of_admin(&e))?;
    let verifier = registry
        .verifier(&name)
        .expect("the registry holds the configuration it was built from");
    Ok(Loaded {
        registry: Arc::new(registry),
        verifier,
        name,
    })
}

/// A loaded configuration: its registry and its verifier.
struct Loaded {
    registry: Arc<Registry>,
    verifier: Arc<Verifier>,
    name: String,
}

/// Verifies tokens through the registry and reports them as the library's
/// checklist, on one runtime: with the `remote` feature keys are fetched on
/// demand and the cache is shared by the whole batch.
struct Checker<'a> {
    loaded: &'a Loaded,
    now: Option<UnixTime>,
    runtime: tokio::runtime::Runtime,
}

impl<'a> Checker<'a> {
    fn new(loaded: &'a Loaded, now: Option<i64>) -> Result<Self, String> {
        Ok(Checker {
            loaded,
            now: now.map(UnixTime::from_secs),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?,
        })
    }

    fn check(&self, token: &str) -> Checklist {
        let mut verification = Verification::from(Route::Config(&self.loaded.name));
        if let Some(now) = self.now {
            verification = verification.at(now);
        }
        let result = self
            .runtime
            .block_on(self.loaded.registry.verify(token, verification));
        Checklist::from_result(result)
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
        error: &'a Failure,
    },
}

fn outcome_json(result: Result<&MappedIdentity, &Failure>) -> String {
    let outcome = match result {
        Ok(identity) => Outcome::Accepted { ok: true, identity },
        Err(error) => Outcome::Rejected { ok: false, error },
    };
    serde_json::to_string(&outcome).unwrap_or_else(|e| {
        json!({"ok": false, "error": {"kind": "malformed", "message": e.to_string(), "hint": ""}}).to_string()
    })
}

fn checklist_json(list: &Checklist) -> String {
    match (&list.identity, &list.error) {
        (Some(identity), _) => outcome_json(Ok(identity)),
        (None, Some(error)) => outcome_json(Err(&Failure::of(error))),
        (None, None) => outcome_json(Err(&Failure::new(
            ErrorKind::Malformed,
            "malformed token: no outcome",
            ErrorKind::Malformed.hint(),
        ))),
    }
}

/// One line of standard input, read in bounded chunks.
enum Line {
    /// A line of at most the bound (without its newline).
    Text(Vec<u8>),
    /// A line longer than the bound, discarded up to its newline unheld;
    /// the number is its length in bytes.
    TooLong(usize),
}

/// Reads the next line, holding at most `limit` bytes of it: the rest of a
/// longer line is read and thrown away chunk by chunk up to the newline.
fn read_line(input: &mut impl BufRead, limit: usize) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut length = 0usize;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..at], Some(at + 1)),
            None => (chunk, None),
        };
        length = length.saturating_add(part.len());
        if length <= limit {
            line.extend_from_slice(part);
        } else if !line.is_empty() {
            line = Vec::new(); // too long: stop holding it
        }
        let used = done.unwrap_or(part.len());
        input.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    Ok(Some(if length > limit {
        Line::TooLong(length)
    } else {
        Line::Text(line)
    }))
}

fn main() -> ExitCode {
    let args = match <Args as clap::Parser>::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            print!("{e}"); // --help
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message, with any control character of an argument escaped.
            eprint!("{}", safe_lines(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let loaded = match load(&args.config) {
        Ok(loaded) => loaded,
        Err(e) => {
            if args.json || args.token == "-" {
                println!("{}", outcome_json(Err(&e)));
            } else {
                println!(
                    "configuration `{}` is invalid\n  {}\n  hint: {}",
                    safe(&args.config),
                    safe(&e.message),
                    safe(&e.hint)
                );
            }
            return ExitCode::from(2);
        }
    };
    let checker = match Checker::new(&loaded, args.now) {
        Ok(checker) => checker,
        Err(message) => {
            eprintln!("jwt_check: {}", safe(&message));
            return ExitCode::from(2);
        }
    };

    if args.token == "-" {
        return batch(&checker);
    }

    let list = checker.check(&args.token);
    if args.json {
        println!("{}", checklist_json(&list));
    } else {
        print_checklist(&loaded.verifier, &list);
    }
    if list.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `TOKEN` = `-`: one JSON line per standard-input line, in order.
fn batch(checker: &Checker<'_>) -> ExitCode {
    let config = checker.loaded.verifier.config();
    // Whitespace around a token is trimmed, so allow a little of it; a line
    // beyond that is refused without being held.
    let limit = config.max_token_bytes.saturating_add(256);
    let mut all_ok = true;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    loop {
        let line = match read_line(&mut input, limit) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                all_ok = false;
                let error = Failure::new(
                    ErrorKind::BadRequest,
                    format!("standard input cannot be read: {e}"),
                    ErrorKind::BadRequest.hint(),
                );
                let _ = writeln!(out, "{}", outcome_json(Err(&error)));
                break;
            }
        };
        let text = match line {
            Line::TooLong(size) => {
                all_ok = false;
                let error = if config.enabled {
                    Failure::new(
                        ErrorKind::TokenTooLarge,
                        format!(
                            "token is {size} bytes long, more than max_token_bytes = {}",
                            config.max_token_bytes
                        ),
                        ErrorKind::TokenTooLarge.hint(),
                    )
                } else {
                    Failure::new(
                        ErrorKind::Disabled,
                        format!("configuration `{}` is disabled", config.name),
                        ErrorKind::Disabled.hint(),
                    )
                };
                let _ = writeln!(out, "{}", outcome_json(Err(&error)));
                continue;
            }
            Line::Text(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    all_ok = false;
                    let line = json!({"ok": false, "error": {"kind": "malformed", "message": "the input line is not UTF-8", "hint": ErrorKind::Malformed.hint()}});
                    let _ = writeln!(out, "{line}");
                    continue;
                }
            },
        };
        let token = text.trim();
        if token.is_empty() {
            continue;
        }
        let list = checker.check(token);
        all_ok &= list.ok;
        let _ = writeln!(out, "{}", checklist_json(&list));
    }
    let _ = out.flush();
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `text` with every control character escaped (`\n`, `\u{1b}`, …), and
/// the Unicode marks that reorder or break lines, so that nothing printed
/// from a token or a configuration can move the cursor or forge a line.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || is_layout_mark(c) {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// [`safe`] for text with line breaks of its own (pretty JSON): each line escaped.
fn safe_lines(text: &str) -> String {
    text.split('\n').map(safe).collect::<Vec<_>>().join("\n")
}

/// Bidirectional overrides and isolates, and the line and paragraph separators.
fn is_layout_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

fn print_checklist(verifier: &Verifier, list: &Checklist) {
    let config = verifier.config();
    println!(
        "configuration `{}`: algorithms {}, key source {}",
        safe(&config.name),
        safe(
            &config
                .algorithms
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        config.key_source.type_name()
    );
    for step in &list.steps {
        let n = step.step;
        let check = step.check;
        match step.status {
            StepStatus::Fail => {
                let kind = list.error.as_ref().map_or("", |e| e.kind().as_str());
                println!(
                    "  [FAIL] {n:>2}. {check}\n           {} ({kind})\n           hint: {}",
                    safe(step.message.as_deref().unwrap_or_default()),
                    safe(step.hint.as_deref().unwrap_or_default()),
                );
            }
            StepStatus::Skipped => println!("  [ -- ] {n:>2}. {check} (not checked)"),
            StepStatus::Ok => println!("  [ ok ] {n:>2}. {check}"),
        }
    }
    match (&list.identity, &list.error) {
        (Some(identity), _) => {
            println!(
                "accepted: user `{}` ({})",
                safe(&identity.user_id),
                safe(&identity.user_type)
            );
            for warning in &identity.warnings {
                println!("  warning: {}", safe(warning));
            }
            println!(
                "{}",
                safe_lines(&serde_json::to_string_pretty(identity).unwrap_or_default())
            );
        }
        (None, Some(e)) => println!("rejected: {}", e.kind()),
        (None, None) => println!("rejected"),
    }
}
