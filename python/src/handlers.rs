//! Python callables as the engine's claim-check store: the engine's `Uploader`/`Downloader`
//! calls become requests queued to the host (see `host.rs`), answered there.

use std::sync::Arc;

use futures::future::BoxFuture;
use natsbridge::store::{ByteStream, DownloadRequest, Downloader, UploadBody, Uploader};
use natsbridge::Result;
use pyo3::prelude::*;

use crate::host::{call_handler, Answer, Request, Slot};

/// `fileserver_upload_handler(fileserver_url, dataname, data) -> {"url": ...} | str`.
pub(crate) struct PyUploader {
    pub(crate) handler: Arc<Py<PyAny>>,
    pub(crate) slot: Slot,
}

impl Uploader for PyUploader {
    fn upload<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let bytes = body.into_bytes().await?;
            let request =
                Request::Upload { fileserver_url: fileserver_url.to_owned(), dataname: dataname.to_owned(), bytes };
            match call_handler(&self.handler, &self.slot, request).await? {
                Answer::Url(url) => Ok(url),
                Answer::Bytes(_) => unreachable!("an upload is answered with a URL"),
            }
        })
    }
}

/// `fileserver_download_handler(url, max_retries, base_delay, max_delay) -> bytes`.
pub(crate) struct PyDownloader {
    pub(crate) handler: Arc<Py<PyAny>>,
    pub(crate) slot: Slot,
}

impl Downloader for PyDownloader {
    fn download<'a>(&'a self, req: &'a DownloadRequest) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(async move {
            let request = Request::Download {
                url: req.url.clone(),
                max_retries: req.retry.max_retries,
                base_delay_ms: req.retry.base_delay.as_millis() as u64,
                max_delay_ms: req.retry.max_delay.as_millis() as u64,
            };
            match call_handler(&self.handler, &self.slot, request).await? {
                Answer::Bytes(bytes) => {
                    let stream: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes) }));
                    Ok(stream)
                }
                Answer::Url(_) => unreachable!("a download is answered with bytes"),
            }
        })
    }
}
