//  pbxsim_link_services: the link's state and the CSTA services a link answers itself
//  (monitoring, snapshot, system status and registration, device lists, CDR); call control
//  and device features go to the switch.  Private to pbxsim_link*.c.
#ifndef PBXSIM_LINK_SERVICES_H
#define PBXSIM_LINK_SERVICES_H

#include "pbxsim.h"

typedef enum { PBX_LINK_AWAIT_AARQ, PBX_LINK_ASSOCIATED } pbx_link_state_t;

typedef struct {
    uint16_t xref;
    int device;                     //  the monitored device's index
    csta_monitor_filter_t filter;
    int prev, next;                 //  the link's other monitors of this device (indexes), -1
} pbx_monitor_t;

//  Monitors per link: every two-octet cross reference but 0.
#define PBX_LINK_MONITORS_MAX 65535

struct pbx_link {
    pbx_link_t *next;
    pbxsim_t *sim;
    int id;
    int fd;
    char peer[64];
    int record;                     //  index into sim->history (mod PBX_HISTORY_MAX)
    bool refused;                   //  over max_links: the AARQ gets a rejecting AARE
    pbx_link_state_t state;
    zmq_pollitem_t item;
    bool want_write;                //  the socket did not take everything: POLLOUT
    bool dirty;                     //  output queued since the last flush
    csta_framer_t *framer;
    csta_outq_t *outq;
    long next_invoke_id;
    int status_timer;
    bool status_pending;            //  our last SystemStatus is unanswered
    long status_invoke_id;
    pbx_monitor_t *monitors;        //  in no order (a stopped monitor's slot is refilled)
    int monitor_count, monitor_cap;
    int *xref_index;                //  65536: cross reference -> monitor index + 1, 0 free
    int *device_first, *device_last;    //  per device index: its monitors, oldest first
    int device_cap;
    uint16_t next_xref;
    bool cdr_on;                    //  this link started CDR transmission
    long cdr_pending[64];           //  invoke ids of unacknowledged CDR reports
    int cdr_pending_count;          //  (the oldest is forgotten beyond 64)
    bool system_registered;
};

//  Sending (pbxsim_link.c).  pbx_link_send* may close the link (output overflow).
int pbx_link_send(pbx_link_t *link, const csta_apdu_t *a);
int pbx_link_send_bytes(pbx_link_t *link, const uint8_t *apdu, size_t len);
int pbx_link_respond(pbx_link_t *link, const csta_apdu_t *a);
int pbx_link_reject(pbx_link_t *link, long invoke_id, csta_reject_kind_t kind, long problem);
int pbx_link_error(pbx_link_t *link, long invoke_id, csta_err_category_t category, long value);
long pbx_link_next_invoke_id(pbx_link_t *link);
void pbx_link_free_delayed(void);

//  Services (pbxsim_link_services.c).
void pbx_link_service(pbx_link_t *link, const csta_apdu_t *invoke);
void pbx_link_on_reply(pbx_link_t *link, const csta_apdu_t *reply);
void pbx_link_services_close(pbx_link_t *link);

//  Whether a monitor's filter lets an event type through (a set filter bit suppresses).
bool pbx_filter_allows(const csta_monitor_filter_t *filter, csta_event_type_t type);

#endif
