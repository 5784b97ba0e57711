//  csta_acse: the ACSE association APDUs (X.227 AARQ, AARE, RLRQ, RLRE, ABRT) with
//  the CSTA login and CSTA version that peers put in them (csta-facts.md 1.2).
#ifndef CSTA_ACSE_H
#define CSTA_ACSE_H

#include "csta_types.h"

#define CSTA_OID_MAX 48
#define CSTA_LOGIN_MAX 128

//  Application context names seen on CSTA links.
#define CSTA_ACN_CSTA3 "1.3.12.0.218"           //  Panasonic, HiPath
#define CSTA_ACN_CSTA3_ALT "1.3.12.0.218.200"
#define CSTA_ACN_CSTA3_ED "1.3.12.0.285.200"
#define CSTA_ACN_CSTA1 "1.3.12.0.180.1"
//  direct-reference of the CSTA user information EXTERNAL.
#define CSTA_USER_INFO_OID "1.3.12.0.285.200"

//  CSTAVersion bits.
enum { CSTA_VERSION_PHASE3_ED1 = 2, CSTA_VERSION_FIVE = 4, CSTA_VERSION_285_ED4 = 18 };

//  AARE result, and the source of its diagnostic.
enum { CSTA_AARE_ACCEPTED = 0, CSTA_AARE_REJECTED_PERMANENT = 1, CSTA_AARE_REJECTED_TRANSIENT = 2 };
enum { CSTA_DIAG_SERVICE_USER = 1, CSTA_DIAG_SERVICE_PROVIDER = 2 };
//  acse-service-user diagnostics.
enum {
    CSTA_DIAG_NULL = 0,
    CSTA_DIAG_NO_REASON = 1,
    CSTA_DIAG_ACN_NOT_SUPPORTED = 2,
    CSTA_DIAG_AUTH_MECH_NOT_RECOGNIZED = 11,
    CSTA_DIAG_AUTH_MECH_REQUIRED = 12,
    CSTA_DIAG_AUTH_FAILURE = 13,
    CSTA_DIAG_AUTH_REQUIRED = 14,
};
//  ABRT diagnostics.
enum {
    CSTA_ABRT_NO_REASON = 1,
    CSTA_ABRT_PROTOCOL_ERROR = 2,
    CSTA_ABRT_AUTH_FAILURE = 5,
    CSTA_ABRT_AUTH_REQUIRED = 6,
};

typedef struct {
    csta_bits_t protocol_version;           //  AARQ/AARE [0]
    char context[CSTA_OID_MAX];             //  application-context-name, dotted
    //  AARE
    long result;
    long diag_source;                       //  CSTA_DIAG_SERVICE_USER / _PROVIDER
    long diag;
    //  Login (AARQ calling-authentication-value external → sender-authentication)
    csta_bits_t acse_requirements;          //  AARQ [10] / AARE [8]
    bool has_login;
    char user[CSTA_LOGIN_MAX + 1];
    char password[CSTA_LOGIN_MAX + 1];
    //  HiPath AARE responding-authentication-value → receiver-authentication
    bool has_receiver_auth;
    char aps_stamp[CSTA_DIGITS_MAX + 1];
    char system_version[CSTA_DIGITS_MAX + 1];
    //  User information: CSTA versions (bit n = CSTAVersion bit n)
    csta_bits_t csta_version;
    //  RLRQ / RLRE
    bool has_reason;
    long reason;
    //  ABRT
    long abort_source;                      //  0 acse-service-user, 1 provider
    bool has_abort_diag;
    long abort_diag;
} csta_acse_t;


#endif
