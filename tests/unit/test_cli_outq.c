/*  Unit tests of cli/cli_outq.c on real pipes: output that a full pipe
 *  cannot take stays queued in order and goes out when the reader reads,
 *  without leaving O_NONBLOCK on the fd; a reader that went away (EPIPE)
 *  drops only that fd's data and the queue stays usable; drain waits for a
 *  slow reader but never past its timeout. */
#include "cli_outq.h"
#include "ph_errors.h"
#include "ph_test.h"
#include "ph_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPE_SIZE 4096 /* smallest pipe buffer: fills fast */

static void s_pipe (int fds[2])
{
    if (pipe (fds) != 0)
        abort ();
    fcntl (fds[1], F_SETPIPE_SZ, PIPE_SIZE);
}

/*  Reads what is in the pipe now (non-blocking) into buf at *len. */
static void s_read_now (int fd, uint8_t *buf, size_t cap, size_t *len)
{
    int flags = fcntl (fd, F_GETFL);
    fcntl (fd, F_SETFL, flags | O_NONBLOCK);
    for (;;) {
        ssize_t n = read (fd, buf + *len, cap - *len);
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    fcntl (fd, F_SETFL, flags);
}

static void test_basic (void)
{
    cli_outq_t *q = cli_outq_new ();
    int a[2], b[2], failed = -1;
    s_pipe (a);
    s_pipe (b);
    CHECK (cli_outq_bytes (q) == 0 && cli_outq_wait_fd (q) == -1);
    CHECK (cli_outq_push (q, a[1], "", 0) == 0 && cli_outq_bytes (q) == 0);
    CHECK (cli_outq_flush (q, &failed) == 0);
    CHECK (cli_outq_push (q, a[1], "hello ", 6) == 0);
    CHECK (cli_outq_push (q, b[1], "err", 3) == 0);
    CHECK (cli_outq_push (q, a[1], "world", 5) == 0);
    CHECK (cli_outq_bytes (q) == 14 && cli_outq_wait_fd (q) == a[1]);
    CHECK (cli_outq_flush (q, &failed) == 0 && failed == -1);
    CHECK (cli_outq_bytes (q) == 0 && cli_outq_wait_fd (q) == -1);
    uint8_t buf[64];
    size_t len = 0;
    s_read_now (a[0], buf, sizeof buf, &len);
    CHECK (len == 11 && memcmp (buf, "hello world", 11) == 0);
    len = 0;
    s_read_now (b[0], buf, sizeof buf, &len);
    CHECK (len == 3 && memcmp (buf, "err", 3) == 0);
    cli_outq_destroy (&q);
    CHECK (q == NULL);
    cli_outq_destroy (&q);
    for (int i = 0; i < 2; i++) {
        close (a[i]);
        close (b[i]);
    }
}

static void test_full_pipe (void)
{
    enum { TOTAL = 5 * PIPE_SIZE + 123 };
    static uint8_t data[TOTAL], got[TOTAL + 1];
    for (size_t i = 0; i < TOTAL; i++)
        data[i] = (uint8_t)(i * 7 + i / 251);
    cli_outq_t *q = cli_outq_new ();
    int p[2], other[2], failed = -1;
    s_pipe (p);
    s_pipe (other);
    /* in uneven chunks, with another fd's data queued behind */
    size_t off = 0, chunk = 1000;
    while (off < TOTAL) {
        size_t n = TOTAL - off < chunk ? TOTAL - off : chunk;
        CHECK (cli_outq_push (q, p[1], data + off, n) == 0);
        off += n;
        chunk = chunk * 3 / 2;
    }
    CHECK (cli_outq_push (q, other[1], "behind", 6) == 0);
    CHECK (cli_outq_bytes (q) == TOTAL + 6);

    CHECK (cli_outq_flush (q, &failed) == 0 && failed == -1);
    size_t queued = cli_outq_bytes (q);
    CHECK (queued > 6 && queued < TOTAL + 6); /* some went, the pipe is full */
    CHECK (cli_outq_wait_fd (q) == p[1]);
    CHECK (!(fcntl (p[1], F_GETFL) & O_NONBLOCK)); /* not left behind */
    size_t len = 0, before = 0;
    s_read_now (other[0], got, sizeof got, &before);
    CHECK (before == 0); /* in order: nothing overtakes the blocked chunk */

    int rounds = 0;
    while (cli_outq_bytes (q) > 0 && rounds++ < 100) {
        s_read_now (p[0], got, sizeof got, &len);
        CHECK (cli_outq_flush (q, &failed) == 0);
    }
    s_read_now (p[0], got, sizeof got, &len);
    CHECK (cli_outq_bytes (q) == 0);
    CHECK (len == TOTAL && memcmp (got, data, TOTAL) == 0);
    size_t n = 0;
    s_read_now (other[0], got, sizeof got, &n);
    CHECK (n == 6 && memcmp (got, "behind", 6) == 0);
    cli_outq_destroy (&q);
    for (int i = 0; i < 2; i++) {
        close (p[i]);
        close (other[i]);
    }
}

static void test_broken_pipe (void)
{
    cli_outq_t *q = cli_outq_new ();
    int gone[2], ok[2], failed = -1;
    s_pipe (gone);
    s_pipe (ok);
    close (gone[0]);
    CHECK (cli_outq_push (q, gone[1], "lost1", 5) == 0);
    CHECK (cli_outq_push (q, ok[1], "kept1-", 6) == 0);
    CHECK (cli_outq_push (q, gone[1], "lost2", 5) == 0);
    int rc = cli_outq_flush (q, &failed);
    CHECK (rc == -EPIPE && failed == gone[1]);
    CHECK (cli_outq_bytes (q) == 6 && cli_outq_wait_fd (q) == ok[1]);
    /* the tail is still right: a new chunk goes after the kept one */
    CHECK (cli_outq_push (q, ok[1], "kept2", 5) == 0);
    CHECK (cli_outq_flush (q, &failed) == 0);
    CHECK (cli_outq_bytes (q) == 0);
    uint8_t buf[64];
    size_t len = 0;
    s_read_now (ok[0], buf, sizeof buf, &len);
    CHECK (len == 11 && memcmp (buf, "kept1-kept2", 11) == 0);

    /* the failing fd last in the queue */
    failed = -1;
    CHECK (cli_outq_push (q, ok[1], "a", 1) == 0);
    CHECK (cli_outq_push (q, gone[1], "b", 1) == 0);
    CHECK (cli_outq_flush (q, &failed) == -EPIPE && failed == gone[1]);
    CHECK (cli_outq_bytes (q) == 0 && cli_outq_wait_fd (q) == -1);
    CHECK (cli_outq_push (q, ok[1], "c", 1) == 0);
    CHECK (cli_outq_flush (q, &failed) == 0 && cli_outq_bytes (q) == 0);
    len = 0;
    s_read_now (ok[0], buf, sizeof buf, &len);
    CHECK (len == 2 && memcmp (buf, "ac", 2) == 0);
    cli_outq_destroy (&q);
    close (gone[1]);
    close (ok[0]);
    close (ok[1]);
}

typedef struct {
    int fd;
    size_t want;
    size_t got;
} reader_t;

/*  A slow reader: 512 bytes every 5 ms until it has want bytes. */
static void *s_slow_reader (void *arg)
{
    reader_t *r = arg;
    uint8_t buf[512];
    while (r->got < r->want) {
        usleep (5000);
        ssize_t n = read (r->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        r->got += (size_t)n;
    }
    return NULL;
}

static void test_drain (void)
{
    static uint8_t data[4 * PIPE_SIZE];
    memset (data, 'd', sizeof data);
    cli_outq_t *q = cli_outq_new ();
    int p[2], failed;
    s_pipe (p);
    CHECK (cli_outq_push (q, p[1], data, sizeof data) == 0);
    cli_outq_flush (q, &failed);
    CHECK (cli_outq_bytes (q) > 0);

    /* nobody reads: drain gives up at its timeout */
    uint64_t start = ph_mono_ms ();
    cli_outq_drain (q, 200);
    uint64_t took = ph_mono_ms () - start;
    CHECK (took >= 190 && took < 2000);
    CHECK (cli_outq_bytes (q) > 0);

    /* a slow reader: drain waits until everything went */
    reader_t r = {p[0], sizeof data, 0};
    pthread_t t;
    pthread_create (&t, NULL, s_slow_reader, &r);
    cli_outq_drain (q, 10000);
    CHECK (cli_outq_bytes (q) == 0);
    pthread_join (t, NULL);
    CHECK (r.got == sizeof data);
    cli_outq_destroy (&q);
    close (p[0]);
    close (p[1]);
}

int main (void)
{
    signal (SIGPIPE, SIG_IGN); /* as cli_term does in a session */
    test_basic ();
    test_full_pipe ();
    test_broken_pipe ();
    test_drain ();
    PH_TEST_END ();
}
