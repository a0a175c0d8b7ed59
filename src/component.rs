//! The WIT glue: converts between the contract's types and the crate's, and nothing more.

mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "file-sessions" });
}

use crate::expiry::{self, DateTime};
use crate::{Data, Error, FileStore, Session, Settings};
use bindings::exports::file_sessions::store::store as wit;
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;

struct Component;
bindings::export!(Component with_types_in bindings);

thread_local! {
    /// The store is built once per instance: settings read, directory opened, HMAC keys
    /// derived. Like Django's cached storage path, a failure is not cached.
    static STORE: RefCell<Option<Rc<FileStore>>> = const { RefCell::new(None) };
}

fn store() -> Result<Rc<FileStore>, Error> {
    if let Some(store) = STORE.with_borrow(Clone::clone) {
        return Ok(store);
    }
    let store = Rc::new(FileStore::new(Settings::from_env()?)?);
    STORE.set(Some(store.clone()));
    Ok(store)
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> wit::Error {
        match e {
            Error::Create(s) => wit::Error::CreateError(s),
            Error::Update(s) => wit::Error::UpdateError(s),
            Error::InvalidSessionKey(s) => wit::Error::InvalidSessionKey(s),
            Error::ImproperlyConfigured(s) => wit::Error::ImproperlyConfigured(s),
            Error::KeyError(s) => wit::Error::KeyError(s),
            Error::InvalidValue(s) => wit::Error::InvalidValue(s),
            Error::Io(s) => wit::Error::Io(s),
        }
    }
}

type WitResult<T> = Result<T, wit::Error>;

fn parse_json(text: &str) -> Result<Value, Error> {
    // Nothing bigger could be saved anyway; refuse it before building it in memory.
    if text.len() > crate::codec::MAX_JSON_BYTES {
        return Err(Error::InvalidValue(format!(
            "{} bytes of JSON; the limit is {}",
            text.len(),
            crate::codec::MAX_JSON_BYTES
        )));
    }
    if crate::codec::count_values(text) > crate::codec::MAX_VALUES {
        return Err(Error::InvalidValue(format!("more than {} values", crate::codec::MAX_VALUES)));
    }
    serde_json::from_str(text).map_err(|e| Error::InvalidValue(format!("not valid JSON: {e}")))
}

fn parse_object(text: &str) -> Result<Data, Error> {
    match parse_json(text)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::InvalidValue("expected a JSON object".into())),
    }
}

fn to_json(value: &Value) -> String {
    // serde_json's writer, not `Display` (which goes through `fmt` and is slower).
    serde_json::to_string(value).unwrap_or_default()
}

fn parse_instant(text: &str) -> Result<DateTime, Error> {
    expiry::parse_iso(text).ok_or_else(|| Error::InvalidValue(format!("not an ISO-8601 datetime: {text:?}")))
}

/// A WIT expiry as the value Django stores under `_session_expiry`.
fn expiry_value(e: wit::Expiry) -> Result<Value, Error> {
    match e {
        wit::Expiry::Seconds(n) => Ok(Value::from(n)),
        wit::Expiry::Instant(text) => match parse_instant(&text)? {
            at @ DateTime::Aware(_) => Ok(Value::from(expiry::format_iso(&at))),
            DateTime::Naive(_) => Err(Error::InvalidValue(format!(
                "{text:?} has no UTC offset; sessions compare expiry with aware UTC time"
            ))),
        },
    }
}

fn expiry_arg(e: Option<Option<wit::Expiry>>) -> Result<Option<Option<Value>>, Error> {
    e.map(|inner| inner.map(expiry_value).transpose()).transpose()
}

fn modification_arg(m: Option<String>) -> Result<Option<DateTime>, Error> {
    m.as_deref().map(parse_instant).transpose()
}

/// The `session-store` resource: one Django `SessionStore`.
struct SessionStore(RefCell<Session<Rc<FileStore>>>);

impl SessionStore {
    fn with<T>(&self, f: impl FnOnce(&mut Session<Rc<FileStore>>) -> Result<T, Error>) -> WitResult<T> {
        Ok(f(&mut self.0.borrow_mut())?)
    }
}

impl wit::Guest for Component {
    type SessionStore = SessionStore;

    fn clear_expired() -> WitResult<wit::ClearReport> {
        let r = store()?.clear_expired()?;
        Ok(wit::ClearReport {
            scanned: r.scanned,
            expired_sessions: r.expired_sessions,
            orphaned_temp_files: r.orphaned_temp_files,
            stale_placeholders: r.stale_placeholders,
            failures: r.failures,
        })
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

    fn load(&self) -> WitResult<String> {
        self.with(|s| Ok(serde_json::to_string(&s.load()?).unwrap_or_default()))
    }
    fn create(&self) -> WitResult<()> {
        self.with(|s| s.create())
    }
    fn save(&self, must_create: bool) -> WitResult<()> {
        self.with(|s| s.save(must_create))
    }
    fn exists(&self, session_key: String) -> WitResult<bool> {
        self.with(|s| s.exists(&session_key))
    }
    fn delete(&self, session_key: Option<String>) -> WitResult<()> {
        self.with(|s| s.delete(session_key.as_deref()))
    }

    fn get(&self, key: String, default: Option<String>) -> WitResult<Option<String>> {
        self.with(|s| {
            let default = default.as_deref().map(parse_json).transpose()?;
            Ok(s.get(&key, default)?.as_ref().map(to_json))
        })
    }
    fn set(&self, key: String, value: String) -> WitResult<()> {
        self.with(|s| s.set(&key, parse_json(&value)?))
    }
    fn remove(&self, key: String) -> WitResult<()> {
        self.with(|s| s.remove(&key))
    }
    fn pop(&self, key: String, default: Option<String>) -> WitResult<String> {
        self.with(|s| {
            let default = default.as_deref().map(parse_json).transpose()?;
            Ok(to_json(&s.pop(&key, default)?))
        })
    }
    fn setdefault(&self, key: String, value: String) -> WitResult<String> {
        self.with(|s| Ok(to_json(&s.setdefault(&key, parse_json(&value)?)?)))
    }
    fn update(&self, data: String) -> WitResult<()> {
        self.with(|s| s.update(parse_object(&data)?))
    }
    fn has_key(&self, key: String) -> WitResult<bool> {
        self.with(|s| s.has_key(&key))
    }
    fn keys(&self) -> WitResult<Vec<String>> {
        self.with(|s| s.keys())
    }
    fn values(&self) -> WitResult<Vec<String>> {
        self.with(|s| Ok(s.values()?.iter().map(to_json).collect()))
    }
    fn items(&self) -> WitResult<Vec<(String, String)>> {
        self.with(|s| Ok(s.items()?.into_iter().map(|(k, v)| (k, to_json(&v))).collect()))
    }
    fn clear(&self) {
        self.0.borrow_mut().clear();
    }
    fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
    fn flush(&self) -> WitResult<()> {
        self.with(|s| s.flush())
    }
    fn cycle_key(&self) -> WitResult<()> {
        self.with(|s| s.cycle_key())
    }

    fn set_expiry(&self, value: Option<wit::Expiry>) -> WitResult<()> {
        self.with(|s| s.set_expiry(value.map(expiry_value).transpose()?))
    }
    fn get_expiry_age(&self, modification: Option<String>, expiry: Option<Option<wit::Expiry>>) -> WitResult<i64> {
        self.with(|s| s.get_expiry_age(modification_arg(modification)?, expiry_arg(expiry)?))
    }
    fn get_expiry_date(&self, modification: Option<String>, expiry: Option<Option<wit::Expiry>>) -> WitResult<String> {
        self.with(|s| {
            let date = s.get_expiry_date(modification_arg(modification)?, expiry_arg(expiry)?)?;
            Ok(expiry::format_iso(&date))
        })
    }
    fn get_expire_at_browser_close(&self) -> WitResult<bool> {
        self.with(|s| s.get_expire_at_browser_close())
    }

    fn set_test_cookie(&self) -> WitResult<()> {
        self.with(|s| s.set_test_cookie())
    }
    fn test_cookie_worked(&self) -> WitResult<bool> {
        self.with(|s| s.test_cookie_worked())
    }
    fn delete_test_cookie(&self) -> WitResult<()> {
        self.with(|s| s.delete_test_cookie())
    }

    fn encode(&self, session_dict: String) -> WitResult<String> {
        self.with(|s| s.backend.encode(&parse_json(&session_dict)?))
    }
    fn decode(&self, session_data: String) -> String {
        to_json(&self.0.borrow().backend.decode(&session_data))
    }
}
