//! `sessions`: the operator's command line for a directory of Django file sessions,
//! running the file-sessions component in wasmtime: the portable component by default,
//! the async one (through Django's `a*` twins) with `--async`.
//!
//! This file is the command line itself (one `clap` enum, help from the doc comments) and
//! the dispatch; each command group lives in its own module.

mod bench;
mod components;
mod demo;
mod failure;
mod place;
mod progress;
mod secret;
mod serve;
mod stats;
mod store;
mod sweep;

use clap::{Args, CommandFactory, Parser, Subcommand};
use failure::Failure;
use std::path::PathBuf;
use std::process::ExitCode;

/// Django file sessions in a directory, through the file-sessions WebAssembly component.
///
/// By default the portable component runs (sync exports, WASI 0.2 imports); with --async
/// the async one, called through Django's async twins (acreate, aload, asave, ...:
/// component-model async funcs over WASI 0.3).
///
/// Settings come from the environment, with Django's names: SECRET_KEY,
/// SECRET_KEY_FALLBACKS (a JSON array of strings), SESSION_COOKIE_NAME, SESSION_COOKIE_AGE,
/// SESSION_EXPIRE_AT_BROWSER_CLOSE, and SESSION_FILE_CLOCK_SKEW (not Django's; for hosts
/// sharing a directory, see DEPLOYMENT.md). SESSION_FILE_PATH is set to the directory. Without
/// SECRET_KEY, a random secret is generated for a directory that holds no sessions yet and
/// kept in DIR/.secret-key (mode 0600).
#[derive(Parser)]
#[command(name = "sessions", version, max_term_width = 100)]
#[command(after_help = "Exit status: 0 success, 1 store error (`error: <kind>: <detail>` on stderr), 2 usage.")]
struct Cli {
    /// The session directory. Each command says its default: ./sessions for the store
    /// commands and demo, the only directory created when missing; . for bench and
    /// bench-async, which work in a fresh private subdirectory of it.
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Run create, load, save, exists, delete and clear-expired through the async
    /// component's twins instead of the portable component: same output, same exit
    /// statuses, same files.
    #[arg(long = "async", global = true)]
    use_async: bool,

    /// Allow --dir / (refused otherwise: it hands the whole filesystem to the component,
    /// read-write).
    #[arg(long, global = true)]
    allow_root_dir: bool,

    #[command(subcommand)]
    command: Command,
}

/// The commands. Those that touch DIR say its default; the store commands take --async.
#[derive(Subcommand)]
enum Command {
    /// Create a session holding JSON-OBJECT (default {}); print its new key.
    ///
    /// DIR defaults to ./sessions. With --async: `aupdate` then `acreate`.
    Create {
        /// The session's data.
        #[arg(value_name = "JSON-OBJECT")]
        data: Option<String>,
    },
    /// Print the session as a JSON object ({} when missing, expired or tampered with).
    ///
    /// Reading an expired session deletes it, as in Django. A KEY with characters outside
    /// [a-z0-9] can name no session: an error (`sessions load -- -rf` passes a KEY that
    /// starts with -). DIR defaults to ./sessions. With --async: `aload`.
    Load {
        /// The session key (the cookie's value).
        key: String,
    },
    /// Load KEY, replace its data with JSON-OBJECT and save, as a request does; print the
    /// key it was saved under (a new one when KEY did not exist or had expired).
    ///
    /// DIR defaults to ./sessions. With --async: `akeys` (the load), `clear`, `aupdate`,
    /// `asave`.
    Save {
        /// The session key.
        key: String,
        /// The new data.
        #[arg(value_name = "JSON-OBJECT")]
        data: String,
    },
    /// Print true when a file for KEY exists (expiry is not checked), else false.
    ///
    /// DIR defaults to ./sessions. With --async: `aexists`.
    Exists {
        /// The session key.
        key: String,
    },
    /// Delete the session's file (nothing to do when it is missing).
    ///
    /// DIR defaults to ./sessions. With --async: `adelete`.
    Delete {
        /// The session key.
        key: String,
    },
    /// Delete expired sessions, temporary files of interrupted saves older than an hour and
    /// empty placeholders older than SESSION_COOKIE_AGE; print the counts as JSON.
    ///
    /// What `manage.py clearsessions` does. On a terminal, progress (files scanned, removed,
    /// rate) on stderr while it runs. DIR defaults to ./sessions. With --async:
    /// `aclear_expired`.
    ClearExpired(store::ClearArgs),
    /// What is in DIR: sessions, expired ones, leftovers (temporary files, empty
    /// placeholders), total and largest size, oldest and newest.
    ///
    /// Expired sessions are counted by the component's own sweep, run dry (nothing is
    /// removed). DIR defaults to ./sessions.
    Stats(stats::StatsArgs),
    /// Walk through create, load, save, expiry and clear-expired on DIR, printing each step.
    ///
    /// DIR defaults to ./sessions and is created when missing. Runs the portable component.
    Demo,
    /// Measure latency: the component (warm, and a fresh instance per operation), the same
    /// Rust compiled natively and, with --django, real Django, on DIR.
    ///
    /// Works in a fresh private subdirectory of DIR (default: .), removed afterwards. Build
    /// with --release for meaningful figures. Runs the portable component.
    Bench(bench::LatencyArgs),
    /// Measure load throughput: N concurrent aloads in one instance of the async component
    /// against N sequential loads on the portable one, on DIR.
    ///
    /// Works in a fresh private subdirectory of DIR (default: .), removed afterwards. Build
    /// with --release for meaningful figures.
    BenchAsync(bench::ThroughputArgs),
    /// Serve the web app (the store composed with a wasi:http handler) over HTTP, sessions in
    /// DIR, until Ctrl-C.
    ///
    /// A fresh instance per request (as `wasmtime serve` runs a WASI 0.2 handler), or up to
    /// --max-instance-reuse-count requests per instance, one at a time. Passes the store's
    /// settings and the web app's (SESSION_COOKIE_SECURE, SESSION_SAVE_EVERY_REQUEST,
    /// PEER_URL) through. Prints a line per request on stderr (method, path, status,
    /// microseconds); Ctrl-C stops it after the requests in flight. DIR defaults to
    /// ./sessions.
    Serve(serve::ServeArgs),
    /// Render saved `bench`/`bench-async` JSON reports as text or Markdown, or write them
    /// into a document's marked sections.
    BenchReport(bench::ReportArgs),
    /// Print the components embedded in this binary (the store, portable and async, and the
    /// web app): role, size, SHA-256 and what they need of a host; with --write, also write
    /// them out as .wasm files.
    Components(components::ComponentsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// How a report is printed: a table by default.
#[derive(Args, Clone, Copy, Debug, Default)]
#[group(multiple = false)]
struct Format {
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Markdown tables.
    #[arg(long)]
    markdown: bool,
}

fn main() -> ExitCode {
    // WASI cannot set file modes, so the files the component creates get the host's
    // umask: keep them private (0600), as Django's are.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    match Cli::try_parse().map_err(Failure::Usage).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    if cli.use_async && !cli.command.takes_async() {
        return Err(Failure::usage(format!(
            "`{}` does not take --async (only create, load, save, exists, delete and clear-expired do)",
            cli.command.name()
        )));
    }
    let place = place::Options { dir: cli.dir, allow_root: cli.allow_root_dir, use_async: cli.use_async };
    match cli.command {
        Command::Create { data } => store::create(&place, data.as_deref()),
        Command::Load { key } => store::load(&place, &key),
        Command::Save { key, data } => store::save(&place, &key, &data),
        Command::Exists { key } => store::exists(&place, &key),
        Command::Delete { key } => store::delete(&place, &key),
        Command::ClearExpired(args) => store::clear_expired(&place, &args),
        Command::Stats(args) => stats::run(&place, &args),
        Command::Demo => demo::run(&place),
        Command::Bench(args) => bench::latency(&place, &args),
        Command::BenchAsync(args) => bench::throughput(&place, &args),
        Command::Serve(args) => serve::run(&place, &args),
        Command::BenchReport(args) => bench::report(&args),
        Command::Components(args) => components::run(&args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "sessions", &mut std::io::stdout());
            Ok(())
        }
    }
}

impl Command {
    /// The command's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Create { .. } => "create",
            Command::Load { .. } => "load",
            Command::Save { .. } => "save",
            Command::Exists { .. } => "exists",
            Command::Delete { .. } => "delete",
            Command::ClearExpired(_) => "clear-expired",
            Command::Stats(_) => "stats",
            Command::Demo => "demo",
            Command::Bench(_) => "bench",
            Command::BenchAsync(_) => "bench-async",
            Command::Serve(_) => "serve",
            Command::BenchReport(_) => "bench-report",
            Command::Components(_) => "components",
            Command::Completions { .. } => "completions",
        }
    }

    /// Whether `--async` applies: the store commands have an async twin.
    fn takes_async(&self) -> bool {
        matches!(
            self,
            Command::Create { .. }
                | Command::Load { .. }
                | Command::Save { .. }
                | Command::Exists { .. }
                | Command::Delete { .. }
                | Command::ClearExpired(_)
        )
    }
}
