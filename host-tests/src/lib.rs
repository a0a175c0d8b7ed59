//! A wasmtime host for the `file-sessions` component: engine settings, linker, the
//! precompiled-component cache, and a typed API over the `session-store` resource that
//! the integration tests and the `sessions` command share.
//!
//! ```no_run
//! use file_sessions_host::{Runtime, Tenant};
//!
//! let runtime = Runtime::new()?;
//! let mut guest = runtime.instantiate(&Tenant::new("/srv/sessions", "a-long-random-secret"))?;
//! let s = guest.session(None)?;
//! guest.set(s, "user_id", "42")?;
//! guest.save(s, false)?;
//! println!("saved as {}", guest.session_key(s)?.unwrap());
//! # Ok::<(), file_sessions_host::HostError>(())
//! ```

#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

pub mod bench;
pub mod bench_async;
pub mod serve;
pub mod twins;

mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "file-sessions" });
}

use bindings::exports::file_sessions::store::store as wit;
pub use wit::{ClearBatch, ClearReport, Error as StoreError, Expiry};

/// The portable guest component this crate was built with (sync exports, WASI 0.2).
pub const GUEST_WASM: &str = env!("FILE_SESSIONS_WASM");

/// The async guest component this crate was built with (sync and async exports; WASI 0.2
/// and 0.3). See [`twins`].
pub const GUEST_ASYNC_WASM: &str = env!("FILE_SESSIONS_ASYNC_WASM");

/// Default cap on a guest's linear memory: sessions are capped at 1 MiB of JSON, which
/// parses into well under this, and it bounds what one tenant can take.
pub const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;

/// Why a call failed: the store said no, or the guest trapped (a bug: it never should).
#[derive(Debug)]
pub enum HostError {
    /// The store's error, as the WIT `error` variant.
    Store(StoreError),
    /// A trap or a host failure.
    Trap(wasmtime::Error),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Store(e) => write!(f, "{}: {}", error_kind(e), error_detail(e)),
            HostError::Trap(e) => write!(f, "trap: {e:#}"),
        }
    }
}

impl std::error::Error for HostError {}

impl From<wasmtime::Error> for HostError {
    fn from(e: wasmtime::Error) -> Self {
        HostError::Trap(e)
    }
}

impl From<StoreError> for HostError {
    fn from(e: StoreError) -> Self {
        HostError::Store(e)
    }
}

/// The kind of a store error, as the WIT names it (`update-error`, ...).
pub fn error_kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::CreateError(_) => "create-error",
        StoreError::UpdateError(_) => "update-error",
        StoreError::InvalidSessionKey(_) => "invalid-session-key",
        StoreError::ImproperlyConfigured(_) => "improperly-configured",
        StoreError::KeyError(_) => "key-error",
        StoreError::InvalidValue(_) => "invalid-value",
        StoreError::Io(_) => "io",
    }
}

/// The text of a store error.
pub fn error_detail(e: &StoreError) -> &str {
    match e {
        StoreError::CreateError(s)
        | StoreError::UpdateError(s)
        | StoreError::InvalidSessionKey(s)
        | StoreError::ImproperlyConfigured(s)
        | StoreError::KeyError(s)
        | StoreError::InvalidValue(s)
        | StoreError::Io(s) => s,
    }
}

/// Results of calls into the guest.
pub type Result<T, E = HostError> = std::result::Result<T, E>;

/// Per-instance host state: WASI context, resource table, memory limits.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: MemoryLimit,
}

/// Caps linear memory and remembers the largest size the guest reached.
struct MemoryLimit {
    limit: usize,
    peak: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// One tenant's configuration: its directory (the preopen is the tenant boundary) and its
/// settings, passed to the guest as environment variables.
#[derive(Clone)]
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

    /// Sets [`Tenant::clock_offset`]: the guest's wall clock runs `seconds` ahead (or
    /// behind, when negative) of the host's.
    pub fn clock_offset(mut self, seconds: i64) -> Tenant {
        self.clock_offset = seconds;
        self
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
}

/// The engine and the linked, pre-instantiated component, shared by every instance.
pub struct Runtime {
    engine: Engine,
    pre: bindings::FileSessionsPre<HostState>,
}

impl Runtime {
    /// The runtime for the component this crate was built with.
    pub fn new() -> Result<Runtime> {
        Runtime::from_file(Path::new(GUEST_WASM))
    }

    /// The runtime for a component file, with the recommended engine settings.
    pub fn from_file(wasm: &Path) -> Result<Runtime> {
        Runtime::with_config(wasm, Runtime::recommended_config())
    }

    /// The engine settings `from_file` uses: what we recommend to embedders.
    pub fn recommended_config() -> Config {
        let mut config = Config::new();
        // The sync interface needs no component-model async, and the machinery costs
        // every call about 3x.
        config.concurrency_support(false);
        config
    }

    /// The pooling allocator on top of the recommended settings: instances come from
    /// pre-reserved slots, which makes an instance per request cheap.
    pub fn pooling_config() -> Config {
        let mut config = Runtime::recommended_config();
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_memories(64).total_tables(64).total_component_instances(64).total_core_instances(256);
        pool.max_memory_size(DEFAULT_MEMORY_LIMIT);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        config
    }

    /// The runtime for a component file with an engine configured by the caller (for
    /// fuel, epochs, the pooling allocator, ...).
    pub fn with_config(wasm: &Path, config: Config) -> Result<Runtime> {
        let engine = Engine::new(&config)?;
        let component = load_component(&engine, wasm)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre = bindings::FileSessionsPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Runtime { engine, pre })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A fresh instance for `tenant`, with its directory preopened read-write.
    pub fn instantiate(&self, tenant: &Tenant) -> Result<Guest> {
        // The guest's filesystem calls are short; running them on the calling thread
        // avoids a thread-pool hop per call.
        let mut store = tenant.store(&self.engine, true)?;
        let api = self.pre.instantiate(&mut store)?;
        Ok(Guest { store, api })
    }
}

impl Tenant {
    /// A wasmtime store for one instance of this tenant: its preopen, its settings and
    /// its memory cap. `blocking_current_thread` runs filesystem calls on the calling
    /// thread (fast for the sync component; the async one must not block its executor).
    pub(crate) fn store(&self, engine: &Engine, blocking_current_thread: bool) -> Result<Store<HostState>> {
        let mut wasi = WasiCtxBuilder::new();
        if self.clock_offset != 0 {
            wasi.wall_clock(OffsetClock(self.clock_offset));
        }
        let wasi = wasi
            // It must come before `preopened_dir`: each preopen takes the setting in force
            // when it is added.
            .allow_blocking_current_thread(blocking_current_thread)
            .preopened_dir(&self.dir, &self.guest_path, self.perms)?
            .envs(&self.env)
            .build();
        let limits = MemoryLimit { limit: self.memory_limit, peak: 0 };
        let mut store = Store::new(engine, HostState { wasi, table: ResourceTable::new(), limits });
        store.limiter(|s| &mut s.limits);
        Ok(store)
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

/// Loads a component through a precompiled copy beside it (compiling takes ~40 ms in a
/// release host and far longer in a debug one; deserializing takes ~0.1 ms).
pub(crate) fn load_component(engine: &Engine, wasm: &Path) -> Result<Component> {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(wasm).map_err(|e| wasmtime::format_err!("reading {}: {e}", wasm.display()))?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    let cached = wasm.with_extension(format!("{:016x}.cwasm", h.finish()));
    // SAFETY: the file is one this function wrote with `Engine::precompile_component` for
    // an engine with the same compatibility hash; nothing else writes that name.
    if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
        return Ok(component);
    }
    let compiled = engine.precompile_component(&bytes)?;
    let temp = cached.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&temp, &compiled).is_ok() && std::fs::rename(&temp, &cached).is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    // SAFETY: `compiled` was just produced by this engine.
    Ok(unsafe { Component::deserialize(engine, &compiled)? })
}

/// A `session-store` resource inside a [`Guest`].
#[derive(Clone, Copy, Debug)]
pub struct SessionHandle(ResourceAny);

/// One instance of the component (one `Store`), and typed calls into it.
pub struct Guest {
    store: Store<HostState>,
    api: bindings::FileSessions,
}

macro_rules! methods {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self, s: SessionHandle $(, $arg: $ty)*) -> Result<$ret> {
                let api = self.api.file_sessions_store_store().session_store();
                Ok(api.$call(&mut self.store, s.0 $(, $arg)*)??)
            }
        )*
    };
}

macro_rules! infallible {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self, s: SessionHandle $(, $arg: $ty)*) -> Result<$ret> {
                let api = self.api.file_sessions_store_store().session_store();
                Ok(api.$call(&mut self.store, s.0 $(, $arg)*)?)
            }
        )*
    };
}

impl Guest {
    /// `SessionStore(session_key)`.
    pub fn session(&mut self, key: Option<&str>) -> Result<SessionHandle> {
        let api = self.api.file_sessions_store_store().session_store();
        Ok(SessionHandle(api.call_constructor(&mut self.store, key)??))
    }

    /// Drops a session resource.
    pub fn drop_session(&mut self, s: SessionHandle) -> Result<()> {
        Ok(s.0.resource_drop(&mut self.store)?)
    }

    /// `SessionStore.clear_expired()`.
    pub fn clear_expired(&mut self) -> Result<ClearReport> {
        Ok(self.api.file_sessions_store_store().call_clear_expired(&mut self.store)??)
    }

    /// `clear-expired-batch(cursor, limit, dry-run)`: one bounded step of a sweep.
    pub fn clear_expired_batch(&mut self, cursor: Option<&str>, limit: u32, dry_run: bool) -> Result<ClearBatch> {
        let api = self.api.file_sessions_store_store();
        Ok(api.call_clear_expired_batch(&mut self.store, cursor, limit, dry_run)??)
    }

    /// `exists(session_key)`.
    pub fn exists(&mut self, s: SessionHandle, key: &str) -> Result<bool> {
        self.exists_opt(s, Some(key))
    }

    /// The largest linear memory the guest has had, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().limits.peak
    }

    /// The wasmtime store (for fuel, epochs, memory statistics).
    pub fn store_mut(&mut self) -> &mut Store<HostState> {
        &mut self.store
    }

    infallible! {
        /// `storage_path`.
        fn storage_path() -> String = call_storage_path;
        /// `file_prefix`.
        fn file_prefix() -> String = call_file_prefix;
        /// `session_key`.
        fn session_key() -> Option<String> = call_session_key;
        /// `accessed`.
        fn accessed() -> bool = call_accessed;
        /// Sets `accessed`.
        fn set_accessed(value: bool) -> () = call_set_accessed;
        /// `modified`.
        fn modified() -> bool = call_modified;
        /// Sets `modified`.
        fn set_modified(value: bool) -> () = call_set_modified;
        /// `clear()`.
        fn clear() -> () = call_clear;
        /// `is_empty()`.
        fn is_empty() -> bool = call_is_empty;
        /// `decode(session_data)`.
        fn decode(data: &str) -> String = call_decode;
    }

    methods! {
        /// `load()`: the data as a JSON object.
        fn load() -> String = call_load;
        /// `create()`.
        fn create() -> () = call_create;
        /// `save(must_create)`.
        fn save(must_create: bool) -> () = call_save;
        /// `exists(session_key)`; `None` as Django's: the session's own key, or a new one.
        fn exists_opt(key: Option<&str>) -> bool = call_exists;
        /// `delete(session_key)`.
        fn delete(key: Option<&str>) -> () = call_delete;
        /// `del self[key]`.
        fn remove(key: &str) -> () = call_remove;
        /// `key in self`.
        fn has_key(key: &str) -> bool = call_has_key;
        /// `keys()`.
        fn keys() -> Vec<String> = call_keys;
        /// `values()`.
        fn values() -> Vec<String> = call_values;
        /// `items()`.
        fn items() -> Vec<(String, String)> = call_items;
        /// `flush()`.
        fn flush() -> () = call_flush;
        /// `cycle_key()`.
        fn cycle_key() -> () = call_cycle_key;
        /// `set_expiry(value)`.
        fn set_expiry(value: Option<&Expiry>) -> () = call_set_expiry;
        /// `get_expiry_age(modification, expiry)`.
        fn get_expiry_age_with(modification: Option<&String>, expiry: Option<Option<&Expiry>>) -> i64 = call_get_expiry_age;
        /// `get_expiry_date(modification, expiry)`.
        fn get_expiry_date_with(modification: Option<&String>, expiry: Option<Option<&Expiry>>) -> String = call_get_expiry_date;
        /// `get_expire_at_browser_close()`.
        fn get_expire_at_browser_close() -> bool = call_get_expire_at_browser_close;
        /// `set_test_cookie()`.
        fn set_test_cookie() -> () = call_set_test_cookie;
        /// `test_cookie_worked()`.
        fn test_cookie_worked() -> bool = call_test_cookie_worked;
        /// `delete_test_cookie()`.
        fn delete_test_cookie() -> () = call_delete_test_cookie;
    }

    /// `get(key, default)`, values as JSON text.
    pub fn get_or(&mut self, s: SessionHandle, key: &str, default: Option<&str>) -> Result<Option<String>> {
        let default = default.map(str::to_owned);
        let api = self.api.file_sessions_store_store().session_store();
        Ok(api.call_get(&mut self.store, s.0, key, default.as_ref())??)
    }

    /// `self[key] = value`, the value as JSON text.
    pub fn set(&mut self, s: SessionHandle, key: &str, value: &str) -> Result<()> {
        let api = self.api.file_sessions_store_store().session_store();
        Ok(api.call_set(&mut self.store, s.0, key, &value.to_owned())??)
    }

    /// `pop(key[, default])`, values as JSON text.
    pub fn pop(&mut self, s: SessionHandle, key: &str, default: Option<&str>) -> Result<String> {
        let default = default.map(str::to_owned);
        let api = self.api.file_sessions_store_store().session_store();
        Ok(api.call_pop(&mut self.store, s.0, key, default.as_ref())??)
    }

    /// `setdefault(key, value)`, values as JSON text.
    pub fn setdefault(&mut self, s: SessionHandle, key: &str, value: &str) -> Result<String> {
        let api = self.api.file_sessions_store_store().session_store();
        Ok(api.call_setdefault(&mut self.store, s.0, key, &value.to_owned())??)
    }

    /// `update(dict)`, a JSON object.
    pub fn update(&mut self, s: SessionHandle, data: &str) -> Result<()> {
        let api = self.api.file_sessions_store_store().session_store();
        Ok(api.call_update(&mut self.store, s.0, &data.to_owned())??)
    }

    /// `encode(session_dict)`, a JSON value.
    pub fn encode(&mut self, s: SessionHandle, data: &str) -> Result<String> {
        let api = self.api.file_sessions_store_store().session_store();
        Ok(api.call_encode(&mut self.store, s.0, &data.to_owned())??)
    }

    /// `get(key)`.
    pub fn get(&mut self, s: SessionHandle, key: &str) -> Result<Option<String>> {
        self.get_or(s, key, None)
    }

    /// `get_expiry_age()` with Django's defaults.
    pub fn get_expiry_age(&mut self, s: SessionHandle) -> Result<i64> {
        self.get_expiry_age_with(s, None, None)
    }

    /// `get_expiry_date()` with Django's defaults.
    pub fn get_expiry_date(&mut self, s: SessionHandle) -> Result<String> {
        self.get_expiry_date_with(s, None, None)
    }
}
