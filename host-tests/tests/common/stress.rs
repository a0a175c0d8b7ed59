//! Helpers of the reliability and concurrency tests (`reliability.rs`,
//! `async_concurrency.rs`, `gluster.rs`): the `RELIABILITY |` report line, a small seedable
//! random generator, self-checking payloads, looks at what a directory holds, and the
//! outcomes of a save racing a delete.

use super::signer;
use file_sessions_host::Guest;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

/// One line of the reliability report.
pub fn report(check: &str, tried: &str, held: &str) {
    for field in [check, tried, held] {
        assert!(!field.contains('|') && !field.contains('\n'), "report fields are table cells: {field}");
    }
    eprintln!("RELIABILITY | {check} | {tried} | {held}");
}

/// xorshift64*: small, seedable, good enough to pick operations and which sessions to load.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// A seed that differs between runs.
    pub fn seed() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
        h.finish()
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A valid session key (32 characters of `[a-z0-9]`).
    pub fn key(&mut self) -> String {
        (0..32).map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789"[self.below(36) as usize] as char).collect()
    }
}

/// Whether a directory entry is a temporary file of a save in progress (or an orphan).
pub fn is_temp(name: &str) -> bool {
    name.contains("_out_")
}

/// The temporary files in `dir`, sorted.
pub fn temps(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| is_temp(n))
        .collect();
    v.sort();
    v
}

/// The session a file holds, verified and decoded natively; `Err` for a file that does not
/// verify (a torn or mixed file would land here), `Ok(None)` when there is no file.
pub fn on_disk(path: &Path) -> Result<Option<Value>, String> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
            signer().loads(&text).map(Some).map_err(|e| format!("{e:?} ({} bytes)", text.len()))
        }
    }
}

pub const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Filler determined by `(writer, seq)`: a load that mixed two saves would not match it.
pub fn pad(writer: u64, seq: u64, len: usize) -> String {
    let mut r = Rng::new(writer.wrapping_mul(1_000_003) ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..len).map(|_| ALPHABET[r.below(64) as usize] as char).collect()
}

pub fn pad_len(seq: u64) -> usize {
    // Every fourth save is over 1 KiB of JSON, so stored compressed; the rest plain.
    if seq.is_multiple_of(4) { 1200 + (seq % 997) as usize } else { 8 + (seq % 61) as usize }
}

/// The data a writer saves (the whole of a shared session in `reliability.rs`, the value
/// stored under `"p"` in `async_concurrency.rs`): self-describing and self-checking.
pub fn payload(key: &str, writer: u64, seq: u64) -> Value {
    json!({"key": key, "writer": writer, "seq": seq, "pad": pad(writer, seq, pad_len(seq))})
}

/// Checks `p` (a loaded shared session, or the value under `"p"`) is one complete payload
/// for `key`; returns its author, `(writer, seq)`.
pub fn check_payload(key: &str, p: &Value) -> Result<(u64, u64), String> {
    let bad = || format!("not a complete payload for {key}: {}", p.to_string().chars().take(200).collect::<String>());
    let obj = p.as_object().ok_or_else(bad)?;
    let writer = obj.get("writer").and_then(Value::as_u64).ok_or_else(bad)?;
    let seq = obj.get("seq").and_then(Value::as_u64).ok_or_else(bad)?;
    let ok = obj.len() == 4
        && obj.get("key").and_then(Value::as_str) == Some(key)
        && obj.get("pad").and_then(Value::as_str) == Some(pad(writer, seq, pad_len(seq)).as_str());
    if ok { Ok((writer, seq)) } else { Err(bad()) }
}

/// The payloads written to each shared session, `(writer, seq)`, recorded before the save.
pub type Written = Mutex<HashMap<String, HashSet<(u64, u64)>>>;

/// `Written` for shared sessions that each hold their first payload, by writer 999.
pub fn written_for(shared: &[String]) -> Written {
    Mutex::new(shared.iter().map(|k| (k.clone(), HashSet::from([(999, 0)]))).collect())
}

/// How a save racing a delete (a logout; Django ticket #37249) ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RaceOutcome {
    /// The save saw the file gone and refused (`update-error`): the logout wins.
    Refused,
    /// The delete landed between the existence check and the rename: the save put the
    /// session back although it had been deleted.
    Resurrected,
    /// The delete came after the save published: the logout wins.
    DeletedAfter,
}

/// Classifies a save/delete pair from the save's result and what is on disk afterwards;
/// `None` when no order of the two explains it.
pub fn race_outcome(save: &Result<(), String>, file: &Option<Value>, new: &Value) -> Option<RaceOutcome> {
    match (save, file) {
        (Err(e), None) if e.starts_with("update-error") => Some(RaceOutcome::Refused),
        (Ok(()), Some(v)) if v == new => Some(RaceOutcome::Resurrected),
        (Ok(()), None) => Some(RaceOutcome::DeletedAfter),
        _ => None,
    }
}

/// Shared sessions created through `g`, each holding a payload by writer 999.
pub fn shared_sessions(g: &mut Guest, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let s = g.session(None).unwrap();
            g.create(s).unwrap();
            let k = g.session_key(s).unwrap().unwrap();
            g.update(s, &payload(&k, 999, 0).to_string()).unwrap();
            g.save(s, false).unwrap();
            g.drop_session(s).unwrap();
            k
        })
        .collect()
}

/// What is wrong with `dir` after a run, empty when nothing is: every shared session must
/// be on disk, complete, and hold a payload some writer saved (`written`); every live
/// session its data; and nothing else may be there (no temporary file, nothing lost).
pub fn final_directory_problems(
    dir: &Path,
    shared: &[String],
    written: &Written,
    live: &[(String, Value)],
) -> Vec<String> {
    let written = written.lock().unwrap();
    let file = |k: &str| dir.join(format!("sessionid{k}"));
    let mut problems = Vec::new();
    for k in shared {
        match on_disk(&file(k)) {
            Ok(Some(v)) => match check_payload(k, &v) {
                Ok(author) if written[k].contains(&author) => {}
                Ok(author) => problems.push(format!("{k} holds {author:?}, which nobody saved")),
                Err(e) => problems.push(e),
            },
            Ok(None) => problems.push(format!("shared session {k} disappeared")),
            Err(e) => problems.push(format!("shared session {k}: {e}")),
        }
    }
    for (k, data) in live {
        match on_disk(&file(k)) {
            Ok(Some(v)) if &v == data => {}
            other => problems.push(format!("live session {k}: expected {data}, found {other:?}")),
        }
    }
    let mut expected: Vec<String> =
        shared.iter().chain(live.iter().map(|(k, _)| k)).map(|k| format!("sessionid{k}")).collect();
    expected.sort();
    let mut found: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    found.sort();
    if found != expected {
        let extra: Vec<&String> = found.iter().filter(|n| !expected.contains(n)).collect();
        let missing: Vec<&String> = expected.iter().filter(|n| !found.contains(n)).collect();
        problems.push(format!(
            "the directory should hold exactly the live sessions: {} extra ({extra:?}), {} missing ({missing:?})",
            extra.len(),
            missing.len()
        ));
    }
    problems
}
