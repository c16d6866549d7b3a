//! The seed's module-level functions: `smartsend`, `smartreceive`, `plikOneshotUpload`,
//! `fetchWithBackoff`. The JS layer (`lib/`) converts the seed's values and calls these.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use natsbridge::store::{RetryPolicy, UploadBody};

use crate::error::{argument, guard};
use crate::options::{receive_config, ReceiveOptions, SendOptions};
use crate::receive::EnvelopeOut;
use crate::send::{payloads, sent_out, PayloadsIn, SentOut};

/// Sends `data` (an array of `[dataname, value, type]`) to `subject`: small payloads travel
/// base64 inside the envelope, large ones through the claim-check store, always so that the
/// envelope fits the server's `max_payload`. Resolves to the seed's `[env, env_json_str]`.
#[napi(
    ts_args_type = "subject: string, data: readonly PayloadItem[], options?: SendOptions",
    ts_return_type = "Promise<[SentEnvelope, string]>"
)]
pub async fn smartsend(
    subject: String,
    data: PayloadsIn,
    options: Option<SendOptions>,
    want_bytes: Option<bool>,
) -> Result<SentOut> {
    guard(async move {
        let opts = match options {
            Some(o) => o.into_engine(None)?,
            None => Default::default(),
        };
        let sent = natsbridge::smartsend(&subject, payloads(data)?, &opts).await?;
        sent_out(sent, want_bytes.unwrap_or(false))
    })
    .await
}

/// Decodes a message (a nats.js message, anything with a `data` Uint8Array, the bytes or the
/// JSON text of an envelope) into the seed's envelope object whose `payloads` is an array of
/// `[dataname, value, type]`, fetching link payloads.
#[napi(
    ts_args_type = "msg: NatsMsgLike | Uint8Array | ArrayBuffer | string | ReceivedEnvelope, options?: ReceiveOptions",
    ts_return_type = "Promise<ReceivedEnvelope>"
)]
pub async fn smartreceive(msg: Buffer, options: Option<ReceiveOptions>) -> Result<EnvelopeOut> {
    guard(async move {
        let config = receive_config(options)?;
        config.decode(&msg).await
    })
    .await
}

/// What `plikOneshotUpload` resolves to, as the seed's handler returns it.
#[napi(object, object_from_js = false)]
pub struct PlikUploadResult {
    /// HTTP status of the file upload (200).
    pub status: u32,
    pub uploadid: String,
    pub fileid: String,
    /// Where the bytes can be fetched: `{fileserver_url}/file/{uploadid}/{fileid}/{name}`.
    pub url: String,
}

/// The seed's default upload handler: a one-shot upload to a Plik-compatible server (such as
/// `natsbridge serve-files`).
#[napi(
    ts_args_type = "fileserver_url: string, dataname: string, data: Uint8Array | ArrayBuffer | string",
    ts_return_type = "Promise<PlikUploadResult>"
)]
pub async fn plik_oneshot_upload(fileserver_url: String, dataname: String, data: Buffer) -> Result<PlikUploadResult> {
    guard(async move {
        let body = UploadBody::Bytes(bytes::Bytes::from_owner(data));
        let up = natsbridge::store::plik_oneshot_upload(&fileserver_url, &dataname, body).await?;
        Ok(PlikUploadResult { status: up.status.into(), uploadid: up.uploadid, fileid: up.fileid, url: up.url })
    })
    .await
}

/// The seed's default download handler: GET with exponential backoff and jitter (retries
/// connection errors, timeouts, 5xx and 429; 404 fails at once with `PayloadNotFound`).
/// Delays are in milliseconds.
#[napi(
    ts_args_type = "url: string, max_retries?: number, base_delay?: number, max_delay?: number, correlation_id?: string",
    ts_return_type = "Promise<Buffer>"
)]
pub async fn fetch_with_backoff(
    url: String,
    max_retries: Option<u32>,
    base_delay: Option<f64>,
    max_delay: Option<f64>,
    correlation_id: Option<String>,
) -> Result<Buffer> {
    let _ = correlation_id; // accepted for the seed's signature; only used in log lines there
    guard(async move {
        let mut retry = RetryPolicy::default();
        if let Some(n) = max_retries {
            retry.max_retries = n;
        }
        let ms = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(std::time::Duration::from_secs_f64(v / 1000.0))
            } else {
                Err(argument(format!("{name} must be a non-negative number of milliseconds")))
            }
        };
        if let Some(d) = base_delay {
            retry.base_delay = ms("base_delay", d)?;
        }
        if let Some(d) = max_delay {
            retry.max_delay = ms("max_delay", d)?;
        }
        let bytes =
            natsbridge::store::fetch_with_backoff(&url, retry, natsbridge::ReceiveOptions::default().max_in_memory)
                .await?;
        Ok(Buffer::from(bytes.to_vec()))
    })
    .await
}
