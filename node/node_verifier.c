//  node_verifier: PBKDF2 password checks on a zactor (see the header).  The loop keeps one
//  slot per check in flight (id, callback); the worker only ever sees the messages: CHECK
//  id hash password, CANCEL id, $TERM in; DONE id verified out.
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "node_users.h"
#include "node_verifier.h"

#define S_PIPE_HWM 1000             //  czmq's pipe high-water mark: the bound stays below
#define S_TEXT_MAX 256              //  a hash or a password (config: 256, CSTA: 128)

typedef struct {
    int64_t id;                     //  0: free
    int64_t job;                    //  the CHECK whose DONE answers it (its own id if it sent it)
    node_verifier_fn *fn;           //  NULL: cancelled (the worker may still owe the DONE)
    void *arg;
    bool job_cancelled;             //  its job was cancelled at the worker: nobody joins it
    //  SHA-256 of hash NUL password: identical checks join one run without the loop keeping
    //  the password.
    uint8_t digest[SHA256_DIGEST_LENGTH];
} s_slot_t;

struct node_verifier {
    zloop_t *loop;
    zactor_t *actor;
    s_slot_t *slots;                //  checks not answered yet; grows (joined checks are free)
    size_t cap, used;
    size_t jobs, jobs_max;          //  CHECKs at the worker, and their bound
    int64_t next_id;
};

//  --- The worker thread ----------------------------------------------------------------------

//  Pop a frame as a NUL-terminated string into out (cap bytes); the frame is wiped and freed.
static bool s_pop_text(zmsg_t *msg, char *out, size_t cap)
{
    zframe_t *f = zmsg_pop(msg);
    size_t n = f ? zframe_size(f) : 0;
    bool ok = f && n < cap;
    if (ok) {
        memcpy(out, zframe_data(f), n);
        out[n] = '\0';
    }
    if (f)
        OPENSSL_cleanse(zframe_data(f), zframe_size(f));
    zframe_destroy(&f);
    return ok;
}

static int64_t s_msg_id(zmsg_t *msg)
{
    int64_t id = 0;
    zframe_t *f = zmsg_next(msg);           //  after the command
    if (f && zframe_size(f) == sizeof id)
        memcpy(&id, zframe_data(f), sizeof id);
    return id;
}

static void s_send_done(zsock_t *pipe, int64_t id, bool ok)
{
    uint8_t verdict = ok ? 1 : 0;
    zmsg_t *done = zmsg_new();
    zmsg_addstr(done, "DONE");
    zmsg_addmem(done, &id, sizeof id);
    zmsg_addmem(done, &verdict, 1);
    zmsg_send(&done, pipe);
}

//  A CHECK message's verdict (its frames are wiped on the way).
static bool s_run_check(zmsg_t *msg)
{
    zframe_t *cmd = zmsg_pop(msg);
    zframe_t *idf = zmsg_pop(msg);
    zframe_destroy(&cmd);
    zframe_destroy(&idf);
    char hash[S_TEXT_MAX], password[S_TEXT_MAX];
    bool ok = s_pop_text(msg, hash, sizeof hash) && s_pop_text(msg, password, sizeof password) &&
              node_users_verify_hash(hash, password);
    OPENSSL_cleanse(password, sizeof password);
    return ok;
}

static void s_wipe(void **item_p)
{
    zmsg_t *msg = *item_p;
    for (zframe_t *f = msg ? zmsg_first(msg) : NULL; f; f = zmsg_next(msg))
        OPENSSL_cleanse(zframe_data(f), zframe_size(f));
    zmsg_destroy(&msg);
    *item_p = NULL;
}

//  Take one message from the pipe into the worker's own queue: CHECK joins it, CANCEL
//  answers its check at once (DONE, not verified: nobody waits for it) without running it,
//  $TERM says stop.  Returns false on $TERM or an interrupt.
static bool s_take(zsock_t *pipe, zlistx_t *queue)
{
    zmsg_t *msg = zmsg_recv(pipe);
    if (!msg)
        return false;
    zframe_t *cmd = zmsg_first(msg);
    if (cmd && zframe_streq(cmd, "CHECK")) {
        zlistx_add_end(queue, msg);
        return true;
    }
    bool go_on = cmd && zframe_streq(cmd, "CANCEL");
    if (go_on) {
        int64_t id = s_msg_id(msg);
        for (zmsg_t *c = zlistx_first(queue); c; c = zlistx_next(queue)) {
            zmsg_first(c);
            if (s_msg_id(c) == id) {
                void *item = zlistx_detach_cur(queue);
                s_wipe(&item);
                s_send_done(pipe, id, false);
                break;
            }
        }
    }
    zmsg_destroy(&msg);
    return go_on;
}

//  The worker: before each PBKDF2 run it takes everything waiting on the pipe, so that a
//  CANCEL or $TERM does not wait behind the checks queued before it.  A check's answer is
//  DONE id verified.
static void s_worker(zsock_t *pipe, void *args)
{
    (void) args;
    zlistx_t *queue = zlistx_new();
    zlistx_set_destructor(queue, s_wipe);
    zsock_signal(pipe, 0);
    bool running = queue != NULL;
    while (running) {
        if (zlistx_size(queue) == 0)
            running = s_take(pipe, queue);
        while (running && (zsock_events(pipe) & ZMQ_POLLIN))
            running = s_take(pipe, queue);
        zmsg_t *msg = running ? zlistx_first(queue) : NULL;
        if (!msg)
            continue;
        msg = zlistx_detach_cur(queue);
        zmsg_first(msg);
        int64_t id = s_msg_id(msg);
        bool ok = s_run_check(msg);
        void *item = msg;
        s_wipe(&item);
        s_send_done(pipe, id, ok);
    }
    zlistx_destroy(&queue);
}

//  --- The loop side --------------------------------------------------------------------------

static s_slot_t *s_slot(node_verifier_t *self, int64_t id)
{
    for (size_t i = 0; i < self->cap; i++)
        if (self->slots[i].id == id)
            return &self->slots[i];
    return NULL;
}

//  Whether job still has a check that wants its answer.
static bool s_job_wanted(const node_verifier_t *self, int64_t job)
{
    for (size_t i = 0; i < self->cap; i++)
        if (self->slots[i].id && self->slots[i].job == job && self->slots[i].fn)
            return true;
    return false;
}

//  DONE messages from the worker: each answers every check its run was for (the one that
//  sent it and those that joined it), freeing their slots first (a callback may start
//  another check: there is room by then).
static int s_on_done(zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    node_verifier_t *self = arg;
    for (int burst = 0; burst < 64 && (zsock_events(pipe) & ZMQ_POLLIN); burst++) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            break;
        char *cmd = zmsg_popstr(msg);
        zframe_t *idf = zmsg_pop(msg);
        zframe_t *vf = zmsg_pop(msg);
        int64_t id = 0;
        if (cmd && strcmp(cmd, "DONE") == 0 && idf && zframe_size(idf) == sizeof id && vf &&
            zframe_size(vf) == 1) {
            memcpy(&id, zframe_data(idf), sizeof id);
            bool verified = zframe_data(vf)[0] == 1;
            size_t n = 0;
            for (size_t i = 0; id && i < self->cap; i++)
                n += self->slots[i].id && self->slots[i].job == id;
            s_slot_t *answer = n ? calloc(n, sizeof *answer) : NULL;
            size_t k = 0;
            for (size_t i = 0; answer && i < self->cap; i++)
                if (self->slots[i].id && self->slots[i].job == id) {
                    answer[k++] = self->slots[i];
                    self->slots[i] = (s_slot_t){0};
                    self->used--;
                }
            if (n)
                self->jobs--;
            for (size_t i = 0; i < k; i++)
                if (answer[i].fn)
                    answer[i].fn(answer[i].arg, verified);
            free(answer);
        }
        free(cmd);
        zframe_destroy(&idf);
        zframe_destroy(&vf);
        zmsg_destroy(&msg);
    }
    return 0;
}

node_verifier_t *node_verifier_new(zloop_t *loop, size_t queue_max)
{
    if (!loop || queue_max > S_PIPE_HWM / 2)      //  a CANCEL may follow each CHECK
        return NULL;
    node_verifier_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->jobs_max = queue_max ? queue_max : NODE_VERIFIER_QUEUE_MAX;
    self->cap = self->jobs_max;
    self->slots = calloc(self->cap, sizeof *self->slots);
    self->actor = self->slots ? zactor_new(s_worker, NULL) : NULL;
    if (!self->actor ||
        zloop_reader(loop, zactor_sock(self->actor), s_on_done, self) != 0) {
        node_verifier_destroy(&self);
        return NULL;
    }
    //  Never wait for the pipe: a full one is refused (it is not: the bound is below it).
    zsock_set_sndtimeo(zactor_sock(self->actor), 0);
    return self;
}

void node_verifier_destroy(node_verifier_t **self_p)
{
    node_verifier_t *self = *self_p;
    if (!self)
        return;
    if (self->actor) {
        zloop_reader_end(self->loop, zactor_sock(self->actor));
        zsock_set_sndtimeo(zactor_sock(self->actor), -1);  //  $TERM must go
        zactor_destroy(&self->actor);   //  the check running now ends first; DONEs dropped
    }
    free(self->slots);
    free(self);
    *self_p = NULL;
}

//  A free slot, growing the table when every slot is taken; NULL without memory.
static s_slot_t *s_free_slot(node_verifier_t *self)
{
    s_slot_t *slot = s_slot(self, 0);
    if (slot)
        return slot;
    s_slot_t *more = realloc(self->slots, 2 * self->cap * sizeof *more);
    if (!more)
        return NULL;
    memset(more + self->cap, 0, self->cap * sizeof *more);
    self->slots = more;
    self->cap *= 2;
    return s_slot(self, 0);
}

int64_t node_verifier_check(node_verifier_t *self, const char *hash, const char *password,
                            node_verifier_fn *fn, void *arg)
{
    if (!hash || !password || strlen(hash) >= S_TEXT_MAX || strlen(password) >= S_TEXT_MAX)
        return -EINVAL;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char both[2 * S_TEXT_MAX];
    size_t hash_len = strlen(hash), both_len = hash_len + 1 + strlen(password);
    memcpy(both, hash, hash_len + 1);
    memcpy(both + hash_len + 1, password, both_len - hash_len - 1);
    int hashed = EVP_Digest(both, both_len, digest, NULL, EVP_sha256(), NULL);
    OPENSSL_cleanse(both, sizeof both);
    if (hashed != 1)
        return -ENOMEM;
    //  The same check already out (every application of a failed node logs in with the
    //  same user at once): it joins that run instead of queueing another 20..30 ms one.
    int64_t job = 0;
    for (size_t i = 0; i < self->cap && !job; i++) {
        const s_slot_t *s = &self->slots[i];
        if (s->id && !s->job_cancelled && CRYPTO_memcmp(s->digest, digest, sizeof digest) == 0)
            job = s->job;
    }
    if (!job && self->jobs >= self->jobs_max)
        return -EBUSY;
    s_slot_t *slot = s_free_slot(self);
    if (!slot)
        return -ENOMEM;
    int64_t id = ++self->next_id;
    if (!job) {
        zmsg_t *msg = zmsg_new();
        if (!msg)
            return -ENOMEM;
        zmsg_addstr(msg, "CHECK");
        zmsg_addmem(msg, &id, sizeof id);
        zmsg_addstr(msg, hash);
        zmsg_addstr(msg, password);
        if (zmsg_send(&msg, zactor_sock(self->actor)) != 0) {
            zmsg_t *left = msg;         //  not taken: wipe the password's copy
            if (left) {
                zframe_t *pw = zmsg_last(left);
                if (pw)
                    OPENSSL_cleanse(zframe_data(pw), zframe_size(pw));
            }
            zmsg_destroy(&msg);
            return -EIO;
        }
        job = id;
        self->jobs++;
    }
    *slot = (s_slot_t){.id = id, .job = job, .fn = fn, .arg = arg};
    memcpy(slot->digest, digest, sizeof digest);
    self->used++;
    return id;
}

void node_verifier_cancel(node_verifier_t *self, int64_t id)
{
    s_slot_t *slot = self && id > 0 ? s_slot(self, id) : NULL;
    if (!slot || !slot->fn)
        return;
    slot->fn = NULL;                //  the slot stays taken until the worker answers
    int64_t job = slot->job;
    if (s_job_wanted(self, job))
        return;                     //  others joined the run: it goes on for them
    //  Nobody wants the run now: nobody may join it either (a cancelled run answers "not
    //  verified"), and the worker drops it unrun if it has not begun it (best effort).
    for (size_t i = 0; i < self->cap; i++)
        if (self->slots[i].id && self->slots[i].job == job)
            self->slots[i].job_cancelled = true;
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "CANCEL");
    zmsg_addmem(msg, &job, sizeof job);
    zmsg_send(&msg, zactor_sock(self->actor));
    zmsg_destroy(&msg);
}

size_t node_verifier_queued(const node_verifier_t *self)
{
    return self ? self->jobs : 0;
}

size_t node_verifier_waiting(const node_verifier_t *self)
{
    return self ? self->used : 0;
}

size_t node_verifier_queue_max(const node_verifier_t *self)
{
    return self ? self->jobs_max : 0;
}
