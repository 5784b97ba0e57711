//  csta_codec_bench: throughput of csta_apdu_decode / csta_apdu_encode for a Delivered
//  event and a MakeCall invoke (the golden make_call_invoke), and of csta_peek and
//  csta_peek_rewrite on the event (the multiplexer's per-application path).
//
//    csta_codec_bench [SECONDS_PER_ROW]       default 1
//
//  Prints a table and one JSON line.  Build it Release without sanitizers for figures
//  (cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release).
#define _POSIX_C_SOURCE 200809L     //  clock_gettime under -std=c11
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csta.h"

#define S_BUF_MAX 1024

typedef struct {
    const char *name;
    size_t bytes;               //  APDU size
    double apdus_per_s;
    double ns_per_apdu;
} s_row_t;

static volatile size_t s_sink;  //  keeps results alive

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void s_die(const char *what, int rc)
{
    fprintf(stderr, "csta_codec_bench: %s failed (%d)\n", what, rc);
    exit(1);
}

//  The golden make_call_invoke from tests/fixtures/csta-golden.hex.
static size_t s_make_call(uint8_t *out)
{
    const char *path = CTIM_FIXTURES "/csta-golden.hex";
    FILE *f = fopen(path, "r");
    if (!f)
        s_die(path, -errno);
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "make_call_invoke:", 17) != 0)
            continue;
        for (const char *p = line + 17; *p;) {
            unsigned v;
            if (*p == ' ' || *p == '\n' || *p == '\r') {
                p++;
                continue;
            }
            if (sscanf(p, "%2x", &v) != 1)
                break;
            out[n++] = (uint8_t) v;
            p += 2;
        }
        break;
    }
    fclose(f);
    if (n == 0)
        s_die("make_call_invoke fixture", -ENOENT);
    return n;
}

//  A Delivered event as a Panasonic PBX sends it: call 00 2a alerting at 201 from
//  0123456789, connection both-form, LocalConnectionState and cause newCall.
static size_t s_delivered(uint8_t *out)
{
    static const uint8_t call_id[] = {0x00, 0x2a};
    csta_apdu_t a;
    csta_apdu_init(&a, CSTA_APDU_INVOKE);
    a.invoke_id = 12;
    a.opcode = CSTA_OP_EVENT_REPORT;
    csta_xref_set(&a.event.xref, "\x00\x01", 2);
    a.event.type = CSTA_EV_DELIVERED;
    csta_delivered_t *d = &a.event.delivered;
    csta_conn_set(&d->connection, call_id, sizeof call_id, "201");
    csta_device_set(&d->alerting, "201");
    csta_device_set(&d->calling, "0123456789");
    csta_device_set(&d->called, "201");
    d->last_redirection.kind = CSTA_DEV_NOT_KNOWN;
    d->local_state = CSTA_LCS_ALERTING;
    d->cause = CSTA_CAUSE_NEW_CALL;
    size_t n;
    int rc = csta_apdu_encode(&a, out, S_BUF_MAX, &n);
    if (rc)
        s_die("encode Delivered", rc);
    return n;
}

typedef enum { S_DECODE, S_ENCODE, S_PEEK, S_REWRITE, S_PEEK_REWRITE } s_op_t;

//  Run op on apdu for about `seconds`, in batches; fill row.
static void s_measure(s_row_t *row, const char *name, s_op_t op, const uint8_t *apdu, size_t len,
                      double seconds)
{
    csta_apdu_t decoded;
    int rc = csta_apdu_decode(&decoded, apdu, len);
    if (rc)
        s_die("decode", rc);
    csta_peek_t pk;
    rc = csta_peek(&pk, apdu, len);
    if (rc)
        s_die("peek", rc);
    uint8_t out[S_BUF_MAX];
    const long new_id = 300;
    csta_xref_t new_xref;
    csta_xref_set(&new_xref, "\xca\xfe\x00\x07", 4);

    size_t iterations = 0;
    double t0 = s_now(), t = t0;
    while (t - t0 < seconds) {
        for (int k = 0; k < 1000; k++) {
            size_t n = 0;
            switch (op) {
            case S_DECODE: {
                csta_apdu_t a;
                rc = csta_apdu_decode(&a, apdu, len);
                n = (size_t) a.invoke_id;
                csta_apdu_clear(&a);
                break;
            }
            case S_ENCODE:
                rc = csta_apdu_encode(&decoded, out, sizeof out, &n);
                break;
            case S_PEEK: {
                csta_peek_t p;
                rc = csta_peek(&p, apdu, len);
                n = p.xref_off + p.device_count;
                break;
            }
            case S_REWRITE:
                rc = csta_peek_rewrite(&pk, apdu, len, &new_id, &new_xref, out, sizeof out, &n);
                break;
            case S_PEEK_REWRITE: {
                csta_peek_t p;
                rc = csta_peek(&p, apdu, len);
                if (rc == 0)
                    rc = csta_peek_rewrite(&p, apdu, len, &new_id, &new_xref, out, sizeof out,
                                           &n);
                break;
            }
            }
            if (rc)
                s_die(name, rc);
            s_sink += n;
        }
        iterations += 1000;
        t = s_now();
    }
    csta_apdu_clear(&decoded);
    row->name = name;
    row->bytes = len;
    row->apdus_per_s = (double) iterations / (t - t0);
    row->ns_per_apdu = (t - t0) * 1e9 / (double) iterations;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    uint8_t delivered[S_BUF_MAX], make_call[S_BUF_MAX];
    size_t delivered_len = s_delivered(delivered);
    size_t make_call_len = s_make_call(make_call);

    s_row_t rows[8];
    size_t n = 0;
    s_measure(&rows[n++], "decode_delivered", S_DECODE, delivered, delivered_len, seconds);
    s_measure(&rows[n++], "encode_delivered", S_ENCODE, delivered, delivered_len, seconds);
    s_measure(&rows[n++], "decode_make_call", S_DECODE, make_call, make_call_len, seconds);
    s_measure(&rows[n++], "encode_make_call", S_ENCODE, make_call, make_call_len, seconds);
    s_measure(&rows[n++], "peek_delivered", S_PEEK, delivered, delivered_len, seconds);
    s_measure(&rows[n++], "rewrite_delivered", S_REWRITE, delivered, delivered_len, seconds);
    s_measure(&rows[n++], "peek_rewrite_delivered", S_PEEK_REWRITE, delivered, delivered_len,
              seconds);

    printf("%-24s %6s %14s %10s\n", "operation", "bytes", "APDUs/s", "ns/APDU");
    for (size_t i = 0; i < n; i++)
        printf("%-24s %6zu %14.0f %10.1f\n", rows[i].name, rows[i].bytes, rows[i].apdus_per_s,
               rows[i].ns_per_apdu);
    printf("{\"bench\":\"csta_codec\",\"seconds_per_row\":%.2f", seconds);
    for (size_t i = 0; i < n; i++)
        printf(",\"%s\":{\"bytes\":%zu,\"apdus_per_s\":%.0f,\"ns_per_apdu\":%.1f}", rows[i].name,
               rows[i].bytes, rows[i].apdus_per_s, rows[i].ns_per_apdu);
    printf("}\n");
    return s_sink == 0xdeadbeef;    //  never; reads the sink
}
