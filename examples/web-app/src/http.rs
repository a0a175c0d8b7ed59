//! `wasi:http` in and out: the request as plain values (its head read at once, its body read
//! on demand and bounded), the response written in one piece.

use wasi::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasi::io::streams::StreamError;

/// An incoming request: method, path, query and headers; the body stays in the host until
/// [`Request::body`] reads it.
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query (no route reads one).
    pub path: String,
    /// The authority the request was sent to (`host:port`, from `Host`).
    pub authority: String,
    /// The header fields, names in lower case (as wasmtime hands them over).
    headers: Vec<(String, Vec<u8>)>,
    incoming: Option<IncomingRequest>,
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the limit (declared or sent).
    TooLarge,
    /// The stream broke off (the client went away, or sent a malformed body).
    Broken,
}

impl Request {
    /// Reads the head of `incoming`.
    pub fn new(incoming: IncomingRequest) -> Request {
        let method = match incoming.method() {
            Method::Get => "GET".into(),
            Method::Head => "HEAD".into(),
            Method::Post => "POST".into(),
            Method::Put => "PUT".into(),
            Method::Delete => "DELETE".into(),
            Method::Connect => "CONNECT".into(),
            Method::Options => "OPTIONS".into(),
            Method::Trace => "TRACE".into(),
            Method::Patch => "PATCH".into(),
            Method::Other(other) => other,
        };
        let target = incoming.path_with_query().unwrap_or_else(|| "/".into());
        let path = target.split_once('?').map_or(target.as_str(), |(path, _)| path).to_owned();
        let authority = incoming.authority().unwrap_or_default();
        let headers = incoming.headers().entries().into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect();
        Request { method, path, authority, headers, incoming: Some(incoming) }
    }

    /// The first value of a header, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// Every `Cookie` header, joined as one (HTTP/1.1 sends one; HTTP/2 may split it).
    pub fn cookie_header(&self) -> String {
        let values = self.headers.iter().filter(|(n, _)| n == "cookie");
        let values: Vec<String> = values.map(|(_, v)| String::from_utf8_lossy(v).into_owned()).collect();
        values.join("; ")
    }

    /// Reads the whole body, refusing more than `limit` bytes before reading them when the
    /// request declares its length, and as soon as the limit is passed otherwise. Reads once.
    pub fn body(&mut self, limit: usize) -> Result<Vec<u8>, BodyError> {
        let declared = self.header("content-length").map(|v| v.trim().parse::<u64>());
        if matches!(declared, Some(Ok(n)) if n > limit as u64) {
            return Err(BodyError::TooLarge);
        }
        let incoming = self.incoming.take().ok_or(BodyError::Broken)?;
        let body = incoming.consume().map_err(|()| BodyError::Broken)?;
        let stream = body.stream().map_err(|()| BodyError::Broken)?;
        let mut bytes = Vec::new();
        let outcome = loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) if bytes.len() + chunk.len() > limit => break Err(BodyError::TooLarge),
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break Ok(bytes),
                Err(StreamError::LastOperationFailed(_)) => break Err(BodyError::Broken),
            }
        };
        // The stream is a child of the body: it must go first.
        drop(stream);
        drop(body);
        outcome
    }
}

/// A response, built whole before it is sent.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields, in order; names may repeat (`set-cookie`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a body of the given type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: vec![("content-type".into(), content_type.into())], body: body.into() }
    }

    /// An HTML page.
    pub fn html(status: u16, page: String) -> Response {
        Response::new(status, "text/html; charset=utf-8", page)
    }

    /// A JSON document.
    pub fn json(status: u16, text: String) -> Response {
        Response::new(status, "application/json", text)
    }

    /// `{"error": message}`.
    pub fn json_error(status: u16, message: &str) -> Response {
        Response::json(status, serde_json::json!({ "error": message }).to_string())
    }

    /// Plain text.
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", text)
    }

    /// `303 See Other` to `location` (the answer to a form post).
    pub fn see_other(location: &str) -> Response {
        Response::new(303, "text/plain; charset=utf-8", "").with_header("location", location)
    }

    /// Adds a header field.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `value` to the `Vary` header (Django's `patch_vary_headers`).
    pub fn vary(&mut self, value: &str) {
        match self.headers.iter_mut().find(|(n, _)| n == "vary") {
            Some((_, v)) if v.split(',').any(|x| x.trim().eq_ignore_ascii_case(value)) => {}
            Some((_, v)) => *v = format!("{v}, {value}"),
            None => self.headers.push(("vary".into(), value.into())),
        }
    }
}

/// Sends `response` through `out`. A response the host refuses (a header it forbids) is
/// replaced by a plain 500; a client that went away mid-body is no error of ours.
pub fn send(out: ResponseOutparam, response: Response) {
    let mut fields: Vec<(String, Vec<u8>)> =
        response.headers.iter().map(|(n, v)| (n.clone(), v.as_bytes().to_vec())).collect();
    fields.push(("content-length".into(), response.body.len().to_string().into_bytes()));
    let (status, fields, body) = match Fields::from_list(&fields) {
        Ok(fields) => (response.status, fields, response.body),
        Err(e) => {
            let body = format!("internal error: a response header was refused: {e:?}\n").into_bytes();
            let fields = vec![("content-length".to_string(), body.len().to_string().into_bytes())];
            (500, Fields::from_list(&fields).unwrap_or_else(|_| Fields::new()), body)
        }
    };
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(status);
    let Ok(outgoing_body) = outgoing.body() else { return };
    ResponseOutparam::set(out, Ok(outgoing));
    if let Ok(stream) = outgoing_body.write() {
        // `blocking-write-and-flush` takes at most 4096 bytes a call.
        for chunk in body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing_body, None);
}
