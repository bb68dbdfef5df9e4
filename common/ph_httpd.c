/*  ph_httpd: HTTP/1.x server on a zloop (see ph_httpd.h).
 *
 *  Each connection goes READING (collect the head, at most 8 KiB) ->
 *  WRITING (the whole answer, from a non-blocking socket, resumed when it
 *  is writable) -> LINGERING (write side shut, what the client still sends
 *  is read and dropped until it closes, so that a client still sending a
 *  body is not reset before it reads our answer) -> closed. One zloop
 *  timer per connection bounds each phase.
 *
 *  zloop dispatches the events of an iteration from a copy of its poll set
 *  taken before the timers ran, without checking whether a timer handler
 *  cancelled a poller. So a timer never frees a connection: it marks it
 *  expired and shuts the socket down, which makes the socket readable and
 *  writable, and the connection's own poller handler closes it.
 */
#include "ph_httpd.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define S_LINGER_MS        2000  /* to wait for the client's close after our answer */
#define S_LINGER_MAX       65536 /* bytes dropped while lingering before we give up */
#define S_BACKLOG          128
#define S_ACCEPT_BURST     16    /* accepts per wake-up, so connections cannot starve the loop */
#define S_ACCEPT_PAUSE_MS  1000  /* out of file descriptors: stop accepting for a while */
#define S_WARN_INTERVAL_MS 10000 /* at most one warning per interval about refused clients */
#define S_REPLY_HEAD_MAX   512
#define S_CONTENT_TYPE_MAX 128
#define S_DEFAULT_TYPE     "text/plain; charset=utf-8"
#define S_DRAIN_CHUNK      4096
#define S_XSTR(x)          #x
#define S_STR(x)           S_XSTR (x)

typedef enum { S_READING, S_WRITING, S_LINGERING } s_state_t;

typedef struct {
    ph_httpd_t *server;
    size_t slot; /* index in server->conns */
    int fd;
    int timer_id; /* -1: none */
    short events; /* what the poller waits for; 0: no poller */
    bool expired; /* the timer fired: close at the next event */
    s_state_t state;
    size_t head_len;
    char head[PH_HTTPD_HEAD_MAX];
    char reply_head[S_REPLY_HEAD_MAX];
    size_t reply_head_len;
    char *body; /* owned */
    size_t body_len;
    size_t sent;    /* bytes of reply_head then body already sent */
    size_t drained; /* bytes dropped while lingering */
} s_conn_t;

struct _ph_httpd_t {
    zloop_t *loop;
    int listen_fd;
    bool accepting;     /* the listening fd is on the loop */
    int pause_timer_id; /* -1: none */
    ph_httpd_fn *fn;
    void *arg;
    s_conn_t *conns[PH_HTTPD_CONN_MAX];
    size_t nconns;
    uint64_t last_warn_ms;
    unsigned long refused; /* since the last warning */
};

static int s_on_conn (zloop_t *loop, zmq_pollitem_t *item, void *arg);
static int s_on_accept (zloop_t *loop, zmq_pollitem_t *item, void *arg);

/* ---------------------------------------------------------------------- */
/*  Request head parser                                                   */

static bool s_is_tchar (unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/*  Control characters other than HTAB are never valid in a head; CR only
 *  as part of a line end, which the line splitter removes first. */
static bool s_is_bad_byte (unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*  Finds the line at buf[pos..len). Returns 1 with the line's length
 *  (without CRLF or LF) in *line_len and the start of the next line in
 *  *next; 0 when no LF has arrived yet and the bytes so far are fine;
 *  PH_EPROTO for a control byte or a CR that does not end the line. */
static int s_next_line (const char *buf, size_t len, size_t pos, size_t *line_len, size_t *next)
{
    if (pos >= len)
        return 0;
    const char *lf = memchr (buf + pos, '\n', len - pos);
    size_t end = lf ? (size_t)(lf - buf) : len;
    size_t stop = end;
    if (lf && stop > pos && buf[stop - 1] == '\r')
        stop--;
    else if (!lf && stop > pos && buf[stop - 1] == '\r')
        stop--; /* its LF may be in the next read */
    for (size_t i = pos; i < stop; i++)
        if (s_is_bad_byte ((unsigned char)buf[i]))
            return PH_EPROTO;
    if (!lf)
        return 0;
    *line_len = stop - pos;
    *next = end + 1;
    return 1;
}

/*  Copies n bytes into a NUL-terminated buffer of size cap. */
static int s_copy_out (char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        return PH_ETOOBIG;
    memcpy (dst, src, n);
    dst[n] = 0;
    return 0;
}

/*  The path of a request target: origin-form "/p?q" or absolute-form
 *  "http://authority/p?q". */
static int s_target_path (const char *t, size_t n, const char **path, size_t *plen)
{
    static const char scheme[] = "http://";
    size_t start;
    if (t[0] == '/')
        start = 0;
    else if (n >= sizeof scheme - 1 && strncasecmp (t, scheme, sizeof scheme - 1) == 0) {
        start = sizeof scheme - 1;
        while (start < n && t[start] != '/' && t[start] != '?')
            start++;
        if (start == sizeof scheme - 1)
            return PH_EPROTO; /* no authority */
    } else
        return PH_EPROTO;
    size_t end = start;
    while (end < n && t[end] != '?')
        end++;
    if (end == start) { /* "http://host" or "http://host?q" */
        *path = "/";
        *plen = 1;
    } else {
        *path = t + start;
        *plen = end - start;
    }
    return 0;
}

typedef struct {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor; /* HTTP/1.minor */
} s_request_line_t;

/*  "METHOD SP target SP HTTP/1.d", exactly single spaces. */
static int s_parse_request_line (const char *l, size_t n, s_request_line_t *rl)
{
    static const char version[] = "HTTP/1.";
    size_t i = 0;
    while (i < n && s_is_tchar ((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ' ')
        return PH_EPROTO;
    rl->method = l;
    rl->method_len = i++;
    size_t t = i;
    while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
        i++;
    if (i == t || i >= n || l[i] != ' ')
        return PH_EPROTO;
    rl->target = l + t;
    rl->target_len = i - t;
    i++;
    if (n - i != sizeof version || memcmp (l + i, version, sizeof version - 1) != 0)
        return PH_EPROTO;
    char d = l[n - 1];
    if (d < '0' || d > '9')
        return PH_EPROTO;
    rl->minor = d - '0';
    return 0;
}

/*  "name: value" with a non-empty token name right before the colon.
 *  Counts Host fields (HTTP/1.1 requires exactly one). */
static int s_parse_field (const char *l, size_t n, int *hosts)
{
    if (l[0] == ' ' || l[0] == '\t')
        return PH_EPROTO; /* obs-fold: refused, as RFC 9112 allows */
    size_t i = 0;
    while (i < n && s_is_tchar ((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ':')
        return PH_EPROTO;
    if (i == 4 && strncasecmp (l, "host", 4) == 0)
        (*hosts)++;
    return 0;
}

int ph_httpd_parse_head (const char *buf, size_t len, char *method, size_t mlen, char *path,
                         size_t plen)
{
    if (mlen)
        method[0] = 0;
    if (plen)
        path[0] = 0;
    size_t pos = 0, n = 0, next = 0;
    int rc;
    /* empty lines before the request line are allowed (RFC 9112, 2.2) */
    while ((rc = s_next_line (buf, len, pos, &n, &next)) == 1 && n == 0)
        pos = next;
    if (rc <= 0)
        return rc;
    s_request_line_t rl;
    if (s_parse_request_line (buf + pos, n, &rl) != 0)
        return PH_EPROTO;
    const char *p;
    size_t pn;
    if (s_target_path (rl.target, rl.target_len, &p, &pn) != 0)
        return PH_EPROTO;
    int hosts = 0;
    for (;;) {
        pos = next;
        rc = s_next_line (buf, len, pos, &n, &next);
        if (rc <= 0)
            return rc;
        if (n == 0)
            break;
        if (s_parse_field (buf + pos, n, &hosts) != 0)
            return PH_EPROTO;
    }
    if (hosts > 1 || (rl.minor >= 1 && hosts != 1))
        return PH_EPROTO;
    if (s_copy_out (method, mlen, rl.method, rl.method_len) != 0 ||
        s_copy_out (path, plen, p, pn) != 0) {
        if (mlen)
            method[0] = 0;
        return PH_ETOOBIG;
    }
    return next <= INT_MAX ? (int)next : PH_ETOOBIG;
}

/* ---------------------------------------------------------------------- */
/*  Connections                                                           */

static void s_warn_refused (ph_httpd_t *self, const char *why)
{
    self->refused++;
    uint64_t now = ph_mono_ms ();
    if (self->last_warn_ms && now - self->last_warn_ms < S_WARN_INTERVAL_MS)
        return;
    ph_warn ("http: refused %lu connection(s): %s", self->refused, why);
    self->last_warn_ms = now;
    self->refused = 0;
}

/*  Closes and frees conn: its poller, its timer, its fd, its answer. */
static void s_conn_close (s_conn_t *conn)
{
    ph_httpd_t *self = conn->server;
    if (conn->events) {
        zmq_pollitem_t item = {NULL, conn->fd, 0, 0};
        zloop_poller_end (self->loop, &item);
    }
    if (conn->timer_id >= 0)
        zloop_timer_end (self->loop, conn->timer_id);
    close (conn->fd);
    free (conn->body);
    self->conns[conn->slot] = NULL;
    self->nconns--;
    free (conn);
}

/*  Makes the poller wait for events. Returns 0 or PH_EIO. */
static int s_conn_watch (s_conn_t *conn, short events)
{
    if (conn->events == events)
        return 0;
    zmq_pollitem_t item = {NULL, conn->fd, events, 0};
    if (conn->events)
        zloop_poller_end (conn->server->loop, &item);
    conn->events = 0;
    if (zloop_poller (conn->server->loop, &item, s_on_conn, conn) != 0)
        return PH_EIO;
    /* errors and hang-ups are ours to see (as failed reads or writes);
       a non-tolerant poller would be silently dropped by zloop */
    zloop_poller_set_tolerant (conn->server->loop, &item);
    conn->events = events;
    return 0;
}

static int s_on_conn_timeout (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    s_conn_t *conn = arg;
    conn->timer_id = -1; /* a one-shot timer: zloop frees it */
    conn->expired = true;
    /* wakes the poller (readable and writable from now on); it closes */
    shutdown (conn->fd, SHUT_RDWR);
    return 0;
}

/*  (Re)starts the connection's one timer. Returns 0 or PH_EIO. */
static int s_conn_arm (s_conn_t *conn, size_t ms)
{
    if (conn->timer_id >= 0)
        zloop_timer_end (conn->server->loop, conn->timer_id);
    conn->timer_id = zloop_timer (conn->server->loop, ms, 1, s_on_conn_timeout, conn);
    return conn->timer_id >= 0 ? 0 : PH_EIO;
}

/*  Takes fd into a new connection (closed on failure to watch it).
 *  Returns false, fd not taken, only when out of memory. */
static bool s_conn_new (ph_httpd_t *self, int fd)
{
    size_t slot = 0;
    while (slot < PH_HTTPD_CONN_MAX && self->conns[slot])
        slot++;
    assert (slot < PH_HTTPD_CONN_MAX); /* callers check nconns */
    s_conn_t *conn = calloc (1, sizeof *conn);
    if (!conn)
        return false;
    conn->server = self;
    conn->slot = slot;
    conn->fd = fd;
    conn->timer_id = -1;
    conn->state = S_READING;
    self->conns[slot] = conn;
    self->nconns++;
    if (s_conn_watch (conn, ZMQ_POLLIN) != 0 || s_conn_arm (conn, PH_HTTPD_HEAD_TIMEOUT_MS) != 0) {
        ph_warn ("http: cannot add a connection to the reactor");
        s_conn_close (conn);
    }
    return true;
}

static const char *s_reason (int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        {200, "OK"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {503, "Service Unavailable"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

/*  IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), built by hand so that
 *  the process locale cannot change it. */
static void s_http_date (char *buf, size_t len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    snprintf (buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
              months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void s_conn_write (s_conn_t *conn);

/*  Queues the answer and starts writing it. Takes body (may be NULL: a
 *  short text body naming the status is made). with_body false: HEAD.
 *  May close conn. */
static void s_conn_reply (s_conn_t *conn, int status, const char *content_type, char *body,
                          size_t len, bool with_body, const char *extra_header)
{
    bool bodiless = status == 204 || status == 304;
    if (bodiless) {
        free (body);
        body = NULL;
        len = 0;
    } else if (!body) {
        body = malloc (S_REPLY_HEAD_MAX);
        int n = body ? snprintf (body, S_REPLY_HEAD_MAX, "%d %s\n", status, s_reason (status)) : -1;
        len = n > 0 && n < S_REPLY_HEAD_MAX ? (size_t)n : 0;
        content_type = NULL;
    }
    if (!content_type)
        content_type = S_DEFAULT_TYPE;
    char length[48] = "";
    if (!bodiless)
        snprintf (length, sizeof length, "Content-Length: %zu\r\n", len);
    char date[128];
    s_http_date (date, sizeof date);
    int n = snprintf (
        conn->reply_head, sizeof conn->reply_head,
        "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n%s%sConnection: close\r\n\r\n", status,
        s_reason (status), date, content_type, length, extra_header ? extra_header : "");
    assert (n > 0 && (size_t)n < sizeof conn->reply_head); /* every part is bounded above */
    conn->reply_head_len = (size_t)n;
    if (with_body) {
        conn->body = body;
        conn->body_len = len;
    } else
        free (body);
    conn->state = S_WRITING;
    conn->sent = 0;
    if (s_conn_arm (conn, PH_HTTPD_WRITE_TIMEOUT_MS) != 0) {
        s_conn_close (conn);
        return;
    }
    s_conn_write (conn);
}

/*  A content type from the handler goes into our head: refuse anything
 *  that could break it or overflow the head buffer. */
static const char *s_safe_content_type (const char *ct)
{
    if (!ct)
        return NULL;
    size_t n = strnlen (ct, S_CONTENT_TYPE_MAX);
    for (size_t i = 0; i < n; i++)
        if (s_is_bad_byte ((unsigned char)ct[i])) {
            n = S_CONTENT_TYPE_MAX;
            break;
        }
    if (n == 0 || n >= S_CONTENT_TYPE_MAX) {
        ph_warn ("http: handler returned an invalid content type; using %s", S_DEFAULT_TYPE);
        return NULL;
    }
    return ct;
}

/*  Answers a complete, well-formed head. May close conn. */
static void s_conn_dispatch (s_conn_t *conn, const char *method, const char *path)
{
    bool head = strcmp (method, "HEAD") == 0;
    if (!head && strcmp (method, "GET") != 0) {
        s_conn_reply (conn, 405, NULL, NULL, 0, true, "Allow: GET, HEAD\r\n");
        return;
    }
    char *body = NULL;
    size_t len = 0;
    const char *content_type = NULL;
    ph_httpd_t *self = conn->server;
    int status = self->fn (method, path, &body, &len, &content_type, self->arg);
    if (status < 200 || status > 599) {
        ph_warn ("http: handler answered %d for %s %s; sending 500", status, method, path);
        free (body);
        body = NULL;
        status = 500;
    }
    if (!body)
        len = 0;
    s_conn_reply (conn, status, body ? s_safe_content_type (content_type) : NULL, body, len, !head,
                  NULL);
}

static void s_conn_read (s_conn_t *conn)
{
    ssize_t n = recv (conn->fd, conn->head + conn->head_len, sizeof conn->head - conn->head_len,
                      MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) { /* gone before a whole head: nobody to answer */
        s_conn_close (conn);
        return;
    }
    conn->head_len += (size_t)n;
    char method[PH_HTTPD_METHOD_MAX];
    char path[PH_HTTPD_HEAD_MAX + 1]; /* any path that fits in a head fits here */
    int rc =
        ph_httpd_parse_head (conn->head, conn->head_len, method, sizeof method, path, sizeof path);
    if (rc > 0)
        s_conn_dispatch (conn, method, path);
    else if (rc == PH_ETOOBIG) /* only a method longer than any we serve */
        s_conn_reply (conn, 405, NULL, NULL, 0, true, "Allow: GET, HEAD\r\n");
    else if (rc < 0)
        s_conn_reply (conn, 400, NULL, NULL, 0, true, NULL);
    else if (conn->head_len == sizeof conn->head)
        s_conn_reply (conn, 431, NULL, NULL, 0, true, NULL);
}

/*  The answer is out: shut our side and wait for the client's close. */
static void s_conn_linger (s_conn_t *conn)
{
    free (conn->body);
    conn->body = NULL;
    shutdown (conn->fd, SHUT_WR);
    conn->state = S_LINGERING;
    if (s_conn_watch (conn, ZMQ_POLLIN) != 0 || s_conn_arm (conn, S_LINGER_MS) != 0)
        s_conn_close (conn);
}

static void s_conn_write (s_conn_t *conn)
{
    size_t total = conn->reply_head_len + conn->body_len;
    while (conn->sent < total) {
        struct iovec iov[2];
        int iovcnt = 0;
        if (conn->sent < conn->reply_head_len) {
            iov[iovcnt].iov_base = conn->reply_head + conn->sent;
            iov[iovcnt++].iov_len = conn->reply_head_len - conn->sent;
        }
        if (conn->body_len) {
            size_t done = conn->sent > conn->reply_head_len ? conn->sent - conn->reply_head_len : 0;
            iov[iovcnt].iov_base = conn->body + done;
            iov[iovcnt++].iov_len = conn->body_len - done;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg (conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (s_conn_watch (conn, ZMQ_POLLOUT) != 0)
                s_conn_close (conn);
            return; /* resumed when writable */
        }
        if (n <= 0) { /* the client went away */
            s_conn_close (conn);
            return;
        }
        conn->sent += (size_t)n;
    }
    s_conn_linger (conn);
}

static void s_conn_drain (s_conn_t *conn)
{
    char buf[S_DRAIN_CHUNK];
    ssize_t n = recv (conn->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0)
        conn->drained += (size_t)n;
    if (n <= 0 || conn->drained > S_LINGER_MAX)
        s_conn_close (conn);
}

static int s_on_conn (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop, (void)item;
    s_conn_t *conn = arg;
    if (conn->expired)
        s_conn_close (conn);
    else if (conn->state == S_READING)
        s_conn_read (conn);
    else if (conn->state == S_WRITING)
        s_conn_write (conn);
    else
        s_conn_drain (conn);
    return 0;
}

/* ---------------------------------------------------------------------- */
/*  Listening socket                                                      */

/*  zloop_poller_end matches an item without a socket by fd against every
 *  poller, zmq-socket pollers (whose fd is 0) included: so fd 0 (free when
 *  a process closed its stdin) never goes on the loop. Returns fd, another
 *  fd for the same socket, or -1 (fd closed). */
static int s_fd_not_zero (int fd)
{
    if (fd != 0)
        return fd;
    int moved = fcntl (fd, F_DUPFD_CLOEXEC, 3);
    close (fd);
    return moved;
}

static int s_listen_watch (ph_httpd_t *self)
{
    zmq_pollitem_t item = {NULL, self->listen_fd, ZMQ_POLLIN, 0};
    if (zloop_poller (self->loop, &item, s_on_accept, self) != 0)
        return PH_EIO;
    zloop_poller_set_tolerant (self->loop, &item);
    self->accepting = true;
    return 0;
}

static int s_on_accept_resume (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    ph_httpd_t *self = arg;
    self->pause_timer_id = -1;
    if (s_listen_watch (self) != 0)
        ph_error ("http: cannot watch the listening socket again; /metrics is unreachable");
    return 0;
}

/*  Out of file descriptors: the pending connection stays in the backlog
 *  and the listening fd stays readable, so stop watching it for a while
 *  rather than spin. */
static void s_accept_pause (ph_httpd_t *self)
{
    zmq_pollitem_t item = {NULL, self->listen_fd, 0, 0};
    zloop_poller_end (self->loop, &item);
    self->accepting = false;
    self->pause_timer_id = zloop_timer (self->loop, S_ACCEPT_PAUSE_MS, 1, s_on_accept_resume, self);
    if (self->pause_timer_id < 0)
        s_on_accept_resume (self->loop, -1, self);
}

static int s_on_accept (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop, (void)item;
    ph_httpd_t *self = arg;
    for (int i = 0; i < S_ACCEPT_BURST; i++) {
        int fd = accept4 (self->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && errno == EINTR)
            continue;
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                char eb[128];
                s_warn_refused (self, ph_errstr (errno, eb, sizeof eb));
                s_accept_pause (self);
            }
            break; /* EAGAIN, or a connection that died in the backlog */
        }
        fd = s_fd_not_zero (fd);
        if (fd < 0)
            break;
        if (self->nconns >= PH_HTTPD_CONN_MAX) {
            s_warn_refused (self, "too many open connections (" S_STR (PH_HTTPD_CONN_MAX) ")");
            close (fd);
        } else if (!s_conn_new (self, fd))
            close (fd);
    }
    return 0;
}

static int s_listen (const char *host, int port, char *err, size_t errlen)
{
    char service[16];
    snprintf (service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo (host, service, &hints, &ai) != 0 || !ai) {
        ph_set_err (err, errlen, "http: %s is not a numeric IPv4 or IPv6 address", host);
        return PH_EINVAL;
    }
    char eb[128];
    int fd = s_fd_not_zero (socket (ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd < 0) {
        ph_set_err (err, errlen, "http: socket: %s", ph_errstr (errno, eb, sizeof eb));
        goto out_free_ai;
    }
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind (fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen (fd, S_BACKLOG) != 0) {
        ph_set_err (err, errlen, "http: cannot listen on %s port %d: %s", host, port,
                    ph_errstr (errno, eb, sizeof eb));
        close (fd);
        fd = -1;
    }
out_free_ai:
    freeaddrinfo (ai);
    return fd >= 0 ? fd : PH_EIO;
}

static int s_bound_port (int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname (fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs (((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs (((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

ph_httpd_t *ph_httpd_new (zloop_t *loop, const char *host, int port, ph_httpd_fn *fn, void *arg,
                          int *bound_port, char *err, size_t errlen)
{
    assert (loop && fn);
    if (!host)
        host = "127.0.0.1";
    if (port < 0 || port > 65535) {
        ph_set_err (err, errlen, "http: port %d is out of range 0..65535", port);
        return NULL;
    }
    int fd = s_listen (host, port, err, errlen);
    if (fd < 0)
        return NULL;
    ph_httpd_t *self = calloc (1, sizeof *self);
    if (!self) {
        ph_set_err (err, errlen, "http: out of memory");
        close (fd);
        return NULL;
    }
    self->loop = loop;
    self->listen_fd = fd;
    self->pause_timer_id = -1;
    self->fn = fn;
    self->arg = arg;
    if (s_listen_watch (self) != 0) {
        ph_set_err (err, errlen, "http: cannot add the listening socket to the reactor");
        ph_httpd_destroy (&self);
        return NULL;
    }
    if (bound_port)
        *bound_port = s_bound_port (fd);
    return self;
}

void ph_httpd_destroy (ph_httpd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_httpd_t *self = *self_p;
    for (size_t i = 0; i < PH_HTTPD_CONN_MAX; i++)
        if (self->conns[i])
            s_conn_close (self->conns[i]);
    if (self->accepting) {
        zmq_pollitem_t item = {NULL, self->listen_fd, 0, 0};
        zloop_poller_end (self->loop, &item);
    }
    if (self->pause_timer_id >= 0)
        zloop_timer_end (self->loop, self->pause_timer_id);
    close (self->listen_fd);
    free (self);
    *self_p = NULL;
}
