/*  Unit tests of agent/agent_spool.c: the on-disk spool of transcript
 *  batches, on its own and as the shipper (agent_ship.c) uses it.
 *
 *  The spool on its own (temp dirs): batches round-trip and list in
 *  numeric order; junk in the spool is ignored; bad session ids are
 *  refused; remove deletes one batch; forget never deletes a batch; the
 *  size bound and its recount when the spool is opened again (agent
 *  restart); crash consistency: a batch whose write was cut off by a crash
 *  (the temp file ph_file_write leaves) is not a batch after reopening,
 *  and every whole batch is kept.
 *
 *  With the shipper, against a fake logshipper (a CURVE ROUTER this test
 *  answers by hand) and a fake controller (an inproc ROUTER that collects
 *  TranscriptComplete): a batch leaves the spool only when its own
 *  PutLogEventsReply comes, not for an Error{Unavailable}, nor for the
 *  reply to another batch; one batch is in flight, in order, resent while
 *  unanswered; after a restart (shipper destroyed and made again on the
 *  same state dir) the same batch ids are sent again from the first
 *  unacknowledged one, the bound is recounted from disk, and once all
 *  are acknowledged TranscriptComplete goes out and the session's spool
 *  directory is gone. A corrupted (truncated) batch left in the spool
 *  must not block the batches after it forever.
 *
 *  CHECK_KNOWN_BUG marks checks of bugs found by these tests and since
 *  fixed: a plain CHECK with the bug's description. */
#include "agent_log.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_test.h"
#include "ph_test_loop.h"
#include "ph_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS          5000 /* deadline of every wait on the shipper */
#define RESEND_WAIT_MS   3000 /* a batch not answered is sent again by then */
#define QUIET_MS         600  /* "nothing else was sent" is checked over this long */
#define CORRUPT_WAIT_MS  3000 /* a batch that cannot be sent is dropped when loaded */
#define EVENTS_PER_BATCH PH_SHIP_BATCH_EVENTS
#define RECV_MAX         4096
#define PATH_MAX_LEN     512
#define DIR_LEN          256 /* a directory; paths inside it fit PATH_MAX_LEN */

#define CHECK_KNOWN_BUG(cond, what) CHECK ((cond) && (what))

/* ---- helpers -------------------------------------------------------------- */

static char s_root[64];

static void s_path (char *buf, const char *fmt, const char *a)
{
    snprintf (buf, DIR_LEN, fmt, s_root, a);
}

static bool s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

static void s_write_file (const char *path, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK (fd >= 0);
    if (fd < 0)
        return;
    CHECK (write (fd, data, len) == (ssize_t)len);
    close (fd);
}

/*  The batch numbers of sid as "n,n,n" (for readable checks). */
static char *s_list (ph_spool_t *spool, const char *sid, char *buf, size_t len)
{
    size_t count = 0;
    uint32_t *nums = ph_spool_batches (spool, sid, &count);
    buf[0] = 0;
    for (size_t i = 0; i < count; i++)
        snprintf (buf + strlen (buf), len - strlen (buf), "%s%u", i ? "," : "", nums[i]);
    free (nums);
    return buf;
}

static int s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t s_le32 (const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*  The batch numbers held by the segment files of dir/sid, read straight
 *  from the disk (records: "PSB1", n, len, checksum, data; the checksum
 *  is the spool's business), as "n,n,n"; files counts the segments. */
static char *s_disk_list (const char *dir, const char *sid, char *buf, size_t len, int *files)
{
    char path[PATH_MAX_LEN];
    uint32_t nums[RECV_MAX];
    size_t count = 0;
    buf[0] = 0;
    if (files)
        *files = 0;
    snprintf (path, sizeof path, "%s/%s", dir, sid);
    DIR *d = opendir (path);
    struct dirent *e;
    while (d && (e = readdir (d))) {
        if (strlen (e->d_name) != 14 || strcmp (e->d_name + 8, ".batch") != 0)
            continue;
        char file[2 * PATH_MAX_LEN];
        snprintf (file, sizeof file, "%s/%s", path, e->d_name);
        size_t flen = 0;
        uint8_t *data = (uint8_t *)ph_file_read (file, 64 << 20, &flen);
        for (size_t off = 0; data && off + 16 <= flen && count < RECV_MAX;) {
            uint32_t n = s_le32 (data + off + 4), l = s_le32 (data + off + 8);
            if (memcmp (data + off, "PSB1", 4) != 0 || l > flen - off - 16)
                break;
            nums[count++] = n;
            off += 16 + l;
        }
        free (data);
        if (files)
            (*files)++;
    }
    if (d)
        closedir (d);
    qsort (nums, count, sizeof *nums, s_cmp_u32);
    for (size_t i = 0; i < count; i++)
        snprintf (buf + strlen (buf), len - strlen (buf), "%s%u", i ? "," : "", nums[i]);
    return buf;
}

/*  What the spool reported (ph_spool_durable_fn), for the tests of the
 *  spool on its own. */
#define REPORTS_MAX 64
static struct {
    char sid[64];
    uint32_t n;
    bool ok;
    size_t len;
    uint8_t *data;
} R[REPORTS_MAX];
static size_t s_reports;

static void s_on_durable (void *arg, const char *sid, uint32_t n, bool ok, uint8_t **data_p,
                          size_t len)
{
    (void)arg;
    if (s_reports == REPORTS_MAX)
        return;
    snprintf (R[s_reports].sid, sizeof R[0].sid, "%s", sid);
    R[s_reports].n = n;
    R[s_reports].ok = ok;
    R[s_reports].len = len;
    R[s_reports].data = *data_p; /* taken */
    *data_p = NULL;
    s_reports++;
}

static void s_reports_clear (void)
{
    for (size_t i = 0; i < s_reports; i++)
        free (R[i].data);
    s_reports = 0;
}

/*  Hands a copy of len bytes at data to the spool as batch n. */
static int s_write (ph_spool_t *spool, const char *sid, uint32_t n, unsigned stream,
                    const void *data, size_t len)
{
    uint8_t *buf = malloc (len ? len : 1);
    memcpy (buf, data, len);
    int rc = ph_spool_write (spool, sid, n, stream, &buf, len);
    free (buf); /* NULL when the spool took it */
    return rc;
}

static ph_spool_t *s_open (const char *dir, uint64_t max)
{
    ph_spool_t *spool = ph_spool_new (dir, max);
    CHECK (spool && ph_spool_attach (spool, NULL, s_on_durable, NULL) == 0);
    return spool;
}

/* ---- the spool on its own --------------------------------------------------- */

static void test_round_trip_and_order (void)
{
    char dir[DIR_LEN], path[PATH_MAX_LEN], list[128];
    s_path (dir, "%s/a/deep/%s", "spool");
    ph_spool_t *spool = s_open (dir, 1 << 20);
    CHECK (spool != NULL);
    struct stat st;
    CHECK (stat (dir, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_mode & 0777) == 0700);
    CHECK (s_write (spool, "s-a", 1, PH_SHIP_CAST, "one\0bin", 7) == 0);
    CHECK (s_write (spool, "s-a", 2, PH_SHIP_TEXT, "two", 3) == 0);
    CHECK (s_write (spool, "s-a", 10, PH_SHIP_CAST, "ten", 3) == 0);
    CHECK (s_write (spool, "s-b", 0, PH_SHIP_CAST, "", 0) == 0);
    ph_spool_flush (spool);
    /* every batch reported durable, in order, with its own buffer back */
    CHECK (s_reports == 4);
    CHECK (s_reports == 4 && R[0].n == 1 && R[1].n == 2 && R[2].n == 10 && R[3].n == 0);
    CHECK (R[0].ok && R[1].ok && R[2].ok && R[3].ok);
    CHECK (R[0].len == 7 && R[0].data && memcmp (R[0].data, "one\0bin", 7) == 0);
    CHECK_STR (R[3].sid, "s-b");
    s_reports_clear ();
    CHECK_STR (s_list (spool, "s-a", list, sizeof list), "1,2,10");
    CHECK_STR (s_list (spool, "s-b", list, sizeof list), "0");
    CHECK_STR (s_list (spool, "s-none", list, sizeof list), "");
    /* one segment per stream, not one file per batch */
    int files = 0;
    CHECK_STR (s_disk_list (dir, "s-a", list, sizeof list, &files), "1,2,10");
    CHECK (files == 2);
    size_t len = 0;
    uint8_t *data = ph_spool_read (spool, "s-a", 1, &len);
    CHECK (data && len == 7 && memcmp (data, "one\0bin", 7) == 0);
    free (data);
    data = ph_spool_read (spool, "s-a", 10, &len);
    CHECK (data && len == 3 && memcmp (data, "ten", 3) == 0);
    free (data);
    CHECK (ph_spool_read (spool, "s-a", 3, &len) == NULL);
    snprintf (path, sizeof path, "%s/s-a/00000001.batch", dir);
    CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* a session id never reaches outside the spool */
    const char *bad[] = {"", ".", "..", "../escape", "a/b", ".dot"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK (s_write (spool, bad[i], 0, PH_SHIP_CAST, "x", 1) == PH_EINVAL);
    s_path (path, "%s/a/deep/%s", "escape");
    CHECK (!s_exists (path));
    ph_spool_destroy (&spool);

    /* what is not ours is neither a session nor a batch, after a restart */
    snprintf (path, sizeof path, "%s/.hidden", dir);
    mkdir (path, 0700);
    snprintf (path, sizeof path, "%s/stray-file", dir);
    s_write_file (path, "x", 1);
    const char *junk[] = {"notes.txt", "7.batchx", "x.batch", "-1.batch", "99999999999.batch"};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        snprintf (path, sizeof path, "%s/s-a/%s", dir, junk[i]);
        s_write_file (path, "junk", 4);
    }
    spool = s_open (dir, 1 << 20);
    CHECK_STR (s_list (spool, "s-a", list, sizeof list), "1,2,10");
    data = ph_spool_read (spool, "s-a", 2, &len);
    CHECK (data && len == 3 && memcmp (data, "two", 3) == 0);
    free (data);
    zlist_t *sids = ph_spool_sessions (spool);
    CHECK (zlist_size (sids) == 2);
    bool a = false, b = false;
    for (char *s = zlist_first (sids); s; s = zlist_next (sids)) {
        a |= strcmp (s, "s-a") == 0;
        b |= strcmp (s, "s-b") == 0;
    }
    CHECK (a && b);
    zlist_destroy (&sids);

    /* an acknowledged batch is gone from the list; its segment goes once
     * everything in it is acknowledged; forget never takes a batch */
    ph_spool_remove (spool, "s-a", 2);
    ph_spool_remove (spool, "s-a", 2); /* again: nothing happens */
    ph_spool_remove (spool, "s-a", 77);
    CHECK_STR (s_list (spool, "s-a", list, sizeof list), "1,10");
    ph_spool_flush (spool);
    CHECK_STR (s_disk_list (dir, "s-a", list, sizeof list, &files), "1,10");
    CHECK (files == 1);
    ph_spool_remove (spool, "s-a", 1);
    ph_spool_flush (spool);
    CHECK_STR (s_disk_list (dir, "s-a", list, sizeof list, NULL), "1,10"); /* 10 waits */
    ph_spool_forget (spool, "s-a");
    ph_spool_flush (spool);
    CHECK_STR (s_disk_list (dir, "s-a", list, sizeof list, NULL), "1,10");
    ph_spool_remove (spool, "s-b", 0);
    ph_spool_forget (spool, "s-b");
    ph_spool_flush (spool);
    snprintf (path, sizeof path, "%s/s-b", dir);
    CHECK (!s_exists (path));
    CHECK (s_reports == 0);
    ph_spool_destroy (&spool);
    CHECK (spool == NULL);
    ph_spool_destroy (&spool);
}

/*  Each record counts its data and a 16-byte header against the bound. */
static void test_bound_and_reopen (void)
{
    char dir[DIR_LEN], list[128];
    s_path (dir, "%s/%s", "bound");
    char block[400];
    memset (block, 'b', sizeof block);
    ph_spool_t *spool = s_open (dir, 1000);
    CHECK (!ph_spool_full (spool));
    CHECK (s_write (spool, "s-1", 0, PH_SHIP_CAST, block, 284) == 0);
    CHECK (s_write (spool, "s-1", 1, PH_SHIP_CAST, block, 284) == 0);
    CHECK (!ph_spool_full (spool));
    CHECK (s_write (spool, "s-2", 0, PH_SHIP_CAST, block, 384) == 0); /* 1000 of 1000 */
    CHECK (ph_spool_full (spool)); /* at once, before the disk has it */
    ph_spool_flush (spool);
    CHECK (ph_spool_full (spool));
    ph_spool_remove (spool, "s-1", 0);
    CHECK (!ph_spool_full (spool));
    CHECK (s_write (spool, "s-1", 2, PH_SHIP_TEXT, block, 284) == 0);
    CHECK (ph_spool_full (spool));
    ph_spool_destroy (&spool);
    s_reports_clear ();

    /* an agent restart: the same dir, the size recounted from disk; batch
     * 0 of s-1 was acknowledged but shares a segment with 1, which waits:
     * it is counted and sent again (at-least-once) */
    spool = s_open (dir, 1300);
    CHECK (ph_spool_full (spool));
    CHECK_STR (s_list (spool, "s-1", list, sizeof list), "0,1,2");
    CHECK_STR (s_list (spool, "s-2", list, sizeof list), "0");
    size_t len = 0;
    uint8_t *data = ph_spool_read (spool, "s-2", 0, &len);
    CHECK (data && len == 384 && memcmp (data, block, 384) == 0);
    free (data);
    ph_spool_destroy (&spool);
    spool = s_open (dir, 1301);
    CHECK (!ph_spool_full (spool));
    ph_spool_destroy (&spool);
}

/*  A crash in the middle of a write leaves a record cut short at the end
 *  of a segment, or one whose bytes do not match its checksum: after
 *  reopening the records before it are batches, it and what follows are
 *  not and take no room; the temp file of the earlier one-file-per-batch
 *  spool is removed; new batches go to a new segment; the session's
 *  directory still goes once everything is acknowledged. */
static void test_crash_mid_write (void)
{
    char dir[DIR_LEN], path[PATH_MAX_LEN], seg[PATH_MAX_LEN], list[128];
    s_path (dir, "%s/%s", "crash");
    ph_spool_t *spool = s_open (dir, 1 << 20);
    CHECK (s_write (spool, "s-c", 0, PH_SHIP_CAST, "first batch", 11) == 0);
    CHECK (s_write (spool, "s-c", 1, PH_SHIP_CAST, "second batch", 12) == 0);
    CHECK (s_write (spool, "s-c", 2, PH_SHIP_CAST, "third batch", 11) == 0);
    CHECK (s_write (spool, "s-d", 0, PH_SHIP_CAST, "alpha", 5) == 0);
    CHECK (s_write (spool, "s-d", 1, PH_SHIP_CAST, "bravo", 5) == 0);
    CHECK (s_write (spool, "s-d", 2, PH_SHIP_CAST, "charlie", 7) == 0);
    ph_spool_destroy (&spool);
    s_reports_clear ();
    /* s-c: the tail of batch 2 never reached the disk */
    snprintf (seg, sizeof seg, "%s/s-c/00000000.batch", dir);
    struct stat st;
    CHECK (stat (seg, &st) == 0 && st.st_size == 3 * 16 + 34);
    CHECK (truncate (seg, st.st_size - 4) == 0);
    snprintf (path, sizeof path, "%s/s-c/00000003.batch.tmp.4242", dir);
    s_write_file (path, "fourth b", 8);
    /* s-d: a byte of batch 1 went bad: 1 and 2 are not trusted */
    snprintf (path, sizeof path, "%s/s-d/00000000.batch", dir);
    int fd = open (path, O_WRONLY);
    CHECK (fd >= 0 && pwrite (fd, "B", 1, 16 + 5 + 16) == 1);
    close (fd);

    spool = s_open (dir, 2 * 16 + 23 + 16 + 5); /* exactly the whole batches */
    CHECK_STR (s_list (spool, "s-c", list, sizeof list), "0,1");
    CHECK_STR (s_list (spool, "s-d", list, sizeof list), "0");
    CHECK (ph_spool_full (spool));
    ph_spool_destroy (&spool);
    spool = s_open (dir, 2 * 16 + 23 + 16 + 5 + 1); /* the cut-off tails take no room */
    CHECK (!ph_spool_full (spool));
    size_t len = 0;
    uint8_t *data = ph_spool_read (spool, "s-c", 1, &len);
    CHECK (data && len == 12 && memcmp (data, "second batch", 12) == 0);
    free (data);
    CHECK (ph_spool_read (spool, "s-c", 2, &len) == NULL);
    /* batch 2 written again: whole, in a segment of its own */
    CHECK (s_write (spool, "s-c", 2, PH_SHIP_CAST, "third batch", 11) == 0);
    ph_spool_flush (spool);
    CHECK (s_reports == 1 && R[0].ok);
    s_reports_clear ();
    data = ph_spool_read (spool, "s-c", 2, &len);
    CHECK (data && len == 11 && memcmp (data, "third batch", 11) == 0);
    free (data);
    snprintf (path, sizeof path, "%s/s-c/00000002.batch", dir);
    CHECK (s_exists (path));
    for (uint32_t n = 0; n < 3; n++)
        ph_spool_remove (spool, "s-c", n);
    ph_spool_remove (spool, "s-d", 0);
    ph_spool_forget (spool, "s-c");
    ph_spool_forget (spool, "s-d");
    ph_spool_flush (spool);
    snprintf (path, sizeof path, "%s/s-c", dir);
    CHECK_KNOWN_BUG (!s_exists (path), "a temp file left by a crash mid-write is never removed, "
                                       "so the session's spool directory stays forever and is "
                                       "taken up again at every agent start");
    snprintf (path, sizeof path, "%s/s-d", dir);
    CHECK (!s_exists (path));
    ph_spool_destroy (&spool);
}

/*  A batch file of the earlier spool (one serialized Envelope per file,
 *  no record header) is taken whole. */
static void test_earlier_format (void)
{
    char dir[DIR_LEN], path[PATH_MAX_LEN], list[128];
    s_path (dir, "%s/%s", "earlier");
    snprintf (path, sizeof path, "%s/s-e", dir);
    CHECK (ph_mkdir_p (path, 0700) == 0);
    snprintf (path, sizeof path, "%s/s-e/00000005.batch", dir);
    s_write_file (path, "\x08\x01 an old batch", 15);
    ph_spool_t *spool = s_open (dir, 15);
    CHECK_STR (s_list (spool, "s-e", list, sizeof list), "5");
    CHECK (ph_spool_full (spool));
    size_t len = 0;
    uint8_t *data = ph_spool_read (spool, "s-e", 5, &len);
    CHECK (data && len == 15 && memcmp (data, "\x08\x01 an old batch", 15) == 0);
    free (data);
    ph_spool_remove (spool, "s-e", 5);
    ph_spool_forget (spool, "s-e");
    ph_spool_flush (spool);
    snprintf (path, sizeof path, "%s/s-e", dir);
    CHECK (!s_exists (path));
    ph_spool_destroy (&spool);
}

/*  A stream's segment is emptied in place when all of it is acknowledged
 *  (no file per batch), closed past 16 MiB (a new one follows) and
 *  deleted once closed and acknowledged. */
static void test_segments (void)
{
    char dir[DIR_LEN], path[PATH_MAX_LEN], list[128];
    s_path (dir, "%s/%s", "segments");
    ph_spool_t *spool = s_open (dir, 1 << 30);
    for (uint32_t n = 0; n < 5; n++) {
        CHECK (s_write (spool, "s-s", n, PH_SHIP_CAST, "streaming", 9) == 0);
        ph_spool_flush (spool);
        ph_spool_remove (spool, "s-s", n);
    }
    ph_spool_flush (spool);
    int files = 0;
    CHECK_STR (s_disk_list (dir, "s-s", list, sizeof list, &files), "");
    CHECK (files == 1);
    snprintf (path, sizeof path, "%s/s-s/00000000.batch", dir);
    struct stat st;
    CHECK (stat (path, &st) == 0 && st.st_size == 0);
    s_reports_clear ();

    size_t big = 1 << 20;
    uint8_t *block = calloc (1, big);
    for (uint32_t n = 5; n < 5 + 18; n++)
        CHECK (s_write (spool, "s-s", n, PH_SHIP_CAST, block, big) == 0);
    free (block);
    ph_spool_flush (spool);
    CHECK (s_reports == 18);
    s_reports_clear ();
    s_disk_list (dir, "s-s", list, sizeof list, &files);
    CHECK (files == 2); /* 00000000 (16 batches) and 00000021 (the rest) */
    for (uint32_t n = 5; n < 5 + 16; n++)
        ph_spool_remove (spool, "s-s", n);
    ph_spool_flush (spool);
    CHECK_STR (s_disk_list (dir, "s-s", list, sizeof list, &files), "21,22");
    CHECK (files == 1);
    CHECK (!s_exists (path));
    ph_spool_remove (spool, "s-s", 21);
    ph_spool_remove (spool, "s-s", 22);
    ph_spool_forget (spool, "s-s");
    ph_spool_flush (spool);
    snprintf (path, sizeof path, "%s/s-s", dir);
    CHECK (!s_exists (path));

    /* a session ends with both streams' segments acknowledged (emptied,
     * still open) and a closed one: all go with the directory */
    CHECK (s_write (spool, "s-t", 0, PH_SHIP_CAST, "cast", 4) == 0);
    CHECK (s_write (spool, "s-t", 1, PH_SHIP_TEXT, "text", 4) == 0);
    ph_spool_flush (spool);
    ph_spool_remove (spool, "s-t", 0);
    ph_spool_remove (spool, "s-t", 1);
    CHECK (s_write (spool, "s-t", 2, PH_SHIP_TEXT, "more", 4) == 0);
    ph_spool_flush (spool);
    ph_spool_remove (spool, "s-t", 2);
    ph_spool_forget (spool, "s-t");
    ph_spool_flush (spool);
    snprintf (path, sizeof path, "%s/s-t", dir);
    CHECK (!s_exists (path));
    s_reports_clear ();
    ph_spool_destroy (&spool);
}

/* ---- the shipper against a fake logshipper ------------------------------ */

typedef struct {
    char batch_id[128];
    uint8_t rid[PH_ROUTING_MAX];
    size_t rid_len;
    uint64_t request_id;
    size_t n_events;
    bool bad; /* did not decode */
} got_t;

static struct {
    ph_agent_t *agent;
    zsock_t *ctl; /* the fake controller */
    zsock_t *ls;  /* the fake logshipper */
    ph_keypair_t ls_kp;
    char ls_ep[64];
    got_t got[RECV_MAX]; /* what the logshipper received, in order */
    size_t n_got;
    char complete[8][64]; /* TranscriptComplete session ids */
    size_t n_complete;
} F;

static int s_on_ls (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop, (void)arg;
    for (;;) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, true, &rx, &env, err, sizeof err);
        if (rc == PH_EIO) {
            ph_wire_rx_close (&rx);
            break;
        }
        if (F.n_got < RECV_MAX) {
            got_t *g = &F.got[F.n_got++];
            memset (g, 0, sizeof *g);
            memcpy (g->rid, rx.routing_id, rx.routing_id_len);
            g->rid_len = rx.routing_id_len;
            g->bad = rc != 0;
            if (rc == 0 && env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS) {
                snprintf (g->batch_id, sizeof g->batch_id, "%s", env->put_log_events->batch_id);
                g->request_id = env->request_id;
                g->n_events = env->put_log_events->n_events;
            }
        }
        if (rc != 0) /* what the real logshipper answers to a frame it cannot read */
            ph_wire_send_error (sock, rx.routing_id, rx.routing_id_len, 0, "InvalidRequest",
                                "cannot read the message (%s)", err);
        ph_wire_free (&env);
        ph_wire_rx_close (&rx);
    }
    return 0;
}

static int s_on_ctl (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop, (void)arg;
    for (;;) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, true, &rx, &env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            break;
        if (rc == 0 && env->body_case == PORTHOLE__V1__ENVELOPE__BODY_TRANSCRIPT_COMPLETE &&
            F.n_complete < 8)
            snprintf (F.complete[F.n_complete++], sizeof F.complete[0], "%s",
                      env->transcript_complete->session_id);
        ph_wire_free (&env);
    }
    return 0;
}

typedef bool (cond_fn) (const void *arg);

static int s_check_cond (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    void **c = arg;
    return ((cond_fn *)c[0]) (c[1]) ? -1 : 0;
}

/*  Runs the agent's reactor until cond(arg) holds or timeout_ms passed.
 *  Returns whether cond holds. */
static bool s_run_until (cond_fn *cond, const void *arg, int timeout_ms)
{
    if (cond (arg))
        return true;
    void *c[2] = {(void *)cond, (void *)arg};
    int poll = zloop_timer (F.agent->loop, 5, 0, s_check_cond, c);
    int stop = zloop_timer (F.agent->loop, (size_t)timeout_ms, 1, ph_test_loop_stop, NULL);
    zloop_start (F.agent->loop);
    zloop_timer_end (F.agent->loop, poll);
    zloop_timer_end (F.agent->loop, stop);
    return cond (arg);
}

static bool s_never (const void *arg)
{
    (void)arg;
    return false;
}

/*  How many times the logshipper received batch_id. */
static size_t s_times (const char *batch_id)
{
    size_t n = 0;
    for (size_t i = 0; i < F.n_got; i++)
        n += strcmp (F.got[i].batch_id, batch_id) == 0;
    return n;
}

typedef struct {
    const char *batch_id;
    size_t times;
} times_t;

static bool s_got_times (const void *arg)
{
    const times_t *t = arg;
    return s_times (t->batch_id) >= t->times;
}

/*  Waits until batch_id arrived (at least `times` times in all). */
static bool s_wait_batch (const char *batch_id, size_t times, int timeout_ms)
{
    times_t t = {batch_id, times};
    return s_run_until (s_got_times, &t, timeout_ms);
}

static bool s_got_complete (const void *arg)
{
    for (size_t i = 0; i < F.n_complete; i++)
        if (strcmp (F.complete[i], arg) == 0)
            return true;
    return false;
}

static const got_t *s_last (const char *batch_id)
{
    for (size_t i = F.n_got; i-- > 0;)
        if (strcmp (F.got[i].batch_id, batch_id) == 0)
            return &F.got[i];
    return NULL;
}

/*  The logshipper answers the last copy of batch_id: PutLogEventsReply
 *  for reply_id (usually batch_id itself), or Error{code}. */
static void s_answer (const char *batch_id, const char *reply_id, const char *code)
{
    const got_t *g = s_last (batch_id);
    CHECK (g != NULL);
    if (!g)
        return;
    if (code) {
        ph_wire_send_error (F.ls, g->rid, g->rid_len, g->request_id, code, "test says %s", code);
        return;
    }
    Porthole__V1__PutLogEventsReply body = PORTHOLE__V1__PUT_LOG_EVENTS_REPLY__INIT;
    body.batch_id = (char *)reply_id;
    body.accepted = (uint32_t)g->n_events;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = g->request_id;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY;
    env.put_log_events_reply = &body;
    CHECK (ph_wire_send (F.ls, g->rid, g->rid_len, &env) == 0);
}

/*  HelloReply naming the fake logshipper. */
static void s_configure (ph_ship_t *ship)
{
    Porthole__V1__LogshipperInfo info = PORTHOLE__V1__LOGSHIPPER_INFO__INIT;
    info.endpoint = F.ls_ep;
    info.server_key = F.ls_kp.public_z85;
    Porthole__V1__LogshipperInfo *list[] = {&info};
    Porthole__V1__SessionLogPrefs prefs = PORTHOLE__V1__SESSION_LOG_PREFS__INIT;
    prefs.log_group = PH_SHIP_GROUP_DEFAULT;
    prefs.streaming_enabled = true;
    Porthole__V1__HelloReply reply = PORTHOLE__V1__HELLO_REPLY__INIT;
    reply.logshippers = list;
    reply.n_logshippers = 1;
    reply.log_prefs = &prefs;
    ph_ship_configure (ship, &reply);
    CHECK (ph_ship_recording (ship));
}

static void s_batch_id (char *buf, const char *sid, uint32_t n)
{
    snprintf (buf, 128, "%s.%08u", sid, n);
}

/*  A transcript of sid with cast_events cast events (a full batch is cut
 *  every PH_SHIP_BATCH_EVENTS) and 3 text lines, ended: all spooled. */
static void s_record (ph_ship_t *ship, const char *sid, int cast_events)
{
    ph_transcript_t *t = ph_ship_transcript_new (ship, sid, NULL);
    CHECK (t != NULL);
    for (int i = 0; i < cast_events; i++) {
        char ev[32];
        int n = snprintf (ev, sizeof ev, "[0.0, \"o\", \"%d\"]", i);
        ph_ship_append (t, PH_SHIP_CAST, ev, (size_t)n);
    }
    for (int i = 0; i < 3; i++)
        ph_ship_append (t, PH_SHIP_TEXT, "line", 4);
    ph_ship_transcript_end (t);
}

/*  The spool's actor removes a directory after TranscriptComplete went
 *  out: wait for it. */
static bool s_gone (const void *path)
{
    return !s_exists (path);
}

typedef struct {
    const char *dir, *sid, *want;
} disk_t;

static bool s_disk_is (const void *arg)
{
    const disk_t *d = arg;
    char list[128];
    return strcmp (s_disk_list (d->dir, d->sid, list, sizeof list, NULL), d->want) == 0;
}

/*  True when every batch number of want ("n,n") is in have ("n,n,n"). */
static bool s_holds (const char *have, const char *want)
{
    char w[128];
    snprintf (w, sizeof w, "%s", want);
    for (char *save = NULL, *tok = strtok_r (w, ",", &save); tok;
         tok = strtok_r (NULL, ",", &save)) {
        char pat[140];
        snprintf (pat, sizeof pat, ",%s,", tok);
        char h[140];
        snprintf (h, sizeof h, ",%s,", have);
        if (!strstr (h, pat))
            return false;
    }
    return true;
}

/*  Batches are sent only once on disk and stay there at least until
 *  their own acknowledgement; one in flight, in order; resent while
 *  unanswered; a restart takes up what the disk holds with the same ids
 *  (an acknowledged batch that shares a segment with unacknowledged ones
 *  is sent again: at-least-once); TranscriptComplete at the end, and the
 *  session's spool directory is gone. */
static void test_ship_deletes_only_acknowledged (void)
{
    char state[DIR_LEN / 2], dir[DIR_LEN], list[128], id[128], path[PATH_MAX_LEN];
    snprintf (state, sizeof state, "%s/agent-state", s_root);
    snprintf (dir, sizeof dir, "%s/%s", state, PH_SPOOL_DIR_NAME);
    const char *sid = "tester-0000000000000000a";
    ph_ship_t *ship = ph_ship_new (F.agent, state, 1 << 30);
    CHECK (ship != NULL);
    s_configure (ship);
    /* 25,000 cast events: batches 0 and 1 are cut full, 2 holds the rest,
     * 3 the text lines */
    s_record (ship, sid, 2 * EVENTS_PER_BATCH + 5000);

    s_batch_id (id, sid, 0);
    CHECK (s_wait_batch (id, 1, WAIT_MS));
    CHECK (s_last (id) && s_last (id)->n_events == EVENTS_PER_BATCH);
    /* sent, so on disk already */
    CHECK (s_holds (s_disk_list (dir, sid, list, sizeof list, NULL), "0"));
    disk_t all = {dir, sid, "0,1,2,3"};
    CHECK (s_run_until (s_disk_is, &all, WAIT_MS));
    /* not answered: sent again, nothing deleted, nothing after it sent */
    CHECK (s_wait_batch (id, 2, RESEND_WAIT_MS));
    CHECK_STR (s_disk_list (dir, sid, list, sizeof list, NULL), "0,1,2,3");
    s_answer (id, id, "Unavailable");
    s_run_until (s_never, NULL, QUIET_MS);
    CHECK_STR (s_disk_list (dir, sid, list, sizeof list, NULL), "0,1,2,3");
    char other[128];
    s_batch_id (other, sid, 2);
    s_answer (id, other, NULL); /* the reply to a batch that is not in flight */
    s_run_until (s_never, NULL, QUIET_MS);
    CHECK_STR (s_disk_list (dir, sid, list, sizeof list, NULL), "0,1,2,3");
    for (size_t i = 0; i < F.n_got; i++)
        CHECK (strcmp (F.got[i].batch_id, id) == 0);

    s_answer (id, id, NULL);
    s_batch_id (id, sid, 1);
    CHECK (s_wait_batch (id, 1, WAIT_MS));
    CHECK (s_holds (s_disk_list (dir, sid, list, sizeof list, NULL), "1,2,3"));
    CHECK (ph_ship_has_room (ship));

    /* the agent stops with batch 1 in flight; at its restart the spool is
     * over the (smaller) bound until the logshipper catches up */
    ph_ship_destroy (&ship);
    CHECK (s_holds (s_disk_list (dir, sid, list, sizeof list, NULL), "1,2,3"));
    size_t before = F.n_got;
    ship = ph_ship_new (F.agent, state, 1024);
    CHECK (ship != NULL);
    CHECK (!ph_ship_has_room (ship));
    s_configure (ship);
    for (uint32_t n = 0; n <= 3; n++) {
        s_batch_id (id, sid, n);
        if (n == 0 && !s_holds (list, "0"))
            continue; /* batch 0's segment was emptied before the stop */
        CHECK (s_wait_batch (id, s_times (id) + 1, WAIT_MS));
        s_answer (id, id, NULL);
    }
    CHECK (s_run_until ((cond_fn *)s_got_complete, sid, WAIT_MS));
    snprintf (path, sizeof path, "%s/%s", dir, sid);
    CHECK (s_run_until (s_gone, path, WAIT_MS));
    CHECK (ph_ship_has_room (ship));
    /* after the restart: in order, never one out of order */
    unsigned long next = 0;
    for (size_t i = before; i < F.n_got; i++) {
        const char *dot = strrchr (F.got[i].batch_id, '.');
        unsigned long n = dot ? strtoul (dot + 1, NULL, 10) : 0;
        CHECK (n >= next && n <= next + 1);
        if (n > next)
            next = n;
    }
    CHECK (next == 3);
    ph_ship_destroy (&ship);
}

/*  A segment whose last record is cut short (the tail a crash cut off),
 *  and a file of the earlier spool that does not decode: the batches
 *  before the cut are shipped; neither may hold up the session forever. */
static void test_ship_corrupt_batch (void)
{
    char state[DIR_LEN / 2], dir[DIR_LEN], path[PATH_MAX_LEN], id[128];
    snprintf (state, sizeof state, "%s/agent-corrupt", s_root);
    snprintf (dir, sizeof dir, "%s/%s", state, PH_SPOOL_DIR_NAME);
    const char *sid = "tester-0000000000000000b";
    ph_ship_t *ship = ph_ship_new (F.agent, state, 1 << 30);
    s_record (ship, sid, 10); /* no logshipper known yet: batches 0, 1 stay */
    ph_ship_destroy (&ship);
    snprintf (path, sizeof path, "%s/%s/00000001.batch", dir, sid);
    struct stat st;
    CHECK (stat (path, &st) == 0 && st.st_size > 8);
    CHECK (truncate (path, st.st_size / 2) == 0);
    snprintf (path, sizeof path, "%s/%s/00000007.batch", dir, sid);
    s_write_file (path, "\x0a\x05garbage", 9);

    ship = ph_ship_new (F.agent, state, 1 << 30);
    s_configure (ship);
    s_batch_id (id, sid, 0);
    CHECK (s_wait_batch (id, 1, WAIT_MS));
    CHECK (s_last (id) && s_last (id)->n_events == 10);
    s_answer (id, id, NULL);
    bool done = s_run_until ((cond_fn *)s_got_complete, sid, CORRUPT_WAIT_MS);
    CHECK_KNOWN_BUG (done, "a spooled batch that does not decode is resent forever (the "
                           "logshipper's InvalidRequest carries request id 0 and matches "
                           "nothing), so the session's transcript never completes");
    snprintf (path, sizeof path, "%s/%s", dir, sid);
    CHECK (s_run_until (s_gone, path, WAIT_MS));
    ph_ship_destroy (&ship);
}

static bool s_fake_peers (void)
{
    F.ctl = zsock_new_router ("inproc://test-agent-spool-ctl");
    F.agent->dealer = zsock_new_dealer (">inproc://test-agent-spool-ctl");
    ph_keys_generate (&F.ls_kp);
    F.ls = zsock_new (ZMQ_ROUTER);
    zsock_set_curve_server (F.ls, 1);
    zsock_set_curve_secretkey (F.ls, F.ls_kp.secret_z85);
    int port = zsock_bind (F.ls, "tcp://127.0.0.1:*");
    snprintf (F.ls_ep, sizeof F.ls_ep, "tcp://127.0.0.1:%d", port);
    if (!F.ctl || !F.agent->dealer || port <= 0)
        return false;
    zloop_reader (F.agent->loop, F.ls, s_on_ls, NULL);
    zloop_reader (F.agent->loop, F.ctl, s_on_ctl, NULL);
    return true;
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_agent_spool");
    zsys_init ();
    zsys_handler_set (NULL);
    snprintf (s_root, sizeof s_root, "/tmp/ph-test-spool-XXXXXX");
    if (!mkdtemp (s_root)) {
        CHECK (!"mkdtemp");
        PH_TEST_END ();
    }
    test_round_trip_and_order ();
    test_bound_and_reopen ();
    test_crash_mid_write ();
    test_earlier_format ();
    test_segments ();

    F.agent = calloc (1, sizeof *F.agent);
    F.agent->loop = zloop_new ();
    ph_keys_generate (&F.agent->kp);
    CHECK (s_fake_peers ());
    test_ship_deletes_only_acknowledged ();
    test_ship_corrupt_batch ();
    zloop_destroy (&F.agent->loop);
    zsock_destroy (&F.agent->dealer);
    zsock_destroy (&F.ctl);
    zsock_destroy (&F.ls);
    free (F.agent);

    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_root);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", s_root);
    PH_TEST_END ();
}
