//! Tables: Arrow record batches with their schema, serialized as an Arrow IPC stream.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use bytes::Bytes;

use crate::error::{Error, Result};

/// A table: a schema and zero or more record batches of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Table {
    /// A table of batches that all share `schema`.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Table> {
        if let Some(b) = batches.iter().find(|b| b.schema() != schema) {
            return Err(Error::argument(format!(
                "record batch schema {:?} differs from the table schema {:?}",
                b.schema(),
                schema
            )));
        }
        Ok(Table { schema, batches })
    }

    pub fn from_batch(batch: RecordBatch) -> Table {
        Table { schema: batch.schema(), batches: vec![batch] }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// The Arrow IPC stream form: schema, batches, end-of-stream marker.
    pub fn to_ipc(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.batches.iter().map(|b| b.get_array_memory_size()).sum::<usize>() + 1024);
        let mut writer = StreamWriter::try_new(&mut out, &self.schema).map_err(arrow_write_error)?;
        for batch in &self.batches {
            writer.write(batch).map_err(arrow_write_error)?;
        }
        writer.finish().map_err(arrow_write_error)?;
        drop(writer);
        Ok(out)
    }

    /// Reads an Arrow IPC stream. The batches keep pointing into `bytes` (no copy).
    pub fn from_ipc(bytes: Bytes) -> Result<Table> {
        let mut buffer = Buffer::from(bytes);
        let mut decoder = StreamDecoder::new();
        let mut batches = Vec::new();
        while !buffer.is_empty() {
            match decoder.decode(&mut buffer).map_err(arrow_read_error)? {
                Some(batch) => batches.push(batch),
                None if buffer.is_empty() => break,
                None => continue,
            }
        }
        decoder.finish().map_err(arrow_read_error)?;
        let schema = decoder
            .schema()
            .ok_or_else(|| Error::encoding("table payload is not an Arrow IPC stream: no schema message"))?;
        Ok(Table { schema, batches })
    }

    /// A table from JSON rows (`[{"col": value, ...}, ...]`), as `jsontable` payloads carry them.
    /// Column types are inferred: integers → int64, any float → float64, strings → utf8,
    /// booleans → bool; nulls and missing keys are nulls. Columns keep first-seen order.
    pub fn from_json_rows(rows: &serde_json::Value) -> Result<Table> {
        let rows = rows.as_array().ok_or_else(|| Error::encoding("a JSON table must be an array of row objects"))?;
        let mut names: Vec<String> = Vec::new();
        for row in rows {
            let obj = row.as_object().ok_or_else(|| Error::encoding("a JSON table must be an array of row objects"))?;
            for key in obj.keys() {
                if !names.iter().any(|n| n == key) {
                    names.push(key.clone());
                }
            }
        }
        let mut fields = Vec::with_capacity(names.len());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(names.len());
        for name in &names {
            let values: Vec<&serde_json::Value> =
                rows.iter().map(|r| r.get(name.as_str()).unwrap_or(&serde_json::Value::Null)).collect();
            let (data_type, column) = json_column(name, &values)?;
            fields.push(Field::new(name, data_type, true));
            columns.push(column);
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = if columns.is_empty() {
            RecordBatch::new_empty(schema.clone())
        } else {
            RecordBatch::try_new(schema.clone(), columns).map_err(arrow_read_error)?
        };
        Ok(Table { schema, batches: vec![batch] })
    }
}

impl Table {
    /// The rows as JSON objects (`[{"col": value, ...}, ...]`), the form JavaScript callers and
    /// command-line output use. Integers, floats, booleans and strings map to their JSON kinds,
    /// binary to base64, dates and timestamps to their integer values, dictionary (categorical)
    /// columns to their values; nulls to `null`.
    pub fn to_json_rows(&self) -> Result<serde_json::Value> {
        let mut rows = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let columns: Vec<Vec<serde_json::Value>> =
                batch.columns().iter().map(|c| column_json(c.as_ref())).collect::<Result<_>>()?;
            for i in 0..batch.num_rows() {
                let row = self.schema.fields().iter().zip(&columns).map(|(f, c)| (f.name().clone(), c[i].clone()));
                rows.push(serde_json::Value::Object(row.collect()));
            }
        }
        Ok(serde_json::Value::Array(rows))
    }
}

/// One column's values as JSON.
fn column_json(array: &dyn arrow_array::Array) -> Result<Vec<serde_json::Value>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_array::Array;
    use serde_json::Value as J;
    macro_rules! prim {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            (0..a.len()).map(|i| if a.is_null(i) { J::Null } else { serde_json::json!(a.value(i)) }).collect()
        }};
    }
    let values: Vec<J> = match array.data_type() {
        DataType::Null => vec![J::Null; array.len()],
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..a.len()).map(|i| if a.is_null(i) { J::Null } else { J::Bool(a.value(i)) }).collect()
        }
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Date32 => prim!(Date32Type),
        DataType::Date64 => prim!(Date64Type),
        DataType::Timestamp(unit, _) => match unit {
            arrow_schema::TimeUnit::Second => prim!(TimestampSecondType),
            arrow_schema::TimeUnit::Millisecond => prim!(TimestampMillisecondType),
            arrow_schema::TimeUnit::Microsecond => prim!(TimestampMicrosecondType),
            arrow_schema::TimeUnit::Nanosecond => prim!(TimestampNanosecondType),
        },
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..a.len()).map(|i| if a.is_null(i) { J::Null } else { J::String(a.value(i).to_owned()) }).collect()
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            (0..a.len()).map(|i| if a.is_null(i) { J::Null } else { J::String(a.value(i).to_owned()) }).collect()
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            (0..a.len()).map(|i| if a.is_null(i) { J::Null } else { J::String(a.value(i).to_owned()) }).collect()
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            (0..a.len())
                .map(|i| if a.is_null(i) { J::Null } else { J::String(crate::b64::encode(a.value(i))) })
                .collect()
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            (0..a.len())
                .map(|i| if a.is_null(i) { J::Null } else { J::String(crate::b64::encode(a.value(i))) })
                .collect()
        }
        // Categorical columns (pandas `category`, Arrow dictionaries): each row its value.
        DataType::Dictionary(_, _) => {
            let a = array.as_any_dictionary();
            let values = column_json(a.values().as_ref())?;
            let keys = a.normalized_keys();
            (0..a.len()).map(|i| if a.is_null(i) { J::Null } else { values[keys[i]].clone() }).collect()
        }
        other => return Err(Error::argument(format!("column type {other} has no JSON row form"))),
    };
    Ok(values)
}

fn json_column(name: &str, values: &[&serde_json::Value]) -> Result<(DataType, ArrayRef)> {
    use serde_json::Value as J;
    let non_null = || values.iter().filter(|v| !v.is_null());
    let mixed = || Error::encoding(format!("JSON table column {name:?} mixes value types"));
    if non_null().all(|v| v.is_i64() || v.is_u64()) {
        let mut b = Int64Builder::with_capacity(values.len());
        for v in values {
            match v {
                J::Null => b.append_null(),
                v => b.append_value(
                    v.as_i64().ok_or_else(|| Error::encoding(format!("column {name:?}: integer out of range")))?,
                ),
            }
        }
        return Ok((DataType::Int64, Arc::new(b.finish())));
    }
    if non_null().all(|v| v.is_number()) {
        let mut b = Float64Builder::with_capacity(values.len());
        for v in values {
            b.append_option(v.as_f64());
        }
        return Ok((DataType::Float64, Arc::new(b.finish())));
    }
    if non_null().all(|v| v.is_boolean()) {
        let mut b = BooleanBuilder::with_capacity(values.len());
        for v in values {
            b.append_option(v.as_bool());
        }
        return Ok((DataType::Boolean, Arc::new(b.finish())));
    }
    if non_null().all(|v| v.is_string()) {
        let mut b = StringBuilder::new();
        for v in values {
            b.append_option(v.as_str());
        }
        return Ok((DataType::Utf8, Arc::new(b.finish())));
    }
    Err(mixed())
}

fn arrow_read_error(e: ArrowError) -> Error {
    Error::encoding(format!("table payload is not a valid Arrow IPC stream: {e}"))
}

fn arrow_write_error(e: ArrowError) -> Error {
    Error::argument(format!("table cannot be written as Arrow IPC: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    fn sample() -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![1, 2])), Arc::new(StringArray::from(vec![Some("a"), None]))],
        )
        .unwrap();
        Table::from_batch(batch)
    }

    #[test]
    fn ipc_round_trip() {
        let t = sample();
        let bytes = t.to_ipc().unwrap();
        let back = Table::from_ipc(Bytes::from(bytes)).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.num_rows(), 2);
    }

    #[test]
    fn garbage_is_bad_encoding() {
        let err = Table::from_ipc(Bytes::from_static(b"not arrow at all")).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BadEncoding);
        let err = Table::from_ipc(Bytes::new()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BadEncoding);
    }

    #[test]
    fn json_rows_infer_types() {
        let rows = serde_json::json!([{"id": 1, "x": 1.5, "s": "a", "b": true}, {"id": 2, "x": 2, "s": null}]);
        let t = Table::from_json_rows(&rows).unwrap();
        let types: Vec<_> = t.schema().fields().iter().map(|f| f.data_type().clone()).collect();
        assert_eq!(types, vec![DataType::Int64, DataType::Float64, DataType::Utf8, DataType::Boolean]);
        assert_eq!(t.num_rows(), 2);
        assert!(Table::from_json_rows(&serde_json::json!([{"a": 1}, {"a": "x"}])).is_err());
        assert_eq!(
            t.to_json_rows().unwrap(),
            serde_json::json!([
                {"id": 1, "x": 1.5, "s": "a", "b": true}, {"id": 2, "x": 2.0, "s": null, "b": null}
            ])
        );
    }

    #[test]
    fn dictionary_columns_give_their_values() {
        use arrow_array::types::Int8Type;
        use arrow_array::{Array, DictionaryArray};
        let colour: DictionaryArray<Int8Type> =
            vec![Some("red"), None, Some("blue"), Some("red")].into_iter().collect();
        let schema = Arc::new(Schema::new(vec![Field::new("colour", colour.data_type().clone(), true)]));
        let t = Table::from_batch(RecordBatch::try_new(schema, vec![Arc::new(colour)]).unwrap());
        assert_eq!(
            t.to_json_rows().unwrap(),
            serde_json::json!([{"colour": "red"}, {"colour": null}, {"colour": "blue"}, {"colour": "red"}])
        );
    }
}
