//! Settings, read from the component's environment under Django's names.
//!
//! [`SETTINGS`] is the one list of what is read, with a line on each: the filter in
//! [`Settings::from_vars`] and any host that passes settings through or documents them
//! (the `sessions` command) take it from there. A new setting is one entry there, one
//! field and its parse below, and its use.

use crate::error::{Error, Result};

/// One setting the component reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// Its name, as in Django's settings and in the component's environment.
    pub name: &'static str,
    /// One line: what it does, its format and its default.
    pub about: &'static str,
}

/// Every setting the component reads, in the README's order.
pub const SETTINGS: &[Setting] = &[
    Setting { name: "SECRET_KEY", about: "signs and verifies sessions; required" },
    Setting {
        name: "SECRET_KEY_FALLBACKS",
        about: "older keys still accepted (never used to sign): a JSON array of strings; default none",
    },
    Setting {
        name: "SESSION_FILE_PATH",
        about: "the storage directory, inside a WASI preopen; default TMPDIR, else /tmp",
    },
    Setting { name: "TMPDIR", about: "the storage directory when SESSION_FILE_PATH is unset" },
    Setting {
        name: "SESSION_COOKIE_NAME",
        about: "the cookie name and file-name prefix, a cookie-name token; default sessionid",
    },
    Setting {
        name: "SESSION_COOKIE_AGE",
        about: "seconds a session lives after its last save, an integer; default 1209600 (two weeks)",
    },
    Setting {
        name: "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        about: "true/false/1/0: sessions without their own expiry end when the browser closes; default false",
    },
    Setting {
        name: "SESSION_FILE_CLOCK_SKEW",
        about: "not Django's: seconds an expired session stays before load or clear-expired removes it, \
                for hosts whose clocks differ by up to this much; 0 to 86400, default 0",
    },
];

/// Django's default `SESSION_COOKIE_AGE`: two weeks.
pub const DEFAULT_COOKIE_AGE: i64 = 60 * 60 * 24 * 7 * 2;

/// The largest `SESSION_FILE_CLOCK_SKEW`: a day (clocks further apart need fixing, not
/// tolerating).
pub const MAX_CLOCK_SKEW: i64 = 24 * 60 * 60;

/// The settings the file backend reads.
///
/// No `Debug`: it holds the secrets.
#[derive(Clone)]
pub struct Settings {
    /// `SECRET_KEY`: signs and verifies. Required, never defaulted.
    pub secret_key: String,
    /// `SECRET_KEY_FALLBACKS`: also accepted when verifying, never used to sign.
    pub secret_key_fallbacks: Vec<String>,
    /// `SESSION_FILE_PATH`: the storage directory (default `TMPDIR`, else `/tmp`).
    pub file_path: String,
    /// `SESSION_COOKIE_NAME`: the cookie name and the file-name prefix.
    pub cookie_name: String,
    /// `SESSION_COOKIE_AGE`: seconds.
    pub cookie_age: i64,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    pub expire_at_browser_close: bool,
    /// `SESSION_FILE_CLOCK_SKEW` (not Django's): seconds an expired session is kept before
    /// `load` or `clear_expired` removes it, for hosts whose clocks differ by up to this
    /// much; 0 (Django's behaviour) by default.
    pub clock_skew: i64,
}

impl Settings {
    /// Reads the settings from `(name, value)` pairs, e.g. `std::env::vars()`.
    ///
    /// An empty value counts as unset (Django tests settings for truthiness).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Settings> {
        let mut get = std::collections::HashMap::new();
        for (k, v) in vars {
            if !SETTINGS.iter().any(|s| s.name == k) || v.is_empty() {
                continue;
            }
            // A C-string environment would silently cut the value here (a shorter secret,
            // another directory): refuse it instead.
            if v.contains('\0') {
                return Err(malformed(&k, "contains a NUL character"));
            }
            get.insert(k, v);
        }
        let mut var = |name: &str| get.remove(name);

        let secret_key = var("SECRET_KEY")
            .ok_or_else(|| Error::ImproperlyConfigured("The SECRET_KEY setting must not be empty.".into()))?;
        let secret_key_fallbacks = match var("SECRET_KEY_FALLBACKS") {
            None => Vec::new(),
            Some(v) => parse_fallbacks(&v)?,
        };
        let tmpdir = var("TMPDIR");
        let file_path = var("SESSION_FILE_PATH").or(tmpdir).unwrap_or_else(|| "/tmp".into());
        let cookie_name = var("SESSION_COOKIE_NAME").unwrap_or_else(|| "sessionid".into());
        if !is_cookie_token(&cookie_name) {
            return Err(malformed(
                "SESSION_COOKIE_NAME",
                "must be a cookie name token: printable ASCII without spaces or ()<>@,;:\\\"/[]?={}",
            ));
        }
        let cookie_age = match var("SESSION_COOKIE_AGE") {
            None => DEFAULT_COOKIE_AGE,
            Some(v) => {
                v.trim().parse().map_err(|_| malformed("SESSION_COOKIE_AGE", "must be an integer number of seconds"))?
            }
        };
        let expire_at_browser_close = match var("SESSION_EXPIRE_AT_BROWSER_CLOSE") {
            None => false,
            Some(v) => parse_bool(&v)
                .ok_or_else(|| malformed("SESSION_EXPIRE_AT_BROWSER_CLOSE", "must be true or false (or 1 or 0)"))?,
        };
        let clock_skew =
            match var("SESSION_FILE_CLOCK_SKEW") {
                None => 0,
                Some(v) => v.trim().parse().ok().filter(|s| (0..=MAX_CLOCK_SKEW).contains(s)).ok_or_else(|| {
                    malformed("SESSION_FILE_CLOCK_SKEW", "must be a number of seconds from 0 to 86400")
                })?,
            };
        Ok(Settings {
            secret_key,
            secret_key_fallbacks,
            file_path,
            cookie_name,
            cookie_age,
            expire_at_browser_close,
            clock_skew,
        })
    }

    /// Reads the settings from the process (component) environment.
    ///
    /// In the component this asks `wasi:cli/environment` directly, not the C library's
    /// NUL-terminated copy, so a value with a NUL in it is seen whole (and refused).
    pub fn from_env() -> Result<Settings> {
        #[cfg(target_arch = "wasm32")]
        let vars = wasi::cli::environment::get_environment();
        #[cfg(not(target_arch = "wasm32"))]
        let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Settings::from_vars(vars)
    }
}

fn malformed(name: &str, why: &str) -> Error {
    Error::ImproperlyConfigured(format!("The {name} setting is malformed: it {why}."))
}

/// `SECRET_KEY_FALLBACKS` is a JSON array of strings, e.g. `["old-key", "older-key"]`:
/// unambiguous whatever characters the keys contain.
fn parse_fallbacks(v: &str) -> Result<Vec<String>> {
    let list: Vec<String> =
        serde_json::from_str(v).map_err(|_| malformed("SECRET_KEY_FALLBACKS", "must be a JSON array of strings"))?;
    if list.iter().any(String::is_empty) {
        return Err(malformed("SECRET_KEY_FALLBACKS", "must not contain empty keys"));
    }
    Ok(list)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// RFC 6265 cookie-name token. It is also the file-name prefix, so this keeps path
/// separators and `..` out of every file name the store builds.
fn is_cookie_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        && name != "."
        && name != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings> {
        Settings::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn expect_improperly_configured(pairs: &[(&str, &str)], naming: &str) {
        match settings(pairs) {
            Err(Error::ImproperlyConfigured(msg)) => assert!(msg.contains(naming), "{msg}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted {pairs:?}"),
        }
    }

    #[test]
    fn defaults_are_djangos() {
        let s = settings(&[("SECRET_KEY", "k")]).unwrap();
        assert_eq!(s.secret_key, "k");
        assert!(s.secret_key_fallbacks.is_empty());
        assert_eq!(s.file_path, "/tmp");
        assert_eq!(s.cookie_name, "sessionid");
        assert_eq!(s.cookie_age, 1_209_600);
        assert!(!s.expire_at_browser_close);
        assert_eq!(s.clock_skew, 0);
        assert_eq!(settings(&[("SECRET_KEY", "k"), ("TMPDIR", "/t")]).unwrap().file_path, "/t");
    }

    #[test]
    fn values_are_parsed() {
        let s = settings(&[
            ("SECRET_KEY", "k"),
            ("SECRET_KEY_FALLBACKS", r#"["old, with comma", "older"]"#),
            ("SESSION_FILE_PATH", "/data"),
            ("TMPDIR", "/t"),
            ("SESSION_COOKIE_NAME", "my_sid"),
            ("SESSION_COOKIE_AGE", "-5"),
            ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "True"),
            ("SESSION_FILE_CLOCK_SKEW", " 60 "),
        ])
        .unwrap();
        assert_eq!(s.clock_skew, 60);
        assert_eq!(s.secret_key_fallbacks, ["old, with comma", "older"]);
        assert_eq!(s.file_path, "/data");
        assert_eq!(s.cookie_name, "my_sid");
        assert_eq!(s.cookie_age, -5);
        assert!(s.expire_at_browser_close);
    }

    #[test]
    fn missing_or_malformed_settings_are_named() {
        expect_improperly_configured(&[], "SECRET_KEY");
        expect_improperly_configured(&[("SECRET_KEY", "")], "SECRET_KEY");
        expect_improperly_configured(&[("SECRET_KEY", "k"), ("SECRET_KEY_FALLBACKS", "a,b")], "SECRET_KEY_FALLBACKS");
        expect_improperly_configured(
            &[("SECRET_KEY", "k"), ("SECRET_KEY_FALLBACKS", r#"[""]"#)],
            "SECRET_KEY_FALLBACKS",
        );
        expect_improperly_configured(&[("SECRET_KEY", "k"), ("SESSION_COOKIE_AGE", "2 weeks")], "SESSION_COOKIE_AGE");
        expect_improperly_configured(
            &[("SECRET_KEY", "k"), ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "maybe")],
            "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        );
        for bad in ["-1", "1.5", "a minute", "86401"] {
            expect_improperly_configured(
                &[("SECRET_KEY", "k"), ("SESSION_FILE_CLOCK_SKEW", bad)],
                "SESSION_FILE_CLOCK_SKEW",
            );
        }
        for name in ["SECRET_KEY", "SESSION_FILE_PATH", "SESSION_COOKIE_NAME", "SESSION_COOKIE_AGE"] {
            let mut pairs = vec![("SECRET_KEY", "k")];
            pairs.push((name, "100\0 weeks"));
            expect_improperly_configured(&pairs, name);
        }
        for bad in ["../x", "a/b", "a b", "..", "sess;id"] {
            expect_improperly_configured(&[("SECRET_KEY", "k"), ("SESSION_COOKIE_NAME", bad)], "SESSION_COOKIE_NAME");
        }
    }

    #[test]
    fn every_listed_setting_is_read_and_nothing_else() {
        for setting in SETTINGS {
            // A NUL is refused for every setting the filter lets through, by name.
            let pairs = [("SECRET_KEY", "k"), (setting.name, "x\0y")];
            expect_improperly_configured(&pairs, setting.name);
            assert!(!setting.about.is_empty() && !setting.about.contains('\n'), "{}", setting.name);
        }
        // Anything else is not a setting of this store, whatever it holds.
        assert!(settings(&[("SECRET_KEY", "k"), ("SESSION_SAVE_EVERY_REQUEST", "x\0y")]).is_ok());
    }

    #[test]
    fn errors_never_carry_the_secret() {
        let secret = "super-secret-value-123";
        for pairs in [
            vec![("SECRET_KEY", secret), ("SECRET_KEY_FALLBACKS", secret)],
            vec![("SECRET_KEY", secret), ("SESSION_COOKIE_AGE", secret)],
        ] {
            let err = settings(&pairs).err().unwrap();
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }
}
