//! Django's async twin tests (`tests/sessions_tests/tests.py`, the `*_async` tests and the
//! `SessionBaseTests.test_a*` ones, numbered as in §5 of the behaviour reference), run
//! through wasmtime against the async component's `async-session-store` resource.
//!
//! What this proves: every `a*` method of the async interface (WASI 0.3 I/O, driven with
//! `run_concurrent`) has the semantics of its sync form and of Django's twin. Each test
//! mirrors the sync test of the same item in `django_parity.rs`, with the same extra checks
//! on the `accessed`/`modified` flags, the keys and the files on disk, so that each can
//! fail. The async resource has no `decode`, so file contents are read with the native
//! signer.
//!
//! Two deliberate differences from Django are asserted:
//! * `adelete_test_cookie()` marks the session modified, as the sync `delete_test_cookie()`
//!   does. Django's async form forgets to, so the deletion would never be saved.
//! * `aset_expiry(None)` ends with the same flags as the sync `set_expiry(None)`.
//!
//! Items 72–80 test that a bare `SessionBase` raises `NotImplementedError`. There is no bare
//! `SessionBase` in the contract, so here they check that the file store implements
//! `acreate`, `adelete`, `aexists`, `aload` and `asave` as Django's file backend does (§3.2–§3.7).

mod common;
use common::*;

use file_sessions_host::SessionHandle;
use file_sessions_host::twins::{AsyncGuest, Expiry};
use serde_json::{Value, json as j};

/// Django's default `SESSION_COOKIE_AGE` (two weeks).
const COOKIE_AGE: i64 = 1_209_600;

/// A fixed "now" for the expiry tests, with microseconds (Django's tests freeze
/// `timezone.now()`; we pass `modification` explicitly instead).
const M: &str = "2096-11-26T05:37:16.092128+00:00";
/// `M + 10 s`.
const M_PLUS_10: &str = "2096-11-26T05:37:26.092128+00:00";

/// A fresh async instance on the env's directory and a new session without a key.
async fn setup(env: &Env) -> (AsyncGuest, SessionHandle) {
    let mut g = env.async_guest().await;
    let s = g.session(None).await.expect("SessionStore()");
    (g, s)
}

/// The session's key, which must be set.
async fn key_of(g: &mut AsyncGuest, s: SessionHandle) -> String {
    g.session_key(s).await.unwrap().expect("the session has a key")
}

/// `(accessed, modified)`.
async fn flags(g: &mut AsyncGuest, s: SessionHandle) -> (bool, bool) {
    (g.accessed(s).await.unwrap(), g.modified(s).await.unwrap())
}

/// `self.session.accessed = False; self.session.modified = False`.
async fn reset_flags(g: &mut AsyncGuest, s: SessionHandle) {
    g.set_accessed(s, false).await.unwrap();
    g.set_modified(s, false).await.unwrap();
}

/// `aget(key)` parsed, or `None`.
async fn aget(g: &mut AsyncGuest, s: SessionHandle, key: &str) -> Option<Value> {
    g.aget(s, key).await.unwrap().map(|v| json(&v))
}

/// `aitems()` as JSON pairs.
async fn items(g: &mut AsyncGuest, s: SessionHandle) -> Vec<(String, Value)> {
    g.aitems(s).await.unwrap().into_iter().map(|(k, v)| (k, json(&v))).collect()
}

/// The decoded contents of a session file, read with the native signer.
fn file_data(env: &Env, key: &str) -> Value {
    let text = std::fs::read_to_string(env.session_file(key)).expect("reading the session file");
    signer().loads(&text).expect("the session file decodes")
}

fn session_name(key: &str) -> String {
    format!("sessionid{key}")
}

fn is_generated_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

// 3
#[tokio::test(flavor = "multi_thread")]
async fn test_get_empty_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    assert_eq!(g.aget(s, "cat").await.unwrap(), None);
    assert_eq!(flags(&mut g, s).await, (true, false));
    assert!(env.files().is_empty(), "reading must not create a record");
}

// 5
#[tokio::test(flavor = "multi_thread")]
async fn test_store_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "cat", "\"2018\"").await.unwrap();
    assert!(g.modified(s).await.unwrap());
    assert_eq!(json(&g.apop(s, "cat", None).await.unwrap()), "2018");
    assert_eq!(g.aget(s, "cat").await.unwrap(), None);
}

// 7
#[tokio::test(flavor = "multi_thread")]
async fn test_pop_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "some key", "\"exists\"").await.unwrap();
    reset_flags(&mut g, s).await;
    assert_eq!(json(&g.apop(s, "some key", None).await.unwrap()), "exists");
    assert_eq!(flags(&mut g, s).await, (true, true));
    assert_eq!(g.aget(s, "some key").await.unwrap(), None);
}

// 9
#[tokio::test(flavor = "multi_thread")]
async fn test_pop_default_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    let v = g.apop(s, "some key", Some("\"does not exist\"")).await.unwrap();
    assert_eq!(json(&v), "does not exist");
    assert_eq!(flags(&mut g, s).await, (true, false));
}

// 11: Python's `apop("some key", default="does not exist")`; WIT has no keyword arguments,
// the default is the same `option<json>` parameter.
#[tokio::test(flavor = "multi_thread")]
async fn test_pop_default_named_argument_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    let v = g.apop(s, "some key", Some("\"does not exist\"")).await.unwrap();
    assert_eq!(json(&v), "does not exist");
    assert_eq!(flags(&mut g, s).await, (true, false));
    // The default is returned, not stored.
    assert!(!g.ahas_key(s, "some key").await.unwrap());
}

// 13
#[tokio::test(flavor = "multi_thread")]
async fn test_pop_no_default_keyerror_raised_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    store_err!(g.apop(s, "some key", None).await, KeyError);
    assert!(!g.modified(s).await.unwrap());
}

// 15
#[tokio::test(flavor = "multi_thread")]
async fn test_setdefault_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    assert_eq!(json(&g.asetdefault(s, "foo", "\"bar\"").await.unwrap()), "bar");
    assert_eq!(json(&g.asetdefault(s, "foo", "\"baz\"").await.unwrap()), "bar");
    assert_eq!(flags(&mut g, s).await, (true, true));
    assert_eq!(aget(&mut g, s, "foo").await, Some(Value::from("bar")));
}

// 17
#[tokio::test(flavor = "multi_thread")]
async fn test_update_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aupdate(s, r#"{"update key": 1}"#).await.unwrap();
    assert_eq!(flags(&mut g, s).await, (true, true));
    assert_eq!(aget(&mut g, s, "update key").await, Some(Value::from(1)));
}

// 19
#[tokio::test(flavor = "multi_thread")]
async fn test_has_key_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "some key", "1").await.unwrap();
    reset_flags(&mut g, s).await;
    assert!(g.ahas_key(s, "some key").await.unwrap());
    assert!(!g.ahas_key(s, "other key").await.unwrap());
    assert_eq!(flags(&mut g, s).await, (true, false));
}

// 21
#[tokio::test(flavor = "multi_thread")]
async fn test_values_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    assert_eq!(g.avalues(s).await.unwrap(), Vec::<String>::new());
    assert!(g.accessed(s).await.unwrap());
    g.aset(s, "some key", "1").await.unwrap();
    reset_flags(&mut g, s).await;
    let values: Vec<Value> = g.avalues(s).await.unwrap().iter().map(|v| json(v)).collect();
    assert_eq!(values, vec![Value::from(1)]);
    assert_eq!(flags(&mut g, s).await, (true, false));
}

// 23
#[tokio::test(flavor = "multi_thread")]
async fn test_keys_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "x", "1").await.unwrap();
    reset_flags(&mut g, s).await;
    assert_eq!(g.akeys(s).await.unwrap(), vec!["x".to_string()]);
    assert_eq!(flags(&mut g, s).await, (true, false));
}

// 25
#[tokio::test(flavor = "multi_thread")]
async fn test_items_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "x", "1").await.unwrap();
    reset_flags(&mut g, s).await;
    assert_eq!(items(&mut g, s).await, vec![("x".to_string(), Value::from(1))]);
    assert_eq!(flags(&mut g, s).await, (true, false));
}

// 28
#[tokio::test(flavor = "multi_thread")]
async fn test_save_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;
    assert!(is_generated_key(&key), "{key}");
    assert!(g.aexists(s, &key).await.unwrap());
    // Exactly the session file: no placeholder or temporary file left behind.
    assert_eq!(env.files(), vec![session_name(&key)]);
    assert_eq!(file_data(&env, &key), j!({}));
}

// 30
#[tokio::test(flavor = "multi_thread")]
async fn test_delete_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;
    assert!(g.aexists(s, &key).await.unwrap());
    g.adelete(s, Some(&key)).await.unwrap();
    assert!(!g.aexists(s, &key).await.unwrap());
    assert!(env.files().is_empty());
}

// 32
#[tokio::test(flavor = "multi_thread")]
async fn test_flush_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "foo", "\"bar\"").await.unwrap();
    g.asave(s, false).await.unwrap();
    let prev_key = key_of(&mut g, s).await;
    assert!(g.aexists(s, &prev_key).await.unwrap());
    g.aflush(s).await.unwrap();
    assert!(!g.aexists(s, &prev_key).await.unwrap());
    assert_eq!(g.session_key(s).await.unwrap(), None);
    assert_eq!(flags(&mut g, s).await, (true, true));
    assert!(g.is_empty(s).await.unwrap());
    assert_eq!(g.aget(s, "foo").await.unwrap(), None);
    assert!(env.files().is_empty());
}

// 34
#[tokio::test(flavor = "multi_thread")]
async fn test_cycle_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "a", "\"c\"").await.unwrap();
    g.aset(s, "b", "\"d\"").await.unwrap();
    g.asave(s, false).await.unwrap();
    let prev_key = key_of(&mut g, s).await;
    let prev_data = items(&mut g, s).await;
    g.acycle_key(s).await.unwrap();
    let new_key = key_of(&mut g, s).await;
    assert!(!g.aexists(s, &prev_key).await.unwrap());
    assert_ne!(new_key, prev_key);
    assert!(is_generated_key(&new_key), "{new_key}");
    assert_eq!(items(&mut g, s).await, prev_data);
    // The data was written under the new key at once.
    assert_eq!(env.files(), vec![session_name(&new_key)]);
    assert_eq!(file_data(&env, &new_key), j!({"a": "c", "b": "d"}));
}

// 36
#[tokio::test(flavor = "multi_thread")]
async fn test_cycle_with_no_session_cache_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "a", "\"c\"").await.unwrap();
    g.aset(s, "b", "\"d\"").await.unwrap();
    g.asave(s, false).await.unwrap();
    let prev_data = items(&mut g, s).await;
    let prev_key = key_of(&mut g, s).await;
    let s2 = g.session(Some(&prev_key)).await.unwrap();
    // Nothing loaded yet.
    assert_eq!(flags(&mut g, s2).await, (false, false));
    g.acycle_key(s2).await.unwrap();
    let new_key = key_of(&mut g, s2).await;
    assert_ne!(new_key, prev_key);
    assert_eq!(items(&mut g, s2).await, prev_data);
    assert_eq!(env.files(), vec![session_name(&new_key)]);
    // A third session reads the data back from the new file.
    let s3 = g.session(Some(&new_key)).await.unwrap();
    assert_eq!(items(&mut g, s3).await, prev_data);
}

// 38
#[tokio::test(flavor = "multi_thread")]
async fn test_save_doesnt_clear_data_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "a", "\"b\"").await.unwrap();
    g.asave(s, false).await.unwrap();
    assert_eq!(aget(&mut g, s, "a").await, Some(Value::from("b")));
    let key = key_of(&mut g, s).await;
    assert_eq!(file_data(&env, &key), j!({"a": "b"}));
}

// 40
#[tokio::test(flavor = "multi_thread")]
async fn test_invalid_key_async() {
    let env = Env::new();
    let mut g = env.async_guest().await;
    let s = g.session(Some("1")).await.unwrap();
    // "1" is too short to be a key at all.
    assert_eq!(g.session_key(s).await.unwrap(), None);
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;
    assert_ne!(key, "1");
    assert!(is_generated_key(&key), "{key}");
    assert_eq!(g.aget(s, "cat").await.unwrap(), None);
    assert_eq!(env.files(), vec![session_name(&key)]);
    g.adelete(s, None).await.unwrap();
    assert!(env.files().is_empty());
    // Deleting the short key does not raise (there is no length check).
    g.adelete(s, Some("1")).await.unwrap();
    assert!(env.files().is_empty());
}

// 46
#[tokio::test(flavor = "multi_thread")]
async fn test_default_expiry_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    assert_eq!(g.aget_expiry_age(s).await.unwrap(), COOKIE_AGE);
    g.aset_expiry(s, Some(Expiry::Seconds(0))).await.unwrap();
    assert_eq!(g.aget_expiry_age(s).await.unwrap(), COOKIE_AGE);
    assert_eq!(aget(&mut g, s, "_session_expiry").await, Some(Value::from(0)));

    // The same with another SESSION_COOKIE_AGE.
    let env = Env::new().setting("SESSION_COOKIE_AGE", "1234");
    let (mut g, s) = setup(&env).await;
    assert_eq!(g.aget_expiry_age(s).await.unwrap(), 1234);
    g.aset_expiry(s, Some(Expiry::Seconds(0))).await.unwrap();
    assert_eq!(g.aget_expiry_age(s).await.unwrap(), 1234);
}

// 48
#[tokio::test(flavor = "multi_thread")]
async fn test_custom_expiry_seconds_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset_expiry(s, Some(Expiry::Seconds(10))).await.unwrap();
    assert!(g.modified(s).await.unwrap());
    assert_eq!(g.aget_expiry_date_with(s, Some(M), None).await.unwrap(), M_PLUS_10);
    assert_eq!(g.aget_expiry_age_with(s, Some(M), None).await.unwrap(), 10);
    assert_eq!(aget(&mut g, s, "_session_expiry").await, Some(Value::from(10)));
}

// 50: `aset_expiry(timedelta(seconds=10))` with `timezone.now()` frozen at M is
// `aset_expiry(M + 10 s)` stored as ISO text; `timedelta` is not in the contract.
#[tokio::test(flavor = "multi_thread")]
async fn test_custom_expiry_timedelta_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset_expiry(s, Some(Expiry::Instant(M_PLUS_10.into()))).await.unwrap();
    assert!(g.modified(s).await.unwrap());
    // Stored as Django stores it: ISO text, microseconds and offset kept.
    assert_eq!(aget(&mut g, s, "_session_expiry").await, Some(Value::from(M_PLUS_10)));
    assert_eq!(g.aget_expiry_date_with(s, Some(M), None).await.unwrap(), M_PLUS_10);
    assert_eq!(g.aget_expiry_age_with(s, Some(M), None).await.unwrap(), 10);

    // And the round trip through a file keeps them too.
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;
    assert_eq!(file_data(&env, &key), j!({"_session_expiry": M_PLUS_10}));
    let s2 = g.session(Some(&key)).await.unwrap();
    assert_eq!(aget(&mut g, s2, "_session_expiry").await, Some(Value::from(M_PLUS_10)));
    assert_eq!(g.session_key(s2).await.unwrap().as_deref(), Some(key.as_str()), "M + 10 s is in the future");
    assert_eq!(g.aget_expiry_date_with(s2, Some(M), None).await.unwrap(), M_PLUS_10);
    assert_eq!(g.aget_expiry_age_with(s2, Some(M), None).await.unwrap(), 10);
}

// 52
#[tokio::test(flavor = "multi_thread")]
async fn test_custom_expiry_datetime_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    // An aware datetime in another zone: returned as given, compared as instants.
    let m = "2096-11-26T06:37:16.092128+01:00";
    let m_plus_10 = "2096-11-26T06:37:26.092128+01:00";
    g.aset_expiry(s, Some(Expiry::Instant(m_plus_10.into()))).await.unwrap();
    assert_eq!(g.aget_expiry_date_with(s, Some(m), None).await.unwrap(), m_plus_10);
    assert_eq!(g.aget_expiry_age_with(s, Some(m), None).await.unwrap(), 10);
    // Against the same instant written in UTC.
    assert_eq!(g.aget_expiry_age_with(s, Some(M), None).await.unwrap(), 10);
    // `Z` input is stored in `isoformat()` form.
    g.aset_expiry(s, Some(Expiry::Instant("2096-11-26T05:37:26.092128Z".into()))).await.unwrap();
    assert_eq!(aget(&mut g, s, "_session_expiry").await, Some(Value::from(M_PLUS_10)));
    assert_eq!(g.aget_expiry_date_with(s, Some(M), None).await.unwrap(), M_PLUS_10);
    assert_eq!(g.aget_expiry_age_with(s, Some(M), None).await.unwrap(), 10);
}

// 54. Django's `aset_expiry(None)` removes the key through `apop` and catches `KeyError`;
// the flags must end as with the sync `set_expiry(None)`: accessed always, modified only
// when there was an expiry to remove.
#[tokio::test(flavor = "multi_thread")]
async fn test_custom_expiry_reset_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset_expiry(s, None).await.unwrap();
    assert_eq!(flags(&mut g, s).await, (true, false), "removing an absent expiry changes nothing");
    g.aset_expiry(s, Some(Expiry::Seconds(10))).await.unwrap();
    assert_eq!(g.aget_expiry_age(s).await.unwrap(), 10);
    reset_flags(&mut g, s).await;
    g.aset_expiry(s, None).await.unwrap();
    assert_eq!(flags(&mut g, s).await, (true, true));
    assert_eq!(g.aget_expiry_age(s).await.unwrap(), COOKIE_AGE);
    assert!(!g.ahas_key(s, "_session_expiry").await.unwrap());
}

// 56
#[tokio::test(flavor = "multi_thread")]
async fn test_get_expire_at_browser_close_async() {
    for setting in [false, true] {
        let env = Env::new().setting("SESSION_EXPIRE_AT_BROWSER_CLOSE", if setting { "True" } else { "False" });
        let (mut g, s) = setup(&env).await;
        g.aset_expiry(s, Some(Expiry::Seconds(10))).await.unwrap();
        assert!(!g.aget_expire_at_browser_close(s).await.unwrap(), "setting {setting}, expiry 10");
        g.aset_expiry(s, Some(Expiry::Seconds(0))).await.unwrap();
        assert!(g.aget_expire_at_browser_close(s).await.unwrap(), "setting {setting}, expiry 0");
        g.aset_expiry(s, None).await.unwrap();
        assert_eq!(g.aget_expire_at_browser_close(s).await.unwrap(), setting, "setting {setting}, no expiry");
    }
}

// 61: `aset_expiry(-timedelta(seconds=10))` is an instant 10 s in the past; the guest's
// own clock gives it (`aget_expiry_date(expiry=-10)` = now - 10 s).
#[tokio::test(flavor = "multi_thread")]
async fn test_actual_expiry_async() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    let past = g.aget_expiry_date_with(s, None, Some(Some(Expiry::Seconds(-10)))).await.unwrap();
    g.aset(s, "foo", "\"bar\"").await.unwrap();
    g.aset_expiry(s, Some(Expiry::Instant(past))).await.unwrap();
    g.asave(s, false).await.unwrap();
    let old_key = key_of(&mut g, s).await;
    assert_eq!(env.files(), vec![session_name(&old_key)]);

    let new_session = g.session(Some(&old_key)).await.unwrap();
    assert!(!g.ahas_key(new_session, "foo").await.unwrap());
    // Reading the expired session replaced it with a new empty one under a new key.
    let new_key = key_of(&mut g, new_session).await;
    assert_ne!(new_key, old_key);
    assert_eq!(env.files(), vec![session_name(&new_key)]);
    assert_eq!(file_data(&env, &new_key), j!({}));
    assert!(g.modified(new_session).await.unwrap());

    g.adelete(s, Some(&old_key)).await.unwrap();
    g.adelete(s, Some(&new_key)).await.unwrap();
    assert!(env.files().is_empty());
}

// 63: `aexists(session.session_key)` with the key `None` invents one, as Django's does.
#[tokio::test(flavor = "multi_thread")]
async fn test_session_load_does_not_create_record_async() {
    let env = Env::new();
    let mut g = env.async_guest().await;
    let s = g.session(Some("someunknownkey")).await.unwrap();
    assert_eq!(json(&g.aload(s).await.unwrap()), j!({}));
    assert_eq!(g.session_key(s).await.unwrap(), None);
    assert!(!g.aexists_opt(s, None).await.unwrap());
    // The provided unknown key was cycled, not reused.
    let key = key_of(&mut g, s).await;
    assert!(key.len() == 32 && key != "someunknownkey", "{key}");
    assert!(!g.aexists(s, "someunknownkey").await.unwrap());
    assert!(env.files().is_empty(), "aload of an unknown key created {:?}", env.files());
}

// 65: s2 runs in another instance (another "request") on the same directory.
#[tokio::test(flavor = "multi_thread")]
async fn test_session_asave_does_not_resurrect_session_logged_out_in_other_context() {
    let env = Env::new();
    let (mut g, s1) = setup(&env).await;
    g.aset(s1, "test_data", "\"value1\"").await.unwrap();
    g.asave(s1, true).await.unwrap();
    let key = key_of(&mut g, s1).await;
    assert_eq!(env.files(), vec![session_name(&key)]);

    let mut other = env.async_guest().await;
    let s2 = other.session(Some(&key)).await.unwrap();
    other.adelete(s2, None).await.unwrap();
    assert!(env.files().is_empty());

    g.aset(s1, "test_data", "\"value2\"").await.unwrap();
    store_err!(g.asave(s1, false).await, UpdateError);
    // Not resurrected, and no temporary file left behind.
    assert!(env.files().is_empty(), "{:?}", env.files());
    assert_eq!(json(&g.aload(s1).await.unwrap()), j!({}));
    assert!(env.files().is_empty());
}

// 69, async: `aclear_expired()` (Django's returns None; ours returns the counts).
// SESSION_COOKIE_AGE=0. Integer expiries count from the mtime here (adaptation, as in the
// sync test), so +3600 is still live and -3600 is expired, as the Django test expects.
#[tokio::test(flavor = "multi_thread")]
async fn test_aclear_expired() {
    let env = Env::new().setting("SESSION_COOKIE_AGE", "0");
    let count_sessions = |env: &Env| env.files().iter().filter(|f| f.starts_with("sessionid")).count();
    let (mut g, s) = setup(&env).await;
    assert_eq!(count_sessions(&env), 0);

    // One object in the future.
    g.aset(s, "foo", "\"bar\"").await.unwrap();
    g.aset_expiry(s, Some(Expiry::Seconds(3600))).await.unwrap();
    g.asave(s, false).await.unwrap();
    let future = key_of(&mut g, s).await;

    // One object in the past.
    let other = g.session(None).await.unwrap();
    g.aset(other, "foo", "\"bar\"").await.unwrap();
    g.aset_expiry(other, Some(Expiry::Seconds(-3600))).await.unwrap();
    g.asave(other, false).await.unwrap();

    // One object in the present without an expiry: mtime + 0 is already past.
    let other2 = g.session(None).await.unwrap();
    g.aset(other2, "foo", "\"bar\"").await.unwrap();
    g.asave(other2, false).await.unwrap();

    assert_eq!(count_sessions(&env), 3);
    let report = g.aclear_expired().await.unwrap();
    assert_eq!(count_sessions(&env), 1);
    assert_eq!(env.files(), vec![session_name(&future)]);
    assert_eq!(report.scanned, 3);
    assert_eq!(report.expired_sessions, 2);
    assert_eq!((report.orphaned_temp_files, report.stale_placeholders, report.failures), (0, 0, 0));

    // Clearing never creates files, and a second sweep finds nothing more to do.
    let report = g.aclear_expired().await.unwrap();
    assert_eq!(env.files(), vec![session_name(&future)]);
    assert_eq!((report.scanned, report.expired_sessions), (1, 0));

    // Once it has been idle for longer than its expiry, the +3600 session goes too.
    age_file(&env.session_file(&future), 3601);
    let report = g.aclear_expired().await.unwrap();
    assert_eq!(report.expired_sessions, 1);
    assert!(env.files().is_empty());
}

// 72: Django checks that a bare SessionBase's `acreate()` raises NotImplementedError. On the
// file store: a fresh key each time, the cached data written at once, no load, and the
// previous file left alone (only `acycle_key` deletes it).
#[tokio::test(flavor = "multi_thread")]
async fn test_acreate() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "x", "1").await.unwrap();
    reset_flags(&mut g, s).await;
    g.acreate(s).await.unwrap();
    let first = key_of(&mut g, s).await;
    assert!(is_generated_key(&first), "{first}");
    assert_eq!(flags(&mut g, s).await, (true, true));
    assert_eq!(env.files(), vec![session_name(&first)]);
    assert_eq!(file_data(&env, &first), j!({"x": 1}));

    g.acreate(s).await.unwrap();
    let second = key_of(&mut g, s).await;
    assert!(is_generated_key(&second), "{second}");
    assert_ne!(second, first);
    let mut expected = vec![session_name(&first), session_name(&second)];
    expected.sort();
    assert_eq!(env.files(), expected);
    assert_eq!(file_data(&env, &second), j!({"x": 1}));

    // Without any data: writes `{}`.
    let empty = g.session(None).await.unwrap();
    g.acreate(empty).await.unwrap();
    let key = key_of(&mut g, empty).await;
    assert_eq!(file_data(&env, &key), j!({}));
}

// 74: Django checks that a bare SessionBase's `adelete()` raises NotImplementedError. On the
// file store (§3.7): `None` means the session's own key (nothing when it has none), a
// missing file is not an error, the key is kept, and a bad key is refused.
#[tokio::test(flavor = "multi_thread")]
async fn test_adelete() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;
    let other = g.session(None).await.unwrap();
    g.asave(other, false).await.unwrap();
    let other_key = key_of(&mut g, other).await;

    // A session without a key deletes nothing.
    let keyless = g.session(None).await.unwrap();
    g.adelete(keyless, None).await.unwrap();
    assert_eq!(env.files().len(), 2);

    // Its own file; the key stays.
    g.adelete(s, None).await.unwrap();
    assert_eq!(env.files(), vec![session_name(&other_key)]);
    assert_eq!(g.session_key(s).await.unwrap().as_deref(), Some(key.as_str()));
    // Again: the file is gone, which is fine.
    g.adelete(s, None).await.unwrap();

    // Another key's file.
    g.adelete(s, Some(&other_key)).await.unwrap();
    assert!(env.files().is_empty());

    store_err!(g.adelete(s, Some("a/b/c")).await, InvalidSessionKey);
    store_err!(g.adelete(s, Some("ABCDEFGH12345678")).await, InvalidSessionKey);
}

// 76: Django checks that a bare SessionBase's `aexists(None)` raises NotImplementedError.
// On the file store (§3.6): whether the key's file exists, expiry not checked, the session
// left untouched; a bad key is refused. `aexists(None)` asks about the session's own key.
#[tokio::test(flavor = "multi_thread")]
async fn test_aexists() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    assert!(!g.aexists(s, "someunknownkey").await.unwrap());
    assert_eq!(g.session_key(s).await.unwrap(), None);
    assert_eq!(flags(&mut g, s).await, (false, false));
    assert!(env.files().is_empty());

    // An expired session's file still exists.
    let past = g.aget_expiry_date_with(s, None, Some(Some(Expiry::Seconds(-10)))).await.unwrap();
    g.aset_expiry(s, Some(Expiry::Instant(past))).await.unwrap();
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;
    reset_flags(&mut g, s).await;
    assert!(g.aexists(s, &key).await.unwrap());
    assert_eq!(flags(&mut g, s).await, (false, false));
    assert_eq!(env.files(), vec![session_name(&key)]);
    assert!(g.aexists_opt(s, None).await.unwrap(), "its own file");
    std::fs::remove_file(env.session_file(&key)).unwrap();
    assert!(!g.aexists_opt(s, None).await.unwrap(), "its own file, deleted");
    assert_eq!(key_of(&mut g, s).await, key, "a key it has is kept");

    store_err!(g.aexists(s, "a\\b\\c").await, InvalidSessionKey);
    store_err!(g.aexists(s, "a/b/c").await, InvalidSessionKey);
}

// 78: Django checks that a bare SessionBase's `aload()` raises NotImplementedError. On the
// file store (§3.2): the stored data, without touching the flags or the key; no key gives
// `{}` and invents none.
#[tokio::test(flavor = "multi_thread")]
async fn test_aload() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aupdate(s, r#"{"a": "b", "n": [1, 2]}"#).await.unwrap();
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;

    let s2 = g.session(Some(&key)).await.unwrap();
    assert_eq!(json(&g.aload(s2).await.unwrap()), j!({"a": "b", "n": [1, 2]}));
    assert_eq!(flags(&mut g, s2).await, (false, false));
    assert_eq!(g.session_key(s2).await.unwrap().as_deref(), Some(key.as_str()));

    // From another instance too.
    let mut other = env.async_guest().await;
    let s3 = other.session(Some(&key)).await.unwrap();
    assert_eq!(json(&other.aload(s3).await.unwrap()), j!({"a": "b", "n": [1, 2]}));

    let keyless = g.session(None).await.unwrap();
    assert_eq!(json(&g.aload(keyless).await.unwrap()), j!({}));
    assert_eq!(g.session_key(keyless).await.unwrap(), None);
    assert_eq!(env.files(), vec![session_name(&key)]);
}

// 80: Django checks that a bare SessionBase's `asave()` raises NotImplementedError. On the
// file store (§3.5): without a key it creates one; with one it rewrites the same file;
// `must_create` on a taken key is a CreateError that leaves the file alone; the flags are
// not reset.
#[tokio::test(flavor = "multi_thread")]
async fn test_asave() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    g.aset(s, "a", "1").await.unwrap();
    g.asave(s, false).await.unwrap();
    let key = key_of(&mut g, s).await;
    assert!(is_generated_key(&key), "{key}");
    assert_eq!(file_data(&env, &key), j!({"a": 1}));
    assert_eq!(flags(&mut g, s).await, (true, true));

    g.aset(s, "a", "2").await.unwrap();
    g.asave(s, false).await.unwrap();
    assert_eq!(key_of(&mut g, s).await, key);
    assert_eq!(env.files(), vec![session_name(&key)]);
    assert_eq!(file_data(&env, &key), j!({"a": 2}));

    g.aset(s, "a", "3").await.unwrap();
    store_err!(g.asave(s, true).await, CreateError);
    assert_eq!(env.files(), vec![session_name(&key)]);
    assert_eq!(file_data(&env, &key), j!({"a": 2}));
}

// 82 (SessionBaseTests, run on the file store).
#[tokio::test(flavor = "multi_thread")]
async fn test_atest_cookie() {
    let env = Env::new();
    let (mut g, s) = setup(&env).await;
    assert!(!g.ahas_key(s, "testcookie").await.unwrap());
    assert!(!g.atest_cookie_worked(s).await.unwrap());
    g.aset_test_cookie(s).await.unwrap();
    assert!(g.atest_cookie_worked(s).await.unwrap());
    assert_eq!(aget(&mut g, s, "testcookie").await, Some(Value::from("worked")));
    assert!(g.modified(s).await.unwrap());
    reset_flags(&mut g, s).await;
    g.adelete_test_cookie(s).await.unwrap();
    // Deliberate difference: Django's `adelete_test_cookie` leaves `modified` alone (so the
    // deletion is never saved); ours marks it, as the sync `delete_test_cookie` does.
    assert_eq!(flags(&mut g, s).await, (true, true));
    assert!(!g.ahas_key(s, "testcookie").await.unwrap());
    assert!(!g.atest_cookie_worked(s).await.unwrap());
    store_err!(g.adelete_test_cookie(s).await, KeyError);
    // A different value does not count.
    g.aset(s, "testcookie", "\"failed\"").await.unwrap();
    assert!(!g.atest_cookie_worked(s).await.unwrap());
}
