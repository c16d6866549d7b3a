//! Sending: payloads from JavaScript into the engine's `Payload`s, and the built envelope back.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::JsValue;
use natsbridge::{ErrorKind, Payload, PayloadType, Sent, Table, Value};

use crate::error::{argument, err};
use crate::jsstring::SharedText;

/// One payload as the JS layer hands it over: exactly one of `text`, `json`, `bytes`, `path`.
/// It arrives as the array `[dataname, payload_type, text, json, bytes, path]`: read by index,
/// with no property name to make and look up for each field.
pub struct PayloadIn {
    pub dataname: Option<String>,
    pub payload_type: Option<String>,
    pub text: Option<String>,
    /// A dictionary's JSON text, or a table's rows as JSON text.
    pub json: Option<String>,
    /// Raw bytes, or a table's Arrow IPC stream. Taken over without a copy.
    pub bytes: Option<Buffer>,
    /// A file whose bytes are the serialized payload (streamed when it goes by link).
    pub path: Option<String>,
}

impl FromNapiValue for PayloadIn {
    unsafe fn from_napi_value(env: napi::sys::napi_env, value: napi::sys::napi_value) -> Result<Self> {
        // SAFETY: called by napi with a value of this env.
        let a = unsafe { Array::from_napi_value(env, value)? };
        Ok(PayloadIn {
            dataname: a.get::<Option<String>>(0)?.flatten(),
            payload_type: a.get::<Option<String>>(1)?.flatten(),
            text: a.get::<Option<String>>(2)?.flatten(),
            json: a.get::<Option<String>>(3)?.flatten(),
            bytes: a.get::<Option<Buffer>>(4)?.flatten(),
            path: a.get::<Option<String>>(5)?.flatten(),
        })
    }
}

impl TypeName for PayloadIn {
    fn type_name() -> &'static str {
        "PayloadIn"
    }
    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ValidateNapiValue for PayloadIn {}

fn bad_table(name: &str, e: natsbridge::Error) -> natsbridge::Error {
    argument(format!("payload {name:?}: {}", e.message()))
}

impl PayloadIn {
    pub fn into_payload(self) -> natsbridge::Result<Payload> {
        let PayloadIn { dataname, payload_type, text, json, bytes, path } = self;
        let dataname = dataname.ok_or_else(|| argument("a payload needs a dataname (a string)"))?;
        let payload_type = payload_type.ok_or_else(|| argument(format!("payload {dataname:?} needs a type")))?;
        let t: PayloadType = payload_type.parse()?;
        if let Some(path) = path {
            return Ok(Payload::file(dataname, t, path));
        }
        let missing = |what: &str| argument(format!("payload {dataname:?} of type {t} needs {what}"));
        let value = match t {
            PayloadType::Text => Value::Text(text.ok_or_else(|| missing("a string"))?),
            PayloadType::Dictionary => {
                let json = json.ok_or_else(|| missing("a JSON-serializable value"))?;
                Value::Dictionary(
                    serde_json::from_str(&json)
                        .map_err(|e| argument(format!("payload {dataname:?}: not valid JSON: {e}")))?,
                )
            }
            PayloadType::Table => match (json, bytes) {
                (Some(rows), _) => {
                    let rows: serde_json::Value = serde_json::from_str(&rows)
                        .map_err(|e| argument(format!("payload {dataname:?}: rows are not valid JSON: {e}")))?;
                    Value::Table(Table::from_json_rows(&rows).map_err(|e| bad_table(&dataname, e))?)
                }
                (None, Some(ipc)) => {
                    Value::Table(Table::from_ipc(Bytes::from_owner(ipc)).map_err(|e| bad_table(&dataname, e))?)
                }
                (None, None) => return Err(missing("an array of row objects or an apache-arrow Table")),
            },
            raw => Value::from_bytes(raw, Bytes::from_owner(bytes.ok_or_else(|| missing("a Uint8Array or Buffer"))?))?,
        };
        Ok(Payload::new(dataname, value))
    }
}

pub fn payloads(items: Vec<PayloadIn>) -> natsbridge::Result<Vec<Payload>> {
    items.into_iter().map(PayloadIn::into_payload).collect()
}

/// A built (and maybe published) envelope on its way to JS: `{ json, bytes?, header }`.
pub struct SentOut {
    /// The envelope's JSON text: the seed's `env_json_str`.
    pub json: SharedText,
    /// Also give the same text as bytes (to publish through a nats.js connection), sharing memory.
    pub want_bytes: bool,
    /// The 13 header fields as JSON, for a large envelope only: JS parses a small one whole.
    pub header: Option<String>,
}

impl ToNapiValue for SentOut {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        let js_env = napi::Env::from_raw(env);
        let mut obj = Object::new(&js_env)?;
        // SAFETY: called on the JS thread with its env, as every `to_napi_value`.
        unsafe {
            obj.set("json", Unknown::from_raw_unchecked(env, val.json.string(env)?))?;
            if val.want_bytes {
                obj.set("bytes", Unknown::from_raw_unchecked(env, val.json.buffer(env)?))?;
            }
            if let Some(header) = val.header {
                obj.set("header", header)?;
            }
        }
        Ok(obj.raw())
    }
}

/// Envelopes up to this many bytes of JSON reach JS without a separate header: parsing the
/// whole JSON is cheaper there than a lazily parsed `payloads`.
const WHOLE_JSON_MAX: usize = 16 * 1024;

pub fn sent_out(sent: Sent, want_bytes: bool) -> natsbridge::Result<SentOut> {
    let header = if sent.json.len() <= WHOLE_JSON_MAX {
        None
    } else {
        Some(
            serde_json::to_string(&sent.envelope.header)
                .map_err(|e| err(ErrorKind::Internal, format!("cannot write the header as JSON: {e}")))?,
        )
    };
    Ok(SentOut { json: SharedText(std::sync::Arc::new(sent.json)), want_bytes, header })
}
