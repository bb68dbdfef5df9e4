/*  Unit tests of common/ph_stream.c: two stream ends joined by a lossy,
 *  duplicating "wire" that the test controls. */
#include "ph_errors.h"
#include "ph_stream.h"
#include "ph_test.h"
#include "ph_util.h"

#include <stdlib.h>
#include <unistd.h>

#define WIRE_MAX 4096

typedef struct {
    ph_stream_data_t msgs[WIRE_MAX];
    uint8_t *bufs[WIRE_MAX];
    int count;
    bool drop; /* lose everything sent while set */
} wire_t;

static void s_send (void *arg, const ph_stream_data_t *msg)
{
    wire_t *w = arg;
    if (w->drop || w->count == WIRE_MAX)
        return;
    w->msgs[w->count] = *msg;
    w->bufs[w->count] = malloc (msg->payload.len + 1);
    if (msg->payload.len)
        memcpy (w->bufs[w->count], msg->payload.data, msg->payload.len);
    w->msgs[w->count].payload.data = w->bufs[w->count];
    w->count++;
}

/*  Delivers everything on w to s; appends delivered payload to out. */
static size_t s_pump (wire_t *w, ph_stream_t *s, uint8_t *out, size_t outlen, int *exits)
{
    int n = w->count;
    w->count = 0;
    for (int i = 0; i < n; i++) {
        if (ph_stream_receive (s, &w->msgs[i]) == 1) {
            if (w->msgs[i].kind == PORTHOLE__V1__STREAM_KIND__EXIT && exits)
                (*exits)++;
            if (w->msgs[i].payload.len)
                memcpy (out + outlen, w->msgs[i].payload.data, w->msgs[i].payload.len);
            outlen += w->msgs[i].payload.len;
        }
        free (w->bufs[i]);
    }
    return outlen;
}

static void s_test_in_order_and_window (void)
{
    wire_t *ab = calloc (1, sizeof *ab), *ba = calloc (1, sizeof *ba);
    ph_stream_t *a = ph_stream_new ("s1", s_send, ab);
    ph_stream_t *b = ph_stream_new ("s1", s_send, ba);
    size_t total = 3 * 1024 * 1024;
    uint8_t *src = malloc (total), *dst = malloc (total);
    for (size_t i = 0; i < total; i++)
        src[i] = (uint8_t)(i * 7 + i / 251);
    size_t sent = 0, got = 0;
    int rounds = 0;
    while (got < total && rounds++ < 10000) {
        while (sent < total && ph_stream_room (a) > 0) {
            size_t n = ph_stream_room (a);
            if (n > total - sent)
                n = total - sent;
            CHECK (ph_stream_write (a, PORTHOLE__V1__STREAM_KIND__STDOUT, src + sent, n) == 0);
            sent += n;
        }
        /* never more than the window in flight */
        CHECK (ph_stream_unacked_bytes (a) <= PH_STREAM_WINDOW);
        got = s_pump (ab, b, dst, got, NULL);
        ph_stream_flush_ack (b);
        s_pump (ba, a, NULL, 0, NULL);
    }
    CHECK (got == total && memcmp (src, dst, total) == 0);
    CHECK (ph_stream_drained (a));
    CHECK (ph_stream_write (a, PORTHOLE__V1__STREAM_KIND__STDOUT, src, PH_PAYLOAD_MAX + 1) ==
           PH_ESTATE);
    ph_stream_destroy (&a);
    ph_stream_destroy (&b);
    CHECK (a == NULL);
    free (src);
    free (dst);
    free (ab);
    free (ba);
}

static void s_test_loss_and_duplicates (void)
{
    wire_t *ab = calloc (1, sizeof *ab), *ba = calloc (1, sizeof *ba);
    ph_stream_t *a = ph_stream_new ("s2", s_send, ab);
    ph_stream_t *b = ph_stream_new ("s2", s_send, ba);
    uint8_t out[64];
    int exits = 0;
    ph_stream_write (a, PORTHOLE__V1__STREAM_KIND__STDOUT, "one,", 4);
    ab->drop = true; /* "two," is lost on the wire (controller restarted) */
    ph_stream_write (a, PORTHOLE__V1__STREAM_KIND__STDOUT, "two,", 4);
    ab->drop = false;
    ph_stream_write (a, PORTHOLE__V1__STREAM_KIND__STDOUT, "three", 5);
    ph_stream_write (a, PORTHOLE__V1__STREAM_KIND__EXIT, "0", 1);
    size_t n = s_pump (ab, b, out, 0, &exits);
    CHECK (n == 4 && memcmp (out, "one,", 4) == 0); /* the gap stops delivery */
    CHECK (ph_stream_recv_seq (b) == 1);
    ph_stream_flush_ack (b);
    s_pump (ba, a, NULL, 0, NULL);
    CHECK (ph_stream_unacked_bytes (a) == 10); /* two, three, 0 kept */
    ph_stream_resend (a);                      /* go-back-N */
    ph_stream_resend (a);                      /* and a duplicate of each */
    n = s_pump (ab, b, out, n, &exits);
    CHECK (n == 14 && memcmp (out, "one,two,three0", 14) == 0);
    CHECK (exits == 1); /* EXIT delivered exactly once */
    ph_stream_flush_ack (b);
    s_pump (ba, a, NULL, 0, NULL);
    CHECK (ph_stream_drained (a));
    ph_stream_destroy (&a);
    ph_stream_destroy (&b);
    free (ab);
    free (ba);
}

static void s_test_retransmit_timer (void)
{
    wire_t *ab = calloc (1, sizeof *ab);
    ph_stream_t *a = ph_stream_new ("s3", s_send, ab);
    ph_stream_write (a, PORTHOLE__V1__STREAM_KIND__STDIN, "x", 1);
    free (ab->bufs[0]);
    ab->count = 0;
    uint64_t now = ph_mono_ms ();
    ph_stream_tick (a, now + 10);
    CHECK (ab->count == 0); /* not yet */
    ph_stream_tick (a, now + PH_STREAM_RTO_MS + 10);
    CHECK (ab->count == 1 && ab->msgs[0].seq == 1); /* resent */
    free (ab->bufs[0]);
    ph_stream_destroy (&a);
    free (ab);
}

static void s_test_held_credit (void)
{
    wire_t *ab = calloc (1, sizeof *ab);
    ph_stream_t *b = ph_stream_new ("s4", s_send, ab);
    ph_stream_set_held (b, PH_STREAM_WINDOW);
    ph_stream_flush_ack (b);
    CHECK (ab->count == 1 && ab->msgs[0].credit == 0);
    ph_stream_set_held (b, 0);
    ph_stream_tick (b, ph_mono_ms ()); /* window reopened: tell the peer */
    CHECK (ab->count == 2 && ab->msgs[1].credit == PH_STREAM_WINDOW);
    for (int i = 0; i < ab->count; i++)
        free (ab->bufs[i]);
    ph_stream_destroy (&b);
    free (ab);
}

/*  A new process joins a stream whose peer is at seq 500 / ack 300. */
static void s_test_adopt (void)
{
    wire_t *ab = calloc (1, sizeof *ab), *ba = calloc (1, sizeof *ba);
    ph_stream_t *cli = ph_stream_new ("s5", s_send, ab);
    ph_stream_write (cli, PORTHOLE__V1__STREAM_KIND__RESIZE, "80x24", 5); /* seq 1: stale */
    ph_stream_adopt_send (cli, 300);
    CHECK (ph_stream_drained (cli) && ph_stream_sent_seq (cli) == 300);
    ph_stream_write (cli, PORTHOLE__V1__STREAM_KIND__STDIN, "x", 1);
    CHECK (ab->msgs[ab->count - 1].seq == 301);
    ph_stream_adopt_send (cli, 10); /* behind: no change */
    CHECK (ph_stream_sent_seq (cli) == 301);
    ph_stream_adopt_recv (cli, 500);
    ph_stream_data_t m = PORTHOLE__V1__STREAM_DATA__INIT;
    m.session_id = "s5";
    m.kind = PORTHOLE__V1__STREAM_KIND__STDOUT;
    m.seq = 500;
    m.credit = PH_STREAM_WINDOW;
    CHECK (ph_stream_receive (cli, &m) == 1);
    CHECK (ph_stream_recv_seq (cli) == 500);
    for (int i = 0; i < ab->count; i++)
        free (ab->bufs[i]);
    ph_stream_destroy (&cli);
    free (ab);
    free (ba);
}

int main (void)
{
    s_test_adopt ();
    s_test_in_order_and_window ();
    s_test_loss_and_duplicates ();
    s_test_retransmit_timer ();
    s_test_held_credit ();
    PH_TEST_END ();
}
