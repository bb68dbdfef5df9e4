/*  Unit tests of common/ph_http.c: ph_http_post against a tiny loopback
 *  server run by a thread of the test, which records the request and then
 *  answers 204, 500, garbage, nothing (timeout), closes, keeps the
 *  connection open after a whole answer, sends 1 MiB, or an interim 100
 *  first; connection refused and connect timeouts; and tables for the URL
 *  and status-line parsers. */
#include "ph_errors.h"
#include "ph_http.h"
#include "ph_test.h"
#include "ph_util.h"
#include "ph_version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUEST_MAX (2u << 20)
#define SERVER_MS   5000 /* the test server gives up after this */
#define BIG_REPLY   (1u << 20)

typedef enum {
    M_204,       /* answer 204 and close */
    M_500,       /* answer 500 with a body and close */
    M_GARBAGE,   /* answer something that is not HTTP */
    M_SILENT,    /* answer nothing; wait for the client to go */
    M_CLOSE,     /* close without answering */
    M_KEEP_OPEN, /* a whole answer (Content-Length), then keep the connection */
    M_BIG,       /* 200 with a 1 MiB body */
    M_CONTINUE,  /* 100 Continue, then 202 */
    M_HALF_HEAD, /* a status line only, then nothing */
} mode_t_;

typedef struct {
    int listen_fd;
    int port;
    mode_t_ mode;
    pthread_t thread;
    char *request; /* what the client sent */
    size_t request_len;
} server_t;

/*  The last request received, kept after the server thread ends. */
static char s_request_buf[REQUEST_MAX];

static void s_send_all (int fd, const char *data, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send (fd, data + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the client went away: fine for M_BIG */
        sent += (size_t)n;
    }
}

static void s_send_str (int fd, const char *text)
{
    s_send_all (fd, text, strlen (text));
}

/*  Waits for the client to close (or SERVER_MS). */
static void s_wait_close (int fd)
{
    char buf[4096];
    uint64_t deadline = ph_mono_ms () + SERVER_MS;
    while (ph_mono_ms () < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll (&pfd, 1, 100) > 0 && recv (fd, buf, sizeof buf, 0) <= 0)
            return;
    }
}

/*  Reads one request: the head, then Content-Length bytes of body. */
static void s_read_request (server_t *s, int fd)
{
    uint64_t deadline = ph_mono_ms () + SERVER_MS;
    while (s->request_len < REQUEST_MAX - 1 && ph_mono_ms () < deadline) {
        s->request[s->request_len] = 0;
        const char *end = strstr (s->request, "\r\n\r\n");
        if (end) {
            const char *cl = strcasestr (s->request, "\r\nContent-Length: ");
            size_t want = (size_t)(end + 4 - s->request) + (cl ? strtoul (cl + 18, NULL, 10) : 0);
            if (s->request_len >= want)
                break;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll (&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = recv (fd, s->request + s->request_len, REQUEST_MAX - 1 - s->request_len, 0);
        if (n <= 0)
            break;
        s->request_len += (size_t)n;
    }
    s->request[s->request_len] = 0;
}

static void s_answer (server_t *s, int fd)
{
    static const char keep[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    switch (s->mode) {
    case M_204:
        s_send_str (fd, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        break;
    case M_500:
        s_send_str (fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nerror");
        break;
    case M_GARBAGE:
        s_send_str (fd, "SSH-2.0-OpenSSH_9.2\r\n");
        break;
    case M_SILENT:
    case M_CLOSE:
        break;
    case M_KEEP_OPEN:
        s_send_all (fd, keep, sizeof keep - 1);
        break;
    case M_BIG: {
        char head[64];
        snprintf (head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BIG_REPLY);
        s_send_str (fd, head);
        char *big = malloc (BIG_REPLY);
        memset (big, 'x', BIG_REPLY);
        s_send_all (fd, big, BIG_REPLY); /* stops when the client has had enough */
        free (big);
        break;
    }
    case M_CONTINUE:
        s_send_str (fd, "HTTP/1.1 100 Continue\r\n\r\n");
        s_send_str (fd, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
        break;
    case M_HALF_HEAD:
        s_send_str (fd, "HTTP/1.1 201 Created\r\n");
        break;
    }
}

static void *s_server_thread (void *arg)
{
    server_t *s = arg;
    struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN};
    if (poll (&pfd, 1, SERVER_MS) <= 0)
        return NULL;
    int fd = accept (s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    struct timeval tv = {.tv_sec = SERVER_MS / 1000};
    setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    s_read_request (s, fd);
    s_answer (s, fd);
    if (s->mode != M_CLOSE)
        s_wait_close (fd); /* the client closes first: no reset on it */
    close (fd);
    return NULL;
}

static int s_listen (int backlog, int *port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    CHECK (bind (fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK (listen (fd, backlog) == 0);
    CHECK (getsockname (fd, (struct sockaddr *)&sa, &sl) == 0);
    *port = ntohs (sa.sin_port);
    return fd;
}

static void s_server_start (server_t *s, mode_t_ mode)
{
    memset (s, 0, sizeof *s);
    s->mode = mode;
    s->request = s_request_buf;
    s->listen_fd = s_listen (8, &s->port);
    pthread_create (&s->thread, NULL, s_server_thread, s);
}

static void s_server_stop (server_t *s)
{
    pthread_join (s->thread, NULL);
    close (s->listen_fd);
}

/*  Posts {"a":1} to /hook on a server in mode; returns the result. */
static int s_post (server_t *s, mode_t_ mode, int timeout_ms, char *err, size_t errlen,
                   uint64_t *elapsed)
{
    char url[128];
    s_server_start (s, mode);
    snprintf (url, sizeof url, "http://127.0.0.1:%d/hook?x=1", s->port);
    uint64_t t0 = ph_mono_ms ();
    int rc = ph_http_post (url, "application/json", "{\"a\":1}", 7, timeout_ms, err, errlen);
    *elapsed = ph_mono_ms () - t0;
    s_server_stop (s);
    return rc;
}

/* ---------------------------------------------------------------------- */

static void s_test_answers (void)
{
    server_t s;
    char err[256], want[128];
    uint64_t ms;

    int rc = s_post (&s, M_204, 2000, err, sizeof err, &ms);
    CHECK (rc == 204);
    CHECK (strncmp (s.request, "POST /hook?x=1 HTTP/1.1\r\n", 25) == 0);
    snprintf (want, sizeof want, "\r\nHost: 127.0.0.1:%d\r\n", s.port);
    CHECK (strstr (s.request, want) != NULL);
    CHECK (strstr (s.request, "\r\nUser-Agent: porthole/" PH_VERSION "\r\n") != NULL);
    CHECK (strstr (s.request, "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK (strstr (s.request, "\r\nContent-Length: 7\r\n") != NULL);
    CHECK (strstr (s.request, "\r\nConnection: close\r\n") != NULL);
    const char *body = strstr (s.request, "\r\n\r\n");
    CHECK (body && strcmp (body + 4, "{\"a\":1}") == 0);

    CHECK (s_post (&s, M_500, 2000, err, sizeof err, &ms) == 500);
    CHECK (s_post (&s, M_CONTINUE, 2000, err, sizeof err, &ms) == 202);

    /* a whole answer ends the wait, even if the server keeps the connection */
    CHECK (s_post (&s, M_KEEP_OPEN, 3000, err, sizeof err, &ms) == 200);
    CHECK (ms < 1500);
    /* 64 KiB of a 1 MiB answer are enough */
    CHECK (s_post (&s, M_BIG, 3000, err, sizeof err, &ms) == 200);
    CHECK (ms < 1500);
    /* a status line and no more: the status, at the deadline */
    CHECK (s_post (&s, M_HALF_HEAD, 300, err, sizeof err, &ms) == 201);
    CHECK (ms >= 290);

    rc = s_post (&s, M_GARBAGE, 2000, err, sizeof err, &ms);
    CHECK (rc == PH_EPROTO);
    snprintf (want, sizeof want, "the answer from 127.0.0.1:%d is not HTTP", s.port);
    CHECK_STR (err, want);

    rc = s_post (&s, M_CLOSE, 2000, err, sizeof err, &ms);
    CHECK (rc == PH_EIO);
    snprintf (want, sizeof want, "127.0.0.1:%d closed the connection without answering", s.port);
    CHECK_STR (err, want);

    rc = s_post (&s, M_SILENT, 300, err, sizeof err, &ms);
    CHECK (rc == PH_ETIMEOUT);
    snprintf (want, sizeof want, "no answer from 127.0.0.1:%d within 300 ms", s.port);
    CHECK_STR (err, want);
    CHECK (ms >= 290 && ms < 2000);
}

/*  A 1 MiB body (many partial sends), a NULL content type, a name that
 *  resolves (possibly to ::1 first, which refuses: the next address is
 *  tried). */
static void s_test_request_forms (void)
{
    server_t s;
    char url[128], err[256], want[64];
    size_t len = 1u << 20;
    char *body = malloc (len);
    for (size_t i = 0; i < len; i++)
        body[i] = (char)('0' + i % 10);
    s_server_start (&s, M_204);
    snprintf (url, sizeof url, "http://localhost:%d", s.port);
    int rc = ph_http_post (url, NULL, body, len, 5000, err, sizeof err);
    s_server_stop (&s);
    CHECK (rc == 204);
    CHECK (strncmp (s.request, "POST / HTTP/1.1\r\n", 17) == 0);
    snprintf (want, sizeof want, "\r\nHost: localhost:%d\r\n", s.port);
    CHECK (strstr (s.request, want) != NULL);
    CHECK (strstr (s.request, "\r\nContent-Type: application/octet-stream\r\n") != NULL);
    CHECK (strstr (s.request, "\r\nContent-Length: 1048576\r\n") != NULL);
    const char *got = strstr (s.request, "\r\n\r\n");
    CHECK (got && s.request_len - (size_t)(got + 4 - s.request) == len);
    CHECK (got && memcmp (got + 4, body, len) == 0);
    free (body);

    /* an empty body */
    s_server_start (&s, M_204);
    snprintf (url, sizeof url, "http://127.0.0.1:%d/empty", s.port);
    rc = ph_http_post (url, "text/plain", NULL, 0, 2000, err, sizeof err);
    s_server_stop (&s);
    CHECK (rc == 204);
    CHECK (strstr (s.request, "\r\nContent-Length: 0\r\n") != NULL);
}

static void s_test_failures (void)
{
    char url[128], err[256], want[128];
    int port;
    /* a port nobody listens on */
    int fd = s_listen (1, &port);
    close (fd);
    snprintf (url, sizeof url, "http://127.0.0.1:%d/", port);
    int rc = ph_http_post (url, "text/plain", "x", 1, 2000, err, sizeof err);
    CHECK (rc == PH_EIO);
    snprintf (want, sizeof want, "connect to 127.0.0.1:%d: Connection refused", port);
    CHECK_STR (err, want);

    /* a listener whose backlog is full drops SYNs: connect hangs */
    fd = s_listen (0, &port);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
        sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        connect (fillers[i], (struct sockaddr *)&sa, sizeof sa);
    }
    snprintf (url, sizeof url, "http://127.0.0.1:%d/", port);
    uint64_t t0 = ph_mono_ms ();
    rc = ph_http_post (url, "text/plain", "x", 1, 300, err, sizeof err);
    uint64_t ms = ph_mono_ms () - t0;
    CHECK (rc == PH_ETIMEOUT);
    snprintf (want, sizeof want, "connect to 127.0.0.1:%d: timed out", port);
    CHECK_STR (err, want);
    CHECK (ms >= 290 && ms < 2000);
    for (int i = 0; i < 4; i++)
        close (fillers[i]);
    close (fd);

    /* refused before any connection */
    rc = ph_http_post ("https://hooks.example.com/x", "text/plain", "x", 1, 1000, err, sizeof err);
    CHECK (rc == PH_EINVAL);
    CHECK (strstr (err, "https:// is not supported yet") != NULL);
    CHECK (ph_http_post ("http://127.0.0.1:9/", "text/plain", "x", 1, 0, err, sizeof err) ==
           PH_EINVAL);
    CHECK (ph_http_post ("http://127.0.0.1:9/", "text/plain", NULL, 1, 100, err, sizeof err) ==
           PH_EINVAL);
    CHECK (ph_http_post ("http://127.0.0.1:9/", "text/plain\r\nX-Evil: 1", "x", 1, 100, err,
                         sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "content type") != NULL);
    CHECK (ph_http_post ("http://127.0.0.1:9/", "", "x", 1, 100, err, sizeof err) == PH_EINVAL);
    /* err may be NULL */
    CHECK (ph_http_post ("ftp://x/", NULL, NULL, 0, 100, NULL, 0) == PH_EINVAL);
}

/* ---------------------------------------------------------------------- */
/*  URL parser table                                                      */

typedef struct {
    const char *url;
    const char *host; /* NULL: an error whose text contains err */
    int port;
    const char *path;
    const char *err;
} url_row_t;

static const url_row_t s_urls[] = {
    {"http://example.com", "example.com", 80, "/", NULL},
    {"http://example.com/", "example.com", 80, "/", NULL},
    {"HTTP://Example.COM:8080/a/b?c=d&e", "Example.COM", 8080, "/a/b?c=d&e", NULL},
    {"http://127.0.0.1:9093/api/v2/alerts", "127.0.0.1", 9093, "/api/v2/alerts", NULL},
    {"http://[::1]:8080/x?y=1", "::1", 8080, "/x?y=1", NULL},
    {"http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", 80, "/", NULL},
    {"http://h?q=1", "h", 80, "/?q=1", NULL},
    {"http://h:65535", "h", 65535, "/", NULL},
    {"http://h:00080/", "h", 80, "/", NULL},
    {"http://my_host.local-1/%20x/{a}", "my_host.local-1", 80, "/%20x/{a}", NULL},
    {"https://example.com/", NULL, 0, NULL, "https:// is not supported yet"},
    {"HTTPS://example.com/", NULL, 0, NULL, "https:// is not supported yet"},
    {"ftp://x/", NULL, 0, NULL, "must start with http://"},
    {"example.com/hook", NULL, 0, NULL, "must start with http://"},
    {"http:/x", NULL, 0, NULL, "must start with http://"},
    {"", NULL, 0, NULL, "empty"},
    {NULL, NULL, 0, NULL, "empty"},
    {"http://", NULL, 0, NULL, "no host"},
    {"http:///path", NULL, 0, NULL, "no host"},
    {"http://:80/", NULL, 0, NULL, "no host"},
    {"http://?q", NULL, 0, NULL, "no host"},
    {"http://user:pw@h/", NULL, 0, NULL, "user info"},
    {"http://@h/", NULL, 0, NULL, "user info"},
    {"http://h/a@b", "h", 80, "/a@b", NULL}, /* '@' in the path is fine */
    {"http://h/#frag", NULL, 0, NULL, "fragment"},
    {"http://h#", NULL, 0, NULL, "fragment"},
    {"http://h/a b", NULL, 0, NULL, "space"},
    {"http://h /", NULL, 0, NULL, "space"},
    {"http://h/\x01", NULL, 0, NULL, "control character"},
    {"http://h/\t", NULL, 0, NULL, "control character"},
    {"http://h/\r\nX: y", NULL, 0, NULL, "control character"},
    {"http://h/\x7f", NULL, 0, NULL, "control character"},
    {"http://h/\xc3\xa9", NULL, 0, NULL, "non-ASCII"},
    {"http://h:0/", NULL, 0, NULL, "outside 1..65535"},
    {"http://h:65536/", NULL, 0, NULL, "outside 1..65535"},
    {"http://h:99999999999999999999999/", NULL, 0, NULL, "outside 1..65535"},
    {"http://h:abc/", NULL, 0, NULL, "not a number"},
    {"http://h:-1/", NULL, 0, NULL, "not a number"},
    {"http://h:1:2/", NULL, 0, NULL, "not a number"},
    {"http://h:/", NULL, 0, NULL, "empty port"},
    {"http://[::1/", NULL, 0, NULL, "closing ']'"},
    {"http://[::1]x/", NULL, 0, NULL, "after the IPv6 address"},
    {"http://[abc]/", NULL, 0, NULL, "not an IPv6 address"},
    {"http://[]/", NULL, 0, NULL, "no host"},
    {"http://[g::1]/", NULL, 0, NULL, "'g'"},
    {"http://ho%st/", NULL, 0, NULL, "'%'"},
    {"http://h,i/", NULL, 0, NULL, "','"},
};

static void s_check_url (const url_row_t *r, size_t i)
{
    ph_http_url_t u;
    char err[256] = "";
    int rc = ph_http_url_parse (r->url, &u, err, sizeof err);
    if (r->host) {
        if (rc != 0)
            fprintf (stderr, "url row %zu: %s\n", i, err);
        CHECK (rc == 0);
        CHECK_STR (u.host, r->host);
        CHECK (u.port == r->port);
        CHECK_STR (u.path, r->path);
    } else {
        CHECK (rc == PH_EINVAL);
        if (!strstr (err, r->err))
            fprintf (stderr, "url row %zu: '%s' lacks '%s'\n", i, err, r->err);
        CHECK (strstr (err, r->err) != NULL);
        CHECK (u.host[0] == 0 && u.path[0] == 0 && u.port == 0);
    }
}

static void s_test_url_table (void)
{
    for (size_t i = 0; i < sizeof s_urls / sizeof s_urls[0]; i++)
        s_check_url (&s_urls[i], i);

    /* length limits: host 255, path 2047 */
    ph_http_url_t u;
    char err[256];
    char *url = malloc (8192);
    int n = snprintf (url, 8192, "http://");
    memset (url + n, 'h', 255);
    strcpy (url + n + 255, "/p");
    CHECK (ph_http_url_parse (url, &u, err, sizeof err) == 0);
    CHECK (strlen (u.host) == 255);
    memset (url + n, 'h', 256);
    strcpy (url + n + 256, "/p");
    CHECK (ph_http_url_parse (url, &u, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "host is too long") != NULL);
    n = snprintf (url, 8192, "http://h");
    memset (url + n, '/', 2047);
    url[n + 2047] = 0;
    CHECK (ph_http_url_parse (url, &u, err, sizeof err) == 0);
    CHECK (strlen (u.path) == 2047);
    strcpy (url + n + 2047, "/");
    CHECK (ph_http_url_parse (url, &u, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "path is too long") != NULL);
    /* "?q" gains a "/": 2047 bytes of query is one too many */
    n = snprintf (url, 8192, "http://h?");
    memset (url + n, 'q', 2046);
    url[n + 2046] = 0;
    CHECK (ph_http_url_parse (url, &u, err, sizeof err) == PH_EINVAL);
    free (url);
    /* err may be NULL or tiny */
    CHECK (ph_http_url_parse ("x", &u, NULL, 0) == PH_EINVAL);
    CHECK (ph_http_url_parse ("x", &u, err, 4) == PH_EINVAL);
    CHECK (strlen (err) == 3);
}

/* ---------------------------------------------------------------------- */
/*  Status-line parser table                                              */

typedef struct {
    const char *line;
    int expect;
} status_row_t;

static const status_row_t s_statuses[] = {
    {"HTTP/1.1 204 No Content\r\n", 204},
    {"HTTP/1.0 200 OK\n", 200},
    {"HTTP/1.1 500\r\n", 500},
    {"HTTP/1.1 404 \r\n", 404},
    {"HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n", 599},
    {"HTTP/1.1 100 Continue\r\n", 100},
    {"HTTP/1.1 200 \xc3\xa9t\xc3\xa9\r\n", 200},
    {"HTTP/1.1 200 a\tb\r\n", 200},
    {"HTTP/2.0 200 OK\r\n", 200},
    {"", 0},
    {"H", 0},
    {"HTTP/1.1", 0},
    {"HTTP/1.1 2", 0},
    {"HTTP/1.1 204", 0},
    {"HTTP/1.1 204 No Content", 0},
    {"HTTP/1.1 204 No Content\r", 0},
    {"HTTX", PH_EPROTO},
    {"http/1.1 200 OK\r\n", PH_EPROTO},
    {"HTTP/1.1 20 OK\r\n", PH_EPROTO},
    {"HTTP/1.1 2045 x\r\n", PH_EPROTO},
    {"HTTP/1.1 600 x\r\n", PH_EPROTO},
    {"HTTP/1.1 099 x\r\n", PH_EPROTO},
    {"HTTP/1.1 099", PH_EPROTO},
    {"HTTP/1.1  204\r\n", PH_EPROTO},
    {"HTTP/11 200 OK\r\n", PH_EPROTO},
    {"HTTP/1.1 200OK\r\n", PH_EPROTO},
    {"HTTP/1.1 200 O\x01K\r\n", PH_EPROTO},
    {"HTTP/1.1 200 O\rK\r\n", PH_EPROTO},
    {"HTTP/1.1 200 OK\x7f\r\n", PH_EPROTO},
    {"SSH-2.0-OpenSSH_9.2\r\n", PH_EPROTO},
    {"\r\nHTTP/1.1 200 OK\r\n", PH_EPROTO},
};

static void s_test_status_table (void)
{
    for (size_t i = 0; i < sizeof s_statuses / sizeof s_statuses[0]; i++) {
        size_t n = strlen (s_statuses[i].line);
        char *copy = malloc (n + 1); /* exact size: ASan sees any overread */
        memcpy (copy, s_statuses[i].line, n);
        int rc = ph_http_parse_status (copy, n);
        if (rc != s_statuses[i].expect)
            fprintf (stderr, "status row %zu: got %d, want %d\n", i, rc, s_statuses[i].expect);
        CHECK (rc == s_statuses[i].expect);
        free (copy);
    }
    /* a long reason: fine until the line limit, refused past it */
    char *line = malloc (PH_HTTP_STATUS_LINE_MAX + 8);
    memcpy (line, "HTTP/1.1 200 ", 13);
    memset (line + 13, 'r', PH_HTTP_STATUS_LINE_MAX - 13);
    CHECK (ph_http_parse_status (line, PH_HTTP_STATUS_LINE_MAX - 1) == 0);
    CHECK (ph_http_parse_status (line, PH_HTTP_STATUS_LINE_MAX) == PH_EPROTO);
    line[PH_HTTP_STATUS_LINE_MAX - 1] = '\n';
    CHECK (ph_http_parse_status (line, PH_HTTP_STATUS_LINE_MAX) == 200);
    free (line);
    CHECK (ph_http_parse_status (NULL, 0) == 0);
}

int main (void)
{
    s_test_status_table ();
    s_test_url_table ();
    s_test_answers ();
    s_test_request_forms ();
    s_test_failures ();
    PH_TEST_END ();
}
