//  csta_ber: reading BER TLV headers, for the framer and the routing-key peek, which
//  must look at encoded APDUs without a full decode.  Internal to csta/.
#ifndef CSTA_BER_H
#define CSTA_BER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t tag_class;      //  0 universal, 1 application, 2 context, 3 private
    bool constructed;
    uint32_t tag;           //  tag number
    size_t header_len;      //  tag and length octets
    size_t content_len;     //  definite length of the contents
} csta_tlv_t;

//  Parse the TLV header at p[0..avail).  Returns 0, -EAGAIN (header incomplete),
//  -EBADMSG (indefinite length, reserved length octet, tag or length too big, a tag
//  number below 31 in the multi-octet form or one with a leading zero septet).
//  The contents may extend beyond avail; the caller checks.
int csta_ber_header(const uint8_t *p, size_t avail, csta_tlv_t *tlv);

//  Deepest nesting of constructed TLVs csta_ber_check accepts; real CSTA APDUs (ACSE with
//  EXTERNAL, events with private data) stay well under 20.
#define CSTA_BER_DEPTH_MAX 64

//  Check that p[0..len) is exactly one TLV whose every nested TLV has a definite length
//  that fits its parent, nested at most CSTA_BER_DEPTH_MAX deep, and whose universal
//  INTEGER/ENUMERATED are not empty, BOOLEANs one octet and NULLs empty.  Returns 0 or
//  -EBADMSG.  Iterative, no recursion; other primitive contents are not looked at.
int csta_ber_check(const uint8_t *p, size_t len);

//  Decode a BER INTEGER's contents (two's complement, 1..8 octets).
int csta_ber_integer(const uint8_t *p, size_t len, long *value);

//  Write a length in the shortest definite form; returns the octets used (1..5).
size_t csta_ber_put_length(uint8_t *out, size_t len);
size_t csta_ber_length_size(size_t len);

//  Minimal two's complement encoding of value into out[0..8); returns the length.
size_t csta_ber_put_integer(uint8_t *out, long value);

#endif
