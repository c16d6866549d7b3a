//! Sending: payloads from JavaScript into the engine's `Payload`s, and the built envelope back.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::JsValue;
use natsbridge::{ErrorKind, Payload, PayloadType, Sent, Table, Value};

use crate::error::{argument, err};
use crate::jsstring::SharedText;

/// What a payload's value is, as the JS layer hands it over.
pub enum ValueIn {
    Text(String),
    /// A dictionary's JSON text, or a table's rows as JSON text.
    Json(String),
    /// Raw bytes, or a table's Arrow IPC stream. Taken over without a copy.
    Bytes(Buffer),
    /// A file whose bytes are the serialized payload (streamed when it goes by link).
    Path(String),
}

/// One payload as the JS layer hands it over.
pub struct PayloadIn {
    pub dataname: String,
    pub payload_type: PayloadType,
    pub value: ValueIn,
}

/// The payloads as the JS layer hands them over: one flat array of four elements per payload,
/// `dataname, type, kind, value`. `type` is the index of the payload type in
/// `PayloadType::ALL` (the order of `TYPES` in lib/convert.js); `kind` says what `value` is: 0 a
/// text, 1 JSON text (a dictionary, or a table's rows), 2 bytes (a `Buffer`), 3 a file's path.
/// Read by index, with no property names and no empty slots: a few Node-API calls per payload.
pub struct PayloadsIn(pub Vec<PayloadIn>);

/// Element `i` of `a`, converted.
fn element<T: FromNapiValue>(a: &Array, i: u32) -> Result<T> {
    match a.get::<T>(i)? {
        Some(v) => Ok(v),
        None => Err(Error::new(Status::InvalidArg, format!("payload element {i} is missing"))),
    }
}

impl FromNapiValue for PayloadsIn {
    unsafe fn from_napi_value(env: napi::sys::napi_env, value: napi::sys::napi_value) -> Result<Self> {
        // SAFETY: called by napi with a value of this env.
        let a = unsafe { Array::from_napi_value(env, value)? };
        let n = a.len() / 4;
        let mut out = Vec::with_capacity(n as usize);
        for i in (0..n).map(|i| 4 * i) {
            let dataname: String = element(&a, i)?;
            let t: u32 = element(&a, i + 1)?;
            let payload_type = *PayloadType::ALL
                .get(t as usize)
                .ok_or_else(|| Error::new(Status::InvalidArg, format!("no payload type numbered {t}")))?;
            let value = match element::<u32>(&a, i + 2)? {
                0 => ValueIn::Text(element(&a, i + 3)?),
                1 => ValueIn::Json(element(&a, i + 3)?),
                2 => ValueIn::Bytes(element(&a, i + 3)?),
                3 => ValueIn::Path(element(&a, i + 3)?),
                k => return Err(Error::new(Status::InvalidArg, format!("no payload value kind numbered {k}"))),
            };
            out.push(PayloadIn { dataname, payload_type, value });
        }
        Ok(PayloadsIn(out))
    }
}

impl TypeName for PayloadsIn {
    fn type_name() -> &'static str {
        "PayloadsIn"
    }
    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ValidateNapiValue for PayloadsIn {}

fn bad_table(name: &str, e: natsbridge::Error) -> natsbridge::Error {
    argument(format!("payload {name:?}: {}", e.message()))
}

impl PayloadIn {
    pub fn into_payload(self) -> natsbridge::Result<Payload> {
        let PayloadIn { dataname, payload_type: t, value } = self;
        if let ValueIn::Path(path) = value {
            return Ok(Payload::file(dataname, t, path));
        }
        let missing = |what: &str| argument(format!("payload {dataname:?} of type {t} needs {what}"));
        let value = match (t, value) {
            (PayloadType::Text, ValueIn::Text(s)) => Value::Text(s),
            (PayloadType::Text, _) => return Err(missing("a string")),
            (PayloadType::Dictionary, ValueIn::Json(json)) => Value::Dictionary(
                serde_json::from_str(&json)
                    .map_err(|e| argument(format!("payload {dataname:?}: not valid JSON: {e}")))?,
            ),
            (PayloadType::Dictionary, _) => return Err(missing("a JSON-serializable value")),
            (PayloadType::Table, ValueIn::Json(rows)) => {
                let rows: serde_json::Value = serde_json::from_str(&rows)
                    .map_err(|e| argument(format!("payload {dataname:?}: rows are not valid JSON: {e}")))?;
                Value::Table(Table::from_json_rows(&rows).map_err(|e| bad_table(&dataname, e))?)
            }
            (PayloadType::Table, ValueIn::Bytes(ipc)) => {
                Value::Table(Table::from_ipc(Bytes::from_owner(ipc)).map_err(|e| bad_table(&dataname, e))?)
            }
            (PayloadType::Table, _) => return Err(missing("an array of row objects or an apache-arrow Table")),
            (raw, ValueIn::Bytes(b)) => Value::from_bytes(raw, Bytes::from_owner(b))?,
            (_, _) => return Err(missing("a Uint8Array or Buffer")),
        };
        Ok(Payload::new(dataname, value))
    }
}

pub fn payloads(items: PayloadsIn) -> natsbridge::Result<Vec<Payload>> {
    items.0.into_iter().map(PayloadIn::into_payload).collect()
}

/// A built (and maybe published) envelope on its way to JS: `{ json, bytes?, header }`, or only
/// the `json` string when there is neither `bytes` nor `header`.
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
        if !val.want_bytes && val.header.is_none() {
            // Just the text (the usual case): no object to make and fill.
            // SAFETY: called on the JS thread with its env.
            return unsafe { val.json.string(env) };
        }
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
