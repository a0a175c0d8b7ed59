//! Django's `SessionMiddleware`, over the imported store.
//!
//! In: the session cookie's value becomes the key of a `session-store` resource, which
//! loads lazily (on the first read) and tracks `accessed` and `modified` itself. Out:
//! [`finish`] is `process_response` of Django 5.2, line for line: delete the cookie when
//! the session ended up empty, `Vary: Cookie` when it was read, and save plus a fresh
//! cookie when it was modified (or on every request with `SESSION_SAVE_EVERY_REQUEST`),
//! except on 5xx responses. A save that finds the session deleted meanwhile answers 400,
//! as Django's `SessionInterrupted` does, instead of resurrecting it.

use crate::bindings::file_sessions::store::store::{Error as StoreError, SessionStore};
use crate::http::{Request, Response};
use crate::pages;
use crate::settings::Settings;
use cookie::time::{Duration, OffsetDateTime};
use cookie::{Cookie, SameSite};

/// What a view gets: the request's session and the settings.
pub struct Context {
    /// `request.session`.
    pub session: SessionStore,
    /// The web app's settings.
    pub settings: Settings,
    /// The session cookie held something no session key looks like (see [`classify`]).
    pub hostile_cookie: bool,
}

/// A view's answer: `Ok` is a response the session middleware completes; `Err` is a failed
/// request, which saves nothing (its session cookie is only deleted, when Django would).
pub type Outcome = Result<Response, Response>;

/// `SessionMiddleware` around `view`: builds the request's session from its cookie, runs
/// the view, and completes the response.
pub fn serve(request: &mut Request, view: impl FnOnce(&mut Request, &Context) -> Outcome) -> Response {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(message) => return pages::problem(&request.path, 500, &message),
    };
    let sent = session_cookie(request, &settings.cookie_name);
    let (key, hostile_cookie) = classify(sent.as_deref());
    let session = match SessionStore::new(key) {
        Ok(session) => session,
        Err(e) => return pages::problem(&request.path, 500, &store_failure(&e)),
    };
    let cx = Context { session, settings, hostile_cookie };
    let (response, may_save) = match view(request, &cx) {
        Ok(response) => (response, true),
        Err(response) => (response, false),
    };
    finish(&request.path, &cx, sent.is_some(), response, may_save)
}

/// The value of the session cookie, unquoted; the last one when the name repeats. Both as
/// Django's `parse_cookie` does.
fn session_cookie(request: &Request, name: &str) -> Option<String> {
    let header = request.cookie_header();
    let cookies = Cookie::split_parse(header.as_str()).filter_map(Result::ok);
    cookies.filter(|c| c.name() == name).last().map(|c| c.value_trimmed().to_owned())
}

/// The key to open the session with, and whether the value was hostile: anything but the
/// `[a-z0-9]` keys Django makes (at most 64 characters here; Django's are 32) is refused
/// with a 400 instead of being passed on. Empty and short values are just "no session", as
/// in Django.
fn classify(value: Option<&str>) -> (Option<&str>, bool) {
    match value {
        None | Some("") => (None, false),
        Some(v) if v.len() <= 64 && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) => (Some(v), false),
        Some(_) => (None, true),
    }
}

/// `SessionMiddleware.process_response`.
fn finish(path: &str, cx: &Context, cookie_sent: bool, mut response: Response, may_save: bool) -> Response {
    let session = &cx.session;
    let (accessed, modified, empty) = (session.accessed(), session.modified(), session.is_empty());
    if cookie_sent && empty {
        response.headers.push(("set-cookie".into(), deletion_cookie(&cx.settings)));
        response.vary("Cookie");
        return response;
    }
    if accessed {
        response.vary("Cookie");
    }
    if !(modified || cx.settings.save_every_request) || empty || !may_save {
        return response;
    }
    let max_age = match session.get_expire_at_browser_close() {
        Ok(true) => None,
        Ok(false) => match session.get_expiry_age(None, None) {
            Ok(age) => Some(age),
            Err(e) => return pages::problem(path, 500, &store_failure(&e)),
        },
        Err(e) => return pages::problem(path, 500, &store_failure(&e)),
    };
    // Skip session save for 5xx responses.
    if response.status >= 500 {
        return response;
    }
    match session.save(false) {
        Ok(()) => {}
        Err(StoreError::UpdateError(_)) => return pages::problem(path, 400, SESSION_INTERRUPTED),
        Err(e) => return pages::problem(path, 500, &store_failure(&e)),
    }
    let key = session.session_key().unwrap_or_default();
    response.headers.push(("set-cookie".into(), fresh_cookie(&cx.settings, key, max_age)));
    response
}

/// Django's `SessionInterrupted` message.
pub const SESSION_INTERRUPTED: &str = "The request's session was deleted before the request completed. The user may \
                                       have logged out in a concurrent request, for example.";

/// The session cookie Django sets: `Max-Age` and `Expires` unless the session ends when the
/// browser closes, `Path=/`, `HttpOnly`, `SameSite=Lax`, `Secure` when configured.
fn fresh_cookie(settings: &Settings, key: String, max_age: Option<i64>) -> String {
    let mut cookie = Cookie::build((settings.cookie_name.clone(), key))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.cookie_secure);
    if let Some(age) = max_age {
        // Django: `expires = http_date(time.time() + max_age)`.
        let expires = OffsetDateTime::now_utc().checked_add(Duration::seconds(age));
        cookie = cookie.max_age(Duration::seconds(age)).expires(expires.unwrap_or(OffsetDateTime::UNIX_EPOCH));
    }
    cookie.build().to_string()
}

/// Django's `delete_cookie`: empty, expired in 1970, `Max-Age=0`, `Path=/`, `SameSite=Lax`;
/// `Secure` only where browsers require it (`__Secure-`/`__Host-` names).
fn deletion_cookie(settings: &Settings) -> String {
    let name = settings.cookie_name.clone();
    let secure = name.starts_with("__Secure-") || name.starts_with("__Host-");
    let cookie = Cookie::build((name, ""))
        .path("/")
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(Duration::ZERO)
        .expires(OffsetDateTime::UNIX_EPOCH);
    cookie.build().to_string()
}

/// A store error as the text of a 500: its kind and detail.
pub fn store_failure(e: &StoreError) -> String {
    let (kind, detail) = match e {
        StoreError::CreateError(s) => ("create-error", s),
        StoreError::UpdateError(s) => ("update-error", s),
        StoreError::InvalidSessionKey(s) => ("invalid-session-key", s),
        StoreError::ImproperlyConfigured(s) => ("improperly-configured", s),
        StoreError::KeyError(s) => ("key-error", s),
        StoreError::InvalidValue(s) => ("invalid-value", s),
        StoreError::Io(s) => ("io", s),
    };
    format!("session store: {kind}: {detail}")
}
