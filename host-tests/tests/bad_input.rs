#[macro_use]
mod common;
use common::zlib::zlib_bomb;
use common::*;

// Bad input of every kind gets a clear error (the exact WIT variant, with a text that
// names the problem), never a trap, and never changes what is on disk.

use file_sessions::codec::Signer;
use file_sessions_host::{Expiry, Guest, HostError, SessionHandle};
use serde_json::json;
use std::time::SystemTime;

/// The store's `MAX_FILE_BYTES` (1.5 MiB: 1 MiB of JSON in base64).
const READ_CAP: usize = file_sessions::store::MAX_FILE_BYTES as usize;
/// Django's default `SESSION_COOKIE_AGE`.
const COOKIE_AGE: u64 = 1_209_600;
/// A valid key (32 characters of `[a-z0-9]`).
const KEY: &str = "k0k1k2k3k4k5k6k7k8k9kakbkckdkekf";

fn assert_unchanged(env: &Env, before: &[(String, Option<Vec<u8>>, SystemTime)], what: &str) {
    let after = snapshot(env.path());
    let names = |s: &[(String, Option<Vec<u8>>, SystemTime)]| s.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&after), names(before), "{what}: the directory listing changed");
    for (a, b) in after.iter().zip(before) {
        assert!(a.1 == b.1, "{what}: the bytes of {} changed", a.0);
        assert_eq!(a.2, b.2, "{what}: the mtime of {} changed", a.0);
    }
}

// ---------------------------------------------------------------------------------------
// Session keys
// ---------------------------------------------------------------------------------------

/// Keys with characters outside `[a-z0-9]`: traversal, separators, NUL and control bytes,
/// look-alikes, uppercase, temp-file names.
fn bad_char_keys() -> Vec<String> {
    vec![
        "../../etc/passwd".into(),
        "a/b/c/d/e".into(),
        "a\\b\\c\\d".into(), // 7 characters: also "no key" for the constructor
        "a\\b\\c\\d\\e".into(),
        format!("/../sessionid{KEY}"), // would resolve to a real session file
        "..".into(),
        "abcd\0efgh".into(),
        "abcdefgh\0".into(),
        "abcd\u{1}\u{7f}efgh".into(),
        "abcdefg\n".into(),
        "abcdefgh\r\n".into(),
        "ａｂｃｄｅｆｇｈ".into(), // fullwidth
        "\u{430}bcdefgh".into(),   // Cyrillic a
        "abcdefgh\u{200b}".into(), // zero-width space
        "abcdefg\u{1d7ce}".into(), // mathematical bold digit zero
        "ABCDEFGH".into(),
        "abcdEFGH12345678".into(),
        format!("{KEY}_out_abcd1234"), // a temp file's name
        "abc def gh".into(),
        "abcdefgh.".into(),
        "%2e%2e%2fabcdefgh".into(),
    ]
}

/// Plants a correctly signed session at the path a key would name if it were not checked,
/// wherever that path stays inside the storage directory. If the store ever used the key,
/// `load` would return `{"planted": true}` and `delete` would remove the plant.
fn plant(env: &Env, key: &str) {
    let planted = signed(&json!({"planted": true}));
    if let Some(target) = key.strip_prefix("/../sessionid") {
        // `sessionid/../sessionid<KEY>` resolves to a real session file.
        std::fs::create_dir(env.path().join("sessionid")).unwrap();
        std::fs::write(env.session_file(target), planted).unwrap();
        return;
    }
    if key.contains('\0') || key.contains("..") {
        return; // cannot be created, or would be outside the directory
    }
    let path = env.path().join(format!("sessionid{key}"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, planted).unwrap();
}

#[test]
fn bad_char_keys_load_as_unknown_sessions() {
    for key in bad_char_keys() {
        let env = Env::new();
        plant(&env, &key);
        let before = snapshot(env.path());
        let mut g = env.guest();
        let s = g.session(Some(&key)).unwrap();
        // The constructor keeps any key of 8+ characters (characters are checked when a
        // path is built), as Django's validating setter does.
        let kept = (key.chars().count() >= 8).then(|| key.clone());
        assert_eq!(g.session_key(s).unwrap(), kept, "{key:?}");
        assert_eq!(json(&g.load(s).unwrap()), json!({}), "{key:?}");
        assert_eq!(g.session_key(s).unwrap(), None, "{key:?}: load must drop the key");
        assert!(!g.modified(s).unwrap(), "{key:?}");
        // The dictionary API goes through load too.
        let t = g.session(Some(&key)).unwrap();
        assert_eq!(g.get(t, "planted").unwrap(), None, "{key:?}");
        assert_eq!(g.keys(t).unwrap(), Vec::<String>::new(), "{key:?}");
        assert_eq!(g.session_key(t).unwrap(), None, "{key:?}");
        assert_unchanged(&env, &before, &format!("load {key:?}"));
    }
}

#[test]
fn bad_char_keys_are_refused_by_exists_and_delete() {
    for key in bad_char_keys() {
        let env = Env::new();
        plant(&env, &key);
        let before = snapshot(env.path());
        let mut g = env.guest();
        let s = g.session(None).unwrap();
        let msg = store_err!(g.exists(s, &key), InvalidSessionKey);
        assert_eq!(msg, "Invalid characters in session key", "{key:?}");
        let msg = store_err!(g.delete(s, Some(&key)), InvalidSessionKey);
        assert_eq!(msg, "Invalid characters in session key", "{key:?}");
        // Nor through the instance's own key, when the constructor kept it.
        if key.chars().count() >= 8 {
            let t = g.session(Some(&key)).unwrap();
            let msg = store_err!(g.delete(t, None), InvalidSessionKey);
            assert_eq!(msg, "Invalid characters in session key", "{key:?}");
        }
        assert_unchanged(&env, &before, &format!("exists/delete {key:?}"));
    }
}

#[test]
fn bad_char_keys_never_name_the_file_a_save_writes() {
    for key in bad_char_keys() {
        let env = Env::new();
        plant(&env, &key);
        let before = snapshot(env.path());
        let mut g = env.guest();
        let long_enough = key.chars().count() >= 8;

        // save() with nothing read: Django's load drops the key, `_key_to_file` invents one
        // with no file, and the existence gate raises UpdateError. A key too short to be
        // kept means no key at all: save creates a new session instead.
        let s = g.session(Some(&key)).unwrap();
        if long_enough {
            let msg = store_err!(g.save(s, false), UpdateError);
            assert!(msg.contains("deleted"), "{key:?}: {msg}");
            assert_unchanged(&env, &before, &format!("save(false) {key:?}"));
        }

        // save(must_create) does not load: the key is checked and refused.
        let s = g.session(Some(&key)).unwrap();
        if long_enough {
            let msg = store_err!(g.save(s, true), InvalidSessionKey);
            assert_eq!(msg, "Invalid characters in session key", "{key:?}");
            assert_unchanged(&env, &before, &format!("save(true) {key:?}"));
        }

        // Data written through the API: load dropped the key, so saving creates a new,
        // valid key and the bad one never names a file.
        let s = g.session(Some(&key)).unwrap();
        g.set(s, "user", "42").unwrap();
        g.save(s, false).unwrap();
        let new_key = g.session_key(s).unwrap().expect("a new key");
        assert_ne!(new_key, key);
        assert_eq!(new_key.len(), 32);
        assert!(new_key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{new_key}");
        let mut expected: Vec<String> = before.iter().filter(|e| !e.0.contains('/')).map(|e| e.0.clone()).collect();
        expected.push(format!("sessionid{new_key}"));
        expected.sort();
        assert_eq!(env.files(), expected, "{key:?}");
        let t = g.session(Some(&new_key)).unwrap();
        assert_eq!(json(&g.load(t).unwrap()), json!({"user": 42}));
    }
}

#[test]
fn short_and_empty_keys_mean_no_key() {
    for key in ["", "a", "abcdefg"] {
        let env = Env::new();
        // A file the short key would name must not be read.
        if !key.is_empty() {
            std::fs::write(env.session_file(key), signed(&json!({"planted": true}))).unwrap();
        }
        let before = snapshot(env.path());
        let mut g = env.guest();
        let s = g.session(Some(key)).unwrap();
        assert_eq!(g.session_key(s).unwrap(), None, "{key:?}");
        assert!(g.is_empty(s).unwrap());
        assert_eq!(json(&g.load(s).unwrap()), json!({}), "{key:?}");
        assert_eq!(g.session_key(s).unwrap(), None, "{key:?}");
        assert_eq!(g.get(s, "planted").unwrap(), None, "{key:?}");
        // `exists` does not apply the length rule (Django neither): the file is found.
        assert_eq!(g.exists(s, key).unwrap(), !key.is_empty(), "{key:?}");
        assert_unchanged(&env, &before, &format!("short key {key:?}"));
        // Saving without a key creates a new one; the short key's file is untouched.
        let s = g.session(Some(key)).unwrap();
        g.save(s, true).unwrap();
        let new_key = g.session_key(s).unwrap().expect("a new key");
        assert_eq!(new_key.len(), 32);
        let after: Vec<_> = snapshot(env.path()).into_iter().filter(|e| e.0 != format!("sessionid{new_key}")).collect();
        assert_eq!(after, before, "{key:?}");
    }
}

#[test]
fn ten_thousand_char_key_is_an_unknown_session() {
    let key = "a".repeat(10_000);
    let env = Env::new();
    std::fs::write(env.session_file(KEY), signed(&json!({"a": 1}))).unwrap();
    let before = snapshot(env.path());
    let mut g = env.guest();

    let s = g.session(Some(&key)).unwrap();
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(key.as_str()), "no maximum length, as Django");
    assert_eq!(json(&g.load(s).unwrap()), json!({}));
    assert_eq!(g.session_key(s).unwrap(), None, "a name too long to exist is a missing session");

    assert!(!g.exists(s, &key).unwrap());
    g.delete(s, Some(&key)).unwrap();
    let t = g.session(Some(&key)).unwrap();
    g.delete(t, None).unwrap();

    // save(): load drops the key, so the existence gate fails, as in Django.
    let t = g.session(Some(&key)).unwrap();
    let msg = store_err!(g.save(t, false), UpdateError);
    assert!(msg.contains("deleted"), "{msg}");
    assert_unchanged(&env, &before, "10,000-char key");

    // save(must_create): Django's `os.open` fails with ENAMETOOLONG (an OSError); here Io.
    let t = g.session(Some(&key)).unwrap();
    let msg = store_err!(g.save(t, true), Io);
    assert!(msg.to_lowercase().contains("too long"), "the reason is named: {}", &msg[msg.len().saturating_sub(200)..]);
    assert_unchanged(&env, &before, "10,000-char key, save(true)");

    // With data set, the key was dropped by the load: a new session is created.
    let t = g.session(Some(&key)).unwrap();
    g.set(t, "x", "1").unwrap();
    g.save(t, false).unwrap();
    let new_key = g.session_key(t).unwrap().unwrap();
    assert_eq!(new_key.len(), 32);
    let mut expected = vec![format!("sessionid{KEY}"), format!("sessionid{new_key}")];
    expected.sort();
    assert_eq!(env.files(), expected);
}

// ---------------------------------------------------------------------------------------
// Session files
// ---------------------------------------------------------------------------------------

/// Files that do not hold a usable session. Each loads as `{}` with the key kept, and the
/// file stays as it is while its mtime is recent.
fn bad_files() -> &'static [(&'static str, Vec<u8>)] {
    static FILES: std::sync::OnceLock<Vec<(&'static str, Vec<u8>)>> = std::sync::OnceLock::new();
    FILES.get_or_init(make_bad_files)
}

fn make_bad_files() -> Vec<(&'static str, Vec<u8>)> {
    let good = signed(&json!({"user": 42, "cart": [1, 2, 3]}));
    let (value, sig) = good.rsplit_once(':').unwrap();
    let mut tampered_sig = sig.to_owned().into_bytes();
    tampered_sig[0] = if tampered_sig[0] == b'A' { b'B' } else { b'A' };
    // The last of the 43 characters carries 4 bits of MAC and 2 unused bits: flipping the
    // lowest bit gives another text decoding to the same MAC bytes.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = sig.as_bytes()[42];
    let pad_flipped = A[A.iter().position(|&c| c == last).unwrap() ^ 1];
    let mut pad_bits = good.clone().into_bytes();
    *pad_bits.last_mut().unwrap() = pad_flipped;
    // A valid signature over a payload with a non-ASCII character inside (Python's
    // lenient base64 would skip it and decode the object; Django's ASCII read crashes).
    let payload = b64url(br#"{"user":42}"#);
    let non_ascii_signed =
        sign_raw(&format!("{}\u{e9}{}:{}", &payload[..4], &payload[4..], file_sessions::codec::b62_encode(now_unix())));
    let ts = file_sessions::codec::b62_encode(now_unix());
    let deep = b64url("[".repeat(100_000).as_bytes());
    let bomb = sign_raw(&format!(".{}:{ts}", b64url(&zlib_bomb(9 << 20))));

    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("tampered signature", format!("{value}:{}", String::from_utf8(tampered_sig).unwrap()).into_bytes()),
        ("tampered payload", {
            let mut b = good.clone().into_bytes();
            b[2] = if b[2] == b'x' { b'y' } else { b'x' };
            b
        }),
        ("pad-bit tamper", pad_bits),
        ("truncated by one byte", good.as_bytes()[..good.len() - 1].to_vec()),
        ("truncated to half", good.as_bytes()[..good.len() / 2].to_vec()),
        ("trailing newline", format!("{good}\n").into_bytes()),
        ("leading space", format!(" {good}").into_bytes()),
        (
            "signed with another secret",
            Signer::new("another-secret", &[]).dumps(&json!({"user": 42}), now_unix()).into_bytes(),
        ),
        ("binary garbage", (0..=255u8).cycle().take(4096).collect()),
        ("NUL bytes", vec![0u8; 64]),
        ("no colon", b"just some text".to_vec()),
        ("non-ASCII bytes (latin-1)", [good.as_bytes(), &[0xe9]].concat()),
        ("non-ASCII bytes (UTF-8)", format!("{good}\u{2603}").into_bytes()),
        ("invalid UTF-8 inside", {
            let mut b = good.clone().into_bytes();
            b.insert(5, 0xff);
            b
        }),
        ("valid signature over non-ASCII text", non_ascii_signed.into_bytes()),
        ("signed array [1,2]", signed(&json!([1, 2])).into_bytes()),
        ("signed string", signed(&json!("text")).into_bytes()),
        ("signed null", signed(&json!(null)).into_bytes()),
        ("signed number", signed(&json!(42)).into_bytes()),
        ("signed, no timestamp", sign_raw("nocolon").into_bytes()),
        ("signed, empty timestamp", sign_raw("e30:").into_bytes()),
        ("signed, bad base62", sign_raw("e30:1r3$eq").into_bytes()),
        ("signed, bad base64", sign_raw(&format!("a:{ts}")).into_bytes()),
        ("signed, bad zlib", sign_raw(&format!(".e30:{ts}")).into_bytes()),
        ("signed, not JSON", sign_raw(&format!("{}:{ts}", b64url(b"not json"))).into_bytes()),
        ("signed, JSON with trailing data", sign_raw(&format!("{}:{ts}", b64url(br#"{"a":1} {"b":2}"#))).into_bytes()),
        ("signed, nested 100,000 deep", sign_raw(&format!("{deep}:{ts}")).into_bytes()),
        ("signed zip bomb", bomb.into_bytes()),
    ];
    v.push(("over the read cap, validly signed", over_cap_file()));
    v
}

#[test]
fn test_fixtures_are_what_they_claim() {
    // The bomb is a valid stream of a JSON object: only the cap keeps it out.
    let small = zlib_bomb(10_000);
    let ts = file_sessions::codec::b62_encode(now_unix());
    let text = sign_raw(&format!(".{}:{ts}", b64url(&small)));
    let v = signer().loads(&text).unwrap();
    assert_eq!(v["a"].as_str().unwrap().len(), 1 + 10_000 / 258 * 258);
    // The over-cap file verifies and holds an object.
    let (_, big) = bad_files().iter().find(|f| f.0.starts_with("over the read cap")).unwrap();
    assert_eq!(big.len(), READ_CAP + 1);
    // (Its signature verifies; only the size keeps it out, in the codec as well.)
    assert_eq!(
        signer().loads(std::str::from_utf8(big).unwrap()),
        Err(file_sessions::codec::DecodeError::Malformed("oversized payload"))
    );
}

/// A correctly signed, uncompressed session file of exactly `READ_CAP + 1` bytes.
fn over_cap_file() -> Vec<u8> {
    let ts = file_sessions::codec::b62_encode(now_unix());
    // file = b64(json) ":" ts ":" sig(43); json = {"a":"<n x a>"} (n + 8 bytes)
    let target_b64 = READ_CAP + 1 - 1 - ts.len() - 1 - 43;
    let mut json_len = target_b64 * 3 / 4;
    while (json_len * 4).div_ceil(3) < target_b64 {
        json_len += 1;
    }
    assert_eq!((json_len * 4).div_ceil(3), target_b64, "no JSON length gives the exact size");
    let body = format!(r#"{{"a":"{}"}}"#, "a".repeat(json_len - 8));
    let file = sign_raw(&format!("{}:{ts}", b64url(body.as_bytes())));
    assert_eq!(file.len(), READ_CAP + 1);
    file.into_bytes()
}

#[test]
fn bad_session_files_load_as_empty_and_stay_put() {
    for (what, bytes) in bad_files() {
        let env = Env::new();
        std::fs::write(env.session_file(KEY), bytes).unwrap();
        let before = snapshot(env.path());
        let mut g = env.guest();
        let s = g.session(Some(KEY)).unwrap();
        assert_eq!(json(&g.load(s).unwrap()), json!({}), "{what}");
        assert_eq!(g.session_key(s).unwrap().as_deref(), Some(KEY), "{what}: the key is kept, as Django");
        assert!(!g.modified(s).unwrap(), "{what}");
        let t = g.session(Some(KEY)).unwrap();
        assert_eq!(g.get(t, "user").unwrap(), None, "{what}");
        assert_eq!(g.items(t).unwrap(), vec![], "{what}");
        assert!(g.exists(t, KEY).unwrap(), "{what}");
        // A sweep leaves a recent file alone.
        let report = g.clear_expired().unwrap();
        assert_eq!(
            (
                report.scanned,
                report.expired_sessions,
                report.stale_placeholders,
                report.orphaned_temp_files,
                report.failures
            ),
            (1, 0, 0, 0, 0),
            "{what}"
        );
        assert_unchanged(&env, &before, what);
    }
}

#[test]
fn bad_session_files_expire_by_mtime() {
    for (what, bytes) in bad_files() {
        let env = Env::new();
        let path = env.session_file(KEY);
        std::fs::write(&path, bytes).unwrap();
        age_file(&path, COOKIE_AGE + 5);
        let mut g = env.guest();
        let s = g.session(Some(KEY)).unwrap();
        assert_eq!(json(&g.load(s).unwrap()), json!({}), "{what}");
        // Expired: deleted, and replaced by a new empty session under a new key.
        let new_key = g.session_key(s).unwrap().expect("a new key");
        assert_ne!(new_key, KEY, "{what}");
        assert!(g.modified(s).unwrap(), "{what}");
        assert_eq!(env.files(), vec![format!("sessionid{new_key}")], "{what}");
        let t = g.session(Some(&new_key)).unwrap();
        assert_eq!(json(&g.load(t).unwrap()), json!({}), "{what}");

        // And a sweep deletes such a file without creating anything.
        let env = Env::new();
        let path = env.session_file(KEY);
        std::fs::write(&path, bytes).unwrap();
        age_file(&path, COOKIE_AGE + 5);
        let report = env.guest().clear_expired().unwrap();
        assert_eq!((report.scanned, report.expired_sessions, report.failures), (1, 1, 0), "{what}");
        assert_eq!(env.files(), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn empty_placeholder_loads_as_live_empty_session() {
    let env = Env::new();
    let path = env.session_file(KEY);
    std::fs::write(&path, b"").unwrap();
    // Even with an mtime older than the cookie age: Django skips the expiry check.
    age_file(&path, COOKIE_AGE + 5);
    let before = snapshot(env.path());
    let mut g = env.guest();
    let s = g.session(Some(KEY)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({}));
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(KEY));
    assert!(!g.modified(s).unwrap());
    assert_unchanged(&env, &before, "placeholder");
}

#[test]
fn special_files_in_place_of_a_session() {
    // A directory and a symlink (to a valid session, and out of the directory) named as a
    // session: neither is read, nothing is removed.
    let env = Env::new();
    let other = "ffffffffffffffffffffffffffffffff";
    std::fs::write(env.session_file(other), signed(&json!({"planted": true}))).unwrap();
    std::fs::create_dir(env.session_file(KEY)).unwrap();
    let link_key = "1111111111111111";
    std::os::unix::fs::symlink(env.session_file(other), env.session_file(link_key)).unwrap();
    let out_key = "2222222222222222";
    std::os::unix::fs::symlink("/etc/passwd", env.session_file(out_key)).unwrap();
    let before = snapshot(env.path());
    let mut g = env.guest();
    for key in [KEY, link_key, out_key] {
        let s = g.session(Some(key)).unwrap();
        assert_eq!(json(&g.load(s).unwrap()), json!({}), "{key}");
        assert_eq!(g.session_key(s).unwrap(), None, "{key}: an unreadable file is a missing session");
    }
    let report = g.clear_expired().unwrap();
    assert_eq!((report.scanned, report.expired_sessions, report.failures), (4, 0, 0));
    assert_unchanged(&env, &before, "special files");
}

#[test]
fn decode_never_traps_on_garbage() {
    let env = Env::new();
    let mut g = env.guest();
    let s = g.session(None).unwrap();
    for (what, bytes) in bad_files() {
        let Ok(text) = std::str::from_utf8(bytes) else { continue };
        if what.starts_with("over the read cap") {
            continue; // decode has no size cap of its own (Django's neither)
        }
        let expected = match *what {
            // Django's decode returns whatever a valid signature covers, and its base64
            // decoder skips characters outside the alphabet.
            "signed array [1,2]" => json!([1, 2]),
            "signed string" => json!("text"),
            "signed null" => json!(null),
            "signed number" => json!(42),
            "valid signature over non-ASCII text" => json!({"user": 42}),
            _ => json!({}),
        };
        assert_eq!(json(&g.decode(s, text).unwrap()), expected, "{what}");
    }
    assert_eq!(env.files(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

const NOT_JSON: &[&str] =
    &["", "not json", "{", "{'a': 1}", "[1,]", "{\"a\":1} trailing", "undefined", "0x10", "\"unterminated"];

/// A saved session `{"a": 1}` and a second handle on it, loaded.
fn saved_session(env: &Env, g: &mut Guest) -> SessionHandle {
    let s = g.session(None).unwrap();
    g.set(s, "a", "1").unwrap();
    g.save(s, false).unwrap();
    let key = g.session_key(s).unwrap().unwrap();
    let t = g.session(Some(&key)).unwrap();
    assert_eq!(json(&g.load(t).unwrap()), json!({"a": 1}));
    assert_eq!(env.files().len(), 1);
    t
}

fn assert_session_untouched(g: &mut Guest, s: SessionHandle, what: &str) {
    assert!(!g.modified(s).unwrap(), "{what}: modified");
    assert_eq!(g.items(s).unwrap(), vec![("a".to_owned(), "1".to_owned())], "{what}");
}

#[test]
fn non_json_values_are_invalid_value() {
    let env = Env::new();
    let mut g = env.guest();
    let s = saved_session(&env, &mut g);
    let before = snapshot(env.path());
    let deep = "[".repeat(50_000); // unclosed, and deeper than serde_json reads
    let mut inputs: Vec<&str> = NOT_JSON.to_vec();
    inputs.push(&deep);
    for &bad in &inputs {
        let show = &bad[..bad.len().min(20)];
        for (op, result) in [
            ("set", g.set(s, "b", bad).map(|_| ())),
            ("setdefault", g.setdefault(s, "b", bad).map(|_| ())),
            ("update", g.update(s, bad)),
            ("pop default", g.pop(s, "b", Some(bad)).map(|_| ())),
            ("get default", g.get_or(s, "b", Some(bad)).map(|_| ())),
            ("encode", g.encode(s, bad).map(|_| ())),
        ] {
            let msg = store_err!(result, InvalidValue);
            assert!(msg.contains("not valid JSON"), "{op}({show:?}): {msg}");
        }
        assert_session_untouched(&mut g, s, show);
    }
    // A default is parsed even when it is not needed (a present key).
    let msg = store_err!(g.pop(s, "a", Some("nope")), InvalidValue);
    assert!(msg.contains("not valid JSON"), "{msg}");
    let msg = store_err!(g.get_or(s, "a", Some("nope")), InvalidValue);
    assert!(msg.contains("not valid JSON"), "{msg}");
    assert_session_untouched(&mut g, s, "present key");
    g.save(s, false).unwrap_or_else(|e| panic!("the session still saves: {e}"));
    let key = g.session_key(s).unwrap().unwrap();
    let t = g.session(Some(&key)).unwrap();
    assert_eq!(json(&g.load(t).unwrap()), json!({"a": 1}));
    // Saving rewrote the same data; the file name set is unchanged.
    assert_eq!(env.files(), before.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
}

#[test]
fn update_needs_an_object() {
    let env = Env::new();
    let mut g = env.guest();
    let s = saved_session(&env, &mut g);
    let before = snapshot(env.path());
    for bad in ["[1,2]", "[]", "\"text\"", "1", "null", "true", "[{\"b\":2}]"] {
        let msg = store_err!(g.update(s, bad), InvalidValue);
        assert_eq!(msg, "expected a JSON object", "{bad}");
        assert_session_untouched(&mut g, s, bad);
    }
    assert_unchanged(&env, &before, "update");
}

#[test]
fn set_expiry_refuses_unparseable_and_naive_instants() {
    let env = Env::new();
    let mut g = env.guest();
    let s = saved_session(&env, &mut g);
    let before = snapshot(env.path());
    for bad in [
        "",
        "tomorrow",
        "2030-13-01T00:00:00+00:00",
        "2030-02-30T00:00:00+00:00",
        "2030-01-01T25:00:00Z",
        "2030-01-01T10:00:00+",
        "2030-01-01T10:00:00+24:00",
        "0000-01-01T00:00:00+00:00",
        "1700000000",
        "2030-01-01T00:00:00\0+00:00",
    ] {
        let msg = store_err!(g.set_expiry(s, Some(&Expiry::Instant(bad.into()))), InvalidValue);
        assert!(msg.contains("not an ISO-8601 datetime") && msg.contains(&format!("{bad:?}")), "{bad:?}: {msg}");
        assert_session_untouched(&mut g, s, bad);
    }
    for naive in ["2030-01-01T00:00:00", "2030-01-01", "2030-01-01 10:20"] {
        let msg = store_err!(g.set_expiry(s, Some(&Expiry::Instant(naive.into()))), InvalidValue);
        assert!(msg.contains("no UTC offset") && msg.contains(naive), "{naive}: {msg}");
        assert_session_untouched(&mut g, s, naive);
    }
    // The same checks on the explicit arguments of the expiry getters.
    for (what, r) in [
        ("age modification", g.get_expiry_age_with(s, Some(&"yesterday".to_string()), None).map(|_| ())),
        ("date modification", g.get_expiry_date_with(s, Some(&"yesterday".to_string()), None).map(|_| ())),
        ("age expiry", g.get_expiry_age_with(s, None, Some(Some(&Expiry::Instant("soon".into())))).map(|_| ())),
        ("date expiry", g.get_expiry_date_with(s, None, Some(Some(&Expiry::Instant("soon".into())))).map(|_| ())),
        (
            "age naive expiry",
            g.get_expiry_age_with(s, None, Some(Some(&Expiry::Instant("2030-01-01T00:00:00".into())))).map(|_| ()),
        ),
    ] {
        let msg = store_err!(r, InvalidValue);
        assert!(msg.contains("yesterday") || msg.contains("soon") || msg.contains("no UTC offset"), "{what}: {msg}");
    }
    assert_session_untouched(&mut g, s, "getters");
    assert_unchanged(&env, &before, "set_expiry");
}

#[test]
fn missing_keys_are_key_errors() {
    let env = Env::new();
    let mut g = env.guest();
    let s = saved_session(&env, &mut g);
    let before = snapshot(env.path());
    let msg = store_err!(g.remove(s, "missing"), KeyError);
    assert!(msg.contains("missing"), "{msg}");
    let msg = store_err!(g.pop(s, "missing", None), KeyError);
    assert!(msg.contains("missing"), "{msg}");
    let msg = store_err!(g.delete_test_cookie(s), KeyError);
    assert!(msg.contains("testcookie"), "{msg}");
    // A key that was just removed is missing too.
    g.set(s, "gone", "1").unwrap();
    g.remove(s, "gone").unwrap();
    let msg = store_err!(g.remove(s, "gone"), KeyError);
    assert!(msg.contains("gone"), "{msg}");
    g.set_modified(s, false).unwrap();
    assert_session_untouched(&mut g, s, "key errors");
    // An odd key name is quoted, not interpreted.
    let odd = "../\u{0}\"x";
    let msg = store_err!(g.remove(s, odd), KeyError);
    assert!(msg.contains("is not in the session"), "{msg}");
    assert_unchanged(&env, &before, "key errors");
}

#[test]
fn garbage_session_expiry_is_invalid_value_for_the_getters() {
    let env = Env::new();
    let mut g = env.guest();
    let s = saved_session(&env, &mut g);
    let before = snapshot(env.path());
    for garbage in ["\"garbage\"", "\"2030-13-45T00:00:00+00:00\"", "[1]", "{\"a\":1}", "\"1700000000\""] {
        g.set(s, "_session_expiry", garbage).unwrap();
        let msg = store_err!(g.get_expiry_age(s), InvalidValue);
        assert!(msg.contains("_session_expiry"), "{garbage}: {msg}");
        let msg = store_err!(g.get_expiry_date(s), InvalidValue);
        assert!(msg.contains("_session_expiry"), "{garbage}: {msg}");
        // Not a browser-close expiry, and no trap.
        assert!(!g.get_expire_at_browser_close(s).unwrap(), "{garbage}");
    }
    // A naive stored instant cannot be compared with aware now.
    g.set(s, "_session_expiry", "\"2030-01-01T00:00:00\"").unwrap();
    let msg = store_err!(g.get_expiry_age(s), InvalidValue);
    assert!(msg.contains("naive"), "{msg}");
    assert_unchanged(&env, &before, "expiry getters");
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

/// The constructor and `clear_expired` both fail with `ImproperlyConfigured`, the text names
/// every `naming` string and never the secret, and nothing on disk changes.
fn assert_misconfigured(env: &Env, naming: &[&str]) -> String {
    let before = snapshot(env.path());
    let mut g = env.guest();
    let msg = store_err!(g.session(None), ImproperlyConfigured);
    let msg_key = store_err!(g.session(Some(KEY)), ImproperlyConfigured);
    assert_eq!(msg, msg_key);
    let msg_clear = store_err!(g.clear_expired(), ImproperlyConfigured);
    assert_eq!(msg, msg_clear);
    for n in naming {
        assert!(msg.contains(n), "the error should name {n:?}: {msg}");
    }
    assert!(!msg.contains(SECRET), "the secret leaked: {msg}");
    assert_unchanged(env, &before, &msg);
    msg
}

#[test]
fn missing_or_empty_secret_key() {
    let mut env = Env::new();
    std::fs::write(env.session_file(KEY), signed(&json!({"a": 1}))).unwrap();
    env.tenant = env.tenant.clone().without_env("SECRET_KEY");
    let msg = assert_misconfigured(&env, &["SECRET_KEY"]);
    assert_eq!(msg, "The SECRET_KEY setting must not be empty.");
    let env = Env::new().setting("SECRET_KEY", "");
    assert_eq!(assert_misconfigured(&env, &["SECRET_KEY"]), "The SECRET_KEY setting must not be empty.");
}

#[test]
fn malformed_settings_are_named() {
    for (name, bad) in [
        ("SECRET_KEY_FALLBACKS", "old-key,older-key"),
        ("SECRET_KEY_FALLBACKS", "old-key"),
        ("SECRET_KEY_FALLBACKS", "{\"a\": \"b\"}"),
        ("SECRET_KEY_FALLBACKS", "[1, 2]"),
        ("SECRET_KEY_FALLBACKS", "[\"\"]"),
        ("SECRET_KEY_FALLBACKS", SECRET),
        ("SESSION_COOKIE_AGE", "2 weeks"),
        ("SESSION_COOKIE_AGE", "1.5"),
        ("SESSION_COOKIE_AGE", "99999999999999999999999"),
        ("SESSION_COOKIE_AGE", SECRET),
        ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "maybe"),
        ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "yes please"),
        ("SESSION_EXPIRE_AT_BROWSER_CLOSE", SECRET),
        ("SESSION_COOKIE_NAME", "a/b"),
        ("SESSION_COOKIE_NAME", "../sessionid"),
        ("SESSION_COOKIE_NAME", ".."),
        ("SESSION_COOKIE_NAME", "."),
        ("SESSION_COOKIE_NAME", "session id"),
        ("SESSION_COOKIE_NAME", "sess\\id"),
        ("SESSION_COOKIE_NAME", "séssion"),
        ("SESSION_COOKIE_NAME", &format!("{SECRET}/")),
    ] {
        let env = Env::new().setting(name, bad);
        std::fs::write(env.session_file(KEY), signed(&json!({"a": 1}))).unwrap();
        let msg = assert_misconfigured(&env, &[name, "malformed"]);
        assert!(!msg.contains(bad) || bad.len() < 3, "{name}={bad:?}: the value is not echoed: {msg}");
    }
}

#[test]
fn settings_with_nul_bytes_are_refused_not_truncated() {
    // The host passes settings as WIT strings, which may hold NUL. Truncating at it
    // silently changes the setting: a weaker secret, another prefix, another directory.
    let env = Env::new();
    let path_with_nul = format!("{}\0/elsewhere", env.path().display());
    for (name, bad) in [
        ("SECRET_KEY", "abc\0def"),
        ("SECRET_KEY", "\0"),
        ("SESSION_COOKIE_NAME", "sess\0id"),
        ("SESSION_COOKIE_AGE", "100\0 weeks"),
        ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "false\0true"),
        ("SECRET_KEY_FALLBACKS", "[]\0[\"x\"]"),
        ("SESSION_FILE_PATH", path_with_nul.as_str()),
    ] {
        eprintln!("case {name}={bad:?}");
        let mut env2 = Env::new();
        env2.tenant = env.tenant.clone().env(name, bad);
        let before = snapshot(env.path());
        let mut g = runtime().instantiate(&env2.tenant).unwrap();
        let msg = store_err!(g.session(None), ImproperlyConfigured);
        assert!(msg.contains(name), "{name}={bad:?}: {msg}");
        assert!(!msg.contains(SECRET), "{msg}");
        let msg2 = store_err!(g.clear_expired(), ImproperlyConfigured);
        assert_eq!(msg, msg2);
        assert_unchanged(&env, &before, name);
    }
}

#[test]
fn storage_path_problems_are_named() {
    let env = Env::new();
    let missing = env.path().join("does-not-exist");
    let file = env.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let escape = format!("{}/..", env.path().display());
    for path in [
        missing.display().to_string(),
        file.display().to_string(),
        elsewhere.path().display().to_string(),
        escape,
        "/etc".to_owned(),
        "/".to_owned(),
        "relative/dir".to_owned(),
    ] {
        let mut env2 = Env::new();
        env2.tenant = env.tenant.clone().env("SESSION_FILE_PATH", &path);
        let before = snapshot(env.path());
        let mut g = runtime().instantiate(&env2.tenant).unwrap();
        let msg = store_err!(g.session(None), ImproperlyConfigured);
        assert!(msg.contains("SESSION_FILE_PATH") && msg.contains(&format!("'{path}'")), "{path}: {msg}");
        assert!(!msg.contains(SECRET), "{msg}");
        let msg2 = store_err!(g.clear_expired(), ImproperlyConfigured);
        assert_eq!(msg, msg2);
        assert_unchanged(&env, &before, &path);
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
    // Unset, the path falls back to /tmp, which is not preopened here.
    let mut env3 = Env::new();
    env3.tenant = env3.tenant.clone().without_env("SESSION_FILE_PATH");
    let msg = assert_misconfigured(&env3, &["SESSION_FILE_PATH", "'/tmp'"]);
    assert!(msg.contains("preopen"), "{msg}");
}

#[test]
fn errors_never_carry_the_secret() {
    // Every error path of a session, with a secret that is easy to spot.
    let secret = "Sup3r-Secret-Value-0123456789";
    let env = Env::new().setting("SECRET_KEY", secret).setting("SECRET_KEY_FALLBACKS", &format!("[\"{secret}-old\"]"));
    let mut g = env.guest();
    let s = g.session(None).unwrap();
    let errors: Vec<HostError> = [
        g.set(s, "a", secret).err(),
        g.update(s, "[1]").err(),
        g.exists(s, secret).err(),
        g.delete(s, Some(secret)).err(),
        g.remove(s, "x").err(),
        g.set_expiry(s, Some(&Expiry::Instant("never".into()))).err(),
        g.pop(s, "x", None).err(),
        g.get_expiry_age_with(s, Some(&"x".to_string()), None).err(),
    ]
    .into_iter()
    .map(|e| e.expect("an error"))
    .collect();
    for e in errors {
        let text = e.to_string();
        assert!(matches!(e, HostError::Store(_)), "{text}");
        assert!(!text.contains("Sup3r-Secret-Value"), "{text}");
    }
}

// ---------------------------------------------------------------------------------------
// The component's imports
// ---------------------------------------------------------------------------------------

#[test]
fn component_imports_only_wasi_cli_filesystem_clocks_random_io() {
    let engine = runtime().engine();
    // Through the precompiled cache: compiling again takes 10+ s in a debug host.
    let (component, _) = file_sessions_host::CodeCache::User.load(engine, file_sessions_host::GUEST_WASM).unwrap();
    let imports: Vec<String> = component.component_type().imports(engine).map(|(name, _)| name.to_owned()).collect();
    assert!(imports.iter().any(|i| i.starts_with("wasi:filesystem/")), "{imports:?}");
    for name in &imports {
        assert!(
            ["wasi:cli/", "wasi:filesystem/", "wasi:clocks/", "wasi:random/", "wasi:io/"]
                .iter()
                .any(|p| name.starts_with(p)),
            "unexpected import {name} (all: {imports:?})"
        );
        assert!(!name.contains("sockets") && !name.contains("http"), "{name}");
    }
    // Exports: the store interface only.
    let exports: Vec<String> = component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect();
    assert_eq!(exports, vec!["file-sessions:store/store@0.2.0".to_owned()]);
}
