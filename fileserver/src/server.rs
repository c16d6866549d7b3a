//! Routing and the server's lifecycle: in-process handle for tests and the engine, and a
//! run-until-signal entry point for `natsbridge serve-files`.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::ApiError;
use crate::layout::Layout;
use crate::{download, upload, AppState, FileServerConfig};

/// How long [`FileServer::shutdown`] lets in-flight transfers finish before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The HTTP routes, for embedding into another axum app. Does no I/O: the storage root is
/// created on demand by uploads (and up front by [`serve`] and [`FileServer::start`]).
pub fn router(config: FileServerConfig) -> Router {
    let state = Arc::new(AppState { layout: Layout::new(config.dir.clone()), config });
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/upload", post(upload::create_upload))
        .route(
            "/file/{upload_id}",
            // Uploads are limited by `max_upload_bytes` while streaming, not by axum's 2 MB
            // default for buffered bodies.
            post(upload::upload_file).layer(DefaultBodyLimit::disable()),
        )
        .route("/file/{upload_id}/{file_id}/{file_name}", get(download::get_file).head(download::head_file))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed") })
        .with_state(state)
}

/// Serves until `shutdown` completes (the CLI passes ctrl-c), then stops gracefully.
pub async fn serve(config: FileServerConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
    let listener = bind(&config).await?;
    run(listener, config, shutdown).await
}

/// A file server running on the current tokio runtime. Dropping it stops the server too
/// (gracefully, in the background); [`FileServer::shutdown`] also waits for the stop.
#[derive(Debug)]
pub struct FileServer {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl FileServer {
    /// Creates the storage root, binds `config.listen` and spawns the server.
    pub async fn start(config: FileServerConfig) -> io::Result<FileServer> {
        let listener = bind(&config).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        // A dropped sender also resolves the receiver, which is what makes drop stop the server.
        let signal = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(run(listener, config, signal));
        Ok(FileServer { local_addr, stop, task })
    }

    /// Base URL to use as `fileserver_url`; an unspecified listen address maps to loopback.
    pub fn url(&self) -> String {
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.local_addr.port()))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for in-flight requests, at most
    /// [`SHUTDOWN_GRACE`]; after that the server task is aborted.
    pub async fn shutdown(self) {
        let FileServer { stop, mut task, .. } = self;
        let _ = stop.send(());
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "file server stopped with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "file server task failed"),
            Err(_) => {
                tracing::warn!("file server did not stop in time; aborting");
                task.abort();
            }
        }
    }
}

async fn bind(config: &FileServerConfig) -> io::Result<TcpListener> {
    tokio::fs::create_dir_all(&config.dir).await?;
    TcpListener::bind(config.listen).await
}

async fn run(
    listener: TcpListener,
    config: FileServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), dir = %config.dir.display(), "file server listening");
    axum::serve(listener, router(config)).with_graceful_shutdown(shutdown).await
}
