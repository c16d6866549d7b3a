//! Building an envelope: serialize each payload, choose its transport so that the envelope fits
//! the server's `max_payload`, upload the link ones, and write the JSON.

use crate::b64;
use crate::codec;
use crate::envelope::{new_id, timestamp_now, Header, SentData, SentEnvelope, SentPayload};
use crate::error::{Error, ErrorKind, Result};
use crate::options::SendOptions;
use crate::payload::{Payload, PayloadType, Value};
use crate::store::{Stored, UploadBody};

/// An envelope ready to publish: the envelope and its JSON text (the seed's `(env, env_json_str)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub envelope: SentEnvelope,
    pub json: String,
}

/// A payload serialized, before its transport is final.
#[derive(Clone)]
struct Prepared {
    id: String,
    dataname: String,
    payload_type: PayloadType,
    body: UploadBody,
    link: Option<Stored>,
    to_link: bool,
}

/// Room kept for a URL not yet known: the store's base URL plus ids and a file name.
const URL_ALLOWANCE: usize = 256;

/// Builds the envelope with `header`, uploading what must go by link, within `max_payload` bytes.
pub(crate) async fn build(
    mut header: Header,
    payloads: Vec<Payload>,
    opts: &SendOptions,
    max_payload: usize,
) -> Result<Sent> {
    let mut prepared = match payloads.iter().any(|p| matches!(p.value, Value::File { .. })) {
        false => payloads.into_iter().map(|p| prepare(p, None, opts.size_threshold)).collect::<Result<Vec<_>>>()?,
        true => Box::pin(prepare_with_files(payloads, opts.size_threshold)).await?,
    };
    if prepared.iter().all(|p| !p.to_link && matches!(p.body, UploadBody::Bytes(_))) {
        // The common case: everything direct. Write it and check; measure and move only if it
        // does not fit (measuring costs a serialization, a visible share of a small request).
        let sent = finish(header, prepared)?;
        if sent.json.len() <= max_payload {
            return Ok(sent);
        }
        header = sent.envelope.header;
        prepared = sent.envelope.payloads.into_iter().map(Prepared::direct).collect();
    }
    // Boxed, as the file and upload steps are: their code and state stay out of the common
    // case's, which a small message pays for in cache misses.
    Box::pin(build_by_link(header, prepared, opts, max_payload)).await
}

/// `build` once some payload goes by link or comes from a file.
async fn build_by_link(
    header: Header,
    mut prepared: Vec<Prepared>,
    opts: &SendOptions,
    max_payload: usize,
) -> Result<Sent> {
    let fixed = fixed_len(&header, &prepared);
    loop {
        let total = |prepared: &[Prepared]| fixed + prepared.iter().map(|p| data_len(p, opts)).sum::<usize>();
        while total(&prepared) > max_payload {
            move_largest_to_link(&mut prepared).ok_or_else(|| too_large(total(&prepared), max_payload))?;
        }
        upload_pending(&mut prepared, opts).await?;
        read_direct_files(&mut prepared).await?;
        let sent = finish(header.clone(), prepared.iter().cloned())?;
        if sent.json.len() <= max_payload {
            return Ok(sent);
        }
        // The estimate was short (a long URL from a custom store): move one more and retry.
        move_largest_to_link(&mut prepared).ok_or_else(|| too_large(sent.json.len(), max_payload))?;
    }
}

/// Moves the largest payload still going direct to link; `None` when there is none.
fn move_largest_to_link(prepared: &mut [Prepared]) -> Option<()> {
    let largest = prepared.iter_mut().filter(|p| !p.to_link).max_by_key(|p| p.body.len())?;
    largest.to_link = true;
    Some(())
}

fn too_large(total: usize, max_payload: usize) -> Error {
    Error::new(
        ErrorKind::EnvelopeTooLarge,
        format!("the envelope needs {total} bytes but the server accepts at most {max_payload}; every payload already goes by link, so shorten the metadata or the names, or raise the server's max_payload"),
    )
}

/// The header `opts` describe for a message to `subject`, with fresh ids where `opts` has none.
pub(crate) fn header(subject: &str, opts: &SendOptions) -> Header {
    let uuid = new_id;
    Header {
        correlation_id: opts.correlation_id.clone().unwrap_or_else(uuid),
        msg_id: opts.msg_id.clone().unwrap_or_else(uuid),
        timestamp: timestamp_now(),
        send_to: subject.to_owned(),
        msg_purpose: opts.msg_purpose.clone(),
        sender_name: opts.sender_name.clone(),
        sender_id: opts.sender_id.clone().unwrap_or_else(uuid),
        receiver_name: opts.receiver_name.clone(),
        receiver_id: opts.receiver_id.clone(),
        reply_to: opts.reply_to.clone(),
        reply_to_msg_id: opts.reply_to_msg_id.clone(),
        broker_url: opts.broker_url.clone(),
        metadata: opts.metadata.clone(),
    }
}

/// `prepare` for each payload, with the length of each file payload read from the file system.
async fn prepare_with_files(payloads: Vec<Payload>, threshold: u64) -> Result<Vec<Prepared>> {
    let mut prepared = Vec::with_capacity(payloads.len());
    for p in payloads {
        let file_len = match &p.value {
            Value::File { path, .. } => Some(
                tokio::fs::metadata(path)
                    .await
                    .map_err(|e| Error::io(&format!("cannot read payload file {}", path.display()), e))?
                    .len(),
            ),
            _ => None,
        };
        prepared.push(prepare(p, file_len, threshold)?);
    }
    Ok(prepared)
}

/// A payload serialized (a file's is read later, by its `file_len`).
fn prepare(p: Payload, file_len: Option<u64>, threshold: u64) -> Result<Prepared> {
    let payload_type = p.value.payload_type();
    let body = match (p.value, file_len) {
        (Value::File { path, .. }, Some(len)) => UploadBody::File { path, len },
        (value, _) => UploadBody::Bytes(codec::serialize(value)?),
    };
    Ok(Prepared {
        id: new_id(),
        dataname: p.dataname,
        payload_type,
        to_link: body.len() >= threshold,
        body,
        link: None,
    })
}

/// The envelope's length without the payloads' `data` (and `sha256`) values.
fn fixed_len(header: &Header, prepared: &[Prepared]) -> usize {
    let entries: Vec<SentPayload> = prepared
        .iter()
        .map(|p| SentPayload {
            id: p.id.clone(),
            dataname: p.dataname.clone(),
            payload_type: p.payload_type,
            size: p.body.len(),
            sha256: None,
            data: SentData::Link(String::new()),
        })
        .collect();
    SentEnvelope { header: header.clone(), payloads: entries }.to_json().len()
}

/// The bytes a payload adds to the envelope beyond its fixed fields.
fn data_len(p: &Prepared, opts: &SendOptions) -> usize {
    const DIGEST_FIELD: usize = r#","sha256":""#.len() + 64;
    match (&p.link, p.to_link) {
        (Some(u), _) => u.url.len() + DIGEST_FIELD,
        (None, true) => opts.fileserver_url.len() + URL_ALLOWANCE + DIGEST_FIELD,
        // "direct"/"base64" are two bytes longer each than "link"/"none".
        (None, false) => b64::encoded_len(p.body.len() as usize) + 4,
    }
}

async fn upload_pending(prepared: &mut [Prepared], opts: &SendOptions) -> Result<()> {
    let pending = prepared.iter_mut().filter(|p| p.to_link && p.link.is_none());
    let uploads = pending.map(|p| async move {
        p.link = Some(opts.uploader.upload_hashed(&opts.fileserver_url, &p.dataname, p.body.clone()).await?);
        Ok::<_, Error>(())
    });
    futures::future::try_join_all(uploads).await?;
    Ok(())
}

impl Prepared {
    /// A direct entry back as it was prepared (when the envelope it went into was too large).
    fn direct(p: SentPayload) -> Prepared {
        let body = match p.data {
            SentData::Direct(b) => UploadBody::Bytes(b),
            SentData::Link(_) => unreachable!("only direct entries are prepared again"),
        };
        Prepared { id: p.id, dataname: p.dataname, payload_type: p.payload_type, body, link: None, to_link: false }
    }
}

fn finish(header: Header, prepared: impl IntoIterator<Item = Prepared>) -> Result<Sent> {
    let payloads = prepared
        .into_iter()
        .map(|p| {
            let size = p.body.len();
            let (data, sha256) = match (p.link, p.body) {
                (Some(u), _) => (SentData::Link(u.url), Some(u.sha256)),
                (None, UploadBody::Bytes(b)) => (SentData::Direct(b), None),
                (None, UploadBody::File { .. }) => {
                    return Err(Error::new(ErrorKind::Internal, "file body left direct unread"))
                }
            };
            Ok(SentPayload { id: p.id, dataname: p.dataname, payload_type: p.payload_type, size, sha256, data })
        })
        .collect::<Result<Vec<_>>>()?;
    let envelope = SentEnvelope { header, payloads };
    let json = envelope.to_json();
    Ok(Sent { envelope, json })
}

/// Small file payloads that stay direct are read into memory before the envelope is written.
async fn read_direct_files(prepared: &mut [Prepared]) -> Result<()> {
    for p in prepared.iter_mut().filter(|p| !p.to_link) {
        if let UploadBody::File { .. } = p.body {
            p.body = UploadBody::Bytes(p.body.clone().into_bytes().await?);
        }
    }
    Ok(())
}
