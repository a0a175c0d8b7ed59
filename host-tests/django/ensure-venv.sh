#!/usr/bin/env bash
# Ensure a virtualenv with requirements.txt (beside this script: Django 5.2.19, the PyPI
# wasmtime package, gunicorn and selenium, pinned) installed from PyPI exists at VENV_DIR.
#
# Usage: ensure-venv.sh VENV_DIR
#
# Idempotent and safe to run concurrently (an flock on VENV_DIR.lock serialises
# creators). On the fast path (venv already present with these requirements) it
# prints nothing but the python path. In all successful cases the LAST line on
# stdout is the absolute path of the venv's python interpreter.
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
    echo "usage: $0 VENV_DIR" >&2
    exit 2
fi

REQUIREMENTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/requirements.txt"

# Absolute path, so the printed python path is usable from any cwd.
mkdir -p "$(dirname -- "$1")"
VENV_DIR="$(cd -- "$(dirname -- "$1")" && pwd)/$(basename -- "$1")"
PY="$VENV_DIR/bin/python"

# The venv is complete when it holds a copy of the requirements it was built from
# (written last, after a successful install).
STAMP="$VENV_DIR/requirements.installed"
venv_ok() {
    [[ -x "$PY" ]] && cmp -s "$REQUIREMENTS" "$STAMP"
}

# Fast path: no lock, no output besides the python path.
if venv_ok; then
    echo "$PY"
    exit 0
fi

# Slow path: take an exclusive lock so concurrent callers don't race, then
# re-check (another caller may have finished the job while we waited).
exec 9>"$VENV_DIR.lock"
flock 9

# (Re)create the venv from scratch. Refuse to wipe a directory that is not a
# virtualenv, in case VENV_DIR was given wrong.
make_venv() {
    if [[ -e "$VENV_DIR" ]]; then
        if [[ ! -f "$VENV_DIR/pyvenv.cfg" && -n "$(ls -A -- "$VENV_DIR")" ]]; then
            echo "ensure-venv.sh: $VENV_DIR exists and is not a virtualenv" >&2
            exit 1
        fi
        rm -rf -- "$VENV_DIR"
    fi
    "${PYTHON3:-python3}" -m venv "$VENV_DIR" >&2
}

install_requirements() {
    "$PY" -m pip install --disable-pip-version-check -q -r "$REQUIREMENTS" >&2 &&
        "$PY" -c "import django, wasmtime" >&2 &&
        cp -- "$REQUIREMENTS" "$STAMP"
}

if ! venv_ok; then
    [[ -x "$PY" ]] || make_venv
    # A half-built venv (e.g. an interrupted earlier run) may lack a working
    # pip: start over once before giving up.
    if ! install_requirements; then
        echo "ensure-venv.sh: pip failed, recreating $VENV_DIR" >&2
        make_venv
        install_requirements
    fi
    if ! venv_ok; then
        echo "ensure-venv.sh: $REQUIREMENTS not installed in $VENV_DIR" >&2
        exit 1
    fi
fi

flock -u 9
exec 9>&-
echo "$PY"
