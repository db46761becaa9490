//! The login event history in the SQL store (CONTRACT section 9): written
//! in batches by a task that holds a subscription to the login flow's
//! events ([`EventReceiver`]), bounded by a retention count, read newest
//! first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Row as _;

use super::{Dialect, Fail, Pool, SqlStore, schema};
use crate::Task;
use crate::error::ErrorKind;
use crate::error::StoreError;
use crate::events::{EventQuery, EventReceiver, LoginEvent, kind_named};
use crate::metrics::Outcome;
use crate::unix_time::UnixTime;

/// The most events written in one statement.
const BATCH: usize = 128;

impl SqlStore {
    /// Starts a task that stores every event of `events` in this database
    /// (table `jwt_sso_login_events`), keeping the newest `retention` (the
    /// oldest are deleted; several instances on one PostgreSQL share the
    /// history, and its ids increase across them). Needs a tokio runtime;
    /// the task stops when the returned handle is dropped, or when the
    /// login flow is gone. Read the history with [`SqlStore::login_events`].
    ///
    /// A login never waits for it: events wait in the subscription's buffer
    /// (give it a few thousand), are written in batches of up to 128 by one
    /// connection at a time, and a batch the database cannot take (down,
    /// locked, slow past the store's timeout) is dropped and counted
    /// ([`Authenticator::events_dropped`](crate::Authenticator::events_dropped),
    /// metric `jwt_sso_events_dropped_total`), with one warning a minute at
    /// most. A `retention` of 0 stores nothing (and unsubscribes).
    ///
    /// ```no_run
    /// # async fn host(auth: jwt_sso::Authenticator<jwt_sso::SqlStore, jwt_sso::SqlStore>) -> Result<(), jwt_sso::StoreError> {
    /// let db = jwt_sso::SqlStore::open("sqlite:jwt-sso.sqlite").await?;
    /// let _writer = db.spawn_event_writer(auth.subscribe(4096), 10_000); // keep it while serving
    /// # Ok(()) }
    /// ```
    pub fn spawn_event_writer(&self, events: EventReceiver, retention: u64) -> Task {
        let store = self.clone();
        let retention = i64::try_from(retention).unwrap_or(i64::MAX);
        let mut receiver = events;
        Task::spawn(async move {
            if retention == 0 {
                return;
            }
            let mut batch = Vec::with_capacity(BATCH);
            let mut failures = Failures::default();
            loop {
                batch.clear();
                if receiver.recv_many(&mut batch, BATCH).await == 0 {
                    return;
                }
                match store.store_events(&batch, retention).await {
                    Ok(()) => failures.recovered(),
                    Err(error) => {
                        receiver.count_dropped(batch.len() as u64);
                        failures.failed(batch.len(), &error);
                    }
                }
            }
        })
    }

    /// Inserts `batch` in one statement and trims to `retention`, in one
    /// transaction.
    async fn store_events(
        &self,
        batch: &[Arc<LoginEvent>],
        retention: i64,
    ) -> Result<(), StoreError> {
        self.run_write("storing login events", async {
            with_pool!(self, |pool, sql| {
                // One transaction: no reader sees more than `retention`.
                // Writers of several instances take turns (PostgreSQL's
                // advisory lock; SQLite's `BEGIN IMMEDIATE` already does):
                // two trims that each miss the other's uncommitted insert
                // would leave one batch too many.
                let mut tx = pool.begin_with(sql.begin).await?;
                if let Some(lock) = sql.events_lock {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                let mut insert = sqlx::QueryBuilder::new(schema::INSERT_EVENTS);
                insert.push_values(batch, |mut row, event| {
                    row.push_bind(event.time.as_secs())
                        .push_bind(event.config.clone())
                        .push_bind(event.config.as_deref().map(str::to_lowercase))
                        .push_bind(Outcome::of(event.accepted).as_str())
                        .push_bind(event.kind.map(ErrorKind::as_str))
                        .push_bind(event.user_id.clone())
                        .push_bind(event.first_login)
                        .push_bind(event.client.map(|c| c.to_string()))
                        .push_bind(event.message.clone())
                        .push_bind(event.hint.clone());
                });
                insert.build().execute(&mut *tx).await?;
                sqlx::query(schema::TRIM_EVENTS)
                    .bind(retention)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, Fail>(())
            })
        })
        .await
    }

    /// The stored login events `query` selects, newest first: at most
    /// `query.limit` (clamped to 1–500). For the next page, query again with
    /// `before` set to the last event's `id`; a page shorter than `limit`
    /// is the last. Each filter (`config`, `accepted`, `kind`, `user_id`)
    /// has an index that orders by `id`, so at the retention limit a page
    /// costs the rows it returns, not the table.
    ///
    /// ```no_run
    /// # async fn host(db: jwt_sso::SqlStore) -> Result<(), jwt_sso::StoreError> {
    /// use jwt_sso::events::EventQuery;
    ///
    /// let mut refused = EventQuery::default();
    /// refused.accepted = Some(false);
    /// refused.config = Some("ERP".into());
    /// for event in db.login_events(&refused).await? {
    ///     println!("{} {:?}: {}", event.time, event.kind, event.message.as_deref().unwrap_or(""));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn login_events(&self, query: &EventQuery) -> Result<Vec<LoginEvent>, StoreError> {
        let limit = query.limit.clamp(1, EventQuery::MAX_LIMIT);
        self.select_events(query, limit).await
    }

    /// The first `limit` events `query` selects, newest first (`limit` as
    /// given: the admin API asks for one more, to know whether a next page
    /// exists).
    pub(crate) async fn select_events(
        &self,
        query: &EventQuery,
        limit: u32,
    ) -> Result<Vec<LoginEvent>, StoreError> {
        let config_key = query.config.as_deref().map(str::to_lowercase);
        let before = query.before.map(|id| i64::try_from(id).unwrap_or(i64::MAX));
        let mut clauses = Vec::new();
        let mut next = 0;
        let mut param = |column: &str, op: &str| {
            next += 1;
            clauses.push(format!("{column} {op} ${next}"));
        };
        if config_key.is_some() {
            param("config_key", "=");
        }
        if query.accepted.is_some() {
            param("outcome", "=");
        }
        if query.kind.is_some() {
            param("kind", "=");
        }
        if query.user_id.is_some() {
            param("user_id", "=");
        }
        if before.is_some() {
            param("id", "<");
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "{}{filter} ORDER BY id DESC LIMIT ${}",
            schema::SELECT_EVENTS,
            next + 1
        );
        let fetch = i64::from(limit);
        self.run("reading login events", async {
            with_pool!(self, |pool, _sql| {
                let mut select = sqlx::query(&sql);
                if let Some(key) = &config_key {
                    select = select.bind(key);
                }
                if let Some(accepted) = query.accepted {
                    select = select.bind(Outcome::of(accepted).as_str());
                }
                if let Some(kind) = query.kind {
                    select = select.bind(kind.as_str());
                }
                if let Some(user_id) = &query.user_id {
                    select = select.bind(user_id);
                }
                if let Some(before) = before {
                    select = select.bind(before);
                }
                let rows = select.bind(fetch).fetch_all(pool).await?;
                let mut events = Vec::with_capacity(rows.len());
                for row in rows {
                    let outcome: String = row.try_get("outcome")?;
                    let kind: Option<String> = row.try_get("kind")?;
                    let client: Option<String> = row.try_get("client")?;
                    events.push(LoginEvent {
                        id: u64::try_from(row.try_get::<i64, _>("id")?).unwrap_or(0),
                        time: UnixTime::from_secs(row.try_get("time")?),
                        config: row.try_get("config")?,
                        accepted: Outcome::from_name(&outcome).ok_or_else(|| {
                            Fail::Data(format!(
                                "a stored login event has the outcome `{}`",
                                crate::error::escape_controls(&outcome)
                            ))
                        })? == Outcome::Accepted,
                        // A kind this release does not know (a newer instance's) reads as none.
                        kind: kind.as_deref().and_then(kind_named),
                        user_id: row.try_get("user_id")?,
                        first_login: row.try_get("first_login")?,
                        client: client.and_then(|c| c.parse().ok()),
                        message: row.try_get("message")?,
                        hint: row.try_get("hint")?,
                    });
                }
                Ok::<_, Fail>(events)
            })
        })
        .await
    }

    /// The number of unexpired sessions at `now` (for the
    /// `jwt_sso_sessions_active` gauge).
    pub(super) async fn count_sessions(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run("counting sessions", async {
            with_pool!(self, |pool, _sql| {
                let count: i64 = sqlx::query_scalar(schema::COUNT_SESSIONS)
                    .bind(now.as_secs())
                    .fetch_one(pool)
                    .await?;
                Ok::<_, Fail>(u64::try_from(count).unwrap_or(0))
            })
        })
        .await
    }
}

/// Write failures, logged at most once a minute.
#[derive(Default)]
struct Failures {
    dropped: usize,
    logged: Option<Instant>,
}

impl Failures {
    fn failed(&mut self, n: usize, error: &StoreError) {
        self.dropped += n;
        if self
            .logged
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(60))
        {
            tracing::warn!(
                target: "jwt_sso",
                dropped = self.dropped,
                error = %crate::error::escape_controls(&crate::error::chain(error)),
                "storing login events failed; the logins stand, their events are dropped"
            );
            self.logged = Some(Instant::now());
            self.dropped = 0;
        }
    }

    fn recovered(&mut self) {
        if self.logged.take().is_some() {
            tracing::info!(
                target: "jwt_sso",
                dropped_since_last_warning = self.dropped,
                "storing login events works again"
            );
            self.dropped = 0;
        }
    }
}
