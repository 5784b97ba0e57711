//  csta_pcap_writer: every vector of the given "name: hex" fixture files, decoded and
//  re-encoded by ctim's codec, written as a len16-framed TCP stream (Panasonic framing,
//  port 33333, csta-facts.md 1.1) into a classic pcap with synthesized Ethernet/IPv4/TCP
//  headers, and each re-encoded APDU into its own file for unber.  The segmentation mixes
//  what real links do (csta-facts.md 4): mostly one APDU per segment, every fifth segment
//  two APDUs, and one APDU split over two segments.
//
//    csta_pcap_writer OUT.pcap APDU_DIR FIXTURE.hex...
//
//  Vectors ctim does not reproduce byte for byte (deliberately bad or decode-only fixtures)
//  are skipped and counted on stderr.  Prints the number of APDUs written.  Exits 1 if a
//  file cannot be written or no vector was usable.
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csta.h"

#define S_APDU_MAX 8192
#define S_APDUS_MAX 2048
#define S_PORT_CLIENT 40000
#define S_PORT_SERVER 33333

typedef struct {
    char name[80];
    size_t len;                 //  framed length (2-byte header + APDU)
    uint8_t frame[S_APDU_MAX + 2];
} s_apdu_t;

static s_apdu_t s_apdus[S_APDUS_MAX];
static size_t s_apdu_count;
static size_t s_skipped;   //  fixture vectors ctim does not reproduce (see s_load)

//  --- pcap ---------------------------------------------------------------------------------------

typedef struct {
    FILE *f;
    uint32_t seq[2];            //  next sequence number per direction (0 client, 1 server)
    uint32_t usec;              //  synthetic clock
    uint16_t ip_id;
} s_pcap_t;

static void s_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static void s_put32(uint8_t *p, uint32_t v)
{
    s_put16(p, (uint16_t) (v >> 16));
    s_put16(p + 2, (uint16_t) v);
}

//  Little-endian, for the pcap record headers (we write the file in host order's magic).
static bool s_write_le32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24)};
    return fwrite(b, 1, 4, f) == 4;
}

//  RFC 1071 ones' complement sum over p[0..len), added to sum.
static uint32_t s_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t) (p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t) (p[len - 1] << 8);
    return sum;
}

static uint16_t s_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t) ~sum;
}

//  One TCP segment from dir (0 client -> server, 1 server -> client) with flags and the
//  payload; advances that direction's sequence number.
static bool s_segment(s_pcap_t *pc, int dir, uint8_t flags, const uint8_t *payload, size_t len)
{
    static uint8_t pkt[14 + 20 + 20 + 65536];
    const uint8_t mac_client[6] = {0x02, 0, 0, 0, 0, 0x01};
    const uint8_t mac_server[6] = {0x02, 0, 0, 0, 0, 0x02};
    const uint8_t ip_client[4] = {10, 0, 0, 1};
    const uint8_t ip_server[4] = {10, 0, 0, 2};
    const uint8_t *src_ip = dir ? ip_server : ip_client, *dst_ip = dir ? ip_client : ip_server;
    uint16_t src_port = dir ? S_PORT_SERVER : S_PORT_CLIENT;
    uint16_t dst_port = dir ? S_PORT_CLIENT : S_PORT_SERVER;

    uint8_t *eth = pkt, *ip = pkt + 14, *tcp = pkt + 34;
    memcpy(eth, dir ? mac_client : mac_server, 6);
    memcpy(eth + 6, dir ? mac_server : mac_client, 6);
    s_put16(eth + 12, 0x0800);

    size_t tcp_len = 20 + len;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    s_put16(ip + 2, (uint16_t) (20 + tcp_len));
    s_put16(ip + 4, pc->ip_id++);
    s_put16(ip + 6, 0x4000);    //  don't fragment
    ip[8] = 64;
    ip[9] = 6;                  //  TCP
    memcpy(ip + 12, src_ip, 4);
    memcpy(ip + 16, dst_ip, 4);
    s_put16(ip + 10, s_fold(s_sum(ip, 20, 0)));

    memset(tcp, 0, 20);
    s_put16(tcp, src_port);
    s_put16(tcp + 2, dst_port);
    s_put32(tcp + 4, pc->seq[dir]);
    s_put32(tcp + 8, (flags & 0x10) ? pc->seq[!dir] : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    s_put16(tcp + 14, 65535);
    if (len)
        memcpy(tcp + 20, payload, len);
    uint8_t pseudo[12];
    memcpy(pseudo, src_ip, 4);
    memcpy(pseudo + 4, dst_ip, 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    s_put16(pseudo + 10, (uint16_t) tcp_len);
    s_put16(tcp + 16, s_fold(s_sum(tcp, tcp_len, s_sum(pseudo, 12, 0))));

    pc->seq[dir] += (uint32_t) len + ((flags & 0x02) ? 1 : 0);     //  SYN counts one
    pc->usec += 1000;
    size_t caplen = 14 + 20 + tcp_len;
    return s_write_le32(pc->f, 1700000000 + pc->usec / 1000000) &&
           s_write_le32(pc->f, pc->usec % 1000000) && s_write_le32(pc->f, (uint32_t) caplen) &&
           s_write_le32(pc->f, (uint32_t) caplen) && fwrite(pkt, 1, caplen, pc->f) == caplen;
}

//  --- Fixtures -----------------------------------------------------------------------------------

//  Parse hex digits into out; returns the length, or 0 on bad input.
static size_t s_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ' || *hex == '\t' || *hex == '\r' || *hex == '\n') {
            hex++;
            continue;
        }
        unsigned v;
        if (n == cap || sscanf(hex, "%2x", &v) != 1)
            return 0;
        out[n++] = (uint8_t) v;
        hex += 2;
    }
    return n;
}

//  Decode and re-encode every vector of path; append the len16 frames.
static int s_load(const char *path, const char *apdu_dir)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "csta_pcap_writer: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    static char line[65536];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (line[0] == '#' || !colon)
            continue;
        if (s_apdu_count == S_APDUS_MAX) {
            fprintf(stderr, "csta_pcap_writer: more than %d vectors\n", S_APDUS_MAX);
            rc = -1;
            break;
        }
        s_apdu_t *a = &s_apdus[s_apdu_count];
        snprintf(a->name, sizeof a->name, "%.*s", (int) (colon - line), line);
        static uint8_t raw[S_APDU_MAX];
        size_t raw_len = s_hex(colon + 1, raw, sizeof raw);
        csta_apdu_t apdu;
        int drc = csta_apdu_decode(&apdu, raw, raw_len);
        size_t n = 0;
        int erc = drc == 0 ? csta_apdu_encode(&apdu, a->frame + 2, S_APDU_MAX, &n) : 0;
        csta_apdu_clear(&apdu);
        //  Fixture files also hold vectors that must NOT decode (over-long fields, bad bit
        //  strings) or that decode but drop unmodelled fields; the unit tests own those.
        //  The capture is of what ctim itself produces: vectors it reproduces byte for byte.
        if (drc || erc || n != raw_len || memcmp(a->frame + 2, raw, n) != 0) {
            s_skipped++;
            continue;
        }
        if (csta_frame_header(CSTA_FRAMING_LEN16, n, a->frame) != 2) {
            rc = -1;
            break;
        }
        a->len = n + 2;

        char file[4096];
        snprintf(file, sizeof file, "%s/%04zu-%s.ber", apdu_dir, s_apdu_count, a->name);
        FILE *out = fopen(file, "wb");
        if (!out || fwrite(a->frame + 2, 1, n, out) != n) {
            fprintf(stderr, "csta_pcap_writer: cannot write %s\n", file);
            rc = -1;
        }
        if (out && fclose(out) != 0)
            rc = -1;
        s_apdu_count++;
    }
    fclose(f);
    return rc;
}

//  --- The stream ---------------------------------------------------------------------------------

static bool s_write_stream(s_pcap_t *pc)
{
    //  Handshake: SYN, SYN+ACK, ACK.
    if (!s_segment(pc, 0, 0x02, NULL, 0) || !s_segment(pc, 1, 0x12, NULL, 0) ||
        !s_segment(pc, 0, 0x10, NULL, 0))
        return false;
    static uint8_t seg[2 * (S_APDU_MAX + 2)];
    size_t split = s_apdu_count / 2;    //  this one goes in two segments
    size_t segments = 0;
    for (size_t i = 0; i < s_apdu_count;) {
        const s_apdu_t *a = &s_apdus[i];
        if (i == split) {
            size_t half = a->len / 2;
            if (!s_segment(pc, 0, 0x18, a->frame, half) ||
                !s_segment(pc, 0, 0x18, a->frame + half, a->len - half))
                return false;
            i++;
        } else if (segments % 5 == 4 && i + 1 < s_apdu_count && i + 1 != split) {
            const s_apdu_t *b = &s_apdus[i + 1];
            memcpy(seg, a->frame, a->len);
            memcpy(seg + a->len, b->frame, b->len);
            if (!s_segment(pc, 0, 0x18, seg, a->len + b->len))
                return false;
            i += 2;
        } else {
            if (!s_segment(pc, 0, 0x18, a->frame, a->len))
                return false;
            i++;
        }
        segments++;
    }
    //  The server acknowledges everything; FIN from both sides.
    return s_segment(pc, 1, 0x10, NULL, 0) && s_segment(pc, 0, 0x11, NULL, 0) &&
           s_segment(pc, 1, 0x11, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s OUT.pcap APDU_DIR FIXTURE.hex...\n", argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++)
        if (s_load(argv[i], argv[2]) != 0)
            return 1;
    if (s_apdu_count < 2) {
        fprintf(stderr, "csta_pcap_writer: no vectors\n");
        return 1;
    }
    s_pcap_t pc = {.seq = {1000, 5000}};
    pc.f = fopen(argv[1], "wb");
    if (!pc.f) {
        fprintf(stderr, "csta_pcap_writer: cannot create %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    //  Classic pcap header: magic, v2.4, GMT offset 0, accuracy 0, snaplen, Ethernet.
    bool ok = s_write_le32(pc.f, 0xa1b2c3d4) && s_write_le32(pc.f, 2 | 4u << 16) &&
              s_write_le32(pc.f, 0) && s_write_le32(pc.f, 0) && s_write_le32(pc.f, 262144) &&
              s_write_le32(pc.f, 1) && s_write_stream(&pc);
    if (fclose(pc.f) != 0 || !ok) {
        fprintf(stderr, "csta_pcap_writer: cannot write %s\n", argv[1]);
        return 1;
    }
    fprintf(stderr, "csta_pcap_writer: %zu vectors skipped (bad or decode-only fixtures)\n", s_skipped);
    printf("%zu\n", s_apdu_count);
    return 0;
}
