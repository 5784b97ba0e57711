//  pbxsim_kme: Panasonic KME GetSystemData device lists, encoded by hand (pbxsim_kme.h).
#include <string.h>

#include "pbxsim_kme.h"

//  The request as the Perl and LinTcMon clients send it, up to the category value:
//  A4 0B A0 09 A4 07 A1 05 A0 03 0A 01 <category>.
static const uint8_t s_request_prefix[] = {0xa4, 0x0b, 0xa0, 0x09, 0xa4, 0x07, 0xa1,
                                           0x05, 0xa0, 0x03, 0x0a, 0x01};

bool pbx_kme_is_get_device_list(const uint8_t *priv, size_t len, long *category)
{
    if (len != sizeof s_request_prefix + 1 || memcmp(priv, s_request_prefix, sizeof s_request_prefix))
        return false;
    *category = priv[sizeof s_request_prefix];
    return true;
}

//  A growing DER writer: TLVs are written back to front, so each constructed element's
//  length is known when its header is written.
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t pos;     //  bytes used at the end of buf
    bool full;
} s_writer_t;

static void s_prepend(s_writer_t *w, const void *data, size_t len)
{
    if (w->full || len > w->cap - w->pos) {
        w->full = true;
        return;
    }
    w->pos += len;
    memcpy(w->buf + w->cap - w->pos, data, len);
}

//  Prepend tag and length for contents that end at the current front and began `since`.
static void s_header(s_writer_t *w, const uint8_t *tag, size_t tag_len, size_t since)
{
    size_t len = w->pos - since;
    uint8_t hdr[5];
    size_t n = 0;
    if (len < 0x80) {
        hdr[n++] = (uint8_t) len;
    } else if (len < 0x100) {
        hdr[n++] = 0x81;
        hdr[n++] = (uint8_t) len;
    } else {
        hdr[n++] = 0x82;
        hdr[n++] = (uint8_t) (len >> 8);
        hdr[n++] = (uint8_t) len;
    }
    s_prepend(w, hdr, n);
    s_prepend(w, tag, tag_len);
}

static void s_primitive(s_writer_t *w, uint8_t tag, const void *data, size_t len)
{
    size_t since = w->pos;
    s_prepend(w, data, len);
    s_header(w, &tag, 1, since);
}

static void s_integer(s_writer_t *w, uint8_t tag, long value)
{
    uint8_t bytes[8];
    size_t n = 0;
    unsigned long v = (unsigned long) value;
    do {
        bytes[7 - n++] = (uint8_t) v;
        v >>= 8;
    } while (v && n < 8);
    if (bytes[8 - n] & 0x80 && n < 8)
        bytes[7 - n++] = 0;     //  keep it positive
    s_primitive(w, tag, bytes + 8 - n, n);
}

//  Move the finished element from the end of w's buffer to the front of out.
static size_t s_finish(s_writer_t *w, uint8_t *out)
{
    if (w->full)
        return 0;
    memmove(out, w->buf + w->cap - w->pos, w->pos);
    return w->pos;
}

size_t pbx_kme_pos_ack(uint8_t *out, size_t cap, const uint8_t *xref, size_t xref_len)
{
    s_writer_t w = {.buf = out, .cap = cap};
    static const uint8_t a4 = 0xa4;
    s_primitive(&w, 0x04, xref, xref_len);
    s_header(&w, &a4, 1, 0);    //  getSystemDataPosAck [4]
    s_header(&w, &a4, 1, 0);    //  kmeSystemData [4]
    return s_finish(&w, out);
}

size_t pbx_kme_linked_reply(uint8_t *out, size_t cap, const uint8_t *xref, size_t xref_len,
                            long segment_id, bool last_segment, const pbx_kme_device_t *devices,
                            size_t count)
{
    s_writer_t w = {.buf = out, .cap = cap};
    static const uint8_t seq = 0x30, a0 = 0xa0, a1 = 0xa1, a2 = 0xa2, a3 = 0xa3, a4 = 0xa4;
    static const uint8_t device_list[] = {0xbf, 0x26};     //  [38], high tag form
    //  sysData [3] { SEQUENCE { deviceList [38] { SEQUENCE OF entry } } }
    for (size_t i = count; i-- > 0;) {
        size_t entry = w.pos;
        static const uint8_t usable = 0;
        s_primitive(&w, 0x0a, &usable, 1);                         //  status
        s_primitive(&w, 0x16, devices[i].number, strlen(devices[i].number)); //  number
        size_t id = w.pos;
        s_integer(&w, 0x81, devices[i].device_number);             //  deviceNumber [1]
        s_header(&w, &seq, 1, id);                                 //  DeviceID
        s_header(&w, &seq, 1, entry);
    }
    s_header(&w, &seq, 1, 0);
    s_header(&w, device_list, sizeof device_list, 0);
    s_header(&w, &seq, 1, 0);
    s_header(&w, &a3, 1, 0);                                       //  sysData [3]
    size_t field = w.pos;
    const uint8_t last = last_segment ? 0xff : 0x00;
    s_primitive(&w, 0x01, &last, 1);
    s_header(&w, &a2, 1, field);                                   //  lastSegment [2]
    field = w.pos;
    s_integer(&w, 0x02, segment_id);
    s_header(&w, &a1, 1, field);                                   //  segmentID [1]
    field = w.pos;
    s_primitive(&w, 0x04, xref, xref_len);
    s_header(&w, &a0, 1, field);                                   //  crossRefID [0]
    s_header(&w, &seq, 1, 0);                                      //  KmeSystemDataLinkedReply
    s_header(&w, &a3, 1, 0);                                       //  systemDataLinkedReply [3]
    s_header(&w, &a4, 1, 0);                                       //  kmeSystemData [4]
    return s_finish(&w, out);
}
