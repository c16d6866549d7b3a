//! Progress display for large uploads and downloads, on a terminal only.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use natsbridge::store::{
    ByteStream, DownloadRequest, Downloader, HttpFetcher, PlikUploader, Stored, UploadBody, Uploader,
};

/// Smaller transfers finish before a bar would be worth drawing.
const SHOW_FROM: u64 = 4 * 1024 * 1024;

fn wanted(len: u64) -> bool {
    len >= SHOW_FROM && std::io::stderr().is_terminal()
}

pub fn uploader() -> Arc<dyn Uploader> {
    Arc::new(ProgressUploader)
}

pub fn downloader() -> Arc<dyn Downloader> {
    Arc::new(ProgressDownloader)
}

struct ProgressUploader;

impl Uploader for ProgressUploader {
    fn upload<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, natsbridge::Result<String>> {
        let len = body.len();
        Box::pin(spinning(dataname, len, PlikUploader.upload(fileserver_url, dataname, body)))
    }

    fn upload_hashed<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, natsbridge::Result<Stored>> {
        let len = body.len();
        Box::pin(spinning(dataname, len, PlikUploader.upload_hashed(fileserver_url, dataname, body)))
    }
}

/// Runs an upload with a spinner on the terminal while it lasts.
async fn spinning<T>(dataname: &str, len: u64, upload: impl Future<Output = T>) -> T {
    let spinner = wanted(len).then(|| {
        let s = ProgressBar::new_spinner().with_message(format!("uploading {dataname} ({len} bytes)"));
        s.enable_steady_tick(Duration::from_millis(120));
        s
    });
    let result = upload.await;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    result
}

struct ProgressDownloader;

impl Downloader for ProgressDownloader {
    fn download<'a>(&'a self, request: &'a DownloadRequest) -> BoxFuture<'a, natsbridge::Result<ByteStream>> {
        Box::pin(async move {
            let stream = HttpFetcher.download(request).await?;
            if !wanted(request.size) {
                return Ok(stream);
            }
            let bar = ProgressBar::new(request.size).with_style(
                ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}")
                    .expect("valid template"),
            );
            let counted = stream.inspect(move |chunk| match chunk {
                Ok(c) => {
                    bar.inc(c.len() as u64);
                    if bar.position() >= bar.length().unwrap_or(0) {
                        bar.finish_and_clear();
                    }
                }
                Err(_) => bar.abandon(),
            });
            Ok(Box::pin(counted) as ByteStream)
        })
    }
}
