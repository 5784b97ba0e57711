//  csta_ber: BER TLV header parsing and small primitive encoders (csta_ber.h).
#include <errno.h>
#include <stdint.h>

#include "csta_ber.h"

int csta_ber_header(const uint8_t *p, size_t avail, csta_tlv_t *tlv)
{
    size_t i = 0;
    if (avail < 2)
        return -EAGAIN;
    tlv->tag_class = p[0] >> 6;
    tlv->constructed = (p[0] & 0x20) != 0;
    tlv->tag = p[0] & 0x1F;
    i = 1;
    if (tlv->tag == 0x1F) {
        //  High tag number: base-128, at most 4 octets (no CSTA tag comes close).
        tlv->tag = 0;
        for (int n = 0;; n++) {
            if (i >= avail)
                return -EAGAIN;
            if (n == 4)
                return -EBADMSG;
            uint8_t b = p[i++];
            if (n == 0 && b == 0x80)
                return -EBADMSG;    //  leading zero septet (X.690 8.1.2.4.2 c)
            tlv->tag = (tlv->tag << 7) | (b & 0x7F);
            if (!(b & 0x80))
                break;
        }
        if (tlv->tag < 0x1F)
            return -EBADMSG;    //  numbers 0..30 take the one-octet form (X.690 8.1.2.2)
    }
    if (i >= avail)
        return -EAGAIN;
    uint8_t first = p[i++];
    if (first < 0x80) {
        tlv->content_len = first;
    } else if (first == 0x80) {
        return -EBADMSG;    //  indefinite length: no CSTA peer sends it (csta-facts.md 1.1)
    } else {
        size_t octets = first & 0x7F;
        if (octets > 4)
            return -EBADMSG;    //  0xFF is reserved; > 4 GiB is never a CSTA APDU
        if (i + octets > avail)
            return -EAGAIN;
        size_t len = 0;
        for (size_t n = 0; n < octets; n++)
            len = (len << 8) | p[i++];
        tlv->content_len = len;
    }
    if (tlv->content_len > SIZE_MAX - i)
        return -EBADMSG;    //  header + contents must not wrap (32-bit size_t)
    tlv->header_len = i;
    return 0;
}

int csta_ber_check(const uint8_t *p, size_t len)
{
    size_t end[CSTA_BER_DEPTH_MAX];     //  where each open constructed TLV ends
    unsigned depth = 0;
    size_t pos = 0;
    for (;;) {
        while (depth > 0 && pos == end[depth - 1])
            depth--;
        if (depth == 0 && pos > 0)
            return pos == len ? 0 : -EBADMSG;   //  one TLV, nothing after it
        size_t limit = depth > 0 ? end[depth - 1] : len;
        csta_tlv_t tlv;
        if (csta_ber_header(p + pos, limit - pos, &tlv) != 0)
            return -EBADMSG;    //  incomplete header, indefinite or oversized length
        if (tlv.content_len > limit - pos - tlv.header_len)
            return -EBADMSG;    //  overruns its parent (or the buffer)
        if (tlv.constructed) {
            if (depth == CSTA_BER_DEPTH_MAX)
                return -EBADMSG;
            end[depth++] = pos + tlv.header_len + tlv.content_len;
            pos += tlv.header_len;
        } else {
            //  Universal primitives whose length X.690 fixes (8.2, 8.3, 8.4, 8.8): asn1c
            //  reads an empty INTEGER as 0 and ignores a NULL's contents.
            if (tlv.tag_class == 0 &&
                (((tlv.tag == 2 || tlv.tag == 10) && tlv.content_len == 0) ||
                 (tlv.tag == 1 && tlv.content_len != 1) || (tlv.tag == 5 && tlv.content_len != 0)))
                return -EBADMSG;
            pos += tlv.header_len + tlv.content_len;
        }
    }
}

int csta_ber_integer(const uint8_t *p, size_t len, long *value)
{
    if (len == 0 || len > sizeof(long))
        return -EBADMSG;
    unsigned long v = (p[0] & 0x80) ? ~0UL : 0;
    for (size_t i = 0; i < len; i++)
        v = (v << 8) | p[i];
    *value = (long) v;
    return 0;
}

size_t csta_ber_length_size(size_t len)
{
    if (len < 0x80)
        return 1;
    size_t octets = 0;
    for (size_t v = len; v; v >>= 8)
        octets++;
    return 1 + octets;
}

size_t csta_ber_put_length(uint8_t *out, size_t len)
{
    size_t size = csta_ber_length_size(len);
    if (size == 1) {
        out[0] = (uint8_t) len;
        return 1;
    }
    out[0] = (uint8_t) (0x80 | (size - 1));
    for (size_t i = 1; i < size; i++)
        out[i] = (uint8_t) (len >> (8 * (size - 1 - i)));
    return size;
}

size_t csta_ber_put_integer(uint8_t *out, long value)
{
    uint8_t tmp[sizeof(long)];
    size_t n = sizeof(long);
    unsigned long v = (unsigned long) value;
    for (size_t i = 0; i < n; i++)
        tmp[n - 1 - i] = (uint8_t) (v >> (8 * i));
    //  Drop leading octets that only repeat the sign (X.690 8.3.2).
    size_t start = 0;
    while (start < n - 1 && ((tmp[start] == 0x00 && !(tmp[start + 1] & 0x80)) ||
                             (tmp[start] == 0xFF && (tmp[start + 1] & 0x80))))
        start++;
    for (size_t i = start; i < n; i++)
        out[i - start] = tmp[i];
    return n - start;
}
