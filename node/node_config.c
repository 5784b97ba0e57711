//  node_config: ctimd's configuration (node_config.h).  s_keys below is the one table of
//  every key — path, type, range, default, reload, help — and everything else is driven
//  from it: the libcyaml schema (built from the table at load time, every scalar read as
//  text), defaults, validation, printing, describing, diffing and reloading.
//
//  Line numbers: libcyaml reports where its parser stood, which is often the line before
//  the culprit, so errors take their line from s_index, a small scan of the file that
//  maps every block-style key path ("pbx[0].port") to its line.  Keys inside flow
//  collections ({a: 1}, [x, y]) get the line of the collection.
#include <arpa/inet.h>
#include <cyaml/cyaml.h>
#include <errno.h>
#include <regex.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ha_curve.h"
#include "node_config.h"
#include "node_users.h"

//  --- The table ------------------------------------------------------------------------------

typedef enum {
    S_STR,          //  char[size]; min = shortest length
    S_CHARS,        //  char[size] of the characters in `choices` only
    S_INT,          //  int, min..max
    S_BOOL,         //  bool: true/false, yes/no, on/off
    S_ENUM,         //  int: index into `choices` ("a|b|c")
    S_CHOICE,       //  char[size]: one of `choices`
    S_ADDR,         //  char[size]: numeric IPv4 or IPv6 address
    S_FILE,         //  char[size]: a readable file, if set (relative: to the config's folder)
    S_REGEX,        //  char[size]: POSIX extended regular expression
    S_DIR,          //  char[size]: a readable folder, if set (relative: to the config's folder)
    S_RANGES,       //  list of "N" / "FIRST-LAST" -> node_device_range_t array at offset,
                    //  size_t count at aux
    S_LIST,         //  list of mappings: elements of `size` at offset (inline array or
                    //  pointer), size_t count at aux; keys "PATH[].x" describe the elements
} s_type_t;

enum {
    S_RELOAD = 1,       //  SIGHUP applies it
    S_SECRET = 2,       //  printed as ***
    S_REQUIRED = 4,     //  no default: must be given
    S_INLINE = 8,       //  S_LIST: a fixed array inside the parent, not a pointer
    S_HOSTNAME = 16,    //  default: this host's name
};

typedef struct {
    const char *path;
    s_type_t type;
    long min, max;
    const char *def;            //  default as YAML text; NULL: none
    int flags;
    const char *help;
    size_t offset;              //  in node_cfg_t, or in the element of the enclosing list
    size_t size;
    size_t aux;
    const char *choices;
} s_key_t;

#define S_CFG(f) offsetof(node_cfg_t, f), sizeof(((node_cfg_t *) 0)->f)
#define S_PBX(f) offsetof(node_pbx_cfg_t, f), sizeof(((node_pbx_cfg_t *) 0)->f)
#define S_USR(f) offsetof(node_user_cfg_t, f), sizeof(((node_user_cfg_t *) 0)->f)
#define S_RUL(f) offsetof(node_numrule_t, f), sizeof(((node_numrule_t *) 0)->f)
#define S_LIN(f) offsetof(node_line_cfg_t, f), sizeof(((node_line_cfg_t *) 0)->f)
#define S_PEER(f) offsetof(node_peer_cfg_t, f), sizeof(((node_peer_cfg_t *) 0)->f)
#define S_DIGITS "0123456789"
#define S_DIALABLE "0123456789*#+"
#define S_NAMECHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

#define S_RULES(list, what)                                                                      \
    {"numbers." #list "[]", S_LIST, 0, 256, NULL, S_RELOAD, what,                                \
     offsetof(node_cfg_t, numbers.list), sizeof(node_numrule_t),                                 \
     offsetof(node_cfg_t, numbers.list##_count), NULL},                                          \
    {"numbers." #list "[].match", S_REGEX, 1, 0, NULL, S_RELOAD | S_REQUIRED,                    \
     "POSIX extended regular expression searched in the number", S_RUL(match), 0, NULL},         \
    {"numbers." #list "[].replace", S_STR, 0, 0, "", S_RELOAD,                                   \
     "replaces the matched part; \\1..\\9 insert the groups", S_RUL(replace), 0, NULL}

static const s_key_t s_keys[] = {
    {"node.id", S_CHARS, 1, 0, NULL, S_HOSTNAME, "this node's name in logs, metrics and /status",
     S_CFG(node_id), 0, S_NAMECHARS},
    {"node.log_level", S_ENUM, 0, 0, "notice", S_RELOAD,
     "most verbose level logged: error|warning|notice|info|debug", S_CFG(log_level), 0,
     "error|warning|notice|info|debug"},

    {"pbx[]", S_LIST, 1, NODE_PBX_MAX, NULL, S_INLINE, "the PBXs this node links to",
     offsetof(node_cfg_t, pbx), sizeof(node_pbx_cfg_t), offsetof(node_cfg_t, pbx_count), NULL},
    {"pbx[].name", S_CHARS, 1, 0, "main", 0, "the PBX's name in logs, metrics and /status",
     S_PBX(name), 0, S_NAMECHARS},
    {"pbx[].host", S_STR, 1, 0, "127.0.0.1", 0, "host name or address of the PBX's CSTA interface",
     S_PBX(host), 0, NULL},
    {"pbx[].port", S_INT, 1, 65535, "33333", 0, "TCP port of the PBX's CSTA interface",
     S_PBX(port), 0, NULL},
    {"pbx[].flavour", S_CHOICE, 0, 0, "panasonic", 0,
     "framing and association profile: panasonic|raw|hipath", S_PBX(flavour), 0,
     "panasonic|raw|hipath"},
    {"pbx[].user", S_STR, 0, 0, "", 0, "login sent in the AARQ (required by hipath)",
     S_PBX(user), 0, NULL},
    {"pbx[].password", S_STR, 0, 0, "", S_SECRET, "password sent in the AARQ", S_PBX(password), 0,
     NULL},
    {"pbx[].connect_timeout_ms", S_INT, 100, 600000, "3000", 0,
     "give up a TCP connect or association after this long", S_PBX(connect_timeout_ms), 0, NULL},
    {"pbx[].backoff_initial_ms", S_INT, 10, 600000, "500", 0,
     "first pause before reconnecting; doubles per failure (jitter +-20 %)",
     S_PBX(backoff_initial_ms), 0, NULL},
    {"pbx[].backoff_max_ms", S_INT, 10, 3600000, "30000", 0, "longest pause between reconnects",
     S_PBX(backoff_max_ms), 0, NULL},
    {"pbx[].silence_timeout_ms", S_INT, 1000, 3600000, "120000", 0,
     "a link that brings no APDU for this long is dead", S_PBX(silence_timeout_ms), 0, NULL},
    {"pbx[].request_timeout_ms", S_INT, 100, 600000, "5000", 0,
     "a request the PBX has not answered after this long fails", S_PBX(request_timeout_ms), 0,
     NULL},
    {"pbx[].window", S_INT, 1, 1024, "32", 0, "requests outstanding at the PBX at once",
     S_PBX(window), 0, NULL},
    {"pbx[].queue_max", S_INT, 0, 1000000, "4096", 0, "requests waiting for the window",
     S_PBX(queue_max), 0, NULL},
    {"pbx[].monitor_retry_ms", S_INT, 1000, 3600000, "30000", 0,
     "retry a MonitorStart the PBX refused after this long", S_PBX(monitor_retry_ms), 0, NULL},
    {"pbx[].validate_calls_ms", S_INT, 0, 86400000, "60000", 0,
     "snapshot monitored devices this often to drop stale calls (0: never)",
     S_PBX(validate_calls_ms), 0, NULL},
    {"pbx[].priority", S_INT, 0, 1000, "100", 0,
     "cluster: among live nodes the lowest priority holds the link (ties: node id order)",
     S_PBX(priority), 0, NULL},
    {"pbx[].links", S_ENUM, 0, 0, "one", 0,
     "cluster: CSTA links the PBX accepts at once: one|several (several: Binary Star in a pair)",
     S_PBX(links), 0, "one|several"},

    {"csta_server.listen", S_ADDR, 1, 0, "0.0.0.0", 0,
     "address the CSTA multiplexer listens on (:: for IPv6)", S_CFG(csta_server.listen), 0, NULL},
    {"csta_server.tcp_port", S_INT, 0, 65535, "33333", 0,
     "plain TCP port for CSTA applications (0: off)", S_CFG(csta_server.tcp_port), 0, NULL},
    {"csta_server.tls_port", S_INT, 0, 65535, "33334", 0,
     "TLS port (0: off); the default applies once tls_cert and tls_key are set",
     S_CFG(csta_server.tls_port), 0, NULL},
    {"csta_server.tls_cert", S_FILE, 0, 0, "", 0, "PEM certificate chain for TLS",
     S_CFG(csta_server.tls_cert), 0, NULL},
    {"csta_server.tls_key", S_FILE, 0, 0, "", 0, "PEM private key for TLS",
     S_CFG(csta_server.tls_key), 0, NULL},
    {"csta_server.tcp_login_required", S_BOOL, 0, 0, "false", 0,
     "plain TCP applications must log in with an ACSE user (TLS ones always must)",
     S_CFG(csta_server.tcp_login_required), 0, NULL},
    {"csta_server.max_apps", S_INT, 1, 100000, "1000", 0, "applications connected at once",
     S_CFG(csta_server.max_apps), 0, NULL},
    {"csta_server.max_apps_per_address", S_INT, 0, 100000, "256", 0,
     "applications connected at once from one IP address (0: no limit)",
     S_CFG(csta_server.max_apps_per_address), 0, NULL},
    {"csta_server.app_queue_max_bytes", S_INT, 65536, 1073741824, "4194304", 0,
     "bytes queued for a slow application before it is disconnected",
     S_CFG(csta_server.app_queue_max_bytes), 0, NULL},
    {"csta_server.login_fail_delay_ms", S_INT, 0, 60000, "1000", 0,
     "back-off after a failed login from an address; doubles per failure up to a minute",
     S_CFG(csta_server.login_fail_delay_ms), 0, NULL},

    {"client_api.listen", S_ADDR, 1, 0, "127.0.0.1", 0,
     "address the client API (libctim applications, ZeroMQ ROUTER) listens on",
     S_CFG(client_api.listen), 0, NULL},
    {"client_api.port", S_INT, 0, 65535, "2748", 0, "client API port (0: off)",
     S_CFG(client_api.port), 0, NULL},
    {"client_api.replay_events", S_INT, 0, 1000000, "1000", 0,
     "events kept per session to replay after a resume or a slow read (0: none)",
     S_CFG(client_api.replay_events), 0, NULL},
    {"client_api.replay_bytes", S_INT, 65536, 1073741824, "1048576", 0,
     "bytes of events kept per session to replay", S_CFG(client_api.replay_bytes), 0, NULL},
    {"client_api.send_hwm", S_INT, 1, 1000000, "1000", 0,
     "frames ZeroMQ queues for one application before the node holds them back",
     S_CFG(client_api.send_hwm), 0, NULL},
    {"client_api.curve_cert", S_FILE, 0, 0, "", 0,
     "the node's CURVE certificate (zcert secret file): the client API is encrypted",
     S_CFG(client_api.curve_cert), 0, NULL},
    {"client_api.curve_clients", S_DIR, 0, 0, "", 0,
     "folder of the client public certificates allowed (unset: any client key)",
     S_CFG(client_api.curve_clients), 0, NULL},

    {"http.listen", S_ADDR, 1, 0, "127.0.0.1", 0,
     "address of /metrics, /livez, /readyz and /status", S_CFG(http.listen), 0, NULL},
    {"http.port", S_INT, 0, 65535, "9120", 0, "HTTP port (0: off)", S_CFG(http.port), 0, NULL},

    //  The cluster (ha/): membership and link ownership between nodes.
    {"cluster.listen", S_ADDR, 1, 0, "0.0.0.0", 0,
     "address the cluster bus (ZeroMQ ROUTER) listens on", S_CFG(cluster.listen), 0, NULL},
    {"cluster.port", S_INT, 1, 65535, "2749", 0, "cluster bus port", S_CFG(cluster.port), 0,
     NULL},
    {"cluster.peers[]", S_LIST, 0, NODE_PEERS_MAX, NULL, 0,
     "the other nodes of the cluster (none: a single node holding every PBX link)",
     offsetof(node_cfg_t, cluster.peers), sizeof(node_peer_cfg_t),
     offsetof(node_cfg_t, cluster.peer_count), NULL},
    {"cluster.peers[].id", S_CHARS, 1, 0, NULL, S_REQUIRED, "the peer's node.id", S_PEER(id), 0,
     S_NAMECHARS},
    {"cluster.peers[].endpoint", S_STR, 1, 0, NULL, S_REQUIRED,
     "HOST:PORT of the peer's cluster bus ([ADDR]:PORT for IPv6)", S_PEER(endpoint), 0, NULL},
    {"cluster.heartbeat_ms", S_INT, 10, 10000, "100", 0, "interval between heartbeats to peers",
     S_CFG(cluster.heartbeat_ms), 0, NULL},
    {"cluster.lost_after", S_INT, 2, 100, "5", 0,
     "a peer silent for this many heartbeat intervals is lost", S_CFG(cluster.lost_after), 0,
     NULL},
    {"cluster.state_dir", S_STR, 1, 0, "/var/lib/ctim", 0,
     "folder for the link epochs (one file per PBX; made if missing)",
     S_CFG(cluster.state_dir), 0, NULL},
    {"cluster.resume_grace_ms", S_INT, 0, 600000, "5000", 0,
     "a lost node's application sessions and their lines stay two heartbeat intervals plus "
     "this, to resume on another node (its CSTA monitors: this alone)",
     S_CFG(cluster.resume_grace_ms), 0, NULL},
    {"cluster.curve_cert", S_FILE, 0, 0, "", 0,
     "this node's CURVE certificate (zcert secret file): the cluster bus is encrypted and "
     "only the peers' keys get in (needs cluster.curve_peers)", S_CFG(cluster.curve_cert), 0,
     NULL},
    {"cluster.curve_peers", S_DIR, 0, 0, "", 0,
     "folder of the peers' public certificates, PEER_ID.cert each (needs cluster.curve_cert)",
     S_CFG(cluster.curve_peers), 0, NULL},

    {"users[]", S_LIST, 0, 10000, NULL, S_RELOAD, "application users (ACSE logins)",
     offsetof(node_cfg_t, users), sizeof(node_user_cfg_t), offsetof(node_cfg_t, user_count),
     NULL},
    {"users[].name", S_STR, 1, 0, NULL, S_RELOAD | S_REQUIRED, "the login name",
     S_USR(name), 0, NULL},
    {"users[].password_hash", S_STR, 1, 0, NULL, S_RELOAD | S_REQUIRED | S_SECRET,
     "from `ctimd --hash-password`", S_USR(password_hash), 0, NULL},
    {"users[].devices", S_RANGES, 0, 1024, NULL, S_RELOAD,
     "devices the user may use: \"N\" or \"FIRST-LAST\" (none listed: all)",
     offsetof(node_user_cfg_t, devices), sizeof(node_device_range_t),
     offsetof(node_user_cfg_t, device_count), NULL},

    {"numbers.location.country_code", S_CHARS, 0, 0, "", S_RELOAD,
     "the PBX's country code, e.g. 49", S_CFG(numbers.country_code), 0, S_DIGITS},
    {"numbers.location.area_code", S_CHARS, 0, 0, "", S_RELOAD,
     "the PBX's area code without the national prefix, e.g. 30", S_CFG(numbers.area_code), 0,
     S_DIGITS},
    {"numbers.location.local_prefix", S_CHARS, 0, 0, "", S_RELOAD,
     "the PBX's outside-line digit(s), e.g. 0", S_CFG(numbers.local_prefix), 0, S_DIALABLE},
    {"numbers.location.international_prefix", S_CHARS, 0, 0, "00", S_RELOAD,
     "prefix for calls abroad", S_CFG(numbers.international_prefix), 0, S_DIGITS},
    {"numbers.location.national_prefix", S_CHARS, 0, 0, "0", S_RELOAD,
     "prefix before an area code", S_CFG(numbers.national_prefix), 0, S_DIGITS},
    S_RULES(incoming, "rules for numbers the PBX reports on incoming calls"),
    S_RULES(outgoing, "rules for numbers the PBX reports on outgoing calls"),
    S_RULES(dialling, "rules for numbers applications dial"),

    {"lines[]", S_LIST, 0, 100000, NULL, S_RELOAD, "lines (extensions) and their names",
     offsetof(node_cfg_t, lines), sizeof(node_line_cfg_t), offsetof(node_cfg_t, line_count),
     NULL},
    {"lines[].number", S_CHARS, 1, 0, NULL, S_RELOAD | S_REQUIRED, "the line's number",
     S_LIN(number), 0, S_DIALABLE},
    {"lines[].name", S_STR, 0, 0, "", S_RELOAD, "its name", S_LIN(name), 0, NULL},
    {"lines_file", S_FILE, 0, 0, "", S_RELOAD, "more lines from a text file: number,name per line",
     S_CFG(lines_file), 0, NULL},
    {"lines_from_pbx", S_BOOL, 0, 0, "true", S_RELOAD,
     "learn the names of other lines from the PBX's device list when its link comes up",
     S_CFG(lines_from_pbx), 0, NULL},
};

#define S_KEY_COUNT (sizeof s_keys / sizeof s_keys[0])
#define S_VALUE_MAX 1024            //  longest text kept for any scalar

static const char *const s_type_names[] = {"string", "string", "integer", "boolean", "enum",
                                           "enum", "address", "file", "regex", "folder", "list",
                                           "list"};

//  The list a key belongs to (index into s_keys), or -1 for the top level.
static int s_scope_of(size_t k)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < S_KEY_COUNT; i++) {
        if (i == k || s_keys[i].type != S_LIST)
            continue;
        size_t n = strlen(s_keys[i].path);
        if (strncmp(s_keys[k].path, s_keys[i].path, n) == 0 && s_keys[k].path[n] == '.' &&
            n > best_len) {
            best = (int) i;
            best_len = n;
        }
    }
    return best;
}

//  The key's path inside its scope: "port" for "pbx[].port".
static const char *s_rel_path(size_t k)
{
    int scope = s_scope_of(k);
    return scope < 0 ? s_keys[k].path : s_keys[k].path + strlen(s_keys[scope].path) + 1;
}

//  The YAML name of the last component ("pbx" for "pbx[]").
static void s_leaf_name(const char *path, char *out, size_t cap)
{
    const char *dot = strrchr(path, '.');
    snprintf(out, cap, "%s", dot ? dot + 1 : path);
    char *br = strchr(out, '[');
    if (br)
        *br = '\0';
}

//  --- The line index -------------------------------------------------------------------------

typedef struct {
    char *path;
    int line;
} s_loc_t;

typedef struct {
    s_loc_t *locs;
    size_t count, cap;
} s_index_t;

typedef struct {
    int indent;
    bool seq;
    int index;
    char path[512];
} s_frame_t;

#define S_DEPTH_MAX 32

typedef struct {
    s_index_t *index;
    s_frame_t frames[S_DEPTH_MAX];
    int depth;
    bool pending;               //  the last key had no value: its children come next
    int pending_indent;
    char pending_path[512];
    int block_indent;           //  inside a | or > scalar deeper than this; -1 none
    int flow_depth;             //  inside [ ] or { } spanning lines
    char quote;                 //  inside a quoted scalar spanning lines
    int line;
} s_scan_t;

static void s_index_add(s_index_t *index, const char *path, int line)
{
    if (index->count == index->cap) {
        size_t cap = index->cap ? index->cap * 2 : 64;
        s_loc_t *locs = realloc(index->locs, cap * sizeof *locs);
        if (!locs)
            return;
        index->locs = locs;
        index->cap = cap;
    }
    index->locs[index->count].path = strdup(path);
    index->locs[index->count].line = line;
    index->count++;
}

static void s_index_free(s_index_t *index)
{
    for (size_t i = 0; i < index->count; i++)
        free(index->locs[i].path);
    free(index->locs);
    memset(index, 0, sizeof *index);
}

//  Line of path (its last occurrence: a key given twice is wrong the second time), else of
//  its closest ancestor listed, else 0.
static int s_index_find(const s_index_t *index, const char *path)
{
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    while (*p) {
        for (size_t i = index->count; i-- > 0;)
            if (strcmp(index->locs[i].path, p) == 0)
                return index->locs[i].line;
        char *cut = strrchr(p, '.');
        char *br = strrchr(p, '[');
        if (br && (!cut || br > cut))
            cut = br;
        if (!cut)
            break;
        *cut = '\0';
    }
    return 0;
}

static int s_index_line(const s_index_t *index, const char *path)
{
    int line = s_index_find(index, path);
    return line ? line : 1;
}

//  Track quotes and flow brackets through s; stops at a comment.
static void s_scan_flow(s_scan_t *sc, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (sc->quote) {
            if (sc->quote == '"' && *p == '\\' && p[1])
                p++;
            else if (*p == sc->quote) {
                if (sc->quote == '\'' && p[1] == '\'')
                    p++;
                else
                    sc->quote = 0;
            }
        } else if (*p == '"' || *p == '\'')
            sc->quote = *p;
        else if (*p == '[' || *p == '{')
            sc->flow_depth++;
        else if ((*p == ']' || *p == '}') && sc->flow_depth > 0)
            sc->flow_depth--;
        else if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t'))
            break;
    }
}

static bool s_is_dash(const char *t)
{
    return t[0] == '-' && (t[1] == ' ' || t[1] == '\0');
}

//  If t starts with "KEY:" (followed by a space or the end), copy KEY and return the value
//  after the colon; else NULL.
static const char *s_split_key(const char *t, char *key, size_t cap)
{
    const char *p = t;
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        const char *end = strchr(p, q);
        if (!end || end[1] != ':' || (end[2] != ' ' && end[2] != '\0'))
            return NULL;
        snprintf(key, cap, "%.*s", (int) (end - p), p);
        return end + 2;
    }
    if (*p == '[' || *p == '{' || *p == '#' || *p == '&' || *p == '*' || *p == '!' || *p == '|' ||
        *p == '>')
        return NULL;
    for (; *p; p++)
        if (*p == ':' && (p[1] == ' ' || p[1] == '\0')) {
            size_t n = (size_t) (p - t);
            while (n > 0 && t[n - 1] == ' ')
                n--;
            snprintf(key, cap, "%.*s", (int) n, t);
            return p + 1;
        }
    return NULL;
}

static void s_scan_push(s_scan_t *sc, int indent, bool seq, const char *path)
{
    if (sc->depth >= S_DEPTH_MAX)
        return;
    s_frame_t *f = &sc->frames[sc->depth++];
    f->indent = indent;
    f->seq = seq;
    f->index = -1;
    snprintf(f->path, sizeof f->path, "%s", path);
}

static void s_scan_value(s_scan_t *sc, const char *value, int key_col)
{
    while (*value == ' ')
        value++;
    if (*value == '|' || *value == '>')
        sc->block_indent = key_col;
    else
        s_scan_flow(sc, value);
}

static void s_scan_item(s_scan_t *sc, const char *t, int col);

static void s_scan_key(s_scan_t *sc, const char *t, int col)
{
    char key[256], path[512];
    const char *value = s_split_key(t, key, sizeof key);
    s_frame_t *top = &sc->frames[sc->depth - 1];
    if (!value || top->seq)
        return;
    if (*top->path)
        snprintf(path, sizeof path, "%s.%s", top->path, key);
    else
        snprintf(path, sizeof path, "%s", key);
    s_index_add(sc->index, path, sc->line);
    while (*value == ' ')
        value++;
    if (*value == '\0') {
        sc->pending = true;
        sc->pending_indent = col;
        snprintf(sc->pending_path, sizeof sc->pending_path, "%s", path);
    } else
        s_scan_value(sc, value, col);
}

//  A line's content at column col in the current frame: "- ..." or "KEY: ...".
static void s_scan_item(s_scan_t *sc, const char *t, int col)
{
    s_frame_t *top = &sc->frames[sc->depth - 1];
    if (!s_is_dash(t)) {
        s_scan_key(sc, t, col);
        return;
    }
    if (!top->seq || top->indent != col)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s[%d]", top->path, ++top->index);
    s_index_add(sc->index, path, sc->line);
    const char *rest = t + 1;
    while (*rest == ' ')
        rest++;
    int rest_col = col + (int) (rest - t);
    char key[256];
    if (*rest == '\0') {
        sc->pending = true;
        sc->pending_indent = col;
        snprintf(sc->pending_path, sizeof sc->pending_path, "%s", path);
    } else if (s_is_dash(rest)) {
        s_scan_push(sc, rest_col, true, path);
        s_scan_item(sc, rest, rest_col);
    } else if (s_split_key(rest, key, sizeof key)) {
        s_scan_push(sc, rest_col, false, path);
        s_scan_key(sc, rest, rest_col);
    } else
        s_scan_value(sc, rest, col);
}

static void s_scan_line(s_scan_t *sc, char *text)
{
    if (sc->flow_depth > 0 || sc->quote) {
        s_scan_flow(sc, text);
        return;
    }
    int ind = 0;
    while (text[ind] == ' ')
        ind++;
    char *t = text + ind;
    //  Drop a comment (a # at the start or after a blank, outside quotes) and blanks.
    char q = 0;
    for (char *p = t; *p; p++) {
        if (q) {
            if (*p == q)
                q = 0;
        } else if (*p == '"' || *p == '\'')
            q = *p;
        else if (*p == '#' && (p == t || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r'))
        t[--n] = '\0';
    if (sc->block_indent >= 0) {
        if (n == 0 || ind > sc->block_indent)
            return;
        sc->block_indent = -1;
    }
    if (n == 0)
        return;
    if (ind == 0 && (strncmp(t, "---", 3) == 0 || strncmp(t, "...", 3) == 0)) {
        sc->depth = 1;
        return;
    }
    if (sc->pending) {
        sc->pending = false;
        if (ind > sc->pending_indent || (ind == sc->pending_indent && s_is_dash(t)))
            s_scan_push(sc, ind, s_is_dash(t), sc->pending_path);
    }
    while (sc->depth > 1) {
        s_frame_t *top = &sc->frames[sc->depth - 1];
        if (top->indent > ind || (top->indent == ind && top->seq && !s_is_dash(t)))
            sc->depth--;
        else
            break;
    }
    if (sc->frames[sc->depth - 1].indent < ind)
        return;         //  the continuation of a plain scalar over several lines
    s_scan_item(sc, t, ind);
}

static void s_index_build(s_index_t *index, FILE *in)
{
    s_scan_t sc = {.index = index, .depth = 1, .block_indent = -1};
    sc.frames[0].indent = 0;
    char *buf = NULL;
    size_t cap = 0;
    while (getline(&buf, &cap, in) >= 0) {
        sc.line++;
        buf[strcspn(buf, "\n")] = '\0';
        s_scan_line(&sc, buf);
    }
    free(buf);
}

//  --- The schema, built from the table -------------------------------------------------------

//  Every mapping is read into an array of slots, one per key; scalars as text.
typedef struct {
    void *ptr;                  //  char * / slot array / sequence entries
    uint32_t count;             //  sequence entries
    uint32_t pad;
} s_slot_t;

typedef enum { S_R_MAP, S_R_SCALAR, S_R_SEQ_MAP, S_R_SEQ_SCALAR } s_rkind_t;

typedef struct s_rnode {
    char name[64];
    s_rkind_t kind;
    struct s_rnode **children;
    size_t child_count;
    cyaml_schema_field_t *fields;
    cyaml_schema_value_t *entry;
} s_rnode_t;

static s_rnode_t *s_rnode_child(s_rnode_t *node, const char *name, s_rkind_t kind, bool create)
{
    for (size_t i = 0; i < node->child_count; i++)
        if (strcmp(node->children[i]->name, name) == 0)
            return node->children[i];
    if (!create)
        return NULL;
    s_rnode_t *child = calloc(1, sizeof *child);
    snprintf(child->name, sizeof child->name, "%s", name);
    child->kind = kind;
    node->children = realloc(node->children, (node->child_count + 1) * sizeof *node->children);
    node->children[node->child_count++] = child;
    return child;
}

static size_t s_rnode_slot(const s_rnode_t *node, const s_rnode_t *child)
{
    for (size_t i = 0; i < node->child_count; i++)
        if (node->children[i] == child)
            return i;
    return 0;
}

static void s_rnode_free(s_rnode_t *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->child_count; i++)
        s_rnode_free(node->children[i]);
    free(node->children);
    free(node->fields);
    free(node->entry);
    free(node);
}

static s_rnode_t *s_tree_build(void)
{
    s_rnode_t *root = calloc(1, sizeof *root);
    root->kind = S_R_MAP;
    for (size_t k = 0; k < S_KEY_COUNT; k++) {
        char path[256];
        snprintf(path, sizeof path, "%s", s_keys[k].path);
        s_rnode_t *node = root;
        char *save = NULL;
        char *part = strtok_r(path, ".", &save);
        while (part) {
            char *next = strtok_r(NULL, ".", &save);
            size_t n = strlen(part);
            bool seq = n > 2 && strcmp(part + n - 2, "[]") == 0;
            if (seq)
                part[n - 2] = '\0';
            s_rkind_t kind = seq ? S_R_SEQ_MAP : S_R_MAP;
            if (!next && !seq)
                kind = s_keys[k].type == S_RANGES ? S_R_SEQ_SCALAR : S_R_SCALAR;
            node = s_rnode_child(node, part, kind, true);
            part = next;
        }
    }
    return root;
}

static const cyaml_schema_value_t s_text_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, S_VALUE_MAX)};

//  Build the cyaml fields of a mapping node (and of everything below it).
static void s_schema_build(s_rnode_t *node)
{
    node->fields = calloc(node->child_count + 1, sizeof(cyaml_schema_field_t));
    for (size_t i = 0; i < node->child_count; i++) {
        s_rnode_t *c = node->children[i];
        cyaml_schema_field_t *f = &node->fields[i];
        f->key = c->name;
        f->data_offset = (uint32_t) (i * sizeof(s_slot_t));
        f->value.flags = CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL;
        switch (c->kind) {
        case S_R_SCALAR:
            f->value.type = CYAML_STRING;
            f->value.data_size = sizeof(char);
            f->value.string.min = 0;
            f->value.string.max = S_VALUE_MAX;
            break;
        case S_R_MAP:
            s_schema_build(c);
            f->value.type = CYAML_MAPPING;
            f->value.data_size = (uint32_t) (c->child_count * sizeof(s_slot_t));
            f->value.mapping.fields = c->fields;
            break;
        case S_R_SEQ_MAP:
            s_schema_build(c);
            c->entry = calloc(1, sizeof *c->entry);
            c->entry->type = CYAML_MAPPING;
            c->entry->flags = CYAML_FLAG_DEFAULT;
            c->entry->data_size = (uint32_t) (c->child_count * sizeof(s_slot_t));
            c->entry->mapping.fields = c->fields;
            /* fall through */
        case S_R_SEQ_SCALAR:
            f->value.type = CYAML_SEQUENCE;
            f->value.data_size =
                c->kind == S_R_SEQ_MAP ? c->entry->data_size : (uint32_t) sizeof(char *);
            f->value.sequence.entry = c->kind == S_R_SEQ_MAP ? c->entry : &s_text_entry;
            f->value.sequence.min = 0;
            f->value.sequence.max = CYAML_UNLIMITED;
            f->count_offset = (uint32_t) (i * sizeof(s_slot_t) + offsetof(s_slot_t, count));
            f->count_size = sizeof(uint32_t);
            break;
        }
    }
}

//  --- Loading --------------------------------------------------------------------------------

typedef struct {
    const char *file;
    char dir[NODE_PATH_MAX];
    s_index_t index;
    char *err;
    size_t err_cap, err_used;
    int errors;
    bool explicit_key[S_KEY_COUNT];     //  top-level keys given in the file
    char cyaml_msg[512];                //  libcyaml's error and backtrace
    char cyaml_trace[512];              //  the path the backtrace names ("pbx[0].port")
    int cyaml_line;
} s_ctx_t;

//  One line "FILE:LINE: KEY: message" into the caller's buffer (as much as fits); line 0:
//  the line of KEY from the index.
static void s_error_at(s_ctx_t *ctx, int line, const char *path, const char *fmt, va_list ap)
{
    ctx->errors++;
    if (!ctx->err || ctx->err_used + 1 >= ctx->err_cap)
        return;
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (line <= 0)
        line = s_index_line(&ctx->index, path);
    int n = snprintf(ctx->err + ctx->err_used, ctx->err_cap - ctx->err_used, "%s:%d: %s: %s\n",
                     ctx->file, line, *path ? path : "(top level)", msg);
    if (n > 0)
        ctx->err_used += (size_t) n;
    if (ctx->err_used >= ctx->err_cap)
        ctx->err_used = ctx->err_cap - 1;
}

static void s_error(s_ctx_t *ctx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_error(s_ctx_t *ctx, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_at(ctx, 0, path, fmt, ap);
    va_end(ap);
}

static void s_error_line(s_ctx_t *ctx, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_error_line(s_ctx_t *ctx, int line, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_at(ctx, line, path, fmt, ap);
    va_end(ap);
}

static bool s_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

//  Index of text in "a|b|c", or -1.
static int s_choice_index(const char *choices, const char *text)
{
    int i = 0;
    for (const char *p = choices; *p; i++) {
        size_t n = strcspn(p, "|");
        if (strlen(text) == n && strncmp(p, text, n) == 0)
            return i;
        p += n;
        if (*p)
            p++;
    }
    return -1;
}

static void s_choice_name(const char *choices, int index, char *out, size_t cap)
{
    const char *p = choices;
    for (int i = 0; i < index && *p; i++) {
        p += strcspn(p, "|");
        if (*p)
            p++;
    }
    snprintf(out, cap, "%.*s", (int) strcspn(p, "|"), p);
}

static int s_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *out = false, 0;
    }
    return -EINVAL;
}

//  Set one scalar key from text (the file's value or the default) at dest.
static void s_set_scalar(s_ctx_t *ctx, const s_key_t *k, const char *path, const char *text,
                         char *dest)
{
    if (s_has_control(text)) {
        s_error(ctx, path, "control characters are not allowed");
        return;
    }
    switch (k->type) {
    case S_INT: {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (!*text || *end || errno == ERANGE)
            s_error(ctx, path, "'%s' is not a whole number", text);
        else if (v < k->min || v > k->max)
            s_error(ctx, path, "%ld is out of range %ld..%ld", v, k->min, k->max);
        else
            *(int *) dest = (int) v;
        return;
    }
    case S_BOOL:
        if (s_parse_bool(text, (bool *) dest) < 0)
            s_error(ctx, path, "'%s' is not true or false", text);
        return;
    case S_ENUM: {
        int i = s_choice_index(k->choices, text);
        if (i < 0)
            s_error(ctx, path, "'%s' is not one of %s", text, k->choices);
        else
            *(int *) dest = i;
        return;
    }
    default:
        break;
    }
    //  The string types.
    char value[NODE_PATH_MAX * 2];
    snprintf(value, sizeof value, "%s", text);
    if ((k->type == S_FILE || k->type == S_DIR) && *text && *text != '/' && *ctx->dir)
        snprintf(value, sizeof value, "%s/%s", ctx->dir, text);
    size_t len = strlen(value);
    if (len >= k->size) {
        s_error(ctx, path, "too long (at most %zu characters)", k->size - 1);
        return;
    }
    if ((long) len < k->min) {
        s_error(ctx, path, "must not be empty");
        return;
    }
    if (k->type == S_CHARS && strspn(value, k->choices) != len) {
        s_error(ctx, path, "'%s' has characters other than %s", value,
                strcmp(k->choices, S_NAMECHARS) == 0 ? "letters, digits, '.', '_' and '-'"
                                                     : k->choices);
        return;
    }
    if (k->type == S_CHOICE && s_choice_index(k->choices, value) < 0) {
        s_error(ctx, path, "'%s' is not one of %s", value, k->choices);
        return;
    }
    if (k->type == S_ADDR) {
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1) {
            s_error(ctx, path, "'%s' is not a numeric IPv4 or IPv6 address", value);
            return;
        }
    }
    if (k->type == S_FILE && *value && access(value, R_OK) != 0) {
        s_error(ctx, path, "cannot read '%s': %s", value, strerror(errno));
        return;
    }
    if (k->type == S_DIR && *value) {
        struct stat st;
        if (stat(value, &st) == 0 && !S_ISDIR(st.st_mode)) {
            s_error(ctx, path, "'%s' is not a folder", value);
            return;
        }
        if (stat(value, &st) != 0 || access(value, R_OK | X_OK) != 0) {
            s_error(ctx, path, "cannot read '%s': %s", value, strerror(errno));
            return;
        }
    }
    if (k->type == S_REGEX) {
        regex_t re;
        int rc = regcomp(&re, value, REG_EXTENDED);
        if (rc != 0) {
            char why[128];
            regerror(rc, &re, why, sizeof why);
            s_error(ctx, path, "bad regular expression '%s': %s", value, why);
            return;
        }
        regfree(&re);
    }
    memcpy(dest, value, len + 1);
}

int node_config_parse_range(const char *text, node_device_range_t *range, char *why,
                            size_t why_cap)
{
    const char *dash = strchr(text, '-');
    size_t first_len = dash ? (size_t) (dash - text) : strlen(text);
    const char *last = dash ? dash + 1 : text;
    size_t last_len = strlen(last);
    if (first_len == 0 || last_len == 0 || strspn(text, S_DIGITS) != first_len ||
        strspn(last, S_DIGITS) != last_len) {
        snprintf(why, why_cap, "'%s' is not a number or a FIRST-LAST range of numbers", text);
        return -EINVAL;
    }
    if (first_len > CSTA_DIGITS_MAX || last_len > CSTA_DIGITS_MAX) {
        snprintf(why, why_cap, "'%s' is longer than %d digits", text, CSTA_DIGITS_MAX);
        return -EINVAL;
    }
    if (first_len != last_len) {
        snprintf(why, why_cap, "'%s': FIRST and LAST must have the same number of digits", text);
        return -EINVAL;
    }
    if (strncmp(text, last, first_len) > 0) {
        snprintf(why, why_cap, "'%s': FIRST is greater than LAST", text);
        return -EINVAL;
    }
    snprintf(range->first, sizeof range->first, "%.*s", (int) first_len, text);
    snprintf(range->last, sizeof range->last, "%s", last);
    return 0;
}

//  The slot of rel (a dotted path below node) in raw, or NULL if absent; *found gets the
//  rnode.
static s_slot_t *s_raw_find(s_rnode_t *node, s_slot_t *raw, const char *rel, s_rnode_t **found)
{
    char path[256];
    snprintf(path, sizeof path, "%s", rel);
    char *save = NULL;
    for (char *part = strtok_r(path, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        char *br = strchr(part, '[');
        if (br)
            *br = '\0';
        s_rnode_t *child = s_rnode_child(node, part, S_R_MAP, false);
        if (!child)
            return NULL;
        s_slot_t *slot = raw ? &raw[s_rnode_slot(node, child)] : NULL;
        node = child;
        *found = child;
        char *rest = save && *save ? save : NULL;
        if (!rest)
            return slot;
        raw = slot ? slot->ptr : NULL;
    }
    return NULL;
}

static void s_apply_scope(s_ctx_t *ctx, int scope, s_rnode_t *node, s_slot_t *raw, char *base,
                          const char *prefix)
{
    for (size_t k = 0; k < S_KEY_COUNT; k++) {
        if (s_scope_of(k) != scope)
            continue;
        const s_key_t *key = &s_keys[k];
        const char *rel = s_rel_path(k);
        char path[512];
        snprintf(path, sizeof path, "%s%.*s", prefix,
                 (int) (strlen(rel) - (key->type == S_LIST ? 2 : 0)), rel);
        s_rnode_t *rnode = NULL;
        s_slot_t *slot = s_raw_find(node, raw, rel, &rnode);
        bool given = slot && slot->ptr;
        if (scope < 0)
            ctx->explicit_key[k] = given;

        if (key->type == S_LIST || key->type == S_RANGES) {
            size_t count = given ? slot->count : 0;
            size_t *count_p = (size_t *) (base + key->aux);
            if ((long) count < key->min) {
                s_error(ctx, path, key->min == 1 ? "at least one entry is required"
                                                 : "at least %ld entries are required", key->min);
                continue;
            }
            if ((long) count > key->max) {
                s_error(ctx, path, "at most %ld entries are allowed, not %zu", key->max, count);
                continue;
            }
            char *elems;
            if (key->flags & S_INLINE)
                elems = base + key->offset;
            else {
                elems = count ? calloc(count, key->size) : NULL;
                *(void **) (base + key->offset) = elems;
            }
            *count_p = count;
            for (size_t i = 0; i < count; i++) {
                char *elem = elems + i * key->size;
                char elem_path[540];
                snprintf(elem_path, sizeof elem_path, "%s[%zu]", path, i);
                if (key->type == S_RANGES) {
                    char why[256];
                    const char *text = ((char **) slot->ptr)[i];
                    if (node_config_parse_range(text, (node_device_range_t *) elem, why,
                                                sizeof why) < 0)
                        s_error(ctx, elem_path, "%s", why);
                    continue;
                }
                char elem_prefix[560];
                snprintf(elem_prefix, sizeof elem_prefix, "%s.", elem_path);
                s_slot_t *entry = (s_slot_t *) ((char *) slot->ptr +
                                                i * rnode->child_count * sizeof(s_slot_t));
                s_apply_scope(ctx, (int) k, rnode, entry, elem, elem_prefix);
            }
            continue;
        }
        const char *text = given ? (const char *) slot->ptr : key->def;
        char host[NODE_NAME_MAX];
        if (!given && (key->flags & S_HOSTNAME)) {
            if (gethostname(host, sizeof host) != 0)
                snprintf(host, sizeof host, "ctimd");
            host[sizeof host - 1] = '\0';
            host[strcspn(host, ".")] = '\0';    //  the short name
            text = host;
        }
        if (!text) {
            s_error(ctx, path, "required");
            continue;
        }
        s_set_scalar(ctx, key, path, text, base + key->offset);
    }
}

//  Whether path is a czmq certificate that holds a secret key (zcert_load reads
//  path_secret first, then path), as CURVE servers need.
static bool s_curve_cert_ok(const char *path)
{
    ha_curve_cert_t cert;
    return ha_curve_cert_load(path, &cert) == 0;
}

//  cluster.curve_cert and cluster.curve_peers: both or neither, this node's certificate
//  with its secret, and a public certificate per peer, named after it, with a key that is
//  not this node's.
static void s_check_cluster_curve(s_ctx_t *ctx, const node_cluster_cfg_t *cl)
{
    if (!*cl->curve_cert && !*cl->curve_peers)
        return;
    if (!*cl->curve_peers) {
        s_error(ctx, "cluster.curve_peers", "required with cluster.curve_cert: a folder with "
                "each peer's public certificate as PEER_ID.cert");
        return;
    }
    if (!*cl->curve_cert) {
        s_error(ctx, "cluster.curve_cert", "required with cluster.curve_peers: this node's "
                "certificate (the NAME_secret file of `ctimd --make-cert NAME`)");
        return;
    }
    ha_curve_cert_t own;
    if (ha_curve_cert_load(cl->curve_cert, &own) != 0) {
        s_error(ctx, "cluster.curve_cert", "not a CURVE certificate with its secret key "
                "(czmq zcert_save: the NAME_secret file)");
        return;
    }
    for (size_t i = 0; i < cl->peer_count; i++) {
        char file[2 * NODE_PATH_MAX], key[HA_CURVE_KEY_TXT];
        snprintf(file, sizeof file, "%s/%s.cert", cl->curve_peers, cl->peers[i].id);
        int rc = ha_curve_public_load(file, key);
        if (rc == -ENOENT)
            s_error(ctx, "cluster.curve_peers", "no certificate for peer %s: %s is missing "
                    "(its public certificate, as `ctimd --make-cert` writes NAME)",
                    cl->peers[i].id, file);
        else if (rc)
            s_error(ctx, "cluster.curve_peers", "%s is not a CURVE certificate", file);
        else if (strcmp(key, own.public_txt) == 0)
            s_error(ctx, "cluster.curve_peers", "%s holds this node's own key (each node "
                    "needs a certificate of its own)", file);
    }
}

//  "HOST:PORT" or "[ADDR]:PORT" with a port 1..65535.
static bool s_endpoint_ok(const char *ep)
{
    const char *colon = strrchr(ep, ':');
    if (!colon || colon == ep)
        return false;
    size_t host_len = (size_t) (colon - ep);
    if (memchr(ep, ':', host_len) && (ep[0] != '[' || ep[host_len - 1] != ']'))
        return false;       //  an IPv6 address without brackets
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return colon[1] && !*end && port >= 1 && port <= 65535 && !strpbrk(ep, " /\t");
}

//  The cluster's keys: peers differ from each other and from this node, endpoints parse,
//  the bus port is no other port of this node.
static void s_check_cluster(s_ctx_t *ctx, const node_cfg_t *cfg)
{
    char path[256];
    const node_cluster_cfg_t *cl = &cfg->cluster;
    for (size_t i = 0; i < cl->peer_count; i++) {
        const node_peer_cfg_t *p = &cl->peers[i];
        if (strcmp(p->id, cfg->node_id) == 0) {
            snprintf(path, sizeof path, "cluster.peers[%zu].id", i);
            s_error(ctx, path, "'%s' is this node's id (node.id); list the other nodes", p->id);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->id, cl->peers[j].id) == 0) {
                snprintf(path, sizeof path, "cluster.peers[%zu].id", i);
                s_error(ctx, path, "'%s' is the id of cluster.peers[%zu] too", p->id, j);
            }
        if (*p->endpoint && !s_endpoint_ok(p->endpoint)) {
            snprintf(path, sizeof path, "cluster.peers[%zu].endpoint", i);
            s_error(ctx, path, "'%s' is not HOST:PORT (or [IPV6]:PORT, port 1..65535)",
                    p->endpoint);
        }
    }
    s_check_cluster_curve(ctx, cl);
    if (cl->peer_count == 0)
        return;
    int port = cl->port;
    const node_csta_server_cfg_t *cs = &cfg->csta_server;
    if (port == cs->tcp_port || port == cs->tls_port || port == cfg->http.port ||
        port == cfg->client_api.port)
        s_error(ctx, "cluster.port", "%d is a csta_server, client_api or http port too", port);
}

//  Checks across keys, after every key has its value.
static void s_check(s_ctx_t *ctx, node_cfg_t *cfg)
{
    char path[256];
    for (size_t i = 0; i < cfg->pbx_count; i++) {
        node_pbx_cfg_t *p = &cfg->pbx[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->name, cfg->pbx[j].name) == 0) {
                snprintf(path, sizeof path, "pbx[%zu].name", i);
                s_error(ctx, path, "'%s' is the name of pbx[%zu] too; names must differ",
                        p->name, j);
            }
        if (p->backoff_initial_ms > p->backoff_max_ms) {
            snprintf(path, sizeof path, "pbx[%zu].backoff_initial_ms", i);
            s_error(ctx, path, "%d is greater than backoff_max_ms (%d)", p->backoff_initial_ms,
                    p->backoff_max_ms);
        }
        if (strcmp(p->flavour, "hipath") == 0)
            p->framing = CSTA_FRAMING_HIPATH;
        else if (strcmp(p->flavour, "raw") == 0)
            p->framing = CSTA_FRAMING_RAW;
        else
            p->framing = CSTA_FRAMING_LEN16;
        if (p->framing == CSTA_FRAMING_HIPATH && (!*p->user || !*p->password)) {
            snprintf(path, sizeof path, "pbx[%zu].%s", i, *p->user ? "password" : "user");
            s_error(ctx, path, "the hipath flavour logs in: user and password are required");
        }
    }

    node_csta_server_cfg_t *cs = &cfg->csta_server;
    bool tls_given = false;
    for (size_t k = 0; k < S_KEY_COUNT; k++)
        if (strncmp(s_keys[k].path, "csta_server.tls_", 16) == 0 && ctx->explicit_key[k])
            tls_given = true;
    if (!tls_given)
        cs->tls_port = 0;       //  TLS stays off until it is configured
    else if (cs->tls_port != 0 && (!*cs->tls_cert || !*cs->tls_key))
        s_error(ctx, *cs->tls_cert ? "csta_server.tls_key" : "csta_server.tls_cert",
                "required when csta_server.tls_port is set (PEM file)");
    if (cs->tcp_port != 0 && cs->tcp_port == cs->tls_port)
        s_error(ctx, "csta_server.tls_port", "%d is the tcp_port too", cs->tls_port);
    if (cfg->http.port != 0 && (cfg->http.port == cs->tcp_port || cfg->http.port == cs->tls_port))
        s_error(ctx, "http.port", "%d is a csta_server port too", cfg->http.port);
    int cp = cfg->client_api.port;
    if (cp != 0 && (cp == cs->tcp_port || cp == cs->tls_port || cp == cfg->http.port))
        s_error(ctx, "client_api.port", "%d is a csta_server or http port too", cp);
    if (*cfg->client_api.curve_clients && !*cfg->client_api.curve_cert)
        s_error(ctx, "client_api.curve_clients", "needs client_api.curve_cert (CURVE is off)");
    if (*cfg->client_api.curve_cert && !s_curve_cert_ok(cfg->client_api.curve_cert))
        s_error(ctx, "client_api.curve_cert", "not a CURVE certificate with its secret key "
                "(czmq zcert_save: the NAME_secret file)");

    s_check_cluster(ctx, cfg);

    for (size_t i = 0; i < cfg->user_count; i++) {
        node_user_cfg_t *u = &cfg->users[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(u->name, cfg->users[j].name) == 0) {
                snprintf(path, sizeof path, "users[%zu].name", i);
                s_error(ctx, path, "'%s' is the name of users[%zu] too", u->name, j);
            }
        if (*u->password_hash && !node_users_hash_valid(u->password_hash)) {
            snprintf(path, sizeof path, "users[%zu].password_hash", i);
            s_error(ctx, path, "not a hash from `ctimd --hash-password` "
                               "(pbkdf2-sha256$ITERATIONS$SALT$HASH)");
        }
    }

    struct {
        const char *name;
        node_numrule_t *rules;
        size_t count;
    } lists[] = {{"incoming", cfg->numbers.incoming, cfg->numbers.incoming_count},
                 {"outgoing", cfg->numbers.outgoing, cfg->numbers.outgoing_count},
                 {"dialling", cfg->numbers.dialling, cfg->numbers.dialling_count}};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < lists[l].count; i++) {
            node_numrule_t *r = &lists[l].rules[i];
            regex_t re;
            if (!*r->match || regcomp(&re, r->match, REG_EXTENDED) != 0)
                continue;       //  reported already
            size_t groups = re.re_nsub;
            regfree(&re);
            for (const char *p = r->replace; *p; p++)
                if (*p == '\\' && p[1] >= '1' && p[1] <= '9' && (size_t) (p[1] - '0') > groups) {
                    snprintf(path, sizeof path, "numbers.%s[%zu].replace", lists[l].name, i);
                    s_error(ctx, path, "\\%c refers to a group the match does not have (%zu)",
                            p[1], groups);
                    break;
                } else if (*p == '\\' && p[1])
                    p++;
        }

    for (size_t i = 0; i < cfg->line_count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->lines[i].number, cfg->lines[j].number) == 0) {
                snprintf(path, sizeof path, "lines[%zu].number", i);
                s_error(ctx, path, "'%s' is listed at lines[%zu] too", cfg->lines[i].number, j);
                break;
            }
}

//  libcyaml's messages: the first error line and the backtrace, which names the path
//  ("in mapping field 'port'", "in sequence entry '2'") innermost first.
static void s_cyaml_log(cyaml_log_t level, void *arg, const char *fmt, va_list ap)
{
    s_ctx_t *ctx = arg;
    if (level < CYAML_LOG_ERROR)
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    char name[256];
    unsigned index;
    size_t lno, col;
    if (sscanf(line, "  in mapping field '%255[^']' (line: %zu, column: %zu)", name, &lno,
               &col) == 3 ||
        sscanf(line, "  in sequence entry '%u' (line: %zu, column: %zu)", &index, &lno,
               &col) == 3) {
        char part[300], rest[sizeof ctx->cyaml_trace];
        if (strncmp(line, "  in mapping field", 18) == 0)
            snprintf(part, sizeof part, "%s%s", name, *ctx->cyaml_trace == '[' ? "" : ".");
        else
            snprintf(part, sizeof part, "[%u]%s", index ? index - 1 : 0,
                     *ctx->cyaml_trace == '[' || !*ctx->cyaml_trace ? "" : ".");
        snprintf(rest, sizeof rest, "%s", ctx->cyaml_trace);
        size_t plen = strlen(part);
        if (plen + strlen(rest) < sizeof ctx->cyaml_trace) {
            memcpy(ctx->cyaml_trace, part, plen);
            memcpy(ctx->cyaml_trace + plen, rest, strlen(rest) + 1);
        }
        if (!ctx->cyaml_line)
            ctx->cyaml_line = (int) lno;
    } else if (sscanf(line, "  in mapping (line: %zu", &lno) == 1) {
        if (!ctx->cyaml_line)
            ctx->cyaml_line = (int) lno;
    } else if (!*ctx->cyaml_msg && strncmp(line, "Load: Backtrace", 15) != 0)
        snprintf(ctx->cyaml_msg, sizeof ctx->cyaml_msg, "%s",
                 strncmp(line, "Load: ", 6) == 0 ? line + 6 : line);
}

//  Turn libcyaml's error into "FILE:LINE: KEY: message".
static void s_cyaml_error(s_ctx_t *ctx, cyaml_err_t rc)
{
    char path[600], msg[600];
    snprintf(path, sizeof path, "%s", ctx->cyaml_trace);
    size_t n = strlen(path);
    if (n && path[n - 1] == '.')
        path[--n] = '\0';
    const char *m = ctx->cyaml_msg;
    char what[128], got[128];
    if (sscanf(m, "Unexpected key: %127[^\n]", what) == 1) {
        snprintf(path + n, sizeof path - n, "%s%s", n ? "." : "", what);
        snprintf(msg, sizeof msg, "unknown key");
    } else if (sscanf(m, "Mapping field already seen: %127[^\n]", what) == 1)
        snprintf(msg, sizeof msg, "given twice");
    else if (sscanf(m, "Expecting %127s got event: %127s", what, got) == 2) {
        const char *want = strncmp(what, "STRING", 6) == 0 ? "a single value"
                           : strncmp(what, "MAPPING", 7) == 0 ? "a mapping of keys"
                                                               : "a list";
        const char *have = strncmp(got, "MAPPING", 7) == 0    ? "a mapping"
                           : strncmp(got, "SEQUENCE", 8) == 0 ? "a list"
                                                              : "a single value";
        snprintf(msg, sizeof msg, "wrong type: expected %s, found %s", want, have);
    } else if (strncmp(m, "libyaml: ", 9) == 0)
        snprintf(msg, sizeof msg, "YAML syntax error near here: %s", m + 9);
    else
        snprintf(msg, sizeof msg, "%s (%s)", *m ? m : "cannot be read", cyaml_strerror(rc));
    //  Without a path from our index (a syntax error, a flow mapping), libcyaml's line is
    //  the best we have.
    int line = s_index_find(&ctx->index, path);
    s_error_line(ctx, line ? line : ctx->cyaml_line > 0 ? ctx->cyaml_line : 1, path, "%s", msg);
}

static void s_free_scope(int scope, char *base);

int node_config_load(node_cfg_t *cfg, const char *path, char *err, size_t err_cap)
{
    memset(cfg, 0, sizeof *cfg);
    if (err && err_cap)
        *err = '\0';
    s_ctx_t ctx = {.file = path, .err = err, .err_cap = err && err_cap ? err_cap : 0};
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(ctx.dir, sizeof ctx.dir, "%.*s", (int) (slash - path), path);

    FILE *in = fopen(path, "r");
    if (!in) {
        int e = errno;
        if (err && err_cap)
            snprintf(err, err_cap, "%s: cannot read: %s\n", path, strerror(e));
        return -ENOENT;
    }
    s_index_build(&ctx.index, in);
    fclose(in);

    s_rnode_t *root = s_tree_build();
    s_schema_build(root);
    cyaml_schema_value_t top = {.type = CYAML_MAPPING,
                                .flags = CYAML_FLAG_POINTER,
                                .data_size = (uint32_t) (root->child_count * sizeof(s_slot_t)),
                                .mapping.fields = root->fields};
    cyaml_config_t ycfg = {.log_fn = s_cyaml_log, .log_ctx = &ctx, .mem_fn = cyaml_mem,
                           .log_level = CYAML_LOG_ERROR, .flags = CYAML_CFG_DEFAULT};
    s_slot_t *raw = NULL;
    cyaml_err_t rc = cyaml_load_file(path, &ycfg, &top, (cyaml_data_t **) &raw, NULL);
    if (rc != CYAML_OK)
        s_cyaml_error(&ctx, rc);
    else {
        //  An empty file is an empty mapping: the defaults, and the errors for what is
        //  required.
        s_apply_scope(&ctx, -1, root, raw, (char *) cfg, "");
        if (ctx.errors == 0)
            s_check(&ctx, cfg);
    }
    if (raw)
        cyaml_free(&ycfg, &top, raw, 0);
    s_rnode_free(root);
    s_index_free(&ctx.index);
    if (ctx.errors) {
        node_config_free(cfg);
        return -EINVAL;
    }
    return 0;
}

static void s_free_scope(int scope, char *base)
{
    for (size_t k = 0; k < S_KEY_COUNT; k++) {
        const s_key_t *key = &s_keys[k];
        if (s_scope_of(k) != scope || (key->type != S_LIST && key->type != S_RANGES))
            continue;
        size_t *count_p = (size_t *) (base + key->aux);
        char *elems = key->flags & S_INLINE ? base + key->offset : *(char **) (base + key->offset);
        for (size_t i = 0; elems && key->type == S_LIST && i < *count_p; i++)
            s_free_scope((int) k, elems + i * key->size);
        if (!(key->flags & S_INLINE)) {
            free(elems);
            *(void **) (base + key->offset) = NULL;
        }
        *count_p = 0;
    }
}

void node_config_free(node_cfg_t *cfg)
{
    if (cfg)
        s_free_scope(-1, (char *) cfg);
}

//  --- Printing, describing, diffing ----------------------------------------------------------

//  A scalar's value as YAML text (strings double-quoted).
static void s_format(const s_key_t *k, const char *src, char *out, size_t cap)
{
    switch (k->type) {
    case S_INT:
        snprintf(out, cap, "%d", *(const int *) src);
        return;
    case S_BOOL:
        snprintf(out, cap, "%s", *(const bool *) src ? "true" : "false");
        return;
    case S_ENUM:
        s_choice_name(k->choices, *(const int *) src, out, cap);
        return;
    default:
        break;
    }
    if (k->flags & S_SECRET && *src) {
        snprintf(out, cap, "\"***\"");
        return;
    }
    size_t used = 0;
    out[used++] = '"';
    for (const char *p = src; *p && used + 3 < cap; p++) {
        if (*p == '"' || *p == '\\')
            out[used++] = '\\';
        out[used++] = *p;
    }
    out[used++] = '"';
    out[used] = '\0';
}

//  The default as it would print (so a value can say it differs).
static void s_format_default(const s_key_t *k, char *out, size_t cap)
{
    *out = '\0';
    if (!k->def)
        return;
    if (k->type == S_INT || k->type == S_BOOL || k->type == S_ENUM)
        snprintf(out, cap, "%s", k->def);
    else
        snprintf(out, cap, "\"%s\"", k->def);
}

static void s_print_ranges(const node_device_range_t *r, size_t count, char *out, size_t cap)
{
    size_t used = (size_t) snprintf(out, cap, "[");
    for (size_t i = 0; i < count && used < cap; i++) {
        if (strcmp(r[i].first, r[i].last) == 0)
            used += (size_t) snprintf(out + used, cap - used, "%s\"%s\"", i ? ", " : "",
                                      r[i].first);
        else
            used += (size_t) snprintf(out + used, cap - used, "%s\"%s-%s\"", i ? ", " : "",
                                      r[i].first, r[i].last);
    }
    if (used < cap)
        snprintf(out + used, cap - used, "]");
}

//  Print the keys of one scope.  indent: the column of its keys; dash: the first line
//  starts a list element ("- ").
static void s_print_scope(FILE *out, int scope, const char *base, int indent, bool dash)
{
    char open[8][64];               //  the mappings opened so far in this scope
    int open_depth = 0;
    for (size_t k = 0; k < S_KEY_COUNT; k++) {
        if (s_scope_of(k) != scope)
            continue;
        const s_key_t *key = &s_keys[k];
        char rel[256];
        snprintf(rel, sizeof rel, "%s", s_rel_path(k));
        char *parts[8];
        int depth = 0;
        char *save = NULL;
        for (char *p = strtok_r(rel, ".", &save); p && depth < 8; p = strtok_r(NULL, ".", &save))
            parts[depth++] = p;
        int same = 0;
        while (same < open_depth && same < depth - 1 && strcmp(open[same], parts[same]) == 0)
            same++;
        open_depth = same;
        for (int d = same; d < depth - 1; d++) {
            fprintf(out, "%*s%s%s:\n", indent + 2 * d - (dash ? 2 : 0), "", dash ? "- " : "",
                    parts[d]);
            dash = false;
            snprintf(open[open_depth++], sizeof open[0], "%s", parts[d]);
        }
        int col = indent + 2 * (depth - 1);
        char name[128];
        s_leaf_name(parts[depth - 1], name, sizeof name);
        fprintf(out, "%*s%s%s:", col - (dash ? 2 : 0), "", dash ? "- " : "", name);
        dash = false;
        if (key->type == S_LIST) {
            size_t count = *(const size_t *) (base + key->aux);
            const char *elems = key->flags & S_INLINE ? base + key->offset
                                                      : *(const char *const *) (base + key->offset);
            if (count == 0) {
                fprintf(out, " []\n");
                continue;
            }
            fprintf(out, "\n");
            for (size_t i = 0; i < count; i++)
                s_print_scope(out, (int) k, elems + i * key->size, col + 4, true);
            continue;
        }
        char value[S_VALUE_MAX * 2], def[S_VALUE_MAX];
        if (key->type == S_RANGES) {
            s_print_ranges(*(node_device_range_t *const *) (base + key->offset),
                           *(const size_t *) (base + key->aux), value, sizeof value);
            fprintf(out, " %s\n", value);
            continue;
        }
        s_format(key, base + key->offset, value, sizeof value);
        s_format_default(key, def, sizeof def);
        if (key->def && strcmp(value, def) != 0 && !(key->flags & S_SECRET))
            fprintf(out, " %s    # default %s\n", value, def);
        else
            fprintf(out, " %s\n", value);
    }
}

void node_config_print(const node_cfg_t *cfg, FILE *out)
{
    fprintf(out, "# ctimd configuration as resolved from %s\n", cfg->path);
    s_print_scope(out, -1, (const char *) cfg, 0, false);
}

void node_config_describe(FILE *out)
{
    for (size_t k = 0; k < S_KEY_COUNT; k++) {
        const s_key_t *key = &s_keys[k];
        char range[64] = "";
        if (key->type == S_INT)
            snprintf(range, sizeof range, " %ld..%ld", key->min, key->max);
        else if (key->type == S_LIST || key->type == S_RANGES)
            snprintf(range, sizeof range, " %ld..%ld entries", key->min, key->max);
        else if (key->type == S_ENUM || key->type == S_CHOICE)
            snprintf(range, sizeof range, " %s", key->choices);
        const char *def = key->flags & S_HOSTNAME ? "(host name)"
                          : key->def              ? (*key->def ? key->def : "\"\"")
                          : key->flags & S_REQUIRED ? "(required)"
                                                    : "-";
        fprintf(out, "%-40s %s%s, default %s%s\n    %s\n", key->path, s_type_names[key->type],
                range, def, key->flags & S_RELOAD ? ", reloadable" : "", key->help);
    }
}

void node_config_apply_reloadable(node_cfg_t *live, node_cfg_t *fresh)
{
    for (size_t k = 0; k < S_KEY_COUNT; k++) {
        const s_key_t *key = &s_keys[k];
        if (s_scope_of(k) != -1 || !(key->flags & S_RELOAD))
            continue;
        size_t size = key->type == S_LIST && !(key->flags & S_INLINE) ? sizeof(void *) : key->size;
        char tmp[sizeof(((node_cfg_t *) 0)->lines_file)];
        if (size > sizeof tmp)
            continue;   //  (no reloadable key is larger than a path)
        memcpy(tmp, (char *) live + key->offset, size);
        memcpy((char *) live + key->offset, (char *) fresh + key->offset, size);
        memcpy((char *) fresh + key->offset, tmp, size);
        if (key->type == S_LIST) {
            size_t *a = (size_t *) ((char *) live + key->aux);
            size_t *b = (size_t *) ((char *) fresh + key->aux);
            size_t t = *a;
            *a = *b;
            *b = t;
        }
    }
}

static void s_diff_scope(int scope, const char *a, const char *b, const char *prefix,
                         bool reload, node_config_change_fn *fn, void *arg)
{
    for (size_t k = 0; k < S_KEY_COUNT; k++) {
        if (s_scope_of(k) != scope)
            continue;
        const s_key_t *key = &s_keys[k];
        const char *rel = s_rel_path(k);
        char path[512];
        snprintf(path, sizeof path, "%s%.*s", prefix,
                 (int) (strlen(rel) - (key->type == S_LIST ? 2 : 0)), rel);
        bool reloadable = reload || (key->flags & S_RELOAD);
        char va[S_VALUE_MAX * 2], vb[S_VALUE_MAX * 2];
        if (key->type == S_LIST) {
            size_t na = *(const size_t *) (a + key->aux), nb = *(const size_t *) (b + key->aux);
            if (na != nb) {
                snprintf(va, sizeof va, "%zu entries", na);
                snprintf(vb, sizeof vb, "%zu entries", nb);
                fn(arg, path, va, vb, reloadable);
                continue;
            }
            const char *ea = key->flags & S_INLINE ? a + key->offset
                                                   : *(const char *const *) (a + key->offset);
            const char *eb = key->flags & S_INLINE ? b + key->offset
                                                   : *(const char *const *) (b + key->offset);
            for (size_t i = 0; i < na; i++) {
                char elem_prefix[540];
                snprintf(elem_prefix, sizeof elem_prefix, "%s[%zu].", path, i);
                s_diff_scope((int) k, ea + i * key->size, eb + i * key->size, elem_prefix,
                             reloadable, fn, arg);
            }
            continue;
        }
        if (key->type == S_RANGES) {
            s_print_ranges(*(node_device_range_t *const *) (a + key->offset),
                           *(const size_t *) (a + key->aux), va, sizeof va);
            s_print_ranges(*(node_device_range_t *const *) (b + key->offset),
                           *(const size_t *) (b + key->aux), vb, sizeof vb);
            if (strcmp(va, vb) != 0)
                fn(arg, path, va, vb, reloadable);
            continue;
        }
        bool differ = memcmp(a + key->offset, b + key->offset, key->size) != 0;
        if (key->type != S_INT && key->type != S_BOOL && key->type != S_ENUM)
            differ = strcmp(a + key->offset, b + key->offset) != 0;
        if (differ) {
            s_format(key, a + key->offset, va, sizeof va);
            s_format(key, b + key->offset, vb, sizeof vb);
            fn(arg, path, va, vb, reloadable);
        }
    }
}

void node_config_diff(const node_cfg_t *old, const node_cfg_t *fresh, node_config_change_fn *fn,
                      void *arg)
{
    s_diff_scope(-1, (const char *) old, (const char *) fresh, "", false, fn, arg);
}
