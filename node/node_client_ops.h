//  node_client_ops: the client API's operations as CSTA services (issue 5) — pure
//  functions, no I/O: the CSTA invoke(s) for a client.proto Request, and the Result and
//  Reply payload for the PBX's answer.  node_client_server checks the session, the line
//  and permissions, sends what is built here through node_pbx_request and replies with
//  what is mapped here.
//
//  Operations and services (ECMA-269 clause 17 and 22; the argument's connection is the
//  call at the request's line unless said):
//      make_call           MakeCall (callingDevice = line)
//      hang_up             ClearConnection
//      answer              AnswerCall
//      hold / retrieve     HoldCall / RetrieveCall
//      redirect            DeflectCall (newDestination = number)
//      blind_transfer      SingleStepTransfer (transferredTo = number)
//      setup_transfer      ConsultationCall (consultedDevice = number; Reply.call_id = the
//                          consultation call)
//      swap_hold           AlternateCall (held, active)
//      complete_transfer   TransferCall (held, active)
//      complete_conference ConferenceCall (held, active; Reply.call_id = the conference)
//      add_to_conference   SingleStepConference (deviceToJoin = number)
//      remove_from_conference  ClearConnection of that party's connection in the call
//      pickup              DirectedPickupCall (callToBePickedUp = call_id at number,
//                          requestingDevice = line); GroupPickupCall (newDestination =
//                          line) when number is empty
//      dtmf                GenerateDigits (DTMF)
//      dial_digits         DialDigits
//      call_back           CallBack (call related; the line's connection in the failed call)
//      intrusion           IntrudeCall (the line's connection in its call to the busy device)
//      set_forwarding      SetForwarding (ForwardingType of the mode, activate, forwardDN)
//      set_do_not_disturb  SetDoNotDisturb
//      get_address_status  GetForwarding, then GetDoNotDisturb (two invokes, one Reply)
//  Destinations an application dials (make_call, redirect, blind/setup transfer,
//  add_to_conference, forwarding) go through the dialling rules of node_numfmt.
//  open_line, close_line, get_call_info, list_lines and set_cdr are the server's own.
#ifndef NODE_CLIENT_OPS_H
#define NODE_CLIENT_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csta.h"
#include "node_client_calls.h"
#include "node_numfmt.h"
#include "proto.h"

//  What a request is built against (all borrowed; calls and numfmt may be NULL).
typedef struct {
    const node_client_calls_t *calls;   //  the calls at the request's line
    const node_numfmt_t *numfmt;        //  dialling rules for destinations
} node_client_ops_ctx_t;

//  The line a request acts on ("" for list_lines and set_cdr, which have none).
const char *node_client_ops_line(const proto_request_t *rq);
//  How many CSTA invokes serve op: 0 (the server answers it alone), 1, or 2
//  (get_address_status).
int node_client_ops_invokes(proto_op_t op);

//  Build invoke number `step` (0-based, < node_client_ops_invokes) of rq into *apdu (an
//  INVOKE with invoke id 1: node_pbx replaces it).  Returns PROTO_RESULT_OK, or the Result
//  to answer at once with text saying why: BAD_REQUEST (an argument missing or malformed),
//  INVALID_CALL (a call id that is not one of this node's), NOT_SUPPORTED.
proto_result_t node_client_ops_build(const proto_request_t *rq, int step,
                                     const node_client_ops_ctx_t *ctx, csta_apdu_t *apdu,
                                     char *text, size_t cap);

//  The PBX's answer to invoke `step` of rq: status and apdu as node_pbx_reply_fn gives
//  them.  Returns the Result; on OK the step's payload is added to *reply (call_id; for
//  get_address_status the forwarding list or do-not-disturb in reply->address, has_address
//  set).  reply->text gets the CSTA detail of an error.
proto_result_t node_client_ops_answer(const proto_request_t *rq, int step, int status,
                                      const uint8_t *apdu, size_t len, proto_reply_t *reply);

//  A CSTA UniversalFailure as a Result (client.proto's Result comments); text gets
//  "CSTA error <category>/<value>".
proto_result_t node_client_ops_error(const csta_error_t *e, char *text, size_t cap);
//  The Result of a node_pbx status < 0 (no answer): -ETIMEDOUT PBX_TIMEOUT, -ENOTCONN
//  LINK_DOWN, -ENOBUFS BUSY, else ERROR.
proto_result_t node_client_ops_status(int status);

//  ECMA-269 ForwardingType of a client.proto mode (-1 for UNSPECIFIED), and back
//  (PROTO_FWD_UNSPECIFIED for the do-not-disturb types the protocol does not carry).
long node_client_ops_fwd_type(proto_fwd_mode_t mode);
proto_fwd_mode_t node_client_ops_fwd_mode(long forwarding_type);

//  One CallDetailRecordsReport record as Event.cdr: numbers formatted (incoming rules for
//  an outside caller, outgoing for an outside called party), times in Unix ms from the
//  GeneralizedTime fields (connection start = answered when the record says it was),
//  charge units summed.  lines and numfmt may be NULL.
void node_client_ops_cdr(const csta_cdr_record_t *rec, const node_numfmt_t *numfmt,
                         const node_lines_t *lines, proto_cdr_t *out);

#endif
