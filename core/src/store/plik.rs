//! The default uploader: the Plik subset the original design uses (`plik_oneshot_upload`).

use futures::future::BoxFuture;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::{digest, http, ByteStream, Stored, UploadBody, Uploader};
use crate::error::{Error, ErrorKind, Result};

/// What `plik_oneshot_upload` returns, as the seed's handler does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlikUpload {
    pub status: u16,
    pub uploadid: String,
    pub fileid: String,
    pub url: String,
}

/// Uploads to any Plik-compatible server, including `natsbridge serve-files`.
#[derive(Debug, Clone, Default)]
pub struct PlikUploader;

impl Uploader for PlikUploader {
    fn upload<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move { Ok(plik_oneshot_upload(fileserver_url, dataname, body).await?.url) })
    }

    /// Hashes the chunks as they are sent: a file is read once.
    fn upload_hashed<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, Result<Stored>> {
        Box::pin(async move {
            let len = body.len();
            let sha256 = digest::start();
            let chunks = sha256.tee(body.into_stream()?);
            let url = oneshot(fileserver_url, dataname, len, chunks).await?.url;
            Ok(Stored { url, sha256: sha256.finish().await? })
        })
    }
}

#[derive(Deserialize)]
struct UploadCreated {
    id: String,
    #[serde(rename = "uploadToken")]
    upload_token: String,
}

#[derive(Deserialize)]
struct FileCreated {
    id: String,
    #[serde(rename = "fileName")]
    file_name: String,
}

/// Creates a one-shot upload, sends the bytes as multipart field `file`, and returns the URL
/// `{fileserver_url}/file/{uploadId}/{fileId}/{fileName}`.
pub async fn plik_oneshot_upload(fileserver_url: &str, dataname: &str, body: UploadBody) -> Result<PlikUpload> {
    let len = body.len();
    oneshot(fileserver_url, dataname, len, body.into_stream()?).await
}

async fn oneshot(fileserver_url: &str, dataname: &str, len: u64, chunks: ByteStream) -> Result<PlikUpload> {
    let base = fileserver_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::argument(format!("fileserver_url {fileserver_url:?} must be an http:// or https:// URL")));
    }
    let client = http::client();
    let unreachable = |e: reqwest::Error| {
        Error::new(
            ErrorKind::UploadFailed,
            format!("cannot reach the file server at {base}: {e}; start one with `natsbridge serve-files` or set fileserver_url"),
        )
    };
    let resp = client
        .post(format!("{base}/upload"))
        .json(&serde_json::json!({"OneShot": true}))
        .send()
        .await
        .map_err(unreachable)?;
    let created: UploadCreated = json_or_error(resp, "creating an upload").await?;

    let part = Part::stream_with_length(reqwest::Body::wrap_stream(chunks), len)
        .file_name(file_name_for(dataname))
        .mime_str("application/octet-stream")
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    let resp = client
        .post(format!("{base}/file/{}", created.id))
        .header("X-UploadToken", &created.upload_token)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status().as_u16();
    let file: FileCreated = json_or_error(resp, "uploading the file").await?;
    let url = format!("{base}/file/{}/{}/{}", created.id, file.id, encode_segment(&file.file_name));
    Ok(PlikUpload { status, uploadid: created.id, fileid: file.id, url })
}

async fn json_or_error<T: for<'de> Deserialize<'de>>(resp: reqwest::Response, step: &str) -> Result<T> {
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::new(ErrorKind::UploadFailed, format!("{step}: reading the answer failed: {e}")))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(Error::new(ErrorKind::UploadFailed, format!("{step}: the file server answered {status}: {text}")));
    }
    serde_json::from_slice(&body).map_err(|e| {
        Error::new(ErrorKind::UploadFailed, format!("{step}: the file server's answer is not Plik JSON: {e}"))
    })
}

/// A file name the store accepts and a URL carries unescaped.
fn file_name_for(dataname: &str) -> String {
    let clean: String = dataname
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let clean = clean.trim_start_matches('.');
    if clean.is_empty() {
        "payload".to_owned()
    } else {
        clean.chars().take(100).collect()
    }
}

/// Percent-encodes a path segment; names from other stores may need it.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name_for("big file/../x.bin"), "big_file_.._x.bin");
        assert_eq!(file_name_for("..."), "payload");
        assert_eq!(file_name_for("日本"), "__");
        assert_eq!(encode_segment("a b"), "a%20b");
    }
}
