/*  agent_spool: the on-disk spool of session transcripts (agent_log.h),
 *  the reactor's side and the start-up scan.
 *
 *  Layout and record format, and the zactor that owns the files (appends,
 *  fdatasyncs, deletes), are agent_spool_disk.c: DIR/<session id>/
 *  NNNNNNNN.batch segments of checksummed records, one serialized
 *  Envelope{PutLogEvents} each. This file holds what the reactor keeps:
 *  the index of durable, unacknowledged batches (where each one is, for
 *  ph_spool_read and for the ACK that tells the actor), the byte counts of
 *  the bound, and the reports of the actor, taken on the agent's zloop.
 *  The reactor ships a batch only after its DURABLE.
 *
 *  Crash consistency: what was reported DURABLE was fdatasync'ed. At
 *  start-up the spool is read back (blocking, before the actor starts):
 *  the records of each segment up to the first that is cut short or does
 *  not match its checksum, which is the tail a crash cut off: it and what
 *  follows it in that segment are skipped (logged). A file without the
 *  record magic is a batch of the earlier one-file-per-batch spool and is
 *  taken whole. The scan fills the index and hands the segments it found
 *  to the actor's tables (ph_spool_disk_found); then the actor starts and
 *  owns them.
 *
 *  The spool is bounded: once it holds max_bytes that are not
 *  acknowledged, or PH_SPOOL_UNSYNCED_MAX bytes are on their way to the
 *  disk, ph_spool_full() says so and the sessions stop reading their
 *  output (the programs block on their own writes) instead of losing log
 *  data or queueing memory without bound.
 */
#include "agent_log.h"
#include "agent_spool_disk.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define PH_SPOOL_KEY_MAX      (PH_SPOOL_SID_MAX + 16)
#define PH_SPOOL_UNSYNCED_MAX (8 * 1024 * 1024) /* bytes on their way to the disk */
#define PH_SPOOL_LEFTOVER     ".batch.tmp."     /* the earlier spool's temp file */

/*  Where a durable batch is, for ph_spool_read and ACK. */
typedef struct {
    uint32_t seg;
    uint64_t off;  /* of the data */
    uint32_t len;  /* of the data */
    uint64_t size; /* what it counts against the bound */
    bool legacy;   /* a whole file of the earlier spool: no record header */
} s_loc_t;

struct _ph_spool_t {
    char *dir;
    uint64_t max_bytes;
    uint64_t bytes;        /* written or on the way, not acknowledged */
    uint64_t unsynced;     /* handed to the actor, not yet reported */
    zhashx_t *index;       /* "sid/NNNNNNNN" -> s_loc_t of durable batches */
    ph_spool_disk_t *disk; /* the actor */
    zloop_t *loop;
    ph_spool_durable_fn *on_durable;
    void *arg;
    bool flushed;
};

static void s_key (char *buf, const char *sid, uint32_t n)
{
    snprintf (buf, PH_SPOOL_KEY_MAX, "%s/%08u", sid, n);
}

static void s_loc_free (void **item)
{
    free (*item);
    *item = NULL;
}

static int s_index_add (ph_spool_t *self, const char *sid, uint32_t n, const s_loc_t *loc)
{
    char key[PH_SPOOL_KEY_MAX];
    s_key (key, sid, n);
    s_loc_t *copy = malloc (sizeof *copy);
    if (!copy)
        return PH_ENOMEM;
    *copy = *loc;
    zhashx_update (self->index, key, copy);
    return 0;
}

/* ---- reading the spool back (start-up) ------------------------------------- */

/*  Reads the records of one segment into the index and hands the segment
 *  to the actor's tables; stops at a torn tail. Returns whether the
 *  segment is kept (in the tables, its file still there). */
static bool s_scan_segment (ph_spool_t *self, const char *sid, const char *path, uint32_t id)
{
    size_t flen = 0;
    uint8_t *buf = (uint8_t *)ph_file_read (path, PH_SPOOL_SEGMENT_MAX + PH_SPOOL_BATCH_MAX, &flen);
    if (!buf) {
        ph_warn ("cannot read the spool segment %s: %s; skipping it", path, strerror (errno));
        return false;
    }
    bool kept = false;
    if (ph_spool_disk_found (self->disk, sid, id) != 0)
        goto out_free;
    kept = true;
    if (!ph_spool_disk_is_segment (buf, flen)) { /* a batch of the earlier spool */
        s_loc_t loc = {id, 0, (uint32_t)flen, flen, true};
        if (flen <= PH_SPOOL_BATCH_MAX && s_index_add (self, sid, id, &loc) == 0) {
            ph_spool_disk_found_counts (self->disk, sid, 1, 0);
            self->bytes += flen;
        }
        goto out_free;
    }
    size_t off = 0;
    uint32_t records = 0, n, len;
    while (ph_spool_disk_record_at (buf, flen, off, &n, &len)) {
        s_loc_t loc = {id, off + PH_SPOOL_HEADER, len, PH_SPOOL_HEADER + (uint64_t)len, false};
        if (s_index_add (self, sid, n, &loc) != 0)
            break;
        records++;
        self->bytes += loc.size;
        off += PH_SPOOL_HEADER + len;
    }
    ph_spool_disk_found_counts (self->disk, sid, records, off);
    if (off < flen)
        ph_warn ("spool segment %s: %zu bytes at its end are cut short or damaged (a crash "
                 "during a write); the %u batches before them are kept",
                 path, flen - off, records);
    if (!records && unlink (path) == 0) { /* nothing whole in it */
        ph_spool_disk_drop_found (self->disk, sid);
        kept = false;
    }
out_free:
    free (buf);
    return kept;
}

/*  Reads one session directory. The temp file of the earlier spool's cut
 *  off write never became a batch: it is removed. A directory left with
 *  no segment is removed too. */
static void s_scan_session (ph_spool_t *self, const char *sid)
{
    char dir[PH_SPOOL_PATH_MAX], path[PH_SPOOL_PATH_MAX];
    snprintf (dir, sizeof dir, "%s/%s", self->dir, sid);
    DIR *d = opendir (dir);
    if (!d)
        return;
    size_t kept = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        uint32_t id;
        if (snprintf (path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (strstr (e->d_name, PH_SPOOL_LEFTOVER)) {
            if (unlink (path) == 0)
                ph_warn ("removed %s: a transcript batch whose write was cut off", path);
        } else if (ph_spool_disk_segment_name (e->d_name, &id))
            kept += s_scan_segment (self, sid, path, id);
    }
    closedir (d);
    if (!kept && rmdir (dir) != 0) /* nothing left to send */
        ph_warn ("cannot remove the empty spool directory %s: %s", dir, strerror (errno));
}

static void s_scan (ph_spool_t *self)
{
    DIR *d = opendir (self->dir);
    struct dirent *e;
    while (d && (e = readdir (d))) {
        char path[PH_SPOOL_PATH_MAX];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", self->dir, e->d_name);
        if (ph_spool_disk_sid_ok (e->d_name) && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
            s_scan_session (self, e->d_name);
    }
    if (d)
        closedir (d);
}

/* ---- the reactor's side ---------------------------------------------------- */

/*  One message of the actor (blocks until there is one): a DURABLE or
 *  FLUSHED. Returns 0 or PH_EIO. */
static int s_take_report (ph_spool_t *self)
{
    ph_spool_disk_report_t r;
    if (ph_spool_disk_recv (self->disk, &r) != 0)
        return PH_EIO;
    if (r.kind == PH_SPOOL_DISK_FLUSHED)
        self->flushed = true;
    else if (r.kind == PH_SPOOL_DISK_DURABLE) {
        uint64_t size = PH_SPOOL_HEADER + r.len;
        self->unsynced -= size > self->unsynced ? self->unsynced : size;
        s_loc_t loc = {r.seg, r.off + PH_SPOOL_HEADER, (uint32_t)r.len, size, false};
        bool ok = r.ok && s_index_add (self, r.sid, r.n, &loc) == 0;
        if (!ok)
            self->bytes -= size > self->bytes ? self->bytes : size;
        if (self->on_durable) /* may take r.data */
            self->on_durable (self->arg, r.sid, r.n, ok, &r.data, (size_t)r.len);
    }
    ph_spool_disk_report_clear (&r);
    return 0;
}

static int s_on_pipe (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    ph_spool_t *self = arg;
    while (ph_spool_disk_ready (self->disk) && s_take_report (self) == 0)
        ;
    return 0;
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
    if (!self || !(self->dir = strdup (dir)) || !(self->index = zhashx_new ()) ||
        !(self->disk = ph_spool_disk_new (dir)))
        goto out_free;
    zhashx_set_destructor (self->index, s_loc_free);
    self->max_bytes = max_bytes;
    s_scan (self);
    if (ph_spool_disk_start (self->disk) != 0)
        goto out_free;
    return self;
out_free:
    ph_spool_destroy (&self);
    return NULL;
}

int ph_spool_attach (ph_spool_t *self, zloop_t *loop, ph_spool_durable_fn *on_durable, void *arg)
{
    self->on_durable = on_durable;
    self->arg = arg;
    if (!loop || self->loop)
        return 0;
    if (zloop_reader (loop, ph_spool_disk_pipe (self->disk), s_on_pipe, self) != 0)
        return PH_EIO;
    self->loop = loop;
    return 0;
}

void ph_spool_flush (ph_spool_t *self)
{
    self->flushed = false;
    if (ph_spool_disk_flush (self->disk) != 0)
        return;
    while (!self->flushed && s_take_report (self) == 0)
        ;
}

void ph_spool_destroy (ph_spool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_spool_t *self = *self_p;
    if (self->disk) {
        if (self->loop)
            zloop_reader_end (self->loop, ph_spool_disk_pipe (self->disk));
        self->on_durable = NULL; /* what is reported now only goes free */
        ph_spool_flush (self);
        ph_spool_disk_destroy (&self->disk);
    }
    zhashx_destroy (&self->index);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

int ph_spool_write (ph_spool_t *self, const char *sid, uint32_t n, unsigned stream,
                    uint8_t **data_p, size_t len)
{
    if (!ph_spool_disk_sid_ok (sid) || len > PH_SPOOL_BATCH_MAX || stream >= PH_SHIP_STREAMS) {
        ph_error ("cannot spool batch %u of session %s (%zu bytes); session output is not "
                  "recorded",
                  n, sid, len);
        return PH_EINVAL;
    }
    if (ph_spool_disk_write (self->disk, sid, n, stream, data_p, len) != 0)
        return PH_EIO;
    self->bytes += PH_SPOOL_HEADER + len;
    self->unsynced += PH_SPOOL_HEADER + len;
    return 0;
}

uint8_t *ph_spool_read (ph_spool_t *self, const char *sid, uint32_t n, size_t *len)
{
    char key[PH_SPOOL_KEY_MAX], path[PH_SPOOL_PATH_MAX];
    s_key (key, sid, n);
    s_loc_t *loc = zhashx_lookup (self->index, key);
    if (!loc)
        return NULL;
    ph_spool_disk_segment_path (path, self->dir, sid, loc->seg);
    /* the header is read along and compared (magic, number, length): the
     * record is still the one reported durable; the checksum was checked
     * when the record was read back at start-up or written by this run */
    size_t hlen = loc->legacy ? 0 : PH_SPOOL_HEADER;
    uint8_t h[PH_SPOOL_HEADER];
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = fd >= 0 ? malloc (loc->len + 1) : NULL;
    struct iovec iov[2] = {{h, hlen}, {buf, loc->len}};
    ssize_t got = buf ? preadv (fd, iov, 2, (off_t)(loc->off - hlen)) : -1;
    if (fd >= 0)
        close (fd);
    bool whole = got == (ssize_t)(hlen + loc->len);
    if (whole && hlen)
        whole = ph_spool_disk_header_is (h, n, loc->len);
    if (!whole) {
        free (buf);
        return NULL;
    }
    *len = loc->len;
    return buf;
}

void ph_spool_remove (ph_spool_t *self, const char *sid, uint32_t n)
{
    char key[PH_SPOOL_KEY_MAX];
    s_key (key, sid, n);
    s_loc_t *loc = zhashx_lookup (self->index, key);
    if (!loc)
        return;
    self->bytes -= loc->size > self->bytes ? self->bytes : loc->size;
    ph_spool_disk_ack (self->disk, sid, n, loc->seg);
    zhashx_delete (self->index, key);
}

void ph_spool_forget (ph_spool_t *self, const char *sid)
{
    if (ph_spool_disk_sid_ok (sid))
        ph_spool_disk_forget (self->disk, sid);
}

bool ph_spool_full (const ph_spool_t *self)
{
    return self->bytes >= self->max_bytes || self->unsynced >= PH_SPOOL_UNSYNCED_MAX;
}

zlist_t *ph_spool_sessions (ph_spool_t *self)
{
    zlist_t *list = zlist_new ();
    if (!list)
        return NULL;
    zlist_autofree (list);
    zlist_comparefn (list, (zlist_compare_fn *)strcmp);
    for (void *loc = zhashx_first (self->index); loc; loc = zhashx_next (self->index)) {
        char sid[PH_SPOOL_KEY_MAX];
        snprintf (sid, sizeof sid, "%s", (const char *)zhashx_cursor (self->index));
        char *slash = strrchr (sid, '/');
        if (slash)
            *slash = 0;
        if (!zlist_exists (list, sid))
            zlist_append (list, sid);
    }
    return list;
}

static int s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t *ph_spool_batches (ph_spool_t *self, const char *sid, size_t *count)
{
    *count = 0;
    uint32_t *nums = NULL;
    size_t cap = 0, sidlen = strlen (sid);
    for (void *loc = zhashx_first (self->index); loc; loc = zhashx_next (self->index)) {
        const char *key = zhashx_cursor (self->index);
        if (strncmp (key, sid, sidlen) != 0 || key[sidlen] != '/')
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            uint32_t *grown = realloc (nums, cap * sizeof *nums);
            if (!grown)
                break;
            nums = grown;
        }
        nums[(*count)++] = (uint32_t)strtoul (key + sidlen + 1, NULL, 10);
    }
    if (nums)
        qsort (nums, *count, sizeof *nums, s_cmp_u32);
    return nums;
}
