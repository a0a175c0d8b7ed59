//! One tenant: its directory (the preopen is the tenant boundary) and its settings.

use crate::state::{GuestStderr, HostState};
use crate::{HostError, Result};
use std::path::{Path, PathBuf};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

/// Default cap on a guest's linear memory: sessions are capped at 1 MiB of JSON, which
/// parses into well under this, and it bounds what one tenant can take.
pub const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;

/// One tenant's configuration: its directory and its settings, passed to the guest as
/// environment variables. Built with [`Tenant::new`] and the builder methods.
///
/// No `Debug`: it holds the secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct Tenant {
    /// The host directory preopened for the guest.
    pub dir: PathBuf,
    /// The path the guest sees it under (also `SESSION_FILE_PATH`). Defaults to `dir`.
    pub guest_path: String,
    /// Environment variables (settings) for the guest.
    pub env: Vec<(String, String)>,
    /// Cap on the guest's linear memory, in bytes.
    pub memory_limit: usize,
    /// What the preopen allows (read-write by default).
    pub perms: FsPerms,
    /// Seconds added to the guest's wall clock (`wasi:clocks/wall-clock`), negative for a
    /// clock that runs behind: hosts with skewed clocks, for the clock-skew tests. 0 by
    /// default. File times are not affected: the filesystem sets those.
    pub clock_offset: i64,
}

impl Tenant {
    /// A tenant storing in `dir` (seen at the same path by the guest) with `SECRET_KEY`.
    pub fn new(dir: impl AsRef<Path>, secret_key: &str) -> Tenant {
        let dir = dir.as_ref().to_path_buf();
        let guest_path = dir.to_string_lossy().into_owned();
        Tenant {
            env: vec![("SECRET_KEY".into(), secret_key.into()), ("SESSION_FILE_PATH".into(), guest_path.clone())],
            dir,
            guest_path,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            perms: FsPerms::ReadWrite,
            clock_offset: 0,
        }
    }

    /// Sets (or replaces) one environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Tenant {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.into()));
        self
    }

    /// Removes one environment variable.
    pub fn without_env(mut self, name: &str) -> Tenant {
        self.env.retain(|(k, _)| k != name);
        self
    }

    /// Sets what the preopen allows.
    pub fn perms(mut self, perms: FsPerms) -> Tenant {
        self.perms = perms;
        self
    }

    /// Sets the cap on the guest's linear memory, in bytes.
    pub fn memory_limit(mut self, bytes: usize) -> Tenant {
        self.memory_limit = bytes;
        self
    }

    /// Sets [`Tenant::clock_offset`]: the guest's wall clock runs `seconds` ahead (or
    /// behind, when negative) of the host's.
    pub fn clock_offset(mut self, seconds: i64) -> Tenant {
        self.clock_offset = seconds;
        self
    }

    /// A wasmtime store for one instance of this tenant: its preopen, its settings, its
    /// memory cap and the guest's stderr. `blocking_current_thread` runs filesystem calls
    /// on the calling thread (fast for the sync component; the async one must not block
    /// its executor).
    pub(crate) fn store(&self, engine: &Engine, blocking: bool, stderr: GuestStderr) -> Result<Store<HostState>> {
        let (wasi, captured) = self.wasi(blocking, stderr)?;
        let mut store = Store::new(engine, HostState::new(wasi, ResourceTable::new(), self.memory_limit, captured));
        store.limiter(|s| s.limiter());
        Ok(store)
    }

    /// The WASI context, and the pipe the guest's stderr goes to when it is captured.
    pub(crate) fn wasi(&self, blocking: bool, stderr: GuestStderr) -> Result<(WasiCtx, Option<MemoryOutputPipe>)> {
        // The preopen would report a missing directory or a file as a wasmtime error; say
        // what it is instead.
        match std::fs::metadata(&self.dir) {
            Ok(meta) if !meta.is_dir() => {
                let not_dir = std::io::Error::from(std::io::ErrorKind::NotADirectory);
                return Err(HostError::io("cannot open", &self.dir, not_dir));
            }
            Err(e) => return Err(HostError::io("cannot open", &self.dir, e)),
            Ok(_) => {}
        }
        let mut builder = WasiCtxBuilder::new();
        if self.clock_offset != 0 {
            builder.wall_clock(OffsetClock(self.clock_offset));
        }
        // It must come before `preopened_dir`: each preopen takes the setting in force when
        // it is added.
        builder.allow_blocking_current_thread(blocking);
        builder.preopened_dir(&self.dir, &self.guest_path, self.perms).map_err(|e| match e.downcast() {
            Ok(io) => HostError::io("cannot open", &self.dir, io),
            Err(e) => HostError::Trap(e),
        })?;
        builder.envs(&self.env);
        let captured = route_stderr(&mut builder, stderr);
        Ok((builder.build(), captured))
    }
}

/// The host's wall clock moved by a number of seconds ([`Tenant::clock_offset`]).
struct OffsetClock(i64);

impl wasmtime_wasi::HostWallClock for OffsetClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(1)
    }

    fn now(&self) -> std::time::Duration {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let by = std::time::Duration::from_secs(self.0.unsigned_abs());
        // Before 1970 is not representable here: the clock stops at the epoch.
        if self.0 >= 0 { now.saturating_add(by) } else { now.saturating_sub(by) }
    }
}

/// Sends the guest's stderr where asked; the pipe that holds it when it is captured.
fn route_stderr(builder: &mut WasiCtxBuilder, stderr: GuestStderr) -> Option<MemoryOutputPipe> {
    match stderr {
        GuestStderr::Discard => None,
        GuestStderr::Inherit => {
            builder.inherit_stderr();
            None
        }
        GuestStderr::Capture(limit) => {
            let pipe = MemoryOutputPipe::new(limit);
            builder.stderr(pipe.clone());
            Some(pipe)
        }
    }
}
