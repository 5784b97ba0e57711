//  ha_epochs: epochs on disk, written atomically (ha_epochs.h).
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ha_epochs.h"

#define S_PATH_MAX 512

int ha_epochs_prepare(const char *dir)
{
    if (mkdir(dir, 0750) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(dir, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int s_path(char *out, size_t cap, const char *dir, const char *pbx, const char *suffix)
{
    int n = snprintf(out, cap, "%s/epoch-%s%s", dir, pbx, suffix);
    return n < 0 || (size_t) n >= cap ? -ENAMETOOLONG : 0;
}

int ha_epochs_load(const char *dir, const char *pbx, uint64_t *epoch)
{
    *epoch = 0;
    char path[S_PATH_MAX];
    int rc = s_path(path, sizeof path, dir, pbx, "");
    if (rc)
        return rc;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    char text[32];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (n == 0 || end == text || errno == ERANGE || (*end != '\n' && *end != '\0') ||
        text[0] == '-')
        return -EBADMSG;
    *epoch = (uint64_t) v;
    return 0;
}

//  Write all of text to fd.
static int s_write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        text += w;
        len -= (size_t) w;
    }
    return 0;
}

int ha_epochs_store(const char *dir, const char *pbx, uint64_t epoch)
{
    char path[S_PATH_MAX], tmp[S_PATH_MAX];
    int rc = s_path(path, sizeof path, dir, pbx, "");
    if (rc == 0)
        rc = s_path(tmp, sizeof tmp, dir, pbx, ".tmp");
    if (rc)
        return rc;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    char text[32];
    int len = snprintf(text, sizeof text, "%" PRIu64 "\n", epoch);
    rc = s_write_all(fd, text, (size_t) len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    //  The rename is durable only once the folder is.
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    if (fsync(dfd) != 0)
        rc = -errno;
    close(dfd);
    return rc;
}
