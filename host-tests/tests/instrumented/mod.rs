//! A test-local wasmtime host for the fault and secrecy tests: the same component, engine
//! settings, linker and preopen as `file_sessions_host::Runtime`, plus what that host does
//! not expose:
//!
//! * fuel and epoch interruption armed *before* instantiation. `Runtime::instantiate`
//!   creates the `Store` and instantiates in one step, and instantiating runs guest code,
//!   so on an engine with `consume_fuel` or `epoch_interruption` it always traps (the
//!   store starts with 0 fuel and an elapsed epoch deadline): `Guest::store_mut()` comes
//!   too late. Here the store is set up first.
//! * the guest's stderr captured in memory (the shared host discards it), so tests can
//!   scan what the guest would have logged.
//!
//! The engine comes from `Runtime::with_config`, so the component is precompiled into the
//! same on-disk cache as everywhere else.
#![allow(dead_code)]

use file_sessions_host::{Runtime, Tenant};
use std::path::Path;
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "file-sessions" });
}

pub use bindings::exports::file_sessions::store::store::{ClearReport, Error as WitError};

/// Host state: WASI context and resource table.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// An engine with fuel metering and epoch interruption, and the linked component.
pub struct Host {
    engine: Engine,
    pre: bindings::FileSessionsPre<State>,
}

/// A call's outcome: a trap (the outer error) or the store's answer.
pub type Call<T> = wasmtime::Result<Result<T, WitError>>;

/// The kind of a WIT error, as `file_sessions_host::error_kind` names it.
pub fn kind(e: &WitError) -> &'static str {
    match e {
        WitError::CreateError(_) => "create-error",
        WitError::UpdateError(_) => "update-error",
        WitError::InvalidSessionKey(_) => "invalid-session-key",
        WitError::ImproperlyConfigured(_) => "improperly-configured",
        WitError::KeyError(_) => "key-error",
        WitError::InvalidValue(_) => "invalid-value",
        WitError::Io(_) => "io",
    }
}

/// The text of a WIT error.
pub fn detail(e: &WitError) -> &str {
    match e {
        WitError::CreateError(s)
        | WitError::UpdateError(s)
        | WitError::InvalidSessionKey(s)
        | WitError::ImproperlyConfigured(s)
        | WitError::KeyError(s)
        | WitError::InvalidValue(s)
        | WitError::Io(s) => s,
    }
}

impl Host {
    /// The host, built once per test binary.
    pub fn get() -> &'static Host {
        static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
        HOST.get_or_init(|| Host::new().expect("building the instrumented host"))
    }

    fn new() -> wasmtime::Result<Host> {
        let mut config: Config = Runtime::recommended_config();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        let wasm = Path::new(file_sessions_host::GUEST_WASM);
        // Precompiles the component for this engine configuration into the shared cache.
        let runtime = Runtime::with_config(wasm, config).map_err(|e| wasmtime::format_err!("{e}"))?;
        let engine = runtime.engine().clone();
        let component = precompiled(&engine, wasm).map_or_else(|| Component::from_file(&engine, wasm), Ok)?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre = bindings::FileSessionsPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Host { engine, pre })
    }

    /// A fresh instance for `tenant` with unlimited fuel and no epoch deadline, and its
    /// stderr captured.
    pub fn instantiate(&self, tenant: &Tenant) -> wasmtime::Result<Guest> {
        let stderr = MemoryOutputPipe::new(1 << 20);
        let stdout = MemoryOutputPipe::new(1 << 20);
        let wasi = WasiCtxBuilder::new()
            .preopened_dir(&tenant.dir, &tenant.guest_path, tenant.perms)?
            .envs(&tenant.env)
            .stderr(stderr.clone())
            .stdout(stdout.clone())
            .allow_blocking_current_thread(true)
            .build();
        let mut store = Store::new(&self.engine, State { wasi, table: ResourceTable::new() });
        store.set_fuel(u64::MAX)?;
        store.set_epoch_deadline(1 << 40);
        let api = self.pre.instantiate(&mut store)?;
        Ok(Guest { store, api, stderr, stdout })
    }
}

/// The copy `Runtime::with_config` precompiled beside the component for this engine (the
/// same name `file_sessions_host`'s loader computes).
fn precompiled(engine: &Engine, wasm: &Path) -> Option<Component> {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(wasm).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    let cached = wasm.with_extension(format!("{:016x}.cwasm", h.finish()));
    // SAFETY: the name holds a hash of these exact bytes and of this engine's settings; only
    // the host's loader writes it, with `Engine::precompile_component`.
    unsafe { Component::deserialize_file(engine, &cached) }.ok()
}

/// One instance, with typed calls for what the fault and secrecy tests use.
pub struct Guest {
    pub store: Store<State>,
    api: bindings::FileSessions,
    stderr: MemoryOutputPipe,
    stdout: MemoryOutputPipe,
}

/// A `session-store` resource.
#[derive(Clone, Copy)]
pub struct S(ResourceAny);

macro_rules! session_calls {
    ($( fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident; )*) => {
        $(
            pub fn $name(&mut self, s: S $(, $arg: $ty)*) -> Call<$ret> {
                let api = self.api.file_sessions_store_store().session_store();
                api.$call(&mut self.store, s.0 $(, $arg)*)
            }
        )*
    };
}

impl Guest {
    /// What the guest wrote to stderr and stdout so far.
    pub fn output(&self) -> String {
        let mut out = String::from_utf8_lossy(&self.stderr.contents()).into_owned();
        out.push_str(&String::from_utf8_lossy(&self.stdout.contents()));
        out
    }

    pub fn session(&mut self, key: Option<&str>) -> Call<S> {
        let api = self.api.file_sessions_store_store().session_store();
        Ok(api.call_constructor(&mut self.store, key)?.map(S))
    }

    pub fn clear_expired(&mut self) -> Call<ClearReport> {
        self.api.file_sessions_store_store().call_clear_expired(&mut self.store)
    }

    pub fn set(&mut self, s: S, key: &str, value: &str) -> Call<()> {
        let api = self.api.file_sessions_store_store().session_store();
        api.call_set(&mut self.store, s.0, key, &value.to_owned())
    }

    pub fn update(&mut self, s: S, data: &str) -> Call<()> {
        let api = self.api.file_sessions_store_store().session_store();
        api.call_update(&mut self.store, s.0, &data.to_owned())
    }

    pub fn get(&mut self, s: S, key: &str) -> Call<Option<String>> {
        let api = self.api.file_sessions_store_store().session_store();
        api.call_get(&mut self.store, s.0, key, None)
    }

    pub fn pop(&mut self, s: S, key: &str) -> Call<String> {
        let api = self.api.file_sessions_store_store().session_store();
        api.call_pop(&mut self.store, s.0, key, None)
    }

    pub fn set_expiry_instant(&mut self, s: S, instant: &str) -> Call<()> {
        use bindings::exports::file_sessions::store::store::Expiry;
        let api = self.api.file_sessions_store_store().session_store();
        api.call_set_expiry(&mut self.store, s.0, Some(&Expiry::Instant(instant.to_owned())))
    }

    pub fn encode(&mut self, s: S, data: &str) -> Call<String> {
        let api = self.api.file_sessions_store_store().session_store();
        api.call_encode(&mut self.store, s.0, &data.to_owned())
    }

    pub fn decode(&mut self, s: S, data: &str) -> wasmtime::Result<String> {
        let api = self.api.file_sessions_store_store().session_store();
        api.call_decode(&mut self.store, s.0, data)
    }

    pub fn session_key(&mut self, s: S) -> wasmtime::Result<Option<String>> {
        let api = self.api.file_sessions_store_store().session_store();
        api.call_session_key(&mut self.store, s.0)
    }

    session_calls! {
        fn load() -> String = call_load;
        fn save(must_create: bool) -> () = call_save;
        fn create() -> () = call_create;
        fn exists(key: Option<&str>) -> bool = call_exists;
        fn delete(key: Option<&str>) -> () = call_delete;
        fn remove(key: &str) -> () = call_remove;
        fn flush() -> () = call_flush;
        fn cycle_key() -> () = call_cycle_key;
    }
}
