//! File helpers both directions share: hashing, whole reads, the blocking pool.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use sha2::Digest;

use super::proto::Sha256;
use super::TransferError;

pub(super) fn sha(h: &sha2::Sha256) -> Sha256 {
    Sha256(h.clone().finalize().into())
}

/// Read until `buf` is full or the file ends.
pub(super) fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Hash the first `len` bytes of `f` (from its start). None if it is shorter.
pub(super) fn hash_prefix(f: &mut File, len: u64) -> io::Result<Option<sha2::Sha256>> {
    f.seek(SeekFrom::Start(0))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = read_full(f, &mut buf[..want])?;
        if n == 0 {
            return Ok(None);
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(Some(h))
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TransferError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TransferError::Wire(io::Error::other(e.to_string())))
}
