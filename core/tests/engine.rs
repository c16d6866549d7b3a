//! The engine against a real nats-server and the real built-in file server.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use natsbridge::arrow_array::{BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use natsbridge::arrow_schema::{DataType, Field, Schema};
use natsbridge::store::RetryPolicy;
use natsbridge::{
    AckMode, Client, ConnectOptions, ConsumerOptions, ErrorKind, Payload, PayloadType, ReceiveOptions, SendOptions,
    Table, Transport, Value,
};
use natsbridge_testkit::{file_server, free_port, FlakyStore, NatsServer};

fn table() -> Table {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("ok", DataType::Boolean, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![Some("Alice"), None, Some("Zoë")])),
            Arc::new(Float64Array::from(vec![Some(95.5), Some(88.0), None])),
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ],
    )
    .unwrap();
    Table::from_batch(batch)
}

fn pseudo_random(n: usize, seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

fn every_type() -> Vec<Payload> {
    vec![
        Payload::text("text", "Hello, 世界 🌍"),
        Payload::dictionary(
            "dict",
            serde_json::json!({"sensor": "s-1", "values": [1, 2.5, null], "nested": {"ok": true}}),
        ),
        Payload::table("table", table()),
        Payload::new("image", Value::Image(pseudo_random(2048, 1))),
        Payload::new("audio", Value::Audio(pseudo_random(4096, 2))),
        Payload::new("video", Value::Video(pseudo_random(8192, 3))),
        Payload::binary("binary", pseudo_random(1000, 4)),
    ]
}

fn fast_retry(max_retries: u32) -> ReceiveOptions {
    ReceiveOptions {
        retry: RetryPolicy { max_retries, base_delay: Duration::from_millis(10), max_delay: Duration::from_millis(50) },
        ..Default::default()
    }
}

async fn connect(server: &NatsServer) -> Client {
    Client::connect(ConnectOptions::new(server.url())).await.expect("connect")
}

#[tokio::test]
async fn every_type_by_both_transports() {
    let nats = NatsServer::start();
    let (files, _dir) = file_server().await;
    let client = connect(&nats).await;
    for (threshold, transport) in [(1_000_000, Transport::Direct), (0, Transport::Link)] {
        let mut sub = client.subscribe("types", ReceiveOptions::default()).await.unwrap();
        let opts = SendOptions { fileserver_url: files.url(), size_threshold: threshold, ..Default::default() };
        let sent = client.smartsend("types", every_type(), &opts).await.unwrap();
        assert!(sent.envelope.payloads.iter().all(|p| p.transport() == transport));
        let env = sub.next().await.unwrap().unwrap();
        assert_eq!(env.header, sent.envelope.header);
        assert_eq!(env.payloads.len(), 7);
        for (got, want) in env.payloads.iter().zip(every_type()) {
            assert_eq!(got.dataname, want.dataname);
            assert_eq!(got.transport, transport);
            assert_eq!(got.value, want.value, "{} by {transport}", want.dataname);
        }
    }
    files.shutdown().await;
}

#[tokio::test]
async fn mixed_envelope_keeps_order_and_sends_large_by_link() {
    let nats = NatsServer::start();
    let (files, _dir) = file_server().await;
    let client = connect(&nats).await;
    let mut sub = client.subscribe("mixed", ReceiveOptions::default()).await.unwrap();
    let big = pseudo_random(5_000_000, 9);
    let payloads = vec![
        Payload::text("message_text", "Hello!"),
        Payload::new("user_avatar", Value::Image(pseudo_random(15_433, 5))),
        Payload::binary("large_document", big.clone()),
        Payload::dictionary("config", serde_json::json!({"update_interval": 60})),
    ];
    let opts = SendOptions { fileserver_url: files.url(), correlation_id: Some("corr-1".into()), ..Default::default() };
    let sent = client.smartsend("mixed", payloads.clone(), &opts).await.unwrap();
    let transports: Vec<_> = sent.envelope.payloads.iter().map(|p| p.transport()).collect();
    assert_eq!(transports, [Transport::Direct, Transport::Direct, Transport::Link, Transport::Direct]);
    assert!(sent.envelope.payloads[2].sha256.is_some());
    let env = sub.next().await.unwrap().unwrap();
    assert_eq!(env.header.correlation_id, "corr-1");
    let values: Vec<_> = env.payloads.iter().map(|p| p.value.clone()).collect();
    assert_eq!(values, payloads.into_iter().map(|p| p.value).collect::<Vec<_>>());
    files.shutdown().await;
}

#[tokio::test]
async fn envelope_always_fits_max_payload() {
    // A 999_999-byte payload is below the threshold, but its base64 is larger than 1 MiB.
    let nats = NatsServer::start();
    let (files, _dir) = file_server().await;
    let client = connect(&nats).await;
    assert_eq!(client.max_payload(), 1024 * 1024);
    let mut sub = client.subscribe("fit", ReceiveOptions::default()).await.unwrap();
    let data = pseudo_random(999_999, 11);
    let opts = SendOptions { fileserver_url: files.url(), ..Default::default() };
    let sent = client
        .smartsend("fit", vec![Payload::text("small", "stays direct"), Payload::binary("b", data.clone())], &opts)
        .await
        .unwrap();
    assert_eq!(sent.envelope.payloads[0].transport(), Transport::Direct);
    assert_eq!(sent.envelope.payloads[1].transport(), Transport::Link);
    assert!(sent.json.len() <= client.max_payload());
    let env = sub.next().await.unwrap().unwrap();
    assert_eq!(env.payloads[1].value, Value::Binary(data));

    // A server with a small max_payload: the largest payloads move to link until it fits.
    let small = NatsServer::start_with_config("max_payload: 65536");
    let client = connect(&small).await;
    assert_eq!(client.max_payload(), 65536);
    let mut sub = client.subscribe("fit", ReceiveOptions::default()).await.unwrap();
    let payloads = vec![
        Payload::binary("a", pseudo_random(40_000, 1)),
        Payload::binary("b", pseudo_random(30_000, 2)),
        Payload::binary("c", pseudo_random(1_000, 3)),
    ];
    let sent = client.smartsend("fit", payloads.clone(), &opts).await.unwrap();
    let transports: Vec<_> = sent.envelope.payloads.iter().map(|p| p.transport()).collect();
    assert_eq!(transports, [Transport::Link, Transport::Direct, Transport::Direct]);
    assert!(sent.json.len() <= 65536);
    let env = sub.next().await.unwrap().unwrap();
    assert_eq!(
        env.payloads.iter().map(|p| p.value.clone()).collect::<Vec<_>>(),
        payloads.into_iter().map(|p| p.value).collect::<Vec<_>>()
    );

    // Metadata alone too large: a typed error, and nothing published.
    let mut metadata = serde_json::Map::new();
    metadata.insert("blob".into(), serde_json::Value::String("x".repeat(70_000)));
    let opts = SendOptions { fileserver_url: files.url(), metadata, ..Default::default() };
    let err = client.smartsend("fit", vec![Payload::text("t", "hi")], &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EnvelopeTooLarge);
    assert!(tokio::time::timeout(Duration::from_millis(300), sub.next()).await.is_err(), "nothing may be published");
    files.shutdown().await;
}

#[tokio::test]
async fn unreachable_store_fails_before_publishing() {
    let nats = NatsServer::start();
    let client = connect(&nats).await;
    let mut sub = client.subscribe("nostore", ReceiveOptions::default()).await.unwrap();
    let opts = SendOptions {
        fileserver_url: format!("http://127.0.0.1:{}", free_port()),
        size_threshold: 10,
        ..Default::default()
    };
    let err = client.smartsend("nostore", vec![Payload::binary("b", pseudo_random(100, 1))], &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UploadFailed);
    assert!(err.message().contains("serve-files"), "{err}");
    assert!(tokio::time::timeout(Duration::from_millis(300), sub.next()).await.is_err());
}

/// An envelope with one link payload at `url`, built by the engine without publishing.
async fn link_envelope_to(url: &str, data: &Bytes) -> String {
    let mut env: serde_json::Value = serde_json::from_str(
        &natsbridge::smartsend(
            "s",
            vec![Payload::binary("b", data.clone())],
            &SendOptions { is_publish: false, ..Default::default() },
        )
        .await
        .unwrap()
        .json,
    )
    .unwrap();
    let p = &mut env["payloads"][0];
    p["transport"] = "link".into();
    p["encoding"] = "none".into();
    p["data"] = url.into();
    env.to_string()
}

#[tokio::test]
async fn download_retries_then_succeeds_and_down_store_is_typed() {
    let data = pseudo_random(3000, 7);
    let flaky = FlakyStore::start(2, data.clone()).await;
    let msg = link_envelope_to(&format!("{}/file/u/f/b.bin", flaky.url), &data).await;
    let env = natsbridge::smartreceive(msg.as_bytes(), &fast_retry(5)).await.unwrap();
    assert_eq!(env.payloads[0].value, Value::Binary(data.clone()));
    assert_eq!(flaky.hits(), 3, "two failures, then the answer");

    let down = link_envelope_to(&format!("http://127.0.0.1:{}/file/u/f/b.bin", free_port()), &data).await;
    let err = natsbridge::smartreceive(down.as_bytes(), &fast_retry(3)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DownloadFailed);
    assert!(err.message().contains("3 attempts"), "{err}");

    let still_failing = FlakyStore::start(100, data.clone()).await;
    let msg = link_envelope_to(&format!("{}/x", still_failing.url), &data).await;
    let err = natsbridge::smartreceive(msg.as_bytes(), &fast_retry(4)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DownloadFailed);
    assert_eq!(still_failing.hits(), 4);
}

#[tokio::test]
async fn allow_list_refuses_before_connecting() {
    let data = pseudo_random(10, 1);
    let flaky = FlakyStore::start(0, data.clone()).await;
    let msg = link_envelope_to(&format!("{}/x", flaky.url), &data).await;
    let opts = ReceiveOptions { allowed_origins: Some(vec!["http://127.0.0.1:1".into()]), ..fast_retry(1) };
    let err = natsbridge::smartreceive(msg.as_bytes(), &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OriginNotAllowed);
    assert_eq!(flaky.hits(), 0);
    let opts = ReceiveOptions { allowed_origins: Some(vec![flaky.url.clone()]), ..fast_retry(1) };
    assert!(natsbridge::smartreceive(msg.as_bytes(), &opts).await.is_ok());
}

#[tokio::test]
async fn link_payloads_stream_to_a_directory() {
    let nats = NatsServer::start();
    let (files, _dir) = file_server().await;
    let client = connect(&nats).await;
    let out = tempfile::tempdir().unwrap();
    let src = out.path().join("source.bin");
    let data = pseudo_random(3_000_000, 21);
    std::fs::write(&src, &data).unwrap();
    let save = ReceiveOptions { save_dir: Some(out.path().join("saved")), ..Default::default() };
    let mut sub = client.subscribe("files", save).await.unwrap();
    let opts = SendOptions { fileserver_url: files.url(), ..Default::default() };
    let sent = client
        .smartsend("files", vec![Payload::file("video", PayloadType::Video, &src), Payload::text("t", "x")], &opts)
        .await
        .unwrap();
    assert_eq!(sent.envelope.payloads[0].transport(), Transport::Link);
    let env = sub.next().await.unwrap().unwrap();
    let Value::File { payload_type, path } = &env.payloads[0].value else { panic!("expected a saved file") };
    assert_eq!(*payload_type, PayloadType::Video);
    assert_eq!(std::fs::read(path).unwrap(), data);
    assert_eq!(env.payloads[1].value, Value::Text("x".into()));
    files.shutdown().await;
}

#[tokio::test]
async fn request_reply_and_the_reply_helper() {
    let nats = NatsServer::start();
    let client = connect(&nats).await;
    let responder = client.clone();
    let mut sub = responder.subscribe("device.command", ReceiveOptions::default()).await.unwrap();
    tokio::spawn(async move {
        while let Some(Ok(env)) = sub.next().await {
            let Value::Dictionary(cmd) = &env.payloads[0].value else { continue };
            if cmd["action"] == "read_sensor" {
                let reply =
                    vec![Payload::dictionary("data", serde_json::json!({"sensor_id": "sensor-001", "value": 42.5}))];
                responder.reply(&env, reply, &SendOptions::default()).await.unwrap();
            }
        }
    });
    let opts = SendOptions { correlation_id: Some("c-42".into()), ..Default::default() };
    let cmd = vec![Payload::dictionary("command", serde_json::json!({"action": "read_sensor"}))];
    let reply = client
        .smartrequest("device.command", cmd, &opts, &ReceiveOptions::default(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reply.header.correlation_id, "c-42");
    assert!(!reply.header.reply_to_msg_id.is_empty());
    assert_eq!(
        reply.payloads[0].value,
        Value::Dictionary(serde_json::json!({"sensor_id": "sensor-001", "value": 42.5}))
    );

    let err = client
        .smartrequest(
            "nobody.here",
            vec![Payload::text("t", "x")],
            &opts,
            &ReceiveOptions::default(),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoResponders);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_reply() {
    let nats = NatsServer::start();
    let client = connect(&nats).await;
    let responder = client.clone();
    let mut sub = responder.subscribe("echo.later", ReceiveOptions::default()).await.unwrap();
    tokio::spawn(async move {
        while let Some(Ok(env)) = sub.next().await {
            let responder = responder.clone();
            tokio::spawn(async move {
                // Later requests are answered first, so replies arrive out of order.
                let Value::Text(n) = &env.payloads[0].value else { return };
                let delay = 200 - 4 * n.parse::<u64>().unwrap();
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let back = vec![Payload::text("n", n.clone())];
                responder.reply(&env, back, &SendOptions::default()).await.unwrap();
            });
        }
    });
    let ask = |n: u64, timeout_ms: u64| {
        let client = client.clone();
        async move {
            let payloads = vec![Payload::text("n", n.to_string())];
            let timeout = Duration::from_millis(timeout_ms);
            client
                .smartrequest("echo.later", payloads, &SendOptions::default(), &ReceiveOptions::default(), timeout)
                .await
        }
    };
    // Three give up early, while they may be the one reading the shared inbox.
    let early = futures::future::join_all((0..3).map(|n| ask(n, 20)));
    let answered = futures::future::join_all((3..40).map(|n| ask(n, 5000)));
    let (early, answered) = tokio::join!(early, answered);
    for e in early {
        assert_eq!(e.unwrap_err().kind(), ErrorKind::Timeout);
    }
    for (n, reply) in (3..40).zip(answered) {
        assert_eq!(reply.unwrap().payloads[0].value, Value::Text(n.to_string()));
    }
    // The timed-out requests' late replies are dropped; the inbox goes on working.
    assert_eq!(ask(49, 5000).await.unwrap().payloads[0].value, Value::Text("49".into()));
}

#[tokio::test]
async fn subscription_survives_bad_messages() {
    let nats = NatsServer::start();
    let client = connect(&nats).await;
    let mut sub = client.subscribe("bad", ReceiveOptions::default()).await.unwrap();
    client.publish_json("bad", "{not json", None).await.unwrap();
    client.smartsend("bad", vec![Payload::text("t", "fine")], &SendOptions::default()).await.unwrap();
    assert_eq!(sub.next().await.unwrap().unwrap_err().kind(), ErrorKind::InvalidEnvelope);
    assert_eq!(sub.next().await.unwrap().unwrap().payloads[0].value, Value::Text("fine".into()));
}

#[tokio::test]
async fn unflushed_send_shares_the_json_it_publishes() {
    let nats = NatsServer::start();
    let client = connect(&nats).await;
    let mut sub = client.subscribe("unflushed", ReceiveOptions::default()).await.unwrap();
    let mut raw = client.nats().subscribe("unflushed").await.unwrap();
    client.flush().await.unwrap();
    let data = Bytes::from(vec![7u8; 300_000]);
    let (envelope, json, flush) = client
        .smartsend_unflushed("unflushed", vec![Payload::binary("b", data.clone())], &SendOptions::default())
        .await
        .unwrap();
    flush.await.unwrap();
    assert_eq!(futures::StreamExt::next(&mut raw).await.unwrap().payload, json.as_bytes());
    let got = sub.next().await.unwrap().unwrap();
    assert_eq!(got.header.msg_id, envelope.header.msg_id);
    assert_eq!(got.payloads[0].value, Value::Binary(data));
    let err = client.smartsend_unflushed("bad subject", vec![], &SendOptions::default()).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn build_without_publishing_and_bad_arguments() {
    let opts = SendOptions { is_publish: false, broker_url: "nats://127.0.0.1:1".into(), ..Default::default() };
    let sent = natsbridge::smartsend("any.subject", vec![Payload::text("t", "hi")], &opts).await.unwrap();
    assert_eq!(sent.envelope.header.send_to, "any.subject");
    assert_eq!(sent.envelope.header.broker_url, "nats://127.0.0.1:1");
    let err = natsbridge::smartsend("bad subject", vec![], &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = Client::connect(ConnectOptions::new(format!("nats://127.0.0.1:{}", free_port()))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
}

#[tokio::test]
async fn token_auth() {
    let nats = NatsServer::start_with(&["--auth", "s3cret"]);
    let err = Client::connect(ConnectOptions::new(nats.url())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    let ok = Client::connect(ConnectOptions { token: Some("s3cret".into()), ..ConnectOptions::new(nats.url()) }).await;
    assert!(ok.is_ok());
}

#[tokio::test]
async fn jetstream_dedup_by_msg_id() {
    let nats = NatsServer::start();
    let client = connect(&nats).await;
    client.ensure_stream("ORDERS", vec!["orders.>".into()]).await.unwrap();
    let (sent, first) = client
        .jetstream_publish("orders.new", vec![Payload::text("t", "once")], &SendOptions::default())
        .await
        .unwrap();
    assert!(!first.duplicate);
    let again = client.jetstream_publish_json("orders.new", &sent.envelope.header.msg_id, &sent.json).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.sequence, first.sequence);
    let mut consumer = client
        .jetstream_consumer("ORDERS", "worker", ReceiveOptions::default(), ConsumerOptions::default())
        .await
        .unwrap();
    let d = consumer.next(Some(Duration::from_secs(5))).await.unwrap().unwrap();
    assert_eq!(d.envelope.header.msg_id, sent.envelope.header.msg_id);
    assert!(consumer.next(Some(Duration::from_millis(500))).await.unwrap().is_none(), "stored once");
}

#[tokio::test]
async fn jetstream_naks_failed_downloads_and_terminates_garbage() {
    let nats = NatsServer::start();
    let client = connect(&nats).await;
    client.ensure_stream("JOBS", vec!["jobs.>".into()]).await.unwrap();
    let data = pseudo_random(500, 3);
    // The store fails the first delivery's only attempt, then serves.
    let flaky = FlakyStore::start(1, data.clone()).await;
    let msg = link_envelope_to(&format!("{}/x", flaky.url), &data).await;
    client.jetstream_publish_json("jobs.a", "job-1", &msg).await.unwrap();
    client.jetstream_publish_json("jobs.a", "job-2", "not an envelope").await.unwrap();
    let opts = ConsumerOptions { nak_delay: Duration::from_millis(200), ack_mode: AckMode::Auto, ..Default::default() };
    let mut consumer = client.jetstream_consumer("JOBS", "w", fast_retry(1), opts).await.unwrap();
    let wait = Some(Duration::from_secs(5));
    let first = consumer.next(wait).await.err().expect("the first delivery fails");
    assert_eq!(first.kind(), ErrorKind::DownloadFailed);
    let garbage = consumer.next(wait).await.err().expect("garbage fails");
    assert_eq!(garbage.kind(), ErrorKind::InvalidEnvelope);
    let redelivered = consumer.next(wait).await.unwrap().expect("redelivered after the nak");
    assert_eq!(redelivered.delivered, 2);
    assert_eq!(redelivered.envelope.payloads[0].value, Value::Binary(data));
    assert!(
        consumer.next(Some(Duration::from_millis(800))).await.unwrap().is_none(),
        "garbage was terminated, not redelivered"
    );
}
