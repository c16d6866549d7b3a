/* C tests of libnatsbridge that need no server: payloads of every type built and decoded through
   the ABI (direct, and by link through C upload and download handlers), the Arrow C stream
   interface both ways, every error path C can trigger without a network, and freeing twice. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "every_type.h"
#include "harness.h"
#include "mem_store.h"

static void test_names(void) {
    static const char *names[] = {"Ok", "InvalidEnvelope", "UnknownPayloadType", "BadEncoding", "SizeMismatch",
                                  "DigestMismatch", "EnvelopeTooLarge", "UploadFailed", "DownloadFailed",
                                  "PayloadNotFound", "OriginNotAllowed", "PayloadTooLarge", "Connection", "Timeout",
                                  "InvalidArgument", "JetStream", "Io", "Closed", "NoResponders", "Handler", "Publish",
                                  "Internal"};
    int i, all = 1;
    nb_payload_type_t t = -1;
    for (i = 0; i <= 21; i++) all &= strcmp(nb_result_name(i), names[i]) == 0;
    CHECK(all, "nb_result_name spells the engine's 22 names, codes 0..21");
    CHECK(NB_ERR_INVALID_ENVELOPE == 1 && NB_ERR_INVALID_ARGUMENT == 14 && NB_ERR_INTERNAL == 21,
          "codes are the engine's numbers");
    CHECK(strcmp(nb_result_name(99), "Unknown") == 0 && strcmp(nb_result_name(-3), "Unknown") == 0,
          "unknown codes are named Unknown");
    CHECK(strlen(nb_version()) > 0, "nb_version is %s", nb_version());
    CHECK(strcmp(nb_payload_type_name(NB_PAYLOAD_TEXT), "text") == 0 &&
              strcmp(nb_payload_type_name(NB_PAYLOAD_BINARY), "binary") == 0 && nb_payload_type_name(7) == NULL &&
              nb_payload_type_name(-1) == NULL,
          "payload type names");
    OK(nb_payload_type_from_name("arrowtable", &t));
    CHECK(t == NB_PAYLOAD_TABLE, "arrowtable reads as a table");
    EXPECT(nb_payload_type_from_name("spreadsheet", &t), NB_ERR_UNKNOWN_PAYLOAD_TYPE);
    CHECK(strstr(nb_last_error_message(), "spreadsheet") != NULL, "the message names the unknown type: %s",
          nb_last_error_message());
    CHECK(nb_last_error_code() == NB_ERR_UNKNOWN_PAYLOAD_TYPE, "nb_last_error_code keeps the last failure");
}

static void test_round_trip_direct(void) {
    nb_payloads_t *p = NULL;
    nb_send_options_t *o = NULL;
    nb_envelope_t *sent = NULL, *got = NULL, *again = NULL;
    const char *json = NULL, *s = NULL;
    size_t json_len = 0, len = 0;
    bool is_sent = false;
    char *canon = NULL;
    const nb_payload_t *pl = NULL;
    const uint8_t *ipc = NULL;
    size_t ipc_len = 0;
    nb_payloads_t *p2 = NULL;

    OK(nb_payloads_new(&p));
    CHECK(add_every_type(p, NULL, 0) == 7, "seven payloads added");
    OK(nb_send_options_new(&o));
    OK(nb_send_options_set_is_publish(o, false));
    OK(nb_send_options_set_msg_purpose(o, "updateStatus"));
    OK(nb_send_options_set_sender_name(o, "c-tests"));
    OK(nb_send_options_set_receiver_name(o, "r-name"));
    OK(nb_send_options_set_receiver_id(o, "r-id"));
    OK(nb_send_options_set_reply_to(o, "reply.here"));
    OK(nb_send_options_set_reply_to_msg_id(o, "m-0"));
    OK(nb_send_options_set_correlation_id(o, "corr-1"));
    OK(nb_send_options_set_msg_id(o, "msg-1"));
    OK(nb_send_options_set_sender_id(o, "sender-1"));
    OK(nb_send_options_set_broker_url(o, "nats://example.invalid:4222"));
    OK(nb_send_options_set_metadata_json(o, "{\"k\": [1, 2]}", 13));
    /* No client and is_publish false: the envelope is only built. */
    OK(nb_smartsend(NULL, "c.tests.direct", p, o, &sent));
    REQUIRE(sent != NULL, "a sent envelope came back");
    OK(nb_envelope_is_sent(sent, &is_sent));
    CHECK(is_sent, "it says it was sent");
    OK(nb_envelope_json(sent, &json, &json_len));
    CHECK(json && json_len == strlen(json) && strstr(json, "\"msg_purpose\":\"updateStatus\"") != NULL,
          "its JSON text carries the options");
    OK(nb_envelope_header(sent, "msg_id", &s, &len));
    CHECK(strcmp(s, "msg-1") == 0 && len == 5, "sent msg_id");
    OK(nb_envelope_payload(sent, 0, &pl));
    OK(nb_payload_bytes(pl, &ipc, &ipc_len));
    CHECK(ipc_len == TEXT_LEN, "a sent direct payload has its serialized bytes");
    EXPECT(nb_payload_text(pl, &s, &len), NB_ERR_INVALID_ARGUMENT);
    OK(nb_envelope_to_json(sent, &canon, &len));
    CHECK(canon && strstr(canon, "serialized_base64") != NULL, "canonical JSON of a sent envelope");
    nb_string_free(&canon);

    OK(nb_smartreceive((const uint8_t *)json, json_len, NULL, &got));
    REQUIRE(got != NULL, "the JSON decodes");
    check_every_type(got, NB_TRANSPORT_DIRECT, "direct");
    {
        static const char *fields[][2] = {{"correlation_id", "corr-1"}, {"msg_id", "msg-1"},
                                          {"send_to", "c.tests.direct"}, {"msg_purpose", "updateStatus"},
                                          {"sender_name", "c-tests"},   {"sender_id", "sender-1"},
                                          {"receiver_name", "r-name"},  {"receiver_id", "r-id"},
                                          {"reply_to", "reply.here"},   {"reply_to_msg_id", "m-0"},
                                          {"broker_url", "nats://example.invalid:4222"},
                                          {"metadata", "{\"k\":[1,2]}"}};
        size_t i;
        int all = 1;
        for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            if (nb_envelope_header(got, fields[i][0], &s, &len) != NB_OK || strcmp(s, fields[i][1]) != 0 ||
                len != strlen(fields[i][1])) {
                printf("# header %s = %s\n", fields[i][0], s ? s : "(null)");
                all = 0;
            }
        }
        CHECK(all, "every header field round-trips");
        OK(nb_envelope_header(got, "timestamp", &s, &len));
        CHECK(len == 24 && s[23] == 'Z', "timestamp %s", s);
    }
    OK(nb_envelope_is_sent(got, &is_sent));
    CHECK(!is_sent, "a received envelope says so");
    EXPECT(nb_envelope_json(got, &s, &len), NB_ERR_INVALID_ARGUMENT);
    OK(nb_envelope_to_json(got, &canon, &len));
    CHECK(canon && strstr(canon, "\"value\":{\"text\":") != NULL && strlen(canon) == len, "canonical JSON");
    nb_string_free(&canon);

    /* The table's IPC bytes go back in as a table payload. */
    OK(nb_envelope_payload_by_name(got, "table", &pl));
    OK(nb_payload_table_ipc(pl, &ipc, &ipc_len));
    OK(nb_payloads_new(&p2));
    CHECK(add_every_type(p2, ipc, ipc_len) == 8, "eight payloads, one table from IPC bytes");
    nb_envelope_free(&sent);
    OK(nb_smartsend(NULL, "c.tests.ipc", p2, o, &sent));
    OK(nb_envelope_json(sent, &json, &json_len));
    OK(nb_smartreceive((const uint8_t *)json, json_len, NULL, &again));
    OK(nb_envelope_payload_by_name(again, "table_ipc", &pl));
    {
        struct ArrowArrayStream stream;
        demo_table_summary sum;
        OK(nb_payload_table_arrow_stream(pl, &stream));
        sum = demo_read_stream(&stream);
        CHECK(sum.ok && sum.rows == 5 && sum.id_sum == 15, "a table sent from IPC bytes reads back");
    }
    /* A sent payload list can be sent again, cleared and freed. */
    OK(nb_payloads_len(p2, &len));
    CHECK(len == 8, "the list still holds 8 payloads after sending");
    OK(nb_payloads_clear(p2));
    OK(nb_payloads_len(p2, &len));
    CHECK(len == 0, "cleared");

    nb_envelope_free(&again);
    nb_envelope_free(&got);
    nb_envelope_free(&sent);
    nb_payloads_free(&p2);
    nb_payloads_free(&p);
    nb_send_options_free(&o);
}

static void test_round_trip_link_handlers(void) {
    mem_store store;
    nb_payloads_t *p = NULL;
    nb_send_options_t *o = NULL;
    nb_receive_options_t *r = NULL;
    nb_envelope_t *sent = NULL, *got = NULL;
    const char *json = NULL, *url = NULL;
    size_t json_len = 0, count = 0, i, len = 0;
    const nb_payload_t *pl = NULL;
    int all_link = 1;
    nb_transport_t tr;

    mem_store_init(&store);
    OK(nb_payloads_new(&p));
    CHECK(add_every_type(p, NULL, 0) == 7, "seven payloads");
    OK(nb_send_options_new(&o));
    OK(nb_send_options_set_is_publish(o, false));
    OK(nb_send_options_set_size_threshold(o, 0)); /* everything by link */
    OK(nb_send_options_set_fileserver_url(o, "http://store.example"));
    OK(nb_send_options_set_uploader(o, mem_uploader(&store)));
    OK(nb_smartsend(NULL, "c.tests.link", p, o, &sent));
    CHECK(store.uploads == 7, "the C upload handler ran once per payload (%d)", store.uploads);
    CHECK(store.wrong_thread == 0, "upload handler calls ran on the calling thread");
    CHECK(strcmp(store.last_fileserver, "http://store.example") == 0, "the handler got fileserver_url");
    OK(nb_envelope_payload_count(sent, &count));
    for (i = 0; i < count; i++) {
        OK(nb_envelope_payload(sent, i, &pl));
        OK(nb_payload_transport(pl, &tr));
        all_link &= tr == NB_TRANSPORT_LINK;
    }
    CHECK(all_link, "every payload went by link");
    OK(nb_payload_url(pl, &url, &len));
    CHECK(strncmp(url, "http://127.0.0.1:9/mem/", 23) == 0, "a sent link payload has the handler's URL %s", url);
    OK(nb_envelope_json(sent, &json, &json_len));

    OK(nb_receive_options_new(&r));
    OK(nb_receive_options_set_max_retries(r, 3));
    OK(nb_receive_options_set_base_delay_ms(r, 10));
    OK(nb_receive_options_set_max_delay_ms(r, 40));
    OK(nb_receive_options_set_downloader(r, mem_downloader(&store)));
    OK(nb_smartreceive((const uint8_t *)json, json_len, r, &got));
    REQUIRE(got != NULL, "the link envelope decodes through the C download handler");
    check_every_type(got, NB_TRANSPORT_LINK, "link");
    CHECK(store.downloads == 7, "the download handler ran once per payload (%d)", store.downloads);
    CHECK(store.wrong_thread == 0, "download handler calls ran on the calling thread");
    CHECK(store.last_max_retries == 3 && store.last_base_delay_ms == 10 && store.last_max_delay_ms == 40,
          "the download handler got the retry options");
    nb_envelope_free(&got);

    /* Fetched bytes are checked: digest, size. */
    store.corrupt = 1;
    EXPECT(nb_smartreceive((const uint8_t *)json, json_len, r, &got), NB_ERR_DIGEST_MISMATCH);
    CHECK(got == NULL, "no envelope on failure");
    store.corrupt = 0;
    store.truncate = 1;
    EXPECT(nb_smartreceive((const uint8_t *)json, json_len, r, &got), NB_ERR_SIZE_MISMATCH);
    store.truncate = 0;
    /* Handler failures: a kept NB_ERR_* code, or NB_ERR_HANDLER for anything else. */
    store.fail_with = NB_ERR_PAYLOAD_NOT_FOUND;
    EXPECT(nb_smartreceive((const uint8_t *)json, json_len, r, &got), NB_ERR_PAYLOAD_NOT_FOUND);
    store.fail_with = 12345;
    EXPECT(nb_smartreceive((const uint8_t *)json, json_len, r, &got), NB_ERR_HANDLER);
    CHECK(strstr(nb_last_error_message(), "mem store is down") != NULL, "the handler's message is kept: %s",
          nb_last_error_message());
    {
        nb_envelope_t *failed = NULL;
        EXPECT(nb_smartsend(NULL, "c.tests.link", p, o, &failed), NB_ERR_HANDLER);
        CHECK(failed == NULL, "no sent envelope on failure");
        store.fail_with = NB_ERR_UPLOAD_FAILED;
        EXPECT(nb_smartsend(NULL, "c.tests.link", p, o, &failed), NB_ERR_UPLOAD_FAILED);
    }
    store.fail_with = 0;

    /* Save to a directory: link payloads land in files. */
    {
        char dir[] = "/tmp/nb-c-save-XXXXXX";
        const char *path = NULL;
        bool in_file = false;
        unsigned char *content;
        size_t clen = 0;
        nb_envelope_t *sent2 = NULL;
        const char *json2 = NULL;
        size_t json2_len = 0;
        REQUIRE(mkdtemp(dir) != NULL, "temp dir");
        OK(nb_smartsend(NULL, "c.tests.link", p, o, &sent2));
        OK(nb_envelope_json(sent2, &json2, &json2_len));
        OK(nb_receive_options_set_save_dir(r, dir));
        OK(nb_smartreceive((const uint8_t *)json2, json2_len, r, &got));
        OK(nb_envelope_payload_by_name(got, "video", &pl));
        OK(nb_payload_in_file(pl, &in_file));
        CHECK(in_file, "a link payload saved to the directory");
        OK(nb_payload_file_path(pl, &path, &len));
        content = t_read_file(path, &clen);
        CHECK(content && clen == 1000, "the file holds the payload's bytes (%zu)", clen);
        free(content);
        EXPECT(nb_payload_bytes(pl, (const uint8_t **)&content, &clen), NB_ERR_INVALID_ARGUMENT);
        OK(nb_envelope_payload_by_name(got, "binary", &pl));
        OK(nb_payload_file_path(pl, &path, &len));
        unlink(path);
        OK(nb_envelope_payload_by_name(got, "video", &pl));
        OK(nb_payload_file_path(pl, &path, &len));
        unlink(path);
        {
            size_t k;
            OK(nb_envelope_payload_count(got, &count));
            for (k = 0; k < count; k++) {
                OK(nb_envelope_payload(got, k, &pl));
                if (nb_payload_file_path(pl, &path, &len) == NB_OK) unlink(path);
            }
        }
        CHECK(rmdir(dir) == 0, "the save dir held only the payload files");
        nb_envelope_free(&got);
        nb_envelope_free(&sent2);
        OK(nb_receive_options_set_save_dir(r, NULL));
    }

    /* The in-memory cap and the origin allow-list refuse before fetching. */
    store.downloads = 0;
    OK(nb_receive_options_set_max_in_memory(r, 10));
    EXPECT(nb_smartreceive((const uint8_t *)json, json_len, r, &got), NB_ERR_PAYLOAD_TOO_LARGE);
    OK(nb_receive_options_set_max_in_memory(r, 1u << 30));
    OK(nb_receive_options_add_allowed_origin(r, "http://only.example:80"));
    EXPECT(nb_smartreceive((const uint8_t *)json, json_len, r, &got), NB_ERR_ORIGIN_NOT_ALLOWED);
    CHECK(store.downloads == 0, "nothing was fetched from a refused origin");
    OK(nb_receive_options_add_allowed_origin(r, "http://127.0.0.1:9"));
    OK(nb_smartreceive((const uint8_t *)json, json_len, r, &got));
    nb_envelope_free(&got);
    OK(nb_receive_options_clear_allowed_origins(r));

    /* Drop runs once, when the last options holding the handler go. */
    CHECK(store.drops == 0, "no drop while the options live");
    nb_send_options_free(&o);
    CHECK(store.drops == 1, "the upload handler was dropped with its options");
    OK(nb_receive_options_set_http_fetcher(r));
    CHECK(store.drops == 2, "replacing the download handler dropped it");
    nb_receive_options_free(&r);
    CHECK(store.drops == 2, "and only once");
    /* A handler given to a call that fails is dropped at once. */
    {
        nb_upload_handler_t h = mem_uploader(&store);
        EXPECT(nb_send_options_set_uploader(NULL, h), NB_ERR_INVALID_ARGUMENT);
        CHECK(store.drops == 3, "a handler refused with the call is dropped at once");
        h.call = NULL;
        OK(nb_send_options_new(&o));
        EXPECT(nb_send_options_set_uploader(o, h), NB_ERR_INVALID_ARGUMENT);
        CHECK(store.drops == 4, "a handler without call is refused and dropped");
        nb_send_options_free(&o);
    }
    nb_envelope_free(&sent);
    nb_payloads_free(&p);
    mem_store_clear(&store);
}

static void test_errors(void) {
    nb_payloads_t *p = NULL;
    nb_envelope_t *env = NULL;
    nb_client_t *c = NULL;
    nb_send_options_t *o = NULL;
    nb_receive_options_t *r = NULL;
    nb_connect_options_t *co = NULL;
    nb_consumer_options_t *cons = NULL;
    const char *s = NULL;
    size_t len = 0;
    const nb_payload_t *pl = NULL;
    static const char bad_utf8[] = {'a', (char)0xff, (char)0xfe, 0};
    static const char unknown_type[] =
        "{\"payloads\":[{\"dataname\":\"x\",\"payload_type\":\"spreadsheet\",\"transport\":\"direct\","
        "\"size\":2,\"data\":\"aGk=\"}]}";
    static const char bad_b64[] =
        "{\"payloads\":[{\"dataname\":\"x\",\"payload_type\":\"text\",\"transport\":\"direct\","
        "\"size\":2,\"data\":\"a*k=\"}]}";
    static const char one_text[] =
        "{\"msg_id\":\"m\",\"payloads\":[{\"dataname\":\"x\",\"payload_type\":\"binary\",\"transport\":\"direct\","
        "\"size\":2,\"data\":\"aGk=\"}]}";

    /* NULL arguments. */
    EXPECT(nb_payloads_new(NULL), NB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(nb_last_error_message(), "NULL") != NULL, "the message says what was NULL: %s",
          nb_last_error_message());
    EXPECT(nb_payloads_add_text(NULL, "x", "a", 1), NB_ERR_INVALID_ARGUMENT);
    OK(nb_payloads_new(&p));
    EXPECT(nb_payloads_add_text(p, NULL, "a", 1), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payloads_add_text(p, "x", NULL, 5), NB_ERR_INVALID_ARGUMENT);
    OK(nb_payloads_add_text(p, "empty", NULL, 0));
    EXPECT(nb_smartreceive(NULL, 10, NULL, &env), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_smartreceive((const uint8_t *)one_text, strlen(one_text), NULL, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_envelope_header(NULL, "msg_id", &s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_envelope_payload_count(NULL, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payload_name(NULL, &s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_client_connect(NULL, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_client_connect_url(NULL, &c), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_smartsend(NULL, NULL, p, NULL, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_smartsend(NULL, "s", NULL, NULL, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_smartrequest(NULL, "s", p, NULL, NULL, 100, &env), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_reply(NULL, NULL, p, NULL, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_subscribe(NULL, "s", NULL, NULL, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_subscription_next(NULL, 0, &env), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_js_consumer_next(NULL, 0, &env), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_client_close(NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_client_publish(NULL, "s", NULL, 0, NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_jetstream_ensure_stream(NULL, "S", NULL, 0), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_out_set(NULL, (const uint8_t *)"x", 1), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_send_options_set_broker_url(NULL, "nats://x"), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payloads_add_table_arrow_stream(p, "t", NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_envelope_ack(NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_plik_upload(NULL, "x", NULL, 0, NULL, NULL), NB_ERR_INVALID_ARGUMENT);

    /* Bad UTF-8 and bad values. */
    EXPECT(nb_payloads_add_text(p, "x", bad_utf8, 3), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payloads_add_text(p, bad_utf8, "a", 1), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payloads_add_dictionary(p, "d", "{nope", 5), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payloads_add_table_ipc(p, "t", (const uint8_t *)"not arrow", 9), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payloads_add_bytes(p, "b", NB_PAYLOAD_TEXT, (const uint8_t *)bad_utf8, 3), NB_ERR_INVALID_ARGUMENT);
    OK(nb_send_options_new(&o));
    EXPECT(nb_send_options_set_metadata_json(o, "[1]", 3), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_send_options_set_metadata_json(o, "{", 1), NB_ERR_INVALID_ARGUMENT);
    OK(nb_send_options_set_metadata_json(o, NULL, 0));
    OK(nb_connect_options_new(NULL, &co));
    EXPECT(nb_connect_options_set_user_password(co, "user", NULL), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_connect_options_set_tls_client_cert(co, NULL, "key.pem"), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_connect_options_set_connect_timeout_ms(co, 0), NB_ERR_INVALID_ARGUMENT);
    OK(nb_consumer_options_new(&cons));
    EXPECT(nb_consumer_options_set_ack_mode(cons, 7), NB_ERR_INVALID_ARGUMENT);
    OK(nb_consumer_options_set_ack_mode(cons, NB_ACK_MANUAL));

    /* Unknown payload type: from C, and in an envelope. */
    EXPECT(nb_payloads_add_bytes(p, "b", 99, (const uint8_t *)"x", 1), NB_ERR_UNKNOWN_PAYLOAD_TYPE);
    EXPECT(nb_payloads_add_bytes(p, "b", -1, (const uint8_t *)"x", 1), NB_ERR_UNKNOWN_PAYLOAD_TYPE);
    EXPECT(nb_payloads_add_file(p, "f", 42, "/etc/hostname"), NB_ERR_UNKNOWN_PAYLOAD_TYPE);
    EXPECT(nb_smartreceive((const uint8_t *)unknown_type, strlen(unknown_type), NULL, &env),
           NB_ERR_UNKNOWN_PAYLOAD_TYPE);

    /* Bad envelope bytes. */
    EXPECT(nb_smartreceive((const uint8_t *)"not json", 8, NULL, &env), NB_ERR_INVALID_ENVELOPE);
    EXPECT(nb_smartreceive((const uint8_t *)"", 0, NULL, &env), NB_ERR_INVALID_ENVELOPE);
    EXPECT(nb_smartreceive(NULL, 0, NULL, &env), NB_ERR_INVALID_ENVELOPE);
    EXPECT(nb_smartreceive((const uint8_t *)"\xff\xfe\x00\x01", 4, NULL, &env), NB_ERR_INVALID_ENVELOPE);
    EXPECT(nb_smartreceive((const uint8_t *)"{\"payloads\": 3}", 15, NULL, &env), NB_ERR_INVALID_ENVELOPE);
    EXPECT(nb_smartreceive((const uint8_t *)bad_b64, strlen(bad_b64), NULL, &env), NB_ERR_BAD_ENCODING);
    /* A length shorter than the text: the JSON is cut off. */
    EXPECT(nb_smartreceive((const uint8_t *)one_text, strlen(one_text) - 3, NULL, &env), NB_ERR_INVALID_ENVELOPE);
    CHECK(env == NULL, "no envelope after a failure");

    /* Reading with the wrong accessor, a bad index, an unknown header field. */
    OK(nb_smartreceive((const uint8_t *)one_text, strlen(one_text), NULL, &env));
    EXPECT(nb_envelope_header(env, "nonsense", &s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_envelope_payload(env, 1, &pl), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_envelope_payload_by_name(env, "nope", &pl), NB_ERR_INVALID_ARGUMENT);
    OK(nb_envelope_payload(env, 0, &pl));
    EXPECT(nb_payload_text(pl, &s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payload_dictionary_json(pl, &s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payload_table_ipc(pl, (const uint8_t **)&s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payload_file_path(pl, &s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payload_url(pl, &s, &len), NB_ERR_INVALID_ARGUMENT);
    OK(nb_payload_metadata_json(pl, &s, &len));
    CHECK(s == NULL && len == 0, "no payload metadata reads as NULL");
    EXPECT(nb_envelope_ack(env), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_envelope_nak(env, 0), NB_ERR_INVALID_ARGUMENT);
    {
        int64_t d = 0;
        EXPECT(nb_envelope_delivered(env, &d), NB_ERR_INVALID_ARGUMENT);
    }
    /* A handle of another type is refused without touching it. */
    EXPECT(nb_envelope_payload_count((const nb_envelope_t *)p, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payloads_len((const nb_payloads_t *)env, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_payload_name((const nb_payload_t *)env, &s, &len), NB_ERR_INVALID_ARGUMENT);
    EXPECT(nb_client_close((const nb_client_t *)o), NB_ERR_INVALID_ARGUMENT);

    /* A freed handle (a copy of the pointer kept by mistake) is refused. */
    {
        nb_envelope_t *copy = env;
        nb_envelope_free(&env);
        CHECK(env == NULL, "free sets the handle to NULL");
        EXPECT(nb_envelope_payload_count(copy, &len), NB_ERR_INVALID_ARGUMENT);
        nb_envelope_free(&copy); /* refused, not freed twice */
        CHECK(copy == NULL, "freeing a stale copy only NULLs it");
    }

    /* Sending: a file that does not exist, an envelope that cannot fit, an unreachable broker. */
    {
        nb_payloads_t *f = NULL;
        OK(nb_payloads_new(&f));
        OK(nb_payloads_add_file(f, "missing", NB_PAYLOAD_BINARY, "/nonexistent/natsbridge/file.bin"));
        OK(nb_send_options_set_is_publish(o, false));
        EXPECT(nb_smartsend(NULL, "s", f, o, NULL), NB_ERR_IO);
        OK(nb_send_options_set_max_payload(o, 40));
        EXPECT(nb_smartsend(NULL, "s", p, o, NULL), NB_ERR_ENVELOPE_TOO_LARGE);
        OK(nb_send_options_set_max_payload(o, 0));
        EXPECT(nb_smartsend(NULL, "bad subject", p, o, NULL), NB_ERR_INVALID_ARGUMENT);
        OK(nb_send_options_set_is_publish(o, true));
        OK(nb_send_options_set_broker_url(o, "nats://127.0.0.1:1"));
        EXPECT(nb_smartsend(NULL, "s", p, o, NULL), NB_ERR_CONNECTION);
        nb_payloads_free(&f);
    }
    EXPECT(nb_client_connect_url("nats://127.0.0.1:1", &c), NB_ERR_CONNECTION);
    CHECK(c == NULL, "no client after a failed connect");
    EXPECT(nb_client_connect_url("::not a url::", &c), NB_ERR_INVALID_ARGUMENT);
    OK(nb_connect_options_set_connect_timeout_ms(co, 500));
    OK(nb_connect_options_add_server(co, "nats://127.0.0.1:1"));
    EXPECT(nb_client_connect(co, &c), NB_ERR_CONNECTION);

    /* The store helpers. */
    {
        char *url = NULL;
        uint8_t *bytes = NULL;
        EXPECT(nb_plik_upload("ftp://nowhere", "x", (const uint8_t *)"a", 1, &url, NULL), NB_ERR_INVALID_ARGUMENT);
        CHECK(url == NULL, "no URL on failure");
        OK(nb_receive_options_new(&r));
        OK(nb_receive_options_set_max_retries(r, 1));
        EXPECT(nb_http_fetch("http://127.0.0.1:1/x", r, &bytes, &len), NB_ERR_DOWNLOAD_FAILED);
        CHECK(bytes == NULL, "no bytes on failure");
    }

    /* Free twice, free NULL: every handle type. */
    nb_payloads_free(&p);
    nb_payloads_free(&p);
    nb_payloads_free(NULL);
    nb_send_options_free(&o);
    nb_send_options_free(&o);
    nb_receive_options_free(&r);
    nb_receive_options_free(&r);
    nb_connect_options_free(&co);
    nb_connect_options_free(&co);
    nb_consumer_options_free(&cons);
    nb_consumer_options_free(&cons);
    nb_envelope_free(&env);
    nb_envelope_free(NULL);
    nb_client_free(&c);
    nb_client_free(NULL);
    {
        nb_subscription_t *sub = NULL;
        nb_js_consumer_t *jc = NULL;
        char *str = NULL;
        uint8_t *bytes = NULL;
        nb_subscription_free(&sub);
        nb_subscription_free(NULL);
        nb_js_consumer_free(&jc);
        nb_js_consumer_free(NULL);
        nb_string_free(&str);
        nb_string_free(NULL);
        nb_bytes_free(&bytes);
        nb_bytes_free(NULL);
    }
    CHECK(p == NULL && o == NULL && r == NULL && co == NULL && cons == NULL && env == NULL,
          "every handle is NULL after free, freeing twice and NULL is harmless");
    {
        nb_envelope_t *e = NULL;
        char *canon = NULL;
        size_t n = 0;
        OK(nb_smartreceive((const uint8_t *)one_text, strlen(one_text), NULL, &e));
        OK(nb_envelope_to_json(e, &canon, &n));
        nb_string_free(&canon);
        CHECK(canon == NULL, "nb_string_free NULLs the pointer");
        nb_string_free(&canon);
        nb_envelope_free(&e);
        nb_envelope_free(&e);
        CHECK(e == NULL, "an envelope freed twice");
    }
}

typedef struct {
    const nb_envelope_t *env;
    int ok;
} reader_arg;

static void *read_from_thread(void *a) {
    reader_arg *ra = (reader_arg *)a;
    const nb_payload_t *pl = NULL;
    const char *s = NULL;
    size_t len = 0;
    int i;
    ra->ok = 1;
    for (i = 0; i < 200; i++) {
        if (nb_envelope_payload(ra->env, 0, &pl) != NB_OK || nb_payload_bytes(pl, (const uint8_t **)&s, &len) != NB_OK ||
            len != 2)
            ra->ok = 0;
    }
    return NULL;
}

static void test_threads(void) {
    static const char one[] =
        "{\"payloads\":[{\"dataname\":\"x\",\"payload_type\":\"binary\",\"transport\":\"direct\",\"size\":2,"
        "\"data\":\"aGk=\"}]}";
    nb_envelope_t *env = NULL;
    pthread_t th[4];
    reader_arg args[4];
    int i, all = 1;
    OK(nb_smartreceive((const uint8_t *)one, strlen(one), NULL, &env));
    for (i = 0; i < 4; i++) {
        args[i].env = env;
        pthread_create(&th[i], NULL, read_from_thread, &args[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        all &= args[i].ok;
    }
    CHECK(all, "four threads read one envelope at once");
    nb_envelope_free(&env);
}

int main(void) {
    printf("# test_basic: libnatsbridge %s\n", nb_version());
    test_names();
    test_round_trip_direct();
    test_round_trip_link_handlers();
    test_errors();
    test_threads();
    return t_done();
}
