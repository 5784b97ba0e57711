//  csta_test_util: helpers shared by the csta unit tests (hex fixtures, round trips).
#ifndef CSTA_TEST_UTIL_H
#define CSTA_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "csta.h"

#define CSTA_TEST_MAX 4096

typedef struct {
    uint8_t bytes[CSTA_TEST_MAX];
    size_t len;
} hexbuf_t;

//  Parse "a1 0f 02 ..." (spaces optional) into buf; fails the test on bad input.
static inline void hex_parse(const char *hex, hexbuf_t *buf)
{
    buf->len = 0;
    while (*hex) {
        if (*hex == ' ' || *hex == '\n' || *hex == '\t' || *hex == '\r') {
            hex++;
            continue;
        }
        unsigned v;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        assert_true(buf->len < CSTA_TEST_MAX);
        buf->bytes[buf->len++] = (uint8_t) v;
        hex += 2;
    }
}

//  Load vector `name` from tests/fixtures/<file>.
static inline void fixture(const char *file, const char *name, hexbuf_t *buf)
{
    buf->len = 0;       //  fail_msg below longjmps out: the buffer is never left unset
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CTIM_FIXTURES, file);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open fixture file %s", path);
    char line[16384];
    size_t name_len = strlen(name);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, name_len) == 0 && line[name_len] == ':') {
            fclose(f);
            hex_parse(line + name_len + 1, buf);
            return;
        }
    }
    fclose(f);
    fail_msg("no vector %s in %s", name, path);
}

static inline void golden(const char *name, hexbuf_t *buf)
{
    fixture("csta-golden.hex", name, buf);
}

static inline void assert_bytes_equal(const uint8_t *got, size_t got_len, const uint8_t *want,
                                      size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        fprintf(stderr, "want:");
        for (size_t i = 0; i < want_len; i++)
            fprintf(stderr, " %02x", want[i]);
        fprintf(stderr, "\ngot: ");
        for (size_t i = 0; i < got_len; i++)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, "\n");
        fail_msg("encodings differ (%zu vs %zu bytes)", got_len, want_len);
    }
}

//  Decode buf into *a (must succeed), then re-encode and compare byte for byte.
static inline void decode_and_reencode(const hexbuf_t *buf, csta_apdu_t *a)
{
    int rc = csta_apdu_decode(a, buf->bytes, buf->len);
    assert_int_equal(rc, 0);
    uint8_t out[CSTA_TEST_MAX];
    size_t n = 0;
    rc = csta_apdu_encode(a, out, sizeof out, &n);
    assert_int_equal(rc, 0);
    assert_bytes_equal(out, n, buf->bytes, buf->len);
}

//  Encode *a, decode the result into *back (caller clears both).
static inline void encode_and_decode(const csta_apdu_t *a, csta_apdu_t *back)
{
    uint8_t out[CSTA_TEST_MAX];
    size_t n = 0;
    assert_int_equal(csta_apdu_encode(a, out, sizeof out, &n), 0);
    assert_int_equal(csta_apdu_decode(back, out, n), 0);
}

#endif
