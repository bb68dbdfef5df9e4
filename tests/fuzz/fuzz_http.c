/*  libFuzzer target: the HTTP parsers that see bytes from peers or users:
 *  ph_httpd_parse_head (request heads from any local client),
 *  ph_http_parse_status (answers from webhook receivers) and
 *  ph_http_url_parse (webhook URLs typed by users). Besides memory errors,
 *  it checks the contracts: a complete head is consumed within its length
 *  with NUL-terminated fields that fit their buffers, and a parsed URL
 *  satisfies the promises its caller relies on. */
#include "ph_errors.h"
#include "ph_http.h"
#include "ph_httpd.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void s_head (const char *buf, size_t size, size_t mlen, size_t plen)
{
    /* exact-size buffers: ASan sees any write past them */
    char *method = malloc (mlen), *path = malloc (plen);
    int rc = ph_httpd_parse_head (buf, size, method, mlen, path, plen);
    assert (rc <= (int)size);
    assert (rc == 0 || rc > 0 || rc == PH_EPROTO || rc == PH_ETOOBIG);
    if (rc > 0) {
        assert (strlen (method) < mlen && strlen (method) > 0);
        assert (strlen (path) < plen && strlen (path) > 0);
        assert (memchr (path, '?', strlen (path)) == NULL);
        /* a prefix that ends before the head's last byte is never complete */
        int again = ph_httpd_parse_head (buf, (size_t)rc - 1, method, mlen, path, plen);
        assert (again <= 0);
    }
    free (method);
    free (path);
}

static void s_status (const char *buf, size_t size)
{
    int rc = ph_http_parse_status (buf, size);
    assert (rc == 0 || rc == PH_EPROTO || (rc >= 100 && rc <= 599));
    if (rc >= 100)
        assert (memchr (buf, '\n', size) != NULL);
}

static void s_url (const char *text)
{
    ph_http_url_t u;
    char err[128];
    if (ph_http_url_parse (text, &u, err, sizeof err) != 0)
        return;
    assert (u.port >= 1 && u.port <= 65535);
    assert (u.host[0] && u.path[0] == '/');
    for (const char *p = u.path; *p; p++)
        assert ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '#');
    for (const char *p = u.host; *p; p++)
        assert (*p != '@' && *p != '/' && *p != ' ');
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /* an exact-size copy without a NUL for the length-bounded parsers */
    char *buf = malloc (size ? size : 1);
    memcpy (buf, data, size);
    s_head (buf, size, PH_HTTPD_METHOD_MAX, PH_HTTPD_HEAD_MAX + 1);
    s_head (buf, size, 4, 8); /* small buffers: the PH_ETOOBIG paths */
    s_status (buf, size);
    free (buf);

    char *text = malloc (size + 1);
    memcpy (text, data, size);
    text[size] = 0;
    s_url (text);
    free (text);
    return 0;
}
