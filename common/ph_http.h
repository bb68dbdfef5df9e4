/*  ph_http: a blocking HTTP/1.1 client that POSTs one request and reads the
 *  status of the answer, for webhook deliveries (alarm notifications).
 *
 *  Plain http:// only; https:// is refused with a clear error for now.
 *  Every call blocks its thread (DNS, connect, send, receive), bounded by a
 *  timeout except for name resolution, which is the system resolver's: call
 *  it from an actor thread (STYLE.md habit 10), never from a reactor
 *  handler. No retries here: the caller retries with its own backoff.
 *  Thread-safe: no shared state.
 */
#ifndef PH_HTTP_H
#define PH_HTTP_H

#include <stddef.h>

#define PH_HTTP_REPLY_MAX        65536 /* bytes of an answer read (status line, headers, body) */
#define PH_HTTP_CONTENT_TYPE_MAX 256   /* longest Content-Type sent */

typedef struct {
    char host[256];
    int port;
    char path[2048];
} ph_http_url_t;

/* Parses http://host[:port][/path?query]; refuses https (PH_EINVAL with "https:// is not supported
   yet"), userinfo, fragments, spaces, control chars, ports outside 1..65535. err says what. */
/*  host is a name, an IPv4 address or a bracketed IPv6 literal (stored
 *  without its brackets); port defaults to 80; path defaults to "/" and
 *  keeps its "?query" (a bare "?q" becomes "/?q"). Non-ASCII bytes are
 *  refused too (they must be percent-encoded). Returns 0 or PH_EINVAL; out
 *  is zeroed first. */
int ph_http_url_parse (const char *url, ph_http_url_t *out, char *err, size_t errlen);

/* POSTs body (content_type) to url; waits at most timeout_ms in total (connect, send, receive).
   Returns the HTTP status (100..599) or a negative PH_E* (PH_ETIMEOUT, PH_EIO, PH_EINVAL, PH_EPROTO
   for a reply that is not HTTP), with err describing it ("connect to 127.0.0.1:9: Connection
   refused"). Reads the status line and drains at most 64 KiB of the answer. */
/*  Sends Host, User-Agent (porthole/PH_VERSION), Content-Type (NULL:
 *  application/octet-stream), Content-Length and Connection: close. Every
 *  address the name resolves to is tried in turn within the same deadline.
 *  Interim 1xx answers are skipped. Once the status is known, the answer
 *  is read until its Content-Length is complete, the server closes, 64 KiB
 *  were read or the deadline passes, and the status is returned in each
 *  case. body may be NULL when len is 0. */
int ph_http_post (const char *url, const char *content_type, const char *body, size_t len,
                  int timeout_ms, char *err, size_t errlen);

/* The status-line parser, exported for the fuzzer: "HTTP/1.1 204 No Content\r\n" -> 204. */
/*  Looks at the start of buf (len bytes): returns the status (100..599)
 *  once a whole "HTTP/d.d ddd[ reason]" line (CRLF or LF) is there; 0 when
 *  what is there is a valid beginning of one; PH_EPROTO otherwise (not
 *  HTTP, a bad status code, control characters, a line longer than
 *  PH_HTTP_STATUS_LINE_MAX). Pure; never reads past len. */
#define PH_HTTP_STATUS_LINE_MAX 1024
int ph_http_parse_status (const char *buf, size_t len);

#endif
