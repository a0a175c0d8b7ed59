//! Django's file-based session store (`django.contrib.sessions.backends.file`) as a
//! WebAssembly component.
//!
//! Built for `wasm32-wasip2`, this crate is a component exporting the
//! `file-sessions:store/store` interface (`wit/store.wit`): a `session-store` resource with
//! Django's `SessionStore` API, and `clear-expired`. Each session is a signed file in a
//! directory the host preopens, in exactly Django's format, so a Django app and this
//! component sharing a directory and a `SECRET_KEY` read each other's sessions.
//!
//! Built natively, the same logic is an ordinary library (used by the unit tests and the
//! native benchmark). Its one entry point is [`Session`] over a [`FileStore`]:
//!
//! ```
//! use file_sessions::{FileStore, Session, Settings};
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
//! session.set("user_id", 42.into()).unwrap();
//! session.save(false).unwrap(); // no key yet: creates one
//! let key = session.state.key().unwrap().to_owned();
//!
//! let mut again = Session::new(store, Some(key));
//! assert_eq!(again.get("user_id", None).unwrap(), Some(42.into()));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! Modules, leaves first: [`codec`] (the signed format), [`key`], [`expiry`],
//! [`settings`], [`dir`] (the only filesystem access), [`session`] (`SessionBase`: state
//! and dictionary API), [`store`] (the file backend). On `wasm32` a private module binds
//! them to the WIT contract.

#![deny(missing_docs)]

pub mod codec;
pub mod dir;
pub mod error;
pub mod expiry;
pub mod key;
pub mod session;
pub mod settings;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{Error, Result};
pub use session::{Backend, Data, Session, State};
pub use settings::Settings;
pub use store::{ClearReport, FileStore};
