//! Django's log lines, written to the component's stderr (`wasi:cli/stderr`), where the
//! host routes them.
//!
//! One line per event in Python's default format (`LEVEL:logger:message`), naming the
//! logger Django uses, so a host can route it as a Django deployment routes that logger.
//! Never any session data, key or secret.

/// Django's `SessionBase.decode`: `logger.warning("Session data corrupted")` on
/// `django.security.SuspiciousSession`, when a signature does not verify (`BadSignature`).
pub(crate) fn session_data_corrupted() {
    warning("django.security.SuspiciousSession", "Session data corrupted");
}

fn warning(logger: &str, message: &str) {
    // In the component, one write to wasi:cli/stderr; a host that refuses it loses the
    // line, never the call. Natively this is a library in someone else's process: silent.
    #[cfg(target_arch = "wasm32")]
    {
        use std::io::Write;
        let line = format!("WARNING:{logger}:{message}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (logger, message);
}
