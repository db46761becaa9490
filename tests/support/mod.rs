//! The one support module of the three test tiers (`tests/core`,
//! `tests/host`, `tests/e2e`): each tier's `main.rs` includes it once, so
//! no fixture is defined twice.
//!
//! - [`fixtures`]: signers, configurations and the data-driven case runner;
//!   [`clocked`]: a verifier on a settable clock.
//! - [`owner`]: configurations owned in memory (`Configs`).
//! - [`provider`]: a loopback HTTP server standing in for an identity
//!   provider (JWK Sets, discovery documents, faults); [`idp`]: the keys,
//!   tokens and configurations of such a provider and a static ERP.
//! - [`pg`]: a PostgreSQL server of the test's own; [`browser`]: headless
//!   Chromium over WebDriver; [`process`]: the examples as processes;
//!   [`prometheus`]: the Prometheus text format; [`http`]: the one HTTP
//!   client (reqwest); [`server`]: a `login_server` process and a client
//!   of its API, with the issuers and secrets its tests share; [`admin`]:
//!   the administrator's API on loopback and its table of requests.
//! - [`app`]: the `login_server` example's router, run in process;
//!   [`served`]: that router on a loopback port; [`wire`]: raw HTTP/1.1 for
//!   the tests that must control the bytes on the wire; [`erp`]: CONTRACT
//!   section 1's example configuration on HS256, and the issuers, secrets
//!   and configuration values the in-process HTTP tests share.
#![allow(dead_code, unused_imports)] // each tier uses a different subset

#[cfg(all(feature = "axum", feature = "remote"))]
pub mod admin;
pub mod browser;
pub mod clocked;
pub mod erp;
pub mod fixtures;
#[cfg(feature = "remote")]
pub mod http;
#[cfg(feature = "remote")]
pub mod idp;
#[cfg(feature = "admin")]
pub mod owner;
pub mod pg;
#[cfg(feature = "admin")]
pub mod policies;
pub mod process;
pub mod prometheus;
pub mod provider;
#[cfg(all(feature = "axum", feature = "sqlite", feature = "remote"))]
pub mod served;
#[cfg(feature = "remote")]
pub mod server;
pub mod two_issuers;
pub mod wire;

#[cfg(all(feature = "axum", feature = "sqlite"))]
#[path = "../../examples/login_server/app.rs"]
pub mod app;
