//! `sessions serve`: the web app (the store composed with a `wasi:http` handler) over HTTP,
//! sessions in the session directory, until Ctrl-C.

use crate::failure::Failure;
use crate::place;
use clap::Args;
use file_sessions_host::serve::{self, DEFAULT_LISTEN, Options, WEB_SETTINGS};
use std::net::SocketAddr;

/// Options of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Requests one instance serves, one at a time, before it is dropped (wasmtime serve's
    /// flag; 1: a fresh instance per request).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    max_instance_reuse_count: u32,
}

/// `sessions serve`: the store's settings and the web app's
/// (`SESSION_COOKIE_SECURE`, `SESSION_SAVE_EVERY_REQUEST`, `PEER_URL`) from the environment.
pub fn run(place: &place::Options, args: &ServeArgs) -> Result<(), Failure> {
    let mut tenant = place.tenant(false)?;
    for name in WEB_SETTINGS {
        if let Some(value) = place::setting(name)? {
            tenant = tenant.env(name, &value);
        }
    }
    let mut options = Options::new(tenant);
    options.listen = args.listen;
    options.max_instance_reuse_count = args.max_instance_reuse_count as usize;
    Ok(serve::run(options)?)
}
