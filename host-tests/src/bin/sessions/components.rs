//! `sessions components`: the two components embedded in this binary.

use crate::failure::Failure;
use clap::Args;
use file_sessions_host::{GUEST_ASYNC_WASM, GUEST_WASM, HostError};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Options of `components`.
#[derive(Args, Debug)]
pub struct ComponentsArgs {
    /// Also write them into this existing directory, as file_sessions.wasm,
    /// file_sessions_async.wasm and web-app.wasm (for wasmtime, jco, Spin, ...).
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
}

/// Role, bytes, file name when written, and what each needs of a host.
const COMPONENTS: [(&str, &[u8], &str, &str); 3] = [
    ("portable", GUEST_WASM, "file_sessions.wasm", "sync exports, WASI 0.2 imports: wasmtime, Spin, jco, ..."),
    (
        "async",
        GUEST_ASYNC_WASM,
        "file_sessions_async.wasm",
        "sync + async exports, WASI 0.2 + 0.3: wasmtime with component-model async",
    ),
    (
        "web-app",
        file_sessions_host::serve::WEB_APP_WASM,
        "web-app.wasm",
        "the web app with the portable store inside, a wasi:http handler: sessions serve, wasmtime serve -Scli",
    ),
];

/// `sessions components [--write DIR]`.
pub fn run(args: &ComponentsArgs) -> Result<(), Failure> {
    for (role, wasm, file, about) in COMPONENTS {
        let sha: String = Sha256::digest(wasm).iter().map(|b| format!("{b:02x}")).collect();
        println!("{role:<8}  {} bytes  sha256:{sha}  ({about})", wasm.len());
        if let Some(dir) = &args.write {
            let path = dir.join(file);
            std::fs::write(&path, wasm).map_err(|e| HostError::io("cannot write", &path, e))?;
            println!("{role:<8}  written to {}", path.display());
        }
    }
    Ok(())
}
