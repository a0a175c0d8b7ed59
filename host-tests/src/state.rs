//! What the host keeps per instance: the WASI context, the resource table, the memory cap
//! and, when asked for, the guest's stderr.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Where the guest's standard error goes (the store writes one line there when a session's
/// signature does not verify, as Django logs on `django.security.SuspiciousSession`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GuestStderr {
    /// Dropped.
    #[default]
    Discard,
    /// To the host process's stderr, as `wasmtime serve` and Spin collect a guest's log.
    Inherit,
    /// Kept in memory, up to this many bytes, for [`Guest::stderr`](crate::Guest::stderr).
    Capture(usize),
}

/// Per-instance host state.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: MemoryLimit,
    stderr: Option<MemoryOutputPipe>,
}

impl HostState {
    pub(crate) fn new(wasi: WasiCtx, table: ResourceTable, limit: usize, stderr: Option<MemoryOutputPipe>) -> Self {
        HostState { wasi, table, limits: MemoryLimit { limit, peak: 0 }, stderr }
    }

    pub(crate) fn limiter(&mut self) -> &mut dyn wasmtime::ResourceLimiter {
        &mut self.limits
    }

    /// The largest linear memory the guest has had, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.limits.peak
    }

    /// What the guest wrote to stderr so far, when it is captured ([`GuestStderr::Capture`]);
    /// empty otherwise.
    pub fn stderr(&self) -> String {
        self.stderr.as_ref().map(|pipe| String::from_utf8_lossy(&pipe.contents()).into_owned()).unwrap_or_default()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps linear memory and remembers the largest size the guest reached.
struct MemoryLimit {
    limit: usize,
    peak: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}
