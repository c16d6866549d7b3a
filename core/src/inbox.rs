//! One reply subscription per client, shared by every request (as NATS clients multiplex
//! requests): a request costs one publish, not a subscribe, a flush and an unsubscribe.
//!
//! No task reads the subscription: whoever waits for a reply reads it, one waiter at a time,
//! and hands the others' replies to them. A reply reaches its requester straight from the
//! connection, without a task hop in between (one hop was a visible share of a small request).

use std::collections::HashMap;
use std::sync::Mutex;

use futures::StreamExt;
use tokio::sync::oneshot;

use crate::error::{Error, ErrorKind, Result};

/// Waiting requests by the id their reply subject ends with.
type Routes = Mutex<HashMap<u128, oneshot::Sender<async_nats::Message>>>;

pub(crate) struct Inbox {
    prefix: String,
    routes: Routes,
    sub: tokio::sync::Mutex<async_nats::Subscriber>,
}

/// A reply subject waiting for its message; unregisters itself when dropped.
pub(crate) struct PendingReply<'a> {
    pub subject: String,
    id: u128,
    reply: oneshot::Receiver<async_nats::Message>,
    inbox: &'a Inbox,
}

impl Drop for PendingReply<'_> {
    fn drop(&mut self) {
        self.inbox.routes.lock().expect("inbox lock").remove(&self.id);
    }
}

impl Inbox {
    /// Subscribes to `<new inbox>.*`.
    pub(crate) async fn start(nats: &async_nats::Client) -> Result<Inbox> {
        let prefix = nats.new_inbox();
        let sub = nats
            .subscribe(format!("{prefix}.*"))
            .await
            .map_err(|e| Error::new(ErrorKind::Connection, format!("cannot subscribe to the reply inbox: {e}")))?;
        nats.flush().await.map_err(|e| Error::new(ErrorKind::Connection, format!("flush failed: {e}")))?;
        Ok(Inbox { prefix, routes: Mutex::default(), sub: tokio::sync::Mutex::new(sub) })
    }

    /// A fresh reply subject under this inbox.
    pub(crate) fn register(&self) -> PendingReply<'_> {
        let id = crate::envelope::new_uuid();
        let subject = format!("{}.{}", self.prefix, id.simple());
        let (tx, rx) = oneshot::channel();
        self.routes.lock().expect("inbox lock").insert(id.as_u128(), tx);
        PendingReply { subject, id: id.as_u128(), reply: rx, inbox: self }
    }
}

impl PendingReply<'_> {
    /// The reply; `None` once the connection has closed. Cancelling it (a timeout) loses
    /// nothing: another waiter goes on reading.
    pub(crate) async fn wait(&mut self) -> Option<async_nats::Message> {
        tokio::select! {
            biased;
            routed = &mut self.reply => routed.ok(),
            mut sub = self.inbox.sub.lock() => loop {
                // Routed to us by the previous reader before we took over.
                if let Ok(msg) = self.reply.try_recv() {
                    return Some(msg);
                }
                let msg = sub.next().await?;
                if msg.subject.as_str() == self.subject {
                    return Some(msg);
                }
                let id = msg.subject.rsplit('.').next().and_then(|hex| u128::from_str_radix(hex, 16).ok());
                let waiting = id.and_then(|id| self.inbox.routes.lock().expect("inbox lock").remove(&id));
                if let Some(tx) = waiting {
                    let _ = tx.send(msg);
                }
            },
        }
    }
}
