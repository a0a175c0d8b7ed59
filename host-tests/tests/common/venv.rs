//! The Django virtualenv the tests drive real Django and the PyPI wasmtime package from.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// `host-tests/`.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The virtualenv's python, with `host-tests/django/requirements.txt` (Django 5.2.19 and
/// the PyPI wasmtime package) installed by `ensure-venv.sh`, once per test binary.
///
/// Never skips: the interop tests are the point of the product, and CI provides python3
/// and PyPI access.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = manifest_dir().join("django").join("ensure-venv.sh");
        let venv = manifest_dir().parent().unwrap().join("target").join("django-venv");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&venv)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "setting up the Django virtualenv in {} failed ({}).\nThe tests need python3 (with venv) and \
             access to PyPI.\nstdout:\n{stdout}\nstderr:\n{stderr}",
            venv.display(),
            out.status
        );
        let last = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("{} printed no python path.\nstderr:\n{stderr}", script.display()));
        let python = PathBuf::from(last.trim());
        assert!(python.is_file(), "{} named {}, which is not a file", script.display(), python.display());
        python
    })
}
