//! The seed's options for sending and receiving, with its defaults.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde_json::{Map, Value as Json};

use crate::store::{Downloader, HttpFetcher, PlikUploader, RetryPolicy, Uploader};

/// The broker the seed uses when none is given.
pub const DEFAULT_BROKER_URL: &str = "nats://localhost:4222";
/// The claim-check store the seed uses when none is given.
pub const DEFAULT_FILESERVER_URL: &str = "http://localhost:8080";
/// Payloads of at least this many serialized bytes go by link.
pub const DEFAULT_SIZE_THRESHOLD: u64 = 1_000_000;
/// nats-server's default `max_payload`, used when an envelope is built without a connection.
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

// Shared: options are often made per call (`&SendOptions::default()`), and an `Arc::new` even of
// these empty handlers allocates.
static DEFAULT_UPLOADER: LazyLock<Arc<dyn Uploader>> = LazyLock::new(|| Arc::new(PlikUploader));
static DEFAULT_DOWNLOADER: LazyLock<Arc<dyn Downloader>> = LazyLock::new(|| Arc::new(HttpFetcher));

/// Options of `smartsend`, named and defaulted as in the original design.
#[derive(Clone)]
pub struct SendOptions {
    pub broker_url: String,
    pub fileserver_url: String,
    pub uploader: Arc<dyn Uploader>,
    pub size_threshold: u64,
    /// Generated (UUID v4) when `None`.
    pub correlation_id: Option<String>,
    pub msg_purpose: String,
    pub sender_name: String,
    pub receiver_name: String,
    pub receiver_id: String,
    pub reply_to: String,
    pub reply_to_msg_id: String,
    /// `false` builds the envelope (uploading link payloads) without publishing it.
    pub is_publish: bool,
    /// Generated (UUID v4) when `None`.
    pub msg_id: Option<String>,
    /// Generated (UUID v4) when `None`.
    pub sender_id: Option<String>,
    pub metadata: Map<String, Json>,
    /// The envelope size bound when no connection tells it (`is_publish = false`).
    pub max_payload: Option<usize>,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            broker_url: DEFAULT_BROKER_URL.to_owned(),
            fileserver_url: DEFAULT_FILESERVER_URL.to_owned(),
            uploader: DEFAULT_UPLOADER.clone(),
            size_threshold: DEFAULT_SIZE_THRESHOLD,
            correlation_id: None,
            msg_purpose: "chat".to_owned(),
            sender_name: "NATSBridge".to_owned(),
            receiver_name: String::new(),
            receiver_id: String::new(),
            reply_to: String::new(),
            reply_to_msg_id: String::new(),
            is_publish: true,
            msg_id: None,
            sender_id: None,
            metadata: Map::new(),
            max_payload: None,
        }
    }
}

impl std::fmt::Debug for SendOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendOptions")
            .field("broker_url", &self.broker_url)
            .field("fileserver_url", &self.fileserver_url)
            .field("size_threshold", &self.size_threshold)
            .field("msg_purpose", &self.msg_purpose)
            .field("is_publish", &self.is_publish)
            .finish_non_exhaustive()
    }
}

/// In-memory link payloads larger than this are refused unless raised or saved to a directory.
pub const DEFAULT_MAX_IN_MEMORY: u64 = 2 * 1024 * 1024 * 1024;

/// Options of `smartreceive`, named and defaulted as in the original design.
#[derive(Clone)]
pub struct ReceiveOptions {
    pub downloader: Arc<dyn Downloader>,
    /// `max_retries` (5), `base_delay` (100 ms), `max_delay` (5000 ms).
    pub retry: RetryPolicy,
    /// When set, link URLs outside these origins (`http://host:port`) are refused before connecting.
    pub allowed_origins: Option<Vec<String>>,
    /// Largest link payload held in memory.
    pub max_in_memory: u64,
    /// When set, link payloads are streamed into files in this directory and come back as
    /// `Value::File`, never held whole in memory.
    pub save_dir: Option<PathBuf>,
}

impl Default for ReceiveOptions {
    fn default() -> Self {
        ReceiveOptions {
            downloader: DEFAULT_DOWNLOADER.clone(),
            retry: RetryPolicy::default(),
            allowed_origins: None,
            max_in_memory: DEFAULT_MAX_IN_MEMORY,
            save_dir: None,
        }
    }
}

impl std::fmt::Debug for ReceiveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiveOptions")
            .field("retry", &self.retry)
            .field("allowed_origins", &self.allowed_origins)
            .field("max_in_memory", &self.max_in_memory)
            .field("save_dir", &self.save_dir)
            .finish_non_exhaustive()
    }
}

/// How to reach NATS: every connection option users need.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// One or more `nats://host:port` URLs (comma-separated also accepted).
    pub servers: Vec<String>,
    pub name: Option<String>,
    pub token: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub nkey_seed: Option<String>,
    pub creds_file: Option<PathBuf>,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_required: bool,
    /// `None` reconnects forever.
    pub max_reconnects: Option<usize>,
    pub connect_timeout: Duration,
    /// Fail at once when the first connect fails (rather than retrying in the background).
    pub retry_on_initial_connect: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            servers: vec![DEFAULT_BROKER_URL.to_owned()],
            name: None,
            token: None,
            user: None,
            password: None,
            nkey_seed: None,
            creds_file: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            tls_required: false,
            max_reconnects: Some(60),
            connect_timeout: Duration::from_secs(5),
            retry_on_initial_connect: false,
        }
    }
}

impl ConnectOptions {
    pub fn new(servers: impl Into<String>) -> Self {
        ConnectOptions { servers: vec![servers.into()], ..Default::default() }
    }
}
