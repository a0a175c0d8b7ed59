//! The HTML: one layout (which app served the page, who is logged in, the navigation) and
//! the body of each page. Every text that comes from a request or a session is escaped.

use crate::http::Response;

/// The banner on every page: which app served it.
const SERVED_BY: &str = "the wasm app · wasi:http handler + file-sessions store";

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}\
header{border-radius:.5rem;padding:.6rem 1rem;background:#5b3cc4;color:#fff}header a{color:#fff}\
nav{margin:1rem 0;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}nav form{margin:0}\
.who{margin-left:auto;color:#555}main{border:1px solid #ddd;border-radius:.5rem;padding:1rem 1.2rem}\
button{font:inherit;padding:.25rem .8rem;border-radius:.3rem;border:1px solid #5b3cc4;background:#f4f0ff;cursor:pointer}\
input{font:inherit;padding:.25rem .5rem}ul.cart li{margin:.2rem 0}ul.cart form{display:inline;margin-left:.5rem}\
.error{color:#a00}.muted{color:#777;font-size:.9rem}";

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// What the layout shows around a page's body.
pub struct Frame<'a> {
    /// The user logged in, if any.
    pub username: Option<&'a str>,
    /// The other app's address (`PEER_URL`), for a link to the same session there.
    pub peer_url: Option<&'a str>,
}

/// A whole page: banner, navigation, then `body` under `title`.
pub fn layout(frame: &Frame, title: &str, body: &str) -> String {
    let who = match frame.username {
        Some(name) => format!(
            r#"<span class="who">Logged in as <strong id="user">{}</strong></span>
<form method="post" action="/logout"><button id="logout">Log out</button></form>"#,
            escape(name)
        ),
        None => r#"<span class="who" id="user-none">Not logged in</span><a href="/login">Log in</a>"#.into(),
    };
    let peer = match frame.peer_url {
        Some(url) => format!(r#"<a id="peer" href="{}">Open in Django &rarr;</a>"#, escape(url)),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · wasm app</title><style>{STYLE}</style></head>
<body><header id="served-by" data-app="wasm">Served by {SERVED_BY}</header>
<nav><a href="/">Home</a><a href="/cart">Cart</a>{peer}{who}</nav>
<main><h1>{title}</h1>
{body}
</main></body></html>
"#,
        title = escape(title),
    )
}

/// The home page: the visit counter and a summary of the session.
pub fn home(visits: i64, cart_len: usize) -> String {
    format!(
        r#"<p>You have visited the home page of this session <strong id="visits">{visits}</strong> time(s) (counted by both apps).</p>
<p>Your cart holds <a href="/cart"><span id="cart-count">{cart_len}</span> item(s)</a>.</p>
<p class="muted">The session is a file written by the file-sessions component, byte-compatible with Django's file backend:
a Django app with the same <code>SECRET_KEY</code> and directory reads and writes it too.</p>"#
    )
}

/// The login form (any user name).
pub fn login(error: Option<&str>) -> String {
    let error = error.map(|e| format!(r#"<p class="error">{}</p>"#, escape(e))).unwrap_or_default();
    format!(
        r#"{error}<form method="post" action="/login">
<label>User name <input name="username" id="username" maxlength="150" required autofocus></label>
<button id="login">Log in</button></form>
<p class="muted">Any name will do: it is kept in the session under <code>username</code>, where a Django view reads it.</p>"#
    )
}

/// The cart: its items with a remove button each, and a form to add one.
pub fn cart(items: &[String]) -> String {
    let list: String = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            format!(
                r#"<li><span class="item">{}</span><form method="post" action="/cart"><input type="hidden" name="action" value="remove"><input type="hidden" name="index" value="{i}"><button>Remove</button></form></li>"#,
                escape(item)
            )
        })
        .collect();
    let list = if items.is_empty() { r#"<p id="cart-empty">The cart is empty.</p>"#.to_string() } else { list };
    format!(
        r#"<ul class="cart" id="cart">{list}</ul>
<form method="post" action="/cart"><input type="hidden" name="action" value="add">
<label>Item <input name="item" id="item" maxlength="100" required></label> <button id="add">Add to cart</button></form>"#
    )
}

/// The cart page for a visitor who is not logged in.
pub fn cart_login_first() -> String {
    r#"<p id="login-first">Please <a href="/login">log in</a> to use the cart.</p>"#.into()
}

/// The logout confirmation (the navigation has the same button).
pub fn logout() -> String {
    r#"<form method="post" action="/logout"><button id="logout-confirm">Log out</button></form>"#.into()
}

/// A failed request: JSON `{"error": ...}` under `/api/`, a small page elsewhere.
pub fn problem(path: &str, status: u16, message: &str) -> Response {
    if path.starts_with("/api/") {
        return Response::json_error(status, message);
    }
    let title = format!("{status} {}", reason(status));
    let body =
        format!(r#"<p class="error" id="problem">{}</p><p><a href="/">Back to the start</a></p>"#, escape(message));
    Response::html(status, layout(&Frame { username: None, peer_url: None }, &title, &body))
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        _ => "Internal Server Error",
    }
}
