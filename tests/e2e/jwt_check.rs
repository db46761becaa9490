//! `jwt_check` run as a process: its JSON, batch and exit-code contract
//! (CONTRACT section 5).
#![cfg(feature = "mint")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::erp;
use crate::support::fixtures::{NOW, sign};
#[cfg(feature = "remote")]
use crate::support::provider as support;

use jwt_sso::Algorithm;
use jwt_sso::mint::SigningKey;
use serde_json::{Value, json};

const SECRET: &str = "jwt-check-test-secret-0123456789abcdef";
const IDP: &str = "https://idp.example.com";

/// The `jwt_check` example, built with this test's features.
fn binary() -> PathBuf {
    crate::support::process::example("jwt_check")
}

/// CONTRACT section 1's example configuration, on HS256 with [`SECRET`].
fn config_json() -> Value {
    erp::config(IDP, SECRET)
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jwt-sso-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn token(claims: Value) -> String {
    sign(SECRET, claims)
}

/// Claims that fill every mapping of [`config_json`], valid for an hour at [`NOW`].
fn good_claims() -> Value {
    let mut claims = erp::claims(IDP, "jdoe");
    claims["exp"] = json!(NOW + 3600);
    claims
}

/// `jwt_check --config CONFIG ARGS…` with `stdin`.
fn check(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let config = config.to_str().expect("a UTF-8 path");
    run(&[&["--config", config], args].concat(), stdin)
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A child that exits early (a configuration error) closes its stdin:
    // a broken pipe here is expected then.
    if let Err(e) = input.write_all(stdin.unwrap_or("").as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// `jwt_check --config CONFIG --json --now NOW TOKEN`.
fn run_json(config: &Path, now: &str, token: &str) -> Output {
    check(config, &["--json", "--now", now, token], None)
}

fn last_json_line(output: &Output) -> Value {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let last = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

/// The human checklist of `token` under `config` at [`NOW`]: exits `code`
/// and prints each of `lines`; its standard output.
#[track_caller]
fn checklist(config: &Path, token: &str, code: i32, lines: &[&str]) -> String {
    let out = check(config, &["--now", &NOW.to_string(), token], None);
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert_eq!(out.status.code(), Some(code), "{stdout}");
    for line in lines {
        assert!(stdout.contains(line), "{line:?} in: {stdout}");
    }
    stdout
}

/// Exit 2 with a JSON `config` error as the last line; that line.
#[track_caller]
fn config_error(out: &Output, what: &str) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    let line = last_json_line(out);
    assert_eq!(line["error"]["kind"], "config", "{what}: {line}");
    line
}

#[test]
fn json_mode_accepts_with_the_contract_shape() {
    let config = write_temp("accept.json", &config_json().to_string());
    let now = NOW.to_string();
    let out = check(
        &config,
        &["--now", &now, "--json", &token(good_claims())],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let expected = json!({"ok": true, "identity": {
        "config": "ERP", "user_id": "jdoe", "name": "Jane Doe", "email": "jane@example.com",
        "user_type": "reader", "roles": ["Viewer"],
        "prompts": [
            {"kind": "text", "slot": 1, "value": "Sales"},
            {"kind": "numeric", "slot": 2, "value": 7},
            {"kind": "date", "slot": 1, "value": "2021-04-15"}
        ],
        "expires_at": "2026-01-01T01:00:00Z", "warnings": [],
        // CONTRACT section 4 (end): the verified registered claims, after section 5's members.
        "issuer": "https://idp.example.com", "subject": null, "token_id": null, "issued_at": null
    }});
    assert_eq!(last_json_line(&out), expected);
    // Member order as the contract prints it.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .trim_end()
            .ends_with(r#""expires_at":"2026-01-01T01:00:00Z","warnings":[],"issuer":"https://idp.example.com","subject":null,"token_id":null,"issued_at":null}}"#),
        "{stdout}"
    );
    assert!(
        stdout.starts_with(r#"{"ok":true,"identity":{"config":"ERP","user_id":"jdoe","#),
        "{stdout}"
    );
}

#[test]
fn json_mode_rejects_with_kind_message_and_hint() {
    let config = write_temp("reject.json", &config_json().to_string());
    let late = (NOW + 3600 + 60).to_string();
    let out = run_json(&config, &late, &token(good_claims()));
    assert_eq!(out.status.code(), Some(1));
    let line = last_json_line(&out);
    assert_eq!(line["ok"], json!(false));
    assert_eq!(line["error"]["kind"], json!("expired"));
    let message = line["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("2026-01-01T01:00:00Z") && message.contains("2026-01-01T01:01:00Z"),
        "{message}"
    );
    assert!(!line["error"]["hint"].as_str().unwrap().is_empty());
    let keys: Vec<&String> = line["error"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3);
}

#[test]
fn configuration_errors_exit_2_with_kind_config() {
    let mut bad = config_json();
    bad["audiance"] = json!("typo");
    let config = write_temp("bad.json", &bad.to_string());
    let out = check(&config, &["--json", &token(good_claims())], None);
    let line = config_error(&out, "an unknown field");
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap()
            .contains("audiance")
    );

    let missing = run(
        &["--config", "/nonexistent/jwt-sso.json", "--json", "x.y.z"],
        None,
    );
    config_error(&missing, "a missing file");

    // Human mode: exit 2 as well, and the secret never printed.
    let mut short = config_json();
    short["key_source"]["secret"] = json!("too-short-SECRETVALUE");
    let config = write_temp("short.json", &short.to_string());
    let out = check(&config, &["x.y.z"], None);
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("key_source.secret"), "{all}");
    assert!(!all.contains("SECRETVALUE"), "{all}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&[], None).status.code(), Some(2));
    assert_eq!(run(&["--config"], None).status.code(), Some(2));
    let config = write_temp("usage.json", &config_json().to_string());
    assert_eq!(check(&config, &[], None).status.code(), Some(2));
    assert_eq!(
        check(&config, &["--now", "soon", "a.b.c"], None)
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn toml_configurations_load_by_file_name() {
    let toml = format!(
        r#"
name = "ERP"
token_name = "token"
issuer = "https://idp.example.com"
audience = "bi-server"
algorithms = ["HS256"]
expiration_time = 86400
initial_roles = ["Viewer"]

[key_source]
type = "static"
secret = "{SECRET}"

[claims]
user_id = "loginname"
"#
    );
    let config = write_temp("config.toml", &toml);
    let now = NOW.to_string();
    let out = run_json(&config, &now, &token(good_claims()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(last_json_line(&out)["identity"]["user_id"], json!("jdoe"));
}

#[test]
fn batch_mode_prints_one_line_per_token_in_order() {
    let config = write_temp("batch.json", &config_json().to_string());
    let now = NOW.to_string();
    let mut other = good_claims();
    other["loginname"] = json!("asmith");
    let mut no_user = good_claims();
    no_user.as_object_mut().unwrap().remove("loginname");
    let input = format!(
        "{}\n{}\nnot-a-token\n\n{}\r\n{}",
        token(good_claims()),
        token(other.clone()),
        token(no_user),
        token(other)
    );
    let out = check(&config, &["--now", &now, "-"], Some(&input));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert_eq!(lines[0]["identity"]["user_id"], json!("jdoe"));
    assert_eq!(lines[1]["identity"]["user_id"], json!("asmith"));
    assert_eq!(lines[2]["error"]["kind"], json!("malformed"));
    assert_eq!(lines[3]["error"]["kind"], json!("missing_user_id"));
    assert_eq!(lines[4]["ok"], json!(true));

    let all_good = format!("{}\n{}\n", token(good_claims()), token(good_claims()));
    let out = check(&config, &["--now", &now, "--json", "-"], Some(&all_good));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);

    let mut bad = config_json();
    bad["expiration_time"] = json!(0);
    let config = write_temp("batch-bad.json", &bad.to_string());
    let out = check(&config, &["-"], Some(&all_good));
    config_error(&out, "a batch with a bad configuration");
}

#[test]
fn human_mode_prints_a_checklist_with_the_failing_step_and_hint() {
    let config = write_temp("human.json", &config_json().to_string());
    let forged = SigningKey::from_secret(b"another-secret-of-sufficient-length-0123")
        .sign(Algorithm::HS256, &good_claims())
        .unwrap();
    let stdout = checklist(
        &config,
        &forged,
        1,
        &[
            "[ ok ]  4. algorithm is allowed",
            "[FAIL]  7. signature verifies",
            "hint: Check the secret or public key",
            "[ -- ]  8.",
            "rejected: invalid_signature",
        ],
    );
    assert!(
        !stdout.contains(SECRET),
        "the secret is never printed: {stdout}"
    );

    checklist(
        &config,
        &token(good_claims()),
        0,
        &[
            "[ ok ] 14. claims map into the identity",
            "accepted: user `jdoe`",
        ],
    );
}

/// With `remote`, the batch mode shares one verifier, so its key cache is
/// visible from outside: the provider sees one request for the whole batch,
/// plus one for a new `kid`.
#[cfg(feature = "remote")]
#[test]
fn batch_mode_shares_the_remote_key_cache() {
    use support::{Reply, Server};

    let read = |path: &str| {
        std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    let public: Value = serde_json::from_str(&read("jwks/public_jwks.json")).unwrap();
    let with_kid = |name: &str, kid: &str| {
        let mut key = public[name].clone();
        key["kid"] = json!(kid);
        key
    };
    let server = Server::start();
    server.set(
        "/jwks",
        Reply::json(
            json!({"keys": [with_kid("rsa2048", "k1"), with_kid("rsa2048b", "k2")]}).to_string(),
        ),
    );
    let mut config = config_json();
    config["algorithms"] = json!(["RS256"]);
    config["key_source"] = json!({"type": "jwks_uri", "url": server.url("/jwks")});
    let config = write_temp("remote.json", &config.to_string());
    let rs256 = |key: &str, kid: &str| {
        (SigningKey::from_pem(&read(&format!("keys/{key}_private.pem"))))
            .sign_with_header(
                Algorithm::RS256,
                &json!({"alg": "RS256", "kid": kid}),
                &good_claims(),
            )
            .unwrap()
    };
    let input = [
        rs256("rsa2048", "k1"),
        rs256("rsa2048", "k1"),
        rs256("rsa2048b", "k2"),
        rs256("rsa2048", "k9"),
        rs256("rsa2048", "k1"),
    ]
    .join("\n");
    let now = NOW.to_string();
    let out = check(&config, &["--now", &now, "-"], Some(&input));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let kinds: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| {
            if v["ok"] == json!(true) {
                json!("ok")
            } else {
                v["error"]["kind"].clone()
            }
        })
        .collect();
    assert_eq!(
        kinds,
        [
            json!("ok"),
            json!("ok"),
            json!("ok"),
            json!("key_not_found"),
            json!("ok")
        ],
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        server.hits("/jwks"),
        2,
        "one fetch for the batch and one refetch for the unknown kid"
    );

    // Human mode with an unreachable provider: step 6 fails with key_fetch.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut down = config_json();
    down["algorithms"] = json!(["RS256"]);
    down["key_source"] =
        json!({"type": "jwks_uri", "url": format!("http://127.0.0.1:{port}/jwks")});
    let down = write_temp("remote-down.json", &down.to_string());
    checklist(
        &down,
        &rs256("rsa2048", "k1"),
        1,
        &[
            "[FAIL]  6. a key fits the token's kid and alg",
            "rejected: key_fetch",
        ],
    );

    // A plain-http URL to another host is a configuration error: exit 2.
    let mut remote_http = config_json();
    remote_http["algorithms"] = json!(["RS256"]);
    remote_http["key_source"] = json!({"type": "jwks_uri", "url": "http://idp.example.com/jwks"});
    let remote_http = write_temp("remote-http.json", &remote_http.to_string());
    let out = check(&remote_http, &["--json", "x.y.z"], None);
    config_error(&out, "a plain-http URL to another host");
}

/// CONTRACT section 5: the human output escapes control characters, so a
/// signed value cannot move the cursor or forge a checklist line.
#[test]
fn human_mode_escapes_control_characters_in_everything_it_prints() {
    let config = write_temp("escape.json", &config_json().to_string());
    let now = NOW.to_string();
    let evil = "evil\u{1b}[31mRED\nFAKE: [ ok ] all good";
    let c1 = "csi\u{9b}2Jcleared\u{202e}desrever";
    let cases = [
        // The user ID (accepted or refused, it must not reach the terminal raw).
        json!({"loginname": evil, "name": c1}),
        // The display name, printed in the identity.
        json!({"name": evil, "department": c1}),
        // A value quoted in an error message.
        json!({"iss": evil}),
    ];
    for extra in cases {
        let mut claims = good_claims();
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let out = check(&config, &["--now", &now, &token(claims)], None);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.contains('\u{1b}'), "raw ESC in: {stdout}");
        assert!(!stdout.contains('\u{9b}'), "raw CSI in: {stdout}");
        assert!(
            !stdout.contains('\u{202e}'),
            "raw bidi override in: {stdout}"
        );
        assert!(
            !stdout.lines().any(|l| l.trim_start().starts_with("FAKE")),
            "forged line in: {stdout}"
        );
        assert!(
            stdout.contains("RED"),
            "the value is shown escaped: {stdout}"
        );
    }
}

/// A configuration file over 1 MiB is a `config` error, read no further:
/// `/dev/zero` stops at once instead of filling the memory.
#[test]
fn configuration_files_over_one_mib_are_refused_unread() {
    let big = write_temp("big.json", &" ".repeat((1 << 20) + 1));
    for path in ["/dev/zero", big.to_str().unwrap()] {
        if !std::path::Path::new(path).exists() {
            continue;
        }
        let started = std::time::Instant::now();
        let out = run_json(std::path::Path::new(path), "0", "x.y.z");
        let json = config_error(&out, path);
        assert!(
            json["error"]["message"].as_str().unwrap().contains("1 MiB"),
            "{json}"
        );
        // Not a timing assertion: /dev/zero read whole would never end.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{path}: refused unread, not read to the end"
        );
    }
    // Exactly 1 MiB is read (and then judged as a configuration).
    let edge = write_temp("edge.json", &" ".repeat(1 << 20));
    let json = last_json_line(&run_json(&edge, "0", "x.y.z"));
    assert!(
        !json["error"]["message"].as_str().unwrap().contains("1 MiB"),
        "{json}"
    );
}

/// The peak resident memory of a running process, in KiB (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A standard-input line longer than `max_token_bytes` is `token_too_large`
/// without being held whole, and the next line is still read.
#[test]
fn long_standard_input_lines_are_refused_without_being_held() {
    use std::io::{BufRead, BufReader};
    let config = write_temp("long-line.json", &config_json().to_string());
    let mut child = Command::new(binary())
        .args([
            "--config",
            config.to_str().unwrap(),
            "--now",
            &NOW.to_string(),
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut input = child.stdin.take().unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        input.write_all(&chunk).unwrap();
    }
    input.write_all(b"\n").unwrap();
    input
        .write_all(format!("{}\n", token(good_claims())).as_bytes())
        .unwrap();
    input.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    // The child is still running (stdin open): its peak memory so far.
    let peak = peak_rss_kib(pid);
    drop(input);
    let status = child.wait().unwrap();
    assert_eq!(lines[0]["error"]["kind"], "token_too_large", "{}", lines[0]);
    let message = lines[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains(&(64usize << 20).to_string()), "{message}");
    assert!(message.contains("16384"), "{message}");
    assert_eq!(lines[1]["ok"], true, "{}", lines[1]);
    assert_eq!(status.code(), Some(1));
    if let Some(peak) = peak {
        // 64 MiB went through; far less was ever resident.
        assert!(peak < 32 * 1024, "peak RSS {peak} KiB");
    }
}

/// The `mint` example, built like [`binary`].
fn mint_binary() -> PathBuf {
    crate::support::process::example("mint")
}

/// Issue 27: `mint --alg Ed25519` signs under RFC 9864's name, `jwt_check`
/// accepts it where `Ed25519` is allowed, and its checklist fails step 4
/// where only `EdDSA` is, saying that the two names are matched as written.
#[test]
fn ed25519_tokens_from_mint_pass_jwt_checks_checklist() {
    let keys = format!("{}/tests/data/keys", env!("CARGO_MANIFEST_DIR"));
    let mut config = config_json();
    config["algorithms"] = json!(["Ed25519"]);
    config["key_source"] = json!({"type": "static",
        "public_key_pem": std::fs::read_to_string(format!("{keys}/ed25519_public.pem")).unwrap()});
    let ed_config = write_temp("ed25519.json", &config.to_string());
    let now = NOW.to_string();
    let minted = Command::new(mint_binary())
        .args([
            "--config",
            ed_config.to_str().unwrap(),
            "--key",
            &format!("{keys}/ed25519_private.pem"),
            "--alg",
            "Ed25519",
            "--now",
            &now,
            "--claim",
            "loginname=jdoe",
        ])
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let header = token.split('.').next().unwrap();
    assert_eq!(
        header,
        base64_url(r#"{"alg":"Ed25519","typ":"JWT"}"#),
        "the header names Ed25519"
    );

    let out = run_json(&ed_config, &now, &token);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(last_json_line(&out)["identity"]["user_id"], "jdoe");

    config["algorithms"] = json!(["EdDSA"]);
    let eddsa_config = write_temp("eddsa-only.json", &config.to_string());
    checklist(
        &eddsa_config,
        &token,
        1,
        &[
            "[FAIL]  4. algorithm is allowed",
            "add `Ed25519` to `algorithms`",
        ],
    );
    // Both names allowed: accepted.
    config["algorithms"] = json!(["EdDSA", "Ed25519"]);
    let both = write_temp("ed-both.json", &config.to_string());
    let out = run_json(&both, &now, &token);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn role_rules_in_json_mode_give_roles_and_user_type_and_no_match_exits_1() {
    let mut config = config_json();
    config["role_rules_required"] = json!(true);
    config["role_rules"] = json!([
        {"claim": "/realm_access/roles", "value": "bi-analyst", "roles": ["Analyst", "Viewer"], "user_type": "analyst"},
        {"claim": "groups", "value": "Finance", "roles": ["Finance"], "user_type": "author"},
        {"claim": "groups", "value": "ops", "roles": ["Administrator"]}
    ]);
    let path = write_temp("rules.json", &config.to_string());

    let mut claims = good_claims();
    claims["groups"] = json!(["Sales", "Finance", "ops"]);
    claims["realm_access"] = json!({"roles": ["bi-analyst"]});
    let out = run_json(&path, &NOW.to_string(), &token(claims));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = last_json_line(&out);
    assert_eq!(json["ok"], true);
    // initial_roles, the roles claim, then the rules in order; the
    // administrator's role only with may_grant_admin.
    assert_eq!(
        json["identity"]["roles"],
        json!(["Viewer", "Sales", "Finance", "ops", "Analyst"])
    );
    assert_eq!(json["identity"]["user_type"], "analyst");
    let warning = json["identity"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("`Administrator`") && warning.contains("may_grant_admin"),
        "{warning}"
    );

    let mut claims = good_claims();
    claims["groups"] = json!(["Sales"]);
    let out = run_json(&path, &NOW.to_string(), &token(claims.clone()));
    assert_eq!(out.status.code(), Some(1));
    let json = last_json_line(&out);
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["kind"], "no_matching_role");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`groups`: [\"Sales\"]")
            && message.contains("`/realm_access/roles`: absent"),
        "{message}"
    );
    assert!(
        json["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("role_rules_required")
    );

    // The human checklist names step 15.
    checklist(
        &path,
        &token(claims),
        1,
        &["[FAIL] 15. a role rule matches", "[ -- ] 16."],
    );
}
