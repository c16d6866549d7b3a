//! smartsend + smartreceive through a real nats-server, against a raw async-nats publish and
//! receive of the very same envelope bytes, in the same run. Prints a markdown table.
//!
//! Also: 1 GiB by link from and to files against plain HTTP, with peak RSS; and 100-byte
//! request-reply latency against raw NATS request-reply.
//!
//! `cargo run --release -p natsbridge-bench [-- --quick]` (`--quick`: fewer rounds, 64 MiB instead of 1 GiB)

mod big;
mod rpc;

// The allocator an application would pick for large buffers; engine and raw share it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use natsbridge::{Client, ConnectOptions, Payload, ReceiveOptions, SendOptions, Transport};
use natsbridge_testkit::{file_server, NatsServer};

struct Case {
    label: &'static str,
    size: usize,
    rounds: usize,
}

fn payload(size: usize) -> Bytes {
    (0..size).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<u8>>().into()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 5 } else { 1 };
    let cases = [
        Case { label: "1 KiB", size: 1024, rounds: 2000 / scale },
        Case { label: "512 KiB", size: 512 * 1024, rounds: 300 / scale },
        Case { label: "8 MiB", size: 8 * 1024 * 1024, rounds: 30 / scale },
    ];
    let nats = NatsServer::start();
    let (files, _dir) = file_server().await;
    let client = Client::connect(ConnectOptions::new(nats.url())).await.expect("connect");
    let opts = SendOptions { fileserver_url: files.url(), ..Default::default() };

    println!("| size | transport | engine p50 (ms) | raw NATS p50 (ms) | engine / raw | engine MB/s |");
    println!("|---|---|---|---|---|---|");
    for case in cases {
        let data = payload(case.size);
        let mut sub = client.subscribe("bench.engine", ReceiveOptions::default()).await.unwrap();
        let mut raw_sub = client.nats().subscribe("bench.raw").await.unwrap();
        client.flush().await.unwrap();
        let mut engine = Vec::with_capacity(case.rounds);
        let mut raw = Vec::with_capacity(case.rounds);
        let mut transport = Transport::Direct;
        // Interleaved, so drift in machine speed hits both alike.
        for _ in 0..case.rounds {
            let t = Instant::now();
            let sent =
                client.smartsend("bench.engine", vec![Payload::binary("data", data.clone())], &opts).await.unwrap();
            let env = sub.next().await.unwrap().unwrap();
            engine.push(t.elapsed());
            assert_eq!(env.payloads[0].value.as_bytes().map(|b| b.len()), Some(case.size));
            transport = sent.envelope.payloads[0].transport();

            let bytes = Bytes::from(sent.json.into_bytes());
            let t = Instant::now();
            client.nats().publish("bench.raw", bytes).await.unwrap();
            client.nats().flush().await.unwrap();
            let msg = raw_sub.next().await.unwrap();
            raw.push(t.elapsed());
            assert!(!msg.payload.is_empty());
        }
        let (e, r) = (median(engine), median(raw));
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.2} | {:.1} |",
            case.label,
            transport,
            e.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3,
            e.as_secs_f64() / r.as_secs_f64(),
            case.size as f64 / e.as_secs_f64() / 1e6
        );
    }

    let big_size: u64 = if quick { 64 << 20 } else { 1 << 30 };
    let b = big::run(&client, &files.url(), big_size).await;
    let mib = |x: u64| x as f64 / (1 << 20) as f64;
    println!();
    println!("| {} MiB by link, file to file | engine (s) | plain HTTP upload + download (s) | engine / plain throughput | engine MB/s | peak RSS above idle (MiB) |", b.size >> 20);
    println!("|---|---|---|---|---|---|");
    println!(
        "| Rust | {:.2} | {:.2} | {:.0}% | {:.0} | {:.1} |",
        b.engine.as_secs_f64(),
        b.http.as_secs_f64(),
        100.0 * b.http.as_secs_f64() / b.engine.as_secs_f64(),
        b.size as f64 / b.engine.as_secs_f64() / 1e6,
        mib(b.peak_rss.saturating_sub(b.idle_rss))
    );

    let (engine, raw) = rpc::run(&client, 2000 / scale).await;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!();
    println!(
        "| 100-byte request-reply | engine p50 (ms) | raw p50 (ms) | p50 ratio | engine p99 (ms) | raw p99 (ms) |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| Rust | {:.3} | {:.3} | {:.2} | {:.3} | {:.3} |",
        ms(engine.p50),
        ms(raw.p50),
        ms(engine.p50) / ms(raw.p50),
        ms(engine.p99),
        ms(raw.p99)
    );
    files.shutdown().await;
}
