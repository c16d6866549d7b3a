//! Python values to engine payloads and back. Runs on the host thread with the GIL.

use std::str::FromStr;

use arrow_pyarrow::{FromPyArrow, IntoPyArrow};
use bytes::Bytes;
use natsbridge::arrow_array::RecordBatch;
use natsbridge::{
    Envelope, Error, ErrorKind, Payload, PayloadType, ReceivedPayload, SentData, SentEnvelope, Table, Value,
};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PySlice, PyString, PyTuple,
};
use serde_json::{Map, Number, Value as Json};

use crate::errors::{invalid_argument, of_kind};

/// How received tables are handed to Python.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TableMode {
    /// `pyarrow.Table` (the Python layer turns it into a DataFrame when asked to).
    Arrow,
    /// A list of row dicts (no pyarrow needed).
    Rows,
}

impl TableMode {
    pub(crate) fn parse(py: Python<'_>, s: &str) -> PyResult<TableMode> {
        match s {
            "arrow" | "pyarrow" | "pandas" => Ok(TableMode::Arrow),
            "rows" => Ok(TableMode::Rows),
            other => Err(invalid_argument(
                py,
                format!("table_type {other:?} is not one of \"pandas\", \"pyarrow\", \"rows\""),
            )),
        }
    }
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Tables imported from Python, kept so that their Arrow buffers (owned by pyarrow) are
/// released on the host thread, after the engine is done with them.
pub(crate) type Keepalive = Vec<Table>;

/// `data`: a list (or tuple) of `(dataname, value, type)` tuples.
pub(crate) fn extract_payloads(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    keep: &mut Keepalive,
) -> PyResult<Vec<Payload>> {
    let items: Vec<Bound<'_, PyAny>> = if let Ok(list) = data.cast::<PyList>() {
        list.iter().collect()
    } else if let Ok(tuple) = data.cast::<PyTuple>() {
        if looks_like_one_payload(tuple) {
            return Err(invalid_argument(
                py,
                "data must be a list of (dataname, value, type) tuples; wrap a single payload in a list: [(dataname, value, type)]",
            ));
        }
        tuple.iter().collect()
    } else {
        return Err(invalid_argument(
            py,
            format!("data must be a list of (dataname, value, type) tuples, got {}", type_name(data)),
        ));
    };
    let mut payloads = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        payloads.push(extract_payload(py, i, item, keep)?);
    }
    Ok(payloads)
}

fn looks_like_one_payload(t: &Bound<'_, PyTuple>) -> bool {
    t.len() == 3
        && t.get_item(0).map(|x| x.is_instance_of::<PyString>()).unwrap_or(false)
        && t.get_item(2).map(|x| x.is_instance_of::<PyString>()).unwrap_or(false)
}

fn extract_payload(py: Python<'_>, i: usize, item: &Bound<'_, PyAny>, keep: &mut Keepalive) -> PyResult<Payload> {
    let parts: Vec<Bound<'_, PyAny>> = if let Ok(t) = item.cast::<PyTuple>() {
        t.iter().collect()
    } else if let Ok(l) = item.cast::<PyList>() {
        l.iter().collect()
    } else {
        return Err(invalid_argument(
            py,
            format!("data[{i}] must be a (dataname, value, type) tuple, got {}", type_name(item)),
        ));
    };
    if parts.len() != 3 {
        return Err(invalid_argument(
            py,
            format!("data[{i}] must have 3 items (dataname, value, type), it has {}", parts.len()),
        ));
    }
    let dataname = parts[0].cast::<PyString>().map_err(|_| {
        invalid_argument(py, format!("data[{i}]: dataname must be a str, got {}", type_name(&parts[0])))
    })?;
    let dataname = dataname.to_cow()?.into_owned();
    let type_name_str = parts[2].cast::<PyString>().map_err(|_| {
        invalid_argument(py, format!("data[{i}] ({dataname:?}): type must be a str, got {}", type_name(&parts[2])))
    })?;
    let payload_type = PayloadType::from_str(&type_name_str.to_cow()?)
        .map_err(|e| of_kind(py, e.kind(), format!("data[{i}] ({dataname:?}): {}", e.message())))?;
    let value = extract_value(py, &parts[1], payload_type, keep)
        .map_err(|msg| invalid_argument(py, format!("data[{i}] ({dataname:?}): {msg}")))?;
    Ok(Payload::new(dataname, value))
}

/// A payload value of `payload_type`; the error is a message for `InvalidArgument`.
fn extract_value(py: Python<'_>, v: &Bound<'_, PyAny>, t: PayloadType, keep: &mut Keepalive) -> Result<Value, String> {
    match t {
        PayloadType::Text => match v.cast::<PyString>() {
            Ok(s) => Ok(Value::Text(s.to_cow().map_err(|e| e.to_string())?.into_owned())),
            Err(_) => Err(format!("a text payload must be a str, got {}", type_name(v))),
        },
        PayloadType::Dictionary => {
            if !(v.is_instance_of::<PyDict>() || v.is_instance_of::<PyList>()) {
                return Err(format!("a dictionary payload must be a dict or a list, got {}", type_name(v)));
            }
            Ok(Value::Dictionary(py_to_json(v, 0)?))
        }
        PayloadType::Table => {
            let table = extract_table(py, v)?;
            keep.push(table.clone());
            Ok(Value::Table(table))
        }
        raw => {
            if v.hasattr("__fspath__").unwrap_or(false) {
                // A file: streamed from disk when it goes by link, never held whole in memory.
                let path = v.extract::<std::path::PathBuf>().map_err(|e| e.to_string())?;
                return Ok(Value::File { payload_type: raw, path });
            }
            let bytes = extract_bytes(v).ok_or_else(|| {
                format!(
                    "a {raw} payload must be bytes, bytearray, memoryview or a path (os.PathLike), got {}",
                    type_name(v)
                )
            })?;
            Value::from_bytes(raw, bytes).map_err(|e| e.message().to_owned())
        }
    }
}

/// bytes (no copy), bytearray or memoryview (copied).
pub(crate) fn extract_bytes(v: &Bound<'_, PyAny>) -> Option<Bytes> {
    if v.is_instance_of::<PyBytes>() || v.is_instance_of::<PyByteArray>() {
        let backed: PyBackedBytes = v.extract().ok()?;
        return Some(Bytes::from_owner(backed));
    }
    if v.is_instance_of::<PyMemoryView>() {
        let b = v.call_method0("tobytes").ok()?;
        let backed: PyBackedBytes = b.extract().ok()?;
        return Some(Bytes::from_owner(backed));
    }
    None
}

fn from_pandas(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static F: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    F.import(py, "natsbridge._tables", "from_pandas")
}

fn is_pandas_frame(v: &Bound<'_, PyAny>) -> bool {
    let ty = v.get_type();
    let module = ty.module().map(|m| m.to_string()).unwrap_or_default();
    module.starts_with("pandas") && ty.name().map(|n| n == "DataFrame").unwrap_or(false)
}

fn is_pyarrow_record_batch(v: &Bound<'_, PyAny>) -> bool {
    let ty = v.get_type();
    let module = ty.module().map(|m| m.to_string()).unwrap_or_default();
    module.starts_with("pyarrow") && ty.name().map(|n| n == "RecordBatch").unwrap_or(false)
}

/// A pandas DataFrame (through `pyarrow.Table.from_pandas`), a pyarrow Table or RecordBatch, or
/// anything exporting the Arrow PyCapsule stream interface. Arrow buffers are not copied.
fn extract_table(py: Python<'_>, v: &Bound<'_, PyAny>) -> Result<Table, String> {
    let converted;
    let v = if is_pandas_frame(v) {
        converted = from_pandas(py)
            .and_then(|f| f.call1((v,)))
            .map_err(|e| format!("the DataFrame cannot be converted to Arrow: {e}"))?;
        &converted
    } else {
        v
    };
    if is_pyarrow_record_batch(v) {
        let batch = RecordBatch::from_pyarrow_bound(v).map_err(|e| format!("cannot import the RecordBatch: {e}"))?;
        return Ok(Table::from_batch(batch));
    }
    if v.hasattr("__arrow_c_stream__").unwrap_or(false) {
        let table = arrow_pyarrow::Table::from_pyarrow_bound(v).map_err(|e| format!("cannot import the table: {e}"))?;
        let (batches, schema) = table.into_inner();
        return Table::new(schema, batches).map_err(|e| e.message().to_owned());
    }
    Err(format!(
        "a table payload must be a pandas.DataFrame, pyarrow.Table or pyarrow.RecordBatch, got {}",
        type_name(v)
    ))
}

/// A Python value as JSON, as `json.dumps` would write it (non-string keys become strings).
pub(crate) fn py_to_json(v: &Bound<'_, PyAny>, depth: usize) -> Result<Json, String> {
    if depth > 256 {
        return Err("the dictionary is nested more than 256 levels deep".into());
    }
    if v.is_none() {
        return Ok(Json::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Json::Bool(b.is_true()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Json::String(s.to_cow().map_err(|e| e.to_string())?.into_owned()));
    }
    if v.is_instance_of::<PyInt>() {
        return int_to_json(v);
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| format!("the float {x} has no JSON form (NaN and infinities are not JSON)"));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, val) in d.iter() {
            map.insert(json_key(&k)?, py_to_json(&val, depth + 1)?);
        }
        return Ok(Json::Object(map));
    }
    if let Ok(l) = v.cast::<PyList>() {
        return l.iter().map(|x| py_to_json(&x, depth + 1)).collect::<Result<Vec<_>, _>>().map(Json::Array);
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        return t.iter().map(|x| py_to_json(&x, depth + 1)).collect::<Result<Vec<_>, _>>().map(Json::Array);
    }
    // numpy scalars and other number-likes.
    if v.hasattr("__index__").unwrap_or(false) {
        if let Ok(i) = v.call_method0("__index__") {
            return int_to_json(&i);
        }
    }
    Err(format!("a value of type {} is not JSON serializable", type_name(v)))
}

fn int_to_json(v: &Bound<'_, PyAny>) -> Result<Json, String> {
    if let Ok(i) = v.extract::<i64>() {
        return Ok(Json::from(i));
    }
    if let Ok(u) = v.extract::<u64>() {
        return Ok(Json::from(u));
    }
    Err(format!("the integer {} does not fit in 64 bits", v.str().map(|s| s.to_string()).unwrap_or_default()))
}

fn json_key(k: &Bound<'_, PyAny>) -> Result<String, String> {
    if let Ok(s) = k.cast::<PyString>() {
        return Ok(s.to_cow().map_err(|e| e.to_string())?.into_owned());
    }
    if k.is_none() {
        return Ok("null".into());
    }
    if let Ok(b) = k.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.into());
    }
    if k.is_instance_of::<PyInt>() || k.is_instance_of::<PyFloat>() {
        return Ok(k.str().map_err(|e| e.to_string())?.to_string());
    }
    Err(format!("dictionary keys must be str, int, float, bool or None, not {}", type_name(k)))
}

/// JSON as Python objects (dict keeps the JSON's key order).
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(json_to_py(py, x)?)?;
            }
            list.into_any()
        }
        Json::Object(m) => map_to_py(py, m)?.into_any(),
    })
}

pub(crate) fn map_to_py<'py>(py: Python<'py>, m: &Map<String, Json>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, x) in m {
        d.set_item(k, json_to_py(py, x)?)?;
    }
    Ok(d)
}

/// A Python dict (or any mapping) as a JSON object.
pub(crate) fn py_to_map(py: Python<'_>, v: &Bound<'_, PyAny>, what: &str) -> PyResult<Map<String, Json>> {
    if !v.is_instance_of::<PyDict>() {
        return Err(invalid_argument(py, format!("{what} must be a dict, got {}", type_name(v))));
    }
    match py_to_json(v, 0) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(_) => Err(invalid_argument(py, format!("{what} must be a dict"))),
        Err(msg) => Err(invalid_argument(py, format!("{what}: {msg}"))),
    }
}

/// An upload handler's answer: a dict with `url`, or a URL string.
pub(crate) fn upload_answer(v: &Bound<'_, PyAny>) -> Result<String, Error> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_string());
    }
    if let Ok(d) = v.cast::<PyDict>() {
        if let Ok(Some(url)) = d.get_item("url") {
            if let Ok(s) = url.cast::<PyString>() {
                return Ok(s.to_string());
            }
        }
    }
    Err(Error::new(
        ErrorKind::Handler,
        format!(
            "fileserver_upload_handler returned {}; it must return a dict with a \"url\" string or a URL string",
            type_name(v)
        ),
    ))
}

/// A download handler's answer: bytes, bytearray or memoryview.
pub(crate) fn download_answer(v: &Bound<'_, PyAny>) -> Result<Bytes, Error> {
    extract_bytes(v).ok_or_else(|| {
        Error::new(
            ErrorKind::Handler,
            format!("fileserver_download_handler returned {}; it must return bytes", type_name(v)),
        )
    })
}

/// `(env, env_json_str)` of a sent envelope: the envelope as a dict (as `json.loads` would read
/// the JSON) and the JSON text.
pub(crate) fn sent_to_py<'py>(py: Python<'py>, env: &SentEnvelope, json: &str) -> PyResult<Bound<'py, PyTuple>> {
    let json_py = PyString::new(py, json);
    // As many characters as bytes: the JSON is ASCII, so byte offsets are character offsets and
    // direct data can be sliced out of the Python string (a plain copy, no decoding pass).
    let ascii = json_py.len()? == json.len();
    let d = header_to_py(py, &env.header)?;
    let payloads = PyList::empty(py);
    let mut cursor = 0usize;
    for p in &env.payloads {
        let e = PyDict::new(py);
        e.set_item("id", &p.id)?;
        e.set_item("dataname", &p.dataname)?;
        e.set_item("payload_type", p.payload_type.as_str())?;
        e.set_item("transport", p.transport().as_str())?;
        e.set_item("encoding", p.encoding())?;
        e.set_item("size", p.size)?;
        match &p.data {
            SentData::Direct(bytes) => {
                // The base64 text is already in the JSON: take it from there rather than encode again.
                match find_data(json, &p.id, cursor, bytes.len().div_ceil(3) * 4) {
                    Some((start, end)) if ascii => {
                        e.set_item("data", json_py.get_item(PySlice::new(py, start as isize, end as isize, 1))?)?;
                        cursor = end;
                    }
                    Some((start, end)) => {
                        e.set_item("data", PyString::new(py, &json[start..end]))?;
                        cursor = end;
                    }
                    None => e.set_item("data", p.data_string())?,
                }
            }
            SentData::Link(url) => e.set_item("data", url)?,
        }
        if let Some(sha) = &p.sha256 {
            e.set_item("sha256", sha)?;
        }
        payloads.append(e)?;
    }
    d.set_item("payloads", payloads)?;
    PyTuple::new(py, [d.into_any(), json_py.into_any()])
}

/// The byte range of a payload's `data` string (`len` bytes of base64) in envelope JSON written
/// by the engine. The payload's `id` (a UUID) is unique and `data` follows it; quotes inside
/// names are escaped, so `"data":"` cannot occur inside another string. The closing quote is
/// checked where the length puts it, so the base64 itself is never scanned.
fn find_data(json: &str, id: &str, from: usize, len: usize) -> Option<(usize, usize)> {
    let id_pat = format!("\"id\":\"{id}\"");
    let at = from + json.get(from..)?.find(&id_pat)?;
    let key = "\"data\":\"";
    let start = at + json[at..].find(key)? + key.len();
    let end = start + len;
    (json.as_bytes().get(end) == Some(&b'"')).then_some((start, end))
}

/// The 13 header fields as a dict.
pub(crate) fn header_to_py<'py>(py: Python<'py>, h: &natsbridge::Header) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("correlation_id", &h.correlation_id)?;
    d.set_item("msg_id", &h.msg_id)?;
    d.set_item("timestamp", &h.timestamp)?;
    d.set_item("send_to", &h.send_to)?;
    d.set_item("msg_purpose", &h.msg_purpose)?;
    d.set_item("sender_name", &h.sender_name)?;
    d.set_item("sender_id", &h.sender_id)?;
    d.set_item("receiver_name", &h.receiver_name)?;
    d.set_item("receiver_id", &h.receiver_id)?;
    d.set_item("reply_to", &h.reply_to)?;
    d.set_item("reply_to_msg_id", &h.reply_to_msg_id)?;
    d.set_item("broker_url", &h.broker_url)?;
    d.set_item("metadata", map_to_py(py, &h.metadata)?)?;
    Ok(d)
}

/// `(header_dict, [(dataname, value, type, id, transport, size, metadata), ...])`.
pub(crate) fn envelope_to_py<'py>(py: Python<'py>, env: &Envelope, mode: TableMode) -> PyResult<Bound<'py, PyTuple>> {
    let header = header_to_py(py, &env.header)?;
    let list = PyList::empty(py);
    for p in &env.payloads {
        list.append(payload_to_py(py, p, mode)?)?;
    }
    PyTuple::new(py, [header.into_any(), list.into_any()])
}

fn payload_to_py<'py>(py: Python<'py>, p: &ReceivedPayload, mode: TableMode) -> PyResult<Bound<'py, PyTuple>> {
    let value = value_to_py(py, &p.value, mode)?;
    let metadata = match &p.metadata {
        Some(m) => map_to_py(py, m)?.into_any(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(
        py,
        [
            PyString::new(py, &p.dataname).into_any(),
            value,
            PyString::new(py, p.payload_type.as_str()).into_any(),
            PyString::new(py, &p.id).into_any(),
            PyString::new(py, p.transport.as_str()).into_any(),
            p.size.into_pyobject(py)?.into_any(),
            metadata,
        ],
    )
}

pub(crate) fn value_to_py<'py>(py: Python<'py>, v: &Value, mode: TableMode) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Text(s) => PyString::new(py, s).into_any(),
        Value::Dictionary(j) => json_to_py(py, j)?,
        Value::Table(t) => table_to_py(py, t, mode)?,
        Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => PyBytes::new(py, b).into_any(),
        Value::File { path, .. } => {
            static PATH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            PATH.import(py, "pathlib", "Path")?.call1((path.as_os_str(),))?
        }
    })
}

fn table_to_py<'py>(py: Python<'py>, t: &Table, mode: TableMode) -> PyResult<Bound<'py, PyAny>> {
    match mode {
        TableMode::Rows => {
            let rows = t.to_json_rows().map_err(|e| crate::errors::to_py(py, &e))?;
            json_to_py(py, &rows)
        }
        TableMode::Arrow => {
            let table = arrow_pyarrow::Table::try_new(t.batches().to_vec(), t.schema().clone())
                .map_err(|e| of_kind(py, ErrorKind::Internal, e.to_string()))?;
            table.into_pyarrow(py)
        }
    }
}
