//! The `session-store` resource and `clear-expired`: the synchronous interface, over the
//! WASI 0.2 directory.

use super::{
    Component, WitResult, clear_batch, clear_report, expiry_arg, expiry_value, modification_arg, parse_json,
    parse_object, session_methods, store, to_json, to_json_object, wit,
};
use crate::expiry;
use crate::{Error, ExpiredDeletion, FileStore, Session, run_sync};
use std::cell::RefCell;
use std::rc::Rc;

/// The `session-store` resource: one Django `SessionStore`.
pub struct SessionStore(RefCell<Session<Rc<FileStore>>>);

impl SessionStore {
    /// Runs one method body to completion: over the WASI 0.2 directory it never waits.
    fn with<T>(&self, body: impl AsyncFnOnce(&mut Session<Rc<FileStore>>) -> Result<T, Error>) -> WitResult<T> {
        Ok(run_sync(body(&mut self.0.borrow_mut()))?)
    }
}

/// A `session-methods!` entry as a method of `session-store`.
macro_rules! sync_method {
    ($name:ident / $twin:ident($($arg:ident: $ty:ty),*) -> $ret:ty = |$s:ident| $body:expr) => {
        fn $name(&self, $($arg: $ty),*) -> WitResult<$ret> {
            self.with(async |$s| $body)
        }
    };
}

impl wit::Guest for Component {
    type SessionStore = SessionStore;

    fn clear_expired() -> WitResult<wit::ClearReport> {
        Ok(clear_report(run_sync(store()?.clear_expired())?))
    }

    fn clear_expired_batch(cursor: Option<String>, limit: u32, dry_run: bool) -> WitResult<wit::ClearBatch> {
        Ok(clear_batch(run_sync(store()?.clear_expired_batch(cursor.as_deref(), limit, dry_run))?))
    }
}

impl wit::GuestSessionStore for SessionStore {
    fn new(session_key: Option<String>) -> WitResult<Self> {
        Ok(SessionStore(RefCell::new(Session::new(store()?, session_key))))
    }

    fn storage_path(&self) -> String {
        self.0.borrow().backend.storage_path().to_owned()
    }
    fn file_prefix(&self) -> String {
        self.0.borrow().backend.file_prefix().to_owned()
    }
    fn session_key(&self) -> Option<String> {
        self.0.borrow().state.key().map(str::to_owned)
    }
    fn accessed(&self) -> bool {
        self.0.borrow().state.accessed
    }
    fn set_accessed(&self, value: bool) {
        self.0.borrow_mut().state.accessed = value;
    }
    fn modified(&self) -> bool {
        self.0.borrow().state.modified
    }
    fn set_modified(&self, value: bool) {
        self.0.borrow_mut().state.modified = value;
    }
    fn clear(&self) {
        self.0.borrow_mut().clear();
    }
    fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    session_methods!(sync_method);

    fn remove(&self, key: String) -> WitResult<()> {
        self.with(async |s| s.remove(&key).await)
    }
    fn encode(&self, session_dict: String) -> WitResult<String> {
        Ok(self.0.borrow().encode(&parse_json(&session_dict)?)?)
    }
    fn decode(&self, session_data: String) -> String {
        to_json(&self.0.borrow().decode(&session_data))
    }
}
