//! What the command prints: a readable summary, or one JSON object per envelope.

use natsbridge::{Envelope, Sent, Value};
use serde_json::{json, Value as Json};

pub fn sent(sent: &Sent) {
    let h = &sent.envelope.header;
    println!(
        "sent msg_id={} correlation_id={} to {} ({} bytes)",
        h.msg_id,
        h.correlation_id,
        h.send_to,
        sent.json.len()
    );
    for p in &sent.envelope.payloads {
        println!(
            "  {:<20} {:<10} {:<6} {:>12} bytes",
            p.dataname,
            p.payload_type.as_str(),
            p.transport().as_str(),
            p.size
        );
    }
}

/// A payload value as JSON: text as a string, dictionaries as themselves, tables as rows,
/// bytes as base64, saved files as their path.
pub fn value_json(value: &Value) -> Result<Json, natsbridge::Error> {
    Ok(match value {
        Value::Text(s) => json!(s),
        Value::Dictionary(v) => v.clone(),
        Value::Table(t) => t.to_json_rows()?,
        Value::File { path, .. } => json!({ "path": path }),
        bytes => {
            json!({ "base64": natsbridge::b64::encode(bytes.as_bytes().expect("raw bytes")) })
        }
    })
}

pub fn received(env: &Envelope, as_json: bool) -> Result<(), natsbridge::Error> {
    if as_json {
        let payloads = env
            .payloads
            .iter()
            .map(|p| {
                Ok(json!({
                    "dataname": p.dataname, "payload_type": p.payload_type.as_str(), "transport": p.transport.as_str(),
                    "size": p.size, "value": value_json(&p.value)?,
                }))
            })
            .collect::<Result<Vec<_>, natsbridge::Error>>()?;
        let mut out = serde_json::to_value(&env.header).expect("header serializes");
        out["payloads"] = Json::Array(payloads);
        println!("{out}");
        return Ok(());
    }
    let h = &env.header;
    println!(
        "envelope msg_id={} correlation_id={} from {:?} on {} purpose={}{}",
        h.msg_id,
        h.correlation_id,
        h.sender_name,
        h.send_to,
        h.msg_purpose,
        if h.reply_to.is_empty() { String::new() } else { format!(" reply_to={}", h.reply_to) }
    );
    for p in &env.payloads {
        println!(
            "  {:<20} {:<10} {:<6} {:>12} bytes  {}",
            p.dataname,
            p.payload_type.as_str(),
            p.transport.as_str(),
            p.size,
            preview(&p.value)
        );
    }
    Ok(())
}

fn preview(value: &Value) -> String {
    let cut =
        |s: String| if s.chars().count() > 60 { format!("{}…", s.chars().take(60).collect::<String>()) } else { s };
    match value {
        Value::Text(s) => cut(format!("{s:?}")),
        Value::Dictionary(v) => cut(v.to_string()),
        Value::Table(t) => format!("{} rows × {} columns", t.num_rows(), t.schema().fields().len()),
        Value::File { path, .. } => format!("saved to {}", path.display()),
        other => format!("{} bytes", other.as_bytes().map_or(0, |b| b.len())),
    }
}

pub fn receive_error(e: &natsbridge::Error, as_json: bool) {
    if as_json {
        println!("{}", json!({ "error": e.kind().name(), "code": e.code(), "message": e.message() }));
    } else {
        eprintln!("error: {e}");
    }
}
