//! `ConfigFile`: a [`ConfigStore`] over the registry file (one JSON array of
//! configurations): every change applied to what the file holds at that
//! moment and written atomically; edits made by hand noticed by
//! [`ConfigStore::revision`].

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::admin::AdminError;
use crate::config::JwtConfig;
use crate::error::ConfigError;
use crate::error::StoreError;
use crate::store::{ConfigChange, ConfigSet, ConfigStore, StoredConfig, apply_to};

/// The registry file as a [`ConfigStore`] (CONTRACT section 7: the
/// `--config` file is the store, not a snapshot).
///
/// - [`load`](ConfigStore::load) reads the file: one configuration object or
///   an array of them, metadata as written, nothing validated. A file that
///   does not parse is a failed [`StoreError`] whose source is the
///   [`ConfigError`](crate::ConfigError) (field, entry and configuration
///   name, and the file), and an unreadable file one whose source is an
///   [`AdminError::Io`](crate::AdminError::Io) (`Configs` reports both as
///   the errors they are).
/// - [`apply`](ConfigStore::apply) holds the store's lock, reads the file
///   again, applies the change to what it holds *now* (a configuration
///   added by hand is kept; a change based on a version the file no longer
///   has — the configuration was edited by hand since — is
///   [`StoreError::conflict()`], never an overwrite), and writes the whole
///   set, sorted by name: a temporary file in the same directory (mode
///   `0600`: it may hold secrets, so the file has that mode after every
///   save), `fsync`, `rename` over the file, `fsync` of the directory. A failure at any point leaves the file as it was; a
///   crash leaves the old file or the new one, never a part.
/// - **Versions** (the `ETag`s) are random and kept in memory: a
///   configuration gets a new one when it is created or changed through
///   this store, or when its content in the file changes by hand. They are
///   drawn anew when the process starts (an `If-Match` from before a
///   restart is stale).
/// - **The revision** changes exactly when the file's bytes change (by this
///   store or by hand): [`revision`](ConfigStore::revision) compares the
///   file's size, modification time and inode with the last reading, and
///   reads the file and compares its SHA-256 only when they differ or the
///   file was modified within the last two seconds (a change within one
///   tick of the file system's clock is not missed).
/// - **Seeding** ([`ConfigStore::seed`]) writes the file only when it does
///   not exist.
/// - Temporary files of saves that never finished (a crash between writing
///   and renaming; they hold the full configurations, secrets included) are
///   removed by every [`load`](ConfigStore::load) and after every save:
///   those named `.<file name>.<pid>.<n>.tmp` next to the file that this
///   process wrote, or that nobody touched for 10 s (a save writes and
///   renames its file within milliseconds).
///
/// One process should own the file: the lock is the process's, so two
/// servers writing one file can lose each other's changes (run several
/// instances on a database instead). The file is small and read and written
/// synchronously inside the futures.
///
/// ```no_run
/// use jwt_sso::{ConfigFile, Configs};
///
/// # async fn start() -> Result<(), jwt_sso::AdminError> {
/// let configs = Configs::new(ConfigFile::new("jwt-configs.json")).load().await?;
/// let registry = configs.registry();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    state: Mutex<FileState>,
}

/// What the store knows of the file from its last reading or writing.
#[derive(Debug, Default)]
struct FileState {
    /// The configurations as last read or written, with their versions,
    /// by name in lower case.
    known: HashMap<String, StoredConfig>,
    revision: u64,
    /// The SHA-256 of the file's bytes.
    digest: Option<[u8; 32]>,
    /// The file's metadata then, and when it was taken.
    stat: Option<(Stamp, SystemTime)>,
}

/// What changes when a file is written: size, modification time, and on
/// Unix the device and inode (an editor's save often renames a new file
/// over the old one).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
        }
    }
}

impl FileState {
    /// Notes the file's bytes: the revision moves when they differ from
    /// the last ones.
    fn observe(&mut self, bytes: &[u8]) {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if self.digest != Some(digest) {
            self.digest = Some(digest);
            self.revision += 1;
        }
    }

    /// `configs` as read from the file, each with the version it had when
    /// last seen with this content, else a new one.
    fn versioned(&mut self, configs: Vec<JwtConfig>) -> Result<Vec<StoredConfig>, StoreError> {
        let mut out = Vec::with_capacity(configs.len());
        for config in configs {
            let key = config.name.to_lowercase();
            let version = match self.known.get(&key) {
                Some(known) if known.config == config => known.version.clone(),
                _ => crate::store::new_version()?,
            };
            out.push(StoredConfig { config, version });
        }
        // In the file's order, so that an error names the entry as the
        // file numbers it.
        self.remember(&out);
        Ok(out)
    }

    fn remember(&mut self, configs: &[StoredConfig]) {
        self.known = configs
            .iter()
            .map(|c| (c.config.name.to_lowercase(), c.clone()))
            .collect();
    }

    fn set(&self, configs: Vec<StoredConfig>) -> ConfigSet {
        ConfigSet {
            configs,
            revision: self.revision,
        }
    }
}

/// A file modified this recently may change again within the same tick of
/// the file system's clock: it is read rather than trusted by its metadata.
const SETTLED: Duration = Duration::from_secs(2);

impl ConfigFile {
    /// A store over the file at `path` (not read until [`ConfigStore::load`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigFile {
            path: path.into(),
            state: Mutex::new(FileState::default()),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's lock: held while the file is read and written, so this
    /// process's reads and changes never interleave. (A poisoned lock is
    /// harmless: the state behind it is replaced whole.)
    fn lock(&self) -> MutexGuard<'_, FileState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn io_error(&self, action: &'static str, source: io::Error) -> StoreError {
        StoreError::failed(AdminError::Io {
            action,
            path: self.path.display().to_string(),
            source,
        })
    }

    /// Reads and parses the file, noting its bytes and metadata.
    fn read(&self, state: &mut FileState) -> Result<ConfigSet, StoreError> {
        let stamp = fs::metadata(&self.path).map(|m| Stamp::of(&m));
        let bytes = fs::read(&self.path).map_err(|e| self.io_error("read", e))?;
        state.observe(&bytes);
        if let Ok(stamp) = stamp {
            state.stat = Some((stamp, SystemTime::now()));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            StoreError::failed(self.in_file(ConfigError::new(
                "configuration",
                "the file is not UTF-8 text",
                "save the file as UTF-8",
            )))
        })?;
        let configs =
            JwtConfig::parse_json_list(&text).map_err(|e| StoreError::failed(self.in_file(e)))?;
        let configs = state.versioned(configs)?;
        Ok(state.set(configs))
    }

    /// A `config` error of the file's text, saying which file (so that a
    /// host can report it as the configuration error it is: the
    /// [`StoreError`] holds this [`ConfigError`] as its source).
    fn in_file(&self, error: ConfigError) -> ConfigError {
        error.in_file(&self.path)
    }

    /// Brings the revision up to date with the file: reads it when its
    /// metadata changed (or it changed too recently to tell).
    fn check(&self, state: &mut FileState) -> Result<(), StoreError> {
        let meta = fs::metadata(&self.path).map_err(|e| self.io_error("read", e))?;
        let stamp = Stamp::of(&meta);
        let now = SystemTime::now();
        if let Some((seen, at)) = &state.stat
            && *seen == stamp
            && stamp
                .modified
                .and_then(|m| at.duration_since(m).ok())
                .is_some_and(|age| age > SETTLED)
        {
            return Ok(());
        }
        let bytes = fs::read(&self.path).map_err(|e| self.io_error("read", e))?;
        state.observe(&bytes);
        state.stat = Some((stamp, now));
        Ok(())
    }

    fn apply_now(&self, change: &ConfigChange) -> Result<ConfigSet, StoreError> {
        let mut state = self.lock();
        let mut configs = self.read(&mut state)?.configs;
        apply_to(&mut configs, change)?;
        let mut text =
            serde_json::to_string_pretty(&configs.iter().map(|c| &c.config).collect::<Vec<_>>())
                .map_err(StoreError::failed)?;
        text.push('\n');
        write_atomically(&self.path, text.as_bytes()).map_err(|e| self.io_error("write", e))?;
        remove_stale_temps(&self.path, Duration::from_secs(10));
        state.observe(text.as_bytes());
        state.stat = fs::metadata(&self.path)
            .ok()
            .map(|m| (Stamp::of(&m), SystemTime::now()));
        state.remember(&configs);
        Ok(state.set(configs))
    }

    fn seed_now(&self, configs: &[JwtConfig]) -> Result<bool, StoreError> {
        let _state = self.lock();
        if fs::symlink_metadata(&self.path).is_ok() {
            return Ok(false);
        }
        let mut sorted: Vec<&JwtConfig> = configs.iter().collect();
        sorted.sort_by_key(|c| c.name.to_lowercase());
        let mut text = serde_json::to_string_pretty(&sorted).map_err(StoreError::failed)?;
        text.push('\n');
        write_atomically(&self.path, text.as_bytes()).map_err(|e| self.io_error("write", e))?;
        Ok(true)
    }
}

impl ConfigStore for ConfigFile {
    async fn load(&self) -> Result<ConfigSet, StoreError> {
        let mut state = self.lock();
        // None of this process's saves is under way while the lock is held.
        remove_stale_temps(&self.path, Duration::from_secs(10));
        self.read(&mut state)
    }

    async fn apply(&self, change: &ConfigChange) -> Result<ConfigSet, StoreError> {
        self.apply_now(change)
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        let mut state = self.lock();
        self.check(&mut state)?;
        Ok(state.revision)
    }

    /// Writes `configs` to the file when there is no file yet.
    async fn seed(&self, configs: &[JwtConfig]) -> Result<bool, StoreError> {
        self.seed_now(configs)
    }
}

/// The temporary file of one save of `path`: `.<file name>.<pid>.<n>.tmp`
/// in the same directory.
fn temp_path(dir: &Path, file_name: &str, pid: u32, n: u64) -> PathBuf {
    dir.join(format!(".{file_name}.{pid}.{n}.tmp"))
}

/// The process id in a name made by [`temp_path`] for `file_name`, if it is one.
fn temp_owner(name: &str, file_name: &str) -> Option<u32> {
    let rest = name
        .strip_prefix('.')?
        .strip_prefix(file_name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let (pid, n) = rest.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n)).then(|| pid.parse().ok())?
}

/// Removes the temporary files of `path`'s saves (named by [`temp_path`])
/// that this process made (call it when none of its saves is under way) or
/// that were last modified longer than `untouched` ago: a save that was
/// interrupted left them, and they hold full secrets. Best effort: what
/// cannot be listed or removed is logged and left.
fn remove_stale_temps(path: &Path, untouched: Duration) {
    let (dir, file_name) = split_path(path);
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|n| temp_owner(n, &file_name)) else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > untouched);
        if owner != me && !old {
            continue; // another process may be saving right now
        }
        let temp = entry.path();
        match fs::remove_file(&temp) {
            Ok(()) => tracing::info!(
                target: "jwt_sso",
                file = %crate::error::escape_controls(&temp.display().to_string()),
                "removed the temporary file of an unfinished configuration save"
            ),
            Err(e) => tracing::warn!(
                target: "jwt_sso",
                file = %crate::error::escape_controls(&temp.display().to_string()),
                error = %e,
                "cannot remove the temporary file of an unfinished configuration save"
            ),
        }
    }
}

/// The directory of `path` (`.` for a bare name) and its file name.
fn split_path(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, file_name)
}

/// Writes `bytes` to `path` so that a reader — or the next start after a
/// crash — sees the old file or the new one, never a part: a temporary file
/// next to it (`.<file name>.<pid>.<n>.tmp`, mode `0600`: it holds
/// secrets, and so does the file it becomes), `fsync`, `rename`, `fsync` of
/// the directory. The temporary file is removed on
/// failure. The crate's one atomic write.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (dir, file_name) = split_path(path);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = temp_path(&dir, &file_name, std::process::id(), n);
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        #[cfg(unix)]
        fs::File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> JwtConfig {
        JwtConfig::from_json_str(&format!(
            r#"{{"name": "{name}", "token_name": "token", "algorithms": ["HS256"],
                "key_source": {{"type": "static", "secret": "config-file-secret-0123456789abcdef"}},
                "expiration_time": 3600, "claims": {{"user_id": "sub"}}}}"#
        ))
        .unwrap()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn changes_are_applied_to_the_file_as_it_is_now_and_written_whole() {
        let dir = std::env::temp_dir().join(format!("jwt-sso-cf-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("configs.json");
        fs::write(&path, "[]").unwrap();
        let store = ConfigFile::new(&path);
        let loaded = block_on(store.load()).unwrap();
        assert!(loaded.configs.is_empty());
        assert_eq!(loaded.revision, 1);

        let erp = config("ERP");
        let set = block_on(store.apply(&ConfigChange::Create(erp.clone()))).unwrap();
        assert_eq!(set.revision, 2);
        let version = set.get("erp").unwrap().version.clone();
        assert_eq!(version.len(), 32);
        let r = block_on(store.apply(&ConfigChange::Create(config("erp"))));
        assert!(r.is_err_and(|e| e.is_conflict()));

        // A configuration added by hand is kept by the next change, and the
        // revision saw the hand edit.
        let mut text = fs::read_to_string(&path).unwrap();
        let hand = serde_json::to_string(&config("Hand")).unwrap();
        text = text.replacen('[', &format!("[{hand},"), 1);
        fs::write(&path, text).unwrap();
        assert_eq!(block_on(store.revision()).unwrap(), 3);

        let mut changed = erp.clone();
        changed.leeway = 5;
        let stale = ConfigChange::Update {
            name: "erp".into(),
            version: "not-the-version".into(),
            config: changed.clone(),
        };
        assert!(block_on(store.apply(&stale)).is_err_and(|e| e.is_conflict()));
        let current = ConfigChange::Update {
            name: "erp".into(),
            version: version.clone(),
            config: changed.clone(),
        };
        let set = block_on(store.apply(&current)).unwrap();
        assert_eq!(set.revision, 4);
        assert_ne!(set.get("erp").unwrap().version, version);
        let hand_version = set.get("hand").unwrap().version.clone();
        let loaded = block_on(store.load()).unwrap();
        assert_eq!(loaded.into_configs(), vec![changed.clone(), config("Hand")]);
        // Reading again changes no version.
        assert_eq!(
            block_on(store.load()).unwrap().get("hand").unwrap().version,
            hand_version
        );
        #[cfg(unix)]
        {
            // Every save leaves the file private (it holds secrets), and so
            // does a seed.
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let again = ConfigChange::Update {
                name: "hand".into(),
                version: hand_version.clone(),
                config: config("Hand"),
            };
            block_on(store.apply(&again)).unwrap();
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let fresh = dir.join("fresh.json");
            assert!(block_on(ConfigFile::new(&fresh).seed(&[config("Seed")])).unwrap());
            let mode = fs::metadata(&fresh).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::remove_file(&fresh).unwrap();
        }
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let delete = ConfigChange::Delete { name: "ERP".into() };
        let set = block_on(store.apply(&delete)).unwrap();
        assert_eq!(set.into_configs(), vec![config("Hand")]);
        assert!(block_on(store.apply(&delete)).is_err_and(|e| e.is_conflict()));
        // The file exists: nothing is seeded into it.
        assert!(!block_on(store.seed(&[config("Seed")])).unwrap());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn temporary_files_of_unfinished_saves_are_removed_at_load() {
        use std::time::SystemTime;

        let dir = std::env::temp_dir().join(format!("jwt-sso-cf-temps-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("configs.json");
        fs::write(&path, "[]").unwrap();
        let me = std::process::id();
        let secret = r#"[{"key_source":{"secret":"a-leaked-secret"}}]"#;
        let make = |name: &str, age: Duration| {
            let file = dir.join(name);
            fs::write(&file, secret).unwrap();
            let at = SystemTime::now() - age;
            fs::File::options()
                .write(true)
                .open(&file)
                .unwrap()
                .set_modified(at)
                .unwrap();
            file
        };
        let hour = Duration::from_secs(3600);
        // Left by a crashed process (an hour old), and by this process.
        let crashed = make(".configs.json.4000000.0.tmp", hour);
        let mine = make(&format!(".configs.json.{me}.77.tmp"), Duration::ZERO);
        // Another process's save under way (just written): kept for now.
        let saving = make(".configs.json.4000001.3.tmp", Duration::ZERO);
        // Not this file's saves: kept.
        let other_file = make(".other.json.4000000.0.tmp", hour);
        let backup = make(".configs.json.backup.tmp", hour);
        let plain = make("configs.json.tmp", hour);

        let store = ConfigFile::new(&path);
        let loaded = block_on(store.load()).unwrap();
        assert!(loaded.configs.is_empty());
        assert!(!crashed.exists());
        assert!(!mine.exists());
        for kept in [&saving, &other_file, &backup, &plain] {
            assert!(kept.exists(), "{}", kept.display());
        }

        // Once untouched for long, the other process's file goes too, at
        // the next save.
        fs::File::options()
            .write(true)
            .open(&saving)
            .unwrap()
            .set_modified(SystemTime::now() - hour)
            .unwrap();
        let erp = config("ERP");
        block_on(store.apply(&ConfigChange::Create(erp))).unwrap();
        assert!(!saving.exists());
        assert!(other_file.exists() && backup.exists() && plain.exists());
        assert_eq!(
            temp_owner(".configs.json.12.3.tmp", "configs.json"),
            Some(12)
        );
        assert_eq!(temp_owner(".configs.json.12.tmp", "configs.json"), None);
        assert_eq!(temp_owner(".configs.json.x.3.tmp", "configs.json"), None);
        assert_eq!(temp_owner(".configs.json..3.tmp", "configs.json"), None);
        let _ = fs::remove_dir_all(&dir);
    }
}
