//  node_client_replay: one client API session's replay buffer (issue 5).
//
//  Every Event the node sends an application is kept here, encoded, with its sequence
//  number, until the application acknowledges it (Heartbeat.last_seq_acked) or the bounds
//  push it out.  The buffer serves two readers:
//    - a session resumed from a new ZeroMQ identity gets the events after its last ack
//      again (client.proto ResumeResult RESUMED);
//    - an application that reads too slowly (ZeroMQ would block) gets the events it could
//      not take once it drains.
//  When an event needed by either has already been pushed out, the session announces the
//  gap (EventsLost) and sends a fresh snapshot instead; node_client_replay_get tells.
//
//  The buffer holds one contiguous run of sequence numbers, oldest first, bounded by a
//  number of events and a number of bytes (whichever is reached first evicts the oldest).
//
//      node_client_replay_t *r = node_client_replay_new(1000, 1 << 20);
//      node_client_replay_add(r, seq, frame, len);     //  as each event is sent
//      node_client_replay_ack(r, last_seq_acked);      //  from the application's Heartbeat
//      if (node_client_replay_get(r, seq, &frame, &len) == 0) ... resend ...
//      node_client_replay_destroy(&r);
//
//  Pure bookkeeping: no I/O, no clock, no logs; unit tested on its own.
#ifndef NODE_CLIENT_REPLAY_H
#define NODE_CLIENT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct node_client_replay node_client_replay_t;

//  A buffer of at most max_events events and max_bytes bytes of frames.  max_events 0
//  keeps nothing (every resume then has a gap).  Returns NULL when out of memory.
node_client_replay_t *node_client_replay_new(size_t max_events, size_t max_bytes);
//  Free every frame.  Safe on NULL and twice; sets *self_p to NULL.
void node_client_replay_destroy(node_client_replay_t **self_p);

//  Keep a copy of the encoded event `seq` (> every seq added before).  The oldest events
//  go while either bound would be passed.  A seq that does not follow the newest one
//  (a hole) drops everything older, since only a contiguous run can be replayed.
//  Returns 0; -EINVAL for seq 0 or one not above the newest; -EMSGSIZE for a frame above
//  max_bytes (nothing is kept: the run is broken, so the buffer is emptied); -ENOMEM.
int node_client_replay_add(node_client_replay_t *self, uint64_t seq, const uint8_t *frame,
                           size_t len);
//  The application has processed every event up to acked: they are dropped.
void node_client_replay_ack(node_client_replay_t *self, uint64_t acked);
//  The frame of event seq (borrowed until the next add, ack or destroy).  Returns 0, or
//  -ENOENT when seq is not held (acked, evicted, or not sent yet).
int node_client_replay_get(const node_client_replay_t *self, uint64_t seq, const uint8_t **frame,
                           size_t *len);

//  Whether every event after `after` up to the newest one is held: a resume from an
//  application that has processed up to `after` needs no EventsLost.  True when nothing
//  after `after` was ever added.
bool node_client_replay_covers(const node_client_replay_t *self, uint64_t after);

//  The oldest and newest seq held (0 when empty), events and bytes held, events evicted by
//  the bounds before they were acknowledged (since new).
uint64_t node_client_replay_first(const node_client_replay_t *self);
uint64_t node_client_replay_last(const node_client_replay_t *self);
size_t node_client_replay_count(const node_client_replay_t *self);
size_t node_client_replay_bytes(const node_client_replay_t *self);
uint64_t node_client_replay_evicted(const node_client_replay_t *self);

#endif
