//! The floor of `bench-http`: the web app's counter page done in native Rust, on the HTTP
//! stack `sessions serve` runs on (hyper's HTTP/1.1 server on a two-worker tokio runtime),
//! with the guest crate linked natively. No wasm: what is left is the cost of HTTP, the
//! session's file I/O and its signing, so the gap to it is what the sandbox costs.
//!
//! `GET /` is the web app's counter flow (`SessionMiddleware` plus the home view): read the
//! session cookie, load the session, increment `visits`, read `cart` and `username` for
//! the page, save, and set Django's cookie (`Max-Age`, `Expires`, `Path=/`, `HttpOnly`,
//! `SameSite=Lax`). `GET /hello` answers `hello`.

use bytes::Bytes;
use cookie::time::{Duration, OffsetDateTime};
use cookie::{Cookie, SameSite};
use file_sessions::{FileStore, Session, Settings, run_sync};
use file_sessions_host::HostError;
use file_sessions_host::serve::Running;
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::Value;
use std::cell::OnceCell;
use std::path::Path;
use std::rc::Rc;
use tokio::net::TcpListener;
use wasmtime_wasi_http::io::TokioIo;

/// Serves the sessions in `dir`, signed with `secret`, on a free loopback port, on its own
/// thread until dropped.
pub fn spawn(dir: &Path, secret: &str) -> Result<Running, HostError> {
    let vars = [("SECRET_KEY", secret.to_owned()), ("SESSION_FILE_PATH", dir.to_string_lossy().into_owned())];
    let settings = Settings::from_vars(vars.map(|(k, v)| (k.to_owned(), v))).map_err(floor_error)?;
    // Fails now, not in a request, if the directory cannot be opened.
    FileStore::new(settings.clone()).map_err(floor_error)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| io("cannot listen", e))?;
    Running::spawn_with(listener, move |listener, stopped| serve(listener, settings, stopped))
}

thread_local! {
    /// One store per worker thread (a `FileStore` is not `Send`): settings read, directory
    /// opened and keys derived once, as a reused instance keeps them.
    static STORE: OnceCell<Rc<FileStore>> = const { OnceCell::new() };
}

/// Accepts connections until `stopped`; each is served on its own task.
async fn serve(listener: TcpListener, settings: Settings, stopped: tokio::sync::oneshot::Receiver<()>) {
    let mut stopped = std::pin::pin!(stopped);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let settings = settings.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let response = handle(&settings, &request);
                        async move { Ok::<_, std::convert::Infallible>(response) }
                    });
                    let mut http = hyper::server::conn::http1::Builder::new();
                    let _ = http.keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = &mut stopped => return,
        }
    }
}

type Response = hyper::Response<Full<Bytes>>;

fn handle(settings: &Settings, request: &hyper::Request<Incoming>) -> Response {
    match (request.method().as_str(), request.uri().path()) {
        ("GET", "/hello") => respond(200, "text/plain; charset=utf-8", "hello\n".into()),
        ("GET", "/") => STORE.with(|store| {
            let store = store.get_or_init(|| Rc::new(FileStore::new(settings.clone()).expect("checked at start")));
            counter(store, &settings.cookie_name, request)
                .unwrap_or_else(|e| respond(500, "text/plain", format!("{e}\n")))
        }),
        _ => respond(404, "text/plain", "not found\n".into()),
    }
}

/// The counter page: load, count, save, cookie.
fn counter(store: &Rc<FileStore>, name: &str, request: &hyper::Request<Incoming>) -> file_sessions::Result<Response> {
    let key = session_cookie(request, name);
    let mut session = Session::new(store.clone(), key);
    let visits = run_sync(session.get("visits", None))?.and_then(|v| v.as_i64()).unwrap_or(0).saturating_add(1);
    run_sync(session.set("visits", Value::from(visits)))?;
    let cart = match run_sync(session.get("cart", None))? {
        Some(Value::Array(items)) => items.len(),
        _ => 0,
    };
    let user = run_sync(session.get("username", None))?.and_then(|v| v.as_str().map(str::to_owned));
    let max_age = match run_sync(session.get_expire_at_browser_close())? {
        true => None,
        false => Some(run_sync(session.get_expiry_age(None, None))?),
    };
    run_sync(session.save(false))?;
    let mut cookie = Cookie::build((name.to_owned(), session.state.key().unwrap_or_default()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax);
    if let Some(age) = max_age {
        let expires = OffsetDateTime::now_utc().checked_add(Duration::seconds(age));
        cookie = cookie.max_age(Duration::seconds(age)).expires(expires.unwrap_or(OffsetDateTime::UNIX_EPOCH));
    }
    let mut response = respond(200, "text/html; charset=utf-8", page(visits, cart, user.as_deref()));
    let headers = response.headers_mut();
    headers.insert("vary", http::HeaderValue::from_static("Cookie"));
    headers.insert("set-cookie", cookie.build().to_string().parse().expect("a cookie is a header value"));
    Ok(response)
}

/// The session cookie's value: the last one of that name, as Django reads it.
fn session_cookie(request: &hyper::Request<Incoming>, name: &str) -> Option<String> {
    let headers = request.headers().get_all("cookie").into_iter().filter_map(|v| v.to_str().ok());
    let cookies = headers.flat_map(Cookie::split_parse).filter_map(Result::ok);
    let value = cookies.filter(|c| c.name() == name).last()?.value_trimmed().to_owned();
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())).then_some(value)
}

/// A page the size of the web app's (about 1.5 KB), with the same figures in it.
fn page(visits: i64, cart: usize, user: Option<&str>) -> String {
    let who = user.map_or_else(|| "Not logged in".to_owned(), |u| format!("Logged in as {}", escape(u)));
    let style = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}".repeat(10);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Home · native floor</title>\
         <style>{style}</style></head><body><header>Served by the native floor</header>\
         <nav><a href=\"/\">Home</a><a href=\"/cart\">Cart</a><span>{who}</span></nav><main><h1>Home</h1>\
         <p>Visits in this session: <strong id=\"visits\">{visits}</strong></p><p>Items in the cart: {cart}</p>\
         </main></body></html>\n"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn respond(status: u16, content_type: &'static str, body: String) -> Response {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    response.headers_mut().insert("content-type", http::HeaderValue::from_static(content_type));
    response
}

fn floor_error(e: file_sessions::Error) -> HostError {
    io("the native floor", std::io::Error::other(e.to_string()))
}

fn io(context: &str, source: std::io::Error) -> HostError {
    HostError::Io { context: context.into(), source }
}
