//! Settings of one file server instance.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// How a [`crate::FileServer`] stores files and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileServerConfig {
    /// Storage root; created (with parents) when missing.
    pub dir: PathBuf,
    /// Address to bind; port 0 picks a free port (see [`crate::FileServer::local_addr`]).
    pub listen: SocketAddr,
    /// Uploads whose file is larger get 413; `None` accepts any size.
    pub max_upload_bytes: Option<u64>,
    /// Delete a OneShot upload's file after its first complete download, as Plik does. Off by
    /// default: NATS delivers one envelope to every subscriber, and each fetches the payload.
    pub delete_one_shot: bool,
}

impl Default for FileServerConfig {
    fn default() -> Self {
        FileServerConfig {
            dir: std::env::temp_dir().join("natsbridge-files"),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            max_upload_bytes: None,
            delete_one_shot: false,
        }
    }
}
