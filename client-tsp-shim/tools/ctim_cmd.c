//  ctim_cmd: the ctim tool's command line -- options, the command table, exit codes.
#include "ctim_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_NUMBER_MAX 64             //  as the protocol's (proto.h PROTO_NUMBER_MAX)
#define S_CALL_ID_MAX 32            //  as the protocol's (PROTO_CALL_ID_MAX)
#define S_PASSWORD_MAX 128          //  as the protocol's (PROTO_PASSWORD_MAX)
#define S_TIMEOUT_MAX_MS 3600000u
#define S_HEARTBEAT_MIN_MS 50u
#define S_HEARTBEAT_MAX_MS 600000u

//  One command: its name, how many operands it takes and the usage words.
typedef struct {
    const char *name;
    ctim_cmd_kind_t kind;
    int min, max;
    const char *args;
    const char *what;
} s_cmd_t;

static const s_cmd_t s_cmds[] = {
    {"monitor", CTIM_CMD_MONITOR, 1, CTIM_CMD_LINES_MAX, "[--cdr] LINE...",
     "open the lines and print one line per event until Ctrl-C or SIGTERM (exit 0):\n"
     "link up/down, line in/out of service, call states with the parties, forwarding,\n"
     "do not disturb, events lost; --cdr also claims the node's CDR stream (given up\n"
     "on exit) and prints its records.  The first login must come within --timeout;\n"
     "later server losses are ridden out (failover)"},
    {"call", CTIM_CMD_CALL, 2, 2, "LINE NUMBER", "make a call from LINE to NUMBER; prints the call id"},
    {"answer", CTIM_CMD_ANSWER, 1, 2, "LINE [CALLID]",
     "answer CALLID, or the call offering at LINE"},
    {"hangup", CTIM_CMD_HANGUP, 1, 2, "LINE [CALLID]", "clear CALLID, or the line's active call"},
    {"hold", CTIM_CMD_HOLD, 1, 2, "LINE [CALLID]", "put CALLID, or the active call, on hold"},
    {"retrieve", CTIM_CMD_RETRIEVE, 1, 2, "LINE [CALLID]",
     "take CALLID, or the held call, back"},
    {"transfer", CTIM_CMD_TRANSFER, 2, 3, "LINE NUMBER [CALLID] [--consult]",
     "blind transfer of the active call to NUMBER; --consult: consultation call to\n"
     "NUMBER, wait until it is connected (at most --timeout), then complete the transfer;\n"
     "a consultation that is busy, ends or is not answered in time is cleared and the\n"
     "held call retrieved (exit 1, or 4 for the time)"},
    {"conference", CTIM_CMD_CONFERENCE, 2, 3, "LINE NUMBER [CALLID]",
     "bring NUMBER into the active call (single-step conference)"},
    {"redirect", CTIM_CMD_REDIRECT, 2, 3, "LINE NUMBER [CALLID]",
     "deflect the call offering at LINE to NUMBER"},
    {"pickup", CTIM_CMD_PICKUP, 1, 2, "LINE [RINGING_NUMBER]",
     "pick up at LINE the call ringing at RINGING_NUMBER (a line of the user's, opened\n"
     "too to find the call; without: group pickup); prints the call id"},
    {"dtmf", CTIM_CMD_DTMF, 2, 3, "LINE DIGITS [CALLID]",
     "send DTMF digits (0-9 * # A-D) in the active call"},
    {"forward", CTIM_CMD_FORWARD, 3, 3, "LINE MODE NUMBER|off",
     "switch forwarding on to NUMBER, or off; MODE is immediate, busy or no-answer,\n"
     "for all callers, or with -internal or -external (busy-external)"},
    {"dnd", CTIM_CMD_DND, 2, 2, "LINE on|off", "switch do not disturb on or off"},
    {"lines", CTIM_CMD_LINES, 0, 0, "",
     "the user's lines: number, name, in service (--json: also open and failure\n"
     "number, which are this command's session's: no and none)"},
    {"status", CTIM_CMD_STATUS, 0, CTIM_CMD_LINES_MAX, "[LINE...]",
     "the server in use and the session; per LINE: in service, do not disturb,\n"
     "message waiting, forwarding"},
};

#define S_CMD_COUNT (sizeof s_cmds / sizeof *s_cmds)

static const s_cmd_t *s_cmd_find(const char *name)
{
    for (size_t i = 0; i < S_CMD_COUNT; i++)
        if (strcmp(s_cmds[i].name, name) == 0)
            return &s_cmds[i];
    return NULL;
}

const char *ctim_cmd_name(ctim_cmd_kind_t kind)
{
    if (kind == CTIM_CMD_HELP)
        return "help";
    if (kind == CTIM_CMD_VERSION)
        return "version";
    for (size_t i = 0; i < S_CMD_COUNT; i++)
        if (s_cmds[i].kind == kind)
            return s_cmds[i].name;
    return "?";
}

void ctim_cmd_help(FILE *out)
{
    fprintf(out,
            "NAME\n"
            "    ctim - watch and steer telephone lines through a ctim node\n"
            "\n"
            "SYNOPSIS\n"
            "    ctim [OPTIONS] COMMAND [ARGUMENTS]\n"
            "\n"
            "COMMANDS\n");
    for (size_t i = 0; i < S_CMD_COUNT; i++) {
        fprintf(out, "    %s%s%s\n        ", s_cmds[i].name, *s_cmds[i].args ? " " : "",
                s_cmds[i].args);
        for (const char *p = s_cmds[i].what; *p; p++) {
            fputc(*p, out);
            if (*p == '\n')
                fputs("        ", out);
        }
        fputc('\n', out);
    }
    fprintf(out,
            "\n"
            "  cluster handover PBX NODE --http HOST:PORT[,HOST:PORT...] [--timeout MS] [--json]\n"
            "        move PBX's link to NODE gracefully (drain, hand over, no lost request)\n"
            "        through the nodes' HTTP endpoints (no login); waits until NODE holds\n"
            "        it with its link up and prints how long it took (--timeout default 10000)\n"
            "\n"
            "    Without CALLID a command acts on the line's call in the state it needs\n"
            "    (offering, active or held), as the node's snapshot reports it after the line\n"
            "    opens; none, or two active or held calls, is an error that names them.\n"
            "    On success, commands that act on a call print its id (the new call's for\n"
            "    call and pickup); the others print nothing.\n"
            "\n"
            "OPTIONS (anywhere on the line; --name=value works too)\n"
            "    -s, --servers LIST      endpoints tried in order, tcp://host:2748,...\n"
            "                            (default: $CTIM_SERVERS, else " CTIM_CMD_SERVERS ")\n"
            "    -u, --user USER         login name (default: $CTIM_USER)\n"
            "        --password-file F   the password is the first line of F\n"
            "                            (default: $CTIM_PASSWORD, else none)\n"
            "    -j, --json              one JSON object per line: events and results\n"
            "    -t, --timeout MS        deadline of every wait but monitor's events\n"
            "                            (default %d)\n"
            "        --heartbeat MS      heartbeat interval asked of the node (default 1000)\n"
            "        --curve-server-key K  the servers' CURVE public key (40 Z85 characters)\n"
            "        --curve-cert FILE   this client's CURVE certificate (czmq zcert)\n"
            "    -h, --help              this text\n"
            "        --version           the tool's and libctim's version\n"
            "    --                      the end of the options\n"
            "\n"
            "OUTPUT\n"
            "    Text: one line per event, TIME LINE STATE call=ID DIRECTION from NUMBER \"NAME\"\n"
            "    to NUMBER \"NAME\" (local time).  --json: one object per line with\n"
            "    \"type\" call, line, link, forward, dnd, events_lost or cdr (events, with\n"
            "    \"time\" in UTC), result (a request's outcome, with \"exit\"), server or address\n"
            "    (status).  Errors go to stderr as \"ctim: ...\".\n"
            "\n"
            "EXIT STATUS\n"
            "    0  success; monitor: stopped by SIGINT or SIGTERM\n"
            "    1  the request failed (the result and the node's text are printed)\n"
            "    2  usage error\n"
            "    3  could not connect or log in: no server answered within --timeout, or\n"
            "       the login was refused\n"
            "    4  no result within --timeout\n"
            "    128+N  a command other than monitor was stopped by signal N (SIGINT: 130)\n"
            "\n"
            "EXAMPLES\n"
            "    export CTIM_SERVERS=tcp://a:2748,tcp://b:2748 CTIM_USER=crm\n"
            "    ctim --password-file ~/.ctim-pw monitor 101 102\n"
            "    id=$(ctim call 101 0301234567) && ctim hangup 101 \"$id\"\n"
            "    ctim forward 101 busy 102; ctim forward 101 busy off\n"
            "    ctim --json lines | jq -r '.lines[].line'\n",
            CTIM_CMD_TIMEOUT_MS);
}

ctim_exit_t ctim_cmd_exit_for(ctim_result_t result)
{
    switch (result) {
    case CTIM_RESULT_OK:
        return CTIM_EXIT_OK;
    case CTIM_RESULT_TIMEOUT:
        return CTIM_EXIT_TIMEOUT;
    case CTIM_RESULT_LOGIN_FAILED:
    case CTIM_RESULT_UNSUPPORTED_VERSION:
    case CTIM_RESULT_NOT_LOGGED_IN:
        return CTIM_EXIT_CONNECT;
    default:
        return CTIM_EXIT_FAILED;
    }
}

//  --- Parsing --------------------------------------------------------------------------------

static int s_usage(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int s_usage(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return CTIM_EXIT_USAGE;
}

//  A line, number or call id: 1..max printable characters, no white space.
static bool s_word_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

static bool s_digits_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= S_NUMBER_MAX && strspn(s, "0123456789*#ABCD") == n;
}

//  ZeroMQ's Z85 alphabet (RFC 32/Z85); a CURVE public key is 40 of them.
static bool s_z85_key_ok(const char *s)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    return strlen(s) == 40 && strspn(s, z85) == 40;
}

static bool s_ms(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

typedef enum { S_OPT_FLAG, S_OPT_VALUE } s_opt_arg_t;

typedef struct {
    const char *name;       //  long name
    char short_name;        //  0 = none
    s_opt_arg_t arg;
} s_opt_t;

static const s_opt_t s_opts[] = {
    {"servers", 's', S_OPT_VALUE},   {"user", 'u', S_OPT_VALUE},
    {"password-file", 0, S_OPT_VALUE}, {"json", 'j', S_OPT_FLAG},
    {"timeout", 't', S_OPT_VALUE},   {"heartbeat", 0, S_OPT_VALUE},
    {"curve-server-key", 0, S_OPT_VALUE}, {"curve-cert", 0, S_OPT_VALUE},
    {"help", 'h', S_OPT_FLAG},       {"version", 0, S_OPT_FLAG},
    {"consult", 0, S_OPT_FLAG},      {"cdr", 0, S_OPT_FLAG},
};

//  Find the option that arg ("--name", "--name=value", "-x") names; *value is the inline
//  value or NULL.
static const s_opt_t *s_opt_find(const char *arg, const char **value)
{
    *value = NULL;
    if (arg[1] != '-') {
        for (size_t i = 0; i < sizeof s_opts / sizeof *s_opts; i++)
            if (s_opts[i].short_name && arg[1] == s_opts[i].short_name && arg[2] == '\0')
                return &s_opts[i];
        return NULL;
    }
    const char *name = arg + 2;
    size_t n = strcspn(name, "=");
    for (size_t i = 0; i < sizeof s_opts / sizeof *s_opts; i++)
        if (strlen(s_opts[i].name) == n && strncmp(s_opts[i].name, name, n) == 0) {
            if (name[n] == '=')
                *value = name + n + 1;
            return &s_opts[i];
        }
    return NULL;
}

//  Apply one option.  Returns CTIM_EXIT_OK or CTIM_EXIT_USAGE.
static int s_option(ctim_cmd_t *cmd, const s_opt_t *o, const char *v, bool *help,
                    bool *version, char *err, size_t cap)
{
    const char *name = o->name;
    if (strcmp(name, "servers") == 0)
        cmd->servers = v;
    else if (strcmp(name, "user") == 0)
        cmd->user = v;
    else if (strcmp(name, "password-file") == 0)
        cmd->password_file = v;
    else if (strcmp(name, "json") == 0)
        cmd->json = true;
    else if (strcmp(name, "timeout") == 0) {
        if (!s_ms(v, 1, S_TIMEOUT_MAX_MS, &cmd->timeout_ms))
            return s_usage(err, cap, "--timeout: '%s' is not milliseconds from 1 to %u", v,
                           S_TIMEOUT_MAX_MS);
    } else if (strcmp(name, "heartbeat") == 0) {
        if (!s_ms(v, S_HEARTBEAT_MIN_MS, S_HEARTBEAT_MAX_MS, &cmd->heartbeat_ms))
            return s_usage(err, cap, "--heartbeat: '%s' is not milliseconds from %u to %u", v,
                           S_HEARTBEAT_MIN_MS, S_HEARTBEAT_MAX_MS);
    } else if (strcmp(name, "curve-server-key") == 0) {
        if (!s_z85_key_ok(v))
            return s_usage(err, cap,
                           "--curve-server-key: not a CURVE public key (40 Z85 characters)");
        cmd->curve_server_key = v;
    } else if (strcmp(name, "curve-cert") == 0)
        cmd->curve_cert = v;
    else if (strcmp(name, "help") == 0)
        *help = true;
    else if (strcmp(name, "version") == 0)
        *version = true;
    else if (strcmp(name, "consult") == 0)
        cmd->consult = true;
    else if (strcmp(name, "cdr") == 0)
        cmd->cdr = true;
    if (o->arg == S_OPT_VALUE && !*v)
        return s_usage(err, cap, "--%s: empty value", name);
    return CTIM_EXIT_OK;
}

//  Check the operands of command c and store them in cmd.
static int s_operands(ctim_cmd_t *cmd, const s_cmd_t *c, const char *const *op, int n,
                      char *err, size_t cap)
{
    int min = c->kind == CTIM_CMD_MONITOR && cmd->cdr ? 0 : c->min;
    if (n < min)
        return s_usage(err, cap, "%s: missing arguments (ctim %s %s)", c->name, c->name,
                       c->args);
    if (n > c->max)
        return s_usage(err, cap, "%s: too many arguments (ctim %s %s)", c->name, c->name,
                       c->args);
    if (cmd->consult && c->kind != CTIM_CMD_TRANSFER)
        return s_usage(err, cap, "%s: --consult belongs to transfer", c->name);
    if (cmd->cdr && c->kind != CTIM_CMD_MONITOR)
        return s_usage(err, cap, "%s: --cdr belongs to monitor", c->name);

    //  Every command but lines starts with lines (monitor and status: only lines).
    int lines = c->kind == CTIM_CMD_MONITOR || c->kind == CTIM_CMD_STATUS ? n
                : c->kind == CTIM_CMD_LINES                              ? 0
                                                                         : 1;
    for (int i = 0; i < lines; i++) {
        if (!s_word_ok(op[i], S_NUMBER_MAX))
            return s_usage(err, cap, "%s: '%s' is not a line number", c->name, op[i]);
        for (size_t j = 0; j < cmd->line_count; j++)
            if (strcmp(cmd->lines[j], op[i]) == 0)
                return s_usage(err, cap, "%s: line %s given twice", c->name, op[i]);
        cmd->lines[cmd->line_count++] = op[i];
    }
    const char *a = n > 1 ? op[1] : NULL;      //  the second operand
    const char *b = n > 2 ? op[2] : NULL;      //  the third
    switch (c->kind) {
    case CTIM_CMD_ANSWER:
    case CTIM_CMD_HANGUP:
    case CTIM_CMD_HOLD:
    case CTIM_CMD_RETRIEVE:
        cmd->call_id = a;
        break;
    case CTIM_CMD_CALL:
    case CTIM_CMD_TRANSFER:
    case CTIM_CMD_CONFERENCE:
    case CTIM_CMD_REDIRECT:
        cmd->number = a;
        cmd->call_id = b;
        break;
    case CTIM_CMD_PICKUP:
        cmd->number = a;
        break;
    case CTIM_CMD_DTMF:
        if (!s_digits_ok(a))
            return s_usage(err, cap, "dtmf: '%s' is not DTMF digits (0-9 * # A-D)", a);
        cmd->digits = a;
        cmd->call_id = b;
        break;
    case CTIM_CMD_FORWARD:
        if (ctim_forward_mode_parse(a, &cmd->mode) != 0)
            return s_usage(err, cap,
                           "forward: unknown mode '%s' (immediate, busy or no-answer, with "
                           "-all, -internal or -external)",
                           a);
        cmd->on = strcmp(b, "off") != 0;
        cmd->number = cmd->on ? b : NULL;
        break;
    case CTIM_CMD_DND:
        if (strcmp(a, "on") != 0 && strcmp(a, "off") != 0)
            return s_usage(err, cap, "dnd: '%s' is neither on nor off", a);
        cmd->on = strcmp(a, "on") == 0;
        break;
    default:
        break;
    }
    if (cmd->number && !s_word_ok(cmd->number, S_NUMBER_MAX))
        return s_usage(err, cap, "%s: '%s' is not a number", c->name, cmd->number);
    if (cmd->call_id && !s_word_ok(cmd->call_id, S_CALL_ID_MAX))
        return s_usage(err, cap, "%s: '%s' is not a call id", c->name, cmd->call_id);
    return CTIM_EXIT_OK;
}

int ctim_cmd_parse(ctim_cmd_t *cmd, int argc, char *const argv[], const ctim_cmd_env_t *env,
                   char *err, size_t err_cap)
{
    memset(cmd, 0, sizeof *cmd);
    if (err_cap)
        err[0] = '\0';
    cmd->timeout_ms = CTIM_CMD_TIMEOUT_MS;
    bool help = false, version = false, options_done = false;
    const char *words[CTIM_CMD_LINES_MAX + 2];     //  the command and its operands
    int word_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            const char *value;
            const s_opt_t *o = s_opt_find(arg, &value);
            if (!o)
                return s_usage(err, err_cap, "unknown option '%s'", arg);
            if (o->arg == S_OPT_FLAG && value)
                return s_usage(err, err_cap, "--%s takes no value", o->name);
            if (o->arg == S_OPT_VALUE && !value) {
                if (i + 1 == argc)
                    return s_usage(err, err_cap, "--%s needs a value", o->name);
                value = argv[++i];
            }
            int rc = s_option(cmd, o, value, &help, &version, err, err_cap);
            if (rc != CTIM_EXIT_OK)
                return rc;
            continue;
        }
        if (word_count == (int)(sizeof words / sizeof *words))
            return s_usage(err, err_cap, "too many arguments");
        words[word_count++] = arg;
    }
    if (help || (word_count > 0 && strcmp(words[0], "help") == 0)) {
        cmd->kind = CTIM_CMD_HELP;
        return CTIM_EXIT_OK;
    }
    if (version) {
        cmd->kind = CTIM_CMD_VERSION;
        return CTIM_EXIT_OK;
    }
    if (word_count == 0)
        return s_usage(err, err_cap, "no command");
    const s_cmd_t *c = s_cmd_find(words[0]);
    if (!c)
        return s_usage(err, err_cap, "unknown command '%s'", words[0]);
    cmd->kind = c->kind;
    int rc = s_operands(cmd, c, words + 1, word_count - 1, err, err_cap);
    if (rc != CTIM_EXIT_OK)
        return rc;

    if (!cmd->servers)
        cmd->servers = env && env->servers && *env->servers ? env->servers : CTIM_CMD_SERVERS;
    if (!cmd->user && env && env->user && *env->user)
        cmd->user = env->user;
    if (!cmd->user)
        return s_usage(err, err_cap, "no user: give --user or set CTIM_USER");
    if (!cmd->password_file && env && env->password)
        cmd->password = env->password;
    return CTIM_EXIT_OK;
}

int ctim_cmd_read_password(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[S_PASSWORD_MAX + 3];
    bool got = fgets(line, sizeof line, f) != NULL;
    int rc = ferror(f) ? -EIO : 0;
    fclose(f);
    if (rc)
        return rc;
    if (!got)
        return -EINVAL;
    size_t n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (n == 0 || n > S_PASSWORD_MAX || n >= cap)       //  a longer line: n is past the max
        return -EINVAL;
    memcpy(buf, line, n + 1);
    return 0;
}
