/* A small table through the Arrow C stream interface, without any Arrow library: a producer of
   one record batch (id: int64, name: utf8) and a consumer that reads such a stream back. Used by
   the example and the tests; a real program would use Arrow C++/GLib/nanoarrow instead. */
#ifndef NB_ARROW_DEMO_H
#define NB_ARROW_DEMO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natsbridge.h"

/* ---- producer ------------------------------------------------------------------------------ */

typedef struct {
    int64_t rows;
    int emitted;
} demo_stream_state;

static inline void demo_release_child_schema(struct ArrowSchema *s) { s->release = NULL; }

static inline void demo_release_schema(struct ArrowSchema *s) {
    int64_t i;
    for (i = 0; i < s->n_children; i++) {
        if (s->children[i]->release) s->children[i]->release(s->children[i]);
        free(s->children[i]);
    }
    free(s->children);
    s->release = NULL;
}

static inline void demo_release_leaf(struct ArrowArray *a) {
    int64_t i;
    for (i = 0; i < a->n_buffers; i++) free((void *)a->buffers[i]);
    free(a->buffers);
    a->release = NULL;
}

static inline void demo_release_struct(struct ArrowArray *a) {
    int64_t i;
    for (i = 0; i < a->n_children; i++) {
        if (a->children[i]->release) a->children[i]->release(a->children[i]);
        free(a->children[i]);
    }
    free(a->children);
    free(a->buffers);
    a->release = NULL;
}

static inline void demo_child_schema(struct ArrowSchema *s, const char *format, const char *name) {
    memset(s, 0, sizeof *s);
    s->format = format;
    s->name = name;
    s->flags = ARROW_FLAG_NULLABLE;
    s->release = demo_release_child_schema;
}

static inline int demo_get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out) {
    (void)stream;
    memset(out, 0, sizeof *out);
    out->format = "+s";
    out->name = "";
    out->n_children = 2;
    out->children = (struct ArrowSchema **)malloc(2 * sizeof(struct ArrowSchema *));
    out->children[0] = (struct ArrowSchema *)malloc(sizeof(struct ArrowSchema));
    out->children[1] = (struct ArrowSchema *)malloc(sizeof(struct ArrowSchema));
    demo_child_schema(out->children[0], "l", "id");
    demo_child_schema(out->children[1], "u", "name");
    out->release = demo_release_schema;
    return 0;
}

static inline struct ArrowArray *demo_leaf(int64_t length, int64_t n_buffers) {
    struct ArrowArray *a = (struct ArrowArray *)calloc(1, sizeof(struct ArrowArray));
    a->length = length;
    a->n_buffers = n_buffers;
    a->buffers = (const void **)calloc((size_t)n_buffers, sizeof(void *));
    a->release = demo_release_leaf;
    return a;
}

/* Row i: id = i + 1, name = "row-<i+1>". */
static inline int demo_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
    demo_stream_state *st = (demo_stream_state *)stream->private_data;
    int64_t n = st->rows, i;
    struct ArrowArray *ids, *names;
    int64_t *values;
    int32_t *offsets;
    char *chars;
    size_t cap = (size_t)n * 24 + 1, used = 0;
    memset(out, 0, sizeof *out);
    if (st->emitted) return 0; /* end of stream: out->release stays NULL */
    st->emitted = 1;
    ids = demo_leaf(n, 2);
    values = (int64_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    for (i = 0; i < n; i++) values[i] = i + 1;
    ids->buffers[1] = values;
    names = demo_leaf(n, 3);
    offsets = (int32_t *)malloc((size_t)(n + 1) * sizeof(int32_t));
    chars = (char *)malloc(cap);
    offsets[0] = 0;
    for (i = 0; i < n; i++) {
        used += (size_t)snprintf(chars + used, cap - used, "row-%lld", (long long)(i + 1));
        offsets[i + 1] = (int32_t)used;
    }
    names->buffers[1] = offsets;
    names->buffers[2] = chars;
    out->length = n;
    out->n_buffers = 1;
    out->buffers = (const void **)calloc(1, sizeof(void *));
    out->n_children = 2;
    out->children = (struct ArrowArray **)malloc(2 * sizeof(struct ArrowArray *));
    out->children[0] = ids;
    out->children[1] = names;
    out->release = demo_release_struct;
    return 0;
}

static inline const char *demo_get_last_error(struct ArrowArrayStream *stream) {
    (void)stream;
    return NULL;
}

static inline void demo_release_stream(struct ArrowArrayStream *stream) {
    free(stream->private_data);
    stream->release = NULL;
}

/* Fills *stream with a producer of one batch of `rows` rows. */
static inline void demo_table_stream(struct ArrowArrayStream *stream, int64_t rows) {
    demo_stream_state *st = (demo_stream_state *)calloc(1, sizeof(demo_stream_state));
    st->rows = rows;
    stream->get_schema = demo_get_schema;
    stream->get_next = demo_get_next;
    stream->get_last_error = demo_get_last_error;
    stream->release = demo_release_stream;
    stream->private_data = st;
}

/* ---- consumer ------------------------------------------------------------------------------ */

typedef struct {
    int64_t rows;     /* rows of all batches */
    int64_t id_sum;   /* sum of column "id" */
    int columns;      /* columns of the schema */
    char first_name[64]; /* "name" of the first row */
    int ok;           /* 1 when the stream had the shape (id: int64, name: utf8) */
} demo_table_summary;

/* Reads a stream to its end and releases it. */
static inline demo_table_summary demo_read_stream(struct ArrowArrayStream *stream) {
    demo_table_summary s;
    struct ArrowSchema schema;
    struct ArrowArray batch;
    memset(&s, 0, sizeof s);
    if (stream->get_schema(stream, &schema) != 0) {
        stream->release(stream);
        return s;
    }
    s.columns = (int)schema.n_children;
    s.ok = schema.n_children == 2 && strcmp(schema.format, "+s") == 0 &&
           strcmp(schema.children[0]->format, "l") == 0 && strcmp(schema.children[0]->name, "id") == 0 &&
           strcmp(schema.children[1]->format, "u") == 0 && strcmp(schema.children[1]->name, "name") == 0;
    schema.release(&schema);
    while (stream->get_next(stream, &batch) == 0 && batch.release != NULL) {
        if (s.ok && batch.n_children == 2) {
            const struct ArrowArray *ids = batch.children[0];
            const struct ArrowArray *names = batch.children[1];
            const int64_t *v = (const int64_t *)ids->buffers[1];
            const int32_t *off = (const int32_t *)names->buffers[1];
            const char *chars = (const char *)names->buffers[2];
            int64_t i;
            for (i = 0; i < batch.length; i++) s.id_sum += v[ids->offset + i];
            if (s.rows == 0 && batch.length > 0) {
                int32_t a = off[names->offset], b = off[names->offset + 1];
                int32_t n = b - a < 63 ? b - a : 63;
                memcpy(s.first_name, chars + a, (size_t)n);
                s.first_name[n] = 0;
            }
        }
        s.rows += batch.length;
        batch.release(&batch);
    }
    stream->release(stream);
    return s;
}

#endif
