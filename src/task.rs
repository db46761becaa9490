//! [`Task`]: the one handle of the crate's background work.

use std::future::Future;
use std::time::Duration;

/// A background task of this crate: the configuration poller
/// (`Configs::spawn_sync`), the SQL purge (`SqlStore::spawn_purge`), the
/// session purge (`Sessions::spawn_purger`) and the event history's writer
/// (`SqlStore::spawn_event_writer`).
///
/// It runs on the tokio runtime it was started on **until this handle is
/// dropped** (or [`stop`](Task::stop)ped): dropping the handle aborts the
/// task at its next `.await`, so work it was doing then (one poll, one
/// purge statement) is cancelled, never half-applied: every such step is
/// one store call that either completes or changes nothing. Keep the handle
/// for as long as the work should run, e.g. in the host's state; a handle
/// dropped at once (`let _ = …`) stops the task at once.
#[must_use = "the task stops when this handle is dropped"]
#[derive(Debug)]
pub struct Task(tokio::task::JoinHandle<()>);

impl Task {
    /// Runs `step` now and then every `every` (at least 10 ms; a tick missed
    /// while a step runs is not made up), on the current tokio runtime.
    pub(crate) fn every<F, Fut>(every: Duration, mut step: F) -> Task
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let every = every.max(Duration::from_millis(10));
        Task(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                step().await;
            }
        }))
    }

    /// Runs `work` on the current tokio runtime until it ends or the handle
    /// is dropped.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn spawn(work: impl Future<Output = ()> + Send + 'static) -> Task {
        Task(tokio::spawn(work))
    }

    /// Stops the task now (as dropping the handle does).
    pub fn stop(self) {}

    /// Whether the task has ended (it ends only when stopped, or when its
    /// runtime shuts down).
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}
