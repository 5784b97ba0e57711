//  csta_frame: CSTA APDUs on a TCP byte stream.  Real peers put a length before each
//  APDU (csta-facts.md 1.1): Panasonic, Ericsson and Alcatel 2 bytes big-endian
//  (`len16`), Siemens HiPath 3 bytes 0x26 + length | 0x8000 (`hipath`); `raw` is
//  back-to-back BER TLVs.  The framer reassembles APDUs from reads of any size; the
//  output queue sends frames through partial writes.
#ifndef CSTA_FRAME_H
#define CSTA_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    CSTA_FRAMING_LEN16 = 0,     //  default (Panasonic)
    CSTA_FRAMING_RAW,
    CSTA_FRAMING_HIPATH,
} csta_framing_t;

#define CSTA_FRAME_MAX_DEFAULT 65536    //  largest APDU accepted unless configured
#define CSTA_FRAME_HEADER_MAX 3

const char *csta_framing_str(csta_framing_t framing);
//  "len16" / "raw" / "hipath" -> framing; -EINVAL for anything else.
int csta_framing_parse(const char *name, csta_framing_t *framing);

//  --- Receiving ---------------------------------------------------------------------------------

typedef struct csta_framer csta_framer_t;

//  A framer for one connection.  max_apdu bounds one APDU (0: CSTA_FRAME_MAX_DEFAULT).
csta_framer_t *csta_framer_new(csta_framing_t framing, size_t max_apdu);
void csta_framer_destroy(csta_framer_t **self_p);

//  Append bytes received from the peer.  Returns 0 or -ENOMEM.
int csta_framer_feed(csta_framer_t *self, const void *data, size_t len);
//  Read once from a non-blocking fd into the framer.  Returns the bytes read (> 0),
//  0 at end of stream, -EAGAIN if nothing was there, or another negative errno.
ssize_t csta_framer_read(csta_framer_t *self, int fd);

//  The next complete APDU: *apdu points into the framer and stays valid until the next
//  call of any csta_framer_* function.  Returns 0, or
//   -EAGAIN   no complete APDU yet
//   -EBADMSG  a frame that cannot be BER (bad header, indefinite length, the TLV's
//             length differs from the frame's, hipath header without 0x26/0x8000)
//   -EMSGSIZE a frame longer than max_apdu
//  After -EBADMSG or -EMSGSIZE the stream has lost its framing: drop the connection.
int csta_framer_next(csta_framer_t *self, const uint8_t **apdu, size_t *len);

//  Bytes buffered but not yet returned as APDUs.
size_t csta_framer_pending(const csta_framer_t *self);

//  --- Sending -----------------------------------------------------------------------------------

//  Write the frame header for an APDU of apdu_len bytes into hdr; returns its length
//  (0 for raw) or -EMSGSIZE if the framing cannot carry that length.
int csta_frame_header(csta_framing_t framing, size_t apdu_len, uint8_t *hdr);

typedef struct csta_outq csta_outq_t;

//  An output queue bounded to max_bytes (0: unbounded) of not yet written frames.
csta_outq_t *csta_outq_new(csta_framing_t framing, size_t max_bytes);
void csta_outq_destroy(csta_outq_t **self_p);
//  Queue one APDU with its frame header.  Returns 0, -ENOBUFS when the queue would
//  exceed its bound (the caller decides: a slow peer is cut off), -EMSGSIZE, -ENOMEM.
int csta_outq_push(csta_outq_t *self, const uint8_t *apdu, size_t len);
//  Write as much as the non-blocking fd takes.  Returns 0 when the queue is empty,
//  -EAGAIN when bytes remain (poll for POLLOUT), or another negative errno.
int csta_outq_flush(csta_outq_t *self, int fd);
size_t csta_outq_size(const csta_outq_t *self);
//  For writers other than a plain fd (TLS): the queued bytes, oldest first.  *data stays
//  valid until the next push or consume (a push may move the buffer: OpenSSL needs
//  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).  Returns how many bytes *data holds.
size_t csta_outq_peek(const csta_outq_t *self, const uint8_t **data);
//  Drop the first n bytes (n <= csta_outq_size), once they are written.
void csta_outq_consume(csta_outq_t *self, size_t n);

#endif
