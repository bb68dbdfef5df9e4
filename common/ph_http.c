/*  ph_http: blocking HTTP/1.1 POST with one overall deadline (see
 *  ph_http.h).
 *
 *  Sockets are non-blocking and every wait is a poll() bounded by what is
 *  left of the deadline, so a server that accepts and never answers, or
 *  answers one byte a minute, costs the caller timeout_ms and no more.
 *  The answer is read into one buffer of at most 64 KiB: enough for any
 *  status line and headers a webhook receiver sends, and a bound on what a
 *  hostile one can make us hold.
 */
#include "ph_http.h"
#include "ph_errors.h"
#include "ph_util.h"
#include "ph_version.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_REQUEST_HEAD_MAX 4096 /* path 2047 + host 255 + content type 255 + fixed fields */
#define S_PEER_MAX         (INET6_ADDRSTRLEN + 24) /* "[addr]:port" */
#define S_DEFAULT_TYPE     "application/octet-stream"

/* ---------------------------------------------------------------------- */
/*  URL                                                                   */

/*  Spaces, control characters, non-ASCII bytes and fragments, anywhere. */
static int s_url_check_bytes (const char *url, char *err, size_t errlen)
{
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p == ' ') {
            ph_set_err (err, errlen, "URL contains a space (percent-encode it as %%20)");
            return PH_EINVAL;
        }
        if (*p < 0x20 || *p == 0x7f) {
            ph_set_err (err, errlen, "URL contains a control character");
            return PH_EINVAL;
        }
        if (*p >= 0x80) {
            ph_set_err (err, errlen, "URL contains a non-ASCII byte (percent-encode it)");
            return PH_EINVAL;
        }
        if (*p == '#') {
            ph_set_err (err, errlen,
                        "URL contains a fragment (#...), which is never sent; drop it");
            return PH_EINVAL;
        }
    }
    return 0;
}

static bool s_is_name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

static bool s_is_ipv6_char (char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.';
}

/*  ":digits" after the host, 1..65535. */
static int s_url_port (const char *p, size_t n, int *port, char *err, size_t errlen)
{
    if (n == 0) {
        ph_set_err (err, errlen, "URL has an empty port after ':'");
        return PH_EINVAL;
    }
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            ph_set_err (err, errlen, "URL port '%.*s' is not a number", (int)n, p);
            return PH_EINVAL;
        }
        if (v <= 65535)
            v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 65535) {
        ph_set_err (err, errlen, "URL port %.*s is outside 1..65535", (int)n, p);
        return PH_EINVAL;
    }
    *port = (int)v;
    return 0;
}

/*  host[:port] or [v6]:port, n bytes at a. */
static int s_url_authority (const char *a, size_t n, ph_http_url_t *out, char *err, size_t errlen)
{
    if (memchr (a, '@', n)) {
        ph_set_err (err, errlen,
                    "URL contains user info (user:password@); put no credentials in "
                    "a webhook URL");
        return PH_EINVAL;
    }
    const char *host = a, *rest;
    size_t hn;
    bool v6 = n > 0 && a[0] == '[';
    if (v6) {
        const char *close = memchr (a, ']', n);
        if (!close) {
            ph_set_err (err, errlen, "URL has an IPv6 address without its closing ']'");
            return PH_EINVAL;
        }
        host = a + 1;
        hn = (size_t)(close - host);
        rest = close + 1;
    } else {
        const char *colon = memchr (a, ':', n);
        hn = colon ? (size_t)(colon - a) : n;
        rest = a + hn;
    }
    size_t rn = (size_t)(a + n - rest);
    if (hn == 0) {
        ph_set_err (err, errlen, "URL has no host");
        return PH_EINVAL;
    }
    if (hn >= sizeof out->host) {
        ph_set_err (err, errlen, "URL host is too long (at most %zu bytes)", sizeof out->host - 1);
        return PH_EINVAL;
    }
    for (size_t i = 0; i < hn; i++)
        if (v6 ? !s_is_ipv6_char (host[i]) : !s_is_name_char (host[i])) {
            ph_set_err (err, errlen, "URL host contains '%c', which is not allowed there", host[i]);
            return PH_EINVAL;
        }
    if (v6 && !memchr (host, ':', hn)) {
        ph_set_err (err, errlen, "URL has brackets around something that is not an IPv6 address");
        return PH_EINVAL;
    }
    memcpy (out->host, host, hn);
    out->host[hn] = 0;
    out->port = 80;
    if (rn == 0)
        return 0;
    if (rest[0] != ':') {
        ph_set_err (err, errlen, "URL has '%c' after the IPv6 address; expected ':port'", rest[0]);
        return PH_EINVAL;
    }
    return s_url_port (rest + 1, rn - 1, &out->port, err, errlen);
}

int ph_http_url_parse (const char *url, ph_http_url_t *out, char *err, size_t errlen)
{
    static const char http[] = "http://", https[] = "https://";
    memset (out, 0, sizeof *out);
    if (!url || !*url) {
        ph_set_err (err, errlen, "URL is empty");
        return PH_EINVAL;
    }
    if (strncasecmp (url, https, sizeof https - 1) == 0) {
        ph_set_err (err, errlen, "https:// is not supported yet; use an http:// URL");
        return PH_EINVAL;
    }
    if (strncasecmp (url, http, sizeof http - 1) != 0) {
        ph_set_err (err, errlen, "URL must start with http://");
        return PH_EINVAL;
    }
    int rc = s_url_check_bytes (url, err, errlen);
    if (rc != 0)
        return rc;
    const char *auth = url + sizeof http - 1;
    size_t an = strcspn (auth, "/?");
    rc = s_url_authority (auth, an, out, err, errlen);
    if (rc != 0) {
        memset (out, 0, sizeof *out);
        return rc;
    }
    const char *path = auth + an;
    const char *slash = *path == '/' ? "" : "/"; /* "" or "?q" get a leading "/" */
    int n = snprintf (out->path, sizeof out->path, "%s%s", slash, path);
    if (n < 0 || (size_t)n >= sizeof out->path) {
        ph_set_err (err, errlen, "URL path is too long (at most %zu bytes)", sizeof out->path - 1);
        memset (out, 0, sizeof *out);
        return PH_EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/*  Status line                                                           */

int ph_http_parse_status (const char *buf, size_t len)
{
    /* "HTTP/d.d ddd": 'd' stands for a digit */
    static const char shape[] = "HTTP/d.d ddd";
    size_t fixed = sizeof shape - 1;
    for (size_t i = 0; i < fixed && i < len; i++) {
        char c = buf[i];
        bool ok = shape[i] == 'd' ? c >= '0' && c <= '9' : c == shape[i];
        if (!ok)
            return PH_EPROTO;
    }
    if (len < fixed)
        return 0;
    int status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (status < 100 || status > 599)
        return PH_EPROTO;
    if (len == fixed)
        return 0;
    if (buf[fixed] != ' ' && buf[fixed] != '\r' && buf[fixed] != '\n')
        return PH_EPROTO; /* a fourth digit, or a reason not set apart */
    for (size_t i = fixed; i < len && i < PH_HTTP_STATUS_LINE_MAX; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n')
            return status;
        if (c == '\r' && i + 1 < len && buf[i + 1] != '\n')
            return PH_EPROTO;
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
            return PH_EPROTO;
    }
    return len >= PH_HTTP_STATUS_LINE_MAX ? PH_EPROTO : 0;
}

/* ---------------------------------------------------------------------- */
/*  Connection                                                            */

/*  Waits until fd is ready for events or the deadline. Returns 1 ready,
 *  0 timed out, PH_EIO on a poll failure. */
static int s_wait (int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = ph_mono_ms ();
        if (now >= deadline)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int rc = poll (&pfd, 1, (int)(deadline - now));
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return PH_EIO;
    }
}

static void s_describe_peer (const struct sockaddr *sa, socklen_t sl, char *out, size_t len)
{
    char addr[INET6_ADDRSTRLEN] = "?", port[8] = "?"; /* NI_NUMERICSERV: at most "65535" */
    getnameinfo (sa, sl, addr, sizeof addr, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    if (sa->sa_family == AF_INET6)
        snprintf (out, len, "[%s]:%s", addr, port);
    else
        snprintf (out, len, "%s:%s", addr, port);
}

/*  One non-blocking connect within the deadline. Returns the fd, or
 *  PH_EIO / PH_ETIMEOUT with err set. */
static int s_connect_one (const struct addrinfo *ai, uint64_t deadline, const char *peer, char *err,
                          size_t errlen)
{
    char eb[128];
    int fd = socket (ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ph_set_err (err, errlen, "connect to %s: socket: %s", peer,
                    ph_errstr (errno, eb, sizeof eb));
        return PH_EIO;
    }
    int e = 0;
    if (connect (fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        e = errno;
        if (e == EINPROGRESS) {
            int rc = s_wait (fd, POLLOUT, deadline);
            socklen_t el = sizeof e;
            if (rc == 0) {
                ph_set_err (err, errlen, "connect to %s: timed out", peer);
                close (fd);
                return PH_ETIMEOUT;
            }
            if (rc < 0 || getsockopt (fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
                e = errno;
        }
    }
    if (e != 0) {
        ph_set_err (err, errlen, "connect to %s: %s", peer, ph_errstr (e, eb, sizeof eb));
        close (fd);
        return PH_EIO;
    }
    return fd;
}

/*  Resolves url's host (blocking DNS) and connects to the first address
 *  that answers. Returns the fd, or a negative PH_E* with err set. */
static int s_connect (const ph_http_url_t *url, uint64_t deadline, char *peer, size_t peerlen,
                      char *err, size_t errlen)
{
    char service[16];
    snprintf (service, sizeof service, "%d", url->port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo (url->host, service, &hints, &res);
    if (g != 0 || !res) {
        ph_set_err (err, errlen, "cannot resolve %s: %s", url->host, gai_strerror (g));
        return PH_EIO;
    }
    int fd = PH_EIO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        s_describe_peer (ai->ai_addr, ai->ai_addrlen, peer, peerlen);
        fd = s_connect_one (ai, deadline, peer, err, errlen);
        if (fd >= 0 || fd == PH_ETIMEOUT)
            break;
    }
    freeaddrinfo (res);
    return fd;
}

static int s_request_head (const ph_http_url_t *url, const char *content_type, size_t len,
                           char *head, size_t cap)
{
    bool v6 = strchr (url->host, ':') != NULL;
    char port[16] = "";
    if (url->port != 80)
        snprintf (port, sizeof port, ":%d", url->port);
    int n = snprintf (head, cap,
                      "POST %s HTTP/1.1\r\nHost: %s%s%s%s\r\nUser-Agent: porthole/%s\r\n"
                      "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      url->path, v6 ? "[" : "", url->host, v6 ? "]" : "", port, PH_VERSION,
                      content_type, len);
    return n > 0 && (size_t)n < cap ? n : PH_ETOOBIG;
}

/*  Sends head then body within the deadline. */
static int s_send_all (int fd, const char *head, size_t hlen, const char *body, size_t blen,
                       uint64_t deadline, const char *peer, char *err, size_t errlen)
{
    size_t sent = 0, total = hlen + blen;
    while (sent < total) {
        struct iovec iov[2];
        int iovcnt = 0;
        if (sent < hlen) {
            iov[iovcnt].iov_base = (char *)head + sent;
            iov[iovcnt++].iov_len = hlen - sent;
        }
        if (blen) {
            size_t done = sent > hlen ? sent - hlen : 0;
            iov[iovcnt].iov_base = (char *)body + done;
            iov[iovcnt++].iov_len = blen - done;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg (fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            char eb[128];
            ph_set_err (err, errlen, "sending to %s: %s", peer, ph_errstr (errno, eb, sizeof eb));
            return PH_EIO;
        }
        int rc = s_wait (fd, POLLOUT, deadline);
        if (rc <= 0) {
            ph_set_err (err, errlen, "sending to %s: %s", peer,
                        rc == 0 ? "timed out" : "poll failed");
            return rc == 0 ? PH_ETIMEOUT : PH_EIO;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/*  Reply                                                                 */

/*  Offset just past the empty line that ends a head at buf, or 0. */
static size_t s_head_end (const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/*  The Content-Length of a head, or -1 when absent or unreadable. */
static long long s_content_length (const char *head, size_t len)
{
    static const char name[] = "content-length:";
    const size_t nn = sizeof name - 1;
    for (size_t i = 0; i + nn < len; i++) {
        if ((i > 0 && head[i - 1] != '\n') || strncasecmp (head + i, name, nn) != 0)
            continue;
        size_t j = i + nn;
        while (j < len && (head[j] == ' ' || head[j] == '\t'))
            j++;
        long long v = -1;
        for (; j < len && head[j] >= '0' && head[j] <= '9'; j++)
            v = v < 0 ? head[j] - '0' : v < PH_HTTP_REPLY_MAX ? v * 10 + (head[j] - '0') : v;
        return v;
    }
    return -1;
}

typedef struct {
    char *buf;
    size_t have;
    size_t start;      /* of the current (non-interim so far) response */
    int status;        /* 0 until the final status line is read */
    size_t body_start; /* 0 until the final head is complete */
    long long length;  /* Content-Length of the final answer, -1 when none */
} s_reply_t;

/*  Advances over what has been read. Returns 1 when there is nothing more
 *  worth reading, 0 to read on, PH_EPROTO when the answer is not HTTP. */
static int s_reply_progress (s_reply_t *r)
{
    while (r->status == 0) {
        int st = ph_http_parse_status (r->buf + r->start, r->have - r->start);
        if (st <= 0)
            return st;
        if (st >= 200 || st == 101) {
            r->status = st;
            break;
        }
        size_t end = s_head_end (r->buf + r->start, r->have - r->start);
        if (end == 0) /* an interim 1xx: skipped once it is whole */
            return r->have == PH_HTTP_REPLY_MAX ? PH_EPROTO : 0;
        r->start += end;
    }
    if (r->body_start == 0) {
        size_t end = s_head_end (r->buf + r->start, r->have - r->start);
        if (end == 0)
            return r->have == PH_HTTP_REPLY_MAX;
        r->body_start = r->start + end;
        r->length = s_content_length (r->buf + r->start, end);
        if (r->status == 204 || r->status == 304 || r->status == 101)
            r->length = 0;
    }
    if (r->length >= 0 && (long long)(r->have - r->body_start) >= r->length)
        return 1;
    return r->have == PH_HTTP_REPLY_MAX;
}

/*  Reads the answer until s_reply_progress is done, the server closes or
 *  the deadline; returns the status or a negative PH_E* with err set. */
static int s_read_reply (int fd, uint64_t deadline, int timeout_ms, const char *peer, char *err,
                         size_t errlen)
{
    s_reply_t r = {.buf = malloc (PH_HTTP_REPLY_MAX), .length = -1};
    if (!r.buf) {
        ph_set_err (err, errlen, "out of memory");
        return PH_ENOMEM;
    }
    int rc = 0;
    char eb[128];
    while (rc == 0) {
        int w = s_wait (fd, POLLIN, deadline);
        if (w <= 0) {
            if (r.status == 0 && w == 0)
                ph_set_err (err, errlen, "no answer from %s within %d ms", peer, timeout_ms);
            else if (r.status == 0)
                ph_set_err (err, errlen, "waiting for %s: poll failed", peer);
            rc = r.status ? r.status : w == 0 ? PH_ETIMEOUT : PH_EIO;
            break;
        }
        ssize_t n = recv (fd, r.buf + r.have, PH_HTTP_REPLY_MAX - r.have, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0) { /* closed (or reset) by the server */
            if (r.status) {
                rc = r.status;
            } else if (n < 0) {
                ph_set_err (err, errlen, "reading from %s: %s", peer,
                            ph_errstr (errno, eb, sizeof eb));
                rc = PH_EIO;
            } else if (r.have == 0) {
                ph_set_err (err, errlen, "%s closed the connection without answering", peer);
                rc = PH_EIO;
            } else {
                ph_set_err (err, errlen,
                            "%s closed the connection in the middle of its status line", peer);
                rc = PH_EPROTO;
            }
            break;
        }
        r.have += (size_t)n;
        int p = s_reply_progress (&r);
        if (p < 0) {
            ph_set_err (err, errlen, "the answer from %s is not HTTP", peer);
            rc = PH_EPROTO;
        } else if (p > 0)
            rc = r.status ? r.status : PH_EPROTO;
    }
    free (r.buf);
    return rc;
}

int ph_http_post (const char *url, const char *content_type, const char *body, size_t len,
                  int timeout_ms, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    ph_http_url_t u;
    int rc = ph_http_url_parse (url, &u, err, errlen);
    if (rc != 0)
        return rc;
    if (timeout_ms <= 0 || (!body && len)) {
        ph_set_err (err, errlen, timeout_ms <= 0 ? "timeout must be positive" : "no body");
        return PH_EINVAL;
    }
    if (!content_type)
        content_type = S_DEFAULT_TYPE;
    size_t cn = strnlen (content_type, PH_HTTP_CONTENT_TYPE_MAX);
    for (size_t i = 0; i < cn; i++)
        if ((unsigned char)content_type[i] < 0x20 || content_type[i] == 0x7f) {
            cn = PH_HTTP_CONTENT_TYPE_MAX;
            break;
        }
    if (cn == 0 || cn >= PH_HTTP_CONTENT_TYPE_MAX) {
        ph_set_err (err, errlen, "content type is empty, too long or has control characters");
        return PH_EINVAL;
    }
    char head[S_REQUEST_HEAD_MAX];
    int hlen = s_request_head (&u, content_type, len, head, sizeof head);
    assert (hlen > 0); /* host, path and content type are bounded above */
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    char peer[S_PEER_MAX];
    int fd = s_connect (&u, deadline, peer, sizeof peer, err, errlen);
    if (fd < 0)
        return fd;
    rc = s_send_all (fd, head, (size_t)hlen, body, len, deadline, peer, err, errlen);
    if (rc == 0)
        rc = s_read_reply (fd, deadline, timeout_ms, peer, err, errlen);
    else if (rc == PH_EIO) {
        /* a server may answer early (413, 401) and close before taking the
           whole body: its status says more than our failed send */
        char ignored[64];
        int st = s_read_reply (fd, deadline, timeout_ms, peer, ignored, sizeof ignored);
        if (st >= 100)
            rc = st;
    }
    close (fd);
    return rc;
}
