//! Envelope v1 as it travels: the header every message carries, the payload entries as the
//! sender writes them, and the tolerant reader's view of what arrives.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::b64;
use crate::error::{Error, Result};
use crate::payload::{PayloadType, Value};

/// How a payload travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Base64 inside the envelope.
    Direct,
    /// Uploaded to a claim-check store; the envelope carries the URL.
    Link,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Direct => "direct",
            Transport::Link => "link",
        }
    }

    fn parse(s: &str) -> Result<Transport> {
        match s {
            "direct" => Ok(Transport::Direct),
            "link" => Ok(Transport::Link),
            other => Err(Error::invalid(format!("unknown transport {other:?}; expected \"direct\" or \"link\""))),
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The envelope fields besides the payloads. Missing fields read as `""` (and `{}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    #[serde(default, deserialize_with = "string_or_null")]
    pub correlation_id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub msg_id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub timestamp: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub send_to: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub msg_purpose: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub sender_name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub sender_id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub receiver_name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub receiver_id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub reply_to: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub reply_to_msg_id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub broker_url: String,
    #[serde(default, deserialize_with = "map_or_null")]
    pub metadata: Map<String, Json>,
}

fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn map_or_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Map<String, Json>, D::Error> {
    Ok(Option::<Map<String, Json>>::deserialize(d)?.unwrap_or_default())
}

/// Where a sent payload's bytes are: inside the envelope, or at a URL.
#[derive(Debug, Clone, PartialEq)]
pub enum SentData {
    /// The serialized bytes; written as base64.
    Direct(Bytes),
    /// The URL the bytes were uploaded to.
    Link(String),
}

/// One payload entry as the sender wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentPayload {
    pub id: String,
    pub dataname: String,
    pub payload_type: PayloadType,
    pub size: u64,
    /// Hex SHA-256 of the serialized bytes; written for link payloads.
    pub sha256: Option<String>,
    pub data: SentData,
}

impl SentPayload {
    pub fn transport(&self) -> Transport {
        match self.data {
            SentData::Direct(_) => Transport::Direct,
            SentData::Link(_) => Transport::Link,
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self.data {
            SentData::Direct(_) => "base64",
            SentData::Link(_) => "none",
        }
    }

    /// The `data` field as it appears on the wire (base64 or the URL).
    pub fn data_string(&self) -> String {
        match &self.data {
            SentData::Direct(b) => b64::encode(b),
            SentData::Link(url) => url.clone(),
        }
    }
}

/// An envelope as the sender built it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentEnvelope {
    pub header: Header,
    pub payloads: Vec<SentPayload>,
}

impl SentEnvelope {
    /// The JSON text that travels: the seed's field order, base64 written straight from the
    /// payload bytes into the output (no intermediate string, no escaping pass over it).
    pub fn to_json(&self) -> String {
        let data_len: usize = self.payloads.iter().map(|p| wire_data_len(p) + 320).sum();
        let mut out = String::with_capacity(1024 + data_len);
        write_header(&self.header, &mut out);
        out.push_str(",\"payloads\":[");
        for (i, p) in self.payloads.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_payload(p, &mut out);
        }
        out.push_str("]}");
        out
    }
}

/// The header as its derived `Serialize` writes it (a test holds the two equal), without the
/// closing brace; by hand, as the general serializer cost a small envelope more than the rest.
fn write_header(h: &Header, out: &mut String) {
    let fields = [
        ("correlation_id", &h.correlation_id),
        ("msg_id", &h.msg_id),
        ("timestamp", &h.timestamp),
        ("send_to", &h.send_to),
        ("msg_purpose", &h.msg_purpose),
        ("sender_name", &h.sender_name),
        ("sender_id", &h.sender_id),
        ("receiver_name", &h.receiver_name),
        ("receiver_id", &h.receiver_id),
        ("reply_to", &h.reply_to),
        ("reply_to_msg_id", &h.reply_to_msg_id),
        ("broker_url", &h.broker_url),
    ];
    let mut sep = '{';
    for (key, value) in fields {
        out.push(sep);
        sep = ',';
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        push_json_str(out, value);
    }
    out.push_str(",\"metadata\":");
    match h.metadata.is_empty() {
        true => out.push_str("{}"),
        false => out.push_str(&serde_json::to_string(&h.metadata).expect("JSON values serialize")),
    }
}

fn write_payload(p: &SentPayload, out: &mut String) {
    out.push_str("{\"id\":");
    push_json_str(out, &p.id);
    out.push_str(",\"dataname\":");
    push_json_str(out, &p.dataname);
    for (key, value) in
        [("payload_type", p.payload_type.as_str()), ("transport", p.transport().as_str()), ("encoding", p.encoding())]
    {
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":\"");
        out.push_str(value);
        out.push('"');
    }
    out.push_str(",\"size\":");
    fmt::Write::write_fmt(out, format_args!("{}", p.size)).expect("writing to a String cannot fail");
    out.push_str(",\"data\":");
    match &p.data {
        SentData::Direct(b) => {
            out.push('"');
            b64::encode_into(b, out);
            out.push('"');
        }
        SentData::Link(url) => push_json_str(out, url),
    }
    if let Some(d) = &p.sha256 {
        out.push_str(",\"sha256\":");
        push_json_str(out, d);
    }
    out.push('}');
}

/// Appends `s` as a JSON string; ids, names and URLs rarely need escapes, and then cost a copy.
fn push_json_str(out: &mut String, s: &str) {
    // No early exit: the whole-string form vectorizes.
    if s.bytes().fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.push_str(&serde_json::to_string(s).expect("strings serialize"));
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// Length of the `data` field on the wire.
pub(crate) fn wire_data_len(p: &SentPayload) -> usize {
    match &p.data {
        SentData::Direct(b) => b64::encoded_len(b.len()),
        SentData::Link(url) => url.len(),
    }
}

/// A payload entry as it arrived, before its data is decoded; `D` is the `data` field.
#[derive(Debug, Deserialize)]
pub(crate) struct PayloadFields<'a, D> {
    #[serde(default, deserialize_with = "string_or_null")]
    pub id: String,
    pub dataname: String,
    // Read, not kept: borrowed from the message unless escaped.
    #[serde(borrow)]
    pub payload_type: Cow<'a, str>,
    #[serde(borrow)]
    pub transport: Cow<'a, str>,
    #[serde(default, borrow)]
    pub encoding: Option<Cow<'a, str>>,
    pub size: u64,
    pub data: D,
    #[serde(default, borrow)]
    pub sha256: Option<Cow<'a, str>>,
    #[serde(default)]
    pub metadata: Option<Map<String, Json>>,
}

pub(crate) type WirePayload<'a> = PayloadFields<'a, WireData<'a>>;

impl<'a, D> PayloadFields<'a, D> {
    fn map_data<T>(self, f: impl FnOnce(D) -> T) -> PayloadFields<'a, T> {
        PayloadFields {
            id: self.id,
            dataname: self.dataname,
            payload_type: self.payload_type,
            transport: self.transport,
            encoding: self.encoding,
            size: self.size,
            data: f(self.data),
            sha256: self.sha256,
            metadata: self.metadata,
        }
    }
}

impl WirePayload<'_> {
    pub fn transport(&self) -> Result<Transport> {
        Transport::parse(&self.transport)
    }

    /// A string `data` as text (`None` for other JSON values).
    pub fn data_text(&self) -> Result<Option<&str>> {
        match &self.data {
            WireData::Str(s) => Ok(Some(s)),
            WireData::Raw(bytes) => {
                // Unchecked by the fast parse: what serde_json would have refused is refused here.
                let bad = || Error::invalid(format!("payload {:?}: data is not a valid JSON string", self.dataname));
                let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
                if text.bytes().any(|b| b < 0x20) {
                    return Err(bad());
                }
                Ok(Some(text))
            }
            WireData::Json(_) => Ok(None),
        }
    }

    /// A string `data` as bytes, unchecked (base64 decoding checks every byte anyway).
    pub fn data_bytes(&self) -> Option<&[u8]> {
        match &self.data {
            WireData::Str(s) => Some(s.as_bytes()),
            WireData::Raw(bytes) => Some(bytes),
            WireData::Json(_) => None,
        }
    }
}

/// The `data` field: a string (base64, a URL, or JSON text), or a JSON value that some writers
/// put there directly with `encoding: "json"`. Strings borrow from the message when they can.
#[derive(Debug)]
pub(crate) enum WireData<'a> {
    Str(Cow<'a, str>),
    /// A string without escapes, as the message holds it, not checked as UTF-8 text.
    Raw(&'a [u8]),
    Json(Json),
}

impl<'de: 'a, 'a> Deserialize<'de> for WireData<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(WireDataVisitor(std::marker::PhantomData))
    }
}

/// `data` read the fast way, a string without escapes or an array: serde_json finds the end of a
/// string read as bytes with SIMD and skips its UTF-8 check, most of the work on a large base64
/// payload. Anything else fails, and the envelope is parsed again the general way.
struct StringData<'a>(WireData<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for StringData<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct RawVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for RawVisitor<'a> {
            type Value = WireData<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string without escapes or an array")
            }
            fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> std::result::Result<Self::Value, E> {
                Ok(WireData::Raw(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
                Json::deserialize(SeqAccessDeserializer::new(seq)).map(WireData::Json)
            }
        }
        d.deserialize_bytes(RawVisitor(std::marker::PhantomData)).map(StringData)
    }
}

struct WireDataVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for WireDataVisitor<'a> {
    type Value = WireData<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Str(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Json(Json::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Json(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Json(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Json(v.into()))
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(WireData::Json(Json::Null))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        Json::deserialize(MapAccessDeserializer::new(map)).map(WireData::Json)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        Json::deserialize(SeqAccessDeserializer::new(seq)).map(WireData::Json)
    }
}

/// An envelope as it arrived, before its payloads are decoded.
#[derive(Debug)]
pub(crate) struct WireEnvelope<'a> {
    pub header: Header,
    pub payloads: Vec<WirePayload<'a>>,
}

impl<'a> WireEnvelope<'a> {
    /// Parses message bytes; anything that is not a well-formed envelope is `InvalidEnvelope`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        match crate::scan::scan(bytes) {
            Some(envelope) => Ok(envelope),
            None => Self::parse_general(bytes),
        }
    }

    /// `parse` by serde_json, for every envelope.
    pub(crate) fn parse_general(bytes: &'a [u8]) -> Result<Self> {
        // The fast way first (every `data` a string, as writers emit it), then the general way,
        // which also gives the error message for input that is not an envelope.
        let raw = match fast_parse::<RawEnvelope<'a, StringData<'a>>>(bytes) {
            Ok(raw) => RawEnvelope {
                payloads: raw.payloads.map(|ps| ps.into_iter().map(|p| p.map_data(|d| d.0)).collect()),
                header: raw.header,
            },
            Err(_) => serde_json::from_slice::<RawEnvelope<'a, WireData<'a>>>(bytes)
                .map_err(|e| Error::invalid(format!("message is not a valid NATSBridge envelope: {e}")))?,
        };
        let payloads = raw.payloads.ok_or_else(|| Error::invalid("envelope has no \"payloads\" array"))?;
        let header = raw.header;
        Ok(WireEnvelope { header, payloads })
    }
}

/// Below this size a message is checked as UTF-8 once, which spares serde_json a check per string
/// (about 40 in a small envelope); above it, skipping the check of the long base64 `data` is worth more.
const CHECK_WHOLE_UTF8_BELOW: usize = 16 * 1024;

fn fast_parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(&bytes[..bytes.len().min(CHECK_WHOLE_UTF8_BELOW)]) {
        Ok(text) if text.len() == bytes.len() => serde_json::from_str(text),
        _ => serde_json::from_slice(bytes),
    }
}

/// The top level: the header is read by its own `Deserialize` from the envelope's map, with the
/// `payloads` entry taken out on the way (no buffering, no second list of the header's fields).
struct RawEnvelope<'a, D> {
    header: Header,
    payloads: Option<Vec<PayloadFields<'a, D>>>,
}

impl<'de: 'a, 'a, D: Deserialize<'de>> Deserialize<'de> for RawEnvelope<'a, D> {
    fn deserialize<De: Deserializer<'de>>(d: De) -> std::result::Result<Self, De::Error> {
        struct V<'a, D>(std::marker::PhantomData<(&'a (), D)>);
        impl<'de: 'a, 'a, D: Deserialize<'de>> Visitor<'de> for V<'a, D> {
            type Value = RawEnvelope<'a, D>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut payloads = None;
                let header =
                    Header::deserialize(MapAccessDeserializer::new(TakePayloads { map, payloads: &mut payloads }))?;
                Ok(RawEnvelope { header, payloads })
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The envelope's map without its `payloads` entry, which goes to `payloads`.
struct TakePayloads<'s, 'a, A, D> {
    map: A,
    payloads: &'s mut Option<Vec<PayloadFields<'a, D>>>,
}

impl<'de: 'a, 'a, A: de::MapAccess<'de>, D: Deserialize<'de>> de::MapAccess<'de> for TakePayloads<'_, 'a, A, D> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> std::result::Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key::<Key<'de>>()? {
            if key.0 == "payloads" {
                if self.payloads.is_some() {
                    return Err(de::Error::duplicate_field("payloads"));
                }
                *self.payloads = Some(self.map.next_value()?);
                continue;
            }
            return match key.0 {
                Cow::Borrowed(k) => seed.deserialize(de::value::BorrowedStrDeserializer::new(k)).map(Some),
                Cow::Owned(k) => seed.deserialize(de::value::StringDeserializer::new(k)).map(Some),
            };
        }
        Ok(None)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> std::result::Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A map key, borrowed from the message unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedPayload {
    pub id: String,
    pub dataname: String,
    pub payload_type: PayloadType,
    pub transport: Transport,
    pub size: u64,
    pub metadata: Option<Map<String, Json>>,
    pub value: Value,
}

/// A decoded envelope: the header and the payloads in the order the sender gave them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    pub header: Header,
    pub payloads: Vec<ReceivedPayload>,
}

impl Envelope {
    /// The first payload with this name.
    pub fn payload(&self, dataname: &str) -> Option<&ReceivedPayload> {
        self.payloads.iter().find(|p| p.dataname == dataname)
    }
}

/// A UUID v4 from the thread's userspace RNG: one `getrandom` system call per id was a visible
/// share of a small request's cost.
pub(crate) fn new_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// A new id in its hyphenated form, written without the formatting machinery.
pub(crate) fn new_id() -> String {
    new_uuid().hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned()
}

/// Now, as ISO-8601 UTC with milliseconds and `Z` (`2026-01-31T23:59:59.123Z`), written digit by
/// digit: the general formatter took more time than the rest of a small envelope's header.
pub fn timestamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let mut out = String::with_capacity(24);
    let mut push = |n: u32, width: u32, then: Option<char>| {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
        }
        out.extend(then);
    };
    push(now.year().clamp(0, 9999) as u32, 4, Some('-'));
    push(u8::from(now.month()).into(), 2, Some('-'));
    push(now.day().into(), 2, Some('T'));
    push(now.hour().into(), 2, Some(':'));
    push(now.minute().into(), 2, Some(':'));
    push(now.second().into(), 2, Some('.'));
    push(now.millisecond().into(), 3, Some('Z'));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_distinct() {
        let (a, b) = (new_uuid(), new_uuid());
        assert_ne!(a, b);
        assert_eq!(a.get_version(), Some(uuid::Version::Random));
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn timestamp_shape() {
        let t = timestamp_now();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.');
        let n = |r: std::ops::Range<usize>| t[r].parse::<u16>().unwrap();
        let date = time::Date::from_calendar_date(n(0..4) as i32, (n(5..7) as u8).try_into().unwrap(), n(8..10) as u8);
        let clock = time::Time::from_hms_milli(n(11..13) as u8, n(14..16) as u8, n(17..19) as u8, n(20..23));
        let age =
            time::OffsetDateTime::now_utc() - time::PrimitiveDateTime::new(date.unwrap(), clock.unwrap()).assume_utc();
        assert!(age >= time::Duration::ZERO && age < time::Duration::minutes(1), "{t} is not now");
    }

    #[test]
    fn ids_are_hyphenated_uuids() {
        let id = new_id();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().hyphenated().to_string(), id);
    }

    #[test]
    fn sent_payload_writes_seed_fields() {
        let p = SentPayload {
            id: "i".into(),
            dataname: "d".into(),
            payload_type: PayloadType::Binary,
            size: 3,
            sha256: None,
            data: SentData::Direct(Bytes::from_static(b"abc")),
        };
        let env = SentEnvelope { header: Header::default(), payloads: vec![p.clone(), p] };
        let v: Json = serde_json::from_str(&env.to_json()).unwrap();
        let entry = serde_json::json!({"id":"i","dataname":"d","payload_type":"binary","transport":"direct","encoding":"base64","size":3,"data":"YWJj"});
        assert_eq!(v["payloads"], serde_json::json!([entry, entry]));
        assert_eq!(v["msg_purpose"], "");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.first().map(|k| k.as_str()), Some("correlation_id"));
        assert_eq!(keys.last().map(|k| k.as_str()), Some("payloads"));
    }

    #[test]
    fn header_is_written_as_its_serialize_writes_it() {
        let mut h = Header::default();
        for (i, field) in [
            &mut h.correlation_id,
            &mut h.msg_id,
            &mut h.timestamp,
            &mut h.send_to,
            &mut h.msg_purpose,
            &mut h.sender_name,
            &mut h.sender_id,
            &mut h.receiver_name,
            &mut h.receiver_id,
            &mut h.reply_to,
            &mut h.reply_to_msg_id,
            &mut h.broker_url,
        ]
        .into_iter()
        .enumerate()
        {
            *field = format!("v{i} \"é\"");
        }
        h.metadata.insert("k".into(), serde_json::json!([1, {"a": null}]));
        let mut out = String::new();
        write_header(&h, &mut out);
        out.push('}');
        assert_eq!(out, serde_json::to_string(&h).unwrap());
    }

    #[test]
    fn names_and_urls_are_escaped_when_they_need_it() {
        let p = SentPayload {
            id: "i".into(),
            dataname: "a \"q\"\n\\ é\u{1}".into(),
            payload_type: PayloadType::Binary,
            size: 3,
            sha256: Some("ab".into()),
            data: SentData::Link("http://h/f/x y".into()),
        };
        let env = SentEnvelope { header: Header::default(), payloads: vec![p.clone()] };
        let v: Json = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(v["payloads"][0]["dataname"], p.dataname.as_str());
        assert_eq!(v["payloads"][0]["data"], "http://h/f/x y");
        assert_eq!(v["payloads"][0]["sha256"], "ab");
    }

    #[test]
    fn reader_borrows_data_and_defaults_header() {
        let msg = br#"{"payloads":[{"dataname":"a","payload_type":"text","transport":"direct","size":2,"data":"aGk="}],"extra":1}"#;
        let env = WireEnvelope::parse(msg).unwrap();
        assert_eq!(env.header, Header::default());
        assert!(matches!(env.payloads[0].data, WireData::Raw(b"aGk=")));
    }

    #[test]
    fn reader_checks_string_data_as_text_where_text_is_needed() {
        let one = |data: &[u8]| {
            let mut msg = br#"{"payloads":[{"dataname":"a","payload_type":"text","transport":"direct","encoding":"json","size":2,"data":""#.to_vec();
            msg.extend_from_slice(data);
            msg.extend_from_slice(br#""}]}"#);
            let env = WireEnvelope::parse(&msg).map_err(|e| e.kind())?;
            env.payloads[0].data_text().map(|t| t.map(str::to_owned)).map_err(|e| e.kind())
        };
        assert_eq!(one(b"hi"), Ok(Some("hi".into())));
        assert_eq!(one(br"\u0068\n"), Ok(Some("h\n".into())));
        for bad in [&b"h\x01"[..], b"\xff\xfe", br"\ud800"] {
            assert_eq!(one(bad), Err(crate::ErrorKind::InvalidEnvelope), "{bad:?}");
        }
        let object = br#"{"payloads":[{"dataname":"a","payload_type":"dictionary","transport":"direct","encoding":"json","size":2,"data":{"k":[1]}}]}"#;
        let env = WireEnvelope::parse(object).unwrap();
        assert!(matches!(&env.payloads[0].data, WireData::Json(v) if v["k"][0] == 1));
    }

    #[test]
    fn reader_rejects_non_envelopes() {
        for bad in [&b"[1]"[..], b"{", b"{\"payloads\": 3}", b"{}", b"\xff"] {
            assert_eq!(WireEnvelope::parse(bad).unwrap_err().kind(), crate::ErrorKind::InvalidEnvelope);
        }
    }
}
