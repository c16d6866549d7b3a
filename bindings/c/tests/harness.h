/* A tiny test harness: one "ok N - name" / "not ok N - name" line per check and a closing
   "N passed, M failed" line; the program's exit status is 1 when anything failed. */
#ifndef NB_TEST_HARNESS_H
#define NB_TEST_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natsbridge.h"

static int t_passed = 0;
static int t_failed = 0;

static inline void t_report(int cond, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    int n = t_passed + t_failed + 1;
    printf("%s %d - ", cond ? "ok" : "not ok", n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (!cond) {
        printf("  [%s:%d; last error: %s]", file, line, nb_last_error_message());
        t_failed++;
    } else {
        t_passed++;
    }
    printf("\n");
    fflush(stdout);
}

/* CHECK(condition, "description %s", args...) */
#define CHECK(cond, ...) t_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* EXPECT(call, code): the call returns that status code. */
#define EXPECT(call, code)                                                                          \
    do {                                                                                            \
        nb_result_t rc_ = (call);                                                                   \
        t_report(rc_ == (code), __FILE__, __LINE__, "%s -> %s (got %s)", #call, nb_result_name(code), \
                 nb_result_name(rc_));                                                              \
    } while (0)

/* OK(call): the call succeeds. */
#define OK(call) EXPECT(call, NB_OK)

/* Stops the program at once (with the summary) when a precondition fails. */
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                            \
        int c_ = !!(cond);                                                                          \
        t_report(c_, __FILE__, __LINE__, __VA_ARGS__);                                              \
        if (!c_) {                                                                                  \
            printf("%d passed, %d failed\n", t_passed, t_failed);                                   \
            exit(1);                                                                                \
        }                                                                                           \
    } while (0)

static inline int t_done(void) {
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed == 0 ? 0 : 1;
}

/* Reads a whole file; *len gets its size. The caller frees the result with free(). */
static inline unsigned char *t_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long size;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = (unsigned char *)malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[size] = 0;
        *len = (size_t)size;
    }
    return buf;
}

/* The value of environment variable `name`, or `fallback`. */
static inline const char *t_env(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

#endif
