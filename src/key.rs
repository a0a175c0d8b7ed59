//! Session keys: Django's validation rules and CSPRNG generation.

/// Django's `VALID_KEY_CHARS`: lowercase only, so keys stay distinct on case-insensitive
/// filesystems.
pub const VALID_KEY_CHARS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Length of generated keys (about 165 bits of entropy).
pub const KEY_LENGTH: usize = 32;

/// Django's `_validate_session_key`: a key is kept only if it has at least 8 characters;
/// anything shorter means "no key". Characters are checked later, when a path is built.
pub fn validated(key: Option<String>) -> Option<String> {
    key.filter(|k| k.chars().count() >= 8)
}

/// The character check of `_key_to_file`: every character is in `[a-z0-9]`. This is also
/// what rules out traversal (`/`, `\`, `.`) before any path is built.
pub fn has_valid_chars(key: &str) -> bool {
    key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A new random key: 32 characters from `[a-z0-9]`, drawn from the CSPRNG (wasi:random
/// in the component).
pub fn generate() -> Result<String, getrandom::Error> {
    random_string(KEY_LENGTH, VALID_KEY_CHARS)
}

/// Alphabet of the random part of temporary file names (as `tempfile.mkstemp` uses).
const TEMP_CHARS: &[u8; 37] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

/// The random suffix of a temporary file name: 8 characters from `[a-z0-9_]`.
pub fn temp_suffix() -> Result<String, getrandom::Error> {
    random_string(8, TEMP_CHARS)
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_string(len: usize, alphabet: &[u8]) -> Result<String, getrandom::Error> {
    let n = alphabet.len();
    let limit = 256 - 256 % n; // bytes at or above this would bias the draw
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for &b in buf.iter().filter(|&&b| (b as usize) < limit) {
            if out.len() == len {
                break;
            }
            out.push(alphabet[b as usize % n] as char);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rule_matches_django() {
        assert_eq!(validated(None), None);
        assert_eq!(validated(Some(String::new())), None);
        assert_eq!(validated(Some("1234567".into())), None);
        assert_eq!(validated(Some("12345678".into())).as_deref(), Some("12345678"));
        // Characters are not checked at assignment, only when a path is built.
        assert_eq!(validated(Some("a/b/c/d/e".into())).as_deref(), Some("a/b/c/d/e"));
        // Python counts code points, not bytes.
        assert_eq!(validated(Some("ééééééé".into())), None);
    }

    #[test]
    fn charset_rejects_traversal_and_uppercase() {
        for bad in ["a/b/c", "a\\b\\c", "..", "abc.def", "ABCDEFGH", "abc\0defg", "abcdefgé", "ａbcdefgh"] {
            assert!(!has_valid_chars(bad), "{bad:?}");
        }
        assert!(has_valid_chars("abcdefgh0123456789"));
        assert!(has_valid_chars("")); // as in Django: the empty set is a subset
    }

    #[test]
    fn generated_keys_are_valid_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), KEY_LENGTH);
        assert!(has_valid_chars(&a));
        assert_ne!(a, b);
        let s = temp_suffix().unwrap();
        assert_eq!(s.len(), 8);
        assert!(s.bytes().all(|c| TEMP_CHARS.contains(&c)));
    }

    #[test]
    fn draws_cover_the_whole_alphabet() {
        let mut seen = [false; 36];
        for _ in 0..50 {
            for c in generate().unwrap().bytes() {
                seen[VALID_KEY_CHARS.iter().position(|&x| x == c).unwrap()] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }
}
