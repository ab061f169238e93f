//! Framing: a reader task that cuts the byte stream into messages and
//! checks their headers (RFC 4271 §6.1), so that the session can wait on a
//! channel (cancel-safe) instead of a half-read socket.

use bugyo_formats::bgp::message::MARKER;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The largest message without the extended message capability.
pub(super) const MAX_LEN: usize = 4096;

/// What the reader delivers.
#[derive(Debug)]
pub(super) enum Frame {
    /// A message with a sound header.
    Msg {
        /// Message type.
        ty: u8,
        /// The body (after the 19-byte header).
        body: Vec<u8>,
    },
    /// A header error: NOTIFICATION 1/`subcode` with `data` is due.
    HeaderError {
        /// 1 bad marker, 2 bad length, 3 bad type.
        subcode: u8,
        /// The NOTIFICATION data (the bad length or type).
        data: Vec<u8>,
    },
    /// The connection closed or failed.
    Closed(String),
}

/// Checks a header: `Ok((length, type))` or `Err((subcode, data))`.
pub(super) fn check_header(h: &[u8; 19]) -> Result<(usize, u8), (u8, Vec<u8>)> {
    if h[..16] != MARKER {
        return Err((1, Vec::new()));
    }
    let len = usize::from(u16::from_be_bytes([h[16], h[17]]));
    let ty = h[18];
    let bad_len = Err((2, vec![h[16], h[17]]));
    if !(19..=MAX_LEN).contains(&len) {
        return bad_len;
    }
    let ok = match ty {
        1 => len >= 29,
        2 => len >= 23,
        3 => len >= 21,
        4 => len == 19,
        5 => len == 23,
        _ => return Err((3, vec![ty])),
    };
    if ok {
        Ok((len, ty))
    } else {
        bad_len
    }
}

/// Reads frames until the connection ends or a header is bad.
pub(super) fn spawn_reader(mut rd: OwnedReadHalf, tx: mpsc::Sender<Frame>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let mut h = [0u8; 19];
            if let Err(e) = rd.read_exact(&mut h).await {
                let _ = tx.send(Frame::Closed(closed_reason(&e))).await;
                return;
            }
            let (len, ty) = match check_header(&h) {
                Ok(x) => x,
                Err((subcode, data)) => {
                    let _ = tx.send(Frame::HeaderError { subcode, data }).await;
                    return;
                }
            };
            let mut body = vec![0u8; len - 19];
            if let Err(e) = rd.read_exact(&mut body).await {
                let _ = tx.send(Frame::Closed(closed_reason(&e))).await;
                return;
            }
            if tx.send(Frame::Msg { ty, body }).await.is_err() {
                return;
            }
        }
    })
}

fn closed_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "connection closed by peer".to_string()
    } else {
        format!("connection error: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u16, ty: u8) -> [u8; 19] {
        let mut h = [0xffu8; 19];
        h[16..18].copy_from_slice(&len.to_be_bytes());
        h[18] = ty;
        h
    }

    #[test]
    fn header_checks() {
        assert_eq!(check_header(&header(19, 4)), Ok((19, 4)));
        assert_eq!(check_header(&header(20, 4)), Err((2, vec![0, 20])));
        assert_eq!(check_header(&header(4097, 2)), Err((2, vec![16, 1])));
        assert_eq!(check_header(&header(28, 1)), Err((2, vec![0, 28])));
        assert_eq!(check_header(&header(19, 9)), Err((3, vec![9])));
        let mut h = header(19, 4);
        h[3] = 0;
        assert_eq!(check_header(&h), Err((1, vec![])));
    }
}
