//! What a code means, in words a newcomer understands: "an offer from a qrchat app, 2
//! addresses on your network (192.168.1.20, 10.0.0.7)" rather than candidate types. The
//! technical summary (`signal::summarize`) goes to the log.

use crate::signal::{self, Decoded, Encoding, SdpKind};

/// Where a side can be reached, from its candidates (`signal::candidates`' items:
/// `ADDR:PORT TYPE [tcp]`): "on your network (192.168.1.20, 10.0.0.7)", "through a NAT
/// (203.0.113.5)", "through a relay (198.51.100.9)", joined by "; ". Each address once.
pub fn reach(candidates: &[String]) -> String {
    let mut groups: Vec<(&str, Vec<String>)> = vec![
        ("on your network", vec![]),
        ("through a NAT", vec![]),
        ("through a relay", vec![]),
    ];
    for c in candidates {
        let mut parts = c.split_whitespace();
        let (Some(addr_port), Some(typ)) = (parts.next(), parts.next()) else {
            continue;
        };
        let addr = addr_port
            .rsplit_once(':')
            .map_or(addr_port, |(a, _)| a)
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let group = match typ {
            "host" => 0,
            "srflx" | "prflx" => 1,
            "relay" => 2,
            _ => continue,
        };
        if !groups[group].1.contains(&addr) {
            groups[group].1.push(addr);
        }
    }
    let said: Vec<String> = groups
        .iter()
        .filter(|(_, a)| !a.is_empty())
        .map(|(w, a)| format!("{w} ({})", list(a)))
        .collect();
    if said.is_empty() {
        "no address".into()
    } else {
        said.join("; ")
    }
}

/// Addresses, at most four named.
fn list(addrs: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut s = addrs
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if addrs.len() > SHOWN {
        s += &format!(" and {} more", addrs.len() - SHOWN);
    }
    s
}

/// A code checked: what it is and where its side can be reached.
pub fn code(d: &Decoded) -> String {
    let kind = match d.desc.kind {
        SdpKind::Offer => "an offer",
        SdpKind::Answer => "an answer",
    };
    let from = match d.encoding {
        Encoding::Compact | Encoding::Baseline => "from a qrchat app",
        Encoding::Json => "in a browser page's form",
    };
    let cands = signal::candidates(&d.desc.sdp);
    let n = cands
        .iter()
        .filter_map(|c| c.split_whitespace().next())
        .map(|a| a.rsplit_once(':').map_or(a, |(a, _)| a))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if n == 0 {
        return format!("{kind} {from}, with no address to reach it");
    }
    let count = if n == 1 {
        "1 address".to_string()
    } else {
        format!("{n} addresses")
    };
    format!("{kind} {from}, {count} {}", reach(&cands))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_become_words() {
        let c = |s: &str| s.to_string();
        assert_eq!(
            reach(&[c("127.0.0.1:5000 host")]),
            "on your network (127.0.0.1)"
        );
        assert_eq!(
            reach(&[
                c("192.168.1.20:50000 host"),
                c("[fe80::1]:50001 host tcp"),
                c("203.0.113.5:6000 srflx"),
                c("192.168.1.20:50002 host"),
            ]),
            "on your network (192.168.1.20, fe80::1); through a NAT (203.0.113.5)"
        );
        assert_eq!(reach(&[]), "no address");
    }
}
