//! Shared set-up for the integration tests: one runtime per test binary, a fresh
//! directory per test, helpers to look at what is on disk.
#![allow(dead_code)]

use file_sessions_host::twins::{AsyncGuest, AsyncRuntime};
use file_sessions_host::{Guest, GuestStderr, Runtime, Tenant};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod skew;
pub mod stress;
pub mod venv;
pub mod web;

pub mod zlib;

/// The secret of the worked examples in the behaviour reference.
pub const SECRET: &str = "test-secret-key-for-interop";

/// The engine and pre-linked component, compiled once per test binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("loading the component"))
}

/// The runtime of the fault and secrecy tests: fuel metering and epoch interruption on,
/// each store armed before instantiation (instantiating runs guest code) with unlimited
/// fuel and a far deadline, which a test then lowers; the guest's stderr captured.
pub fn instrumented() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let mut config = Runtime::recommended_config();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        Runtime::builder()
            .config(config)
            .stderr(GuestStderr::Capture(1 << 20))
            .configure_store(|store| {
                store.set_fuel(u64::MAX)?;
                store.set_epoch_deadline(1 << 40);
                Ok(())
            })
            .build()
            .expect("building the instrumented runtime")
    })
}

/// The async component's engine and pre-linked component, compiled once per test binary.
pub fn async_runtime() -> &'static AsyncRuntime {
    static RUNTIME: OnceLock<AsyncRuntime> = OnceLock::new();
    RUNTIME.get_or_init(|| AsyncRuntime::new().expect("loading the async component"))
}

/// The runtimes of the logging tests: the guest's stderr (its log lines) kept in memory.
pub fn logging_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::builder().stderr(GuestStderr::Capture(1 << 20)).build().expect("loading"))
}

/// The async twin of [`logging_runtime`].
pub fn logging_async_runtime() -> &'static AsyncRuntime {
    static RUNTIME: OnceLock<AsyncRuntime> = OnceLock::new();
    RUNTIME.get_or_init(|| AsyncRuntime::builder().stderr(GuestStderr::Capture(1 << 20)).build().expect("loading"))
}

/// A fresh storage directory and the tenant settings pointing at it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub tenant: Tenant,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let tenant = Tenant::new(dir.path(), SECRET);
        Env { dir, tenant }
    }

    /// Changes one setting.
    pub fn setting(mut self, name: &str, value: &str) -> Env {
        self.tenant = self.tenant.env(name, value);
        self
    }

    /// A new instance of the component on this directory.
    pub fn guest(&self) -> Guest {
        runtime().instantiate(&self.tenant).expect("instantiating")
    }

    /// A new instance of the async component on this directory.
    pub async fn async_guest(&self) -> AsyncGuest {
        async_runtime().instantiate(&self.tenant).await.expect("instantiating the async component")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The file of a session key.
    pub fn session_file(&self, key: &str) -> PathBuf {
        self.file(&format!("sessionid{key}"))
    }

    /// The names in the directory, sorted.
    pub fn files(&self) -> Vec<String> {
        names_in(self.dir.path())
    }
}

/// The names in a directory, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// Parses JSON text (panics on invalid JSON: the guest must return valid JSON).
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON from the guest: {e}: {text}"))
}

/// Sets a file's modification time to `seconds_ago` seconds in the past.
pub fn age_file(path: &Path, seconds_ago: u64) {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

/// Unwraps the expected store error variant and returns its text; anything else (success,
/// another variant, a trap) fails the test with what actually came back.
#[macro_export]
macro_rules! store_err {
    ($result:expr, $variant:ident) => {
        match $result {
            Err(file_sessions_host::HostError::Store(file_sessions_host::StoreError::$variant(msg))) => msg,
            other => panic!(
                "{}: expected StoreError::{}, got {:?}",
                stringify!($result),
                stringify!($variant),
                other.map(|_| ())
            ),
        }
    };
}

/// Now, in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The guest crate's signer, built natively, with the tests' secret.
pub fn signer() -> file_sessions::codec::Signer {
    file_sessions::codec::Signer::new(SECRET, &[])
}

/// A correctly signed session file holding `value`.
pub fn signed(value: &Value) -> String {
    signer().dumps(value, now_unix())
}

/// `value + ":" + signature(value)`: a valid signature over arbitrary text.
pub fn sign_raw(value: &str) -> String {
    format!("{value}:{}", signer().signature(value))
}

/// Unpadded base64url, to build payloads by hand (uncompressed, no `.`).
pub fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..chunk.len() + 1 {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A directory tree as it stands: relative name, bytes (none for directories and symlinks)
/// and modification time (of the entry itself, not followed), sorted by name.
pub type Snapshot = Vec<(String, Option<Vec<u8>>, std::time::SystemTime)>;

/// Everything under `root`, recursively, to compare before and after.
pub fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            let bytes = meta.is_file().then(|| std::fs::read(&path).unwrap());
            out.push((name, bytes, meta.modified().unwrap()));
            if meta.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
