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
        let mut out = Vec::with_capacity(1024 + data_len);
        serde_json::to_writer(&mut out, &self.header).expect("a header always serializes");
        out.pop(); // the header object's closing brace
        out.extend_from_slice(b",\"payloads\":[");
        for (i, p) in self.payloads.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_payload(p, &mut out);
        }
        out.extend_from_slice(b"]}");
        String::from_utf8(out).expect("JSON output is UTF-8")
    }
}

fn write_payload(p: &SentPayload, out: &mut Vec<u8>) {
    let string = |out: &mut Vec<u8>, s: &str| serde_json::to_writer(&mut *out, s).expect("strings serialize");
    out.extend_from_slice(b"{\"id\":");
    string(out, &p.id);
    out.extend_from_slice(b",\"dataname\":");
    string(out, &p.dataname);
    out.extend_from_slice(
        format!(
            r#","payload_type":"{}","transport":"{}","encoding":"{}","size":{},"data":"#,
            p.payload_type.as_str(),
            p.transport().as_str(),
            p.encoding(),
            p.size
        )
        .as_bytes(),
    );
    match &p.data {
        SentData::Direct(b) => {
            out.push(b'"');
            b64::encode_into(b, out);
            out.push(b'"');
        }
        SentData::Link(url) => string(out, url),
    }
    if let Some(d) = &p.sha256 {
        out.extend_from_slice(b",\"sha256\":");
        string(out, d);
    }
    out.push(b'}');
}

/// Length of the `data` field on the wire.
pub(crate) fn wire_data_len(p: &SentPayload) -> usize {
    match &p.data {
        SentData::Direct(b) => b64::encoded_len(b.len()),
        SentData::Link(url) => url.len(),
    }
}

/// A payload entry as it arrived, before its data is decoded.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePayload<'a> {
    #[serde(default, deserialize_with = "string_or_null")]
    pub id: String,
    pub dataname: String,
    pub payload_type: String,
    pub transport: String,
    #[serde(default)]
    pub encoding: Option<String>,
    pub size: u64,
    #[serde(borrow)]
    pub data: WireData<'a>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub metadata: Option<Map<String, Json>>,
}

impl WirePayload<'_> {
    pub fn transport(&self) -> Result<Transport> {
        Transport::parse(&self.transport)
    }
}

/// The `data` field: a string (base64, a URL, or JSON text), or a JSON value that some writers
/// put there directly with `encoding: "json"`. Strings borrow from the message when they can.
#[derive(Debug)]
pub(crate) enum WireData<'a> {
    Str(Cow<'a, str>),
    Json(Json),
}

impl<'de: 'a, 'a> Deserialize<'de> for WireData<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(WireDataVisitor(std::marker::PhantomData))
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
        // Parse the top level by hand: `flatten` would buffer every payload's data.
        let raw: RawEnvelope<'a> = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid(format!("message is not a valid NATSBridge envelope: {e}")))?;
        let header = Header::deserialize(Json::Object(raw.rest))
            .map_err(|e| Error::invalid(format!("envelope header is invalid: {e}")))?;
        let payloads = raw.payloads.ok_or_else(|| Error::invalid("envelope has no \"payloads\" array"))?;
        Ok(WireEnvelope { header, payloads })
    }
}

/// The top level split into the payloads and everything else (the header's fields).
struct RawEnvelope<'a> {
    payloads: Option<Vec<WirePayload<'a>>>,
    rest: Map<String, Json>,
}

impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEnvelope<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut payloads = None;
                let mut rest = Map::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "payloads" {
                        if payloads.is_some() {
                            return Err(de::Error::duplicate_field("payloads"));
                        }
                        payloads = Some(map.next_value::<Vec<WirePayload<'de>>>()?);
                    } else {
                        rest.insert(key.into_owned(), map.next_value::<Json>()?);
                    }
                }
                Ok(RawEnvelope { payloads, rest })
            }
        }
        d.deserialize_map(V)
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

/// ISO-8601 UTC with milliseconds and `Z`, as envelopes carry it.
pub fn timestamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    now.format(&fmt).expect("UTC timestamps always format")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_shape() {
        let t = timestamp_now();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.');
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
    fn reader_borrows_data_and_defaults_header() {
        let msg = br#"{"payloads":[{"dataname":"a","payload_type":"text","transport":"direct","size":2,"data":"aGk="}],"extra":1}"#;
        let env = WireEnvelope::parse(msg).unwrap();
        assert_eq!(env.header, Header::default());
        assert!(matches!(env.payloads[0].data, WireData::Str(Cow::Borrowed("aGk="))));
    }

    #[test]
    fn reader_rejects_non_envelopes() {
        for bad in [&b"[1]"[..], b"{", b"{\"payloads\": 3}", b"{}", b"\xff"] {
            assert_eq!(WireEnvelope::parse(bad).unwrap_err().kind(), crate::ErrorKind::InvalidEnvelope);
        }
    }
}
