//! WebRTC session over webrtc-rs: offer/answer, gathering with a deadline, data channel.
