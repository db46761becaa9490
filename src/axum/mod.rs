//! axum integration (cargo feature `axum`).

pub mod admin;
