//! Serialization of native values to the bytes that travel, and back: one form per type.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::payload::{PayloadType, Value};
use crate::table::Table;

/// The serialized bytes of an in-memory value (`Value::File` is streamed by the caller instead).
pub(crate) fn serialize(value: Value) -> Result<Bytes> {
    Ok(match value {
        Value::Text(s) => Bytes::from(s),
        Value::Dictionary(v) => Bytes::from(
            serde_json::to_vec(&v)
                .map_err(|e| Error::argument(format!("dictionary cannot be written as JSON: {e}")))?,
        ),
        Value::Table(t) => Bytes::from(t.to_ipc()?),
        Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => b,
        Value::File { .. } => {
            return Err(Error::new(crate::ErrorKind::Internal, "file values are streamed, not serialized"))
        }
    })
}

/// The native value of serialized bytes of `payload_type`.
pub(crate) fn deserialize(payload_type: PayloadType, bytes: Bytes) -> Result<Value> {
    Ok(match payload_type {
        // Bytes a decoder just made are unshared: they become the String without a copy.
        PayloadType::Text => Value::Text(
            String::from_utf8(Vec::from(bytes))
                .map_err(|e| Error::encoding(format!("text payload is not valid UTF-8: {}", e.utf8_error())))?,
        ),
        PayloadType::Dictionary => Value::Dictionary(
            serde_json::from_slice(&bytes)
                .map_err(|e| Error::encoding(format!("dictionary payload is not valid JSON: {e}")))?,
        ),
        PayloadType::Table => Value::Table(Table::from_ipc(bytes)?),
        raw => Value::from_bytes(raw, bytes)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_in_memory_type_round_trips() {
        let values = [
            Value::Text("héllo 🌍".into()),
            Value::Dictionary(serde_json::json!({"a": [1, 2, {"b": null}]})),
            Value::Dictionary(serde_json::json!([1, "x"])),
            Value::Image(Bytes::from_static(b"\x89PNG")),
            Value::Audio(Bytes::new()),
            Value::Video(Bytes::from_static(b"v")),
            Value::Binary(Bytes::from_static(&[0, 255, 7])),
        ];
        for v in values {
            let bytes = serialize(v.clone()).unwrap();
            assert_eq!(deserialize(v.payload_type(), bytes).unwrap(), v);
        }
    }

    #[test]
    fn bad_bytes_are_bad_encoding() {
        for (t, b) in
            [(PayloadType::Text, &b"\xff\xfe"[..]), (PayloadType::Dictionary, b"{nope"), (PayloadType::Table, b"xx")]
        {
            let err = deserialize(t, Bytes::copy_from_slice(b)).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::BadEncoding, "{t}");
        }
    }
}
