//  csta_call: arguments and results of the CSTA call control services
//  (ECMA-269 clause 17; ECMA-285 modules make-call, clear-connection, ...).
//  Field names follow the standard's; optional fields are marked by a `has_` flag,
//  an ABSENT kind, or an empty buffer.
#ifndef CSTA_CALL_H
#define CSTA_CALL_H

#include "csta_types.h"

//  MakeCall (10)
typedef struct {
    csta_device_t calling;              //  callingDevice
    csta_device_t called;               //  calledDirectoryNumber
    csta_bytes_t account_code;          //  [0] accountCode
    csta_bytes_t auth_code;             //  [1] authCode
    bool has_auto_originate;            //  [3] autoOriginate, DEFAULT prompt
    long auto_originate;                //  0 prompt, 1 doNotPrompt
    csta_bytes_t correlator;            //  [2] correlatorData
    csta_bytes_t user_data;             //  userData
} csta_make_call_arg_t;

typedef struct {
    csta_conn_t calling;                //  callingDevice (the new connection)
} csta_make_call_res_t;

//  ClearConnection (5); result: noData/extensions
typedef struct {
    csta_conn_t connection;             //  connectionToBeCleared
    csta_bytes_t correlator;
    csta_bytes_t user_data;
    int reason;                         //  EventCause, CSTA_CAUSE_ABSENT if absent
} csta_clear_connection_arg_t;

//  The body of a call control invoke or result; which member is valid follows
//  from the opcode and the APDU kind.
typedef union {
    csta_make_call_arg_t make_call;
    csta_make_call_res_t make_call_res;
    csta_clear_connection_arg_t clear_connection;
} csta_call_u;

#endif
