//! The `natsbridge` command against a real nats-server and file server, as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use natsbridge_testkit::{file_server, NatsServer};
use serde_json::Value as Json;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_natsbridge"))
}

/// Starts a long-running subcommand and waits for its readiness line on stderr.
fn spawn_ready(args: &[&str]) -> Child {
    let mut child = bin().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn natsbridge");
    let mut line = String::new();
    BufReader::new(child.stderr.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("listening") || line.contains("replying"), "not ready: {line}");
    child
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn send_and_listen_every_kind_of_input() {
    let nats = NatsServer::start();
    let (files, _dir) = file_server().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "id,name\n1,a\n2,b\n").unwrap();
    let blob = dir.path().join("blob.bin");
    std::fs::write(&blob, vec![7u8; 2_000_000]).unwrap();
    let url = nats.url();
    let listener = spawn_ready(&["listen", "cli.test", "-s", &url, "--count", "1", "--json", "--ready"]);
    let sent = ok(bin()
        .args(["send", "cli.test", "-s", &url, "--fileserver", &files.url(), "--json"])
        .args(["-p", "text:greeting=héllo", "-p", "json:cfg={\"a\":[1,2]}"])
        .args(["--table", &format!("t={}", csv.display()), "--file", &format!("blob={}", blob.display())])
        .output()
        .unwrap());
    let sent: Json = serde_json::from_str(sent.trim()).unwrap();
    // --payload ones first, then the shorthands in the order text, json, file, table.
    assert_eq!(sent["payloads"][2]["transport"], "link");
    let got: Json = serde_json::from_str(ok(listener.wait_with_output().unwrap()).trim()).unwrap();
    assert_eq!(got["msg_id"], sent["msg_id"]);
    let p = &got["payloads"];
    assert_eq!(p[0]["value"], "héllo");
    assert_eq!(p[1]["value"], serde_json::json!({"a": [1, 2]}));
    assert_eq!(p[2]["size"], 2_000_000);
    assert_eq!(p[3]["value"], serde_json::json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]));
    files.shutdown().await;
}

#[tokio::test]
async fn request_and_echo_reply() {
    let nats = NatsServer::start();
    let url = nats.url();
    let replier = spawn_ready(&["reply", "svc.echo", "-s", &url, "--echo", "--count", "1", "--ready"]);
    let out = ok(bin()
        .args(["request", "svc.echo", "-s", &url, "--json", "-p", "text:q=ping", "--timeout", "10"])
        .output()
        .unwrap());
    let reply: Json = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(reply["payloads"][0]["value"], "ping");
    assert!(!reply["reply_to_msg_id"].as_str().unwrap().is_empty());
    assert!(replier.wait_with_output().unwrap().status.success());
}

#[test]
fn errors_are_typed_exit_codes() {
    // No server: a connection error (kind 12 → exit code 22).
    let out = bin().args(["send", "x", "-s", "nats://127.0.0.1:1", "-p", "text:a=b"]).output().unwrap();
    assert_eq!(out.status.code(), Some(22), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin().args(["send", "x", "-p", "nonsense"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KIND:NAME=VALUE"));
    for sub in ["up", "send", "listen", "request", "reply", "serve-files"] {
        assert!(bin().args([sub, "--help"]).output().unwrap().status.success(), "{sub} --help");
    }
}
