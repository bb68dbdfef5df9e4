/*  ph_httpd: a small HTTP/1.x server on a zloop, for loopback endpoints such
 *  as the logshipper's Prometheus GET /metrics.
 *
 *  One request per connection: every answer carries Content-Length and
 *  Connection: close, then the server closes (after draining what the
 *  client still sends, so that the client sees the answer rather than a
 *  reset). GET and HEAD go to the handler; any other method gets 405, a
 *  malformed head 400, a head over PH_HTTPD_HEAD_MAX bytes 431. A client
 *  that has not sent its whole head within PH_HTTPD_HEAD_TIMEOUT_MS is
 *  dropped; past PH_HTTPD_CONN_MAX open connections, new ones are accepted
 *  and closed at once. Sockets are non-blocking: nothing here ever blocks
 *  the reactor, and a misbehaving client costs one connection slot at most
 *  for a bounded time.
 */
#ifndef PH_HTTPD_H
#define PH_HTTPD_H

#include <czmq.h>
#include <stddef.h>

#define PH_HTTPD_HEAD_MAX         8192  /* request line + header fields + empty line */
#define PH_HTTPD_CONN_MAX         64    /* open connections; more are accepted and closed */
#define PH_HTTPD_HEAD_TIMEOUT_MS  5000  /* to send the whole request head */
#define PH_HTTPD_WRITE_TIMEOUT_MS 10000 /* for the client to take the whole answer */
#define PH_HTTPD_METHOD_MAX       16    /* longest method token kept (GET/HEAD need 5) */

typedef struct _ph_httpd_t ph_httpd_t;

/* The handler fills *body (heap, the server frees it) and *content_type (static) for a GET of path;
   returns the status (200, 404, ...). Called on the reactor thread; must not block. */
typedef int (ph_httpd_fn) (const char *method, const char *path, char **body, size_t *len,
                           const char **content_type, void *arg);

/*  More on the handler contract: method is "GET" or "HEAD" (for HEAD the
 *  server sends the headers of the GET answer, Content-Length included,
 *  without the body). path is the request target's path as sent (not
 *  percent-decoded), without its "?query". *body starts NULL and *len 0;
 *  the server takes ownership of a non-NULL *body (it calls free). A NULL
 *  *body gets a short text body naming the status; a NULL *content_type
 *  means "text/plain; charset=utf-8". A status outside 200..599 is a bug of
 *  the handler and is answered 500. */

/* Binds host:port (host "127.0.0.1" by default; port 0 = any free port; *bound_port gets it), adds
   the listening fd and each connection to loop. Returns NULL with err on failure. */
/*  host must be a numeric IPv4 or IPv6 address (so that nothing resolves
 *  names); bound_port may be NULL. The server lives on loop until
 *  destroyed. */
ph_httpd_t *ph_httpd_new (zloop_t *loop, const char *host, int port, ph_httpd_fn *fn, void *arg,
                          int *bound_port, char *err, size_t errlen);

/*  Closes the listening socket and every connection, and takes them and
 *  their timers off the loop. Call it when the loop is not running, or from
 *  a reader/poller handler of the loop (not from a timer handler that goes
 *  on with the loop: zloop would then still dispatch this iteration's
 *  events to the freed connections). Accepts NULL; sets *self_p to NULL. */
void ph_httpd_destroy (ph_httpd_t **self_p);

/*  Parses the request head at the start of buf (len bytes): request line,
 *  header fields, empty line; CRLF or bare LF line ends; empty lines before
 *  the request line are skipped. Returns the bytes consumed (> 0, up to and
 *  including the empty line) when the head is complete and valid, with the
 *  method (mlen bytes) and the path (plen bytes, the "?query" dropped; an
 *  absolute-form "http://host/p" target gives "/p") written NUL-terminated;
 *  0 when the head is not complete yet and nothing seen so far is wrong;
 *  PH_EPROTO when it is malformed (bad request line, version other than
 *  HTTP/1.x, control characters, obs-folded or nameless header fields, an
 *  HTTP/1.1 request without exactly one Host); PH_ETOOBIG when the method
 *  or the path does not fit its buffer. Pure; never reads past len. */
int ph_httpd_parse_head (const char *buf, size_t len, char *method, size_t mlen, char *path,
                         size_t plen);

#endif
