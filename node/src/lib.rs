//! The Node.js addon of NATSBridge: the engine (crate `natsbridge`) compiled into a napi-rs
//! module. Every call returns a Promise and runs on the engine's tokio runtime; the event loop
//! is never blocked (a small request or reply is built on the JS thread, see `inline`). Engine errors become JS errors with a stable `code`; a panic becomes a JS
//! error too (code `Internal`), never an abort. The seed's JavaScript API (tuples, apache-arrow,
//! nats.js interop) is the small JS layer in `lib/` over these functions.

#![deny(clippy::all)]
// Under `cargo test` napi-derive registers nothing with Node, so the exported items look unused.
#![cfg_attr(test, allow(dead_code))]

/// mimalloc keeps freed memory for reuse: envelopes of hundreds of kilobytes are built and
/// decoded over and over, and with the system allocator every one of them was a fresh `mmap`
/// (page faults and zeroing on each call). Only the addon's own allocations use it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod api;
mod bridge;
mod deadline;
mod error;
mod handlers;
mod inline;
mod js;
mod jsstring;
mod options;
mod receive;
mod send;
mod settle;
