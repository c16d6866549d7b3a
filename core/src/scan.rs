//! Small envelopes in the form writers emit, read by a compact scanner.
//!
//! serde_json's general reader is some 25 KB of machine code for the envelope's shape. A small
//! message (a request, a reply) arrives at a thread whose caches the server and other threads
//! have used meanwhile, and fetching that code cost it more than the parsing itself. This
//! reader is a few KB. It takes objects of known keys whose values are strings without escapes,
//! `null`, `{}` and an unsigned size; on anything else it returns `None` and the general reader
//! decides, errors included, so both read every input they accept alike (a test holds them so).

use std::borrow::Cow;

use serde_json::Map;

use crate::envelope::{Header, PayloadFields, WireData, WireEnvelope, WirePayload};

/// Larger messages are mostly payload data, which the general reader scans with SIMD.
const SCAN_BELOW: usize = 16 * 1024;

/// The envelope, or `None` when it is not a small one in the simple form.
pub(crate) fn scan(bytes: &[u8]) -> Option<WireEnvelope<'_>> {
    if bytes.len() >= SCAN_BELOW {
        return None;
    }
    // Checked once: a check per string cost more than the rest of the scan.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut c = Cursor { text, b: bytes, i: 0 };
    let mut header = Header::default();
    let mut payloads = None;
    let mut seen = 0u16;
    c.object(|c, key| {
        if key == "payloads" {
            return (payloads.replace(c.payloads()?).is_none()).then_some(());
        }
        let (bit, field) = match key {
            "correlation_id" => (0, &mut header.correlation_id),
            "msg_id" => (1, &mut header.msg_id),
            "timestamp" => (2, &mut header.timestamp),
            "send_to" => (3, &mut header.send_to),
            "msg_purpose" => (4, &mut header.msg_purpose),
            "sender_name" => (5, &mut header.sender_name),
            "sender_id" => (6, &mut header.sender_id),
            "receiver_name" => (7, &mut header.receiver_name),
            "receiver_id" => (8, &mut header.receiver_id),
            "reply_to" => (9, &mut header.reply_to),
            "reply_to_msg_id" => (10, &mut header.reply_to_msg_id),
            "broker_url" => (11, &mut header.broker_url),
            "metadata" => return c.first(&mut seen, 12).and_then(|_| c.empty_map()).map(drop),
            _ => return None,
        };
        c.first(&mut seen, bit)?;
        *field = c.str_or_null()?.unwrap_or_default().to_owned();
        Some(())
    })?;
    c.skip_ws();
    (c.i == bytes.len()).then_some(WireEnvelope { header, payloads: payloads? })
}

struct Cursor<'a> {
    text: &'a str,
    /// `text`'s bytes.
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// Marks field `bit` as read; `None` when it was read before (a duplicate key).
    fn first(&mut self, seen: &mut u16, bit: u32) -> Option<()> {
        let mask = 1 << bit;
        let fresh = *seen & mask == 0;
        *seen |= mask;
        fresh.then_some(())
    }

    /// A string without escapes or control characters, as it stands in the message.
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let end = start + find_quote_or_escape(&self.b[start..])?;
        (self.b[end] == b'"').then(|| self.i = end + 1)?;
        // Both ends are ASCII quotes, so on character boundaries.
        self.text.get(start..end)
    }

    fn str_or_null(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? != b'n' {
            return self.str().map(Some);
        }
        self.b[self.i..].starts_with(b"null").then(|| self.i += 4)?;
        Some(None)
    }

    /// `{}` as `Some`, `null` as `None` (any other map goes to the general reader).
    fn empty_map(&mut self) -> Option<Option<Map<String, serde_json::Value>>> {
        if self.peek()? == b'{' {
            self.i += 1;
            return self.eat(b'}').map(|_| Some(Map::new()));
        }
        self.str_or_null()?.is_none().then_some(None)
    }

    /// An unsigned integer as serde_json reads one into a `u64`.
    fn size(&mut self) -> Option<u64> {
        self.skip_ws();
        let digits = self.b[self.i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let text = self.text.get(self.i..self.i + digits)?;
        // No leading zeros, fractions or exponents: the general reader treats those.
        if digits == 0
            || (text.starts_with('0') && digits > 1)
            || matches!(self.b.get(self.i + digits), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.i += digits;
        text.parse().ok()
    }

    /// `{"key": value, ...}`, each value read by `entry`.
    fn object(&mut self, mut entry: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.str()?;
            self.eat(b':')?;
            entry(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn payloads(&mut self) -> Option<Vec<WirePayload<'a>>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            out.push(self.payload()?);
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    fn payload(&mut self) -> Option<WirePayload<'a>> {
        let (mut id, mut dataname, mut payload_type, mut transport) = (None, None, None, None);
        let (mut encoding, mut size, mut data, mut sha256, mut metadata) = (None, None, None, None, None);
        let mut seen = 0u16;
        self.object(|c, key| {
            match key {
                "id" => c.first(&mut seen, 0).and_then(|_| c.str_or_null()).map(|v| id = v)?,
                "dataname" => c.first(&mut seen, 1).and_then(|_| c.str()).map(|v| dataname = Some(v))?,
                "payload_type" => c.first(&mut seen, 2).and_then(|_| c.str()).map(|v| payload_type = Some(v))?,
                "transport" => c.first(&mut seen, 3).and_then(|_| c.str()).map(|v| transport = Some(v))?,
                "encoding" => c.first(&mut seen, 4).and_then(|_| c.str_or_null()).map(|v| encoding = v)?,
                "size" => c.first(&mut seen, 5).and_then(|_| c.size()).map(|v| size = Some(v))?,
                "data" => c.first(&mut seen, 6).and_then(|_| c.str()).map(|v| data = Some(v))?,
                "sha256" => c.first(&mut seen, 7).and_then(|_| c.str_or_null()).map(|v| sha256 = v)?,
                "metadata" => c.first(&mut seen, 8).and_then(|_| c.empty_map()).map(|v| metadata = v)?,
                _ => return None,
            }
            Some(())
        })?;
        Some(PayloadFields {
            id: id.unwrap_or_default().to_owned(),
            dataname: dataname?.to_owned(),
            payload_type: Cow::Borrowed(payload_type?),
            transport: Cow::Borrowed(transport?),
            encoding: encoding.map(Cow::Borrowed),
            size: size?,
            data: WireData::Raw(data?.as_bytes()),
            sha256: sha256.map(Cow::Borrowed),
            metadata,
        })
    }
}

/// The index of the first `"`, `\\` or control character, eight bytes at a time.
fn find_quote_or_escape(s: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    // A byte of `x` is zero (below `n`) where `x - n` borrows into its high bit; a borrow can
    // only mark bytes above a real match, so the lowest mark is exact.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * n as u64) & !x & HIGH;
    let chunks = s.chunks_exact(8);
    let tail = chunks.remainder();
    for (k, chunk) in chunks.enumerate() {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let marks = below(w ^ (ONES * b'"' as u64), 1) | below(w ^ (ONES * b'\\' as u64), 1) | below(w, 0x20);
        if marks != 0 {
            return Some(k * 8 + marks.trailing_zeros() as usize / 8);
        }
    }
    let at = tail.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(s.len() - tail.len() + at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::SendOptions;
    use crate::payload::Payload;

    /// Whatever the scanner reads, the general reader reads the same way.
    fn agrees(json: &str) -> bool {
        let scanned = scan(json.as_bytes());
        if let Some(s) = &scanned {
            let general = WireEnvelope::parse_general(json.as_bytes()).expect("the general reader accepts it too");
            assert_eq!(format!("{s:?}"), format!("{general:?}"), "{json}");
        }
        scanned.is_some()
    }

    async fn written(payloads: Vec<Payload>, opts: SendOptions) -> String {
        let opts = SendOptions { is_publish: false, ..opts };
        crate::smartsend("subj", payloads, &opts).await.unwrap().json
    }

    #[test]
    fn finds_the_first_quote_escape_or_control_character() {
        let naive = |s: &[u8]| s.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let alphabet = [b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xe9, 0xff, b'!', b'#', b'[', b']'];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            for _ in 0..200 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Mostly plain bytes, so matches land anywhere.
                        if state % 4 == 0 {
                            alphabet[(state >> 8) as usize % alphabet.len()]
                        } else {
                            b'x'
                        }
                    })
                    .collect();
                assert_eq!(find_quote_or_escape(&s), naive(&s), "{s:?}");
            }
        }
    }

    #[tokio::test]
    async fn reads_what_the_writer_writes() {
        let reply = SendOptions { reply_to: "_INBOX.x.y".into(), receiver_name: "é ü".into(), ..Default::default() };
        for json in [
            written(vec![Payload::text("q", "x".repeat(100))], SendOptions::default()).await,
            written(vec![Payload::text("a", ""), Payload::binary("b", vec![0u8, 1, 255])], reply).await,
            written(vec![], SendOptions::default()).await,
        ] {
            assert!(agrees(&json), "{json}");
        }
    }

    #[tokio::test]
    async fn other_spellings_of_the_same_envelope() {
        let json = written(vec![Payload::text("q", "hi")], SendOptions::default()).await;
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(agrees(&serde_json::to_string_pretty(&value).unwrap()));
        let with = |from: &str, to: &str| {
            assert!(json.contains(from), "{from}");
            json.replacen(from, to, 1)
        };
        for variant in [
            with(r#""receiver_name":"""#, r#""receiver_name":null"#),
            with(r#""metadata":{}"#, r#""metadata":null"#),
            with(r#""encoding":"base64""#, r#""encoding":null,"metadata":{},"sha256":null"#),
            with(r#""id":"#, r#""metadata":null,"id":"#),
            with(r#","receiver_id":"""#, ""),
        ] {
            assert!(agrees(&variant), "{variant}");
        }
    }

    #[tokio::test]
    async fn leaves_everything_else_to_the_general_reader() {
        let mut opts = SendOptions::default();
        opts.metadata.insert("k".into(), 1.into());
        assert!(!agrees(&written(vec![Payload::text("q", "hi")], opts).await));
        let json = written(vec![Payload::text("q", "hi")], SendOptions::default()).await;
        let with = |from: &str, to: &str| json.replacen(from, to, 1);
        for variant in [
            with(r#""send_to":"subj""#, r#""send_to":"su\u0062j""#),
            with(r#""send_to":"subj""#, r#""send_to":"subj","extra":1"#),
            with(r#""send_to":"subj""#, r#""send_to":"subj","send_to":"x""#),
            with(r#""size":2"#, r#""size":02"#),
            with(r#""size":2"#, r#""size":2e0"#),
            with(r#""size":2"#, r#""size":99999999999999999999"#),
            with(r#""dataname":"q""#, r#""dataname":null"#),
            with(r#""data":"aGk=""#, r#""data":["x"]"#),
            with(r#","payloads":[{"#, r#","payloads":null,"x":[{"#),
            format!("{json} x"),
            json[..json.len() - 1].to_owned(),
        ] {
            assert!(!agrees(&variant), "{variant}");
        }
    }
}
