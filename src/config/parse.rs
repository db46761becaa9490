//! Reading the serde model from JSON and TOML text: `config` errors that
//! name the field (from `serde_path_to_error`) and never quote a TOML line.

use super::carried_fix;
use crate::error::Error;

/// Deserialises JSON text, with the path of the value at fault.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        // A message that carries its own fix is given without the position
        // serde_json appends (the field names the place).
        let suffix = format!(" at line {} column {}", inner.line(), inner.column());
        let bare = message.strip_suffix(&suffix).unwrap_or(&message);
        match carried_fix(bare) {
            Some((problem, fix)) => Error::config(holder(&path_parts(e.path())), problem, fix),
            None => described_error(&path_parts(e.path()), &message),
        }
    })?;
    de.end().map_err(|e| described_error(&[], &e.to_string()))?;
    Ok(value)
}

/// Deserialises TOML text directly (no JSON round trip), with the path of
/// the value at fault. The message gives the line and column, never the
/// line itself (it may hold a secret).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let position = inner.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" (line {line}, column {column})")
        });
        let path = path_parts(e.path());
        if let Some((problem, fix)) = carried_fix(inner.message().trim()) {
            return Error::config(holder(&path), problem, fix);
        }
        let message = format!("{}{}", inner.message().trim(), position.unwrap_or_default());
        if path.is_empty() && !is_data_message(inner.message()) {
            return Error::config(
                "configuration",
                format!("the TOML text does not parse: {message}"),
                "fix the configuration text at the place the message names",
            );
        }
        described_error(&path, &message)
    })
}

/// The field a path names: `configuration` for the text as a whole.
fn field(path: &[String]) -> String {
    if path.is_empty() {
        "configuration".to_owned()
    } else {
        path.join(".")
    }
}

/// The field that holds a value the model refuses itself: the list for an
/// entry (`algorithms`, as for the list's own rules), else the value's path.
fn holder(path: &[String]) -> String {
    let mut field = field(path);
    if field.ends_with(']')
        && let Some(open) = field.rfind('[')
        && open > 0
    {
        field.truncate(open);
    }
    field
}

/// Whether a deserializer's message is about a value (not the syntax).
fn is_data_message(message: &str) -> bool {
    [
        "unknown field `",
        "missing field `",
        "unknown variant `",
        "invalid type",
        "invalid value",
    ]
    .iter()
    .any(|p| message.contains(p))
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

/// A `config` error for a serde message about the value at `path`.
fn described_error(path: &[String], message: &str) -> Error {
    let quoted = |prefix: &str| {
        message.find(prefix).and_then(|start| {
            let rest = &message[start + prefix.len()..];
            rest.find('`').map(|end| rest[..end].to_owned())
        })
    };
    let join = |name: Option<&str>| {
        let mut parts: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Some(name) = name
            && parts.last() != Some(&name)
        {
            parts.push(name);
        }
        parts.join(".")
    };
    if let Some(name) = quoted("unknown field `") {
        return Error::config(
            join(Some(&name)),
            format!("unknown field ({message})"),
            format!("remove `{name}` or correct its spelling; unknown fields are never ignored"),
        );
    }
    if let Some(name) = quoted("missing field `") {
        let field = join(Some(&name));
        return Error::config(
            field.clone(),
            format!("required field is missing ({message})"),
            format!("add `{field}` to the configuration"),
        );
    }
    // A secret of the wrong type: the visitor names its member (`secret`,
    // `secret.base64`, `secret.env`), so that the field path reaches it.
    if let Some((member, rest)) = message.split_once(": ")
        && (member == "secret" || member.starts_with("secret."))
        && rest.contains("it is a secret field")
    {
        return Error::config(
            join(Some(member)),
            rest.to_owned(),
            "give the secret as a string, {\"base64\": \"…\"} or {\"env\": \"VAR\"}",
        );
    }
    let field = field(path);
    if let Some(variant) = quoted("unknown variant `") {
        return Error::config(
            field,
            format!("unknown value `{variant}` ({message})"),
            "use one of the values the message lists",
        );
    }
    Error::config(
        field,
        message.to_owned(),
        "fix the configuration text at the place the message names",
    )
}
