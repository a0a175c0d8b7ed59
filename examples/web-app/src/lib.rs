//! The web app: a `wasi:http/incoming-handler` that keeps its sessions in the
//! `file-sessions:store` component it imports, the way Django's `SessionMiddleware` uses a
//! session engine. Composed with the portable store it is one component whose only imports
//! are WASI, so any `wasi:http` host runs it (`sessions serve`, `wasmtime serve`).
//!
//! Pages (`/`, `/login`, `/cart`, `/logout`) and a JSON API (`/api/session`, `/api/logout`)
//! read and write the keys a Django view reads: `username` (text), `cart` (a list of text)
//! and `visits` (a number). `/hello` answers without touching the session.
//!
//! Modules: [`http`] turns `wasi:http` resources into plain values and back; [`middleware`]
//! is `SessionMiddleware` (lazy session, cookie in, save and cookie out); [`views`] routes a
//! request; [`pages`] renders HTML; [`settings`] reads the few settings the store does not.

mod http;
mod middleware;
mod pages;
mod settings;
mod views;

mod bindings {
    // The store's contract is read from the repository's own `wit/`; only its version is
    // named here (WIT requires it), so a new contract version fails this build until the
    // line follows. `generate_all`: the interface lives in another package than this world.
    wit_bindgen::generate!({
        inline: "package file-sessions:web-app; world web-app { import file-sessions:store/store@0.2.0; }",
        path: "../../wit",
        generate_all,
    });
}

use wasi::http::types::{IncomingRequest, ResponseOutparam};

/// The component: exports `wasi:http/incoming-handler`.
struct App;

wasi::http::proxy::export!(App);

impl wasi::exports::http::incoming_handler::Guest for App {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let mut request = http::Request::new(request);
        // `/hello` is the baseline of the benchmarks: no session, no store call at all.
        let response = if request.method == "GET" && request.path == "/hello" {
            http::Response::text(200, "hello\n")
        } else {
            middleware::serve(&mut request, views::route)
        };
        http::send(response_out, response);
    }
}
