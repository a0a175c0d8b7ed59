//! The web app (examples/web-app composed with the store) over HTTP, on both hosts:
//! `sessions serve` and the real `wasmtime serve` CLI (skipped, with the reason printed, when
//! the CLI is not installed; .ci/run installs it). Every route, every cookie attribute Django's
//! `SessionMiddleware` sets, and every error: each test runs once per host, on its own
//! server and session directory, through a real HTTP client (hyper).

mod common;

use common::web::{App, Host, Reply, Request, exchange, send};
use common::{now_unix, snapshot};
use serde_json::json;

on_both_hosts!(
    first_visit_sets_djangos_session_cookie,
    the_counter_counts_on_one_session,
    reading_a_session_saves_nothing,
    save_every_request_saves_and_refreshes_the_cookie,
    secure_cookie_when_configured,
    no_max_age_when_the_session_ends_with_the_browser,
    cookie_age_and_name_follow_the_settings,
    malformed_settings_are_a_500_naming_them,
    login_cycles_the_key,
    logging_in_as_another_user_flushes_the_session,
    logging_in_again_keeps_the_key,
    bad_logins_are_refused_and_change_nothing,
    the_cart_needs_a_login,
    the_cart_adds_and_removes,
    bad_cart_changes_are_refused_and_change_nothing,
    names_are_escaped,
    logout_deletes_the_session_and_the_cookie,
    the_api_reads_and_updates,
    a_large_session_comes_back_whole,
    api_logout_flushes,
    bad_bodies_get_a_4xx_and_change_nothing,
    hostile_cookies_get_a_400_and_are_cleared,
    empty_and_short_cookies_are_no_session,
    the_last_session_cookie_counts,
    unknown_paths_and_methods,
    cross_origin_posts_are_refused,
    hello_touches_no_session,
    a_session_deleted_mid_request_is_not_resurrected,
    reused_instances_keep_nothing_of_a_session,
    every_request_gets_a_fresh_instance_by_default,
);

/// A key as the store makes them: 32 characters of `[a-z0-9]`.
fn is_key(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `Thu, 01 Jan 1970 00:00:00 GMT` in Unix seconds.
fn http_date(text: &str) -> i64 {
    let parts: Vec<&str> = text.split([' ', ':']).collect();
    assert_eq!((parts.len(), parts[7]), (8, "GMT"), "not an HTTP date: {text}");
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == parts[2]).unwrap_or_else(|| panic!("month in {text}")) as i64 + 1;
    let num = |i: usize| parts[i].parse::<i64>().unwrap_or_else(|_| panic!("number in {text}"));
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m, d) = if month <= 2 { (num(3) - 1, month + 9, num(1)) } else { (num(3), month - 3, num(1)) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + num(4) * 3600 + num(5) * 60 + num(6)
}

/// A session cookie as Django sets one for a session saved now with `age` seconds to live.
fn assert_fresh_cookie(reply: &Reply, name: &str, age: i64, (before, after): (i64, i64)) -> String {
    let cookie = reply.cookie(name).unwrap_or_else(|| panic!("no {name} cookie: {:?}", reply.headers));
    assert!(is_key(&cookie.value), "{cookie:?}");
    assert!(cookie.has("httponly"), "{cookie:?}");
    assert_eq!(cookie.attribute("samesite"), Some(Some("Lax")), "{cookie:?}");
    assert_eq!(cookie.attribute("path"), Some(Some("/")), "{cookie:?}");
    assert_eq!(cookie.attribute("max-age"), Some(Some(age.to_string().as_str())), "{cookie:?}");
    let expires = http_date(cookie.attribute("expires").flatten().expect("an Expires date"));
    assert!((before + age..=after + age).contains(&expires), "Expires {expires} not now + {age}: {cookie:?}");
    assert!(!cookie.has("domain"), "{cookie:?}");
    cookie.value
}

/// The cookie Django's `delete_cookie` sets.
fn assert_deletion_cookie(reply: &Reply, name: &str) {
    let cookie = reply.cookie(name).unwrap_or_else(|| panic!("no deletion of {name}: {:?}", reply.headers));
    assert_eq!(cookie.value, "", "{cookie:?}");
    assert_eq!(cookie.attribute("max-age"), Some(Some("0")), "{cookie:?}");
    assert_eq!(cookie.attribute("expires"), Some(Some("Thu, 01 Jan 1970 00:00:00 GMT")), "{cookie:?}");
    assert_eq!(cookie.attribute("path"), Some(Some("/")), "{cookie:?}");
    assert_eq!(cookie.attribute("samesite"), Some(Some("Lax")), "{cookie:?}");
    assert!(!cookie.has("secure"), "{cookie:?}");
    assert_eq!(reply.header("vary"), Some("Cookie"));
}

fn assert_no_cookie(reply: &Reply) {
    assert!(reply.set_cookies().is_empty(), "unexpected Set-Cookie: {:?}", reply.headers);
}

fn first_visit_sets_djangos_session_cookie(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let before = now_unix();
    let reply = app.client().get("/");
    let after = now_unix();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(reply.body.contains(r#"data-app="wasm""#), "the page does not say which app served it");
    assert_eq!(reply.header("vary"), Some("Cookie"));
    let key = assert_fresh_cookie(&reply, "sessionid", 1_209_600, (before, after));
    assert!(!reply.cookie("sessionid").unwrap().has("secure"));
    assert_eq!(app.files(), [format!("sessionid{key}")]);
    assert_eq!(app.stored(&key), json!({"visits": 1}));
}

fn the_counter_counts_on_one_session(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    let mut keys = Vec::new();
    for n in 1..=3 {
        let reply = client.get("/");
        assert!(reply.body.contains(&format!(r#"<strong id="visits">{n}</strong>"#)), "visit {n}: {}", reply.body);
        keys.push(client.cookie.clone().unwrap());
    }
    assert!(keys.iter().all(|k| *k == keys[0]), "the key changed between visits: {keys:?}");
    assert_eq!(app.stored(&keys[0]), json!({"visits": 3}));
    assert_eq!(app.files().len(), 1);
}

fn reading_a_session_saves_nothing(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    // No session: read lazily, nothing saved, no cookie, but `Vary: Cookie` (it was read).
    let reply = app.client().get("/api/session");
    assert_eq!((reply.status, reply.json()), (200, json!({})));
    assert_no_cookie(&reply);
    assert_eq!(reply.header("vary"), Some("Cookie"));
    assert!(app.files().is_empty(), "{:?}", app.files());
    // A session read but not modified: not saved again, no new cookie.
    let mut client = app.client();
    client.post_json("/api/session", r#"{"theme": "dark"}"#);
    let before = snapshot(app.dir.path());
    let reply = client.get("/api/session");
    assert_eq!(reply.json(), json!({"theme": "dark"}));
    assert_no_cookie(&reply);
    assert_eq!(snapshot(app.dir.path()), before, "reading the session rewrote its file");
}

fn save_every_request_saves_and_refreshes_the_cookie(host: Host) {
    let Some(app) = App::start(host, &[("SESSION_SAVE_EVERY_REQUEST", "true")]) else { return };
    // An empty session is still never saved.
    let reply = app.client().get("/api/session");
    assert_no_cookie(&reply);
    assert!(app.files().is_empty());
    let mut client = app.client();
    client.post_json("/api/session", r#"{"theme": "dark"}"#);
    let key = client.cookie.clone().unwrap();
    let inode = || std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(app.session_file(&key)).unwrap());
    let written = inode();
    let before = now_unix();
    let reply = client.get("/api/session");
    assert_eq!(reply.json(), json!({"theme": "dark"}));
    assert_eq!(assert_fresh_cookie(&reply, "sessionid", 1_209_600, (before, now_unix())), key);
    // Saved although unmodified: a save publishes a new file (temp + rename).
    assert_ne!(inode(), written, "the session was not saved");
    assert_eq!(app.stored(&key), json!({"theme": "dark"}));
}

fn secure_cookie_when_configured(host: Host) {
    let Some(app) = App::start(host, &[("SESSION_COOKIE_SECURE", "true")]) else { return };
    let mut client = app.client();
    let reply = client.get("/");
    assert!(reply.cookie("sessionid").unwrap().has("secure"), "{:?}", reply.headers);
    // Django's delete_cookie sets Secure only for __Secure-/__Host- names.
    assert_deletion_cookie(&client.post_form("/logout", ""), "sessionid");
}

fn no_max_age_when_the_session_ends_with_the_browser(host: Host) {
    let Some(app) = App::start(host, &[("SESSION_EXPIRE_AT_BROWSER_CLOSE", "true")]) else { return };
    let reply = app.client().get("/");
    let cookie = reply.cookie("sessionid").unwrap();
    assert!(is_key(&cookie.value));
    assert!(!cookie.has("max-age") && !cookie.has("expires"), "{cookie:?}");
    assert!(cookie.has("httponly") && cookie.attribute("path") == Some(Some("/")), "{cookie:?}");
}

fn cookie_age_and_name_follow_the_settings(host: Host) {
    let settings = [("SESSION_COOKIE_AGE", "600"), ("SESSION_COOKIE_NAME", "shopid")];
    let Some(app) = App::start(host, &settings) else { return };
    let mut client = app.client().named("shopid");
    let before = now_unix();
    let reply = client.get("/");
    let key = assert_fresh_cookie(&reply, "shopid", 600, (before, now_unix()));
    assert!(reply.cookie("sessionid").is_none());
    assert_eq!(app.files(), [format!("shopid{key}")]);
    // The other name is not this app's session cookie.
    let reply = app.client().send(Request::get("/api/session").header("cookie", &format!("sessionid={key}")));
    assert_eq!(reply.json(), json!({}));
    assert!(client.get("/").body.contains(r#"<strong id="visits">2</strong>"#));
}

fn malformed_settings_are_a_500_naming_them(host: Host) {
    for (name, value, route) in [
        ("SESSION_COOKIE_SECURE", "maybe", "/"),
        ("SESSION_SAVE_EVERY_REQUEST", "often", "/api/session"),
        ("SESSION_COOKIE_AGE", "soon", "/api/session"),
    ] {
        let Some(app) = App::start(host, &[(name, value)]) else { return };
        let reply = app.client().get(route);
        assert_eq!(reply.status, 500, "{name}={value}: {}", reply.body);
        assert!(reply.body.contains(name), "{name}={value}: the message does not name it: {}", reply.body);
        assert!(app.files().is_empty());
    }
}

fn login_cycles_the_key(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.get("/");
    let before_login = client.cookie.clone().unwrap();
    let reply = client.post_form("/login", "username=alice");
    assert_eq!((reply.status, reply.header("location")), (303, Some("/")));
    let after_login = client.cookie.clone().unwrap();
    assert_ne!(before_login, after_login, "the key did not change at login (session fixation)");
    assert_eq!(app.files(), [format!("sessionid{after_login}")], "the old session file is still there");
    assert_eq!(app.stored(&after_login), json!({"visits": 1, "username": "alice"}));
    let page = client.get("/");
    assert!(page.body.contains(r#"Logged in as <strong id="user">alice</strong>"#), "{}", page.body);
}

fn logging_in_as_another_user_flushes_the_session(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    client.post_form("/cart", "action=add&item=book");
    let alice = client.cookie.clone().unwrap();
    client.post_form("/login", "username=bob");
    let bob = client.cookie.clone().unwrap();
    assert_ne!(alice, bob);
    assert_eq!(app.stored(&bob), json!({"username": "bob"}), "alice's cart went to bob");
    assert_eq!(app.files(), [format!("sessionid{bob}")]);
}

fn logging_in_again_keeps_the_key(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    let first = client.cookie.clone().unwrap();
    client.post_form("/login", "username=alice");
    // As django.contrib.auth.login(): the same user keeps the session.
    assert_eq!(client.cookie.clone().unwrap(), first);
    assert_eq!(app.stored(&first), json!({"username": "alice"}));
}

fn bad_logins_are_refused_and_change_nothing(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    let key = client.cookie.clone().unwrap();
    let before = snapshot(app.dir.path());
    let long = format!("username={}", "x".repeat(151));
    for form in ["username=", "username=%20%20", "", long.as_str(), "username=a%07b", "username=a%0Ab"] {
        let reply = client.post_form("/login", form);
        assert_eq!(reply.status, 400, "{form:?}: {}", reply.body);
        assert!(reply.body.contains("The user name must be 1 to 150 characters"), "{form:?}: {}", reply.body);
        assert_no_cookie(&reply);
    }
    assert_eq!(snapshot(app.dir.path()), before);
    assert_eq!(client.cookie.as_deref(), Some(key.as_str()));
    assert_eq!(client.post_form("/login", &format!("username={}", "é".repeat(150))).status, 303);
}

fn the_cart_needs_a_login(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    let page = client.get("/cart");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="login-first""#), "{}", page.body);
    let reply = client.post_form("/cart", "action=add&item=book");
    assert_eq!((reply.status, reply.header("location")), (303, Some("/login")));
    assert_no_cookie(&reply);
    assert!(app.files().is_empty());
}

fn the_cart_adds_and_removes(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    for item in ["book", "pen+%3Cb%3E", "tea"] {
        let reply = client.post_form("/cart", &format!("action=add&item={item}"));
        assert_eq!((reply.status, reply.header("location")), (303, Some("/cart")), "{}", reply.body);
    }
    let key = client.cookie.clone().unwrap();
    assert_eq!(app.stored(&key)["cart"], json!(["book", "pen <b>", "tea"]));
    let page = client.get("/cart");
    assert!(page.body.contains(r#"<span class="item">pen &lt;b&gt;</span>"#), "{}", page.body);
    assert_eq!(client.post_form("/cart", "action=remove&index=1").status, 303);
    assert_eq!(app.stored(&key)["cart"], json!(["book", "tea"]));
    assert!(client.get("/").body.contains(r#"<span id="cart-count">2</span>"#));
}

fn bad_cart_changes_are_refused_and_change_nothing(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    client.post_form("/cart", "action=add&item=book");
    let before = snapshot(app.dir.path());
    let long = format!("action=add&item={}", "x".repeat(101));
    for (form, message) in [
        ("action=fly", "The action must be add or remove"),
        ("", "The action must be add or remove"),
        ("action=remove&index=1", "There is no such item"),
        ("action=remove&index=-1", "There is no such item"),
        ("action=remove&index=x", "There is no such item"),
        ("action=add&item=", "An item must be 1 to 100 characters"),
        ("action=add&item=%00", "An item must be 1 to 100 characters"),
        (long.as_str(), "An item must be 1 to 100 characters"),
    ] {
        let reply = client.post_form("/cart", form);
        assert_eq!(reply.status, 400, "{form:?}: {}", reply.body);
        assert!(reply.body.contains(message), "{form:?}: {}", reply.body);
        assert_no_cookie(&reply);
    }
    assert_eq!(snapshot(app.dir.path()), before);
}

fn names_are_escaped(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E%26");
    let page = client.get("/");
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"), "{}", page.body);
    assert_eq!(app.stored(client.cookie.as_ref().unwrap())["username"], json!(r#"<script>alert("x")</script>&"#));
}

fn logout_deletes_the_session_and_the_cookie(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    let key = client.cookie.clone().unwrap();
    let page = client.get("/logout");
    assert!(page.status == 200 && page.body.contains(r#"action="/logout""#), "{}", page.body);
    let reply = client.post_form("/logout", "");
    assert_eq!((reply.status, reply.header("location")), (303, Some("/")));
    assert_deletion_cookie(&reply, "sessionid");
    assert!(app.files().is_empty(), "{:?}", app.files());
    assert!(client.get("/api/session").json() == json!({}));
    // The old key again (another tab): no session, and the cookie is deleted again.
    let reply = send(app.addr, Request::get("/api/session").header("cookie", &format!("sessionid={key}")));
    assert_eq!(reply.json(), json!({}));
    assert_deletion_cookie(&reply, "sessionid");
    assert!(app.files().is_empty());
}

fn the_api_reads_and_updates(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    assert_eq!(client.get("/api/session").json(), json!({}));
    let reply = client.post_json("/api/session", r#"{"theme": "dark", "n": [1, 2]}"#);
    assert_eq!((reply.status, reply.header("content-type")), (200, Some("application/json")));
    assert_eq!(reply.json(), json!({"theme": "dark", "n": [1, 2]}));
    let key = assert_fresh_cookie(&reply, "sessionid", 1_209_600, (now_unix() - 60, now_unix()));
    let reply = client.post_json("/api/session", r#"{"n": 3, "big": 123456789012345678901234567890}"#);
    assert_eq!(reply.body, r#"{"theme":"dark","n":3,"big":123456789012345678901234567890}"#);
    assert_eq!(client.get("/api/session").body, reply.body);
    assert_eq!(client.cookie.as_deref(), Some(key.as_str()), "an update changed the key");
    // What Django reads from the file.
    assert_eq!(app.stored(&key)["theme"], json!("dark"));
}

/// A response far larger than what the host buffers: the handler is still writing its body
/// after the head has gone out (on `sessions serve`, it goes on in a task of its own), and
/// every byte arrives.
fn a_large_session_comes_back_whole(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    let items: Vec<String> = (0..40_000).map(|i| format!("item {i:05}")).collect();
    let data = json!({ "items": items });
    let reply = client.post_json("/api/session", &data.to_string());
    assert_eq!(reply.status, 200, "{}", &reply.body[..reply.body.len().min(200)]);
    assert!(reply.body.len() > 500_000, "{}", reply.body.len());
    assert_eq!(reply.json(), data);
    assert_eq!(client.get("/api/session").json(), data);
}

fn api_logout_flushes(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_json("/api/session", r#"{"a": 1}"#);
    let reply = client.send(Request::post("/api/logout", "application/json", ""));
    assert_eq!((reply.status, reply.json()), (200, json!({})));
    assert_deletion_cookie(&reply, "sessionid");
    assert!(app.files().is_empty());
}

/// A body sent in chunks with no `Content-Length`.
fn chunked(chunks: Vec<Vec<u8>>) -> http_body_util::StreamBody<impl futures::Stream<Item = ChunkResult> + Send> {
    let frames = chunks.into_iter().map(|c| Ok(hyper::body::Frame::data(bytes::Bytes::from(c))));
    http_body_util::StreamBody::new(futures::stream::iter(frames))
}

type ChunkResult = Result<hyper::body::Frame<bytes::Bytes>, std::convert::Infallible>;

fn bad_bodies_get_a_4xx_and_change_nothing(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_json("/api/session", r#"{"a": 1}"#);
    let key = client.cookie.clone().unwrap();
    let before = snapshot(app.dir.path());
    let deep = format!(r#"{{"a": {}{}}}"#, "[".repeat(200), "]".repeat(200));
    let oversized = format!(r#"{{"a": "{}"}}"#, "x".repeat(1 << 20));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("not JSON", b"{oops".to_vec(), 400, "The body is not JSON"),
        ("empty", Vec::new(), 400, "The body is not JSON"),
        ("an array", b"[1, 2]".to_vec(), 400, "must be a JSON object"),
        ("a string", br#""x""#.to_vec(), 400, "must be a JSON object"),
        ("a reserved key", br#"{"_session_expiry": 0}"#.to_vec(), 400, "belong to the session framework"),
        ("not UTF-8", vec![b'{', 0xff, 0xfe, b'}'], 400, "not UTF-8"),
        ("too deep", deep.into_bytes(), 400, "The body is not JSON"),
        ("over 1 MiB", oversized.clone().into_bytes(), 413, "larger than 1048576 bytes"),
    ];
    for (what, body, status, message) in cases {
        let reply = client.send(Request::post("/api/session", "application/json", body));
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        let error = reply.json()["error"].as_str().unwrap_or_else(|| panic!("{what}: {}", reply.body)).to_owned();
        assert!(error.contains(message), "{what}: {error}");
        assert_no_cookie(&reply);
    }
    // Over the limit without a Content-Length: refused once the limit is passed.
    let request = hyper::Request::post("/api/session")
        .header("host", app.addr.to_string())
        .header("cookie", format!("sessionid={key}"))
        .body(chunked(oversized.into_bytes().chunks(64 * 1024).map(<[u8]>::to_vec).collect()))
        .unwrap();
    let reply = exchange(app.addr, request);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(snapshot(app.dir.path()), before, "a refused body changed the session");
    assert_eq!(client.get("/api/session").json(), json!({"a": 1}));
}

fn hostile_cookies_get_a_400_and_are_cleared(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let long = "a".repeat(65);
    for value in ["../../etc/passwd", "ABCDEFGHIJKLMNOP", long.as_str(), "abc%2F..%2Fdef", "\"abc/def\"", "abc\\def12"]
    {
        let cookie = format!("sessionid={value}");
        let reply = send(app.addr, Request::get("/api/session").header("cookie", &cookie));
        assert_eq!(reply.status, 400, "{value:?}: {}", reply.body);
        assert!(reply.json()["error"].as_str().unwrap().contains("The session cookie is malformed"), "{}", reply.body);
        assert_deletion_cookie(&reply, "sessionid");
        let page = send(app.addr, Request::get("/").header("cookie", &cookie));
        assert_eq!(page.status, 400, "{value:?}");
        assert!(page.body.contains("The session cookie is malformed"), "{}", page.body);
        let post = Request::post("/api/session", "application/json", r#"{"a": 1}"#).header("cookie", &cookie);
        assert_eq!(send(app.addr, post).status, 400, "{value:?}");
    }
    assert!(app.files().is_empty(), "{:?}", app.files());
}

fn empty_and_short_cookies_are_no_session(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    // As in Django: no key (quotes are taken off, as its parse_cookie does), an empty
    // session, and the cookie sent is deleted.
    for cookie in ["sessionid=", "sessionid=abc", "sessionid=\"\"", "sessionid=\"abcdefghij\""] {
        let reply = send(app.addr, Request::get("/api/session").header("cookie", cookie));
        assert_eq!((reply.status, reply.json()), (200, json!({})), "{cookie}");
        assert_deletion_cookie(&reply, "sessionid");
    }
    // Other cookies are none of the session's business.
    let reply = send(app.addr, Request::get("/api/session").header("cookie", "csrftoken=../..; theme=dark"));
    assert_eq!(reply.status, 200);
    assert_no_cookie(&reply);
    assert!(app.files().is_empty());
}

fn the_last_session_cookie_counts(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_json("/api/session", r#"{"a": 1}"#);
    let key = client.cookie.clone().unwrap();
    // Django's parse_cookie keeps the last of repeated names.
    let cookie = format!("sessionid=0000000000000000000000000000000a; other=1; sessionid={key}");
    let reply = send(app.addr, Request::get("/api/session").header("cookie", &cookie));
    assert_eq!(reply.json(), json!({"a": 1}));
}

fn unknown_paths_and_methods(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let reply = app.client().get("/nope");
    assert_eq!(reply.status, 404);
    assert!(reply.body.contains("Nothing at /nope") && reply.body.contains("<html"), "{}", reply.body);
    let reply = app.client().get("/api/nope");
    assert_eq!((reply.status, reply.json()["error"].as_str()), (404, Some("Nothing at /api/nope.")));
    for (method, path, allow) in [
        ("DELETE", "/api/session", "GET, POST"),
        ("GET", "/api/logout", "POST"),
        ("POST", "/", "GET"),
        ("PUT", "/cart", "GET, POST"),
        ("POST", "/hello", "GET"),
    ] {
        let reply = send(app.addr, Request { method, path, headers: Vec::new(), body: Vec::new() });
        assert_eq!((reply.status, reply.header("allow")), (405, Some(allow)), "{method} {path}: {}", reply.body);
        assert_no_cookie(&reply);
    }
    assert!(app.files().is_empty());
}

fn cross_origin_posts_are_refused(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    let before = snapshot(app.dir.path());
    for (path, body) in
        [("/api/session", r#"{"a": 1}"#), ("/logout", ""), ("/api/logout", ""), ("/login", "username=mallory")]
    {
        for origin in ["http://127.0.0.1:1", "null", "http://evil.example"] {
            let reply = client.send(Request::post(path, "text/plain", body).header("origin", origin));
            assert_eq!(reply.status, 403, "{path} from {origin}: {}", reply.body);
            assert_no_cookie(&reply);
        }
    }
    assert_eq!(snapshot(app.dir.path()), before);
    let ours = format!("http://{}", app.addr);
    let reply = client.send(Request::post("/api/session", "application/json", r#"{"a": 1}"#).header("origin", &ours));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn hello_touches_no_session(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    for _ in 0..2 {
        let reply = client.get("/hello");
        assert_eq!((reply.status, reply.body.as_str()), (200, "hello\n"));
        assert_no_cookie(&reply);
        assert_eq!(reply.header("vary"), None);
        client.cookie = Some("../..".into()); // not even a hostile cookie is looked at
    }
    assert!(app.files().is_empty());
}

/// Django's `SessionInterrupted`: the session's file is deleted (a logout in another tab)
/// after the request read the session and before it saves. The cart form reads the session
/// (is someone logged in?) before its body, so the test holds the body back, waits until
/// the session file has been read (inotify), deletes it, then sends the rest.
fn a_session_deleted_mid_request_is_not_resurrected(host: Host) {
    use rustix::fs::inotify;
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    client.post_form("/login", "username=alice");
    let key = client.cookie.clone().unwrap();
    let file = app.session_file(&key);
    let watch = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).unwrap();
    // The store opens a session file for reading and writing (issue 13) and writes nothing:
    // its close is a CLOSE_WRITE.
    inotify::add_watch(&watch, &file, inotify::WatchFlags::CLOSE_NOWRITE | inotify::WatchFlags::CLOSE_WRITE).unwrap();

    let (more, rest) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let body = futures::stream::unfold(rest, |mut rest| async move {
        let chunk = rest.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(bytes::Bytes::from(chunk))), rest))
    });
    let form = b"action=add&item=tea".to_vec();
    let request = hyper::Request::post("/cart")
        .header("host", app.addr.to_string())
        .header("cookie", format!("sessionid={key}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", form.len().to_string())
        .body(http_body_util::StreamBody::new(body))
        .unwrap();
    let addr = app.addr;
    let reply = std::thread::spawn(move || exchange(addr, request));
    more.send(form[..10].to_vec()).unwrap();

    // Wait for the handler to have read the session.
    let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 1024];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        match inotify::Reader::new(&watch, &mut buffer).next() {
            Ok(event)
                if event.events().intersects(inotify::ReadFlags::CLOSE_NOWRITE | inotify::ReadFlags::CLOSE_WRITE) =>
            {
                break;
            }
            Ok(_) => {}
            Err(rustix::io::Errno::AGAIN) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) => panic!("inotify: {e}"),
        }
        assert!(std::time::Instant::now() < deadline, "the handler never read the session");
    }
    std::fs::remove_file(&file).unwrap();
    more.send(form[10..].to_vec()).unwrap();
    drop(more);

    let reply = reply.join().unwrap();
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("session was deleted before the request completed"), "{}", reply.body);
    assert_no_cookie(&reply);
    assert!(app.files().is_empty(), "the session was resurrected: {:?}", app.files());
}

/// How many requests the instance that answered had served, this one included (the web
/// app's `x-instance-requests`).
fn served(reply: &Reply) -> u64 {
    let header = reply.header("x-instance-requests").unwrap_or_else(|| panic!("no counter: {:?}", reply.headers));
    header.parse().unwrap_or_else(|_| panic!("not a count: {header}"))
}

/// Follows which instance served which client: each instance's count must go up by one
/// from the last reply it gave (this test is alone on its server, so it saw everything
/// each instance did), and a handover is a request served by an instance whose previous
/// request came from another client.
#[derive(Default)]
struct Instances {
    last: std::collections::HashMap<String, (u64, &'static str)>,
    handovers: usize,
}

impl Instances {
    fn saw(&mut self, client: &'static str, reply: Reply) -> Reply {
        let id = reply.header("x-instance-id").unwrap_or_else(|| panic!("no INSTANCE_ID: {:?}", reply.headers));
        let count = served(&reply);
        match self.last.insert(id.to_owned(), (count, client)) {
            Some((before, previous)) => {
                assert_eq!(count, before + 1, "instance {id} served something else meanwhile");
                self.handovers += usize::from(previous != client);
            }
            None => assert_eq!(count, 1, "instance {id} is new to this test"),
        }
        reply
    }
}

/// With instance reuse, instances serve request after request (the web app counts them,
/// and the host numbers them), and nothing of one request's session reaches the next on
/// the same instance: not another user's, not one with no cookie or an unknown key, not a
/// session the request before flushed.
fn reused_instances_keep_nothing_of_a_session(host: Host) {
    let Some(app) = App::start_with(host, &[], 1000) else { return };
    let (mut alice, mut bob) = (app.client(), app.client());
    let mut seen = Instances::default();
    seen.saw("alice", alice.post_form("/login", "username=alice"));
    seen.saw("alice", alice.post_form("/cart", "action=add&item=book"));
    let unknown = format!("sessionid={}", "a".repeat(32));
    for round in 0..5 {
        assert_eq!(seen.saw("bob", bob.get("/api/session")).json(), json!({}), "round {round}: bob sees a session");
        assert_eq!(seen.saw("anonymous", app.client().get("/api/session")).json(), json!({}), "round {round}");
        let forged = seen.saw("forger", send(app.addr, Request::get("/api/session").header("cookie", &unknown)));
        assert_eq!(forged.json(), json!({}), "round {round}: an unknown key");
        let reply = seen.saw("alice", alice.get("/api/session"));
        assert_eq!(reply.json(), json!({"username": "alice", "cart": ["book"]}), "round {round}");
    }
    assert_eq!(seen.saw("bob", bob.post_json("/api/session", r#"{"b": 1}"#)).json(), json!({"b": 1}));
    assert_eq!(seen.saw("alice", alice.get("/api/session")).json(), json!({"username": "alice", "cart": ["book"]}));
    // A logout, then her old cookie: the flushed session is gone.
    let mut old = alice.clone();
    assert_eq!(seen.saw("alice", alice.post_json("/api/logout", "")).json(), json!({}));
    assert_eq!(seen.saw("old alice", old.get("/api/session")).json(), json!({}));
    assert_eq!(app.files(), vec![format!("sessionid{}", bob.cookie.clone().unwrap())]);
    // Most of those 26 requests met an instance another client had just used.
    assert!(seen.handovers >= 12, "only {} handovers between clients: {:?}", seen.handovers, seen.last);
}

/// By default every request gets a fresh instance: the counter never passes 1, and each
/// instance is another.
fn every_request_gets_a_fresh_instance_by_default(host: Host) {
    let Some(app) = App::start(host, &[]) else { return };
    let mut client = app.client();
    let mut ids = std::collections::HashSet::new();
    for path in ["/", "/", "/api/session", "/hello", "/"] {
        let reply = client.get(path);
        assert_eq!(served(&reply), 1, "{path}");
        assert!(ids.insert(reply.header("x-instance-id").unwrap().to_owned()), "{path}: an instance again");
    }
    assert_eq!(client.get("/api/session").json(), json!({"visits": 3}));
}
