/*  cli_outq: see cli_outq.h.
 *
 *  Non-blocking writes: stdout is often the same open file description as
 *  stdin and as the user's shell's terminal, so O_NONBLOCK is set only
 *  around each write() and restored at once, never left behind. */
#include "cli_outq.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct s_chunk_t {
    struct s_chunk_t *next;
    int fd;
    size_t len, off;
    uint8_t data[];
} s_chunk_t;

struct _cli_outq_t {
    s_chunk_t *head, *tail;
    size_t bytes;
};

cli_outq_t *cli_outq_new (void)
{
    return calloc (1, sizeof (cli_outq_t));
}

static void s_pop (cli_outq_t *self)
{
    s_chunk_t *c = self->head;
    self->head = c->next;
    if (!self->head)
        self->tail = NULL;
    self->bytes -= c->len - c->off;
    free (c);
}

void cli_outq_destroy (cli_outq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    while ((*self_p)->head)
        s_pop (*self_p);
    free (*self_p);
    *self_p = NULL;
}

int cli_outq_push (cli_outq_t *self, int fd, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    s_chunk_t *c = malloc (sizeof *c + len);
    if (!c)
        return PH_ENOMEM;
    c->next = NULL;
    c->fd = fd;
    c->len = len;
    c->off = 0;
    memcpy (c->data, data, len);
    if (self->tail)
        self->tail->next = c;
    else
        self->head = c;
    self->tail = c;
    self->bytes += len;
    return 0;
}

/*  write() that does not block, whatever the fd's own flags. */
static ssize_t s_write_nonblocking (int fd, const void *buf, size_t len)
{
    int flags = fcntl (fd, F_GETFL);
    bool toggle = flags >= 0 && !(flags & O_NONBLOCK);
    if (toggle)
        fcntl (fd, F_SETFL, flags | O_NONBLOCK);
    ssize_t n = write (fd, buf, len);
    int saved = errno;
    if (toggle)
        fcntl (fd, F_SETFL, flags);
    errno = saved;
    return n;
}

/*  Drops every queued chunk of fd. */
static void s_drop_fd (cli_outq_t *self, int fd)
{
    s_chunk_t **pp = &self->head, *last = NULL;
    while (*pp) {
        s_chunk_t *c = *pp;
        if (c->fd == fd) {
            *pp = c->next;
            self->bytes -= c->len - c->off;
            free (c);
        } else {
            last = c;
            pp = &c->next;
        }
    }
    self->tail = last;
}

int cli_outq_flush (cli_outq_t *self, int *failed_fd)
{
    while (self->head) {
        s_chunk_t *c = self->head;
        ssize_t n = s_write_nonblocking (c->fd, c->data + c->off, c->len - c->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0) {
            int err = errno;
            *failed_fd = c->fd;
            s_drop_fd (self, c->fd);
            return -err;
        }
        c->off += (size_t)n;
        self->bytes -= (size_t)n;
        if (c->off == c->len)
            s_pop (self);
    }
    return 0;
}

void cli_outq_drain (cli_outq_t *self, int timeout_ms)
{
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    int failed;
    while (self->head) {
        uint64_t now = ph_mono_ms ();
        if (now >= deadline)
            return;
        struct pollfd p = {self->head->fd, POLLOUT, 0};
        poll (&p, 1, (int)(deadline - now));
        cli_outq_flush (self, &failed);
    }
}

size_t cli_outq_bytes (const cli_outq_t *self)
{
    return self->bytes;
}

int cli_outq_wait_fd (const cli_outq_t *self)
{
    return self->head ? self->head->fd : -1;
}
