//! A transfer over an rtc data channel: [`Wire`] for [`Channel`].

use std::io;

use crate::rtc::{Channel, ChannelMessage, RtcError};

use super::proto::Msg;
use super::Wire;

fn to_io(e: RtcError) -> io::Error {
    let kind = match e {
        RtcError::Closed | RtcError::NotOpen | RtcError::Channel(_) => io::ErrorKind::BrokenPipe,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e.to_string())
}

impl Wire for Channel {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        match msg {
            Msg::Text(t) => self.send_text(&t).await,
            Msg::Binary(b) => self.send_bytes(b).await,
        }
        .map_err(to_io)
    }

    async fn recv(&self) -> io::Result<Option<Msg>> {
        Ok(match Channel::recv(self).await.map_err(to_io)? {
            None => None,
            Some(ChannelMessage::Text(t)) => Some(Msg::Text(t)),
            Some(ChannelMessage::Binary(b)) => Some(Msg::Binary(b)),
        })
    }

    async fn close(&self) {
        Channel::close(self).await
    }
}
