//  pbxsim: a PBX simulator that speaks CSTA Phase III like a Panasonic KX-NS (or a HiPath,
//  or raw BER): the shared state of the program, owned by pbxsim_main.c.
#ifndef PBXSIM_H
#define PBXSIM_H

#include <czmq.h>

#include "csta.h"
#include "pbxsim_switch.h"

typedef enum { PBX_FLAVOUR_PANASONIC, PBX_FLAVOUR_RAW, PBX_FLAVOUR_HIPATH } pbx_flavour_t;
const char *pbx_flavour_str(pbx_flavour_t flavour);

typedef struct {
    char listen_host[64];
    int port;                       //  default 33333
    pbx_flavour_t flavour;          //  default panasonic
    int max_links;                  //  CSTA links accepted at once; default 1
    int status_interval_ms;         //  SystemStatus period; default 20000
    char login_user[CSTA_LOGIN_MAX + 1];        //  hipath: required login
    char login_password[CSTA_LOGIN_MAX + 1];
    char ctl_path[256];             //  control socket
    char devices_file[256];         //  YAML device list ("" = flags only)
    int ext_first, ext_last;        //  extensions from flags; default 101..200
    int trunks;                     //  CO lines; default 8
    int auto_answer_ms;             //  default for extensions; -1 off
    int segment_size;               //  devices per SwitchingFunctionDevices segment
    pbx_switch_cfg_t sw;
    bool verbose;
} pbxsim_cfg_t;

//  Parse argv into cfg (defaults first).  Returns 0, or -EINVAL after printing why.
int pbxsim_cfg_parse(pbxsim_cfg_t *cfg, int argc, char **argv);
//  Add the devices of cfg (flags and YAML file) to the switch.  Returns 0 or -EINVAL
//  after printing the file, line and key at fault.
int pbxsim_cfg_load_devices(const pbxsim_cfg_t *cfg, pbx_switch_t *sw);

typedef struct pbx_link pbx_link_t;

//  One entry of the link history (proof of "one CSTA link at a time").
typedef struct {
    int id;
    char peer[64];
    long long opened_ms;            //  monotonic
    long long closed_ms;            //  0 while open
    bool refused;
    char reason[48];
} pbx_link_record_t;

#define PBX_HISTORY_MAX 256

typedef struct {
    long links_accepted;
    long links_refused;
    long logins_failed;
    long monitor_starts;            //  MonitorStart requests accepted
    long monitor_stops;
    long monitors_active;
    long events_sent;
    long requests;
    long rejects_sent;
    long cdr_sent;
    long cdr_acked;
    long status_sent;
} pbxsim_stats_t;

typedef struct {
    bool hang;                      //  stop reading and answering (links stay open)
    int delay_ms;                   //  delay every response
    long long refuse_until_ms;      //  listening socket closed until then
} pbxsim_faults_t;

typedef struct pbxsim {
    pbxsim_cfg_t cfg;
    zloop_t *loop;
    pbx_switch_t *sw;
    int listen_fd;
    zmq_pollitem_t listen_item;
    int refuse_timer;
    int flush_timer;                //  pending end-of-turn flush of the links' output
    pbx_link_t *links;
    int link_count;
    int next_link_id;
    pbx_link_record_t history[PBX_HISTORY_MAX];
    int history_count;
    pbxsim_stats_t stats;
    pbxsim_faults_t faults;
    //  ctl `snapshot-segments N [open]`: SnapshotDevice answered with a serviceCrossRefID and
    //  its calls in N SnapshotDeviceData segments (0: in the result itself); open: the last
    //  segment is never marked (a PBX that does not finish).
    int snapshot_segments;
    bool snapshot_open;
    void *ctl;                      //  pbxsim_ctl_t
    void *timers;                   //  pbxsim_timers_t
    void *traffic;                  //  pbxsim_traffic_t
} pbxsim_t;

long long pbxsim_now_ms(void);

//  Listening (pbxsim_main.c): open or close the CSTA listening socket.
int pbxsim_listen(pbxsim_t *self);
void pbxsim_unlisten(pbxsim_t *self);

//  Links (pbxsim_link.c).
int pbx_link_accept(pbxsim_t *sim, int fd, const char *peer);
void pbx_link_close(pbx_link_t *link, const char *reason);
void pbx_link_close_all(pbxsim_t *sim, const char *reason);
//  Deliver a switch event to every monitor of `device` on every link.
void pbx_link_dispatch_event(pbxsim_t *sim, int device, const csta_apdu_t *event);
//  Deliver a CDR record to the link that started CDR transmission, if any.
void pbx_link_dispatch_cdr(pbxsim_t *sim, const csta_apdu_t *report);
//  Write the output every link has queued (it otherwise leaves at the end of the loop's
//  turn); the control socket calls it so that what pbxsim did is on the wire before it
//  answers.
void pbx_link_flush_all(pbxsim_t *sim);
//  Hang fault on or off: links neither read nor write while hung (pbxsim_link.c).
void pbx_link_set_hang(pbxsim_t *sim, bool hang);
//  Send one malformed APDU on every link (fault injection).
void pbx_link_send_malformed(pbxsim_t *sim);
//  Monitors currently on a device, over all links.
int pbx_link_monitor_count(const pbxsim_t *sim, int device);
size_t pbx_link_json(const pbxsim_t *sim, char *buf, size_t cap);

#endif
