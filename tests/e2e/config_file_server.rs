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

use crate::support::fixtures::TempDir;
use crate::support::server::{
    ERP, SECRET_ERP, SECRET_HAND, Server, hs256_config as config, hs256_token as token, names,
};

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

/// A temporary directory holding the `--config` file `configs`.
fn config_dir(name: &str, configs: &Value) -> TempDir {
    let dir = TempDir::new(&format!("file-server-{name}"));
    write(&dir, configs);
    dir
}

/// The `--config` file, which must always be one JSON array.
fn read(dir: &TempDir) -> Value {
    let text = std::fs::read_to_string(dir.join("configs.json")).unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the file is not valid JSON ({e}): {text:?}"))
}

/// Writes the `--config` file anew, as an editor would.
fn write(dir: &TempDir, configs: &Value) {
    let text = serde_json::to_string_pretty(configs).unwrap();
    std::fs::write(dir.join("configs.json"), text).unwrap();
}

/// The configuration `name` in the `--config` file's array `file`.
fn entry<'a>(file: &'a Value, name: &str) -> &'a Value {
    let all = file.as_array().expect("an array of configurations");
    let found = all.iter().find(|c| c["name"] == name);
    found.unwrap_or_else(|| panic!("no {name} in {file}"))
}

/// `login_server --config DIR/configs.json --db DIR/users.sqlite`, its log
/// `DIR/server-N.log`; killed on drop.
fn start(dir: &TempDir, n: usize) -> Server {
    let log = dir.join(format!("server-{n}.log"));
    let db = dir.join("users.sqlite");
    Server::start(&dir.join("configs.json"), db.to_str().unwrap(), log, &[])
}

/// The server's log, without the formatter's colours.
fn plain_log(server: &Server) -> String {
    let raw = server.process.log();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_added_by_hand_logs_in_within_5s_and_a_later_create_keeps_it() {
    let dir = config_dir("hand", &json!([config("ERP", ERP, SECRET_ERP)]));
    let server = start(&dir, 0);
    let hand = "https://hand.example.com";
    let hand_token = token(hand, SECRET_HAND, "hand-user");
    // Not there yet: the only configuration (ERP) refuses its signature.
    let reply = server.login(&hand_token).await;
    assert_eq!((reply.status, reply.kind()), (401, "invalid_signature"));

    // Added by hand (an editor writes the file anew).
    let mut file = read(&dir);
    file.as_array_mut()
        .unwrap()
        .push(config("Hand", hand, SECRET_HAND));
    write(&dir, &file);
    let written = Instant::now();
    loop {
        let reply = server.login(&hand_token).await;
        if reply.status == 200 {
            assert_eq!(reply.body["user"]["user_id"], "hand-user");
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(5),
            "the hand-added configuration does not log in within 5 s: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A later create through the admin API keeps it in the file.
    server
        .create(&config("Portal", "https://portal.example.com", SECRET_ERP))
        .await;
    assert_eq!(names(&read(&dir)), ["ERP", "Hand", "Portal"]);
    // And it survives a restart, still logging in.
    server.kill();
    let again = start(&dir, 1);
    let reply = again.login(&hand_token).await;
    assert_eq!(reply.status, 200, "after a restart: {reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_hand_edit_is_a_logged_config_error_and_the_last_good_set_serves() {
    let dir = config_dir("invalid", &json!([config("ERP", ERP, SECRET_ERP)]));
    let server = start(&dir, 0);
    let erp_token = token(ERP, SECRET_ERP, "jdoe");
    let serves = async || server.login(&erp_token).await.status;
    assert_eq!(serves().await, 200, "ERP before the edit");

    // Valid JSON, but a secret too short for HS256 (never shown).
    let mut file = read(&dir);
    file[0]["key_source"]["secret"] = json!("too-short-hand-secret");
    write(&dir, &file);
    let written = Instant::now();
    let line = loop {
        let log = plain_log(&server);
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
    assert!(!plain_log(&server).contains("too-short-hand-secret"));
    // The last good set keeps serving.
    assert_eq!(serves().await, 200, "the last good set after a bad edit");
    // The same refusal is logged once, not every second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refusals = plain_log(&server)
        .lines()
        .filter(|l| l.contains("the stored configurations were refused"))
        .count();
    assert_eq!(refusals, 1);

    // Broken JSON is refused the same way; fixed, it is in force again.
    std::fs::write(dir.join("configs.json"), "[{\"name\": ").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(serves().await, 200, "the last good set after broken JSON");
    let mut fixed = json!([config("ERP", ERP, SECRET_ERP)]);
    fixed[0]["user_type"] = json!("analyst");
    write(&dir, &fixed);
    let written = Instant::now();
    for attempt in 0.. {
        // A new user each time: a user keeps the type it was created with.
        let user = format!("new-user-{attempt}");
        let reply = server.login(&token(ERP, SECRET_ERP, &user)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        if reply.body["user"]["user_type"] == "analyst" {
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
    let dir = config_dir(
        "race",
        &json!([
            config("ERP", ERP, SECRET_ERP),
            config("CRM", "https://crm.example.com", SECRET_ERP)
        ]),
    );
    let server = start(&dir, 0);
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
        let (erp, configs) = ("/api/admin/configs/erp", "/api/admin/configs");
        let (ra, rb, ca, cb) = tokio::join!(
            server.admin(Method::PUT, erp, Some(&etag), Some(&a)),
            server.admin(Method::PUT, erp, Some(&etag), Some(&b)),
            server.admin(Method::POST, configs, None, Some(&new_a)),
            server.admin(Method::POST, configs, None, Some(&new_b)),
        );
        let mut statuses = [ra.status, rb.status];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "{ra:?} {rb:?}");
        let loser = if ra.status == 412 { &ra } else { &rb };
        assert_eq!(loser.kind(), "version_conflict", "{loser:?}");
        assert_eq!((ca.status, cb.status), (201, 201), "{ca:?} {cb:?}");

        // The file is one valid JSON array holding the winner's edit and both
        // creates, and everything that was there before.
        let file = read(&dir);
        let winner = if ra.status == 200 { &a } else { &b };
        assert_eq!(entry(&file, "ERP")["leeway"], winner["leeway"]);
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
    let dir = config_dir("kill", &Value::Array(configs));
    let (mut old, mut new, mut mid_write) = (0, 0, 0);
    let mut before = read(&dir);
    let started = Instant::now();
    for round in 0..30u64 {
        let server = start(&dir, round as usize);
        // Whatever the last kill left is what this start serves.
        let (etag, view) = server.view("c150").await;
        let on_disk = entry(&before, "C150");
        let leeway_on_disk = on_disk["leeway"].as_u64().unwrap_or(60); // the default
        assert_eq!(view["leeway"], json!(leeway_on_disk));

        let leeway = 1000 + round;
        let mut body = view.clone();
        body["leeway"] = json!(leeway);
        let save = server
            .admin_request(
                Method::PUT,
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

        let file = read(&dir);
        if old_or_new(&before, &file, "C150", leeway) {
            new += 1;
        } else {
            old += 1;
        }
        before = file;
        mid_write += assert_no_partial_files(dir.path());
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
