//! A wasmtime host for the `file-sessions` components: Django's file-based session store
//! as a WebAssembly component, with a typed API over its `session-store` resource.
//!
//! One entry point: a [`Runtime`] (the engine and the pre-linked component, built once per
//! process) makes a [`Guest`] (one instance) for a [`Tenant`] (a directory and its
//! settings). The components are embedded in this crate, so a host built from it needs no
//! file but the session directory.
//!
//! ```
//! use file_sessions_host::{Runtime, Tenant};
//!
//! let dir = tempfile::tempdir()?;
//! let runtime = Runtime::new()?;
//! let mut guest = runtime.instantiate(&Tenant::new(dir.path(), "a-long-random-secret"))?;
//! let s = guest.session(None)?;
//! guest.set(s, "user_id", "42")?;
//! guest.save(s, false)?;
//! let key = guest.session_key(s)?.expect("saving gave the session a key");
//!
//! // The next request: a fresh instance finds it on disk.
//! let mut next = runtime.instantiate(&Tenant::new(dir.path(), "a-long-random-secret"))?;
//! let t = next.session(Some(&key))?;
//! assert_eq!(next.load(t)?, r#"{"user_id":42}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Options go through [`Runtime::builder`]: the engine's [`Config`](wasmtime::Config), a
//! hook that configures each `Store` before instantiation (fuel, epoch deadlines), where
//! the guest's stderr goes ([`GuestStderr`]) and the precompiled-code cache
//! ([`CodeCache`]). [`twins`] is the same for the async component; [`serve`] serves the web
//! app (the store composed with a `wasi:http` handler).
//!
//! Errors are one type, [`HostError`]: the store's own (Django's exceptions, as the WIT
//! `error` variant), a trap, or a host-side I/O failure.

#![deny(missing_docs)]

mod cache;
mod error;
mod guest;
mod runtime;
pub mod serve;
mod state;
mod tenant;
pub mod twins;

pub use cache::{CodeCache, CodeSource};
pub use error::{HostError, Result};
pub use guest::{Guest, SessionHandle};
pub use runtime::{Builder, Runtime, StoreHook};
pub use state::{GuestStderr, HostState};
pub use tenant::{DEFAULT_MEMORY_LIMIT, Tenant};

mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "file-sessions" });

    pub use exports::file_sessions::store::store::{ClearBatch, ClearReport, Error as StoreError, Expiry};
}

pub use bindings::{ClearBatch, ClearReport, Expiry, StoreError};

/// The portable component, embedded: sync exports, WASI 0.2 imports; runs on any
/// component-model host.
pub const GUEST_WASM: &[u8] = include_bytes!(env!("FILE_SESSIONS_WASM"));

/// The async component, embedded: the same plus Django's async twins, over WASI 0.2 and
/// 0.3; needs component-model async. See [`twins`].
pub const GUEST_ASYNC_WASM: &[u8] = include_bytes!(env!("FILE_SESSIONS_ASYNC_WASM"));
