//! Django's file-based session store (`django.contrib.sessions.backends.file`) as a
//! WebAssembly component.
//!
//! Built for `wasm32-wasip2`, this crate is a component exporting the
//! `file-sessions:store/store` interface (`wit/store.wit`): a `session-store` resource with
//! Django's `SessionStore` API, and `clear-expired`. With the `async` feature it also exports
//! `file-sessions:store/async-store`: Django's `a*` twins as component-model `async func`s
//! whose file I/O goes through WASI 0.3. Each session is a signed file in a
//! directory the host preopens, in exactly Django's format, so a Django app and this
//! component sharing a directory and a `SECRET_KEY` read each other's sessions.
//!
//! Built natively, the same logic is an ordinary library (used by the unit tests and the
//! native benchmark). Its one entry point is [`Session`] over a [`FileStore`]:
//!
//! ```
//! use file_sessions::{FileStore, Session, Settings, run_sync};
//! use std::rc::Rc;
//!
//! let dir = std::env::temp_dir().join(format!("file-sessions-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let settings = Settings::from_vars([
//!     ("SECRET_KEY".to_string(), "change-me".to_string()),
//!     ("SESSION_FILE_PATH".to_string(), dir.to_str().unwrap().to_string()),
//! ])
//! .unwrap();
//! let store = Rc::new(FileStore::new(settings).unwrap());
//!
//! let mut session = Session::new(store.clone(), None);
//! // The logic is `async` (the async component awaits WASI 0.3 I/O); over a synchronous
//! // directory `run_sync` completes it at once.
//! run_sync(session.set("user_id", 42.into())).unwrap();
//! run_sync(session.save(false)).unwrap(); // no key yet: creates one
//! let key = session.state.key().unwrap().to_owned();
//!
//! let mut again = Session::new(store, Some(key));
//! assert_eq!(run_sync(again.get("user_id", None)).unwrap(), Some(42.into()));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! Modules, leaves first: [`codec`] (the signed format), [`key`], [`expiry`],
//! [`settings`], [`dir`] (the only filesystem access), [`session`] (`SessionBase`: state
//! and dictionary API), [`store`] (the file backend), [`sweep`] (`clear_expired`). On `wasm32` a private module binds
//! them to the WIT contract. The session and store logic is `async`, written once for both
//! interfaces; over a synchronous directory [`run_sync`] completes it.

#![deny(missing_docs)]

pub mod codec;
pub mod dir;
pub mod error;
pub mod expiry;
pub mod key;
mod log;
pub mod session;
pub mod settings;
pub mod store;
pub mod sweep;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{Error, Result};
pub use session::{Backend, Codec, Data, ExpiredDeletion, Session, State};
pub use settings::Settings;
pub use store::FileStore;
pub use sweep::{ClearBatch, ClearReport};

/// Drives the shared `async` code to completion over a synchronous directory.
///
/// The session and store logic is written once, as `async fn`s over [`dir::Storage`], so
/// the sync and the async component share it. The synchronous directories (`std::fs`
/// natively, WASI 0.2 on `wasm32`) answer every call at once, so their futures are ready
/// on the first poll: this is that poll, with no executor behind it.
///
/// # Panics
///
/// If the future is not ready at once: it waits on something, which nothing here would
/// ever wake, so polling it again would spin forever. That is a bug (an async directory
/// driven synchronously), never an input's fault.
pub fn run_sync<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => {
            panic!("run_sync: the future is pending; only a synchronous directory's futures can be run here")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "run_sync: the future is pending")]
    fn run_sync_refuses_a_pending_future() {
        super::run_sync(std::future::pending::<()>());
    }

    #[test]
    fn run_sync_completes_a_ready_future() {
        assert_eq!(super::run_sync(async { 42 }), 42);
    }
}
