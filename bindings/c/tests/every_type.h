/* One payload of every type, added and checked the same way by every C test. */
#ifndef NB_TEST_EVERY_TYPE_H
#define NB_TEST_EVERY_TYPE_H

#include <string.h>

#include "../arrow_demo.h"
#include "harness.h"

static const unsigned char PNG[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R'};

/* The bytes of each raw type: distinct patterns including NUL and 0xff. */
static inline void fill_pattern(unsigned char *buf, size_t len, unsigned seed) {
    size_t i;
    for (i = 0; i < len; i++) buf[i] = (unsigned char)((i * 31u + seed * 7u) & 0xff);
}

static const char *TEXT = "h\xc3\xa9llo \xf0\x9f\x8c\x8d with a NUL:\0 and more";
static const size_t TEXT_LEN = 36;
static const char *DICT = "{\"a\":[1,2,{\"b\":null}],\"k\":\"v\",\"f\":1.5}";

/* Adds one payload of every type (text, dictionary, table from a C stream, table from IPC
   bytes when `ipc` is given, image, audio, video, binary); returns how many. */
static inline int add_every_type(nb_payloads_t *p, const uint8_t *ipc, size_t ipc_len) {
    static unsigned char audio[300], video[1000], binary[256];
    struct ArrowArrayStream stream;
    int n = 0;
    fill_pattern(audio, sizeof audio, 1);
    fill_pattern(video, sizeof video, 2);
    fill_pattern(binary, sizeof binary, 3);
    if (nb_payloads_add_text(p, "text", TEXT, TEXT_LEN) == NB_OK) n++;
    if (nb_payloads_add_dictionary(p, "dictionary", DICT, strlen(DICT)) == NB_OK) n++;
    demo_table_stream(&stream, 5);
    if (nb_payloads_add_table_arrow_stream(p, "table", &stream) == NB_OK) n++;
    if (ipc && nb_payloads_add_table_ipc(p, "table_ipc", ipc, ipc_len) == NB_OK) n++;
    if (nb_payloads_add_bytes(p, "image", NB_PAYLOAD_IMAGE, PNG, sizeof PNG) == NB_OK) n++;
    if (nb_payloads_add_bytes(p, "audio", NB_PAYLOAD_AUDIO, audio, sizeof audio) == NB_OK) n++;
    if (nb_payloads_add_bytes(p, "video", NB_PAYLOAD_VIDEO, video, sizeof video) == NB_OK) n++;
    if (nb_payloads_add_bytes(p, "binary", NB_PAYLOAD_BINARY, binary, sizeof binary) == NB_OK) n++;
    return n;
}

/* Checks that a received envelope holds exactly what add_every_type() put in it. */
static inline void check_every_type(const nb_envelope_t *env, nb_transport_t transport, const char *label) {
    static unsigned char audio[300], video[1000], binary[256];
    const nb_payload_t *pl = NULL;
    const char *s = NULL;
    const uint8_t *b = NULL;
    size_t len = 0, count = 0, rows = 0, cols = 0;
    nb_payload_type_t t = -1;
    nb_transport_t tr = -1;
    uint64_t size = 0;
    struct ArrowArrayStream stream;
    demo_table_summary sum;
    fill_pattern(audio, sizeof audio, 1);
    fill_pattern(video, sizeof video, 2);
    fill_pattern(binary, sizeof binary, 3);

    OK(nb_envelope_payload_count(env, &count));
    CHECK(count >= 7, "%s: %zu payloads", label, count);

    OK(nb_envelope_payload(env, 0, &pl));
    OK(nb_payload_name(pl, &s, &len));
    CHECK(s && strcmp(s, "text") == 0 && len == 4, "%s: first payload is named text", label);
    OK(nb_payload_type(pl, &t));
    CHECK(t == NB_PAYLOAD_TEXT, "%s: text type", label);
    OK(nb_payload_transport(pl, &tr));
    CHECK(tr == transport, "%s: text transport %d", label, tr);
    OK(nb_payload_size(pl, &size));
    CHECK(size == TEXT_LEN, "%s: text size %llu", label, (unsigned long long)size);
    OK(nb_payload_text(pl, &s, &len));
    CHECK(len == TEXT_LEN && memcmp(s, TEXT, TEXT_LEN) == 0 && s[len] == 0, "%s: text round-trips with its NUL", label);

    OK(nb_envelope_payload_by_name(env, "dictionary", &pl));
    OK(nb_payload_dictionary_json(pl, &s, &len));
    CHECK(s && strcmp(s, DICT) == 0 && len == strlen(DICT), "%s: dictionary JSON round-trips (%s)", label, s ? s : "");
    OK(nb_payload_type(pl, &t));
    CHECK(t == NB_PAYLOAD_DICTIONARY, "%s: dictionary type", label);

    OK(nb_envelope_payload_by_name(env, "table", &pl));
    OK(nb_payload_type(pl, &t));
    CHECK(t == NB_PAYLOAD_TABLE, "%s: table type", label);
    OK(nb_payload_table_shape(pl, &rows, &cols));
    CHECK(rows == 5 && cols == 2, "%s: table shape %zux%zu", label, rows, cols);
    OK(nb_payload_table_arrow_stream(pl, &stream));
    sum = demo_read_stream(&stream);
    CHECK(sum.ok && sum.rows == 5 && sum.id_sum == 15 && strcmp(sum.first_name, "row-1") == 0,
          "%s: table read through the Arrow C stream (rows %lld, sum %lld, first %s)", label, (long long)sum.rows,
          (long long)sum.id_sum, sum.first_name);
    OK(nb_payload_table_ipc(pl, &b, &len));
    CHECK(b && len > 8 && memcmp(b, "\xff\xff\xff\xff", 4) == 0, "%s: table as Arrow IPC stream bytes (%zu)", label, len);
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(b && len > 8, "%s: table serialized bytes are its IPC", label);

    OK(nb_envelope_payload_by_name(env, "image", &pl));
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(len == sizeof PNG && memcmp(b, PNG, len) == 0, "%s: image bytes", label);
    OK(nb_payload_type(pl, &t));
    CHECK(t == NB_PAYLOAD_IMAGE, "%s: image type", label);
    OK(nb_envelope_payload_by_name(env, "audio", &pl));
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(len == sizeof audio && memcmp(b, audio, len) == 0, "%s: audio bytes", label);
    OK(nb_envelope_payload_by_name(env, "video", &pl));
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(len == sizeof video && memcmp(b, video, len) == 0, "%s: video bytes", label);
    OK(nb_envelope_payload_by_name(env, "binary", &pl));
    OK(nb_payload_bytes(pl, &b, &len));
    CHECK(len == sizeof binary && memcmp(b, binary, len) == 0, "%s: binary bytes", label);
    OK(nb_payload_transport(pl, &tr));
    CHECK(tr == transport, "%s: binary transport", label);
}

#endif
