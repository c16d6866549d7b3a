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

/// A decoded envelope on its way to JS.
pub struct EnvelopeOut {
    /// The 13 header fields as JSON.
    pub header: String,
    pub payloads: Vec<PayloadOut>,
}

crate::js::to_js_object!(EnvelopeOut { header: "header", payloads: "payloads" });

/// One decoded payload; exactly one of `text`, `json`, `bytes`, `path` is set.
pub struct PayloadOut {
    pub id: String,
    pub dataname: String,
    pub payload_type: String,
    pub transport: String,
    pub size: f64,
    /// The payload's `metadata` object as JSON, when it has one.
    pub metadata: Option<String>,
    pub text: Option<JsString>,
    /// A dictionary's JSON, or a table's rows as JSON.
    pub json: Option<JsString>,
    /// Raw bytes, or a table's Arrow IPC stream.
    pub bytes: Option<Buffer>,
    /// Where a link payload was saved (`save_dir`).
    pub path: Option<String>,
}

crate::js::to_js_object!(PayloadOut {
    id: "id",
    dataname: "dataname",
    payload_type: "payload_type",
    transport: "transport",
    size: "size",
    metadata: "metadata",
    text: "text",
    json: "json",
    bytes: "bytes",
    path: "path",
});

fn buffer(bytes: bytes::Bytes) -> Buffer {
    // No copy when the engine holds the only reference to a whole allocation (base64-decoded
    // direct payloads); the Buffer then owns that memory.
    Buffer::from(Vec::<u8>::from(bytes))
}

pub fn envelope_out(env: Envelope, table_format: TableFormat) -> natsbridge::Result<EnvelopeOut> {
    let header = serde_json::to_string(&env.header)
        .map_err(|e| err(ErrorKind::Internal, format!("cannot write the header as JSON: {e}")))?;
    let payloads = env
        .payloads
        .into_iter()
        .map(|p| {
            let mut out = PayloadOut {
                id: p.id,
                dataname: p.dataname,
                payload_type: p.payload_type.as_str().to_owned(),
                transport: p.transport.as_str().to_owned(),
                size: p.size as f64,
                metadata: p.metadata.map(|m| serde_json::Value::Object(m).to_string()),
                text: None,
                json: None,
                bytes: None,
                path: None,
            };
            match p.value {
                Value::Text(s) => out.text = Some(JsString(s)),
                Value::Dictionary(v) => out.json = Some(JsString(v.to_string())),
                Value::Table(t) => match table_format {
                    TableFormat::Rows => out.json = Some(JsString(rows_json(&t)?)),
                    TableFormat::Ipc => out.bytes = Some(Buffer::from(t.to_ipc()?)),
                },
                Value::File { path, .. } => out.path = Some(path.to_string_lossy().into_owned()),
                Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => out.bytes = Some(buffer(b)),
            }
            Ok(out)
        })
        .collect::<natsbridge::Result<Vec<_>>>()?;
    Ok(EnvelopeOut { header, payloads })
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
