//! # jwt-sso
//!
//! Accept externally signed JSON Web Tokens as a login. An administrator
//! writes a [`JwtConfig`] (issuer, audience, key source, allowed algorithms,
//! claim mapping); [`JwtConfig::validate`] checks it once and parses its
//! keys into a [`ValidConfig`]; a [`Verifier`] built from that turns each
//! incoming token into a [`Verified`] identity or an [`Error`] that says
//! precisely what failed and what to change.
//!
//! ```
//! use jwt_sso::{JwtConfig, ManualClock, UnixTime, Verifier};
//!
//! let config = JwtConfig::from_json_str(r#"{
//!     "name": "ERP",
//!     "token_name": "token",
//!     "issuer": "https://erp.example.com",
//!     "audience": "bi-server",
//!     "algorithms": ["HS256"],
//!     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
//!     "expiration_time": 3600,
//!     "claims": {"user_id": "loginname", "name": "name", "roles": "groups"},
//!     "system_prompts": [{"kind": "text", "slot": 1, "claim": "department"}],
//!     "initial_roles": ["Viewer"]
//! }"#)?;
//! let verifier = Verifier::new(config.validate()?)
//!     .with_clock(ManualClock::new(UnixTime::from_secs(1767225600)));
//!
//! # let token = jwt_sso::mint::SigningKey::from_secret(b"0123456789abcdef0123456789abcdef").sign(
//! #     jwt_sso::Algorithm::HS256,
//! #     &serde_json::json!({"iss": "https://erp.example.com", "aud": "bi-server",
//! #         "loginname": "jdoe", "name": "Jane Doe", "groups": ["Sales"],
//! #         "department": "Sales", "iat": 1767225600, "exp": 1767229200}),
//! # )?;
//! match verifier.verify_cached(&token) {
//!     Ok(identity) => {
//!         assert_eq!(identity.user_id, "jdoe");
//!         assert_eq!(identity.roles, ["Viewer", "Sales"]);
//!     }
//!     Err(e) => panic!("{} ({}): {}", e.kind(), e, e.hint()),
//! }
//! # Ok::<(), jwt_sso::Error>(())
//! ```
//!
//! ## One way through
//!
//! | task | call |
//! |---|---|
//! | read a configuration | [`JwtConfig::from_json_str`], [`JwtConfig::from_toml_str`] |
//! | check it, parse its keys | [`JwtConfig::validate`] → [`ValidConfig`] |
//! | verify with one configuration | [`Verifier::verify`] (async, fetches remote keys), [`Verifier::verify_cached`] (no I/O) |
//! | verify with a set of configurations | [`Registry::verify`], [`Registry::verify_cached`], with a [`Verification`] (route, time) |
//! | change configurations (saved, then served) | `Configs::apply` with a [`ConfigChange`] (cargo feature `admin`) |
//! | log a user in | [`Authenticator::login`], [`Authenticator::check`] (dry run), [`Authenticator::provision`] (a [`Verified`] identity) |
//! | serve it over HTTP | the `axum` module (cargo feature `axum`) |
//! | operate it | [`events`] ([`Authenticator::subscribe`], the SQL history), [`Registry::describe_metrics`] ([`metrics`]), `LoginOptions::max_failed_logins` |
//!
//! Every instant is a [`UnixTime`], every span a [`std::time::Duration`];
//! "now" comes from one [`Clock`] ([`SystemClock`], or [`ManualClock`] in
//! tests and tools), set once and handed on by [`Registry::clock`]. Errors
//! come by layer ([`TokenError`], [`ConfigError`], [`KeyFetchError`],
//! [`LoginError`], [`StoreError`] under [`Error`]; [`AdminError`] for
//! changes to the configurations) with one flat, stable [`ErrorKind`].
//!
//! ## The pipeline
//!
//! [`Verifier::verify`] checks, in this order, reporting the first failure
//! (CONTRACT section 2): the configuration is enabled; the token's size; three
//! segments of strict base64url and a strict JSON header; `alg` in the
//! allowlist; no `crit`; a key that fits `kid` and `alg`; the signature; then
//! — only for authenticated bytes — the payload, the types of the registered
//! claims, `exp`, the time rules, issuer and audience, the user ID, and the
//! claim mapping.
//!
//! ## Time
//!
//! With leeway `L` and `expiration_time` `E`: expired when `now >= exp + L`;
//! not yet valid when `now + L < nbf`; issued in the future when `now + L <
//! iat`; too old when `now > iat + E + L`, or without `iat` when `exp - now >
//! E + L`. The identity's `expires_at` is `min(exp, iat + E)`.
//!
//! ## Crypto backend
//!
//! Signatures go through `jsonwebtoken`'s `aws-lc` provider (cargo feature
//! `aws-lc`, the default) or its RustCrypto provider (`rust-crypto`), named
//! explicitly so a host's feature unification can never make it panic. With
//! both features on, `aws-lc` is used.
//!
//! ## Around the verifier
//!
//! - [`Registry`]: named configurations (a fixed set loaded from values or
//!   the registry file), verification routed by the token's `iss`, by the
//!   name it travelled under, or by configuration name. Read-only in public.
//! - `Configs` (cargo feature `admin`): the one owner of a set that changes.
//!   Every change — the administrator's API (`Admin`, on top of it), a
//!   host's own code, another instance, a hand edit of the configuration
//!   file — is saved in its [`ConfigStore`] first ([`ConfigStore::apply`]
//!   applies one [`ConfigChange`] to what the store holds now) and then
//!   installed in its registry, rebuilding only what changed. Versions
//!   (`ETag`s) are the store's random ones; ids are never reused; background
//!   work returns a `Task` that stops when dropped.
//! - [`Authenticator`]: the login flow verify → find → policies
//!   (`user_scope`, `create_users`) → single-use check → create on first
//!   login (with the configuration's user type and roles; concurrent first
//!   logins create one user) or update (`sync_on_login`).
//! - The stores it works on, as traits a host implements over its database:
//!   [`UserStore`], [`ReplayStore`] (used `jti`s), [`SessionStore`],
//!   [`ConfigStore`]; and in memory: [`MemoryStore`] (users, used `jti`s,
//!   sessions) and [`MemoryConfigStore`]; `ConfigFile` (the `--config` file
//!   as a store) and `SqlStore` (SQLite, PostgreSQL) with their features.
//! - Operating it (CONTRACT section 9): one [`events::LoginEvent`] per
//!   login attempt for the host's subscribers, the `tracing` span
//!   `jwt_sso.login` and one log event; their history in `SqlStore`
//!   (`spawn_event_writer`, `login_events`, the admin API's
//!   `GET /api/admin/events`); metrics through the `metrics` facade
//!   ([`metrics`]); and the login routes' throttle of failed logins per
//!   client address.
//! - The `login_server` example puts them together in an axum host with SQLite.
//!
//! ## Remote keys (cargo feature `remote`)
//!
//! `{"type": "jwks_uri", "url": "https://…"}` fetches a JWK Set;
//! `{"type": "issuer"}` finds it through OpenID Connect Discovery from the
//! configuration's `issuer`. `Verifier::new` stays free of I/O; keys are
//! fetched by `Verifier::verify` (or `Verifier::refresh`) and cached:
//! fresh for 10 minutes or the provider's `Cache-Control: max-age` clamped
//! to 1 minute–24 hours, one refetch per 30 s for unknown `kid`s shared by
//! concurrent requests, and the last good keys kept for 24 hours through an
//! outage. `Verifier::verify_cached` uses cached keys only. All of it lives
//! in one private module behind the `HttpFetch` trait; the rest of the crate
//! does no I/O. `RemoteOptions` documents every setting with a timeline.
//!
//! ## Where the contract is silent
//!
//! - A header `kid` that is not a string matches no key of a JWK Set.
//! - `exp`, `nbf` or `iat` given as `null` is a wrong type (`invalid_claim`).
//! - Empty strings in a roles array are dropped, like empty pieces of a roles string.
//! - A numeric prompt from a string accepts JSON number syntax with an optional
//!   leading `+` and surrounding whitespace; integers stay integers.
//! - An inline JWK Set holding private key material (`d`) is refused at load.
//! - Warnings are added only for absent prompt claims (section 4).
//! - A text prompt from a number takes the number's JSON text as the sender
//!   wrote it (`1e3` stays `"1e3"`); an integer user ID beyond 64 bits keeps its
//!   exact digits; a number written with a fraction or exponent is not an
//!   integer user ID (`42.0` is refused).
//! - Date prompts are `YYYY-MM-DD` in years 0000–9999 (no sign); a date-time
//!   whose UTC date falls outside is `invalid_claim`.
//! - The four time errors of step 11 are checked in the order listed:
//!   expired, not yet valid, issued in the future, too old.
//! - `expires_at` keeps fractional NumericDates to the microsecond.
//! - Routing (section 6): when exactly one configuration is enabled, every
//!   token goes to it without its payload being read. Otherwise a token whose
//!   `iss` matches only a disabled configuration is `disabled`; an `iss` that
//!   is absent or not a string matches nothing.
//! - The login request refuses `username` in any form, `null` and `""`
//!   included, and repeated members; `loginMode` must be a JSON number.
//! - Query and form parameters are percent-decoded (`+` is a space); broken
//!   escapes, non-UTF-8 results and a repeated token parameter are refused.
//!   Cookies are taken literally; a repeated token cookie is refused.
//! - Remote sources: HS* algorithms are a `config` error (a secret is never
//!   fetched), and a symmetric (`oct`) or private (`d`) key in a fetched set
//!   is skipped with a warning. A URL with credentials (`user:pass@`) is a
//!   `config` error, since URLs appear in logs and messages.
//! - A fetched JWK Set with more than 100 keys, or a response that is not a
//!   JWK Set, counts as a failed fetch: the last good keys keep serving.
//! - A fetched JWK Set with no usable key for the token's algorithm is no
//!   failed fetch (CONTRACT section 2): it replaces the cached set as any
//!   fetched set does (a warning says it has no usable key), and its tokens
//!   are `key_not_found` naming the set's URL and the skipped keys with their
//!   reasons; a miss refetches as an unknown `kid` does (once per 30 s).
//! - `EdDSA` and `Ed25519` verify the same Ed25519 signature: a token signed
//!   under one name and relabelled with the other verifies where that name is
//!   allowed (the header is what the sender declares; the key is the same).
//! - Messages escape control characters, Unicode format characters (`Cf`,
//!   bidi controls included) and line or paragraph separators in untrusted
//!   values, and cut each such value to 200 characters, counted after
//!   escaping, followed by `… (cut; N characters in all)`.
//! - A secret given as an object is refused without naming its members, and
//!   a TOML date-time given as a secret is reported as "a date-time".
//! - Only HTTP 200 is accepted; redirects are followed (at most 5) only on
//!   the same scheme, host and port. `Cache-Control: no-cache`/`no-store`
//!   count as `max-age=0` (so 1 minute); the `Age` header is not subtracted.
//! - After a failed fetch no new attempt is made for 10 seconds, so a
//!   provider that is down is not hammered by every login.
//! - Throttling (section 9) counts the refusals with a `4xx` status. A
//!   `503` refusal (`store`, `key_fetch`: the database or the identity
//!   provider could not be reached) does not count toward the failed-login
//!   limit: it is the server's failure, not the client's, and a client that
//!   retries through an outage must not find itself locked out for a minute
//!   once the server is back. Bad requests (`400`, `413`, `415`) count.
//! - The client address of the throttle and the events is the TCP peer as
//!   the host's listener reports it (`ConnectInfo<SocketAddr>`); a request
//!   without one is never throttled and its event has no `client`. With
//!   `--trust-forwarded-for`, a last `X-Forwarded-For` entry that is not an
//!   IP address falls back to the peer; an IPv4-mapped IPv6 address counts
//!   as its IPv4 address.
//! - A login event's `time` is the time the token was checked at (the
//!   registry's clock, or the verification's own time), in whole seconds.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin;
#[cfg(feature = "axum")]
pub mod axum;
mod checklist;
mod clock;
mod config;
#[cfg(feature = "admin")]
mod config_file;
mod crypto;
mod error;
pub mod events;
mod identity;
mod json;
mod key;
mod login;
mod map;
pub mod metrics;
// The unit tests sign their tokens with it under any feature set.
#[cfg(any(test, feature = "mint"))]
pub mod mint;
mod registry;
#[cfg(feature = "remote")]
mod remote;
mod secret;
#[cfg(feature = "sessions")]
mod session;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
mod store;
#[cfg(any(feature = "admin", feature = "sessions"))]
mod task;
#[cfg(feature = "axum")]
mod throttle;
mod time_fmt;
mod token;
mod unix_time;
mod validated;
mod verify;

pub use admin::AdminError;
#[cfg(feature = "admin")]
pub use admin::{Admin, Caller, ConfigSummary, ConfigView, Configs};
pub use checklist::{Checklist, StepResult, StepStatus};
pub use clock::{Clock, ManualClock, SystemClock};
/// The identity's string type: up to 24 bytes inline, longer ones on the
/// heap (the `compact_str` crate, re-exported so that hosts need not depend
/// on it).
pub use compact_str::CompactString;
pub use config::{
    Algorithm, ClaimNames, ConfigName, JwtConfig, KeySource, PromptKind, PromptMapping, RemoteUrl,
    RoleRule, SecretSpec, StaticKey, SyncField, SyncOnLogin, TokenName, UserIdNormalize, UserScope,
};
#[cfg(feature = "admin")]
pub use config_file::ConfigFile;
pub use error::{
    ConfigError, Error, ErrorKind, KeyFetchError, LoginError, StoreError, TokenError, TokenPart,
};
pub use identity::{MappedIdentity, PromptValue, SystemPrompt, Verified};
pub use login::{Authenticator, Login};
pub use map::ClaimMapper;
pub use registry::{ConfigWarning, Registry, Route, Verification};
#[cfg(feature = "remote")]
pub use remote::{FetchError, HttpFetch, HttpRequest, HttpResponse, RemoteOptions};
pub use secret::Secret;
#[cfg(feature = "sessions")]
pub use session::Sessions;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{SqlOptions, SqlStore};
pub use store::{
    ConfigChange, ConfigSet, ConfigStore, MemoryConfigStore, MemoryStore, ReplayStore, Session,
    SessionStore, StoredConfig, UsedJti, User, UserStore,
};
#[cfg(any(feature = "admin", feature = "sessions"))]
pub use task::Task;
pub use unix_time::UnixTime;
pub use validated::ValidConfig;
pub use verify::Verifier;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
