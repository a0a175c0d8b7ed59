//! Progress where an operator waits, on stderr, only when it is a terminal (indicatif draws
//! nothing otherwise, so piped output stays clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `len` steps of `what`, with the rate and the time taken.
pub fn bar(what: &str, len: u64) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
        .expect("a valid template")
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()).with_style(style);
    bar.set_prefix(what.to_owned());
    bar
}

/// A counter for work of unknown size: files scanned, a message (what was done, the rate).
pub fn counter(what: &str) -> ProgressBar {
    let style = ProgressStyle::with_template("{spinner} {prefix}: {human_pos} scanned, {msg} ({elapsed})")
        .expect("a valid template");
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style);
    bar.set_prefix(what.to_owned());
    bar
}
