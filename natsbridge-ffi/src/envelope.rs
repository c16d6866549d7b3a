//! Envelopes (received, or built by a send) and read access to their payloads.

use std::ffi::c_char;
use std::sync::{Mutex, OnceLock};

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::RecordBatchIterator;
use arrow_schema::DataType;
use bytes::Bytes;
use natsbridge::{Envelope, Header, JsDelivery, PayloadType, ReceivedPayload, Sent, SentData, Table, Transport, Value};
use serde_json::{json, Value as Json};

use crate::alloc::{give_to, NulStr};
use crate::error::{arg, cstr, guard, internal, nb_result_t, out, put, slice, R};
use crate::handle::{self, get, handle};

use crate::options::{nb_receive_options_t, receive_opts};
use crate::payloads::{
    nb_arrow_array_stream_t, nb_payload_type_t, nb_transport_t, type_code, NB_TRANSPORT_DIRECT, NB_TRANSPORT_LINK,
};
use crate::runtime::{block_on_timeout, duration};

/// The envelope header fields, in wire order; `metadata` is read as JSON text.
const FIELDS: [&str; 13] = [
    "correlation_id",
    "msg_id",
    "timestamp",
    "send_to",
    "msg_purpose",
    "sender_name",
    "sender_id",
    "receiver_name",
    "receiver_id",
    "reply_to",
    "reply_to_msg_id",
    "broker_url",
    "metadata",
];

/// An envelope: either received (decoded: every payload holds its native value) or sent (built
/// by `nb_smartsend` & co.: the header, each payload's transport, and the JSON text that
/// travels). Free with `nb_envelope_free` (safe on NULL and twice). Every pointer read from it
/// (strings, bytes, `nb_payload_t`) is owned by the envelope and stays valid until it is freed.
/// An envelope is read-only: several threads may read it at once.
pub struct nb_envelope_t {
    pub(crate) header: Header,
    fields: Vec<NulStr>,
    payloads: Vec<nb_payload_t>,
    sent_json: Option<NulStr>,
    /// The JetStream delivery this envelope came with (ack/nak), when it came from a consumer.
    pub(crate) delivery: Option<Mutex<JsDelivery>>,
    pub(crate) delivered: i64,
}
impl handle::Handle for nb_envelope_t {
    const TAG: u64 = 0x6e62_656e_7600_0001;
    const NAME: &'static str = "nb_envelope_t";
    fn children(&self) -> Vec<(usize, u64)> {
        self.payloads
            .iter()
            .map(|p| (p as *const nb_payload_t as usize, <nb_payload_t as handle::Handle>::TAG))
            .collect()
    }
}

/// One payload of an envelope, borrowed from it (`nb_envelope_payload`): valid until the envelope
/// is freed; never freed on its own.
pub struct nb_payload_t {
    id: NulStr,
    dataname: NulStr,
    payload_type: PayloadType,
    transport: Transport,
    size: u64,
    metadata: Option<NulStr>,
    data: Data,
}
handle!(nb_payload_t, 0x6e62_706c_6400_0001, "nb_payload_t");

enum Data {
    Text(NulStr),
    /// The JSON text of the value.
    Dictionary(NulStr),
    Table {
        table: Table,
        ipc: OnceLock<Vec<u8>>,
    },
    Bytes(Bytes),
    /// A link payload streamed to a file (receive options with a save directory).
    File(NulStr),
    /// A sent direct payload: its serialized bytes.
    SentDirect(Bytes),
    /// A sent link payload: its URL.
    SentLink(NulStr),
}

fn header_fields(h: &Header) -> Vec<NulStr> {
    let s = |x: &String| NulStr::from_str(x);
    vec![
        s(&h.correlation_id),
        s(&h.msg_id),
        s(&h.timestamp),
        s(&h.send_to),
        s(&h.msg_purpose),
        s(&h.sender_name),
        s(&h.sender_id),
        s(&h.receiver_name),
        s(&h.receiver_id),
        s(&h.reply_to),
        s(&h.reply_to_msg_id),
        s(&h.broker_url),
        NulStr::new(serde_json::to_string(&h.metadata).unwrap_or_else(|_| "{}".to_owned())),
    ]
}

fn received_payload(p: ReceivedPayload) -> nb_payload_t {
    let data = match p.value {
        Value::Text(s) => Data::Text(NulStr::new(s)),
        Value::Dictionary(v) => Data::Dictionary(NulStr::new(serde_json::to_string(&v).unwrap_or_default())),
        Value::Table(table) => Data::Table { table, ipc: OnceLock::new() },
        Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => Data::Bytes(b),
        Value::File { path, .. } => Data::File(NulStr::new(path.to_string_lossy().into_owned())),
    };
    nb_payload_t {
        id: NulStr::new(p.id),
        dataname: NulStr::new(p.dataname),
        payload_type: p.payload_type,
        transport: p.transport,
        size: p.size,
        metadata: p.metadata.map(|m| NulStr::new(serde_json::to_string(&m).unwrap_or_default())),
        data,
    }
}

impl nb_envelope_t {
    pub(crate) fn received(env: Envelope) -> Self {
        nb_envelope_t {
            fields: header_fields(&env.header),
            header: env.header,
            payloads: env.payloads.into_iter().map(received_payload).collect(),
            sent_json: None,
            delivery: None,
            delivered: 0,
        }
    }

    pub(crate) fn sent(sent: Sent) -> Self {
        let payloads = sent
            .envelope
            .payloads
            .into_iter()
            .map(|p| nb_payload_t {
                id: NulStr::new(p.id),
                dataname: NulStr::new(p.dataname),
                payload_type: p.payload_type,
                transport: match p.data {
                    SentData::Direct(_) => Transport::Direct,
                    SentData::Link(_) => Transport::Link,
                },
                size: p.size,
                metadata: None,
                data: match p.data {
                    SentData::Direct(b) => Data::SentDirect(b),
                    SentData::Link(url) => Data::SentLink(NulStr::new(url)),
                },
            })
            .collect();
        nb_envelope_t {
            fields: header_fields(&sent.envelope.header),
            header: sent.envelope.header,
            payloads,
            sent_json: Some(NulStr::new(sent.json)),
            delivery: None,
            delivered: 0,
        }
    }

    /// The envelope in the canonical JSON form (see `nb_envelope_to_json`).
    fn canonical(&self) -> R<Json> {
        let header = serde_json::to_value(&self.header).map_err(|e| internal(e.to_string()))?;
        let payloads = self
            .payloads
            .iter()
            .map(|p| {
                let mut o = json!({
                    "dataname": p.dataname.as_str(),
                    "payload_type": p.payload_type.as_str(),
                    "transport": p.transport.as_str(),
                    "size": p.size,
                    "value": p.canonical_value()?,
                });
                if let Some(m) = &p.metadata {
                    o["metadata"] = serde_json::from_str(m.as_str()).map_err(|e| internal(e.to_string()))?;
                }
                Ok(o)
            })
            .collect::<R<Vec<Json>>>()?;
        Ok(json!({ "header": header, "payloads": payloads }))
    }
}

fn column_type(t: &DataType) -> String {
    match t {
        DataType::Int64 => "int64".to_owned(),
        DataType::Float64 => "float64".to_owned(),
        DataType::Utf8 => "utf8".to_owned(),
        DataType::Boolean => "bool".to_owned(),
        other => other.to_string(),
    }
}

impl nb_payload_t {
    fn canonical_value(&self) -> R<Json> {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        Ok(match &self.data {
            Data::Text(s) => json!({ "text": s.as_str() }),
            Data::Dictionary(s) => {
                json!({ "json": serde_json::from_str::<Json>(s.as_str()).map_err(|e| internal(e.to_string()))? })
            }
            Data::Table { table, .. } => {
                let columns: Vec<Json> =
                    table.schema().fields().iter().map(|f| json!([f.name(), column_type(f.data_type())])).collect();
                let rows: Vec<Json> = match table.to_json_rows()? {
                    Json::Array(rows) => rows
                        .into_iter()
                        .map(|r| match r {
                            Json::Object(o) => Json::Array(o.into_iter().map(|(_, v)| v).collect()),
                            other => other,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                json!({ "table": { "columns": columns, "rows": rows } })
            }
            Data::Bytes(b) => json!({ "base64": b64(b) }),
            Data::File(path) => json!({ "file": path.as_str() }),
            Data::SentDirect(b) => json!({ "serialized_base64": b64(b) }),
            Data::SentLink(url) => json!({ "url": url.as_str() }),
        })
    }

    fn ipc(&self) -> R<&[u8]> {
        let Data::Table { table, ipc } = &self.data else {
            return Err(self.wrong_type("a table"));
        };
        if ipc.get().is_none() {
            let bytes = table.to_ipc()?;
            let _ = ipc.set(bytes);
        }
        Ok(ipc.get().map(Vec::as_slice).unwrap_or_default())
    }

    fn wrong_type(&self, wanted: &str) -> natsbridge::Error {
        let what = match &self.data {
            Data::File(_) => "saved to a file (read it with nb_payload_file_path)".to_owned(),
            Data::SentDirect(_) | Data::SentLink(_) => {
                "part of a sent envelope (decode nb_envelope_json with nb_smartreceive to read values)".to_owned()
            }
            _ => format!("of type {}", self.payload_type),
        };
        arg(format!("payload {:?} is {what}, not {wanted}", self.dataname.as_str()))
    }
}

/// Decodes raw message bytes (an envelope as it arrives: `len` bytes at `message`) into an
/// envelope whose payloads hold their values, fetching link payloads as `options` say (NULL: the
/// defaults). Runs on the calling thread, and so does a download handler set in the options.
/// Fails with the engine's error kind: `NB_ERR_INVALID_ENVELOPE` for bytes that are no envelope,
/// `NB_ERR_UNKNOWN_PAYLOAD_TYPE`, `NB_ERR_BAD_ENCODING`, `NB_ERR_SIZE_MISMATCH`, the download
/// errors, ... On success `*envelope` is a new envelope the caller frees; on failure NULL.
#[no_mangle]
pub unsafe extern "C" fn nb_smartreceive(
    message: *const u8,
    len: usize,
    options: *const nb_receive_options_t,
    envelope: *mut *mut nb_envelope_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(envelope, "envelope")? = std::ptr::null_mut();
        let msg = slice(message, len, "message")?;
        let o = receive_opts(options)?;
        let env = block_on_timeout(duration(o.timeout_ms), "smartreceive", natsbridge::smartreceive(msg, &o.inner))?;
        handle::give(envelope, nb_envelope_t::received(env));
        Ok(())
    })
}

/// Frees an envelope (and every payload and pointer read from it) and sets `*envelope` to NULL.
/// Safe on NULL and twice. A JetStream delivery that was neither acked nor naked is left to the
/// server's ack wait (redelivered later).
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_free(envelope: *mut *mut nb_envelope_t) {
    crate::error::guard_void(|| unsafe { handle::free(envelope) })
}

/// Reads a header field by its wire name: `correlation_id`, `msg_id`, `timestamp`, `send_to`,
/// `msg_purpose`, `sender_name`, `sender_id`, `receiver_name`, `receiver_id`, `reply_to`,
/// `reply_to_msg_id`, `broker_url`, or `metadata` (as JSON text). `*value` gets a borrowed UTF-8,
/// NUL-terminated string and `*len` (may be NULL) its length in bytes. A field the envelope did
/// not carry reads as `""` (`metadata`: `{}`). An unknown name fails with
/// `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_header(
    envelope: *const nb_envelope_t,
    field: *const c_char,
    value: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(value, "value")? = std::ptr::null();
        let env = get(envelope, "envelope")?;
        let name = cstr(field, "field")?;
        let i = FIELDS
            .iter()
            .position(|f| *f == name)
            .ok_or_else(|| arg(format!("{name:?} is not an envelope header field; expected one of {FIELDS:?}")))?;
        env.fields[i].lend(value, len)
    })
}

/// Whether the envelope was built by a send (`true`) or received (`false`).
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_is_sent(envelope: *const nb_envelope_t, is_sent: *mut bool) -> nb_result_t {
    guard(|| unsafe {
        *out(is_sent, "is_sent")? = get(envelope, "envelope")?.sent_json.is_some();
        Ok(())
    })
}

/// The JSON text of a sent envelope, exactly as it travels (or would travel, with `is_publish`
/// false): borrowed, NUL-terminated, `*len` (may be NULL) bytes. Decode it with
/// `nb_smartreceive`, publish it with `nb_client_publish`. A received envelope fails with
/// `NB_ERR_INVALID_ARGUMENT` (use `nb_envelope_to_json`).
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_json(
    envelope: *const nb_envelope_t,
    json: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(json, "json")? = std::ptr::null();
        let env = get(envelope, "envelope")?;
        let s = env
            .sent_json
            .as_ref()
            .ok_or_else(|| arg("a received envelope has no wire JSON; use nb_envelope_to_json for a rendering"))?;
        s.lend(json, len)
    })
}

/// Renders the envelope as canonical JSON, a new string the caller frees with `nb_string_free`:
/// `{"header": {all 13 header fields}, "payloads": [{"dataname", "payload_type", "transport",
/// "size", "value", "metadata" (only when the payload carries one)}]}`, where `value` is
/// `{"text": "..."}`, `{"json": <value>}`, `{"base64": "..."}` (image, audio, video, binary),
/// `{"table": {"columns": [[name, type], ...], "rows": [[...], ...]}}` (types `int64`,
/// `float64`, `utf8`, `bool`, else Arrow's name), `{"file": "path"}` (saved to a file); for a
/// sent envelope `{"serialized_base64": "..."}` (direct) or `{"url": "..."}` (link). This is the
/// form of the golden vectors' `*.expected.json` files.
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_to_json(
    envelope: *const nb_envelope_t,
    json: *mut *mut c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(json, "json")? = std::ptr::null_mut();
        let env = get(envelope, "envelope")?;
        let text = serde_json::to_string(&env.canonical()?).map_err(|e| internal(e.to_string()))?;
        give_to(text.as_bytes(), json.cast(), len)
    })
}

/// How many payloads the envelope has.
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_payload_count(envelope: *const nb_envelope_t, count: *mut usize) -> nb_result_t {
    guard(|| unsafe {
        *out(count, "count")? = get(envelope, "envelope")?.payloads.len();
        Ok(())
    })
}

/// The payload at `index` (0-based, in the sender's order), borrowed from the envelope. An index
/// out of range fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_payload(
    envelope: *const nb_envelope_t,
    index: usize,
    payload: *mut *const nb_payload_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(payload, "payload")? = std::ptr::null();
        let env = get(envelope, "envelope")?;
        let p = env.payloads.get(index).ok_or_else(|| {
            arg(format!("payload index {index} is out of range (the envelope has {})", env.payloads.len()))
        })?;
        *payload = p;
        Ok(())
    })
}

/// The first payload named `dataname`, borrowed from the envelope; `NB_ERR_INVALID_ARGUMENT` when
/// there is none.
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_payload_by_name(
    envelope: *const nb_envelope_t,
    dataname: *const c_char,
    payload: *mut *const nb_payload_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(payload, "payload")? = std::ptr::null();
        let env = get(envelope, "envelope")?;
        let name = cstr(dataname, "dataname")?;
        let p = env
            .payloads
            .iter()
            .find(|p| p.dataname.as_str() == name)
            .ok_or_else(|| arg(format!("the envelope has no payload named {name:?}")))?;
        *payload = p;
        Ok(())
    })
}

/// The payload's `dataname` (borrowed, NUL-terminated; `*len` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn nb_payload_name(
    payload: *const nb_payload_t,
    name: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(name, "name")? = std::ptr::null();
        get(payload, "payload")?.dataname.lend(name, len)
    })
}

/// The payload's `id` (borrowed, NUL-terminated; `""` when the sender wrote none).
#[no_mangle]
pub unsafe extern "C" fn nb_payload_id(
    payload: *const nb_payload_t,
    id: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(id, "id")? = std::ptr::null();
        get(payload, "payload")?.id.lend(id, len)
    })
}

/// The payload's type (`NB_PAYLOAD_*`; `arrowtable` and `jsontable` read as `NB_PAYLOAD_TABLE`).
#[no_mangle]
pub unsafe extern "C" fn nb_payload_type(
    payload: *const nb_payload_t,
    payload_type: *mut nb_payload_type_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(payload_type, "payload_type")? = type_code(get(payload, "payload")?.payload_type);
        Ok(())
    })
}

/// How the payload travelled (`NB_TRANSPORT_DIRECT` or `NB_TRANSPORT_LINK`).
#[no_mangle]
pub unsafe extern "C" fn nb_payload_transport(
    payload: *const nb_payload_t,
    transport: *mut nb_transport_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(transport, "transport")? = match get(payload, "payload")?.transport {
            Transport::Direct => NB_TRANSPORT_DIRECT,
            Transport::Link => NB_TRANSPORT_LINK,
        };
        Ok(())
    })
}

/// The payload's `size`: the length of its serialized bytes, as the envelope says.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_size(payload: *const nb_payload_t, size: *mut u64) -> nb_result_t {
    guard(|| unsafe {
        *out(size, "size")? = get(payload, "payload")?.size;
        Ok(())
    })
}

/// The payload's own `metadata` object as JSON text (borrowed), or `*json` = NULL and `*len` = 0
/// when the payload carries none.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_metadata_json(
    payload: *const nb_payload_t,
    json: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(json, "json")? = std::ptr::null();
        put(len, 0);
        match &get(payload, "payload")?.metadata {
            Some(m) => m.lend(json, len),
            None => Ok(()),
        }
    })
}

/// The payload's serialized bytes (borrowed; not NUL-terminated): the raw bytes of image, audio,
/// video and binary; the UTF-8 of text; the JSON text of a dictionary; the Arrow IPC stream of a
/// table (written on first use). For a sent envelope: the bytes of a direct payload. Fails with
/// `NB_ERR_INVALID_ARGUMENT` for a payload saved to a file or a sent link payload.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_bytes(
    payload: *const nb_payload_t,
    data: *mut *const u8,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(data, "data")? = std::ptr::null();
        let p = get(payload, "payload")?;
        let bytes: &[u8] = match &p.data {
            Data::Text(s) | Data::Dictionary(s) => s.as_bytes(),
            Data::Table { .. } => p.ipc()?,
            Data::Bytes(b) | Data::SentDirect(b) => b,
            Data::File(_) | Data::SentLink(_) => return Err(p.wrong_type("held in memory")),
        };
        *data = bytes.as_ptr();
        put(len, bytes.len());
        Ok(())
    })
}

/// The text of a `text` payload: borrowed UTF-8, NUL-terminated, `*len` bytes (the text may hold
/// NUL bytes itself: trust `len`). Any other payload fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_text(
    payload: *const nb_payload_t,
    text: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(text, "text")? = std::ptr::null();
        let p = get(payload, "payload")?;
        match &p.data {
            Data::Text(s) => s.lend(text, len),
            _ => Err(p.wrong_type("text")),
        }
    })
}

/// The value of a `dictionary` payload as JSON text: borrowed UTF-8, NUL-terminated, `*len`
/// bytes. Any other payload fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_dictionary_json(
    payload: *const nb_payload_t,
    json: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(json, "json")? = std::ptr::null();
        let p = get(payload, "payload")?;
        match &p.data {
            Data::Dictionary(s) => s.lend(json, len),
            _ => Err(p.wrong_type("a dictionary")),
        }
    })
}

/// The table of a `table` payload as an Arrow IPC stream (borrowed, written on first use). Any
/// other payload fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_table_ipc(
    payload: *const nb_payload_t,
    ipc: *mut *const u8,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(ipc, "ipc")? = std::ptr::null();
        let bytes = get(payload, "payload")?.ipc()?;
        *ipc = bytes.as_ptr();
        put(len, bytes.len());
        Ok(())
    })
}

/// The shape of a `table` payload: rows (all record batches together) and columns (either
/// pointer may be NULL).
#[no_mangle]
pub unsafe extern "C" fn nb_payload_table_shape(
    payload: *const nb_payload_t,
    rows: *mut usize,
    columns: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        let p = get(payload, "payload")?;
        let Data::Table { table, .. } = &p.data else {
            return Err(p.wrong_type("a table"));
        };
        put(rows, table.num_rows());
        put(columns, table.schema().fields().len());
        Ok(())
    })
}

/// Exports the table of a `table` payload through the Arrow C stream interface: `*stream` (memory
/// the caller provides, e.g. a local `struct ArrowArrayStream`) is filled in and owned by the
/// caller, who must call `stream->release(stream)` when done. The stream shares the table's
/// buffers and stays valid after the envelope is freed.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_table_arrow_stream(
    payload: *const nb_payload_t,
    stream: *mut nb_arrow_array_stream_t,
) -> nb_result_t {
    guard(|| unsafe {
        if stream.is_null() {
            return Err(arg("stream (an output pointer) is NULL"));
        }
        let p = get(payload, "payload")?;
        let Data::Table { table, .. } = &p.data else {
            return Err(p.wrong_type("a table"));
        };
        let reader = RecordBatchIterator::new(table.batches().to_vec().into_iter().map(Ok), table.schema().clone());
        stream.write(FFI_ArrowArrayStream::new(Box::new(reader)));
        Ok(())
    })
}

/// Whether the payload's bytes are in a file (a link payload received with a save directory).
#[no_mangle]
pub unsafe extern "C" fn nb_payload_in_file(payload: *const nb_payload_t, in_file: *mut bool) -> nb_result_t {
    guard(|| unsafe {
        *out(in_file, "in_file")? = matches!(get(payload, "payload")?.data, Data::File(_));
        Ok(())
    })
}

/// The path of the file holding the payload's serialized bytes (a link payload received with a
/// save directory; borrowed). Any other payload fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_file_path(
    payload: *const nb_payload_t,
    path: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(path, "path")? = std::ptr::null();
        let p = get(payload, "payload")?;
        match &p.data {
            Data::File(f) => f.lend(path, len),
            _ => Err(arg(format!("payload {:?} is not saved to a file", p.dataname.as_str()))),
        }
    })
}

/// The URL of a link payload of a sent envelope (borrowed). Any other payload fails with
/// `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_url(
    payload: *const nb_payload_t,
    url: *mut *const c_char,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(url, "url")? = std::ptr::null();
        let p = get(payload, "payload")?;
        match &p.data {
            Data::SentLink(u) => u.lend(url, len),
            _ => Err(arg(format!("payload {:?} is not a link payload of a sent envelope", p.dataname.as_str()))),
        }
    })
}
