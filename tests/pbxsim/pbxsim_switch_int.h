//  pbxsim_switch_int: the switch's internal state, shared by the call model
//  (pbxsim_switch.c) and the event builders (pbxsim_events.c).  Private to the switch.
#ifndef PBXSIM_SWITCH_INT_H
#define PBXSIM_SWITCH_INT_H

#include "pbxsim_switch.h"

//  What a party's timer is for.
enum { PBX_TIMER_AUTO_ANSWER = 1, PBX_TIMER_NO_ANSWER = 2, PBX_TIMER_REMOTE_ANSWER = 3 };

//  One party (connection) of a call: an extension, or an external party reached over a
//  trunk (device = the trunk, number = the external number).
typedef struct {
    int device;                     //  device index (the trunk for an external party)
    bool external;
    char number[PBX_NUMBER_MAX];    //  external: the outside number
    char name[PBX_NAME_MAX];        //  external: the caller's name, if the network gave one
    csta_lcs_t state;
    int timer;                      //  pending timer id, 0 if none
    int timer_kind;
    int timer_ref;                  //  the reference the timer fires with
} pbx_party_t;

typedef struct {
    bool used;
    uint16_t id;                    //  CSTA call id (2 octets on the wire)
    pbx_party_t party[PBX_CALL_PARTIES_MAX];
    int nparty;
    //  As the call presents itself in events.
    int calling;                    //  party index of the calling party, -1 unknown
    char called_number[PBX_NUMBER_MAX];     //  the number dialled
    int last_redirection;           //  device index of the last redirecting device, -1
    long long started_ms, answered_ms;
    long long started_wall, answered_wall;      //  wall clock seconds (CDR times)
    int charged_device;             //  for the CDR: the originating extension, or -1
    char cdr_caller[PBX_NUMBER_MAX];    //  an outside caller's number (inbound calls), or ""
    bool cdr_answered;
} pbx_call_t;

typedef struct {
    pbx_device_cfg_t cfg;
    bool dnd;
    pbx_forward_t fwd[PBX_FWD_TYPES];
    bool out_of_service;
    int active;                     //  parties in initiated/alerting/connected/queued state
    int held;                       //  parties on hold
    int callback_from;              //  a CallBack is pending from this device, -1 none
    int camp_on_call;               //  a call camped on this device (call slot), -1 none
    int pickup_group;               //  the pickup group device index, -1 none
} pbx_device_t;

struct pbx_switch {
    pbx_switch_cfg_t cfg;
    pbx_timers_t timers;
    pbx_event_fn *on_event;
    pbx_cdr_fn *on_cdr;
    void *ctx;
    pbx_device_t *devices;
    int device_count, device_cap;
    int *by_number, *by_device_number;  //  lookup: open addressing over device indexes, -1
    int index_cap;                      //  power of two, at least twice device_count
    bool waiters;                       //  a device may owe a camp-on or a call-back
    pbx_call_t *calls;              //  cfg.max_calls slots
    int *slot_of_id;                //  65536 entries: call id -> slot, -1
    uint16_t next_call_id;
    long cdr_record;                //  CDR record numbers
    pbx_switch_stats_t stats;
};

//  Events (pbxsim_events.c).  Each builds the CSTA event and reports it to the devices of
//  every party of the call, with that device's local connection state; `extra` (>= 0) is
//  one more device to tell (a party that just left).
void pbx_ev_service_initiated(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
void pbx_ev_originated(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
void pbx_ev_network_reached(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
void pbx_ev_delivered(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
void pbx_ev_established(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
//  Failed: the call could not reach `failing` (a number: a device, a group or an outside
//  number).  No party was created there; the parties of the call hear of it (the caller
//  is already in the fail state).
void pbx_ev_failed(pbx_switch_t *sw, pbx_call_t *c, const char *failing, int cause);
//  Diverted: the call left `gone` (already removed from the call, so its device is told
//  with local state null) for new_destination.
void pbx_ev_diverted(pbx_switch_t *sw, pbx_call_t *c, const pbx_party_t *gone,
                     const char *new_destination, int cause);
void pbx_ev_held(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
void pbx_ev_retrieved(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
void pbx_ev_queued(pbx_switch_t *sw, pbx_call_t *c, int p, int cause);
void pbx_ev_connection_cleared(pbx_switch_t *sw, pbx_call_t *c, const pbx_party_t *gone,
                               int cause);
void pbx_ev_call_cleared(pbx_switch_t *sw, pbx_call_t *c, int cause);
//  Transferred / Conferenced: old calls and the list of connections old -> new.
void pbx_ev_transferred(pbx_switch_t *sw, pbx_call_t *c, uint16_t primary_old,
                        uint16_t secondary_old, const pbx_party_t *transferring,
                        const csta_device_t *transferred_to, const csta_conn_list_t *list,
                        int cause);
void pbx_ev_conferenced(pbx_switch_t *sw, pbx_call_t *c, uint16_t primary_old,
                        uint16_t secondary_old, int conferencing, const csta_device_t *added,
                        const csta_conn_list_t *list, int cause);
void pbx_ev_digits_generated(pbx_switch_t *sw, pbx_call_t *c, int p, const char *digits);
void pbx_ev_forwarding(pbx_switch_t *sw, int device, int type, bool on, const char *dn);
void pbx_ev_do_not_disturb(pbx_switch_t *sw, int device, bool on);
void pbx_ev_service(pbx_switch_t *sw, int device, bool in_service);
//  The CDR record of a finished call.
void pbx_cdr_record(pbx_switch_t *sw, const pbx_call_t *c, int reason_for_term);

//  Device features: Set/Get Forwarding and DoNotDisturb (pbxsim_features.c); -ENOTSUP for
//  anything else.
int pbx_switch_feature_request(pbx_switch_t *sw, const csta_apdu_t *req, csta_apdu_t *res);

//  Helpers the event builders use (pbxsim_switch.c).
void pbx_party_device_id(const pbx_switch_t *sw, const pbx_party_t *party, csta_device_t *out);
void pbx_party_conn(const pbx_switch_t *sw, const pbx_call_t *c, const pbx_party_t *party,
                    csta_conn_t *out);
void pbx_call_conn(const pbx_switch_t *sw, uint16_t call_id, const pbx_party_t *party,
                   csta_conn_t *out);

#endif
