//! Decoding an envelope: parse, then turn every payload back into its native value, fetching
//! link payloads (concurrently) through the configured downloader.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::b64;
use crate::codec;
use crate::envelope::{Envelope, ReceivedPayload, Transport, WireData, WireEnvelope, WirePayload};
use crate::error::{Error, Result};
use crate::options::ReceiveOptions;
use crate::payload::{PayloadType, Value};
use crate::store::{self, DownloadRequest};
use crate::table::Table;

/// Decodes message bytes into an envelope whose payloads are native values, in the sender's order.
pub async fn smartreceive(message: &[u8], opts: &ReceiveOptions) -> Result<Envelope> {
    let wire = WireEnvelope::parse(message)?;
    let header = wire.header;
    let payloads = match wire.payloads.iter().all(|p| p.transport == "direct") {
        // Nothing to wait for: no futures to box and join (a visible share of a small message).
        true => wire.payloads.into_iter().map(decode_inline).collect::<Result<_>>()?,
        // Boxed: the downloads' code and state stay out of the direct case's.
        false => {
            Box::pin(futures::future::try_join_all(wire.payloads.into_iter().map(|p| decode_payload(p, opts)))).await?
        }
    };
    Ok(Envelope { header, payloads })
}

fn decode_inline(p: WirePayload<'_>) -> Result<ReceivedPayload> {
    let payload_type: PayloadType = p.payload_type.parse()?;
    let value = decode_direct(&p, payload_type)?;
    Ok(received(p, payload_type, Transport::Direct, value))
}

async fn decode_payload(p: WirePayload<'_>, opts: &ReceiveOptions) -> Result<ReceivedPayload> {
    let payload_type: PayloadType = p.payload_type.parse()?;
    if p.transport()? == Transport::Direct {
        return decode_inline(p);
    }
    let value = fetch_link(&p, payload_type, opts).await?;
    Ok(received(p, payload_type, Transport::Link, value))
}

fn received(p: WirePayload<'_>, payload_type: PayloadType, transport: Transport, value: Value) -> ReceivedPayload {
    ReceivedPayload {
        id: p.id,
        dataname: p.dataname,
        payload_type,
        transport,
        size: p.size,
        metadata: p.metadata,
        value,
    }
}

fn decode_direct(p: &WirePayload<'_>, payload_type: PayloadType) -> Result<Value> {
    let encoding = p.encoding.as_deref().unwrap_or("base64");
    match (encoding, p.data_bytes()) {
        ("base64" | "arrow-ipc", Some(s)) => {
            let bytes =
                b64::decode(s).map_err(|e| Error::encoding(format!("payload {:?}: {}", p.dataname, e.message())))?;
            check_size(p, bytes.len() as u64)?;
            codec::deserialize(payload_type, Bytes::from(bytes))
        }
        ("json", _) => decode_json(p, payload_type),
        ("base64" | "arrow-ipc", None) => {
            Err(Error::invalid(format!("payload {:?}: data must be a string for encoding {encoding:?}", p.dataname)))
        }
        (other, _) => Err(Error::encoding(format!(
            "payload {:?}: unknown encoding {other:?} for direct transport; expected base64, json or arrow-ipc",
            p.dataname
        ))),
    }
}

/// `encoding: "json"`, written by some implementations: the value as JSON text, or as JSON itself.
fn decode_json(p: &WirePayload<'_>, payload_type: PayloadType) -> Result<Value> {
    let parse = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .map_err(|e| Error::encoding(format!("payload {:?}: data is not valid JSON: {e}", p.dataname)))
    };
    let text = p.data_text()?;
    if let Some(s) = text {
        check_size(p, s.len() as u64)?;
    }
    match (payload_type, text, &p.data) {
        (PayloadType::Text, Some(s), _) => Ok(Value::Text(s.to_owned())),
        (PayloadType::Dictionary, Some(s), _) => Ok(Value::Dictionary(parse(s)?)),
        (PayloadType::Dictionary, None, WireData::Json(v)) => Ok(Value::Dictionary(v.clone())),
        (PayloadType::Table, Some(s), _) => Ok(Value::Table(Table::from_json_rows(&parse(s)?)?)),
        (PayloadType::Table, None, WireData::Json(v)) => Ok(Value::Table(Table::from_json_rows(v)?)),
        (t, _, _) => Err(Error::encoding(format!("payload {:?}: encoding \"json\" does not apply to {t}", p.dataname))),
    }
}

fn check_size(p: &WirePayload<'_>, actual: u64) -> Result<()> {
    if actual != p.size {
        return Err(Error::new(
            crate::ErrorKind::SizeMismatch,
            format!("payload {:?} decodes to {actual} bytes, the envelope says {}", p.dataname, p.size),
        ));
    }
    Ok(())
}

async fn fetch_link(p: &WirePayload<'_>, payload_type: PayloadType, opts: &ReceiveOptions) -> Result<Value> {
    let Some(url) = p.data_text()? else {
        return Err(Error::invalid(format!("link payload {:?}: data must be a URL string", p.dataname)));
    };
    store::check_origin(url, opts.allowed_origins.as_deref())?;
    let request = DownloadRequest { url: url.to_string(), size: p.size, retry: opts.retry };
    let sha256 = p.sha256.as_deref();
    if let Some(dir) = &opts.save_dir {
        let path = save_path(dir, p)?;
        let stream = opts.downloader.download(&request).await?;
        store::save_to_file(stream, url, p.size, sha256, &path).await?;
        return Ok(Value::File { payload_type, path });
    }
    if p.size > opts.max_in_memory {
        // Refuse before connecting at all.
        return Err(Error::new(
            crate::ErrorKind::PayloadTooLarge,
            format!(
                "link payload {:?} of {} bytes exceeds the in-memory cap of {} bytes; raise max_in_memory or set save_dir",
                p.dataname, p.size, opts.max_in_memory
            ),
        ));
    }
    let stream = opts.downloader.download(&request).await?;
    let bytes = store::collect(stream, url, p.size, sha256, Some(opts.max_in_memory)).await?;
    codec::deserialize(payload_type, bytes)
}

/// `DIR/<payload id or dataname>`: a name the sender chose cannot escape the directory.
fn save_path(dir: &Path, p: &WirePayload<'_>) -> Result<PathBuf> {
    let base: String = if p.id.is_empty() { &p.dataname } else { &p.id }
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') { c } else { '_' })
        .collect();
    let name: String = p
        .dataname
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .take(80)
        .collect();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(&format!("cannot create {}", dir.display()), e))?;
    Ok(dir.join(format!("{base}-{}", name.trim_start_matches('.'))))
}
