//! The default downloader: HTTP GET with exponential backoff (the seed's `fetch_with_backoff`).

use futures::future::BoxFuture;
use futures::TryStreamExt;
use reqwest::StatusCode;

use super::{http, ByteStream, DownloadRequest, Downloader, RetryPolicy};
use crate::error::{Error, ErrorKind, Result};

/// Retries connection errors, timeouts, 5xx and 429 up to `max_retries` attempts in all;
/// 404 is `PayloadNotFound` at once, other 4xx `DownloadFailed` at once.
#[derive(Debug, Clone, Default)]
pub struct HttpFetcher;

impl Downloader for HttpFetcher {
    fn download<'a>(&'a self, req: &'a DownloadRequest) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(fetch(req))
    }
}

/// The seed's `fetch_with_backoff(url, max_retries, base_delay, max_delay)`: the whole body of an
/// http(s) URL, at most `max_bytes` of it. For handlers that wrap the default downloader.
pub async fn fetch_with_backoff(url: &str, retry: RetryPolicy, max_bytes: u64) -> Result<bytes::Bytes> {
    super::check_origin(url, None)?;
    let request = DownloadRequest { url: url.to_owned(), size: 0, retry };
    let mut stream = fetch(&request).await?;
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        buf.extend_from_slice(&chunk?);
        if buf.len() as u64 > max_bytes {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!("{url} is larger than the cap of {max_bytes} bytes"),
            ));
        }
    }
    Ok(buf.freeze())
}

/// Fetches `req.url`, returning the body as a stream once a 2xx answer has arrived.
async fn fetch(req: &DownloadRequest) -> Result<ByteStream> {
    let attempts = req.retry.max_retries.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(req.retry.delay(attempt - 1)).await;
        }
        match http::client().get(&req.url).send().await {
            Ok(resp) if resp.status().is_success() => {
                let url = req.url.clone();
                let stream = resp.bytes_stream().map_err(move |e| {
                    Error::new(ErrorKind::DownloadFailed, format!("download of {url} broke off: {e}"))
                });
                return Ok(Box::pin(stream));
            }
            Ok(resp) => {
                let status = resp.status();
                if status == StatusCode::NOT_FOUND {
                    return Err(Error::new(
                        ErrorKind::PayloadNotFound,
                        format!("the store has no payload at {} (404); it may have expired or been fetched already (one-shot)", req.url),
                    ));
                }
                last = format!("HTTP {status}");
                if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                    return Err(Error::new(ErrorKind::DownloadFailed, format!("fetching {} failed: {last}", req.url)));
                }
            }
            Err(e) => last = e.to_string(),
        }
        tracing::debug!(url = %req.url, attempt, error = %last, "download attempt failed");
    }
    Err(Error::new(ErrorKind::DownloadFailed, format!("fetching {} failed after {attempts} attempts: {last}", req.url)))
}
