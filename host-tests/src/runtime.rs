//! The engine and the linked, pre-instantiated component, shared by every instance; the
//! builder both runtimes are configured with.

use crate::cache::{CodeCache, CodeSource};
use crate::state::{GuestStderr, HostState};
use crate::{Guest, Result, Tenant, bindings};
use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

/// Called on each new `Store` before the component is instantiated in it (instantiating
/// runs guest code, so fuel and epoch deadlines must be set by then).
pub type StoreHook = dyn Fn(&mut Store<HostState>) -> wasmtime::Result<()> + Send + Sync;

/// The options of a [`Runtime`] or an [`AsyncRuntime`](crate::twins::AsyncRuntime):
/// `Runtime::builder()...build()`.
pub struct Builder<R> {
    config: Option<Config>,
    wasm: Option<Cow<'static, [u8]>>,
    cache: CodeCache,
    stderr: GuestStderr,
    hook: Option<Arc<StoreHook>>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Builder<R> {
    pub(crate) fn new() -> Builder<R> {
        Builder {
            config: None,
            wasm: None,
            cache: CodeCache::default(),
            stderr: GuestStderr::default(),
            hook: None,
            runtime: PhantomData,
        }
    }

    /// The engine's settings (default: [`Runtime::recommended_config`], or
    /// [`AsyncRuntime::config`](crate::twins::AsyncRuntime::config)). Fuel, epochs, the
    /// pooling allocator, ...
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Another build of the component (default: the one embedded in this crate).
    pub fn component(mut self, wasm: impl Into<Cow<'static, [u8]>>) -> Self {
        self.wasm = Some(wasm.into());
        self
    }

    /// Where compiled code is kept between runs (default: [`CodeCache::User`]).
    pub fn cache(mut self, cache: CodeCache) -> Self {
        self.cache = cache;
        self
    }

    /// Where each instance's stderr goes (default: [`GuestStderr::Discard`]).
    pub fn stderr(mut self, stderr: GuestStderr) -> Self {
        self.stderr = stderr;
        self
    }

    /// Runs `hook` on each new `Store` before instantiation: set fuel, epoch deadlines,
    /// limits. An error from it fails the instantiation.
    pub fn configure_store(
        mut self,
        hook: impl Fn(&mut Store<HostState>) -> wasmtime::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The engine and the compiled component, and what every instance shares.
    pub(crate) fn compile(self, default_config: Config, default_wasm: &'static [u8]) -> Result<(Shared, Component)> {
        let engine = Engine::new(&self.config.unwrap_or(default_config))?;
        let wasm = self.wasm.unwrap_or(Cow::Borrowed(default_wasm));
        let (component, source) = self.cache.load(&engine, &wasm)?;
        Ok((Shared { engine, stderr: self.stderr, hook: self.hook, source }, component))
    }
}

/// What a runtime shares with every instance it makes.
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    stderr: GuestStderr,
    hook: Option<Arc<StoreHook>>,
    pub(crate) source: CodeSource,
}

impl Shared {
    /// A new store for `tenant`, configured by the hook, ready to instantiate in.
    pub(crate) fn store(&self, tenant: &Tenant, blocking: bool) -> Result<Store<HostState>> {
        let mut store = tenant.store(&self.engine, blocking, self.stderr)?;
        if let Some(hook) = &self.hook {
            hook(&mut store)?;
        }
        Ok(store)
    }
}

/// The engine and the linked, pre-instantiated portable component, shared by every
/// instance. Cheap to instantiate from, on any thread.
pub struct Runtime {
    shared: Shared,
    pre: bindings::FileSessionsPre<HostState>,
}

/// Bytes of each pooled linear memory kept resident between instances: the guest's memory
/// is 1,114,112 bytes and never grew in the benchmarks; 4 MiB covers it with room, and only
/// the pages an instance dirtied are reset.
const MEMORY_KEEP_RESIDENT: usize = 4 << 20;
/// Bytes of each pooled table kept resident between instances.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

impl Runtime {
    /// The runtime for the portable component embedded in this crate, with the
    /// recommended settings.
    pub fn new() -> Result<Runtime> {
        Runtime::builder().build()
    }

    /// A runtime with other settings: `Runtime::builder().config(..).build()`.
    pub fn builder() -> Builder<Runtime> {
        Builder::new()
    }

    /// The engine settings `new` uses: what we recommend to embedders.
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
        pool.max_memory_size(crate::DEFAULT_MEMORY_LIMIT);
        Runtime::reset_settings(&mut pool);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        config
    }

    /// How the pool resets a slot for its next instance, for an instance per request (every
    /// pooled host here uses these: [`Runtime::pooling_config`], `sessions serve`).
    ///
    /// Measured with `sessions bench` (PERFORMANCE.md, "A fresh instance"): by default a
    /// slot's memory goes back to the kernel (`madvise`) and the next instance faults its
    /// pages in again, 8 page faults per request. Keeping the memory resident and resetting
    /// only the pages the instance dirtied (`PAGEMAP_SCAN`, Linux 6.7+; elsewhere a `memset`
    /// of the kept bytes) took a fresh request from 2.4× to 1.6× a warm one; keeping tables
    /// resident saves about 2 µs of instantiation more.
    pub fn reset_settings(pool: &mut wasmtime::PoolingAllocationConfig) -> &mut wasmtime::PoolingAllocationConfig {
        pool.linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            .pagemap_scan(wasmtime::Enabled::Auto)
    }

    /// The same settings as `wasmtime serve` options (`-O ...`), for the README's command
    /// and the tests that run it: they doubled its requests/s with an instance per request.
    pub fn wasmtime_cli_reset_options() -> [String; 6] {
        [
            "-O".into(),
            format!("pooling-memory-keep-resident={MEMORY_KEEP_RESIDENT}"),
            "-O".into(),
            format!("pooling-table-keep-resident={TABLE_KEEP_RESIDENT}"),
            "-O".into(),
            "pooling-pagemap-scan=auto".into(),
        ]
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Whether the compiled component came from the cache.
    pub fn code_source(&self) -> CodeSource {
        self.shared.source
    }

    /// A fresh instance for `tenant`, with its directory preopened.
    pub fn instantiate(&self, tenant: &Tenant) -> Result<Guest> {
        // The guest's filesystem calls are short; running them on the calling thread
        // avoids a thread-pool hop per call.
        let mut store = self.shared.store(tenant, true)?;
        let api = self.pre.instantiate(&mut store)?;
        Ok(Guest::new(store, api))
    }
}

impl Builder<Runtime> {
    /// The runtime.
    pub fn build(self) -> Result<Runtime> {
        let (shared, component) = self.compile(Runtime::recommended_config(), crate::GUEST_WASM)?;
        let mut linker = Linker::<HostState>::new(&shared.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre = bindings::FileSessionsPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Runtime { shared, pre })
    }
}
