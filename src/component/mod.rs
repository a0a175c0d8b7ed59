//! The WIT glue: converts between the contract's types and the crate's, and nothing more.
//!
//! `sync_store` binds the `session-store` resource, `async_store` (feature `async`) the
//! `async-session-store` one. The persistence and dictionary methods of both come from one
//! list, [`session_methods!`], so a twin cannot drift from its sync form: the sync side
//! completes each body with [`run_sync`](crate::run_sync), the async side awaits it.

#[cfg(feature = "async")]
mod async_store;
mod sync_store;

mod bindings {
    #[cfg(not(feature = "async"))]
    wit_bindgen::generate!({ path: "wit", world: "file-sessions" });
    #[cfg(feature = "async")]
    wit_bindgen::generate!({ path: "wit", world: "file-sessions-async" });
}

use crate::expiry::{self, DateTime};
use crate::{Data, Error, FileStore, Settings};
use bindings::exports::file_sessions::store::store as wit;
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;

/// The component: implements the exported interfaces.
struct Component;
bindings::export!(Component with_types_in bindings);

thread_local! {
    /// The store is built once per instance: settings read, directory opened, HMAC keys
    /// derived. Like Django's cached storage path, a failure is not cached.
    static STORE: RefCell<Option<Rc<FileStore>>> = const { RefCell::new(None) };
}

/// The instance's store (WASI 0.2 directory), built on first use.
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

pub(crate) type WitResult<T> = Result<T, wit::Error>;

pub(crate) fn parse_json(text: &str) -> Result<Value, Error> {
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

pub(crate) fn parse_object(text: &str) -> Result<Data, Error> {
    match parse_json(text)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::InvalidValue("expected a JSON object".into())),
    }
}

pub(crate) fn to_json(value: &Value) -> String {
    // serde_json's writer, not `Display` (which goes through `fmt` and is slower).
    serde_json::to_string(value).unwrap_or_default()
}

fn parse_instant(text: &str) -> Result<DateTime, Error> {
    expiry::parse_iso(text).ok_or_else(|| Error::InvalidValue(format!("not an ISO-8601 datetime: {text:?}")))
}

/// A WIT expiry as the value Django stores under `_session_expiry`.
pub(crate) fn expiry_value(e: wit::Expiry) -> Result<Value, Error> {
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

pub(crate) fn expiry_arg(e: Option<Option<wit::Expiry>>) -> Result<Option<Option<Value>>, Error> {
    e.map(|inner| inner.map(expiry_value).transpose()).transpose()
}

pub(crate) fn modification_arg(m: Option<String>) -> Result<Option<DateTime>, Error> {
    m.as_deref().map(parse_instant).transpose()
}

/// Converts a `ClearReport` into its WIT record.
fn clear_report(r: crate::ClearReport) -> wit::ClearReport {
    wit::ClearReport {
        scanned: r.scanned,
        expired_sessions: r.expired_sessions,
        orphaned_temp_files: r.orphaned_temp_files,
        stale_placeholders: r.stale_placeholders,
        failures: r.failures,
        undecodable_names: r.undecodable_names,
    }
}

/// Converts a `ClearBatch` into its WIT record.
fn clear_batch(b: crate::ClearBatch) -> wit::ClearBatch {
    wit::ClearBatch { report: clear_report(b.report), cursor: b.cursor }
}

/// The methods both resources have, each written once as `name / async twin (args) ->
/// result = |session| body`. `$emit` is `sync_method` or `async_method`, which wrap the
/// body (an `async` block over the session) into the trait method of their resource.
macro_rules! session_methods {
    ($emit:ident) => {
        $emit!(load / aload() -> String = |s| Ok(to_json_object(&s.load().await?)));
        $emit!(create / acreate() -> () = |s| s.create().await);
        $emit!(save / asave(must_create: bool) -> () = |s| s.save(must_create).await);
        $emit!(exists / aexists(session_key: Option<String>) -> bool = |s| s.exists(session_key.as_deref()).await);
        $emit!(delete / adelete(session_key: Option<String>) -> () = |s| s.delete(session_key.as_deref()).await);
        $emit!(get / aget(key: String, default: Option<String>) -> Option<String> = |s| {
            let default = default.as_deref().map(parse_json).transpose()?;
            Ok(s.get(&key, default).await?.as_ref().map(to_json))
        });
        $emit!(set / aset(key: String, value: String) -> () = |s| s.set(&key, parse_json(&value)?).await);
        $emit!(pop / apop(key: String, default: Option<String>) -> String = |s| {
            let default = default.as_deref().map(parse_json).transpose()?;
            Ok(to_json(&s.pop(&key, default).await?))
        });
        $emit!(setdefault / asetdefault(key: String, value: String) -> String = |s| {
            Ok(to_json(&s.setdefault(&key, parse_json(&value)?).await?))
        });
        $emit!(update / aupdate(data: String) -> () = |s| s.update(parse_object(&data)?).await);
        $emit!(has_key / ahas_key(key: String) -> bool = |s| s.has_key(&key).await);
        $emit!(keys / akeys() -> Vec<String> = |s| s.keys().await);
        $emit!(values / avalues() -> Vec<String> = |s| Ok(s.values().await?.iter().map(to_json).collect()));
        $emit!(items / aitems() -> Vec<(String, String)> = |s| {
            Ok(s.items().await?.into_iter().map(|(k, v)| (k, to_json(&v))).collect())
        });
        $emit!(flush / aflush() -> () = |s| s.flush().await);
        $emit!(cycle_key / acycle_key() -> () = |s| s.cycle_key().await);
        $emit!(set_expiry / aset_expiry(value: Option<wit::Expiry>) -> () = |s| {
            s.set_expiry(value.map(expiry_value).transpose()?).await
        });
        $emit!(get_expiry_age / aget_expiry_age(modification: Option<String>, expiry: Option<Option<wit::Expiry>>) -> i64 = |s| {
            s.get_expiry_age(modification_arg(modification)?, expiry_arg(expiry)?).await
        });
        $emit!(get_expiry_date / aget_expiry_date(modification: Option<String>, expiry: Option<Option<wit::Expiry>>) -> String = |s| {
            let date = s.get_expiry_date(modification_arg(modification)?, expiry_arg(expiry)?).await?;
            Ok(expiry::format_iso(&date))
        });
        $emit!(get_expire_at_browser_close / aget_expire_at_browser_close() -> bool = |s| {
            s.get_expire_at_browser_close().await
        });
        $emit!(set_test_cookie / aset_test_cookie() -> () = |s| s.set_test_cookie().await);
        $emit!(test_cookie_worked / atest_cookie_worked() -> bool = |s| s.test_cookie_worked().await);
        $emit!(delete_test_cookie / adelete_test_cookie() -> () = |s| s.delete_test_cookie().await);
    };
}
use session_methods;

/// Session data as the JSON object text the contract returns.
pub(crate) fn to_json_object(data: &Data) -> String {
    serde_json::to_string(data).unwrap_or_default()
}
