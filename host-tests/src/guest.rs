//! [`Guest`]: one instance of the portable component, and typed calls into it.

use crate::bindings::{self, ClearBatch, ClearReport, Expiry};
use crate::{HostState, Result};
use wasmtime::Store;
use wasmtime::component::ResourceAny;

/// A `session-store` resource inside a [`Guest`].
#[derive(Clone, Copy, Debug)]
pub struct SessionHandle(pub(crate) ResourceAny);

/// One instance of the component (one `Store`), and typed calls into it.
pub struct Guest {
    store: Store<HostState>,
    api: bindings::FileSessions,
}

impl Guest {
    pub(crate) fn new(store: Store<HostState>, api: bindings::FileSessions) -> Guest {
        Guest { store, api }
    }
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
        self.store.data().peak_memory()
    }

    /// What the guest wrote to stderr, when the runtime captures it
    /// ([`GuestStderr::Capture`](crate::GuestStderr::Capture)).
    pub fn stderr(&self) -> String {
        self.store.data().stderr()
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
