//! The little SDP knowledge the codec needs: strict structure checks, the attributes the
//! compact form carries, and rebuilding a full description from them.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{
    ice_credentials, ice_credentials_v2, ice_pwd_bytes, ice_ufrag_v2, SdpKind, ICE_PWD_BYTES,
};

/// DTLS setup role (RFC 5763 `a=setup:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Setup {
    ActPass,
    Active,
    Passive,
}

impl Setup {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Setup::ActPass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
        }
    }

    fn parse(s: &str) -> Option<Setup> {
        match s {
            "actpass" => Some(Setup::ActPass),
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            _ => None,
        }
    }
}

/// ICE candidate type, in RFC 8445 terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum CandType {
    Host,
    Srflx,
    Prflx,
    Relay,
}

impl CandType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CandType::Host => "host",
            CandType::Srflx => "srflx",
            CandType::Prflx => "prflx",
            CandType::Relay => "relay",
        }
    }

    fn parse(s: &str) -> Option<CandType> {
        match s {
            "host" => Some(CandType::Host),
            "srflx" => Some(CandType::Srflx),
            "prflx" => Some(CandType::Prflx),
            "relay" => Some(CandType::Relay),
            _ => None,
        }
    }

    /// RFC 8445 section 5.1.2.2 recommended type preferences.
    fn type_preference(self) -> u32 {
        match self {
            CandType::Host => 126,
            CandType::Prflx => 110,
            CandType::Srflx => 100,
            CandType::Relay => 0,
        }
    }
}

/// A UDP candidate as the compact form carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Candidate {
    pub typ: CandType,
    pub ip: IpAddr,
    pub port: u16,
}

/// The line that says an offer takes a direct answer ([`super::accepts_direct`]).
pub(crate) const DIRECT_LINE: &str = "a=qrchat-direct\r\n";

/// Everything the compact form carries; the rest of the SDP is rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub kind: SdpKind,
    pub setup: Setup,
    pub fingerprint: [u8; 32],
    /// How the ICE credentials are rebuilt.
    pub ice: Ice,
    /// An answer's tie to the offer it answers ([`super::offer_tag`]), `a=qrchat-answers:`.
    pub answers: Option<[u8; 4]>,
    /// An offer whose maker takes the answer delivered straight to it on the LAN
    /// ([`super::accepts_direct`]), `a=qrchat-direct`.
    pub direct: bool,
    pub candidates: Vec<Candidate>,
}

/// A compact code's ICE credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ice {
    /// v1: both derived from the fingerprint ([`super::ice_credentials`]).
    FromFingerprint,
    /// v2: the password's bytes travel; the ufrag is derived from them.
    Password([u8; ICE_PWD_BYTES]),
}

impl Ice {
    pub(crate) fn credentials(&self, fingerprint: &[u8; 32]) -> (String, String) {
        match self {
            Ice::FromFingerprint => ice_credentials(fingerprint),
            Ice::Password(p) => ice_credentials_v2(p),
        }
    }
}

/// The lines of an SDP, without their `\r\n` / `\n` endings.
pub(crate) fn lines(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// Values of every `a=<key>:<value>` (or bare `a=<key>`, value "") line, any level.
pub(crate) fn attributes<'a>(sdp: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    lines(sdp).filter_map(move |l| {
        let rest = l.strip_prefix("a=")?.strip_prefix(key)?;
        if rest.is_empty() {
            Some("")
        } else {
            rest.strip_prefix(':')
        }
    })
}

/// The fields of one `a=candidate:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CandidateLine<'a> {
    pub component: u16,
    pub transport: &'a str,
    pub address: &'a str,
    pub port: u16,
    pub typ: &'a str,
    /// Extension name/value pairs after `typ <type>` (raddr, rport, generation, tcptype ...).
    pub extensions: Vec<(&'a str, &'a str)>,
}

/// Parses a candidate attribute value (RFC 8839 section 5.1), strictly enough that
/// webrtc-rs and browsers would parse it too.
pub(crate) fn parse_candidate(value: &str) -> Result<CandidateLine<'_>, String> {
    let f: Vec<&str> = value.split(' ').collect();
    if f.len() < 8 || f[6] != "typ" {
        return Err(format!("candidate line too short: {}", clip(value)));
    }
    if f[0].is_empty() || f[0].len() > 32 {
        return Err("candidate foundation".into());
    }
    let component: u16 = f[1]
        .parse()
        .map_err(|_| format!("candidate component {:?}", clip(f[1])))?;
    f[3].parse::<u32>()
        .map_err(|_| format!("candidate priority {:?}", clip(f[3])))?;
    let port: u16 = f[5]
        .parse()
        .map_err(|_| format!("candidate port {:?}", clip(f[5])))?;
    if f[2].is_empty() || f[4].is_empty() || f[7].is_empty() {
        return Err("empty candidate field".into());
    }
    let rest = &f[8..];
    if rest.len() % 2 != 0 {
        return Err(format!(
            "candidate extension without value: {}",
            clip(value)
        ));
    }
    let extensions = rest.chunks(2).map(|p| (p[0], p[1])).collect();
    Ok(CandidateLine {
        component,
        transport: f[2],
        address: f[4],
        port,
        typ: f[7],
        extensions,
    })
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

/// Strict structural check of a session description: `v=0` first, every line `x=...`,
/// no control characters, at least one media section, candidate lines well formed.
pub(crate) fn validate(sdp: &str) -> Result<(), String> {
    let mut all: Vec<&str> = lines(sdp).collect();
    while all.last() == Some(&"") {
        all.pop();
    }
    if all.first() != Some(&"v=0") {
        return Err("it does not start with v=0".into());
    }
    let mut media = 0;
    for (n, line) in all.iter().enumerate() {
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(format!("line {} is not of the form x=...", n + 1));
        }
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!("line {} holds a control character", n + 1));
        }
        if b[0] == b'm' {
            media += 1;
        }
        if let Some(v) = line.strip_prefix("a=candidate:") {
            parse_candidate(v).map_err(|e| format!("line {}: {e}", n + 1))?;
        }
    }
    if media == 0 {
        return Err("it has no media section (m=)".into());
    }
    Ok(())
}

/// The first well-formed sha-256 fingerprint.
pub(crate) fn fingerprint(sdp: &str) -> Option<[u8; 32]> {
    attributes(sdp, "fingerprint").find_map(|v| {
        let (alg, hex) = v.split_once(' ')?;
        if !alg.eq_ignore_ascii_case("sha-256") {
            return None;
        }
        parse_fingerprint_hex(hex.trim())
    })
}

pub(crate) fn parse_fingerprint_hex(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut parts = hex.split(':');
    for byte in out.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// `AB:CD:...` upper-case hex, as SDP writes it.
pub(crate) fn fingerprint_hex(fp: &[u8; 32]) -> String {
    let mut s = String::with_capacity(95);
    for (i, b) in fp.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

pub(crate) fn setup(sdp: &str) -> Option<&str> {
    attributes(sdp, "setup").next()
}

/// Whether a description can travel in the compact form, and if so what it carries plus
/// the ICE credentials it states (which must be the derived ones).
pub(crate) fn compact_view(kind: SdpKind, sdp: &str) -> Result<Record, String> {
    validate(sdp)?;
    let fp = fingerprint(sdp).ok_or("no sha-256 fingerprint")?;
    let mut setup_role = None;
    let mut answers = None;
    let mut direct = false;
    let (mut ufrag, mut pwd) = (None, None);
    let mut media = 0;
    let mut cands: Vec<Candidate> = Vec::new();
    let mut rtcp: Vec<Candidate> = Vec::new();
    for line in lines(sdp).filter(|l| !l.is_empty()) {
        let (t, v) = line.split_at(2);
        match t {
            "v=" | "o=" | "s=" | "t=" | "c=" => {}
            "m=" => {
                media += 1;
                let f: Vec<&str> = v.split(' ').collect();
                if f.len() != 4
                    || f[0] != "application"
                    || f[2] != "UDP/DTLS/SCTP"
                    || f[3] != "webrtc-datachannel"
                {
                    return Err(format!("media section {v:?} is not a data channel"));
                }
            }
            "a=" => {
                let (key, val) = v.split_once(':').unwrap_or((v, ""));
                match key {
                    "fingerprint" | "extmap-allow-mixed" | "msid-semantic" | "sendrecv"
                    | "end-of-candidates" => {}
                    "ice-options" if val == "trickle" => {}
                    "group" if val == "BUNDLE 0" => {}
                    "mid" if val == "0" => {}
                    "sctp-port" if val == "5000" => {}
                    "qrchat-answers" => {
                        let tag = parse_tag(val).ok_or(format!("qrchat-answers {val:?}"))?;
                        if answers.replace(tag).is_some_and(|t| t != tag) {
                            return Err("two qrchat-answers tags".into());
                        }
                    }
                    "qrchat-direct" if val.is_empty() && kind == SdpKind::Offer => direct = true,
                    "setup" => {
                        let s = Setup::parse(val).ok_or(format!("setup role {val:?}"))?;
                        if setup_role.replace(s).is_some_and(|old| old != s) {
                            return Err("two setup roles".into());
                        }
                    }
                    "ice-ufrag" => {
                        if ufrag.replace(val).is_some_and(|u| u != val) {
                            return Err("two ICE ufrags".into());
                        }
                    }
                    "ice-pwd" => {
                        if pwd.replace(val).is_some_and(|p| p != val) {
                            return Err("two ICE passwords".into());
                        }
                    }
                    "candidate" => {
                        let c = parse_candidate(val)?;
                        if !c.transport.eq_ignore_ascii_case("udp") {
                            return Err(format!("{} candidate", c.transport));
                        }
                        let ip: IpAddr = c
                            .address
                            .parse()
                            .map_err(|_| format!("candidate address {:?}", c.address))?;
                        let typ =
                            CandType::parse(c.typ).ok_or(format!("candidate type {:?}", c.typ))?;
                        let cand = Candidate {
                            typ,
                            ip,
                            port: c.port,
                        };
                        match c.component {
                            1 => cands.push(cand),
                            2 => rtcp.push(cand),
                            n => return Err(format!("candidate component {n}")),
                        }
                    }
                    _ => return Err(format!("attribute a={}", clip(v))),
                }
            }
            _ => return Err(format!("line {}", clip(line))),
        }
    }
    if media != 1 {
        return Err(format!("{media} media sections"));
    }
    // webrtc-rs repeats each candidate for component 2; those say nothing new.
    if let Some(c) = rtcp.iter().find(|c| !cands.contains(c)) {
        return Err(format!(
            "component 2 candidate {}:{} of its own",
            c.ip, c.port
        ));
    }
    if cands.is_empty() {
        return Err("no candidates".into());
    }
    if cands.len() > 255 {
        return Err(format!("{} candidates (at most 255)", cands.len()));
    }
    let (Some(ufrag), Some(pwd)) = (ufrag, pwd) else {
        return Err("no ICE credentials".into());
    };
    let (v1_ufrag, v1_pwd) = ice_credentials(&fp);
    let ice = match ice_pwd_bytes(pwd) {
        Some(p) if ice_ufrag_v2(&p) == ufrag => Ice::Password(p),
        _ if ufrag == v1_ufrag && pwd == v1_pwd => Ice::FromFingerprint,
        _ => return Err("ICE credentials not made by qrchat".into()),
    };
    let setup = setup_role.ok_or("no setup role")?;
    Ok(Record {
        kind,
        setup,
        fingerprint: fp,
        ice,
        answers,
        direct,
        candidates: cands,
    })
}

/// 8 hex digits as 4 bytes.
pub(crate) fn parse_tag(hex: &str) -> Option<[u8; 4]> {
    if hex.len() != 8 || !hex.is_ascii() {
        return None;
    }
    let mut t = [0u8; 4];
    for (i, b) in t.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(t)
}

/// A full session description from a compact record, in webrtc-rs's own layout.
pub(crate) fn rebuild(r: &Record) -> String {
    let (ufrag, pwd) = r.ice.credentials(&r.fingerprint);
    // A stable session id from the fingerprint; below 2^63 as RFC 3264 advises.
    let mut id = [0u8; 8];
    id.copy_from_slice(&r.fingerprint[..8]);
    let session_id = u64::from_be_bytes(id) >> 1;
    let mut s = String::with_capacity(512 + 80 * r.candidates.len());
    let _ = write!(
        s,
        "v=0\r\no=- {session_id} 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
         a=fingerprint:sha-256 {}\r\na=group:BUNDLE 0\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
         a=setup:{}\r\na=mid:0\r\na=sendrecv\r\na=sctp-port:5000\r\n\
         a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n",
        fingerprint_hex(&r.fingerprint),
        r.setup.as_str()
    );
    if let Some(t) = r.answers {
        let _ = write!(
            s,
            "a=qrchat-answers:{:02x}{:02x}{:02x}{:02x}\r\n",
            t[0], t[1], t[2], t[3]
        );
    }
    if r.direct {
        s.push_str(DIRECT_LINE);
    }
    for (i, c) in r.candidates.iter().enumerate() {
        // RFC 8445 5.1.2.1; local preference keeps the sender's order.
        let local_pref = 65535 - (i as u32).min(65535);
        let priority = (c.typ.type_preference() << 24) | (local_pref << 8) | 255;
        let _ = write!(
            s,
            "a=candidate:{} 1 udp {priority} {} {} typ {}",
            i + 1,
            c.ip,
            c.port,
            c.typ.as_str()
        );
        if c.typ != CandType::Host {
            let unspecified = if c.ip.is_ipv4() { "0.0.0.0" } else { "::" };
            let _ = write!(s, " raddr {unspecified} rport 0");
        }
        s.push_str("\r\n");
    }
    s.push_str("a=end-of-candidates\r\n");
    s
}
