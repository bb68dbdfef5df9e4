/*  agent_spool_disk: the disk side of the transcript spool
 *  (agent_spool_disk.h; the reactor side and the start-up scan are
 *  agent_spool.c).
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
 *  files and the tables of sessions and segments: the reactor hands it
 *  each batch by pointer (WRITE), the actor appends it, and once its inbox
 *  is empty it fdatasyncs every segment it wrote (and the directory of a
 *  new segment) and answers DURABLE for each batch, giving the buffer
 *  back. Batches that arrive while a sync runs are synced together by the
 *  next one, so the PTY is read while the disk works and the number of
 *  syncs falls as output grows.
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
 *  The tables start with what the start-up scan found (every such segment
 *  is closed to appends: new batches go to new segments); only then does
 *  the actor start, and from there on only its thread touches them.
 */
#include "agent_spool_disk.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PH_SPOOL_RETRY_MS 10         /* the reactor's pipe was full: send again then */
#define PH_SPOOL_PICTURE  "ss4488p4" /* command, sid, n, seg/stream, off, len, data, ok */

/* ---- records --------------------------------------------------------------- */

/*  A 32-bit checksum of the record header fields and the data: four
 *  independent 64-bit lanes of multiply-xor over 32 bytes a step (they
 *  overlap in the CPU: ~4x one lane, a fraction of the cost of writing the
 *  bytes), folded together. It finds a torn or stale tail, not an
 *  adversary. Part of the file format: changing it loses every spool. */
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

void ph_spool_disk_header (uint8_t *h, uint32_t n, const uint8_t *data, uint32_t len)
{
    s_put32 (h, PH_SPOOL_MAGIC);
    s_put32 (h + 4, n);
    s_put32 (h + 8, len);
    s_put32 (h + 12, s_checksum (n, len, data));
}

bool ph_spool_disk_header_is (const uint8_t *h, uint32_t n, uint32_t len)
{
    return s_get32 (h) == PH_SPOOL_MAGIC && s_get32 (h + 4) == n && s_get32 (h + 8) == len;
}

bool ph_spool_disk_is_segment (const uint8_t *buf, size_t len)
{
    return len >= 4 && s_get32 (buf) == PH_SPOOL_MAGIC;
}

bool ph_spool_disk_record_at (const uint8_t *buf, size_t len, size_t off, uint32_t *n,
                              uint32_t *data_len)
{
    if (off > len || len - off < PH_SPOOL_HEADER)
        return false;
    const uint8_t *h = buf + off;
    uint32_t num = s_get32 (h + 4), dlen = s_get32 (h + 8);
    if (s_get32 (h) != PH_SPOOL_MAGIC || dlen > len - off - PH_SPOOL_HEADER ||
        s_checksum (num, dlen, h + PH_SPOOL_HEADER) != s_get32 (h + 12))
        return false;
    *n = num;
    *data_len = dlen;
    return true;
}

bool ph_spool_disk_sid_ok (const char *sid)
{
    return *sid && *sid != '.' && !strchr (sid, '/') && strlen (sid) < PH_SPOOL_SID_MAX;
}

bool ph_spool_disk_segment_name (const char *name, uint32_t *id)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul (name, &end, 10);
    if (errno || end == name || *name == '-' || strcmp (end, PH_SPOOL_SUFFIX) != 0 ||
        v > UINT32_MAX)
        return false;
    *id = (uint32_t)v;
    return true;
}

void ph_spool_disk_segment_path (char *buf, const char *dir, const char *sid, uint32_t id)
{
    snprintf (buf, PH_SPOOL_PATH_MAX, "%s/%s/%08u%s", dir, sid, id, PH_SPOOL_SUFFIX);
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

/*  What the actor owns (the start-up scan fills it before the actor runs). */
typedef struct {
    char *dir;
    zhashx_t *sessions; /* sid -> s_sess_t */
    zlistx_t *done;     /* s_done_t, in order */
} s_tables_t;

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

static s_sess_t *s_sess (s_tables_t *disk, const char *sid, bool create)
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

static void s_seg_path (const s_tables_t *disk, const char *sid, uint32_t id, char *buf)
{
    ph_spool_disk_segment_path (buf, disk->dir, sid, id);
}

/*  Deletes a segment whose batches are all acknowledged and that takes no
 *  more appends, and forgets it. */
static void s_seg_delete (s_tables_t *disk, s_sess_t *sess, s_seg_t *seg)
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
static void s_seg_close (s_tables_t *disk, s_sess_t *sess, s_seg_t *seg)
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
static s_seg_t *s_seg_for (s_tables_t *disk, s_sess_t *sess, unsigned stream, uint32_t n)
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
    ph_spool_disk_header (h, n, data, len);
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

static void s_on_write (s_tables_t *disk, char **sid_p, uint32_t n, unsigned stream, uint64_t len,
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
    s_sess_t *sess = ph_spool_disk_sid_ok (d->sid) ? s_sess (disk, d->sid, true) : NULL;
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

static void s_on_ack (s_tables_t *disk, const char *sid, uint32_t id)
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

static void s_on_forget (s_tables_t *disk, const char *sid)
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
static void s_sync (s_tables_t *disk)
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
static void s_report (s_tables_t *disk, zsock_t *pipe)
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
static bool s_handle (s_tables_t *disk, zsock_t *pipe)
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

static void s_tables_destroy (s_tables_t **self_p)
{
    s_tables_t *disk = *self_p;
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
    s_tables_t *disk = args;
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
    s_tables_destroy (&disk);
}

/* ---- the reactor's handle ---------------------------------------------------- */

struct _ph_spool_disk_t {
    s_tables_t *tables; /* until the actor starts; then its own */
    zactor_t *actor;
};

ph_spool_disk_t *ph_spool_disk_new (const char *dir)
{
    ph_spool_disk_t *self = calloc (1, sizeof *self);
    s_tables_t *disk = calloc (1, sizeof *disk);
    if (!self || !disk || !(disk->dir = strdup (dir)) || !(disk->sessions = zhashx_new ()) ||
        !(disk->done = zlistx_new ()))
        goto out_free;
    zhashx_set_destructor (disk->sessions, s_sess_destroy);
    zlistx_set_destructor (disk->done, s_done_destroy);
    self->tables = disk;
    return self;
out_free:
    s_tables_destroy (&disk);
    free (self);
    return NULL;
}

void ph_spool_disk_destroy (ph_spool_disk_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_spool_disk_t *self = *self_p;
    zactor_destroy (&self->actor); /* the actor frees its tables */
    s_tables_destroy (&self->tables);
    free (self);
    *self_p = NULL;
}

int ph_spool_disk_found (ph_spool_disk_t *self, const char *sid, uint32_t id)
{
    assert (self->tables && !self->actor);
    s_sess_t *sess = s_sess (self->tables, sid, true);
    s_seg_t *seg = sess ? s_seg_add (sess, id) : NULL;
    if (!seg) {
        if (sess && !zlistx_size (sess->segs))
            zhashx_delete (self->tables->sessions, sid);
        return PH_ENOMEM;
    }
    seg->sealed = true; /* batches are appended to new segments only */
    return 0;
}

void ph_spool_disk_found_counts (ph_spool_disk_t *self, const char *sid, uint32_t records,
                                 uint64_t size)
{
    assert (self->tables && !self->actor);
    s_sess_t *sess = s_sess (self->tables, sid, false);
    s_seg_t *seg = sess ? zlistx_last (sess->segs) : NULL;
    if (!seg)
        return;
    seg->records = records;
    seg->size = size;
}

void ph_spool_disk_drop_found (ph_spool_disk_t *self, const char *sid)
{
    assert (self->tables && !self->actor);
    s_sess_t *sess = s_sess (self->tables, sid, false);
    if (!sess)
        return;
    if (zlistx_last (sess->segs))
        zlistx_delete (sess->segs, zlistx_cursor (sess->segs));
    if (!zlistx_size (sess->segs))
        zhashx_delete (self->tables->sessions, sid);
}

int ph_spool_disk_start (ph_spool_disk_t *self)
{
    assert (self->tables && !self->actor);
    self->actor = zactor_new (s_actor, self->tables);
    if (!self->actor)
        return PH_EIO;
    self->tables = NULL; /* the actor's from here */
    return 0;
}

zsock_t *ph_spool_disk_pipe (ph_spool_disk_t *self)
{
    return (zsock_t *)self->actor;
}

bool ph_spool_disk_ready (ph_spool_disk_t *self)
{
    return self->actor && (zsock_events (self->actor) & ZMQ_POLLIN);
}

int ph_spool_disk_write (ph_spool_disk_t *self, const char *sid, uint32_t n, unsigned stream,
                         uint8_t **data_p, uint64_t len)
{
    if (!self->actor || s_send (self->actor, "WRITE", sid, n, stream, 0, len, *data_p, false) != 0)
        return PH_EIO;
    *data_p = NULL; /* the actor's until DURABLE gives it back */
    return 0;
}

int ph_spool_disk_ack (ph_spool_disk_t *self, const char *sid, uint32_t n, uint32_t seg)
{
    if (!self->actor || s_send (self->actor, "ACK", sid, n, seg, 0, 0, NULL, false) != 0)
        return PH_EIO;
    return 0;
}

int ph_spool_disk_forget (ph_spool_disk_t *self, const char *sid)
{
    if (!self->actor || s_send (self->actor, "FORGET", sid, 0, 0, 0, 0, NULL, false) != 0)
        return PH_EIO;
    return 0;
}

int ph_spool_disk_flush (ph_spool_disk_t *self)
{
    if (!self->actor || s_send (self->actor, "FLUSH", "", 0, 0, 0, 0, NULL, false) != 0)
        return PH_EIO;
    return 0;
}

int ph_spool_disk_recv (ph_spool_disk_t *self, ph_spool_disk_report_t *report)
{
    memset (report, 0, sizeof *report);
    char *cmd = NULL;
    uint32_t ok = 0;
    void *data = NULL;
    if (!self->actor || zsock_recv (self->actor, PH_SPOOL_PICTURE, &cmd, &report->sid, &report->n,
                                    &report->seg, &report->off, &report->len, &data, &ok) != 0)
        return PH_EIO;
    report->data = data;
    report->ok = ok != 0;
    if (cmd && streq (cmd, "FLUSHED"))
        report->kind = PH_SPOOL_DISK_FLUSHED;
    else if (cmd && streq (cmd, "DURABLE") && report->sid)
        report->kind = PH_SPOOL_DISK_DURABLE;
    else
        report->kind = PH_SPOOL_DISK_OTHER;
    free (cmd);
    return 0;
}

void ph_spool_disk_report_clear (ph_spool_disk_report_t *report)
{
    free (report->sid);
    free (report->data);
    report->sid = NULL;
    report->data = NULL;
}
