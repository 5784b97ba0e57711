//  node_users: application users — salted password hashes (PBKDF2-HMAC-SHA256, OpenSSL),
//  login checks with a back-off after failures, and per-user device permissions (lists and
//  ranges, like Cisco's "devices associated with the application user").
#ifndef NODE_USERS_H
#define NODE_USERS_H

#include <stdbool.h>

#include "csta.h"
#include "node_config.h"

typedef struct node_users node_users_t;

//  Hash format: "pbkdf2-sha256$ITERATIONS$SALT_B64$HASH_B64" (ITERATIONS >= 100000,
//  at most 10 million; 16-byte random salt, 32-byte PBKDF2-HMAC-SHA256 output, base64
//  with padding).  New hashes use NODE_USERS_ITERATIONS: about 20 ms of CPU per check on
//  the loop (measured on the development machine), paid once per application login.
#define NODE_USERS_ITERATIONS 100000
//  Returns a new string (the caller frees it) or NULL.
char *node_users_hash_password(const char *password);
//  Constant-time check of password against hash; false for malformed hashes.
bool node_users_verify_hash(const char *hash, const char *password);
//  Whether hash has the format above (config validation; does not check a password).
bool node_users_hash_valid(const char *hash);

//  The users of the config (copied: cfg may go afterwards).
node_users_t *node_users_new(const node_user_cfg_t *users, size_t count);
void node_users_destroy(node_users_t **self_p);
//  Back-off after a failed login: initial_ms after the first failure, doubling per further
//  failure up to max_ms (defaults 1000 and 60000; csta_server.login_fail_delay_ms sets the
//  first).  An address that stays away for max_ms after its back-off starts afresh.
void node_users_set_backoff(node_users_t *self, int initial_ms, int max_ms);
size_t node_users_count(const node_users_t *self);
//  Index of the user called name, or -1.
int node_users_find(const node_users_t *self, const char *name);

typedef enum {
    NODE_LOGIN_OK,
    NODE_LOGIN_UNKNOWN_USER,        //  reported to the peer exactly like a wrong password
    NODE_LOGIN_WRONG_PASSWORD,
    NODE_LOGIN_THROTTLED,           //  too many failures from this address: try later
    NODE_LOGIN_BUSY,                //  the password checks' queue is full: try again soon
    NODE_LOGIN_PENDING,             //  node_users_login_begin: a PBKDF2 run must decide
} node_login_t;
const char *node_login_str(node_login_t result);

//  Check a login from `peer_addr` (an IP without port) at now_ms (monotonic).  After a
//  failure, further attempts from the same address within the back-off are THROTTLED
//  without checking the password; the back-off doubles per failure up to a minute.
//  On OK, *user_index is the user's index.
//  A user's password, once verified, is remembered as an HMAC under a random per-object key:
//  the same password again is checked without PBKDF2 (a failover brings a node every
//  application at once; each PBKDF2 run holds the event loop for tens of milliseconds).
//  Unknown users and other passwords still cost a full PBKDF2 run.
node_login_t node_users_login(node_users_t *self, const char *user, const char *password,
                              const char *peer_addr, long long now_ms, int *user_index);
//  A login split in two around its PBKDF2 run, so that the run can leave the loop
//  (node_verifier): begin answers what it can at once (THROTTLED; OK for a password
//  verified before) and says PENDING otherwise, with what the run needs in *check; the
//  front end runs node_users_verify_hash(check->hash, password) on the worker, then end
//  applies the result (the cache, the per-address back-off) and gives the answer.  end may
//  be given another node_users than begin (SIGHUP reloaded them meanwhile): it finds the
//  user again by name, and if the user's hash changed it checks the password itself.  A
//  failure from the address recorded while the run was out makes end say THROTTLED, as if
//  the attempt had come after it (so parallel guesses cannot outrun the back-off).
typedef struct {
    char user[NODE_NAME_MAX];
    char hash[256];                 //  the user's hash, or a dummy for unknown users
    long long begun_ms;
} node_login_check_t;
node_login_t node_users_login_begin(node_users_t *self, const char *user, const char *password,
                                    const char *peer_addr, long long now_ms, int *user_index,
                                    node_login_check_t *check);
node_login_t node_users_login_end(node_users_t *self, const node_login_check_t *check,
                                  bool verified, const char *password, const char *peer_addr,
                                  long long now_ms, int *user_index);
//  PBKDF2 runs made by logins so far (tests, diagnostics).
long node_users_hash_runs(const node_users_t *self);

//  Whether user `user_index` (-1: the anonymous user of an open TCP port: everything) may
//  use the device.  Devices by deviceNumber are allowed only to users with no device list.
//  A list entry "N" allows exactly the digits N; "FIRST-LAST" allows every digit string of
//  the same length between them (FIRST and LAST have equal length, digits only).
bool node_users_may_use(const node_users_t *self, int user_index, const csta_device_t *device);
const char *node_users_name(const node_users_t *self, int user_index);

#endif
