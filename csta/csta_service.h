//  csta_service: arguments and results of the non-call services: monitoring
//  (ECMA-269 clause 15), snapshot, system status and registration, escape, CDR,
//  switching function devices, device features (forwarding, do-not-disturb).
#ifndef CSTA_SERVICE_H
#define CSTA_SERVICE_H

#include "csta_types.h"

//  MonitorFilter: one bit string per event category; a set bit means "do not report"
//  (filter bit positions differ from event tags: csta-facts.md 2.3).
typedef struct {
    bool present;                       //  requestedMonitorFilter given at all
    uint32_t call_control;              //  [0]
    uint32_t call_associated;           //  [6]
    uint32_t media_attachment;          //  [7]
    uint32_t physical_device_feature;   //  [8]
    uint32_t logical_device_feature;    //  [9]
    uint32_t maintenance;               //  [3]
    uint32_t voice_unit;                //  [5]
    uint32_t private_filter;            //  [4]
    uint16_t sent;                      //  bit per [n] tag: element present on the wire
    //  Wire form of each element as decoded (in the field order above), so that a
    //  peer's padding re-encodes byte for byte; 0 octets = shortest form.
    uint8_t wire_octets[8];
    uint8_t wire_unused[8];
} csta_monitor_filter_t;

//  MonitorStart (71)
typedef struct {
    bool object_is_call;                //  monitorObject: callObject instead of deviceObject
    csta_device_t device;               //  deviceObject
    csta_conn_t call;                   //  callObject
    csta_monitor_filter_t filter;       //  [0] requestedMonitorFilter
    bool has_monitor_type;
    long monitor_type;                  //  0 call, 1 device
} csta_monitor_start_arg_t;

typedef struct {
    csta_xref_t xref;                   //  crossRefIdentifier
    csta_monitor_filter_t filter;       //  [0] actualMonitorFilter
    bool has_monitor_existing_calls;
    bool monitor_existing_calls;
} csta_monitor_start_res_t;

//  MonitorStop (73); result: noData/extensions
typedef struct {
    csta_xref_t xref;
} csta_monitor_stop_arg_t;

//  SystemStatus (211); result: noData/extensions
typedef struct {
    csta_xref_t register_id;            //  sysStatRegisterID, len 0 if absent
    long status;                        //  SystemStatus enum (2 = normal)
} csta_system_status_arg_t;

enum {
    CSTA_SYS_INITIALIZING = 0,
    CSTA_SYS_ENABLED = 1,
    CSTA_SYS_NORMAL = 2,
    CSTA_SYS_MESSAGES_LOST = 3,
    CSTA_SYS_DISABLED = 4,
    CSTA_SYS_OVERLOAD_IMMINENT = 5,
    CSTA_SYS_OVERLOAD_REACHED = 6,
    CSTA_SYS_OVERLOAD_RELIEVED = 7,
    CSTA_SYS_PARTIALLY_DISABLED = 8,
};

typedef union {
    csta_monitor_start_arg_t monitor_start;
    csta_monitor_start_res_t monitor_start_res;
    csta_monitor_stop_arg_t monitor_stop;
    csta_system_status_arg_t system_status;
} csta_service_u;

#endif
