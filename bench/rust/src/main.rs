//! smartsend + smartreceive through a real nats-server, against a pure-Rust implementation written
//! the way the seed's implementations work (seed.rs) and a raw async-nats publish and receive of the
//! very envelope bytes the engine sends, interleaved in the same run.
//!
//! Also: 1 GiB by link from a file to a file against a plain HTTP upload + download of the same file
//! to the same server, with peak RSS above idle; and 100-byte request-reply latency against raw
//! NATS request-reply.
//!
//! Prints markdown tables; with `BENCH_JSON=<file>` also appends one JSON object per result to the
//! file (bench/report.py turns them into bench/RESULTS.md).
//!
//! `cargo run --release -p natsbridge-bench [-- --quick]` (`--quick` or `BENCH_QUICK=1`: fewer
//! rounds, 64 MiB instead of 1 GiB)

mod big;
mod rpc;
mod seed;

// The allocator an application would pick for large buffers; engine and raw share it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use natsbridge::{Client, ConnectOptions, Payload, ReceiveOptions, SendOptions, Transport};
use natsbridge_testkit::{file_server, NatsServer};
use serde_json::json;

struct Case {
    label: &'static str,
    size: usize,
    rounds: usize,
}

fn payload(size: usize) -> Bytes {
    (0..size).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<u8>>().into()
}

/// The machine-readable results: JSON lines appended to `$BENCH_JSON` when it is set.
struct Records(Option<std::fs::File>);

impl Records {
    fn open() -> Self {
        Records(
            std::env::var_os("BENCH_JSON")
                .map(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).expect("open $BENCH_JSON")),
        )
    }

    fn add(&mut self, mut v: serde_json::Value) {
        if let Some(f) = &mut self.0 {
            v["lang"] = "rust".into();
            writeln!(f, "{v}").expect("write $BENCH_JSON");
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick") || std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let scale = if quick { 5 } else { 1 };
    let cases = [
        Case { label: "1 KiB", size: 1024, rounds: 2000 / scale },
        Case { label: "512 KiB", size: 512 * 1024, rounds: 300 / scale },
        Case { label: "8 MiB", size: 8 * 1024 * 1024, rounds: 30 / scale },
    ];
    let mut records = Records::open();
    let nats = NatsServer::start();
    let (files, _dir) = file_server().await;
    let client = Client::connect(ConnectOptions::new(nats.url())).await.expect("connect");
    let opts = SendOptions { fileserver_url: files.url(), ..Default::default() };
    let seed = seed::Seed::new(client.nats().clone(), &files.url());
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    println!("| size | transport | engine p50 (ms) | pure Rust (seed) p50 (ms) | raw NATS p50 (ms) | engine / seed time | engine / raw time | engine MB/s |");
    println!("|---|---|---|---|---|---|---|---|");
    for case in cases {
        let data = payload(case.size);
        let mut sub = client.subscribe("bench.engine", ReceiveOptions::default()).await.unwrap();
        let mut seed_sub = client.nats().subscribe("bench.seed").await.unwrap();
        let mut raw_sub = client.nats().subscribe("bench.raw").await.unwrap();
        client.flush().await.unwrap();
        let (mut engine, mut baseline, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        let mut transport = Transport::Direct;
        // Interleaved, so drift in machine speed hits all three alike.
        for _ in 0..case.rounds {
            let t = Instant::now();
            let sent =
                client.smartsend("bench.engine", vec![Payload::binary("data", data.clone())], &opts).await.unwrap();
            let env = sub.next().await.unwrap().unwrap();
            engine.push(t.elapsed());
            assert_eq!(env.payloads[0].value.as_bytes().map(|b| b.len()), Some(case.size));
            transport = sent.envelope.payloads[0].transport();

            let t = Instant::now();
            seed.smartsend("bench.seed", "data", &data).await;
            let msg = seed_sub.next().await.unwrap();
            let got = seed.smartreceive(&msg.payload).await;
            baseline.push(t.elapsed());
            assert_eq!(got[0].len(), case.size);

            let bytes = Bytes::from(sent.json.into_bytes());
            let t = Instant::now();
            client.nats().publish("bench.raw", bytes).await.unwrap();
            client.nats().flush().await.unwrap();
            let msg = raw_sub.next().await.unwrap();
            raw.push(t.elapsed());
            assert!(!msg.payload.is_empty());
        }
        // Medians: one stall of the shared machine must not decide a row.
        let (engine, baseline, raw) = (median(engine), median(baseline), median(raw));
        let mbps = |d: Duration| case.size as f64 / d.as_secs_f64() / 1e6;
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.1} |",
            case.label,
            transport,
            ms(engine),
            ms(baseline),
            ms(raw),
            engine.as_secs_f64() / baseline.as_secs_f64(),
            engine.as_secs_f64() / raw.as_secs_f64(),
            mbps(engine)
        );
        records.add(json!({
            "metric": "throughput", "label": case.label, "size": case.size, "transport": transport.to_string(),
            "rounds": case.rounds, "ours_mbps": mbps(engine), "baseline_mbps": mbps(baseline), "raw_mbps": mbps(raw),
            "ours": "Client::smartsend + Subscription", "baseline": "pure Rust (seed.rs)",
            "raw": "async-nats publish + flush + receive of the engine's envelope bytes",
        }));
    }

    let big_size: u64 = if quick { 64 << 20 } else { 1 << 30 };
    let b = big::run(&client, &files.url(), big_size, 3).await;
    let mib = |x: u64| x as f64 / (1 << 20) as f64;
    let file_mbps = |d: Duration| b.size as f64 / d.as_secs_f64() / 1e6;
    println!();
    println!("| {} MiB by link, file to file | engine (s) | plain HTTP upload + download (s) | engine / plain throughput | engine MB/s | peak RSS above idle (MiB) |", b.size >> 20);
    println!("|---|---|---|---|---|---|");
    println!(
        "| Rust | {:.2} | {:.2} | {:.0}% | {:.0} | {:.1} |",
        b.engine.as_secs_f64(),
        b.http.as_secs_f64(),
        100.0 * b.http.as_secs_f64() / b.engine.as_secs_f64(),
        file_mbps(b.engine),
        mib(b.peak_rss.saturating_sub(b.idle_rss))
    );
    records.add(json!({
        "metric": "file", "size": b.size, "ours_s": b.engine.as_secs_f64(), "baseline_s": b.http.as_secs_f64(),
        "ours_mbps": file_mbps(b.engine), "baseline_mbps": file_mbps(b.http),
        "idle_rss_mib": mib(b.idle_rss), "peak_rss_above_idle_mib": mib(b.peak_rss.saturating_sub(b.idle_rss)),
        "sender_from_file": true, "receiver_to_file": true,
        "ours": "Payload::file sent by link, received with save_dir",
        "baseline": "reqwest: the Plik upload calls streaming the file, GET streamed to a file",
    }));

    let rounds = 5000 / scale;
    let (engine, raw) = rpc::run(&client, rounds).await;
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
    records.add(json!({
        "metric": "rpc", "size": 100, "rounds": rounds,
        "ours_p50_ms": ms(engine.p50), "ours_p99_ms": ms(engine.p99),
        "raw_p50_ms": ms(raw.p50), "raw_p99_ms": ms(raw.p99),
        "ours": "Client::smartrequest, replied with Client::reply", "raw": "async-nats request, replied by publish",
    }));
    files.shutdown().await;
}
