//! `POST /upload` (create an upload) and `POST /file/{uploadId}` (stream one file into it).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::rejection::PathRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::error::{ApiError, ApiResult};
use crate::layout::{sanitize_file_name, validate_segment, UploadMeta};
use crate::AppState;

/// Header carrying the token returned by `POST /upload`.
pub const TOKEN_HEADER: &str = "X-UploadToken";

/// Slack for multipart boundaries and part headers when judging `Content-Length` against the
/// file-size limit, so that a file of exactly the limit is still accepted.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// Write buffer: large enough that a 1 GiB upload costs about a thousand blocking writes rather
/// than one per network chunk, small enough to keep memory flat under many parallel uploads.
const WRITE_BUFFER: usize = 1024 * 1024;

/// Body of `POST /upload`. Plik spells the flag `OneShot` in the original design and `oneShot`
/// in newer versions; both are accepted, other fields are ignored.
#[derive(Debug, Default, Deserialize)]
struct CreateUploadRequest {
    #[serde(rename = "OneShot", alias = "oneShot", default)]
    one_shot: bool,
}

/// Creates an upload with a fresh id and token; the body is optional.
pub async fn create_upload(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: CreateUploadRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CreateUploadRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid upload request: {e}")))?
    };
    let id = new_id();
    let meta = UploadMeta { upload_token: new_id(), one_shot: request.one_shot };
    tokio::fs::create_dir_all(state.layout.upload_dir(&id))
        .await
        .map_err(|e| ApiError::io("cannot create upload", e))?;
    state.layout.write_meta(&id, &meta).await.map_err(|e| ApiError::io("cannot create upload", e))?;
    Ok(Json(json!({
        "id": id,
        "uploadToken": meta.upload_token,
        "oneShot": meta.one_shot,
    })))
}

/// Streams the multipart field `file` to a temp file in the upload dir, then renames it to
/// `{fileId}/{fileName}`. Only the first `file` field is stored; other fields are read and
/// discarded without buffering.
pub async fn upload_file(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    let Path(upload_id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    validate_segment("upload id", &upload_id)?;
    let meta = state
        .layout
        .read_meta(&upload_id)
        .await
        .map_err(|e| ApiError::io("cannot read upload metadata", e))?
        .ok_or_else(|| ApiError::not_found("upload not found"))?;
    check_token(&headers, &meta.upload_token)?;
    let limit = state.config.max_upload_bytes;
    if let (Some(limit), Some(announced)) = (limit, content_length(&headers)) {
        if announced > limit.saturating_add(MULTIPART_OVERHEAD) {
            return Err(ApiError::too_large(limit));
        }
    }
    let mut multipart = multipart.map_err(|e| ApiError::new(e.status(), e.body_text()))?;

    let mut stored: Option<(String, TempFile, u64)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if stored.is_none() && field.name() == Some("file") {
            let name = sanitize_file_name(field.file_name());
            let temp = TempFile::new(state.layout.temp_path(&upload_id));
            let size = write_field(&mut field, temp.path(), limit).await?;
            stored = Some((name, temp, size));
        } else {
            while field.chunk().await.map_err(multipart_error)?.is_some() {}
        }
    }
    let (name, temp, size) = stored.ok_or_else(|| ApiError::bad_request("missing multipart field `file`"))?;

    let file_id = new_id();
    let file_dir = state.layout.file_dir(&upload_id, &file_id);
    tokio::fs::create_dir(&file_dir).await.map_err(|e| ApiError::io("cannot store file", e))?;
    let target = state.layout.file_path(&upload_id, &file_id, &name);
    if let Err(e) = tokio::fs::rename(temp.path(), &target).await {
        let _ = tokio::fs::remove_dir(&file_dir).await;
        return Err(ApiError::io("cannot store file", e));
    }
    temp.persisted();
    tracing::debug!(%upload_id, %file_id, %name, size, "stored file");
    Ok(Json(json!({ "id": file_id, "fileName": name, "fileSize": size })))
}

/// Copies one field to `path`, failing with 413 as soon as more than `limit` bytes arrived.
async fn write_field(field: &mut Field<'_>, path: &std::path::Path, limit: Option<u64>) -> ApiResult<u64> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(|e| ApiError::io("cannot create file", e))?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut size: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len() as u64;
        if let Some(limit) = limit.filter(|&limit| size > limit) {
            return Err(ApiError::too_large(limit));
        }
        out.write_all(&chunk).await.map_err(|e| ApiError::io("cannot write file", e))?;
    }
    // Flushing also waits for tokio's in-flight background write, so the rename sees every byte.
    out.flush().await.map_err(|e| ApiError::io("cannot write file", e))?;
    Ok(size)
}

/// A temp file removed on drop unless persisted: covers errors, 413 and clients that vanish
/// mid-upload (the handler future is dropped) alike.
struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    fn new(path: PathBuf) -> Self {
        TempFile { path: Some(path) }
    }

    fn path(&self) -> &std::path::Path {
        self.path.as_deref().expect("path is present until persisted")
    }

    fn persisted(mut self) {
        self.path = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // A single unlink; cheap enough to run inline even on a runtime thread.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// 401 when the token is missing, 403 when it is wrong.
fn check_token(headers: &HeaderMap, expected: &str) -> ApiResult<()> {
    let given =
        headers.get(TOKEN_HEADER).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "missing upload token"))?;
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "invalid upload token"))
    }
}

/// Compares without an early exit, so response timing does not reveal a token prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::new(e.status(), e.body_text())
}

/// Ids and tokens: 128 random bits as 32 hex digits, safe in a URL path segment.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
