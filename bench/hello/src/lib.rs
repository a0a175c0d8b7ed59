//! The smallest `wasi:http` handler: every request gets `200 hello`. `sessions bench-http`
//! serves it on each wasm host to show what a request costs there before any work. Like the
//! web app, it says how many requests its instance has handled (`x-instance-requests`).

use std::sync::atomic::{AtomicU64, Ordering};
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Hello;

/// Requests this instance has handled, the current one included.
static INSTANCE_REQUESTS: AtomicU64 = AtomicU64::new(0);

wasi::http::proxy::export!(Hello);

impl wasi::exports::http::incoming_handler::Guest for Hello {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        const BODY: &[u8] = b"hello\n";
        let handled = INSTANCE_REQUESTS.fetch_add(1, Ordering::Relaxed) + 1;
        let fields = [
            ("x-instance-requests".to_owned(), handled.to_string().into_bytes()),
            ("content-type".to_owned(), b"text/plain; charset=utf-8".to_vec()),
            ("content-length".to_owned(), BODY.len().to_string().into_bytes()),
        ];
        let Ok(headers) = Fields::from_list(&fields) else { return };
        let response = OutgoingResponse::new(headers);
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(BODY);
        }
        let _ = OutgoingBody::finish(body, None);
    }
}
