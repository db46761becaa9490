//! `ConfigFile`: a [`ConfigStore`] over the registry file (one JSON array of
//! configurations), written atomically.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::config::JwtConfig;
use crate::error::Error;
use crate::store::{ConfigChange, ConfigStore, StoreError};

/// The registry file as a [`ConfigStore`] (CONTRACT section 7: "the
/// `--config` file, written atomically").
///
/// - [`load`](ConfigStore::load) reads the file: one configuration object or
///   an array of them, metadata as written, nothing validated (build the
///   registry with [`crate::Registry::from_configs`]). A file that does not
///   parse is a [`StoreError::Failed`] whose source is the `config`
///   [`Error`] (field, entry and configuration name, and the file), and an
///   unreadable file one whose source is the `io` [`Error`]: downcast it to
///   report that error rather than a store failure.
/// - [`apply`](ConfigStore::apply) re-reads the file, checks the change
///   against what it holds (a taken name, or a stored version other than the
///   expected one, is [`StoreError::Conflict`]), then writes the whole set:
///   a temporary file in the same directory (mode `0600`: it may hold
///   secrets), `fsync`, `rename` over the file, `fsync` of the directory. A
///   failure at any point leaves the file as it was.
/// - The revision is a counter: 1 after the first load, one more for every
///   applied change.
/// - Temporary files of saves that never finished (a crash between writing
///   and renaming; they hold the full configurations, secrets included) are
///   removed by every [`load`](ConfigStore::load) and after every save:
///   those named `.<file name>.<pid>.<n>.tmp` next to the file that this
///   process wrote, or that nobody touched for 10 s (a save writes and
///   renames its file within milliseconds).
///
/// The file is small and read and written synchronously inside the future.
///
/// ```no_run
/// use jwt_sso::{ConfigFile, ConfigStore, Registry};
///
/// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
/// let store = ConfigFile::new("jwt-configs.json");
/// let (configs, _revision) = store.load().await.map_err(|e| e.to_string())?;
/// let registry = Registry::from_configs(configs)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    revision: AtomicU64,
    writer: Mutex<()>,
}

impl ConfigFile {
    /// A store over the file at `path` (not read until [`ConfigStore::load`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigFile {
            path: path.into(),
            revision: AtomicU64::new(0),
            writer: Mutex::new(()),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Vec<JwtConfig>, StoreError> {
        let text = fs::read_to_string(&self.path).map_err(|source| {
            StoreError::failed(Error::Io {
                action: "read",
                path: self.path.display().to_string(),
                source,
            })
        })?;
        JwtConfig::parse_json_list(&text).map_err(|e| StoreError::failed(self.in_file(e)))
    }

    /// A `config` error of the file's text, saying which file (so that a
    /// host can report it as the configuration error it is: the
    /// [`StoreError`] holds this [`Error`] as its source).
    fn in_file(&self, error: Error) -> Error {
        match error {
            Error::Config {
                field,
                problem,
                fix,
            } => Error::Config {
                field,
                problem: format!("{problem} (in `{}`)", self.path.display()),
                fix,
            },
            other => other,
        }
    }

    fn apply_now(&self, change: ConfigChange<'_>, after: &[JwtConfig]) -> Result<u64, StoreError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = self.read()?;
        let find = |name: &str| {
            let key = name.to_lowercase();
            stored.iter().find(|c| c.name.to_lowercase() == key)
        };
        match change {
            ConfigChange::Create(config) => {
                if find(&config.name).is_some() {
                    return Err(StoreError::Conflict);
                }
            }
            ConfigChange::Update {
                name,
                expected_version,
                config,
            } => {
                match find(name) {
                    Some(old) if old.version() == expected_version => {}
                    _ => return Err(StoreError::Conflict),
                }
                if config.name.to_lowercase() != name.to_lowercase() && find(&config.name).is_some()
                {
                    return Err(StoreError::Conflict);
                }
            }
            ConfigChange::Delete { name } => {
                if find(name).is_none() {
                    return Err(StoreError::Conflict);
                }
            }
        }
        let mut sorted: Vec<&JwtConfig> = after.iter().collect();
        sorted.sort_by_key(|c| c.name.to_lowercase());
        let mut text = serde_json::to_string_pretty(&sorted).map_err(StoreError::failed)?;
        text.push('\n');
        write_atomically(&self.path, text.as_bytes()).map_err(|source| {
            StoreError::failed(Error::Io {
                action: "write",
                path: self.path.display().to_string(),
                source,
            })
        })?;
        remove_stale_temps(&self.path, Duration::from_secs(10));
        Ok(self.revision.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

impl ConfigFile {
    /// Removes the stale temporary files of this file's saves, holding the
    /// writer's lock (so none of this process's saves is under way).
    fn remove_stale_temps(&self) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        remove_stale_temps(&self.path, Duration::from_secs(10));
    }
}

impl ConfigStore for ConfigFile {
    async fn load(&self) -> Result<(Vec<JwtConfig>, u64), StoreError> {
        self.remove_stale_temps();
        let configs = self.read()?;
        let _ = self
            .revision
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
        Ok((configs, self.revision.load(Ordering::SeqCst)))
    }

    async fn apply(
        &self,
        change: ConfigChange<'_>,
        after: &[JwtConfig],
    ) -> Result<u64, StoreError> {
        self.apply_now(change, after)
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.revision.load(Ordering::SeqCst))
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

/// Writes `bytes` to `path` so that a reader sees the old or the new file,
/// never a part: a temporary file next to it (mode `0600`), `fsync`,
/// `rename`, `fsync` of the directory. The temporary file is removed on
/// failure.
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
    fn changes_are_checked_against_the_file_and_written_whole() {
        let dir = std::env::temp_dir().join(format!("jwt-sso-cf-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("configs.json");
        fs::write(&path, "[]").unwrap();
        let store = ConfigFile::new(&path);
        let (loaded, revision) = block_on(store.load()).unwrap();
        assert!(loaded.is_empty());
        assert_eq!(revision, 1);

        let erp = config("ERP");
        let r = block_on(store.apply(ConfigChange::Create(&erp), std::slice::from_ref(&erp)));
        assert_eq!(r.unwrap(), 2);
        let taken = config("erp");
        let r = block_on(store.apply(ConfigChange::Create(&taken), &[erp.clone(), taken.clone()]));
        assert!(matches!(r, Err(StoreError::Conflict)));

        let mut changed = erp.clone();
        changed.leeway = 5;
        let stale = ConfigChange::Update {
            name: "erp",
            expected_version: "not-the-version",
            config: &changed,
        };
        let r = block_on(store.apply(stale, std::slice::from_ref(&changed)));
        assert!(matches!(r, Err(StoreError::Conflict)));
        let version = erp.version();
        let current = ConfigChange::Update {
            name: "erp",
            expected_version: &version,
            config: &changed,
        };
        assert_eq!(
            block_on(store.apply(current, std::slice::from_ref(&changed))).unwrap(),
            3
        );
        let (loaded, _) = block_on(store.load()).unwrap();
        assert_eq!(loaded, vec![changed]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let r = block_on(store.apply(ConfigChange::Delete { name: "ERP" }, &[]));
        assert_eq!(r.unwrap(), 4);
        let r = block_on(store.apply(ConfigChange::Delete { name: "ERP" }, &[]));
        assert!(matches!(r, Err(StoreError::Conflict)));
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
        let (loaded, _) = block_on(store.load()).unwrap();
        assert!(loaded.is_empty());
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
        block_on(store.apply(ConfigChange::Create(&erp), std::slice::from_ref(&erp))).unwrap();
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
