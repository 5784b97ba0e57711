//  csta_peek: the routing keys of an ENCODED APDU, read with a BER TLV walker and no
//  asn1c, and rewriting of its invoke id and monitor cross-reference in a copy.
//
//  The multiplexer looks at every APDU but decodes few: it routes a result by invoke id,
//  an event by monitor cross-reference, a request by the devices it names.  It forwards
//  each event to every application that monitors it, with that application's xref and,
//  for invokes, its own invoke id.  Both are done here on the bytes:
//
//      csta_peek_t pk;
//      if (csta_peek(&pk, apdu, len) == 0 && pk.event != CSTA_EV_NONE) {
//          for each application app monitoring pk.xref:
//              rc = csta_peek_rewrite(&pk, apdu, len, NULL, &app->xref, out, sizeof out, &n);
//      }
//
//  Peek once, rewrite as often as needed: a rewrite reuses the offsets the peek found,
//  allocates nothing and copies the APDU once (csta-facts.md 1.3, 2.2, 2.3).
//
//  What csta_peek checks: the APDU is exactly one definite-length TLV; every TLV it walks
//  (all of the ROSE envelope and of the argument or result, to 16 levels of nesting) fits
//  inside its parent; the invoke id and opcode are INTEGERs; a routing xref is the first
//  element of its body.  It does not check the operation's types: csta_apdu_decode does.
//  Whatever csta_apdu_decode accepts in DER (and so everything ctim's encoder writes)
//  peeks to the same kind, invoke id, opcode and xref (csta_fuzz checks this); exotic BER
//  the decoder also takes (a constructed xref string) may get -EBADMSG here.
//  It never reads outside apdu[0..len).
#ifndef CSTA_PEEK_H
#define CSTA_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csta_apdu.h"

#define CSTA_PEEK_DEVICES_MAX 6     //  distinct devices kept per APDU (Delivered names 5)
#define CSTA_PEEK_DEPTH_MAX 16      //  nesting walked for devices; deeper TLVs are skipped
#define CSTA_PEEK_PATH_MAX 4        //  constructed TLVs around a routing xref

//  A device named by the APDU, as the PBX spells it: dialingNumber [0] or deviceNumber [1]
//  of a DeviceID (ECMA-285 CSTA-device-identifiers).  Other forms are not routing keys.
typedef struct {
    csta_dev_kind_t kind;               //  CSTA_DEV_DIALING or CSTA_DEV_NUMBER
    long number;                        //  CSTA_DEV_NUMBER (Panasonic 0x0111xxxx ...)
    char digits[CSTA_DIGITS_MAX + 1];   //  CSTA_DEV_DIALING, NUL-terminated
} csta_peek_device_t;

//  The routing keys of one APDU.  Offsets count from the APDU's first octet and point at
//  the TAG octet of the element; they are valid for the bytes that were peeked.
typedef struct {
    csta_apdu_kind_t kind;              //  AARQ ... ABRT, INVOKE, RESULT, ERROR, REJECT
    size_t len;                         //  length of the APDU peeked

    //  invokeId: every ROSE APDU, except a Reject whose invokeId is absent (NULL)
    bool has_invoke_id;
    long invoke_id;
    size_t invoke_id_off;               //  offset of the invokeId INTEGER TLV

    //  operation: invoke, and result carrying { opcode, result }.  Any INTEGER that fits
    //  an int; when has_opcode is false, opcode is -1.
    bool has_opcode;
    int opcode;

    //  The monitor cross-reference (MonitorCrossRefID, [APPLICATION 21]) that routes the
    //  APDU: CSTAEventReport (21) invoke, MonitorStop (73) invoke, ChangeMonitorFilter (72)
    //  invoke, MonitorStart (71) result.  In each it is the first element of the body.
    bool has_xref;
    csta_xref_t xref;
    size_t xref_off;                    //  offset of the MonitorCrossRefID TLV

    //  CSTAEventReport: EventSpecificInfo category ([0] callControl ... [7] vendor) and
    //  the event's tag in it (Delivered = 0/4); event = category * 100 + tag as in
    //  csta_event.h.  -1 / CSTA_EV_NONE when not an event report, or when the report has
    //  another shape (a category outside [0]..[7], a tag >= 100): the decoder skips such
    //  extensions too, so they are not an error.
    int event_category;                 //  -1 if none
    int event_tag;                      //  -1 if none
    csta_event_type_t event;

    //  Devices named in the argument or result (an event's too), in order, without
    //  duplicates, at most CSTA_PEEK_DEVICES_MAX; devices_dropped counts those that did
    //  not fit.  Found by shape: a DeviceID is a SEQUENCE whose first element is
    //  [0] IA5String of printable characters (at most CSTA_DIGITS_MAX) or [1] INTEGER;
    //  a ConnectionID is [APPLICATION 11] or the `both` SEQUENCE { [0] callID,
    //  [1] { DeviceID | [3] dynamicID } }.  Extensions (CSTACommonArguments) are skipped.
    size_t device_count;
    size_t devices_dropped;
    csta_peek_device_t device[CSTA_PEEK_DEVICES_MAX];

    //  callID of the first ConnectionID whose callID has 1..CSTA_CALL_ID_MAX octets
    //  (length 0: none).
    uint8_t call_id_len;
    uint8_t call_id[CSTA_CALL_ID_MAX];

    //  For csta_peek_rewrite: offsets of the constructed TLVs enclosing the xref, outermost
    //  (the APDU, offset 0) first.
    uint8_t xref_depth;
    size_t xref_path[CSTA_PEEK_PATH_MAX];
} csta_peek_t;

//  Read the routing keys of the encoded APDU apdu[0..len) into *peek (one frame's
//  payload, as csta_framer_next returns it).  Returns 0, or
//   -EBADMSG  not one well-formed ACSE or ROSE APDU (truncated, trailing bytes, indefinite
//             or overrunning length, invokeId or opcode not an INTEGER (or not fitting a
//             long / an int), an event report
//             or monitor body that does not start with a MonitorCrossRefID)
//   -EMSGSIZE a routing xref longer than CSTA_XREF_MAX
//  An unknown opcode is not an error: the keys are read all the same.
int csta_peek(csta_peek_t *peek, const uint8_t *apdu, size_t len);

//  Copy apdu[0..len), which *peek describes, into out[0..cap) with the invokeId set to
//  *invoke_id and/or the routing xref set to *xref (NULL: keep it).  The new values may
//  be longer or shorter than the old; every enclosing length is fixed, in the shortest
//  definite form.  No allocation; out must not overlap apdu.  Returns 0 and the new
//  length in *out_len, or
//   -ENOSPC   out is too small
//   -EINVAL   *peek does not describe these bytes, or the APDU has no invokeId / xref
//   -EBADMSG  the enclosing TLVs do not parse (only if the bytes changed since the peek)
int csta_peek_rewrite(const csta_peek_t *peek, const uint8_t *apdu, size_t len,
                      const long *invoke_id, const csta_xref_t *xref, uint8_t *out, size_t cap,
                      size_t *out_len);

#endif
