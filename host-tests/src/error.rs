//! The host's one error type, and the one table of the store's error kinds.

use crate::bindings::StoreError;

/// Why a call failed: the store said no, the guest trapped, or the host could not reach
/// the disk.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The store's error, as the WIT `error` variant (Django's exceptions).
    #[error("{}: {}", .0.kind(), .0.detail())]
    Store(StoreError),
    /// The guest trapped (a bug: it never should), or wasmtime refused the component.
    #[error("trap: {0:#}")]
    Trap(wasmtime::Error),
    /// A filesystem call made by the host itself (opening the tenant's directory, ...).
    #[error("io: {context}: {source}")]
    Io {
        /// What the host was doing, and on which path.
        context: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

impl HostError {
    /// An [`HostError::Io`] for `action` on `path` (`"cannot open"`, `/srv/sessions`).
    pub fn io(action: &str, path: &std::path::Path, source: std::io::Error) -> HostError {
        HostError::Io { context: format!("{action} {}", path.display()), source }
    }

    /// The kind, as the `sessions` command prints it before the detail: the WIT name of a
    /// store error (`update-error`, ...), `trap` or `io`.
    pub fn kind(&self) -> &'static str {
        match self {
            HostError::Store(e) => e.kind(),
            HostError::Trap(_) => "trap",
            HostError::Io { .. } => "io",
        }
    }
}

impl From<wasmtime::Error> for HostError {
    /// A host-side I/O failure reported through wasmtime stays an I/O error; anything else
    /// is a trap.
    fn from(e: wasmtime::Error) -> HostError {
        match e.downcast::<std::io::Error>() {
            Ok(source) => HostError::Io { context: "wasmtime".into(), source },
            Err(e) => HostError::Trap(e),
        }
    }
}

impl From<StoreError> for HostError {
    fn from(e: StoreError) -> HostError {
        HostError::Store(e)
    }
}

/// Results of calls into the guest.
pub type Result<T, E = HostError> = std::result::Result<T, E>;

/// The store's error kinds, each written once: the WIT case, its name, and the same case
/// of the async world's bindings (a distinct Rust type for the same WIT variant).
macro_rules! error_kinds {
    ($($case:ident => $name:literal,)*) => {
        impl StoreError {
            /// The kind, as the WIT names it (`update-error`, ...).
            pub fn kind(&self) -> &'static str {
                match self { $(StoreError::$case(_) => $name,)* }
            }

            /// The text of the error.
            pub fn detail(&self) -> &str {
                match self { $(StoreError::$case(detail))|* => detail }
            }
        }

        impl From<crate::twins::WitError> for StoreError {
            fn from(e: crate::twins::WitError) -> StoreError {
                match e { $(crate::twins::WitError::$case(detail) => StoreError::$case(detail),)* }
            }
        }
    };
}

error_kinds! {
    CreateError => "create-error",
    UpdateError => "update-error",
    InvalidSessionKey => "invalid-session-key",
    ImproperlyConfigured => "improperly-configured",
    KeyError => "key-error",
    InvalidValue => "invalid-value",
    Io => "io",
}

impl From<crate::twins::WitError> for HostError {
    fn from(e: crate::twins::WitError) -> HostError {
        HostError::Store(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_the_wit_names() {
        let e = HostError::Store(StoreError::UpdateError("gone".into()));
        assert_eq!(e.to_string(), "update-error: gone");
        assert_eq!(e.kind(), "update-error");
        let async_side: HostError = crate::twins::WitError::InvalidSessionKey("bad".into()).into();
        assert_eq!(async_side.to_string(), "invalid-session-key: bad");
    }

    #[test]
    fn a_disk_error_is_io_not_trap() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = HostError::io("cannot open", std::path::Path::new("/srv/x"), missing);
        assert!(e.to_string().starts_with("io: cannot open /srv/x: "), "{e}");
        let through_wasmtime: HostError = wasmtime::Error::from(std::io::Error::other("disk on fire")).into();
        assert_eq!(through_wasmtime.kind(), "io", "{through_wasmtime}");
        let trap: HostError = wasmtime::format_err!("unreachable").into();
        assert_eq!(trap.to_string(), "trap: unreachable");
    }
}
