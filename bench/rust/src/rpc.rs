//! Latency of a 100-byte request-reply through the engine against raw async-nats request-reply.

use std::time::{Duration, Instant};

use futures::StreamExt;
use natsbridge::{Client, Payload, ReceiveOptions, SendOptions};

const WARM_UP: usize = 20;

pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
}

fn percentiles(mut v: Vec<Duration>) -> Latency {
    v.sort();
    Latency { p50: v[v.len() / 2], p99: v[(v.len() * 99) / 100] }
}

/// Engine and raw samples, interleaved.
pub async fn run(client: &Client, rounds: usize) -> (Latency, Latency) {
    let responder = client.clone();
    let mut sub = responder.subscribe("bench.rpc", ReceiveOptions::default()).await.unwrap();
    tokio::spawn(async move {
        while let Some(Ok(env)) = sub.next().await {
            let back = env.payloads.iter().map(|p| Payload::new(p.dataname.clone(), p.value.clone())).collect();
            let _ = responder.reply(&env, back, &SendOptions::default()).await;
        }
    });
    let raw_nats = client.nats().clone();
    let mut raw_sub = raw_nats.subscribe("bench.rpc.raw").await.unwrap();
    tokio::spawn(async move {
        while let Some(m) = raw_sub.next().await {
            if let Some(reply) = m.reply {
                let _ = raw_nats.publish(reply, m.payload).await;
            }
        }
    });
    client.flush().await.unwrap();
    let body = vec![b'x'; 100];
    let text = String::from_utf8(body.clone()).unwrap();
    let (mut engine, mut raw) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    // The first rounds warm up (the reply inbox is subscribed on the first request), as in the
    // Python and Node benchmarks.
    for round in 0..rounds + WARM_UP {
        let t = Instant::now();
        client
            .smartrequest(
                "bench.rpc",
                vec![Payload::text("q", text.clone())],
                &SendOptions::default(),
                &ReceiveOptions::default(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        let engine_time = t.elapsed();
        let t = Instant::now();
        client.nats().request("bench.rpc.raw", body.clone().into()).await.unwrap();
        if round >= WARM_UP {
            engine.push(engine_time);
            raw.push(t.elapsed());
        }
    }
    (percentiles(engine), percentiles(raw))
}
