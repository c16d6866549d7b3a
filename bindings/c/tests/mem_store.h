/* An in-memory claim-check store used by C upload and download handlers in the tests. */
#ifndef NB_TEST_MEM_STORE_H
#define NB_TEST_MEM_STORE_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "natsbridge.h"

#define MEM_STORE_MAX 64

typedef struct {
    char url[128];
    unsigned char *data;
    size_t len;
} mem_entry;

typedef struct {
    pthread_mutex_t lock;
    mem_entry entries[MEM_STORE_MAX];
    int count;
    int uploads;       /* upload calls */
    int downloads;     /* download calls */
    int drops;         /* drop calls */
    int fail_with;     /* when not 0, the handlers fail with this status */
    int corrupt;       /* when 1, downloads answer altered bytes of the same length */
    int truncate;      /* when 1, downloads answer one byte less */
    pthread_t caller;  /* the thread the handlers are expected on */
    int wrong_thread;  /* handler calls seen on another thread */
    uint32_t last_max_retries;
    uint64_t last_base_delay_ms, last_max_delay_ms, last_size;
    char last_fileserver[128];
} mem_store;

static inline void mem_store_init(mem_store *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->caller = pthread_self();
}

static inline void mem_store_clear(mem_store *s) {
    int i;
    for (i = 0; i < s->count; i++) free(s->entries[i].data);
    s->count = 0;
    pthread_mutex_destroy(&s->lock);
}

static inline nb_result_t mem_upload(void *ctx, const char *fileserver_url, const char *dataname, const uint8_t *data,
                              size_t len, nb_out_t *url_out) {
    mem_store *s = (mem_store *)ctx;
    mem_entry *e;
    pthread_mutex_lock(&s->lock);
    s->uploads++;
    if (!pthread_equal(pthread_self(), s->caller)) s->wrong_thread++;
    snprintf(s->last_fileserver, sizeof s->last_fileserver, "%s", fileserver_url);
    if (s->fail_with || s->count == MEM_STORE_MAX) {
        const char *msg = "mem store refuses uploads";
        int code = s->fail_with ? s->fail_with : 99;
        pthread_mutex_unlock(&s->lock);
        nb_out_set(url_out, (const uint8_t *)msg, strlen(msg));
        return code;
    }
    e = &s->entries[s->count];
    snprintf(e->url, sizeof e->url, "http://127.0.0.1:9/mem/%d/%s", s->count, dataname);
    e->data = (unsigned char *)malloc(len ? len : 1);
    if (len) memcpy(e->data, data, len);
    e->len = len;
    s->count++;
    pthread_mutex_unlock(&s->lock);
    return nb_out_set(url_out, (const uint8_t *)e->url, strlen(e->url));
}

static inline nb_result_t mem_download(void *ctx, const char *url, uint64_t size, uint32_t max_retries, uint64_t base_delay_ms,
                                uint64_t max_delay_ms, nb_out_t *bytes_out) {
    mem_store *s = (mem_store *)ctx;
    int i;
    nb_result_t rc = NB_ERR_PAYLOAD_NOT_FOUND;
    pthread_mutex_lock(&s->lock);
    s->downloads++;
    if (!pthread_equal(pthread_self(), s->caller)) s->wrong_thread++;
    s->last_max_retries = max_retries;
    s->last_base_delay_ms = base_delay_ms;
    s->last_max_delay_ms = max_delay_ms;
    s->last_size = size;
    if (s->fail_with) {
        rc = s->fail_with;
        pthread_mutex_unlock(&s->lock);
        nb_out_set(bytes_out, (const uint8_t *)"mem store is down", 17);
        return rc;
    }
    for (i = 0; i < s->count; i++) {
        if (strcmp(s->entries[i].url, url) == 0) {
            mem_entry *e = &s->entries[i];
            size_t half = e->len / 2;
            size_t n = s->truncate && e->len ? e->len - 1 : e->len;
            /* Two chunks, to exercise nb_out_append. */
            rc = nb_out_set(bytes_out, e->data, half < n ? half : n);
            if (rc == NB_OK && n > half) rc = nb_out_append(bytes_out, e->data + half, n - half);
            if (rc == NB_OK && s->corrupt && n > 0) {
                unsigned char x = (unsigned char)(e->data[0] ^ 0xff);
                /* rewrite the first byte */
                unsigned char *copy = (unsigned char *)malloc(n);
                memcpy(copy, e->data, n);
                copy[0] = x;
                rc = nb_out_set(bytes_out, copy, n);
                free(copy);
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static inline void mem_drop(void *ctx) {
    mem_store *s = (mem_store *)ctx;
    pthread_mutex_lock(&s->lock);
    s->drops++;
    pthread_mutex_unlock(&s->lock);
}

static inline nb_upload_handler_t mem_uploader(mem_store *s) {
    nb_upload_handler_t h;
    h.context = s;
    h.call = mem_upload;
    h.drop = mem_drop;
    return h;
}

static inline nb_download_handler_t mem_downloader(mem_store *s) {
    nb_download_handler_t h;
    h.context = s;
    h.call = mem_download;
    h.drop = mem_drop;
    return h;
}

#endif
