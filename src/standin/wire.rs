//! pgwire framing, just as much as the stand-in must read and rewrite: messages are a type
//! byte and a length-prefixed body (PostgreSQL docs, "Message Formats"); the startup packet
//! has no type byte.

use std::io::{self, Read, Write};

/// SSLRequest and GSSENCRequest codes: the stand-in answers 'N' (no encryption), as a
/// server without TLS does.
pub const SSL_REQUEST: u32 = 80_877_103;
/// See [`SSL_REQUEST`].
pub const GSSENC_REQUEST: u32 = 80_877_104;
/// A cancel request, forwarded as is on a connection of its own.
pub const CANCEL_REQUEST: u32 = 80_877_102;

/// One message of the regular protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Type byte ('Q', 'P', 'E', 'Z', ...).
    pub tag: u8,
    /// Body after the length word.
    pub body: Vec<u8>,
}

impl Msg {
    /// A message from its parts.
    pub fn new(tag: u8, body: Vec<u8>) -> Msg {
        Msg { tag, body }
    }

    /// Writes type, length and body.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(self.body.len() + 5);
        buf.push(self.tag);
        buf.extend_from_slice(&(self.body.len() as u32 + 4).to_be_bytes());
        buf.extend_from_slice(&self.body);
        w.write_all(&buf)
    }
}

/// Reads one message; `None` at a clean end of stream.
pub fn read_msg(r: &mut impl Read) -> io::Result<Option<Msg>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len < 4 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message length < 4",
        ));
    }
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body)?;
    Ok(Some(Msg { tag: head[0], body }))
}

/// Reads the startup packet (length word included) and its request code.
pub fn read_startup(r: &mut impl Read) -> io::Result<(Vec<u8>, u32)> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let n = u32::from_be_bytes(len) as usize;
    if !(8..=10_000).contains(&n) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad startup length",
        ));
    }
    let mut packet = len.to_vec();
    packet.resize(n, 0);
    r.read_exact(&mut packet[4..])?;
    let code = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
    Ok((packet, code))
}

/// The `name value` pairs of a startup packet (user, database, options...).
pub fn startup_params(packet: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut words = packet.get(8..).unwrap_or(&[]).split(|&b| b == 0);
    while let (Some(k), Some(v)) = (words.next(), words.next()) {
        if k.is_empty() {
            break;
        }
        out.push((
            String::from_utf8_lossy(k).into_owned(),
            String::from_utf8_lossy(v).into_owned(),
        ));
    }
    out
}

/// Splits a NUL-terminated string off the front of `b`.
fn cstr(b: &[u8]) -> Option<(&str, &[u8])> {
    let end = b.iter().position(|&c| c == 0)?;
    Some((std::str::from_utf8(&b[..end]).ok()?, &b[end + 1..]))
}

/// The text of a simple Query message.
pub fn query_text(body: &[u8]) -> Option<&str> {
    cstr(body).map(|(s, _)| s)
}

/// A Query message carrying `sql`.
pub fn query(sql: &str) -> Msg {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    Msg::new(b'Q', body)
}

/// A Parse message's statement name, text and the rest (parameter types), as sent.
pub fn parse_parts(body: &[u8]) -> Option<(&str, &str, &[u8])> {
    let (name, rest) = cstr(body)?;
    let (sql, rest) = cstr(rest)?;
    Some((name, sql, rest))
}

/// A Parse message with its text replaced.
pub fn parse(name: &str, sql: &str, rest: &[u8]) -> Msg {
    let mut body = Vec::with_capacity(name.len() + sql.len() + rest.len() + 2);
    body.extend_from_slice(name.as_bytes());
    body.push(0);
    body.extend_from_slice(sql.as_bytes());
    body.push(0);
    body.extend_from_slice(rest);
    Msg::new(b'P', body)
}

/// The fields of an ErrorResponse or NoticeResponse: (code byte, value).
pub fn error_fields(body: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut b = body;
    while let Some((&code, rest)) = b.split_first() {
        if code == 0 {
            break;
        }
        let Some((v, rest)) = cstr(rest) else { break };
        out.push((code, v.to_string()));
        b = rest;
    }
    out
}

/// An ErrorResponse with CockroachDB's SQLSTATE and message (and a detail when given).
pub fn error(code: &str, message: &str, detail: Option<&str>) -> Msg {
    let mut body = Vec::new();
    let mut field = |k: u8, v: &str| {
        body.push(k);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    };
    field(b'S', "ERROR");
    field(b'V', "ERROR");
    field(b'C', code);
    field(b'M', message);
    if let Some(d) = detail {
        field(b'D', d);
    }
    body.push(0);
    Msg::new(b'E', body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let mut buf = Vec::new();
        query("SELECT 1").write_to(&mut buf).unwrap();
        parse("s1", "SELECT $1", &[0, 1, 0, 0, 0, 23])
            .write_to(&mut buf)
            .unwrap();
        let mut r = &buf[..];
        let q = read_msg(&mut r).unwrap().unwrap();
        assert_eq!(query_text(&q.body), Some("SELECT 1"));
        let p = read_msg(&mut r).unwrap().unwrap();
        assert_eq!(
            parse_parts(&p.body),
            Some(("s1", "SELECT $1", &[0u8, 1, 0, 0, 0, 23][..]))
        );
        assert_eq!(read_msg(&mut r).unwrap(), None);
    }

    #[test]
    fn errors_carry_code_message_and_detail() {
        let e = error("08P01", "CopyFrom not supported", Some("see #41120"));
        let f = error_fields(&e.body);
        assert!(f.contains(&(b'C', "08P01".into())));
        assert!(f.contains(&(b'M', "CopyFrom not supported".into())));
        assert!(f.contains(&(b'D', "see #41120".into())));
    }

    #[test]
    fn startup_parameters_are_read() {
        let mut p = vec![0, 0, 0, 0, 0, 3, 0, 0];
        p.extend_from_slice(b"user\0root\0database\0bank\0\0");
        let n = p.len() as u32;
        p[..4].copy_from_slice(&n.to_be_bytes());
        let (packet, code) = read_startup(&mut &p[..]).unwrap();
        assert_eq!(code, 196_608);
        assert_eq!(
            startup_params(&packet),
            vec![
                ("user".into(), "root".into()),
                ("database".into(), "bank".into())
            ]
        );
    }
}
