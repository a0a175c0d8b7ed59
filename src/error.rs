//! The store's errors, one per Django exception the file backend can raise.

use std::fmt;

/// An error from the store. Mirrors Django's exceptions; the WIT `error` variant is a
/// one-to-one copy of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `CreateError`: the new session's key is already taken.
    Create(String),
    /// `UpdateError`: the session's file is gone, so saving would resurrect it.
    Update(String),
    /// `InvalidSessionKey`: characters outside `[a-z0-9]`.
    InvalidSessionKey(String),
    /// `ImproperlyConfigured`: a setting is missing or malformed.
    ImproperlyConfigured(String),
    /// `KeyError`: no such key in the session.
    KeyError(String),
    /// Not valid JSON, not an object, or not a usable expiry.
    InvalidValue(String),
    /// The filesystem refused an operation.
    Io(String),
}

impl Error {
    /// The kind as the `sessions` command prints it (`error: <kind>: <detail>`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Create(_) => "create-error",
            Error::Update(_) => "update-error",
            Error::InvalidSessionKey(_) => "invalid-session-key",
            Error::ImproperlyConfigured(_) => "improperly-configured",
            Error::KeyError(_) => "key-error",
            Error::InvalidValue(_) => "invalid-value",
            Error::Io(_) => "io",
        }
    }

    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        match self {
            Error::Create(s)
            | Error::Update(s)
            | Error::InvalidSessionKey(s)
            | Error::ImproperlyConfigured(s)
            | Error::KeyError(s)
            | Error::InvalidValue(s)
            | Error::Io(s) => s,
        }
    }

    /// An `io` error for `action` on `name`.
    pub(crate) fn io(action: &str, name: &str, err: &std::io::Error) -> Error {
        // Keep the reason readable when the name is absurdly long (a 10,000-character key).
        let name = match name.char_indices().nth(80) {
            Some((cut, _)) => format!("{}...", &name[..cut]),
            None => name.to_owned(),
        };
        Error::Io(format!("{action} {name}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.detail())
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;
