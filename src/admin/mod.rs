//! Administering configurations: the error type of every change to a set of
//! configurations ([`AdminError`], always available), the one owner of
//! configuration state (`Configs`) and the administrator's operations on top
//! of it (`Admin`) (cargo feature `admin`).

pub use crate::error::AdminError;

#[cfg(feature = "admin")]
mod catalog;
#[cfg(feature = "admin")]
mod configs;
#[cfg(feature = "admin")]
mod ops;

#[cfg(feature = "admin")]
pub use configs::Configs;
#[cfg(feature = "admin")]
pub use ops::{Admin, Caller, ConfigSummary, ConfigView};
