//  node_config: ctimd's configuration — one YAML file, one table of every key with its type,
//  range and default (node_config.c; defaults live only there), typed structs for the
//  modules.  Errors name the file, the line and the key.
#ifndef NODE_CONFIG_H
#define NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "csta.h"

#define NODE_NAME_MAX 64
#define NODE_PATH_MAX 256
#define NODE_PBX_MAX 8

typedef enum { NODE_LOG_ERROR, NODE_LOG_WARNING, NODE_LOG_NOTICE, NODE_LOG_INFO, NODE_LOG_DEBUG } node_log_level_t;

//  One PBX and the link to it (key `pbx:` list).
//  pbx[].links: whether the PBX accepts one CSTA link at a time or several (the cluster's
//  tie-breaker, ha/README.md "The rules").
typedef enum { NODE_PBX_LINKS_ONE, NODE_PBX_LINKS_SEVERAL } node_pbx_links_t;

typedef struct {
    char name[NODE_NAME_MAX];           //  pbx[].name                   "main"
    char host[NODE_PATH_MAX];           //  pbx[].host                   "127.0.0.1"
    int port;                           //  pbx[].port                   33333
    char flavour[16];                   //  pbx[].flavour  panasonic|raw|hipath
    csta_framing_t framing;             //  (from flavour)
    char user[CSTA_LOGIN_MAX + 1];      //  pbx[].user     login in the AARQ (hipath)
    char password[CSTA_LOGIN_MAX + 1];  //  pbx[].password
    int connect_timeout_ms;             //  pbx[].connect_timeout_ms     3000
    int backoff_initial_ms;             //  pbx[].backoff_initial_ms     500
    int backoff_max_ms;                 //  pbx[].backoff_max_ms         30000 (jitter +-20 %)
    int silence_timeout_ms;             //  pbx[].silence_timeout_ms     120000: no APDU for this long = dead
    int request_timeout_ms;             //  pbx[].request_timeout_ms     5000
    int window;                         //  pbx[].window                 32 requests outstanding
    int queue_max;                      //  pbx[].queue_max              4096 requests waiting for the window
    int monitor_retry_ms;               //  pbx[].monitor_retry_ms       30000 retry failed MonitorStarts
    int validate_calls_ms;              //  pbx[].validate_calls_ms      60000 snapshot monitored devices (0 off)
    int priority;                       //  pbx[].priority               100 cluster: lower holds the link first
    node_pbx_links_t links;             //  pbx[].links    one|several   one: CSTA links the PBX accepts at once
} node_pbx_cfg_t;

//  A device range a user may use: first..last as numbers ("101-199") or one number.
typedef struct {
    char first[CSTA_DIGITS_MAX + 1];
    char last[CSTA_DIGITS_MAX + 1];
} node_device_range_t;

typedef struct {
    char name[NODE_NAME_MAX];           //  users[].name
    char password_hash[256];            //  users[].password_hash   (ctimd --hash-password)
    node_device_range_t *devices;       //  users[].devices         list of "N" or "FIRST-LAST"; none = all
    size_t device_count;
} node_user_cfg_t;

typedef struct {
    char listen[NODE_NAME_MAX];         //  csta_server.listen             "0.0.0.0"
    int tcp_port;                       //  csta_server.tcp_port           33333 (0 off)
    int tls_port;                       //  csta_server.tls_port           33334 (0 off)
    char tls_cert[NODE_PATH_MAX];       //  csta_server.tls_cert           (PEM; required when tls_port)
    char tls_key[NODE_PATH_MAX];        //  csta_server.tls_key
    bool tcp_login_required;            //  csta_server.tcp_login_required false (always on TLS)
    int max_apps;                       //  csta_server.max_apps           1000
    int max_apps_per_address;           //  csta_server.max_apps_per_address 256 (0: no limit)
    int app_queue_max_bytes;            //  csta_server.app_queue_max_bytes 4 MiB
    int login_fail_delay_ms;            //  csta_server.login_fail_delay_ms 1000 (per failed attempt)
} node_csta_server_cfg_t;

//  The client API front end for libctim applications (node_client_server, issue 5).
typedef struct {
    char listen[NODE_NAME_MAX];         //  client_api.listen              "127.0.0.1"
    int port;                           //  client_api.port                2748 (0 off)
    int replay_events;                  //  client_api.replay_events       1000 per session
    int replay_bytes;                   //  client_api.replay_bytes        1 MiB per session
    int send_hwm;                       //  client_api.send_hwm            1000 frames per app
    char curve_cert[NODE_PATH_MAX];     //  client_api.curve_cert          "" (plain); zcert file
    char curve_clients[NODE_PATH_MAX];  //  client_api.curve_clients       "" (any key); folder
} node_client_api_cfg_t;

typedef struct {
    char listen[NODE_NAME_MAX];         //  http.listen                    "127.0.0.1"
    int port;                           //  http.port                      9120 (0 off)
} node_http_cfg_t;

//  --- The cluster (ha/, issue 6) --------------------------------------------------------------
#define NODE_PEERS_MAX 15               //  other nodes of a cluster (16 nodes in all)

//  One other node of the cluster (key `cluster.peers:` list).
typedef struct {
    char id[NODE_NAME_MAX];             //  cluster.peers[].id        its node.id
    char endpoint[NODE_PATH_MAX];       //  cluster.peers[].endpoint  "HOST:PORT" of its cluster bus
} node_peer_cfg_t;

//  The cluster bus and link ownership.  No peers listed: a single node that holds every
//  PBX link (the cluster is off).
typedef struct {
    char listen[NODE_NAME_MAX];         //  cluster.listen             "0.0.0.0"
    int port;                           //  cluster.port               2749
    node_peer_cfg_t *peers;             //  cluster.peers              none
    size_t peer_count;
    int heartbeat_ms;                   //  cluster.heartbeat_ms       100
    int lost_after;                     //  cluster.lost_after         5 silent intervals
    char state_dir[NODE_PATH_MAX];      //  cluster.state_dir          "/var/lib/ctim" (epochs)
    int resume_grace_ms;                //  cluster.resume_grace_ms    5000: a lost node's
                                        //  sessions stay 2 heartbeats + this to resume elsewhere
    char curve_cert[NODE_PATH_MAX];     //  cluster.curve_cert         "" (plain); zcert secret file
    char curve_peers[NODE_PATH_MAX];    //  cluster.curve_peers        "": folder of PEER_ID.cert
} node_cluster_cfg_t;

//  Number formatting rules (estos style): ordered regex search/replace, first match wins.
typedef struct {
    char match[256];                    //  POSIX extended regex
    char replace[256];                  //  \1..\9 refer to groups
} node_numrule_t;

typedef struct {
    char country_code[8];               //  numbers.location.country_code   "" (e.g. 49)
    char area_code[16];                 //  numbers.location.area_code      ""
    char local_prefix[16];              //  numbers.location.local_prefix   "" (PBX's outside-line digit, e.g. 0)
    char international_prefix[8];       //  numbers.location.international_prefix "00"
    char national_prefix[8];            //  numbers.location.national_prefix      "0"
    node_numrule_t *incoming;           //  numbers.incoming
    size_t incoming_count;
    node_numrule_t *outgoing;           //  numbers.outgoing
    size_t outgoing_count;
    node_numrule_t *dialling;           //  numbers.dialling
    size_t dialling_count;
} node_numbers_cfg_t;

typedef struct {
    char number[CSTA_DIGITS_MAX + 1];
    char name[CSTA_DIGITS_MAX + 1];
} node_line_cfg_t;

typedef struct {
    char path[NODE_PATH_MAX];           //  the file it was read from
    char node_id[NODE_NAME_MAX];        //  node.id                          hostname
    node_log_level_t log_level;         //  node.log_level                   notice
    node_pbx_cfg_t pbx[NODE_PBX_MAX];   //  pbx: list (at least one)
    size_t pbx_count;
    node_csta_server_cfg_t csta_server;
    node_client_api_cfg_t client_api;
    node_http_cfg_t http;
    node_cluster_cfg_t cluster;         //  cluster: (ha/)
    node_user_cfg_t *users;             //  users: list
    size_t user_count;
    node_numbers_cfg_t numbers;
    node_line_cfg_t *lines;             //  lines: list of {number, name}, or lines_file
    size_t line_count;
    char lines_file[NODE_PATH_MAX];     //  lines_file: text file "number,name" per line
    bool lines_from_pbx;                //  lines_from_pbx: learn names from the PBX's device list
} node_cfg_t;

//  Load and validate `path` into *cfg (defaults first).  Returns 0, or -EINVAL (-ENOENT
//  for a file that cannot be read) after writing one line per problem
//  ("FILE:LINE: KEY: what is wrong") into err.  On failure *cfg is left empty (freeing it
//  is harmless).  Relative file names in the config (tls_cert, tls_key, lines_file) are
//  taken from the config file's folder.
int node_config_load(node_cfg_t *cfg, const char *path, char *err, size_t err_cap);
//  Free what load allocated; safe on an empty or freed cfg.
void node_config_free(node_cfg_t *cfg);
//  Print the resolved configuration (every key, defaults included) as YAML that loads
//  back to the same values; a value that differs from its default says so in a comment;
//  secrets (pbx[].password, users[].password_hash) print as "***".
void node_config_print(const node_cfg_t *cfg, FILE *out);
//  Print the key table: every key with its type, range, default, whether SIGHUP reloads
//  it, and its help (`ctimd --config-keys`).
void node_config_describe(FILE *out);

//  Keys that SIGHUP may change without a restart: users, numbers, lines, lines_file, log
//  level.  Moves those from `fresh` into `live`; `fresh` gets live's old values (free it
//  with node_config_free afterwards).  The others need a restart (see node_config_diff).
void node_config_apply_reloadable(node_cfg_t *live, node_cfg_t *fresh);

//  Call fn once per key whose value differs between old and fresh (a list whose length
//  changed is one change: "users", "2 entries", "3 entries").  Secrets show as "***".
typedef void (node_config_change_fn)(void *arg, const char *key, const char *old_value,
                                     const char *new_value, bool reloadable);
void node_config_diff(const node_cfg_t *old, const node_cfg_t *fresh, node_config_change_fn *fn,
                      void *arg);

//  "101-199" (two digit strings of equal length, FIRST <= LAST) or "101" (FIRST = LAST).
//  Returns 0, or -EINVAL with a reason in why.
int node_config_parse_range(const char *text, node_device_range_t *range, char *why,
                            size_t why_cap);

#endif
