//! `GET` / `HEAD /file/{uploadId}/{fileId}/{fileName}`: streams a stored file from disk and, for
//! one-shot uploads, deletes it once the whole body has been handed to the connection.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
use bytes::Bytes;
use futures::Stream;
use tokio::fs::File;
use tokio_util::io::ReaderStream;

use crate::error::{ApiError, ApiResult};
use crate::layout::{validate_segment, Layout, METADATA_FILE};
use crate::AppState;

/// Read size per chunk: few blocking reads per GiB while a download holds little memory.
const READ_CHUNK: usize = 256 * 1024;

type FilePath = Path<(String, String, String)>;

/// Streams the file with its exact length.
pub async fn get_file(
    State(state): State<Arc<AppState>>,
    path: Result<FilePath, PathRejection>,
) -> ApiResult<Response> {
    let (upload_id, file_id, file_name) = segments(path)?;
    let file_path = state.layout.file_path(&upload_id, &file_id, &file_name);
    let (file, len) = open_regular(&file_path).await?;

    let cleanup = if state.config.delete_one_shot && is_one_shot(&state.layout, &upload_id).await {
        Some(OneShotCleanup { layout: state.layout.clone(), upload_id, file_id, file_path })
    } else {
        None
    };
    let stream = CompletionStream { inner: ReaderStream::with_capacity(file, READ_CHUNK), remaining: len, cleanup };
    Ok(file_response(len, Body::from_stream(stream)))
}

/// Same headers as `GET`, no body, and never counts as a download.
pub async fn head_file(
    State(state): State<Arc<AppState>>,
    path: Result<FilePath, PathRejection>,
) -> ApiResult<Response> {
    let (upload_id, file_id, file_name) = segments(path)?;
    let file_path = state.layout.file_path(&upload_id, &file_id, &file_name);
    let (_, len) = open_regular(&file_path).await?;
    Ok(file_response(len, Body::empty()))
}

fn segments(path: Result<FilePath, PathRejection>) -> ApiResult<(String, String, String)> {
    let Path((upload_id, file_id, file_name)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    validate_segment("upload id", &upload_id)?;
    validate_segment("file id", &file_id)?;
    validate_segment("file name", &file_name)?;
    Ok((upload_id, file_id, file_name))
}

/// Opens the file and returns its length; anything that is not a regular file is 404.
async fn open_regular(path: &std::path::Path) -> ApiResult<(File, u64)> {
    let not_found = || ApiError::not_found("file not found");
    let file = match File::open(path).await {
        Ok(file) => file,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => return Err(not_found()),
        Err(e) => return Err(ApiError::io("cannot open file", e)),
    };
    let meta = file.metadata().await.map_err(|e| ApiError::io("cannot open file", e))?;
    if !meta.is_file() {
        return Err(not_found());
    }
    Ok((file, meta.len()))
}

/// Files of hand-made trees have no metadata and are never one-shot; unreadable metadata is
/// treated the same way, since keeping a file is the safe mistake.
async fn is_one_shot(layout: &Layout, upload_id: &str) -> bool {
    match layout.read_meta(upload_id).await {
        Ok(meta) => meta.is_some_and(|m| m.one_shot),
        Err(e) => {
            tracing::warn!(%upload_id, error = %e, "unreadable upload metadata");
            false
        }
    }
}

fn file_response(len: u64, body: Body) -> Response {
    Response::builder()
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_LENGTH, len)
        .header(CACHE_CONTROL, "no-store")
        .body(body)
        .expect("static headers are valid")
}

/// Wraps the file stream to notice a complete transfer. Completion is either reaching EOF or
/// being dropped after every byte was yielded: with a known Content-Length, hyper may stop
/// polling once it has the last byte, so EOF alone would miss it. A drop with bytes left (client
/// gone midway) or after a read error deletes nothing.
struct CompletionStream {
    inner: ReaderStream<File>,
    remaining: u64,
    cleanup: Option<OneShotCleanup>,
}

impl Stream for CompletionStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = std::task::ready!(Pin::new(&mut self.inner).poll_next(cx));
        match &item {
            Some(Ok(chunk)) => {
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
            }
            Some(Err(_)) => self.cleanup = None,
            None => self.complete(),
        }
        Poll::Ready(item)
    }
}

impl CompletionStream {
    fn complete(&mut self) {
        if self.remaining == 0 {
            if let Some(cleanup) = self.cleanup.take() {
                cleanup.spawn();
            }
        }
    }
}

impl Drop for CompletionStream {
    fn drop(&mut self) {
        self.complete();
    }
}

/// Deletes a one-shot file, its file dir, and the upload dir once no file is left in it.
struct OneShotCleanup {
    layout: Layout,
    upload_id: String,
    file_id: String,
    file_path: PathBuf,
}

impl OneShotCleanup {
    /// Runs off the runtime threads when a runtime is there (drop may happen anywhere).
    fn spawn(self) {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(move || self.run());
            }
            Err(_) => self.run(),
        }
    }

    fn run(self) {
        match std::fs::remove_file(&self.file_path) {
            Ok(()) => tracing::debug!(path = %self.file_path.display(), "deleted one-shot file"),
            // A concurrent complete download of the same file got there first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %self.file_path.display(), error = %e, "cannot delete one-shot file");
                return;
            }
        }
        let _ = std::fs::remove_dir(self.layout.file_dir(&self.upload_id, &self.file_id));
        let upload_dir = self.layout.upload_dir(&self.upload_id);
        if only_metadata_left(&upload_dir) {
            let _ = std::fs::remove_file(upload_dir.join(METADATA_FILE));
            // Fails harmlessly if an upload started meanwhile left a temp file there.
            let _ = std::fs::remove_dir(&upload_dir);
        }
    }
}

fn only_metadata_left(dir: &std::path::Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(Result::ok).all(|entry| entry.file_name() == METADATA_FILE),
        Err(_) => false,
    }
}
