/*  ph_util: see ph_util.h. */
#include "ph_util.h"
#include "ph_errors.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t ph_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t ph_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ph_parse_uint (const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    if (!text || !isdigit ((unsigned char)*text))
        return PH_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || *end || v < min || v > max)
        return PH_EINVAL;
    *value = v;
    return 0;
}

int ph_parse_duration (const char *text, uint64_t *seconds)
{
    if (!text || !isdigit ((unsigned char)*text))
        return PH_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || v > 100ULL * 365 * 86400)
        return PH_EINVAL;
    uint64_t mult = 1;
    if (*end == 's' || *end == 0)
        mult = 1;
    else if (*end == 'm')
        mult = 60;
    else if (*end == 'h')
        mult = 3600;
    else if (*end == 'd')
        mult = 86400;
    else
        return PH_EINVAL;
    if (*end && end[1])
        return PH_EINVAL;
    *seconds = v * mult;
    return 0;
}

int ph_parse_bool (const char *text, bool *value)
{
    static const char *yes[] = {"true", "yes", "1", "on"};
    static const char *no[] = {"false", "no", "0", "off"};
    for (size_t i = 0; text && i < 4; i++) {
        if (strcasecmp (text, yes[i]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp (text, no[i]) == 0) {
            *value = false;
            return 0;
        }
    }
    return PH_EINVAL;
}

static bool s_tag_key_char (char c)
{
    return isalnum ((unsigned char)c) || strchr ("_.:/+-@", c);
}

static int s_parse_one_tag (const char *p, size_t n, ph_tag_t *tag, char *err, size_t errlen)
{
    const char *eq = memchr (p, '=', n);
    if (!eq) {
        snprintf (err, errlen, "tag '%.*s' has no '=': write key=value", (int)n, p);
        return PH_EINVAL;
    }
    size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
    if (klen == 0 || klen > PH_TAG_KEY_MAX || vlen > PH_TAG_VALUE_MAX) {
        snprintf (err, errlen, "tag '%.*s': key must be 1..%d and value 0..%d characters", (int)n,
                  p, PH_TAG_KEY_MAX, PH_TAG_VALUE_MAX);
        return PH_EINVAL;
    }
    for (size_t i = 0; i < klen; i++)
        if (!s_tag_key_char (p[i])) {
            snprintf (err, errlen, "tag key '%.*s' may hold only letters, digits and _.:/+-@",
                      (int)klen, p);
            return PH_EINVAL;
        }
    if (memchr (eq + 1, '=', vlen) || !ph_utf8_valid (eq + 1, vlen)) {
        snprintf (err, errlen, "tag value '%.*s' may not hold '=' and must be UTF-8", (int)vlen,
                  eq + 1);
        return PH_EINVAL;
    }
    memcpy (tag->key, p, klen);
    tag->key[klen] = 0;
    memcpy (tag->value, eq + 1, vlen);
    tag->value[vlen] = 0;
    return 0;
}

int ph_parse_tags (const char *text, ph_tag_t *tags, size_t max, char *err, size_t errlen)
{
    size_t count = 0;
    const char *p = text;
    if (!text || !*text)
        return 0;
    while (*p) {
        const char *comma = strchr (p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen (p);
        if (count == max) {
            snprintf (err, errlen, "too many tags: at most %zu", max);
            return PH_EINVAL;
        }
        if (s_parse_one_tag (p, n, &tags[count], err, errlen))
            return PH_EINVAL;
        for (size_t i = 0; i < count; i++)
            if (strcmp (tags[i].key, tags[count].key) == 0) {
                snprintf (err, errlen, "tag key '%s' given twice", tags[i].key);
                return PH_EINVAL;
            }
        count++;
        p += n;
        if (*p == ',')
            p++;
    }
    return (int)count;
}

bool ph_utf8_valid (const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else
            return false;
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

bool ph_name_valid (const char *name)
{
    size_t n = name ? strlen (name) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum ((unsigned char)name[i]) && !strchr ("_.@-", name[i]))
            return false;
    return true;
}

void ph_set_err (char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
}

const char *ph_errstr (int e, char *buf, size_t len)
{
    return strerror_r (e, buf, len);
}

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ph_base64_encode (const void *data, size_t len, char *out)
{
    const uint8_t *p = data;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = s_b64[v >> 18];
        out[o++] = s_b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? s_b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? s_b64[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

static int s_b64_value (char c)
{
    const char *at = c ? strchr (s_b64, c) : NULL;
    return at ? (int)(at - s_b64) : -1;
}

long ph_base64_decode (const char *text, size_t len, uint8_t *out)
{
    if (len % 4 != 0)
        return PH_EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = k >= 4 - pad ? 0 : s_b64_value (text[i + k]);
            if (v[k] < 0)
                return PH_EINVAL;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return PH_EINVAL; /* non-canonical spare bits */
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)w;
    }
    return (long)o;
}

int ph_unhex (const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return PH_EINVAL;
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

bool ph_log_name_valid (const char *name)
{
    size_t n = name ? strlen (name) : 0;
    return n >= 1 && n <= PH_LOG_NAME_MAX &&
           strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/#") ==
               n;
}

bool ph_instance_id_valid (const char *id)
{
    if (!id || strncmp (id, "mi-", 3) != 0 || strlen (id) != 20)
        return false;
    for (int i = 3; i < 20; i++)
        if (!isdigit ((unsigned char)id[i]) && !(id[i] >= 'a' && id[i] <= 'f'))
            return false;
    return true;
}

int ph_file_write (const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[4096];
    if (snprintf (tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid ()) >= (int)sizeof tmp)
        return PH_EIO;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return PH_EIO;
    fchmod (fd, mode);
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write (fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out_unlink;
        p += w;
        left -= (size_t)w;
    }
    if (fsync (fd) != 0)
        goto out_unlink;
    close (fd);
    if (rename (tmp, path) != 0) {
        unlink (tmp);
        return PH_EIO;
    }
    return 0;
out_unlink:
    close (fd);
    unlink (tmp);
    return PH_EIO;
}

char *ph_file_read (const char *path, size_t max, size_t *len)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc (max + 1);
    size_t n = buf ? fread (buf, 1, max + 1, f) : 0;
    fclose (f);
    if (!buf || n > max) {
        free (buf);
        return NULL;
    }
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

int ph_mkdir_p (const char *path, unsigned mode)
{
    char buf[4096];
    if (snprintf (buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return PH_EIO;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir (buf, mode) != 0 && errno != EEXIST)
            return PH_EIO;
        *p = '/';
    }
    if (mkdir (buf, mode) != 0 && errno != EEXIST)
        return PH_EIO;
    return 0;
}

void ph_format_time (uint64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    snprintf (buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}
