//! The `async-session-store` resource and `aclear-expired`: Django's async twins as
//! component-model `async func`s over the WASI 0.3 directory. The bodies are the sync
//! interface's, from [`session_methods!`]; only the I/O under them differs.

use super::{
    Component, WitResult, bindings, clear_batch, clear_report, expiry_arg, expiry_value, modification_arg, parse_json,
    parse_object, session_methods, to_json, to_json_object, wit,
};
use crate::dir::AsyncDir;
use crate::expiry;
use crate::store::unusable_path;
use crate::{Backend, Codec, Data, Error, ExpiredDeletion, FileStore, Session, Settings, State};
use bindings::exports::file_sessions::store::async_store as wit_async;
use futures::lock::Mutex;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// The instance's async backend, built by the first constructor: settings read, HMAC
    /// keys derived later with the store. Like Django's cached storage path, a failure is
    /// not cached.
    static BACKEND: RefCell<Option<Rc<LazyStore>>> = const { RefCell::new(None) };
}

/// The instance's backend, reading the settings on first use.
fn backend() -> Result<Rc<LazyStore>, Error> {
    if let Some(backend) = BACKEND.with_borrow(Clone::clone) {
        return Ok(backend);
    }
    let settings = Settings::from_env()?;
    let codec = Rc::new(Codec::new(&settings));
    let backend = Rc::new(LazyStore { settings, codec, store: RefCell::new(None) });
    BACKEND.set(Some(backend.clone()));
    Ok(backend)
}

/// The file store, with its directory opened by the first call that needs it: opening is
/// itself a WASI 0.3 call, which a constructor cannot await.
pub struct LazyStore {
    settings: Settings,
    codec: Rc<Codec>,
    store: RefCell<Option<Rc<FileStore<AsyncDir>>>>,
}

impl LazyStore {
    /// The store, opening the directory if this is the first call. Two first calls racing
    /// both open it; either store does, and the later one is kept.
    async fn get(&self) -> Result<Rc<FileStore<AsyncDir>>, Error> {
        if let Some(store) = self.store.borrow().clone() {
            return Ok(store);
        }
        let path = &self.settings.file_path;
        let dir = AsyncDir::open(path).await.map_err(|e| unusable_path(&self.settings, &e))?;
        let store = Rc::new(FileStore::with_codec(self.settings.clone(), dir, self.codec.clone()));
        *self.store.borrow_mut() = Some(store.clone());
        Ok(store)
    }
}

impl Backend for LazyStore {
    async fn load(&self, state: &mut State) -> Result<Data, Error> {
        self.get().await?.load(state).await
    }
    async fn save(&self, state: &mut State, must_create: bool) -> Result<(), Error> {
        self.get().await?.save(state, must_create).await
    }
    async fn create(&self, state: &mut State) -> Result<(), Error> {
        self.get().await?.create(state).await
    }
    async fn exists(&self, session_key: &str) -> Result<bool, Error> {
        self.get().await?.exists(session_key).await
    }
    async fn delete(&self, state: &State, session_key: Option<&str>) -> Result<(), Error> {
        self.get().await?.delete(state, session_key).await
    }
    fn cookie_age(&self) -> i64 {
        self.settings.cookie_age
    }
    fn expire_at_browser_close(&self) -> bool {
        self.settings.expire_at_browser_close
    }
    fn codec(&self) -> &Codec {
        &self.codec
    }
}

type AsyncSession = Session<Rc<LazyStore>>;

/// The `async-session-store` resource. The lock makes calls on one session take turns
/// (in call order) across their awaits; calls on different sessions interleave freely.
pub struct AsyncSessionStore {
    session: Mutex<AsyncSession>,
}

impl AsyncSessionStore {
    /// Waits for this session's turn, then runs one method body on it.
    async fn with<T>(&self, body: impl AsyncFnOnce(&mut AsyncSession) -> Result<T, Error>) -> WitResult<T> {
        Ok(body(&mut *self.session.lock().await).await?)
    }

    /// Waits for this session's turn, then reads or sets its state (no I/O).
    async fn state<T>(&self, body: impl FnOnce(&mut AsyncSession) -> T) -> T {
        body(&mut *self.session.lock().await)
    }
}

/// A `session-methods!` entry as a method of `async-session-store`.
macro_rules! async_method {
    ($name:ident / $twin:ident($($arg:ident: $ty:ty),*) -> $ret:ty = |$s:ident| $body:expr) => {
        async fn $twin(&self, $($arg: $ty),*) -> WitResult<$ret> {
            self.with(async |$s| $body).await
        }
    };
}

impl wit_async::Guest for Component {
    type AsyncSessionStore = AsyncSessionStore;

    async fn aclear_expired() -> WitResult<wit::ClearReport> {
        Ok(clear_report(backend()?.get().await?.clear_expired().await?))
    }

    async fn aclear_expired_batch(cursor: Option<String>, limit: u32, dry_run: bool) -> WitResult<wit::ClearBatch> {
        let store = backend()?.get().await?;
        Ok(clear_batch(store.clear_expired_batch(cursor.as_deref(), limit, dry_run).await?))
    }
}

impl wit_async::GuestAsyncSessionStore for AsyncSessionStore {
    fn new(session_key: Option<String>) -> WitResult<Self> {
        Ok(AsyncSessionStore { session: Mutex::new(Session::new(backend()?, session_key)) })
    }

    fn storage_path(&self) -> String {
        backend().map(|b| b.settings.file_path.clone()).unwrap_or_default()
    }
    fn file_prefix(&self) -> String {
        backend().map(|b| b.settings.cookie_name.clone()).unwrap_or_default()
    }
    async fn session_key(&self) -> Option<String> {
        self.state(|s| s.state.key().map(str::to_owned)).await
    }
    async fn accessed(&self) -> bool {
        self.state(|s| s.state.accessed).await
    }
    async fn set_accessed(&self, value: bool) {
        self.state(|s| s.state.accessed = value).await
    }
    async fn modified(&self) -> bool {
        self.state(|s| s.state.modified).await
    }
    async fn set_modified(&self, value: bool) {
        self.state(|s| s.state.modified = value).await
    }
    async fn clear(&self) {
        self.state(|s| s.clear()).await
    }
    async fn is_empty(&self) -> bool {
        self.state(|s| s.is_empty()).await
    }

    session_methods!(async_method);
}
