//! The login flow beside what it cannot avoid.
//!
//! - `login/…`: on the memory stores, beside verification alone: what the
//!   login layer (routing, user lookup, policies, the single-use record)
//!   adds to a verification; what its operating pieces add (an event
//!   subscriber and a Prometheus recorder, issue 22).
//! - `throttled/…`: a throttled attempt (the whole JSON login route
//!   answering `429`).
//! - `login_sql/{sqlite,postgres}/…`: a repeat login (an existing user) on
//!   an `SqlStore`, beside the one database round trip it needs: the indexed
//!   read of the user through sqlx, on a pool of its own to the same database
//!   (sqlx's defaults, without a test query before each checkout).
//!   SQLite is a file in a temporary directory; PostgreSQL is started for the
//!   bench (`initdb` and `pg_ctl` as in the tests, see tests/support/pg.rs)
//!   and skipped when it is not installed.
//!
//! Run: `cargo bench --bench login` (short: `-- --warm-up-time 1 --measurement-time 3`);
//! `cargo bench --bench login -- interleaved` prints the SQL figures from
//! rounds that alternate the read and the login (`BENCH_SECONDS` per
//! backend, default 10), with the paired median of login / read.
//! Setup (registry, users, tokens) happens outside the timed loops.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Authenticator, JwtConfig, MemoryStore, Registry, SqlStore, Verification};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

#[path = "../tests/support/pg.rs"]
mod pg;

const SECRET: &str = "benchmark-secret-0123456789abcdef-0123456789";
const ISSUER: &str = "https://idp.example.com";

fn config(name: &str, issuer: &str, single_use: bool) -> JwtConfig {
    let config = json!({
        "name": name, "token_name": "token", "issuer": issuer, "audience": "bi-server",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 86400, "single_use": single_use,
        "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        "initial_roles": ["Viewer"]
    });
    JwtConfig::from_json_str(&config.to_string()).unwrap()
}

fn token(issuer: &str, jti: Option<u64>) -> String {
    let now = jwt_sso::UnixTime::now().as_secs();
    let mut claims: Value = json!({
        "iss": issuer, "aud": "bi-server", "sub": "4711", "loginname": "jdoe",
        "name": "Jane Doe", "email": "jane.doe@example.com",
        "groups": ["Sales", "Analysts", "EMEA"], "iat": now, "exp": now + 3600
    });
    if let Some(jti) = jti {
        claims["jti"] = json!(format!("jti-{jti}"));
    }
    SigningKey::from_secret(SECRET.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Two configurations, so that every token is routed by `iss`.
    let registry = Arc::new(
        Registry::from_configs([
            config("ERP", ISSUER, false),
            config("Once", "https://once.example.com", true),
            config("CRM", "https://crm.example.com", false),
        ])
        .unwrap(),
    );
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let repeat = token(ISSUER, None);
    runtime
        .block_on(auth.login(&repeat, Verification::default()))
        .unwrap(); // the user exists

    let mut group = c.benchmark_group("login");
    let verifier = registry.verifier("ERP").unwrap();
    group.bench_function("verify_alone", |b| {
        b.iter(|| black_box(verifier.verify_cached(black_box(&repeat)).unwrap()))
    });
    group.bench_function("registry_verify_async_routed", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(registry.verify(black_box(&repeat), Verification::default()))
                    .unwrap(),
            )
        })
    });
    group.bench_function("login_repeat", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(auth.login(black_box(&repeat), Verification::default()))
                    .unwrap(),
            )
        })
    });
    // The same login with a subscriber (drained as a host's task would) and
    // the Prometheus exporter's recorder: the event built and handed over,
    // the counter and the histogram recorded.
    let observed = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let mut sink = observed.subscribe(1024);
    runtime
        .block_on(observed.login(&repeat, Verification::default()))
        .unwrap();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            5.0, 10.0,
        ])
        .unwrap()
        .build_recorder();
    group.bench_function("login_repeat_with_sink", |b| {
        b.iter(|| {
            let login = runtime
                .block_on(observed.login(black_box(&repeat), Verification::default()))
                .unwrap();
            while sink.try_recv().is_some() {}
            black_box(login)
        })
    });
    metrics::with_local_recorder(&recorder, || {
        group.bench_function("login_repeat_with_recorder", |b| {
            b.iter(|| {
                black_box(
                    runtime
                        .block_on(auth.login(black_box(&repeat), Verification::default()))
                        .unwrap(),
                )
            })
        });
    });
    metrics::with_local_recorder(&recorder, || {
        runtime
            .block_on(observed.login(&repeat, Verification::default()))
            .unwrap();
        while sink.try_recv().is_some() {}
        group.bench_function("login_repeat_with_sink_and_recorder", |b| {
            b.iter(|| {
                let login = runtime
                    .block_on(observed.login(black_box(&repeat), Verification::default()))
                    .unwrap();
                while sink.try_recv().is_some() {}
                black_box(login)
            })
        });
    });
    assert_eq!(observed.events_dropped(), 0);
    assert!(
        recorder.handle().render().contains("jwt_sso_logins_total"),
        "the recorder saw the logins"
    );
    // A fresh single-use token per iteration (signed beforehand in batches):
    // verify + replay record + find.
    // No cap: a long run records hundreds of thousands of `jti`s.
    let once = Authenticator::new(Arc::clone(&registry), MemoryStore::new())
        .with_replay_store(MemoryStore::new().with_jti_capacity(usize::MAX));
    // The user is created by Once's first login (an ERP-created one would be
    // another configuration's user: user_conflict).
    runtime
        .block_on(once.login(
            &token("https://once.example.com", Some(u64::MAX)),
            Verification::default(),
        ))
        .unwrap();
    let next = AtomicU64::new(0);
    group.bench_function("login_single_use", |b| {
        b.iter_batched(
            || {
                token(
                    "https://once.example.com",
                    Some(next.fetch_add(1, Ordering::Relaxed)),
                )
            },
            |t| {
                black_box(
                    runtime
                        .block_on(once.login(&t, Verification::default()))
                        .unwrap(),
                )
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();

    // A throttled attempt: the JSON login route answering 429 (the
    // throttle's check, one event and the metrics included).
    let mut group = c.benchmark_group("throttled");
    let client: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    let sessions = Arc::new(jwt_sso::Sessions::new(MemoryStore::new(), registry.clock()));
    let routes = jwt_sso::axum::LoginRoutes::new(
        Authenticator::new(Arc::clone(&registry), MemoryStore::new()),
        sessions,
        jwt_sso::axum::LoginOptions::default(),
    );
    let router = routes.router::<()>();
    let peer = std::net::SocketAddr::new(client, 40_000);
    let login_request = |token: &str| {
        let body = json!({"loginMode": 67108864, "password": token}).to_string();
        let mut request = axum::http::Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        request
    };
    use tower::ServiceExt as _;
    // 20 refused logins from the client (the default limit).
    for _ in 0..20 {
        let status = runtime
            .block_on(router.clone().oneshot(login_request("not.a.token")))
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    let body = json!({"loginMode": 67108864, "password": repeat}).to_string();
    let request = || {
        let mut request = axum::http::Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        request
    };
    let status = runtime
        .block_on(router.clone().oneshot(request()))
        .unwrap()
        .status();
    assert_eq!(status, 429);
    group.bench_function("login_route_429", |b| {
        b.iter_batched(
            request,
            |r| black_box(runtime.block_on(router.clone().oneshot(r)).unwrap()),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// The read a repeat login needs: the user by its indexed ID, each column
/// decoded into an owned value, as the store does.
const FIND_USER: &str = "SELECT user_id, user_type, roles, name, email, created_by_config \
     FROM jwt_sso_users WHERE user_id = $1";

/// One database with a user logged in before: the login flow on an
/// `SqlStore`, and a plain sqlx pool to the same database.
struct SqlCase {
    backend: &'static str,
    auth: Authenticator<SqlStore>,
    pool: Pool,
    token: String,
    /// Kept until the end: the database's directory or server.
    _place: Place,
}

/// A plain sqlx pool: sqlx's defaults, without a test query before each checkout.
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

enum Place {
    Dir(std::path::PathBuf),
    /// Held for its drop, which stops the server and removes its files.
    #[allow(dead_code)]
    Server(pg::PgServer),
}

impl Drop for SqlCase {
    fn drop(&mut self) {
        if let Place::Dir(dir) = &self._place {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::from_configs([
            config("ERP", ISSUER, false),
            config("CRM", "https://crm.example.com", false),
        ])
        .unwrap(),
    )
}

fn sql_cases(runtime: &Runtime) -> Vec<SqlCase> {
    let mut cases = Vec::new();
    let dir = std::env::temp_dir().join(format!("jwt-sso-login-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.db");
    cases.push(runtime.block_on(async {
        let store = SqlStore::open(&format!("sqlite:{}", file.display()))
            .await
            .unwrap();
        let connect = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(10)
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .unwrap();
        sql_case("sqlite", store, Pool::Sqlite(pool), Place::Dir(dir)).await
    }));
    if let Some(server) = pg::PgServer::launch() {
        cases.push(runtime.block_on(async {
            let url = server.url();
            let store = SqlStore::open(&url).await.unwrap();
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(10)
                .test_before_acquire(false)
                .connect(&url)
                .await
                .unwrap();
            sql_case(
                "postgres",
                store,
                Pool::Postgres(pool),
                Place::Server(server),
            )
            .await
        }));
    }
    cases
}

/// Logs the user in once (the user is created), then checks both operations.
async fn sql_case(backend: &'static str, store: SqlStore, pool: Pool, place: Place) -> SqlCase {
    let auth = Authenticator::new(registry(), store);
    let token = token(ISSUER, None);
    assert!(
        auth.login(&token, Verification::default())
            .await
            .unwrap()
            .first_login
    );
    let case = SqlCase {
        backend,
        auth,
        pool,
        token,
        _place: place,
    };
    assert_eq!(case.read().await, "jdoe");
    let login = case.login().await;
    assert!(!login.first_login);
    assert_eq!(login.user.user_id, "jdoe");
    case
}

impl SqlCase {
    /// The bare round trip: the user's row, read and decoded.
    async fn read(&self) -> String {
        use sqlx::Row;
        let columns: [Option<String>; 6] = match &self.pool {
            Pool::Sqlite(pool) => {
                let row = sqlx::query(FIND_USER).bind("jdoe").fetch_one(pool).await;
                let row = row.unwrap();
                std::array::from_fn(|i| row.try_get(i).unwrap())
            }
            Pool::Postgres(pool) => {
                let row = sqlx::query(FIND_USER).bind("jdoe").fetch_one(pool).await;
                let row = row.unwrap();
                std::array::from_fn(|i| row.try_get(i).unwrap())
            }
        };
        let [user_id, ..] = black_box(columns);
        user_id.unwrap()
    }

    async fn login(&self) -> jwt_sso::Login {
        self.auth
            .login(black_box(&self.token), Verification::default())
            .await
            .unwrap()
    }
}

fn sql_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sql(c: &mut Criterion) {
    let runtime = sql_runtime();
    for case in sql_cases(&runtime) {
        let mut group = c.benchmark_group(format!("login_sql/{}", case.backend));
        group.bench_function("read", |b| b.iter(|| runtime.block_on(case.read())));
        group.bench_function("login_repeat", |b| {
            b.iter(|| black_box(runtime.block_on(case.login())))
        });
        group.finish();
    }
}

criterion_group!(benches, bench, sql);

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Rounds of 100 reads and 100 repeat logins, in alternating order.
fn interleaved() {
    const OPS: usize = 100;
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let runtime = sql_runtime();
    println!(
        "| µs per operation (median of rounds) | read | login_repeat | login / read (paired median) |"
    );
    println!("|---|---:|---:|---:|");
    for case in sql_cases(&runtime) {
        let (mut reads, mut logins) = (Vec::new(), Vec::new());
        let started = Instant::now();
        let mut round = 0;
        while started.elapsed().as_secs_f64() < seconds || round < 10 {
            for which in [round % 2, (round + 1) % 2] {
                let t = Instant::now();
                runtime.block_on(async {
                    for _ in 0..OPS {
                        if which == 0 {
                            black_box(case.read().await);
                        } else {
                            black_box(case.login().await);
                        }
                    }
                });
                let micros = t.elapsed().as_secs_f64() * 1e6 / OPS as f64;
                if which == 0 { &mut reads } else { &mut logins }.push(micros);
            }
            round += 1;
        }
        let mut ratios: Vec<f64> = logins.iter().zip(&reads).map(|(l, r)| l / r).collect();
        println!(
            "| {} ({round} rounds) | {:.1} | {:.1} | {:.2} |",
            case.backend,
            median(&mut reads),
            median(&mut logins),
            median(&mut ratios)
        );
    }
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "interleaved") {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
