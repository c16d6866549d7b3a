//! Helpers shared by the HTTP tests: a scratch storage dir, a server on a free port, a reqwest
//! client, Plik-style calls and raw HTTP for requests reqwest would normalise.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use natsbridge_fileserver::{FileServer, FileServerConfig};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A unique directory under the system temp dir, removed on drop.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("natsbridge-fileserver-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        TestDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn config(dir: &Path) -> FileServerConfig {
    FileServerConfig {
        dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        delete_one_shot: true,
        ..FileServerConfig::default()
    }
}

pub async fn start(dir: &Path) -> FileServer {
    FileServer::start(config(dir)).await.unwrap()
}

/// reqwest is built with `rustls-no-provider`, so a provider must exist before a client is built
/// even though these tests speak plain http.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `POST /upload`; returns `(id, uploadToken)`.
pub async fn create_upload(client: &reqwest::Client, url: &str, one_shot: bool) -> (String, String) {
    let response =
        client.post(format!("{url}/upload")).json(&serde_json::json!({ "OneShot": one_shot })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["oneShot"], one_shot);
    (body["id"].as_str().unwrap().to_string(), body["uploadToken"].as_str().unwrap().to_string())
}

/// `POST /file/{id}` with the bytes as field `file` (a known length, so Content-Length is sent).
pub async fn post_file(
    client: &reqwest::Client,
    url: &str,
    upload_id: &str,
    token: Option<&str>,
    name: &str,
    data: Vec<u8>,
) -> reqwest::Response {
    let form = Form::new().part("file", Part::bytes(data).file_name(name.to_string()));
    let mut request = client.post(format!("{url}/file/{upload_id}")).multipart(form);
    if let Some(token) = token {
        request = request.header("X-UploadToken", token);
    }
    request.send().await.unwrap()
}

/// Uploads and returns the download URL that travels in an envelope.
pub async fn upload(client: &reqwest::Client, url: &str, one_shot: bool, name: &str, data: Vec<u8>) -> String {
    let (id, token) = create_upload(client, url, one_shot).await;
    let len = data.len() as u64;
    let response = post_file(client, url, &id, Some(&token), name, data).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fileSize"], len);
    format!("{url}/file/{id}/{}/{}", body["id"].as_str().unwrap(), body["fileName"].as_str().unwrap())
}

/// Polls `GET url` until it answers `status` or two seconds pass (one-shot deletion runs just
/// after the body is handed over).
pub async fn wait_for_status(client: &reqwest::Client, url: &str, status: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if client.get(url).send().await.unwrap().status() == status {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `GET {target}` byte for byte (no client-side path normalisation) and returns the status.
pub async fn raw_get_status(addr: std::net::SocketAddr, target: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}
