//! Which local addresses host candidates come from.
//!
//! Default: every up interface except those that never lead to a nearby peer
//! (container bridges, veth pairs, ...), no loopback, no IPv6 link-local (unusable
//! without a zone id). `--bind` narrows this to given addresses or interface names;
//! naming a loopback address allows loopback candidates.

use std::collections::BTreeSet;
use std::net::IpAddr;

use webrtc::api::setting_engine::SettingEngine;

/// Interface name prefixes left out by default: virtual plumbing that no nearby peer is on.
const SKIPPED_PREFIXES: &[&str] = &[
    "docker", "br-", "veth", "virbr", "vnet", "lxc", "lxd", "cni", "flannel", "cali", "vxlan",
    "podman", "kube", "ifb", "dummy",
];

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("--bind {given}: no local interface has that address or name (here: {available})")]
    Unknown { given: String, available: String },
    #[error("cannot list network interfaces: {0}")]
    Interfaces(String),
}

/// Resolved `--bind` list: the exact addresses host candidates may use.
#[derive(Debug, Clone, Default)]
pub struct BindPlan {
    /// None: default filtering. Some: only these addresses.
    only: Option<BTreeSet<IpAddr>>,
}

/// Whether an interface is one the default plan leaves out.
pub fn skipped_by_default(name: &str) -> bool {
    SKIPPED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Whether an address can carry a candidate by default.
pub fn usable_by_default(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
        IpAddr::V6(v6) => {
            !v6.is_loopback()
                && !v6.is_unspecified()
                // fe80::/10 link-local needs a zone id no peer can use from the SDP
                && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    }
}

/// The directed broadcast address of every IPv4 network this machine is on (interfaces
/// the default plan uses, no loopback): where a LAN-wide probe goes (known peers). With
/// `--bind` given, only the networks of the interfaces or addresses it names.
pub fn broadcast_addresses(bind: &[String]) -> Vec<std::net::Ipv4Addr> {
    let Ok(ifaces) = webrtc::util::ifaces::ifaces() else {
        return Vec::new();
    };
    let mut out = BTreeSet::new();
    for i in ifaces {
        if skipped_by_default(&i.name) {
            continue;
        }
        let (Some(addr), Some(mask)) = (i.addr, i.mask) else {
            continue;
        };
        let (IpAddr::V4(a), IpAddr::V4(m)) = (addr.ip(), mask.ip()) else {
            continue;
        };
        if a.is_loopback() || a.is_unspecified() || m.is_unspecified() {
            continue;
        }
        let named = |b: &String| {
            let b = b.trim();
            b == i.name || b.parse::<IpAddr>().is_ok_and(|ip| ip == IpAddr::V4(a))
        };
        if !bind.is_empty() && !bind.iter().any(named) {
            continue;
        }
        out.insert(std::net::Ipv4Addr::from(u32::from(a) | !u32::from(m)));
    }
    out.into_iter().collect()
}

impl BindPlan {
    pub fn resolve(binds: &[String]) -> Result<BindPlan, BindError> {
        if binds.is_empty() {
            return Ok(BindPlan { only: None });
        }
        let ifaces =
            webrtc::util::ifaces::ifaces().map_err(|e| BindError::Interfaces(e.to_string()))?;
        let addrs: Vec<(String, IpAddr)> = ifaces
            .iter()
            .filter_map(|i| i.addr.map(|a| (i.name.clone(), a.ip())))
            .collect();
        let mut only = BTreeSet::new();
        for b in binds {
            let b = b.trim();
            let before = only.len();
            if let Ok(ip) = b.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
                if addrs.iter().any(|(_, a)| *a == ip) {
                    only.insert(ip);
                }
            } else {
                only.extend(
                    addrs
                        .iter()
                        .filter(|(n, a)| n == b && (a.is_loopback() || usable_by_default(*a)))
                        .map(|(_, a)| *a),
                );
            }
            if only.len() == before && !only.iter().any(|a| a.to_string() == b) {
                let available = addrs
                    .iter()
                    .map(|(n, a)| format!("{n} {a}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(BindError::Unknown {
                    given: b.to_owned(),
                    available,
                });
            }
        }
        Ok(BindPlan { only: Some(only) })
    }

    pub fn apply(&self, se: &mut SettingEngine) {
        match &self.only {
            None => {
                se.set_interface_filter(Box::new(|name: &str| !skipped_by_default(name)));
                se.set_ip_filter(Box::new(usable_by_default));
            }
            Some(only) => {
                let only = only.clone();
                se.set_include_loopback_candidate(only.iter().any(|a| a.is_loopback()));
                se.set_ip_filter(Box::new(move |ip| only.contains(&ip)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plan_leaves_out_plumbing_and_link_local() {
        assert!(skipped_by_default("docker0"));
        assert!(skipped_by_default("veth12ab"));
        assert!(!skipped_by_default("eth0"));
        assert!(!skipped_by_default("wlan0"));
        assert!(!usable_by_default("fe80::1".parse().unwrap()));
        assert!(!usable_by_default("127.0.0.1".parse().unwrap()));
        assert!(usable_by_default("192.168.1.4".parse().unwrap()));
        assert!(usable_by_default("fd00::2".parse().unwrap()));
    }

    #[test]
    fn bind_to_loopback_and_unknown() {
        let plan = BindPlan::resolve(&["127.0.0.1".into()]).unwrap();
        assert_eq!(plan.only.unwrap().len(), 1);
        let err = BindPlan::resolve(&["203.0.113.77".into()]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("203.0.113.77") && msg.contains("127.0.0.1"),
            "{msg}"
        );
        let plan = BindPlan::resolve(&["lo".into()]).unwrap();
        assert!(plan
            .only
            .unwrap()
            .contains(&"127.0.0.1".parse::<IpAddr>().unwrap()));
    }
}
