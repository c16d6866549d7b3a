/* C tests of libnatsbridge against a real nats-server (with JetStream) and the built-in file
   server: every payload type by both transports, big payloads by link, request-reply, C upload
   and download handlers, callback and polling subscriptions, queue groups, JetStream publish and
   durable consumers (ack, nak, auto-ack), timeouts, closed clients.
   Environment: NATS_URL (nats://127.0.0.1:4222), FILESERVER_URL (http://127.0.0.1:8080). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "every_type.h"
#include "harness.h"

static const char *NATS_URL;
static const char *FILESERVER_URL;
/* Generous: the same tests run under valgrind. */
static const int64_t WAIT_MS = 30000;

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static nb_client_t *connect_or_die(void) {
    nb_client_t *c = NULL;
    nb_connect_options_t *o = NULL;
    OK(nb_connect_options_new(NATS_URL, &o));
    OK(nb_connect_options_set_name(o, "natsbridge-c-tests"));
    OK(nb_connect_options_set_max_reconnects(o, 5));
    OK(nb_connect_options_set_connect_timeout_ms(o, 10000));
    EXPECT(nb_client_connect(o, &c), NB_OK);
    nb_connect_options_free(&o);
    REQUIRE(c != NULL, "connected to %s", NATS_URL);
    return c;
}

static nb_send_options_t *send_options(uint64_t threshold) {
    nb_send_options_t *o = NULL;
    OK(nb_send_options_new(&o));
    OK(nb_send_options_set_fileserver_url(o, FILESERVER_URL));
    OK(nb_send_options_set_broker_url(o, NATS_URL));
    OK(nb_send_options_set_size_threshold(o, threshold));
    return o;
}

static void test_every_type_both_transports(nb_client_t *c) {
    nb_subscription_t *sub = NULL;
    nb_payloads_t *p = NULL;
    nb_send_options_t *direct = send_options(1000000), *link = send_options(0);
    nb_envelope_t *sent = NULL, *env = NULL;
    size_t max_payload = 0;

    OK(nb_client_max_payload(c, &max_payload));
    CHECK(max_payload >= 1024 * 1024, "server max_payload %zu", max_payload);
    OK(nb_subscribe(c, "c.nats.types", NULL, NULL, &sub));
    OK(nb_payloads_new(&p));
    CHECK(add_every_type(p, NULL, 0) == 7, "seven payloads");

    OK(nb_smartsend(c, "c.nats.types", p, direct, &sent));
    OK(nb_subscription_next(sub, WAIT_MS, &env));
    REQUIRE(env != NULL, "received the direct envelope");
    check_every_type(env, NB_TRANSPORT_DIRECT, "nats direct");
    {
        const char *a = NULL, *b = NULL;
        OK(nb_envelope_header(sent, "msg_id", &a, NULL));
        OK(nb_envelope_header(env, "msg_id", &b, NULL));
        CHECK(a && b && strcmp(a, b) == 0, "the received msg_id is the sent one");
    }
    nb_envelope_free(&env);
    nb_envelope_free(&sent);

    OK(nb_smartsend(c, "c.nats.types", p, link, NULL));
    OK(nb_subscription_next(sub, WAIT_MS, &env));
    REQUIRE(env != NULL, "received the link envelope");
    check_every_type(env, NB_TRANSPORT_LINK, "nats link (file server)");
    nb_envelope_free(&env);

    nb_subscription_free(&sub);
    nb_payloads_free(&p);
    nb_send_options_free(&direct);
    nb_send_options_free(&link);
}

static void test_big_payloads(nb_client_t *c) {
    const size_t big = 2 * 1024 * 1024;
    unsigned char *data = (unsigned char *)malloc(big);
    nb_subscription_t *sub = NULL;
    nb_payloads_t *p = NULL;
    nb_send_options_t *o = send_options(1000000);
    nb_envelope_t *env = NULL;
    const nb_payload_t *pl = NULL;
    const uint8_t *b = NULL;
    size_t len = 0;
    nb_transport_t tr = -1;
    char path[] = "/tmp/nb-c-big-XXXXXX";
    int fd;
    FILE *f;

    fill_pattern(data, big, 9);
    fd = mkstemp(path);
    f = fdopen(fd, "wb");
    fwrite(data, 1, big, f);
    fclose(f);

    OK(nb_subscribe(c, "c.nats.big", NULL, NULL, &sub));
    OK(nb_payloads_new(&p));
    OK(nb_payloads_add_text(p, "note", "two big ones", 12));
    OK(nb_payloads_add_bytes(p, "big.bin", NB_PAYLOAD_BINARY, data, big));
    OK(nb_payloads_add_file(p, "big-file.bin", NB_PAYLOAD_VIDEO, path));
    OK(nb_smartsend(c, "c.nats.big", p, o, NULL));
    OK(nb_subscription_next(sub, WAIT_MS, &env));
    REQUIRE(env != NULL, "received the big envelope");
    OK(nb_envelope_payload_by_name(env, "big.bin", &pl));
    OK(nb_payload_transport(pl, &tr));
    CHECK(tr == NB_TRANSPORT_LINK, "a 2 MB payload goes by link on its own");
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(len == big && memcmp(b, data, big) == 0, "2 MB binary intact");
    OK(nb_envelope_payload_by_name(env, "big-file.bin", &pl));
    OK(nb_payload_transport(pl, &tr));
    CHECK(tr == NB_TRANSPORT_LINK, "a 2 MB file payload goes by link");
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(len == big && memcmp(b, data, big) == 0, "2 MB file streamed and intact");
    OK(nb_envelope_payload_by_name(env, "note", &pl));
    OK(nb_payload_transport(pl, &tr));
    CHECK(tr == NB_TRANSPORT_DIRECT, "the small one stays direct");
    nb_envelope_free(&env);

    /* Just under the threshold still cannot travel direct (base64 would not fit max_payload). */
    OK(nb_payloads_clear(p));
    OK(nb_payloads_add_bytes(p, "999999.bin", NB_PAYLOAD_BINARY, data, 999999));
    OK(nb_smartsend(c, "c.nats.big", p, o, NULL));
    OK(nb_subscription_next(sub, WAIT_MS, &env));
    OK(nb_envelope_payload(env, 0, &pl));
    OK(nb_payload_transport(pl, &tr));
    CHECK(tr == NB_TRANSPORT_LINK, "999999 bytes are moved to link so that the envelope fits");
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(len == 999999 && memcmp(b, data, len) == 0, "and arrive intact");
    nb_envelope_free(&env);

    unlink(path);
    free(data);
    nb_subscription_free(&sub);
    nb_payloads_free(&p);
    nb_send_options_free(&o);
}

/* A responder: a callback subscription that answers every request with "pong: <text>". */
typedef struct {
    nb_client_t *client;
    pthread_mutex_t lock;
    int calls, replies, failures, drops, errors;
    pthread_t thread;
    nb_envelope_t *kept; /* one envelope taken out of the callback */
} responder;

static void respond(void *ctx, nb_result_t status, nb_envelope_t **envelope) {
    responder *r = (responder *)ctx;
    nb_payloads_t *p = NULL;
    const nb_payload_t *pl = NULL;
    const char *text = NULL;
    size_t len = 0;
    char answer[256];
    pthread_mutex_lock(&r->lock);
    r->calls++;
    r->thread = pthread_self();
    pthread_mutex_unlock(&r->lock);
    if (status != NB_OK) {
        pthread_mutex_lock(&r->lock);
        r->errors++;
        pthread_mutex_unlock(&r->lock);
        return;
    }
    if (nb_envelope_payload(*envelope, 0, &pl) != NB_OK || nb_payload_text(pl, &text, &len) != NB_OK) {
        text = "?";
        len = 1;
    }
    snprintf(answer, sizeof answer, "pong: %.*s", (int)len, text);
    nb_payloads_new(&p);
    nb_payloads_add_text(p, "answer", answer, strlen(answer));
    pthread_mutex_lock(&r->lock);
    if (nb_reply(r->client, *envelope, p, NULL, NULL) == NB_OK)
        r->replies++;
    else
        r->failures++;
    if (!r->kept) {
        r->kept = *envelope; /* take ownership */
        *envelope = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    nb_payloads_free(&p);
}

static void responder_drop(void *ctx) {
    responder *r = (responder *)ctx;
    pthread_mutex_lock(&r->lock);
    r->drops++;
    pthread_mutex_unlock(&r->lock);
}

static void test_request_reply(nb_client_t *c) {
    responder r;
    nb_envelope_callback_t cb;
    nb_subscription_t *svc = NULL, *silent = NULL;
    nb_payloads_t *p = NULL;
    nb_send_options_t *o = send_options(1000000);
    nb_envelope_t *reply = NULL;
    const nb_payload_t *pl = NULL;
    const char *s = NULL;
    size_t len = 0;
    int i, all = 1;

    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.lock, NULL);
    r.client = c;
    cb.context = &r;
    cb.call = respond;
    cb.drop = responder_drop;
    OK(nb_subscribe_callback(c, "c.nats.svc", NULL, NULL, cb, &svc));
    OK(nb_payloads_new(&p));
    OK(nb_payloads_add_text(p, "question", "ping", 4));
    OK(nb_send_options_set_msg_id(o, "req-1"));
    OK(nb_send_options_set_correlation_id(o, "corr-rr"));
    OK(nb_smartrequest(c, "c.nats.svc", p, o, NULL, WAIT_MS, &reply));
    REQUIRE(reply != NULL, "a reply came back");
    OK(nb_envelope_payload(reply, 0, &pl));
    OK(nb_payload_text(pl, &s, &len));
    CHECK(strcmp(s, "pong: ping") == 0, "the reply answers the request: %s", s);
    OK(nb_envelope_header(reply, "reply_to_msg_id", &s, NULL));
    CHECK(strcmp(s, "req-1") == 0, "reply_to_msg_id is the request's msg_id");
    OK(nb_envelope_header(reply, "correlation_id", &s, NULL));
    CHECK(strcmp(s, "corr-rr") == 0, "the correlation_id is kept");
    nb_envelope_free(&reply);

    /* A few more, one after another. */
    OK(nb_send_options_set_msg_id(o, NULL));
    for (i = 0; i < 5; i++) {
        all &= nb_smartrequest(c, "c.nats.svc", p, o, NULL, WAIT_MS, &reply) == NB_OK && reply != NULL;
        nb_envelope_free(&reply);
    }
    CHECK(all, "five more requests answered");
    pthread_mutex_lock(&r.lock);
    CHECK(r.calls == 6 && r.replies == 6 && r.failures == 0 && r.errors == 0, "the callback ran 6 times (%d/%d)",
          r.calls, r.replies);
    CHECK(!pthread_equal(r.thread, pthread_self()), "the callback ran on the subscription's own thread");
    CHECK(r.kept != NULL, "the callback kept an envelope by taking it");
    pthread_mutex_unlock(&r.lock);

    /* Nobody listening; somebody listening who never answers. */
    EXPECT(nb_smartrequest(c, "c.nats.nobody.home", p, o, NULL, WAIT_MS, &reply), NB_ERR_NO_RESPONDERS);
    OK(nb_subscribe(c, "c.nats.silent", NULL, NULL, &silent));
    EXPECT(nb_smartrequest(c, "c.nats.silent", p, o, NULL, 300, &reply), NB_ERR_TIMEOUT);
    CHECK(reply == NULL, "no reply on timeout");
    /* The silent subscriber did get the request, with reply_to set. */
    OK(nb_subscription_next(silent, WAIT_MS, &reply));
    OK(nb_envelope_header(reply, "reply_to", &s, &len));
    CHECK(len > 0, "a request carries reply_to (%s)", s);
    nb_envelope_free(&reply);
    EXPECT(nb_subscription_next(silent, 200, &reply), NB_ERR_TIMEOUT);
    EXPECT(nb_subscription_next(silent, 0, &reply), NB_ERR_TIMEOUT);
    /* A callback subscription is not polled. */
    EXPECT(nb_subscription_next(svc, 0, &reply), NB_ERR_INVALID_ARGUMENT);

    nb_subscription_free(&svc);
    nb_subscription_free(&svc);
    CHECK(r.drops == 1, "the callback's drop ran exactly once when the subscription was freed");
    nb_envelope_free(&r.kept);
    nb_subscription_free(&silent);
    nb_payloads_free(&p);
    nb_send_options_free(&o);
    pthread_mutex_destroy(&r.lock);
}

/* C handlers that wrap the library's own store helpers (Plik upload, HTTP fetch). */
typedef struct {
    int uploads, downloads, drops, wrong_thread;
    pthread_t caller;
} wrap_ctx;

static nb_result_t wrap_upload(void *ctx, const char *fileserver_url, const char *dataname, const uint8_t *data,
                               size_t len, nb_out_t *url_out) {
    wrap_ctx *w = (wrap_ctx *)ctx;
    char *url = NULL;
    size_t url_len = 0;
    nb_result_t rc;
    w->uploads++;
    if (!pthread_equal(pthread_self(), w->caller)) w->wrong_thread++;
    rc = nb_plik_upload(fileserver_url, dataname, data, len, &url, &url_len);
    if (rc != NB_OK) return rc;
    rc = nb_out_set(url_out, (const uint8_t *)url, url_len);
    nb_string_free(&url);
    return rc;
}

static nb_result_t wrap_download(void *ctx, const char *url, uint64_t size, uint32_t max_retries,
                                 uint64_t base_delay_ms, uint64_t max_delay_ms, nb_out_t *bytes_out) {
    wrap_ctx *w = (wrap_ctx *)ctx;
    uint8_t *bytes = NULL;
    size_t len = 0;
    nb_receive_options_t *r = NULL;
    nb_result_t rc;
    (void)size;
    w->downloads++;
    if (!pthread_equal(pthread_self(), w->caller)) w->wrong_thread++;
    nb_receive_options_new(&r);
    nb_receive_options_set_max_retries(r, max_retries);
    nb_receive_options_set_base_delay_ms(r, base_delay_ms);
    nb_receive_options_set_max_delay_ms(r, max_delay_ms);
    rc = nb_http_fetch(url, r, &bytes, &len);
    nb_receive_options_free(&r);
    if (rc != NB_OK) return rc;
    rc = nb_out_set(bytes_out, bytes, len);
    nb_bytes_free(&bytes);
    return rc;
}

static void wrap_drop(void *ctx) { ((wrap_ctx *)ctx)->drops++; }

static void test_c_handlers(nb_client_t *c) {
    wrap_ctx w;
    nb_upload_handler_t up;
    nb_download_handler_t down;
    nb_send_options_t *o = send_options(0);
    nb_receive_options_t *r = NULL;
    nb_subscription_t *sub = NULL;
    nb_payloads_t *p = NULL;
    nb_envelope_t *env = NULL;

    memset(&w, 0, sizeof w);
    w.caller = pthread_self();
    up.context = &w;
    up.call = wrap_upload;
    up.drop = wrap_drop;
    down.context = &w;
    down.call = wrap_download;
    down.drop = wrap_drop;
    OK(nb_send_options_set_uploader(o, up));
    OK(nb_receive_options_new(&r));
    OK(nb_receive_options_set_downloader(r, down));
    OK(nb_subscribe(c, "c.nats.handlers", NULL, r, &sub));
    OK(nb_payloads_new(&p));
    CHECK(add_every_type(p, NULL, 0) == 7, "seven payloads");
    OK(nb_smartsend(c, "c.nats.handlers", p, o, NULL));
    CHECK(w.uploads == 7, "the C upload handler stored every payload (%d)", w.uploads);
    OK(nb_subscription_next(sub, WAIT_MS, &env));
    REQUIRE(env != NULL, "received through the C download handler");
    check_every_type(env, NB_TRANSPORT_LINK, "C handlers");
    CHECK(w.downloads == 7, "the C download handler fetched every payload (%d)", w.downloads);
    CHECK(w.wrong_thread == 0, "both handlers ran on the calling (polling) thread");
    nb_envelope_free(&env);
    nb_subscription_free(&sub);
    nb_receive_options_free(&r);
    CHECK(w.drops == 1, "the download handler was dropped once nothing used it");
    nb_send_options_free(&o);
    CHECK(w.drops == 2, "the upload handler was dropped with its options");
    nb_payloads_free(&p);
}

/* A callback subscription that only counts, to see drop after the client closes. */
typedef struct {
    pthread_mutex_t lock;
    int calls, drops;
} counter;

static void count_call(void *ctx, nb_result_t status, nb_envelope_t **envelope) {
    counter *k = (counter *)ctx;
    (void)status;
    (void)envelope;
    pthread_mutex_lock(&k->lock);
    k->calls++;
    pthread_mutex_unlock(&k->lock);
}

static void count_drop(void *ctx) {
    counter *k = (counter *)ctx;
    pthread_mutex_lock(&k->lock);
    k->drops++;
    pthread_mutex_unlock(&k->lock);
}

static void test_queue_shared_two_step(nb_client_t *c) {
    nb_subscription_t *a = NULL, *b = NULL, *plain = NULL;
    nb_payloads_t *p = NULL;
    nb_send_options_t *o = send_options(1000000);
    nb_envelope_t *env = NULL, *sent = NULL;
    int i, got = 0;
    const char *json = NULL, *s = NULL;
    size_t len = 0;

    OK(nb_subscribe(c, "c.nats.queue", "workers", NULL, &a));
    OK(nb_subscribe(c, "c.nats.queue", "workers", NULL, &b));
    OK(nb_payloads_new(&p));
    OK(nb_payloads_add_text(p, "job", "work", 4));
    for (i = 0; i < 6; i++) OK(nb_smartsend(c, "c.nats.queue", p, o, NULL));
    for (;;) {
        if (nb_subscription_next(a, 500, &env) == NB_OK) {
            got++;
            nb_envelope_free(&env);
        } else if (nb_subscription_next(b, 500, &env) == NB_OK) {
            got++;
            nb_envelope_free(&env);
        } else {
            break;
        }
    }
    CHECK(got == 6, "a queue group gets each message once (%d of 6)", got);
    nb_subscription_free(&a);
    nb_subscription_free(&b);

    /* No client: one shared connection per broker_url. */
    OK(nb_subscribe(c, "c.nats.shared", NULL, NULL, &plain));
    OK(nb_smartsend(NULL, "c.nats.shared", p, o, NULL));
    OK(nb_subscription_next(plain, WAIT_MS, &env));
    CHECK(env != NULL, "smartsend without a client reaches the subscriber");
    nb_envelope_free(&env);

    /* Two steps: build with is_publish false, publish the JSON. */
    OK(nb_send_options_set_is_publish(o, false));
    OK(nb_smartsend(c, "c.nats.shared", p, o, &sent));
    EXPECT(nb_subscription_next(plain, 300, &env), NB_ERR_TIMEOUT);
    OK(nb_envelope_json(sent, &json, &len));
    OK(nb_client_publish(c, "c.nats.shared", (const uint8_t *)json, len, NULL));
    OK(nb_subscription_next(plain, WAIT_MS, &env));
    OK(nb_envelope_header(env, "msg_id", &s, NULL));
    {
        const char *m = NULL;
        OK(nb_envelope_header(sent, "msg_id", &m, NULL));
        CHECK(strcmp(s, m) == 0, "the two-step envelope arrives as built");
    }
    nb_envelope_free(&env);
    /* A plain NATS request (reply subject on the message, none in the envelope) fills reply_to. */
    OK(nb_client_publish(c, "c.nats.shared", (const uint8_t *)json, len, "c.nats.inbox.manual"));
    OK(nb_subscription_next(plain, WAIT_MS, &env));
    OK(nb_envelope_header(env, "reply_to", &s, NULL));
    CHECK(strcmp(s, "c.nats.inbox.manual") == 0, "reply_to falls back to the message's reply subject");
    nb_envelope_free(&env);
    /* Garbage on the subject: that message fails, the subscription goes on. */
    OK(nb_client_publish(c, "c.nats.shared", (const uint8_t *)"garbage", 7, NULL));
    EXPECT(nb_subscription_next(plain, WAIT_MS, &env), NB_ERR_INVALID_ENVELOPE);
    OK(nb_client_publish(c, "c.nats.shared", (const uint8_t *)json, len, NULL));
    OK(nb_subscription_next(plain, WAIT_MS, &env));
    CHECK(env != NULL, "the subscription goes on after a bad message");
    nb_envelope_free(&env);
    EXPECT(nb_client_publish(c, "bad subject", (const uint8_t *)json, len, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_subscribe(c, "", NULL, NULL, &a), NB_ERR_INVALID_ARGUMENT);

    /* A send timeout. */
    OK(nb_send_options_set_is_publish(o, true));
    OK(nb_send_options_set_size_threshold(o, 0));
    OK(nb_send_options_set_timeout_ms(o, 0));
    EXPECT(nb_smartsend(c, "c.nats.shared", p, o, NULL), NB_ERR_TIMEOUT);

    nb_envelope_free(&sent);
    nb_subscription_free(&plain);
    nb_payloads_free(&p);
    nb_send_options_free(&o);
}

static void test_link_failures(nb_client_t *c) {
    nb_payloads_t *p = NULL;
    nb_send_options_t *o = send_options(0);
    nb_receive_options_t *r = NULL;
    nb_envelope_t *sent = NULL, *env = NULL;
    const char *json = NULL, *path = NULL;
    size_t len = 0;
    const nb_payload_t *pl = NULL;
    char dir[] = "/tmp/nb-c-save-XXXXXX";
    unsigned char *content;
    size_t clen = 0;
    (void)c;

    OK(nb_payloads_new(&p));
    OK(nb_payloads_add_bytes(p, "one.bin", NB_PAYLOAD_BINARY, (const uint8_t *)"0123456789", 10));
    OK(nb_send_options_set_is_publish(o, false));
    OK(nb_smartsend(NULL, "c.nats.oneshot", p, o, &sent));
    OK(nb_envelope_json(sent, &json, &len));
    OK(nb_receive_options_new(&r));
    OK(nb_receive_options_set_max_retries(r, 2));
    OK(nb_receive_options_set_base_delay_ms(r, 10));
    OK(nb_receive_options_add_allowed_origin(r, "http://127.0.0.1:1"));
    EXPECT(nb_smartreceive((const uint8_t *)json, len, r, &env), NB_ERR_ORIGIN_NOT_ALLOWED);
    OK(nb_receive_options_clear_allowed_origins(r));
    OK(nb_receive_options_add_allowed_origin(r, FILESERVER_URL));
    REQUIRE(mkdtemp(dir) != NULL, "temp dir");
    OK(nb_receive_options_set_save_dir(r, dir));
    OK(nb_smartreceive((const uint8_t *)json, len, r, &env));
    OK(nb_envelope_payload(env, 0, &pl));
    OK(nb_payload_file_path(pl, &path, NULL));
    content = t_read_file(path, &clen);
    CHECK(content && clen == 10 && memcmp(content, "0123456789", 10) == 0, "a link payload streamed to a file");
    free(content);
    unlink(path);
    rmdir(dir);
    nb_envelope_free(&env);
    /* One-shot: the store (started with --delete-one-shot, as Plik behaves) deleted it. */
    OK(nb_receive_options_set_save_dir(r, NULL));
    EXPECT(nb_smartreceive((const uint8_t *)json, len, r, &env), NB_ERR_PAYLOAD_NOT_FOUND);
    /* Nothing listens there. */
    OK(nb_send_options_set_fileserver_url(o, "http://127.0.0.1:1"));
    EXPECT(nb_smartsend(NULL, "c.nats.oneshot", p, o, NULL), NB_ERR_UPLOAD_FAILED);
    nb_envelope_free(&sent);
    nb_receive_options_free(&r);
    nb_payloads_free(&p);
    nb_send_options_free(&o);
}

static void test_jetstream(nb_client_t *c) {
    static const char *subjects[] = {"ctest.>"};
    nb_payloads_t *p = NULL;
    nb_send_options_t *o = send_options(1000000);
    nb_consumer_options_t *co = NULL;
    nb_js_consumer_t *manual = NULL, *autoack = NULL;
    nb_envelope_t *sent = NULL, *env = NULL;
    uint64_t seq = 0, seq2 = 0;
    bool dup = true;
    char *stream = NULL;
    size_t len = 0;
    const char *json = NULL, *s = NULL;
    int64_t delivered = 0;

    OK(nb_jetstream_ensure_stream(c, "CTEST", subjects, 1));
    OK(nb_jetstream_ensure_stream(c, "CTEST", subjects, 1));
    OK(nb_payloads_new(&p));
    OK(nb_payloads_add_text(p, "event", "stored", 6));
    OK(nb_send_options_set_msg_id(o, "js-1"));
    OK(nb_jetstream_publish(c, "ctest.events", p, o, &seq, &dup, &stream, &len, &sent));
    CHECK(seq >= 1 && !dup, "JetStream stored it (seq %llu)", (unsigned long long)seq);
    CHECK(stream && strcmp(stream, "CTEST") == 0 && len == 5, "in stream %s", stream ? stream : "(null)");
    nb_string_free(&stream);
    OK(nb_envelope_json(sent, &json, &len));
    OK(nb_jetstream_publish_json(c, "ctest.events", "js-1", json, len, WAIT_MS, &seq2, &dup, NULL, NULL));
    CHECK(dup && seq2 == seq, "the same msg_id again is a duplicate, not stored twice");
    OK(nb_send_options_set_msg_id(o, NULL));
    OK(nb_send_options_set_size_threshold(o, 0));
    OK(nb_jetstream_publish(c, "ctest.links", p, o, &seq2, NULL, NULL, NULL, NULL));
    CHECK(seq2 == seq + 1, "a link envelope stored next");
    EXPECT(nb_jetstream_publish(c, "ctest.events", NULL, o, NULL, NULL, NULL, NULL, NULL), NB_ERR_INVALID_ARGUMENT);

    /* Manual acks: nak, redelivery, ack. */
    OK(nb_consumer_options_new(&co));
    OK(nb_consumer_options_set_ack_mode(co, NB_ACK_MANUAL));
    OK(nb_consumer_options_set_filter_subject(co, "ctest.events"));
    OK(nb_consumer_options_set_ack_wait_ms(co, 30000));
    OK(nb_consumer_options_set_nak_delay_ms(co, 100));
    OK(nb_consumer_options_set_max_deliver(co, -1));
    OK(nb_js_consumer_new(c, "CTEST", "c-manual", NULL, co, &manual));
    OK(nb_js_consumer_next(manual, WAIT_MS, &env));
    REQUIRE(env != NULL, "a JetStream delivery");
    OK(nb_envelope_header(env, "msg_id", &s, NULL));
    CHECK(strcmp(s, "js-1") == 0, "the stored envelope");
    OK(nb_envelope_delivered(env, &delivered));
    CHECK(delivered == 1, "first delivery");
    OK(nb_envelope_nak(env, 0));
    EXPECT(nb_envelope_nak(env, 0), NB_ERR_INVALID_ARGUMENT);
    nb_envelope_free(&env);
    OK(nb_js_consumer_next(manual, WAIT_MS, &env));
    REQUIRE(env != NULL, "a redelivery");
    OK(nb_envelope_header(env, "msg_id", &s, NULL));
    OK(nb_envelope_delivered(env, &delivered));
    CHECK(strcmp(s, "js-1") == 0 && delivered == 2, "naked, so delivered again (%lld)", (long long)delivered);
    OK(nb_envelope_ack(env));
    OK(nb_envelope_ack(env));
    nb_envelope_free(&env);
    EXPECT(nb_js_consumer_next(manual, 300, &env), NB_ERR_TIMEOUT);
    nb_js_consumer_free(&manual);
    nb_js_consumer_free(&manual);

    /* Auto acks, a link payload by JetStream. (Link payloads sit in a one-shot store: one consumer
       fetches each, so this consumer is the only one on ctest.links.) */
    OK(nb_consumer_options_set_ack_mode(co, NB_ACK_AUTO));
    OK(nb_consumer_options_set_filter_subject(co, "ctest.links"));
    OK(nb_js_consumer_new(c, "CTEST", "c-auto", NULL, co, &autoack));
    OK(nb_js_consumer_next(autoack, WAIT_MS, &env));
    REQUIRE(env != NULL, "an auto-acked delivery");
    {
        const nb_payload_t *pl = NULL;
        nb_transport_t tr = -1;
        OK(nb_envelope_payload(env, 0, &pl));
        OK(nb_payload_transport(pl, &tr));
        CHECK(tr == NB_TRANSPORT_LINK, "the link envelope by JetStream");
        OK(nb_payload_text(pl, &s, &len));
        CHECK(len == 6 && memcmp(s, "stored", 6) == 0, "fetched from the file server");
    }
    OK(nb_envelope_ack(env)); /* acked already: fine */
    nb_envelope_free(&env);
    EXPECT(nb_js_consumer_next(autoack, 300, &env), NB_ERR_TIMEOUT);
    nb_js_consumer_free(&autoack);
    /* The durable consumer remembers its place. */
    OK(nb_js_consumer_new(c, "CTEST", "c-auto", NULL, co, &autoack));
    EXPECT(nb_js_consumer_next(autoack, 300, &env), NB_ERR_TIMEOUT);
    nb_js_consumer_free(&autoack);
    EXPECT(nb_js_consumer_new(c, "NO-SUCH-STREAM", "x", NULL, NULL, &autoack), NB_ERR_JETSTREAM);

    nb_consumer_options_free(&co);
    nb_envelope_free(&sent);
    nb_payloads_free(&p);
    nb_send_options_free(&o);
}

static void test_closed_client(void) {
    nb_client_t *c = NULL;
    nb_subscription_t *sub = NULL, *cbsub = NULL;
    nb_payloads_t *p = NULL;
    nb_envelope_t *env = NULL;
    counter k;
    nb_envelope_callback_t cb;
    int i;

    memset(&k, 0, sizeof k);
    pthread_mutex_init(&k.lock, NULL);
    cb.context = &k;
    cb.call = count_call;
    cb.drop = count_drop;
    OK(nb_client_connect_url(NATS_URL, &c));
    OK(nb_subscribe(c, "c.nats.closing", NULL, NULL, &sub));
    OK(nb_subscribe_callback(c, "c.nats.closing", NULL, NULL, cb, &cbsub));
    OK(nb_payloads_new(&p));
    OK(nb_payloads_add_text(p, "x", "y", 1));
    OK(nb_smartsend(c, "c.nats.closing", p, NULL, NULL));
    OK(nb_client_flush(c, WAIT_MS));
    OK(nb_client_close(c));
    OK(nb_client_close(c));
    EXPECT(nb_smartsend(c, "c.nats.closing", p, NULL, NULL), NB_ERR_CLOSED);
    EXPECT(nb_client_flush(c, 1000), NB_ERR_CLOSED);
    {
        nb_subscription_t *s2 = NULL;
        EXPECT(nb_subscribe(c, "c.nats.closing", NULL, NULL, &s2), NB_ERR_CLOSED);
    }
    EXPECT(nb_smartrequest(c, "c.nats.closing", p, NULL, NULL, 100, &env), NB_ERR_CLOSED);
    EXPECT(nb_jetstream_publish(c, "ctest.x", p, NULL, NULL, NULL, NULL, NULL, NULL), NB_ERR_CLOSED);
    /* The subscription delivers what arrived before closing (maybe), then says it is closed. */
    {
        nb_result_t rc;
        while ((rc = nb_subscription_next(sub, WAIT_MS, &env)) == NB_OK) nb_envelope_free(&env);
        CHECK(rc == NB_ERR_CLOSED, "a subscription of a closed client ends with Closed (%s)", nb_result_name(rc));
        EXPECT(nb_subscription_next(sub, 0, &env), NB_ERR_CLOSED);
    }
    for (i = 0; i < 100; i++) {
        int d;
        pthread_mutex_lock(&k.lock);
        d = k.drops;
        pthread_mutex_unlock(&k.lock);
        if (d) break;
        sleep_ms(50);
    }
    CHECK(k.drops == 1, "closing the client ended the callback subscription: drop ran once");
    nb_subscription_free(&cbsub);
    CHECK(k.drops == 1, "and freeing it does not drop again");
    nb_subscription_free(&sub);
    nb_client_free(&c);
    nb_client_free(&c);
    CHECK(c == NULL, "client freed twice");
    nb_payloads_free(&p);
    pthread_mutex_destroy(&k.lock);
}

static void test_unsubscribe(nb_client_t *c) {
    nb_subscription_t *sub = NULL;
    nb_envelope_t *env = NULL;
    OK(nb_subscribe(c, "c.nats.unsub", NULL, NULL, &sub));
    OK(nb_subscription_unsubscribe(sub));
    OK(nb_subscription_unsubscribe(sub));
    EXPECT(nb_subscription_next(sub, 100, &env), NB_ERR_CLOSED);
    nb_subscription_free(&sub);
}

int main(void) {
    nb_client_t *c;
    NATS_URL = t_env("NATS_URL", "nats://127.0.0.1:4222");
    FILESERVER_URL = t_env("FILESERVER_URL", "http://127.0.0.1:8080");
    printf("# test_nats: libnatsbridge %s, NATS %s, file server %s\n", nb_version(), NATS_URL, FILESERVER_URL);
    c = connect_or_die();
    test_every_type_both_transports(c);
    test_big_payloads(c);
    test_request_reply(c);
    test_c_handlers(c);
    test_queue_shared_two_step(c);
    test_link_failures(c);
    test_jetstream(c);
    test_unsubscribe(c);
    test_closed_client();
    OK(nb_client_close(c));
    nb_client_free(&c);
    return t_done();
}
