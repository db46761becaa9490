//! The SQL text of the stores: the schema (as numbered migrations) and the
//! statements. Both databases take `$1`-style parameters and
//! `INSERT … ON CONFLICT`, so most statements are shared; the differences
//! live in [`Dialect`].

/// The schema version this release writes (the row of `jwt_sso_schema`).
pub(super) const SCHEMA_VERSION: i64 = 2;

/// What differs between the two databases.
pub(super) struct Dialect {
    /// For messages: `SQLite` or `PostgreSQL`.
    pub name: &'static str,
    /// Opens a write transaction. SQLite takes its write lock up front
    /// (`IMMEDIATE`), so a transaction never fails half-way on a lock that a
    /// busy wait could have had.
    pub begin: &'static str,
    /// Run first in the schema transaction: serialises instances that start
    /// at once on one PostgreSQL database.
    pub schema_lock: Option<&'static str>,
    /// The migrations: `migrations[n]` takes the schema from version `n` to
    /// `n + 1`.
    pub migrations: &'static [&'static [&'static str]],
    /// Run first in a session insert (binds `$1` = user ID): serialises
    /// inserts of one user so that the cap holds exactly.
    pub session_lock: Option<&'static str>,
    /// Ends the user's sessions beyond the newest `$3` unexpired ones
    /// (binds `$1` = user ID, `$2` = now, `$3` = the cap).
    pub trim_sessions: &'static str,
    /// Run first in an event batch's transaction: serialises the writers
    /// of several instances, so that each trim sees every earlier insert.
    pub events_lock: Option<&'static str>,
    /// Reads the configuration revision inside a seeding transaction,
    /// locking its row until the transaction ends (SQLite's `IMMEDIATE`
    /// transaction holds the write lock already).
    pub lock_revision: &'static str,
}

/// The version table, created before the migrations are read.
pub(super) const CREATE_SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS jwt_sso_schema (\
     id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)";
pub(super) const SELECT_SCHEMA_VERSION: &str = "SELECT version FROM jwt_sso_schema WHERE id = 1";
pub(super) const SET_SCHEMA_VERSION: &str = "INSERT INTO jwt_sso_schema (id, version) VALUES (1, $1) \
     ON CONFLICT (id) DO UPDATE SET version = excluded.version";

/// Version 1: users, used `jti`s, sessions, configurations and their revision.
macro_rules! version_1 {
    ($sessions:literal) => {
        &[
            "CREATE TABLE IF NOT EXISTS jwt_sso_users (\
                 user_id TEXT PRIMARY KEY, \
                 user_type TEXT NOT NULL, \
                 roles TEXT NOT NULL, \
                 name TEXT, \
                 email TEXT, \
                 created_by_config TEXT)",
            "CREATE TABLE IF NOT EXISTS jwt_sso_used_jti (\
                 config TEXT NOT NULL, \
                 issuer TEXT NOT NULL, \
                 jti TEXT NOT NULL, \
                 expires_at BIGINT NOT NULL, \
                 PRIMARY KEY (config, issuer, jti))",
            "CREATE INDEX IF NOT EXISTS jwt_sso_used_jti_expires ON jwt_sso_used_jti (expires_at)",
            $sessions,
            "CREATE INDEX IF NOT EXISTS jwt_sso_sessions_user ON jwt_sso_sessions (user_id, created_at)",
            "CREATE INDEX IF NOT EXISTS jwt_sso_sessions_expires ON jwt_sso_sessions (expires_at)",
            "CREATE TABLE IF NOT EXISTS jwt_sso_configs (\
                 name_key TEXT PRIMARY KEY, \
                 name TEXT NOT NULL, \
                 version TEXT NOT NULL, \
                 body TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS jwt_sso_config_revision (\
                 id INTEGER PRIMARY KEY CHECK (id = 1), \
                 revision BIGINT NOT NULL)",
            "INSERT INTO jwt_sso_config_revision (id, revision) VALUES (1, 0) \
                 ON CONFLICT (id) DO NOTHING",
        ]
    };
}

/// Version 2: the login events (CONTRACT section 9), newest first by `id`
/// under each filter of `GET /api/admin/events`; and random configuration
/// versions (version 1 stored a hash of the configuration, its secret
/// included, and served it as the `ETag`): every stored version is replaced
/// by a random one.
///
/// `$event_id` is the id column: its type and how it is generated.
macro_rules! version_2 {
    ($event_id:literal, $versions:literal) => {
        &[
            concat!(
                "CREATE TABLE IF NOT EXISTS jwt_sso_login_events (\
                     id ",
                $event_id,
                ", time BIGINT NOT NULL, \
                 config TEXT, \
                 config_key TEXT, \
                 outcome TEXT NOT NULL, \
                 kind TEXT, \
                 user_id TEXT, \
                 first_login BOOLEAN, \
                 client TEXT, \
                 message TEXT, \
                 hint TEXT)"
            ),
            "CREATE INDEX IF NOT EXISTS jwt_sso_login_events_config ON jwt_sso_login_events (config_key, id)",
            "CREATE INDEX IF NOT EXISTS jwt_sso_login_events_outcome ON jwt_sso_login_events (outcome, id)",
            "CREATE INDEX IF NOT EXISTS jwt_sso_login_events_kind ON jwt_sso_login_events (kind, id)",
            "CREATE INDEX IF NOT EXISTS jwt_sso_login_events_user ON jwt_sso_login_events (user_id, id)",
            $versions,
        ]
    };
}

#[cfg(feature = "sqlite")]
pub(super) const SQLITE: Dialect = Dialect {
    name: "SQLite",
    begin: "BEGIN IMMEDIATE",
    schema_lock: None,
    // The table's implicit `rowid` orders sessions made in the same second.
    // AUTOINCREMENT: an event id is never reused, also after the newest
    // events were trimmed.
    migrations: &[
        version_1!(
            "CREATE TABLE IF NOT EXISTS jwt_sso_sessions (\
                 id TEXT PRIMARY KEY, \
                 user_id TEXT NOT NULL, \
                 config TEXT NOT NULL, \
                 created_at BIGINT NOT NULL, \
                 expires_at BIGINT NOT NULL)"
        ),
        version_2!(
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "UPDATE jwt_sso_configs SET version = lower(hex(randomblob(16)))"
        ),
    ],
    session_lock: None,
    events_lock: None,
    trim_sessions: "DELETE FROM jwt_sso_sessions WHERE user_id = $1 AND id NOT IN (\
         SELECT id FROM jwt_sso_sessions WHERE user_id = $1 AND expires_at > $2 \
         ORDER BY created_at DESC, rowid DESC LIMIT $3)",
    lock_revision: "SELECT revision FROM jwt_sso_config_revision WHERE id = 1",
};

#[cfg(feature = "postgres")]
pub(super) const POSTGRES: Dialect = Dialect {
    name: "PostgreSQL",
    begin: "BEGIN",
    schema_lock: Some("SELECT pg_advisory_xact_lock(7243, 1)"),
    // `seq` orders sessions made in the same second.
    // One identity sequence shared by every instance: ids increase across them.
    migrations: &[
        version_1!(
            "CREATE TABLE IF NOT EXISTS jwt_sso_sessions (\
                 id TEXT PRIMARY KEY, \
                 user_id TEXT NOT NULL, \
                 config TEXT NOT NULL, \
                 created_at BIGINT NOT NULL, \
                 expires_at BIGINT NOT NULL, \
                 seq BIGINT GENERATED BY DEFAULT AS IDENTITY NOT NULL)"
        ),
        version_2!(
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            "UPDATE jwt_sso_configs SET version = md5(random()::text || clock_timestamp()::text || name_key)"
        ),
    ],
    session_lock: Some("SELECT pg_advisory_xact_lock(7244, hashtext($1))"),
    events_lock: Some("SELECT pg_advisory_xact_lock(7243, 3)"),
    trim_sessions: "DELETE FROM jwt_sso_sessions WHERE user_id = $1 AND id NOT IN (\
         SELECT id FROM jwt_sso_sessions WHERE user_id = $1 AND expires_at > $2 \
         ORDER BY created_at DESC, seq DESC LIMIT $3)",
    lock_revision: "SELECT revision FROM jwt_sso_config_revision WHERE id = 1 FOR UPDATE",
};

pub(super) const FIND_USER: &str = "SELECT user_id, user_type, roles, name, email, created_by_config \
     FROM jwt_sso_users WHERE user_id = $1";
pub(super) const CREATE_USER: &str = "INSERT INTO jwt_sso_users \
     (user_id, user_type, roles, name, email, created_by_config) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (user_id) DO NOTHING";
pub(super) const UPDATE_USER: &str =
    "UPDATE jwt_sso_users SET name = $2, email = $3, roles = $4, user_type = $5 WHERE user_id = $1";

/// Inserts, or replaces a record that has expired at `$5`; touches no row
/// (0 rows affected) when an unexpired record exists.
pub(super) const RECORD_JTI: &str = "INSERT INTO jwt_sso_used_jti (config, issuer, jti, expires_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (config, issuer, jti) DO UPDATE SET expires_at = excluded.expires_at \
     WHERE jwt_sso_used_jti.expires_at <= $5";
pub(super) const PURGE_JTI: &str = "DELETE FROM jwt_sso_used_jti WHERE expires_at <= $1";

pub(super) const INSERT_SESSION: &str = "INSERT INTO jwt_sso_sessions \
     (id, user_id, config, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
pub(super) const GET_SESSION: &str = "SELECT user_id, config, created_at, expires_at \
     FROM jwt_sso_sessions WHERE id = $1 AND expires_at > $2";
pub(super) const REMOVE_SESSION: &str = "DELETE FROM jwt_sso_sessions WHERE id = $1";
pub(super) const REMOVE_USER_SESSIONS: &str = "DELETE FROM jwt_sso_sessions WHERE user_id = $1";
pub(super) const REMOVE_CONFIG_SESSIONS: &str = "DELETE FROM jwt_sso_sessions WHERE config = $1";
pub(super) const PURGE_SESSIONS: &str = "DELETE FROM jwt_sso_sessions WHERE expires_at <= $1";

pub(super) const CREATE_CONFIG: &str = "INSERT INTO jwt_sso_configs (name_key, name, version, body) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (name_key) DO NOTHING";
/// The compare-and-swap: 0 rows when the name is gone or the version moved on.
pub(super) const UPDATE_CONFIG: &str = "UPDATE jwt_sso_configs \
     SET name_key = $1, name = $2, version = $3, body = $4 WHERE name_key = $5 AND version = $6";
pub(super) const DELETE_CONFIG: &str = "DELETE FROM jwt_sso_configs WHERE name_key = $1";
pub(super) const BUMP_REVISION: &str = "UPDATE jwt_sso_config_revision SET revision = revision + 1 \
     WHERE id = 1 RETURNING revision";
pub(super) const SELECT_REVISION: &str =
    "SELECT revision FROM jwt_sso_config_revision WHERE id = 1";
/// One statement, so the revision and the rows come from one snapshot.
pub(super) const LOAD_CONFIGS: &str = "SELECT r.revision, c.name, c.body, c.version \
     FROM jwt_sso_config_revision r LEFT JOIN jwt_sso_configs c ON 1 = 1 \
     WHERE r.id = 1 ORDER BY c.name_key";

pub(super) const COUNT_SESSIONS: &str =
    "SELECT COUNT(*) FROM jwt_sso_sessions WHERE expires_at > $1";

/// Keeps the newest `$1` events (ids are never reused, so the `$1`-th
/// newest id marks the cut).
pub(super) const TRIM_EVENTS: &str = "DELETE FROM jwt_sso_login_events WHERE id <= (\
     SELECT id FROM jwt_sso_login_events ORDER BY id DESC LIMIT 1 OFFSET $1)";
pub(super) const INSERT_EVENTS: &str = "INSERT INTO jwt_sso_login_events \
     (time, config, config_key, outcome, kind, user_id, first_login, client, message, hint) ";
pub(super) const SELECT_EVENTS: &str = "SELECT id, time, config, outcome, kind, user_id, \
     first_login, client, message, hint FROM jwt_sso_login_events";
