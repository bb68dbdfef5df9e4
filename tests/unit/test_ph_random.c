/*  Unit tests of common/ph_random.c: every byte asked for is written and
 *  none beyond; long reads (which getrandom(2) may return short) and reads
 *  interrupted by signals (EINTR, short reads) still fill the whole
 *  buffer; successive calls differ; the bytes look uniform (a histogram
 *  far outside chance would mean a stuck or partial fill). */
#include "ph_errors.h"
#include "ph_random.h"
#include "ph_test.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define GUARD       64
#define SMALL       37
#define HIST_BYTES  (64 * 1024)       /* 256 expected per value, sd ~16 */
#define HIST_MIN    128               /* 8 sd below */
#define HIST_MAX    400               /* 9 sd above */
#define TAIL_WINDOW 64                /* an unfilled tail shows as zeros */
#define BIG_BYTES   (8 * 1024 * 1024) /* several getrandom calls' worth */
#define BIG_ROUNDS  4
#define TIMER_US    50 /* signals while the big reads run */

static volatile sig_atomic_t s_signals;

static void s_on_alarm (int sig)
{
    (void)sig;
    s_signals++;
}

static bool s_all (const uint8_t *p, size_t len, uint8_t v)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

/*  True when no TAIL_WINDOW-byte window at the end of p is all zero. */
static bool s_tail_filled (const uint8_t *p, size_t len)
{
    return !s_all (p + len - TAIL_WINDOW, TAIL_WINDOW, 0);
}

static void test_exact_length (void)
{
    uint8_t buf[GUARD + SMALL + GUARD];
    memset (buf, 0xA5, sizeof buf);
    CHECK (ph_random_bytes (buf + GUARD, 0) == 0);
    CHECK (s_all (buf, sizeof buf, 0xA5));
    CHECK (ph_random_bytes (buf + GUARD, SMALL) == 0);
    CHECK (s_all (buf, GUARD, 0xA5));
    CHECK (s_all (buf + GUARD + SMALL, GUARD, 0xA5));
    CHECK (!s_all (buf + GUARD, SMALL, 0xA5));

    uint8_t a[32] = {0}, b[32] = {0};
    CHECK (ph_random_bytes (a, sizeof a) == 0 && ph_random_bytes (b, sizeof b) == 0);
    CHECK (memcmp (a, b, sizeof a) != 0);
}

static void test_uniform (void)
{
    uint8_t *buf = calloc (1, HIST_BYTES);
    CHECK (buf != NULL);
    if (!buf)
        return;
    CHECK (ph_random_bytes (buf, HIST_BYTES) == 0);
    unsigned hist[256] = {0};
    for (size_t i = 0; i < HIST_BYTES; i++)
        hist[buf[i]]++;
    unsigned lo = HIST_BYTES, hi = 0;
    for (int v = 0; v < 256; v++) {
        lo = hist[v] < lo ? hist[v] : lo;
        hi = hist[v] > hi ? hist[v] : hi;
    }
    CHECK (lo >= HIST_MIN && hi <= HIST_MAX);
    if (lo < HIST_MIN || hi > HIST_MAX)
        fprintf (stderr, "byte counts from %u to %u, expected %d..%d\n", lo, hi, HIST_MIN,
                 HIST_MAX);
    CHECK (s_tail_filled (buf, HIST_BYTES));
    free (buf);
}

/*  getrandom returns short when a signal interrupts a long read: with a
 *  handler installed without SA_RESTART and a fast interval timer, every
 *  big read must still fill its buffer to the end. */
static void test_interrupted (void)
{
    uint8_t *buf = malloc (BIG_BYTES);
    CHECK (buf != NULL);
    if (!buf)
        return;
    struct sigaction sa, old;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_alarm;
    sigemptyset (&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the system call sees EINTR / returns short */
    CHECK (sigaction (SIGALRM, &sa, &old) == 0);
    struct itimerval it = {{0, TIMER_US}, {0, TIMER_US}}, off = {{0, 0}, {0, 0}};
    CHECK (setitimer (ITIMER_REAL, &it, NULL) == 0);
    for (int r = 0; r < BIG_ROUNDS; r++) {
        memset (buf, 0, BIG_BYTES);
        CHECK (ph_random_bytes (buf, BIG_BYTES) == 0);
        CHECK (s_tail_filled (buf, BIG_BYTES));
        CHECK (!s_all (buf + BIG_BYTES / 2, TAIL_WINDOW, 0));
    }
    setitimer (ITIMER_REAL, &off, NULL);
    sigaction (SIGALRM, &old, NULL);
    CHECK (s_signals > 0); /* the reads really were interrupted */
    free (buf);
}

int main (void)
{
    test_exact_length ();
    test_uniform ();
    test_interrupted ();
    PH_TEST_END ();
}
