/*  lg_loop: a reactor for thousands of ZeroMQ sockets in one thread.
 *
 *  zloop (and zmq_poll under it) polls every registered socket on every
 *  wake-up, which costs O(sockets) per message: with 5,000 DEALERs per
 *  worker the load generator would spend its time polling, and steal the
 *  CPU it is meant to measure. Here each socket's ZMQ_FD sits in one epoll
 *  set and only the sockets that signalled are looked at.
 *
 *  ZMQ_FD is a notification, not a readiness flag: it signals that the
 *  socket's state may have changed, and ZMQ_EVENTS must then be read
 *  (which also clears the signal). A send may swallow a signal meant for
 *  reading, and a handler that stops after a batch leaves messages that no
 *  new signal will announce; both cases "kick" the watch so that it is
 *  looked at again in the next turn without waiting.
 */
#include "lg.h"
#include "ph_errors.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LG_EPOLL_BATCH 512

struct _lg_watch_t {
    zsock_t *sock;
    int fd;
    lg_ready_fn *fn;
    void *arg;
    bool kicked;
    bool dead;
    lg_watch_t *next_kicked;
    lg_watch_t *next_dead;
};

struct _lg_loop_t {
    int epfd;
    lg_watch_t *kicked; /* to look at in the next turn */
    lg_watch_t *dead;   /* to free once no list refers to them */
    struct epoll_event events[LG_EPOLL_BATCH];
};

lg_loop_t *lg_loop_new (void)
{
    lg_loop_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->epfd = epoll_create1 (EPOLL_CLOEXEC);
    if (self->epfd < 0) {
        free (self);
        return NULL;
    }
    return self;
}

static void s_free_dead (lg_loop_t *self, bool all)
{
    lg_watch_t *keep = NULL;
    while (self->dead) {
        lg_watch_t *w = self->dead;
        self->dead = w->next_dead;
        if (w->kicked && !all) {
            w->next_dead = keep; /* still on the kicked list */
            keep = w;
        } else
            free (w);
    }
    self->dead = keep;
}

void lg_loop_destroy (lg_loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lg_loop_t *self = *self_p;
    s_free_dead (self, true);
    close (self->epfd);
    free (self);
    *self_p = NULL;
}

lg_watch_t *lg_loop_watch (lg_loop_t *self, zsock_t *sock, lg_ready_fn *fn, void *arg)
{
    lg_watch_t *w = calloc (1, sizeof *w);
    if (!w)
        return NULL;
    w->sock = sock;
    w->fd = zsock_fd (sock);
    w->fn = fn;
    w->arg = arg;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    if (w->fd < 0 || epoll_ctl (self->epfd, EPOLL_CTL_ADD, w->fd, &ev) != 0) {
        free (w);
        return NULL;
    }
    lg_loop_kick (self, w); /* messages may be waiting already */
    return w;
}

void lg_loop_unwatch (lg_loop_t *self, lg_watch_t **watch_p)
{
    if (!watch_p || !*watch_p)
        return;
    lg_watch_t *w = *watch_p;
    epoll_ctl (self->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->dead = true;
    w->next_dead = self->dead;
    self->dead = w;
    *watch_p = NULL;
}

void lg_loop_kick (lg_loop_t *self, lg_watch_t *watch)
{
    if (!watch || watch->kicked || watch->dead)
        return;
    watch->kicked = true;
    watch->next_kicked = self->kicked;
    self->kicked = watch;
}

static void s_check (lg_loop_t *self, lg_watch_t *w)
{
    if (!w->dead && (zsock_events (w->sock) & ZMQ_POLLIN))
        w->fn (self, w->sock, w->arg);
}

int lg_loop_once (lg_loop_t *self, int timeout_ms)
{
    int n = epoll_wait (self->epfd, self->events, LG_EPOLL_BATCH, self->kicked ? 0 : timeout_ms);
    if (n < 0 && errno != EINTR)
        return PH_EIO;
    for (int i = 0; i < n; i++)
        s_check (self, self->events[i].data.ptr);
    lg_watch_t *k = self->kicked;
    self->kicked = NULL;
    while (k) {
        lg_watch_t *next = k->next_kicked;
        k->kicked = false;
        s_check (self, k);
        k = next;
    }
    s_free_dead (self, false);
    return 0;
}
