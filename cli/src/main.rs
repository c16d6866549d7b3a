//! `natsbridge`: send, listen, request and reply from a shell; serve the claim-check store; run a
//! local stack (nats-server + file server) for development.

mod inputs;
mod local_stack;
mod progress;
mod show;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use natsbridge::{Client, ConnectOptions, Payload, ReceiveOptions, SendOptions};
use natsbridge_fileserver::{FileServer, FileServerConfig};

#[derive(Parser)]
#[command(
    name = "natsbridge",
    version,
    about = "Typed multi-payload messages over NATS, with a claim-check store for large payloads"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a local nats-server (JetStream on) and the file server on loopback; Ctrl-C stops both.
    Up(local_stack::UpArgs),
    /// Send one envelope with one or more payloads.
    Send(SendArgs),
    /// Print every envelope that arrives on a subject.
    Listen(ListenArgs),
    /// Send an envelope and wait for the reply.
    Request(RequestArgs),
    /// Answer requests on a subject.
    Reply(ReplyArgs),
    /// Serve the claim-check store (a Plik-compatible upload API) from a directory.
    ServeFiles(ServeFilesArgs),
}

#[derive(Args, Clone)]
struct Conn {
    /// NATS server URL(s), comma-separated.
    #[arg(long, short = 's', env = "NATS_URL", default_value = natsbridge::DEFAULT_BROKER_URL)]
    server: String,
    /// Authentication token.
    #[arg(long, env = "NATS_TOKEN")]
    token: Option<String>,
    #[arg(long, env = "NATS_USER")]
    user: Option<String>,
    #[arg(long, env = "NATS_PASSWORD")]
    password: Option<String>,
    /// NATS credentials file.
    #[arg(long)]
    creds: Option<PathBuf>,
    /// NKey seed.
    #[arg(long)]
    nkey: Option<String>,
    /// CA certificate for TLS.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
}

impl Conn {
    async fn connect(&self) -> natsbridge::Result<Client> {
        Client::connect(ConnectOptions {
            servers: vec![self.server.clone()],
            name: Some("natsbridge-cli".into()),
            token: self.token.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            creds_file: self.creds.clone(),
            nkey_seed: self.nkey.clone(),
            tls_ca: self.tls_ca.clone(),
            tls_required: self.tls_ca.is_some(),
            ..Default::default()
        })
        .await
    }
}

#[derive(Args)]
struct Outgoing {
    #[command(flatten)]
    payloads: inputs::PayloadArgs,
    /// Claim-check store for link payloads.
    #[arg(long, env = "NATSBRIDGE_FILESERVER", default_value = natsbridge::DEFAULT_FILESERVER_URL)]
    fileserver: String,
    /// Payloads of at least this many bytes go by link.
    #[arg(long, default_value_t = natsbridge::DEFAULT_SIZE_THRESHOLD)]
    threshold: u64,
    #[arg(long)]
    correlation_id: Option<String>,
    #[arg(long, default_value = "chat")]
    msg_purpose: String,
    #[arg(long, default_value = "NATSBridge")]
    sender_name: String,
    #[arg(long, default_value = "")]
    receiver_name: String,
    #[arg(long, default_value = "")]
    receiver_id: String,
}

impl Outgoing {
    fn options(&self, conn: &Conn) -> SendOptions {
        SendOptions {
            broker_url: conn.server.clone(),
            fileserver_url: self.fileserver.clone(),
            uploader: progress::uploader(),
            size_threshold: self.threshold,
            correlation_id: self.correlation_id.clone(),
            msg_purpose: self.msg_purpose.clone(),
            sender_name: self.sender_name.clone(),
            receiver_name: self.receiver_name.clone(),
            receiver_id: self.receiver_id.clone(),
            ..Default::default()
        }
    }
}

#[derive(Args)]
struct Incoming {
    /// Stream link payloads into files in this directory instead of memory.
    #[arg(long)]
    save_dir: Option<PathBuf>,
    /// Only fetch link payloads from these origins (repeatable), e.g. http://127.0.0.1:8080.
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// Download attempts per link payload.
    #[arg(long, default_value_t = 5)]
    max_retries: u32,
    /// Print one JSON object per envelope (payload values included) instead of text.
    #[arg(long)]
    json: bool,
}

impl Incoming {
    fn options(&self) -> ReceiveOptions {
        ReceiveOptions {
            downloader: progress::downloader(),
            retry: natsbridge::store::RetryPolicy { max_retries: self.max_retries, ..Default::default() },
            allowed_origins: (!self.allow_origins.is_empty()).then(|| self.allow_origins.clone()),
            save_dir: self.save_dir.clone(),
            ..Default::default()
        }
    }
}

#[derive(Args)]
struct SendArgs {
    subject: String,
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    out: Outgoing,
    /// Subject the receiver should answer on.
    #[arg(long, default_value = "")]
    reply_to: String,
    /// Publish to JetStream (waits for the stream's ack; Nats-Msg-Id = msg_id).
    #[arg(long)]
    jetstream: bool,
    /// Print the envelope JSON that was sent.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ListenArgs {
    subject: String,
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    incoming: Incoming,
    /// Exit after this many envelopes.
    #[arg(long)]
    count: Option<u64>,
    /// Print a line to stderr once subscribed (for scripts that wait for it).
    #[arg(long)]
    ready: bool,
}

#[derive(Args)]
struct RequestArgs {
    subject: String,
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    out: Outgoing,
    #[command(flatten)]
    incoming: Incoming,
    /// Seconds to wait for the reply.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
}

#[derive(Args)]
struct ReplyArgs {
    subject: String,
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    out: Outgoing,
    #[command(flatten)]
    incoming: Incoming,
    /// Answer with the request's own payloads.
    #[arg(long)]
    echo: bool,
    /// Exit after answering this many requests.
    #[arg(long)]
    count: Option<u64>,
    /// Print a line to stderr once subscribed.
    #[arg(long)]
    ready: bool,
}

#[derive(Args)]
struct ServeFilesArgs {
    /// Storage directory.
    #[arg(long, default_value = "./natsbridge-files")]
    dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Refuse uploads larger than this many bytes (413).
    #[arg(long)]
    max_upload: Option<u64>,
    /// Delete one-shot files after their first complete download, as Plik does (by default they
    /// are kept, so every subscriber of a subject can fetch them).
    #[arg(long)]
    delete_one_shot: bool,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli.command).await {
        eprintln!("error: {e}");
        std::process::exit(match e.downcast_ref::<natsbridge::Error>() {
            Some(e) => 10 + e.code(),
            None => 1,
        });
    }
}

type AnyResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn run(command: Command) -> AnyResult {
    match command {
        Command::Up(args) => local_stack::run(args).await,
        Command::Send(a) => {
            let payloads = a.out.payloads.load()?;
            let client = a.conn.connect().await?;
            let opts = SendOptions { reply_to: a.reply_to.clone(), ..a.out.options(&a.conn) };
            let sent = if a.jetstream {
                let (sent, ack) = client.jetstream_publish(&a.subject, payloads, &opts).await?;
                eprintln!(
                    "stored in stream {} at sequence {}{}",
                    ack.stream,
                    ack.sequence,
                    if ack.duplicate { " (duplicate)" } else { "" }
                );
                sent
            } else {
                client.smartsend(&a.subject, payloads, &opts).await?
            };
            if a.json {
                println!("{}", sent.json);
            } else {
                show::sent(&sent);
            }
            client.close().await?;
            Ok(())
        }
        Command::Listen(a) => {
            let client = a.conn.connect().await?;
            let mut sub = client.subscribe(&a.subject, a.incoming.options()).await?;
            if a.ready {
                eprintln!("listening on {}", a.subject);
            }
            let mut seen = 0;
            while a.count.is_none_or(|c| seen < c) {
                let Some(next) = sub.next().await else { break };
                seen += 1;
                match next {
                    Ok(env) => show::received(&env, a.incoming.json)?,
                    Err(e) => show::receive_error(&e, a.incoming.json),
                }
            }
            Ok(())
        }
        Command::Request(a) => {
            let payloads = a.out.payloads.load()?;
            let client = a.conn.connect().await?;
            let timeout = Duration::from_secs_f64(a.timeout);
            let env = client
                .smartrequest(&a.subject, payloads, &a.out.options(&a.conn), &a.incoming.options(), timeout)
                .await?;
            show::received(&env, a.incoming.json)?;
            Ok(())
        }
        Command::Reply(a) => {
            let fixed = a.out.payloads.load()?;
            if !a.echo && fixed.is_empty() {
                return Err(
                    "give the reply's payloads (--payload, --text, --json-payload, --file, --table) or --echo".into()
                );
            }
            let client = a.conn.connect().await?;
            let mut sub = client.subscribe(&a.subject, a.incoming.options()).await?;
            if a.ready {
                eprintln!("replying on {}", a.subject);
            }
            let opts = a.out.options(&a.conn);
            let mut answered = 0;
            while a.count.is_none_or(|c| answered < c) {
                let Some(next) = sub.next().await else { break };
                let env = match next {
                    Ok(env) => env,
                    Err(e) => {
                        show::receive_error(&e, a.incoming.json);
                        continue;
                    }
                };
                show::received(&env, a.incoming.json)?;
                let payloads = if a.echo { echo(&env) } else { fixed.clone() };
                match client.reply(&env, payloads, &opts).await {
                    Ok(_) => answered += 1,
                    Err(e) => eprintln!("error: cannot reply: {e}"),
                }
            }
            client.close().await?;
            Ok(())
        }
        Command::ServeFiles(a) => {
            let config = FileServerConfig {
                dir: a.dir.clone(),
                listen: a.listen,
                max_upload_bytes: a.max_upload,
                delete_one_shot: a.delete_one_shot,
            };
            let server = FileServer::start(config).await?;
            eprintln!("serving {} at {} (Ctrl-C stops)", a.dir.display(), server.url());
            tokio::signal::ctrl_c().await?;
            server.shutdown().await;
            Ok(())
        }
    }
}

/// The payloads of a received envelope, to send back.
fn echo(env: &natsbridge::Envelope) -> Vec<Payload> {
    env.payloads.iter().map(|p| Payload::new(p.dataname.clone(), p.value.clone())).collect()
}
