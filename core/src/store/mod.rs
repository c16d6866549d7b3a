//! Claim-check stores: where link payloads are uploaded and fetched from.
//!
//! The engine calls an [`Uploader`] for every payload that goes by link and a [`Downloader`] for
//! every link payload it receives. The defaults speak the Plik subset ([`PlikUploader`]) and plain
//! HTTP GET with backoff ([`HttpFetcher`]); users and bindings plug in their own.

mod chunks;
mod digest;
mod fetch;
mod http;
mod plik;
mod verify;

use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::Stream;

pub use fetch::{fetch_with_backoff, HttpFetcher};
pub use plik::{plik_oneshot_upload, PlikUpload, PlikUploader};
pub(crate) use verify::{check_origin, collect, save_to_file};

use crate::error::{Error, Result};

/// The bytes to upload: in memory, or a file that is streamed.
#[derive(Debug, Clone)]
pub enum UploadBody {
    Bytes(Bytes),
    File { path: PathBuf, len: u64 },
}

impl UploadBody {
    pub fn len(&self) -> u64 {
        match self {
            UploadBody::Bytes(b) => b.len() as u64,
            UploadBody::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole body in memory (reads a file body).
    pub async fn into_bytes(self) -> Result<Bytes> {
        match self {
            UploadBody::Bytes(b) => Ok(b),
            UploadBody::File { path, .. } => tokio::fs::read(&path)
                .await
                .map(Bytes::from)
                .map_err(|e| Error::io(&format!("cannot read {}", path.display()), e)),
        }
    }

    /// The body as a stream of chunks; a file is opened now and read on a thread of its own.
    pub fn into_stream(self) -> Result<ByteStream> {
        match self {
            UploadBody::Bytes(b) => Ok(Box::pin(futures::stream::once(async { Ok(b) }))),
            UploadBody::File { path, .. } => chunks::read_file(path),
        }
    }
}

/// Where an upload went, and the hex SHA-256 of the bytes uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub url: String,
    pub sha256: String,
}

/// Uploads a payload's serialized bytes and returns the URL they can be fetched from.
pub trait Uploader: Send + Sync {
    fn upload<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, Result<String>>;

    /// Uploads and hashes the body; the engine calls this one. The default hashes beside
    /// [`upload`](Uploader::upload), reading a file body a second time; an uploader that streams
    /// the body can hash the chunks it sends instead (as [`PlikUploader`] does).
    fn upload_hashed<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, Result<Stored>> {
        Box::pin(async move {
            let sha256 = async { digest::of_stream(body.clone().into_stream()?).await };
            let (url, sha256) = futures::try_join!(self.upload(fileserver_url, dataname, body.clone()), sha256)?;
            Ok(Stored { url, sha256 })
        })
    }
}

/// A stream of downloaded bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// What a downloader is asked to fetch, with the seed's retry settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadRequest {
    pub url: String,
    /// The payload's `size`, for handlers that want to preallocate.
    pub size: u64,
    pub retry: RetryPolicy,
}

/// Exponential backoff with jitter: the seed's `max_retries`, `base_delay`, `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_millis(5000) }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1-based): base·2^(attempt-1), capped, with ±25% jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_delay);
        let jitter = rand::random_range(0.75..=1.25);
        capped.mul_f64(jitter).min(self.max_delay)
    }
}

/// Fetches a link payload's bytes. The engine checks the origin before, and the size, digest and
/// cap of what streams back, whatever the downloader.
pub trait Downloader: Send + Sync {
    fn download<'a>(&'a self, request: &'a DownloadRequest) -> BoxFuture<'a, Result<ByteStream>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        let d1 = p.delay(1);
        assert!(d1 >= Duration::from_millis(75) && d1 <= Duration::from_millis(125));
        let d3 = p.delay(3);
        assert!(d3 >= Duration::from_millis(300) && d3 <= Duration::from_millis(500));
        assert!(p.delay(40) <= Duration::from_millis(500));
    }
}
