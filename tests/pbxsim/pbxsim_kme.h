//  pbxsim_kme: the Panasonic KME private data pbxsim speaks — the device list by Escape
//  (csta-facts.md 5): GetSystemData request, getSystemDataPosAck, systemDataLinkedReply
//  segments.  Tags follow the reverse-engineered model in LinTcMon (the only public one):
//    kmeSystemData [4] { getSystemData [0] { request.deviceList [4] { category [1] {
//        standardDevice [0] ENUMERATED } } } }                                  (request)
//    kmeSystemData [4] { getSystemDataPosAck [4] { OCTET STRING crossRefID } }  (result)
//    kmeSystemData [4] { systemDataLinkedReply [3] { SEQUENCE { crossRefID [0] {OCTET
//        STRING}, segmentID [1] {INTEGER}, lastSegment [2] {BOOLEAN}, sysData [3] { SEQUENCE {
//        deviceList [38] { SEQUENCE OF SEQUENCE { device DeviceID, number IA5String,
//        status ENUMERATED (0 usable) } } } } } } }                             (segments)
#ifndef PBXSIM_KME_H
#define PBXSIM_KME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  KME device categories of GetSystemData (the Perl client: 5 extensions, 2 CO lines).
enum { PBX_KME_CATEGORY_CO = 2, PBX_KME_CATEGORY_EXTENSION = 5 };

//  If priv (a CSTAPrivateData element, tag included) is a GetSystemData device-list
//  request, set *category and return true.
bool pbx_kme_is_get_device_list(const uint8_t *priv, size_t len, long *category);

//  The result's private data element: getSystemDataPosAck with crossRefID.  Returns the
//  length written, or 0 if cap is too small.
size_t pbx_kme_pos_ack(uint8_t *out, size_t cap, const uint8_t *xref, size_t xref_len);

typedef struct {
    long device_number;             //  Panasonic deviceNumber (0x0111xxxx ...)
    const char *number;             //  dialling number
} pbx_kme_device_t;

//  One systemDataLinkedReply segment as a private data element.  Returns the length
//  written, or 0 if cap is too small.
size_t pbx_kme_linked_reply(uint8_t *out, size_t cap, const uint8_t *xref, size_t xref_len,
                            long segment_id, bool last_segment, const pbx_kme_device_t *devices,
                            size_t count);

#endif
