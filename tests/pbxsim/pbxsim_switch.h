//  pbxsim_switch: the simulated switch — devices, calls and connections, and the CSTA
//  services that act on them (ECMA-269 call model).  No I/O: the switch reports events
//  through a callback, one per monitored device, and asks its owner for timers, so the
//  call model runs the same under the event loop and under a test's fake clock.
#ifndef PBXSIM_SWITCH_H
#define PBXSIM_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include "csta.h"

#define PBX_NUMBER_MAX (CSTA_DIGITS_MAX + 1)   //  as long as a CSTA device number
#define PBX_NAME_MAX (CSTA_DIGITS_MAX + 1)
#define PBX_GROUP_MEMBERS_MAX 32
#define PBX_CALL_PARTIES_MAX 8

typedef enum {
    PBX_DEV_EXTENSION,
    PBX_DEV_TRUNK,          //  CO line: carries calls to and from external numbers
    PBX_DEV_HUNT_GROUP,     //  a number that rings the first idle member
    PBX_DEV_PICKUP_GROUP,   //  members may pick up each other's ringing calls
} pbx_dev_type_t;

const char *pbx_dev_type_str(pbx_dev_type_t type);

//  Call forwarding, one entry per ECMA-269 ForwardingType (0..11).
typedef struct {
    bool active;
    char dn[PBX_NUMBER_MAX];
} pbx_forward_t;

#define PBX_FWD_TYPES 12

//  A device as the switch's configuration creates it.
typedef struct {
    pbx_dev_type_t type;
    char number[PBX_NUMBER_MAX];
    char name[PBX_NAME_MAX];
    long device_number;             //  Panasonic-style deviceNumber (0x0111xxxx ...)
    int auto_answer_ms;             //  -1: rings until answered (ctl) or no-answer
    int members[PBX_GROUP_MEMBERS_MAX];     //  groups: device indexes
    int member_count;
} pbx_device_cfg_t;

typedef struct pbx_switch pbx_switch_t;

//  Timers the switch asks its owner for; fire() must be called when one expires.
typedef struct {
    void *ctx;
    //  Start a one-shot timer; returns an id > 0, or -1.
    int (*start)(void *ctx, int delay_ms, int timer_ref);
    void (*cancel)(void *ctx, int id);
    //  Monotonic milliseconds (CDR times, stats).
    long long (*now_ms)(void *ctx);
    //  Wall clock seconds since the epoch (CDR record times).
    long long (*wall_s)(void *ctx);
} pbx_timers_t;

//  An event for the monitors of `device`: a CSTAEventReport APDU without its cross
//  reference and invoke id (the link fills those in per monitor).  Borrowed.
typedef void (pbx_event_fn)(void *ctx, int device, const csta_apdu_t *event);
//  A finished call's CDR record (CallDetailRecordsReport argument).  Borrowed.
typedef void (pbx_cdr_fn)(void *ctx, const csta_apdu_t *report);

typedef struct {
    int no_answer_ms;               //  an alerting call is forwarded-on-no-answer or
                                    //  keeps ringing after this (default 20000)
    int remote_answer_ms;           //  external parties answer after this (-1 never)
    char outside_prefix[8];         //  dialled numbers with this prefix go to a trunk
    int max_calls;                  //  concurrent calls (default 4096)
} pbx_switch_cfg_t;

pbx_switch_t *pbx_switch_new(const pbx_switch_cfg_t *cfg, const pbx_timers_t *timers,
                             pbx_event_fn *on_event, pbx_cdr_fn *on_cdr, void *ctx);
void pbx_switch_destroy(pbx_switch_t **self_p);

//  Add a device; returns its index or a negative errno (-EEXIST, -ENOSPC).
int pbx_switch_add_device(pbx_switch_t *self, const pbx_device_cfg_t *cfg);
int pbx_switch_device_count(const pbx_switch_t *self);
const pbx_device_cfg_t *pbx_switch_device(const pbx_switch_t *self, int index);
//  Device index for a CSTA device id (dialling number or deviceNumber), or -1.
int pbx_switch_find(const pbx_switch_t *self, const csta_device_t *dev);
int pbx_switch_find_number(const pbx_switch_t *self, const char *number);
//  Fill a CSTA DeviceID for a device index (dialling number and name).
void pbx_switch_device_id(const pbx_switch_t *self, int index, csta_device_t *out);

//  Perform a CSTA request from an application.  `req` is a decoded invoke; on success
//  *res is filled as its result (kind RESULT, opcode set) and 0 returned; on failure a
//  negative value and *res is an ERROR with the UniversalFailure a PBX would give.
//  Monitoring, system and CDR services are the link's, not the switch's: -ENOTSUP.
int pbx_switch_request(pbx_switch_t *self, const csta_apdu_t *req, csta_apdu_t *res);

//  A restart: every call vanishes (no events), device features are kept.
void pbx_switch_reset(pbx_switch_t *self);

//  A timer started through pbx_timers_t expired.
void pbx_switch_timer(pbx_switch_t *self, int timer_ref);

//  --- What people and the network do (the control socket drives these) -------------------

//  An external call from `caller` (name may be "") arrives on a trunk for `called` (an
//  extension or group number).  Returns the call id (>= 0) or a negative errno.
int pbx_switch_inbound(pbx_switch_t *self, const char *caller, const char *name,
                       const char *called);
//  A person at `number` lifts the handset: answers the call ringing there, if any.  A
//  trunk or an outside number in a call names the far end of a CO line.
int pbx_switch_answer(pbx_switch_t *self, const char *number);
//  A person at `number` hangs up the active call (or the ringing one they placed); a
//  trunk or an outside number: the far end hangs up.
int pbx_switch_hangup(pbx_switch_t *self, const char *number);
//  A person at `number` presses hold on the active call.
int pbx_switch_hold(pbx_switch_t *self, const char *number);
//  A person dials `called` from `number` (off-hook and dial).
int pbx_switch_dial(pbx_switch_t *self, const char *number, const char *called);
//  Take a device out of service or back (BackInService / OutOfService events).
int pbx_switch_set_in_service(pbx_switch_t *self, const char *number, bool in_service);
//  Set a device's auto-answer delay (-1 off).
int pbx_switch_set_auto_answer(pbx_switch_t *self, const char *number, int delay_ms);

//  Snapshot of a device: its connections (for SnapshotDevice).  Returns the count.
typedef struct {
    uint16_t call_id;
    csta_lcs_t state;
    int other_device;               //  the far end for two-party calls, or -1
    csta_lcs_t other_state;         //  the far end's connection state (two-party calls)
} pbx_snapshot_item_t;
int pbx_switch_snapshot(const pbx_switch_t *self, int device, pbx_snapshot_item_t *items,
                        int max);

//  Snapshot of a call: its parties (for SnapshotCall).  Returns the count, or -ENOENT.
int pbx_switch_call_snapshot(const pbx_switch_t *self, uint16_t call_id,
                             csta_snapshot_call_item_t *items, int max);

//  Append a JSON description of the calls / devices to buf; returns the length written.
size_t pbx_switch_calls_json(const pbx_switch_t *self, char *buf, size_t cap);
size_t pbx_switch_devices_json(const pbx_switch_t *self, char *buf, size_t cap);

typedef struct {
    long calls_started;
    long calls_completed;
    long calls_active;
    long requests;
    long requests_failed;
    long events;
} pbx_switch_stats_t;
void pbx_switch_stats(const pbx_switch_t *self, pbx_switch_stats_t *stats);

#endif
