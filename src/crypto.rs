//! The one place that chooses the crypto backend.
//!
//! jsonwebtoken (12) picks a process-wide provider from its own cargo features and
//! panics at the first use when a host's dependency graph enables both or
//! neither. jwt-sso never uses that default: it names its provider here, so
//! feature unification in a host can never select another backend or panic.
//!
//! With both `aws-lc` and `rust-crypto` enabled, `aws-lc` is used.

#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
compile_error!(
    "jwt-sso needs a crypto backend: enable the cargo feature `aws-lc` (the default) or `rust-crypto`"
);

use jsonwebtoken::crypto::CryptoProvider;

/// The provider every signature of jwt-sso goes through (`mint`'s; the
/// verifier calls aws-lc-rs itself).
#[cfg(feature = "aws-lc")]
#[cfg_attr(not(feature = "mint"), allow(dead_code))]
pub(crate) fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
}

/// The provider every signature of jwt-sso goes through.
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
pub(crate) fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
}
