/* The golden vectors (tests/vectors) decoded through the C ABI.
   Usage: test_vectors LIST VECTORS_DIR FILESERVER_BASE OUT_DIR
   LIST has one line per vector: "valid NAME" or "invalid NAME KIND" (written from index.json by
   scripts/test-c.sh). Every valid vector must decode; its canonical JSON (nb_envelope_to_json)
   goes to OUT_DIR/NAME.json for the structural comparison with NAME.expected.json
   (tests/compare_vectors.py). Every invalid vector must fail with its expected kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Replaces every "{{FILESERVER}}" in buf (on bytes) with base; returns a new buffer. */
static unsigned char *substitute(const unsigned char *buf, size_t len, const char *base, size_t *out_len) {
    static const char needle[] = "{{FILESERVER}}";
    size_t nlen = sizeof needle - 1, blen = strlen(base), i = 0, o = 0, count = 0;
    unsigned char *out;
    for (i = 0; i + nlen <= len; i++)
        if (memcmp(buf + i, needle, nlen) == 0) count++;
    out = (unsigned char *)malloc(len + count * blen + 1);
    for (i = 0; i < len;) {
        if (i + nlen <= len && memcmp(buf + i, needle, nlen) == 0) {
            memcpy(out + o, base, blen);
            o += blen;
            i += nlen;
        } else {
            out[o++] = buf[i++];
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

int main(int argc, char **argv) {
    FILE *list;
    char line[512];
    nb_receive_options_t *opts = NULL;
    int valid = 0, invalid = 0;
    if (argc != 5) {
        fprintf(stderr, "usage: %s LIST VECTORS_DIR FILESERVER_BASE OUT_DIR\n", argv[0]);
        return 2;
    }
    list = fopen(argv[1], "r");
    REQUIRE(list != NULL, "read the vector list %s", argv[1]);
    OK(nb_receive_options_new(&opts));
    OK(nb_receive_options_set_max_retries(opts, 1));
    while (fgets(line, sizeof line, list)) {
        char kind[16] = {0}, name[200] = {0}, expected[64] = {0}, path[1024];
        unsigned char *raw, *msg;
        size_t raw_len = 0, msg_len = 0;
        nb_envelope_t *env = NULL;
        nb_result_t rc;
        if (sscanf(line, "%15s %199s %63s", kind, name, expected) < 2) continue;
        snprintf(path, sizeof path, "%s/%s/%s.%s", argv[2], kind, name, strcmp(kind, "valid") == 0 ? "json" : "bin");
        raw = t_read_file(path, &raw_len);
        if (!raw) {
            CHECK(0, "%s/%s: cannot read %s", kind, name, path);
            continue;
        }
        msg = substitute(raw, raw_len, argv[3], &msg_len);
        free(raw);
        rc = nb_smartreceive(msg, msg_len, opts, &env);
        free(msg);
        if (strcmp(kind, "valid") == 0) {
            char *json = NULL;
            size_t json_len = 0;
            valid++;
            CHECK(rc == NB_OK && env != NULL, "valid/%s decodes (%s)", name, nb_result_name(rc));
            if (rc == NB_OK && nb_envelope_to_json(env, &json, &json_len) == NB_OK) {
                FILE *out;
                snprintf(path, sizeof path, "%s/%s.json", argv[4], name);
                out = fopen(path, "wb");
                if (out) {
                    fwrite(json, 1, json_len, out);
                    fclose(out);
                }
                nb_string_free(&json);
            }
        } else {
            invalid++;
            CHECK(rc != NB_OK && strcmp(nb_result_name(rc), expected) == 0 && env == NULL,
                  "invalid/%s fails with %s (got %s: %s)", name, expected, nb_result_name(rc),
                  rc == NB_OK ? "" : nb_last_error_message());
        }
        nb_envelope_free(&env);
    }
    fclose(list);
    nb_receive_options_free(&opts);
    CHECK(valid >= 40 && invalid >= 30, "the vector set is complete (%d valid, %d invalid)", valid, invalid);
    return t_done();
}
