//! `Registry`: the administrator's list of named configurations, its file
//! format (CONTRACT section 6), and verification by name or by `iss`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use base64::Engine;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::config::{DEFAULT_MAX_TOKEN_BYTES, JwtConfig};
use crate::error::{Error, TokenPart};
use crate::json::{parse_claims, peek_string_member};
use crate::map::MappedIdentity;
use crate::verify::{STRICT_B64URL, Verifier, not_base64url, segments};

/// Named JWT configurations, each validated into a [`Verifier`]: the list an
/// administrator manages (name, enabled, last modified, creator).
///
/// - Names are unique without regard to case (`ERP` and `erp` are the same
///   name; Unicode lower-casing decides). Every lookup by name ignores case.
/// - [`create`](Registry::create), [`update`](Registry::update) and
///   [`set_enabled`](Registry::set_enabled) stamp `last_modified` from the
///   registry's [`Clock`]; `update` keeps the stored `created_by`. Loading a
///   file keeps its metadata as written.
/// - The registry is `Send + Sync`. Readers take a snapshot (an `Arc` of an
///   immutable map) and never wait for a writer's key parsing; a writer
///   builds a new map and swaps it in whole, so a verification sees either
///   the old or the new configuration, never a mixture. Writers are
///   serialised.
///
/// A token is routed ([`Registry::route`], [`Registry::verify`]) like this:
///
/// 1. exactly one configuration is enabled: that one decides, whatever the
///    token says (so its own `issuer_mismatch`, `disabled`, … errors apply);
/// 2. otherwise the unverified payload is decoded strictly, only to read
///    `iss`, and the enabled configuration whose `issuer` equals it exactly
///    is used; several such configurations are `ambiguous_config`, none is
///    `no_matching_config` (or `disabled` when a disabled configuration has
///    that issuer). These errors name the candidates and, of the token,
///    nothing but its `iss`.
///
/// ```
/// use jwt_sso::{ErrorKind, FixedClock, Registry};
///
/// let registry = Registry::from_json_str(r#"[
///   {"name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
///    "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}, "initial_roles": ["Viewer"]},
///   {"name": "CRM", "token_name": "token", "issuer": "https://crm.example.com",
///    "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "crm-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}, "user_type": "analyst"}
/// ]"#)?
/// .with_clock(FixedClock(1_767_225_600));
///
/// // A token from the ERP is verified by the ERP configuration (routing by `iss`).
/// let token = jwt_sso::mint::sign_json(
///     &jwt_sso::mint::SigningKey::from_secret(b"erp-secret-of-at-least-32-bytes!!"),
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe", "exp": 1_767_229_200}),
/// )?;
/// let identity = registry.verify(&token)?;
/// assert_eq!((identity.config.as_str(), identity.roles.as_slice()), ("ERP", &["Viewer".to_owned()][..]));
///
/// // Administration: names are unique without regard to case.
/// let mut copy = registry.get("erp").unwrap();
/// assert_eq!(registry.create(copy.clone()).unwrap_err().kind(), ErrorKind::DuplicateName);
/// copy.name = "ERP test".into();
/// copy.issuer = Some("https://erp-test.example.com".into());
/// copy.created_by = Some("admin".into());
/// registry.create(copy)?;
/// registry.set_enabled("erp", false)?;
/// assert_eq!(registry.verify(&token).unwrap_err().kind(), ErrorKind::Disabled);
///
/// let names: Vec<String> = registry.list().into_iter().map(|c| c.name).collect();
/// assert_eq!(names, ["CRM", "ERP", "ERP test"]);
/// // `registry.save("jwt-configs.json")` writes them back in the same format.
/// # Ok::<(), jwt_sso::Error>(())
/// ```
pub struct Registry {
    current: RwLock<Arc<Snapshot>>,
    writer: Mutex<()>,
    clock: Arc<dyn Clock>,
}

/// One immutable state of the registry.
struct Snapshot {
    /// Keyed by [`key`], so iteration is sorted by name regardless of case.
    entries: BTreeMap<String, Arc<Verifier>>,
    /// Routing facts, computed once per snapshot rather than per token.
    routes: Routes,
}

/// What [`route_in`] needs, precomputed from the entries.
struct Routes {
    /// The enabled configurations.
    enabled: Vec<Arc<Verifier>>,
    /// Enabled configurations by `issuer`.
    by_issuer: HashMap<String, Vec<Arc<Verifier>>>,
    /// The largest `max_token_bytes` of any configuration.
    max_token_bytes: usize,
}

impl Snapshot {
    fn new(entries: BTreeMap<String, Arc<Verifier>>) -> Self {
        let enabled: Vec<Arc<Verifier>> = entries
            .values()
            .filter(|v| v.config().enabled)
            .cloned()
            .collect();
        let mut by_issuer: HashMap<String, Vec<Arc<Verifier>>> = HashMap::new();
        for verifier in &enabled {
            if let Some(issuer) = &verifier.config().issuer {
                by_issuer
                    .entry(issuer.clone())
                    .or_default()
                    .push(Arc::clone(verifier));
            }
        }
        let max_token_bytes = entries
            .values()
            .map(|v| v.config().max_token_bytes)
            .max()
            .unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
        Snapshot {
            entries,
            routes: Routes {
                enabled,
                by_issuer,
                max_token_bytes,
            },
        }
    }

    fn get(&self, name: &str) -> Option<&Arc<Verifier>> {
        self.entries.get(&key(name))
    }

    fn unknown(&self, name: &str) -> Error {
        unknown(name, &self.entries)
    }
}

fn unknown(name: &str, entries: &BTreeMap<String, Arc<Verifier>>) -> Error {
    Error::UnknownConfig {
        name: name.to_owned(),
        known: entries.values().map(|v| v.name().to_owned()).collect(),
    }
}

/// The registry's key for a name: names are unique without regard to case.
fn key(name: &str) -> String {
    name.to_lowercase()
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("Registry")
            .field("configs", &snapshot.entries.values().collect::<Vec<_>>())
            .field("clock", &self.clock)
            .finish()
    }
}

impl Registry {
    /// An empty registry on the system clock.
    pub fn new() -> Self {
        Registry {
            current: RwLock::new(Arc::new(Snapshot::new(BTreeMap::new()))),
            writer: Mutex::new(()),
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock (default: [`SystemClock`]). It stamps
    /// `last_modified` and gives "now" to [`Registry::verify`] and
    /// [`Registry::verify_named`].
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// A registry holding `configs` as they are (metadata untouched), each
    /// validated. A repeated name is `duplicate_name`; an invalid
    /// configuration is `config`, its field naming the entry.
    pub fn from_configs(configs: impl IntoIterator<Item = JwtConfig>) -> Result<Self, Error> {
        let configs: Vec<JwtConfig> = configs.into_iter().collect();
        let numbered = configs.len() > 1;
        let mut entries: BTreeMap<String, Arc<Verifier>> = BTreeMap::new();
        for (i, config) in configs.into_iter().enumerate() {
            let name = config.name.clone();
            if let Some(existing) = entries.get(&key(&name)) {
                return Err(duplicate(&name, existing));
            }
            let verifier = Verifier::new(config).map_err(|e| match e {
                Error::Config {
                    field,
                    problem,
                    fix,
                } if numbered => Error::Config {
                    field: format!("{field} (entry {}, `{name}`)", i + 1),
                    problem,
                    fix,
                },
                other => other,
            })?;
            entries.insert(key(&name), Arc::new(verifier));
        }
        let registry = Registry::new();
        *registry
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Snapshot::new(entries));
        Ok(registry)
    }

    /// Parses the registry file format: one configuration object, or an
    /// array of them (JSON), and validates every entry as
    /// [`Registry::from_configs`] does.
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        Registry::from_configs(JwtConfig::parse_json_list(text)?)
    }

    /// Reads a registry file (see [`Registry::from_json_str`]). A file that
    /// cannot be read is `io`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|source| Error::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        })?;
        Registry::from_json_str(&text)
    }

    /// The registry as its file format: a pretty JSON array of every
    /// configuration, sorted by name. Secrets are written as they were given,
    /// so an `{"env": …}` secret stays a reference (see [`crate::SecretSpec`]);
    /// a literal secret is written in full, so protect the file accordingly.
    pub fn to_json_string(&self) -> String {
        let snapshot = self.snapshot();
        let configs: Vec<&JwtConfig> = snapshot.entries.values().map(|v| v.config()).collect();
        // JwtConfig always serialises (strings, numbers and JSON values only).
        serde_json::to_string_pretty(&configs).unwrap_or_default()
    }

    /// Writes [`Registry::to_json_string`] to `path`, atomically: a temporary
    /// file in the same directory is written, flushed and renamed over
    /// `path`. A new file gets mode `0600` on Unix (it may hold secrets); an
    /// existing file keeps its permissions. Failures are `io`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let mut text = self.to_json_string();
        text.push('\n');
        let temp = temp_path(path);
        let result = write_new(&temp, text.as_bytes(), fs::metadata(path).ok())
            .and_then(|()| fs::rename(&temp, path));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(|source| Error::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        })
    }

    /// Adds a configuration. Its `last_modified` is set to now; its
    /// `created_by` is kept as given. A name already present (in any case) is
    /// `duplicate_name`; an invalid configuration is `config`.
    pub fn create(&self, mut config: JwtConfig) -> Result<(), Error> {
        config.last_modified = Some(self.now());
        self.modify(|entries| {
            if let Some(existing) = entries.get(&key(&config.name)) {
                return Err(duplicate(&config.name, existing));
            }
            let name = key(&config.name);
            entries.insert(name, Arc::new(Verifier::new(config)?));
            Ok(())
        })
    }

    /// Replaces the configuration called `name` with `config`, which may
    /// carry a new name (a rename; the new name must be free). `last_modified`
    /// is set to now and `created_by` is kept from the stored configuration,
    /// whatever `config` says. Unknown `name` is `unknown_config`.
    pub fn update(&self, name: &str, mut config: JwtConfig) -> Result<(), Error> {
        config.last_modified = Some(self.now());
        self.modify(|entries| {
            let old_key = key(name);
            let Some(old) = entries.get(&old_key) else {
                return Err(unknown(name, entries));
            };
            let new_key = key(&config.name);
            if new_key != old_key
                && let Some(existing) = entries.get(&new_key)
            {
                return Err(duplicate(&config.name, existing));
            }
            config.created_by = old.config().created_by.clone();
            let verifier = Verifier::new(config)?;
            entries.remove(&old_key);
            entries.insert(new_key, Arc::new(verifier));
            Ok(())
        })
    }

    /// Enables or disables the configuration called `name` (a modification:
    /// `last_modified` is set to now). Unknown `name` is `unknown_config`.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), Error> {
        let now = self.now();
        self.modify(|entries| {
            let Some(old) = entries.get(&key(name)) else {
                return Err(unknown(name, entries));
            };
            let mut config = old.config().clone();
            config.enabled = enabled;
            config.last_modified = Some(now);
            let verifier = Verifier::new(config)?;
            entries.insert(key(name), Arc::new(verifier));
            Ok(())
        })
    }

    /// Removes the configuration called `name` and returns it. Unknown
    /// `name` is `unknown_config`.
    pub fn delete(&self, name: &str) -> Result<JwtConfig, Error> {
        self.modify(|entries| match entries.remove(&key(name)) {
            Some(removed) => Ok(removed.config().clone()),
            None => Err(unknown(name, entries)),
        })
    }

    /// The configuration called `name` (any case).
    pub fn get(&self, name: &str) -> Option<JwtConfig> {
        self.snapshot().get(name).map(|v| v.config().clone())
    }

    /// The verifier of the configuration called `name` (any case). It keeps
    /// working on that configuration even if the registry changes later.
    pub fn verifier(&self, name: &str) -> Option<Arc<Verifier>> {
        self.snapshot().get(name).cloned()
    }

    /// Every configuration, sorted by name without regard to case.
    pub fn list(&self) -> Vec<JwtConfig> {
        self.snapshot()
            .entries
            .values()
            .map(|v| v.config().clone())
            .collect()
    }

    /// How many configurations the registry holds.
    pub fn len(&self) -> usize {
        self.snapshot().entries.len()
    }

    /// Whether the registry holds no configuration.
    pub fn is_empty(&self) -> bool {
        self.snapshot().entries.is_empty()
    }

    /// The distinct `token_name`s of the enabled configurations, sorted: the
    /// parameter or cookie names a server should look for a token under.
    pub fn token_names(&self) -> Vec<String> {
        let snapshot = self.snapshot();
        let mut names: Vec<String> = snapshot
            .entries
            .values()
            .filter(|v| v.config().enabled)
            .map(|v| v.config().token_name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Chooses the configuration for `token` (see the type's documentation).
    ///
    /// Only the payload's `iss` is read, after a strict decode (three
    /// segments, strict base64url, a strict JSON object), and only when more
    /// than one configuration (or none) is enabled; the chosen verifier then
    /// checks the token in full.
    pub fn route(&self, token: &str) -> Result<Arc<Verifier>, Error> {
        self.routed(token).map(|(verifier, _)| verifier)
    }

    /// [`Registry::route`], with the decoded payload when routing read it.
    fn routed(&self, token: &str) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
        let snapshot = self.snapshot();
        let result = route_in(&snapshot, token);
        if let Err(error) = &result {
            tracing::warn!(
                target: "jwt_sso",
                kind = error.kind().as_str(),
                error = %error,
                "no configuration for token"
            );
        }
        result
    }

    /// Verifies `token` with the configuration [`Registry::route`] chooses,
    /// at the registry clock's time.
    pub fn verify(&self, token: &str) -> Result<MappedIdentity, Error> {
        self.verify_at(token, self.clock.now())
    }

    /// [`Registry::verify`] as if the time were `now` (seconds since 1970).
    pub fn verify_at(&self, token: &str, now: i64) -> Result<MappedIdentity, Error> {
        let (verifier, payload) = self.routed(token)?;
        match payload {
            // The routing decoded the payload already: the verifier reuses it.
            Some(payload) => verifier.verify_at_decoded(token, now, payload),
            None => verifier.verify_at(token, now),
        }
    }

    /// Verifies `token` with the configuration called `name` (any case), at
    /// the registry clock's time. Unknown `name` is `unknown_config`.
    pub fn verify_named(&self, name: &str, token: &str) -> Result<MappedIdentity, Error> {
        self.verify_named_at(name, token, self.clock.now())
    }

    /// [`Registry::verify_named`] as if the time were `now`.
    pub fn verify_named_at(
        &self,
        name: &str,
        token: &str,
        now: i64,
    ) -> Result<MappedIdentity, Error> {
        let verifier = {
            let snapshot = self.snapshot();
            snapshot
                .get(name)
                .cloned()
                .ok_or_else(|| snapshot.unknown(name))?
        };
        verifier.verify_at(token, now)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs one change on a copy of the current map and swaps the result in.
    /// Writers are serialised, so a change always starts from the latest map;
    /// readers keep the snapshot they hold. (A poisoned lock is harmless: the
    /// map behind it is immutable.)
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Arc<Verifier>>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = self.snapshot().entries.clone();
        let out = change(&mut entries)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(Snapshot::new(entries));
        Ok(out)
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.clock.now()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

fn duplicate(name: &str, existing: &Verifier) -> Error {
    Error::DuplicateName {
        name: name.to_owned(),
        existing: existing.name().to_owned(),
    }
}

fn route_in(snapshot: &Snapshot, token: &str) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
    let routes = &snapshot.routes;
    if let [only] = routes.enabled.as_slice() {
        return Ok((Arc::clone(only), None));
    }
    if token.len() > routes.max_token_bytes {
        return Err(Error::TokenTooLarge {
            size: token.len(),
            max: routes.max_token_bytes,
        });
    }
    let payload = decode_payload(token)?;
    // Fast: read up to the first `iss`. A token routed this way is then
    // parsed strictly by its verifier; one that finds no single route is
    // parsed strictly here, so that a malformed payload says so.
    let peeked = peek_string_member(&payload, "iss");
    let iss = match peeked {
        Ok(iss) => iss,
        Err(_) => return Err(not_strict()),
    };
    let matching = iss.as_deref().and_then(|iss| routes.by_issuer.get(iss));
    let matching = matching.map(Vec::as_slice).unwrap_or_default();
    if let [one] = matching {
        return Ok((Arc::clone(one), Some(payload)));
    }
    parse_claims(&payload, |name, _| name == "iss").map_err(|_| not_strict())?;
    match matching {
        [one] => Ok((Arc::clone(one), Some(payload))),
        [] => {
            let has_iss = |v: &&Arc<Verifier>| iss.is_some() && v.config().issuer == iss;
            if let Some(off) = snapshot
                .entries
                .values()
                .filter(|v| !v.config().enabled)
                .find(has_iss)
            {
                return Err(Error::Disabled {
                    config: off.name().to_owned(),
                });
            }
            Err(Error::NoMatchingConfig {
                iss,
                candidates: routes
                    .enabled
                    .iter()
                    .map(|v| (v.name().to_owned(), v.config().issuer.clone()))
                    .collect(),
            })
        }
        many => Err(Error::AmbiguousConfig {
            iss: iss.clone().unwrap_or_default(),
            candidates: many.iter().map(|v| v.name().to_owned()).collect(),
        }),
    }
}

/// The payload of an unverified token, decoded strictly, read only to
/// choose a configuration by its `iss`.
fn decode_payload(token: &str) -> Result<Vec<u8>, Error> {
    let [_, payload, _] = segments(token)?;
    STRICT_B64URL
        .decode(payload)
        .map_err(|_| not_base64url("payload"))
}

/// The payload is not a strict JSON object; errors never describe its contents.
fn not_strict() -> Error {
    Error::malformed(
        TokenPart::Payload,
        "is not a strict JSON object, so no configuration can be chosen by its `iss`",
    )
}

/// A temporary file name next to `path`, unique within this process.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{file}.{}.{n}.tmp", std::process::id()))
}

fn write_new(path: &Path, bytes: &[u8], existing: Option<fs::Metadata>) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    if let Some(existing) = existing {
        file.set_permissions(existing.permissions())?;
    }
    file.sync_all()
}
