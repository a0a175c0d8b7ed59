//! Builds the two guest components from the root crate, each in its own target directory,
//! and the web app composed with the portable one, so that one `cargo test` builds and
//! tests everything:
//!
//! * the portable one: `cargo build --target wasm32-wasip2 --release`;
//! * the async one: the same with `--features async`;
//! * the web app (`examples/web-app`, a `wasi:http` handler importing the store), plugged
//!   with the portable store into one component, `target/web-app/web-app.wasm` (what
//!   `wac plug --plug file_sessions.wasm file_sessions_web_app.wasm` writes).
//!
//! Adds the `wasm32-wasip2` target first when it is missing (automatic installs can be off).

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for input in ["src", "wit", "Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "examples/web-app/src"] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    for input in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join("examples/web-app").join(input).display());
    }
    ensure_target();
    let store = build_guest(&root, "guest", &[]);
    println!("cargo:rustc-env=FILE_SESSIONS_WASM={}", store.display());
    let wasm = build_guest(&root, "guest-async", &["--features", "async"]);
    println!("cargo:rustc-env=FILE_SESSIONS_ASYNC_WASM={}", wasm.display());
    let handler = build_crate(&root.join("examples/web-app/Cargo.toml"), &root.join("target/web-app"), &[]);
    let handler = handler.join("file_sessions_web_app.wasm");
    let app = root.join("target/web-app/web-app.wasm");
    compose(&handler, &store, &app);
    println!("cargo:rustc-env=FILE_SESSIONS_WEB_APP_WASM={}", app.display());
}

/// Plugs the store's export into the handler's import: one component whose imports are
/// the WASI ones both need.
fn compose(handler: &Path, store: &Path, out: &Path) {
    use wac_graph::{CompositionGraph, EncodeOptions, types::Package};
    let mut graph = CompositionGraph::new();
    let mut register = |name: &str, path: &Path| {
        let package = Package::from_file(name, None, path, graph.types_mut())
            .unwrap_or_else(|e| panic!("reading {}: {e:#}", path.display()));
        graph.register_package(package).expect("registering a component")
    };
    let socket = register("file-sessions:web-app", handler);
    let plug = register("file-sessions:store", store);
    wac_graph::plug(&mut graph, vec![plug], socket).expect("plugging the store into the web app");
    let bytes = graph.encode(EncodeOptions::default()).expect("encoding the composed component");
    std::fs::write(out, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

fn ensure_target() {
    let Ok(out) = Command::new("rustup").args(["target", "list", "--installed"]).output() else {
        return; // no rustup: assume the toolchain has the target, cargo will say if not
    };
    if !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET) {
        let status = Command::new("rustup").args(["target", "add", TARGET]).status();
        assert!(matches!(status, Ok(s) if s.success()), "`rustup target add {TARGET}` failed");
    }
}

fn build_guest(root: &Path, dir: &str, extra: &[&str]) -> PathBuf {
    build_crate(&root.join("Cargo.toml"), &root.join("target").join(dir), extra).join("file_sessions.wasm")
}

/// `cargo build --release --lib --target wasm32-wasip2` of one crate into its own target
/// directory; returns the directory the artifacts land in.
fn build_crate(manifest: &Path, target_dir: &Path, extra: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--lib", "--target", TARGET, "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .args(extra);
    // The outer build's settings are not the guest's.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo to build a component");
    assert!(status.success(), "building {} failed", manifest.display());
    target_dir.join(TARGET).join("release")
}
