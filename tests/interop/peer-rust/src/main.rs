//! The Rust participant of the interop matrix. Speaks the peer protocol of tests/interop/README.md:
//! `interop-peer recv|echo NATS_URL SUBJECT COUNT` and `interop-peer send|request NATS_URL SUBJECT CASES.json`;
//! `interop-peer to-ipc TABLE.json OUT.arrow -` writes a canonical table as Arrow IPC (for the C peer).

use std::sync::Arc;
use std::time::Duration;

use natsbridge::arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use natsbridge::arrow_schema::{DataType, Field, Schema};
use natsbridge::{
    b64, Client, ConnectOptions, Envelope, Payload, PayloadType, ReceiveOptions, SendOptions, Table, Value,
};
use serde_json::{json, Value as Json};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn to_value(kind: &str, v: &Json) -> AnyResult<Value> {
    let t: PayloadType = kind.parse()?;
    Ok(match t {
        PayloadType::Text => Value::Text(v.as_str().ok_or("text must be a string")?.to_owned()),
        PayloadType::Dictionary => Value::Dictionary(v.clone()),
        PayloadType::Table => Value::Table(to_table(v)?),
        raw => {
            Value::from_bytes(raw, b64::decode(v["base64"].as_str().ok_or("bytes as {base64}")?.as_bytes())?.into())?
        }
    })
}

fn to_table(v: &Json) -> AnyResult<Table> {
    let columns = v["columns"].as_array().ok_or("table columns")?;
    let rows = v["rows"].as_array().ok_or("table rows")?;
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let name = c[0].as_str().ok_or("column name")?;
        let cell = |r: &Json| r[i].clone();
        let (ty, array): (DataType, ArrayRef) = match c[1].as_str().ok_or("column type")? {
            "int64" => (DataType::Int64, Arc::new(rows.iter().map(|r| cell(r).as_i64()).collect::<Int64Array>())),
            "float64" => (DataType::Float64, Arc::new(rows.iter().map(|r| cell(r).as_f64()).collect::<Float64Array>())),
            "bool" => (DataType::Boolean, Arc::new(rows.iter().map(|r| cell(r).as_bool()).collect::<BooleanArray>())),
            "utf8" => (
                DataType::Utf8,
                Arc::new(rows.iter().map(|r| cell(r).as_str().map(str::to_owned)).collect::<StringArray>()),
            ),
            other => return Err(format!("column type {other}").into()),
        };
        fields.push(Field::new(name, ty, true));
        arrays.push(array);
    }
    Ok(Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?))
}

fn canonical(v: &Value) -> AnyResult<Json> {
    Ok(match v {
        Value::Text(s) => json!(s),
        Value::Dictionary(d) => d.clone(),
        Value::Table(t) => {
            let columns: Vec<Json> = t
                .schema()
                .fields()
                .iter()
                .map(|f| {
                    let ty = match f.data_type() {
                        DataType::Int64 => "int64",
                        DataType::Float64 => "float64",
                        DataType::Boolean => "bool",
                        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "utf8",
                        _ => "other",
                    };
                    json!([f.name(), ty])
                })
                .collect();
            let rows: Vec<Json> = t
                .to_json_rows()?
                .as_array()
                .ok_or("rows")?
                .iter()
                .map(|r| Json::Array(r.as_object().map(|o| o.values().cloned().collect()).unwrap_or_default()))
                .collect();
            json!({ "columns": columns, "rows": rows })
        }
        Value::File { path, .. } => json!({ "base64": b64::encode(&std::fs::read(path)?) }),
        bytes => json!({ "base64": b64::encode(bytes.as_bytes().ok_or("bytes")?) }),
    })
}

fn report(env: &Envelope) -> AnyResult<String> {
    let payloads = env
        .payloads
        .iter()
        .map(|p| {
            Ok(json!({"dataname": p.dataname, "type": p.payload_type.as_str(), "transport": p.transport.as_str(),
                       "value": canonical(&p.value)?}))
        })
        .collect::<AnyResult<Vec<_>>>()?;
    Ok(json!({ "correlation_id": env.header.correlation_id, "payloads": payloads }).to_string())
}

fn cases(path: &str) -> AnyResult<Vec<(SendOptions, Vec<Payload>)>> {
    let all: Json = serde_json::from_slice(&std::fs::read(path)?)?;
    all.as_array()
        .ok_or("cases must be an array")?
        .iter()
        .map(|c| {
            let opts = SendOptions {
                fileserver_url: c["fileserver"].as_str().unwrap_or(natsbridge::DEFAULT_FILESERVER_URL).to_owned(),
                size_threshold: c["threshold"].as_u64().unwrap_or(natsbridge::DEFAULT_SIZE_THRESHOLD),
                correlation_id: c["correlation_id"].as_str().map(str::to_owned),
                ..Default::default()
            };
            let payloads = c["payloads"]
                .as_array()
                .ok_or("payloads")?
                .iter()
                .map(|p| {
                    Ok(Payload::new(
                        p["dataname"].as_str().ok_or("dataname")?,
                        to_value(p["type"].as_str().ok_or("type")?, &p["value"])?,
                    ))
                })
                .collect::<AnyResult<Vec<_>>>()?;
            Ok((opts, payloads))
        })
        .collect()
}

#[tokio::main]
async fn main() -> AnyResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, op, url, subject, arg] = &args[..] else {
        return Err("usage: interop-peer recv|echo|send|request NATS_URL SUBJECT COUNT|CASES.json".into());
    };
    if op == "to-ipc" {
        // A helper for participants without an Arrow library (C): canonical table JSON → IPC file.
        let table: Json = serde_json::from_slice(&std::fs::read(url)?)?;
        std::fs::write(subject, to_table(&table)?.to_ipc()?)?;
        return Ok(());
    }
    let client = Client::connect(ConnectOptions::new(url.as_str())).await?;
    match op.as_str() {
        "recv" | "echo" => {
            let mut sub = client.subscribe(subject, ReceiveOptions::default()).await?;
            eprintln!("ready");
            for _ in 0..arg.parse::<usize>()? {
                let env = match sub.next().await.ok_or("subscription closed")? {
                    Ok(env) => env,
                    Err(e) => {
                        println!("{}", json!({ "error": e.kind().name(), "message": e.message() }));
                        continue;
                    }
                };
                if op == "echo" {
                    let back = env.payloads.iter().map(|p| Payload::new(p.dataname.clone(), p.value.clone())).collect();
                    client.reply(&env, back, &SendOptions::default()).await?;
                } else {
                    println!("{}", report(&env)?);
                }
            }
        }
        "send" => {
            for (opts, payloads) in cases(arg)? {
                client.smartsend(subject, payloads, &opts).await?;
            }
        }
        "request" => {
            for (opts, payloads) in cases(arg)? {
                let reply = client
                    .smartrequest(subject, payloads, &opts, &ReceiveOptions::default(), Duration::from_secs(20))
                    .await?;
                println!("{}", report(&reply)?);
            }
        }
        other => return Err(format!("unknown op {other}").into()),
    }
    client.close().await?;
    Ok(())
}
