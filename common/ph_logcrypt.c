/*  ph_logcrypt: see ph_logcrypt.h. */
#include "ph_logcrypt.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MASTER_HEX   (2 * PH_AEAD_KEY_LEN)
#define S_MASTER_MAX   128 /* bytes read from the key file */
#define S_KCV_TEXT     "porthole master key check"
#define S_AAD_DATA_KEY "porthole-data-key"
#define S_AAD_LOG      "porthole-log"
#define S_NAME_MAX     512
#define S_AAD_MAX      (sizeof S_AAD_LOG + 2 * (S_NAME_MAX + 1))

int ph_logcrypt_master_load (const char *path, uint8_t key[PH_AEAD_KEY_LEN], char *err,
                             size_t errlen)
{
    size_t len = 0;
    char *text = ph_file_read (path, S_MASTER_MAX, &len);
    if (!text) {
        snprintf (err, errlen,
                  "cannot read the log master key %s; create one with porthole-logshipper "
                  "master-keygen %s and give the same file to every logshipper",
                  path, path);
        return PH_ENOENT;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = 0;
    int rc = len == S_MASTER_HEX ? ph_unhex (text, key, PH_AEAD_KEY_LEN) : PH_EINVAL;
    free (text);
    if (rc != 0)
        snprintf (err, errlen, "%s is not a log master key (64 hex digits expected)", path);
    return rc;
}

int ph_logcrypt_master_create (const char *path, char *err, size_t errlen)
{
    uint8_t key[PH_AEAD_KEY_LEN];
    char hex[S_MASTER_HEX + 2];
    if (ph_random_bytes (key, sizeof key) != 0) {
        snprintf (err, errlen, "no random bytes for a master key");
        return PH_EIO;
    }
    ph_hex (key, sizeof key, hex);
    strcat (hex, "\n");
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf (err, errlen, "cannot create %s: %s%s", path, strerror (errno),
                  errno == EEXIST ? " (a master key is never overwritten: the data it "
                                    "encrypted would be lost)"
                                  : "");
        return errno == EEXIST ? PH_EINVAL : PH_EIO;
    }
    ssize_t n = write (fd, hex, strlen (hex));
    int rc = (n == (ssize_t)strlen (hex) && fsync (fd) == 0) ? 0 : PH_EIO;
    close (fd);
    if (rc != 0) {
        snprintf (err, errlen, "cannot write %s: %s", path, strerror (errno));
        unlink (path);
    }
    return rc;
}

void ph_logcrypt_kcv (const uint8_t master[PH_AEAD_KEY_LEN], char *out)
{
    uint8_t mac[PH_SHA256_LEN];
    ph_hmac_sha256 (master, PH_AEAD_KEY_LEN, S_KCV_TEXT, strlen (S_KCV_TEXT), mac);
    ph_hex (mac, PH_LOGCRYPT_KCV_LEN / 2, out);
}

/*  "label\0a[\0b]": the associated data that binds a box to its place. */
static size_t s_aad (char *out, const char *label, const char *a, const char *b)
{
    size_t la = strnlen (a, S_NAME_MAX), n = strlen (label) + 1;
    memcpy (out, label, n);
    memcpy (out + n, a, la);
    n += la;
    if (b) {
        size_t lb = strnlen (b, S_NAME_MAX);
        out[n++] = 0;
        memcpy (out + n, b, lb);
        n += lb;
    }
    return n;
}

/*  prefix + base64(seal(key, aad, data)), or NULL. */
static char *s_seal_text (const uint8_t key[PH_AEAD_KEY_LEN], const char *aad, size_t aadlen,
                          const char *prefix, const void *data, size_t len)
{
    size_t plen = strlen (prefix), boxlen = len + PH_AEAD_OVERHEAD;
    uint8_t *box = malloc (boxlen);
    char *text = malloc (plen + PH_BASE64_LEN (boxlen));
    if (!box || !text || ph_aead_seal (key, aad, aadlen, data, len, box) != 0) {
        free (box);
        free (text);
        return NULL;
    }
    memcpy (text, prefix, plen);
    ph_base64_encode (box, boxlen, text + plen);
    free (box);
    return text;
}

/*  Opens prefix + base64 into a heap buffer (NUL-terminated) of *len bytes. */
static uint8_t *s_open_text (const uint8_t key[PH_AEAD_KEY_LEN], const char *aad, size_t aadlen,
                             const char *prefix, const char *text, size_t *len, int *rc)
{
    size_t plen = strlen (prefix);
    *rc = PH_EINVAL;
    if (strncmp (text, prefix, plen) != 0)
        return NULL;
    size_t tlen = strlen (text + plen);
    uint8_t *box = malloc (tlen / 4 * 3 + 1);
    uint8_t *out = malloc (tlen / 4 * 3 + 1);
    long boxlen = box ? ph_base64_decode (text + plen, tlen, box) : PH_EINVAL;
    if (!out || boxlen < PH_AEAD_OVERHEAD)
        goto out_fail;
    *rc = ph_aead_open (key, aad, aadlen, box, (size_t)boxlen, out);
    if (*rc != 0)
        goto out_fail;
    *len = (size_t)boxlen - PH_AEAD_OVERHEAD;
    out[*len] = 0;
    free (box);
    return out;
out_fail:
    free (box);
    free (out);
    return NULL;
}

char *ph_logcrypt_wrap (const uint8_t master[PH_AEAD_KEY_LEN], const char *group,
                        const uint8_t dk[PH_AEAD_KEY_LEN])
{
    char aad[S_AAD_MAX];
    size_t n = s_aad (aad, S_AAD_DATA_KEY, group, NULL);
    return s_seal_text (master, aad, n, PH_LOGCRYPT_KEY_PREFIX, dk, PH_AEAD_KEY_LEN);
}

int ph_logcrypt_unwrap (const uint8_t master[PH_AEAD_KEY_LEN], const char *group,
                        const char *wrapped, uint8_t dk[PH_AEAD_KEY_LEN])
{
    char aad[S_AAD_MAX];
    size_t n = s_aad (aad, S_AAD_DATA_KEY, group, NULL), len = 0;
    int rc;
    uint8_t *key = s_open_text (master, aad, n, PH_LOGCRYPT_KEY_PREFIX, wrapped, &len, &rc);
    if (key && len != PH_AEAD_KEY_LEN)
        rc = PH_EINVAL;
    if (key && rc == 0)
        memcpy (dk, key, PH_AEAD_KEY_LEN);
    free (key);
    return key ? rc : (rc ? rc : PH_EINVAL);
}

bool ph_logcrypt_is_sealed (const char *text)
{
    return text && strncmp (text, PH_LOGCRYPT_MSG_PREFIX, strlen (PH_LOGCRYPT_MSG_PREFIX)) == 0;
}

char *ph_logcrypt_seal (const uint8_t dk[PH_AEAD_KEY_LEN], const char *group, const char *stream,
                        const char *msg, size_t len)
{
    char aad[S_AAD_MAX];
    size_t n = s_aad (aad, S_AAD_LOG, group, stream);
    return s_seal_text (dk, aad, n, PH_LOGCRYPT_MSG_PREFIX, msg, len);
}

char *ph_logcrypt_open (const uint8_t dk[PH_AEAD_KEY_LEN], const char *group, const char *stream,
                        const char *text, size_t *len)
{
    char aad[S_AAD_MAX];
    size_t n = s_aad (aad, S_AAD_LOG, group, stream);
    int rc;
    return (char *)s_open_text (dk, aad, n, PH_LOGCRYPT_MSG_PREFIX, text, len, &rc);
}
