//! The servers `bench-http` compares, each started on a loopback port over a session
//! directory of its own, and stopped (with all it started) when dropped.

use super::{Flow, SECRET, floor};
use file_sessions_host::serve::{self, Options, WEB_APP_WASM};
use file_sessions_host::{HostError, Runtime, Tenant};
use rustix::process::Signal;
use std::borrow::Cow;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The benchmarks' hello handler (`bench/hello`): a `wasi:http` component that answers
/// `hello` and does nothing else.
pub const HELLO_WASM: &[u8] = include_bytes!(env!("FILE_SESSIONS_HELLO_WASM"));

/// The servers, in the order the report lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Server {
    /// `sessions serve`: a fresh instance per request (its default).
    SessionsServe,
    /// `sessions serve --max-instance-reuse-count N`.
    SessionsServeReuse,
    /// `wasmtime serve -Scli`: a fresh instance per request (its default for WASI 0.2).
    WasmtimeServe,
    /// `wasmtime serve -Scli --max-instance-reuse-count N`.
    WasmtimeServeReuse,
    /// The Django app (examples/django-app) on gunicorn, a worker per core.
    Django,
    /// The same flow in native Rust on hyper (no wasm): the floor.
    Native,
}

impl Server {
    /// Every server, in report order.
    pub const ALL: [Server; 6] = [
        Server::SessionsServe,
        Server::SessionsServeReuse,
        Server::WasmtimeServe,
        Server::WasmtimeServeReuse,
        Server::Django,
        Server::Native,
    ];

    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Server::SessionsServe => "sessions-serve",
            Server::SessionsServeReuse => "sessions-serve-reuse",
            Server::WasmtimeServe => "wasmtime-serve",
            Server::WasmtimeServeReuse => "wasmtime-serve-reuse",
            Server::Django => "django",
            Server::Native => "native",
        }
    }

    /// Where a flow's request goes: the counter page, or the hello route (the hello
    /// component answers any path).
    pub fn path(self, flow: Flow) -> &'static str {
        match flow {
            Flow::Keep | Flow::Fresh => "/",
            Flow::Hello => "/hello",
        }
    }
}

/// What the servers need besides their session directory.
pub struct Setup {
    /// Requests an instance serves in the reuse modes.
    pub reuse: usize,
    /// The wasmtime CLI, and the components written out for it.
    pub wasmtime: Option<Wasmtime>,
    /// Python with Django and gunicorn, the Django project, and the worker count.
    pub django: Option<Django>,
}

/// The wasmtime CLI and the two components as files.
pub struct Wasmtime {
    /// The `wasmtime` executable.
    pub cli: PathBuf,
    /// The composed web app, written out.
    pub web_app: PathBuf,
    /// The hello component, written out.
    pub hello: PathBuf,
}

/// How to run the Django app.
pub struct Django {
    /// A Python with Django and gunicorn installed.
    pub python: PathBuf,
    /// The Django project (examples/django-app).
    pub app: PathBuf,
    /// gunicorn's `--workers`.
    pub workers: usize,
}

/// A server that is up; stopped when dropped.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    _stop: Stop,
}

enum Stop {
    /// `sessions serve` or the native floor, in this process.
    Serve(#[allow(dead_code)] serve::Running),
    /// A child process, and the signal that stops it gracefully (letting the requests in
    /// flight finish, so no save is cut short).
    Child(Child, Signal),
}

impl Drop for Stop {
    /// A child gets its signal, then SIGKILL after 10 s.
    fn drop(&mut self) {
        let Stop::Child(child, signal) = self else { return };
        let pid = rustix::process::Pid::from_child(child);
        let _ = rustix::process::kill_process(pid, *signal);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Starts `server` for `flow` over the session directory `dir`; returns once it accepts
/// connections.
pub fn start(server: Server, flow: Flow, dir: &Path, setup: &Setup) -> Result<Running, HostError> {
    let hello = flow == Flow::Hello;
    match server {
        Server::SessionsServe | Server::SessionsServeReuse => {
            let reuse = if server == Server::SessionsServe { 1 } else { setup.reuse };
            sessions_serve(dir, reuse, hello)
        }
        Server::WasmtimeServe | Server::WasmtimeServeReuse => {
            let reuse = if server == Server::WasmtimeServe { 1 } else { setup.reuse };
            let wasmtime = setup.wasmtime.as_ref().ok_or_else(|| not_set_up("the wasmtime CLI"))?;
            let component = if hello { &wasmtime.hello } else { &wasmtime.web_app };
            // Ctrl-C: `wasmtime serve` finishes the requests in flight.
            child(Signal::INT, |addr| wasmtime_serve(wasmtime, component, addr, dir, reuse))
        }
        Server::Django => {
            let django = setup.django.as_ref().ok_or_else(|| not_set_up("Django (--django PYTHON)"))?;
            // gunicorn's graceful shutdown.
            child(Signal::TERM, |addr| gunicorn(django, addr, dir))
        }
        Server::Native => {
            let floor = floor::spawn(dir, SECRET)?;
            Ok(Running { addr: floor.addr(), _stop: Stop::Serve(floor) })
        }
    }
}

/// `sessions serve` in this process (the library the command runs), without its request
/// log: `wasmtime serve` and gunicorn keep none by default either.
fn sessions_serve(dir: &Path, reuse: usize, hello: bool) -> Result<Running, HostError> {
    let mut options = Options::new(Tenant::new(dir, SECRET));
    options.max_instance_reuse_count = reuse;
    options.log_requests = false;
    options.component = Cow::Borrowed(if hello { HELLO_WASM } else { WEB_APP_WASM });
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| io("cannot listen", e))?;
    let running = serve::Running::spawn(listener, &options)?;
    Ok(Running { addr: running.addr(), _stop: Stop::Serve(running) })
}

/// The README's command: `wasmtime serve -Scli -O <pool reset options> --dir DIR::/sessions --env ...`.
fn wasmtime_serve(wasmtime: &Wasmtime, component: &Path, addr: SocketAddr, dir: &Path, reuse: usize) -> Command {
    let mut command = Command::new(&wasmtime.cli);
    command.args(["serve", "-Scli", "--addr", &addr.to_string()]);
    command.args(Runtime::wasmtime_cli_reset_options());
    command.arg("--dir").arg(format!("{}::/sessions", dir.display()));
    command.args(["--env", &format!("SECRET_KEY={SECRET}"), "--env", "SESSION_FILE_PATH=/sessions"]);
    command.args(["--max-instance-reuse-count", &reuse.to_string()]);
    command.arg(component);
    command
}

/// gunicorn's defaults (sync workers, no access log), one worker per core, as the Django
/// deployment docs suggest for a CPU-bound app.
fn gunicorn(django: &Django, addr: SocketAddr, dir: &Path) -> Command {
    let mut command = Command::new(&django.python);
    command
        .args(["-m", "gunicorn", "--bind", &addr.to_string(), "--workers", &django.workers.to_string()])
        .args(["--no-control-socket", "sidebyside.wsgi"])
        .current_dir(&django.app)
        .env("SECRET_KEY", SECRET)
        .env("SESSION_FILE_PATH", dir);
    command
}

/// Runs the command `make` builds for a free port until it accepts connections there (a
/// few tries: another process may take the port between the probe and the bind). Its
/// output goes to a temporary file, which a failure quotes.
fn child(stop_with: Signal, make: impl Fn(SocketAddr) -> Command) -> Result<Running, HostError> {
    let mut last = String::new();
    for _ in 0..5 {
        let addr = free_port()?;
        let mut command = make(addr);
        let mut log = tempfile::tempfile().map_err(|e| io("cannot make a log file", e))?;
        let (out, err) = (log.try_clone(), log.try_clone());
        let (out, err) =
            (out.map_err(|e| io("cannot make a log file", e))?, err.map_err(|e| io("cannot make a log file", e))?);
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let program = PathBuf::from(command.get_program());
        let child = command.spawn().map_err(|e| HostError::io("cannot run", &program, e))?;
        let mut stop = Stop::Child(child, stop_with);
        match wait_until_accepting(addr, &mut stop) {
            Ok(()) => return Ok(Running { addr, _stop: stop }),
            Err(why) => last = format!("{} {why}: {}", program.display(), tail(&mut log)),
        }
    }
    Err(io("a server did not start", std::io::Error::other(last)))
}

/// The last lines of a log file.
fn tail(log: &mut std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut text = String::new();
    let _ = log.rewind().and_then(|()| log.read_to_string(&mut text));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// Polls until `addr` accepts a connection (two minutes at most: wasmtime compiles the
/// component first); the exit status if the child ended first.
fn wait_until_accepting(addr: SocketAddr, stop: &mut Stop) -> Result<(), String> {
    let Stop::Child(child, _) = stop else { return Ok(()) };
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status})"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err("was not listening after 120 s".into())
}

fn free_port() -> Result<SocketAddr, HostError> {
    let probe = TcpListener::bind("127.0.0.1:0").map_err(|e| io("cannot find a free port", e))?;
    probe.local_addr().map_err(|e| io("cannot find a free port", e))
}

fn not_set_up(what: &str) -> HostError {
    io("cannot start a server", std::io::Error::other(format!("{what} is not available")))
}

fn io(context: &str, source: std::io::Error) -> HostError {
    HostError::Io { context: context.into(), source }
}
