//! The settings the web app reads itself, from its environment with Django's names. The
//! store reads its own (`SECRET_KEY`, `SESSION_COOKIE_AGE`, ...); an empty value counts as
//! unset, and booleans are `true`/`false`/`1`/`0`, as the store reads them.

/// What `SessionMiddleware` and the pages need.
pub struct Settings {
    /// `SESSION_COOKIE_NAME` (default `sessionid`); the store checks it is a cookie token.
    pub cookie_name: String,
    /// `SESSION_COOKIE_SECURE`: adds `Secure` to the session cookie.
    pub cookie_secure: bool,
    /// `SESSION_SAVE_EVERY_REQUEST`: save (and refresh the cookie) even when unmodified.
    pub save_every_request: bool,
    /// `PEER_URL`: where the other app (the Django one) serves the same sessions; the pages
    /// link to it. Not a Django setting.
    pub peer_url: Option<String>,
}

impl Settings {
    /// Reads the settings; the error names the malformed one.
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Settings {
            cookie_name: var("SESSION_COOKIE_NAME").unwrap_or_else(|| "sessionid".into()),
            cookie_secure: flag(var("SESSION_COOKIE_SECURE"), "SESSION_COOKIE_SECURE")?,
            save_every_request: flag(var("SESSION_SAVE_EVERY_REQUEST"), "SESSION_SAVE_EVERY_REQUEST")?,
            peer_url: var("PEER_URL"),
        })
    }
}

fn flag(value: Option<String>, name: &str) -> Result<bool, String> {
    match value.as_deref().map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(_) => Err(format!("The {name} setting must be true, false, 1 or 0.")),
    }
}
