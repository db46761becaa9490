//! A verifier on a settable clock, so that a test verifies "at" any time:
//! the library's `Verifier` takes "now" from its clock only.
#![allow(dead_code)] // each test binary uses a different subset

use jwt_sso::{Error, ManualClock, UnixTime, ValidConfig, Verified, Verifier};

/// 2026-01-01T00:00:00Z, where the clock starts.
const START: i64 = 1_767_225_600;

/// A verifier on a [`ManualClock`], so that a test verifies "at" any time.
#[derive(Debug)]
pub struct TestVerifier {
    verifier: Verifier,
    clock: ManualClock,
}

impl TestVerifier {
    /// A verifier for `config` whose clock stands at 2026-01-01T00:00:00Z.
    pub fn new(config: ValidConfig) -> Self {
        let clock = ManualClock::new(UnixTime::from_secs(START));
        TestVerifier {
            verifier: Verifier::new(config).with_clock(clock.clone()),
            clock,
        }
    }

    /// [`Verifier::verify_cached`] with the clock set to `now`.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<Verified, Error> {
        self.clock.set(UnixTime::from_secs(now));
        self.verifier.verify_cached(token)
    }

    /// [`Verifier::verify`] with the clock set to `now`.
    pub async fn verify_at_async(&self, token: &str, now: i64) -> Result<Verified, Error> {
        self.clock.set(UnixTime::from_secs(now));
        self.verifier.verify(token).await
    }

    /// The clock.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The verifier (on the manual clock until given another).
    pub fn into_inner(self) -> Verifier {
        self.verifier
    }
}

impl std::ops::Deref for TestVerifier {
    type Target = Verifier;

    fn deref(&self) -> &Verifier {
        &self.verifier
    }
}

/// The verifier of a configuration given as JSON, or the error its
/// parsing or validation gives.
pub fn load(v: &serde_json::Value) -> Result<TestVerifier, Error> {
    jwt_sso::JwtConfig::from_json_str(&v.to_string())
        .and_then(jwt_sso::JwtConfig::validate)
        .map(TestVerifier::new)
        .map_err(Error::from)
}

/// [`load`] that must succeed (the error and its hint in the panic).
#[track_caller]
pub fn verifier(v: &serde_json::Value) -> TestVerifier {
    load(v).unwrap_or_else(|e| panic!("{e}: {}", e.hint()))
}
