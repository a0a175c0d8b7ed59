//! The routes: the pages a person uses and the JSON API scripts and tests use. The session
//! keys are the ones the Django app reads and writes: `username`, `cart`, `visits`.

use crate::bindings::file_sessions::store::store::Error as StoreError;
use crate::http::{BodyError, Request, Response};
use crate::middleware::{Context, Outcome, store_failure};
use crate::pages::{self, Frame};
use serde_json::Value;

const USERNAME: &str = "username";
const CART: &str = "cart";
const VISITS: &str = "visits";

/// Form posts are small.
const FORM_LIMIT: usize = 64 * 1024;
/// The store refuses sessions over 1 MiB of JSON, so a bigger update could never be saved.
const JSON_LIMIT: usize = 1 << 20;

/// The answer to a session cookie no session key looks like.
const HOSTILE_COOKIE: &str = "The session cookie is malformed (a session key is made of a-z and 0-9); it has been \
                              cleared, so the next request starts a new session.";

/// A request that failed: its status, a message for the person or script, and for a 405
/// the methods the path allows.
struct Problem {
    status: u16,
    message: String,
    allow: Option<&'static str>,
}

impl Problem {
    fn new(status: u16, message: impl Into<String>) -> Problem {
        Problem { status, message: message.into(), allow: None }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        Problem::new(500, store_failure(&e))
    }
}

/// Answers `request`; a failure becomes an error page (JSON under `/api/`).
pub fn route(request: &mut Request, cx: &Context) -> Outcome {
    let outcome = if cx.hostile_cookie { Err(Problem::new(400, HOSTILE_COOKIE)) } else { dispatch(request, cx) };
    outcome.map_err(|p| {
        let response = pages::problem(&request.path, p.status, &p.message);
        match p.allow {
            Some(allow) => response.with_header("allow", allow),
            None => response,
        }
    })
}

fn dispatch(request: &mut Request, cx: &Context) -> Result<Response, Problem> {
    if request.method == "POST" {
        same_origin(request)?;
    }
    match (request.path.as_str(), request.method.as_str()) {
        ("/", "GET") => home(cx),
        ("/login", "GET") => page(cx, "Log in", &pages::login(None)),
        ("/login", "POST") => login(request, cx),
        ("/cart", "GET") => cart_page(cx),
        ("/cart", "POST") => cart_change(request, cx),
        ("/logout", "GET") => page(cx, "Log out", &pages::logout()),
        ("/logout", "POST") => {
            cx.session.flush()?;
            Ok(Response::see_other("/"))
        }
        ("/api/session", "GET") => Ok(Response::json(200, session_json(cx)?)),
        ("/api/session", "POST") => api_update(request, cx),
        ("/api/logout", "POST") => {
            cx.session.flush()?;
            Ok(Response::json(200, "{}".into()))
        }
        (path, method) => Err(match allowed(path) {
            Some(allow) => {
                Problem { allow: Some(allow), ..Problem::new(405, format!("{method} is not allowed here.")) }
            }
            None => Problem::new(404, format!("Nothing at {path}.")),
        }),
    }
}

/// The methods each path answers.
fn allowed(path: &str) -> Option<&'static str> {
    match path {
        "/" | "/hello" => Some("GET"),
        "/login" | "/cart" | "/logout" | "/api/session" => Some("GET, POST"),
        "/api/logout" => Some("POST"),
        _ => None,
    }
}

/// Refuses a POST sent by a page of another origin (the browser says so in `Origin`). The
/// session cookie is `SameSite=Lax`, which stops other sites but not another port of the
/// same host, such as the Django app beside this one.
fn same_origin(request: &Request) -> Result<(), Problem> {
    let Some(origin) = request.header("origin") else { return Ok(()) };
    let ours = [format!("http://{}", request.authority), format!("https://{}", request.authority)];
    if ours.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    Err(Problem::new(403, format!("A form or script from {origin} may not post here.")))
}

/// A page with the layout.
fn page(cx: &Context, title: &str, body: &str) -> Result<Response, Problem> {
    let user = username(cx)?;
    let frame = Frame { username: user.as_deref(), peer_url: cx.settings.peer_url.as_deref() };
    Ok(Response::html(200, pages::layout(&frame, title, body)))
}

/// `GET /`: counts the visit.
fn home(cx: &Context) -> Result<Response, Problem> {
    let visits = get(cx, VISITS)?.and_then(|v| v.as_i64()).unwrap_or(0).saturating_add(1);
    set(cx, VISITS, &Value::from(visits))?;
    page(cx, "Home", &pages::home(visits, cart(cx)?.len()))
}

/// `POST /login`: as Django's `login()`, a new key for a new login (no session fixation),
/// a flushed session for another user.
fn login(request: &mut Request, cx: &Context) -> Result<Response, Problem> {
    let form = form(request)?;
    let name = field(&form, "username").trim();
    check_text(name, "The user name", 150)?;
    match username(cx)? {
        Some(current) if current != name => cx.session.flush()?,
        Some(_) => {}
        None => cx.session.cycle_key()?,
    }
    set(cx, USERNAME, &Value::from(name))?;
    Ok(Response::see_other("/"))
}

fn cart_page(cx: &Context) -> Result<Response, Problem> {
    match username(cx)? {
        Some(_) => page(cx, "Cart", &pages::cart(&cart(cx)?)),
        None => page(cx, "Cart", &pages::cart_login_first()),
    }
}

/// `POST /cart`: `action=add&item=...` or `action=remove&index=N`, for a logged-in user.
/// (The session is read before the body, as a `login_required` view does.)
fn cart_change(request: &mut Request, cx: &Context) -> Result<Response, Problem> {
    if username(cx)?.is_none() {
        return Ok(Response::see_other("/login"));
    }
    let form = form(request)?;
    let mut items = cart(cx)?;
    match field(&form, "action") {
        "add" => {
            let item = field(&form, "item").trim();
            check_text(item, "An item", 100)?;
            items.push(item.to_owned());
        }
        "remove" => {
            let index = field(&form, "index").parse::<usize>().ok().filter(|&i| i < items.len());
            let index = index.ok_or_else(|| Problem::new(400, "There is no such item in the cart."))?;
            items.remove(index);
        }
        _ => return Err(Problem::new(400, "The action must be add or remove.")),
    }
    set(cx, CART, &Value::from(items))?;
    Ok(Response::see_other("/cart"))
}

/// `POST /api/session`: a JSON object merged into the session (`session.update`).
fn api_update(request: &mut Request, cx: &Context) -> Result<Response, Problem> {
    let body = body(request, JSON_LIMIT)?;
    let text = std::str::from_utf8(&body).map_err(|_| Problem::new(400, "The body is not UTF-8 text."))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| Problem::new(400, format!("The body is not JSON: {e}.")))?;
    let Some(object) = value.as_object() else {
        return Err(Problem::new(400, "The body must be a JSON object of the keys to set."));
    };
    if let Some(key) = object.keys().find(|k| k.starts_with('_')) {
        return Err(Problem::new(400, format!("{key:?}: keys starting with _ belong to the session framework.")));
    }
    cx.session.update(text).map_err(|e| match e {
        StoreError::InvalidValue(message) => Problem::new(400, message),
        e => e.into(),
    })?;
    Ok(Response::json(200, session_json(cx)?))
}

/// The session's data as a JSON object, each value exactly as the store holds it.
fn session_json(cx: &Context) -> Result<String, Problem> {
    let mut out = String::from("{");
    for (i, (key, value)) in cx.session.items()?.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key.as_str()).to_string());
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
    Ok(out)
}

fn body(request: &mut Request, limit: usize) -> Result<Vec<u8>, Problem> {
    request.body(limit).map_err(|e| match e {
        BodyError::TooLarge => Problem::new(413, format!("The body is larger than {limit} bytes.")),
        BodyError::Broken => Problem::new(400, "The body could not be read."),
    })
}

/// An `application/x-www-form-urlencoded` body.
fn form(request: &mut Request) -> Result<Vec<(String, String)>, Problem> {
    Ok(form_urlencoded::parse(&body(request, FORM_LIMIT)?).into_owned().collect())
}

/// A form field's value ("" when missing).
fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// Text a person typed: not empty, at most `max` characters, no control characters.
fn check_text(text: &str, what: &str, max: usize) -> Result<(), Problem> {
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Problem::new(400, format!("{what} must be 1 to {max} characters, without control characters.")));
    }
    Ok(())
}

/// `session.get(key)`, parsed; a value that is not JSON reads as missing.
fn get(cx: &Context, key: &str) -> Result<Option<Value>, Problem> {
    Ok(cx.session.get(key, None)?.and_then(|text| serde_json::from_str(&text).ok()))
}

/// `session[key] = value`.
fn set(cx: &Context, key: &str, value: &Value) -> Result<(), Problem> {
    Ok(cx.session.set(key, &value.to_string())?)
}

fn username(cx: &Context) -> Result<Option<String>, Problem> {
    Ok(get(cx, USERNAME)?.and_then(|v| v.as_str().map(str::to_owned)))
}

/// The cart as text items (anything but a list reads as empty; other values as JSON text).
fn cart(cx: &Context) -> Result<Vec<String>, Problem> {
    let Some(Value::Array(items)) = get(cx, CART)? else { return Ok(Vec::new()) };
    Ok(items.into_iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect())
}
