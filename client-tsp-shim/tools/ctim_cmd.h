//  ctim_cmd: the ctim tool's command line -- options, the command table, exit codes.
//
//  Pure: parsing reads argv and the environment values it is given, nothing else, so every
//  command and every usage error is unit tested (tests/unit/client-tsp-shim/).
#ifndef CTIM_CMD_H
#define CTIM_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctim.h"

//  The tool's exit codes (documented in `ctim --help` and client-tsp-shim/README.md).
typedef enum {
    CTIM_EXIT_OK = 0,
    CTIM_EXIT_FAILED = 1,           //  the request failed (result and node text on stderr)
    CTIM_EXIT_USAGE = 2,            //  bad command line
    CTIM_EXIT_CONNECT = 3,          //  no server answered within --timeout, or login refused
    CTIM_EXIT_TIMEOUT = 4,          //  no result within --timeout
} ctim_exit_t;

typedef enum {
    CTIM_CMD_HELP = 0,              //  --help, -h, `help`: print the usage text
    CTIM_CMD_VERSION,
    CTIM_CMD_MONITOR,
    CTIM_CMD_CALL,
    CTIM_CMD_ANSWER,
    CTIM_CMD_HANGUP,
    CTIM_CMD_HOLD,
    CTIM_CMD_RETRIEVE,
    CTIM_CMD_TRANSFER,
    CTIM_CMD_CONFERENCE,
    CTIM_CMD_REDIRECT,
    CTIM_CMD_PICKUP,
    CTIM_CMD_DTMF,
    CTIM_CMD_FORWARD,
    CTIM_CMD_DND,
    CTIM_CMD_LINES,
    CTIM_CMD_STATUS,
} ctim_cmd_kind_t;

#define CTIM_CMD_LINES_MAX 64       //  lines of one monitor or status
#define CTIM_CMD_TIMEOUT_MS 5000
#define CTIM_CMD_SERVERS "tcp://127.0.0.1:2748"

//  The environment the tool reads (NULL = unset); main fills it from getenv.
typedef struct {
    const char *servers;            //  CTIM_SERVERS
    const char *user;               //  CTIM_USER
    const char *password;           //  CTIM_PASSWORD
} ctim_cmd_env_t;

//  A parsed command line.  Strings are borrowed from argv or the environment.
typedef struct {
    ctim_cmd_kind_t kind;
    const char *servers;            //  never NULL after a successful parse
    const char *user;               //  NULL: none given (only help and version need none)
    const char *password;           //  CTIM_PASSWORD, NULL with --password-file
    const char *password_file;
    const char *curve_server_key;
    const char *curve_cert;
    bool json;
    uint32_t timeout_ms;
    uint32_t heartbeat_ms;          //  0 = the library's default
    //  The command's operands; which are set depends on kind (ctim --help).
    const char *lines[CTIM_CMD_LINES_MAX];  //  monitor, status: all; others: lines[0]
    size_t line_count;
    const char *number;             //  call, transfer, conference, redirect: the number;
                                    //  forward: the destination (NULL = off); pickup: the
                                    //  ringing number (NULL = group pickup)
    const char *call_id;            //  NULL = chosen from the line's calls
    const char *digits;             //  dtmf
    bool consult;                   //  transfer --consult
    bool cdr;                       //  monitor --cdr
    ctim_forward_mode_t mode;       //  forward
    bool on;                        //  forward, dnd
} ctim_cmd_t;

//  Parse argv (argv[0] is the program's name).  Returns CTIM_EXIT_OK, or CTIM_EXIT_USAGE
//  with a one-line reason in err (without "ctim: ").
int ctim_cmd_parse(ctim_cmd_t *cmd, int argc, char *const argv[], const ctim_cmd_env_t *env,
                   char *err, size_t err_cap);

//  The command's name as typed ("monitor"), "help" or "version".
const char *ctim_cmd_name(ctim_cmd_kind_t kind);

//  The man-page-like usage text (ctim --help).
void ctim_cmd_help(FILE *out);

//  The exit code for a request's result.
ctim_exit_t ctim_cmd_exit_for(ctim_result_t result);

//  Read the password from the first line of path (without its line end) into buf.  Returns
//  0, or -errno (-EINVAL: empty or too long).
int ctim_cmd_read_password(const char *path, char *buf, size_t cap);

#endif
