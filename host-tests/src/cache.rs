//! The precompiled-code cache: compiling a component takes tens of milliseconds (seconds in
//! a debug build); loading its compiled form takes a tenth of one.
//!
//! Loading compiled code runs whatever native code the file holds (wasmtime's
//! `Component::deserialize` is `unsafe` for that reason), so a file is loaded only when
//! nobody but the user could have written it: it lives in a directory owned by the user and
//! writable by no one else, is a regular file owned by the user and writable by no one else,
//! and is opened without following a link. Its name is the SHA-256 of the component and
//! the engine's compatibility hash, so another component or engine never picks it up.
//! Entries are written to a temporary file and renamed into place, again without following
//! links. In any doubt the component is compiled in memory instead.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat, Timestamps, UTIME_NOW};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where the compiled code of a component is kept between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CodeCache {
    /// The user's cache: `$XDG_CACHE_HOME/file-sessions`, else `$HOME/.cache/file-sessions`,
    /// created with mode 0700 when missing.
    #[default]
    User,
    /// This directory, which must exist, belong to the user and be writable by no one
    /// else.
    Dir(PathBuf),
    /// No cache: compile in memory every time.
    Off,
}

/// Where a runtime's compiled code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeSource {
    /// Loaded from the cache.
    Cached,
    /// Compiled now, and stored in the cache for next time.
    CompiledAndStored,
    /// Compiled now, in memory only (no cache, or a cache that could not be trusted).
    Compiled,
}

/// Compiled entries larger than this are not read (the components compile to a few MiB).
const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// Entries unused for this long are removed when a new one is stored.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

impl CodeCache {
    /// The component `wasm` compiled for `engine`: from the cache when a trustworthy entry
    /// is there, else compiled (and stored when the cache directory can be trusted).
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, CodeSource)> {
        let Some(dir) = self.open_dir() else {
            return Ok((Component::new(engine, wasm)?, CodeSource::Compiled));
        };
        let name = CodeCache::entry_name(engine, wasm);
        if let Some(bytes) = read_entry(&dir, &name) {
            // SAFETY: the entry is a regular file owned by this user in a directory only
            // this user can write (checked on the open descriptors, no link followed), so
            // it was written by `store_entry` with `Engine::precompile_component`.
            if let Ok(component) = unsafe { Component::deserialize(engine, &bytes) } {
                return Ok((component, CodeSource::Cached));
            }
        }
        let compiled = engine.precompile_component(wasm)?;
        let stored = store_entry(&dir, &name, &compiled).is_ok();
        if stored {
            prune(&dir, &name);
        }
        // SAFETY: `compiled` was just produced by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, if stored { CodeSource::CompiledAndStored } else { CodeSource::Compiled }))
    }

    /// The file name the compiled form of `wasm` for `engine` is kept under: a prefix of
    /// the component's SHA-256 and the engine's compatibility hash.
    pub fn entry_name(engine: &Engine, wasm: &[u8]) -> String {
        let component: String = Sha256::digest(wasm).iter().take(16).map(|b| format!("{b:02x}")).collect();
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut engine_hash);
        format!("{component}-{:016x}.cwasm", engine_hash.finish())
    }

    /// The cache directory, opened and checked; `None` when there is none to trust.
    fn open_dir(&self) -> Option<OwnedFd> {
        let path = match self {
            CodeCache::Off => return None,
            CodeCache::Dir(path) => path.clone(),
            CodeCache::User => create_user_dir()?,
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let dir = rustix::fs::open(&path, flags, Mode::empty()).ok()?;
        private(&rustix::fs::fstat(&dir).ok()?, FileType::Directory).then_some(dir)
    }
}

/// `$XDG_CACHE_HOME/file-sessions` or `$HOME/.cache/file-sessions`, created 0700 if missing.
fn create_user_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => Path::new(&std::env::var_os("HOME")?).join(".cache"),
    };
    let dir = base.join("file-sessions");
    use std::os::unix::fs::DirBuilderExt;
    let created = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir);
    created.ok().map(|()| dir)
}

/// Whether `stat` is of the given type, owned by this user and writable by no one else.
fn private(stat: &Stat, kind: FileType) -> bool {
    FileType::from_raw_mode(stat.st_mode) == kind
        && stat.st_uid == rustix::process::geteuid().as_raw()
        && stat.st_mode & 0o022 == 0
}

/// The bytes of entry `name`, if it is one this user wrote.
fn read_entry(dir: &OwnedFd, name: &str) -> Option<Vec<u8>> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::empty()).ok()?;
    let stat = rustix::fs::fstat(&fd).ok()?;
    if !private(&stat, FileType::RegularFile) || stat.st_size as u64 > MAX_ENTRY_BYTES {
        return None;
    }
    // Used now: keeps it from being pruned as stale.
    let now = rustix::fs::Timespec { tv_sec: 0, tv_nsec: UTIME_NOW };
    let _ = rustix::fs::futimens(&fd, &Timestamps { last_access: now, last_modification: now });
    let mut bytes = Vec::with_capacity(stat.st_size as usize);
    std::fs::File::from(fd).take(MAX_ENTRY_BYTES).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Writes entry `name`: a new temporary file (mode 0600, never through a link), renamed
/// over the name (a rename replaces a link itself, never its target).
fn store_entry(dir: &OwnedFd, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(std::io::Error::other)?;
    let temp = format!(".{name}.{:016x}.tmp", u64::from_le_bytes(suffix));
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, &temp, flags, Mode::from_raw_mode(0o600))?;
    let written = std::fs::File::from(fd).write_all(bytes);
    let renamed = written.and_then(|()| Ok(rustix::fs::renameat(dir, &temp, dir, name)?));
    if renamed.is_err() {
        let _ = rustix::fs::unlinkat(dir, &temp, AtFlags::empty());
    }
    renamed
}

/// Removes entries (and temporary files) unused for [`STALE_AFTER`], other than `keep`:
/// each new build of a component leaves its predecessor's entry behind.
fn prune(dir: &OwnedFd, keep: &str) {
    let Ok(listing) = rustix::fs::Dir::read_from(dir) else { return };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == keep || !(name.ends_with(".cwasm") || name.ends_with(".tmp")) {
            continue;
        }
        let Ok(stat) = rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) else { continue };
        let age = now.as_secs().saturating_sub(stat.st_mtime as u64);
        if private(&stat, FileType::RegularFile) && age > STALE_AFTER.as_secs() {
            let _ = rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty());
        }
    }
}
