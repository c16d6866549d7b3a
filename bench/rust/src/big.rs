//! 1 GiB by link, from a file to a file, against a plain HTTP upload and download of the same file
//! to the same server; and the process's peak RSS above idle while it runs.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use natsbridge::{Client, Payload, PayloadType, ReceiveOptions, SendOptions, Value};
use tokio::io::AsyncWriteExt;

/// Resident set size now and its peak, in bytes (Linux /proc).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Writes back what earlier steps left dirty (the source file, the other run's copies), so that
/// neither run pays for the other's write-back.
fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// Resets the peak RSS counter, so the next reading covers only what follows.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub struct BigResult {
    pub size: u64,
    pub engine: Duration,
    pub http: Duration,
    pub idle_rss: u64,
    pub peak_rss: u64,
}

fn write_file(path: &Path, size: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    for _ in 0..size / block.len() as u64 {
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

/// Median times over `rounds` interleaved pairs (plain HTTP, then the engine), so one stall of the
/// shared machine does not decide the row; the peak RSS is the largest of the engine's rounds.
pub async fn run(client: &Client, fileserver: &str, size: u64, rounds: usize) -> BigResult {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_TMP").unwrap_or_else(|_| "/tmp".into())).unwrap();
    let src = dir.path().join("big.bin");
    write_file(&src, size);
    let receive = ReceiveOptions { save_dir: Some(dir.path().join("saved")), ..Default::default() };
    let mut sub = client.subscribe("bench.big", receive).await.unwrap();
    let opts = SendOptions { fileserver_url: fileserver.to_owned(), ..Default::default() };
    let (mut engine, mut http) = (Vec::new(), Vec::new());
    let (mut idle_rss, mut peak_rss) = (0u64, 0u64);
    for _ in 0..rounds {
        // Plain HTTP: the same Plik calls, no NATS, no envelope, no digest.
        let plain_out = dir.path().join("plain.out");
        settle();
        let t = Instant::now();
        let url = plain_upload(fileserver, &src).await;
        plain_download(&url, &plain_out).await;
        http.push(t.elapsed());
        std::fs::remove_file(plain_out).unwrap();

        settle();
        let (idle, _) = rss();
        reset_peak();
        let t = Instant::now();
        client.smartsend("bench.big", vec![Payload::file("big", PayloadType::Binary, &src)], &opts).await.unwrap();
        let env = sub.next().await.unwrap().unwrap();
        engine.push(t.elapsed());
        let (_, peak) = rss();
        if peak.saturating_sub(idle) >= peak_rss.saturating_sub(idle_rss) {
            (idle_rss, peak_rss) = (idle, peak);
        }
        let Value::File { path, .. } = &env.payloads[0].value else { panic!("expected a saved file") };
        assert_eq!(std::fs::metadata(path).unwrap().len(), size);
        std::fs::remove_file(path).unwrap();
    }
    BigResult { size, engine: crate::median(engine), http: crate::median(http), idle_rss, peak_rss }
}

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The Plik calls: create a one-shot upload, post the file to it; returns the download URL.
pub async fn plik_upload(c: &reqwest::Client, base: &str, part: reqwest::multipart::Part) -> String {
    let up: serde_json::Value = c
        .post(format!("{base}/upload"))
        .json(&serde_json::json!({"OneShot": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, token) = (up["id"].as_str().unwrap().to_owned(), up["uploadToken"].as_str().unwrap().to_owned());
    let f: serde_json::Value = c
        .post(format!("{base}/file/{id}"))
        .header("X-UploadToken", token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("{base}/file/{id}/{}/{}", f["id"].as_str().unwrap(), f["fileName"].as_str().unwrap())
}

async fn plain_upload(base: &str, path: &Path) -> String {
    let file = tokio::fs::File::open(path).await.unwrap();
    let len = file.metadata().await.unwrap().len();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
    let part = reqwest::multipart::Part::stream_with_length(body, len).file_name("big.bin");
    plik_upload(&http(), base, part).await
}

async fn plain_download(url: &str, to: &Path) {
    let mut stream = http().get(url).send().await.unwrap().bytes_stream();
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::create(to).await.unwrap());
    while let Some(chunk) = stream.next().await {
        out.write_all(&chunk.unwrap()).await.unwrap();
    }
    out.flush().await.unwrap();
}
