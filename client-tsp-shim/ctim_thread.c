//  ctim_thread: the library-thread mode -- a thread of the library polls the DEALER and a
//  wake-up eventfd, and runs the dispatch logic and every callback under the handle's lock.
//
//  Why the eventfd: ZMQ_FD is edge-triggered.  A request made on another thread sends on
//  the DEALER, and any operation on a ZeroMQ socket may take the pending edge (it processes
//  the socket's commands), so the library thread could sleep in poll() with a reply waiting.
//  A new request may also bring its deadline nearer than the poll's timeout.  So every
//  request from another thread writes the eventfd; the thread then looks at ZMQ_EVENTS
//  again and recomputes its timeout.  The lock serialises every use of the socket (ZeroMQ
//  sockets are not thread-safe) and the handle's state.
#include "ctim_private.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

//  Messages per turn under the lock: between turns the lock is free, so application threads
//  making requests (and ctim_destroy) wait for a few callbacks, not for a burst of hundreds.
#define S_BURST 16
//  How often the thread yields, at most, for threads waiting to take the lock.
#define S_YIELDS_MAX 64

static void s_wake(ctim_t *self)
{
    uint64_t one = 1;
    //  EAGAIN only when the counter is full, and then the thread is awake anyway.
    ssize_t rc = write(self->wake_fd, &one, sizeof one);
    (void)rc;
}

//  Let threads waiting in ctim_lock take the lock before the loop takes it again: a mutex is
//  not fair, and on a busy machine the loop would otherwise win it back at once, turn after
//  turn.  Bounded, so that a stream of requests cannot stall the loop itself.
static void s_let_waiters_in(ctim_t *self)
{
    for (int i = 0; i < S_YIELDS_MAX && atomic_load(&self->lock_waiters) > 0; i++)
        sched_yield();
}

static void *s_run(void *arg)
{
    ctim_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        //  A stopped session (login refused) leaves the DEALER unread: a readable fd that
        //  nobody drains would spin the loop, so only the wake-up fd is watched then.
        bool active = ctim_session_active(self);
        int timeout = ctim_session_timeout(self);
        struct pollfd fds[2] = {{.fd = self->wake_fd, .events = POLLIN},
                                {.fd = zsock_fd(self->dealer), .events = POLLIN}};
        ctim_unlock(self);
        s_let_waiters_in(self);
        //  Unlocked while waiting: application threads make requests meanwhile, and each
        //  writes the eventfd, so nothing they do is missed.
        if (poll(fds, active ? 2 : 1, timeout) > 0 && (fds[0].revents & POLLIN)) {
            uint64_t count;
            ssize_t rc = read(self->wake_fd, &count, sizeof count);
            (void)rc;
        }
        pthread_mutex_lock(&self->lock);
        if (!self->stopping)
            ctim_session_dispatch(self, S_BURST);
    }
    ctim_unlock(self);
    return NULL;
}

int ctim_start_thread(ctim_t *self)
{
    ctim_lock(self);
    int rc = 0;
    if (self->threaded)
        rc = -EALREADY;
    else if (!ctim_session_active(self))
        rc = -ENOTCONN;
    if (rc) {
        ctim_unlock(self);
        return rc;
    }
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0) {
        rc = -errno;
        ctim_unlock(self);
        return rc;
    }
    //  The thread takes no signals: they stay with the application's threads.  The lock is
    //  held across the creation, so the thread starts only once self->thread is written.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&self->thread, NULL, s_run, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        close(self->wake_fd);
        self->wake_fd = -1;
        ctim_unlock(self);
        return -err;
    }
    self->threaded = true;
    ctim_unlock(self);
    return 0;
}

void ctim_thread_wake(ctim_t *self)
{
    if (self->threaded && !pthread_equal(pthread_self(), self->thread))
        s_wake(self);
}

void ctim_thread_stop(ctim_t *self)
{
    ctim_lock(self);
    if (!self->threaded) {
        ctim_unlock(self);
        return;
    }
    //  From a callback the join would wait for itself (ctim.h: not from a callback).
    assert(!pthread_equal(pthread_self(), self->thread));
    self->stopping = true;
    s_wake(self);
    ctim_unlock(self);
    pthread_join(self->thread, NULL);
    close(self->wake_fd);
    self->wake_fd = -1;
    self->threaded = false;
}
