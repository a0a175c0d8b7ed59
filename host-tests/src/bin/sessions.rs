//! `sessions`: the operator's command line for a directory of Django file sessions,
//! running the file-sessions component in wasmtime: the portable component by default,
//! the async one (through Django's `a*` twins) with `--async`.

use file_sessions_host::twins::{AsyncGuest, AsyncRuntime};
use file_sessions_host::{
    Expiry, GUEST_ASYNC_WASM, GUEST_WASM, Guest, HostError, Runtime, SessionHandle, Tenant, error_detail, error_kind,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
Usage: sessions [--dir DIR] [--async] <COMMAND> [ARGS]

Django file sessions in DIR, through a file-sessions WebAssembly component: by default the
portable one (sync exports, WASI 0.2 imports); with --async the async one, called through
Django's async twins (acreate, aload, asave, ...: component-model async funcs over WASI 0.3).

Commands:
  create [JSON-OBJECT]   Create a session (with that data); print its key
  load KEY               Print the session as a JSON object ({} when missing, expired or tampered)
  save KEY JSON-OBJECT   Load KEY, replace its data, save; print the key it was saved under
                         (a new one when KEY did not exist)
  exists KEY             Print true or false
  delete KEY             Delete the session
  clear-expired          Delete expired sessions and stale leftovers; print the counts
  demo                   A short walk through create, load, save, expiry and clear-expired
                         (portable component)
  bench [OPTIONS]        Measure latency: the component, an instance per request, native
                         Rust and (with --django) real Django, on DIR (default: .)
                         (portable component)
  bench-async [OPTIONS]  Measure load throughput: N concurrent aloads in one instance of the
                         async component against N sequential loads on the portable one, on
                         DIR (default: .)
  components             Print the two built components: role, path and size
  serve [OPTIONS]        Serve the web app (the store composed with a wasi:http handler)
                         over HTTP on DIR, until Ctrl-C

Options:
  --dir DIR    The session directory, preopened for the component (default ./sessions,
               created if missing)
  --async      Run create, load, save, exists, delete or clear-expired through the async
               component's twins instead of the portable component: same output, same
               exit statuses, same files. A usage error with demo, bench, bench-async
               and components (which choose their components themselves)
  -h, --help   This help; `sessions COMMAND --help` for one command

Settings come from the environment, with Django's names: SECRET_KEY, SECRET_KEY_FALLBACKS
(a JSON array of strings), SESSION_COOKIE_NAME, SESSION_COOKIE_AGE,
SESSION_EXPIRE_AT_BROWSER_CLOSE. SESSION_FILE_PATH is set to DIR. When SECRET_KEY is not
set, a random one is generated once and kept in DIR/.secret-key (mode 0600).

Exit status: 0 success, 1 store error (`error: <kind>: <detail>` on stderr), 2 usage.";

/// Help for each command: (name, arguments, what it does, what `--async` calls instead,
/// or `None` when the command does not take `--async`).
type CommandHelp = (&'static str, &'static str, &'static str, Option<&'static str>);

const COMMANDS: &[CommandHelp] = &[
    (
        "create",
        "[JSON-OBJECT]",
        "Creates a session holding JSON-OBJECT (default {}) and prints its new key.",
        Some("`aupdate` then `acreate`"),
    ),
    (
        "load",
        "KEY",
        "Prints the session's data as a JSON object: {} when the session is missing, expired or tampered with. Reading an expired session deletes it, as in Django.",
        Some("`aload`"),
    ),
    (
        "save",
        "KEY JSON-OBJECT",
        "Does what a request does: loads KEY, replaces its data with JSON-OBJECT and saves. Prints the key it saved under: a new one when KEY did not exist or had expired.",
        Some("`akeys` (the load), `clear`, `aupdate` then `asave`"),
    ),
    ("exists", "KEY", "Prints true when a file for KEY exists (expiry is not checked), else false.", Some("`aexists`")),
    ("delete", "KEY", "Deletes the session's file (nothing to do when it is missing).", Some("`adelete`")),
    (
        "clear-expired",
        "",
        "Deletes expired sessions, temporary files of interrupted saves older than an hour and empty placeholders older than SESSION_COOKIE_AGE. Prints the counts as JSON.",
        Some("`aclear_expired`"),
    ),
    (
        "demo",
        "",
        "Walks through create, load, save, expiry and clear-expired on DIR, printing each step. Runs the portable component (no --async).",
        None,
    ),
    (
        "bench",
        "[--n N] [--rounds R] [--clear-sizes 1000,10000,100000] [--django] [--json] [--svg FILE]",
        "Measures median and p99 latency of create, save, load, exists, delete and clear-expired (per file, over directories of the given sizes with half the sessions expired) in a fresh subdirectory of DIR (default: the current directory): the component on a warm instance, on a fresh instance per operation, and the same Rust compiled natively; with --django also real Django 5.2.19 (from the test virtualenv, created if missing). Prints a table with the ratios, or one JSON object with --json; --svg writes a chart. Build with --release for meaningful figures. Runs the portable component (no --async; see bench-async).",
        None,
    ),
    (
        "bench-async",
        "[--n N] [--rounds R] [--json]",
        "Measures the throughput of loads over N saved sessions (default 1000) in a fresh subdirectory of DIR (default: the current directory), removed afterwards: N sequential sync loads on a warm instance of the portable component, N sequential aloads and N concurrent aloads on one instance of the async component. Each figure is the median of R rounds (default 5). Prints a table, or one JSON object with --json. Runs both components itself (no --async). Build with --release for meaningful figures.",
        None,
    ),
    (
        "serve",
        "[--listen ADDR] [--max-instance-reuse-count N]",
        "Serves the web app (examples/web-app composed with the portable component) with wasmtime-wasi-http on ADDR (default 127.0.0.1:8000), sessions in DIR: a fresh instance per request, or with --max-instance-reuse-count N up to N requests per instance, one at a time (wasmtime serve's flag). Passes the settings above and the web app's (SESSION_COOKIE_SECURE, SESSION_SAVE_EVERY_REQUEST, PEER_URL) through. Prints a line per request on stderr (method, path, status, microseconds); Ctrl-C stops it after the requests in flight.",
        None,
    ),
    (
        "components",
        "",
        "Prints the two components this binary was built with, one per line: role, path and size in bytes. The portable one (sync exports, WASI 0.2 imports) runs on any component-model host; the async one (the same plus the async twins, WASI 0.2 and 0.3) needs component-model async. Takes no DIR (no --async).",
        None,
    ),
];

/// Why the command failed, and so its exit status.
enum Failure {
    /// Bad command line: exit 2.
    Usage(String),
    /// The store (or the host) said no: exit 1.
    Failed(String),
}

impl From<HostError> for Failure {
    fn from(e: HostError) -> Self {
        match e {
            HostError::Store(e) => Failure::Failed(format!("{}: {}", error_kind(&e), error_detail(&e))),
            HostError::Trap(e) => Failure::Failed(format!("trap: {e:#}")),
        }
    }
}

fn io_failure(what: &str, path: &Path, e: std::io::Error) -> Failure {
    Failure::Failed(format!("io: {what} {}: {e}", path.display()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), Failure> {
    let mut dir: Option<PathBuf> = None;
    let mut help = false;
    let mut use_async = false;
    let mut words = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => help = true,
            "--async" => use_async = true,
            "--dir" => dir = Some(it.next().ok_or_else(|| Failure::Usage("--dir needs a directory".into()))?.into()),
            s if s.starts_with("--dir=") => dir = Some(s["--dir=".len()..].into()),
            s if s.starts_with('-') && s.len() > 1 && words.is_empty() => {
                return Err(Failure::Usage(format!("unknown option {s}")));
            }
            _ => words.push(arg),
        }
    }
    let Some((command, rest)) = words.split_first() else {
        if help {
            println!("{USAGE}");
            return Ok(());
        }
        return Err(Failure::Usage("no command given".into()));
    };
    let Some(&(name, arg_help, about, twins)) = COMMANDS.iter().find(|(n, ..)| n == command) else {
        return Err(Failure::Usage(format!("unknown command {command:?}")));
    };
    if help {
        println!("Usage: sessions [--dir DIR] {name} {arg_help}\n\n{about}");
        if let Some(twins) = twins {
            println!(
                "\nWith --async (`sessions [--dir DIR] --async {name} ...`): runs through the async \
                 component, calling {twins}; same output and exit statuses."
            );
        }
        return Ok(());
    }
    if use_async && twins.is_none() {
        return Err(Failure::Usage(format!(
            "`{name}` does not take --async (only create, load, save, exists, delete and clear-expired do)"
        )));
    }
    let arity = |min: usize, max: usize| {
        if rest.len() < min || rest.len() > max {
            Err(Failure::Usage(format!("`{name}` takes {arg_help}")))
        } else {
            Ok(())
        }
    };
    match name {
        "create" | "load" | "exists" | "delete" => arity(usize::from(name != "create"), 1)?,
        "save" => arity(2, 2)?,
        "bench" => return bench(dir.unwrap_or_else(|| PathBuf::from(".")), rest),
        "bench-async" => return bench_async(dir.unwrap_or_else(|| PathBuf::from(".")), rest),
        "serve" => return serve(&dir.unwrap_or_else(|| PathBuf::from("sessions")), rest),
        "components" => {
            arity(0, 0)?;
            return components();
        }
        _ => arity(0, 0)?,
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from("sessions"));

    if name == "demo" {
        return demo(&mut open(&dir)?, &dir);
    }
    let mut guest = if use_async { Either::open_async(&dir)? } else { Either::Portable(Box::new(open(&dir)?)) };
    let arg = |i: usize| rest.get(i).map(String::as_str);
    match name {
        "create" => {
            let s = guest.session(None)?;
            guest.update(s, arg(0).unwrap_or("{}"))?;
            guest.create(s)?;
            println!("{}", guest.session_key(s)?.unwrap_or_default());
        }
        "load" => {
            let s = guest.session(arg(0))?;
            println!("{}", guest.load(s)?);
        }
        "save" => {
            let s = guest.session(arg(0))?;
            guest.keys(s)?; // load, as a request reading the session does
            guest.clear(s)?;
            guest.update(s, arg(1).unwrap_or("{}"))?;
            guest.save(s, false)?;
            println!("{}", guest.session_key(s)?.unwrap_or_default());
        }
        "exists" => {
            let s = guest.session(None)?;
            println!("{}", guest.exists(s, arg(0).unwrap_or_default())?);
        }
        "delete" => {
            let s = guest.session(None)?;
            guest.delete(s, arg(0))?;
        }
        "clear-expired" => println!("{}", guest.clear_expired()?),
        _ => unreachable!("every command is matched above"),
    }
    Ok(())
}

/// The guest a store command runs on: the portable component through the sync API, or
/// the async component through Django's async twins (each call awaited in turn on a
/// private executor). The commands above are written once, against these operations.
/// (Both boxed: a wasmtime store is large, and the two differ in size.)
enum Either {
    /// The portable component (`file-sessions` world).
    Portable(Box<Guest>),
    /// The async component (`file-sessions-async` world), called through `async-store`.
    Async(Box<Twin>),
}

/// An instance of the async component and the executor that runs its calls.
struct Twin {
    // Declared before `executor`, so the instance is dropped while the executor that ran
    // it still exists.
    guest: AsyncGuest,
    executor: tokio::runtime::Runtime,
}

/// One operation on either guest: `$sync` with the portable `Guest`, `$twin` (a future)
/// with the async one, run to completion.
macro_rules! on_either {
    ($self:ident, $g:ident => $sync:expr, $twin:expr) => {
        match $self {
            Either::Portable($g) => $sync,
            Either::Async(twin) => {
                let Twin { guest: $g, executor } = &mut **twin;
                executor.block_on($twin)
            }
        }
    };
}

impl Either {
    /// An instance of the async component for DIR, as [`open`] makes the portable one.
    fn open_async(dir: &Path) -> Result<Either, Failure> {
        let tenant = tenant(dir)?;
        // One instance, one task: a current-thread executor (WASI 0.3 file calls still run
        // on tokio's blocking pool), as the README recommends.
        let executor = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Failed(format!("io: starting the executor: {e}")))?;
        let guest = executor.block_on(async { AsyncRuntime::new()?.instantiate(&tenant).await })?;
        Ok(Either::Async(Box::new(Twin { guest, executor })))
    }

    /// `SessionStore(session_key)`.
    fn session(&mut self, key: Option<&str>) -> Result<SessionHandle, HostError> {
        on_either!(self, g => g.session(key), g.session(key))
    }

    fn session_key(&mut self, s: SessionHandle) -> Result<Option<String>, HostError> {
        on_either!(self, g => g.session_key(s), g.session_key(s))
    }

    /// `load()` / `aload()`.
    fn load(&mut self, s: SessionHandle) -> Result<String, HostError> {
        on_either!(self, g => g.load(s), g.aload(s))
    }

    /// `keys()` / `akeys()`: loads the data into the session, as reading it does.
    fn keys(&mut self, s: SessionHandle) -> Result<Vec<String>, HostError> {
        on_either!(self, g => g.keys(s), g.akeys(s))
    }

    fn clear(&mut self, s: SessionHandle) -> Result<(), HostError> {
        on_either!(self, g => g.clear(s), g.clear(s))
    }

    /// `update(dict)` / `aupdate(dict)`.
    fn update(&mut self, s: SessionHandle, data: &str) -> Result<(), HostError> {
        on_either!(self, g => g.update(s, data), g.aupdate(s, data))
    }

    /// `create()` / `acreate()`.
    fn create(&mut self, s: SessionHandle) -> Result<(), HostError> {
        on_either!(self, g => g.create(s), g.acreate(s))
    }

    /// `save(must_create)` / `asave(must_create)`.
    fn save(&mut self, s: SessionHandle, must_create: bool) -> Result<(), HostError> {
        on_either!(self, g => g.save(s, must_create), g.asave(s, must_create))
    }

    /// `exists(key)` / `aexists(key)`.
    fn exists(&mut self, s: SessionHandle, key: &str) -> Result<bool, HostError> {
        on_either!(self, g => g.exists(s, key), g.aexists(s, key))
    }

    /// `delete(key)` / `adelete(key)`.
    fn delete(&mut self, s: SessionHandle, key: Option<&str>) -> Result<(), HostError> {
        on_either!(self, g => g.delete(s, key), g.adelete(s, key))
    }

    /// `clear_expired()` / `aclear_expired()`, the counts as the JSON the command prints.
    fn clear_expired(&mut self) -> Result<serde_json::Value, HostError> {
        // The two worlds' `clear-report`s are distinct Rust types with the same fields.
        macro_rules! counts {
            ($r:expr) => {{
                let r = $r;
                serde_json::json!({
                    "scanned": r.scanned,
                    "expired_sessions": r.expired_sessions,
                    "orphaned_temp_files": r.orphaned_temp_files,
                    "stale_placeholders": r.stale_placeholders,
                    "failures": r.failures,
                    "undecodable_names": r.undecodable_names,
                })
            }};
        }
        Ok(match self {
            Either::Portable(g) => counts!(g.clear_expired()?),
            Either::Async(twin) => counts!(twin.executor.block_on(twin.guest.aclear_expired())?),
        })
    }
}

/// `sessions serve`.
fn serve(dir: &Path, args: &[String]) -> Result<(), Failure> {
    use file_sessions_host::serve::{self, Options, WEB_SETTINGS};
    let mut tenant = tenant(dir)?;
    for name in WEB_SETTINGS {
        if let Ok(value) = std::env::var(name) {
            tenant = tenant.env(name, &value);
        }
    }
    let mut options = Options::new(tenant);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--listen" => {
                let addr = it.next().and_then(|a| a.parse().ok());
                options.listen =
                    addr.ok_or_else(|| Failure::Usage("--listen needs an address like 127.0.0.1:8000".into()))?;
            }
            "--max-instance-reuse-count" => options.max_instance_reuse_count = positive(it.next(), arg)?,
            other => return Err(Failure::Usage(format!("serve: unknown argument {other:?}"))),
        }
    }
    let listener = std::net::TcpListener::bind(options.listen)
        .map_err(|e| Failure::Failed(format!("io: cannot listen on {}: {e}", options.listen)))?;
    Ok(serve::run_on(listener, options)?)
}

/// `sessions components`.
fn components() -> Result<(), Failure> {
    for (role, wasm, what) in [
        ("portable", GUEST_WASM, "sync exports, WASI 0.2 imports: wasmtime, Spin, jco, ..."),
        ("async", GUEST_ASYNC_WASM, "sync + async exports, WASI 0.2 + 0.3: wasmtime with component-model async"),
    ] {
        let path = Path::new(wasm);
        let bytes = std::fs::metadata(path).map_err(|e| io_failure("cannot read", path, e))?.len();
        println!("{role:<8}  {}  {bytes} bytes  ({what})", path.display());
    }
    Ok(())
}

/// `sessions bench-async`.
fn bench_async(dir: PathBuf, args: &[String]) -> Result<(), Failure> {
    use file_sessions_host::bench_async;
    let (mut n, mut rounds, mut json) = (1000, 5, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--n" => n = positive(it.next(), "--n")?,
            "--rounds" => rounds = positive(it.next(), "--rounds")?,
            "--json" => json = true,
            other => return Err(Failure::Usage(format!("bench-async: unknown argument {other:?}"))),
        }
    }
    let report = bench_async::run(&dir, n, rounds)?;
    if json {
        println!("{report}");
    } else {
        print!("{}", bench_async::table(&report));
    }
    Ok(())
}

/// The value of a `--n`-like option: a positive number.
fn positive(value: Option<&String>, what: &str) -> Result<usize, Failure> {
    value
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| Failure::Usage(format!("{what} needs a positive number")))
}

/// `sessions bench`.
fn bench(dir: PathBuf, args: &[String]) -> Result<(), Failure> {
    use file_sessions_host::bench;
    let mut opts =
        bench::Options { dir, n: 2000, rounds: 5, clear_sizes: vec![1000, 10000, 100000], django_python: None };
    let (mut json, mut svg, mut django) = (false, None, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--n" => opts.n = positive(it.next(), "--n")?,
            "--rounds" => opts.rounds = positive(it.next(), "--rounds")?,
            "--clear-sizes" => {
                let list = it.next().ok_or_else(|| Failure::Usage("--clear-sizes needs a list".into()))?;
                opts.clear_sizes = list
                    .split(',')
                    .map(|m| m.trim().parse().ok().filter(|&m: &usize| m > 0))
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| Failure::Usage("--clear-sizes takes numbers like 1000,10000".into()))?;
            }
            "--django" => django = true,
            "--json" => json = true,
            "--svg" => svg = Some(PathBuf::from(it.next().ok_or_else(|| Failure::Usage("--svg needs a file".into()))?)),
            other => return Err(Failure::Usage(format!("bench: unknown argument {other:?}"))),
        }
    }
    if django {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = std::process::Command::new("bash")
            .arg(root.join("host-tests/django/ensure-venv.sh"))
            .arg(root.join("target/django-venv"))
            .output()
            .map_err(|e| Failure::Failed(format!("io: running ensure-venv.sh: {e}")))?;
        let python = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_owned();
        if !out.status.success() || python.is_empty() {
            return Err(Failure::Failed(format!("io: no Django virtualenv: {}", String::from_utf8_lossy(&out.stderr))));
        }
        opts.django_python = Some(PathBuf::from(python));
    }
    let report = bench::run(&opts)?;
    if let Some(path) = svg {
        std::fs::write(&path, bench::svg(&report)).map_err(|e| io_failure("cannot write", &path, e))?;
    }
    if json {
        println!("{report}");
    } else {
        print!("{}", bench::table(&report));
    }
    Ok(())
}

/// Instantiates the portable component for DIR (see [`tenant`]).
fn open(dir: &Path) -> Result<Guest, Failure> {
    let tenant = tenant(dir)?;
    let runtime = Runtime::new()?;
    Ok(runtime.instantiate(&tenant)?)
}

/// Creates the directory if needed, finds the secret, and describes the tenant: DIR
/// preopened at its absolute path, the settings from the environment.
fn tenant(dir: &Path) -> Result<Tenant, Failure> {
    if !dir.exists() {
        create_private_dir(dir).map_err(|e| io_failure("cannot create", dir, e))?;
    }
    let abs = dir.canonicalize().map_err(|e| io_failure("cannot open", dir, e))?;
    let secret = match std::env::var("SECRET_KEY") {
        Ok(s) if !s.is_empty() => s,
        _ => stored_secret(&abs)?,
    };
    let mut tenant = Tenant::new(&abs, &secret);
    for name in ["SECRET_KEY_FALLBACKS", "SESSION_COOKIE_NAME", "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE"]
    {
        if let Ok(value) = std::env::var(name) {
            tenant = tenant.env(name, &value);
        }
    }
    Ok(tenant)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // 0700: the component cannot set file modes through WASI, so the directory keeps
    // other local users out.
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// The secret kept in DIR/.secret-key, generated on first use. Written to a temporary
/// file and hard-linked into place, so concurrent first runs agree on one secret.
fn stored_secret(dir: &Path) -> Result<String, Failure> {
    let path = dir.join(".secret-key");
    for _ in 0..50 {
        match std::fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 36];
                getrandom::fill(&mut bytes).map_err(|e| Failure::Failed(format!("io: no randomness: {e}")))?;
                let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let temp = dir.join(format!(".secret-key.{}", std::process::id()));
                write_private(&temp, &secret).map_err(|e| io_failure("cannot write", &temp, e))?;
                let linked = std::fs::hard_link(&temp, &path);
                let _ = std::fs::remove_file(&temp);
                match linked {
                    Ok(()) => return Ok(secret),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(io_failure("cannot write", &path, e)),
                }
            }
            Err(e) => return Err(io_failure("cannot read", &path, e)),
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(Failure::Failed(format!("io: {} stays empty", path.display())))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The quick start's walk-through.
fn demo(g: &mut Guest, dir: &Path) -> Result<(), Failure> {
    let show_file = |key: &str| {
        let path = dir.join(format!("sessionid{key}"));
        match std::fs::read_to_string(&path) {
            Ok(text) => format!("{} ({} bytes)\n     {text}", path.display(), text.len()),
            Err(e) => format!("{}: {e}", path.display()),
        }
    };

    let s = g.session(None)?;
    println!("file-sessions demo: Django's file session store as a WebAssembly component");
    println!("storage directory: {} (prefix {:?})\n", g.storage_path(s)?, g.file_prefix(s)?);

    println!("1. create: a new session holding {{\"user_id\": 42, \"cart\": [\"book\"]}}");
    g.set(s, "user_id", "42")?;
    g.set(s, "cart", r#"["book"]"#)?;
    g.create(s)?;
    let key = g.session_key(s)?.unwrap_or_default();
    println!("   key:  {key}");
    println!("   file: {}", show_file(&key));
    println!("   (payload:timestamp:signature, exactly as Django writes it)\n");

    println!("2. load: a fresh instance reads it back, as the next request would");
    let mut fresh = open(dir)?;
    let t = fresh.session(Some(&key))?;
    println!("   {}\n", fresh.load(t)?);

    println!("3. save: the request adds to the cart and saves (write a temp file, then rename)");
    let cart = fresh.get(t, "cart")?.unwrap_or_else(|| "[]".into());
    let mut items: Vec<serde_json::Value> = serde_json::from_str(&cart).unwrap_or_default();
    items.push("pen".into());
    fresh.set(t, "cart", &serde_json::to_string(&items).unwrap_or_default())?;
    fresh.save(t, false)?;
    println!("   {}", fresh.load(t)?);
    println!("   file: {}\n", show_file(&key));

    println!("4. expiry: set_expiry(-10) and save; the next load finds it expired");
    fresh.set_expiry(t, Some(&Expiry::Seconds(-10)))?;
    fresh.save(t, false)?;
    let u = g.session(Some(&key))?;
    println!("   load gives {} and a new key {}", g.load(u)?, g.session_key(u)?.unwrap_or_default());
    println!("   the old file is gone: {}\n", !dir.join(format!("sessionid{key}")).exists());

    println!("5. clear-expired: sweep a session that expired at a fixed instant");
    let old = g.session(None)?;
    g.set(old, "note", r#""expired yesterday""#)?;
    g.set_expiry(old, Some(&Expiry::Instant("2000-01-01T00:00:00+00:00".into())))?;
    g.create(old)?;
    let r = g.clear_expired()?;
    println!(
        "   scanned {}, removed {} expired session(s), {} temp file(s), {} placeholder(s)\n",
        r.scanned, r.expired_sessions, r.orphaned_temp_files, r.stale_placeholders
    );
    println!("Try: sessions --dir {} load <key>   (see sessions --help)", dir.display());
    Ok(())
}
