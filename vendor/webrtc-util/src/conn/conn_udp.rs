use tokio::net::UdpSocket;

use super::*;

#[async_trait]
impl Conn for UdpSocket {
    async fn connect(&self, addr: SocketAddr) -> Result<()> {
        Ok(self.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        Ok(self.recv(buf).await?)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        Ok(self.recv_from(buf).await?)
    }

    async fn send(&self, buf: &[u8]) -> Result<usize> {
        Ok(self.send(buf).await?)
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> Result<usize> {
        // qrchat patch 2 of 2 (see ARCHITECTURE.md, "Every pairing carries the chat"): a
        // datagram the OS refuses to send is a lost datagram, as one lost on the way is:
        // every protocol above (ICE checks, DTLS flights, SCTP) sends it again. Upstream
        // passed the error up, and DTLS ended its handshake on the first one, so a local
        // firewall dropping 1% of packets (EPERM), a full queue (ENOBUFS) or a network
        // that is gone for a moment while Wi-Fi roams failed the whole pairing.
        match self.send_to(buf, target).await {
            Ok(n) => Ok(n),
            Err(e) if is_lost_datagram(&e) => Ok(buf.len()),
            Err(e) => Err(e.into()),
        }
    }

    fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

/// qrchat patch 2 of 2: the send errors that mean "this datagram did not leave", not
/// "this socket is broken".
fn is_lost_datagram(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(
                nix::libc::EPERM
                    | nix::libc::ENOBUFS
                    | nix::libc::ENETUNREACH
                    | nix::libc::EHOSTUNREACH
                    | nix::libc::ENETDOWN
                    | nix::libc::EHOSTDOWN
            )
        )
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}
