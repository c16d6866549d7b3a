//! Building the payloads to send: a list of named values.

use std::ffi::{c_char, CStr};
use std::path::PathBuf;

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{RecordBatch, RecordBatchReader};
use bytes::Bytes;
use natsbridge::{Error, ErrorKind, Payload, PayloadType, Table, Value};

use crate::error::{arg, cstr, guard, nb_result_t, out, slice, text, R};
use crate::handle::{self, get, get_mut, handle};

/// A payload type (the `payload_type` of envelope v1).
pub type nb_payload_type_t = i32;
/// UTF-8 text.
pub const NB_PAYLOAD_TEXT: nb_payload_type_t = 0;
/// Any JSON value, serialized as JSON text.
pub const NB_PAYLOAD_DICTIONARY: nb_payload_type_t = 1;
/// An Arrow table, serialized as an Arrow IPC stream.
pub const NB_PAYLOAD_TABLE: nb_payload_type_t = 2;
/// Image bytes, as given.
pub const NB_PAYLOAD_IMAGE: nb_payload_type_t = 3;
/// Audio bytes, as given.
pub const NB_PAYLOAD_AUDIO: nb_payload_type_t = 4;
/// Video bytes, as given.
pub const NB_PAYLOAD_VIDEO: nb_payload_type_t = 5;
/// Any other bytes, as given.
pub const NB_PAYLOAD_BINARY: nb_payload_type_t = 6;

/// How a payload travelled.
pub type nb_transport_t = i32;
/// Base64 inside the envelope.
pub const NB_TRANSPORT_DIRECT: nb_transport_t = 0;
/// Uploaded to a claim-check store; the envelope carries its URL.
pub const NB_TRANSPORT_LINK: nb_transport_t = 1;

/// The Arrow C stream interface struct (`struct ArrowArrayStream`, defined in this header unless
/// the Arrow C data interface header was included first).
pub type nb_arrow_array_stream_t = FFI_ArrowArrayStream;

pub(crate) fn payload_type(t: nb_payload_type_t) -> R<PayloadType> {
    usize::try_from(t).ok().and_then(|i| PayloadType::ALL.get(i)).copied().ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownPayloadType,
            format!("{t} is not a payload type (NB_PAYLOAD_TEXT .. NB_PAYLOAD_BINARY)"),
        )
    })
}

pub(crate) fn type_code(t: PayloadType) -> nb_payload_type_t {
    PayloadType::ALL.iter().position(|x| *x == t).map(|i| i as i32).unwrap_or(-1)
}

/// The wire name of a payload type (`"text"`, ..., `"binary"`), or NULL for a number that is
/// no payload type. A static string: never freed.
#[no_mangle]
pub extern "C" fn nb_payload_type_name(payload_type: nb_payload_type_t) -> *const c_char {
    const NAMES: [&CStr; 7] = [c"text", c"dictionary", c"table", c"image", c"audio", c"video", c"binary"];
    usize::try_from(payload_type).ok().and_then(|i| NAMES.get(i)).map_or(std::ptr::null(), |n| n.as_ptr())
}

/// The payload type of a wire name, read as tolerantly as envelopes are (`arrowtable` and
/// `jsontable` are tables). Fails with `NB_ERR_UNKNOWN_PAYLOAD_TYPE` for any other name.
#[no_mangle]
pub unsafe extern "C" fn nb_payload_type_from_name(
    name: *const c_char,
    payload_type: *mut nb_payload_type_t,
) -> nb_result_t {
    guard(|| unsafe {
        let o = out(payload_type, "payload_type")?;
        let t: PayloadType = cstr(name, "name")?.parse()?;
        *o = type_code(t);
        Ok(())
    })
}

/// A list of named payloads to send, in order. Create with `nb_payloads_new`, add to it with the
/// `nb_payloads_add_*` functions (each copies its input), free with `nb_payloads_free` (safe on
/// NULL and twice). Sending does not consume the list: it can be sent again, changed, or freed.
pub struct nb_payloads_t {
    pub(crate) items: Vec<Payload>,
}
handle!(nb_payloads_t, 0x6e62_706c_6473_0001, "nb_payloads_t");

/// A new, empty payload list.
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_new(payloads: *mut *mut nb_payloads_t) -> nb_result_t {
    guard(|| unsafe {
        *out(payloads, "payloads")? = std::ptr::null_mut();
        handle::give(payloads, nb_payloads_t { items: Vec::new() });
        Ok(())
    })
}

/// Frees a payload list and sets `*payloads` to NULL. Safe on NULL and twice.
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_free(payloads: *mut *mut nb_payloads_t) {
    crate::error::guard_void(|| unsafe { handle::free(payloads) })
}

/// How many payloads the list holds.
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_len(payloads: *const nb_payloads_t, len: *mut usize) -> nb_result_t {
    guard(|| unsafe {
        let l = out(len, "len")?;
        *l = get(payloads, "payloads")?.items.len();
        Ok(())
    })
}

/// Empties the list.
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_clear(payloads: *mut nb_payloads_t) -> nb_result_t {
    guard(|| unsafe {
        get_mut(payloads, "payloads")?.items.clear();
        Ok(())
    })
}

unsafe fn add(payloads: *mut nb_payloads_t, dataname: *const c_char, value: impl FnOnce() -> R<Value>) -> nb_result_t {
    guard(|| unsafe {
        let list = get_mut(payloads, "payloads")?;
        let name = cstr(dataname, "dataname")?.to_owned();
        let value = value()?;
        list.items.push(Payload::new(name, value));
        Ok(())
    })
}

/// Adds a `text` payload: `len` bytes of UTF-8 at `text` (NULL only with `len` 0; NUL bytes are
/// allowed and kept).
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_add_text(
    payloads: *mut nb_payloads_t,
    dataname: *const c_char,
    text_ptr: *const c_char,
    len: usize,
) -> nb_result_t {
    unsafe { add(payloads, dataname, || Ok(Value::Text(text(text_ptr, len, "text")?.to_owned()))) }
}

/// Adds a `dictionary` payload from `len` bytes of JSON text (any JSON value: object, array, ...).
/// Fails with `NB_ERR_INVALID_ARGUMENT` when it is not JSON.
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_add_dictionary(
    payloads: *mut nb_payloads_t,
    dataname: *const c_char,
    json: *const c_char,
    len: usize,
) -> nb_result_t {
    unsafe {
        add(payloads, dataname, || {
            let s = text(json, len, "json")?;
            serde_json::from_str(s)
                .map(Value::Dictionary)
                .map_err(|e| arg(format!("dictionary is not valid JSON: {e}")))
        })
    }
}

fn table_from_ipc(bytes: &[u8]) -> R<Table> {
    Table::from_ipc(Bytes::copy_from_slice(bytes))
        .map_err(|e| arg(format!("table is not an Arrow IPC stream: {}", e.message())))
}

/// Adds a `table` payload from `len` bytes of an Arrow IPC stream (schema, record batches,
/// end-of-stream marker). Fails with `NB_ERR_INVALID_ARGUMENT` when the bytes do not read.
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_add_table_ipc(
    payloads: *mut nb_payloads_t,
    dataname: *const c_char,
    ipc: *const u8,
    len: usize,
) -> nb_result_t {
    unsafe { add(payloads, dataname, || Ok(Value::Table(table_from_ipc(slice(ipc, len, "ipc")?)?))) }
}

/// Adds a `table` payload read from an Arrow C stream (the Arrow C data interface). The stream is
/// moved: the library reads it to the end and releases it, and sets `stream->release` to NULL,
/// also when this call fails (unless `stream` is NULL).
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_add_table_arrow_stream(
    payloads: *mut nb_payloads_t,
    dataname: *const c_char,
    stream: *mut nb_arrow_array_stream_t,
) -> nb_result_t {
    guard(|| unsafe {
        if stream.is_null() {
            return Err(arg("stream is NULL"));
        }
        // Take the stream first so that it is released whatever happens next.
        let taken = FFI_ArrowArrayStream::from_raw(stream);
        let list = get_mut(payloads, "payloads")?;
        let name = cstr(dataname, "dataname")?.to_owned();
        let reader =
            RecordBatchStreamReader::try_new(taken).map_err(|e| arg(format!("cannot read the Arrow stream: {e}")))?;
        let schema = reader.schema();
        let batches = reader
            .collect::<Result<Vec<RecordBatch>, _>>()
            .map_err(|e| arg(format!("cannot read the Arrow stream: {e}")))?;
        list.items.push(Payload::table(name, Table::new(schema, batches)?));
        Ok(())
    })
}

/// Adds a payload of any type from its serialized bytes: image, audio, video and binary take the
/// bytes as they are; text must be UTF-8, dictionary JSON text, table an Arrow IPC stream. An
/// unknown `payload_type` fails with `NB_ERR_UNKNOWN_PAYLOAD_TYPE`.
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_add_bytes(
    payloads: *mut nb_payloads_t,
    dataname: *const c_char,
    payload_type: nb_payload_type_t,
    data: *const u8,
    len: usize,
) -> nb_result_t {
    unsafe {
        add(payloads, dataname, || {
            let t = self::payload_type(payload_type)?;
            let bytes = slice(data, len, "data")?;
            match t {
                PayloadType::Text => Ok(Value::Text(text(data.cast(), len, "text")?.to_owned())),
                PayloadType::Dictionary => serde_json::from_slice(bytes)
                    .map(Value::Dictionary)
                    .map_err(|e| arg(format!("dictionary is not valid JSON: {e}"))),
                PayloadType::Table => Ok(Value::Table(table_from_ipc(bytes)?)),
                raw => Value::from_bytes(raw, Bytes::copy_from_slice(bytes)),
            }
        })
    }
}

/// Adds a payload whose serialized bytes are the contents of the file at `path` (read when
/// sending: streamed to the store when it goes by link, never held whole in memory then).
#[no_mangle]
pub unsafe extern "C" fn nb_payloads_add_file(
    payloads: *mut nb_payloads_t,
    dataname: *const c_char,
    payload_type: nb_payload_type_t,
    path: *const c_char,
) -> nb_result_t {
    unsafe {
        add(payloads, dataname, || {
            let t = self::payload_type(payload_type)?;
            Ok(Value::File { payload_type: t, path: PathBuf::from(cstr(path, "path")?) })
        })
    }
}
