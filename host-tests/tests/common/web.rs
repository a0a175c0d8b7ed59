//! The web app under test: started on `sessions serve` (in this process, on a listener
//! bound here) or on the real `wasmtime serve` CLI (a child process), each on its own
//! session directory; an HTTP/1.1 client (hyper) that keeps the session cookie as a
//! browser does; and gunicorn serving the Django app beside it.

use bytes::Bytes;
use file_sessions_host::Tenant;
use file_sessions_host::serve::{Options, Running, Server};
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::SECRET;

/// Each named test function (taking a [`Host`]) as a test on each host: `sessions_serve::NAME`
/// and `wasmtime_serve::NAME`.
#[macro_export]
macro_rules! on_both_hosts {
    ($($name:ident),* $(,)?) => {
        mod sessions_serve {
            $( #[test] fn $name() { super::$name($crate::common::web::Host::SessionsServe) } )*
        }
        mod wasmtime_serve {
            $( #[test] fn $name() { super::$name($crate::common::web::Host::WasmtimeServe) } )*
        }
    };
}

/// The wasmtime CLI version the tests are written against.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// Which host serves the composed component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Host {
    /// `sessions serve` (the `serve` module), in this process.
    SessionsServe,
    /// `wasmtime serve`, the CLI, as the README runs it.
    WasmtimeServe,
}

/// A running web app on a fresh session directory; stopped when dropped.
pub struct App {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its session directory (also `SESSION_FILE_PATH` for the Django side).
    pub dir: tempfile::TempDir,
    _server: Stopper,
}

/// What stops a server when the test ends (also when it panics).
enum Stopper {
    InProcess(#[allow(dead_code)] Running),
    Process(Child),
}

impl Drop for Stopper {
    fn drop(&mut self) {
        if let Stopper::Process(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl App {
    /// Starts the web app on `host` with `settings` on top of `SECRET_KEY` and
    /// `SESSION_FILE_PATH`; `None` (with the reason printed) when the host is the wasmtime
    /// CLI and it is not installed.
    pub fn start(host: Host, settings: &[(&str, &str)]) -> Option<App> {
        App::start_with(host, settings, 1)
    }

    /// As [`App::start`], with `--max-instance-reuse-count reuse`.
    pub fn start_with(host: Host, settings: &[(&str, &str)], reuse: usize) -> Option<App> {
        let dir = tempfile::tempdir().unwrap();
        let (server, addr) = match host {
            Host::SessionsServe => {
                let running = sessions_serve(dir.path(), settings, reuse);
                let addr = running.addr();
                (Stopper::InProcess(running), addr)
            }
            Host::WasmtimeServe => {
                let (child, addr) = wasmtime_serve(&wasmtime_cli()?, dir.path(), settings, reuse);
                (Stopper::Process(child), addr)
            }
        };
        Some(App { addr, dir, _server: server })
    }

    /// A client with an empty cookie jar.
    pub fn client(&self) -> Client {
        Client { addr: self.addr, cookie: None, cookie_name: "sessionid".into(), other_cookies: String::new() }
    }

    /// The session file of `key`.
    pub fn session_file(&self, key: &str) -> PathBuf {
        self.dir.path().join(format!("sessionid{key}"))
    }

    /// The names in the session directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// The session stored under `key`, decoded natively with the tests' secret (what
    /// Django would read).
    pub fn stored(&self, key: &str) -> Value {
        let text = std::fs::read_to_string(self.session_file(key)).expect("the session file");
        super::signer().loads(&text).unwrap_or_else(|_| panic!("not a valid signed session: {text}"))
    }
}

/// `sessions serve` on a listener bound here (port 0: no races over ports).
fn sessions_serve(dir: &Path, settings: &[(&str, &str)], reuse: usize) -> Running {
    let mut tenant = Tenant::new(dir, SECRET);
    for (name, value) in settings {
        tenant = tenant.env(name, value);
    }
    let mut options = Options::new(tenant);
    options.max_instance_reuse_count = reuse;
    options.log_requests = false;
    // The first server of this test binary compiles the component (into the cache); the
    // others wait for that instead of compiling it in parallel.
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| drop(Server::new(&options).expect("loading the web app")));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    Running::spawn(listener, &options).expect("starting sessions serve")
}

/// The wasmtime CLI, if installed at [`WASMTIME_VERSION`] (`$WASMTIME`, else on `PATH`,
/// else `~/.cargo/bin`); prints why not otherwise.
pub fn wasmtime_cli() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let home = std::env::var("HOME").unwrap_or_default();
        let candidates =
            [std::env::var("WASMTIME").ok(), Some("wasmtime".into()), Some(format!("{home}/.cargo/bin/wasmtime"))];
        for candidate in candidates.into_iter().flatten() {
            let Ok(out) = Command::new(&candidate).arg("--version").output() else { continue };
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if version == format!("wasmtime {WASMTIME_VERSION}") {
                return Some(PathBuf::from(candidate));
            }
            eprintln!("{candidate} is {version:?}, not wasmtime {WASMTIME_VERSION}");
        }
        None
    });
    if found.is_none() {
        eprintln!(
            "SKIPPED: the wasmtime CLI {WASMTIME_VERSION} is not installed \
             (`cargo install --locked wasmtime-cli@{WASMTIME_VERSION}`; .ci/run does)"
        );
    }
    found.clone()
}

/// The README's command: `wasmtime serve -Scli -O <pool reset options> --dir DIR::/sessions --env ... web-app.wasm`,
/// on a free loopback port; returns once it accepts connections.
fn wasmtime_serve(wasmtime: &Path, dir: &Path, settings: &[(&str, &str)], reuse: usize) -> (Child, SocketAddr) {
    // The first start compiles the component into wasmtime's cache; the others reuse it.
    static WARM: OnceLock<()> = OnceLock::new();
    let start = || {
        for _ in 0..5 {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let mut command = Command::new(wasmtime);
            command.args(["serve", "-Scli", "--addr", &addr.to_string()]);
            command.args(file_sessions_host::Runtime::wasmtime_cli_reset_options());
            command.arg("--dir").arg(format!("{}::/sessions", dir.display()));
            command.args(["--env", &format!("SECRET_KEY={SECRET}"), "--env", "SESSION_FILE_PATH=/sessions"]);
            for (name, value) in settings {
                command.args(["--env", &format!("{name}={value}")]);
            }
            if reuse > 1 {
                command.args(["--max-instance-reuse-count", &reuse.to_string()]);
            }
            // The file the build wrote (the host embeds the same bytes).
            command.arg(env!("FILE_SESSIONS_WEB_APP_WASM")).stdout(Stdio::null()).stderr(Stdio::null());
            let mut child = command.spawn().expect("running wasmtime serve");
            if wait_until_accepting(addr, &mut child) {
                return (child, addr);
            }
            let _ = child.kill();
            let _ = child.wait(); // the port was taken meanwhile: try another
        }
        panic!("wasmtime serve did not start");
    };
    let mut first = None;
    WARM.get_or_init(|| first = Some(start()));
    first.unwrap_or_else(start)
}

/// A loopback port nothing listens on now (a child process binds it next; callers retry
/// if something else took it meanwhile).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls until `addr` accepts a connection; false when `child` exited first.
fn wait_until_accepting(addr: SocketAddr, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str()).collect()
    }

    /// The one `Set-Cookie` for `name`, parsed; `None` when there is none.
    pub fn cookie(&self, name: &str) -> Option<SetCookie> {
        let mut found = self.set_cookies().into_iter().filter_map(SetCookie::parse).filter(|c| c.name == name);
        let cookie = found.next();
        assert!(found.next().is_none(), "two Set-Cookie headers for {name}: {:?}", self.headers);
        cookie
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// A `Set-Cookie` header: name, value, and its attributes (names in lower case).
#[derive(Debug)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    fn parse(header: &str) -> Option<SetCookie> {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next()?.split_once('=')?;
        let attributes = parts
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_owned())),
                None => (a.to_ascii_lowercase(), None),
            })
            .collect();
        Some(SetCookie { name: name.into(), value: value.trim_matches('"').into(), attributes })
    }

    /// The value of an attribute (`max-age`, `expires`, ...), `Some(None)` for a flag.
    pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_deref())
    }

    /// Whether a flag attribute (`httponly`, `secure`) is present.
    pub fn has(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    /// Whether this cookie deletes the cookie (what a browser does with `Max-Age=0`).
    pub fn deletes(&self) -> bool {
        self.attribute("max-age") == Some(Some("0"))
    }
}

/// A request to send.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Vec<u8>,
}

impl<'a> Request<'a> {
    pub fn get(path: &'a str) -> Request<'a> {
        Request { method: "GET", path, headers: Vec::new(), body: Vec::new() }
    }

    pub fn post(path: &'a str, content_type: &str, body: impl Into<Vec<u8>>) -> Request<'a> {
        let headers = vec![("content-type", content_type.to_owned())];
        Request { method: "POST", path, headers, body: body.into() }
    }

    pub fn header(mut self, name: &'a str, value: &str) -> Request<'a> {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// Sends one request on a new connection and reads the whole response.
pub fn send(addr: SocketAddr, request: Request) -> Reply {
    let mut builder =
        hyper::Request::builder().method(request.method).uri(request.path).header("host", addr.to_string());
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let request = builder.body(http_body_util::Full::new(Bytes::from(request.body))).unwrap();
    exchange(addr, request)
}

/// Sends a hyper request with any body on a new connection.
pub fn exchange<B>(addr: SocketAddr, request: hyper::Request<B>) -> Reply
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connecting");
        let io = wasmtime_wasi_http::io::TokioIo::new(stream);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.expect("handshake");
        tokio::spawn(connection);
        let response = sender.send_request(request).await.expect("a response");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = response.into_body().collect().await.expect("the body").to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
    })
}

/// A browser-like client for one app: sends its session cookie and keeps what the app
/// sets (a `Max-Age=0` cookie deletes it).
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    /// The session key this client holds.
    pub cookie: Option<String>,
    cookie_name: String,
    /// Other cookies to send (`name=value; ...`), e.g. Django's `csrftoken`.
    pub other_cookies: String,
}

impl Client {
    /// The same cookie jar against another server (another app on the same host name).
    pub fn to(&self, addr: SocketAddr) -> Client {
        Client { addr, ..self.clone() }
    }

    /// Uses another cookie name.
    pub fn named(mut self, name: &str) -> Client {
        self.cookie_name = name.into();
        self
    }

    pub fn get(&mut self, path: &str) -> Reply {
        self.send(Request::get(path))
    }

    pub fn post_form(&mut self, path: &str, form: &str) -> Reply {
        self.send(Request::post(path, "application/x-www-form-urlencoded", form))
    }

    pub fn post_json(&mut self, path: &str, json: &str) -> Reply {
        self.send(Request::post(path, "application/json", json))
    }

    pub fn send(&mut self, mut request: Request) -> Reply {
        let mut cookies: Vec<String> = self.cookie.iter().map(|key| format!("{}={key}", self.cookie_name)).collect();
        if !self.other_cookies.is_empty() {
            cookies.push(self.other_cookies.clone());
        }
        if !cookies.is_empty() {
            request.headers.push(("cookie", cookies.join("; ")));
        }
        let reply = send(self.addr, request);
        if let Some(cookie) = reply.cookie(&self.cookie_name) {
            self.cookie = if cookie.deletes() { None } else { Some(cookie.value) };
        }
        reply
    }
}

/// The Django app (examples/django-app) on gunicorn, sharing `dir` and the tests' secret;
/// stopped when dropped. `None` never: a missing virtualenv is built, a failure panics.
pub struct Django {
    pub addr: SocketAddr,
    child: Child,
}

impl Drop for Django {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Django {
    /// gunicorn with two workers on a free loopback port, `settings` in its environment.
    pub fn start(dir: &Path, settings: &[(&str, &str)]) -> Django {
        Django::start_at(dir, settings, None)
    }

    /// As [`Django::start`], on `port` when given (no retry then).
    pub fn start_at(dir: &Path, settings: &[(&str, &str)], port: Option<u16>) -> Django {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let python = super::venv::python();
        for _ in 0..if port.is_some() { 1 } else { 5 } {
            let port = port.unwrap_or_else(free_port);
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            // `python -m gunicorn`: the venv's `gunicorn` script names the python it was
            // installed with, which is wrong once the venv has moved.
            let mut command = Command::new(python);
            command
                .args([
                    "-m",
                    "gunicorn",
                    "--bind",
                    &addr.to_string(),
                    "--workers",
                    "2",
                    "--no-control-socket",
                    "sidebyside.wsgi",
                ])
                .current_dir(root.join("examples/django-app"))
                .env("SECRET_KEY", SECRET)
                .env("SESSION_FILE_PATH", dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            for (name, value) in settings {
                command.env(name, value);
            }
            let mut child = command.spawn().expect("running gunicorn");
            if wait_until_accepting(addr, &mut child) {
                return Django { addr, child };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("gunicorn did not start");
    }
}
