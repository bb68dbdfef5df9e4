/*  agent_spool: the on-disk spool of session transcripts (agent_log.h).
 *
 *  Layout: DIR/<session id>/NNNNNNNN.batch, each file a segment: records
 *  appended one after the other, each a 16-byte header (magic, batch
 *  number, length, checksum of the three and the data) and one serialized
 *  Envelope{PutLogEvents}. A session has one open segment per stream
 *  (asciicast, text), named after the number of the first batch written
 *  to it; a segment is closed past PH_SPOOL_SEGMENT_MAX bytes and the next
 *  batch of that stream opens a new one.
 *
 *  The disk work is done by a zactor (STYLE.md habit 10) that owns the
 *  files: the reactor hands it each batch by pointer (WRITE), the actor
 *  appends it, and once its inbox is empty it fdatasyncs every segment it
 *  wrote (and the directory of a new segment) and answers DURABLE for each
 *  batch, giving the buffer back. Batches that arrive while a sync runs
 *  are synced together by the next one, so the PTY is read while the disk
 *  works and the number of syncs falls as output grows. The reactor ships
 *  a batch only after its DURABLE.
 *
 *  Acknowledged batches are reported to the actor (ACK). A segment whose
 *  batches are all acknowledged is deleted once it is closed; the open
 *  segment is truncated to zero and written again from the start, so a
 *  session that streams a batch a second creates no file per batch. A
 *  segment can therefore hold acknowledged batches until it is emptied:
 *  after a crash they are sent again (at-least-once; the logshipper
 *  de-duplicates by batch id). A session's directory goes when its
 *  transcript is complete (FORGET).
 *
 *  Crash consistency: what was reported DURABLE was fdatasync'ed. At
 *  start-up the spool is read back (blocking, before the actor starts):
 *  the records of each segment up to the first that is cut short or does
 *  not match its checksum, which is the tail a crash cut off: it and what
 *  follows it in that segment are skipped (logged). A file without the
 *  record magic is a batch of the earlier one-file-per-batch spool and is
 *  taken whole.
 *
 *  The spool is bounded: once it holds max_bytes that are not
 *  acknowledged, or PH_SPOOL_UNSYNCED_MAX bytes are on their way to the
 *  disk, ph_spool_full() says so and the sessions stop reading their
 *  output (the programs block on their own writes) instead of losing log
 *  data or queueing memory without bound.
 */
#include "agent_log.h"
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

#define PH_SPOOL_PATH_MAX     4096
#define PH_SPOOL_SID_MAX      256
#define PH_SPOOL_KEY_MAX      (PH_SPOOL_SID_MAX + 16)
#define PH_SPOOL_BATCH_MAX    (2 * 1024 * 1024)  /* a record bigger than this is not ours */
#define PH_SPOOL_SEGMENT_MAX  (16 * 1024 * 1024) /* a segment is closed past this */
#define PH_SPOOL_UNSYNCED_MAX (8 * 1024 * 1024)  /* bytes on their way to the disk */
#define PH_SPOOL_RETRY_MS     10                 /* the reactor's pipe was full: send again then */
#define PH_SPOOL_SUFFIX       ".batch"
#define PH_SPOOL_LEFTOVER     ".batch.tmp." /* the earlier spool's temp file */
#define PH_SPOOL_MAGIC        0x31425350u   /* "PSB1" little-endian */
#define PH_SPOOL_HEADER       16
#define PH_SPOOL_PICTURE      "ss4488p4" /* command, sid, n, seg/stream, off, len, data, ok */

/* ---- records --------------------------------------------------------------- */

/*  A 32-bit checksum of the record header fields and the data: four
 *  independent 64-bit lanes of multiply-xor over 32 bytes a step (they
 *  overlap in the CPU: ~4x one lane, a fraction of the cost of writing the
 *  bytes), folded together. It finds a torn or stale tail, not an
 *  adversary. */
static uint32_t s_checksum (uint32_t n, uint32_t len, const uint8_t *p)
{
    const uint64_t k = 0xFF51AFD7ED558CCDULL;
    uint64_t h[4] = {0x9E3779B97F4A7C15ULL ^ ((uint64_t)n << 32 | len), 0xC2B2AE3D27D4EB4FULL,
                     0x165667B19E3779F9ULL, 0x27D4EB2F165667C5ULL};
    size_t i = 0;
    for (; i + 32 <= len; i += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy (&w, p + i + 8 * l, 8);
            h[l] = (h[l] ^ w) * k;
            h[l] ^= h[l] >> 31;
        }
    uint64_t x = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7);
    for (; i < len; i++)
        x = (x ^ p[i]) * 0x100000001B3ULL;
    x = (x ^ (x >> 29)) * k;
    return (uint32_t)(x ^ (x >> 32));
}

static void s_put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t s_get32 (const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void s_header (uint8_t *h, uint32_t n, const uint8_t *data, uint32_t len)
{
    s_put32 (h, PH_SPOOL_MAGIC);
    s_put32 (h + 4, n);
    s_put32 (h + 8, len);
    s_put32 (h + 12, s_checksum (n, len, data));
}

/*  True when name is a session directory we may touch (no "/", no dots). */
static bool s_sid_ok (const char *sid)
{
    return *sid && *sid != '.' && !strchr (sid, '/') && strlen (sid) < PH_SPOOL_SID_MAX;
}

/*  Parses NNNNNNNN.batch; returns false for anything else. */
static bool s_batch_name (const char *name, uint32_t *n)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul (name, &end, 10);
    if (errno || end == name || *name == '-' || strcmp (end, PH_SPOOL_SUFFIX) != 0 ||
        v > UINT32_MAX)
        return false;
    *n = (uint32_t)v;
    return true;
}

static void s_key (char *buf, const char *sid, uint32_t n)
{
    snprintf (buf, PH_SPOOL_KEY_MAX, "%s/%08u", sid, n);
}

/* ---- the actor's tables ---------------------------------------------------- */

typedef struct {
    uint32_t id; /* file name number */
    int fd;      /* -1: closed */
    uint64_t size;
    uint32_t records, acked;
    bool dirty;  /* appended since the last fdatasync */
    bool sealed; /* takes no more appends: deleted once all is acknowledged */
} s_seg_t;

typedef struct {
    char *sid;
    zlistx_t *segs;                 /* s_seg_t, owned */
    s_seg_t *open[PH_SHIP_STREAMS]; /* the segment each stream appends to */
    bool dir_dirty;                 /* a new file in it, not yet synced */
} s_sess_t;

/*  A batch written and not yet reported. */
typedef struct {
    char *sid;
    uint32_t n, seg;
    uint64_t off, len;
    uint8_t *data;
    s_seg_t *segp; /* until the sync of its round */
    bool ok;
} s_done_t;

typedef struct {
    char *dir;
    zhashx_t *sessions; /* sid -> s_sess_t */
    zlistx_t *done;     /* s_done_t, in order */
} s_disk_t;

static void s_seg_destroy (void **item)
{
    s_seg_t *seg = *item;
    if (seg && seg->fd >= 0)
        close (seg->fd);
    free (seg);
    *item = NULL;
}

static void s_sess_destroy (void **item)
{
    s_sess_t *sess = *item;
    if (!sess)
        return;
    zlistx_destroy (&sess->segs);
    free (sess->sid);
    free (sess);
    *item = NULL;
}

static void s_done_destroy (void **item)
{
    s_done_t *d = *item;
    if (!d)
        return;
    free (d->sid);
    free (d->data);
    free (d);
    *item = NULL;
}

static s_sess_t *s_sess (s_disk_t *disk, const char *sid, bool create)
{
    s_sess_t *sess = zhashx_lookup (disk->sessions, sid);
    if (sess || !create)
        return sess;
    sess = calloc (1, sizeof *sess);
    if (!sess || !(sess->sid = strdup (sid)) || !(sess->segs = zlistx_new ())) {
        s_sess_destroy ((void **)&sess);
        return NULL;
    }
    zlistx_set_destructor (sess->segs, s_seg_destroy);
    zhashx_insert (disk->sessions, sid, sess);
    return sess;
}

static s_seg_t *s_seg_add (s_sess_t *sess, uint32_t id)
{
    s_seg_t *seg = calloc (1, sizeof *seg);
    if (!seg)
        return NULL;
    seg->id = id;
    seg->fd = -1;
    zlistx_add_end (sess->segs, seg);
    return seg;
}

static void s_seg_path (const s_disk_t *disk, const char *sid, uint32_t id, char *buf)
{
    snprintf (buf, PH_SPOOL_PATH_MAX, "%s/%s/%08u%s", disk->dir, sid, id, PH_SPOOL_SUFFIX);
}

/*  Deletes a segment whose batches are all acknowledged and that takes no
 *  more appends, and forgets it. */
static void s_seg_delete (s_disk_t *disk, s_sess_t *sess, s_seg_t *seg)
{
    char path[PH_SPOOL_PATH_MAX];
    s_seg_path (disk, sess->sid, seg->id, path);
    if (unlink (path) != 0 && errno != ENOENT)
        ph_warn ("cannot delete the acknowledged spool segment %s: %s", path, strerror (errno));
    for (int i = 0; i < PH_SHIP_STREAMS; i++)
        if (sess->open[i] == seg)
            sess->open[i] = NULL;
    void *handle = zlistx_find (sess->segs, seg);
    if (handle)
        zlistx_delete (sess->segs, handle);
}

/*  Stops appending to seg; deletes it when nothing in it waits. A segment
 *  written this round is closed by the round's sync. */
static void s_seg_close (s_disk_t *disk, s_sess_t *sess, s_seg_t *seg)
{
    for (int i = 0; i < PH_SHIP_STREAMS; i++)
        if (sess->open[i] == seg)
            sess->open[i] = NULL;
    seg->sealed = true;
    if (seg->dirty)
        return;
    if (seg->fd >= 0)
        close (seg->fd);
    seg->fd = -1;
    if (seg->acked >= seg->records)
        s_seg_delete (disk, sess, seg);
}

/*  The segment stream of sess appends to, a new one named n when there is
 *  none or it is full. */
static s_seg_t *s_seg_for (s_disk_t *disk, s_sess_t *sess, unsigned stream, uint32_t n)
{
    s_seg_t *seg = sess->open[stream];
    if (seg && !seg->sealed && seg->size < PH_SPOOL_SEGMENT_MAX)
        return seg;
    if (seg)
        s_seg_close (disk, sess, seg);
    char path[PH_SPOOL_PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", disk->dir, sess->sid);
    if (ph_mkdir_p (path, 0700) != 0) {
        ph_error ("cannot create the spool directory %s: %s; session output is not recorded", path,
                  strerror (errno));
        return NULL;
    }
    s_seg_path (disk, sess->sid, n, path);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || !(seg = s_seg_add (sess, n))) {
        ph_error ("cannot create the spool segment %s: %s; is the disk full?", path,
                  strerror (errno));
        if (fd >= 0)
            close (fd);
        return NULL;
    }
    seg->fd = fd;
    sess->open[stream] = seg;
    sess->dir_dirty = true;
    return seg;
}

/*  Appends one record; on a failed or short write the segment is cut back
 *  to where it was, so no torn record sits before later ones. */
static bool s_append (s_seg_t *seg, uint32_t n, const uint8_t *data, uint32_t len)
{
    uint8_t h[PH_SPOOL_HEADER];
    s_header (h, n, data, len);
    struct iovec iov[2] = {{h, sizeof h}, {(void *)data, len}};
    ssize_t w;
    do
        w = writev (seg->fd, iov, 2);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)(sizeof h + len))
        return true;
    int err = w < 0 ? errno : ENOSPC;
    if (ftruncate (seg->fd, (off_t)seg->size) != 0)
        seg->sealed = true; /* cannot cut it back: take no more appends */
    errno = err;
    return false;
}

static void s_on_write (s_disk_t *disk, char **sid_p, uint32_t n, unsigned stream, uint64_t len,
                        uint8_t *data)
{
    s_done_t *d = calloc (1, sizeof *d);
    if (!d) {
        free (data);
        free (*sid_p);
        *sid_p = NULL;
        return;
    }
    d->sid = *sid_p;
    *sid_p = NULL;
    d->n = n;
    d->data = data;
    d->len = len;
    s_sess_t *sess = s_sid_ok (d->sid) ? s_sess (disk, d->sid, true) : NULL;
    s_seg_t *seg = sess && stream < PH_SHIP_STREAMS ? s_seg_for (disk, sess, stream, n) : NULL;
    if (seg && len <= PH_SPOOL_BATCH_MAX && s_append (seg, n, data, (uint32_t)len)) {
        d->ok = true;
        d->seg = seg->id;
        d->off = seg->size;
        d->segp = seg;
        seg->size += PH_SPOOL_HEADER + len;
        seg->records++;
        seg->dirty = true;
    } else if (seg)
        ph_error ("cannot write transcript batch %u of session %s: %s; is the disk full?", n,
                  d->sid, strerror (errno));
    zlistx_add_end (disk->done, d);
}

static void s_on_ack (s_disk_t *disk, const char *sid, uint32_t id)
{
    s_sess_t *sess = s_sess (disk, sid, false);
    s_seg_t *seg = sess ? zlistx_first (sess->segs) : NULL;
    while (seg && seg->id != id)
        seg = zlistx_next (sess->segs);
    if (!seg || ++seg->acked < seg->records || seg->dirty)
        return;
    if (seg->sealed) {
        s_seg_delete (disk, sess, seg);
        return;
    }
    /* the open segment is emptied in place: no new file per batch */
    if (ftruncate (seg->fd, 0) == 0) {
        seg->size = 0;
        seg->records = seg->acked = 0;
    } else
        s_seg_close (disk, sess, seg);
}

static void s_on_forget (s_disk_t *disk, const char *sid)
{
    s_sess_t *sess = s_sess (disk, sid, false);
    if (!sess)
        return;
    /* closing deletes from the list: take the segments out of it first */
    size_t count = zlistx_size (sess->segs), i = 0;
    s_seg_t **all = calloc (count ? count : 1, sizeof *all);
    for (s_seg_t *seg = zlistx_first (sess->segs); all && seg; seg = zlistx_next (sess->segs))
        all[i++] = seg;
    for (i = 0; all && i < count; i++)
        s_seg_close (disk, sess, all[i]); /* deleted unless something in it waits */
    free (all);
    if (zlistx_size (sess->segs)) {
        ph_warn ("session %s: the transcript is complete but %zu spool segments still hold "
                 "batches; they are sent again at the next start",
                 sid, zlistx_size (sess->segs));
        return;
    }
    zhashx_delete (disk->sessions, sid);
    char path[PH_SPOOL_PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", disk->dir, sid);
    if (rmdir (path) != 0 && errno != ENOENT)
        ph_warn ("cannot remove the spool directory %s: %s", path, strerror (errno));
}

/*  fdatasync of every segment written this round and of the directories
 *  that got a new segment; a batch whose sync failed is reported lost. */
static void s_sync (s_disk_t *disk)
{
    for (s_done_t *d = zlistx_first (disk->done); d; d = zlistx_next (disk->done)) {
        s_seg_t *seg = d->segp;
        d->segp = NULL;
        if (!seg)
            continue;
        if (seg->dirty && fdatasync (seg->fd) != 0) {
            ph_error ("cannot sync the spool segment %08u of session %s: %s; its batches may be "
                      "lost",
                      seg->id, d->sid, strerror (errno));
            seg->sealed = true;
            seg->records = UINT32_MAX; /* never "all acknowledged": kept for a restart */
            seg->acked = 0;
        }
        if (seg->dirty && seg->sealed) {
            close (seg->fd);
            seg->fd = -1;
        }
        seg->dirty = false;
        d->ok = d->ok && seg->records != UINT32_MAX;
    }
    for (s_sess_t *sess = zhashx_first (disk->sessions); sess;
         sess = zhashx_next (disk->sessions)) {
        if (!sess->dir_dirty)
            continue;
        char path[PH_SPOOL_PATH_MAX];
        snprintf (path, sizeof path, "%s/%s", disk->dir, sess->sid);
        int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync (fd) != 0)
            ph_warn ("cannot sync the spool directory %s: %s", path, strerror (errno));
        if (fd >= 0)
            close (fd);
        sess->dir_dirty = false;
    }
}

/*  Every message on the pipe has the same picture, both ways. */
static int s_send (void *pipe, const char *cmd, const char *sid, uint32_t n, uint32_t arg,
                   uint64_t off, uint64_t len, void *data, bool ok)
{
    return zsock_send (pipe, PH_SPOOL_PICTURE, cmd, sid, n, arg, off, len, data, (uint32_t)ok);
}

/*  Reports the synced batches, in order, without blocking: what the
 *  reactor cannot take now is sent at the next round. */
static void s_report (s_disk_t *disk, zsock_t *pipe)
{
    s_done_t *d;
    while ((d = zlistx_first (disk->done)) && !d->segp) {
        if (s_send (pipe, "DURABLE", d->sid, d->n, d->seg, d->off, d->len, d->data, d->ok) != 0)
            return;
        d->data = NULL; /* the reactor has it now */
        zlistx_delete (disk->done, zlistx_cursor (disk->done));
    }
}

/*  One message from the reactor. Returns false at $TERM. */
static bool s_handle (s_disk_t *disk, zsock_t *pipe)
{
    char *cmd = NULL, *sid = NULL;
    uint32_t n = 0, arg = 0, ok = 0;
    uint64_t off = 0, len = 0;
    void *data = NULL;
    if (zsock_recv (pipe, PH_SPOOL_PICTURE, &cmd, &sid, &n, &arg, &off, &len, &data, &ok) != 0)
        return false;
    bool go_on = true;
    if (!cmd || streq (cmd, "$TERM"))
        go_on = false;
    else if (streq (cmd, "WRITE"))
        s_on_write (disk, &sid, n, arg, len, data);
    else if (streq (cmd, "ACK"))
        s_on_ack (disk, sid, arg);
    else if (streq (cmd, "FORGET"))
        s_on_forget (disk, sid);
    else if (streq (cmd, "FLUSH")) {
        s_sync (disk);
        zsock_set_sndtimeo (pipe, -1); /* the reactor is waiting for this */
        s_report (disk, pipe);
        s_send (pipe, "FLUSHED", "", 0, 0, 0, 0, NULL, false);
        zsock_set_sndtimeo (pipe, 0);
    }
    free (cmd);
    free (sid);
    return go_on;
}

static void s_disk_destroy (s_disk_t **self_p)
{
    s_disk_t *disk = *self_p;
    if (!disk)
        return;
    zlistx_destroy (&disk->done);
    zhashx_destroy (&disk->sessions);
    free (disk->dir);
    free (disk);
    *self_p = NULL;
}

static void s_actor (zsock_t *pipe, void *args)
{
    s_disk_t *disk = args;
    zsock_set_sndtimeo (pipe, 0);
    zsock_signal (pipe, 0);
    bool go_on = true;
    while (go_on) {
        /* wait for work, or retry reports the reactor could not take */
        int timeout = zlistx_size (disk->done) ? PH_SPOOL_RETRY_MS : -1;
        zmq_pollitem_t item = {zsock_resolve (pipe), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, timeout) < 0 && zmq_errno () != EINTR)
            break;
        while (go_on && (zsock_events (pipe) & ZMQ_POLLIN))
            go_on = s_handle (disk, pipe);
        s_sync (disk);
        if (go_on)
            s_report (disk, pipe);
    }
    zsock_set_sndtimeo (pipe, -1);
    s_disk_destroy (&disk);
}

/* ---- reading the spool back (start-up) ------------------------------------- */

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
    uint64_t bytes;    /* written or on the way, not acknowledged */
    uint64_t unsynced; /* handed to the actor, not yet reported */
    zhashx_t *index;   /* "sid/NNNNNNNN" -> s_loc_t of durable batches */
    zactor_t *actor;
    zloop_t *loop;
    ph_spool_durable_fn *on_durable;
    void *arg;
    bool flushed;
};

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

/*  Reads the records of one segment into the index and the actor's tables;
 *  stops at a torn tail. */
static void s_scan_segment (ph_spool_t *self, s_sess_t *sess, const char *path, uint32_t id)
{
    size_t flen = 0;
    uint8_t *buf = (uint8_t *)ph_file_read (path, PH_SPOOL_SEGMENT_MAX + PH_SPOOL_BATCH_MAX, &flen);
    if (!buf) {
        ph_warn ("cannot read the spool segment %s: %s; skipping it", path, strerror (errno));
        return;
    }
    s_seg_t *seg = s_seg_add (sess, id);
    if (!seg)
        goto out_free;
    seg->sealed = true; /* batches are appended to new segments only */
    if (flen < 4 || s_get32 (buf) != PH_SPOOL_MAGIC) { /* a batch of the earlier spool */
        s_loc_t loc = {id, 0, (uint32_t)flen, flen, true};
        if (flen <= PH_SPOOL_BATCH_MAX && s_index_add (self, sess->sid, id, &loc) == 0) {
            seg->records = 1;
            self->bytes += flen;
        }
        goto out_free;
    }
    size_t off = 0;
    while (off + PH_SPOOL_HEADER <= flen) {
        const uint8_t *h = buf + off;
        uint32_t n = s_get32 (h + 4), len = s_get32 (h + 8);
        if (s_get32 (h) != PH_SPOOL_MAGIC || len > flen - off - PH_SPOOL_HEADER ||
            s_checksum (n, len, h + PH_SPOOL_HEADER) != s_get32 (h + 12))
            break;
        s_loc_t loc = {id, off + PH_SPOOL_HEADER, len, PH_SPOOL_HEADER + (uint64_t)len, false};
        if (s_index_add (self, sess->sid, n, &loc) != 0)
            break;
        seg->records++;
        self->bytes += loc.size;
        off += PH_SPOOL_HEADER + len;
    }
    seg->size = off;
    if (off < flen)
        ph_warn ("spool segment %s: %zu bytes at its end are cut short or damaged (a crash "
                 "during a write); the %u batches before them are kept",
                 path, flen - off, seg->records);
    if (!seg->records && unlink (path) == 0) /* nothing whole in it */
        zlistx_delete (sess->segs, zlistx_find (sess->segs, seg));
out_free:
    free (buf);
}

/*  Reads one session directory. The temp file of the earlier spool's cut
 *  off write never became a batch: it is removed. */
static void s_scan_session (ph_spool_t *self, s_disk_t *disk, const char *sid)
{
    char dir[PH_SPOOL_PATH_MAX], path[PH_SPOOL_PATH_MAX];
    snprintf (dir, sizeof dir, "%s/%s", self->dir, sid);
    DIR *d = opendir (dir);
    s_sess_t *sess = d ? s_sess (disk, sid, true) : NULL;
    struct dirent *e;
    while (sess && (e = readdir (d))) {
        uint32_t id;
        if (snprintf (path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (strstr (e->d_name, PH_SPOOL_LEFTOVER)) {
            if (unlink (path) == 0)
                ph_warn ("removed %s: a transcript batch whose write was cut off", path);
        } else if (s_batch_name (e->d_name, &id))
            s_scan_segment (self, sess, path, id);
    }
    if (d)
        closedir (d);
    if (sess && !zlistx_size (sess->segs)) { /* nothing left to send */
        zhashx_delete (disk->sessions, sid);
        if (rmdir (dir) != 0)
            ph_warn ("cannot remove the empty spool directory %s: %s", dir, strerror (errno));
    }
}

static void s_scan (ph_spool_t *self, s_disk_t *disk)
{
    DIR *d = opendir (self->dir);
    struct dirent *e;
    while (d && (e = readdir (d))) {
        char path[PH_SPOOL_PATH_MAX];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", self->dir, e->d_name);
        if (s_sid_ok (e->d_name) && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
            s_scan_session (self, disk, e->d_name);
    }
    if (d)
        closedir (d);
}

/* ---- the reactor's side ---------------------------------------------------- */

/*  One message of the actor (blocks until there is one): a DURABLE or
 *  FLUSHED. Returns 0 or PH_EIO. */
static int s_take_report (ph_spool_t *self)
{
    char *cmd = NULL, *sid = NULL;
    uint32_t n = 0, seg = 0, ok = 0;
    uint64_t off = 0, len = 0;
    void *data = NULL;
    if (zsock_recv (self->actor, PH_SPOOL_PICTURE, &cmd, &sid, &n, &seg, &off, &len, &data, &ok) !=
        0)
        return PH_EIO;
    if (cmd && streq (cmd, "FLUSHED"))
        self->flushed = true;
    else if (cmd && streq (cmd, "DURABLE") && sid) {
        uint64_t size = PH_SPOOL_HEADER + len;
        self->unsynced -= size > self->unsynced ? self->unsynced : size;
        s_loc_t loc = {seg, off + PH_SPOOL_HEADER, (uint32_t)len, size, false};
        if (!ok || s_index_add (self, sid, n, &loc) != 0) {
            ok = 0;
            self->bytes -= size > self->bytes ? self->bytes : size;
        }
        uint8_t *buf = data;
        if (self->on_durable)
            self->on_durable (self->arg, sid, n, ok != 0, &buf, (size_t)len);
        free (buf);
        data = NULL;
    }
    free (data);
    free (cmd);
    free (sid);
    return 0;
}

static int s_on_pipe (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    ph_spool_t *self = arg;
    while ((zsock_events (self->actor) & ZMQ_POLLIN) && s_take_report (self) == 0)
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
    s_disk_t *disk = calloc (1, sizeof *disk);
    if (!self || !disk || !(self->dir = strdup (dir)) || !(disk->dir = strdup (dir)) ||
        !(self->index = zhashx_new ()) || !(disk->sessions = zhashx_new ()) ||
        !(disk->done = zlistx_new ()))
        goto out_free;
    zhashx_set_destructor (self->index, s_loc_free);
    zhashx_set_destructor (disk->sessions, s_sess_destroy);
    zlistx_set_destructor (disk->done, s_done_destroy);
    self->max_bytes = max_bytes;
    s_scan (self, disk);
    self->actor = zactor_new (s_actor, disk); /* the actor owns disk from here */
    disk = NULL;
    if (!self->actor)
        goto out_free;
    return self;
out_free:
    s_disk_destroy (&disk);
    ph_spool_destroy (&self);
    return NULL;
}

int ph_spool_attach (ph_spool_t *self, zloop_t *loop, ph_spool_durable_fn *on_durable, void *arg)
{
    self->on_durable = on_durable;
    self->arg = arg;
    if (!loop || self->loop)
        return 0;
    if (zloop_reader (loop, (zsock_t *)self->actor, s_on_pipe, self) != 0)
        return PH_EIO;
    self->loop = loop;
    return 0;
}

void ph_spool_flush (ph_spool_t *self)
{
    if (!self->actor)
        return;
    self->flushed = false;
    if (s_send (self->actor, "FLUSH", "", 0, 0, 0, 0, NULL, false) != 0)
        return;
    while (!self->flushed && s_take_report (self) == 0)
        ;
}

void ph_spool_destroy (ph_spool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_spool_t *self = *self_p;
    if (self->actor) {
        if (self->loop)
            zloop_reader_end (self->loop, (zsock_t *)self->actor);
        self->on_durable = NULL; /* what is reported now only goes free */
        ph_spool_flush (self);
        zactor_destroy (&self->actor);
    }
    zhashx_destroy (&self->index);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

int ph_spool_write (ph_spool_t *self, const char *sid, uint32_t n, unsigned stream,
                    uint8_t **data_p, size_t len)
{
    if (!s_sid_ok (sid) || len > PH_SPOOL_BATCH_MAX || stream >= PH_SHIP_STREAMS) {
        ph_error ("cannot spool batch %u of session %s (%zu bytes); session output is not "
                  "recorded",
                  n, sid, len);
        return PH_EINVAL;
    }
    if (s_send (self->actor, "WRITE", sid, n, stream, 0, len, *data_p, false) != 0)
        return PH_EIO;
    *data_p = NULL; /* the actor's until DURABLE gives it back */
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
    snprintf (path, sizeof path, "%s/%s/%08u%s", self->dir, sid, loc->seg, PH_SPOOL_SUFFIX);
    /* the header is read along and compared (magic, number, length): the
     * record is still the one reported durable; the checksum was checked
     * when the record was read back at start-up or written by this run */
    size_t hlen = loc->legacy ? 0 : PH_SPOOL_HEADER;
    uint8_t h[PH_SPOOL_HEADER], want[PH_SPOOL_HEADER];
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = fd >= 0 ? malloc (loc->len + 1) : NULL;
    struct iovec iov[2] = {{h, hlen}, {buf, loc->len}};
    ssize_t got = buf ? preadv (fd, iov, 2, (off_t)(loc->off - hlen)) : -1;
    if (fd >= 0)
        close (fd);
    bool whole = got == (ssize_t)(hlen + loc->len);
    if (whole && hlen) {
        s_put32 (want, PH_SPOOL_MAGIC);
        s_put32 (want + 4, n);
        s_put32 (want + 8, loc->len);
        whole = memcmp (h, want, 12) == 0;
    }
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
    s_send (self->actor, "ACK", sid, n, loc->seg, 0, 0, NULL, false);
    zhashx_delete (self->index, key);
}

void ph_spool_forget (ph_spool_t *self, const char *sid)
{
    if (s_sid_ok (sid))
        s_send (self->actor, "FORGET", sid, 0, 0, 0, 0, NULL, false);
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
