//  csta_map_common: asn1c <-> C mapping of the building blocks every service uses
//  (devices, connections, cross-references, extensions, connection lists).
#include "csta_map.h"

#include "CSTASecurityData.h"
#include "ConnectionListItem.h"
#include "LocalDeviceID.h"
#include "PrivateTON.h"
#include "PublicTON.h"
#include "Unmodelled.h"

//  --- Strings and bytes ---------------------------------------------------------------

//  The bytes of a decoded string: asn1c leaves buf NULL for an empty constructed string,
//  and memcpy/memchr from NULL is undefined even for 0 bytes (found by csta_fuzz).
static const uint8_t *s_buf(const uint8_t *buf)
{
    static const uint8_t empty[1];
    return buf ? buf : empty;
}

int csta_map_text_to(const char *text, OCTET_STRING_t *out)
{
    return OCTET_STRING_fromBuf(out, text, (int) strlen(text)) == 0 ? 0 : -ENOMEM;
}

int csta_map_text_from(const OCTET_STRING_t *in, char *text, size_t cap)
{
    if ((size_t) in->size >= cap)
        return -EMSGSIZE;
    memcpy(text, s_buf(in->buf), (size_t) in->size);
    text[in->size] = '\0';
    //  IA5 text with an embedded NUL would be silently cut by C string handling.
    if (memchr(s_buf(in->buf), 0, (size_t) in->size))
        return -EBADMSG;
    return 0;
}

int csta_map_bytes_to(const csta_bytes_t *b, OCTET_STRING_t *out)
{
    return OCTET_STRING_fromBuf(out, (const char *) b->data, (int) b->len) == 0 ? 0 : -ENOMEM;
}

int csta_map_bytes_from(csta_apdu_t *a, const OCTET_STRING_t *in, csta_bytes_t *b)
{
    return csta_apdu_set_bytes(a, b, s_buf(in->buf), (size_t) in->size);
}

int csta_map_bytes_opt_to(const csta_bytes_t *b, OCTET_STRING_t **out)
{
    if (!b->data)
        return 0;
    *out = calloc(1, sizeof(OCTET_STRING_t));
    if (!*out)
        return -ENOMEM;
    return csta_map_bytes_to(b, *out);
}

int csta_map_bytes_opt_from(csta_apdu_t *a, const OCTET_STRING_t *in, csta_bytes_t *b)
{
    return in ? csta_map_bytes_from(a, in, b) : 0;
}

int csta_map_xref_to(const csta_xref_t *xref, OCTET_STRING_t *out)
{
    return OCTET_STRING_fromBuf(out, (const char *) xref->bytes, xref->len) == 0 ? 0 : -ENOMEM;
}

int csta_map_xref_from(const OCTET_STRING_t *in, csta_xref_t *xref)
{
    if ((size_t) in->size > CSTA_XREF_MAX)
        return -EMSGSIZE;
    xref->len = (uint8_t) in->size;
    memcpy(xref->bytes, s_buf(in->buf), (size_t) in->size);
    return 0;
}

//  --- Scalars ----------------------------------------------------------------------------

int csta_map_long_opt_to(long value, bool present, long **out)
{
    if (!present)
        return 0;
    *out = malloc(sizeof(long));
    if (!*out)
        return -ENOMEM;
    **out = value;
    return 0;
}

int csta_map_lcs_opt_to(csta_lcs_t lcs, long **out)
{
    return csta_map_long_opt_to(lcs, lcs != CSTA_LCS_ABSENT, out);
}

csta_lcs_t csta_map_lcs_opt_from(const long *in)
{
    return in ? (csta_lcs_t) *in : CSTA_LCS_ABSENT;
}

//  EventCause has no value 0, so a cause left at 0 by a zeroed message is absent too.
int csta_map_cause_opt_to(int cause, long **out)
{
    return csta_map_long_opt_to(cause, cause > 0, out);
}

int csta_map_cause_opt_from(const long *in)
{
    return in ? (int) *in : CSTA_CAUSE_ABSENT;
}

int csta_map_bits_to(uint32_t bits, unsigned min_octets, BIT_STRING_t *out)
{
    unsigned top = 0;   //  octets needed for the highest set bit
    for (unsigned n = 0; n < 32; n++)
        if (bits & (1u << n))
            top = n / 8 + 1;
    unsigned octets = top > min_octets ? top : min_octets;
    out->buf = calloc(1, octets ? octets : 1);
    if (!out->buf)
        return -ENOMEM;
    //  A peer's padding (min_octets up to 8) can be longer than the 32 bits we hold.
    for (unsigned n = 0; n < octets * 8 && n < 32; n++)
        if (bits & (1u << n))
            out->buf[n / 8] |= (uint8_t) (0x80 >> (n % 8));
    out->size = (int) octets;
    out->bits_unused = 0;
    return 0;
}

uint32_t csta_map_bits_from(const BIT_STRING_t *in)
{
    uint32_t bits = 0;
    //  X.690 8.6.2.2 allows 0..7 unused bits; a peer's larger count (asn1c keeps the octet
    //  as sent) must not wrap nbits and read past the string (found by csta_fuzz).
    size_t total = (size_t) in->size * 8;
    size_t unused = in->size && in->bits_unused > 0 ? (size_t) in->bits_unused : 0;
    size_t nbits = unused < total ? total - unused : 0;
    for (size_t n = 0; n < nbits && n < 32; n++)
        if (in->buf[n / 8] & (0x80 >> (n % 8)))
            bits |= 1u << n;
    return bits;
}

//  --- Devices ----------------------------------------------------------------------------

static int s_ton_to(int ton, const char *digits, int *present, IA5String_t *choice_member_base,
                    int max_ton)
{
    //  PublicTON and PrivateTON: `present` is 1 + index; every alternative is an IA5String
    //  at the same offset (a union), so the first member serves for all.
    if (ton < 0 || ton > max_ton)
        return -EINVAL;
    *present = ton + 1;
    return csta_map_text_to(digits, choice_member_base);
}

int csta_map_device_to(const csta_device_t *dev, DeviceID_t *out)
{
    struct DeviceID__deviceIdentifier *id = &out->deviceIdentifier;
    int rc = 0;
    switch (dev->kind) {
    case CSTA_DEV_DIALING:
        id->present = DeviceID__deviceIdentifier_PR_dialingNumber;
        rc = csta_map_text_to(dev->digits, &id->choice.dialingNumber);
        break;
    case CSTA_DEV_NUMBER:
        id->present = DeviceID__deviceIdentifier_PR_deviceNumber;
        id->choice.deviceNumber = dev->number;
        break;
    case CSTA_DEV_IMPLICIT_PUBLIC:
        id->present = DeviceID__deviceIdentifier_PR_implicitPublic;
        rc = csta_map_text_to(dev->digits, &id->choice.implicitPublic);
        break;
    case CSTA_DEV_EXPLICIT_PUBLIC:
        id->present = DeviceID__deviceIdentifier_PR_explicitPublic;
        rc = s_ton_to(dev->ton, dev->digits, (int *) &id->choice.explicitPublic.present,
                      &id->choice.explicitPublic.choice.unknown, 5);
        break;
    case CSTA_DEV_IMPLICIT_PRIVATE:
        id->present = DeviceID__deviceIdentifier_PR_implicitPrivate;
        rc = csta_map_text_to(dev->digits, &id->choice.implicitPrivate);
        break;
    case CSTA_DEV_EXPLICIT_PRIVATE:
        id->present = DeviceID__deviceIdentifier_PR_explicitPrivate;
        rc = s_ton_to(dev->ton, dev->digits, (int *) &id->choice.explicitPrivate.present,
                      &id->choice.explicitPrivate.choice.unknown, 6);
        break;
    case CSTA_DEV_OTHER:
        id->present = DeviceID__deviceIdentifier_PR_other;
        rc = csta_map_text_to(dev->digits, &id->choice.other);
        break;
    default:
        return -EINVAL;     //  absent, or a form that DeviceID cannot carry
    }
    if (rc == 0 && dev->private_number[0]) {
        out->privateNumber = calloc(1, sizeof(*out->privateNumber));
        rc = out->privateNumber ? csta_map_text_to(dev->private_number, out->privateNumber)
                                : -ENOMEM;
    }
    if (rc == 0 && dev->name[0]) {
        out->privateName = calloc(1, sizeof(*out->privateName));
        rc = out->privateName ? csta_map_text_to(dev->name, out->privateName) : -ENOMEM;
    }
    return rc;
}

int csta_map_device_opt_to(const csta_device_t *dev, DeviceID_t **out)
{
    if (dev->kind == CSTA_DEV_ABSENT)
        return 0;
    CSTA_MAP_NEW(DeviceID_t, out);
    return csta_map_device_to(dev, *out);
}

int csta_map_device_from(const DeviceID_t *in, csta_device_t *dev)
{
    const struct DeviceID__deviceIdentifier *id = &in->deviceIdentifier;
    int rc = 0;
    memset(dev, 0, sizeof *dev);
    switch (id->present) {
    case DeviceID__deviceIdentifier_PR_dialingNumber:
        dev->kind = CSTA_DEV_DIALING;
        rc = csta_map_text_from(&id->choice.dialingNumber, dev->digits, sizeof dev->digits);
        break;
    case DeviceID__deviceIdentifier_PR_deviceNumber:
        dev->kind = CSTA_DEV_NUMBER;
        dev->number = id->choice.deviceNumber;
        break;
    case DeviceID__deviceIdentifier_PR_implicitPublic:
        dev->kind = CSTA_DEV_IMPLICIT_PUBLIC;
        rc = csta_map_text_from(&id->choice.implicitPublic, dev->digits, sizeof dev->digits);
        break;
    case DeviceID__deviceIdentifier_PR_explicitPublic:
        if (id->choice.explicitPublic.present == PublicTON_PR_NOTHING)
            return -EBADMSG;
        dev->kind = CSTA_DEV_EXPLICIT_PUBLIC;
        dev->ton = (int) id->choice.explicitPublic.present - 1;
        rc = csta_map_text_from(&id->choice.explicitPublic.choice.unknown, dev->digits,
                                sizeof dev->digits);
        break;
    case DeviceID__deviceIdentifier_PR_implicitPrivate:
        dev->kind = CSTA_DEV_IMPLICIT_PRIVATE;
        rc = csta_map_text_from(&id->choice.implicitPrivate, dev->digits, sizeof dev->digits);
        break;
    case DeviceID__deviceIdentifier_PR_explicitPrivate:
        if (id->choice.explicitPrivate.present == PrivateTON_PR_NOTHING)
            return -EBADMSG;
        dev->kind = CSTA_DEV_EXPLICIT_PRIVATE;
        dev->ton = (int) id->choice.explicitPrivate.present - 1;
        rc = csta_map_text_from(&id->choice.explicitPrivate.choice.unknown, dev->digits,
                                sizeof dev->digits);
        break;
    case DeviceID__deviceIdentifier_PR_other:
        dev->kind = CSTA_DEV_OTHER;
        rc = csta_map_text_from(&id->choice.other, dev->digits, sizeof dev->digits);
        break;
    default:
        return -EBADMSG;    //  an identifier form from a newer edition: not usable
    }
    if (rc == 0 && in->privateNumber)
        rc = csta_map_text_from(in->privateNumber, dev->private_number,
                                sizeof dev->private_number);
    if (rc == 0 && in->privateName)
        rc = csta_map_text_from(in->privateName, dev->name, sizeof dev->name);
    return rc;
}

//  The tagged device types share one layout: { present; choice { DeviceID_t
//  deviceIdentifier; NULL_t notKnown; NULL_t restricted; } }.
#define CSTA_DEFINE_TAGGED_DEVICE(T)                                                      \
    int csta_map_##T##_to(const csta_device_t *dev, T##_t *out)                           \
    {                                                                                     \
        switch (dev->kind) {                                                              \
        case CSTA_DEV_NOT_KNOWN:                                                          \
            out->present = T##_PR_notKnown;                                               \
            return 0;                                                                     \
        case CSTA_DEV_RESTRICTED:                                                         \
            out->present = T##_PR_restricted;                                             \
            return 0;                                                                     \
        default:                                                                          \
            out->present = T##_PR_deviceIdentifier;                                       \
            return csta_map_device_to(dev, &out->choice.deviceIdentifier);                \
        }                                                                                 \
    }                                                                                     \
    int csta_map_##T##_from(const T##_t *in, csta_device_t *dev)                          \
    {                                                                                     \
        memset(dev, 0, sizeof *dev);                                                      \
        switch (in->present) {                                                            \
        case T##_PR_notKnown:                                                             \
            dev->kind = CSTA_DEV_NOT_KNOWN;                                               \
            return 0;                                                                     \
        case T##_PR_restricted:                                                           \
            dev->kind = CSTA_DEV_RESTRICTED;                                              \
            return 0;                                                                     \
        case T##_PR_deviceIdentifier:                                                     \
            return csta_map_device_from(&in->choice.deviceIdentifier, dev);               \
        default:                                                                          \
            return -EBADMSG;                                                              \
        }                                                                                 \
    }                                                                                     \
    int csta_map_##T##_opt_to(const csta_device_t *dev, T##_t **out)                      \
    {                                                                                     \
        if (dev->kind == CSTA_DEV_ABSENT)                                                 \
            return 0;                                                                     \
        CSTA_MAP_NEW(T##_t, out);                                                         \
        return csta_map_##T##_to(dev, *out);                                              \
    }
CSTA_TAGGED_DEVICE_TYPES(CSTA_DEFINE_TAGGED_DEVICE)

int csta_map_RedirectionDeviceID_to(const csta_device_t *dev, RedirectionDeviceID_t *out)
{
    switch (dev->kind) {
    case CSTA_DEV_NOT_KNOWN:
        out->present = RedirectionDeviceID_PR_notKnown;
        return 0;
    case CSTA_DEV_NOT_REQUIRED:
        out->present = RedirectionDeviceID_PR_notRequired;
        return 0;
    case CSTA_DEV_NOT_SPECIFIED:
        out->present = RedirectionDeviceID_PR_notSpecified;
        return 0;
    case CSTA_DEV_RESTRICTED:
        out->present = RedirectionDeviceID_PR_restricted;
        return 0;
    default:
        out->present = RedirectionDeviceID_PR_numberdialed;
        return csta_map_device_to(dev, &out->choice.numberdialed);
    }
}

int csta_map_RedirectionDeviceID_from(const RedirectionDeviceID_t *in, csta_device_t *dev)
{
    memset(dev, 0, sizeof *dev);
    switch (in->present) {
    case RedirectionDeviceID_PR_notKnown:
        dev->kind = CSTA_DEV_NOT_KNOWN;
        return 0;
    case RedirectionDeviceID_PR_notRequired:
        dev->kind = CSTA_DEV_NOT_REQUIRED;
        return 0;
    case RedirectionDeviceID_PR_notSpecified:
        dev->kind = CSTA_DEV_NOT_SPECIFIED;
        return 0;
    case RedirectionDeviceID_PR_restricted:
        dev->kind = CSTA_DEV_RESTRICTED;
        return 0;
    case RedirectionDeviceID_PR_numberdialed:
        return csta_map_device_from(&in->choice.numberdialed, dev);
    default:
        return -EBADMSG;
    }
}

int csta_map_RedirectionDeviceID_opt_to(const csta_device_t *dev, RedirectionDeviceID_t **out)
{
    if (dev->kind == CSTA_DEV_ABSENT)
        return 0;
    CSTA_MAP_NEW(RedirectionDeviceID_t, out);
    return csta_map_RedirectionDeviceID_to(dev, *out);
}

//  --- Connections --------------------------------------------------------------------------

static int s_local_device_to(const csta_device_t *dev, LocalDeviceID_t *out)
{
    if (dev->kind == CSTA_DEV_DYNAMIC) {
        out->present = LocalDeviceID_PR_dynamicID;
        return csta_map_text_to(dev->digits, &out->choice.dynamicID);
    }
    out->present = LocalDeviceID_PR_staticID;
    return csta_map_device_to(dev, &out->choice.staticID);
}

static int s_local_device_from(const LocalDeviceID_t *in, csta_device_t *dev)
{
    switch (in->present) {
    case LocalDeviceID_PR_staticID:
        return csta_map_device_from(&in->choice.staticID, dev);
    case LocalDeviceID_PR_dynamicID:
        memset(dev, 0, sizeof *dev);
        dev->kind = CSTA_DEV_DYNAMIC;
        return csta_map_text_from(&in->choice.dynamicID, dev->digits, sizeof dev->digits);
    default:
        return -EBADMSG;
    }
}

static int s_call_id_to(const csta_conn_t *conn, OCTET_STRING_t *out)
{
    return OCTET_STRING_fromBuf(out, (const char *) conn->call_id, conn->call_id_len) == 0
               ? 0
               : -ENOMEM;
}

static int s_call_id_from(const OCTET_STRING_t *in, csta_conn_t *conn)
{
    if ((size_t) in->size > CSTA_CALL_ID_MAX)
        return -EMSGSIZE;
    conn->call_id_len = (uint8_t) in->size;
    memcpy(conn->call_id, s_buf(in->buf), (size_t) in->size);
    return 0;
}

int csta_map_conn_to(const csta_conn_t *conn, ConnectionID_t *out)
{
    bool has_device = conn->device.kind != CSTA_DEV_ABSENT;
    int rc;
    if (conn->call_id_len && has_device) {
        out->present = ConnectionID_PR_both;
        rc = s_call_id_to(conn, &out->choice.both.callID);
        return rc ? rc : s_local_device_to(&conn->device, &out->choice.both.deviceID);
    }
    if (has_device) {
        out->present = ConnectionID_PR_deviceID;
        return s_local_device_to(&conn->device, &out->choice.deviceID);
    }
    //  A connection with an empty call id is legal (callID OCTET STRING of length 0).
    out->present = ConnectionID_PR_callID;
    return s_call_id_to(conn, &out->choice.callID);
}

int csta_map_conn_from(const ConnectionID_t *in, csta_conn_t *conn)
{
    int rc;
    memset(conn, 0, sizeof *conn);
    conn->present = true;
    switch (in->present) {
    case ConnectionID_PR_callID:
        return s_call_id_from(&in->choice.callID, conn);
    case ConnectionID_PR_deviceID:
        return s_local_device_from(&in->choice.deviceID, &conn->device);
    case ConnectionID_PR_both:
        rc = s_call_id_from(&in->choice.both.callID, conn);
        return rc ? rc : s_local_device_from(&in->choice.both.deviceID, &conn->device);
    default:
        return -EBADMSG;
    }
}

int csta_map_conn_opt_to(const csta_conn_t *conn, ConnectionID_t **out)
{
    if (!conn->present)
        return 0;
    CSTA_MAP_NEW(ConnectionID_t, out);
    return csta_map_conn_to(conn, *out);
}

int csta_map_conn_list_to(const csta_conn_list_t *list, ConnectionList_t *out)
{
    for (size_t i = 0; i < list->count; i++) {
        const csta_conn_list_item_t *item = &list->item[i];
        ConnectionListItem_t *asn = calloc(1, sizeof *asn);
        if (!asn)
            return -ENOMEM;
        if (ASN_SEQUENCE_ADD(&out->list, asn) != 0) {
            free(asn);
            return -ENOMEM;
        }
        int rc = csta_map_conn_opt_to(&item->new_conn, &asn->newConnection);
        if (rc == 0)
            rc = csta_map_conn_opt_to(&item->old_conn, &asn->oldConnection);
        if (rc == 0 && item->endpoint.kind != CSTA_DEV_ABSENT) {
            asn->endpoint = calloc(1, sizeof *asn->endpoint);
            if (!asn->endpoint)
                return -ENOMEM;
            if (item->endpoint.kind == CSTA_DEV_NOT_KNOWN)
                asn->endpoint->present = ConnectionListItem__endpoint_PR_notKnown;
            else if (item->endpoint.kind == CSTA_DEV_RESTRICTED)
                asn->endpoint->present = ConnectionListItem__endpoint_PR_restricted;
            else {
                asn->endpoint->present = ConnectionListItem__endpoint_PR_deviceID;
                rc = csta_map_device_to(&item->endpoint, &asn->endpoint->choice.deviceID);
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

int csta_map_conn_list_from(const ConnectionList_t *in, csta_conn_list_t *list)
{
    memset(list, 0, sizeof *list);
    list->present = true;
    if (in->list.count > CSTA_CONN_LIST_MAX)
        return -EMSGSIZE;
    for (int i = 0; i < in->list.count; i++) {
        const ConnectionListItem_t *asn = in->list.array[i];
        csta_conn_list_item_t *item = &list->item[list->count++];
        int rc = 0;
        if (asn->newConnection)
            rc = csta_map_conn_from(asn->newConnection, &item->new_conn);
        if (rc == 0 && asn->oldConnection)
            rc = csta_map_conn_from(asn->oldConnection, &item->old_conn);
        if (rc == 0 && asn->endpoint) {
            switch (asn->endpoint->present) {
            case ConnectionListItem__endpoint_PR_deviceID:
                rc = csta_map_device_from(&asn->endpoint->choice.deviceID, &item->endpoint);
                break;
            case ConnectionListItem__endpoint_PR_notKnown:
                item->endpoint.kind = CSTA_DEV_NOT_KNOWN;
                break;
            case ConnectionListItem__endpoint_PR_restricted:
                item->endpoint.kind = CSTA_DEV_RESTRICTED;
                break;
            default:
                break;      //  a newer endpoint form: leave the endpoint absent
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

//  --- Extensions (CSTACommonArguments) ----------------------------------------------------

int csta_map_ext_to(const csta_ext_t *ext, CSTACommonArguments_t *out)
{
    if (ext->has_security || ext->has_sequence_number || ext->timestamp[0]) {
        out->security = calloc(1, sizeof *out->security);
        if (!out->security)
            return -ENOMEM;
        int rc = csta_map_long_opt_to(ext->sequence_number, ext->has_sequence_number,
                                      &out->security->messageSequenceNumber);
        if (rc)
            return rc;
        if (ext->timestamp[0]) {
            out->security->timestamp = calloc(1, sizeof *out->security->timestamp);
            if (!out->security->timestamp)
                return -ENOMEM;
            if (csta_map_text_to(ext->timestamp, out->security->timestamp))
                return -ENOMEM;
        }
    }
    if (ext->has_private || ext->private_count) {
        out->privateData = calloc(1, sizeof *out->privateData);
        if (!out->privateData)
            return -ENOMEM;
        for (size_t i = 0; i < ext->private_count; i++) {
            PrivateDataItem_t *item = calloc(1, sizeof *item);
            if (!item)
                return -ENOMEM;
            if (ASN_SEQUENCE_ADD(&out->privateData->list, item) != 0) {
                free(item);
                return -ENOMEM;
            }
            //  The element is kept as its complete encoding; ANY holds exactly that.
            if (OCTET_STRING_fromBuf((OCTET_STRING_t *) item, (const char *) ext->private_data[i].data,
                                     (int) ext->private_data[i].len))
                return -ENOMEM;
        }
    }
    return 0;
}

int csta_map_ext_opt_to(const csta_ext_t *ext, CSTACommonArguments_t **out)
{
    if (!ext->present)
        return 0;
    CSTA_MAP_NEW(CSTACommonArguments_t, out);
    return csta_map_ext_to(ext, *out);
}

int csta_map_ext_from(const CSTACommonArguments_t *in, csta_apdu_t *a)
{
    csta_ext_t *ext = &a->ext;
    memset(ext, 0, sizeof *ext);
    ext->present = true;
    if (in->security) {
        ext->has_security = true;
        if (in->security->messageSequenceNumber) {
            ext->has_sequence_number = true;
            ext->sequence_number = *in->security->messageSequenceNumber;
        }
        if (in->security->timestamp) {
            int rc = csta_map_text_from(in->security->timestamp, ext->timestamp,
                                        sizeof ext->timestamp);
            if (rc)
                return rc;
        }
    }
    if (in->privateData) {
        ext->has_private = true;
        if (in->privateData->list.count > CSTA_PRIVATE_MAX)
            return -EMSGSIZE;
        for (int i = 0; i < in->privateData->list.count; i++) {
            const PrivateDataItem_t *item = in->privateData->list.array[i];
            int rc = csta_apdu_set_bytes(a, &ext->private_data[i], s_buf(item->buf),
                                         (size_t) item->size);
            if (rc)
                return rc;
            ext->private_count++;
        }
    }
    return 0;
}

int csta_map_ext_opt_from(const CSTACommonArguments_t *in, csta_apdu_t *a)
{
    return in ? csta_map_ext_from(in, a) : 0;
}

//  --- Small optional values shared by the service groups --------------------------------------

int csta_map_text_opt_to(const char *text, OCTET_STRING_t **out)
{
    if (!text[0])
        return 0;
    CSTA_MAP_NEW(OCTET_STRING_t, out);
    return csta_map_text_to(text, *out);
}

int csta_map_text_opt_from(const OCTET_STRING_t *in, char *text, size_t cap)
{
    return in ? csta_map_text_from(in, text, cap) : 0;
}

int csta_map_bool_opt_to(bool value, bool present, BOOLEAN_t **out)
{
    if (!present)
        return 0;
    CSTA_MAP_NEW(BOOLEAN_t, out);
    **out = value ? 1 : 0;
    return 0;
}

void csta_map_long_opt_from(const long *in, bool *has, long *value)
{
    *has = in != NULL;
    *value = in ? *in : 0;
}

//  --- BIT STRINGs kept in their wire form (csta_bits_t) ------------------------------------------

int csta_map_wire_bits_to(const csta_bits_t *bits, BIT_STRING_t *out)
{
    if (bits->len > sizeof bits->bytes || bits->unused > 7 || (bits->unused && !bits->len))
        return -EINVAL;
    out->buf = calloc(1, bits->len ? bits->len : 1);
    if (!out->buf)
        return -ENOMEM;
    memcpy(out->buf, bits->bytes, bits->len);
    out->size = bits->len;
    out->bits_unused = bits->unused;
    return 0;
}

int csta_map_wire_bits_opt_to(const csta_bits_t *bits, BIT_STRING_t **out)
{
    if (!bits->present)
        return 0;
    CSTA_MAP_NEW(BIT_STRING_t, out);
    return csta_map_wire_bits_to(bits, *out);
}

int csta_map_wire_bits_from(const BIT_STRING_t *in, csta_bits_t *bits)
{
    memset(bits, 0, sizeof *bits);
    if (!in)
        return 0;
    if (in->size < 0 || (size_t) in->size > sizeof bits->bytes)
        return -EMSGSIZE;
    if (in->bits_unused < 0 || in->bits_unused > 7)
        return -EBADMSG;    //  X.690 8.6.2.2; asn1c does not check it
    bits->present = true;
    bits->len = (uint8_t) in->size;
    bits->unused = in->size ? (uint8_t) in->bits_unused : 0;
    if (in->size)           //  an empty BIT STRING may come with a NULL buffer
        memcpy(bits->bytes, in->buf, (size_t) in->size);
    return 0;
}
