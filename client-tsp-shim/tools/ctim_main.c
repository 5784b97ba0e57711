//  ctim_main: the ctim command-line tool -- parse, read the password, catch signals, run.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ctim_cluster.h"
#include "ctim_cmd.h"
#include "ctim_run.h"

int main(int argc, char *argv[])
{
    //  Events are read by people and scripts as they happen, even through a pipe.
    setvbuf(stdout, NULL, _IOLBF, 0);
    //  Operator commands on the nodes' HTTP endpoints, not the client API: no login.
    if (ctim_cluster_is_cluster(argc, argv))
        return ctim_cluster_main(argc, argv, stdout, stderr);
    ctim_cmd_env_t env = {
        .servers = getenv("CTIM_SERVERS"),
        .user = getenv("CTIM_USER"),
        .password = getenv("CTIM_PASSWORD"),
    };
    ctim_cmd_t cmd;
    char err[512];
    if (ctim_cmd_parse(&cmd, argc, argv, &env, err, sizeof err) != CTIM_EXIT_OK) {
        fprintf(stderr, "ctim: %s\nTry 'ctim --help'.\n", err);
        return CTIM_EXIT_USAGE;
    }
    if (cmd.kind == CTIM_CMD_HELP) {
        ctim_cmd_help(stdout);
        return CTIM_EXIT_OK;
    }
    if (cmd.kind == CTIM_CMD_VERSION) {
        printf("ctim %d.%d.%d (libctim.so.%d)\n", CTIM_VERSION_MAJOR, CTIM_VERSION_MINOR,
               CTIM_VERSION_PATCH, CTIM_VERSION_MAJOR);
        return CTIM_EXIT_OK;
    }
    char password[256] = "";
    if (cmd.password_file) {
        int rc = ctim_cmd_read_password(cmd.password_file, password, sizeof password);
        if (rc != 0) {
            fprintf(stderr, "ctim: --password-file %s: %s\n", cmd.password_file,
                    rc == -EINVAL ? "no password on its first line, or too long"
                                  : strerror(-rc));
            return CTIM_EXIT_USAGE;
        }
    } else if (cmd.password)
        snprintf(password, sizeof password, "%s", cmd.password);

    //  SIGINT and SIGTERM come through a signalfd polled beside libctim's fd, so that a
    //  monitor ends cleanly (lines closed, exit 0).  Blocked before libctim starts ZeroMQ's
    //  threads, which inherit the mask, so no thread takes them asynchronously.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int signal_fd = -1;
    if (sigprocmask(SIG_BLOCK, &mask, NULL) == 0)
        signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) {
        fprintf(stderr, "ctim: cannot catch signals: %s\n", strerror(errno));
        return CTIM_EXIT_FAILED;
    }
    int code = ctim_run(&cmd, cmd.password_file || cmd.password ? password : NULL, signal_fd,
                        stdout, stderr);
    explicit_bzero(password, sizeof password);
    close(signal_fd);
    if (fflush(stdout) != 0 && code == CTIM_EXIT_OK) {
        fprintf(stderr, "ctim: cannot write the output: %s\n", strerror(errno));
        code = CTIM_EXIT_FAILED;
    }
    return code;
}
