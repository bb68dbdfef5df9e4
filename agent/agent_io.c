/*  agent_io: a session's file descriptors on the reactor and the glue to
 *  its ph_stream (docs/architecture.md "Session streams", "Agent side").
 *
 *  Output: the PTY master (or the stdout and stderr pipes) is polled for
 *  reading only while ph_stream_room() > 0, and one callback reads at most
 *  that much; when the window is full the poller is ended and the program
 *  blocks on its own write. That, not zmq, bounds memory for `yes`.
 *
 *  Input: STDIN is written without blocking; what the program does not
 *  take yet stays in a per-session buffer that shrinks the credit we give
 *  the client (ph_stream_set_held), and the fd is polled for POLLOUT until
 *  the buffer drains.
 *
 *  Transcripts: what is read is also recorded (agent_cast.c); while the
 *  transcript spool is full, output is not read at all, so the program
 *  is held back rather than log data lost.
 */
#include "agent_log.h"
#include "agent_session.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define PH_IO_RESIZE_MAX 32 /* "COLSxROWS" */
#define PH_IO_SIGNAL_MAX 16

static const struct {
    const char *name;
    int sig;
} s_signals[] = {
    {"INT", SIGINT}, {"TERM", SIGTERM}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
};

static int s_on_fd (zloop_t *loop, zmq_pollitem_t *item, void *arg);

/* ---- pollers ------------------------------------------------------------- */

static bool s_is_output (const ph_session_t *s, const ph_session_fd_t *f)
{
    return f == &s->master || f == &s->out || f == &s->err;
}

static bool s_is_input (const ph_session_t *s, const ph_session_fd_t *f)
{
    return f == &s->master || f == &s->in;
}

/*  The events f should be polled for now. */
static short s_wanted (const ph_session_t *s, const ph_session_fd_t *f)
{
    if (f->fd < 0)
        return 0;
    if (f == &s->status)
        return ZMQ_POLLIN;
    if (s->state != PH_SESSION_RUNNING)
        return 0;
    short events = 0;
    if (s_is_output (s, f) && s->stream && ph_stream_room (s->stream) > 0 &&
        (!s->cast || ph_ship_has_room (s->agent->ship)))
        events |= ZMQ_POLLIN;
    if (s_is_input (s, f) && s->in_len > 0)
        events |= ZMQ_POLLOUT;
    return events;
}

static void s_arm (ph_session_t *s, ph_session_fd_t *f)
{
    short want = s_wanted (s, f);
    if (want == f->armed)
        return;
    zloop_t *loop = s->agent->loop;
    zmq_pollitem_t item = {NULL, f->fd, want, 0};
    if (f->armed)
        zloop_poller_end (loop, &item);
    if (want) {
        if (zloop_poller (loop, &item, s_on_fd, s) != 0) {
            ph_error ("session %s: cannot poll fd %d; the session will stall", s->id, f->fd);
            want = 0;
        } else
            zloop_poller_set_tolerant (loop, &item);
    }
    if ((want & ZMQ_POLLIN) && !(f->armed & ZMQ_POLLIN))
        s->armed_ms = ph_mono_ms ();
    f->armed = want;
}

void ph_session_io_update (ph_session_t *s)
{
    s_arm (s, &s->status);
    s_arm (s, &s->master);
    s_arm (s, &s->in);
    s_arm (s, &s->out);
    s_arm (s, &s->err);
}

void ph_session_io_close (ph_session_t *s, ph_session_fd_t *f)
{
    if (f->fd < 0)
        return;
    if (f->armed) {
        zmq_pollitem_t item = {NULL, f->fd, f->armed, 0};
        zloop_poller_end (s->agent->loop, &item);
    }
    close (f->fd);
    f->fd = -1;
    f->armed = 0;
    s->closed_tick = s->agent->tick_count;
}

void ph_session_io_close_all (ph_session_t *s)
{
    ph_session_io_close (s, &s->status);
    ph_session_io_close (s, &s->master);
    ph_session_io_close (s, &s->in);
    ph_session_io_close (s, &s->out);
    ph_session_io_close (s, &s->err);
}

bool ph_session_io_output_done (const ph_session_t *s)
{
    return s->master.fd < 0 && s->out.fd < 0 && s->err.fd < 0;
}

bool ph_session_io_all_closed (const ph_session_t *s)
{
    return ph_session_io_output_done (s) && s->in.fd < 0 && s->status.fd < 0;
}

/* ---- output -------------------------------------------------------------- */

/*  Reads what the stream has room for from f and writes it as kind. At EOF
 *  (read 0, or EIO from a PTY whose slave is closed) closes f. */
static void s_read_output (ph_session_t *s, ph_session_fd_t *f, int kind)
{
    size_t room = s->stream ? ph_stream_room (s->stream) : 0;
    size_t got = 0;
    bool eof = false;
    if (room > sizeof s->agent->iobuf)
        room = sizeof s->agent->iobuf;
    while (got < room) {
        ssize_t n = read (f->fd, s->agent->iobuf + got, room - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        eof = true; /* 0, or EIO from a PTY */
        break;
    }
    if (got) {
        if (ph_stream_write (s->stream, kind, s->agent->iobuf, got) != 0)
            ph_error ("session %s: %zu bytes of output lost (stream refused them)", s->id, got);
        ph_cast_output (s->cast, kind == PORTHOLE__V1__STREAM_KIND__STDERR, s->agent->iobuf, got);
        s->last_output_ms = ph_mono_ms ();
    }
    if (eof)
        ph_session_io_close (s, f);
}

/*  The status pipe: collects the child's complaint until EOF. */
static void s_read_status (ph_session_t *s)
{
    for (;;) {
        size_t left = sizeof s->start_err - 1 - s->start_err_len;
        char discard[256];
        char *dst = left ? s->start_err + s->start_err_len : discard;
        ssize_t n = read (s->status.fd, dst, left ? left : sizeof discard);
        if (n > 0) {
            if (left)
                s->start_err_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        break;
    }
    ph_session_io_close (s, &s->status);
    s->start_err[s->start_err_len] = 0;
    ph_session_started (s, s->start_err_len ? s->start_err : NULL);
}

/* ---- input --------------------------------------------------------------- */

void ph_session_io_flush_stdin (ph_session_t *s)
{
    ph_session_fd_t *f = s->interactive ? &s->master : &s->in;
    while (s->in_len > 0 && f->fd >= 0 && s->state == PH_SESSION_RUNNING) {
        ssize_t n = write (f->fd, s->in_buf + s->in_off, s->in_len);
        if (n > 0) {
            s->in_off += (size_t)n;
            s->in_len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* EPIPE or EIO: the program no longer reads its input */
        ph_debug ("session %s: stdin closed by the program; %zu bytes dropped", s->id, s->in_len);
        s->in_len = 0;
        if (!s->interactive)
            ph_session_io_close (s, &s->in);
    }
    if (s->in_len == 0)
        s->in_off = 0;
    if (!s->interactive && s->in_eof && s->in_len == 0)
        ph_session_io_close (s, &s->in);
    if (s->stream)
        ph_stream_set_held (s->stream, s->in_len);
}

/*  Makes room for len more bytes at the end of in_buf. */
static int s_reserve_stdin (ph_session_t *s, size_t len)
{
    if (s->in_off + s->in_len + len <= s->in_cap)
        return 0;
    if (s->in_off) {
        memmove (s->in_buf, s->in_buf + s->in_off, s->in_len);
        s->in_off = 0;
    }
    if (s->in_len + len <= s->in_cap)
        return 0;
    size_t cap = s->in_cap ? s->in_cap : 4096;
    while (cap < s->in_len + len)
        cap *= 2;
    uint8_t *buf = realloc (s->in_buf, cap);
    if (!buf)
        return PH_ENOMEM;
    s->in_buf = buf;
    s->in_cap = cap;
    return 0;
}

void ph_session_io_queue_stdin (ph_session_t *s, const void *data, size_t len)
{
    if (!len)
        return;
    if (!s->interactive && (s->in.fd < 0 || s->in_eof))
        return; /* stdin is closed: nobody will read this */
    if (s->in_len + len > PH_SESSION_STDIN_MAX || s_reserve_stdin (s, len) != 0) {
        ph_warn ("session %s: the client sent more than its credit; %zu bytes of input dropped",
                 s->id, len);
        return;
    }
    memcpy (s->in_buf + s->in_off + s->in_len, data, len);
    s->in_len += len;
    ph_session_io_flush_stdin (s);
}

/*  RESIZE "COLSxROWS" -> TIOCSWINSZ on the PTY (the kernel sends SIGWINCH). */
static void s_resize (ph_session_t *s, const uint8_t *payload, size_t len)
{
    char text[PH_IO_RESIZE_MAX];
    unsigned cols = 0, rows = 0;
    char extra;
    if (s->master.fd < 0 || len == 0 || len >= sizeof text)
        return;
    memcpy (text, payload, len);
    text[len] = 0;
    if (sscanf (text, "%ux%u%c", &cols, &rows, &extra) != 2 || cols == 0 || rows == 0 ||
        cols > 10000 || rows > 10000) {
        ph_debug ("session %s: ignoring a malformed RESIZE", s->id);
        return;
    }
    struct winsize ws = {0};
    ws.ws_col = (unsigned short)cols;
    ws.ws_row = (unsigned short)rows;
    if (ioctl (s->master.fd, TIOCSWINSZ, &ws) != 0)
        ph_debug ("session %s: TIOCSWINSZ failed: %s", s->id, strerror (errno));
    else
        ph_cast_resize (s->cast, cols, rows);
}

/*  SIGNAL "INT" etc. -> the process group. */
static void s_signal (ph_session_t *s, const uint8_t *payload, size_t len)
{
    for (size_t i = 0; i < sizeof s_signals / sizeof s_signals[0]; i++) {
        if (strlen (s_signals[i].name) == len && memcmp (s_signals[i].name, payload, len) == 0) {
            ph_session_signal (s, s_signals[i].sig);
            return;
        }
    }
    ph_debug ("session %s: ignoring an unknown SIGNAL", s->id);
}

void ph_session_io_deliver (ph_session_t *s, const ph_stream_data_t *sd)
{
    if (s->state != PH_SESSION_STARTING && s->state != PH_SESSION_RUNNING)
        return;
    switch (sd->kind) {
    case PORTHOLE__V1__STREAM_KIND__STDIN:
        s->last_input_ms = ph_mono_ms ();
        ph_cast_input (s->cast, sd->payload.data, sd->payload.len);
        ph_session_io_queue_stdin (s, sd->payload.data, sd->payload.len);
        break;
    case PORTHOLE__V1__STREAM_KIND__RESIZE:
        s_resize (s, sd->payload.data, sd->payload.len);
        break;
    case PORTHOLE__V1__STREAM_KIND__SIGNAL:
        s_signal (s, sd->payload.data, sd->payload.len);
        break;
    case PORTHOLE__V1__STREAM_KIND__EOF:
        if (!s->interactive) {
            s->in_eof = true;
            ph_session_io_flush_stdin (s);
        }
        break;
    default:
        ph_debug ("session %s: ignoring stream message of kind %d", s->id, (int)sd->kind);
        break;
    }
    ph_session_io_update (s);
}

/* ---- the reactor callback ------------------------------------------------ */

/*  zloop may call this for a poller that was ended earlier in the same
 *  iteration: an fd that is no longer one of s's is ignored. */
static int s_on_fd (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    ph_session_t *s = arg;
    int fd = item->fd;
    bool readable = item->revents & (ZMQ_POLLIN | ZMQ_POLLERR);
    bool writable = item->revents & (ZMQ_POLLOUT | ZMQ_POLLERR);
    if (fd < 0)
        return 0;
    if (fd == s->status.fd) {
        s_read_status (s);
        return 0;
    }
    if (fd == s->master.fd) {
        /* a hung-up PTY with a full window would poll hot: drop the input */
        if ((item->revents & ZMQ_POLLERR) && s->stream && ph_stream_room (s->stream) == 0)
            s->in_len = 0;
        if (writable)
            ph_session_io_flush_stdin (s);
        if (readable && s->master.fd >= 0)
            s_read_output (s, &s->master, PORTHOLE__V1__STREAM_KIND__STDOUT);
    } else if (fd == s->out.fd && readable)
        s_read_output (s, &s->out, PORTHOLE__V1__STREAM_KIND__STDOUT);
    else if (fd == s->err.fd && readable)
        s_read_output (s, &s->err, PORTHOLE__V1__STREAM_KIND__STDERR);
    else if (fd == s->in.fd && writable)
        ph_session_io_flush_stdin (s);
    else
        return 0;
    ph_session_io_update (s);
    ph_session_check_exit (s);
    return 0;
}

void ph_session_io_stream_send (void *arg, const ph_stream_data_t *msg)
{
    ph_session_t *s = arg;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
    env.stream_data = (ph_stream_data_t *)msg;
    ph_agent_send (s->agent, &env);
}
