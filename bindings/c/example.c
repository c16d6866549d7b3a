/* example.c: send mixed payloads with libnatsbridge, receive them, print them.
 *
 *   cc example.c $(pkg-config --cflags --libs natsbridge) -o example
 *   ./example [nats_url] [fileserver_url] [table.arrows]
 *
 * Defaults: nats://localhost:4222 and http://localhost:8080 (start them with `nats-server -js`
 * and `natsbridge serve-files`). It sends one envelope with a text, a dictionary, a table (from an
 * Arrow IPC stream file when given, else built through the Arrow C stream interface), a small
 * PNG image and a 2 MB binary (which goes by link through the file server), then receives it on
 * a polling subscription and prints every payload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_demo.h"
#include "natsbridge.h"

/* Stops with the library's message when a call fails. */
#define TRY(call)                                                                                  \
    do {                                                                                           \
        nb_result_t rc_ = (call);                                                                  \
        if (rc_ != NB_OK) {                                                                        \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, nb_result_name(rc_), nb_last_error_message()); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* A 1x1 PNG. */
static const unsigned char PNG_1X1[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00,
    0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff,
    0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static void print_payload(const nb_payload_t *p) {
    const char *name = NULL, *s = NULL;
    const uint8_t *bytes = NULL;
    size_t len = 0;
    nb_payload_type_t type;
    nb_transport_t transport;
    uint64_t size;
    TRY(nb_payload_name(p, &name, NULL));
    TRY(nb_payload_type(p, &type));
    TRY(nb_payload_transport(p, &transport));
    TRY(nb_payload_size(p, &size));
    printf("  %-12s %-10s %-6s %8llu bytes  ", name, nb_payload_type_name(type),
           transport == NB_TRANSPORT_LINK ? "link" : "direct", (unsigned long long)size);
    switch (type) {
    case NB_PAYLOAD_TEXT:
        TRY(nb_payload_text(p, &s, &len));
        printf("\"%.*s\"\n", (int)len, s);
        break;
    case NB_PAYLOAD_DICTIONARY:
        TRY(nb_payload_dictionary_json(p, &s, &len));
        printf("%.*s\n", (int)len, s);
        break;
    case NB_PAYLOAD_TABLE: {
        struct ArrowArrayStream stream;
        size_t rows = 0, cols = 0;
        demo_table_summary sum;
        TRY(nb_payload_table_shape(p, &rows, &cols));
        TRY(nb_payload_table_ipc(p, &bytes, &len));
        printf("%zu rows x %zu columns (%zu bytes of Arrow IPC)", rows, cols, len);
        TRY(nb_payload_table_arrow_stream(p, &stream));
        sum = demo_read_stream(&stream); /* reads and releases the stream */
        if (sum.ok) printf(", first name %s, sum of ids %lld", sum.first_name, (long long)sum.id_sum);
        printf("\n");
        break;
    }
    default:
        TRY(nb_payload_bytes(p, &bytes, &len));
        printf("%02x %02x %02x %02x ...\n", len > 0 ? bytes[0] : 0, len > 1 ? bytes[1] : 0, len > 2 ? bytes[2] : 0,
               len > 3 ? bytes[3] : 0);
    }
}

int main(int argc, char **argv) {
    const char *nats_url = argc > 1 ? argv[1] : "nats://localhost:4222";
    const char *fileserver_url = argc > 2 ? argv[2] : "http://localhost:8080";
    const char *table_file = argc > 3 ? argv[3] : NULL;
    const char *dict = "{\"unit\":\"celsius\",\"readings\":[21.5,22.0,22.4],\"ok\":true}";
    const size_t big_len = 2 * 1024 * 1024;
    unsigned char *big = (unsigned char *)malloc(big_len);
    nb_client_t *client = NULL;
    nb_subscription_t *sub = NULL;
    nb_payloads_t *payloads = NULL;
    nb_send_options_t *opts = NULL;
    nb_envelope_t *sent = NULL, *received = NULL;
    const char *msg_id = NULL, *sender = NULL;
    size_t i, count = 0;

    for (i = 0; i < big_len; i++) big[i] = (unsigned char)(i * 7);

    printf("libnatsbridge %s: NATS %s, file server %s\n", nb_version(), nats_url, fileserver_url);
    TRY(nb_client_connect_url(nats_url, &client));
    TRY(nb_subscribe(client, "example.mixed", NULL, NULL, &sub));

    /* The payloads: each add copies its input. */
    TRY(nb_payloads_new(&payloads));
    TRY(nb_payloads_add_text(payloads, "greeting", "Hello from C!", 13));
    TRY(nb_payloads_add_dictionary(payloads, "sensor", dict, strlen(dict)));
    if (table_file) {
        size_t len = 0;
        unsigned char *ipc = NULL;
        FILE *f = fopen(table_file, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            len = (size_t)ftell(f);
            fseek(f, 0, SEEK_SET);
            ipc = (unsigned char *)malloc(len);
            if (fread(ipc, 1, len, f) != len) len = 0;
            fclose(f);
        }
        TRY(nb_payloads_add_table_ipc(payloads, "table", ipc, len));
        free(ipc);
    } else {
        struct ArrowArrayStream stream;
        demo_table_stream(&stream, 3); /* moved into the library, which releases it */
        TRY(nb_payloads_add_table_arrow_stream(payloads, "table", &stream));
    }
    TRY(nb_payloads_add_bytes(payloads, "pixel.png", NB_PAYLOAD_IMAGE, PNG_1X1, sizeof PNG_1X1));
    TRY(nb_payloads_add_bytes(payloads, "big.bin", NB_PAYLOAD_BINARY, big, big_len));
    free(big);

    TRY(nb_send_options_new(&opts));
    TRY(nb_send_options_set_fileserver_url(opts, fileserver_url));
    TRY(nb_send_options_set_sender_name(opts, "c-example"));
    TRY(nb_smartsend(client, "example.mixed", payloads, opts, &sent));
    TRY(nb_envelope_header(sent, "msg_id", &msg_id, NULL));
    printf("sent envelope %s\n", msg_id);

    TRY(nb_subscription_next(sub, 30000, &received));
    TRY(nb_envelope_header(received, "msg_id", &msg_id, NULL));
    TRY(nb_envelope_header(received, "sender_name", &sender, NULL));
    TRY(nb_envelope_payload_count(received, &count));
    printf("received envelope %s from %s with %zu payloads:\n", msg_id, sender, count);
    for (i = 0; i < count; i++) {
        const nb_payload_t *p = NULL;
        TRY(nb_envelope_payload(received, i, &p));
        print_payload(p);
    }

    /* Free everything (each free takes the address and NULLs it: safe twice). */
    nb_envelope_free(&received);
    nb_envelope_free(&sent);
    nb_send_options_free(&opts);
    nb_payloads_free(&payloads);
    nb_subscription_free(&sub);
    TRY(nb_client_close(client));
    nb_client_free(&client);
    printf("done\n");
    return 0;
}
