//! The bulk stream's records: what goes over the TCP connection, sender to receiver.
//!
//! ```text
//! record = len: u32 big-endian || ChaCha20-Poly1305(key, nonce = 0u32 || n: u64 BE,
//!                                                  aad = "qrchat bulk/1",
//!                                                  kind: u8 || payload)
//! ```
//! `len` counts the sealed body (kind, payload and the 16-byte tag). `n` counts records
//! from 0; record 0 is the proof (kind 0, payload [`PROOF`]); the others carry one
//! transfer message each: kind 1 a text (control) message, kind 2 a binary one (content).
//! A key seals one stream, one way, so no nonce repeats. A record's length is checked
//! before its body is read: nothing bigger than a message the data channel could carry.

use bytes::{Buf, Bytes, BytesMut};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::super::proto::{Msg, MAX_CHUNK, MAX_TEXT};

/// Bytes of a stream key.
pub const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const AAD: &[u8] = b"qrchat bulk/1";
/// The first record's payload.
pub const PROOF: &[u8] = b"qrchat bulk proof";
const KIND_PROOF: u8 = 0;
const KIND_TEXT: u8 = 1;
const KIND_BINARY: u8 = 2;
/// The largest sealed body a record may have.
pub const MAX_BODY: usize =
    1 + if MAX_CHUNK > MAX_TEXT {
        MAX_CHUNK
    } else {
        MAX_TEXT
    } + TAG_LEN;
/// The proof record's sealed body length.
pub const PROOF_BODY: usize = 1 + PROOF.len() + TAG_LEN;

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("a record of {0} bytes (at most {MAX_BODY})")]
    Length(usize),
    #[error("a record that does not open under the transfer's key")]
    Forged,
    #[error("a record of an unknown kind {0}")]
    Kind(u8),
    #[error("a first record that is not the proof")]
    NotProof,
    #[error("a text record that is not UTF-8")]
    Utf8,
}

fn nonce(n: u64) -> Nonce {
    let mut b = [0u8; 12];
    b[4..].copy_from_slice(&n.to_be_bytes());
    b.into()
}

/// Seals records in order.
pub struct Sealer {
    aead: ChaCha20Poly1305,
    next: u64,
}

impl Sealer {
    pub fn new(key: &[u8; KEY_LEN]) -> Sealer {
        Sealer {
            aead: ChaCha20Poly1305::new(Key::from_slice(key)),
            next: 0,
        }
    }

    fn seal(&mut self, kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 1 + payload.len() + TAG_LEN);
        let body = (1 + payload.len() + TAG_LEN) as u32;
        out.extend_from_slice(&body.to_be_bytes());
        out.push(kind);
        out.extend_from_slice(payload);
        let tag = self
            .aead
            .encrypt_in_place_detached(&nonce(self.next), AAD, &mut out[4..])
            .expect("a record is far below ChaCha20-Poly1305's limit");
        out.extend_from_slice(&tag);
        self.next += 1;
        out
    }

    /// The proof record (must be the first sealed).
    pub fn proof(&mut self) -> Vec<u8> {
        debug_assert_eq!(self.next, 0);
        self.seal(KIND_PROOF, PROOF)
    }

    /// A message's record.
    pub fn message(&mut self, msg: &Msg) -> Vec<u8> {
        match msg {
            Msg::Text(t) => self.seal(KIND_TEXT, t.as_bytes()),
            Msg::Binary(b) => self.seal(KIND_BINARY, b),
        }
    }
}

/// Opens records in order.
pub struct Opener {
    aead: ChaCha20Poly1305,
    next: u64,
}

/// What [`Opener::read`] got: a message, or the clean end of the stream.
pub enum Read {
    Msg(Msg),
    End,
}

impl Opener {
    pub fn new(key: &[u8; KEY_LEN]) -> Opener {
        Opener {
            aead: ChaCha20Poly1305::new(Key::from_slice(key)),
            next: 0,
        }
    }

    /// Read one record's length; None at a clean end of stream (between records).
    async fn length<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<usize>> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = r.read(&mut len[got..]).await?;
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        Ok(Some(u32::from_be_bytes(len) as usize))
    }

    fn open(&mut self, mut body: BytesMut) -> Result<(u8, BytesMut), RecordError> {
        let split = body.len() - TAG_LEN;
        let tag = Tag::clone_from_slice(&body[split..]);
        body.truncate(split);
        self.aead
            .decrypt_in_place_detached(&nonce(self.next), AAD, &mut body, &tag)
            .map_err(|_| RecordError::Forged)?;
        self.next += 1;
        let kind = body[0];
        body.advance(1);
        Ok((kind, body))
    }

    async fn body<R: AsyncRead + Unpin>(
        r: &mut R,
        len: usize,
    ) -> std::io::Result<Result<BytesMut, RecordError>> {
        if !(1 + TAG_LEN..=MAX_BODY).contains(&len) {
            return Ok(Err(RecordError::Length(len)));
        }
        let mut body = BytesMut::zeroed(len);
        r.read_exact(&mut body).await?;
        Ok(Ok(body))
    }

    /// Read and check the proof, the stream's first record. Nothing past it is read.
    pub async fn proof<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
    ) -> std::io::Result<Result<(), RecordError>> {
        let len = match Self::length(r).await? {
            Some(l) => l,
            None => return Err(std::io::ErrorKind::UnexpectedEof.into()),
        };
        if len != PROOF_BODY {
            return Ok(Err(RecordError::Length(len)));
        }
        let body = match Self::body(r, len).await? {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.open(body) {
            Ok((KIND_PROOF, p)) if p[..] == *PROOF => Ok(()),
            Ok(_) => Err(RecordError::NotProof),
            Err(e) => Err(e),
        })
    }

    /// Read the next message record (after the proof).
    pub async fn read<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
    ) -> std::io::Result<Result<Read, RecordError>> {
        let len = match Self::length(r).await? {
            Some(l) => l,
            None => return Ok(Ok(Read::End)),
        };
        let body = match Self::body(r, len).await? {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.open(body) {
            Ok((KIND_TEXT, p)) => match String::from_utf8(p.to_vec()) {
                Ok(t) => Ok(Read::Msg(Msg::Text(t))),
                Err(_) => Err(RecordError::Utf8),
            },
            Ok((KIND_BINARY, p)) => Ok(Read::Msg(Msg::Binary(Bytes::from(p)))),
            Ok((k, _)) => Err(RecordError::Kind(k)),
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(key: &[u8; KEY_LEN], bytes: &[u8]) -> (Result<(), RecordError>, Vec<Msg>) {
        let mut r = bytes;
        let mut o = Opener::new(key);
        match o.proof(&mut r).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return (Err(e), vec![]),
            Err(e) => panic!("{e}"),
        }
        let mut out = vec![];
        loop {
            match o.read(&mut r).await.unwrap() {
                Ok(Read::Msg(m)) => out.push(m),
                Ok(Read::End) => return (Ok(()), out),
                Err(e) => return (Err(e), out),
            }
        }
    }

    #[tokio::test]
    async fn records_round_trip_and_refuse_what_was_not_sealed_so() {
        let key = [7u8; KEY_LEN];
        let mut s = Sealer::new(&key);
        let mut stream = s.proof();
        let msgs = vec![
            Msg::Text("{\"t\":\"file\",\"i\":0,\"from\":0}".into()),
            Msg::Binary(Bytes::from(vec![9u8; MAX_CHUNK])),
            Msg::Binary(Bytes::new()),
        ];
        for m in &msgs {
            stream.extend(s.message(m));
        }
        assert_eq!(read_all(&key, &stream).await, (Ok(()), msgs.clone()));

        // another key (another transfer's proof): refused at the proof
        assert_eq!(
            read_all(&[8u8; KEY_LEN], &stream).await.0,
            Err(RecordError::Forged)
        );
        // a flipped bit in the second record: the first message only
        let mut bad = stream.clone();
        let at = PROOF_BODY + 4 + 4 + 3;
        bad[at] ^= 1;
        assert_eq!(read_all(&key, &bad).await.0, Err(RecordError::Forged));
        // records swapped (replayed out of order): the nonce does not match
        let mut swapped = s2_stream(&key);
        let first = 4 + PROOF_BODY;
        let r1_len = 4 + u32::from_be_bytes(swapped[first..first + 4].try_into().unwrap()) as usize;
        let r1: Vec<u8> = swapped.drain(first..first + r1_len).collect();
        swapped.extend(r1);
        let (res, got) = read_all(&key, &swapped).await;
        assert_eq!((res, got.len()), (Err(RecordError::Forged), 0));
        // a length over the limit is refused before anything is read
        let mut huge = s.proof_for_test();
        huge.extend(((MAX_BODY + 1) as u32).to_be_bytes());
        assert_eq!(
            read_all(&key, &huge).await.0,
            Err(RecordError::Length(MAX_BODY + 1))
        );
    }

    fn s2_stream(key: &[u8; KEY_LEN]) -> Vec<u8> {
        let mut s = Sealer::new(key);
        let mut v = s.proof();
        v.extend(s.message(&Msg::Text("one".into())));
        v.extend(s.message(&Msg::Text("two".into())));
        v
    }

    impl Sealer {
        fn proof_for_test(&self) -> Vec<u8> {
            Sealer::new(&[7u8; KEY_LEN]).proof()
        }
    }
}
