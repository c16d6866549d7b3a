/* The C participant of the interop matrix, through libnatsbridge. Protocol: tests/interop/README.md.
 * Sending reads a prepared case file (the runner writes each payload's serialized bytes to a
 * file, since C has no JSON or Arrow library of its own here):
 *   CASE <threshold> <fileserver_url> <correlation_id or ->
 *   P <dataname> <type> <path>
 *   END
 * Receiving prints nb_envelope_to_json, one line per envelope. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natsbridge.h"

static void die(const char *what, nb_result_t rc) {
    fprintf(stderr, "%s failed: %s: %s\n", what, nb_result_name(rc), nb_last_error_message());
    exit(1);
}
#define CHECK(what, call) do { nb_result_t rc_ = (call); if (rc_ != NB_OK) die(what, rc_); } while (0)

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void print_envelope(const nb_envelope_t *env) {
    char *json = NULL;
    size_t len = 0;
    CHECK("nb_envelope_to_json", nb_envelope_to_json(env, &json, &len));
    fwrite(json, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    nb_string_free(&json);
}

static void serve(nb_client_t *client, const char *subject, long count, int echo) {
    nb_subscription_t *sub = NULL;
    CHECK("nb_subscribe", nb_subscribe(client, subject, NULL, NULL, &sub));
    fprintf(stderr, "ready\n");
    for (long i = 0; i < count; i++) {
        nb_envelope_t *env = NULL;
        nb_result_t rc = nb_subscription_next(sub, 60000, &env);
        if (rc != NB_OK) {
            printf("{\"error\": \"%s\", \"message\": \"%s\"}\n", nb_result_name(rc), "see stderr");
            fprintf(stderr, "%s\n", nb_last_error_message());
            fflush(stdout);
            continue;
        }
        if (echo) {
            /* Answer with the request's own payloads, rebuilt through the C API. */
            nb_payloads_t *back = NULL;
            size_t n = 0;
            CHECK("nb_payloads_new", nb_payloads_new(&back));
            CHECK("nb_envelope_payload_count", nb_envelope_payload_count(env, &n));
            for (size_t k = 0; k < n; k++) {
                const nb_payload_t *p = NULL;
                const char *name = NULL;
                nb_payload_type_t type;
                CHECK("nb_envelope_payload", nb_envelope_payload(env, k, &p));
                CHECK("nb_payload_name", nb_payload_name(p, &name, NULL));
                CHECK("nb_payload_type", nb_payload_type(p, &type));
                const uint8_t *data = NULL;
                size_t len = 0;
                if (type == NB_PAYLOAD_TEXT) {
                    const char *t = NULL;
                    CHECK("nb_payload_text", nb_payload_text(p, &t, &len));
                    CHECK("add_text", nb_payloads_add_text(back, name, t, len));
                } else if (type == NB_PAYLOAD_DICTIONARY) {
                    const char *j = NULL;
                    CHECK("nb_payload_dictionary_json", nb_payload_dictionary_json(p, &j, &len));
                    CHECK("add_dictionary", nb_payloads_add_dictionary(back, name, j, len));
                } else if (type == NB_PAYLOAD_TABLE) {
                    const uint8_t *ipc = NULL;
                    CHECK("nb_payload_table_ipc", nb_payload_table_ipc(p, &ipc, &len));
                    CHECK("add_table_ipc", nb_payloads_add_table_ipc(back, name, ipc, len));
                } else {
                    CHECK("nb_payload_bytes", nb_payload_bytes(p, &data, &len));
                    CHECK("add_bytes", nb_payloads_add_bytes(back, name, type, data, len));
                }
            }
            CHECK("nb_reply", nb_reply(client, env, back, NULL, NULL));
            nb_payloads_free(&back);
        } else {
            print_envelope(env);
        }
        nb_envelope_free(&env);
    }
    nb_subscription_free(&sub);
}

static void send_cases(nb_client_t *client, const char *subject, const char *path, int request) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(1); }
    char line[8192];
    nb_payloads_t *payloads = NULL;
    nb_send_options_t *opts = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "CASE ", 5) == 0) {
            unsigned long long threshold;
            char url[4096], corr[256];
            if (sscanf(line + 5, "%llu %4095s %255s", &threshold, url, corr) != 3) { fprintf(stderr, "bad line %s\n", line); exit(1); }
            CHECK("nb_payloads_new", nb_payloads_new(&payloads));
            CHECK("nb_send_options_new", nb_send_options_new(&opts));
            CHECK("threshold", nb_send_options_set_size_threshold(opts, threshold));
            CHECK("fileserver", nb_send_options_set_fileserver_url(opts, url));
            if (strcmp(corr, "-") != 0) CHECK("correlation_id", nb_send_options_set_correlation_id(opts, corr));
        } else if (strncmp(line, "P ", 2) == 0) {
            char name[1024], type_name[64], file[4096];
            if (sscanf(line + 2, "%1023s %63s %4095s", name, type_name, file) != 3) { fprintf(stderr, "bad line %s\n", line); exit(1); }
            size_t len = 0;
            unsigned char *data = slurp(file, &len);
            nb_payload_type_t type;
            CHECK("nb_payload_type_from_name", nb_payload_type_from_name(type_name, &type));
            if (type == NB_PAYLOAD_TEXT) CHECK("add_text", nb_payloads_add_text(payloads, name, (const char *)data, len));
            else if (type == NB_PAYLOAD_DICTIONARY) CHECK("add_dictionary", nb_payloads_add_dictionary(payloads, name, (const char *)data, len));
            else if (type == NB_PAYLOAD_TABLE) CHECK("add_table_ipc", nb_payloads_add_table_ipc(payloads, name, data, len));
            else CHECK("add_bytes", nb_payloads_add_bytes(payloads, name, type, data, len));
            free(data);
        } else if (strcmp(line, "END") == 0) {
            if (request) {
                nb_envelope_t *reply = NULL;
                CHECK("nb_smartrequest", nb_smartrequest(client, subject, payloads, opts, NULL, 20000, &reply));
                print_envelope(reply);
                nb_envelope_free(&reply);
            } else {
                CHECK("nb_smartsend", nb_smartsend(client, subject, payloads, opts, NULL));
            }
            nb_payloads_free(&payloads);
            nb_send_options_free(&opts);
        }
    }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s recv|echo|send|request NATS_URL SUBJECT COUNT|CASES\n", argv[0]);
        return 2;
    }
    nb_client_t *client = NULL;
    CHECK("nb_client_connect_url", nb_client_connect_url(argv[2], &client));
    if (strcmp(argv[1], "recv") == 0 || strcmp(argv[1], "echo") == 0)
        serve(client, argv[3], atol(argv[4]), strcmp(argv[1], "echo") == 0);
    else
        send_cases(client, argv[3], argv[4], strcmp(argv[1], "request") == 0);
    CHECK("nb_client_close", nb_client_close(client));
    nb_client_free(&client);
    return 0;
}
