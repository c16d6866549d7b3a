//! The pure-Rust baseline: NATSBridge written the way the seed's implementations work, over
//! async-nats, serde_json, the base64 crate and reqwest (threshold 1_000_000 bytes; larger payloads
//! are uploaded whole from memory, fetched whole into memory). It is what a Rust user would write
//! without the engine, as seed_impl.py and seed.js are for Python and Node.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};

const SIZE_THRESHOLD: usize = 1_000_000;

pub struct Seed {
    pub nats: async_nats::Client,
    http: reqwest::Client,
    fileserver: String,
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Seed {
    pub fn new(nats: async_nats::Client, fileserver: &str) -> Self {
        Seed { nats, http: crate::big::http(), fileserver: fileserver.to_owned() }
    }

    /// Builds the envelope of one binary payload and publishes it; returns the envelope's size.
    pub async fn smartsend(&self, subject: &str, dataname: &str, data: &Bytes) -> usize {
        let mut entry = json!({"id": uuid(), "dataname": dataname, "payload_type": "binary", "size": data.len()});
        if data.len() >= SIZE_THRESHOLD {
            let part = reqwest::multipart::Part::stream(data.clone()).file_name(dataname.to_owned());
            let url = crate::big::plik_upload(&self.http, &self.fileserver, part).await;
            entry["transport"] = "link".into();
            entry["encoding"] = "none".into();
            entry["data"] = url.into();
        } else {
            entry["transport"] = "direct".into();
            entry["encoding"] = "base64".into();
            entry["data"] = base64::engine::general_purpose::STANDARD.encode(data).into();
        }
        let env = json!({
            "correlation_id": uuid(), "msg_id": uuid(),
            "timestamp": format!("{:?}", std::time::SystemTime::now()),
            "send_to": subject, "msg_purpose": "chat", "sender_name": "NATSBridge", "sender_id": uuid(),
            "receiver_name": "", "receiver_id": "", "reply_to": "", "reply_to_msg_id": "",
            "broker_url": "nats://localhost:4222", "metadata": {}, "payloads": [entry],
        });
        let bytes = serde_json::to_vec(&env).unwrap();
        let len = bytes.len();
        self.nats.publish(subject.to_owned(), bytes.into()).await.unwrap();
        len
    }

    /// Decodes an envelope: the payloads' bytes, fetched when they went by link.
    pub async fn smartreceive(&self, msg: &[u8]) -> Vec<Bytes> {
        let env: Value = serde_json::from_slice(msg).unwrap();
        let mut out = Vec::new();
        for p in env["payloads"].as_array().unwrap() {
            let data = p["data"].as_str().unwrap();
            out.push(if p["transport"] == "direct" {
                base64::engine::general_purpose::STANDARD.decode(data).unwrap().into()
            } else {
                self.http.get(data).send().await.unwrap().error_for_status().unwrap().bytes().await.unwrap()
            });
        }
        out
    }
}
