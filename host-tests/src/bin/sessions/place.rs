//! Where a command works: the session directory, checked before the component is given it,
//! and the tenant (directory, secret, settings) the component runs for.

use crate::failure::misconfigured;
use crate::secret;
use file_sessions_host::{HostError, Tenant};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The store commands' (and demo's) directory when --dir is not given: the only one
/// created when missing.
pub const DEFAULT_DIR: &str = "sessions";

/// The global options that say where a command works.
pub struct Options {
    /// `--dir`, if given.
    pub dir: Option<PathBuf>,
    /// `--allow-root-dir`.
    pub allow_root: bool,
    /// `--async`.
    pub use_async: bool,
}

impl Options {
    /// The tenant for the session directory: `--dir`, which must exist (unless
    /// `create_any`, for demo), or `./sessions`, created when missing.
    pub fn tenant(&self, create_any: bool) -> Result<Tenant, HostError> {
        let dir = self.storage_dir(create_any)?;
        let secret = secret::secret_key(&dir)?;
        let mut tenant = Tenant::new(&dir, &secret);
        for name in passed_through() {
            if let Some(value) = setting(name)? {
                tenant = tenant.env(name, &value);
            }
        }
        Ok(tenant)
    }

    /// The directory a benchmark makes its private working directory in: `--dir`, else `.`.
    pub fn bench_parent(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| PathBuf::from("."))
    }

    /// The session directory, absolute, after the checks a new operator would want made:
    /// it exists (or may be created), is a directory, is not `/` (unless allowed), and
    /// only this user can write to it.
    fn storage_dir(&self, create_any: bool) -> Result<PathBuf, HostError> {
        let (dir, may_create) = match &self.dir {
            Some(dir) => (dir.clone(), create_any),
            None => (PathBuf::from(DEFAULT_DIR), true),
        };
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(misconfigured(format!("{} is not a directory", dir.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| cannot("create", &dir, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing(&dir)),
            Err(e) => return Err(cannot("open", &dir, e)),
        }
        let abs = dir.canonicalize().map_err(|e| cannot("open", &dir, e))?;
        if abs.parent().is_none() && !self.allow_root {
            return Err(misconfigured(format!(
                "refusing {} as the session directory: it would hand the whole filesystem to the component, read-write (--allow-root-dir forces it)",
                abs.display()
            )));
        }
        check_private(&abs)?;
        Ok(abs)
    }
}

/// A setting from the environment: not set, or text (anything else is an error, never
/// silently dropped).
pub fn setting(name: &str) -> Result<Option<String>, HostError> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) => value.into_string().map(Some).map_err(|_| misconfigured(format!("{name} is not valid UTF-8"))),
    }
}

/// The settings passed through from the environment: the guest's own list, less those the
/// command sets itself (`SECRET_KEY`, `SESSION_FILE_PATH`) and `TMPDIR` (which only stands
/// in for `SESSION_FILE_PATH`).
fn passed_through() -> impl Iterator<Item = &'static str> {
    let own = ["SECRET_KEY", "SESSION_FILE_PATH", "TMPDIR"];
    file_sessions::settings::SETTINGS.iter().map(|s| s.name).filter(move |name| !own.contains(name))
}

/// Refuses a directory another user could write to: they could plant links, FIFOs or
/// their own `.secret-key` there, or swap files under the store.
fn check_private(dir: &Path) -> Result<(), HostError> {
    let meta = std::fs::metadata(dir).map_err(|e| cannot("open", dir, e))?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(misconfigured(format!(
            "{} belongs to another user (uid {}, this is uid {me}): run sessions as its owner",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(misconfigured(format!(
            "{} can be written by other users (mode {:o}): they could plant or swap files the store reads; make it private (chmod go-w)",
            dir.display(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Django's words for a missing `SESSION_FILE_PATH`, and what to do about it here.
fn missing(dir: &Path) -> HostError {
    misconfigured(format!(
        "The session storage path {:?} doesn't exist: create it, or check --dir for a typo (only the default ./{DEFAULT_DIR} is created)",
        dir.display().to_string()
    ))
}

fn cannot(action: &str, path: &Path, e: std::io::Error) -> HostError {
    HostError::io(&format!("cannot {action}"), path, e)
}
