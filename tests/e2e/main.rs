//! The end-to-end tier: the examples as processes (`login_server`,
//! `jwt_check`, `mint`), several instances over one PostgreSQL, the web
//! console in headless Chromium. Under `CI=true` a missing browser or
//! database fails these tests instead of skipping them. Each module
//! declares the features it needs with `#![cfg(…)]`.

#[path = "../support/mod.rs"]
mod support;

mod admin_console;
mod config_file_server;
mod jwt_check;
mod login_server_limits;
mod multi_instance;
mod operating;
