//! Why a command failed, how it is told, and its exit status: 1 for the store's (and the
//! host's) errors as `error: <kind>: <detail>`, 2 for usage errors as one short line and a
//! hint.

use crate::Cli;
use clap::CommandFactory;
use clap::error::ErrorKind;
use file_sessions_host::{HostError, StoreError};
use std::process::ExitCode;

/// Why the command failed.
pub enum Failure {
    /// Bad command line: exit 2 (or help asked for: exit 0).
    Usage(clap::Error),
    /// The store or the host said no: exit 1.
    Failed(HostError),
}

impl From<HostError> for Failure {
    fn from(e: HostError) -> Failure {
        Failure::Failed(e)
    }
}

impl Failure {
    /// A usage error found after parsing.
    pub fn usage(message: String) -> Failure {
        Failure::Usage(Cli::command().error(ErrorKind::ArgumentConflict, message))
    }

    /// Prints the failure and gives the exit status.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Usage(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
                let _ = e.print();
                ExitCode::SUCCESS
            }
            Failure::Usage(e) => {
                eprintln!("{}", short_usage_error(&e));
                ExitCode::from(2)
            }
            Failure::Failed(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    }
}

/// An `improperly-configured` error: the settings or the directory cannot work (Django's
/// `ImproperlyConfigured`).
pub fn misconfigured(detail: String) -> HostError {
    HostError::Store(StoreError::ImproperlyConfigured(detail))
}

/// clap's error as one line, and a hint: the usage and where to read more (clap's own form
/// prints a paragraph per part).
fn short_usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let (mut message, mut tips, mut usage) = (Vec::new(), Vec::new(), None);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("For more information")) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u.to_owned());
            break;
        }
        match line.strip_prefix("tip: ") {
            Some(tip) => tips.push(tip),
            None => message.push(line),
        }
    }
    let mut line = match e.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "error: no command given".to_owned(),
        _ => message.join(" "),
    };
    if !tips.is_empty() {
        line.push_str(&format!(" ({})", tips.join("; ")));
    }
    let command = typed_command();
    let usage = usage
        .unwrap_or_else(|| format!("{command} [OPTIONS]{}", if command == "sessions" { " <COMMAND>" } else { "" }));
    format!("{line}\nUsage: {usage}; for more, try '{command} --help'")
}

/// `sessions` and the command typed after it, if any.
fn typed_command() -> String {
    let cli = Cli::command();
    let typed = std::env::args().skip(1).find(|a| cli.find_subcommand(a).is_some());
    typed.map_or_else(|| "sessions".to_owned(), |c| format!("sessions {c}"))
}
