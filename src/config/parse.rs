//! Reading the serde model from JSON and TOML text: `config` errors that
//! name the field (from `serde_path_to_error`) and never quote a TOML line.
//!
//! serde does the structural work; its own text is the problem of a
//! structural error. The field is the path serde reports (completed with the
//! member's name for an unknown or missing field, which serde's
//! `unknown_field`/`missing_field` messages carry in backquotes), and the
//! fix is chosen by that field.

use super::names::take_refused;
use super::{CONFIG_NAME_FIX, KEY_SOURCE_FIX, REMOTE_URL_FIX, TOKEN_NAME_FIX, algorithms_fix};
use crate::error::ConfigError;

/// Deserialises JSON text, with the path of the value at fault.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    take_refused();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        let path = path_parts(e.path());
        if (inner.is_syntax() || inner.is_eof()) && path.is_empty() {
            return syntax_error("JSON", &inner.to_string());
        }
        // The path names the place; serde_json's position is left out then.
        let message = inner.to_string();
        let suffix = format!(" at line {} column {}", inner.line(), inner.column());
        let message = match message.strip_suffix(&suffix) {
            Some(bare) if !path.is_empty() => bare.to_owned(),
            _ => message,
        };
        described_error(&path, &message)
    })?;
    de.end().map_err(|e| syntax_error("JSON", &e.to_string()))?;
    Ok(value)
}

/// Deserialises TOML text directly (no JSON round trip), with the path of
/// the value at fault. The message gives the line and column, never the
/// line itself (it may hold a secret).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    let position = |span: Option<std::ops::Range<usize>>| {
        span.map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" (line {line}, column {column})")
        })
        .unwrap_or_default()
    };
    // Syntax first, so that a data error below is never mistaken for one.
    if let Err(e) = toml::from_str::<toml::Table>(text) {
        let message = format!("{}{}", e.message().trim(), position(e.span()));
        return Err(syntax_error("TOML", &message));
    }
    take_refused();
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let path = path_parts(e.path());
        // The path names the place; the position only when there is none.
        let message = match path.is_empty() {
            true => format!("{}{}", inner.message().trim(), position(inner.span())),
            false => inner.message().trim().to_owned(),
        };
        described_error(&path, &message)
    })
}

fn syntax_error(language: &str, message: &str) -> ConfigError {
    ConfigError::new(
        "configuration",
        format!("the {language} text does not parse: {message}"),
        "fix the configuration text at the place the message names",
    )
}

/// The field a path names: `configuration` for the text as a whole.
fn field(path: &[String]) -> String {
    if path.is_empty() {
        "configuration".to_owned()
    } else {
        path.join(".")
    }
}

/// Lists whose entries are named by position when refused: each secret of
/// a rotation, each field of `sync_on_login` (as their own rules name them).
const ENTRIES_BY_POSITION: [&str; 2] = ["key_source.secret[", "sync_on_login["];

/// The field that holds a value the model refuses itself: the list for an
/// entry (`algorithms`, as for the list's own rules), else the value's path.
fn holder(path: &[String]) -> String {
    let mut field = field(path);
    if ENTRIES_BY_POSITION
        .iter()
        .any(|list| field.starts_with(list))
    {
        return field;
    }
    if field.ends_with(']')
        && let Some(open) = field.rfind('[')
        && open > 0
    {
        field.truncate(open);
    }
    field
}

/// `claims.user_id`, `system_prompts[1].slot`: the members of a serde path.
fn path_parts(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    let mut parts: Vec<String> = Vec::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key } => parts.push(key.clone()),
            Segment::Seq { index } => match parts.last_mut() {
                Some(last) => last.push_str(&format!("[{index}]")),
                None => parts.push(format!("[{index}]")),
            },
            Segment::Enum { .. } => {}
            Segment::Unknown => break,
        }
    }
    parts
}

/// The member named in backquotes after `prefix` in serde's own
/// `unknown_field`/`missing_field` message.
fn named_member(message: &str, prefix: &str) -> Option<String> {
    let start = message.find(prefix)? + prefix.len();
    let rest = &message[start..];
    rest.find('`').map(|end| rest[..end].to_owned())
}

/// A `config` error for serde's message about the value at `path`.
fn described_error(path: &[String], message: &str) -> ConfigError {
    let join = |name: &str| {
        let mut parts: Vec<&str> = path.iter().map(String::as_str).collect();
        if parts.last() != Some(&name) {
            parts.push(name);
        }
        parts.join(".")
    };
    if let Some(name) = named_member(message, "unknown field `") {
        return ConfigError::new(
            join(&name),
            format!("unknown field ({message})"),
            format!("remove `{name}` or correct its spelling; unknown fields are never ignored"),
        );
    }
    if let Some(name) = named_member(message, "missing field `") {
        let field = join(&name);
        return ConfigError::new(
            field.clone(),
            format!("required field is missing ({message})"),
            format!("add `{field}` to the configuration"),
        );
    }
    let field = holder(path);
    // A name or URL refused by its own type: its typed error, at this path.
    if let Some(refused) = take_refused().filter(|refused| refused.problem() == message) {
        return refused.with_field(field);
    }
    let fix = fix_for(&field);
    ConfigError::new(field, message.to_owned(), fix)
}

/// The fix for a value refused at `field`.
fn fix_for(field: &str) -> String {
    match field {
        "algorithms" => algorithms_fix(),
        "name" => CONFIG_NAME_FIX.to_owned(),
        "token_name" => TOKEN_NAME_FIX.to_owned(),
        "key_source.url" => REMOTE_URL_FIX.to_owned(),
        "key_source" => KEY_SOURCE_FIX.to_owned(),
        "last_modified" => {
            "write an RFC 3339 date-time with an offset, e.g. 2026-03-13T10:00:00Z".to_owned()
        }
        f if f.starts_with("key_source.secret") => {
            "give the secret as a string, {\"base64\": \"…\"} or {\"env\": \"VAR\"}".to_owned()
        }
        _ => "fix the value as the message says (it names what is expected)".to_owned(),
    }
}
