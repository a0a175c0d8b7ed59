//! zlib streams built by hand, for files a compressor would never write: stored blocks
//! (valid zlib without a compressor) and bombs (a tiny stream inflating to a huge one).

const MOD_ADLER: u64 = 65521;

/// Adler-32 state after `bytes`.
fn adler_update((a, b): (u64, u64), bytes: &[u8]) -> (u64, u64) {
    let (mut a, mut b) = (a, b);
    for chunk in bytes.chunks(4096) {
        for &x in chunk {
            a += u64::from(x);
            b += a;
        }
        a %= MOD_ADLER;
        b %= MOD_ADLER;
    }
    (a, b)
}

/// Adler-32 state after `n` copies of byte `c`, in closed form.
fn adler_repeat((a, b): (u64, u64), c: u8, n: u64) -> (u64, u64) {
    let (c, n) = (u128::from(c), u128::from(n));
    let m = u128::from(MOD_ADLER);
    let a2 = (u128::from(a) + n * c) % m;
    let b2 = (u128::from(b) + n * u128::from(a) + c * (n * (n + 1) / 2)) % m;
    (a2 as u64, b2 as u64)
}

/// zlib with stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(65_535).collect() };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (a, b) = adler_update((1, 0), data);
    out.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    out
}

/// A zlib stream (fixed-Huffman deflate built by hand) inflating to `{"a":"<n spaces>"}`
/// with `n` about `size`: valid, checksum included, about 1:159.
pub fn zlib_bomb(size: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, len: u32) {
            self.acc |= value << self.n;
            self.n += len;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, len: u32) {
            let reversed = (0..len).fold(0, |r, i| r | ((code >> i) & 1) << (len - 1 - i));
            self.put(reversed, len);
        }
        fn literal(&mut self, b: u8) {
            self.code(0x30 + u64::from(b), 8);
        }
    }
    let repeats = size / 258;
    let mut bits = Bits { out: Vec::with_capacity((repeats * 13 / 8 + 64) as usize), acc: 0, n: 0 };
    bits.out.extend_from_slice(&[0x78, 0x01]);
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // fixed Huffman codes
    let head = br#"{"a":" "#;
    for &b in head {
        bits.literal(b);
    }
    // Length 258 (symbol 285, 8-bit code 0xc5) then distance 1 (5-bit code 0), both
    // sent most significant bit first: one 13-bit group, least significant bit first.
    let group = (0..8).fold(0u64, |r, i| r | ((0xc5u64 >> i) & 1) << (7 - i));
    for _ in 0..repeats {
        bits.put(group, 13);
    }
    let tail = br#""}"#;
    for &b in tail {
        bits.literal(b);
    }
    bits.code(0, 7); // end of block
    bits.put(0, 7); // to a byte boundary
    let mut out = bits.out;
    let state = adler_update((1, 0), head);
    let state = adler_repeat(state, b' ', repeats * 258);
    let (a, b) = adler_update(state, tail);
    out.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    out
}
