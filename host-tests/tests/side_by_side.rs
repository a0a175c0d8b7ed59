//! The web app and a real Django app (examples/django-app on gunicorn, Django 5.2.19's own
//! file backend) on two loopback ports, one session directory, one secret: one cookie
//! (cookies belong to the host name, not the port), one session, one file, read and
//! written by both. Over HTTP, on both hosts of the web app.

mod common;

use common::web::{App, Client, Django, Host, Reply};
use serde_json::json;

on_both_hosts!(log_in_on_wasm_shop_on_django_log_out_on_django, log_in_on_django_shop_on_wasm_log_out_on_wasm);

/// A form post to Django the way its page sends it: the CSRF token from the page (and its
/// `csrftoken` cookie) with the fields.
fn django_post(client: &mut Client, page: &str, path: &str, form: &str) -> Reply {
    let reply = client.get(page);
    assert_eq!(reply.status, 200, "{page}: {}", reply.body);
    if let Some(cookie) = reply.cookie("csrftoken") {
        client.other_cookies = format!("csrftoken={}", cookie.value);
    }
    let marker = r#"name="csrfmiddlewaretoken" value=""#;
    let start = reply.body.find(marker).unwrap_or_else(|| panic!("no CSRF token on {page}")) + marker.len();
    let token = &reply.body[start..start + reply.body[start..].find('"').unwrap()];
    client.post_form(path, &format!("csrfmiddlewaretoken={token}&{form}"))
}

/// Who the page says is logged in.
fn user_on(reply: &Reply) -> Option<String> {
    let marker = r#"<strong id="user">"#;
    let start = reply.body.find(marker)? + marker.len();
    Some(reply.body[start..start + reply.body[start..].find('<')?].to_owned())
}

fn log_in_on_wasm_shop_on_django_log_out_on_django(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let django = Django::start(app.dir.path(), &[]);
    let mut wasm = app.client();
    assert_eq!(wasm.post_form("/login", "username=ada").status, 303);
    let key = wasm.cookie.clone().unwrap();

    // Django reads the session the wasm app wrote.
    let mut dj = wasm.to(django.addr);
    let home = dj.get("/");
    assert!(home.body.contains(r#"data-app="django""#), "{}", home.body);
    assert_eq!(user_on(&home).as_deref(), Some("ada"), "{}", home.body);
    assert_eq!(dj.cookie.as_deref(), Some(key.as_str()), "Django gave the session another key");

    // Django adds to the cart; the wasm app sees it, adds more; Django sees that.
    assert_eq!(django_post(&mut dj, "/cart", "/cart", "action=add&item=tea").status, 302);
    wasm.cookie = dj.cookie.clone();
    assert!(wasm.get("/cart").body.contains(r#"<span class="item">tea</span>"#));
    assert_eq!(wasm.post_form("/cart", "action=add&item=book").status, 303);
    let seen = dj.get("/api/session").json();
    assert_eq!(seen, json!({"username": "ada", "visits": 1, "cart": ["tea", "book"]}));
    assert!(wasm.get("/").body.contains(r#"<strong id="visits">2</strong>"#), "the counter is not shared");
    assert_eq!(app.files(), [format!("sessionid{key}")], "not one session file");

    // Logging out on Django logs out of both.
    dj.cookie = wasm.cookie.clone();
    let reply = django_post(&mut dj, "/logout", "/logout", "");
    assert_eq!(reply.status, 302);
    assert!(reply.cookie("sessionid").is_some_and(|c| c.deletes()), "{:?}", reply.headers);
    wasm.cookie = dj.cookie.clone();
    assert_eq!(wasm.cookie, None);
    assert_eq!(user_on(&wasm.get("/")), None);
    // ... also for a tab that still sends the old cookie.
    let mut stale = app.client();
    stale.cookie = Some(key.clone());
    assert_eq!(stale.get("/api/session").json(), json!({}));
    assert!(!app.files().contains(&format!("sessionid{key}")));
}

fn log_in_on_django_shop_on_wasm_log_out_on_wasm(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let django = Django::start(app.dir.path(), &[]);
    let mut dj = app.client().to(django.addr);
    assert_eq!(django_post(&mut dj, "/login", "/login", "username=grace").status, 302);
    let key = dj.cookie.clone().expect("Django set a session cookie");

    let mut wasm = dj.to(app.addr);
    let home = wasm.get("/");
    assert_eq!(user_on(&home).as_deref(), Some("grace"), "{}", home.body);
    assert_eq!(wasm.post_form("/cart", "action=add&item=pen").status, 303);
    dj.cookie = wasm.cookie.clone();
    let cart = dj.get("/cart");
    assert!(cart.body.contains(r#"<span class="item">pen</span>"#), "{}", cart.body);
    assert_eq!(app.files(), [format!("sessionid{key}")]);

    let reply = wasm.post_form("/logout", "");
    assert_eq!(reply.status, 303);
    dj.cookie = wasm.cookie.clone();
    assert_eq!(user_on(&dj.get("/")), None, "Django still sees a user");
    assert!(app.files().iter().all(|f| !f.contains(&key)), "{:?}", app.files());
}
