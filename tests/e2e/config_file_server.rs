//! `login_server --config FILE` as a child process (CONTRACT section 7: the
//! `--config` file is the store): a configuration added to the file by hand
//! logs in within 5 s and a later admin create keeps it; an invalid hand
//! edit is a logged `config` error while the last good set serves; two
//! administrators racing on the file get one success and one `412`, and the
//! file holds everything both did; `kill -9` during admin saves, 30 times,
//! leaves the old file or the new one, never a part. Real HTTP on loopback,
//! a SQLite file for users and sessions, each server in its own temporary
//! directory.

#![cfg(all(unix, feature = "axum", feature = "sqlite", feature = "remote"))]

use crate::support::fixtures::now;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jwt_sso::Algorithm;
use jwt_sso::mint::SigningKey;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "file-server-admin-token-0123456789ab";
const SECRET_ERP: &str = "file-server-erp-secret-0123456789abcd";
const SECRET_HAND: &str = "file-server-hand-secret-0123456789abc";

fn config(name: &str, issuer: &str, secret: &str) -> Value {
    json!({
        "name": name, "token_name": "token", "issuer": issuer,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": secret},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    })
}

fn token(issuer: &str, secret: &str, user: &str) -> String {
    SigningKey::from_secret(secret.as_bytes())
        .sign(
            Algorithm::HS256,
            &json!({"iss": issuer, "sub": user, "iat": now(), "exp": now() + 600}),
        )
        .unwrap()
}

use crate::support::process;

/// A temporary directory with the `--config` file; removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, configs: &Value) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("jwt-sso-file-server-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("configs.json"),
            serde_json::to_string_pretty(configs).unwrap(),
        )
        .unwrap();
        Dir(dir)
    }

    fn config(&self) -> PathBuf {
        self.0.join("configs.json")
    }

    /// The `--config` file, which must always be one JSON array.
    fn read(&self) -> Value {
        let text = std::fs::read_to_string(self.config()).unwrap();
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the file is not valid JSON ({e}): {text:?}"))
    }

    fn write(&self, value: &Value) {
        std::fs::write(self.config(), serde_json::to_string_pretty(value).unwrap()).unwrap();
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `login_server` process over `dir`; killed on drop.
struct Server {
    process: process::Instance,
    base: String,
    http: reqwest::Client,
}

impl Server {
    fn start(dir: &Dir, n: usize) -> Server {
        let log = dir.0.join(format!("server-{n}.log"));
        let db = dir.0.join("users.sqlite");
        let process =
            process::Instance::start(&dir.config(), db.to_str().unwrap(), log, ADMIN_TOKEN, &[]);
        Server {
            base: process.base.clone(),
            process,
            http: crate::support::http::client(),
        }
    }

    /// The server's log, without the formatter's colours.
    fn log(&self) -> String {
        let raw = self.process.log();
        let mut plain = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // CSI: ESC [ parameters, then one final letter.
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        plain
    }

    /// `kill -9`, and wait for the process to be gone.
    fn kill(self) {
        self.process.kill();
    }

    async fn login(&self, token: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .header("Content-Type", "application/json")
            .body(json!({"loginMode": 67108864, "password": token}).to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        crate::support::http::admin_request(
            &self.http,
            method,
            format!("{}{path}", self.base),
            ADMIN_TOKEN,
            if_match,
            body,
        )
    }

    /// An admin call's status, `ETag` and body.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Option<String>, Value) {
        let response = self
            .admin(method, path, if_match, body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.unwrap();
        (
            status,
            etag,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn view(&self, name: &str) -> (String, Value) {
        let (status, etag, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/admin/configs/{name}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (etag.unwrap(), body)
    }
}

fn names(file: &Value) -> Vec<String> {
    file.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_added_by_hand_logs_in_within_5s_and_a_later_create_keeps_it() {
    let erp = "https://erp.example.com";
    let dir = Dir::new("hand", &json!([config("ERP", erp, SECRET_ERP)]));
    let server = Server::start(&dir, 0);
    let hand = "https://hand.example.com";
    let hand_token = token(hand, SECRET_HAND, "hand-user");
    // Not there yet: the only configuration (ERP) refuses its signature.
    let (status, body) = server.login(&hand_token).await;
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (401, Some("invalid_signature"))
    );

    // Added by hand (an editor writes the file anew).
    let mut file = dir.read();
    file.as_array_mut()
        .unwrap()
        .push(config("Hand", hand, SECRET_HAND));
    dir.write(&file);
    let written = Instant::now();
    loop {
        let (status, body) = server.login(&hand_token).await;
        if status == 200 {
            assert_eq!(body["user"]["user_id"], "hand-user");
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(5),
            "the hand-added configuration does not log in within 5 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A later create through the admin API keeps it in the file.
    let (status, _, body) = server
        .call(
            reqwest::Method::POST,
            "/api/admin/configs",
            None,
            Some(&config("Portal", "https://portal.example.com", SECRET_ERP)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(names(&dir.read()), ["ERP", "Hand", "Portal"]);
    // And it survives a restart, still logging in.
    server.kill();
    let again = Server::start(&dir, 1);
    assert_eq!(again.login(&hand_token).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_hand_edit_is_a_logged_config_error_and_the_last_good_set_serves() {
    let erp = "https://erp.example.com";
    let dir = Dir::new("invalid", &json!([config("ERP", erp, SECRET_ERP)]));
    let server = Server::start(&dir, 0);
    let erp_token = token(erp, SECRET_ERP, "jdoe");
    assert_eq!(server.login(&erp_token).await.0, 200);

    // Valid JSON, but a secret too short for HS256 (never shown).
    let mut file = dir.read();
    file[0]["key_source"]["secret"] = json!("too-short-hand-secret");
    dir.write(&file);
    let written = Instant::now();
    let line = loop {
        let log = server.log();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains("the stored configurations were refused"))
        {
            break line.to_owned();
        }
        assert!(
            written.elapsed() < Duration::from_secs(5),
            "no config error logged within 5 s:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("kind=\"config\""), "{line}");
    assert!(line.contains("key_source.secret"), "{line}");
    assert!(line.contains("`ERP`"), "{line}");
    assert!(!server.log().contains("too-short-hand-secret"));
    // The last good set keeps serving.
    assert_eq!(server.login(&erp_token).await.0, 200);
    // The same refusal is logged once, not every second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refusals = server
        .log()
        .lines()
        .filter(|l| l.contains("the stored configurations were refused"))
        .count();
    assert_eq!(refusals, 1);

    // Broken JSON is refused the same way; fixed, it is in force again.
    std::fs::write(dir.config(), "[{\"name\": ").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.login(&erp_token).await.0, 200);
    let mut fixed = json!([config("ERP", erp, SECRET_ERP)]);
    fixed[0]["user_type"] = json!("analyst");
    dir.write(&fixed);
    let written = Instant::now();
    for attempt in 0.. {
        // A new user each time: a user keeps the type it was created with.
        let user = format!("new-user-{attempt}");
        let (status, body) = server.login(&token(erp, SECRET_ERP, &user)).await;
        assert_eq!(status, 200, "{body}");
        if body["user"]["user_type"] == "analyst" {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(5),
            "the fix is not in force"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_administrators_racing_on_one_file_one_wins_one_gets_412_and_the_file_holds_both() {
    let dir = Dir::new(
        "race",
        &json!([
            config("ERP", "https://erp.example.com", SECRET_ERP),
            config("CRM", "https://crm.example.com", SECRET_ERP)
        ]),
    );
    let server = Server::start(&dir, 0);
    for round in 0..10u64 {
        // Both administrators read ERP (one ETag) and save different edits;
        // meanwhile each also creates a configuration of its own.
        let (etag, view) = server.view("erp").await;
        let edit = |leeway: u64| {
            let mut body = view.clone();
            body["leeway"] = json!(leeway);
            body
        };
        let (a, b) = (edit(100 + 2 * round), edit(101 + 2 * round));
        let (new_a, new_b) = (
            config(
                &format!("A{round}"),
                &format!("https://a{round}.example.com"),
                SECRET_ERP,
            ),
            config(
                &format!("B{round}"),
                &format!("https://b{round}.example.com"),
                SECRET_ERP,
            ),
        );
        let (put, post) = (reqwest::Method::PUT, reqwest::Method::POST);
        let (ra, rb, ca, cb) = tokio::join!(
            server.call(put.clone(), "/api/admin/configs/erp", Some(&etag), Some(&a)),
            server.call(put, "/api/admin/configs/erp", Some(&etag), Some(&b)),
            server.call(post.clone(), "/api/admin/configs", None, Some(&new_a)),
            server.call(post, "/api/admin/configs", None, Some(&new_b)),
        );
        let mut statuses = [ra.0, rb.0];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "{ra:?} {rb:?}");
        let loser = if ra.0 == 412 { &ra } else { &rb };
        assert_eq!(loser.2["error"]["kind"], "version_conflict");
        assert_eq!((ca.0, cb.0), (201, 201), "{ca:?} {cb:?}");

        // The file is one valid JSON array holding the winner's edit and both
        // creates, and everything that was there before.
        let file = dir.read();
        let winner = if ra.0 == 200 { &a } else { &b };
        let erp = file
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "ERP")
            .unwrap();
        assert_eq!(erp["leeway"], winner["leeway"]);
        let names = names(&file);
        for n in 0..=round {
            assert!(names.contains(&format!("A{n}")) && names.contains(&format!("B{n}")));
        }
        assert!(names.contains(&"CRM".to_owned()));
        assert_eq!(names.len(), 2 + 2 * (round as usize + 1));
        // Served as saved.
        let (_, served) = server.view("erp").await;
        assert_eq!(served["leeway"], winner["leeway"]);
    }
}

/// Every configuration of `file` but `changed` is as it was in `before`
/// (compared as configurations: a save writes every field out); `changed`
/// is as before (`false`) or has `leeway` (`true`).
fn old_or_new(before: &Value, file: &Value, changed: &str, leeway: u64) -> bool {
    assert_eq!(names(before), names(file), "the set of configurations");
    let parse = |v: &Value| jwt_sso::JwtConfig::from_json_str(&v.to_string()).unwrap();
    let mut new = false;
    for (old, now) in before
        .as_array()
        .unwrap()
        .iter()
        .zip(file.as_array().unwrap())
    {
        let (old, now) = (parse(old), parse(now));
        if now.name == changed && now != old {
            assert_eq!(now.leeway, leeway, "{now:?}");
            let mut expected = old.clone();
            expected.leeway = leeway;
            expected.last_modified = now.last_modified;
            assert_eq!(now, expected, "only the change");
            new = true;
        } else {
            assert_eq!(now, old, "untouched by the save");
        }
    }
    new
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_admin_saves_leaves_the_old_file_or_the_new_one() {
    // A few hundred configurations, so that a save writes a file of some size.
    let configs: Vec<Value> = (0..300)
        .map(|i| {
            config(
                &format!("C{i:03}"),
                &format!("https://c{i}.example.com"),
                SECRET_ERP,
            )
        })
        .collect();
    let dir = Dir::new("kill", &Value::Array(configs));
    let (mut old, mut new, mut mid_write) = (0, 0, 0);
    let mut before = dir.read();
    let started = Instant::now();
    for round in 0..30u64 {
        let server = Server::start(&dir, round as usize);
        // Whatever the last kill left is what this start serves.
        let (etag, view) = server.view("c150").await;
        let on_disk = before
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "C150")
            .unwrap();
        let leeway_on_disk = on_disk["leeway"].as_u64().unwrap_or(60); // the default
        assert_eq!(view["leeway"], json!(leeway_on_disk));

        let leeway = 1000 + round;
        let mut body = view.clone();
        body["leeway"] = json!(leeway);
        let save = server
            .admin(
                reqwest::Method::PUT,
                "/api/admin/configs/c150",
                Some(&etag),
                Some(&body),
            )
            .send();
        let save = tokio::spawn(save);
        // Kill at a different moment each round: before, during or after the write.
        tokio::time::sleep(Duration::from_micros((round * 7919) % 40_000)).await;
        server.kill();
        let _ = save.await;

        let file = dir.read();
        if old_or_new(&before, &file, "C150", leeway) {
            new += 1;
        } else {
            old += 1;
        }
        before = file;
        mid_write += assert_no_partial_files(&dir.0);
    }
    eprintln!(
        "kill -9 during saves: {new} new, {old} old of 30 in {:?}; \
         temporary files left by kills between write and rename: {mid_write}",
        started.elapsed()
    );
    assert_eq!(new + old, 30);
}

/// Nothing but whole files: the `--config` file, the logs, the database,
/// and at most temporary files of killed saves (hidden, named for their
/// process; removed by a later start once they are 10 s old), which are
/// removed here and counted.
fn assert_no_partial_files(dir: &Path) -> usize {
    let mut temps = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".configs.json.") && name.ends_with(".tmp") {
            std::fs::remove_file(entry.path()).unwrap();
            temps += 1;
            continue;
        }
        let known = name == "configs.json"
            || name.starts_with("server-")
            || name.starts_with("users.sqlite");
        assert!(known, "unexpected file {name}");
    }
    temps
}
