//! The bulk path between two real `qrchat` processes in two network namespaces
//! (tests/integration/netns.rs): where a firewall on the receiving host drops incoming TCP
//! connections, the sender gives up on TCP within its 2 s and the data channel carries the
//! transfer; both logs say so, and the file arrives verified. (Two hosts that can connect
//! use TCP: tests/integration/blip.rs checks it through a blip.)
//!
//! Needs root, iproute2 and iptables: without them the test says why and returns.

use std::time::Duration;

use crate::netns::Net;

const T: Duration = Duration::from_secs(20);

#[test]
fn where_a_firewall_drops_tcp_the_data_channel_carries_the_file() {
    crate::netns_or_skip!("ip", "iptables");
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    // the receiving host takes no TCP connection (SYNs dropped: the sender's connect hangs)
    let out = net.exec(
        &b,
        &[
            "iptables", "-A", "INPUT", "-p", "tcp", "--syn", "-j", "DROP",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let src = net.dir().join("photos.tar");
    let data = crate::transfer::noise(6 << 20, 11);
    std::fs::write(&src, &data).unwrap();
    let inbox = net.dir().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let (alice, bob) = net.send_on_lan(&a, &b, &src, &inbox);
    let (alice_log, bob_log) = (net.dir().join("alice.log"), net.dir().join("bob.log"));
    let (code_b, err_b) = bob.exit(Duration::from_secs(60));
    let (code_a, err_a) = alice.exit(T);
    assert_eq!(code_b, 0, "{err_b}");
    assert_eq!(code_a, 0, "{err_a}");
    assert!(err_b.contains("verified"), "{err_b}");
    assert!(std::fs::read(inbox.join("photos.tar")).unwrap() == data);
    let (la, lb) = (
        std::fs::read_to_string(&alice_log).unwrap(),
        std::fs::read_to_string(&bob_log).unwrap(),
    );
    assert!(
        la.contains("bulk: no TCP connection")
            && la.contains("the data channel carries the transfer"),
        "{la}"
    );
    assert!(
        lb.contains("bulk: the sender stays on the data channel"),
        "{lb}"
    );
    assert!(!lb.contains("proven TCP connection"), "{lb}");
}
