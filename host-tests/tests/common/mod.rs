//! Shared set-up for the integration tests: one runtime per test binary, a fresh
//! directory per test, helpers to look at what is on disk.
#![allow(dead_code)]

use file_sessions_host::{Guest, Runtime, Tenant};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The secret of the worked examples in the behaviour reference.
pub const SECRET: &str = "test-secret-key-for-interop";

/// The engine and pre-linked component, compiled once per test binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("loading the component"))
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
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
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
