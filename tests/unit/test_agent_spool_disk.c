/*  Unit tests of agent/agent_spool_disk.c: the record format of the spool
 *  segments and the actor that owns them (the spool as a whole, and with
 *  the shipper, is test_agent_spool.c).
 *
 *  Records: the header bytes of two known records are pinned (magic,
 *  little-endian fields, checksum), so that a change of the file format
 *  is seen here and not by agents whose spool no longer reads back; every
 *  single-byte change of a record, a record cut short and a length that
 *  points past the end are refused. Names: session ids that could leave
 *  the spool and file names that are not segments are refused.
 *
 *  The actor, driven through its messages: segments registered by the
 *  start-up scan are never appended to and are deleted once all their
 *  batches are acknowledged; a dropped registration is forgotten; a
 *  write goes to the stream's segment at the reported offset and the
 *  buffer comes back with DURABLE; a bad stream or session id is reported
 *  lost; the open segment is emptied in place; forget removes the
 *  directory. */
#include "agent_spool_disk.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_test.h"
#include "ph_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN    512
#define REPORTS_MAX 16
#define BIG_LEN     100  /* past the 32-byte steps of the checksum */
#define WAIT_MS     5000 /* deadline of the wait for a report */

static char s_root[64];

static bool s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

static long s_size (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? (long)st.st_size : -1;
}

/*  A record of batch n with len bytes of data into buf; returns its size. */
static size_t s_record (uint8_t *buf, uint32_t n, const void *data, uint32_t len)
{
    ph_spool_disk_header (buf, n, data, len);
    memcpy (buf + PH_SPOOL_HEADER, data, len);
    return PH_SPOOL_HEADER + len;
}

/* ---- records and names ------------------------------------------------------ */

static void test_header_pinned (void)
{
    uint8_t h[PH_SPOOL_HEADER], big[BIG_LEN];
    ph_spool_disk_header (h, 7, (const uint8_t *)"hello", 5);
    CHECK (memcmp (h, "PSB1\x07\x00\x00\x00\x05\x00\x00\x00\xe8\x0c\xbc\x3d", 16) == 0);
    for (int i = 0; i < BIG_LEN; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    ph_spool_disk_header (h, 123456, big, BIG_LEN);
    CHECK (memcmp (h, "PSB1\x40\xe2\x01\x00\x64\x00\x00\x00\x79\x19\x4c\x99", 16) == 0);

    CHECK (ph_spool_disk_header_is (h, 123456, BIG_LEN));
    CHECK (!ph_spool_disk_header_is (h, 123457, BIG_LEN));
    CHECK (!ph_spool_disk_header_is (h, 123456, BIG_LEN - 1));
    h[0] = 'Q';
    CHECK (!ph_spool_disk_header_is (h, 123456, BIG_LEN));

    CHECK (ph_spool_disk_is_segment ((const uint8_t *)"PSB1", 4));
    CHECK (!ph_spool_disk_is_segment ((const uint8_t *)"PSB", 3));
    CHECK (!ph_spool_disk_is_segment ((const uint8_t *)"\x08\x01 an old batch", 15));
}

static void test_record_walk (void)
{
    uint8_t buf[3 * PH_SPOOL_HEADER + 2 * BIG_LEN], big[BIG_LEN];
    for (int i = 0; i < BIG_LEN; i++)
        big[i] = (uint8_t)(255 - i);
    size_t len = s_record (buf, 3, big, BIG_LEN);
    size_t second = len;
    len += s_record (buf + len, 4, "", 0);
    size_t third = len;
    len += s_record (buf + len, 5, big, 33);

    uint32_t n = 0, dlen = 0;
    CHECK (ph_spool_disk_record_at (buf, len, 0, &n, &dlen) && n == 3 && dlen == BIG_LEN);
    CHECK (ph_spool_disk_record_at (buf, len, second, &n, &dlen) && n == 4 && dlen == 0);
    CHECK (ph_spool_disk_record_at (buf, len, third, &n, &dlen) && n == 5 && dlen == 33);
    CHECK (!ph_spool_disk_record_at (buf, len, len, &n, &dlen));       /* the end */
    CHECK (!ph_spool_disk_record_at (buf, len, len + 1, &n, &dlen));   /* past it */
    CHECK (!ph_spool_disk_record_at (buf, len - 1, third, &n, &dlen)); /* cut short */
    CHECK (!ph_spool_disk_record_at (buf, third + 15, third, &n, &dlen));

    /* any byte of the first record changed (its lowest or its highest bit) */
    size_t refused = 0;
    for (size_t i = 0; i < second; i++)
        for (int flip = 1; flip <= 0xFF; flip = flip == 1 ? 0x80 : 0x100) {
            buf[i] ^= (uint8_t)flip;
            refused += !ph_spool_disk_record_at (buf, len, 0, &n, &dlen);
            buf[i] ^= (uint8_t)flip;
        }
    CHECK (refused == 2 * second);
    CHECK (ph_spool_disk_record_at (buf, len, 0, &n, &dlen)); /* all restored */

    /* a length past the end is refused before anything is read there */
    uint8_t h[PH_SPOOL_HEADER + 4];
    memcpy (h, "PSB1\x01\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00xxxx", sizeof h);
    CHECK (!ph_spool_disk_record_at (h, sizeof h, 0, &n, &dlen));
}

static void test_names (void)
{
    CHECK (ph_spool_disk_sid_ok ("alice-0a1b2c3d4e5f60718"));
    const char *bad[] = {"", ".", "..", "../x", "a/b", ".hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK (!ph_spool_disk_sid_ok (bad[i]));
    char sid[PH_SPOOL_SID_MAX + 1];
    memset (sid, 'a', sizeof sid - 1);
    sid[PH_SPOOL_SID_MAX] = 0;
    CHECK (!ph_spool_disk_sid_ok (sid));
    sid[PH_SPOOL_SID_MAX - 1] = 0;
    CHECK (ph_spool_disk_sid_ok (sid));

    uint32_t id = 0;
    CHECK (ph_spool_disk_segment_name ("00000042.batch", &id) && id == 42);
    CHECK (ph_spool_disk_segment_name ("4294967295.batch", &id) && id == UINT32_MAX);
    const char *junk[] = {"4294967296.batch", "-1.batch", "x.batch",  "7.batchx",
                          "7.batch.tmp.1",    ".batch",   "notes.txt"};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
        CHECK (!ph_spool_disk_segment_name (junk[i], &id));

    char path[PH_SPOOL_PATH_MAX];
    ph_spool_disk_segment_path (path, "/var/spool", "s-1", 42);
    CHECK_STR (path, "/var/spool/s-1/00000042.batch");
}

/* ---- the actor ----------------------------------------------------------------- */

static ph_spool_disk_report_t R[REPORTS_MAX];
static size_t s_reports;

/*  Asks for a flush and takes every report up to FLUSHED. */
static void s_drain (ph_spool_disk_t *disk)
{
    CHECK (ph_spool_disk_flush (disk) == 0);
    for (;;) {
        ph_spool_disk_report_t r;
        if (ph_spool_disk_recv (disk, &r) != 0) {
            CHECK (!"recv");
            return;
        }
        if (r.kind == PH_SPOOL_DISK_FLUSHED) {
            ph_spool_disk_report_clear (&r);
            return;
        }
        CHECK (r.kind == PH_SPOOL_DISK_DURABLE && s_reports < REPORTS_MAX);
        if (s_reports < REPORTS_MAX)
            R[s_reports++] = r;
        else
            ph_spool_disk_report_clear (&r);
    }
}

static void s_reports_clear (void)
{
    for (size_t i = 0; i < s_reports; i++)
        ph_spool_disk_report_clear (&R[i]);
    s_reports = 0;
}

static int s_write (ph_spool_disk_t *disk, const char *sid, uint32_t n, unsigned stream,
                    const char *text)
{
    uint8_t *buf = (uint8_t *)strdup (text);
    int rc = ph_spool_disk_write (disk, sid, n, stream, &buf, strlen (text));
    CHECK ((rc == 0) == (buf == NULL));
    free (buf);
    return rc;
}

/*  Writes dir/sid/00000003.batch holding batches 1 and 2, as an earlier
 *  run left it, and returns its size. */
static size_t s_leave_segment (const char *dir, const char *sid)
{
    char path[PATH_LEN];
    uint8_t buf[2 * PH_SPOOL_HEADER + 16];
    size_t len = s_record (buf, 1, "one", 3);
    len += s_record (buf + len, 2, "two", 3);
    snprintf (path, sizeof path, "%s/%s", dir, sid);
    CHECK (ph_mkdir_p (path, 0700) == 0);
    snprintf (path, sizeof path, "%s/%s/00000003.batch", dir, sid);
    CHECK (ph_file_write (path, buf, len, 0600) == 0);
    return len;
}

static void test_actor_found_segments (void)
{
    char dir[PATH_LEN / 2], path[PATH_LEN];
    snprintf (dir, sizeof dir, "%s/found", s_root);
    CHECK (ph_mkdir_p (dir, 0700) == 0);
    size_t size = s_leave_segment (dir, "s-old");
    snprintf (path, sizeof path, "%s/s-drop", dir);
    CHECK (ph_mkdir_p (path, 0700) == 0);

    /* built and thrown away before it starts: nothing leaks, nothing moves */
    ph_spool_disk_t *disk = ph_spool_disk_new (dir);
    CHECK (disk && ph_spool_disk_found (disk, "s-old", 3) == 0);
    if (disk)
        ph_spool_disk_found_counts (disk, "s-old", 2, size);
    ph_spool_disk_destroy (&disk);
    CHECK (disk == NULL);
    ph_spool_disk_destroy (&disk);

    disk = ph_spool_disk_new (dir);
    CHECK (disk != NULL);
    if (!disk)
        return;
    CHECK (ph_spool_disk_found (disk, "s-old", 3) == 0);
    ph_spool_disk_found_counts (disk, "s-old", 2, size);
    CHECK (ph_spool_disk_found (disk, "s-drop", 9) == 0);
    ph_spool_disk_drop_found (disk, "s-drop");
    CHECK (ph_spool_disk_start (disk) == 0);

    /* a found segment takes no appends: batch 4 opens a new one */
    CHECK (s_write (disk, "s-old", 4, PH_SHIP_CAST, "four") == 0);
    s_drain (disk);
    CHECK (s_reports == 1 && R[0].ok && R[0].seg == 4 && R[0].off == 0);
    snprintf (path, sizeof path, "%s/s-old/00000003.batch", dir);
    CHECK (s_size (path) == (long)size);
    s_reports_clear ();

    /* deleted once both its batches are acknowledged */
    CHECK (ph_spool_disk_ack (disk, "s-old", 1, 3) == 0);
    s_drain (disk);
    CHECK (s_exists (path));
    CHECK (ph_spool_disk_ack (disk, "s-old", 2, 3) == 0);
    s_drain (disk);
    CHECK (!s_exists (path));

    /* the dropped registration is not the actor's: its directory stays */
    CHECK (ph_spool_disk_forget (disk, "s-drop") == 0);
    s_drain (disk);
    snprintf (path, sizeof path, "%s/s-drop", dir);
    CHECK (s_exists (path));
    CHECK (s_reports == 0);
    ph_spool_disk_destroy (&disk);
}

static void test_actor_writes (void)
{
    char dir[PATH_LEN / 2], path[PATH_LEN];
    snprintf (dir, sizeof dir, "%s/writes", s_root);
    CHECK (ph_mkdir_p (dir, 0700) == 0);
    ph_spool_disk_t *disk = ph_spool_disk_new (dir);
    CHECK (disk && ph_spool_disk_start (disk) == 0);
    if (!disk)
        return;
    CHECK (s_write (disk, "s-w", 5, PH_SHIP_CAST, "alpha") == 0);
    CHECK (s_write (disk, "s-w", 6, PH_SHIP_TEXT, "bravo") == 0);
    CHECK (s_write (disk, "s-w", 7, PH_SHIP_CAST, "charlie") == 0);
    CHECK (s_write (disk, "s-w", 8, PH_SHIP_STREAMS, "bad stream") == 0);
    CHECK (s_write (disk, "../s-w", 9, PH_SHIP_CAST, "bad sid") == 0);
    s_drain (disk);
    /* in order, with their buffers back, each where its record is */
    CHECK (s_reports == 5);
    if (s_reports == 5) {
        CHECK (R[0].n == 5 && R[0].ok && R[0].seg == 5 && R[0].off == 0 && R[0].len == 5);
        CHECK (R[0].data && memcmp (R[0].data, "alpha", 5) == 0);
        CHECK_STR (R[0].sid, "s-w");
        CHECK (R[1].n == 6 && R[1].ok && R[1].seg == 6 && R[1].off == 0);
        CHECK (R[2].n == 7 && R[2].ok && R[2].seg == 5 && R[2].off == PH_SPOOL_HEADER + 5);
        CHECK (R[2].data && memcmp (R[2].data, "charlie", 7) == 0);
        CHECK (R[3].n == 8 && !R[3].ok && R[3].data);
        CHECK (R[4].n == 9 && !R[4].ok && R[4].data);
    }
    s_reports_clear ();
    snprintf (path, sizeof path, "%s/s-w", s_root);
    CHECK (!s_exists (path));

    /* the file holds the records, read back as the start-up scan does */
    snprintf (path, sizeof path, "%s/s-w/00000005.batch", dir);
    size_t len = 0;
    uint8_t *buf = (uint8_t *)ph_file_read (path, 1 << 20, &len);
    uint32_t n = 0, dlen = 0;
    CHECK (buf && len == 2 * PH_SPOOL_HEADER + 12);
    CHECK (buf && ph_spool_disk_record_at (buf, len, 0, &n, &dlen) && n == 5 && dlen == 5);
    CHECK (buf && ph_spool_disk_record_at (buf, len, PH_SPOOL_HEADER + 5, &n, &dlen) && n == 7 &&
           dlen == 7 && memcmp (buf + 2 * PH_SPOOL_HEADER + 5, "charlie", 7) == 0);
    free (buf);

    /* the open segment is emptied in place once all of it is acknowledged */
    CHECK (ph_spool_disk_ack (disk, "s-w", 5, 5) == 0);
    s_drain (disk);
    CHECK (s_size (path) == (long)(2 * PH_SPOOL_HEADER + 12));
    CHECK (ph_spool_disk_ack (disk, "s-w", 7, 5) == 0);
    s_drain (disk);
    CHECK (s_size (path) == 0);
    CHECK (s_write (disk, "s-w", 10, PH_SHIP_CAST, "delta") == 0);
    s_drain (disk);
    CHECK (s_reports == 1 && R[0].ok && R[0].seg == 5 && R[0].off == 0);
    s_reports_clear ();

    /* forget: the segment that waits stays, the rest and then the
     * directory go */
    CHECK (ph_spool_disk_ack (disk, "s-w", 6, 6) == 0);
    CHECK (ph_spool_disk_forget (disk, "s-w") == 0);
    s_drain (disk);
    CHECK (s_exists (path));
    snprintf (path, sizeof path, "%s/s-w/00000006.batch", dir);
    CHECK (!s_exists (path));
    CHECK (ph_spool_disk_ack (disk, "s-w", 10, 5) == 0);
    CHECK (ph_spool_disk_forget (disk, "s-w") == 0);
    s_drain (disk);
    snprintf (path, sizeof path, "%s/s-w", dir);
    CHECK (!s_exists (path));

    /* a report waits on the pipe once a write is synced */
    CHECK (!ph_spool_disk_ready (disk));
    CHECK (s_write (disk, "s-x", 0, PH_SHIP_CAST, "echo") == 0);
    zmq_pollitem_t item = {zsock_resolve (ph_spool_disk_pipe (disk)), 0, ZMQ_POLLIN, 0};
    CHECK (zmq_poll (&item, 1, WAIT_MS) == 1);
    CHECK (ph_spool_disk_ready (disk));
    s_drain (disk);
    CHECK (s_reports == 1 && R[0].ok);
    s_reports_clear ();
    ph_spool_disk_destroy (&disk);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_agent_spool_disk");
    zsys_init ();
    zsys_handler_set (NULL);
    snprintf (s_root, sizeof s_root, "/tmp/ph-test-spool-disk-XXXXXX");
    if (!mkdtemp (s_root)) {
        CHECK (!"mkdtemp");
        PH_TEST_END ();
    }
    test_header_pinned ();
    test_record_walk ();
    test_names ();
    test_actor_found_segments ();
    test_actor_writes ();

    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_root);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", s_root);
    PH_TEST_END ();
}
