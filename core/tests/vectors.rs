//! The golden vectors in `tests/vectors/`: every valid envelope decodes to its expected values,
//! every invalid one fails with its expected error kind.

use natsbridge::{smartreceive, Envelope, ReceiveOptions, Value};
use natsbridge_testkit::{file_server_at, workspace_root};
use serde_json::{json, Value as Json};

fn load(rel: &str) -> Vec<u8> {
    std::fs::read(workspace_root().join("tests/vectors").join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn with_server(bytes: &[u8], base: &str) -> Vec<u8> {
    let needle = b"{{FILESERVER}}";
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(needle) {
            out.extend_from_slice(base.as_bytes());
            i += needle.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A decoded value in the vectors' expected form.
fn expected_form(value: &Value) -> Json {
    let b64 = natsbridge::b64::encode;
    match value {
        Value::Text(s) => json!({ "text": s }),
        Value::Dictionary(v) => json!({ "json": v }),
        Value::Table(t) => {
            let columns: Vec<Json> = t
                .schema()
                .fields()
                .iter()
                .map(|f| {
                    let ty = match f.data_type() {
                        natsbridge::arrow_schema::DataType::Int64 => "int64",
                        natsbridge::arrow_schema::DataType::Float64 => "float64",
                        natsbridge::arrow_schema::DataType::Utf8 => "utf8",
                        natsbridge::arrow_schema::DataType::Boolean => "bool",
                        other => panic!("unexpected column type {other}"),
                    };
                    json!([f.name(), ty])
                })
                .collect();
            let rows: Vec<Json> = t
                .to_json_rows()
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|r| Json::Array(r.as_object().unwrap().values().cloned().collect()))
                .collect();
            json!({ "table": { "columns": columns, "rows": rows } })
        }
        other => json!({ "base64": b64(other.as_bytes().expect("raw bytes")) }),
    }
}

fn actual_form(env: &Envelope) -> Json {
    let payloads: Vec<Json> = env
        .payloads
        .iter()
        .map(|p| {
            let mut o = json!({
                "dataname": p.dataname, "payload_type": p.payload_type.as_str(),
                "transport": p.transport.as_str(), "size": p.size, "value": expected_form(&p.value),
            });
            if let Some(m) = &p.metadata {
                o["metadata"] = Json::Object(m.clone());
            }
            o
        })
        .collect();
    json!({ "header": serde_json::to_value(&env.header).unwrap(), "payloads": payloads })
}

/// Floats in the expected files are written by Python (`88.0`); compare numbers by value.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[tokio::test]
async fn every_vector_decodes_as_expected() {
    let server = file_server_at(&workspace_root().join("tests/vectors/files")).await;
    let index: Json = serde_json::from_slice(&load("index.json")).unwrap();
    let opts = ReceiveOptions {
        retry: natsbridge::store::RetryPolicy { max_retries: 1, ..Default::default() },
        ..Default::default()
    };
    let mut failures = Vec::new();
    let valid = index["valid"].as_array().unwrap();
    for name in valid {
        let name = name.as_str().unwrap();
        let msg = with_server(&load(&format!("valid/{name}.json")), &server.url());
        let expected: Json = serde_json::from_slice(&load(&format!("valid/{name}.expected.json"))).unwrap();
        match smartreceive(&msg, &opts).await {
            Ok(env) if same(&actual_form(&env), &expected) => {}
            Ok(env) => failures.push(format!("{name}: got {}", actual_form(&env))),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    let invalid = index["invalid"].as_array().unwrap();
    for name in invalid {
        let name = name.as_str().unwrap();
        let msg = with_server(&load(&format!("invalid/{name}.bin")), &server.url());
        let expected: Json = serde_json::from_slice(&load(&format!("invalid/{name}.expected.json"))).unwrap();
        match smartreceive(&msg, &opts).await {
            Ok(_) => failures.push(format!("{name}: decoded, expected {}", expected["error"])),
            Err(e) if e.kind().name() == expected["error"] => {}
            Err(e) => failures.push(format!("{name}: got {e}, expected {}", expected["error"])),
        }
    }
    assert!(valid.len() >= 40 && invalid.len() >= 14, "the vector set shrank");
    assert!(failures.is_empty(), "{} vectors failed:\n{}", failures.len(), failures.join("\n"));
    server.shutdown().await;
}
