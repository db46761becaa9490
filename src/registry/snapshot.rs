//! The snapshot of verifiers: one immutable state of a registry (its
//! verifiers, their routes, versions and warnings), and how a new one is
//! built from a set of configurations, keeping every verifier whose
//! configuration did not change.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use super::routing::Routes;
use crate::clock::{Clock, SystemClock};
use crate::config::JwtConfig;
use crate::error::AdminError;
use crate::error::{ConfigError, Error, LoginError, escape_controls};
#[cfg(feature = "remote")]
use crate::remote::{HttpFetch, RemoteOptions};
use crate::validated::ValidConfig;
use crate::verify::Verifier;

/// A registry-level note for the administrator: something in the set of
/// configurations that makes a configuration unreachable, found when the
/// set is loaded or changed (see [`Registry::warnings`](super::Registry::warnings)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The configuration concerned.
    pub config: String,
    /// What is wrong and what to change.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What every verifier of a registry is built with: the one clock, and the
/// remote key caches' options and HTTP client.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(super) clock: Arc<dyn Clock>,
    /// The host's administrator roles; `None`: the verifier's default.
    pub(super) admin_roles: Option<Arc<[String]>>,
    #[cfg(feature = "remote")]
    pub(super) options: RemoteOptions,
    /// `None`: each verifier's default client.
    #[cfg(feature = "remote")]
    pub(super) fetch: Option<Arc<dyn HttpFetch>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            clock: Arc::new(SystemClock),
            admin_roles: None,
            #[cfg(feature = "remote")]
            options: RemoteOptions::default(),
            #[cfg(feature = "remote")]
            fetch: None,
        }
    }
}

impl Settings {
    /// The verifier of `config` with these settings, keeping the warm cache
    /// of `previous` when the key source is the same.
    fn verifier_for(&self, config: ValidConfig, previous: Option<&Verifier>) -> Verifier {
        #[allow(unused_mut)]
        let mut verifier = Verifier::new(config);
        verifier.set_clock(Arc::clone(&self.clock));
        if let Some(roles) = &self.admin_roles {
            verifier.set_admin_roles(roles);
        }
        #[cfg(feature = "remote")]
        if verifier.is_remote() {
            verifier.set_remote(&self.options, self.fetch.as_ref());
            if let Some(previous) = previous {
                verifier.keep_keys_of(previous);
            }
        }
        #[cfg(not(feature = "remote"))]
        let _ = previous;
        verifier
    }
}

/// One immutable state of the registry.
pub(super) struct Snapshot {
    /// Keyed by [`key`], so iteration is sorted by name regardless of case.
    pub(super) entries: BTreeMap<String, Arc<Verifier>>,
    /// The store's version of each configuration (by [`key`]): the `ETag`.
    /// Empty for a registry built from a fixed set.
    pub(super) versions: HashMap<String, String>,
    /// Routing facts for every configuration, computed once per snapshot.
    pub(super) all: Routes,
    /// The same per `token_name`.
    pub(super) by_token_name: HashMap<String, Routes>,
    /// The configurations with `bearer: true` (the others' issuers foreign).
    pub(super) bearer: Routes,
    /// The same per `token_name`.
    pub(super) bearer_by_token_name: HashMap<String, Routes>,
    pub(super) warnings: Vec<ConfigWarning>,
    pub(super) settings: Arc<Settings>,
}

impl Snapshot {
    pub(super) fn new(
        entries: BTreeMap<String, Arc<Verifier>>,
        versions: HashMap<String, String>,
        settings: Arc<Settings>,
    ) -> Self {
        let all = Routes::new(entries.values());
        let mut grouped: HashMap<&str, Vec<&Arc<Verifier>>> = HashMap::new();
        for verifier in entries.values() {
            grouped
                .entry(verifier.config().token_name.as_str())
                .or_default()
                .push(verifier);
        }
        let bearer_of = |verifiers: &[&Arc<Verifier>]| {
            Routes::of_token_name(
                &all,
                verifiers
                    .iter()
                    .copied()
                    .filter(|v| v.config().bearer)
                    .collect::<Vec<_>>(),
            )
        };
        let bearer = bearer_of(&entries.values().collect::<Vec<_>>());
        let bearer_by_token_name = grouped
            .iter()
            .map(|(name, verifiers)| ((*name).to_owned(), bearer_of(verifiers)))
            .collect();
        let by_token_name = grouped
            .into_iter()
            .map(|(name, verifiers)| (name.to_owned(), Routes::of_token_name(&all, verifiers)))
            .collect();
        let warnings = find_warnings(&all);
        Snapshot {
            entries,
            versions,
            all,
            by_token_name,
            bearer,
            bearer_by_token_name,
            warnings,
            settings,
        }
    }

    pub(super) fn empty() -> Self {
        Snapshot::new(
            BTreeMap::new(),
            HashMap::new(),
            Arc::new(Settings::default()),
        )
    }

    pub(super) fn get(&self, name: &str) -> Option<&Arc<Verifier>> {
        self.entries.get(&key(name))
    }

    pub(super) fn names(&self) -> Vec<String> {
        self.entries.values().map(|v| v.name().to_owned()).collect()
    }

    pub(super) fn unknown(&self, name: &str) -> Error {
        Error::Login(LoginError::UnknownConfig {
            name: name.to_owned(),
            known: self.names(),
        })
    }

    /// The snapshot of `configs` (each with its version, if the store gave
    /// one) built with `settings`. A configuration equal to one this
    /// snapshot holds under the same name keeps its verifier as it is (the
    /// same `Arc`: nothing is validated or built again, its key cache stays
    /// warm); a changed one is rebuilt, reusing the parsed keys and warm
    /// cache of its previous verifier (by name, else by an equal remote key
    /// source for a renamed one) where its key source is unchanged. A
    /// repeated name is `duplicate_name`, a repeated stable id or an
    /// invalid configuration `config`, its field naming the entry (always
    /// when `name_entries`, else when there are several).
    pub(super) fn rebuilt(
        &self,
        configs: Vec<(JwtConfig, Option<String>)>,
        settings: Arc<Settings>,
        name_entries: bool,
    ) -> Result<Snapshot, AdminError> {
        // Verifiers are kept only when they were built with these settings.
        let same_settings = Arc::ptr_eq(&self.settings, &settings);
        let numbered = name_entries || configs.len() > 1;
        let mut entries: BTreeMap<String, Arc<Verifier>> = BTreeMap::new();
        let mut versions = HashMap::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        for (i, (config, version)) in configs.into_iter().enumerate() {
            let name = config.name.to_string();
            let key = key(&name);
            if let Some(existing) = entries.get(&key) {
                return Err(AdminError::duplicate(&name, existing.name()));
            }
            if let Some(other) = ids.insert(config.stable_id(), name.clone()) {
                return Err(same_id(&config, &other).into());
            }
            let verifier = match self.entries.get(&key) {
                Some(old) if same_settings && old.config() == &config => Arc::clone(old),
                _ => {
                    // Parsed keys are reused whatever the settings; a warm
                    // key cache only with the same clock and HTTP client.
                    let previous = previous_for(&self.entries, &config);
                    let valid = ValidConfig::revalidate(
                        config,
                        previous.as_deref().map(Verifier::valid_config),
                    )
                    .map_err(|e| if numbered { e.in_entry(i, &name) } else { e })?;
                    let warm = previous.as_deref().filter(|_| same_settings);
                    Arc::new(settings.verifier_for(valid, warm))
                }
            };
            if let Some(version) = version {
                versions.insert(key.clone(), version);
            }
            entries.insert(key, verifier);
        }
        Ok(Snapshot::new(entries, versions, settings))
    }
}

/// The old verifier whose warm cache a new configuration may keep: the one of
/// the same name, else (a rename) a remote one with an equal key source.
fn previous_for(
    old: &BTreeMap<String, Arc<Verifier>>,
    config: &JwtConfig,
) -> Option<Arc<Verifier>> {
    if let Some(same) = old.get(&key(&config.name)) {
        return Some(Arc::clone(same));
    }
    old.values()
        .find(|v| {
            v.is_remote()
                && v.config().key_source == config.key_source
                && v.config().issuer == config.issuer
                && v.config().algorithms == config.algorithms
        })
        .cloned()
}

fn same_id(config: &JwtConfig, other: &str) -> ConfigError {
    ConfigError::new(
        "id",
        format!(
            "configurations `{}` and `{other}` have the same stable id `{}`",
            escape_controls(&config.name),
            escape_controls(&config.stable_id())
        ),
        "give each configuration its own `id`, or leave `id` out of a configuration you create (the store gives it a fresh one)",
    )
}

/// The registry's key for a name: names are unique without regard to case.
pub(super) fn key(name: &str) -> String {
    name.to_lowercase()
}

/// Logs the warnings that are new in `now` compared with `before`.
pub(super) fn log_warnings(now: &[ConfigWarning], before: &[ConfigWarning]) {
    for warning in now.iter().filter(|w| !before.contains(w)) {
        tracing::warn!(
            target: "jwt_sso",
            config = %warning.config,
            warning = %warning.message,
            "configuration cannot be routed to"
        );
    }
}

/// Configurations that routing by `iss` can never choose, with what to change.
fn find_warnings(all: &Routes) -> Vec<ConfigWarning> {
    let enabled = &all.enabled;
    if enabled.len() < 2 {
        return Vec::new();
    }
    let shares_token_name = |v: &Verifier, others: &mut dyn Iterator<Item = &Arc<Verifier>>| {
        others
            .filter(|o| o.name() != v.name() && o.config().token_name == v.config().token_name)
            .map(|o| format!("`{}`", o.name()))
            .collect::<Vec<_>>()
    };
    let mut warnings = Vec::new();
    for verifier in enabled {
        let config = verifier.config();
        let problem = match &config.issuer {
            None => format!(
                "configuration `{}` has no `issuer`, and {} configurations are enabled, so tokens are routed by their `iss` and routing never chooses it",
                config.name,
                enabled.len()
            ),
            Some(issuer) => {
                let same: Vec<&Arc<Verifier>> = all.by_issuer[issuer]
                    .iter()
                    .filter(|o| o.name() != verifier.name())
                    .collect();
                if same.is_empty() {
                    continue;
                }
                format!(
                    "configuration `{}` has the same issuer `{}` as the enabled {}, so routing by `iss` refuses its tokens with ambiguous_config",
                    config.name,
                    escape_controls(issuer),
                    same.iter()
                        .map(|o| format!("`{}`", o.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        let sharing = shares_token_name(verifier, &mut enabled.iter());
        let message = if sharing.is_empty() {
            format!(
                "{problem}; only a token sent under its own token_name `{}` (which no other enabled configuration uses) reaches it. Set its `issuer` to the `iss` its tokens carry, or disable it",
                config.token_name
            )
        } else {
            format!(
                "{problem}, and it shares its token_name `{}` with {}: no token can ever be routed to it. Set its `issuer` to the `iss` its tokens carry, or give it its own token_name",
                config.token_name,
                sharing.join(", ")
            )
        };
        warnings.push(ConfigWarning {
            config: config.name.to_string(),
            message,
        });
    }
    warnings
}
