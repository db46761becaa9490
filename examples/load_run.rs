//! `load_run`: drives one or more `login_server` processes over loopback HTTP
//! and reports logins per second and latency percentiles (a measurement, not
//! a test: nothing is asserted about time).
//!
//! ```text
//! cargo build --release --all-features --example login_server --example load_run
//! target/release/examples/load_run --server target/release/examples/login_server \
//!     --db postgres://jwtsso@127.0.0.1:5432/postgres --instances 3 --clients 32 --logins 5000
//! target/release/examples/load_run --server … --db /tmp/users.sqlite --scenario memory
//! ```
//!
//! It writes its own configuration file (one HS256 configuration whose
//! secret it knows), starts `--instances` servers on `--db` (the first seeds
//! the database, the others start after it), mints every token before the
//! clock starts, and spreads `--clients` concurrent keep-alive clients over
//! the instances round-robin.
//!
//! Scenarios:
//! - `logins` (default): `--logins` first logins (each a new user), then
//!   `--logins` repeat logins of those users; each phase reports logins/s,
//!   p50 and p99.
//! - `memory`: `--logins` (e.g. 50 000) logins across `--users` (e.g. 1 000)
//!   users, reporting the throughput of the first and the last tenth (5 000)
//!   and every server's `VmRSS` before and after.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jwt_sso::Algorithm;
use jwt_sso::mint::SigningKey;
use serde_json::json;

const SECRET: &str = "load-run-secret-0123456789abcdef0123";
const ISSUER: &str = "https://load.example.com";
const USAGE: &str = "usage: load_run --server PATH --db (FILE|postgres://…) [--instances 1] \
    [--clients 32] [--logins 5000] [--users 1000] [--scenario logins|memory]";

struct Args {
    server: PathBuf,
    db: String,
    instances: usize,
    clients: usize,
    logins: usize,
    users: usize,
    scenario: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        server: PathBuf::new(),
        db: String::new(),
        instances: 1,
        clients: 32,
        logins: 5000,
        users: 1000,
        scenario: "logins".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let value = it.next().ok_or(format!("{arg} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{arg}: not a number"))
        };
        match arg.as_str() {
            "--server" => args.server = PathBuf::from(&value),
            "--db" => args.db = value,
            "--instances" => args.instances = number()?.max(1),
            "--clients" => args.clients = number()?.max(1),
            "--logins" => args.logins = number()?.max(1),
            "--users" => args.users = number()?.max(1),
            "--scenario" => args.scenario = value,
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    if args.server.as_os_str().is_empty() || args.db.is_empty() {
        return Err("--server and --db are required".into());
    }
    Ok(args)
}

/// One `login_server` process; killed on drop.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn start(server: &Path, config: &Path, db: &str, log: &Path) -> Result<Instance, String> {
        let mut child = Command::new(server)
            .arg("--config")
            .arg(config)
            .args(["--db", db, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", server.display()))?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.split("listening on ").nth(1) {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "login_server did not start; its log:\n{}",
                        std::fs::read_to_string(log).unwrap_or_default()
                    ));
                }
            }
        };
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Ok(Instance { child, base })
    }

    /// The process's resident memory (`VmRSS` in /proc), in KiB.
    fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The JSON login bodies for `users`, each token distinct.
fn bodies(prefix: &str, users: impl Iterator<Item = usize>) -> Vec<String> {
    let key = SigningKey::from_secret(SECRET.as_bytes());
    users
        .enumerate()
        .map(|(n, user)| {
            let claims = json!({"iss": ISSUER, "sub": format!("{prefix}-{user}"), "n": n,
                                "iat": now(), "exp": now() + 3600});
            let token = key.sign(Algorithm::HS256, &claims).unwrap_or_default();
            json!({"loginMode": 67108864, "password": token}).to_string()
        })
        .collect()
}

/// What one phase measured.
struct Phase {
    logins: usize,
    elapsed: Duration,
    /// Per login, in order of sending: latency; `None` for a refusal.
    latencies: Vec<Option<Duration>>,
    /// When each answer arrived (since the start), sorted.
    done: Vec<Duration>,
}

impl Phase {
    fn ok(&self) -> usize {
        self.latencies.iter().flatten().count()
    }

    fn report(&self, name: &str) {
        let mut sorted: Vec<Duration> = self.latencies.iter().flatten().copied().collect();
        sorted.sort();
        let pct = |p: f64| {
            sorted
                .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "{name:<28} {:>6} logins ({} refused) in {:>6.2} s: {:>7.0} logins/s, p50 {:>6.2} ms, p99 {:>6.2} ms",
            self.logins,
            self.logins - self.ok(),
            self.elapsed.as_secs_f64(),
            self.logins as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99)
        );
    }
}

/// Sends every body once, `clients` at a time, client `i` on instance
/// `i % instances`; returns when all are answered.
async fn drive(
    http: &reqwest::Client,
    urls: &[String],
    clients: usize,
    bodies: Vec<String>,
) -> Phase {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (http, bodies, next) = (http.clone(), bodies.clone(), next.clone());
            let url = urls[i % urls.len()].clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(n) else { break };
                    let sent = Instant::now();
                    let reply = http
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    let ok = match reply {
                        Ok(r) => {
                            let status = r.status();
                            let _ = r.bytes().await;
                            status.as_u16() == 200
                        }
                        Err(_) => false,
                    };
                    out.push((n, ok.then(|| sent.elapsed()), started.elapsed()));
                }
                out
            })
        })
        .collect();
    let mut latencies = vec![None; bodies.len()];
    let mut done = Vec::with_capacity(bodies.len());
    for task in tasks {
        for (n, latency, at) in task.await.unwrap_or_default() {
            latencies[n] = latency;
            done.push(at);
        }
    }
    done.sort();
    Phase {
        logins: bodies.len(),
        elapsed: started.elapsed(),
        latencies,
        done,
    }
}

impl Phase {
    /// Logins per second over the first and over the last `count` answers.
    fn head_and_tail(&self, count: usize) -> (f64, f64) {
        let count = count.clamp(1, self.done.len().max(1));
        let Some(last) = self.done.last() else {
            return (0.0, 0.0);
        };
        let head = self.done[count - 1].as_secs_f64();
        let tail_start = if count < self.done.len() {
            self.done[self.done.len() - count - 1]
        } else {
            Duration::ZERO
        };
        let tail = (*last - tail_start).as_secs_f64();
        (count as f64 / head, count as f64 / tail)
    }
}

async fn run(args: Args) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("jwt-sso-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = dir.join("configs.json");
    let configs = json!([{
        "name": "Load", "token_name": "token", "issuer": ISSUER,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }]);
    std::fs::write(&config, configs.to_string()).map_err(|e| e.to_string())?;
    let mut instances = Vec::new();
    for n in 0..args.instances {
        let log = dir.join(format!("server-{n}.log"));
        instances.push(Instance::start(&args.server, &config, &args.db, &log)?);
    }
    let urls: Vec<String> = instances
        .iter()
        .map(|i| format!("{}/api/auth/login", i.base))
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    // Users unique to this run, so first logins are first on a reused database.
    let prefix = format!("u{}-{}", std::process::id(), now());
    println!(
        "{} instance(s) on {}, {} clients, backend of the first: {}",
        args.instances,
        if args.db.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        args.clients,
        instances[0].base
    );
    // Warm the connections and the servers (not measured).
    let warm = bodies(&format!("{prefix}-warm"), 0..args.clients * 4);
    drive(&http, &urls, args.clients, warm).await;

    match args.scenario.as_str() {
        "logins" => {
            let first = drive(&http, &urls, args.clients, bodies(&prefix, 0..args.logins)).await;
            first.report("first logins");
            let repeat = drive(&http, &urls, args.clients, bodies(&prefix, 0..args.logins)).await;
            repeat.report("repeat logins");
        }
        "memory" => {
            let before: Vec<Option<u64>> = instances.iter().map(Instance::rss_kib).collect();
            let all = bodies(&prefix, (0..args.logins).map(|n| n % args.users));
            let phase = drive(&http, &urls, args.clients, all).await;
            let after: Vec<Option<u64>> = instances.iter().map(Instance::rss_kib).collect();
            phase.report(&format!("{} logins, {} users", args.logins, args.users));
            let tenth = (args.logins / 10).max(1);
            let (head, tail) = phase.head_and_tail(tenth);
            println!("first {tenth}: {head:.0} logins/s; last {tenth}: {tail:.0} logins/s");
            for (n, (b, a)) in before.iter().zip(&after).enumerate() {
                println!(
                    "instance {n} VmRSS: before {} KiB, after {} KiB",
                    b.map_or("?".into(), |v| v.to_string()),
                    a.map_or("?".into(), |v| v.to_string())
                );
            }
        }
        other => return Err(format!("unknown scenario `{other}`")),
    }
    drop(instances);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("load_run: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("load_run: {message}");
            ExitCode::FAILURE
        }
    }
}
