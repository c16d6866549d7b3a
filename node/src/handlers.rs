//! JavaScript functions as claim-check handlers. The engine calls [`JsUploader`] /
//! [`JsDownloader`] on its runtime; they call the JS function on the JS thread through a
//! thread-safe function and await its (promised) answer, so the event loop is never blocked and
//! no JS runs on a tokio thread. The JS layer wraps every user handler so that it never throws
//! synchronously and always resolves to a `HandlerReply` (an error becomes `{ error }`).

use bytes::Bytes;
use futures::future::BoxFuture;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use natsbridge::store::{ByteStream, DownloadRequest, Downloader, UploadBody, Uploader};
use natsbridge::ErrorKind;

use crate::error::err;

/// What a wrapped handler resolves to.
pub struct HandlerReply {
    /// The upload's URL.
    pub url: Option<String>,
    /// The downloaded bytes.
    pub data: Option<Buffer>,
    /// Why the handler failed.
    pub error: Option<String>,
}

crate::js::from_js_object!(HandlerReply { url: "url", data: "data", error: "error" });

/// `(fileserver_url, dataname, data)`, as separate arguments.
pub type UploadArgs = FnArgs<(String, String, Buffer)>;
/// `(url, max_retries, base_delay_ms, max_delay_ms, correlation_id, size)`, as separate arguments.
pub type DownloadArgs = FnArgs<(String, u32, f64, f64, String, f64)>;

/// Weak: a handler held by a subscription never keeps the process alive on its own.
pub type UploadTsfn = ThreadsafeFunction<UploadArgs, Promise<HandlerReply>, UploadArgs, Status, false, true>;
pub type DownloadTsfn = ThreadsafeFunction<DownloadArgs, Promise<HandlerReply>, DownloadArgs, Status, false, true>;

fn handler_error(what: &str, e: impl std::fmt::Display) -> natsbridge::Error {
    err(ErrorKind::Handler, format!("the {what} handler failed: {e}"))
}

pub struct JsUploader {
    tsfn: UploadTsfn,
}

impl JsUploader {
    pub fn new(tsfn: UploadTsfn) -> Self {
        JsUploader { tsfn }
    }
}

impl Uploader for JsUploader {
    fn upload<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, natsbridge::Result<String>> {
        Box::pin(async move {
            // A copy: the bytes may live in a JS buffer already, and V8 refuses two buffers
            // over the same memory.
            let data = Buffer::from(body.into_bytes().await?.to_vec());
            let promise = self
                .tsfn
                .call_async((fileserver_url.to_owned(), dataname.to_owned(), data).into())
                .await
                .map_err(|e| handler_error("upload", e))?;
            let reply = promise.await.map_err(|e| handler_error("upload", e))?;
            if let Some(e) = reply.error {
                return Err(err(ErrorKind::Handler, format!("the upload handler failed: {e}")));
            }
            match reply.url {
                Some(url) if !url.is_empty() => Ok(url),
                _ => Err(err(ErrorKind::Handler, "the upload handler returned no URL (a string or { url })")),
            }
        })
    }
}

pub struct JsDownloader {
    tsfn: std::sync::Arc<DownloadTsfn>,
    correlation_id: String,
}

impl JsDownloader {
    pub fn new(tsfn: std::sync::Arc<DownloadTsfn>, correlation_id: String) -> Self {
        JsDownloader { tsfn, correlation_id }
    }
}

impl Downloader for JsDownloader {
    fn download<'a>(&'a self, req: &'a DownloadRequest) -> BoxFuture<'a, natsbridge::Result<ByteStream>> {
        Box::pin(async move {
            let args = (
                req.url.clone(),
                req.retry.max_retries,
                req.retry.base_delay.as_secs_f64() * 1000.0,
                req.retry.max_delay.as_secs_f64() * 1000.0,
                self.correlation_id.clone(),
                req.size as f64,
            );
            let promise = self.tsfn.call_async(args.into()).await.map_err(|e| handler_error("download", e))?;
            let reply = promise.await.map_err(|e| handler_error("download", e))?;
            if let Some(e) = reply.error {
                return Err(err(ErrorKind::Handler, format!("the download handler failed: {e}")));
            }
            let data = reply.data.ok_or_else(|| {
                err(ErrorKind::Handler, "the download handler returned no bytes (a Uint8Array, Buffer or ArrayBuffer)")
            })?;
            let bytes = Bytes::from_owner(data);
            let stream: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes) }));
            Ok(stream)
        })
    }
}
