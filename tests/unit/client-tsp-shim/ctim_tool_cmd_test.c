//  ctim_tool_cmd: the ctim tool's command line -- every command, the options and their
//  defaults, every usage error (exit 2 with a message), the exit codes of results, the
//  password file and the help text.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctim_cmd.h"

#define ARGS_MAX 16

static const ctim_cmd_env_t s_env = {.user = "crm"};

//  Parse "ctim" + the NULL-terminated words with env; err for the message.
static int s_parse_env(ctim_cmd_t *cmd, const ctim_cmd_env_t *env, char *err, size_t cap,
                       va_list ap)
{
    char *argv[ARGS_MAX + 1] = {"ctim"};
    int argc = 1;
    const char *w;
    while ((w = va_arg(ap, const char *)) != NULL) {
        assert_true(argc < ARGS_MAX);
        argv[argc++] = (char *)w;
    }
    argv[argc] = NULL;
    return ctim_cmd_parse(cmd, argc, argv, env, err, cap);
}

//  Parse with the default env (user crm); must succeed.
static ctim_cmd_t s_ok(const char *first, ...)
{
    ctim_cmd_t cmd;
    char err[256];
    va_list ap;
    va_start(ap, first);
    char *argv[ARGS_MAX + 1] = {"ctim", (char *)first};
    int argc = 2;
    const char *w;
    while ((w = va_arg(ap, const char *)) != NULL) {
        assert_true(argc < ARGS_MAX);
        argv[argc++] = (char *)w;
    }
    va_end(ap);
    int rc = ctim_cmd_parse(&cmd, argc, argv, &s_env, err, sizeof err);
    if (rc != CTIM_EXIT_OK)
        fail_msg("'%s ...' refused: %s", first, err);
    return cmd;
}

//  Parse with env; must fail with exit 2 and a message containing want.
static void s_usage_env(const ctim_cmd_env_t *env, const char *want, ...)
{
    ctim_cmd_t cmd;
    char err[256] = "";
    va_list ap;
    va_start(ap, want);
    int rc = s_parse_env(&cmd, env, err, sizeof err, ap);
    va_end(ap);
    if (rc != CTIM_EXIT_USAGE)
        fail_msg("accepted, '%s' expected", want);
    if (!strstr(err, want))
        fail_msg("message '%s' lacks '%s'", err, want);
}

#define s_usage(want, ...) s_usage_env(&s_env, want, __VA_ARGS__, NULL)

static void parse_every_command(void **state)
{
    (void)state;
    ctim_cmd_t c = s_ok("monitor", "101", "102", NULL);
    assert_int_equal(c.kind, CTIM_CMD_MONITOR);
    assert_int_equal(c.line_count, 2);
    assert_string_equal(c.lines[0], "101");
    assert_string_equal(c.lines[1], "102");
    assert_false(c.cdr);

    c = s_ok("monitor", "--cdr", NULL);
    assert_true(c.cdr);
    assert_int_equal(c.line_count, 0);

    c = s_ok("call", "101", "0301234567", NULL);
    assert_int_equal(c.kind, CTIM_CMD_CALL);
    assert_string_equal(c.lines[0], "101");
    assert_string_equal(c.number, "0301234567");
    assert_null(c.call_id);

    const struct {
        const char *name;
        ctim_cmd_kind_t kind;
    } one_call[] = {{"answer", CTIM_CMD_ANSWER},
                    {"hangup", CTIM_CMD_HANGUP},
                    {"hold", CTIM_CMD_HOLD},
                    {"retrieve", CTIM_CMD_RETRIEVE}};
    for (size_t i = 0; i < sizeof one_call / sizeof *one_call; i++) {
        c = s_ok(one_call[i].name, "102", NULL);
        assert_int_equal(c.kind, one_call[i].kind);
        assert_string_equal(c.lines[0], "102");
        assert_null(c.call_id);
        c = s_ok(one_call[i].name, "102", "00a1", NULL);
        assert_string_equal(c.call_id, "00a1");
        assert_string_equal(ctim_cmd_name(c.kind), one_call[i].name);
    }

    c = s_ok("transfer", "101", "103", NULL);
    assert_int_equal(c.kind, CTIM_CMD_TRANSFER);
    assert_string_equal(c.number, "103");
    assert_false(c.consult);
    assert_null(c.call_id);
    c = s_ok("transfer", "101", "103", "--consult", NULL);
    assert_true(c.consult);
    c = s_ok("transfer", "--consult", "101", "103", "0007", NULL);
    assert_true(c.consult);
    assert_string_equal(c.call_id, "0007");

    c = s_ok("conference", "101", "104", NULL);
    assert_int_equal(c.kind, CTIM_CMD_CONFERENCE);
    assert_string_equal(c.number, "104");
    c = s_ok("redirect", "102", "105", "0009", NULL);
    assert_int_equal(c.kind, CTIM_CMD_REDIRECT);
    assert_string_equal(c.number, "105");
    assert_string_equal(c.call_id, "0009");

    c = s_ok("pickup", "103", NULL);
    assert_int_equal(c.kind, CTIM_CMD_PICKUP);
    assert_null(c.number);
    c = s_ok("pickup", "103", "102", NULL);
    assert_string_equal(c.number, "102");

    c = s_ok("dtmf", "101", "12*#ABCD", NULL);
    assert_int_equal(c.kind, CTIM_CMD_DTMF);
    assert_string_equal(c.digits, "12*#ABCD");
    assert_null(c.call_id);

    c = s_ok("dnd", "101", "on", NULL);
    assert_int_equal(c.kind, CTIM_CMD_DND);
    assert_true(c.on);
    c = s_ok("dnd", "101", "off", NULL);
    assert_false(c.on);

    c = s_ok("lines", NULL);
    assert_int_equal(c.kind, CTIM_CMD_LINES);
    assert_int_equal(c.line_count, 0);

    c = s_ok("status", NULL);
    assert_int_equal(c.kind, CTIM_CMD_STATUS);
    assert_int_equal(c.line_count, 0);
    c = s_ok("status", "101", "102", "103", NULL);
    assert_int_equal(c.line_count, 3);
    assert_string_equal(c.lines[2], "103");
}

//  forward LINE MODE NUMBER|off in all nine modes, with the trigger alone meaning "-all".
static void parse_forward_modes(void **state)
{
    (void)state;
    const struct {
        const char *word;
        ctim_forward_mode_t mode;
    } modes[] = {
        {"immediate", CTIM_FWD_IMMEDIATE_ALL},
        {"immediate-all", CTIM_FWD_IMMEDIATE_ALL},
        {"immediate-internal", CTIM_FWD_IMMEDIATE_INTERNAL},
        {"immediate-external", CTIM_FWD_IMMEDIATE_EXTERNAL},
        {"busy", CTIM_FWD_BUSY_ALL},
        {"busy-all", CTIM_FWD_BUSY_ALL},
        {"busy-internal", CTIM_FWD_BUSY_INTERNAL},
        {"busy-external", CTIM_FWD_BUSY_EXTERNAL},
        {"no-answer", CTIM_FWD_NO_ANSWER_ALL},
        {"no-answer-all", CTIM_FWD_NO_ANSWER_ALL},
        {"no-answer-internal", CTIM_FWD_NO_ANSWER_INTERNAL},
        {"no-answer-external", CTIM_FWD_NO_ANSWER_EXTERNAL},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        ctim_cmd_t c = s_ok("forward", "101", modes[i].word, "102", NULL);
        assert_int_equal(c.kind, CTIM_CMD_FORWARD);
        assert_int_equal(c.mode, modes[i].mode);
        assert_true(c.on);
        assert_string_equal(c.number, "102");
        c = s_ok("forward", "101", modes[i].word, "off", NULL);
        assert_int_equal(c.mode, modes[i].mode);
        assert_false(c.on);
        assert_null(c.number);
    }
}

static void parse_options_and_defaults(void **state)
{
    (void)state;
    ctim_cmd_t c = s_ok("lines", NULL);
    assert_string_equal(c.servers, CTIM_CMD_SERVERS);
    assert_string_equal(c.user, "crm");
    assert_null(c.password);
    assert_null(c.password_file);
    assert_false(c.json);
    assert_int_equal(c.timeout_ms, 5000);
    assert_int_equal(c.heartbeat_ms, 0);

    //  Options before, between and after the operands; both --name value and --name=value.
    c = s_ok("--servers", "tcp://a:2748,tcp://b:2748", "call", "101", "--json", "102",
             "--timeout=750", "-u", "ops", "--heartbeat", "300", NULL);
    assert_string_equal(c.servers, "tcp://a:2748,tcp://b:2748");
    assert_string_equal(c.user, "ops");
    assert_true(c.json);
    assert_int_equal(c.timeout_ms, 750);
    assert_int_equal(c.heartbeat_ms, 300);
    assert_string_equal(c.number, "102");
    c = s_ok("-s", "tcp://c:1", "-j", "-t", "1", "lines", NULL);
    assert_string_equal(c.servers, "tcp://c:1");
    assert_true(c.json);
    assert_int_equal(c.timeout_ms, 1);

    const char *key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    c = s_ok("--curve-server-key", key, "--curve-cert", "/etc/ctim/app.cert", "lines", NULL);
    assert_string_equal(c.curve_server_key, key);
    assert_string_equal(c.curve_cert, "/etc/ctim/app.cert");

    //  The environment: servers, user and password; options win over it.
    ctim_cmd_env_t env = {.servers = "tcp://env:2748", .user = "envuser", .password = "pw"};
    char *argv[] = {"ctim", "lines", NULL};
    char err[256];
    assert_int_equal(ctim_cmd_parse(&c, 2, argv, &env, err, sizeof err), CTIM_EXIT_OK);
    assert_string_equal(c.servers, "tcp://env:2748");
    assert_string_equal(c.user, "envuser");
    assert_string_equal(c.password, "pw");
    char *argv2[] = {"ctim", "--password-file", "/run/pw", "-u", "x", "-s", "tcp://o:1",
                     "lines", NULL};
    assert_int_equal(ctim_cmd_parse(&c, 8, argv2, &env, err, sizeof err), CTIM_EXIT_OK);
    assert_string_equal(c.password_file, "/run/pw");
    assert_null(c.password);    //  the file wins over CTIM_PASSWORD
    assert_string_equal(c.user, "x");
    assert_string_equal(c.servers, "tcp://o:1");

    //  "--" ends the options: a line may then start with '-'.
    c = s_ok("monitor", "--", "-101", NULL);
    assert_string_equal(c.lines[0], "-101");
}

static void parse_help_and_version_need_no_user(void **state)
{
    (void)state;
    ctim_cmd_env_t none = {0};
    ctim_cmd_t c;
    char err[256];
    char *a[] = {"ctim", "--help", NULL};
    assert_int_equal(ctim_cmd_parse(&c, 2, a, &none, err, sizeof err), CTIM_EXIT_OK);
    assert_int_equal(c.kind, CTIM_CMD_HELP);
    char *b[] = {"ctim", "call", "-h", NULL};
    assert_int_equal(ctim_cmd_parse(&c, 3, b, &none, err, sizeof err), CTIM_EXIT_OK);
    assert_int_equal(c.kind, CTIM_CMD_HELP);
    char *d[] = {"ctim", "help", NULL};
    assert_int_equal(ctim_cmd_parse(&c, 2, d, &none, err, sizeof err), CTIM_EXIT_OK);
    assert_int_equal(c.kind, CTIM_CMD_HELP);
    char *v[] = {"ctim", "--version", NULL};
    assert_int_equal(ctim_cmd_parse(&c, 2, v, NULL, err, sizeof err), CTIM_EXIT_OK);
    assert_int_equal(c.kind, CTIM_CMD_VERSION);
}

//  Every way to get the command line wrong is exit 2 with a message that says what.
static void parse_usage_errors(void **state)
{
    (void)state;
    s_usage("no command", "--json");
    s_usage("unknown command 'dial'", "dial", "101");
    s_usage("unknown option '--verbose'", "--verbose", "lines");
    s_usage("unknown option '-x'", "-x", "lines");
    s_usage("--timeout needs a value", "lines", "--timeout");
    s_usage("--timeout: '0'", "--timeout", "0", "lines");
    s_usage("--timeout: 'soon'", "--timeout", "soon", "lines");
    s_usage("--timeout: '3600001'", "--timeout=3600001", "lines");
    s_usage("--timeout: '-5'", "--timeout=-5", "lines");
    s_usage("--heartbeat: '10'", "--heartbeat", "10", "lines");
    s_usage("--json takes no value", "--json=yes", "lines");
    s_usage("--servers: empty value", "--servers=", "lines");
    s_usage("--curve-server-key: not a CURVE public key", "--curve-server-key", "short",
            "lines");
    s_usage("--curve-server-key: not a CURVE public key", "--curve-server-key",
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~", "lines");     //  '~' is not Z85

    s_usage("monitor: missing arguments (ctim monitor [--cdr] LINE...)", "monitor");
    s_usage("monitor: line 101 given twice", "monitor", "101", "101");
    s_usage("call: missing arguments (ctim call LINE NUMBER)", "call", "101");
    s_usage("call: too many arguments", "call", "101", "102", "103");
    s_usage("answer: missing arguments", "answer");
    s_usage("answer: too many arguments", "answer", "102", "1", "2");
    s_usage("hangup: missing arguments", "hangup");
    s_usage("hold: too many arguments", "hold", "1", "2", "3");
    s_usage("retrieve: missing arguments", "retrieve");
    s_usage("transfer: missing arguments", "transfer", "101");
    s_usage("conference: missing arguments", "conference", "101");
    s_usage("redirect: too many arguments", "redirect", "1", "2", "3", "4");
    s_usage("pickup: too many arguments", "pickup", "1", "2", "3");
    s_usage("dtmf: missing arguments", "dtmf", "101");
    s_usage("dtmf: 'x9' is not DTMF digits", "dtmf", "101", "x9");
    s_usage("forward: missing arguments", "forward", "101", "busy");
    s_usage("forward: unknown mode 'sometimes'", "forward", "101", "sometimes", "102");
    s_usage("forward: unknown mode 'busy-'", "forward", "101", "busy-", "102");
    s_usage("dnd: 'maybe' is neither on nor off", "dnd", "101", "maybe");
    s_usage("dnd: missing arguments", "dnd", "101");
    s_usage("lines: too many arguments", "lines", "101");
    s_usage("call: --consult belongs to transfer", "call", "101", "102", "--consult");
    s_usage("hangup: --cdr belongs to monitor", "hangup", "101", "--cdr");
    s_usage("call: '1 01' is not a line number", "call", "1 01", "102");
    s_usage("call: '' is not a line number", "call", "", "102");
    s_usage("call: 'a\tb' is not a number", "call", "101", "a\tb");
    s_usage("hangup: '0123456789012345678901234567890123' is not a call id", "hangup", "101",
            "0123456789012345678901234567890123");
    s_usage("is not a line number", "call",
            "01234567890123456789012345678901234567890123456789012345678901234", "102");

    ctim_cmd_env_t none = {0};
    s_usage_env(&none, "no user: give --user or set CTIM_USER", "lines", NULL);
    ctim_cmd_env_t empty = {.user = ""};
    s_usage_env(&empty, "no user", "lines", NULL);
}

static void exit_codes_of_results(void **state)
{
    (void)state;
    assert_int_equal(ctim_cmd_exit_for(CTIM_RESULT_OK), 0);
    assert_int_equal(ctim_cmd_exit_for(CTIM_RESULT_TIMEOUT), 4);
    assert_int_equal(ctim_cmd_exit_for(CTIM_RESULT_LOGIN_FAILED), 3);
    assert_int_equal(ctim_cmd_exit_for(CTIM_RESULT_UNSUPPORTED_VERSION), 3);
    assert_int_equal(ctim_cmd_exit_for(CTIM_RESULT_NOT_LOGGED_IN), 3);
    const ctim_result_t failed[] = {
        CTIM_RESULT_ERROR,          CTIM_RESULT_BAD_REQUEST,   CTIM_RESULT_ACCESS_DENIED,
        CTIM_RESULT_LINE_NOT_OPEN,  CTIM_RESULT_INVALID_LINE,  CTIM_RESULT_INVALID_CALL,
        CTIM_RESULT_INVALID_DESTINATION, CTIM_RESULT_INVALID_STATE, CTIM_RESULT_BUSY,
        CTIM_RESULT_RESOURCE_UNAVAILABLE, CTIM_RESULT_NOT_SUPPORTED, CTIM_RESULT_PBX_TIMEOUT,
        CTIM_RESULT_LINK_DOWN,      CTIM_RESULT_INTERRUPTED,   CTIM_RESULT_SERVER_LOST,
    };
    for (size_t i = 0; i < sizeof failed / sizeof *failed; i++)
        assert_int_equal(ctim_cmd_exit_for(failed[i]), 1);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void read_password_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ctim-tool-pw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char pw[256];
    s_write(path, "crm-secret\nsecond line\n");
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), 0);
    assert_string_equal(pw, "crm-secret");
    s_write(path, "no newline");
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), 0);
    assert_string_equal(pw, "no newline");
    s_write(path, "dos\r\n");
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), 0);
    assert_string_equal(pw, "dos");
    s_write(path, "");
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), -EINVAL);
    s_write(path, "\nafter an empty line\n");
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), -EINVAL);
    char longer[200];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    s_write(path, longer);      //  199 characters: longer than the protocol's 128
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), -EINVAL);
    longer[128] = '\0';         //  exactly 128: fine
    s_write(path, longer);
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), 0);
    assert_int_equal(strlen(pw), 128);
    unlink(path);
    assert_int_equal(ctim_cmd_read_password(path, pw, sizeof pw), -ENOENT);
}

//  The help text names every command, every option and every exit code.
static void help_text_is_complete(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    ctim_cmd_help(f);
    fclose(f);
    const char *want[] = {
        "monitor [--cdr] LINE...", "call LINE NUMBER", "answer LINE [CALLID]",
        "hangup LINE [CALLID]", "hold LINE [CALLID]", "retrieve LINE [CALLID]",
        "transfer LINE NUMBER [CALLID] [--consult]", "conference LINE NUMBER",
        "redirect LINE NUMBER", "pickup LINE [RINGING_NUMBER]", "dtmf LINE DIGITS",
        "forward LINE MODE NUMBER|off", "dnd LINE on|off", "lines", "status [LINE...]",
        "--servers", "CTIM_SERVERS", "--user", "CTIM_USER", "--password-file",
        "CTIM_PASSWORD", "--json", "--timeout", "--heartbeat", "--curve-server-key",
        "--curve-cert", "--help", "--version", "EXIT STATUS", "    0  ", "    1  ", "    2  ",
        "    3  ", "    4  ",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i]))
            fail_msg("help lacks '%s'", want[i]);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_every_command),
        cmocka_unit_test(parse_forward_modes),
        cmocka_unit_test(parse_options_and_defaults),
        cmocka_unit_test(parse_help_and_version_need_no_user),
        cmocka_unit_test(parse_usage_errors),
        cmocka_unit_test(exit_codes_of_results),
        cmocka_unit_test(read_password_file),
        cmocka_unit_test(help_text_is_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
