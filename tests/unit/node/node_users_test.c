//  node_users tests: hashes (also one made by another PBKDF2 implementation), logins with
//  the per-address back-off, device permissions.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node_users.h"

//  Python's hashlib.pbkdf2_hmac('sha256', b'crm-secret', salt, 100000), base64 encoded.
#define FOREIGN_HASH                                                                             \
    "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk="

static void hash_round_trips_with_fresh_salt(void **state)
{
    (void) state;
    char *a = node_users_hash_password("correct horse");
    char *b = node_users_hash_password("correct horse");
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(strncmp(a, "pbkdf2-sha256$100000$", 21), 0);
    assert_string_not_equal(a, b);          //  a random salt each time
    assert_true(node_users_hash_valid(a));
    assert_true(node_users_verify_hash(a, "correct horse"));
    assert_true(node_users_verify_hash(b, "correct horse"));
    assert_false(node_users_verify_hash(a, "correct horsE"));
    assert_false(node_users_verify_hash(a, ""));
    assert_false(node_users_verify_hash(a, NULL));
    free(a);
    free(b);
}

static void hash_from_another_implementation_verifies(void **state)
{
    (void) state;
    assert_true(node_users_hash_valid(FOREIGN_HASH));
    assert_true(node_users_verify_hash(FOREIGN_HASH, "crm-secret"));
    assert_false(node_users_verify_hash(FOREIGN_HASH, "crm-secreT"));
}

static void malformed_hashes_never_verify(void **state)
{
    (void) state;
    const char *bad[] = {
        "",
        "plain",
        "pbkdf2-sha1$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk=",
        "pbkdf2-sha256$1000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk=",
        "pbkdf2-sha256$x$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk=",
        "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==",
        "pbkdf2-sha256$100000$lUKW*9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk=",
        "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGP",
        "pbkdf2-sha256$100000$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCd=HCgjwsvQUhPtmqGPXLv3qYk",
        "pbkdf2-sha256$99999999999$lUKWO9Z1CJK4a06Eu1Rz9g==$UxKKxlcNgfEIq24uUnCdHCgjwsvQUhPtmqGPXLv3qYk=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (node_users_hash_valid(bad[i]) || node_users_verify_hash(bad[i], "crm-secret"))
            fail_msg("accepted: %s", bad[i]);
    }
    assert_false(node_users_verify_hash(NULL, "x"));
}

static node_users_t *s_users(void)
{
    static node_device_range_t ranges[] = {{"101", "199"}, {"300", "300"}, {"0042", "0042"}};
    node_user_cfg_t cfg[2];
    memset(cfg, 0, sizeof cfg);
    snprintf(cfg[0].name, sizeof cfg[0].name, "crm");
    snprintf(cfg[0].password_hash, sizeof cfg[0].password_hash, "%s", FOREIGN_HASH);
    cfg[0].devices = ranges;
    cfg[0].device_count = 3;
    snprintf(cfg[1].name, sizeof cfg[1].name, "admin");
    char *hash = node_users_hash_password("admin-pw");
    snprintf(cfg[1].password_hash, sizeof cfg[1].password_hash, "%s", hash);
    free(hash);
    node_users_t *users = node_users_new(cfg, 2);
    assert_non_null(users);
    return users;
}

static void login_backs_off_per_address_doubling_to_a_cap(void **state)
{
    (void) state;
    node_users_t *u = s_users();
    node_users_set_backoff(u, 1000, 4000);
    int index = -7;
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "10.0.0.1", 0, &index),
                     NODE_LOGIN_OK);
    assert_int_equal(index, 0);
    assert_string_equal(node_users_name(u, index), "crm");

    //  First failure: 1 s back-off, in which even the right password is refused unchecked.
    assert_int_equal(node_users_login(u, "crm", "wrong", "10.0.0.1", 1000, NULL),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "10.0.0.1", 1999, NULL),
                     NODE_LOGIN_THROTTLED);
    //  Another address is not affected.
    assert_int_equal(node_users_login(u, "admin", "admin-pw", "10.0.0.2", 1500, &index),
                     NODE_LOGIN_OK);
    assert_int_equal(index, 1);
    //  Second failure: 2 s; third: 4 s; fourth: still 4 s (the cap).
    assert_int_equal(node_users_login(u, "crm", "wrong", "10.0.0.1", 2000, NULL),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login(u, "crm", "wrong", "10.0.0.1", 3999, NULL),
                     NODE_LOGIN_THROTTLED);
    assert_int_equal(node_users_login(u, "nobody", "x", "10.0.0.1", 4000, NULL),
                     NODE_LOGIN_UNKNOWN_USER);
    assert_int_equal(node_users_login(u, "crm", "wrong", "10.0.0.1", 7999, NULL),
                     NODE_LOGIN_THROTTLED);
    assert_int_equal(node_users_login(u, "crm", "wrong", "10.0.0.1", 8000, NULL),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "10.0.0.1", 11999, NULL),
                     NODE_LOGIN_THROTTLED);
    //  A success clears the record.
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "10.0.0.1", 12000, NULL),
                     NODE_LOGIN_OK);
    assert_int_equal(node_users_login(u, "crm", "wrong", "10.0.0.1", 12001, NULL),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "10.0.0.1", 13001, NULL),
                     NODE_LOGIN_OK);
    node_users_destroy(&u);
    assert_null(u);
}

//  A verified password is remembered: the same login again needs no PBKDF2 run; wrong
//  passwords, other users and unknown users still get the full check.
static void verified_password_is_checked_without_pbkdf2(void **state)
{
    (void) state;
    node_users_t *u = s_users();
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "a", 0, NULL), NODE_LOGIN_OK);
    assert_int_equal(node_users_hash_runs(u), 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(node_users_login(u, "crm", "crm-secret", "a", 0, NULL),
                         NODE_LOGIN_OK);
    assert_int_equal(node_users_hash_runs(u), 1);
    //  (Each failure from its own address: an address's back-off would hide the check.)
    assert_int_equal(node_users_login(u, "crm", "crm-secreT", "b", 0, NULL),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login(u, "admin", "crm-secret", "c", 0, NULL),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login(u, "nobody", "crm-secret", "d", 0, NULL),
                     NODE_LOGIN_UNKNOWN_USER);
    assert_int_equal(node_users_hash_runs(u), 4);
    //  The remembered password is still the right one after a wrong try.
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "a", 0, NULL), NODE_LOGIN_OK);
    assert_int_equal(node_users_hash_runs(u), 4);
    //  A new users object (a reload) remembers nothing.
    node_users_destroy(&u);
    u = s_users();
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "a", 0, NULL), NODE_LOGIN_OK);
    assert_int_equal(node_users_hash_runs(u), 1);
    node_users_destroy(&u);
}


//  The login split around its PBKDF2 run (node_verifier runs it off the loop): begin says
//  PENDING with the user's hash, end decides and fills the cache; unknown users get the
//  dummy hash and cost the same.
static void login_in_two_halves_around_the_run(void **state)
{
    (void) state;
    node_users_t *u = s_users();
    node_login_check_t check;
    int index = -1;
    assert_int_equal(node_users_login_begin(u, "crm", "crm-secret", "a", 0, &index, &check),
                     NODE_LOGIN_PENDING);
    assert_string_equal(check.hash, FOREIGN_HASH);
    bool verified = node_users_verify_hash(check.hash, "crm-secret");
    assert_true(verified);
    assert_int_equal(node_users_login_end(u, &check, verified, "crm-secret", "a", 30, &index),
                     NODE_LOGIN_OK);
    assert_int_equal(index, 0);
    assert_int_equal(node_users_hash_runs(u), 1);
    //  Remembered: answered by begin.
    index = -1;
    assert_int_equal(node_users_login_begin(u, "crm", "crm-secret", "a", 40, &index, &check),
                     NODE_LOGIN_OK);
    assert_int_equal(index, 0);
    assert_int_equal(node_users_login_begin(u, "nobody", "x", "b", 40, &index, &check),
                     NODE_LOGIN_PENDING);
    assert_true(node_users_hash_valid(check.hash));
    assert_int_equal(node_users_login_end(u, &check, false, "x", "b", 70, &index),
                     NODE_LOGIN_UNKNOWN_USER);
    node_users_destroy(&u);
}

//  Two attempts from one address in flight at once: the wrong one's failure throttles the
//  other when it ends (as if it had come after it), so parallel guesses do not outrun the
//  back-off; the back-off counts from the failed attempt's start.
static void a_failure_while_a_check_is_out_throttles_it(void **state)
{
    (void) state;
    node_users_t *u = s_users();
    node_users_set_backoff(u, 1000, 60000);
    node_login_check_t wrong, right;
    assert_int_equal(node_users_login_begin(u, "crm", "guess", "10.0.0.5", 0, NULL, &wrong),
                     NODE_LOGIN_PENDING);
    assert_int_equal(node_users_login_begin(u, "crm", "crm-secret", "10.0.0.5", 1, NULL, &right),
                     NODE_LOGIN_PENDING);
    assert_int_equal(node_users_login_end(u, &wrong, false, "guess", "10.0.0.5", 30, NULL),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login_end(u, &right, true, "crm-secret", "10.0.0.5", 31, NULL),
                     NODE_LOGIN_THROTTLED);
    node_login_t r = node_users_login_begin(u, "crm", "crm-secret", "10.0.0.5", 999, NULL, &right);
    assert_int_equal(r, NODE_LOGIN_THROTTLED);
    r = node_users_login_begin(u, "crm", "crm-secret", "10.0.0.5", 1000, NULL, &right);
    assert_int_equal(r, NODE_LOGIN_PENDING);    //  1000 ms after the failed attempt began
    //  Another address is not concerned.
    assert_int_equal(node_users_login_begin(u, "crm", "crm-secret", "10.0.0.6", 2, NULL, &right),
                     NODE_LOGIN_PENDING);
    assert_int_equal(node_users_login_end(u, &right, true, "crm-secret", "10.0.0.6", 32, NULL),
                     NODE_LOGIN_OK);
    node_users_destroy(&u);
}

//  SIGHUP replaced the users while a check was out: end finds the user again by name in
//  the new set, and when the user's hash changed it checks the password against the new
//  one itself.
static void end_after_a_reload_uses_the_new_users(void **state)
{
    (void) state;
    node_users_t *old = s_users();
    node_login_check_t check;
    assert_int_equal(node_users_login_begin(old, "crm", "crm-secret", "a", 0, NULL, &check),
                     NODE_LOGIN_PENDING);
    node_users_destroy(&old);
    char *other = node_users_hash_password("new-secret");
    node_user_cfg_t cfg[1];
    memset(cfg, 0, sizeof cfg);
    snprintf(cfg[0].name, sizeof cfg[0].name, "crm");
    snprintf(cfg[0].password_hash, sizeof cfg[0].password_hash, "%s", other);
    node_users_t *fresh = node_users_new(cfg, 1);
    int index = -1;
    assert_int_equal(node_users_login_end(fresh, &check, true, "crm-secret", "a", 30, &index),
                     NODE_LOGIN_WRONG_PASSWORD);
    assert_int_equal(node_users_login_begin(fresh, "crm", "new-secret", "b", 40, &index, &check),
                     NODE_LOGIN_PENDING);
    assert_int_equal(node_users_login_end(fresh, &check, true, "new-secret", "b", 70, &index),
                     NODE_LOGIN_OK);
    assert_int_equal(index, 0);
    node_users_destroy(&fresh);
    free(other);
}

static void a_quiet_address_starts_afresh(void **state)
{
    (void) state;
    node_users_t *u = s_users();
    node_users_set_backoff(u, 1000, 4000);
    for (long long t = 0; t < 3; t++)
        node_users_login(u, "crm", "wrong", "10.0.0.9", t * 100000, NULL);
    //  Each failure came long after the last back-off ended: each is a first failure.
    assert_int_equal(node_users_login(u, "crm", "crm-secret", "10.0.0.9", 200000 + 1000, NULL),
                     NODE_LOGIN_OK);
    node_users_destroy(&u);
}

static void login_strings(void **state)
{
    (void) state;
    assert_string_equal(node_login_str(NODE_LOGIN_OK), "ok");
    assert_string_equal(node_login_str(NODE_LOGIN_THROTTLED), "throttled");
    assert_string_equal(node_login_str(NODE_LOGIN_UNKNOWN_USER), "unknown-user");
    assert_string_equal(node_login_str(NODE_LOGIN_WRONG_PASSWORD), "wrong-password");
}

static csta_device_t s_dev(csta_dev_kind_t kind, const char *digits)
{
    csta_device_t d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    snprintf(d.digits, sizeof d.digits, "%s", digits);
    return d;
}

static void devices_by_range_single_number_and_kind(void **state)
{
    (void) state;
    node_users_t *u = s_users();
    assert_int_equal(node_users_count(u), 2);
    assert_int_equal(node_users_find(u, "admin"), 1);
    assert_int_equal(node_users_find(u, "x"), -1);
    struct {
        const char *digits;
        bool allowed;
    } cases[] = {
        {"101", true},  {"150", true},  {"199", true},   {"100", false}, {"200", false},
        {"1500", false}, {"15", false}, {"1a1", false},  {"300", true},  {"301", false},
        {"0042", true}, {"42", false},  {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csta_device_t d = s_dev(CSTA_DEV_DIALING, cases[i].digits);
        if (node_users_may_use(u, 0, &d) != cases[i].allowed)
            fail_msg("device '%s' should be %s", cases[i].digits,
                     cases[i].allowed ? "allowed" : "refused");
    }
    csta_device_t implicit = s_dev(CSTA_DEV_IMPLICIT_PUBLIC, "120");
    assert_true(node_users_may_use(u, 0, &implicit));
    //  A deviceNumber cannot be checked against number ranges: only users without a list.
    csta_device_t number = s_dev(CSTA_DEV_NUMBER, "");
    number.number = 0x01110000;
    assert_false(node_users_may_use(u, 0, &number));
    assert_true(node_users_may_use(u, 1, &number));
    //  No list: everything; the anonymous user of an open port: everything.
    csta_device_t far = s_dev(CSTA_DEV_DIALING, "999");
    assert_true(node_users_may_use(u, 1, &far));
    assert_true(node_users_may_use(u, -1, &far));
    assert_false(node_users_may_use(u, 2, &far));
    assert_false(node_users_may_use(u, -2, &far));
    assert_string_equal(node_users_name(u, -1), "anonymous");
    node_users_destroy(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_round_trips_with_fresh_salt),
        cmocka_unit_test(hash_from_another_implementation_verifies),
        cmocka_unit_test(malformed_hashes_never_verify),
        cmocka_unit_test(login_backs_off_per_address_doubling_to_a_cap),
        cmocka_unit_test(a_quiet_address_starts_afresh),
        cmocka_unit_test(login_in_two_halves_around_the_run),
        cmocka_unit_test(a_failure_while_a_check_is_out_throttles_it),
        cmocka_unit_test(end_after_a_reload_uses_the_new_users),
        cmocka_unit_test(verified_password_is_checked_without_pbkdf2),
        cmocka_unit_test(login_strings),
        cmocka_unit_test(devices_by_range_single_number_and_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
