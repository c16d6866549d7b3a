//! Decoding: message bytes into an envelope whose payload values JavaScript can take over
//! without further parsing on the JS thread beyond `JSON.parse` of dictionaries and rows.

use std::sync::Arc;

use natsbridge::arrow_array::cast::AsArray;
use natsbridge::arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use natsbridge::arrow_schema::{DataType, Field, Schema};

use napi::bindgen_prelude::*;
use natsbridge::async_nats;
use natsbridge::{Envelope, ErrorKind, Header, Table, Value};
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

/// A decoded envelope on its way to JS: `[text, ...side]` (only `text` when `side` is empty), so that the JS thread makes all the
/// small objects from one string (setting their properties one by one through Node-API cost
/// about a microsecond each). `side` holds long texts and bytes, which stay out of `text`.
///
/// `text` is usually the compact form: every field preceded by a NUL character (which therefore
/// starts the text), `split` in JS and read by position: the 12 header strings, the header's
/// `metadata` as JSON, then for each payload `id, dataname, payload_type, transport, size,
/// metadata, kind, value` (`metadata` its JSON, or empty when absent). This costs JS about half
/// the time of a `JSON.parse` of the same fields as objects. When a string field holds a NUL
/// itself, `text` is JSON instead: `[header, [[id, dataname, payload_type, transport, size,
/// metadata, kind, value], ...]]`.
///
/// `kind` says what `value` is: `"t"` the text, `"j"` a JSON value (a dictionary, or a table's
/// rows; JSON text in the compact form), `"f"` the saved file's path; `"T"` (a long text) and
/// `"b"` (bytes, or a table's Arrow IPC stream) the index of the string or `Buffer` in `side`.
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
        if val.side.is_empty() {
            // Just the text (the usual case): no array to make and fill.
            // SAFETY: called on the JS thread with its env.
            return unsafe { JsString::to_napi_value(env, val.json) };
        }
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

/// Texts up to this many bytes travel inside the text; longer ones as their own string (which
/// can be external, without a copy).
const TEXT_IN_JSON: usize = 16 * 1024;

/// Precedes every field of the compact form.
const SEP: u8 = 0;

fn buffer(bytes: bytes::Bytes) -> Buffer {
    // No copy when the engine holds the only reference to a whole allocation (base64-decoded
    // direct payloads); the Buffer then owns that memory.
    Buffer::from(Vec::<u8>::from(bytes))
}

/// The output text, in either form.
struct Writer {
    out: Vec<u8>,
    compact: bool,
}

impl Writer {
    /// A string field.
    fn str(&mut self, s: &str) -> natsbridge::Result<()> {
        if self.compact {
            self.out.push(SEP);
            self.out.extend_from_slice(s.as_bytes());
            Ok(())
        } else {
            self.out.push(b',');
            serde_json::to_writer(&mut self.out, s).map_err(bad_json)
        }
    }

    /// A JSON field: its text in the compact form, the value itself in JSON.
    fn json(&mut self, v: &impl serde::Serialize) -> natsbridge::Result<()> {
        self.out.push(if self.compact { SEP } else { b',' });
        serde_json::to_writer(&mut self.out, v).map_err(bad_json)
    }

    /// JSON text made already.
    fn json_text(&mut self, text: &str) {
        self.out.push(if self.compact { SEP } else { b',' });
        self.out.extend_from_slice(text.as_bytes());
    }

    /// A number.
    fn number(&mut self, n: impl std::fmt::Display) {
        self.out.push(if self.compact { SEP } else { b',' });
        self.out.extend_from_slice(n.to_string().as_bytes());
    }
}

fn bad_json(e: serde_json::Error) -> natsbridge::Error {
    err(ErrorKind::Internal, format!("cannot write the envelope as JSON: {e}"))
}

/// The header's string fields, in their order (the compact form's first 12 fields).
fn header_strings(h: &Header) -> [&str; 12] {
    [
        &h.correlation_id,
        &h.msg_id,
        &h.timestamp,
        &h.send_to,
        &h.msg_purpose,
        &h.sender_name,
        &h.sender_id,
        &h.receiver_name,
        &h.receiver_id,
        &h.reply_to,
        &h.reply_to_msg_id,
        &h.broker_url,
    ]
}

/// Whether a string field holds the compact form's separator (the JSON form is used then).
fn has_sep(env: &Envelope) -> bool {
    let sep = |s: &str| s.as_bytes().contains(&SEP);
    header_strings(&env.header).iter().any(|s| sep(s))
        || env.payloads.iter().any(|p| {
            sep(&p.id)
                || sep(&p.dataname)
                || matches!(&p.value, Value::Text(t) if t.len() <= TEXT_IN_JSON && sep(t))
                || matches!(&p.value, Value::File { path, .. } if sep(&path.to_string_lossy()))
        })
}

pub fn envelope_out(env: Envelope, table_format: TableFormat) -> natsbridge::Result<EnvelopeOut> {
    let compact = !has_sep(&env);
    let mut w = Writer { out: Vec::with_capacity(512), compact };
    let h = &env.header;
    if compact {
        for s in header_strings(h) {
            w.str(s)?;
        }
        w.json(&h.metadata)?;
    } else {
        w.out.push(b'[');
        serde_json::to_writer(&mut w.out, h).map_err(bad_json)?;
        w.out.extend_from_slice(b",[");
    }
    let mut side = Vec::new();
    for (i, p) in env.payloads.into_iter().enumerate() {
        if !compact {
            if i > 0 {
                w.out.push(b',');
            }
            w.out.push(b'[');
            serde_json::to_writer(&mut w.out, &p.id).map_err(bad_json)?;
        } else {
            w.str(&p.id)?;
        }
        w.str(&p.dataname)?;
        w.str(p.payload_type.as_str())?;
        w.str(p.transport.as_str())?;
        w.number(p.size);
        match (&p.metadata, compact) {
            (Some(m), _) => w.json(m)?,
            (None, true) => w.str("")?,
            (None, false) => w.json_text("null"),
        }
        let mut aside = |s: Side| {
            side.push(s);
            side.len()
        };
        match p.value {
            Value::Text(s) if s.len() <= TEXT_IN_JSON => {
                w.str("t")?;
                w.str(&s)?;
            }
            Value::Text(s) => {
                w.str("T")?;
                w.number(aside(Side::Text(JsString(s))));
            }
            Value::Dictionary(v) => {
                w.str("j")?;
                w.json(&v)?;
            }
            Value::Table(t) => match table_format {
                TableFormat::Rows => {
                    w.str("j")?;
                    w.json_text(&rows_json(&t)?);
                }
                TableFormat::Ipc => {
                    w.str("b")?;
                    w.number(aside(Side::Bytes(Buffer::from(t.to_ipc()?))));
                }
            },
            Value::File { path, .. } => {
                w.str("f")?;
                w.str(&path.to_string_lossy())?;
            }
            Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => {
                w.str("b")?;
                w.number(aside(Side::Bytes(buffer(b))));
            }
        }
        if !compact {
            w.out.push(b']');
        }
    }
    if !compact {
        w.out.extend_from_slice(b"]]");
    }
    // Valid UTF-8: made of `str`s and what serde_json writes.
    let json = String::from_utf8(w.out).map_err(|e| err(ErrorKind::Internal, format!("envelope text: {e}")))?;
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
