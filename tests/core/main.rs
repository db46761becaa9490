//! The core tier: no network, no database server, no browser. The
//! verification pipeline, keys, configuration, mapping, vectors, attacks and
//! properties, and the login flow on memory stores. CI runs it on each
//! crypto backend without default features:
//! `cargo test -p jwt-sso --no-default-features --features rust-crypto,mint,admin --test core`.
//! Each module declares the features it needs with `#![cfg(…)]`.

#[path = "../support/mod.rs"]
mod support;

mod attacks;
mod config;
mod external;
mod fuzz_regressions;
mod keys;
mod login;
mod login_policies;
mod login_stores;
mod mapping;
mod pipeline;
mod properties;
mod registry;
mod rfc_vectors;
mod rules;
mod time;
mod wycheproof;
