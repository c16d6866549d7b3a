//! # libnatsbridge: the C ABI of NATSBridge
//!
//! A thin layer over the `natsbridge` engine for C, C++ and hosts that `ccall` (Julia). It adds no
//! protocol logic: it converts arguments, maps errors to stable codes and hands out opaque
//! handles. The header `include/natsbridge.h` is generated from this crate by cbindgen (see
//! `cbindgen.toml`); the doc comments of the exported items are copied into it.
//!
//! Rules every export keeps (also written at the top of the header):
//! - it returns an `nb_result_t` (0 = `NB_OK`, otherwise the engine's `ErrorKind` code) and
//!   records a message that `nb_last_error_message()` reads on the same thread;
//! - it catches every panic (reported as `NB_ERR_INTERNAL`) and validates NULL pointers, UTF-8
//!   and handle tags before touching anything;
//! - `*_free(&handle)` takes the address of the handle, frees it and sets it to NULL: safe on
//!   NULL and twice.
//!
//! One tokio multi-thread runtime serves the whole process. Blocking calls run their future on
//! the calling thread (`Runtime::block_on`), so user handlers written in C (upload, download) run
//! on the thread that called the `nb_*` function that needs them; a host whose code must never run
//! on a foreign thread (Julia, Python) uses polling subscriptions and is never called back from
//! one.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod alloc;
mod client;
mod envelope;
mod error;
mod handle;
mod handlers;
mod jetstream;
mod options;
mod payloads;
mod runtime;
mod subscription;

pub use alloc::*;
pub use client::*;
pub use envelope::*;
pub use error::*;
pub use handlers::*;
pub use jetstream::*;
pub use options::*;
pub use payloads::*;
pub use subscription::*;
