//! `natsbridge._natsbridge`: the PyO3 extension under the `natsbridge` Python package.
//!
//! Thin by design: argument conversion, error mapping and native data types; the work is the
//! engine's (crate `natsbridge`). How a call runs:
//!
//! * The calling thread converts the arguments (with the GIL), then polls the engine's future
//!   once with the GIL released. Most direct-transport work (building or decoding an envelope)
//!   finishes in that poll, with no thread hop at all.
//! * Otherwise the call gets a token and its future is parked until what it waits for wakes it;
//!   it then runs on the one tokio runtime this module owns (`natsbridge::parked`). Its outcome is delivered
//!   through a [`host::Host`] queue that the *host* drains: the asyncio event loop (woken
//!   through a socket it watches) or the thread blocked in a sync call.
//!   Tokio threads never take the GIL and never run Python code.
//! * A send returns its envelope as soon as the connection has it, and its flush separately
//!   (`Outcome.flushed`): the host converts the envelope to Python while it is being written.
//! * User handlers (upload/download callables) are queued to the same host and run there; the
//!   engine's task awaits their answer on a channel.

mod convert;
mod errors;
mod handlers;
mod host;
mod ops;
mod options;
mod publish;
mod runtime;

use pyo3::prelude::*;

/// Envelopes are large, short-lived buffers; the system allocator would hand each one fresh pages
/// (page faults dominated a 512 KiB round trip); mimalloc reuses them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _natsbridge(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_BROKER_URL", natsbridge::DEFAULT_BROKER_URL)?;
    m.add("DEFAULT_FILESERVER_URL", natsbridge::DEFAULT_FILESERVER_URL)?;
    m.add("DEFAULT_SIZE_THRESHOLD", natsbridge::DEFAULT_SIZE_THRESHOLD)?;
    m.add("DEFAULT_MAX_PAYLOAD", natsbridge::DEFAULT_MAX_PAYLOAD)?;
    m.add("ERROR_KINDS", errors::kinds())?;
    m.add("PAYLOAD_TYPES", natsbridge::PayloadType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>())?;
    m.add_class::<host::Host>()?;
    m.add_class::<host::HandlerCall>()?;
    m.add_class::<ops::Outcome>()?;
    m.add_class::<options::SendOptions>()?;
    m.add_class::<options::ReceiveOptions>()?;
    m.add_class::<ops::ClientHandle>()?;
    m.add_class::<ops::SubscriptionHandle>()?;
    m.add_class::<ops::ConsumerHandle>()?;
    m.add_class::<ops::DeliveryHandle>()?;
    m.add_function(wrap_pyfunction!(ops::smartsend, m)?)?;
    m.add_function(wrap_pyfunction!(ops::smartreceive, m)?)?;
    m.add_function(wrap_pyfunction!(ops::plik_oneshot_upload, m)?)?;
    m.add_function(wrap_pyfunction!(ops::fetch_with_backoff, m)?)?;
    m.add_function(wrap_pyfunction!(ops::connect, m)?)?;
    Ok(())
}
