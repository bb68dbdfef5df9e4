/*  Unit tests of common/ph_httpd.c: a server on 127.0.0.1:0 driven by a
 *  zloop in its own thread, real client sockets in the test thread (GET,
 *  HEAD, 404, 405, 400, 431, a slow client dropped after the head timeout,
 *  the connection limit, large answers written in pieces, destroy with open
 *  connections), and a table for ph_httpd_parse_head. */
#include "ph_errors.h"
#include "ph_httpd.h"
#include "ph_test.h"
#include "ph_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define METRICS    "# TYPE ph_up gauge\nph_up 1\n"
#define METRICS_CT "text/plain; version=0.0.4; charset=utf-8"
#define BIG_LEN    (4u << 20)
#define REPLY_MAX  (BIG_LEN + 4096)
#define WAIT_MS    10000 /* any answer we expect comes well before this */
#define HELD_SLOTS PH_HTTPD_CONN_MAX

typedef struct {
    pthread_mutex_t mu;
    int calls;
    char last_method[16];
    char last_path[256];
} ctx_t;

static int s_handler (const char *method, const char *path, char **body, size_t *len,
                      const char **content_type, void *arg)
{
    ctx_t *ctx = arg;
    pthread_mutex_lock (&ctx->mu);
    ctx->calls++;
    snprintf (ctx->last_method, sizeof ctx->last_method, "%s", method);
    snprintf (ctx->last_path, sizeof ctx->last_path, "%s", path);
    pthread_mutex_unlock (&ctx->mu);
    if (strcmp (path, "/metrics") == 0) {
        *body = strdup (METRICS);
        *len = strlen (METRICS);
        *content_type = METRICS_CT;
        return 200;
    }
    if (strcmp (path, "/big") == 0) {
        *body = malloc (BIG_LEN);
        for (size_t i = 0; i < BIG_LEN; i++)
            (*body)[i] = (char)('a' + i % 23);
        *len = BIG_LEN;
        return 200;
    }
    if (strcmp (path, "/fail") == 0)
        return 500;
    if (strcmp (path, "/empty") == 0) {
        *body = strdup ("dropped: a 204 has no body");
        *len = strlen (*body);
        return 204;
    }
    if (strcmp (path, "/bogus") == 0)
        return 42;
    return 404;
}

/* ---------------------------------------------------------------------- */
/*  A server and its loop thread                                          */

typedef struct {
    zloop_t *loop;
    ph_httpd_t *httpd;
    int port;
    int stop[2]; /* a byte on stop[1] ends the loop */
    pthread_t thread;
} server_t;

static int s_on_stop (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop, (void)item, (void)arg;
    return -1;
}

static void *s_loop_thread (void *arg)
{
    zloop_start (arg);
    return NULL;
}

static void s_server_start (server_t *s, ctx_t *ctx)
{
    char err[256] = "";
    s->loop = zloop_new ();
    s->httpd = ph_httpd_new (s->loop, "127.0.0.1", 0, s_handler, ctx, &s->port, err, sizeof err);
    CHECK (s->httpd != NULL);
    if (!s->httpd)
        fprintf (stderr, "ph_httpd_new: %s\n", err);
    CHECK (s->port > 0);
    CHECK (pipe (s->stop) == 0);
    zmq_pollitem_t item = {NULL, s->stop[0], ZMQ_POLLIN, 0};
    zloop_poller (s->loop, &item, s_on_stop, NULL);
    pthread_create (&s->thread, NULL, s_loop_thread, s->loop);
}

static void s_server_stop (server_t *s)
{
    CHECK (write (s->stop[1], "x", 1) == 1);
    pthread_join (s->thread, NULL);
    ph_httpd_destroy (&s->httpd);
    CHECK (s->httpd == NULL);
    zloop_destroy (&s->loop);
    close (s->stop[0]);
    close (s->stop[1]);
}

/* ---------------------------------------------------------------------- */
/*  Client helpers                                                        */

/*  rcvbuf > 0: a small receive buffer, so that most of a big answer is
 *  still queued at the server when it has written it all. */
static int s_connect_rcvbuf (int port, int rcvbuf)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0)
        setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    CHECK (connect (fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    return fd;
}

static int s_connect (int port)
{
    return s_connect_rcvbuf (port, 0);
}

static void s_send (int fd, const char *data, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send (fd, data + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    CHECK (sent == len);
}

/*  Reads until the server closes, an error, or timeout_ms. Returns the
 *  bytes read (NUL-terminated in buf); *closed tells whether it ended by
 *  EOF or reset (rather than the timeout). */
static size_t s_read_all (int fd, char *buf, size_t cap, int timeout_ms, bool *closed)
{
    size_t have = 0;
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    *closed = false;
    while (have + 1 < cap) {
        uint64_t now = ph_mono_ms ();
        if (now >= deadline)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll (&pfd, 1, (int)(deadline - now)) <= 0)
            continue;
        ssize_t n = recv (fd, buf + have, cap - 1 - have, 0);
        if (n <= 0) {
            *closed = true;
            break;
        }
        have += (size_t)n;
    }
    buf[have] = 0;
    return have;
}

static char *s_reply; /* REPLY_MAX bytes, reused by every request */

/*  Sends req on a new connection, returns the whole answer's length. */
static size_t s_request (int port, const char *req, size_t len)
{
    int fd = s_connect (port);
    s_send (fd, req, len);
    bool closed;
    size_t n = s_read_all (fd, s_reply, REPLY_MAX, WAIT_MS, &closed);
    CHECK (closed);
    close (fd);
    return n;
}

static int s_status (const char *reply)
{
    int status = 0;
    if (sscanf (reply, "HTTP/1.1 %d ", &status) != 1)
        return -1;
    return status;
}

static const char *s_body (const char *reply)
{
    const char *p = strstr (reply, "\r\n\r\n");
    return p ? p + 4 : NULL;
}

/*  The value of header name (case as sent by the server), or "". */
static const char *s_header (const char *reply, const char *name, char *out, size_t len)
{
    char key[64];
    snprintf (key, sizeof key, "\r\n%s: ", name);
    const char *p = strstr (reply, key);
    const char *end = p ? strstr (p + strlen (key), "\r\n") : NULL;
    out[0] = 0;
    if (p && end) {
        size_t n = (size_t)(end - p) - strlen (key);
        n = n < len - 1 ? n : len - 1;
        memcpy (out, p + strlen (key), n);
        out[n] = 0;
    }
    return out;
}

static int s_get (int port, const char *req)
{
    s_request (port, req, strlen (req));
    return s_status (s_reply);
}

/* ---------------------------------------------------------------------- */
/*  Tests                                                                 */

static void s_test_get (int port, ctx_t *ctx)
{
    char v[128];
    size_t n = s_request (port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 34);
    CHECK (n > 0);
    CHECK (s_status (s_reply) == 200);
    CHECK (strncmp (s_reply, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK_STR (s_header (s_reply, "Content-Type", v, sizeof v), METRICS_CT);
    CHECK (atoi (s_header (s_reply, "Content-Length", v, sizeof v)) == (int)strlen (METRICS));
    CHECK_STR (s_header (s_reply, "Connection", v, sizeof v), "close");
    CHECK (strlen (s_header (s_reply, "Date", v, sizeof v)) == 29);
    CHECK (strstr (v, " GMT") != NULL);
    CHECK (s_body (s_reply) && strcmp (s_body (s_reply), METRICS) == 0);
    pthread_mutex_lock (&ctx->mu);
    CHECK_STR (ctx->last_method, "GET");
    CHECK_STR (ctx->last_path, "/metrics");
    pthread_mutex_unlock (&ctx->mu);

    /* HTTP/1.0 needs no Host; the query and an absolute-form target are
       reduced to the path; empty lines before the request line are skipped */
    CHECK (s_get (port, "GET /metrics HTTP/1.0\r\n\r\n") == 200);
    CHECK (s_get (port, "GET /metrics?name[]=ph_up HTTP/1.1\r\nHost: x\r\n\r\n") == 200);
    CHECK (s_get (port, "GET http://127.0.0.1/metrics HTTP/1.1\r\nHost: x\r\n\r\n") == 200);
    CHECK (s_get (port, "\r\nGET /metrics HTTP/1.0\n\n") == 200);
    CHECK (s_body (s_reply) && strcmp (s_body (s_reply), METRICS) == 0);
}

static void s_test_statuses (int port, ctx_t *ctx)
{
    char v[128];
    CHECK (s_get (port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n") == 404);
    CHECK (s_body (s_reply) && strcmp (s_body (s_reply), "404 Not Found\n") == 0);
    CHECK_STR (s_header (s_reply, "Content-Type", v, sizeof v), "text/plain; charset=utf-8");
    CHECK (s_get (port, "GET /fail HTTP/1.0\r\n\r\n") == 500);
    CHECK (s_body (s_reply) && strcmp (s_body (s_reply), "500 Internal Server Error\n") == 0);
    CHECK (s_get (port, "GET /bogus HTTP/1.0\r\n\r\n") == 500); /* handler said 42 */
    CHECK (s_get (port, "GET /empty HTTP/1.0\r\n\r\n") == 204);
    CHECK (strstr (s_reply, "Content-Length") == NULL);
    CHECK (s_body (s_reply) && *s_body (s_reply) == 0);

    /* HEAD: the GET's headers, no body */
    CHECK (s_get (port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == 200);
    CHECK (atoi (s_header (s_reply, "Content-Length", v, sizeof v)) == (int)strlen (METRICS));
    CHECK (s_body (s_reply) && *s_body (s_reply) == 0);
    pthread_mutex_lock (&ctx->mu);
    CHECK_STR (ctx->last_method, "HEAD");
    int calls = ctx->calls;
    pthread_mutex_unlock (&ctx->mu);

    /* none of these reach the handler */
    char post[16384 + 128];
    int hn = snprintf (post, sizeof post,
                       "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 16384\r\n\r\n");
    memset (post + hn, 'b', 16384);
    s_request (port, post, (size_t)hn + 16384);
    CHECK (s_status (s_reply) == 405);
    CHECK_STR (s_header (s_reply, "Allow", v, sizeof v), "GET, HEAD");
    CHECK (s_get (port, "DELETE / HTTP/1.0\r\n\r\n") == 405);
    CHECK (s_get (port, "ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.0\r\n\r\n") == 405);
    CHECK (s_get (port, "garbage\r\n\r\n") == 400);
    CHECK (s_get (port, "GET /metrics HTTP/1.1\r\n\r\n") == 400); /* 1.1 without Host */
    CHECK (s_get (port, "GET /metrics HTTP/2.0\r\n\r\n") == 400);

    /* binary garbage (a TLS ClientHello) is refused at once, not after
       the head timeout */
    uint64_t t0 = ph_mono_ms ();
    CHECK (s_get (port, "\x16\x03\x01\x02\x05\x01") == 400);
    CHECK (ph_mono_ms () - t0 < PH_HTTPD_HEAD_TIMEOUT_MS / 2);

    /* a head over 8 KiB: 431, and the answer arrives whole even though the
       client sent more than the server read */
    char big[PH_HTTPD_HEAD_MAX + 1024];
    hn = snprintf (big, sizeof big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset (big + hn, 'a', sizeof big - (size_t)hn);
    memcpy (big + sizeof big - 4, "\r\n\r\n", 4);
    s_request (port, big, sizeof big);
    CHECK (s_status (s_reply) == 431);
    CHECK (s_body (s_reply) &&
           strcmp (s_body (s_reply), "431 Request Header Fields Too Large\n") == 0);

    /* exactly 8 KiB is still fine */
    hn = snprintf (big, sizeof big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset (big + hn, 'a', PH_HTTPD_HEAD_MAX - (size_t)hn);
    memcpy (big + PH_HTTPD_HEAD_MAX - 4, "\r\n\r\n", 4);
    s_request (port, big, PH_HTTPD_HEAD_MAX);
    CHECK (s_status (s_reply) == 200);

    pthread_mutex_lock (&ctx->mu);
    CHECK (ctx->calls == calls + 1);
    pthread_mutex_unlock (&ctx->mu);
}

/*  A head sent one byte at a time, then a 4 MiB answer that cannot go
 *  out in one write. */
static void s_test_pieces (int port)
{
    const char *req = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = s_connect (port);
    for (size_t i = 0; req[i]; i++)
        s_send (fd, req + i, 1);
    bool closed;
    size_t n = s_read_all (fd, s_reply, REPLY_MAX, WAIT_MS, &closed);
    close (fd);
    CHECK (closed);
    CHECK (s_status (s_reply) == 200);
    const char *body = s_body (s_reply);
    CHECK (body && (size_t)(s_reply + n - body) == BIG_LEN);
    bool same = body != NULL;
    for (size_t i = 0; same && i < BIG_LEN; i++)
        same = body[i] == (char)('a' + i % 23);
    CHECK (same);
}

/*  A GET that carries a body the server never reads: closing with unread
 *  input would reset the connection and drop the end of a big answer
 *  still queued, so the server lingers until the client closes. */
static void s_test_unread_body (int port)
{
    size_t extra = 32768;
    char *req = malloc (128 + extra);
    int hn =
        snprintf (req, 128, "GET /big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", extra);
    memset (req + hn, 'c', extra);
    int fd = s_connect_rcvbuf (port, 16384);
    s_send (fd, req, (size_t)hn + extra);
    bool closed;
    size_t n = s_read_all (fd, s_reply, REPLY_MAX, WAIT_MS, &closed);
    close (fd);
    free (req);
    CHECK (closed);
    CHECK (s_status (s_reply) == 200);
    const char *body = s_body (s_reply);
    CHECK (body && (size_t)(s_reply + n - body) == BIG_LEN);
}

/*  Runs while the other tests go on: half a head, then silence. */
static int s_slow_start (int port, uint64_t *t0)
{
    int fd = s_connect (port);
    s_send (fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n", 32);
    *t0 = ph_mono_ms ();
    return fd;
}

static void s_slow_finish (int fd, uint64_t t0)
{
    bool closed;
    char buf[256];
    size_t n = s_read_all (fd, buf, sizeof buf, PH_HTTPD_HEAD_TIMEOUT_MS + WAIT_MS, &closed);
    uint64_t elapsed = ph_mono_ms () - t0;
    CHECK (closed);
    CHECK (n == 0); /* dropped without an answer */
    CHECK (elapsed >= PH_HTTPD_HEAD_TIMEOUT_MS - 50);
    CHECK (elapsed < PH_HTTPD_HEAD_TIMEOUT_MS + 3000);
    close (fd);
}

/*  PH_HTTPD_CONN_MAX idle connections fill the server; the next one is
 *  accepted and closed; a slot freed is usable again. On a fresh server,
 *  so that no connection of another test still holds a slot. */
static void s_test_limit (server_t *s)
{
    int held[HELD_SLOTS];
    for (int i = 0; i < HELD_SLOTS; i++) {
        held[i] = s_connect (s->port);
        s_send (held[i], "GET /metrics HTTP/1.1\r\n", 23);
    }
    /* accepted after the held ones (the backlog is FIFO): refused */
    int extra = s_connect (s->port);
    s_send (extra, "GET /metrics HTTP/1.0\r\n\r\n", 25);
    bool closed;
    char buf[256];
    size_t n = s_read_all (extra, buf, sizeof buf, WAIT_MS, &closed);
    CHECK (closed);
    CHECK (n == 0);
    close (extra);

    /* the held ones are being served: finish one head */
    s_send (held[0], "Host: x\r\n\r\n", 11);
    n = s_read_all (held[0], s_reply, REPLY_MAX, WAIT_MS, &closed);
    CHECK (closed);
    CHECK (s_status (s_reply) == 200);
    close (held[0]);

    /* its slot frees once the server sees the close */
    uint64_t deadline = ph_mono_ms () + WAIT_MS;
    int status = 0;
    while (status != 200 && ph_mono_ms () < deadline)
        status = s_get (s->port, "GET /metrics HTTP/1.0\r\n\r\n");
    CHECK (status == 200);

    /* the others are still open when the server goes: ph_httpd_destroy
       frees them (ASan's leak check sees it) */
    s_server_stop (s);
    for (int i = 1; i < HELD_SLOTS; i++)
        close (held[i]);
}

static void s_test_new_errors (void)
{
    char err[256];
    int port = -1;
    zloop_t *loop = zloop_new ();

    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    CHECK (bind (fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen (fd, 1) == 0);
    CHECK (getsockname (fd, (struct sockaddr *)&sa, &sl) == 0);
    ph_httpd_t *h = ph_httpd_new (loop, "127.0.0.1", ntohs (sa.sin_port), s_handler, NULL, &port,
                                  err, sizeof err);
    CHECK (h == NULL);
    CHECK (strstr (err, "Address already in use") != NULL);
    close (fd);

    h = ph_httpd_new (loop, "localhost", 0, s_handler, NULL, &port, err, sizeof err);
    CHECK (h == NULL);
    CHECK (strstr (err, "not a numeric IPv4 or IPv6 address") != NULL);
    h = ph_httpd_new (loop, NULL, 65536, s_handler, NULL, &port, err, sizeof err);
    CHECK (h == NULL);
    CHECK (strstr (err, "out of range") != NULL);

    /* NULL host: loopback */
    h = ph_httpd_new (loop, NULL, 0, s_handler, NULL, &port, err, sizeof err);
    CHECK (h != NULL);
    CHECK (port > 0);
    ph_httpd_destroy (&h);
    ph_httpd_destroy (&h); /* NULL is fine */
    ph_httpd_destroy (NULL);
    zloop_destroy (&loop);
}

/* ---------------------------------------------------------------------- */
/*  ph_httpd_parse_head table                                             */

typedef struct {
    const char *head; /* the part that should be consumed */
    const char *tail; /* bytes after it (a body, the next request) */
    int expect;       /* 1: complete; else 0, PH_EPROTO, PH_ETOOBIG */
    const char *method, *path;
    size_t mlen, plen; /* 0: 16 and 256 */
    size_t len;        /* 0: strlen (head) */
} row_t;

static const row_t s_rows[] = {
    {"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", "", 1, "GET", "/metrics", 0, 0, 0},
    {"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", "BODY", 1, "GET", "/metrics", 0, 0, 0},
    {"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n", 1, "GET", "/", 0, 0, 0},
    {"GET /m?x=1&y HTTP/1.0\n\n", "", 1, "GET", "/m", 0, 0, 0},
    {"GET /?x HTTP/1.0\n\n", "", 1, "GET", "/", 0, 0, 0},
    {"\r\n\nGET / HTTP/1.0\r\n\r\n", "", 1, "GET", "/", 0, 0, 0},
    {"GET http://h:1/p/q?z HTTP/1.1\r\nHost: h\r\n\r\n", "", 1, "GET", "/p/q", 0, 0, 0},
    {"GET HTTP://h HTTP/1.0\r\n\r\n", "", 1, "GET", "/", 0, 0, 0},
    {"GET http://h?q HTTP/1.0\r\n\r\n", "", 1, "GET", "/", 0, 0, 0},
    {"HEAD /x HTTP/1.1\r\nhOsT:h\r\nX-A: y\t z \r\nX-B:\r\n\r\n", "", 1, "HEAD", "/x", 0, 0, 0},
    {"POST /%7e~ HTTP/1.9\r\nHost: h\r\nX: \xc3\xa9\r\n\r\n", "", 1, "POST", "/%7e~", 0, 0, 0},
    {"GET /x HTTP/1.0\r\n\r\n", "", 1, "GET", "/x", 4, 3, 0}, /* exact fits */
    /* not complete yet */
    {"", "", 0, "", "", 0, 0, 0},
    {"GET", "", 0, "", "", 0, 0, 0},
    {"\r\n", "", 0, "", "", 0, 0, 0},
    {"GET /metrics HTTP/1.1\r", "", 0, "", "", 0, 0, 0},
    {"GET /metrics HTTP/1.1\r\nHost: a\r\n", "", 0, "", "", 0, 0, 0},
    {"GET /metrics HTTP/1.1\r\nHost: a\r\n\r", "", 0, "", "", 0, 0, 0},
    {"GET /metrics HTTP/1.1\r\nHost: a\r\nX-Half: va", "", 0, "", "", 0, 0, 0},
    /* malformed */
    {"garbage\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET  / HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET /  HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {" GET / HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET\t/ HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/2.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.x\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.10\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / http/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.0 \r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET /\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"G(T / HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET relative HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET * HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET http:/// HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET /\xc3\xa9 HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.1\r\n: v\r\nHost: a\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.1\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.0\r\nX: a\x01"
     "b\r\n\r\n",
     "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.0\r\nX: a\x7f\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.0\rX: a\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.0\r\n\r\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"G\0T / HTTP/1.0\r\n\r\n", "", PH_EPROTO, "", "", 0, 0, 18},
    /* wrong before the head is complete: refused at once */
    {"GET / HTTP/9.9\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    {"\x16\x03\x01\x02", "", PH_EPROTO, "", "", 0, 0, 0},
    {"GET / HTTP/1.1\r\nBad Name: x\r\n", "", PH_EPROTO, "", "", 0, 0, 0},
    /* does not fit the caller's buffers */
    {"HEAD / HTTP/1.0\r\n\r\n", "", PH_ETOOBIG, "", "", 4, 0, 0},
    {"GET /abcd HTTP/1.0\r\n\r\n", "", PH_ETOOBIG, "", "", 0, 5, 0},
};

static void s_test_parse_table (void)
{
    for (size_t i = 0; i < sizeof s_rows / sizeof s_rows[0]; i++) {
        const row_t *r = &s_rows[i];
        size_t hl = r->len ? r->len : strlen (r->head), tl = strlen (r->tail);
        size_t mlen = r->mlen ? r->mlen : 16, plen = r->plen ? r->plen : 256;
        /* exact-size heap copies: ASan sees any read or write past them */
        char *buf = malloc (hl + tl + 1), *method = malloc (mlen), *path = malloc (plen);
        memcpy (buf, r->head, hl);
        memcpy (buf + hl, r->tail, tl);
        int rc = ph_httpd_parse_head (buf, hl + tl, method, mlen, path, plen);
        int want = r->expect == 1 ? (int)hl : r->expect;
        if (rc != want)
            fprintf (stderr, "row %zu: got %d, want %d\n", i, rc, want);
        CHECK (rc == want);
        CHECK_STR (method, r->method);
        CHECK_STR (path, r->path);
        free (buf);
        free (method);
        free (path);
    }
    /* every prefix of a valid head is "not yet" */
    const char *good = "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    char method[16], path[64];
    bool all_zero = true;
    for (size_t n = 0; n < strlen (good); n++) {
        char *buf = malloc (n + 1);
        memcpy (buf, good, n);
        all_zero &= ph_httpd_parse_head (buf, n, method, sizeof method, path, sizeof path) == 0;
        free (buf);
    }
    CHECK (all_zero);
}

int main (void)
{
    s_test_parse_table ();
    s_test_new_errors ();
    s_reply = malloc (REPLY_MAX);

    ctx_t ctx = {.mu = PTHREAD_MUTEX_INITIALIZER};
    server_t s;
    s_server_start (&s, &ctx);
    uint64_t t0;
    int slow = s_slow_start (s.port, &t0);
    s_test_get (s.port, &ctx);
    s_test_statuses (s.port, &ctx);
    s_test_pieces (s.port);
    s_test_unread_body (s.port);
    s_slow_finish (slow, t0);
    s_server_stop (&s);

    server_t s2;
    s_server_start (&s2, &ctx);
    s_test_limit (&s2);

    free (s_reply);
    PH_TEST_END ();
}
