//  csta_frame: reassembling APDUs from a byte stream and queueing frames for partial
//  writes (csta_frame.h).
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csta_ber.h"
#include "csta_frame.h"

#define S_READ_CHUNK 16384

const char *csta_framing_str(csta_framing_t framing)
{
    switch (framing) {
    case CSTA_FRAMING_LEN16: return "len16";
    case CSTA_FRAMING_RAW: return "raw";
    case CSTA_FRAMING_HIPATH: return "hipath";
    }
    return "?";
}

int csta_framing_parse(const char *name, csta_framing_t *framing)
{
    if (strcmp(name, "len16") == 0)
        *framing = CSTA_FRAMING_LEN16;
    else if (strcmp(name, "raw") == 0)
        *framing = CSTA_FRAMING_RAW;
    else if (strcmp(name, "hipath") == 0)
        *framing = CSTA_FRAMING_HIPATH;
    else
        return -EINVAL;
    return 0;
}

//  --- Receiving ---------------------------------------------------------------------------------

struct csta_framer {
    csta_framing_t framing;
    size_t max_apdu;
    uint8_t *buf;
    size_t start;       //  first byte not yet returned
    size_t end;         //  one past the last byte received
    size_t cap;
};

csta_framer_t *csta_framer_new(csta_framing_t framing, size_t max_apdu)
{
    csta_framer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->framing = framing;
    self->max_apdu = max_apdu ? max_apdu : CSTA_FRAME_MAX_DEFAULT;
    return self;
}

void csta_framer_destroy(csta_framer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

//  Make room for `more` bytes after end, moving unread bytes to the front first.
static int s_reserve(csta_framer_t *self, size_t more)
{
    if (self->start > 0 && (self->start == self->end || self->end + more > self->cap)) {
        memmove(self->buf, self->buf + self->start, self->end - self->start);
        self->end -= self->start;
        self->start = 0;
    }
    if (self->end + more <= self->cap)
        return 0;
    size_t cap = self->cap ? self->cap : 4096;
    while (cap < self->end + more)
        cap *= 2;
    uint8_t *grown = realloc(self->buf, cap);
    if (!grown)
        return -ENOMEM;
    self->buf = grown;
    self->cap = cap;
    return 0;
}

int csta_framer_feed(csta_framer_t *self, const void *data, size_t len)
{
    if (len == 0)
        return 0;   //  memcpy from a NULL data (or into a NULL buf) is undefined even for 0
    int rc = s_reserve(self, len);
    if (rc)
        return rc;
    memcpy(self->buf + self->end, data, len);
    self->end += len;
    return 0;
}

ssize_t csta_framer_read(csta_framer_t *self, int fd)
{
    int rc = s_reserve(self, S_READ_CHUNK);
    if (rc)
        return rc;
    ssize_t n = read(fd, self->buf + self->end, self->cap - self->end);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    self->end += (size_t) n;
    return n;
}

size_t csta_framer_pending(const csta_framer_t *self)
{
    return self->end - self->start;
}

//  Check that the APDU is exactly one BER TLV whose length matches the frame.
static int s_check_tlv(const uint8_t *apdu, size_t len)
{
    csta_tlv_t tlv;
    int rc = csta_ber_header(apdu, len, &tlv);
    if (rc)
        return -EBADMSG;    //  a complete frame with an incomplete header is malformed too
    if (!tlv.constructed || tlv.header_len + tlv.content_len != len)
        return -EBADMSG;
    return 0;
}

int csta_framer_next(csta_framer_t *self, const uint8_t **apdu, size_t *len)
{
    const uint8_t *p = self->buf + self->start;
    size_t avail = self->end - self->start;
    size_t header = 0, frame_len = 0;

    switch (self->framing) {
    case CSTA_FRAMING_LEN16:
        if (avail < 2)
            return -EAGAIN;
        header = 2;
        frame_len = (size_t) p[0] << 8 | p[1];
        break;
    case CSTA_FRAMING_HIPATH:
        if (avail < 3)
            return -EAGAIN;
        if (p[0] != 0x26 || !(p[1] & 0x80))
            return -EBADMSG;
        header = 3;
        frame_len = (size_t) (p[1] & 0x7F) << 8 | p[2];
        break;
    case CSTA_FRAMING_RAW: {
        csta_tlv_t tlv;
        int rc = csta_ber_header(p, avail, &tlv);
        if (rc)
            return rc;
        header = 0;
        frame_len = tlv.header_len + tlv.content_len;
        break;
    }
    }
    if (frame_len > self->max_apdu)
        return -EMSGSIZE;
    if (frame_len < 2)
        return -EBADMSG;
    if (avail < header + frame_len)
        return -EAGAIN;
    int rc = s_check_tlv(p + header, frame_len);
    if (rc)
        return rc;
    *apdu = p + header;
    *len = frame_len;
    self->start += header + frame_len;
    return 0;
}

//  --- Sending -----------------------------------------------------------------------------------

int csta_frame_header(csta_framing_t framing, size_t apdu_len, uint8_t *hdr)
{
    switch (framing) {
    case CSTA_FRAMING_LEN16:
        if (apdu_len > 0xFFFF)
            return -EMSGSIZE;
        hdr[0] = (uint8_t) (apdu_len >> 8);
        hdr[1] = (uint8_t) apdu_len;
        return 2;
    case CSTA_FRAMING_HIPATH:
        if (apdu_len > 0x7FFF)
            return -EMSGSIZE;
        hdr[0] = 0x26;
        hdr[1] = (uint8_t) (0x80 | (apdu_len >> 8));
        hdr[2] = (uint8_t) apdu_len;
        return 3;
    case CSTA_FRAMING_RAW:
        return 0;
    }
    return -EINVAL;
}

struct csta_outq {
    csta_framing_t framing;
    size_t max_bytes;
    uint8_t *buf;
    size_t start, end, cap;
};

csta_outq_t *csta_outq_new(csta_framing_t framing, size_t max_bytes)
{
    csta_outq_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->framing = framing;
    self->max_bytes = max_bytes;
    return self;
}

void csta_outq_destroy(csta_outq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

size_t csta_outq_size(const csta_outq_t *self)
{
    return self->end - self->start;
}

int csta_outq_push(csta_outq_t *self, const uint8_t *apdu, size_t len)
{
    uint8_t hdr[CSTA_FRAME_HEADER_MAX];
    int hlen = csta_frame_header(self->framing, len, hdr);
    if (hlen < 0)
        return hlen;
    size_t need = (size_t) hlen + len;
    if (need == 0)
        return 0;   //  an empty raw frame sends nothing; buf may still be NULL
    if (self->max_bytes && csta_outq_size(self) + need > self->max_bytes)
        return -ENOBUFS;
    if (self->start > 0 && self->end + need > self->cap) {
        memmove(self->buf, self->buf + self->start, self->end - self->start);
        self->end -= self->start;
        self->start = 0;
    }
    if (self->end + need > self->cap) {
        size_t cap = self->cap ? self->cap : 4096;
        while (cap < self->end + need)
            cap *= 2;
        uint8_t *grown = realloc(self->buf, cap);
        if (!grown)
            return -ENOMEM;
        self->buf = grown;
        self->cap = cap;
    }
    memcpy(self->buf + self->end, hdr, (size_t) hlen);
    if (len)
        memcpy(self->buf + self->end + hlen, apdu, len);
    self->end += need;
    return 0;
}

int csta_outq_flush(csta_outq_t *self, int fd)
{
    while (self->start < self->end) {
        //  send() with MSG_NOSIGNAL: a peer that closed must not SIGPIPE the process.
        ssize_t n = send(fd, self->buf + self->start, self->end - self->start, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, self->buf + self->start, self->end - self->start);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        self->start += (size_t) n;
    }
    self->start = self->end = 0;
    return 0;
}

size_t csta_outq_peek(const csta_outq_t *self, const uint8_t **data)
{
    *data = self->buf ? self->buf + self->start : NULL;
    return self->end - self->start;
}

void csta_outq_consume(csta_outq_t *self, size_t n)
{
    size_t size = self->end - self->start;
    self->start += n < size ? n : size;
    if (self->start == self->end)
        self->start = self->end = 0;
}
