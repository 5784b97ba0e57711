//  pbxsim_config: command-line options and the optional YAML device file.
#include <cyaml/cyaml.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbxsim.h"

static void s_usage(FILE *out)
{
    fprintf(out,
        "usage: pbxsim [options]            run the simulated PBX\n"
        "       pbxsim ctl [--ctl PATH] COMMAND [ARGS]   drive a running pbxsim\n"
        "options (defaults in brackets):\n"
        "  --listen HOST:PORT       CSTA listening address; port 0 picks one [127.0.0.1:33333]\n"
        "  --flavour NAME           panasonic | raw | hipath [panasonic]\n"
        "  --max-links N            CSTA links accepted at once [1, like a real PBX]\n"
        "  --status-interval-ms N   SystemStatus period; an unanswered one drops the link [20000]\n"
        "  --login USER:PASSWORD    login the hipath flavour requires [AMHOST:77777]\n"
        "  --ctl PATH               control socket [/tmp/pbxsim-PORT.sock]\n"
        "  --devices FILE           YAML device file (extensions, trunks, groups)\n"
        "  --extensions FIRST-LAST  extensions when no device file is given [101-200]\n"
        "  --trunks N               CO lines 801.. [8]\n"
        "  --auto-answer-ms N       extensions answer by themselves after N ms [-1: off]\n"
        "  --no-answer-ms N         ringing time before forward-on-no-answer [20000]\n"
        "  --remote-answer-ms N     external parties answer after N ms [3000; -1 never]\n"
        "  --outside-prefix P       dialled numbers with this prefix leave on a trunk [0]\n"
        "  --segment-size N         devices per SwitchingFunctionDevices segment [20]\n"
        "  -v, --verbose            log every APDU\n");
}

static int s_int(const char *opt, const char *value, int min, int max, int *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (*value == '\0' || *end || v < min || v > max) {
        fprintf(stderr, "pbxsim: %s: '%s' is not a number in %d..%d\n", opt, value, min, max);
        return -EINVAL;
    }
    *out = (int) v;
    return 0;
}

int pbxsim_cfg_parse(pbxsim_cfg_t *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->port = 33333;
    cfg->flavour = PBX_FLAVOUR_PANASONIC;
    cfg->max_links = 1;
    cfg->status_interval_ms = 20000;
    snprintf(cfg->login_user, sizeof cfg->login_user, "AMHOST");
    snprintf(cfg->login_password, sizeof cfg->login_password, "77777");
    cfg->ext_first = 101;
    cfg->ext_last = 200;
    cfg->trunks = 8;
    cfg->auto_answer_ms = -1;
    cfg->segment_size = 20;
    cfg->sw.no_answer_ms = 20000;
    cfg->sw.remote_answer_ms = 3000;
    cfg->sw.max_calls = 4096;
    snprintf(cfg->sw.outside_prefix, sizeof cfg->sw.outside_prefix, "0");

    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},       {"flavour", required_argument, 0, 'f'},
        {"max-links", required_argument, 0, 'm'},    {"status-interval-ms", required_argument, 0, 's'},
        {"login", required_argument, 0, 'L'},        {"ctl", required_argument, 0, 'c'},
        {"devices", required_argument, 0, 'd'},      {"extensions", required_argument, 0, 'e'},
        {"trunks", required_argument, 0, 't'},       {"auto-answer-ms", required_argument, 0, 'a'},
        {"no-answer-ms", required_argument, 0, 'n'}, {"remote-answer-ms", required_argument, 0, 'r'},
        {"outside-prefix", required_argument, 0, 'p'}, {"segment-size", required_argument, 0, 'g'},
        {"verbose", no_argument, 0, 'v'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l': {
            const char *colon = strrchr(optarg, ':');
            if (!colon || colon == optarg || (size_t) (colon - optarg) >= sizeof cfg->listen_host) {
                fprintf(stderr, "pbxsim: --listen wants HOST:PORT, got '%s'\n", optarg);
                return -EINVAL;
            }
            snprintf(cfg->listen_host, sizeof cfg->listen_host, "%.*s", (int) (colon - optarg), optarg);
            rc = s_int("--listen", colon + 1, 0, 65535, &cfg->port);
            break;
        }
        case 'f':
            if (strcmp(optarg, "panasonic") == 0)
                cfg->flavour = PBX_FLAVOUR_PANASONIC;
            else if (strcmp(optarg, "raw") == 0)
                cfg->flavour = PBX_FLAVOUR_RAW;
            else if (strcmp(optarg, "hipath") == 0)
                cfg->flavour = PBX_FLAVOUR_HIPATH;
            else {
                fprintf(stderr, "pbxsim: --flavour: '%s' is not panasonic, raw or hipath\n", optarg);
                return -EINVAL;
            }
            break;
        case 'm': rc = s_int("--max-links", optarg, 1, 1000, &cfg->max_links); break;
        case 's': rc = s_int("--status-interval-ms", optarg, 50, 3600000, &cfg->status_interval_ms); break;
        case 'L': {
            const char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || strlen(optarg) > CSTA_LOGIN_MAX) {
                fprintf(stderr, "pbxsim: --login wants USER:PASSWORD\n");
                return -EINVAL;
            }
            snprintf(cfg->login_user, sizeof cfg->login_user, "%.*s", (int) (colon - optarg), optarg);
            snprintf(cfg->login_password, sizeof cfg->login_password, "%s", colon + 1);
            break;
        }
        case 'c': snprintf(cfg->ctl_path, sizeof cfg->ctl_path, "%s", optarg); break;
        case 'd': snprintf(cfg->devices_file, sizeof cfg->devices_file, "%s", optarg); break;
        case 'e':
            if (sscanf(optarg, "%d-%d", &cfg->ext_first, &cfg->ext_last) != 2 ||
                cfg->ext_first < 0 || cfg->ext_last < cfg->ext_first ||
                cfg->ext_last - cfg->ext_first >= 100000) {
                fprintf(stderr, "pbxsim: --extensions wants FIRST-LAST, got '%s'\n", optarg);
                return -EINVAL;
            }
            break;
        case 't': rc = s_int("--trunks", optarg, 0, 999, &cfg->trunks); break;
        case 'a': rc = s_int("--auto-answer-ms", optarg, -1, 3600000, &cfg->auto_answer_ms); break;
        case 'n': rc = s_int("--no-answer-ms", optarg, 100, 3600000, &cfg->sw.no_answer_ms); break;
        case 'r': rc = s_int("--remote-answer-ms", optarg, -1, 3600000, &cfg->sw.remote_answer_ms); break;
        case 'p': snprintf(cfg->sw.outside_prefix, sizeof cfg->sw.outside_prefix, "%s", optarg); break;
        case 'g': rc = s_int("--segment-size", optarg, 1, 500, &cfg->segment_size); break;
        case 'v': cfg->verbose = true; break;
        case 'h': s_usage(stdout); exit(0);
        default: s_usage(stderr); return -EINVAL;
        }
    }
    if (rc)
        return rc;
    if (optind < argc) {
        fprintf(stderr, "pbxsim: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    return 0;     //  an empty ctl_path becomes /tmp/pbxsim-PORT.sock once the port is known
}

//  --- Devices ---------------------------------------------------------------------------------------

//  Panasonic deviceNumber types (csta-facts.md 5): high 16 bits type, low 16 an index.
#define S_DEVNUM_EXT 0x01110000L
#define S_DEVNUM_CO 0x01310000L
#define S_DEVNUM_GROUP 0x01410000L

typedef struct {
    char *number;               //  one extension ...
    char *range;                //  ... or "FIRST-LAST"
    char *name;
    int *auto_answer_ms;
} s_yaml_ext_t;

typedef struct {
    char *number;
    char *name;
    char *type;                 //  hunt | pickup
    char **members;
    unsigned members_count;
} s_yaml_group_t;

typedef struct {
    s_yaml_ext_t *extensions;
    unsigned extensions_count;
    int *trunks;
    s_yaml_group_t *groups;
    unsigned groups_count;
} s_yaml_root_t;

static const cyaml_schema_field_t s_ext_fields[] = {
    CYAML_FIELD_STRING_PTR("number", CYAML_FLAG_OPTIONAL, s_yaml_ext_t, number, 1, PBX_NUMBER_MAX - 1),
    CYAML_FIELD_STRING_PTR("range", CYAML_FLAG_OPTIONAL, s_yaml_ext_t, range, 3, 64),
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_OPTIONAL, s_yaml_ext_t, name, 0, PBX_NAME_MAX - 1),
    CYAML_FIELD_INT_PTR("auto_answer_ms", CYAML_FLAG_OPTIONAL, s_yaml_ext_t, auto_answer_ms),
    CYAML_FIELD_END};
static const cyaml_schema_value_t s_ext_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, s_yaml_ext_t, s_ext_fields)};
static const cyaml_schema_value_t s_member_schema = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, PBX_NUMBER_MAX - 1)};
static const cyaml_schema_field_t s_group_fields[] = {
    CYAML_FIELD_STRING_PTR("number", CYAML_FLAG_DEFAULT, s_yaml_group_t, number, 1, PBX_NUMBER_MAX - 1),
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_OPTIONAL, s_yaml_group_t, name, 0, PBX_NAME_MAX - 1),
    CYAML_FIELD_STRING_PTR("type", CYAML_FLAG_DEFAULT, s_yaml_group_t, type, 4, 6),
    CYAML_FIELD_SEQUENCE("members", CYAML_FLAG_POINTER, s_yaml_group_t, members, &s_member_schema,
                         1, PBX_GROUP_MEMBERS_MAX),
    CYAML_FIELD_END};
static const cyaml_schema_value_t s_group_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, s_yaml_group_t, s_group_fields)};
static const cyaml_schema_field_t s_root_fields[] = {
    CYAML_FIELD_SEQUENCE("extensions", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, s_yaml_root_t,
                         extensions, &s_ext_schema, 0, CYAML_UNLIMITED),
    CYAML_FIELD_INT_PTR("trunks", CYAML_FLAG_OPTIONAL, s_yaml_root_t, trunks),
    CYAML_FIELD_SEQUENCE("groups", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, s_yaml_root_t, groups,
                         &s_group_schema, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END};
static const cyaml_schema_value_t s_root_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, s_yaml_root_t, s_root_fields)};

static const char *s_yaml_file;

//  libcyaml's messages (with line and column) prefixed by the file they are about.
static void s_yaml_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
    (void) ctx;
    if (level < CYAML_LOG_ERROR)
        return;
    fprintf(stderr, "pbxsim: %s: ", s_yaml_file);
    vfprintf(stderr, fmt, args);
}

static int s_add(pbx_switch_t *sw, const pbx_device_cfg_t *dev, const char *origin)
{
    int rc = pbx_switch_add_device(sw, dev);
    if (rc < 0)
        fprintf(stderr, "pbxsim: %s: device %s: %s\n", origin, dev->number,
                rc == -EEXIST ? "number defined twice" : strerror(-rc));
    return rc < 0 ? rc : 0;
}

static int s_add_extensions(pbx_switch_t *sw, int first, int last, const char *name,
                            int auto_answer_ms, const char *origin)
{
    for (int n = first; n <= last; n++) {
        pbx_device_cfg_t dev = {.type = PBX_DEV_EXTENSION, .auto_answer_ms = auto_answer_ms};
        snprintf(dev.number, sizeof dev.number, "%d", n);
        if (name && first == last)
            snprintf(dev.name, sizeof dev.name, "%s", name);
        else
            snprintf(dev.name, sizeof dev.name, "%s %d", name ? name : "Extension", n);
        dev.device_number = S_DEVNUM_EXT + pbx_switch_device_count(sw);
        int rc = s_add(sw, &dev, origin);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_add_trunks(pbx_switch_t *sw, int count)
{
    for (int i = 1; i <= count; i++) {
        pbx_device_cfg_t dev = {.type = PBX_DEV_TRUNK, .auto_answer_ms = -1};
        snprintf(dev.number, sizeof dev.number, "%d", 800 + i);
        snprintf(dev.name, sizeof dev.name, "CO %d", i);
        dev.device_number = S_DEVNUM_CO + i;
        int rc = s_add(sw, &dev, "trunks");
        if (rc)
            return rc;
    }
    return 0;
}

static int s_load_yaml(const pbxsim_cfg_t *cfg, pbx_switch_t *sw)
{
    const char *path = cfg->devices_file;
    s_yaml_file = path;
    cyaml_config_t ycfg = {.log_fn = s_yaml_log, .mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR};
    s_yaml_root_t *root = NULL;
    cyaml_err_t err = cyaml_load_file(path, &ycfg, &s_root_schema, (cyaml_data_t **) &root, NULL);
    if (err != CYAML_OK) {
        fprintf(stderr, "pbxsim: %s: %s\n", path, cyaml_strerror(err));
        return -EINVAL;
    }
    int rc = 0;
    char origin[300];
    for (unsigned i = 0; rc == 0 && i < root->extensions_count; i++) {
        const s_yaml_ext_t *e = &root->extensions[i];
        int aa = e->auto_answer_ms ? *e->auto_answer_ms : cfg->auto_answer_ms;
        int first, last;
        snprintf(origin, sizeof origin, "%s: extensions[%u]", path, i);
        if (e->range && sscanf(e->range, "%d-%d", &first, &last) == 2 && first <= last &&
            last - first < 100000 && !e->number) {
            rc = s_add_extensions(sw, first, last, e->name, aa, origin);
        } else if (e->number && !e->range) {
            pbx_device_cfg_t dev = {.type = PBX_DEV_EXTENSION, .auto_answer_ms = aa};
            snprintf(dev.number, sizeof dev.number, "%s", e->number);
            snprintf(dev.name, sizeof dev.name, "%s", e->name ? e->name : e->number);
            dev.device_number = S_DEVNUM_EXT + pbx_switch_device_count(sw);
            rc = s_add(sw, &dev, origin);
        } else {
            fprintf(stderr, "pbxsim: %s: give either number or range (FIRST-LAST)\n", origin);
            rc = -EINVAL;
        }
    }
    if (rc == 0)
        rc = s_add_trunks(sw, root->trunks ? *root->trunks : cfg->trunks);
    for (unsigned i = 0; rc == 0 && i < root->groups_count; i++) {
        const s_yaml_group_t *g = &root->groups[i];
        snprintf(origin, sizeof origin, "%s: groups[%u] (%s)", path, i, g->number);
        pbx_device_cfg_t dev = {.auto_answer_ms = -1};
        if (strcmp(g->type, "hunt") == 0)
            dev.type = PBX_DEV_HUNT_GROUP;
        else if (strcmp(g->type, "pickup") == 0)
            dev.type = PBX_DEV_PICKUP_GROUP;
        else {
            fprintf(stderr, "pbxsim: %s: type: '%s' is not hunt or pickup\n", origin, g->type);
            rc = -EINVAL;
            break;
        }
        snprintf(dev.number, sizeof dev.number, "%s", g->number);
        snprintf(dev.name, sizeof dev.name, "%s", g->name ? g->name : g->number);
        dev.device_number = S_DEVNUM_GROUP + (long) i;
        for (unsigned m = 0; m < g->members_count; m++) {
            int idx = pbx_switch_find_number(sw, g->members[m]);
            if (idx < 0 || pbx_switch_device(sw, idx)->type != PBX_DEV_EXTENSION) {
                fprintf(stderr, "pbxsim: %s: members[%u]: '%s' is not an extension\n", origin, m,
                        g->members[m]);
                rc = -EINVAL;
                break;
            }
            dev.members[dev.member_count++] = idx;
        }
        if (rc == 0)
            rc = s_add(sw, &dev, origin);
    }
    cyaml_free(&ycfg, &s_root_schema, root, 0);
    return rc;
}

int pbxsim_cfg_load_devices(const pbxsim_cfg_t *cfg, pbx_switch_t *sw)
{
    if (cfg->devices_file[0])
        return s_load_yaml(cfg, sw);
    int rc = s_add_extensions(sw, cfg->ext_first, cfg->ext_last, NULL, cfg->auto_answer_ms,
                              "--extensions");
    return rc ? rc : s_add_trunks(sw, cfg->trunks);
}
