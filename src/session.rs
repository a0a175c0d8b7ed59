//! Django's `SessionBase`: the session's state (key, cached data, `accessed`/`modified`),
//! the dictionary and expiry API, and how session data is encoded ([`Codec`]), on top of a
//! [`Backend`] that persists it.
//!
//! The line is where Django and tower-sessions draw it. The session owns everything that
//! is the same whatever the storage: state, the dictionary API, expiry arithmetic, and the
//! signed encoding (`SessionBase.encode`/`decode`). A backend only persists: `load`,
//! `create`, `save`, `exists`, `delete` ([`Backend`]), and, if it can sweep, expiry
//! deletion ([`ExpiredDeletion`], as tower-sessions' `ExpiredDeletion`).
//!
//! A second backend (say over `wasi:keyvalue`) is one new file implementing those two
//! traits, storing the text its [`Codec`] produces under the key; plus one world in
//! `wit/store.wit` that imports what it needs and exports `store`, and the line of the
//! `component` glue that names the backend type. The session, the codec, the settings and
//! the WIT conversions are shared. `store::FileStore` is the file backend, written this way.

use crate::codec::{DecodeError, EncodeError, MAX_DEPTH, MAX_JSON_BYTES, MAX_VALUES, Signer};
use crate::error::{Error, Result};
use crate::expiry::{self, DateTime, Stored};
use crate::key;
use crate::settings::Settings;
use serde_json::{Map, Value};

/// Session data: a JSON object, in insertion order (as a Python dict).
pub type Data = Map<String, Value>;

/// `TEST_COOKIE_NAME` / `TEST_COOKIE_VALUE`.
const TEST_COOKIE: (&str, &str) = ("testcookie", "worked");

/// Where `set_expiry` keeps a custom expiry.
pub const EXPIRY_KEY: &str = "_session_expiry";

/// `SessionBase.encode`/`decode`: session data as Django's signed text (`signing.dumps`
/// with the sessions' salt, `SECRET_KEY`, and `SECRET_KEY_FALLBACKS` when verifying),
/// within the limits a load can read back, and Django's "Session data corrupted" warning
/// for a signature that does not verify. Built once per instance (it derives the HMAC keys).
pub struct Codec {
    signer: Signer,
}

impl Codec {
    /// The codec for `SECRET_KEY` and `SECRET_KEY_FALLBACKS`.
    pub fn new(settings: &Settings) -> Codec {
        Codec { signer: Signer::new(&settings.secret_key, &settings.secret_key_fallbacks) }
    }

    /// `encode(session_dict)`, refusing what `decode` could not read back.
    pub fn encode<T: serde::Serialize + ?Sized>(&self, data: &T) -> Result<String> {
        self.signer.dumps_checked(data, expiry::now().unix_timestamp()).map_err(|e| match e {
            EncodeError::TooLarge(n) => {
                Error::InvalidValue(format!("the session is {n} bytes of JSON; the limit is {MAX_JSON_BYTES}"))
            }
            EncodeError::TooDeep => {
                Error::InvalidValue(format!("the session is nested deeper than {MAX_DEPTH} levels"))
            }
            EncodeError::TooMany => Error::InvalidValue(format!("the session holds more than {MAX_VALUES} values")),
        })
    }

    /// `decode(session_data)`: `{}` for anything that does not verify or parse; a
    /// signature that does not verify is logged, as Django logs it.
    pub fn decode(&self, text: &str) -> Value {
        self.verified(text).unwrap_or_else(|| Value::Object(Data::new()))
    }

    /// Stored bytes as session data: `None` unless they are ASCII, verify and hold a JSON
    /// object (Django crashes on non-ASCII files and on signed non-objects; here both read
    /// as corrupt). Logs a bad signature as `decode` does.
    pub fn decode_object(&self, bytes: &[u8]) -> Option<Data> {
        let text = std::str::from_utf8(bytes).ok().filter(|t| t.is_ascii())?;
        match self.verified(text)? {
            Value::Object(data) => Some(data),
            _ => None,
        }
    }

    /// `signing.loads` as `decode` runs it: `None` for anything that does not verify or
    /// parse, with Django's warning for a bad signature.
    fn verified(&self, text: &str) -> Option<Value> {
        match self.signer.loads(text) {
            Ok(value) => Some(value),
            Err(DecodeError::BadSignature) => {
                crate::log::session_data_corrupted();
                None
            }
            Err(DecodeError::Malformed(_)) => None,
        }
    }
}

/// The persistence side of a session: Django's backend methods, and the settings the
/// session reads through it.
///
/// A backend stores each session's [`Codec`] text under its key and tells whether it has
/// expired (by its `_session_expiry`, or by its age against the cookie age). It never
/// creates a record for an unknown key (CVE-2015-5143): `load` of one drops the key.
///
/// The methods are `async` so that one implementation serves both artifacts: over a
/// synchronous directory every future is ready at once and [`run_sync`](crate::run_sync)
/// drives it; the async component awaits WASI 0.3 I/O instead.
#[allow(async_fn_in_trait)] // one thread per instance: no `Send` bound wanted
pub trait Backend {
    /// `load()`: the stored data; `{}` for a missing, unreadable or corrupt record. May
    /// change the state's key: drops an unknown one, replaces an expired session by a new
    /// empty one under a new key.
    async fn load(&self, state: &mut State) -> Result<Data>;
    /// `save(must_create)`: stores the state's data under its key (creating a key when
    /// it has none). `must_create` fails with `Create` when the key is taken; without it,
    /// `Update` when the record is gone (it is not resurrected).
    async fn save(&self, state: &mut State, must_create: bool) -> Result<()>;
    /// `create()`: stores the cached data under a new random key, retrying on collisions;
    /// marks the state modified. Never loads.
    async fn create(&self, state: &mut State) -> Result<()>;
    /// `exists(session_key)`: whether a record exists for the key (expiry not checked).
    async fn exists(&self, session_key: &str) -> Result<bool>;
    /// `delete(session_key)`; `None` means the state's own key. A missing record is fine.
    async fn delete(&self, state: &State, session_key: Option<&str>) -> Result<()>;
    /// `get_session_cookie_age()`.
    fn cookie_age(&self) -> i64;
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    fn expire_at_browser_close(&self) -> bool;
    /// The sessions' codec: what the backend encodes to store and decodes on load.
    fn codec(&self) -> &Codec;
}

/// Expiry deletion (`clear_expired`, `manage.py clearsessions`), for a backend that can
/// sweep its records: deletes expired sessions and never creates any.
#[allow(async_fn_in_trait)]
pub trait ExpiredDeletion {
    /// `clear_expired()` in one call.
    async fn clear_expired(&self) -> Result<crate::ClearReport>;
    /// One bounded step of the sweep: at most `limit` records from `cursor`; with
    /// `dry_run`, nothing removed.
    async fn clear_expired_batch(&self, cursor: Option<&str>, limit: u32, dry_run: bool) -> Result<crate::ClearBatch>;
}

impl<B: Backend + ?Sized> Backend for std::rc::Rc<B> {
    async fn load(&self, state: &mut State) -> Result<Data> {
        (**self).load(state).await
    }
    async fn save(&self, state: &mut State, must_create: bool) -> Result<()> {
        (**self).save(state, must_create).await
    }
    async fn create(&self, state: &mut State) -> Result<()> {
        (**self).create(state).await
    }
    async fn exists(&self, session_key: &str) -> Result<bool> {
        (**self).exists(session_key).await
    }
    async fn delete(&self, state: &State, session_key: Option<&str>) -> Result<()> {
        (**self).delete(state, session_key).await
    }
    fn cookie_age(&self) -> i64 {
        (**self).cookie_age()
    }
    fn expire_at_browser_close(&self) -> bool {
        (**self).expire_at_browser_close()
    }
    fn codec(&self) -> &Codec {
        (**self).codec()
    }
}

/// A session's state, kept apart from how it is stored.
#[derive(Debug, Default, Clone)]
pub struct State {
    key: Option<String>,
    /// `_session_cache`: `None` until the data is first needed.
    pub cache: Option<Data>,
    /// Whether the data was read.
    pub accessed: bool,
    /// Whether the data was changed.
    pub modified: bool,
}

impl State {
    /// A state for `key` (kept only when Django would keep it: at least 8 characters).
    pub fn new(key: Option<String>) -> State {
        State { key: key::validated(key), ..State::default() }
    }

    /// The current key.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The validating setter of `_session_key`.
    pub fn set_key(&mut self, key: Option<String>) {
        self.key = key::validated(key);
    }

    /// `_get_session(no_load)`: the cached data, loading it first if needed.
    pub async fn data(&mut self, backend: &impl Backend, no_load: bool) -> Result<&mut Data> {
        self.accessed = true;
        if self.cache.is_none() && self.key.is_some() && !no_load {
            let data = backend.load(self).await?;
            self.cache = Some(data);
        }
        Ok(self.data_unloaded())
    }

    /// `_get_session(no_load=True)`: the cached data, `{}` when nothing is cached.
    pub fn data_unloaded(&mut self) -> &mut Data {
        self.accessed = true;
        self.cache.get_or_insert_with(Data::new)
    }
}

/// A session: its state plus the backend that stores it. This is Django's `SessionStore`.
pub struct Session<B: Backend> {
    /// The state.
    pub state: State,
    /// The persistence.
    pub backend: B,
}

fn missing(key: &str) -> Error {
    Error::KeyError(format!("{key:?} is not in the session"))
}

impl<B: Backend> Session<B> {
    /// `SessionStore(session_key)`.
    pub fn new(backend: B, session_key: Option<String>) -> Session<B> {
        Session { state: State::new(session_key), backend }
    }

    async fn data(&mut self) -> Result<&mut Data> {
        self.state.data(&self.backend, false).await
    }

    /// `load()`.
    pub async fn load(&mut self) -> Result<Data> {
        self.backend.load(&mut self.state).await
    }
    /// `save(must_create)`.
    pub async fn save(&mut self, must_create: bool) -> Result<()> {
        self.backend.save(&mut self.state, must_create).await
    }
    /// `create()`.
    pub async fn create(&mut self) -> Result<()> {
        self.backend.create(&mut self.state).await
    }
    /// `exists(session_key)`. With `None`, as Django's file backend (`_key_to_file`): the
    /// key `_get_or_create_session_key()` gives, which a session without one now keeps.
    pub async fn exists(&mut self, session_key: Option<&str>) -> Result<bool> {
        let key = match session_key {
            Some(key) => key.to_owned(),
            None => self.get_or_create_key().await?,
        };
        self.backend.exists(&key).await
    }

    /// `_get_or_create_session_key()`.
    async fn get_or_create_key(&mut self) -> Result<String> {
        if let Some(key) = self.state.key() {
            return Ok(key.to_owned());
        }
        let key = self.new_key().await?;
        self.state.set_key(Some(key.clone()));
        Ok(key)
    }

    /// `_get_new_session_key()`: a random key no file has yet (bounded, unlike Django's
    /// loop: with 165-bit keys a second draw never happens).
    async fn new_key(&self) -> Result<String> {
        for _ in 0..100 {
            let key = key::generate().map_err(|e| Error::Io(format!("no randomness for a session key: {e}")))?;
            if !self.backend.exists(&key).await? {
                return Ok(key);
            }
        }
        Err(Error::Create("no free session key after 100 attempts".into()))
    }
    /// `delete(session_key)`.
    pub async fn delete(&self, session_key: Option<&str>) -> Result<()> {
        self.backend.delete(&self.state, session_key).await
    }

    /// `encode(session_dict)`.
    pub fn encode<T: serde::Serialize + ?Sized>(&self, data: &T) -> Result<String> {
        self.backend.codec().encode(data)
    }

    /// `decode(session_data)`: `{}` for anything that does not verify or parse.
    pub fn decode(&self, session_data: &str) -> Value {
        self.backend.codec().decode(session_data)
    }

    /// `get(key, default)`.
    pub async fn get(&mut self, key: &str, default: Option<Value>) -> Result<Option<Value>> {
        Ok(self.data().await?.get(key).cloned().or(default))
    }

    /// `self[key] = value`.
    pub async fn set(&mut self, key: &str, value: Value) -> Result<()> {
        self.data().await?.insert(key.to_owned(), value);
        self.state.modified = true;
        Ok(())
    }

    /// `del self[key]`.
    pub async fn remove(&mut self, key: &str) -> Result<()> {
        // shift_remove keeps the order of the other keys, as a Python dict does.
        self.data().await?.shift_remove(key).ok_or_else(|| missing(key))?;
        self.state.modified = true;
        Ok(())
    }

    /// `pop(key[, default])`.
    pub async fn pop(&mut self, key: &str, default: Option<Value>) -> Result<Value> {
        let popped = self.data().await?.shift_remove(key);
        self.state.modified |= popped.is_some();
        popped.or(default).ok_or_else(|| missing(key))
    }

    /// `setdefault(key, value)`.
    pub async fn setdefault(&mut self, key: &str, value: Value) -> Result<Value> {
        if let Some(existing) = self.data().await?.get(key) {
            return Ok(existing.clone());
        }
        self.set(key, value.clone()).await?;
        Ok(value)
    }

    /// `update(dict)`: marks the session modified even for an empty dict, as Django does.
    pub async fn update(&mut self, other: Data) -> Result<()> {
        let data = self.data().await?;
        for (k, v) in other {
            data.insert(k, v);
        }
        self.state.modified = true;
        Ok(())
    }

    /// `key in self`.
    pub async fn has_key(&mut self, key: &str) -> Result<bool> {
        Ok(self.data().await?.contains_key(key))
    }

    /// `keys()`.
    pub async fn keys(&mut self) -> Result<Vec<String>> {
        Ok(self.data().await?.keys().cloned().collect())
    }

    /// `values()`.
    pub async fn values(&mut self) -> Result<Vec<Value>> {
        Ok(self.data().await?.values().cloned().collect())
    }

    /// `items()`.
    pub async fn items(&mut self) -> Result<Vec<(String, Value)>> {
        Ok(self.data().await?.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// `clear()`: replaces the data with `{}` without loading it.
    pub fn clear(&mut self) {
        self.state.cache = Some(Data::new());
        self.state.accessed = true;
        self.state.modified = true;
    }

    /// `is_empty()`: no key, and no cached data or empty cached data. Never loads.
    pub fn is_empty(&self) -> bool {
        self.state.key.is_none() && self.state.cache.as_ref().is_none_or(Data::is_empty)
    }

    /// `flush()`: logout. Clears the data, deletes the file, drops the key.
    pub async fn flush(&mut self) -> Result<()> {
        self.clear();
        self.delete(None).await?;
        self.state.key = None;
        Ok(())
    }

    /// `cycle_key()`: login. The same data under a new key, saved at once; the old file
    /// is deleted.
    pub async fn cycle_key(&mut self) -> Result<()> {
        let data = self.data().await?.clone();
        let old_key = self.state.key.clone();
        self.create().await?;
        self.state.cache = Some(data);
        if let Some(old) = old_key {
            self.delete(Some(&old)).await?;
        }
        Ok(())
    }

    /// `set_expiry(value)`: `None` removes a custom expiry.
    pub async fn set_expiry(&mut self, value: Option<Value>) -> Result<()> {
        match value {
            None => match self.remove(EXPIRY_KEY).await {
                Ok(()) | Err(Error::KeyError(_)) => Ok(()),
                Err(e) => Err(e),
            },
            Some(v) => self.set(EXPIRY_KEY, v).await,
        }
    }

    /// The expiry `get_expiry_age` / `get_expiry_date` work from: the given one, or the
    /// session's own (which loads it).
    async fn expiry_arg(&mut self, expiry: Option<Option<Value>>) -> Result<Stored> {
        let value = match expiry {
            Some(given) => given,
            None => self.get(EXPIRY_KEY, None).await?,
        };
        Ok(Stored::classify(value.as_ref()))
    }

    /// `get_expiry_age(modification=..., expiry=...)`: whole seconds, floored.
    pub async fn get_expiry_age(
        &mut self,
        modification: Option<DateTime>,
        expiry: Option<Option<Value>>,
    ) -> Result<i64> {
        match self.expiry_arg(expiry).await? {
            Stored::Default => Ok(self.backend.cookie_age()),
            Stored::Seconds(n) => Ok(n),
            Stored::Instant(at) => {
                let modification = modification.unwrap_or(DateTime::Aware(expiry::now()));
                at.minus(&modification)
                    .map(expiry::floor_seconds)
                    .ok_or_else(|| Error::InvalidValue("cannot compare a naive datetime with an aware one".into()))
            }
            Stored::Invalid => Err(invalid_expiry()),
        }
    }

    /// `get_expiry_date(modification=..., expiry=...)`.
    pub async fn get_expiry_date(
        &mut self,
        modification: Option<DateTime>,
        expiry: Option<Option<Value>>,
    ) -> Result<DateTime> {
        let seconds = match self.expiry_arg(expiry).await? {
            Stored::Instant(at) => return Ok(at),
            Stored::Invalid => return Err(invalid_expiry()),
            Stored::Default => self.backend.cookie_age(),
            Stored::Seconds(n) => n,
        };
        let modification = modification.unwrap_or(DateTime::Aware(expiry::now()));
        modification.plus_seconds(seconds).ok_or_else(|| Error::InvalidValue("the expiry date is out of range".into()))
    }

    /// `get_expire_at_browser_close()`.
    pub async fn get_expire_at_browser_close(&mut self) -> Result<bool> {
        Ok(match self.get(EXPIRY_KEY, None).await? {
            None | Some(Value::Null) => self.backend.expire_at_browser_close(),
            Some(v) => is_python_zero(&v),
        })
    }

    /// `set_test_cookie()`.
    pub async fn set_test_cookie(&mut self) -> Result<()> {
        self.set(TEST_COOKIE.0, Value::from(TEST_COOKIE.1)).await
    }

    /// `test_cookie_worked()`.
    pub async fn test_cookie_worked(&mut self) -> Result<bool> {
        Ok(self.get(TEST_COOKIE.0, None).await? == Some(Value::from(TEST_COOKIE.1)))
    }

    /// `delete_test_cookie()`.
    pub async fn delete_test_cookie(&mut self) -> Result<()> {
        self.remove(TEST_COOKIE.0).await
    }
}

fn invalid_expiry() -> Error {
    Error::InvalidValue(format!("{EXPIRY_KEY} is neither a number nor an ISO-8601 datetime"))
}

/// `value == 0` in Python: `0`, `0.0` and `False`.
fn is_python_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}
