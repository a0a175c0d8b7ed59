//! The host for the async component: Django's `a*` twins as component-model `async func`s,
//! driven with `Store::run_concurrent` so that many calls can be in flight in one instance.
//!
//! wasmtime's component-model async and WASI 0.3 (`wasmtime-wasi` feature `p3`) are marked
//! experimental in wasmtime 48; the versions are pinned in `Cargo.toml`.
//!
//! ```no_run
//! use file_sessions_host::Tenant;
//! use file_sessions_host::twins::AsyncRuntime;
//!
//! # async fn example() -> file_sessions_host::Result<()> {
//! let runtime = AsyncRuntime::new()?;
//! let mut guest = runtime.instantiate(&Tenant::new("/srv/sessions", "a-long-random-secret")).await?;
//! let s = guest.session(None).await?;
//! guest.aset(s, "user_id", "42").await?;
//! guest.asave(s, false).await?;
//! // Many calls at once, in one instance: while one waits on the disk, the others run.
//! let loaded = guest
//!     .run(async |a, twins| {
//!         let (one, two) = tokio::join!(twins.aload(a, s), twins.aexists(a, s, "otherkey1"));
//!         Ok::<_, file_sessions_host::HostError>((one?, two?))
//!     })
//!     .await??;
//! # Ok(()) }
//! ```

use crate::runtime::{Builder, Shared};
use crate::{HostError, HostState, Result, SessionHandle};
use crate::{Tenant, cache::CodeSource};
use wasmtime::component::{Accessor, Linker};
use wasmtime::{Config, Store};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "file-sessions-async",
        // Every export, the sync ones too, is called through `run_concurrent`'s accessor,
        // so sync and async calls can be in flight together.
        exports: { default: async | store },
    });
}

use bindings::exports::file_sessions::store::store as wit;
/// The store's error as the async world's bindings spell it; it converts into
/// [`StoreError`](crate::StoreError) through the one table of error kinds.
pub(crate) use wit::Error as WitError;
pub use wit::{ClearBatch, ClearReport, Expiry};

/// The engine and the linked, pre-instantiated async component.
pub struct AsyncRuntime {
    shared: Shared,
    pre: bindings::FileSessionsAsyncPre<HostState>,
}

impl AsyncRuntime {
    /// The runtime for the async component embedded in this crate.
    pub fn new() -> Result<AsyncRuntime> {
        AsyncRuntime::builder().build()
    }

    /// A runtime with other settings: `AsyncRuntime::builder().stderr(..).build()`.
    pub fn builder() -> Builder<AsyncRuntime> {
        Builder::new()
    }

    /// The engine settings the async component needs: component-model async on (and
    /// with it the concurrency support the sync runtime turns off).
    pub fn config() -> Config {
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        config
    }

    /// Whether the compiled component came from the cache.
    pub fn code_source(&self) -> CodeSource {
        self.shared.source
    }

    /// A fresh instance for `tenant`. Its filesystem calls run on the executor's blocking
    /// pool, never on the thread that drives the instance.
    pub async fn instantiate(&self, tenant: &Tenant) -> Result<AsyncGuest> {
        let mut store = self.shared.store(tenant, false)?;
        let api = self.pre.instantiate_async(&mut store).await?;
        Ok(AsyncGuest { store, api })
    }
}

impl Builder<AsyncRuntime> {
    /// The runtime.
    pub fn build(self) -> Result<AsyncRuntime> {
        let (shared, component) = self.compile(AsyncRuntime::config(), crate::GUEST_ASYNC_WASM)?;
        let mut linker = Linker::<HostState>::new(&shared.engine);
        // WASI 0.2 for the sync exports (and Rust's std), WASI 0.3 for the async ones.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        let pre = bindings::FileSessionsAsyncPre::new(linker.instantiate_pre(&component)?)?;
        Ok(AsyncRuntime { shared, pre })
    }
}

/// One instance of the async component.
pub struct AsyncGuest {
    store: Store<HostState>,
    api: bindings::FileSessionsAsync,
}

/// The calls into one instance, for use inside [`AsyncGuest::run`]: each takes the
/// accessor `run` hands out, and any number may be in flight at once.
pub struct Twins<'a>(&'a bindings::FileSessionsAsync);

impl AsyncGuest {
    /// Runs `body` with the instance's event loop: calls made through `twins` inside it
    /// may run concurrently (join them); `run` returns when `body` does.
    pub async fn run<R: Send + 'static>(
        &mut self,
        body: impl AsyncFnOnce(&Accessor<HostState>, &Twins<'_>) -> R,
    ) -> Result<R> {
        let twins = Twins(&self.api);
        Ok(self.store.run_concurrent(async |a| body(a, &twins).await).await?)
    }

    /// `AsyncSessionStore(session_key)`: a session of the async interface.
    pub async fn session(&mut self, key: Option<&str>) -> Result<SessionHandle> {
        let key = key.map(str::to_owned);
        self.run(async |a, t| t.session(a, key).await).await?
    }

    /// `SessionStore(session_key)`: a session of the sync interface, in this instance.
    pub async fn sync_session(&mut self, key: Option<&str>) -> Result<SessionHandle> {
        let key = key.map(str::to_owned);
        self.run(async |a, t| t.sync_session(a, key).await).await?
    }

    /// Drops a session resource.
    pub async fn drop_session(&mut self, s: SessionHandle) -> Result<()> {
        Ok(s.0.resource_drop_async(&mut self.store).await?)
    }

    /// `aclear_expired()`.
    pub async fn aclear_expired(&mut self) -> Result<ClearReport> {
        self.run(async |a, t| t.aclear_expired(a).await).await?
    }

    /// `aclear_expired_batch(cursor, limit, dry_run)`.
    pub async fn aclear_expired_batch(
        &mut self,
        cursor: Option<&str>,
        limit: u32,
        dry_run: bool,
    ) -> Result<ClearBatch> {
        self.run(async |a, t| t.aclear_expired_batch(a, cursor, limit, dry_run).await).await?
    }

    /// `aexists(session_key)`.
    pub async fn aexists(&mut self, s: SessionHandle, key: &str) -> Result<bool> {
        self.aexists_opt(s, Some(key)).await
    }

    /// The largest linear memory the guest has had, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().peak_memory()
    }

    /// What the guest wrote to stderr, when the runtime captures it.
    pub fn stderr(&self) -> String {
        self.store.data().stderr()
    }
}

/// Owned forms of the arguments, as the generated concurrent calls take them.
pub trait Own {
    /// The owned type.
    type Owned;
    /// Converts.
    fn own(self) -> Self::Owned;
}

impl Own for &str {
    type Owned = String;
    fn own(self) -> String {
        self.to_owned()
    }
}

impl Own for Option<&str> {
    type Owned = Option<String>;
    fn own(self) -> Option<String> {
        self.map(str::to_owned)
    }
}

macro_rules! own_as_is {
    ($($t:ty),*) => { $(impl Own for $t { type Owned = $t; fn own(self) -> $t { self } })* };
}
own_as_is!(bool, Option<Expiry>, Option<Option<Expiry>>);

/// Each method twice: on [`Twins`] (inside `run`, concurrently) and on [`AsyncGuest`]
/// (one call, awaited). `[?]` marks the fallible ones (`result<_, error>` in WIT).
macro_rules! calls {
    ($iface:ident . $res:ident: $( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident $([$q:tt])?; )*) => {
        impl Twins<'_> {
            $(
                $(#[$doc])*
                pub async fn $name(&self, a: &Accessor<HostState>, s: SessionHandle $(, $arg: $ty)*) -> Result<$ret> {
                    let api = self.0.$iface().$res();
                    let out = api.$call(a, s.0 $(, Own::own($arg))*).await?;
                    $(let out = out.map_err(HostError::from)$q;)?
                    Ok(out)
                }
            )*
        }
        impl AsyncGuest {
            $(
                $(#[$doc])*
                pub async fn $name(&mut self, s: SessionHandle $(, $arg: $ty)*) -> Result<$ret> {
                    self.run(async move |a, t| t.$name(a, s $(, $arg)*).await).await?
                }
            )*
        }
    };
}

impl Twins<'_> {
    /// `AsyncSessionStore(session_key)`.
    pub async fn session(&self, a: &Accessor<HostState>, key: Option<String>) -> Result<SessionHandle> {
        let api = self.0.file_sessions_store_async_store().async_session_store();
        Ok(SessionHandle(api.call_constructor(a, key).await??))
    }

    /// `SessionStore(session_key)` (the sync interface).
    pub async fn sync_session(&self, a: &Accessor<HostState>, key: Option<String>) -> Result<SessionHandle> {
        let api = self.0.file_sessions_store_store().session_store();
        Ok(SessionHandle(api.call_constructor(a, key).await??))
    }

    /// `aclear_expired()`.
    pub async fn aclear_expired(&self, a: &Accessor<HostState>) -> Result<ClearReport> {
        Ok(self.0.file_sessions_store_async_store().call_aclear_expired(a).await??)
    }

    /// `clear_expired()` (the sync interface).
    pub async fn clear_expired(&self, a: &Accessor<HostState>) -> Result<ClearReport> {
        Ok(self.0.file_sessions_store_store().call_clear_expired(a).await??)
    }

    /// `aclear_expired_batch(cursor, limit, dry_run)`.
    pub async fn aclear_expired_batch(
        &self,
        a: &Accessor<HostState>,
        cursor: Option<&str>,
        limit: u32,
        dry_run: bool,
    ) -> Result<ClearBatch> {
        let api = self.0.file_sessions_store_async_store();
        Ok(api.call_aclear_expired_batch(a, cursor.own(), limit, dry_run).await??)
    }

    /// `aexists(session_key)`.
    pub async fn aexists(&self, a: &Accessor<HostState>, s: SessionHandle, key: &str) -> Result<bool> {
        self.aexists_opt(a, s, Some(key)).await
    }
}

calls! { file_sessions_store_async_store.async_session_store:
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
    /// `aload()`: the data as a JSON object.
    fn aload() -> String = call_aload [?];
    /// `acreate()`.
    fn acreate() -> () = call_acreate [?];
    /// `asave(must_create)`.
    fn asave(must_create: bool) -> () = call_asave [?];
    /// `aexists(session_key)`; `None` as Django's: the session's own key, or a new one.
    fn aexists_opt(key: Option<&str>) -> bool = call_aexists [?];
    /// `adelete(session_key)`.
    fn adelete(key: Option<&str>) -> () = call_adelete [?];
    /// `aget(key, default)`, values as JSON text.
    fn aget_or(key: &str, default: Option<&str>) -> Option<String> = call_aget [?];
    /// `aset(key, value)`, the value as JSON text.
    fn aset(key: &str, value: &str) -> () = call_aset [?];
    /// `apop(key[, default])`, values as JSON text.
    fn apop(key: &str, default: Option<&str>) -> String = call_apop [?];
    /// `asetdefault(key, value)`, values as JSON text.
    fn asetdefault(key: &str, value: &str) -> String = call_asetdefault [?];
    /// `aupdate(dict)`, a JSON object.
    fn aupdate(data: &str) -> () = call_aupdate [?];
    /// `ahas_key(key)`.
    fn ahas_key(key: &str) -> bool = call_ahas_key [?];
    /// `akeys()`.
    fn akeys() -> Vec<String> = call_akeys [?];
    /// `avalues()`.
    fn avalues() -> Vec<String> = call_avalues [?];
    /// `aitems()`.
    fn aitems() -> Vec<(String, String)> = call_aitems [?];
    /// `aflush()`.
    fn aflush() -> () = call_aflush [?];
    /// `acycle_key()`.
    fn acycle_key() -> () = call_acycle_key [?];
    /// `aset_expiry(value)`.
    fn aset_expiry(value: Option<Expiry>) -> () = call_aset_expiry [?];
    /// `aget_expiry_age(modification, expiry)`.
    fn aget_expiry_age_with(modification: Option<&str>, expiry: Option<Option<Expiry>>) -> i64 = call_aget_expiry_age [?];
    /// `aget_expiry_date(modification, expiry)`.
    fn aget_expiry_date_with(modification: Option<&str>, expiry: Option<Option<Expiry>>) -> String = call_aget_expiry_date [?];
    /// `aget_expire_at_browser_close()`.
    fn aget_expire_at_browser_close() -> bool = call_aget_expire_at_browser_close [?];
    /// `aset_test_cookie()`.
    fn aset_test_cookie() -> () = call_aset_test_cookie [?];
    /// `atest_cookie_worked()`.
    fn atest_cookie_worked() -> bool = call_atest_cookie_worked [?];
    /// `adelete_test_cookie()`.
    fn adelete_test_cookie() -> () = call_adelete_test_cookie [?];
}

calls! { file_sessions_store_store.session_store:
    /// `load()` of the sync interface: blocks the instance while it waits on the disk.
    fn load() -> String = call_load [?];
    /// `set(key, value)` of the sync interface.
    fn set(key: &str, value: &str) -> () = call_set [?];
    /// `save(must_create)` of the sync interface.
    fn save(must_create: bool) -> () = call_save [?];
    /// `exists(session_key)` of the sync interface.
    fn exists_opt(key: Option<&str>) -> bool = call_exists [?];
}

impl AsyncGuest {
    /// `aget(key)`.
    pub async fn aget(&mut self, s: SessionHandle, key: &str) -> Result<Option<String>> {
        self.aget_or(s, key, None).await
    }

    /// `aget_expiry_age()` with Django's defaults.
    pub async fn aget_expiry_age(&mut self, s: SessionHandle) -> Result<i64> {
        self.aget_expiry_age_with(s, None, None).await
    }

    /// `aget_expiry_date()` with Django's defaults.
    pub async fn aget_expiry_date(&mut self, s: SessionHandle) -> Result<String> {
        self.aget_expiry_date_with(s, None, None).await
    }
}
