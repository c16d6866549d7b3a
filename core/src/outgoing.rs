//! Envelope JSON handed to the connection without a copy: the message shares the caller's
//! `String` until the connection has written it, and the `String` comes back afterwards.

use std::sync::Arc;

use bytes::Bytes;

pub(crate) struct Outgoing(Arc<String>);

struct Shared(Arc<String>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Outgoing {
    pub(crate) fn new(json: String) -> Outgoing {
        Outgoing(Arc::new(json))
    }

    /// The message payload, backed by the same allocation.
    pub(crate) fn payload(&self) -> Bytes {
        Bytes::from_owner(Shared(self.0.clone()))
    }

    /// The JSON, shared with the message while the connection writes it.
    pub(crate) fn shared(&self) -> Arc<String> {
        self.0.clone()
    }

    /// The JSON back: free once the connection has written and dropped the payload (after a
    /// flush or an ack), a copy only if it still holds it.
    pub(crate) fn into_string(self) -> String {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| String::clone(&shared))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_then_returns_the_same_allocation() {
        let json = String::from("{\"payloads\":[]}");
        let ptr = json.as_ptr();
        let out = Outgoing::new(json);
        let payload = out.payload();
        assert_eq!(payload.as_ptr(), ptr);
        assert_eq!(out.into_string(), "{\"payloads\":[]}", "a copy while the payload is alive");
        drop(payload);
        let out = Outgoing::new(String::from("x"));
        let ptr = out.0.as_ptr();
        drop(out.payload());
        let back = out.into_string();
        assert_eq!(back.as_ptr(), ptr, "the same allocation once the payload is gone");
    }
}
