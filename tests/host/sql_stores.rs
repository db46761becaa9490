//! One store-level suite, run against SQLite (a real file in a temporary
//! directory) and PostgreSQL (a real server started by tests/support/pg.rs):
//! every scenario is one async fn, run on each by `both!` as a `sqlite_…`
//! and a `postgres_…` test; what differs between the databases (how to
//! lock a table, how to take the database away) is a method of `Db`. Timings are printed (`--nocapture`), never asserted
//! tightly; "within 5 s" is asserted as `< 5 s`.

#![cfg(any(feature = "sqlite", feature = "postgres"))]
// With one backend built, `Target` has one variant.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(irrefutable_let_patterns)
)]
// Without SQLite, some helpers serve no test.
#![cfg_attr(not(feature = "sqlite"), allow(dead_code, unused_imports))]

use crate::support::fixtures::TempDir;
#[cfg(feature = "postgres")]
use crate::support::pg;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jwt_sso::events::{EventQuery, LoginEvent};
use jwt_sso::{
    ConfigChange, ConfigStore, JwtConfig, ReplayStore, Session, SessionStore, SqlOptions, SqlStore,
    StoreError, UnixTime, UsedJti, User, UserStore,
};
use tokio::task::JoinSet;

const NOW: i64 = 1_767_225_600;

// ---------------------------------------------------------------- backends

/// The two databases every scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database, opened as a store: a SQLite file in a temporary
/// directory, or a PostgreSQL server of the test's own. A scenario is one
/// `async fn(&Db)` (or `&SqlStore`, through `Deref`) run on both by
/// [`both!`]; everything that differs between the two lives here.
struct Db {
    store: SqlStore,
    target: Target,
}

enum Target {
    #[cfg(feature = "sqlite")]
    Sqlite { file: PathBuf, _dir: TempDir },
    #[cfg(feature = "postgres")]
    Postgres(pg::PgServer),
}

/// A connection of another client (another instance, an operator's shell).
enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
}

impl Conn {
    async fn execute(&mut self, sql: &str) {
        let done = match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(conn) => sqlx::query(sql).execute(conn).await.map(drop),
            #[cfg(feature = "postgres")]
            Conn::Postgres(conn) => sqlx::query(sql).execute(conn).await.map(drop),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// What [`Db::go_down`] did, undone by [`Db::come_back`]: a connection
/// holding a lock (SQLite), or nothing to hold (PostgreSQL stopped).
struct Outage(Option<Conn>);

impl std::ops::Deref for Db {
    type Target = SqlStore;
    fn deref(&self) -> &SqlStore {
        &self.store
    }
}

impl Db {
    /// `None` when PostgreSQL is not installed (and `CI` is not `true`:
    /// then the harness fails the test instead).
    async fn new(backend: Backend) -> Option<Db> {
        let target = match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let dir = TempDir::new("sqlite");
                Target::Sqlite {
                    file: dir.join("jwt-sso.sqlite"),
                    _dir: dir,
                }
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => Target::Postgres(
                tokio::task::spawn_blocking(pg::PgServer::launch)
                    .await
                    .unwrap()?,
            ),
            #[allow(unreachable_patterns)]
            other => unreachable!("{other:?} is not built"),
        };
        let db = Db {
            store: SqlStore::open(&target.url()).await.unwrap(),
            target,
        };
        assert_eq!(db.store.backend_name(), db.name());
        Some(db)
    }

    fn backend(&self) -> Backend {
        match self.target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite { .. } => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Target::Postgres(_) => Backend::Postgres,
        }
    }

    /// The backend's name as the store gives it.
    fn name(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    fn url(&self) -> String {
        self.target.url()
    }

    /// Another store on the same database.
    async fn open_with(&self, options: &SqlOptions) -> SqlStore {
        SqlStore::open_with(&self.url(), options).await.unwrap()
    }

    /// A connection of another client.
    async fn connect(&self) -> Conn {
        #[cfg(feature = "postgres")]
        use sqlx::Connection as _;
        match &self.target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite { file, .. } => Conn::Sqlite(sqlx_sqlite_conn(file).await),
            #[cfg(feature = "postgres")]
            Target::Postgres(server) => {
                Conn::Postgres(sqlx::PgConnection::connect(&server.url()).await.unwrap())
            }
        }
    }

    /// Runs `sql` on a connection of its own.
    async fn execute(&self, sql: &str) {
        self.connect().await.execute(sql).await;
    }

    /// Takes a lock on `jwt_sso_used_jti` that makes its writers wait while
    /// plain reads pass (SQLite: an exclusive transaction that wrote;
    /// PostgreSQL: `LOCK TABLE … IN EXCLUSIVE MODE`). `ROLLBACK` on the
    /// returned connection releases it.
    async fn lock_writers(&self) -> Conn {
        let mut conn = self.connect().await;
        match self.backend() {
            Backend::Sqlite => {
                conn.execute("BEGIN EXCLUSIVE").await;
                conn.execute("DELETE FROM jwt_sso_used_jti").await;
            }
            Backend::Postgres => {
                conn.execute("BEGIN").await;
                conn.execute("LOCK TABLE jwt_sso_used_jti IN EXCLUSIVE MODE")
                    .await;
            }
        }
        conn
    }

    /// Makes the database unavailable the way each fails in production.
    /// SQLite: another connection holds an exclusive transaction with a
    /// pending write, so writes wait out the timeout while reads are
    /// served. PostgreSQL: the server stops, so everything fails.
    async fn go_down(&self) -> Outage {
        match &self.target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite { .. } => {
                let mut conn = self.connect().await;
                conn.execute("BEGIN EXCLUSIVE").await;
                conn.execute(
                    "INSERT INTO jwt_sso_users (user_id, user_type, roles) \
                     VALUES ('locker', 'r', '[]')",
                )
                .await;
                Outage(Some(conn))
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(server) => {
                tokio::task::block_in_place(|| server.stop());
                Outage(None)
            }
        }
    }

    /// Ends what [`Db::go_down`] began: the lock rolled back, or the server
    /// started again on the same port.
    async fn come_back(&self, outage: Outage) {
        match (&self.target, outage.0) {
            (_, Some(mut lock)) => lock.execute("ROLLBACK").await,
            #[cfg(feature = "postgres")]
            (Target::Postgres(server), None) => tokio::task::block_in_place(|| server.start()),
            #[allow(unreachable_patterns)]
            (_, None) => unreachable!("an outage without a lock is a stopped server"),
        }
    }
}

impl Target {
    fn url(&self) -> String {
        match self {
            #[cfg(feature = "sqlite")]
            Target::Sqlite { file, .. } => sqlite_url(file),
            #[cfg(feature = "postgres")]
            Target::Postgres(server) => server.url(),
        }
    }
}

/// One scenario on both databases: `both!(scenario: sqlite_test, postgres_test);`.
macro_rules! both {
    ($scenario:ident: $sqlite:ident, $postgres:ident) => {
        both!(@on "sqlite", Sqlite, $sqlite, $scenario);
        both!(@on "postgres", Postgres, $postgres, $scenario);
    };
    (@on $feature:literal, $backend:ident, $test:ident, $scenario:ident) => {
        #[cfg(feature = $feature)]
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $test() {
            run(Backend::$backend, stringify!($scenario), async |db| {
                $scenario(db).await
            })
            .await;
        }
    };
}

/// Runs `scenario` on a new database of `backend` and prints its time.
async fn run(backend: Backend, name: &str, scenario: impl AsyncFnOnce(&Db)) {
    let Some(db) = Db::new(backend).await else {
        return;
    };
    let started = Instant::now();
    scenario(&db).await;
    eprintln!(
        "timing: {} {name}: {} ms",
        db.name(),
        started.elapsed().as_millis()
    );
}

// ---------------------------------------------------------------- helpers

fn user(id: &str, name: &str) -> User {
    User {
        user_id: id.to_owned(),
        user_type: "reader".to_owned(),
        roles: vec!["Viewer".to_owned(), format!("role of {name}")],
        name: Some(name.to_owned()),
        email: Some(format!("{name}@example.com")),
        created_by_config: Some("ERP".to_owned()),
    }
}

async fn create(store: &SqlStore, user: &User) -> Result<User, StoreError> {
    UserStore::create(store, user).await
}

async fn update(store: &SqlStore, user: &User) -> Result<(), StoreError> {
    UserStore::update(store, user).await
}

fn config(name: &str, issuer: &str) -> JwtConfig {
    JwtConfig::from_json_str(
        &serde_json::json!({
            "name": name, "token_name": "token", "issuer": issuer,
            "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": "a-secret-of-at-least-32-bytes-long!!"},
            "expiration_time": 3600, "claims": {"user_id": "sub"},
        })
        .to_string(),
    )
    .unwrap()
}

fn session(user_id: &str, created_at: i64) -> Session {
    Session {
        user_id: user_id.to_owned(),
        config: "ERP".to_owned(),
        created_at: UnixTime::from_secs(created_at),
        expires_at: UnixTime::from_secs(created_at + 3600),
    }
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    result.as_ref().is_err_and(StoreError::is_conflict)
}

fn failed<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) -> StoreError {
    match result {
        Err(e) if !e.is_conflict() => e,
        other => panic!("{what}: expected a failed StoreError, got {other:?}"),
    }
}

// ---------------------------------------------------------------- users

async fn users(store: &SqlStore) {
    assert_eq!(UserStore::find(store, "jdoe").await.unwrap(), None);

    // 50 concurrent first logins of one user: exactly one creates it.
    let mut racers = JoinSet::new();
    for i in 0..50 {
        let store = store.clone();
        racers.spawn(async move { (i, create(&store, &user("jdoe", &format!("racer{i}"))).await) });
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    while let Some(joined) = racers.join_next().await {
        match joined.unwrap() {
            (i, Ok(created)) => {
                assert_eq!(created, user("jdoe", &format!("racer{i}")));
                winners.push(i);
            }
            (_, result) => {
                assert!(is_conflict(&result), "a losing create: {result:?}");
                conflicts += 1;
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create succeeds");
    assert_eq!(conflicts, 49);
    let winner = user("jdoe", &format!("racer{}", winners[0]));
    assert_eq!(
        UserStore::find(store, "jdoe").await.unwrap(),
        Some(winner.clone())
    );

    // A later create never overwrites.
    let again = create(store, &user("jdoe", "intruder")).await;
    assert!(is_conflict(&again), "{again:?}");
    assert_eq!(
        UserStore::find(store, "jdoe").await.unwrap(),
        Some(winner.clone())
    );

    // IDs are exact: no case folding, quotes and non-ASCII kept.
    assert_eq!(UserStore::find(store, "JDOE").await.unwrap(), None);
    let odd = User {
        name: None,
        email: None,
        roles: vec![],
        ..user("o'brien\"; DROP TABLE jwt_sso_users; --ü", "x")
    };
    create(store, &odd).await.unwrap();
    let hosts = User {
        created_by_config: None,
        ..user("made-by-host", "h")
    };
    create(store, &hosts).await.unwrap();
    assert_eq!(
        UserStore::find(store, "made-by-host").await.unwrap(),
        Some(hosts)
    );
    assert_eq!(
        UserStore::find(store, &odd.user_id).await.unwrap(),
        Some(odd)
    );

    // update replaces name, email, roles and user type (sync_on_login may
    // name `user_type`: the login flow passes the stored one otherwise); the
    // creator stays.
    let changed = User {
        name: Some("Jane Doe".into()),
        email: None,
        roles: vec!["Admin".into()],
        user_type: "analyst".into(),
        created_by_config: Some("ignored".into()),
        ..winner.clone()
    };
    update(store, &changed).await.unwrap();
    let found = UserStore::find(store, "jdoe").await.unwrap().unwrap();
    assert_eq!(found.name.as_deref(), Some("Jane Doe"));
    assert_eq!(found.email, None);
    assert_eq!(found.roles, ["Admin"]);
    assert_ne!(winner.user_type, "analyst");
    assert_eq!(found.user_type, "analyst");
    assert_eq!(found.created_by_config, winner.created_by_config);

    // Updating a user that does not exist is a failure, and creates nothing.
    failed(
        update(store, &user("ghost", "g")).await,
        "update of a missing user",
    );
    assert_eq!(UserStore::find(store, "ghost").await.unwrap(), None);
}
both!(users: sqlite_users, postgres_users);

// ---------------------------------------------------------------- used jti

/// `key`, used until `secs`.
fn until(key: UsedJti<'_>, secs: i64) -> UsedJti<'_> {
    UsedJti {
        until: at(secs),
        ..key
    }
}

/// Records `key` used until `until_secs`, at `now`: whether it was a first use.
async fn first_use(store: &SqlStore, key: UsedJti<'_>, until_secs: i64, now: i64) -> bool {
    store
        .record(until(key, until_secs), at(now))
        .await
        .unwrap_or_else(|e| panic!("recording {key:?} at {now}: {e}"))
}

const TOKEN_1: UsedJti<'static> = UsedJti {
    config: "ERP",
    issuer: "https://erp.example.com",
    jti: "token-1",
    until: UnixTime::MAX,
};

/// `racers` records of `key` at once, used until `until_secs`, at `now`:
/// how many were a first use.
async fn racing_first_uses(
    store: &SqlStore,
    racers: usize,
    key: UsedJti<'static>,
    until_secs: i64,
    now: i64,
) -> usize {
    let mut tasks = JoinSet::new();
    for _ in 0..racers {
        let store = store.clone();
        tasks.spawn(async move { first_use(&store, key, until_secs, now).await });
    }
    let mut firsts = 0;
    while let Some(joined) = tasks.join_next().await {
        firsts += usize::from(joined.unwrap());
    }
    firsts
}

async fn replay(store: &SqlStore) {
    let key = TOKEN_1;
    // 30 racing uses of one jti: exactly one is the first.
    assert_eq!(
        racing_first_uses(store, 30, key, NOW + 60, NOW).await,
        1,
        "exactly one of 30 racing records is the first use"
    );

    // A replay until the record expires; the key is the whole triple.
    assert!(
        !first_use(store, key, NOW + 60, NOW + 59).await,
        "a replay 1 s before the record expires"
    );
    for other in [
        UsedJti {
            config: "CRM",
            ..key
        },
        UsedJti {
            issuer: "https://other.example.com",
            ..key
        },
        UsedJti { issuer: "", ..key },
        UsedJti {
            jti: "token-2",
            ..key
        },
    ] {
        assert!(
            first_use(store, other, NOW + 60, NOW).await,
            "another key is a first use: {other:?}"
        );
    }

    // At expires_at the record counts as absent and is replaced atomically:
    // of racing records after expiry, again exactly one is first.
    assert_eq!(
        racing_first_uses(store, 10, key, NOW + 120, NOW + 60).await,
        1,
        "an expired record is replaced once"
    );
    assert!(
        !first_use(store, key, NOW + 120, NOW + 119).await,
        "the replacing record holds until it expires"
    );

    // purge_expired forgets exactly the records with expires_at <= now.
    // Now: token-1 until NOW+120; CRM, other issuer, empty issuer, token-2 until NOW+60.
    let purge = async |now| ReplayStore::purge_expired(store, now).await;
    let forgets = [(NOW + 59, 0), (NOW + 60, 4), (NOW + 60, 0)];
    assert_purges("ReplayStore", forgets, purge).await;
    assert!(
        !first_use(store, key, NOW + 120, NOW + 100).await,
        "token-1 kept"
    );
    let token_2 = UsedJti {
        jti: "token-2",
        ..key
    };
    assert!(
        first_use(store, token_2, NOW + 200, NOW + 100).await,
        "token-2 purged"
    );
    assert_eq!(
        ReplayStore::purge_expired(store, at(NOW + 1000))
            .await
            .unwrap(),
        2
    );
}
both!(replay: sqlite_replay, postgres_replay);

/// The periodic purge task deletes expired records by the system clock.
async fn purge_task(store: &SqlStore) {
    let now = UnixTime::now().as_secs();
    let old = UsedJti {
        config: "ERP",
        issuer: "i",
        jti: "old",
        until: UnixTime::MAX,
    };
    let new = UsedJti { jti: "new", ..old };
    assert!(
        first_use(store, old, now - 1, now - 100).await,
        "old: first"
    );
    assert!(first_use(store, new, now + 3600, now).await, "new: first");
    insert(store, "old-session", &session("u", now - 7200), 20).await;
    insert(store, "new-session", &session("u", now), 20).await;

    let task = store.spawn_purge(Duration::from_millis(100), jwt_sso::SystemClock);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // Recording "old" again succeeds only once the purge removed it... or
        // because it expired; so look at the rows through purge_expired at `now`:
        // 0 left to purge means the task did it.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let left_jti = ReplayStore::purge_expired(store, at(now)).await.unwrap();
        let left_sessions = SessionStore::purge_expired(store, at(now)).await.unwrap();
        if left_jti == 0 && left_sessions == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the purge task did not run");
    }
    drop(task);
    assert!(
        !first_use(store, new, now + 3600, now).await,
        "the unexpired jti is kept"
    );
    assert_eq!(
        session_owner(store, "new-session", now).await.as_deref(),
        Some("u"),
        "the live session is kept"
    );
    assert_eq!(
        session_owner(store, "old-session", now - 7100).await,
        None,
        "purged"
    );
}
both!(purge_task: sqlite_purge_task, postgres_purge_task);

/// Purges at each `(now, expected)` in order: each forgets `expected` records.
async fn assert_purges<const N: usize>(
    what: &str,
    steps: [(i64, u64); N],
    purge: impl AsyncFn(UnixTime) -> Result<u64, StoreError>,
) {
    for (now, expected) in steps {
        let purged = purge(at(now))
            .await
            .unwrap_or_else(|e| panic!("{what} at {now}: {e}"));
        assert_eq!(purged, expected, "{what} at {now}");
    }
}

/// Stores `config` as a new configuration: the set after the change.
async fn created(store: &SqlStore, config: &JwtConfig) -> jwt_sso::ConfigSet {
    store
        .apply(&ConfigChange::Create(config.clone()))
        .await
        .unwrap_or_else(|e| panic!("creating {}: {e}", config.name))
}

/// Inserts session `id` with a cap of `cap` sessions per user.
async fn insert(store: &SqlStore, id: &str, session: &Session, cap: usize) {
    store
        .insert(id, session, cap)
        .await
        .unwrap_or_else(|e| panic!("inserting session {id}: {e}"));
}

/// `session`, expiring at `expires_at` instead.
fn ending(session: Session, expires_at: i64) -> Session {
    Session {
        expires_at: at(expires_at),
        ..session
    }
}

/// The user of session `id` at `now`, `None` when there is none.
async fn session_owner(store: &SqlStore, id: &str, now: i64) -> Option<String> {
    store
        .get(id, at(now))
        .await
        .unwrap_or_else(|e| panic!("reading session {id}: {e}"))
        .map(|s| s.user_id)
}

// ---------------------------------------------------------------- sessions

async fn sessions(store: &SqlStore) {
    let id = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    store.insert(id, &session("jdoe", NOW), 20).await.unwrap();
    assert_eq!(
        store.get(id, at(NOW)).await.unwrap(),
        Some(session("jdoe", NOW))
    );
    assert_eq!(
        store.get(id, at(NOW + 3599)).await.unwrap(),
        Some(session("jdoe", NOW))
    );
    // Expired at expires_at.
    assert_eq!(store.get(id, at(NOW + 3600)).await.unwrap(), None);
    assert_eq!(store.get("unknown", at(NOW)).await.unwrap(), None);
    // A taken ID is a conflict and changes nothing.
    let taken = store.insert(id, &session("mallory", NOW + 1), 20).await;
    assert!(is_conflict(&taken), "{taken:?}");
    assert_eq!(
        store.get(id, at(NOW)).await.unwrap(),
        Some(session("jdoe", NOW))
    );
    // Logout.
    assert!(
        store.remove(id).await.unwrap(),
        "a logout removes the session"
    );
    assert!(
        !store.remove(id).await.unwrap(),
        "a second logout finds none"
    );
    assert_eq!(store.get(id, at(NOW)).await.unwrap(), None);

    // The cap: at most 3 per user, the oldest ending first; other users untouched.
    insert(store, "other", &session("someone", NOW), 3).await;
    for i in 0..5 {
        insert(store, &format!("s{i}"), &session("jdoe", NOW + i), 3).await;
    }
    let alive = |store: &SqlStore, ids: Vec<String>| {
        let store = store.clone();
        async move {
            let mut alive = Vec::new();
            for id in ids {
                if session_owner(&store, &id, NOW + 10).await.is_some() {
                    alive.push(id);
                }
            }
            alive
        }
    };
    let ids: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
    assert_eq!(alive(store, ids.clone()).await, ["s2", "s3", "s4"]);
    assert_eq!(
        session_owner(store, "other", NOW).await.as_deref(),
        Some("someone"),
        "another user's session is untouched by the cap"
    );

    // Sessions made in the same second end in insertion order.
    for i in 0..4 {
        insert(store, &format!("same{i}"), &session("bob", NOW), 2).await;
    }
    let same: Vec<String> = (0..4).map(|i| format!("same{i}")).collect();
    assert_eq!(alive(store, same).await, ["same2", "same3"]);

    // Expired sessions do not count toward the cap, and a login ends the
    // user's expired ones.
    insert(store, "e1", &ending(session("eve", NOW), NOW + 5), 2).await;
    insert(store, "e2", &session("eve", NOW + 6), 2).await;
    insert(store, "e3", &session("eve", NOW + 7), 2).await;
    for id in ["e2", "e3"] {
        assert_eq!(
            session_owner(store, id, NOW + 8).await.as_deref(),
            Some("eve"),
            "{id} lives"
        );
    }
    assert_eq!(
        session_owner(store, "e1", NOW).await,
        None,
        "e1 ended by e2's login"
    );

    // 20 concurrent logins of one user with a cap of 5: exactly 5 remain.
    let mut logins = JoinSet::new();
    for i in 0..20 {
        let store = store.clone();
        logins.spawn(async move {
            store
                .insert(&format!("c{i}"), &session("carol", NOW + 100 + i), 5)
                .await
                .unwrap()
        });
    }
    while let Some(joined) = logins.join_next().await {
        joined.unwrap();
    }
    let ids: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    assert_eq!(alive(store, ids).await.len(), 5);

    // purge_expired deletes exactly the sessions with expires_at <= now.
    insert(store, "short", &ending(session("dave", NOW), NOW + 5), 20).await;
    let purge = async |now| SessionStore::purge_expired(store, now).await;
    let forgets = [(NOW + 4, 0), (NOW + 3599, 1), (NOW + 3599, 0)];
    assert_purges("SessionStore", forgets, purge).await;
    assert_eq!(
        session_owner(store, "s4", NOW + 3599).await.as_deref(),
        Some("jdoe"),
        "s4 lives until NOW+3604"
    );
    let purged = SessionStore::purge_expired(store, at(NOW + 100_000))
        .await
        .unwrap();
    assert!(purged >= 5, "every session purged at last: {purged}");
    assert_eq!(
        session_owner(store, "c19", NOW + 120).await,
        None,
        "c19 purged"
    );
}
both!(sessions: sqlite_sessions, postgres_sessions);

// ---------------------------------------------------------------- configurations

async fn configs(store: &SqlStore) {
    let empty = store.load().await.unwrap();
    assert_eq!((empty.configs.len(), empty.revision), (0, 0));
    assert_eq!(store.revision().await.unwrap(), 0);

    let erp = config("ERP", "https://erp.example.com");
    let set = created(store, &erp).await;
    assert_eq!(set.revision, 1);
    let v1 = set.get("erp").unwrap().version.clone();
    assert_eq!(v1.len(), 32, "128 random bits as hex");
    assert_eq!(store.revision().await.unwrap(), 1);
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded, set, "the set the change returned is what is stored");
    assert_eq!(loaded.configs[0].config, erp);
    // The secret is stored, and the version is the same on every load.
    assert_eq!(
        loaded.configs[0].config.to_json_string().unwrap(),
        erp.to_json_string().unwrap()
    );
    assert_eq!(store.load().await.unwrap().configs[0].version, v1);

    // A taken name, without regard to case, is a conflict and changes nothing.
    let dup = config("erp", "https://dup.example.com");
    let taken = store.apply(&ConfigChange::Create(dup)).await;
    assert!(is_conflict(&taken), "{taken:?}");
    assert_eq!(store.revision().await.unwrap(), 1);

    let crm = config("CRM", "https://crm.example.com");
    let set = created(store, &crm).await;
    assert_eq!(set.revision, 2);
    assert_eq!(set.get("erp").unwrap().version, v1, "ERP did not change");

    // Update with the right version: a new version.
    let erp2 = config("ERP", "https://erp2.example.com");
    let update = |name: &str, version: &str, config: &JwtConfig| ConfigChange::Update {
        name: name.into(),
        version: version.into(),
        config: config.clone(),
    };
    let set = store.apply(&update("erp", &v1, &erp2)).await.unwrap();
    assert_eq!(set.revision, 3);
    let v2 = set.get("erp").unwrap().version.clone();
    assert_ne!(v2, v1);
    // With a stale version: a conflict, nothing changes.
    let erp3 = config("ERP", "https://erp3.example.com");
    let stale = store.apply(&update("ERP", &v1, &erp3)).await;
    assert!(is_conflict(&stale), "{stale:?}");
    let loaded = store.load().await.unwrap();
    assert_eq!(
        (loaded.clone().into_configs(), loaded.revision),
        (vec![crm.clone(), erp2.clone()], 3)
    );

    // A rename onto a taken name is a conflict; onto a free one it works.
    let onto_crm = config("crm", "https://erp2.example.com");
    let clash = store.apply(&update("ERP", &v2, &onto_crm)).await;
    assert!(is_conflict(&clash), "{clash:?}");
    let renamed = config("ERP Prod", "https://erp2.example.com");
    let set = store.apply(&update("ERP", &v2, &renamed)).await.unwrap();
    assert_eq!(set.revision, 4);
    assert_eq!(
        set.clone().into_configs(),
        vec![crm.clone(), renamed.clone()]
    );
    // The old name is free again.
    let set = created(store, &erp).await;
    assert_eq!(set.revision, 5);

    // Update or delete of a name that is not stored: a conflict.
    let missing = store.apply(&update("nope", "x", &erp)).await;
    assert!(is_conflict(&missing), "{missing:?}");
    let missing = store
        .apply(&ConfigChange::Delete {
            name: "nope".into(),
        })
        .await;
    assert!(is_conflict(&missing), "{missing:?}");
    assert_eq!(store.revision().await.unwrap(), 5);

    // Delete, case-insensitively.
    let set = store
        .apply(&ConfigChange::Delete {
            name: "erp prod".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        (set.clone().into_configs(), set.revision),
        (vec![crm.clone(), erp.clone()], 6)
    );

    // Racing updates from one version (several instances): exactly one wins,
    // and the revision counts only the winner.
    let base = set.get("CRM").unwrap().version.clone();
    let mut racers = JoinSet::new();
    for i in 0..10 {
        let store = store.clone();
        let change = update(
            "CRM",
            &base,
            &config("CRM", &format!("https://crm{i}.example.com")),
        );
        racers.spawn(async move { store.apply(&change).await });
    }
    let mut wins = 0;
    while let Some(joined) = racers.join_next().await {
        match joined.unwrap() {
            Ok(_) => wins += 1,
            other => assert!(is_conflict(&other), "{other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.revision().await.unwrap(), 7);

    // Another instance sees the same state through its own pool.
    let loaded = store.load().await.unwrap();
    assert_eq!((loaded.revision, loaded.configs.len()), (7, 2));

    // The database has held configurations: seeding does nothing, even
    // once every configuration is deleted.
    for name in ["CRM", "ERP"] {
        store
            .apply(&ConfigChange::Delete { name: name.into() })
            .await
            .unwrap();
    }
    assert!(
        !store
            .seed(&[config("Seed", "https://seed.example.com")])
            .await
            .unwrap()
    );
    let loaded = store.load().await.unwrap();
    assert_eq!((loaded.revision, loaded.configs.len()), (9, 0));
}
both!(configs: sqlite_configs, postgres_configs);

// ---------------------------------------------------------------- schema

/// The user `id` as `store` finds it.
async fn find(store: &SqlStore, id: &str) -> Option<User> {
    UserStore::find(store, id)
        .await
        .unwrap_or_else(|e| panic!("finding {id}: {e}"))
}

/// Opening again is idempotent and sees the data; two opens at once
/// (instances starting together) both succeed; a database of a newer
/// release is refused with a message that says so.
async fn schema_reopen_and_version(db: &Db) {
    let kept = user("kept", "k");
    create(db, &kept).await.unwrap();
    let url = db.url();
    let again = SqlStore::open(&url).await.unwrap();
    assert_eq!(find(&again, "kept").await, Some(kept.clone()), "reopened");
    let (a, b) = tokio::join!(SqlStore::open(&url), SqlStore::open(&url));
    for (n, opened) in [a, b].into_iter().enumerate() {
        let opened = opened.unwrap_or_else(|e| panic!("open {n} of two at once: {e}"));
        assert_eq!(find(&opened, "kept").await, Some(kept.clone()), "open {n}");
    }
    db.execute("UPDATE jwt_sso_schema SET version = 99").await;
    let error = SqlStore::open(&url).await.unwrap_err();
    assert!(chain(&error).contains("schema version 99"), "{error}");
}
both!(schema_reopen_and_version: sqlite_schema_reopen_and_version, postgres_schema_reopen_and_version);

/// Schema version 2: a database of version 1 stored each configuration's
/// version as a hash of the configuration, secret included, and served it
/// as the ETag (issue 20). Opening it replaces every stored version with a
/// random one.
async fn schema_2_replaces_versions_derived_from_secrets(db: &Db) {
    let stored = db
        .apply(&ConfigChange::Create(config(
            "ERP",
            "https://erp.example.com",
        )))
        .await
        .unwrap();
    let derived = "ZmFrZS1oYXNoLW9mLXRoZS1zZWNyZXQ";
    db.execute(&format!("UPDATE jwt_sso_configs SET version = '{derived}'"))
        .await;
    db.execute("UPDATE jwt_sso_schema SET version = 1").await;
    let reopened = SqlStore::open(&db.url()).await.unwrap();
    let loaded = reopened.load().await.unwrap();
    let version = &loaded.get("erp").unwrap().version;
    assert_ne!(version, derived);
    assert_ne!(version, &stored.get("erp").unwrap().version);
    assert_eq!(version.len(), 32);
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()), "{version}");
    assert_eq!(
        loaded.into_configs(),
        vec![config("ERP", "https://erp.example.com")]
    );
}
both!(schema_2_replaces_versions_derived_from_secrets: sqlite_schema_2_replaces_versions_derived_from_secrets, postgres_schema_2_replaces_versions_derived_from_secrets);

/// SQLite's targets: the `sqlite:` prefix and a path open one file; an
/// in-memory database is refused; the URL's scheme decides, and a refused
/// target creates no file; `Debug` names the backend and the file.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_targets() {
    let db = Db::new(Backend::Sqlite).await.expect("SQLite is built in");
    let Target::Sqlite { file, .. } = &db.target else {
        unreachable!("a SQLite database")
    };
    let kept = user("kept", "k");
    create(&db, &kept).await.unwrap();
    let prefixed = SqlStore::open(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    assert_eq!(find(&prefixed, "kept").await, Some(kept.clone()), "sqlite:");
    let by_path = SqlStore::sqlite(file, &SqlOptions::default())
        .await
        .unwrap();
    assert_eq!(find(&by_path, "kept").await, Some(kept), "SqlStore::sqlite");
    // An in-memory database cannot be shared by a pool: refused.
    for target in ["sqlite::memory:", "sqlite:"] {
        let error = SqlStore::open(target).await.unwrap_err();
        assert!(
            chain(&error).contains("needs a database file"),
            "{target}: {error}"
        );
    }
    let error = SqlStore::sqlite(":memory:", &SqlOptions::default())
        .await
        .unwrap_err();
    assert!(chain(&error).contains("needs a database file"), "{error}");
    // The URL's scheme decides: a bare path or a misspelt scheme is an
    // error, and no file of that name is created.
    let dir = TempDir::new("schemes");
    for (target, says) in [
        (
            "postgress://jwt:s3cret@localhost/sso".to_owned(),
            "`postgress`",
        ),
        ("mysql://localhost/sso".to_owned(), "`mysql`"),
        (dir.0.join("bare.sqlite").display().to_string(), "not a URL"),
        (String::new(), "not a URL"),
    ] {
        let error = SqlStore::open(&target).await.unwrap_err();
        let text = chain(&error);
        assert!(text.contains(says), "{target}: {text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!error.is_conflict(), "{target}: not a conflict: {error:?}");
    }
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        0,
        "nothing was created"
    );
    // Debug names the backend and the file.
    let debug = format!("{prefixed:?}");
    assert!(
        debug.contains("SQLite") && debug.contains("jwt-sso.sqlite"),
        "{debug}"
    );
}

/// PostgreSQL's targets: each database has its own tables; `Debug` never
/// shows a password.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_targets() {
    let Some(db) = Db::new(Backend::Postgres).await else {
        return;
    };
    let Target::Postgres(server) = &db.target else {
        unreachable!("a PostgreSQL database")
    };
    create(&db, &user("kept", "k")).await.unwrap();
    server.create_database("second");
    let second = SqlStore::open(&server.url_for("second")).await.unwrap();
    assert_eq!(find(&second, "kept").await, None);
    let url = format!(
        "postgres://{}:hunter2-secret@127.0.0.1:{}/postgres",
        pg::ROLE,
        server.port()
    );
    let with_password = SqlStore::open(&url).await.unwrap();
    let debug = format!("{with_password:?}");
    assert!(
        debug.contains("PostgreSQL") && !debug.contains("hunter2"),
        "{debug}"
    );
}

#[cfg(feature = "sqlite")]
async fn sqlx_sqlite_conn(file: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    use sqlx::sqlite::SqliteConnectOptions;
    sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(file))
        .await
        .unwrap()
}

// ---------------------------------------------------------------- outages

/// Every write fails with `StoreError::Failed` in under 5 s while the
/// database is unavailable ([`Db::go_down`]: reads too on a stopped
/// PostgreSQL, while a locked SQLite file still serves them), nothing is
/// half-written, and the same store works again once the database is back.
async fn outage(db: &Db) {
    let store = &db.store;
    let reads_fail = db.backend() == Backend::Postgres;
    create(store, &user("before", "b")).await.unwrap();
    let erp = config("ERP", "https://erp.example.com");
    created(store, &erp).await;
    let key = UsedJti {
        config: "ERP",
        issuer: "i",
        jti: "during",
        until: UnixTime::MAX,
    };

    let down = db.go_down().await;

    async fn timed<T: std::fmt::Debug>(
        what: &str,
        op: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = op.await;
        let took = started.elapsed();
        eprintln!(
            "outage: {what}: {:?} after {} ms",
            result.as_ref().map(|_| ()).map_err(|e| chain(e)),
            took.as_millis()
        );
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
        result
    }
    let e = failed(
        timed("create user", create(store, &user("during", "d"))).await,
        "create",
    );
    assert!(!chain(&e).is_empty(), "a failure says why: {e:?}");
    failed(
        timed("record jti", store.record(until(key, NOW + 60), at(NOW))).await,
        "record",
    );
    failed(
        timed(
            "insert session",
            store.insert("during", &session("before", NOW), 20),
        )
        .await,
        "insert",
    );
    let crm = config("CRM", "https://crm.example.com");
    failed(
        timed(
            "create config",
            store.apply(&ConfigChange::Create(crm.clone())),
        )
        .await,
        "apply",
    );
    if reads_fail {
        failed(
            timed("find user", UserStore::find(store, "before")).await,
            "find",
        );
        failed(timed("get session", store.get("x", at(NOW))).await, "get");
        failed(timed("load configs", store.load()).await, "load");
        failed(timed("revision", store.revision()).await, "revision");
    } else {
        let found = timed("find user", UserStore::find(store, "before"))
            .await
            .unwrap();
        assert_eq!(
            found.map(|u| u.user_id).as_deref(),
            Some("before"),
            "reads are served while writes wait"
        );
        assert_eq!(timed("revision", store.revision()).await.unwrap(), 1);
    }

    db.come_back(down).await;

    // The same store, not rebuilt.
    let started = Instant::now();
    assert_eq!(
        find(store, "before").await,
        Some(user("before", "b")),
        "the user written before the outage"
    );
    eprintln!(
        "outage: first operation after recovery: {} ms",
        started.elapsed().as_millis()
    );
    create(store, &user("after", "a")).await.unwrap();
    assert!(
        first_use(store, key, NOW + 60, NOW).await,
        "the jti of a failed record is unused"
    );
    insert(store, "during", &session("before", NOW), 20).await;
    // Nothing of the failed operations was written.
    assert_eq!(UserStore::find(store, "during").await.unwrap(), None);
    assert_eq!(store.load().await.unwrap().into_configs(), vec![erp]);
    assert_eq!(created(store, &crm).await.revision, 2);
}

both!(outage: sqlite_locked_database, postgres_database_goes_away);

/// A short timeout option bounds every operation.
async fn timeout_option(db: &Db) {
    let options = SqlOptions::default()
        .timeout(Duration::from_millis(300))
        .max_connections(2);
    let store = db.open_with(&options).await;
    let _lock = db.lock_writers().await;
    let started = Instant::now();
    let e = failed(
        store
            .record(
                UsedJti {
                    config: "a",
                    issuer: "b",
                    jti: "c",
                    until: at(NOW),
                },
                at(NOW),
            )
            .await,
        "record",
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    let says = format!("{}: recording a used jti: ", db.name());
    assert!(chain(&e).contains(&says), "{e}");
    eprintln!(
        "timing: {} locked write with a 300 ms timeout: {} ms ({e})",
        db.name(),
        took.as_millis()
    );
}
both!(timeout_option: sqlite_timeout_option, postgres_timeout_option);

fn at(secs: i64) -> UnixTime {
    UnixTime::from_secs(secs)
}

/// The `sqlite:` URL of a database file.
#[cfg(feature = "sqlite")]
fn sqlite_url(file: &std::path::Path) -> String {
    format!("sqlite:{}", file.display())
}

/// An error and its sources, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

// ---------------------------------------------------------------- file identity

/// SQLite: a database file deleted or replaced while the store is open makes
/// every operation a store error (the store's connections would otherwise
/// keep writing into a file nobody reads again); the file put back works.
#[cfg(all(feature = "sqlite", unix))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_deleted_or_replaced_file_is_a_store_error() {
    let db = Db::new(Backend::Sqlite).await.expect("SQLite is built in");
    let store = &db.store;
    let Target::Sqlite { file, .. } = &db.target else {
        unreachable!("a SQLite database")
    };
    create(store, &user("before", "b")).await.unwrap();
    insert(store, "s-before", &session("before", NOW), 20).await;
    let key = UsedJti {
        config: "ERP",
        issuer: "i",
        jti: "after-delete",
        until: UnixTime::MAX,
    };
    let erp = config("ERP", "https://erp.example.com");

    // Moved away: refused; moved back (the same file): served again.
    let aside = file.with_extension("aside");
    std::fs::rename(file, &aside).unwrap();
    let e = failed(
        create(store, &user("moved", "m")).await,
        "create while moved",
    );
    assert!(chain(&e).contains("it was deleted"), "{e:?}");
    std::fs::rename(&aside, file).unwrap();
    create(store, &user("back", "b")).await.unwrap();

    // Deleted, as `rm` would, with its WAL and shared-memory files.
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let errors = [
        failed(create(store, &user("lost", "l")).await, "create"),
        failed(store.record(until(key, NOW + 60), at(NOW)).await, "record"),
        failed(
            store.insert("s-lost", &session("before", NOW), 20).await,
            "insert",
        ),
        failed(
            store.apply(&ConfigChange::Create(erp.clone())).await,
            "apply",
        ),
        failed(UserStore::find(store, "before").await, "find"),
        failed(store.get("s-before", at(NOW)).await, "get"),
        failed(SessionStore::purge_expired(store, at(NOW)).await, "purge"),
    ];
    for error in &errors {
        // The store's sentence, then its source: the SQLite file check.
        let message = chain(error);
        let cause = std::error::Error::source(error).map(|c| c.to_string());
        assert!(
            cause.as_deref().is_some_and(|c| c.starts_with("SQLite: ")),
            "{message}"
        );
        assert!(message.contains("is not the file opened"), "{message}");
        assert!(message.contains("it was deleted"), "{message}");
    }

    // Replaced by another database (a restore copied over it): still refused,
    // while a store opened now works on the new file.
    let fresh = SqlStore::open(&sqlite_url(file)).await.unwrap();
    let e = failed(
        create(store, &user("lost", "l")).await,
        "create after replace",
    );
    assert!(chain(&e).contains("another file"), "{e:?}");
    create(&fresh, &user("fresh", "f")).await.unwrap();
    assert_eq!(UserStore::find(&fresh, "before").await.unwrap(), None);
    fresh.close().await;
}

// ---------------------------------------------------------------- blocked writers

/// Twenty writers wait for a locked table (more than the pool's ten
/// connections): users, sessions and the configuration revision are still
/// read at once, and every writer gets through once the lock is gone.
async fn reads_while_writers_wait(db: &Db) {
    let store = &db.open_with(&patient_options()).await;
    create(store, &user("reader", "r")).await.unwrap();
    insert(store, "s-reader", &session("reader", NOW), 20).await;
    let mut lock = db.lock_writers().await;
    let mut writers = JoinSet::new();
    for n in 0..20 {
        let store = store.clone();
        writers.spawn(async move {
            let jti = format!("waiting-{n}");
            let key = UsedJti {
                config: "ERP",
                issuer: "i",
                jti: &jti,
                until: UnixTime::MAX,
            };
            store.record(until(key, NOW + 60), at(NOW)).await
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        writers.try_join_next().map(|done| format!("{done:?}")),
        None,
        "the writers wait for the lock"
    );
    let started = Instant::now();
    let patience = Duration::from_secs(5);
    let found = tokio::time::timeout(patience, UserStore::find(store, "reader"))
        .await
        .expect("a user is read while writers wait")
        .unwrap();
    assert_eq!(found.map(|u| u.user_id).as_deref(), Some("reader"));
    let got = tokio::time::timeout(patience, store.get("s-reader", at(NOW)))
        .await
        .expect("a session is read while writers wait")
        .unwrap();
    assert_eq!(got.map(|s| s.user_id).as_deref(), Some("reader"));
    let revision = tokio::time::timeout(patience, store.revision())
        .await
        .expect("the revision is read while writers wait")
        .unwrap();
    assert_eq!(revision, 0);
    eprintln!(
        "timing: three reads behind 20 blocked writers: {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(
        writers.try_join_next().map(|done| format!("{done:?}")),
        None,
        "the writers still wait"
    );
    lock.execute("ROLLBACK").await;
    let mut recorded = 0;
    while let Some(result) = writers.join_next().await {
        assert!(result.unwrap().unwrap(), "a first use");
        recorded += 1;
    }
    assert_eq!(recorded, 20);
    store.close().await;
}

/// The suite's options for [`reads_while_writers_wait`]: writers may wait
/// 10 s, twice as long as the reads are given.
fn patient_options() -> SqlOptions {
    SqlOptions::default()
        .max_connections(10)
        .timeout(Duration::from_secs(10))
}

both!(reads_while_writers_wait: sqlite_reads_while_writers_wait, postgres_reads_while_writers_wait);

// ------------------------------------------------------------ login events

/// Logins through an `Authenticator` whose users live in memory and whose
/// events go to `store`'s history.
struct EventFlow {
    auth: jwt_sso::Authenticator<jwt_sso::MemoryStore>,
    _writer: jwt_sso::Task,
}

const EVENT_SECRET: &str = "sql-events-secret-0123456789abcdef";

fn event_flow(store: &SqlStore, retention: u64) -> EventFlow {
    let registry = jwt_sso::Registry::from_json_str(
        &serde_json::json!({"name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": EVENT_SECRET},
            "expiration_time": 3600, "claims": {"user_id": "sub"}})
        .to_string(),
    )
    .unwrap();
    let auth =
        jwt_sso::Authenticator::new(std::sync::Arc::new(registry), jwt_sso::MemoryStore::new());
    let writer = store.spawn_event_writer(auth.subscribe(4096), retention);
    EventFlow {
        auth,
        _writer: writer,
    }
}

fn event_token(user: &str, valid: bool) -> String {
    let now = jwt_sso::UnixTime::now().as_secs();
    let exp = if valid { now + 600 } else { now - 600 };
    jwt_sso::mint::SigningKey::from_secret(EVENT_SECRET.as_bytes())
        .sign(
            jwt_sso::Algorithm::HS256,
            &serde_json::json!({"iss": "https://erp.example.com", "sub": user, "exp": exp}),
        )
        .unwrap()
}

/// The default query, changed by `edit`.
fn query(edit: impl FnOnce(&mut EventQuery)) -> EventQuery {
    let mut query = EventQuery::default();
    edit(&mut query);
    query
}

async fn page(store: &SqlStore, query: EventQuery) -> Vec<LoginEvent> {
    store.login_events(&query).await.unwrap()
}

/// Writers of several instances (here: three writers on one database, each
/// with its own batches and transactions) never leave more than the
/// retention for a reader to see: each trim sees every earlier insert.
async fn concurrent_writers_keep_the_retention(store: &SqlStore) {
    // Above what two writers add after a third's last event (2 × 61), so
    // that no last event is trimmed before it is seen; below the 183 events
    // written, so that trims race.
    const RETENTION: usize = 125;
    let flows: Vec<std::sync::Arc<EventFlow>> = (0..3)
        .map(|_| std::sync::Arc::new(event_flow(store, RETENTION as u64)))
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut reads = 0u32;
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let seen = page(&store, query(|q| q.limit = 500)).await.len();
                assert!(seen <= RETENTION, "a reader saw {seen} events");
                reads += 1;
            }
            reads
        })
    };
    let mut logins = JoinSet::new();
    for (n, flow) in flows.iter().enumerate() {
        let flow = std::sync::Arc::clone(flow);
        logins.spawn(async move {
            for i in 0..60 {
                let token = event_token(&format!("w{n}-{i}"), true);
                flow.auth
                    .login(&token, jwt_sso::Verification::default())
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = logins.join_next().await {
        done.unwrap();
    }
    // One more login through each writer, after all the others, each
    // awaited in the history: when a writer's last login is stored, so is
    // everything it wrote before (a batch may hold many, and trim the
    // others' older events).
    for (n, flow) in flows.iter().enumerate() {
        let last = format!("last-{n}");
        flow.auth
            .login(&event_token(&last, true), jwt_sso::Verification::default())
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !page(store, query(|q| q.user_id = Some(last.clone())))
            .await
            .iter()
            .any(|e| e.user_id.as_deref() == Some(last.as_str()))
        {
            assert!(
                Instant::now() < deadline,
                "{last} not stored; dropped {:?}",
                flows
                    .iter()
                    .map(|f| f.auth.events_dropped())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let all = page(store, query(|q| q.limit = 500)).await;
    assert_eq!(all.len(), RETENTION, "at the limit after 183 events");
    done.store(true, std::sync::atomic::Ordering::Release);
    let reads = reader.await.unwrap();
    assert!(reads > 0, "the reader read while the writers wrote");
    drop(flows);
}

both!(concurrent_writers_keep_the_retention: sqlite_concurrent_event_writers, postgres_concurrent_event_writers);

/// The history: retention, newest first, filters, paging.
async fn events(store: &SqlStore) {
    let flow = event_flow(store, 25);
    for i in 0..40 {
        let _ = flow
            .auth
            .login(
                &event_token(&format!("u{i}"), i % 4 != 0),
                jwt_sso::Verification::default(),
            )
            .await;
    }
    // The writer catches up: the newest 25 remain.
    let deadline = Instant::now() + Duration::from_secs(10);
    let all = loop {
        let all = page(store, query(|q| q.limit = 500)).await;
        assert!(all.len() <= 25, "the retention holds at every moment");
        if all.first().and_then(|e| e.user_id.as_deref()) == Some("u39") {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "the history did not catch up: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(all.len(), 25, "the retention holds");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    // `limit` is clamped to 1–500.
    assert_eq!(page(store, query(|q| q.limit = 0)).await, all[..1]);
    assert_eq!(page(store, query(|q| q.limit = u32::MAX)).await, all);
    // The newest 25 attempts, in order: u39 … u15 (refused ones have no user).
    let expected: Vec<_> = (15..40).rev().collect();
    for (event, i) in all.iter().zip(&expected) {
        let refused = i % 4 == 0;
        assert_eq!(event.accepted, !refused, "{event:?}");
        if refused {
            assert_eq!(event.kind, Some(jwt_sso::ErrorKind::Expired));
            assert!(
                event.hint.as_deref().is_some_and(|h| !h.is_empty()),
                "a refusal's hint: {event:?}"
            );
            assert_eq!(event.user_id, None, "a refusal names no user");
        } else {
            assert_eq!(event.user_id.as_deref(), Some(format!("u{i}").as_str()));
            assert_eq!(event.first_login, Some(true));
        }
        assert_eq!(event.config.as_deref(), Some("ERP"));
        assert_eq!(event.client, None);
    }
    // Pages of 7 (the last event's id as `before`) lose nothing and repeat
    // nothing; a short page is the last.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let got = page(
            store,
            query(|q| {
                q.limit = 7;
                q.before = before;
            }),
        )
        .await;
        assert!(got.len() <= 7, "a page of at most 7: {got:?}");
        paged.extend(got.iter().map(|e| e.id));
        if got.len() < 7 {
            break;
        }
        before = got.last().map(|e| e.id);
    }
    assert_eq!(paged, all.iter().map(|e| e.id).collect::<Vec<_>>());
    // Filters.
    let refused = page(store, query(|q| q.accepted = Some(false))).await;
    assert_eq!(refused.len(), 6); // 16, 20, 24, 28, 32, 36
    assert!(
        refused
            .iter()
            .all(|e| e.kind == Some(jwt_sso::ErrorKind::Expired))
    );
    let expired = query(|q| {
        q.kind = Some(jwt_sso::ErrorKind::Expired);
        q.limit = 2;
    });
    assert_eq!(page(store, expired).await.len(), 2);
    let erp = page(store, query(|q| q.config = Some("erp".into()))).await;
    assert_eq!(erp.len(), 25, "any case");
    let crm = page(store, query(|q| q.config = Some("CRM".into()))).await;
    assert_eq!(crm.len(), 0);
    let one = page(store, query(|q| q.user_id = Some("u33".into()))).await;
    assert_eq!(one.len(), 1);
    assert!(one[0].accepted, "{one:?}");
    let older = page(store, query(|q| q.before = Some(one[0].id))).await;
    assert!(
        older.iter().all(|e| e.id < one[0].id),
        "only older events before an id: {older:?}"
    );
    assert_eq!(flow.auth.events_dropped(), 0);
}

both!(events: sqlite_event_history, postgres_event_history);

/// Five logins through `flow` while its history cannot store: each
/// succeeds without waiting for the history, and all five events are
/// counted as dropped.
async fn five_logins_drop_five_events(flow: &EventFlow, prefix: &str) {
    for i in 0..5 {
        let user = format!("{prefix}{i}");
        let started = Instant::now();
        let login = flow
            .auth
            .login(&event_token(&user, true), jwt_sso::Verification::default())
            .await;
        assert_eq!(
            login.map(|l| l.user.user_id).map_err(|e| e.kind()),
            Ok(user),
            "the login succeeds while the history is down"
        );
        // The login does not wait for the history (the store's timeout is 3 s).
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while flow.auth.events_dropped() < 5 {
        assert!(
            Instant::now() < deadline,
            "dropped {}",
            flow.auth.events_dropped()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(flow.auth.events_dropped(), 5);
}

/// A history that cannot store ([`Db::go_down`]): the logins stand, their
/// events are counted as dropped; once the database is back, events are
/// stored again.
async fn event_writes_failing(db: &Db) {
    let store = &db.store;
    let flow = event_flow(store, 100);
    let down = db.go_down().await;
    five_logins_drop_five_events(&flow, "d").await;
    db.come_back(down).await;
    // Back: events are stored again.
    flow.auth
        .login(&event_token("back", true), jwt_sso::Verification::default())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while page(store, query(|q| q.user_id = Some("back".into())))
        .await
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "not stored after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(flow.auth.events_dropped(), 5, "nothing dropped once back");
}
both!(event_writes_failing: sqlite_event_writes_failing_drop_and_count, postgres_event_writes_failing_drop_and_count);

/// A closed store (the host shut its pool down) drops and counts its
/// events the same way.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_event_writes_to_a_closed_store_drop_and_count() {
    let db = Db::new(Backend::Sqlite).await.expect("SQLite is built in");
    let flow = event_flow(&db.store, 100);
    db.store.close().await;
    five_logins_drop_five_events(&flow, "c").await;
}
