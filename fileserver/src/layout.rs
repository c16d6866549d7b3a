//! The on-disk layout shared with hand-made trees (golden vectors):
//! `DIR/{uploadId}/{fileId}/{fileName}` for files and `DIR/{uploadId}/.upload.json` for the
//! upload's metadata. Every path segment is validated here so that nothing outside `DIR` can be
//! named.

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Name of the per-upload metadata file; its leading dot keeps it unreachable by GET.
pub const METADATA_FILE: &str = ".upload.json";

/// Longest accepted segment, the usual file-name limit of file systems.
pub const MAX_SEGMENT_LEN: usize = 255;

/// Prefix of in-progress uploads; hidden (leading dot) so a half-written file is never served.
const TEMP_PREFIX: &str = ".tmp-";

/// Checks one URL path segment before it touches the file system: non-empty, at most
/// [`MAX_SEGMENT_LEN`] bytes, no leading dot (rules out `.`, `..` and hidden files), no
/// separators, no control characters.
pub fn validate_segment(what: &str, segment: &str) -> Result<(), ApiError> {
    let bad = segment.is_empty()
        || segment.len() > MAX_SEGMENT_LEN
        || segment.starts_with('.')
        || segment.chars().any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        Err(ApiError::bad_request(format!("invalid {what}")))
    } else {
        Ok(())
    }
}

/// Turns a client-supplied file name into one that is a valid segment and travels in a URL
/// without escaping: the last path component, restricted to `[A-Za-z0-9._-]` (others become
/// `_`), without leading dots, at most [`MAX_SEGMENT_LEN`] bytes; `"file"` when nothing is left.
pub fn sanitize_file_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    let mut name = cleaned.trim_start_matches('.').to_string();
    // Only ASCII is left, so truncating at a byte index is safe.
    name.truncate(MAX_SEGMENT_LEN);
    if name.is_empty() {
        "file".to_string()
    } else {
        name
    }
}

/// Metadata of one upload, stored as `.upload.json` in its directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UploadMeta {
    pub upload_token: String,
    #[serde(default)]
    pub one_shot: bool,
}

/// Maps validated ids to paths under the storage root. Callers validate segments first.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: PathBuf) -> Self {
        Layout { root }
    }

    pub fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.root.join(upload_id)
    }

    pub fn metadata_path(&self, upload_id: &str) -> PathBuf {
        self.upload_dir(upload_id).join(METADATA_FILE)
    }

    pub fn file_dir(&self, upload_id: &str, file_id: &str) -> PathBuf {
        self.upload_dir(upload_id).join(file_id)
    }

    pub fn file_path(&self, upload_id: &str, file_id: &str, file_name: &str) -> PathBuf {
        self.file_dir(upload_id, file_id).join(file_name)
    }

    /// A fresh temp path inside the upload dir: same file system as the target, so the final
    /// rename is atomic.
    pub fn temp_path(&self, upload_id: &str) -> PathBuf {
        let unique = uuid::Uuid::new_v4().simple();
        self.upload_dir(upload_id).join(format!("{TEMP_PREFIX}{unique}"))
    }

    /// Reads an upload's metadata; `Ok(None)` when the upload (or its metadata) does not exist,
    /// which is the case for hand-made trees.
    pub async fn read_meta(&self, upload_id: &str) -> io::Result<Option<UploadMeta>> {
        match tokio::fs::read(self.metadata_path(upload_id)).await {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes metadata through a temp file and a rename, so readers never see half of it.
    pub async fn write_meta(&self, upload_id: &str, meta: &UploadMeta) -> io::Result<()> {
        let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
        let tmp = self.temp_path(upload_id);
        tokio::fs::write(&tmp, json).await?;
        if let Err(e) = tokio::fs::rename(&tmp, self.metadata_path(upload_id)).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        for ok in ["abc", "a.b", "file-1_x", "x..y", "名前"] {
            assert!(validate_segment("x", ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_SEGMENT_LEN + 1);
        for bad in ["", ".", "..", ".hidden", "a/b", "a\\b", "a\0b", "a\nb", long.as_str()] {
            assert!(validate_segment("x", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(sanitize_file_name(None), "file");
        assert_eq!(sanitize_file_name(Some("")), "file");
        assert_eq!(sanitize_file_name(Some("..")), "file");
        assert_eq!(sanitize_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(sanitize_file_name(Some("C:\\tmp\\a b.bin")), "a_b.bin");
        assert_eq!(sanitize_file_name(Some(".bashrc")), "bashrc");
        assert_eq!(sanitize_file_name(Some("data.arrow")), "data.arrow");
        assert_eq!(sanitize_file_name(Some(&"x".repeat(400))).len(), 255);
        let name = sanitize_file_name(Some("ünï/cödé?.txt"));
        assert!(validate_segment("name", &name).is_ok());
        assert_eq!(name, "c_d__.txt");
    }
}
