//! Errors of the blob codec: one variant per wrong input, each message says what to do.

use super::SdpKind;

/// Why a pasted or scanned code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the code is empty: paste or scan the other side's code")]
    Empty,
    #[error("the text is too long to be a qrchat code ({len} bytes, at most {max}): paste only the other side's code")]
    TooLong { len: usize, max: usize },
    #[error("this is not a qrchat code (it does not start like one): scan or paste the code qrchat shows on the other side")]
    NotQrchat,
    #[error("this code was made by a newer qrchat (unknown format version): update qrchat on this side, or ask the other side for its --json code")]
    UnknownVersion,
    #[error("the code has characters that cannot be in a {alphabet} code: the code was cut off or damaged; copy it again")]
    BadEncoding { alphabet: &'static str },
    #[error("the code was cut off or damaged ({detail}); copy it again")]
    Damaged { detail: &'static str },
    #[error("the code unpacks to more than {max} bytes, far more than any session description: it is not a real qrchat code")]
    InflatedTooBig { max: usize },
    #[error("the code does not hold UTF-8 text: the code was damaged; copy it again")]
    NotUtf8,
    #[error("the code holds browser JSON that is not a session description ({0}): paste the whole {{\"type\":...,\"sdp\":...}} text")]
    BadJson(String),
    #[error("the code holds a broken session description ({0}): copy the code again from the other side")]
    BadSdp(String),
    #[error("the session description has no sha-256 DTLS fingerprint, so the link could not be verified: the other side must send its full description")]
    NoFingerprint,
    #[error("the session description has no network candidates: the other side found no network address; let its gathering finish (or check its --bind) and make a new code")]
    NoCandidates,
    #[error("{}", wrong_kind_message(*expected, *got))]
    WrongKind { expected: SdpKind, got: SdpKind },
    #[error("this is your own code; scan the other side's")]
    OwnBlob,
    #[error("this answer was made for another code (an earlier pairing?), or my code reached the other side changed (someone in the middle?): show the other side my current code and use the answer it gives")]
    AnswersAnotherCode,
}

fn wrong_kind_message(expected: SdpKind, got: SdpKind) -> String {
    match got {
        SdpKind::Offer => format!(
            "this is an offer; qrchat expected an {expected}: give this code to the other side (it joins with it), then scan the answer it shows"
        ),
        SdpKind::Answer => format!(
            "this is an answer; qrchat expected an {expected}: answers go back to the side that started; start a session there, or join with the other side's offer"
        ),
    }
}

/// Why a session description could not be turned into a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("the session description is broken ({0})")]
    BadSdp(String),
    #[error("the session description has no sha-256 DTLS fingerprint")]
    NoFingerprint,
    #[error("the session description has no candidates: gathering found no network address (check --bind)")]
    NoCandidates,
    #[error("the session description is too large for a code ({len} bytes, at most {max})")]
    TooBig { len: usize, max: usize },
    #[error("the compact form cannot carry this session description ({0}); use the baseline form")]
    NotCompact(String),
}
