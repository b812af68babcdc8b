//! Delivery you can see, between qrchat peers: every message carries an id, the peer app
//! acknowledges it once it has shown it, and the sender knows what is pending, delivered,
//! or not delivered. Pure: the caller sends the wire texts this hands back and feeds in
//! what arrives.
//!
//! The wire form (only when both sides are qrchat; a browser page gets plain text, as
//! before, and no marks): one text message on the chat channel each, starting with DLE
//! (U+0010), a control character no typed text starts with (and that a qrchat peer that
//! did not know the form would show, sanitised, as `␐`):
//! ```text
//! \x10m<chat>.<seq> <text>     a message: the sending chat's id (16 hex digits), its
//!                              number in that chat (1, 2, ...), a space, the text as typed
//! \x10a<chat>.<seq>            "shown": every message of that chat up to <seq> is delivered
//! \x10b                        "goodbye": the peer is leaving the chat on purpose (sent last,
//!                              before the close; anything after the `b` is ignored, for reasons
//!                              a later version may add)
//! ```
//! The goodbye is what tells "the peer left" from "the peer stopped responding" whatever
//! the loss: the close of a channel and of the connection are single packets that a lossy
//! path drops, while the goodbye is a message SCTP retransmits until the peer has it, and
//! the leaving side waits (bounded) for that before it closes.
//! Ids are unique across the sessions of one chat: the chat id is drawn at random once per
//! chat (a TUI chat outlives its pairings; a headless run is one chat) and the number only
//! grows. A message keeps its id when it is sent again after a re-pairing, so the receiver
//! shows it once: it remembers, for each chat that wrote to it, the highest number shown
//! (messages of one chat arrive in order: the channel is ordered and a resend starts at the
//! oldest unacknowledged), drops anything at or below it and acknowledges it again.
//!
//! Acks are cumulative for the same reason: the peer shows in order, so "up to <seq>" is
//! exact, and a lost ack is covered by the next.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

/// Starts every message of the wire form.
pub const MARK: char = '\u{10}';

/// How much the wire form adds to a message's text at most (mark, kind, 16 + 1 + 20
/// digits, space).
pub const ENVELOPE_BYTES: usize = 40;

/// How many peer chats the inbox remembers (a hostile peer cannot grow it without bound;
/// a person re-pairs with a handful).
const INBOX_CHATS: usize = 64;

/// One chat's delivery state, shared by the app (marks, what is pending) and the session
/// that carries it (rtc wraps, unwraps and acknowledges). A TUI hands the same one to every
/// pairing of a chat, as it hands on its identity.
pub type Shared = Arc<Mutex<Delivery>>;

/// The shared state, locked (even if a thread panicked holding it: every change is one
/// step, so it stays consistent).
pub fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Delivery> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh shared state for a new chat.
pub fn shared() -> Shared {
    Arc::new(Mutex::new(Delivery::new(new_chat_id())))
}

/// One message's id: the chat that wrote it and its number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    pub chat: u64,
    pub seq: u64,
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}.{}", self.chat, self.seq)
    }
}

impl MessageId {
    fn parse(s: &str) -> Option<MessageId> {
        let (chat, seq) = s.split_once('.')?;
        if chat.len() != 16 || seq.is_empty() || seq.len() > 20 {
            return None;
        }
        if !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(MessageId {
            chat: u64::from_str_radix(chat, 16).ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// A fresh chat id (random; the clock if the system has no randomness, which only makes a
/// collision between two chats of one peer likelier).
pub fn new_chat_id() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_ok() {
        u64::from_le_bytes(b)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
    }
}

/// What a chat-channel text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire<'a> {
    Message {
        id: MessageId,
        text: &'a str,
    },
    Ack(MessageId),
    /// The peer is leaving on purpose.
    Bye,
    /// Anything else: plain text (a browser page, or a malformed envelope shown as it is).
    Plain(&'a str),
}

pub fn encode_message(id: MessageId, text: &str) -> String {
    format!("{MARK}m{id} {text}")
}

pub fn encode_ack(id: MessageId) -> String {
    format!("{MARK}a{id}")
}

pub fn encode_bye() -> String {
    format!("{MARK}b")
}

pub fn decode(raw: &str) -> Wire<'_> {
    let Some(rest) = raw.strip_prefix(MARK) else {
        return Wire::Plain(raw);
    };
    if let Some(body) = rest.strip_prefix('m') {
        if let Some((id, text)) = body.split_once(' ') {
            if let Some(id) = MessageId::parse(id) {
                return Wire::Message { id, text };
            }
        }
    } else if let Some(id) = rest.strip_prefix('a').and_then(MessageId::parse) {
        return Wire::Ack(id);
    } else if rest.starts_with('b') {
        return Wire::Bye;
    }
    Wire::Plain(raw)
}

/// Where a sent message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Sent (or waiting to be), not yet acknowledged.
    Pending,
    /// The peer app showed it.
    Delivered,
    /// The link ended for good before it was acknowledged (sent again after a re-pairing
    /// with the same app).
    NotDelivered,
    /// A browser peer: plain text, no acks, no mark.
    Unmarked,
}

/// A message the sender could not get acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    pub id: MessageId,
    pub text: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("message too long ({len} bytes; the limit is {max})")]
    TooLong { len: usize, max: usize },
}

/// What to do with a text that arrived on the chat channel.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Show this (raw: sanitise before display). None: nothing to show (an ack, or a
    /// message already shown in an earlier pairing).
    pub show: Option<String>,
    /// Its id, if it came with one.
    pub id: Option<MessageId>,
    /// Send this back (the ack), after showing.
    pub reply: Option<String>,
    /// These of ours are delivered now (oldest first).
    pub delivered: Vec<MessageId>,
    /// The peer said goodbye: it is leaving on purpose and sends nothing more.
    pub bye: bool,
}

/// One chat's delivery state: what we sent and its marks, what we showed of the peer's.
/// Outlives a pairing: after a re-pairing with the same app, [`Delivery::resend`] gives the
/// undelivered messages again, in order, with their ids.
#[derive(Debug)]
pub struct Delivery {
    chat: u64,
    next: u64,
    /// Between qrchat peers (ids and acks) or with a browser page (plain text).
    marked: bool,
    /// Sent, not yet acknowledged, oldest first; `true` once the link that carried them
    /// ended for good.
    outbox: VecDeque<(MessageId, String, bool)>,
    /// For each peer chat: the highest number shown; in the order first heard from.
    shown: HashMap<u64, u64>,
    chats: VecDeque<u64>,
    /// Ours, given up (a re-pairing with another app): not delivered for good.
    forgotten: std::collections::HashSet<MessageId>,
    /// The certificate fingerprint of the app of the last pairing (who a resend is for).
    peer: Option<[u8; 32]>,
    /// The owner vouched that the next pairing is with the same app (a known peer that
    /// reconnects with a fresh certificate): resend whatever its certificate.
    vouched: bool,
}

impl Delivery {
    pub fn new(chat: u64) -> Delivery {
        Delivery {
            chat,
            next: 1,
            marked: false,
            outbox: VecDeque::new(),
            shown: HashMap::new(),
            chats: VecDeque::new(),
            forgotten: Default::default(),
            peer: None,
            vouched: false,
        }
    }

    /// A new pairing: with a qrchat peer (ids and acks) or not (plain text).
    pub fn set_peer_is_qrchat(&mut self, qrchat: bool) {
        self.marked = qrchat;
    }

    /// A pairing opened with this peer (`peer`: its certificate's fingerprint). With the
    /// app of the previous pairing (same certificate) and qrchat: the wire texts of our
    /// unacknowledged messages, oldest first, to send before anything else. With another
    /// app: nothing, and what was not delivered is given up (not sent to someone else).
    pub fn new_pairing(&mut self, qrchat: bool, peer: Option<[u8; 32]>) -> Vec<String> {
        self.marked = qrchat;
        let same = (peer.is_some() && peer == self.peer) || std::mem::take(&mut self.vouched);
        self.peer = peer;
        if qrchat && same {
            self.resend().into_iter().map(|(_, w)| w).collect()
        } else {
            self.forget_undelivered();
            Vec::new()
        }
    }

    /// Whether messages carry ids and acks (the peer is qrchat).
    pub fn marked(&self) -> bool {
        self.marked
    }

    /// The next pairing is with the app of the previous one, whatever certificate it shows
    /// (the known-peers reconnect, whose pairwise secret vouches for the peer and whose
    /// certificate is fresh each time): its unacknowledged messages are sent again.
    pub fn vouch_same_app(&mut self) {
        self.vouched = true;
    }

    /// Take back a vouch whose pairing never opened (a code pairing begins instead).
    pub fn unvouch(&mut self) {
        self.vouched = false;
    }

    /// A message to send: its id (None for a browser peer) and the wire text.
    pub fn send(&mut self, text: &str) -> Result<(Option<MessageId>, String), SendError> {
        if text.len() > super::MAX_MESSAGE_BYTES {
            return Err(SendError::TooLong {
                len: text.len(),
                max: super::MAX_MESSAGE_BYTES,
            });
        }
        if !self.marked {
            return Ok((None, text.to_owned()));
        }
        let id = MessageId {
            chat: self.chat,
            seq: self.next,
        };
        self.next += 1;
        self.outbox.push_back((id, text.to_owned(), false));
        Ok((Some(id), encode_message(id, text)))
    }

    /// A text from the peer.
    pub fn receive(&mut self, raw: &str) -> Incoming {
        if !self.marked {
            return Incoming {
                show: Some(raw.to_owned()),
                ..Incoming::default()
            };
        }
        match decode(raw) {
            Wire::Plain(text) => Incoming {
                show: Some(text.to_owned()),
                ..Incoming::default()
            },
            Wire::Message { id, text } => {
                let reply = Some(encode_ack(id));
                let seen = self.shown.get(&id.chat).copied();
                if seen.is_some_and(|s| id.seq <= s) {
                    return Incoming {
                        id: Some(id),
                        reply,
                        ..Incoming::default()
                    };
                }
                if seen.is_none() {
                    self.chats.push_back(id.chat);
                    if self.chats.len() > INBOX_CHATS {
                        if let Some(old) = self.chats.pop_front() {
                            self.shown.remove(&old);
                        }
                    }
                }
                self.shown.insert(id.chat, id.seq);
                Incoming {
                    show: Some(text.to_owned()),
                    id: Some(id),
                    reply,
                    delivered: Vec::new(),
                    bye: false,
                }
            }
            Wire::Ack(id) => Incoming {
                delivered: self.acked(id),
                ..Incoming::default()
            },
            Wire::Bye => Incoming {
                bye: true,
                ..Incoming::default()
            },
        }
    }

    /// The peer showed everything of ours up to `id`: those leave the outbox.
    fn acked(&mut self, id: MessageId) -> Vec<MessageId> {
        if id.chat != self.chat {
            return Vec::new();
        }
        let mut done = Vec::new();
        while let Some((first, _, _)) = self.outbox.front() {
            if first.seq > id.seq {
                break;
            }
            done.push(*first);
            self.outbox.pop_front();
        }
        done
    }

    /// The mark of one of our messages.
    pub fn mark(&self, id: Option<MessageId>) -> Mark {
        let Some(id) = id else {
            return Mark::Unmarked;
        };
        match self.outbox.iter().find(|(i, _, _)| *i == id) {
            Some((_, _, true)) => Mark::NotDelivered,
            Some(_) => Mark::Pending,
            None if self.forgotten.contains(&id) => Mark::NotDelivered,
            None if id.chat == self.chat && id.seq < self.next => Mark::Delivered,
            None => Mark::Unmarked,
        }
    }

    /// Sent and not yet acknowledged, oldest first.
    pub fn pending(&self) -> Vec<Undelivered> {
        self.outbox
            .iter()
            .map(|(id, text, _)| Undelivered {
                id: *id,
                text: text.clone(),
            })
            .collect()
    }

    /// The link ended for good: what is still unacknowledged is not delivered (returned,
    /// oldest first). Kept for [`Delivery::resend`] after a re-pairing with the same app.
    pub fn link_ended(&mut self) -> Vec<Undelivered> {
        for m in self.outbox.iter_mut() {
            m.2 = true;
        }
        self.pending()
    }

    /// A new pairing with the same app: the wire texts of every unacknowledged message,
    /// oldest first, with their old ids (the peer shows each once). They are pending again.
    pub fn resend(&mut self) -> Vec<(MessageId, String)> {
        self.outbox
            .iter_mut()
            .map(|m| {
                m.2 = false;
                (m.0, encode_message(m.0, &m.1))
            })
            .collect()
    }

    /// A new pairing with a different app: what was not delivered stays so and is not
    /// sent to someone else. Returns what is given up.
    pub fn forget_undelivered(&mut self) -> Vec<Undelivered> {
        let gone = self.pending();
        self.forgotten.extend(self.outbox.drain(..).map(|m| m.0));
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two chats wired by hand: what one sends, the other receives, replies go back.
    fn pair() -> (Delivery, Delivery) {
        let mut a = Delivery::new(0xa11ce);
        let mut b = Delivery::new(0xb0b);
        a.set_peer_is_qrchat(true);
        b.set_peer_is_qrchat(true);
        (a, b)
    }

    #[test]
    fn the_wire_form_round_trips_and_rejects_what_is_not_it() {
        let id = MessageId { chat: 0xab, seq: 7 };
        let m = encode_message(id, "hi there \u{10}m");
        assert_eq!(m, "\u{10}m00000000000000ab.7 hi there \u{10}m");
        assert_eq!(
            decode(&m),
            Wire::Message {
                id,
                text: "hi there \u{10}m"
            }
        );
        assert_eq!(decode(&encode_ack(id)), Wire::Ack(id));
        assert_eq!(decode(&encode_bye()), Wire::Bye);
        // a later version may give a reason: still a goodbye
        assert_eq!(decode("\u{10}bquit"), Wire::Bye);
        assert_eq!(
            decode(&encode_message(id, "")),
            Wire::Message { id, text: "" }
        );
        for bad in [
            "plain",
            "\u{10}",
            "\u{10}x00000000000000ab.7",
            "\u{10}m00000000000000ab.7",
            "\u{10}mab.7 short chat id",
            "\u{10}m00000000000000ab. no seq",
            "\u{10}m00000000000000ab.-1 negative",
            "\u{10}m0000000000000zab.1 not hex",
            "\u{10}m00000000000000ab.123456789012345678901 too long",
            "\u{10}a00000000000000ab.1 trailing",
            "\u{10}a00000000000000ab.99999999999999999999",
        ] {
            assert_eq!(decode(bad), Wire::Plain(bad), "{bad:?}");
        }
        assert!(
            encode_message(
                MessageId {
                    chat: u64::MAX,
                    seq: u64::MAX
                },
                ""
            )
            .len()
                <= ENVELOPE_BYTES
        );
    }

    #[test]
    fn a_goodbye_ends_the_chat_between_qrchat_peers_and_is_text_for_a_browser() {
        let (_, mut b) = pair();
        let got = b.receive(&encode_bye());
        assert!(got.bye);
        assert_eq!(got.show, None);
        assert_eq!(got.reply, None);
        // a browser page's text that happens to start so is shown, never taken as a goodbye
        let mut page = Delivery::new(1);
        let got = page.receive(&encode_bye());
        assert!(!got.bye);
        assert_eq!(got.show.as_deref(), Some("\u{10}b"));
    }

    #[test]
    fn pending_then_delivered_once_the_peer_shows_it() {
        let (mut a, mut b) = pair();
        let (id1, w1) = a.send("one").unwrap();
        let (id2, w2) = a.send("two").unwrap();
        assert_eq!(a.mark(id1), Mark::Pending);
        let got = b.receive(&w1);
        assert_eq!(got.show.as_deref(), Some("one"));
        assert_eq!(a.mark(id1), Mark::Pending, "not delivered before the ack");
        let back = a.receive(got.reply.as_deref().unwrap());
        assert_eq!(back.delivered, vec![id1.unwrap()]);
        assert_eq!(back.show, None);
        assert_eq!(a.mark(id1), Mark::Delivered);
        assert_eq!(a.mark(id2), Mark::Pending);
        let got = b.receive(&w2);
        a.receive(got.reply.as_deref().unwrap());
        assert_eq!(a.mark(id2), Mark::Delivered);
        assert!(a.pending().is_empty());
    }

    #[test]
    fn acks_are_cumulative_and_foreign_acks_change_nothing() {
        let (mut a, _) = pair();
        let ids: Vec<_> = (0..3).map(|i| a.send(&i.to_string()).unwrap().0).collect();
        // An ack for another chat, or past what we sent, delivers nothing of ours wrongly.
        let foreign = encode_ack(MessageId { chat: 1, seq: 9 });
        assert!(a.receive(&foreign).delivered.is_empty());
        let up_to_2 = encode_ack(ids[1].unwrap());
        assert_eq!(
            a.receive(&up_to_2).delivered,
            vec![ids[0].unwrap(), ids[1].unwrap()]
        );
        assert_eq!(a.mark(ids[2]), Mark::Pending);
        // The same ack again: nothing new.
        assert!(a.receive(&up_to_2).delivered.is_empty());
    }

    #[test]
    fn the_link_ends_then_a_repair_with_the_same_app_resends_in_order_and_shows_once() {
        let (mut a, mut b) = pair();
        let (_, w1) = a.send("before").unwrap();
        let (id2, w2) = a.send("during 1").unwrap();
        let (id3, _w3) = a.send("during 2").unwrap();
        // "before" was shown and acked; "during 1" arrived but its ack was lost with the
        // link; "during 2" never arrived.
        let r = b.receive(&w1);
        a.receive(&r.reply.unwrap());
        assert_eq!(b.receive(&w2).show.as_deref(), Some("during 1"));
        let lost = a.link_ended();
        assert_eq!(
            lost.iter().map(|u| u.text.as_str()).collect::<Vec<_>>(),
            ["during 1", "during 2"]
        );
        assert_eq!(a.mark(id2), Mark::NotDelivered);
        // Re-paired with the same app: both again, in order, same ids.
        let again = a.resend();
        assert_eq!(
            again.iter().map(|(id, _)| Some(*id)).collect::<Vec<_>>(),
            [id2, id3]
        );
        assert_eq!(a.mark(id3), Mark::Pending);
        let mut shown = Vec::new();
        for (_, wire) in &again {
            let r = b.receive(wire);
            shown.extend(r.show.clone());
            // Even the duplicate is acknowledged, so the sender stops waiting for it.
            a.receive(&r.reply.unwrap());
        }
        assert_eq!(shown, ["during 2"], "during 1 was shown already: not again");
        assert_eq!(a.mark(id2), Mark::Delivered);
        assert_eq!(a.mark(id3), Mark::Delivered);
    }

    #[test]
    fn a_different_app_gets_nothing_of_the_old_chat() {
        let (mut a, _) = pair();
        let (id, _) = a.send("for bob only").unwrap();
        a.link_ended();
        let gone = a.forget_undelivered();
        assert_eq!(gone[0].text, "for bob only");
        assert!(a.resend().is_empty());
        assert_eq!(a.mark(id), Mark::NotDelivered, "and never called delivered");
    }

    #[test]
    fn a_new_pairing_resends_only_to_the_same_app() {
        let (mut a, mut b) = pair();
        assert!(a.new_pairing(true, Some([1; 32])).is_empty());
        let (id, _) = a.send("hello?").unwrap();
        a.link_ended();
        let again = a.new_pairing(true, Some([1; 32]));
        assert_eq!(again.len(), 1);
        assert_eq!(b.receive(&again[0]).show.as_deref(), Some("hello?"));
        a.link_ended();
        // Another app: nothing is resent, the message stays not delivered.
        assert!(a.new_pairing(true, Some([2; 32])).is_empty());
        assert_eq!(a.mark(id), Mark::NotDelivered);
        assert!(a.pending().is_empty());
        // A known peer's reconnect, vouched for by the app: resent despite a new certificate.
        let (id, _) = a.send("again?").unwrap();
        a.link_ended();
        a.vouch_same_app();
        assert_eq!(a.new_pairing(true, Some([3; 32])).len(), 1);
        assert_eq!(a.mark(id), Mark::Pending);
        a.link_ended();
        // A browser page: plain text from now on.
        assert!(a.new_pairing(false, None).is_empty());
        assert_eq!(a.send("hi").unwrap(), (None, "hi".to_owned()));
    }

    #[test]
    fn a_browser_peer_gets_plain_text_both_ways() {
        let mut a = Delivery::new(1);
        a.set_peer_is_qrchat(false);
        let (id, wire) = a.send("hello").unwrap();
        assert_eq!((id, wire.as_str()), (None, "hello"));
        assert_eq!(a.mark(id), Mark::Unmarked);
        // Text that looks like the envelope is shown as it came from a browser.
        let r = a.receive("\u{10}a00000000000000ab.1");
        assert_eq!(r.show.as_deref(), Some("\u{10}a00000000000000ab.1"));
        assert_eq!(r.reply, None);
        assert!(a.pending().is_empty());
    }

    #[test]
    fn too_long_is_refused_before_it_gets_an_id() {
        let (mut a, _) = pair();
        let big = "x".repeat(crate::chat::MAX_MESSAGE_BYTES + 1);
        assert!(matches!(a.send(&big), Err(SendError::TooLong { .. })));
        let (id, _) = a.send("ok").unwrap();
        assert_eq!(id.unwrap().seq, 1);
    }

    #[test]
    fn a_hostile_peer_cannot_grow_the_inbox_without_bound() {
        let (_, mut b) = pair();
        for chat in 0..10_000u64 {
            let w = encode_message(MessageId { chat, seq: 1 }, "x");
            assert_eq!(b.receive(&w).show.as_deref(), Some("x"));
        }
        assert!(b.shown.len() <= INBOX_CHATS);
        assert!(b.chats.len() <= INBOX_CHATS);
    }
}
