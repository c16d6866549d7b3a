//! Decoding: message bytes into an envelope whose payload values JavaScript can take over
//! without further parsing on the JS thread beyond `JSON.parse` of dictionaries and rows.

use std::sync::Arc;

use natsbridge::arrow_array::cast::AsArray;
use natsbridge::arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use natsbridge::arrow_schema::{DataType, Field, Schema};

use napi::bindgen_prelude::*;
use natsbridge::async_nats;
use natsbridge::{Envelope, ErrorKind, Table, Value};
use serde::Deserialize;

use crate::error::err;
use crate::handlers::{DownloadTsfn, JsDownloader};
use crate::jsstring::JsString;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// JSON rows (`[{col: value}, ...]`), parsed into objects by the JS layer.
    Rows,
    /// The Arrow IPC stream, for apache-arrow's `tableFromIPC` (or as is).
    Ipc,
}

/// Everything a decode needs: the engine's options, the user's download handler, the table form.
#[derive(Clone)]
pub struct ReceiveConfig {
    base: natsbridge::ReceiveOptions,
    handler: Option<Arc<DownloadTsfn>>,
    pub table_format: TableFormat,
}

impl ReceiveConfig {
    pub fn new(base: natsbridge::ReceiveOptions, handler: Option<DownloadTsfn>, table_format: TableFormat) -> Self {
        ReceiveConfig { base, handler: handler.map(Arc::new), table_format }
    }

    /// The engine's options for one message: a JS download handler is told the message's
    /// `correlation_id`, as the seed's handlers are.
    pub fn options_for(&self, message: &[u8]) -> natsbridge::ReceiveOptions {
        match &self.handler {
            None => self.base.clone(),
            Some(tsfn) => natsbridge::ReceiveOptions {
                downloader: Arc::new(JsDownloader::new(tsfn.clone(), peek_correlation_id(message))),
                ..self.base.clone()
            },
        }
    }

    /// The engine's options when the message is not known up front (JetStream consumers).
    pub fn options(&self) -> natsbridge::ReceiveOptions {
        self.options_for(b"")
    }

    pub async fn decode(&self, message: &[u8]) -> natsbridge::Result<EnvelopeOut> {
        let env = natsbridge::smartreceive(message, &self.options_for(message)).await?;
        envelope_out(env, self.table_format)
    }

    /// Decodes a NATS message as a subscription does (`natsbridge::decode_message`).
    pub async fn decode_message(&self, msg: async_nats::Message) -> natsbridge::Result<EnvelopeOut> {
        let options = self.options_for(&msg.payload);
        envelope_out(natsbridge::decode_message(msg, &options).await?, self.table_format)
    }
}

/// The envelope's `correlation_id`, read without decoding anything else ("" when unreadable).
fn peek_correlation_id(message: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Peek {
        #[serde(default)]
        correlation_id: Option<String>,
    }
    if message.is_empty() {
        return String::new();
    }
    serde_json::from_slice::<Peek>(message).ok().and_then(|p| p.correlation_id).unwrap_or_default()
}

/// A decoded envelope on its way to JS: `[json, ...side]`. `json` is one JSON text,
/// `[header, [[id, dataname, payload_type, transport, size, metadata, kind, value], ...]]`, so the
/// JS thread makes all the small objects with one `JSON.parse` (setting their properties one by
/// one through Node-API cost about a microsecond each). `kind` says what `value` is: `"t"` the
/// text, `"j"` the JSON value itself (a dictionary, or a table's rows), `"f"` the saved file's
/// path; `"T"` (a long text) and `"b"` (bytes, or a table's Arrow IPC stream) the index of the
/// string or `Buffer` in `side`, which stay out of the JSON text.
pub struct EnvelopeOut {
    json: JsString,
    side: Vec<Side>,
}

enum Side {
    Text(JsString),
    Bytes(Buffer),
}

impl ToNapiValue for EnvelopeOut {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let mut out = std::ptr::null_mut();
        // SAFETY: called on the JS thread with its env, as every `to_napi_value`; each element is
        // a value just made in that env.
        unsafe {
            check_status!(napi::sys::napi_create_array_with_length(env, 1 + val.side.len(), &mut out))?;
            let json = JsString::to_napi_value(env, val.json)?;
            check_status!(napi::sys::napi_set_element(env, out, 0, json))?;
            for (i, s) in val.side.into_iter().enumerate() {
                let v = match s {
                    Side::Text(t) => JsString::to_napi_value(env, t)?,
                    Side::Bytes(b) => Buffer::to_napi_value(env, b)?,
                };
                check_status!(napi::sys::napi_set_element(env, out, 1 + i as u32, v))?;
            }
        }
        Ok(out)
    }
}

/// Texts up to this many bytes travel inside the JSON text; longer ones as their own string
/// (which can be external, without a copy).
const TEXT_IN_JSON: usize = 16 * 1024;

fn buffer(bytes: bytes::Bytes) -> Buffer {
    // No copy when the engine holds the only reference to a whole allocation (base64-decoded
    // direct payloads); the Buffer then owns that memory.
    Buffer::from(Vec::<u8>::from(bytes))
}

/// `,"kind",index`: a value kept in `side`.
fn push_index(json: &mut Vec<u8>, kind: &str, index: usize) {
    json.extend_from_slice(format!(",\"{kind}\",{index}").as_bytes());
}

pub fn envelope_out(env: Envelope, table_format: TableFormat) -> natsbridge::Result<EnvelopeOut> {
    let bad = |e: serde_json::Error| err(ErrorKind::Internal, format!("cannot write the envelope as JSON: {e}"));
    let mut json = Vec::with_capacity(512);
    json.push(b'[');
    serde_json::to_writer(&mut json, &env.header).map_err(bad)?;
    json.extend_from_slice(b",[");
    let mut side = Vec::new();
    for (i, p) in env.payloads.into_iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        let fields = (p.id, p.dataname, p.payload_type.as_str(), p.transport.as_str(), p.size, p.metadata);
        // The tuple's closing bracket is left off, to append `kind` and `value`.
        serde_json::to_writer(&mut json, &fields).map_err(bad)?;
        json.pop();
        let mut aside = |s: Side| {
            side.push(s);
            side.len()
        };
        match p.value {
            Value::Text(s) if s.len() <= TEXT_IN_JSON => {
                json.extend_from_slice(b",\"t\",");
                serde_json::to_writer(&mut json, &s).map_err(bad)?;
            }
            Value::Text(s) => push_index(&mut json, "T", aside(Side::Text(JsString(s)))),
            Value::Dictionary(v) => {
                json.extend_from_slice(b",\"j\",");
                serde_json::to_writer(&mut json, &v).map_err(bad)?;
            }
            Value::Table(t) => match table_format {
                TableFormat::Rows => {
                    json.extend_from_slice(b",\"j\",");
                    json.extend_from_slice(rows_json(&t)?.as_bytes());
                }
                TableFormat::Ipc => push_index(&mut json, "b", aside(Side::Bytes(Buffer::from(t.to_ipc()?)))),
            },
            Value::File { path, .. } => {
                json.extend_from_slice(b",\"f\",");
                serde_json::to_writer(&mut json, &path.to_string_lossy()).map_err(bad)?;
            }
            Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => {
                push_index(&mut json, "b", aside(Side::Bytes(buffer(b))))
            }
        }
        json.push(b']');
    }
    json.extend_from_slice(b"]]");
    // Valid UTF-8: serde_json writes only that, and the rows are a `String`.
    let json = String::from_utf8(json).map_err(|e| err(ErrorKind::Internal, format!("envelope JSON: {e}")))?;
    Ok(EnvelopeOut { json: JsString(json), side })
}

/// A table's rows as JSON text. Dictionary-encoded string columns (what apache-arrow in
/// JavaScript writes for strings by default) are read as plain strings.
fn rows_json(t: &Table) -> natsbridge::Result<String> {
    let plain;
    let t = match undictionary(t)? {
        Some(p) => {
            plain = p;
            &plain
        }
        None => t,
    };
    Ok(t.to_json_rows()?.to_string())
}

fn undictionary(t: &Table) -> natsbridge::Result<Option<Table>> {
    let is_dict = |f: &Field| matches!(f.data_type(), DataType::Dictionary(..));
    if !t.schema().fields().iter().any(|f| is_dict(f)) {
        return Ok(None);
    }
    let fields: Vec<Field> = t
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, values) => Field::new(f.name(), (**values).clone(), true),
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batches = t
        .batches()
        .iter()
        .map(|b| {
            let columns: Vec<ArrayRef> =
                b.columns().iter().map(|c| plain_column(c)).collect::<natsbridge::Result<_>>()?;
            RecordBatch::try_new(schema.clone(), columns)
                .map_err(|e| err(ErrorKind::Internal, format!("cannot rebuild a dictionary column: {e}")))
        })
        .collect::<natsbridge::Result<Vec<_>>>()?;
    Table::new(schema, batches).map(Some)
}

fn plain_column(c: &ArrayRef) -> natsbridge::Result<ArrayRef> {
    let DataType::Dictionary(_, value_type) = c.data_type() else {
        return Ok(c.clone());
    };
    let dict = c.as_any_dictionary();
    let keys = dict.normalized_keys();
    let values = dict.values();
    let pick = |i: usize| (!c.is_null(i) && !values.is_null(keys[i])).then(|| keys[i]);
    Ok(match value_type.as_ref() {
        DataType::Utf8 => {
            let v = values.as_string::<i32>();
            Arc::new((0..c.len()).map(|i| pick(i).map(|k| v.value(k))).collect::<StringArray>())
        }
        DataType::LargeUtf8 => {
            let v = values.as_string::<i64>();
            Arc::new((0..c.len()).map(|i| pick(i).map(|k| v.value(k))).collect::<StringArray>())
        }
        other => {
            return Err(err(
                ErrorKind::InvalidArgument,
                format!("dictionary-encoded column of {other} has no row form; receive it with table_format 'arrow'"),
            ))
        }
    })
}
