//! Test data for the benches (included with `#[path]`; not a bench of its own).

use std::io::Write;
use std::path::Path;

/// A file of `bytes` pseudo-random bytes (xorshift from `seed`), written 1 MiB at a time so
/// a file of gigabytes needs no more memory than that.
pub fn make_file(p: &Path, bytes: u64, seed: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(p).unwrap());
    let mut x: u64 = seed;
    let mut block = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        for b in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
}
