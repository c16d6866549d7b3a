//! JetStream: streams, publish with an ack (de-duplicated by `msg_id`), durable consumers with
//! ack and nak.

use std::ffi::c_char;
use std::sync::Mutex;
use std::time::Duration;

use natsbridge::{AckMode, ConsumerOptions, Error, ErrorKind, JetStreamConsumer, PublishAck};

use crate::alloc::give_to;
use crate::client::{check_subject, live_client, nb_client_t};
use crate::envelope::nb_envelope_t;
use crate::error::{arg, cstr, guard, nb_result_t, opt_cstr, out, put, text, R};
use crate::handle::{self, get, get_mut, get_opt, handle};
use crate::options::{nb_receive_options_t, nb_send_options_t, receive_opts, send_opts};
use crate::payloads::nb_payloads_t;
use crate::runtime::{block_on, block_on_timeout, duration};

/// Who acknowledges a JetStream delivery.
pub type nb_ack_mode_t = i32;
/// The library acks each envelope once it has been received completely (the default).
pub const NB_ACK_AUTO: nb_ack_mode_t = 0;
/// The caller acks (`nb_envelope_ack`) or naks (`nb_envelope_nak`) each envelope.
pub const NB_ACK_MANUAL: nb_ack_mode_t = 1;

/// Creates the stream `name` over `subjects` (an array of `subject_count` subjects, wildcards
/// allowed) unless it exists.
#[no_mangle]
pub unsafe extern "C" fn nb_jetstream_ensure_stream(
    client: *const nb_client_t,
    name: *const c_char,
    subjects: *const *const c_char,
    subject_count: usize,
) -> nb_result_t {
    guard(|| unsafe {
        let c = live_client(client)?;
        let name = cstr(name, "name")?;
        if subject_count > 0 && subjects.is_null() {
            return Err(arg("subjects is NULL but subject_count is not 0"));
        }
        let mut list = Vec::with_capacity(subject_count);
        for i in 0..subject_count {
            list.push(cstr(*subjects.add(i), "subjects[i]")?.to_owned());
        }
        block_on_timeout(Some(Duration::from_secs(30)), "creating a stream", c.ensure_stream(name, list))
    })
}

unsafe fn give_ack(
    ack: PublishAck,
    sequence: *mut u64,
    duplicate: *mut bool,
    stream: *mut *mut c_char,
    stream_len: *mut usize,
) -> R {
    unsafe {
        put(sequence, ack.sequence);
        put(duplicate, ack.duplicate);
        if !stream.is_null() {
            give_to(ack.stream.as_bytes(), stream.cast(), stream_len)?;
        }
    }
    Ok(())
}

/// Builds the envelope (as `nb_smartsend` does) and publishes it to JetStream with the header
/// `Nats-Msg-Id` = its `msg_id`, waiting for the stream's ack. Outputs (each may be NULL): the
/// stream's sequence number; whether the stream already had this `msg_id` (not stored again);
/// the stream's name (a new string, free with `nb_string_free`); the sent envelope (free with
/// `nb_envelope_free`). `options` may be NULL (defaults; `is_publish` is ignored).
#[no_mangle]
pub unsafe extern "C" fn nb_jetstream_publish(
    client: *const nb_client_t,
    subject: *const c_char,
    payloads: *const nb_payloads_t,
    options: *const nb_send_options_t,
    sequence: *mut u64,
    duplicate: *mut bool,
    stream: *mut *mut c_char,
    stream_len: *mut usize,
    sent: *mut *mut nb_envelope_t,
) -> nb_result_t {
    guard(|| unsafe {
        put(stream, std::ptr::null_mut());
        put(sent, std::ptr::null_mut());
        let c = live_client(client)?;
        let subject = check_subject(cstr(subject, "subject")?)?;
        let items = get(payloads, "payloads")?.items.clone();
        let o = send_opts(options)?;
        let (s, ack) = block_on_timeout(
            duration(o.timeout_ms),
            "JetStream publish",
            c.jetstream_publish(subject, items, &o.inner),
        )?;
        give_ack(ack, sequence, duplicate, stream, stream_len)?;
        if !sent.is_null() {
            handle::give(sent, nb_envelope_t::sent(s));
        }
        Ok(())
    })
}

/// Publishes envelope JSON (`len` bytes, e.g. `nb_envelope_json` of an envelope built with
/// `is_publish` false) to JetStream with `Nats-Msg-Id` = `msg_id`, waiting up to `timeout_ms`
/// (negative: no limit) for the ack. Publishing the same `msg_id` again (after a lost ack, say)
/// is de-duplicated by the stream. Outputs as for `nb_jetstream_publish`.
#[no_mangle]
pub unsafe extern "C" fn nb_jetstream_publish_json(
    client: *const nb_client_t,
    subject: *const c_char,
    msg_id: *const c_char,
    json: *const c_char,
    len: usize,
    timeout_ms: i64,
    sequence: *mut u64,
    duplicate: *mut bool,
    stream: *mut *mut c_char,
    stream_len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        put(stream, std::ptr::null_mut());
        let c = live_client(client)?;
        let subject = check_subject(cstr(subject, "subject")?)?;
        let msg_id = cstr(msg_id, "msg_id")?;
        let json = text(json, len, "json")?;
        let ack = block_on_timeout(
            duration(timeout_ms),
            "JetStream publish",
            c.jetstream_publish_json(subject, msg_id, json),
        )?;
        give_ack(ack, sequence, duplicate, stream, stream_len)
    })
}

/// Options of a durable consumer: all of the stream's subjects, `NB_ACK_AUTO`, ack wait 30000 ms,
/// nak delay 1000 ms, unlimited deliveries. Create with `nb_consumer_options_new`, free with
/// `nb_consumer_options_free` (safe on NULL and twice); `nb_js_consumer_new` copies them.
pub struct nb_consumer_options_t {
    inner: ConsumerOptions,
}
handle!(nb_consumer_options_t, 0x6e62_636f_6e73_0001, "nb_consumer_options_t");

/// New consumer options with the defaults.
#[no_mangle]
pub unsafe extern "C" fn nb_consumer_options_new(options: *mut *mut nb_consumer_options_t) -> nb_result_t {
    guard(|| unsafe {
        *out(options, "options")? = std::ptr::null_mut();
        handle::give(options, nb_consumer_options_t { inner: ConsumerOptions::default() });
        Ok(())
    })
}

/// Frees consumer options and sets `*options` to NULL. Safe on NULL and twice.
#[no_mangle]
pub unsafe extern "C" fn nb_consumer_options_free(options: *mut *mut nb_consumer_options_t) {
    crate::error::guard_void(|| unsafe { handle::free(options) })
}

/// Only messages on this subject (NULL: all of the stream's).
#[no_mangle]
pub unsafe extern "C" fn nb_consumer_options_set_filter_subject(
    options: *mut nb_consumer_options_t,
    subject: *const c_char,
) -> nb_result_t {
    guard(|| unsafe {
        get_mut(options, "options")?.inner.filter_subject = opt_cstr(subject, "subject")?.map(str::to_owned);
        Ok(())
    })
}

/// `NB_ACK_AUTO` or `NB_ACK_MANUAL`; anything else fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_consumer_options_set_ack_mode(
    options: *mut nb_consumer_options_t,
    mode: nb_ack_mode_t,
) -> nb_result_t {
    guard(|| unsafe {
        let o = get_mut(options, "options")?;
        o.inner.ack_mode = match mode {
            NB_ACK_AUTO => AckMode::Auto,
            NB_ACK_MANUAL => AckMode::Manual,
            other => return Err(arg(format!("{other} is not an ack mode (NB_ACK_AUTO, NB_ACK_MANUAL)"))),
        };
        Ok(())
    })
}

/// How long the server waits for an ack before redelivering, in milliseconds (> 0).
#[no_mangle]
pub unsafe extern "C" fn nb_consumer_options_set_ack_wait_ms(
    options: *mut nb_consumer_options_t,
    ms: u64,
) -> nb_result_t {
    guard(|| unsafe {
        if ms == 0 {
            return Err(arg("ack wait must be > 0 ms"));
        }
        get_mut(options, "options")?.inner.ack_wait = Duration::from_millis(ms);
        Ok(())
    })
}

/// The redelivery delay asked for when a claim-check download fails, in milliseconds.
#[no_mangle]
pub unsafe extern "C" fn nb_consumer_options_set_nak_delay_ms(
    options: *mut nb_consumer_options_t,
    ms: u64,
) -> nb_result_t {
    guard(|| unsafe {
        get_mut(options, "options")?.inner.nak_delay = Duration::from_millis(ms);
        Ok(())
    })
}

/// Deliveries before the server gives up on a message (negative: unlimited, the default).
#[no_mangle]
pub unsafe extern "C" fn nb_consumer_options_set_max_deliver(
    options: *mut nb_consumer_options_t,
    max_deliver: i64,
) -> nb_result_t {
    guard(|| unsafe {
        get_mut(options, "options")?.inner.max_deliver = if max_deliver < 0 { -1 } else { max_deliver };
        Ok(())
    })
}

/// A durable pull consumer. Create with `nb_js_consumer_new`, take envelopes with
/// `nb_js_consumer_next`, free with `nb_js_consumer_free` (safe on NULL and twice; the durable
/// consumer stays on the server).
pub struct nb_js_consumer_t {
    inner: tokio::sync::Mutex<JetStreamConsumer>,
    timeout_ms: i64,
}
handle!(nb_js_consumer_t, 0x6e62_6a73_636f_0001, "nb_js_consumer_t");

/// The durable consumer `durable` on `stream` (created unless it exists). `receive_options` and
/// `consumer_options` may be NULL (defaults). On success `*consumer` is a new handle the caller
/// frees.
#[no_mangle]
pub unsafe extern "C" fn nb_js_consumer_new(
    client: *const nb_client_t,
    stream: *const c_char,
    durable: *const c_char,
    receive_options: *const nb_receive_options_t,
    consumer_options: *const nb_consumer_options_t,
    consumer: *mut *mut nb_js_consumer_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(consumer, "consumer")? = std::ptr::null_mut();
        let c = live_client(client)?;
        let stream = cstr(stream, "stream")?;
        let durable = cstr(durable, "durable")?;
        let ro = receive_opts(receive_options)?;
        let co = get_opt(consumer_options, "consumer_options")?.map(|o| o.inner.clone()).unwrap_or_default();
        let cons = block_on_timeout(
            Some(Duration::from_secs(30)),
            "creating a consumer",
            c.jetstream_consumer(stream, durable, ro.inner.clone(), co),
        )?;
        handle::give(consumer, nb_js_consumer_t { inner: tokio::sync::Mutex::new(cons), timeout_ms: ro.timeout_ms });
        Ok(())
    })
}

/// The next envelope of the consumer, waiting at most `timeout_ms` (negative: no limit) for a
/// message; decoding (and a download handler) runs on the calling thread. On success
/// `*envelope` is a new envelope the caller frees; with `NB_ACK_AUTO` it has been acked already,
/// with `NB_ACK_MANUAL` call `nb_envelope_ack` or `nb_envelope_nak`. Fails with `NB_ERR_TIMEOUT`
/// when no message came in time, or with the decoding error of a message (one whose link payload
/// cannot be fetched now is naked for redelivery, one that can never decode is terminated).
#[no_mangle]
pub unsafe extern "C" fn nb_js_consumer_next(
    consumer: *const nb_js_consumer_t,
    timeout_ms: i64,
    envelope: *mut *mut nb_envelope_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(envelope, "envelope")? = std::ptr::null_mut();
        let c = get(consumer, "consumer")?;
        let wait = duration(timeout_ms);
        let delivery = block_on(async {
            let lock = async { Ok::<_, Error>(c.inner.lock().await) };
            let mut guard = match wait {
                Some(t) => tokio::time::timeout(t, lock)
                    .await
                    .map_err(|_| Error::new(ErrorKind::Timeout, "the consumer is busy with another call"))??,
                None => lock.await?,
            };
            let next = guard.next(wait);
            match duration(c.timeout_ms) {
                Some(limit) => tokio::time::timeout(limit + wait.unwrap_or_default(), next)
                    .await
                    .map_err(|_| Error::new(ErrorKind::Timeout, "receiving from the consumer took too long"))?,
                None => next.await,
            }
        })?;
        let Some(mut d) = delivery else {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("no message within {} ms", wait.map(|t| t.as_millis()).unwrap_or_default()),
            ));
        };
        let env = std::mem::take(&mut d.envelope);
        let mut e = nb_envelope_t::received(env);
        e.delivered = d.delivered;
        e.delivery = Some(Mutex::new(d));
        handle::give(envelope, e);
        Ok(())
    })
}

/// Frees a consumer handle and sets `*consumer` to NULL. Safe on NULL and twice.
#[no_mangle]
pub unsafe extern "C" fn nb_js_consumer_free(consumer: *mut *mut nb_js_consumer_t) {
    crate::error::guard_void(|| unsafe { handle::free(consumer) })
}

fn delivery(env: &nb_envelope_t) -> R<&Mutex<natsbridge::JsDelivery>> {
    env.delivery.as_ref().ok_or_else(|| arg("the envelope did not come from a JetStream consumer"))
}

/// Acknowledges a JetStream envelope (`NB_ACK_MANUAL`): the server will not deliver it again.
/// Acking twice, or an auto-acked envelope, is fine. An envelope that did not come from
/// `nb_js_consumer_next` fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_ack(envelope: *const nb_envelope_t) -> nb_result_t {
    guard(|| unsafe {
        let d = delivery(get(envelope, "envelope")?)?;
        let mut d = d.lock().unwrap_or_else(|p| p.into_inner());
        block_on_timeout(Some(Duration::from_secs(30)), "ack", d.ack())
    })
}

/// Asks the server to deliver a JetStream envelope again after `delay_ms` (negative: the
/// server's default). Fails with `NB_ERR_INVALID_ARGUMENT` when it has been acked already.
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_nak(envelope: *const nb_envelope_t, delay_ms: i64) -> nb_result_t {
    guard(|| unsafe {
        let d = delivery(get(envelope, "envelope")?)?;
        let mut d = d.lock().unwrap_or_else(|p| p.into_inner());
        block_on_timeout(Some(Duration::from_secs(30)), "nak", d.nak(duration(delay_ms)))
    })
}

/// How many times the server has delivered this JetStream envelope (1 on the first delivery).
#[no_mangle]
pub unsafe extern "C" fn nb_envelope_delivered(envelope: *const nb_envelope_t, delivered: *mut i64) -> nb_result_t {
    guard(|| unsafe {
        let o = out(delivered, "delivered")?;
        let env = get(envelope, "envelope")?;
        delivery(env)?;
        *o = env.delivered;
        Ok(())
    })
}
