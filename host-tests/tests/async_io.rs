//! The async component's own I/O (WASI 0.3) at its edges and on its error paths: the same
//! answers as the sync interface, which `bad_input.rs` and `security.rs` test in depth.

mod common;
use common::*;

use file_sessions_host::StoreError;
use serde_json::json;
use std::process::Command;
use std::time::Duration;

/// A session of about 600 KB: many WASI 0.3 stream chunks each way (the host moves 8 KiB at
/// a time). The text barely compresses, so the file stays large.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_session_round_trips_through_many_stream_chunks() {
    let env = Env::new();
    let mut g = env.async_guest().await;
    let s = g.session(None).await.unwrap();
    // Hex of a counter hash: incompressible enough that the file stays ~600 KB.
    let big: String = (0..75_000u64).map(|i| format!("{:08x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32)).collect();
    g.aset(s, "big", &json!(big).to_string()).await.unwrap();
    g.asave(s, false).await.unwrap();
    let key = g.session_key(s).await.unwrap().unwrap();
    let size = std::fs::metadata(env.session_file(&key)).unwrap().len();
    assert!(size > 64 * 1024, "the file is {size} bytes: not a multi-chunk case");
    let t = g.session(Some(&key)).await.unwrap();
    assert_eq!(json(&g.aload(t).await.unwrap()), json!({"big": big}));
    // And the sync interface reads what the async one wrote (on a thread of its own: the
    // sync host must not block inside the executor).
    let loaded = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut sync = env.guest();
                let u = sync.session(Some(&key)).unwrap();
                sync.load(u).unwrap()
            })
            .join()
            .unwrap()
    });
    assert_eq!(json(&loaded), json!({"big": big}));
}

/// A file over the read limit loads as `{}` without being read whole, as in the sync path.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_file_loads_as_empty() {
    let env = Env::new();
    let key = "oversizedsession0000";
    let limit = file_sessions::store::MAX_FILE_BYTES as usize;
    std::fs::write(env.session_file(key), "a".repeat(limit + 1)).unwrap();
    let mut g = env.async_guest().await;
    let s = g.session(Some(key)).await.unwrap();
    assert_eq!(json(&g.aload(s).await.unwrap()), json!({}));
    assert_eq!(g.session_key(s).await.unwrap().as_deref(), Some(key), "a corrupt file keeps its key, as in Django");
}

/// A FIFO, a symlink and a directory named like sessions read as missing, and no call
/// waits on the FIFO: it is opened for reading and writing, as in the sync path, which
/// does not wait, and then seen for what it is.
#[tokio::test(flavor = "multi_thread")]
async fn non_files_read_as_missing_and_a_fifo_is_never_waited_on() {
    let env = Env::new();
    let fifo = env.session_file("fifosession00000");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::fs::write(env.file("target"), signed(&json!({"leak": true}))).unwrap();
    std::os::unix::fs::symlink(env.file("target"), env.session_file("linksession00000")).unwrap();
    std::fs::create_dir(env.session_file("dirsession000000")).unwrap();
    let mut g = env.async_guest().await;
    for key in ["fifosession00000", "linksession00000", "dirsession000000"] {
        let s = g.session(Some(key)).await.unwrap();
        let loaded = tokio::time::timeout(Duration::from_secs(30), g.aload(s)).await;
        let loaded = loaded.unwrap_or_else(|_| panic!("aload of {key} waited"));
        assert_eq!(json(&loaded.unwrap()), json!({}), "{key}");
        assert_eq!(g.session_key(s).await.unwrap(), None, "{key}: a missing session drops its key");
    }
    let report =
        tokio::time::timeout(Duration::from_secs(30), g.aclear_expired()).await.expect("aclear_expired waited");
    assert_eq!(report.unwrap().failures, 0);
    assert!(fifo.exists() && env.file("target").exists(), "nothing was removed or followed");
}

/// A storage directory that does not exist: the constructor does no I/O and succeeds; the
/// first call that needs the directory fails with `improperly-configured`, and so does
/// `aclear_expired`. Nothing traps, and a later call still answers the same.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_directory_fails_the_first_call_that_needs_it() {
    let env = Env::new();
    let missing = env.path().join("not-there");
    let env = env.setting("SESSION_FILE_PATH", missing.to_str().unwrap());
    let mut g = env.async_guest().await;
    let s = g.session(None).await.unwrap();
    assert_eq!(g.storage_path(s).await.unwrap(), missing.to_str().unwrap());
    g.aset(s, "a", "1").await.unwrap(); // no key: nothing to load, no I/O
    let msg = store_err!(g.asave(s, false).await, ImproperlyConfigured);
    assert!(msg.contains("not-there"), "{msg}");
    store_err!(g.aclear_expired().await, ImproperlyConfigured);
    store_err!(g.aexists(s, "abcdefgh").await, ImproperlyConfigured);
    assert!(!missing.exists());
}

/// A malformed setting fails the constructor, as in the sync interface.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_setting_fails_the_constructor() {
    let env = Env::new().setting("SESSION_COOKIE_AGE", "two weeks");
    let mut g = env.async_guest().await;
    let msg = store_err!(g.session(None).await, ImproperlyConfigured);
    assert!(msg.contains("SESSION_COOKIE_AGE"), "{msg}");
    let env = Env::new().setting("SECRET_KEY", "");
    let mut g = env.async_guest().await;
    store_err!(g.session(None).await, ImproperlyConfigured);
    assert!(matches!(
        g.aclear_expired().await,
        Err(file_sessions_host::HostError::Store(StoreError::ImproperlyConfigured(_)))
    ));
}

/// Bad values and keys get the same errors as in the sync interface, and write nothing.
#[tokio::test(flavor = "multi_thread")]
async fn bad_values_and_keys_are_refused_and_write_nothing() {
    let env = Env::new();
    let mut g = env.async_guest().await;
    let s = g.session(None).await.unwrap();
    store_err!(g.aset(s, "a", "{not json").await, InvalidValue);
    store_err!(g.aupdate(s, "[1, 2]").await, InvalidValue);
    store_err!(g.aexists(s, "../../etc/passwd").await, InvalidSessionKey);
    store_err!(g.adelete(s, Some("a/b/c")).await, InvalidSessionKey);
    store_err!(g.aset(s, "deep", &format!("{}{}", "[".repeat(200), "]".repeat(200))).await, InvalidValue);
    // 127 nested lists parse, but inside the session object they make 128 levels: refused
    // on save, since it could not be read back.
    g.aset(s, "deep", &format!("{}{}", "[".repeat(127), "]".repeat(127))).await.unwrap();
    store_err!(g.asave(s, false).await, InvalidValue);
    assert!(env.files().is_empty(), "{:?}", env.files());
}
