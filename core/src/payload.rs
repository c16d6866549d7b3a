//! Payload types and the native values they decode to.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use bytes::Bytes;

use crate::error::{Error, ErrorKind};
use crate::table::Table;

/// The seven payload types of envelope v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadType {
    Text,
    Dictionary,
    Table,
    Image,
    Audio,
    Video,
    Binary,
}

impl PayloadType {
    pub const ALL: [PayloadType; 7] = [
        PayloadType::Text,
        PayloadType::Dictionary,
        PayloadType::Table,
        PayloadType::Image,
        PayloadType::Audio,
        PayloadType::Video,
        PayloadType::Binary,
    ];

    /// The name writers emit.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadType::Text => "text",
            PayloadType::Dictionary => "dictionary",
            PayloadType::Table => "table",
            PayloadType::Image => "image",
            PayloadType::Audio => "audio",
            PayloadType::Video => "video",
            PayloadType::Binary => "binary",
        }
    }

    /// Types whose serialized form is the bytes as given.
    pub fn is_raw_bytes(self) -> bool {
        matches!(self, PayloadType::Image | PayloadType::Audio | PayloadType::Video | PayloadType::Binary)
    }
}

impl FromStr for PayloadType {
    type Err = Error;

    /// Reads the seven names and the variants other implementations emit
    /// (`arrowtable`, `jsontable`).
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "text" => PayloadType::Text,
            "dictionary" => PayloadType::Dictionary,
            "table" | "arrowtable" | "jsontable" => PayloadType::Table,
            "image" => PayloadType::Image,
            "audio" => PayloadType::Audio,
            "video" => PayloadType::Video,
            "binary" => PayloadType::Binary,
            other => {
                return Err(Error::new(
                    ErrorKind::UnknownPayloadType,
                    format!(
                        "unknown payload type {other:?}; expected one of text, dictionary, table, image, audio, video, binary"
                    ),
                ))
            }
        })
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload's native value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// Any JSON value (objects and arrays alike).
    Dictionary(serde_json::Value),
    Table(Table),
    Image(Bytes),
    Audio(Bytes),
    Video(Bytes),
    Binary(Bytes),
    /// The serialized bytes of a payload of the given type, in a file. On send the file is
    /// streamed to the store (or read, when it goes direct); on receive, link payloads land here
    /// when the caller asked for them to be saved to a directory.
    File {
        payload_type: PayloadType,
        path: PathBuf,
    },
}

impl Value {
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Value::Text(_) => PayloadType::Text,
            Value::Dictionary(_) => PayloadType::Dictionary,
            Value::Table(_) => PayloadType::Table,
            Value::Image(_) => PayloadType::Image,
            Value::Audio(_) => PayloadType::Audio,
            Value::Video(_) => PayloadType::Video,
            Value::Binary(_) => PayloadType::Binary,
            Value::File { payload_type, .. } => *payload_type,
        }
    }

    /// Raw bytes as a value of a raw-bytes type (image, audio, video, binary).
    pub fn from_bytes(payload_type: PayloadType, bytes: Bytes) -> Result<Value, Error> {
        Ok(match payload_type {
            PayloadType::Image => Value::Image(bytes),
            PayloadType::Audio => Value::Audio(bytes),
            PayloadType::Video => Value::Video(bytes),
            PayloadType::Binary => Value::Binary(bytes),
            other => return Err(Error::argument(format!("{other} is not a raw-bytes payload type"))),
        })
    }

    /// The bytes of a raw-bytes value.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => Some(b),
            _ => None,
        }
    }
}

/// A named payload to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub dataname: String,
    pub value: Value,
}

impl Payload {
    pub fn new(dataname: impl Into<String>, value: Value) -> Self {
        Payload { dataname: dataname.into(), value }
    }

    pub fn text(dataname: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(dataname, Value::Text(text.into()))
    }

    pub fn dictionary(dataname: impl Into<String>, json: serde_json::Value) -> Self {
        Self::new(dataname, Value::Dictionary(json))
    }

    pub fn table(dataname: impl Into<String>, table: Table) -> Self {
        Self::new(dataname, Value::Table(table))
    }

    pub fn binary(dataname: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self::new(dataname, Value::Binary(bytes.into()))
    }

    /// A file's bytes as a payload of `payload_type`; streamed, never read whole when it goes by link.
    pub fn file(dataname: impl Into<String>, payload_type: PayloadType, path: impl Into<PathBuf>) -> Self {
        Self::new(dataname, Value::File { payload_type, path: path.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip_and_variants_read() {
        for t in PayloadType::ALL {
            assert_eq!(t.as_str().parse::<PayloadType>().unwrap(), t);
        }
        assert_eq!("arrowtable".parse::<PayloadType>().unwrap(), PayloadType::Table);
        assert_eq!("jsontable".parse::<PayloadType>().unwrap(), PayloadType::Table);
        let err = "spreadsheet".parse::<PayloadType>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownPayloadType);
    }
}
