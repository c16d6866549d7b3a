//! The file server over real HTTP on loopback, as the default upload and download handlers use it.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use natsbridge_fileserver::{FileServer, FileServerConfig};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

#[tokio::test]
async fn health_answers_ok() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let response = client().get(format!("{}/health", server.url())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    server.shutdown().await;
}

#[tokio::test]
async fn upload_and_download_round_trip() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let data = random_bytes(3 * 1024 * 1024 + 17, 1);
    let file_url = upload(&client, &server.url(), false, "payload.arrow", data.clone()).await;

    // The URL names the on-disk path exactly.
    let rel = file_url.strip_prefix(&format!("{}/file/", server.url())).unwrap();
    assert!(rel.ends_with("/payload.arrow"));
    assert_eq!(std::fs::read(dir.path().join(rel)).unwrap(), data);

    for _ in 0..2 {
        let response = client.get(&file_url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/octet-stream");
        assert_eq!(response.content_length(), Some(data.len() as u64));
        assert_eq!(response.bytes().await.unwrap(), data, "not one-shot: still served");
    }

    let head = client.head(&file_url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], data.len().to_string().as_str());
    server.shutdown().await;
}

#[tokio::test]
async fn empty_file_round_trip() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let file_url = upload(&client, &server.url(), true, "empty.bin", Vec::new()).await;
    let response = client.get(&file_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
    assert!(wait_for_status(&client, &file_url, 404).await);
    server.shutdown().await;
}

#[tokio::test]
async fn create_upload_accepts_optional_json() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let url = format!("{}/upload", server.url());
    let cases = [
        ("", 200, Some(false)),
        ("{}", 200, Some(false)),
        (r#"{"OneShot": true, "Stream": false, "ttl": 60}"#, 200, Some(true)),
        (r#"{"oneShot": true}"#, 200, Some(true)),
        ("{not json", 400, None),
    ];
    for (body, status, one_shot) in cases {
        let response = client.post(&url).body(body).send().await.unwrap();
        assert_eq!(response.status(), status, "body {body:?}");
        let json: Value = response.json().await.unwrap();
        match one_shot {
            Some(one_shot) => {
                assert_eq!(json["oneShot"], one_shot);
                let id = json["id"].as_str().unwrap();
                assert!(!json["uploadToken"].as_str().unwrap().is_empty());
                let meta: Value =
                    serde_json::from_slice(&std::fs::read(dir.path().join(id).join(".upload.json")).unwrap()).unwrap();
                assert_eq!(meta["oneShot"], one_shot);
                assert_eq!(meta["uploadToken"], json["uploadToken"]);
            }
            None => assert!(json["error"].is_string()),
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn upload_checks_token_and_upload() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let url = server.url();
    let (id, token) = create_upload(&client, &url, false).await;

    let missing = post_file(&client, &url, &id, None, "a", b"x".to_vec()).await;
    assert_eq!(missing.status(), 401);
    let wrong = post_file(&client, &url, &id, Some("nope"), "a", b"x".to_vec()).await;
    assert_eq!(wrong.status(), 403);
    let json: Value = wrong.json().await.unwrap();
    assert!(json["error"].is_string());
    let unknown = post_file(&client, &url, "0123abcd", Some(&token), "a", b"x".to_vec()).await;
    assert_eq!(unknown.status(), 404);
    let invalid = post_file(&client, &url, ".hidden", Some(&token), "a", b"x".to_vec()).await;
    assert_eq!(invalid.status(), 400);
    let ok = post_file(&client, &url, &id, Some(&token), "a", b"x".to_vec()).await;
    assert_eq!(ok.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn upload_sanitizes_names_and_needs_the_file_field() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let url = server.url();
    let (id, token) = create_upload(&client, &url, false).await;

    let response = post_file(&client, &url, &id, Some(&token), "../../evil name.bin", b"x".to_vec()).await;
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["fileName"], "evil_name.bin");

    // A part without a file name is stored as "file".
    let form = Form::new().part("file", Part::bytes(b"abc".to_vec()));
    let response =
        client.post(format!("{url}/file/{id}")).header("X-UploadToken", &token).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["fileName"], "file");
    assert_eq!(json["fileSize"], 3);

    // Other fields are skipped; no `file` field at all is a client error.
    let form = Form::new().text("comment", "hello");
    let response =
        client.post(format!("{url}/file/{id}")).header("X-UploadToken", &token).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 400);

    // Not multipart at all.
    let response =
        client.post(format!("{url}/file/{id}")).header("X-UploadToken", &token).body("plain").send().await.unwrap();
    assert_eq!(response.status(), 400);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_files_are_404() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let url = server.url();
    let file_url = upload(&client, &url, false, "a.bin", b"abc".to_vec()).await;
    let (base, _) = file_url.rsplit_once('/').unwrap();
    for missing in [format!("{base}/b.bin"), format!("{url}/file/nope/nope/a.bin"), format!("{url}/nothing/here")] {
        let response = client.get(&missing).send().await.unwrap();
        assert_eq!(response.status(), 404, "{missing}");
        let json: Value = response.json().await.unwrap();
        assert!(json["error"].is_string());
    }
    // The file id directory itself is not a file.
    let (upload_base, _) = base.rsplit_once('/').unwrap();
    let file_id = base.rsplit('/').next().unwrap();
    let response = client.get(format!("{upload_base}/{file_id}/{file_id}")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_uploads_get_413_and_leave_nothing() {
    let dir = TestDir::new();
    let limit = 1024 * 1024;
    let server =
        FileServer::start(FileServerConfig { max_upload_bytes: Some(limit), ..config(dir.path()) }).await.unwrap();
    let client = client();
    let url = server.url();
    let (id, token) = create_upload(&client, &url, false).await;

    // Announced by Content-Length: refused before reading the body.
    let big = random_bytes(2 * limit as usize, 2);
    let response = post_file(&client, &url, &id, Some(&token), "big", big.clone()).await;
    assert_eq!(response.status(), 413);
    let json: Value = response.json().await.unwrap();
    assert!(json["error"].is_string());

    // Chunked, no length known up front: refused while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let part = Part::stream(reqwest::Body::wrap_stream(futures::stream::iter(chunks))).file_name("big");
    let response = client
        .post(format!("{url}/file/{id}"))
        .header("X-UploadToken", &token)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Only the metadata is left: no partial or temp file.
    let entries: Vec<_> = std::fs::read_dir(dir.path().join(&id)).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from(".upload.json")]);

    // Exactly the limit is fine.
    let response = post_file(&client, &url, &id, Some(&token), "fits", big[..limit as usize].to_vec()).await;
    assert_eq!(response.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn one_shot_file_is_deleted_after_complete_download() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let data = random_bytes(1024 * 1024 + 3, 3);
    let file_url = upload(&client, &server.url(), true, "once.bin", data.clone()).await;

    // HEAD is not a download.
    assert_eq!(client.head(&file_url).send().await.unwrap().status(), 200);
    let response = client.get(&file_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), data);

    assert!(wait_for_status(&client, &file_url, 404).await, "second GET must be 404");
    // The upload had only this file, so its directory is gone too.
    let id = file_url.split('/').rev().nth(2).unwrap();
    assert!(!dir.path().join(id).exists());
    server.shutdown().await;
}

#[tokio::test]
async fn one_shot_file_survives_an_interrupted_download() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    // Larger than loopback socket buffers, so the server cannot hand it all over at once.
    let data = random_bytes(48 * 1024 * 1024, 4);
    let file_url = upload(&client, &server.url(), true, "big.bin", data.clone()).await;

    let response = client.get(&file_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(body);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let rel = file_url.strip_prefix(&format!("{}/file/", server.url())).unwrap();
    assert!(dir.path().join(rel).exists(), "an interrupted download must not delete");
    let response = client.get(&file_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap() == data);
    assert!(wait_for_status(&client, &file_url, 404).await);
    server.shutdown().await;
}

#[tokio::test]
async fn one_shot_kept_when_deletion_is_off() {
    let dir = TestDir::new();
    let server = FileServer::start(FileServerConfig { delete_one_shot: false, ..config(dir.path()) }).await.unwrap();
    let client = client();
    let file_url = upload(&client, &server.url(), true, "keep.bin", b"keep".to_vec()).await;
    for _ in 0..2 {
        let response = client.get(&file_url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().as_ref(), b"keep");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn hand_made_tree_is_served_as_is() {
    let dir = TestDir::new();
    let file_dir = dir.path().join("golden").join("v1");
    std::fs::create_dir_all(&file_dir).unwrap();
    std::fs::write(file_dir.join("table.arrow"), b"golden bytes").unwrap();
    let server = start(dir.path()).await;
    let client = client();
    let url = format!("{}/file/golden/v1/table.arrow", server.url());
    for _ in 0..2 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().as_ref(), b"golden bytes");
    }
    assert!(file_dir.join("table.arrow").exists());
    // No metadata means no uploads into it.
    let response = post_file(&client, &server.url(), "golden", Some("t"), "x", b"x".to_vec()).await;
    assert_eq!(response.status(), 404);
    server.shutdown().await;
}

#[tokio::test]
async fn path_traversal_is_rejected() {
    let root = TestDir::new();
    let store = root.path().join("store");
    std::fs::create_dir_all(root.path().join("x")).unwrap();
    std::fs::write(root.path().join("x").join("secret.txt"), b"secret").unwrap();
    std::fs::create_dir_all(store.join("u").join("f")).unwrap();
    std::fs::write(store.join("u").join("f").join("ok.txt"), b"ok").unwrap();
    let server = start(&store).await;
    let addr = server.local_addr();

    assert_eq!(raw_get_status(addr, "/file/u/f/ok.txt").await, 200);
    for target in [
        "/file/../x/secret.txt",
        "/file/%2e%2e/x/secret.txt",
        "/file/%2E%2E/x/secret.txt",
        "/file/u/..%2f..%2fx/secret.txt",
        "/file/u/f/..%2f..%2f..%2fx%2fsecret.txt",
        "/file/u/f/%2e%2e",
        "/file/u/f/.",
        "/file/u/.upload.json/x",
        "/file/u/f/ok.txt%00",
        "/file/u/f/..%5c..%5csecret.txt",
    ] {
        let status = raw_get_status(addr, target).await;
        assert_eq!(status, 400, "{target}");
    }
    // Extra segments match no route at all.
    assert_eq!(raw_get_status(addr, "/file/u/f/../../x/secret.txt").await, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_uploads_and_downloads() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let client = client();
    let url = server.url();
    let (shared_id, shared_token) = create_upload(&client, &url, false).await;

    let tasks = (0..16u64).map(|i| {
        let client = client.clone();
        let url = url.clone();
        let (shared_id, shared_token) = (shared_id.clone(), shared_token.clone());
        tokio::spawn(async move {
            let data = random_bytes(256 * 1024 + i as usize, 100 + i);
            let file_url = if i % 2 == 0 {
                // Half go into one shared upload, half into their own.
                let response =
                    post_file(&client, &url, &shared_id, Some(&shared_token), "part.bin", data.clone()).await;
                assert_eq!(response.status(), 200);
                let json: Value = response.json().await.unwrap();
                format!("{url}/file/{shared_id}/{}/part.bin", json["id"].as_str().unwrap())
            } else {
                upload(&client, &url, i % 4 == 1, "own.bin", data.clone()).await
            };
            let response = client.get(&file_url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert!(response.bytes().await.unwrap() == data, "file {i}");
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let dir = TestDir::new();
    let server = start(dir.path()).await;
    let addr = server.local_addr();
    assert_eq!(server.url(), format!("http://{addr}"));
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn serve_runs_until_the_signal() {
    let dir = TestDir::new();
    // Find a free port, then hand it to `serve`.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = config(dir.path());
    config.listen.set_port(port);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(natsbridge_fileserver::serve(config, async move {
        let _ = stopped.await;
    }));
    let client = client();
    let health = format!("http://127.0.0.1:{port}/health");
    let mut up = false;
    for _ in 0..100 {
        if let Ok(response) = client.get(&health).send().await {
            up = response.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(up);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
