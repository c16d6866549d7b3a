//! `natsbridge up`: a nats-server with JetStream and the built-in file server on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use clap::Args;
use natsbridge_fileserver::{FileServer, FileServerConfig};

#[derive(Args)]
pub struct UpArgs {
    /// NATS client port.
    #[arg(long, default_value_t = 4222)]
    nats_port: u16,
    /// File server port.
    #[arg(long, default_value_t = 8080)]
    files_port: u16,
    /// Where JetStream and the file server keep their data (a temporary directory by default).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The nats-server binary (else $NATS_SERVER_BIN, then PATH).
    #[arg(long, env = "NATS_SERVER_BIN")]
    nats_server: Option<PathBuf>,
}

pub async fn run(a: UpArgs) -> crate::AnyResult {
    let temp = tempfile::tempdir()?;
    let data = a.data_dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let bin = a.nats_server.clone().unwrap_or_else(|| PathBuf::from("nats-server"));
    let mut nats = tokio::process::Command::new(&bin)
        .args(["-a", "127.0.0.1", "-p", &a.nats_port.to_string(), "-js", "-sd"])
        .arg(data.join("jetstream"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!("cannot start {} ({e}); install nats-server >= 2.10 or pass --nats-server", bin.display())
        })?;
    let files = FileServer::start(FileServerConfig {
        dir: data.join("files"),
        listen: SocketAddr::from(([127, 0, 0, 1], a.files_port)),
        ..Default::default()
    })
    .await?;
    println!("NATS_URL=nats://127.0.0.1:{}", a.nats_port);
    println!("FILESERVER_URL={}", files.url());
    eprintln!("local stack up (JetStream on); Ctrl-C stops both");
    tokio::select! {
        status = nats.wait() => {
            files.shutdown().await;
            return Err(format!("nats-server exited: {}", status?).into());
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    let _ = nats.kill().await;
    files.shutdown().await;
    Ok(())
}
