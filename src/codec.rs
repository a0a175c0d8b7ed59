//! Django's signed session format (`django.core.signing.dumps(..., compress=True)` with a
//! `TimestampSigner` salted for `django.contrib.sessions.SessionStore`):
//!
//! ```text
//! ["."] base64url_nopad(json or zlib(json)) ":" base62(unix_time) ":" base64url_nopad(hmac)
//! ```
//!
//! JSON is written ASCII-only, escaped exactly as Python's `json.dumps(ensure_ascii=True)`,
//! and read back as latin-1, as Django does.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::{OnceCell, RefCell};
use subtle::ConstantTimeEq;

/// The salt Django uses for every built-in session store class called `SessionStore`.
pub const SALT: &str = "django.contrib.sessions.SessionStore";

/// JSON shorter than this is stored uncompressed (see [`Signer::dumps`]).
pub const COMPRESS_MIN_BYTES: usize = 1024;

/// Largest session JSON read or written (after inflating, before base64). A parsed JSON
/// value can take some 40 times its text in memory (long lists of small numbers), so this
/// keeps any load well inside the host's 64 MiB memory cap. Django has no cap (for
/// compressed payloads the signature check is its only zip-bomb guard).
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// Deepest nesting of arrays and objects stored, the session object included: serde_json
/// refuses deeper text when reading (its recursion limit), so deeper data is refused when
/// writing instead of being written and then lost.
pub const MAX_DEPTH: usize = 127;

/// Most values (array elements, object members, containers) in one session. A parsed
/// value takes up to a few hundred bytes of memory (a one-element list is a 32-byte value
/// plus a 128-byte vector), so this, not the text size, is what bounds memory per load:
/// 1 MiB of `[0],[0],...` would need some 64 MiB.
pub const MAX_VALUES: usize = 100_000;

/// An upper bound on the number of values in JSON text: its `[`, `{` and `,` outside
/// strings. One linear scan, cheap next to parsing.
pub fn count_values(text: &str) -> usize {
    let (mut count, mut in_string, mut escaped) = (1, false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' | b',' => count += 1,
                _ => {}
            }
        }
    }
    count
}

/// Why data cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The JSON would be larger than [`MAX_JSON_BYTES`] (its size is given).
    TooLarge(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_VALUES`] values.
    TooMany,
}

type HmacSha256 = Hmac<Sha256>;

/// Why a signed value did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// No `:` at all, or no key's signature matches (Django's `BadSignature`).
    BadSignature,
    /// The signature is valid but what it covers does not parse.
    Malformed(&'static str),
}

/// Signs and verifies with `SECRET_KEY` and the `SECRET_KEY_FALLBACKS`.
///
/// The HMAC keys are derived once, on the first signature or check (an instance that only
/// answers `exists` or `delete` never derives them). It has no `Debug`, so the secrets
/// cannot end up in a log line by accident.
pub struct Signer {
    /// `[SECRET_KEY, *SECRET_KEY_FALLBACKS]`, in that order, until the keys are derived.
    secrets: Vec<String>,
    /// Keyed HMAC states, one per secret, in the same order.
    macs: OnceCell<Vec<HmacSha256>>,
    /// One zlib deflater (level 6, as CPython's default), reused: its tables are far
    /// larger than a session, so building them per save would dominate the save.
    deflater: RefCell<Option<Box<CompressorOxide>>>,
}

impl Signer {
    /// A signer for `secret`, also accepting (never signing with) `fallbacks`.
    pub fn new(secret: &str, fallbacks: &[String]) -> Signer {
        let secrets = std::iter::once(secret.to_owned()).chain(fallbacks.iter().cloned()).collect();
        Signer { secrets, macs: OnceCell::new(), deflater: RefCell::new(None) }
    }

    /// The keyed HMAC states, derived on first use.
    fn macs(&self) -> &[HmacSha256] {
        self.macs.get_or_init(|| {
            self.secrets
                .iter()
                .map(|s| HmacSha256::new_from_slice(&derive_key(s)).expect("HMAC accepts any key length"))
                .collect()
        })
    }

    /// zlib-compresses `input` with the reused deflater; `None` if miniz reports a failure.
    fn deflate(&self, mut input: &[u8]) -> Option<Vec<u8>> {
        let mut slot = self.deflater.borrow_mut();
        let deflater =
            slot.get_or_insert_with(|| Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(6, 1, 0))));
        deflater.reset();
        let mut output = vec![0; (input.len() / 2).max(64)];
        let mut at = 0;
        loop {
            let (status, read, written) = compress(deflater, input, &mut output[at..], TDEFLFlush::Finish);
            at += written;
            match status {
                TDEFLStatus::Done => {
                    output.truncate(at);
                    return Some(output);
                }
                TDEFLStatus::Okay if read <= input.len() => {
                    input = &input[read..];
                    if output.len() - at < 64 {
                        output.resize(output.len() * 2, 0);
                    }
                }
                _ => return None,
            }
        }
    }

    /// `Signer.signature(value)` with `SECRET_KEY`: 43 characters of unpadded base64url.
    pub fn signature(&self, value: &str) -> String {
        signature_with(&self.macs()[0], value)
    }

    /// `signing.dumps(obj, salt=SALT, compress=True)` at `timestamp` (Unix seconds).
    pub fn dumps<T: serde::Serialize + ?Sized>(&self, obj: &T, timestamp: i64) -> String {
        self.sign_json(&serialize(obj).0, timestamp)
    }

    /// [`dumps`](Self::dumps), refusing what could not be read back: JSON over
    /// [`MAX_JSON_BYTES`] or nested deeper than [`MAX_DEPTH`].
    pub fn dumps_checked<T: serde::Serialize + ?Sized>(&self, obj: &T, timestamp: i64) -> Result<String, EncodeError> {
        let (json, depth, values) = serialize(obj);
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooDeep);
        }
        if values > MAX_VALUES {
            return Err(EncodeError::TooMany);
        }
        if json.len() > MAX_JSON_BYTES {
            return Err(EncodeError::TooLarge(json.len()));
        }
        Ok(self.sign_json(&json, timestamp))
    }

    fn sign_json(&self, json: &[u8], timestamp: i64) -> String {
        let mut out = String::with_capacity(json.len() * 4 / 3 + 60);
        // Django compresses whenever that saves at least 2 bytes; setting up a deflater
        // costs far more than a small session, and Django reads either form, so small
        // sessions are stored as they are. Larger ones follow Django's rule.
        let compressed = (json.len() >= COMPRESS_MIN_BYTES).then(|| self.deflate(json)).flatten();
        match compressed {
            Some(z) if z.len() < json.len() - 1 => {
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(&z, &mut out);
            }
            _ => URL_SAFE_NO_PAD.encode_string(json, &mut out),
        }
        out.push(':');
        out.push_str(&b62_encode(timestamp));
        let sig = self.signature(&out);
        out.push(':');
        out.push_str(&sig);
        out
    }

    /// `signing.loads(text, salt=SALT)`: verifies against every key, then decodes.
    /// The timestamp is parsed but not checked (sessions pass no `max_age`).
    pub fn loads(&self, text: &str) -> Result<Value, DecodeError> {
        let value = self.unsign(text)?;
        let (payload, timestamp) = value.rsplit_once(':').ok_or(DecodeError::Malformed("no timestamp"))?;
        if !b62_is_valid(timestamp) {
            return Err(DecodeError::Malformed("bad timestamp"));
        }
        let (compressed, payload) = match payload.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, payload),
        };
        let mut data = b64_decode_lenient(payload).ok_or(DecodeError::Malformed("bad base64"))?;
        if compressed {
            data = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&data, MAX_JSON_BYTES)
                .map_err(|_| DecodeError::Malformed("bad or oversized zlib stream"))?;
        } else if data.len() > MAX_JSON_BYTES {
            return Err(DecodeError::Malformed("oversized payload"));
        }
        // Django decodes the JSON bytes as latin-1 (every byte is one character); for ASCII,
        // which is all Django ever writes, that is the bytes as they are.
        let text = if data.is_ascii() {
            String::from_utf8(data).expect("ASCII is UTF-8")
        } else {
            data.iter().map(|&b| b as char).collect()
        };
        if count_values(&text) > MAX_VALUES {
            return Err(DecodeError::Malformed("too many values"));
        }
        serde_json::from_str(&text)
            .or_else(|_| serde_json::from_str(&python_json_to_strict(&text)?))
            .map_err(|_| DecodeError::Malformed("bad JSON"))
    }

    /// `Signer.unsign`: the signed value, if any key's signature matches as text.
    fn unsign<'a>(&self, text: &'a str) -> Result<&'a str, DecodeError> {
        let (value, sig) = text.rsplit_once(':').ok_or(DecodeError::BadSignature)?;
        // Compared as text, in constant time: a signature differing only in the unused low
        // bits of its last character decodes to the same MAC but is still rejected.
        let matches =
            self.macs().iter().any(|mac| bool::from(signature_with(mac, value).as_bytes().ct_eq(sig.as_bytes())));
        if matches { Ok(value) } else { Err(DecodeError::BadSignature) }
    }
}

/// Python's `json` also writes what strict JSON (and Rust strings) cannot hold: the bare
/// tokens `NaN`, `Infinity`, `-Infinity` (`allow_nan=True`) and unpaired UTF-16 surrogate
/// escapes. Rather than lose a whole session over one such value, they become `null` and
/// U+FFFD. Runs only when strict parsing failed; `Err` when there was nothing to mend.
fn python_json_to_strict(text: &str) -> Result<String, serde_json::Error> {
    let nothing_to_mend = || serde_json::from_str::<Value>("!").unwrap_err();
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut in_string, mut mended) = (0, false, false);
    // A `\uXXXX` escape at `at`, as its code unit.
    let unit_at = |at: usize| -> Option<u16> {
        let hex = text.get(at + 2..at + 6)?;
        (b[at] == b'\\' && b[at + 1] == b'u').then(|| u16::from_str_radix(hex, 16).ok()).flatten()
    };
    while i < b.len() {
        if in_string {
            match b[i] {
                b'"' => in_string = false,
                b'\\' => {
                    if let Some(unit) = unit_at(i) {
                        let high = (0xD800..0xDC00).contains(&unit);
                        let low = (0xDC00..0xE000).contains(&unit);
                        let paired = high && unit_at(i + 6).is_some_and(|u| (0xDC00..0xE000).contains(&u));
                        if paired {
                            out.push_str(&text[i..i + 12]);
                            i += 12;
                            continue;
                        }
                        if high || low {
                            out.push_str("\\ufffd");
                            mended = true;
                            i += 6;
                            continue;
                        }
                    }
                    // Any other escape: copy the backslash and the character after it.
                    out.push('\\');
                    i += 1;
                    if let Some(ch) = text[i..].chars().next() {
                        out.push(ch);
                        i += ch.len_utf8();
                    }
                    continue;
                }
                _ => {}
            }
        } else if b[i] == b'"' {
            in_string = true;
        } else if let Some(token) = ["-Infinity", "Infinity", "NaN"].iter().find(|t| text[i..].starts_with(**t)) {
            out.push_str("null");
            mended = true;
            i += token.len();
            continue;
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    if mended { Ok(out) } else { Err(nothing_to_mend()) }
}

/// `salted_hmac`'s key: `sha256(SALT + "signer" + secret)`.
pub fn derive_key(secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SALT.as_bytes());
    h.update(b"signer");
    h.update(secret.as_bytes());
    h.finalize().into()
}

fn signature_with(mac: &HmacSha256, value: &str) -> String {
    let mut mac = mac.clone();
    mac.update(value.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Python's `base64.urlsafe_b64decode(s + padding)`: characters outside the alphabet are
/// dropped, and unused trailing bits are ignored.
fn b64_decode_lenient(s: &str) -> Option<Vec<u8>> {
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let valid = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    if s.as_bytes().iter().all(valid) {
        return LENIENT.decode(s).ok(); // what Django and we write: nothing to drop
    }
    let clean: Vec<u8> = s.bytes().filter(valid).collect();
    LENIENT.decode(clean).ok()
}

const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Django's `b62_encode`.
pub fn b62_encode(n: i64) -> String {
    if n == 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    let mut m = n.unsigned_abs();
    while m > 0 {
        digits.push(B62[(m % 62) as usize]);
        m /= 62;
    }
    if n < 0 {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII")
}

/// Django's `b62_decode`; `None` where Python raises. Saturates instead of growing without
/// bound (Python integers do not overflow; sessions never check the value).
pub fn b62_decode(s: &str) -> Option<i64> {
    if !b62_is_valid(s) {
        return None;
    }
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s),
    };
    let mut n: i64 = 0;
    for d in digits.bytes() {
        let v = B62.iter().position(|&c| c == d)? as i64;
        n = n.saturating_mul(62).saturating_add(v);
    }
    Some(sign * n)
}

/// Whether Python's `b62_decode` accepts `s`: not empty, an optional `-`, then base62
/// digits (a lone `-` decodes to 0).
fn b62_is_valid(s: &str) -> bool {
    !s.is_empty() && s.strip_prefix('-').unwrap_or(s).bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `json.dumps(obj, separators=(",", ":"))` with Python's defaults: insertion order,
/// `ensure_ascii` escaping (lowercase `\uXXXX`, surrogate pairs above the BMP).
pub fn to_ascii_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serialize(value).0
}

/// [`to_ascii_json`], the nesting depth it reached and its number of values (counted as
/// [`count_values`] counts them).
fn serialize<T: serde::Serialize + ?Sized>(value: &T) -> (Vec<u8>, usize, usize) {
    let mut out = Vec::with_capacity(256);
    let mut formatter = AsciiFormatter { depth: 0, max_depth: 0, values: 1 };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, &mut formatter);
    // Writing JSON values into memory cannot fail (their keys are strings).
    let _ = serde::Serialize::serialize(value, &mut ser);
    (out, formatter.max_depth, formatter.values)
}

/// serde_json's compact formatter, plus Python's `ensure_ascii`. serde_json already writes
/// `"`, `\` and control characters as Python does (`\n`, `\u001f`, ...); what reaches
/// `write_string_fragment` unescaped is printable ASCII or what lies beyond it. It also
/// measures the nesting depth on the way, for free.
struct AsciiFormatter {
    depth: usize,
    max_depth: usize,
    values: usize,
}

impl AsciiFormatter {
    fn open<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.values += 1;
        self.max_depth = self.max_depth.max(self.depth);
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        writer.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for &mut AsciiFormatter {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            self.values += 1;
            writer.write_all(b",")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            self.values += 1;
            writer.write_all(b",")
        }
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if ch < '\u{7f}' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "test-secret-key-for-interop";
    const T: i64 = 1_700_000_000;

    fn signer() -> Signer {
        Signer::new(SECRET, &[])
    }

    #[test]
    fn derived_key_matches_django() {
        let hex: String = derive_key(SECRET).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "0591b503eb21ade6b4c850ed85cc63cddf78fc039716086006180b1513a230d4");
    }

    #[test]
    fn vector_a_plain() {
        let s = signer().dumps(&json!({"a": 1, "b": "x"}), T);
        assert_eq!(s, "eyJhIjoxLCJiIjoieCJ9:1r31eq:azidLjTrsK1-Uo9pGmXo1naQzJiqdq1yn2odSvBspHU");
        let later = signer().dumps(&json!({"a": 1, "b": "x"}), 1_795_671_208);
        assert_eq!(later, "eyJhIjoxLCJiIjoieCJ9:1xWS6q:kEGwcmpD1wnOZ408o_rSjKbMPXfbm6d20zb3rNaEPJA");
    }

    #[test]
    fn vector_b_compressed_reads_and_ours_verify() {
        let django = ".eJyrVkrKTFeyUkpMSh5FRCKlWgAxkXXF:1r31eq:1OfF35hLh0vaS1p5ku3bJHk1pyrIHhAnxZwDB6xuHHc";
        let big = json!({"big": "abc".repeat(100)});
        assert_eq!(signer().loads(django).unwrap(), big);
        // 310 bytes of JSON: below our compression threshold, so stored as it is.
        let ours = signer().dumps(&big, T);
        assert!(ours.starts_with("eyJ"), "{ours}");
        assert_eq!(signer().loads(&ours).unwrap(), big);
        // From 1 KiB on, Django's rule: compressed when it saves 2 bytes or more.
        let bigger = json!({"big": "abc".repeat(400)});
        let ours = signer().dumps(&bigger, T);
        assert!(ours.starts_with(".eJ"), "{ours}");
        assert_eq!(signer().loads(&ours).unwrap(), bigger);
    }

    #[test]
    fn vector_c_empty_and_non_ascii() {
        assert_eq!(signer().dumps(&json!({}), T), "e30:1r31eq:nn-A8zQqnvM6z6Q7BekE8wGpTP8S1in84s-PEKlDllo");
        assert_eq!(
            signer().dumps(&json!({"u": "é☃"}), T),
            "eyJ1IjoiXHUwMGU5XHUyNjAzIn0:1r31eq:Bo_Gomy1Os9gNPhc5duHXTQ8v3R-xGHYOgX1N1I6HLA"
        );
    }

    #[test]
    fn escaping_is_pythons_ensure_ascii() {
        let v = json!({"k": "\u{7f}\u{80}é😀\"\\/\n\r\t\u{8}\u{c}\u{1}\u{1f} ~"});
        assert_eq!(
            String::from_utf8(to_ascii_json(&v)).unwrap(),
            r#"{"k":"\u007f\u0080\u00e9\ud83d\ude00\"\\/\n\r\t\b\f\u0001\u001f ~"}"#
        );
        // Keys too, and insertion order is kept. Numbers keep their text (arbitrary
        // precision), with the exponent sign written as Python writes it.
        let v: Value = serde_json::from_str(r#"{"z":1,"é":[true,null,1.5,-0.0,1e16,1180591620717411303424]}"#).unwrap();
        assert_eq!(
            String::from_utf8(to_ascii_json(&v)).unwrap(),
            r#"{"z":1,"\u00e9":[true,null,1.5,-0.0,1e+16,1180591620717411303424]}"#
        );
    }

    #[test]
    fn compression_threshold() {
        // Below 1 KiB never compressed (Django would compress most of these).
        for n in [0, 20, 100, 500, 1000 - 10] {
            let v = json!({ "k": "a".repeat(n) });
            assert!(to_ascii_json(&v).len() < COMPRESS_MIN_BYTES);
            assert!(!signer().dumps(&v, T).starts_with('.'), "n={n}");
        }
        // From 1 KiB on, Django's rule: compressed when that saves at least 2 bytes; the
        // reused deflater gives the same stream as a fresh one every time.
        let s = signer();
        // (Printable ASCII always saves something under Huffman coding, so every JSON of
        // that size is compressed in practice.)
        for n in [1100, 3000, 1100, 20_000] {
            let text: String = (0..n).map(|i| char::from(b'!' + ((i * 7919 + i / 3) % 90) as u8)).collect();
            let v = json!({ "k": text });
            let json = to_ascii_json(&v);
            let z = miniz_oxide::deflate::compress_to_vec_zlib(&json, 6);
            assert_eq!(s.deflate(&json).unwrap(), z);
            let signed = s.dumps(&v, T);
            assert_eq!(signed.starts_with('.'), z.len() + 1 < json.len(), "n={n}");
            assert_eq!(s.loads(&signed).unwrap(), v);
        }
    }

    #[test]
    fn base62_round_trips_and_matches_django() {
        assert_eq!(b62_encode(T), "1r31eq");
        assert_eq!(b62_encode(0), "0");
        assert_eq!(b62_encode(61), "z");
        assert_eq!(b62_encode(62), "10");
        assert_eq!(b62_encode(-62), "-10");
        for n in [0, 1, 61, 62, T, -T, i64::MAX, i64::MIN + 1] {
            assert_eq!(b62_decode(&b62_encode(n)), Some(n));
        }
        assert_eq!(b62_decode("-"), Some(0));
        assert_eq!(b62_decode(""), None);
        assert_eq!(b62_decode("1r3!eq"), None);
    }

    #[test]
    fn fallback_keys_verify_but_never_sign() {
        let old = Signer::new("old-secret", &[]);
        let rotated = Signer::new("new-secret", &["old-secret".to_owned()]);
        let signed_old = old.dumps(&json!({"a": 1}), T);
        assert_eq!(rotated.loads(&signed_old).unwrap(), json!({"a": 1}));
        assert_eq!(Signer::new("new-secret", &[]).loads(&signed_old), Err(DecodeError::BadSignature));
        // Signing always uses the current key.
        let signed_new = rotated.dumps(&json!({"a": 1}), T);
        assert_eq!(old.loads(&signed_new), Err(DecodeError::BadSignature));
    }

    #[test]
    fn pad_bits_and_trailing_bytes_are_rejected() {
        let good = "eyJhIjoxLCJiIjoieCJ9:1r31eq:azidLjTrsK1-Uo9pGmXo1naQzJiqdq1yn2odSvBspHU";
        assert!(signer().loads(good).is_ok());
        // 'U' = 20 = 0b010100; the last character carries 4 data bits and 2 unused bits,
        // so 'V' (21) and 'W' (22) decode to the same MAC bytes. Django compares text.
        for tampered in ["V", "W", "X"] {
            let s = format!("{}{}", &good[..good.len() - 1], tampered);
            assert_eq!(signer().loads(&s), Err(DecodeError::BadSignature), "{s}");
        }
        for s in [format!("{good}\n"), format!(" {good}"), format!("{good} ")] {
            assert_eq!(signer().loads(&s), Err(DecodeError::BadSignature));
        }
        assert_eq!(signer().loads("no colon at all"), Err(DecodeError::BadSignature));
        assert_eq!(signer().loads("bad:encoded:value"), Err(DecodeError::BadSignature));
        assert_eq!(signer().loads(""), Err(DecodeError::BadSignature));
    }

    #[test]
    fn signed_garbage_is_malformed_not_a_panic() {
        let sign = |value: &str| format!("{value}:{}", signer().signature(value));
        assert!(matches!(signer().loads(&sign("nocolon")), Err(DecodeError::Malformed(_))));
        assert!(matches!(signer().loads(&sign("e30:")), Err(DecodeError::Malformed(_))));
        assert!(matches!(signer().loads(&sign("e30:1r3$eq")), Err(DecodeError::Malformed(_))));
        assert!(matches!(signer().loads(&sign("a:1r31eq")), Err(DecodeError::Malformed(_))));
        assert!(matches!(signer().loads(&sign(".e30:1r31eq")), Err(DecodeError::Malformed(_))));
        assert!(matches!(signer().loads(&sign("bm90IGpzb24:1r31eq")), Err(DecodeError::Malformed(_))));
        // A signed non-object still decodes: Django's decode() returns it as is.
        assert_eq!(signer().loads(&sign("WzEsMl0:1r31eq")).unwrap(), json!([1, 2]));
    }

    #[test]
    fn payload_bytes_are_latin1() {
        // Raw UTF-8 "é" (c3 a9) written by a non-Django writer reads as "Ã©", as in Django.
        let payload = URL_SAFE_NO_PAD.encode("{\"u\":\"\u{e9}\"}".as_bytes());
        let value = format!("{payload}:1r31eq");
        let s = format!("{value}:{}", signer().signature(&value));
        assert_eq!(signer().loads(&s).unwrap(), json!({"u": "Ã©"}));
    }

    #[test]
    fn python_only_json_is_mended_not_dropped() {
        let sign_json = |json: &str| {
            let value = format!("{}:1r31eq", URL_SAFE_NO_PAD.encode(json));
            format!("{value}:{}", signer().signature(&value))
        };
        let s = sign_json(
            r#"{"id":42,"x":NaN,"y":-Infinity,"z":[Infinity],"s":"NaN \ud800 \"","p":"\ud83d\ude00","l":"\udc00b"}"#,
        );
        assert_eq!(
            signer().loads(&s).unwrap(),
            json!({"id": 42, "x": null, "y": null, "z": [null], "s": "NaN \u{fffd} \"", "p": "😀", "l": "\u{fffd}b"})
        );
        // Still malformed when there is nothing to mend, and never a panic on odd input.
        assert!(matches!(signer().loads(&sign_json("{nope")), Err(DecodeError::Malformed(_))));
        for odd in ["\"\\\u{e9}NaN", "NaN\"\\", "\"\\u12", "\"\\ud800\\u", "[NaN,\"\\\u{ff}\\udc00"] {
            assert!(signer().loads(&sign_json(odd)).is_err(), "{odd:?}");
        }
    }

    #[test]
    fn what_cannot_be_read_back_is_not_written() {
        let nest = |depth: usize| -> Value {
            serde_json::from_str(&format!("{}{}", "[".repeat(depth), "]".repeat(depth))).unwrap()
        };
        // The session object plus 126 levels: the deepest that loads again.
        let ok = json!({ "deep": nest(MAX_DEPTH - 1) });
        let signed = signer().dumps_checked(&ok, T).unwrap();
        assert_eq!(signer().loads(&signed).unwrap(), ok);
        let deep = json!({ "deep": nest(MAX_DEPTH) });
        assert_eq!(signer().dumps_checked(&deep, T), Err(EncodeError::TooDeep));
        assert!(signer().loads(&signer().dumps(&deep, T)).is_err(), "indeed unreadable");
        // Size: at most MAX_JSON_BYTES of JSON, compressed or not.
        let big = json!({ "k": "a".repeat(MAX_JSON_BYTES) });
        assert!(matches!(signer().dumps_checked(&big, T), Err(EncodeError::TooLarge(_))));
        let fits = json!({ "k": "a".repeat(MAX_JSON_BYTES - 20) });
        let signed = signer().dumps_checked(&fits, T).unwrap();
        assert_eq!(signer().loads(&signed).unwrap(), fits);
        // Values: counted alike when writing and when reading.
        let many = json!({ "a": vec![json!([0]); MAX_VALUES / 2] });
        assert_eq!(count_values(&String::from_utf8(to_ascii_json(&many)).unwrap()), MAX_VALUES + 2);
        assert_eq!(signer().dumps_checked(&many, T), Err(EncodeError::TooMany));
        let unsigned = signer().dumps(&many, T);
        assert_eq!(signer().loads(&unsigned), Err(DecodeError::Malformed("too many values")));
        let fewer = json!({ "a": vec![json!([0]); MAX_VALUES / 2 - 2] });
        assert_eq!(signer().loads(&signer().dumps_checked(&fewer, T).unwrap()).unwrap(), fewer);
        assert_eq!(count_values(r#"{"a":"[,{,\"x","b":[1,{}]}"#), 6); // 5 outside strings, plus 1
        // Uncompressed payloads over the cap are refused on reading too.
        let value = format!("{}:1r31eq", URL_SAFE_NO_PAD.encode(to_ascii_json(&big)));
        let s = format!("{value}:{}", signer().signature(&value));
        assert!(matches!(signer().loads(&s), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn zip_bomb_is_capped() {
        let huge = vec![b' '; MAX_JSON_BYTES + 10];
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&huge, 9);
        let value = format!(".{}:1r31eq", URL_SAFE_NO_PAD.encode(&z));
        let s = format!("{value}:{}", signer().signature(&value));
        assert!(matches!(signer().loads(&s), Err(DecodeError::Malformed(_))));
    }
}
