//  node_users: application users of the CSTA front end (node_users.h) — password hashes,
//  login checks with a per-address back-off, device permissions.
#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "node_users.h"

#define S_SCHEME "pbkdf2-sha256"
#define S_SALT_LEN 16
#define S_HASH_LEN 32
#define S_ITER_MIN 100000
#define S_ITER_MAX 10000000
#define S_PEERS_MAX 4096        //  addresses with recent failures we remember

//  Checked for unknown users so that they cost the same time as a wrong password.
static const char s_dummy_hash[] = S_SCHEME "$100000$AAAAAAAAAAAAAAAAAAAAAA==$"
                                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

typedef struct {
    int failures;               //  consecutive failures
    long long until_ms;         //  throttled before this time
    long long since_ms;         //  when the last failure was recorded
} s_peer_t;

typedef struct {
    char *name;
    char *hash;
    node_device_range_t *devices;
    size_t device_count;
    //  The password last verified against hash, as HMAC-SHA256 under the object's random
    //  key: a login with the same password is checked in microseconds instead of a
    //  PBKDF2 run of tens of milliseconds on the event loop (a failover brings every
    //  application of a node at once).  Wrong passwords still cost the full PBKDF2.
    unsigned char verified[S_HASH_LEN];
    bool has_verified;
} s_user_t;

struct node_users {
    s_user_t *users;
    size_t count;
    unsigned char cache_key[32];        //  random per object, never leaves it
    long hash_runs;
    zhashx_t *peers;            //  address -> s_peer_t (owned)
    int backoff_initial_ms;
    int backoff_max_ms;
};

const char *node_login_str(node_login_t result)
{
    switch (result) {
    case NODE_LOGIN_OK: return "ok";
    case NODE_LOGIN_UNKNOWN_USER: return "unknown-user";
    case NODE_LOGIN_WRONG_PASSWORD: return "wrong-password";
    case NODE_LOGIN_THROTTLED: return "throttled";
    case NODE_LOGIN_BUSY: return "busy";
    case NODE_LOGIN_PENDING: return "pending";
    }
    return "?";
}

//  --- Hashes ---------------------------------------------------------------------------------

//  Strict base64 (RFC 4648, padded) into out; returns the decoded length or -1.
static int s_b64_decode(const char *text, size_t len, unsigned char *out, size_t cap)
{
    if (len == 0 || len % 4 || len / 4 * 3 > cap)
        return -1;
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '+' || c == '/';
        if (c == '=' && i >= len - 2)
            pad++;
        else if (!b64 || pad)
            return -1;
    }
    //  EVP_DecodeBlock counts padding as zero bytes.
    int n = EVP_DecodeBlock(out, (const unsigned char *) text, (int) len);
    return n < 0 ? -1 : n - (int) pad;
}

//  Split "pbkdf2-sha256$ITER$SALT$HASH"; returns 0 or -EINVAL.
static int s_parse(const char *hash, long *iterations, unsigned char *salt, int *salt_len,
                   unsigned char *digest, int *digest_len)
{
    if (!hash || strncmp(hash, S_SCHEME "$", strlen(S_SCHEME) + 1) != 0)
        return -EINVAL;
    const char *p = hash + strlen(S_SCHEME) + 1;
    char *end;
    errno = 0;
    long iter = strtol(p, &end, 10);
    if (errno || end == p || *end != '$' || iter < S_ITER_MIN || iter > S_ITER_MAX)
        return -EINVAL;
    const char *salt_b64 = end + 1;
    const char *dollar = strchr(salt_b64, '$');
    if (!dollar)
        return -EINVAL;
    *salt_len = s_b64_decode(salt_b64, (size_t) (dollar - salt_b64), salt, 64);
    *digest_len = s_b64_decode(dollar + 1, strlen(dollar + 1), digest, 64);
    if (*salt_len < 8 || *digest_len != S_HASH_LEN)
        return -EINVAL;
    *iterations = iter;
    return 0;
}

bool node_users_hash_valid(const char *hash)
{
    long iter;
    unsigned char salt[64], digest[64];
    int salt_len, digest_len;
    return s_parse(hash, &iter, salt, &salt_len, digest, &digest_len) == 0;
}

char *node_users_hash_password(const char *password)
{
    unsigned char salt[S_SALT_LEN], digest[S_HASH_LEN];
    if (!password || RAND_bytes(salt, sizeof salt) != 1)
        return NULL;
    if (PKCS5_PBKDF2_HMAC(password, (int) strlen(password), salt, sizeof salt,
                          NODE_USERS_ITERATIONS, EVP_sha256(), sizeof digest, digest) != 1)
        return NULL;
    char salt_b64[64], digest_b64[64];
    EVP_EncodeBlock((unsigned char *) salt_b64, salt, sizeof salt);
    EVP_EncodeBlock((unsigned char *) digest_b64, digest, sizeof digest);
    OPENSSL_cleanse(digest, sizeof digest);
    char *out = malloc(256);
    if (out)
        snprintf(out, 256, S_SCHEME "$%d$%s$%s", NODE_USERS_ITERATIONS, salt_b64, digest_b64);
    return out;
}

bool node_users_verify_hash(const char *hash, const char *password)
{
    long iter;
    unsigned char salt[64], want[64], got[S_HASH_LEN];
    int salt_len, want_len;
    if (!password || s_parse(hash, &iter, salt, &salt_len, want, &want_len) != 0)
        return false;
    if (PKCS5_PBKDF2_HMAC(password, (int) strlen(password), salt, salt_len, (int) iter,
                          EVP_sha256(), sizeof got, got) != 1)
        return false;
    bool ok = CRYPTO_memcmp(got, want, sizeof got) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

//  --- Users and logins -----------------------------------------------------------------------

static void s_peer_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

node_users_t *node_users_new(const node_user_cfg_t *users, size_t count)
{
    node_users_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->backoff_initial_ms = 1000;
    self->backoff_max_ms = 60000;
    if (RAND_bytes(self->cache_key, sizeof self->cache_key) != 1)
        goto fail;
    self->peers = zhashx_new();
    self->users = calloc(count + 1, sizeof(s_user_t));
    if (!self->peers || !self->users)
        goto fail;
    zhashx_set_destructor(self->peers, s_peer_free);
    for (size_t i = 0; i < count; i++) {
        s_user_t *u = &self->users[i];
        self->count++;
        u->name = strdup(users[i].name);
        u->hash = strdup(users[i].password_hash);
        if (users[i].device_count) {
            u->devices = calloc(users[i].device_count, sizeof(node_device_range_t));
            if (!u->devices)
                goto fail;
            memcpy(u->devices, users[i].devices,
                   users[i].device_count * sizeof(node_device_range_t));
            u->device_count = users[i].device_count;
        }
        if (!u->name || !u->hash)
            goto fail;
    }
    return self;
fail:
    node_users_destroy(&self);
    return NULL;
}

void node_users_destroy(node_users_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_users_t *self = *self_p;
    for (size_t i = 0; self->users && i < self->count; i++) {
        free(self->users[i].name);
        free(self->users[i].hash);
        free(self->users[i].devices);
    }
    free(self->users);
    zhashx_destroy(&self->peers);
    OPENSSL_cleanse(self, sizeof *self);
    free(self);
    *self_p = NULL;
}

void node_users_set_backoff(node_users_t *self, int initial_ms, int max_ms)
{
    self->backoff_initial_ms = initial_ms > 0 ? initial_ms : 1;
    self->backoff_max_ms = max_ms >= self->backoff_initial_ms ? max_ms : self->backoff_initial_ms;
}

size_t node_users_count(const node_users_t *self)
{
    return self->count;
}

int node_users_find(const node_users_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->count; i++)
        if (strcmp(self->users[i].name, name) == 0)
            return (int) i;
    return -1;
}

const char *node_users_name(const node_users_t *self, int user_index)
{
    if (user_index < 0 || (size_t) user_index >= self->count)
        return "anonymous";
    return self->users[user_index].name;
}

//  An address whose back-off ended max_ms ago is forgotten: it starts afresh.
static bool s_peer_stale(const node_users_t *self, const s_peer_t *peer, long long now_ms)
{
    return now_ms >= peer->until_ms + self->backoff_max_ms;
}

//  Make room for one more address: drop the stale ones, else the one free soonest.
static void s_peers_trim(node_users_t *self, long long now_ms)
{
    zlistx_t *keys = zhashx_keys(self->peers);
    const char *soonest = NULL;
    long long soonest_until = 0;
    for (const char *key = zlistx_first(keys); key; key = zlistx_next(keys)) {
        s_peer_t *peer = zhashx_lookup(self->peers, key);
        if (s_peer_stale(self, peer, now_ms))
            zhashx_delete(self->peers, key);
        else if (!soonest || peer->until_ms < soonest_until) {
            soonest = key;
            soonest_until = peer->until_ms;
        }
    }
    if (zhashx_size(self->peers) >= S_PEERS_MAX && soonest)
        zhashx_delete(self->peers, soonest);
    zlistx_destroy(&keys);
}

//  The HMAC of password under the object's cache key (false when OpenSSL fails).
static bool s_mac(const node_users_t *self, const char *pw, unsigned char mac[S_HASH_LEN])
{
    unsigned int mac_len = 0;
    return HMAC(EVP_sha256(), self->cache_key, sizeof self->cache_key,
                (const unsigned char *) pw, strlen(pw), mac, &mac_len) != NULL &&
           mac_len == S_HASH_LEN;
}

//  A failed attempt from addr that began at begun_ms, known at now_ms: the back-off counts
//  from the attempt's start, as when the check ran inside the call, and doubles per failure
//  up to max_ms.
static void s_failed(node_users_t *self, const char *addr, long long begun_ms, long long now_ms)
{
    s_peer_t *peer = zhashx_lookup(self->peers, addr);
    if (peer && s_peer_stale(self, peer, now_ms))
        peer->failures = 0;
    if (!peer) {
        if (zhashx_size(self->peers) >= S_PEERS_MAX)
            s_peers_trim(self, now_ms);
        peer = calloc(1, sizeof *peer);
        if (!peer)
            return;
        zhashx_insert(self->peers, addr, peer);     //  the key is copied, the value owned
    }
    peer->failures++;
    long long backoff = self->backoff_initial_ms;
    for (int i = 1; i < peer->failures && backoff < self->backoff_max_ms; i++)
        backoff *= 2;
    if (backoff > self->backoff_max_ms)
        backoff = self->backoff_max_ms;
    peer->until_ms = begun_ms + backoff;
    peer->since_ms = now_ms;
}

node_login_t node_users_login_begin(node_users_t *self, const char *user, const char *password,
                                    const char *peer_addr, long long now_ms, int *user_index,
                                    node_login_check_t *check)
{
    const char *addr = peer_addr ? peer_addr : "";
    s_peer_t *peer = zhashx_lookup(self->peers, addr);
    if (peer && now_ms < peer->until_ms)
        return NODE_LOGIN_THROTTLED;
    int index = node_users_find(self, user);
    const char *pw = password ? password : "";
    s_user_t *u = index >= 0 ? &self->users[index] : NULL;
    unsigned char mac[S_HASH_LEN];
    bool cached = u && u->has_verified && s_mac(self, pw, mac) &&
                  CRYPTO_memcmp(u->verified, mac, sizeof mac) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    if (cached) {
        zhashx_delete(self->peers, addr);
        if (user_index)
            *user_index = index;
        return NODE_LOGIN_OK;
    }
    memset(check, 0, sizeof *check);
    snprintf(check->user, sizeof check->user, "%s", user ? user : "");
    const char *hash = u && strlen(u->hash) < sizeof check->hash ? u->hash : s_dummy_hash;
    snprintf(check->hash, sizeof check->hash, "%s", hash);
    check->begun_ms = now_ms;
    return NODE_LOGIN_PENDING;
}

node_login_t node_users_login_end(node_users_t *self, const node_login_check_t *check,
                                  bool verified, const char *password, const char *peer_addr,
                                  long long now_ms, int *user_index)
{
    const char *addr = peer_addr ? peer_addr : "";
    const char *pw = password ? password : "";
    self->hash_runs++;
    int index = node_users_find(self, check->user);
    s_user_t *u = index >= 0 ? &self->users[index] : NULL;
    if (u && strcmp(u->hash, check->hash) != 0) {
        //  Reloaded meanwhile with another hash for the user: that one decides (rare).
        verified = node_users_verify_hash(u->hash, pw);
        self->hash_runs++;
    }
    bool ok = u && verified;
    //  A failure from this address since the run began: judged as if it came after it.
    s_peer_t *peer = zhashx_lookup(self->peers, addr);
    if (peer && now_ms < peer->until_ms && peer->since_ms >= check->begun_ms)
        return NODE_LOGIN_THROTTLED;
    if (ok) {
        unsigned char mac[S_HASH_LEN];
        if (s_mac(self, pw, mac)) {
            memcpy(u->verified, mac, sizeof mac);
            u->has_verified = true;
        }
        OPENSSL_cleanse(mac, sizeof mac);
        zhashx_delete(self->peers, addr);
        if (user_index)
            *user_index = index;
        return NODE_LOGIN_OK;
    }
    s_failed(self, addr, check->begun_ms, now_ms);
    return u ? NODE_LOGIN_WRONG_PASSWORD : NODE_LOGIN_UNKNOWN_USER;
}

node_login_t node_users_login(node_users_t *self, const char *user, const char *password,
                              const char *peer_addr, long long now_ms, int *user_index)
{
    node_login_check_t check;
    node_login_t r = node_users_login_begin(self, user, password, peer_addr, now_ms, user_index,
                                            &check);
    if (r != NODE_LOGIN_PENDING)
        return r;
    bool verified = node_users_verify_hash(check.hash, password ? password : "");
    return node_users_login_end(self, &check, verified, password, peer_addr, now_ms,
                                user_index);
}

long node_users_hash_runs(const node_users_t *self)
{
    return self->hash_runs;
}

//  Digits of a device named by number (dialing, implicit or explicit), or NULL.
static const char *s_device_digits(const csta_device_t *device)
{
    switch (device->kind) {
    case CSTA_DEV_DIALING:
    case CSTA_DEV_IMPLICIT_PUBLIC:
    case CSTA_DEV_EXPLICIT_PUBLIC:
    case CSTA_DEV_IMPLICIT_PRIVATE:
    case CSTA_DEV_EXPLICIT_PRIVATE:
        return device->digits;
    default:
        return NULL;
    }
}

static bool s_all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool s_in_range(const node_device_range_t *range, const char *digits)
{
    if (strcmp(range->first, range->last) == 0)
        return strcmp(range->first, digits) == 0;
    //  Equal-length digit strings compare as numbers do: "105" lies in "101-199", "1050"
    //  does not.
    return strlen(digits) == strlen(range->first) && s_all_digits(digits) &&
           strcmp(digits, range->first) >= 0 && strcmp(digits, range->last) <= 0;
}

bool node_users_may_use(const node_users_t *self, int user_index, const csta_device_t *device)
{
    if (user_index == -1)
        return true;
    if (user_index < 0 || (size_t) user_index >= self->count || !device)
        return false;
    const s_user_t *u = &self->users[user_index];
    if (u->device_count == 0)
        return true;
    const char *digits = s_device_digits(device);
    if (!digits || !*digits)
        return false;
    for (size_t i = 0; i < u->device_count; i++)
        if (s_in_range(&u->devices[i], digits))
            return true;
    return false;
}
