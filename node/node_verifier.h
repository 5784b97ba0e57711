//  node_verifier: password checks (PBKDF2, node_users_verify_hash) on a worker thread, so
//  that the first login of each user does not hold the node's event loop for the 20..30 ms
//  a run at 100 000 iterations takes (DESIGN.md invariant 7).  A failover brings a node
//  every application of the lost one at once: 50 first logins were 1.2 s of a blocked loop.
//
//  One worker is a zactor (STYLE.md: a thread reached only by messages): the loop sends it
//  CHECK (id, hash, password) over the actor's PAIR pipe (CANCEL id when the login's session
//  goes), it answers DONE (id, verified), and the loop's reader of that pipe calls the
//  check's callback.  Nothing is shared between the threads but those messages.  A check
//  identical to one already out (same hash, same password: every application of a failed
//  node logging in as the same user at once) joins that run: one PBKDF2 answers them all,
//  where a cold cache would cost each its own 20..30 ms in a row.  The queue is bounded
//  (runs sent and not yet answered, cancelled ones included until the worker lets them go;
//  joined checks do not count): beyond it a new run is refused at once with -EBUSY, and
//  the front end answers the login "busy, try again".
//
//      node_verifier_t *v = node_verifier_new(loop, 0);            //  the default bound
//      int64_t id = node_verifier_check(v, hash, password, on_done, arg);
//      ... on_done(arg, verified) from the loop, exactly once, never from inside the call
//      node_verifier_cancel(v, id);        //  the session went: on_done is never called
//      node_verifier_destroy(&v);          //  waits for the check running now (<= 30 ms),
//                                          //  drops the queued ones
#ifndef NODE_VERIFIER_H
#define NODE_VERIFIER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct node_verifier node_verifier_t;

//  Checks sent to the worker and not answered yet, by default (about 6 s of PBKDF2 runs).
#define NODE_VERIFIER_QUEUE_MAX 256

//  A worker on loop (borrowed) holding at most queue_max checks (0: NODE_VERIFIER_QUEUE_MAX;
//  at most 500: the pipe holds 1000 messages, a CHECK and a CANCEL each).  NULL when the
//  thread cannot start.
node_verifier_t *node_verifier_new(zloop_t *loop, size_t queue_max);
//  Stop the worker; callbacks still owed are never called.  Safe on NULL and twice.
void node_verifier_destroy(node_verifier_t **self_p);

typedef void(node_verifier_fn)(void *arg, bool verified);
//  Check password against hash (node_users' format; both copied) on the worker; fn(arg,
//  verified) follows from the loop.  Returns the check's id (> 0), -EBUSY (queue full),
//  -EINVAL (a string too long), -ENOMEM or -EIO (the pipe refused it).
int64_t node_verifier_check(node_verifier_t *self, const char *hash, const char *password,
                            node_verifier_fn *fn, void *arg);
//  Forget check id: its callback is never called; the worker drops it unrun unless it has
//  begun it.  Its place in the queue is free once the worker says so.  Unknown or answered
//  ids are ignored.
void node_verifier_cancel(node_verifier_t *self, int64_t id);
//  Runs sent to the worker and not answered (cancelled ones included); the bound on them;
//  checks not answered yet (joined ones included).
size_t node_verifier_queued(const node_verifier_t *self);
size_t node_verifier_waiting(const node_verifier_t *self);
size_t node_verifier_queue_max(const node_verifier_t *self);

#endif
