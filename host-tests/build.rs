//! Builds the two guest components from the root crate, each in its own target directory,
//! so that one `cargo test` builds and tests everything:
//!
//! * the portable one: `cargo build --target wasm32-wasip2 --release`;
//! * the async one: the same with `--features async`.
//!
//! Adds the `wasm32-wasip2` target first when it is missing (automatic installs can be off).

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for input in ["src", "wit", "Cargo.toml", "Cargo.lock", "rust-toolchain.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    ensure_target();
    let wasm = build_guest(&root, "guest", &[]);
    println!("cargo:rustc-env=FILE_SESSIONS_WASM={}", wasm.display());
    let wasm = build_guest(&root, "guest-async", &["--features", "async"]);
    println!("cargo:rustc-env=FILE_SESSIONS_ASYNC_WASM={}", wasm.display());
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
    let target_dir = root.join("target").join(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--lib", "--target", TARGET, "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
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
    let status = cmd.status().expect("running cargo to build the guest");
    assert!(status.success(), "building the guest component failed");
    target_dir.join(TARGET).join("release").join("file_sessions.wasm")
}
