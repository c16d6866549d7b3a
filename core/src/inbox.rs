//! One reply subscription per client, shared by every request (as NATS clients multiplex
//! requests): a request costs one publish, not a subscribe, a flush and an unsubscribe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::sync::oneshot;

use crate::error::{Error, ErrorKind, Result};

pub(crate) struct Inbox {
    prefix: String,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<async_nats::Message>>>>,
}

/// A reply subject waiting for its message; unregisters itself when dropped.
pub(crate) struct PendingReply {
    pub subject: String,
    pub reply: oneshot::Receiver<async_nats::Message>,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<async_nats::Message>>>>,
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        self.pending.lock().expect("inbox lock").remove(&self.subject);
    }
}

impl Inbox {
    /// Subscribes to `<new inbox>.*` and routes each reply to the request that waits for it.
    pub(crate) async fn start(nats: &async_nats::Client) -> Result<Inbox> {
        let prefix = nats.new_inbox();
        let mut sub = nats
            .subscribe(format!("{prefix}.*"))
            .await
            .map_err(|e| Error::new(ErrorKind::Connection, format!("cannot subscribe to the reply inbox: {e}")))?;
        nats.flush().await.map_err(|e| Error::new(ErrorKind::Connection, format!("flush failed: {e}")))?;
        let pending: Arc<Mutex<HashMap<String, oneshot::Sender<async_nats::Message>>>> = Arc::default();
        let routes = pending.clone();
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                let waiting = routes.lock().expect("inbox lock").remove(msg.subject.as_str());
                if let Some(tx) = waiting {
                    let _ = tx.send(msg);
                }
            }
        });
        Ok(Inbox { prefix, pending })
    }

    /// A fresh reply subject under this inbox.
    pub(crate) fn register(&self) -> PendingReply {
        let subject = format!("{}.{}", self.prefix, uuid::Uuid::new_v4().simple());
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("inbox lock").insert(subject.clone(), tx);
        PendingReply { subject, reply: rx, pending: self.pending.clone() }
    }
}
