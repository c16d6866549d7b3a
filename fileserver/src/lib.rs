//! The built-in claim-check store of NATSBridge: an HTTP server speaking the subset of the Plik
//! API that the default upload handler uses (see `docs/wire-format.md`, "Claim-check store"), so
//! the default `fileserver_url` works without any other server.
//!
//! Files stream to and from disk and are never held whole in memory. Layout on disk:
//! `DIR/{uploadId}/{fileId}/{fileName}`, with `DIR/{uploadId}/.upload.json` holding the upload's
//! token and one-shot flag; a tree written by hand in that layout is served as-is.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use natsbridge_fileserver::{FileServer, FileServerConfig};
//! let server = FileServer::start(FileServerConfig {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     ..FileServerConfig::default()
//! })
//! .await?;
//! println!("claim-check store at {}", server.url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod config;
mod download;
mod error;
mod layout;
mod server;
mod upload;

pub use config::FileServerConfig;
pub use layout::{UploadMeta, METADATA_FILE};
pub use server::{router, serve, FileServer};
pub use upload::TOKEN_HEADER;

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: FileServerConfig,
    pub(crate) layout: layout::Layout,
}
