/*  agent_spool: the on-disk spool of session transcripts (agent_log.h).
 *
 *  Layout: DIR/<session id>/NNNNNNNN.batch, each file one serialized
 *  Envelope{PutLogEvents}, written to a temp file, fsync'ed and renamed
 *  (ph_file_write), so a batch is either whole or absent after a crash.
 *  A batch is deleted only once a logshipper acknowledged it; a session's
 *  directory goes when its transcript is complete.
 *
 *  The spool is bounded: once it holds max_bytes, ph_spool_full() says so
 *  and the sessions stop reading their output (the programs block on their
 *  own writes) instead of losing log data.
 *
 *  fsync of one small file happens in the reactor: acceptable for this
 *  stage (at most one per session per second while streaming); a zactor
 *  would take it off the loop (STYLE.md habit 10).
 */
#include "agent_log.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PH_SPOOL_PATH_MAX  4096
#define PH_SPOOL_BATCH_MAX (2 * 1024 * 1024) /* a file bigger than this is not ours */
#define PH_SPOOL_SUFFIX    ".batch"
#define PH_SPOOL_LEFTOVER  ".batch.tmp." /* ph_file_write's temp file */

struct _ph_spool_t {
    char *dir;
    uint64_t max_bytes;
    uint64_t bytes; /* what the batch files hold */
};

static void s_path (const ph_spool_t *self, const char *sid, uint32_t n, char *buf, size_t len)
{
    snprintf (buf, len, "%s/%s/%08u%s", self->dir, sid, n, PH_SPOOL_SUFFIX);
}

/*  True when name is a session directory we may touch (no "/", no dots). */
static bool s_sid_ok (const char *sid)
{
    return *sid && *sid != '.' && !strchr (sid, '/') && strlen (sid) < 256;
}

/*  Parses NNNNNNNN.batch; returns false for anything else. */
static bool s_batch_name (const char *name, uint32_t *n)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul (name, &end, 10);
    if (errno || end == name || strcmp (end, PH_SPOOL_SUFFIX) != 0 || v > UINT32_MAX)
        return false;
    *n = (uint32_t)v;
    return true;
}

/*  Adds up the batches of one session directory. The temp file of a write
 *  that a crash cut off (NNNNNNNN.batch.tmp.PID) never became a batch: it
 *  is removed, or the directory could never be removed either. */
static uint64_t s_dir_bytes (const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir (dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        char path[PH_SPOOL_PATH_MAX];
        struct stat st;
        uint32_t n;
        if (snprintf (path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (strstr (e->d_name, PH_SPOOL_LEFTOVER)) {
            if (unlink (path) == 0)
                ph_warn ("removed %s: a transcript batch whose write was cut off", path);
            continue;
        }
        if (s_batch_name (e->d_name, &n) && stat (path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir (d);
    return total;
}

ph_spool_t *ph_spool_new (const char *dir, uint64_t max_bytes)
{
    if (ph_mkdir_p (dir, 0700) != 0) {
        ph_error ("cannot create the transcript spool %s: %s; check the state directory's "
                  "permissions and free space",
                  dir, strerror (errno));
        return NULL;
    }
    ph_spool_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir))) {
        free (self);
        return NULL;
    }
    self->max_bytes = max_bytes;
    zlist_t *sids = ph_spool_sessions (self);
    for (char *sid = sids ? zlist_first (sids) : NULL; sid; sid = zlist_next (sids)) {
        char path[PH_SPOOL_PATH_MAX];
        snprintf (path, sizeof path, "%s/%s", dir, sid);
        self->bytes += s_dir_bytes (path);
    }
    zlist_destroy (&sids);
    return self;
}

void ph_spool_destroy (ph_spool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->dir);
    free (*self_p);
    *self_p = NULL;
}

int ph_spool_write (ph_spool_t *self, const char *sid, uint32_t n, const void *data, size_t len)
{
    char path[PH_SPOOL_PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", self->dir, sid);
    if (!s_sid_ok (sid) || ph_mkdir_p (path, 0700) != 0) {
        ph_error ("cannot create the spool directory %s: %s; session output is not recorded", path,
                  strerror (errno));
        return PH_EIO;
    }
    s_path (self, sid, n, path, sizeof path);
    if (ph_file_write (path, data, len, 0600) != 0) {
        ph_error ("cannot write the transcript batch %s: %s; is the disk full?", path,
                  strerror (errno));
        return PH_EIO;
    }
    self->bytes += len;
    return 0;
}

uint8_t *ph_spool_read (ph_spool_t *self, const char *sid, uint32_t n, size_t *len)
{
    char path[PH_SPOOL_PATH_MAX];
    s_path (self, sid, n, path, sizeof path);
    return (uint8_t *)ph_file_read (path, PH_SPOOL_BATCH_MAX, len);
}

void ph_spool_remove (ph_spool_t *self, const char *sid, uint32_t n)
{
    char path[PH_SPOOL_PATH_MAX];
    struct stat st;
    s_path (self, sid, n, path, sizeof path);
    if (stat (path, &st) != 0)
        return;
    if (unlink (path) != 0) {
        ph_warn ("cannot delete the acknowledged batch %s: %s", path, strerror (errno));
        return;
    }
    self->bytes -= (uint64_t)st.st_size > self->bytes ? self->bytes : (uint64_t)st.st_size;
}

void ph_spool_forget (ph_spool_t *self, const char *sid)
{
    char path[PH_SPOOL_PATH_MAX];
    if (!s_sid_ok (sid))
        return;
    snprintf (path, sizeof path, "%s/%s", self->dir, sid);
    if (rmdir (path) != 0 && errno != ENOENT)
        ph_warn ("cannot remove the spool directory %s: %s", path, strerror (errno));
}

bool ph_spool_full (const ph_spool_t *self)
{
    return self->bytes >= self->max_bytes;
}

zlist_t *ph_spool_sessions (ph_spool_t *self)
{
    zlist_t *list = zlist_new ();
    DIR *d = opendir (self->dir);
    if (!list || !d) {
        if (d)
            closedir (d);
        return list;
    }
    zlist_autofree (list);
    struct dirent *e;
    while ((e = readdir (d))) {
        char path[PH_SPOOL_PATH_MAX];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", self->dir, e->d_name);
        if (s_sid_ok (e->d_name) && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
            zlist_append (list, e->d_name);
    }
    closedir (d);
    return list;
}

static int s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t *ph_spool_batches (ph_spool_t *self, const char *sid, size_t *count)
{
    char path[PH_SPOOL_PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", self->dir, sid);
    *count = 0;
    DIR *d = opendir (path);
    if (!d)
        return NULL;
    uint32_t *nums = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        uint32_t n;
        if (!s_batch_name (e->d_name, &n))
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            uint32_t *grown = realloc (nums, cap * sizeof *nums);
            if (!grown)
                break;
            nums = grown;
        }
        nums[(*count)++] = n;
    }
    closedir (d);
    if (nums)
        qsort (nums, *count, sizeof *nums, s_cmp_u32);
    return nums;
}
