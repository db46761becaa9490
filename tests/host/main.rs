//! The host tier: everything in one process, over real parts on loopback.
//! HTTP to the axum host kit and the `login_server` router, SQL stores on
//! SQLite files (and on a PostgreSQL server of the test's own where a file
//! covers both databases), remote keys from a loopback provider, log
//! hygiene. Timeouts are made short through options; the defaults are
//! asserted as values. Each module declares the features it needs with
//! `#![cfg(…)]`.

#[path = "../support/mod.rs"]
mod support;

mod admin_http;
mod axum_extract;
mod browser_flow;
mod config_sync;
mod configs;
mod hygiene;
mod login_events;
mod login_remote;
mod login_server;
mod remote;
mod rules_http;
mod serve_bounds;
mod sql_stores;
