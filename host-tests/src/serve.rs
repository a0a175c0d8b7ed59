//! `sessions serve`: the composed web app (`examples/web-app` plugged with the portable
//! store) on a `wasi:http` server, with `wasmtime-wasi-http`, the crate `wasmtime serve` uses.
//!
//! Each request gets its own instance from an `InstancePre` on the pooling allocator, the
//! tenant's directory preopened and its settings in the environment, as `wasmtime serve`
//! does for a WASI 0.2 handler. With `max_instance_reuse_count` N > 1 an instance serves up
//! to N requests, one at a time (`wasmtime serve --max-instance-reuse-count N`). What an
//! instance keeps between requests is what the store caches per instance (its settings and
//! derived keys); each request's session is a resource the handler drops before it returns.
//!
//! ```no_run
//! use file_sessions_host::Tenant;
//! use file_sessions_host::serve::{self, Options};
//!
//! let tenant = Tenant::new("/srv/sessions", "a-long-random-secret");
//! serve::run(Options::new(tenant))?; // http://127.0.0.1:8000 until Ctrl-C
//! # Ok::<(), file_sessions_host::HostError>(())
//! ```

use crate::{CodeCache, GuestStderr, HostError, Result, Runtime, Tenant};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// The composed web app, embedded: `examples/web-app` plugged with the portable store
/// (`target/web-app/web-app.wasm` in the build tree).
pub const WEB_APP_WASM: &[u8] = include_bytes!(env!("FILE_SESSIONS_WEB_APP_WASM"));

/// Settings the web app reads besides the store's: Django's `SESSION_COOKIE_SECURE` and
/// `SESSION_SAVE_EVERY_REQUEST`, and `PEER_URL` (the Django app beside it, for a link).
pub const WEB_SETTINGS: [&str; 3] = ["SESSION_COOKIE_SECURE", "SESSION_SAVE_EVERY_REQUEST", "PEER_URL"];

/// The default address, as `sessions serve --listen` takes it.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";

/// Requests handled at once; more wait for a turn. Instances in use plus idle ones stay
/// within twice this, which the pool is sized for.
const MAX_CONCURRENT: u32 = 16;

/// How to serve.
pub struct Options {
    /// Where to listen (`--listen`, default 127.0.0.1:8000).
    pub listen: SocketAddr,
    /// The session directory and the settings (`--dir` and the environment).
    pub tenant: Tenant,
    /// The component to serve (default [`WEB_APP_WASM`]).
    pub component: Cow<'static, [u8]>,
    /// Where its compiled code is kept between runs (default [`CodeCache::User`]).
    pub cache: CodeCache,
    /// Requests one instance serves, one at a time, before it is dropped (1: a fresh
    /// instance per request, the default, as `wasmtime serve` does for WASI 0.2).
    pub max_instance_reuse_count: usize,
    /// A line per request on stderr: method, path, status, microseconds.
    pub log_requests: bool,
}

impl Options {
    /// The defaults for `tenant`: 127.0.0.1:8000, the built web app, an instance per
    /// request, requests logged.
    pub fn new(tenant: Tenant) -> Options {
        Options {
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
            tenant,
            component: Cow::Borrowed(WEB_APP_WASM),
            cache: CodeCache::default(),
            max_instance_reuse_count: 1,
            log_requests: true,
        }
    }
}

/// Binds `options.listen` and serves until Ctrl-C (see [`run_on`]).
pub fn run(options: Options) -> Result<()> {
    let listener = std::net::TcpListener::bind(options.listen)
        .map_err(|e| HostError::Io { context: format!("cannot listen on {}", options.listen), source: e })?;
    run_on(listener, options)
}

/// Serves on `listener` until Ctrl-C, then finishes the requests in flight and returns.
/// Prints where it serves, and (with `log_requests`) a line per request, on stderr.
pub fn run_on(listener: std::net::TcpListener, options: Options) -> Result<()> {
    let server = Server::new(&options)?;
    let addr = listener.local_addr().map_err(io_error)?;
    listener.set_nonblocking(true).map_err(io_error)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(io_error)?;
    runtime.block_on(async {
        let listener = TcpListener::from_std(listener).map_err(io_error)?;
        eprintln!("serving the web app on http://{addr} (sessions in {}); Ctrl-C stops", options.tenant.dir.display());
        server
            .serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        eprintln!("stopped");
        Ok(())
    })
}

/// A server running on its own thread (for tests and embedders): serves on a listener
/// bound beforehand, and stops, finishing the requests in flight, when dropped.
pub struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Serves `options` on `listener` (its `listen` is ignored) on a new thread.
    pub fn spawn(listener: std::net::TcpListener, options: &Options) -> Result<Running> {
        let server = Server::new(options)?;
        Running::spawn_with(listener, move |listener, stopped| async move {
            server
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await;
        })
    }

    /// Runs `serve` on `listener` on a new thread, on a two-worker tokio runtime; `serve`
    /// must return once its `stopped` resolves, which dropping the `Running` makes happen.
    /// (The benchmark's native floor runs on this too, so both stacks are set up alike.)
    pub fn spawn_with<F, Fut>(listener: std::net::TcpListener, serve: F) -> Result<Running>
    where
        F: FnOnce(TcpListener, tokio::sync::oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let addr = listener.local_addr().map_err(io_error)?;
        listener.set_nonblocking(true).map_err(io_error)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
        let runtime = runtime.map_err(io_error)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                serve(listener, stopped).await
            })
        });
        Ok(Running { addr, stop: Some(stop), thread: Some(thread) })
    }

    /// The address it serves on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The engine, the linked component, the tenant, and the instances kept for reuse.
pub struct Server {
    pre: ProxyPre<State>,
    tenant: Tenant,
    reuse: usize,
    log: bool,
    idle: Mutex<Vec<Instance>>,
    turns: Arc<Semaphore>,
    /// The number the next instance gets (its `INSTANCE_ID`).
    instances: AtomicU64,
}

/// An instance and how many requests it has served.
struct Instance {
    store: Store<State>,
    proxy: Proxy,
    served: usize,
}

impl Server {
    /// Compiles (or loads from the cache) the component and links it with WASI and
    /// `wasi:http`.
    pub fn new(options: &Options) -> Result<Arc<Server>> {
        let engine = Engine::new(&config())?;
        let (component, _) = options.cache.load(&engine, &options.component)?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Arc::new(Server {
            pre,
            tenant: options.tenant.clone(),
            reuse: options.max_instance_reuse_count.max(1),
            log: options.log_requests,
            idle: Mutex::new(Vec::new()),
            turns: Arc::new(Semaphore::new(MAX_CONCURRENT as usize)),
            instances: AtomicU64::new(0),
        }))
    }

    /// Accepts connections until `shutdown` resolves, then lets each connection finish
    /// the request it is on and returns when they have.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let (stop, stopping) = watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(self.clone().connection(stream, stopping.clone()));
                    }
                    Err(e) => eprintln!("accept: {e}"),
                },
                () = &mut shutdown => break,
            }
        }
        let _ = stop.send(true);
        while connections.join_next().await.is_some() {}
    }

    /// One HTTP/1.1 connection, shut down gracefully when `stopping` turns true.
    async fn connection(self: Arc<Self>, stream: tokio::net::TcpStream, mut stopping: watch::Receiver<bool>) {
        let service = hyper::service::service_fn(move |request| self.clone().handle(request));
        let connection =
            hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = stopping.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
        }
        let _ = connection.await;
    }

    /// One request: the guest's response, or a 500 saying why there is none; logged.
    async fn handle(
        self: Arc<Self>,
        request: hyper::Request<Incoming>,
    ) -> std::result::Result<hyper::Response<HyperOutgoingBody>, std::convert::Infallible> {
        let start = Instant::now();
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let response = match self.call(request).await {
            Ok(response) => response,
            Err(e) => {
                eprintln!("error: {method} {path}: {e:#}");
                internal_error(&e)
            }
        };
        if self.log {
            eprintln!("{method} {path} {} {}µs", response.status().as_u16(), start.elapsed().as_micros());
        }
        Ok(response)
    }

    /// Runs the guest's `handle` on an instance and waits for the response head.
    async fn call(
        self: &Arc<Self>,
        request: hyper::Request<Incoming>,
    ) -> wasmtime::Result<hyper::Response<HyperOutgoingBody>> {
        let turn = self.turns.clone().acquire_owned().await?;
        let idle = self.idle.lock().unwrap().pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => self.instantiate().await?,
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let http = instance.store.data_mut();
        let incoming = http.http().new_incoming_request(Scheme::Http, request)?;
        let outparam = http.http().new_response_outparam(sender)?;
        let server = self.clone();
        let guest = async move {
            let _turn = turn;
            let handler = instance.proxy.wasi_http_incoming_handler();
            let result = handler.call_handle(&mut instance.store, incoming, outparam).await;
            instance.served += 1;
            if result.is_ok() && instance.served < server.reuse {
                server.idle.lock().unwrap().push(instance);
            }
            result
        };
        // The guest runs right here, on the connection's task, until it has answered: a
        // handler that writes its whole body before it returns (ours does) costs no task
        // and no wake-up of another thread. One still writing its body after the head goes
        // on in a task of its own, while hyper sends what it writes.
        let mut guest = Box::pin(guest);
        let mut receiver = receiver;
        let no_response = || wasmtime::format_err!("the handler returned without a response");
        let head = tokio::select! {
            biased;
            result = &mut guest => match receiver.await {
                Ok(head) => head,
                Err(_) => return Err(result.err().unwrap_or_else(no_response)),
            },
            head = &mut receiver => match head {
                Ok(head) => {
                    tokio::spawn(guest);
                    head
                }
                Err(_) => return Err(guest.await.err().unwrap_or_else(no_response)),
            },
        };
        head.map_err(|code| wasmtime::format_err!("the handler answered with an error: {code:?}"))
    }

    /// A fresh instance: a store with the tenant's preopen and settings, its memory capped,
    /// and `INSTANCE_ID` (0, 1, 2, ...), as `wasmtime serve` numbers its instances.
    async fn instantiate(&self) -> wasmtime::Result<Instance> {
        let id = self.instances.fetch_add(1, Ordering::Relaxed);
        let tenant = self.tenant.clone().env("INSTANCE_ID", &id.to_string());
        let state = State::new(&tenant).map_err(|e| wasmtime::format_err!("{e}"))?;
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limits);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance { store, proxy, served: 0 })
    }
}

/// The engine settings: `Runtime`'s recommended ones (no component-model async machinery)
/// and a pool sized for [`MAX_CONCURRENT`] instances in use plus as many idle.
fn config() -> Config {
    let mut config = Runtime::recommended_config();
    let instances = 2 * MAX_CONCURRENT;
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    // The composed component holds a few core instances (handler, store, adapters), two
    // memories and a few tables.
    pool.total_component_instances(instances)
        .total_core_instances(16 * instances)
        .total_memories(4 * instances)
        .total_tables(8 * instances)
        .max_memory_size(crate::DEFAULT_MEMORY_LIMIT);
    // Instances are dropped as fast as they are made: a slot keeps its pages resident and
    // only those the instance wrote are reset (no `madvise` per request, so no TLB-flush
    // interrupt to the other core and no page faults on the next instance).
    Runtime::reset_settings(&mut pool);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    config
}

/// A 500 for a request the guest gave no response to.
fn internal_error(e: &wasmtime::Error) -> hyper::Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(format!("internal error: {e}\n"))).map_err(|never| match never {}).boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

fn io_error(source: std::io::Error) -> HostError {
    HostError::Io { context: "serve".into(), source }
}

/// One instance's host state: WASI (the preopen, the settings), `wasi:http`, the memory cap.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: NoOutgoingRequests,
    table: ResourceTable,
    limits: StoreLimits,
}

impl State {
    fn new(tenant: &Tenant) -> Result<State> {
        // The store's file calls are short, so they run on the request's thread instead of
        // a pool hop each; the guest's stderr (its log) goes to the server's.
        let (wasi, _) = tenant.wasi(true, GuestStderr::Inherit)?;
        let limits = StoreLimitsBuilder::new().memory_size(tenant.memory_limit).build();
        Ok(State { wasi, http: WasiHttpCtx::new(), hooks: NoOutgoingRequests, table: ResourceTable::new(), limits })
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// The web app makes no outgoing requests; any it tried would be refused.
struct NoOutgoingRequests;

type SendRequest = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for NoOutgoingRequests {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendRequest {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
