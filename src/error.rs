//! The store's errors, one per Django exception the file backend can raise.

/// An error from the store. Mirrors Django's exceptions; the WIT `error` variant is a
/// one-to-one copy of it. Displayed as `<kind>: <detail>`, the kind as the WIT names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `CreateError`: the new session's key is already taken.
    #[error("create-error: {0}")]
    Create(String),
    /// `UpdateError`: the session's file is gone, so saving would resurrect it.
    #[error("update-error: {0}")]
    Update(String),
    /// `InvalidSessionKey`: characters outside `[a-z0-9]`.
    #[error("invalid-session-key: {0}")]
    InvalidSessionKey(String),
    /// `ImproperlyConfigured`: a setting is missing or malformed.
    #[error("improperly-configured: {0}")]
    ImproperlyConfigured(String),
    /// `KeyError`: no such key in the session.
    #[error("key-error: {0}")]
    KeyError(String),
    /// Not valid JSON, not an object, or not a usable expiry.
    #[error("invalid-value: {0}")]
    InvalidValue(String),
    /// The filesystem refused an operation.
    #[error("io: {0}")]
    Io(String),
}

impl Error {
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

/// Shorthand for results of the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;
