//! The login event history in the SQL store (CONTRACT section 9): written
//! in batches by a task that subscribes to the login flow's
//! [`LoginEvents`], bounded by a retention count, read newest first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Row as _;

use super::{Dialect, Fail, Pool, PurgeTask, SqlStore, schema};
use crate::error::ErrorKind;
use crate::events::{EventHistory, EventPage, EventQuery, LoginEvent, LoginEvents, Outcome};
use crate::store::StoreError;
use crate::unix_time::UnixTime;

/// Events waiting for the writer; beyond this they are dropped (and counted).
const WRITER_BUFFER: usize = 4096;

/// The most events written in one statement.
const BATCH: usize = 128;

impl SqlStore {
    /// Starts a task that stores every event of `events` in this database
    /// (table `jwt_sso_login_events`), keeping the newest `retention` (the
    /// oldest are deleted; several instances on one PostgreSQL share the
    /// history, and its ids increase across them). Needs a tokio runtime;
    /// the task stops when the returned handle is dropped.
    ///
    /// A login never waits for it: events wait in a buffer of 4 096, are
    /// written in batches of up to 128 by one connection at a time, and a
    /// batch the database cannot take (down, locked, slow past the store's
    /// timeout) is dropped and counted ([`LoginEvents::dropped`], metric
    /// `jwt_sso_events_dropped_total`), with one warning a minute at most.
    /// A `retention` of 0 stores nothing.
    pub fn spawn_event_writer(&self, events: &LoginEvents, retention: u64) -> PurgeTask {
        let store = self.clone();
        let events = events.clone();
        let mut receiver = (retention > 0).then(|| events.subscribe(WRITER_BUFFER));
        let retention = i64::try_from(retention).unwrap_or(i64::MAX);
        PurgeTask(tokio::spawn(async move {
            let Some(receiver) = receiver.as_mut() else {
                return;
            };
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
                        events.count_dropped(batch.len() as u64);
                        failures.failed(batch.len(), &error);
                    }
                }
            }
        }))
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
                let mut tx = pool.begin_with(sql.begin).await?;
                let mut insert = sqlx::QueryBuilder::new(schema::INSERT_EVENTS);
                insert.push_values(batch, |mut row, event| {
                    row.push_bind(event.time.as_secs())
                        .push_bind(event.config.clone())
                        .push_bind(event.config.as_deref().map(str::to_lowercase))
                        .push_bind(event.outcome.as_str())
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

    async fn query_events(&self, query: &EventQuery) -> Result<EventPage, StoreError> {
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
        if query.outcome.is_some() {
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
        // One more than asked: whether there is a next page.
        let fetch = i64::from(query.limit) + 1;
        self.run("reading login events", async {
            with_pool!(self, |pool, _sql| {
                let mut select = sqlx::query(&sql);
                if let Some(key) = &config_key {
                    select = select.bind(key);
                }
                if let Some(outcome) = query.outcome {
                    select = select.bind(outcome.as_str());
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
                        outcome: Outcome::from_name(&outcome).ok_or_else(|| {
                            Fail::Data(format!(
                                "a stored login event has the outcome `{}`",
                                crate::error::escape_controls(&outcome)
                            ))
                        })?,
                        // A kind this release does not know (a newer instance's) reads as none.
                        kind: kind
                            .and_then(|k| ErrorKind::ALL.into_iter().find(|x| x.as_str() == k)),
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
        .map(|mut events| {
            let more = events.len() > query.limit as usize;
            events.truncate(query.limit as usize);
            let next = more.then(|| events.last().map(|e| e.id)).flatten();
            EventPage::new(events, next)
        })
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

impl EventHistory for SqlStore {
    /// The events `query` selects, newest first, through the index of its
    /// first filter (`config`, `outcome`, `kind`, `user_id`) or the primary
    /// key: at the retention limit a page costs the rows it returns, not the
    /// table.
    async fn events(&self, query: &EventQuery) -> Result<EventPage, StoreError> {
        self.query_events(query).await
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
