//  csta_types: the building blocks of every CSTA message (devices, connections,
//  cross-references, private data), as plain C values that own no asn1c memory.
#ifndef CSTA_TYPES_H
#define CSTA_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSTA_DIGITS_MAX 64      //  longest device number or name we carry (IA5)
#define CSTA_CALL_ID_MAX 16     //  CallID is opaque; Panasonic and HiPath use 2..4 bytes
#define CSTA_XREF_MAX 16        //  MonitorCrossRefID, serviceCrossRefID, sysStatRegisterID
#define CSTA_PRIVATE_MAX 8      //  CSTAPrivateData elements kept per message
#define CSTA_TIME_MAX 24        //  GeneralizedTime text, e.g. "20261122031400"

//  How a device is named.  ABSENT means the optional field was not in the message.
typedef enum {
    CSTA_DEV_ABSENT = 0,
    CSTA_DEV_DIALING,           //  dialingNumber [0]: digits
    CSTA_DEV_NUMBER,            //  deviceNumber [1]: number (Panasonic 0x0111xxxx etc.)
    CSTA_DEV_IMPLICIT_PUBLIC,   //  implicitPublic [2]: digits
    CSTA_DEV_EXPLICIT_PUBLIC,   //  explicitPublic [3]: ton + digits
    CSTA_DEV_IMPLICIT_PRIVATE,  //  implicitPrivate [4]: digits
    CSTA_DEV_EXPLICIT_PRIVATE,  //  explicitPrivate [5]: ton + digits
    CSTA_DEV_OTHER,             //  other [6]: digits holds the octets
    CSTA_DEV_DYNAMIC,           //  LocalDeviceID dynamicID [3]: digits holds the octets
    CSTA_DEV_NOT_KNOWN,         //  Calling/Called/...DeviceID notKnown
    CSTA_DEV_RESTRICTED,        //  ... restricted
    CSTA_DEV_NOT_REQUIRED,      //  RedirectionDeviceID notRequired
    CSTA_DEV_NOT_SPECIFIED,     //  RedirectionDeviceID notSpecified
} csta_dev_kind_t;

//  A device identifier (ECMA-269 DeviceID and the tagged Calling/Called/Subject/...
//  variants, which differ only in their APPLICATION tag).
typedef struct {
    csta_dev_kind_t kind;
    char digits[CSTA_DIGITS_MAX + 1];   //  NUL-terminated
    long number;                        //  CSTA_DEV_NUMBER
    int ton;                            //  CSTA_DEV_EXPLICIT_*: the TON choice index
    char private_number[CSTA_DIGITS_MAX + 1];   //  privateNumber [0], "" if absent
    char name[CSTA_DIGITS_MAX + 1];     //  privateName [1], "" if absent
} csta_device_t;

//  A connection: call id and/or the device on the call (ECMA-269 ConnectionID).
//  Encoded as the `both` form when both are set, as real PBXs do.
typedef struct {
    bool present;
    uint8_t call_id_len;                //  0: no callID
    uint8_t call_id[CSTA_CALL_ID_MAX];
    csta_device_t device;               //  kind ABSENT: no deviceID
} csta_conn_t;

//  An opaque identifier (MonitorCrossRefID, serviceCrossRefID, SysStatRegisterID, ...).
typedef struct {
    uint8_t len;
    uint8_t bytes[CSTA_XREF_MAX];
} csta_xref_t;

//  Bytes of variable length.  In a decoded message they live in the message's arena
//  (freed by csta_apdu_clear); in a message being built they may point anywhere that
//  outlives the encode call.  data NULL means absent.
typedef struct {
    const uint8_t *data;
    size_t len;
} csta_bytes_t;

//  CSTACommonArguments ("extensions"): security stamp and vendor private data.  Each
//  private element is kept as its complete BER encoding and re-encoded unchanged.
typedef struct {
    bool present;
    bool has_sequence_number;
    long sequence_number;               //  security.messageSequenceNumber
    char timestamp[CSTA_TIME_MAX + 1];  //  security.timestamp, "" if absent
    bool has_security;                  //  security element present (even if empty)
    bool has_private;                   //  privateData element present (even if empty)
    size_t private_count;
    csta_bytes_t private_data[CSTA_PRIVATE_MAX];
} csta_ext_t;

//  ConnectionList (Transferred, Conferenced, results of Transfer/Conference): how the
//  connections of the old calls map onto the new one.
#define CSTA_CONN_LIST_MAX 8
typedef struct {
    csta_conn_t new_conn;               //  [0] newConnection
    csta_conn_t old_conn;               //  [1] oldConnection
    csta_device_t endpoint;             //  [2] endpoint (NOT_KNOWN / RESTRICTED allowed)
} csta_conn_list_item_t;

typedef struct {
    bool present;
    size_t count;
    csta_conn_list_item_t item[CSTA_CONN_LIST_MAX];
} csta_conn_list_t;

//  A BIT STRING as it was on the wire (kept so that re-encoding is byte-exact).
typedef struct {
    bool present;
    uint8_t len;            //  octets used in bytes[]
    uint8_t unused;         //  unused bits in the last octet
    uint8_t bytes[4];
} csta_bits_t;

bool csta_bits_test(const csta_bits_t *bits, unsigned bit);
//  Set bit `bit`, growing the string to at least min_octets octets (unused bits 0).
void csta_bits_set(csta_bits_t *bits, unsigned bit, unsigned min_octets);

#define CSTA_CHARGE_UNITS_MAX 4     //  numberOfChargeUnits items kept

//  ECMA-285 charge-info ChargingInfo: charge units or an amount of money, as a subtotal
//  or the total (ConnectionCleared, Transferred, Charging).
typedef enum {
    CSTA_CHARGE_SUB_TOTAL = 0,
    CSTA_CHARGE_TOTAL = 1,
} csta_charge_type_t;

typedef enum {
    CSTA_CURRENCY_ONE_THOUSANDTH = 0,
    CSTA_CURRENCY_ONE_HUNDREDTH = 1,
    CSTA_CURRENCY_ONE_TENTH = 2,
    CSTA_CURRENCY_ONE = 3,
    CSTA_CURRENCY_TEN = 4,
    CSTA_CURRENCY_HUNDRED = 5,
    CSTA_CURRENCY_THOUSAND = 6,
} csta_currency_multiplier_t;

typedef struct {
    bool present;
    bool is_currency;                   //  numberOfCurrencyUnits [1], else numberOfChargeUnits [0]
    size_t unit_count;                  //  numberOfChargeUnits
    struct {
        long charging_units;
        csta_bytes_t type_of_units;     //  optional
    } units[CSTA_CHARGE_UNITS_MAX];
    csta_bytes_t currency_type;         //  numberOfCurrencyUnits; empty = default currency
    long currency_amount;
    csta_currency_multiplier_t currency_multiplier;
    csta_charge_type_t type_of_charging_info;
} csta_charging_info_t;

//  ECMA-269 LocalConnectionState; CSTA_LCS_ABSENT when the field is left out.
typedef enum {
    CSTA_LCS_ABSENT = -1,
    CSTA_LCS_NULL = 0,
    CSTA_LCS_INITIATED = 1,
    CSTA_LCS_ALERTING = 2,
    CSTA_LCS_CONNECTED = 3,
    CSTA_LCS_HOLD = 4,
    CSTA_LCS_QUEUED = 5,
    CSTA_LCS_FAIL = 6,
} csta_lcs_t;

//  ECMA-269 EventCause, the values ctim's call model uses (the wire carries any value;
//  cause fields are plain ints).  CSTA_CAUSE_ABSENT when the optional field is left out.
enum {
    CSTA_CAUSE_ABSENT = -1,
    CSTA_CAUSE_ACTIVE_PARTICIPATION = 1,
    CSTA_CAUSE_ALTERNATE = 2,
    CSTA_CAUSE_BUSY = 3,
    CSTA_CAUSE_CALL_BACK = 4,
    CSTA_CAUSE_CALL_CANCELLED = 5,
    CSTA_CAUSE_CALL_FORWARD_IMMEDIATE = 6,
    CSTA_CAUSE_CALL_FORWARD_BUSY = 7,
    CSTA_CAUSE_CALL_FORWARD_NO_ANSWER = 8,
    CSTA_CAUSE_CALL_FORWARD = 9,
    CSTA_CAUSE_CALL_NOT_ANSWERED = 10,
    CSTA_CAUSE_CALL_PICKUP = 11,
    CSTA_CAUSE_CAMP_ON = 12,
    CSTA_CAUSE_DEST_NOT_OBTAINABLE = 13,
    CSTA_CAUSE_DO_NOT_DISTURB = 14,
    CSTA_CAUSE_INCOMPATIBLE_DESTINATION = 15,
    CSTA_CAUSE_KEY_OPERATION = 17,
    CSTA_CAUSE_MAINTENANCE = 19,
    CSTA_CAUSE_NETWORK_CONGESTION = 20,
    CSTA_CAUSE_NEW_CALL = 22,
    CSTA_CAUSE_OVERRIDE = 24,
    CSTA_CAUSE_PARK = 25,
    CSTA_CAUSE_RECALL = 27,
    CSTA_CAUSE_REDIRECTED = 28,
    CSTA_CAUSE_REORDER_TONE = 29,
    CSTA_CAUSE_RESOURCES_NOT_AVAILABLE = 30,
    CSTA_CAUSE_SILENT_PARTICIPATION = 31,
    CSTA_CAUSE_TRANSFER = 32,
    CSTA_CAUSE_TRUNKS_BUSY = 33,
    CSTA_CAUSE_BLOCKED = 35,
    CSTA_CAUSE_CONSULTATION = 37,
    CSTA_CAUSE_DISTRIBUTED = 38,
    CSTA_CAUSE_DTMF_DIGIT_DETECTED = 39,
    CSTA_CAUSE_MAKE_CALL = 44,
    CSTA_CAUSE_NETWORK_SIGNAL = 46,
    CSTA_CAUSE_NORMAL_CLEARING = 48,
    CSTA_CAUSE_SINGLE_STEP_CONFERENCE = 51,
    CSTA_CAUSE_SINGLE_STEP_TRANSFER = 52,
    CSTA_CAUSE_TIMEOUT = 56,
    CSTA_CAUSE_CONFERENCE = 63,
    CSTA_CAUSE_DEST_OUT_OF_ORDER = 65,
    CSTA_CAUSE_INTRUDE = 68,
    CSTA_CAUSE_JOIN_CALL = 70,
    CSTA_CAUSE_NORMAL = 78,
    CSTA_CAUSE_NUMBER_UNALLOCATED = 81,
};

//  Helpers for building messages in tests, the simulator and the node.
void csta_device_set(csta_device_t *dev, const char *digits);
void csta_device_set_number(csta_device_t *dev, long number);
void csta_conn_set(csta_conn_t *conn, const uint8_t *call_id, size_t call_id_len,
                   const char *device_digits);
void csta_xref_set(csta_xref_t *xref, const void *bytes, size_t len);
bool csta_device_equal(const csta_device_t *a, const csta_device_t *b);
bool csta_conn_equal(const csta_conn_t *a, const csta_conn_t *b);
bool csta_xref_equal(const csta_xref_t *a, const csta_xref_t *b);

#endif
