//  csta_fuzz_replay: drives csta_fuzz.c's LLVMFuzzerTestOneInput without libFuzzer, so
//  that a gcc sanitizer build can run it (the CTest `fuzz` smoke), replay a crash file,
//  and write the seed corpus that tests/fuzz/run hands to libFuzzer.
//
//    csta_fuzz_replay run SECONDS HEX...       seeds from "name: hex" files, then random
//                                              mutations of them for SECONDS
//    csta_fuzz_replay seeds DIR HEX...         write the seeds as files into DIR
//    csta_fuzz_replay file FILE...             run each file once (a libFuzzer crash-*)
//
//  A seed is one vector of a .hex file behind each of the four path bytes (len16, raw,
//  hipath framed; unframed), plus for each framing one stream holding every vector.
#define _POSIX_C_SOURCE 200809L    //  clock_gettime under -std=c11
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_SEEDS_MAX 1024
#define S_INPUT_MAX 8192

typedef struct {
    size_t len;
    uint8_t bytes[S_INPUT_MAX];
} s_input_t;

static s_input_t s_seeds[S_SEEDS_MAX];
static size_t s_seed_count;

static s_input_t *s_new_seed(void)
{
    if (s_seed_count == S_SEEDS_MAX)
        return NULL;
    s_input_t *in = &s_seeds[s_seed_count++];
    in->len = 0;
    return in;
}

//  Append the frame of apdu in `framing` to in; false if it does not fit.
static bool s_append_frame(s_input_t *in, csta_framing_t framing, const uint8_t *apdu, size_t len)
{
    uint8_t hdr[CSTA_FRAME_HEADER_MAX];
    int hlen = csta_frame_header(framing, len, hdr);
    if (hlen < 0 || in->len + (size_t) hlen + len > S_INPUT_MAX)
        return false;
    memcpy(in->bytes + in->len, hdr, (size_t) hlen);
    memcpy(in->bytes + in->len + hlen, apdu, len);
    in->len += (size_t) hlen + len;
    return true;
}

//  Read the "name: hex" vectors of one file and make seeds of them.  Returns -1 on error.
static int s_load_hex(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "csta_fuzz_replay: cannot open %s\n", path);
        return -1;
    }
    static char line[65536];
    s_input_t *streams[3] = {s_new_seed(), s_new_seed(), s_new_seed()};
    for (int k = 0; k < 3; k++) {
        if (!streams[k]) {
            fclose(f);
            return -1;
        }
        streams[k]->bytes[0] = (uint8_t) k;
        streams[k]->len = 1;
    }
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (line[0] == '#' || !colon)
            continue;
        uint8_t apdu[S_INPUT_MAX];
        size_t len = 0;
        for (const char *p = colon + 1; *p && len < sizeof apdu;) {
            unsigned v;
            if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                p++;
                continue;
            }
            if (sscanf(p, "%2x", &v) != 1)
                break;
            apdu[len++] = (uint8_t) v;
            p += 2;
        }
        for (uint8_t k = 0; k < 4; k++) {
            s_input_t *in = s_new_seed();
            if (!in)
                break;
            in->bytes[0] = k;
            in->len = 1;
            if (k == 3) {
                memcpy(in->bytes + 1, apdu, len);
                in->len += len;
            } else if (!s_append_frame(in, (csta_framing_t) k, apdu, len)) {
                s_seed_count--;
            }
        }
        for (int k = 0; k < 3; k++)
            s_append_frame(streams[k], (csta_framing_t) k, apdu, len);
    }
    fclose(f);
    return 0;
}

//  xorshift64: deterministic mutations, so a smoke failure reproduces.
static uint64_t s_rng = 0x9E3779B97F4A7C15ull;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

//  A few random edits of the kind that break BER: flip bits, set a byte to a length or
//  tag value, cut, duplicate or drop a run of bytes.
static void s_mutate(s_input_t *in)
{
    static const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x05, 0x30, 0x55, 0x6b, 0x7e, 0x7f,
                                          0x80, 0x81, 0x82, 0x84, 0xa0, 0xa1, 0xff};
    int edits = 1 + (int) (s_rand() % 4);
    for (int e = 0; e < edits && in->len > 1; e++) {
        size_t pos = 1 + s_rand() % (in->len - 1);
        switch (s_rand() % 6) {
        case 0:
            in->bytes[pos] ^= (uint8_t) (1u << (s_rand() % 8));
            break;
        case 1:
            in->bytes[pos] = interesting[s_rand() % sizeof interesting];
            break;
        case 2:
            in->len = pos;
            break;
        case 3: {
            size_t run = 1 + s_rand() % 8;
            if (pos + run <= in->len && in->len + run <= S_INPUT_MAX) {
                memmove(in->bytes + pos + run, in->bytes + pos, in->len - pos);
                in->len += run;
            }
            break;
        }
        case 4: {
            size_t run = 1 + s_rand() % 8;
            if (pos + run <= in->len) {
                memmove(in->bytes + pos, in->bytes + pos + run, in->len - pos - run);
                in->len -= run;
            }
            break;
        }
        default:
            in->bytes[pos] = (uint8_t) s_rand();
            break;
        }
    }
}

static int s_run(double seconds)
{
    size_t execs = 0;
    for (size_t i = 0; i < s_seed_count; i++, execs++)
        LLVMFuzzerTestOneInput(s_seeds[i].bytes, s_seeds[i].len);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double elapsed = 0;
    static s_input_t in;
    while (elapsed < seconds) {
        for (int k = 0; k < 256; k++, execs++) {
            in = s_seeds[s_rand() % s_seed_count];
            s_mutate(&in);
            LLVMFuzzerTestOneInput(in.bytes, in.len);
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        elapsed = (double) (t.tv_sec - t0.tv_sec) + (double) (t.tv_nsec - t0.tv_nsec) / 1e9;
    }
    printf("csta_fuzz_replay: %zu seeds, %zu execs in %.1f s (%.0f execs/s), no findings\n",
           s_seed_count, execs, elapsed, (double) execs / (elapsed > 0 ? elapsed : 1));
    return 0;
}

static int s_write_seeds(const char *dir)
{
    for (size_t i = 0; i < s_seed_count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%04zu", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(s_seeds[i].bytes, 1, s_seeds[i].len, f) != s_seeds[i].len) {
            fprintf(stderr, "csta_fuzz_replay: cannot write %s\n", path);
            if (f)
                fclose(f);
            return 1;
        }
        fclose(f);
    }
    printf("csta_fuzz_replay: wrote %zu seeds to %s\n", s_seed_count, dir);
    return 0;
}

static int s_replay_files(int argc, char **argv)
{
    static uint8_t buf[1 << 20];
    for (int i = 0; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "csta_fuzz_replay: cannot open %s\n", argv[i]);
            return 1;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        printf("csta_fuzz_replay: %s (%zu bytes) ok\n", argv[i], n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "file") == 0)
        return s_replay_files(argc - 2, argv + 2);
    if (argc < 4 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "seeds") != 0)) {
        fprintf(stderr, "usage: %s run SECONDS HEX... | seeds DIR HEX... | file FILE...\n",
                argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++)
        if (s_load_hex(argv[i]) != 0)
            return 1;
    if (s_seed_count == 0)
        return 1;
    if (strcmp(argv[1], "seeds") == 0)
        return s_write_seeds(argv[2]);
    return s_run(atof(argv[2]));
}
