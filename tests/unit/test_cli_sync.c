/*  Unit tests of cli/cli_sync.c: a new CLI process joins a stream that the
 *  agent kept. The agent's first message tells its positions; the CLI's
 *  stream moves there (what it kept is dropped, the next seq follows the
 *  agent's ack), an interactive session probes with a RESIZE, and the
 *  first sequenced message from the agent is the next one delivered. Once
 *  synced, later messages change nothing. */
#include "cli_sess.h"
#include "ph_test.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    ph_stream_data_t msgs[16];
    char payloads[16][32];
    int count;
} sent_t;

static void s_capture (void *arg, const ph_stream_data_t *msg)
{
    sent_t *w = arg;
    if (w->count == 16)
        return;
    w->msgs[w->count] = *msg;
    snprintf (w->payloads[w->count], sizeof w->payloads[0], "%.*s", (int)msg->payload.len,
              (const char *)msg->payload.data);
    w->count++;
}

static ph_stream_data_t s_from_agent (int kind, uint64_t seq, uint64_t ack, const char *payload)
{
    ph_stream_data_t m = PORTHOLE__V1__STREAM_DATA__INIT;
    m.session_id = "bob-0123456789abcdef0";
    m.kind = kind;
    m.seq = seq;
    m.ack = ack;
    m.credit = PH_STREAM_WINDOW;
    m.payload.data = (uint8_t *)payload;
    m.payload.len = payload ? strlen (payload) : 0;
    return m;
}

static cli_sess_t *s_session (sent_t *w, bool interactive)
{
    cli_sess_t *s = calloc (1, sizeof *s);
    s->interactive = interactive;
    s->cols = 132;
    s->rows = 43;
    s->stream = ph_stream_new ("bob-0123456789abcdef0", s_capture, w);
    return s;
}

static void s_free (cli_sess_t **s)
{
    ph_stream_destroy (&(*s)->stream);
    free (*s);
    *s = NULL;
}

static void test_interactive_resume (void)
{
    sent_t w = {0};
    cli_sess_t *s = s_session (&w, true);
    /* the probe sent on attach, before the positions are known */
    ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__RESIZE, "80x24", 5);
    CHECK (w.count == 1 && w.msgs[0].seq == 1);

    /* the agent's ACK: it delivered 5 of an earlier client's messages */
    ph_stream_data_t ack = s_from_agent (PORTHOLE__V1__STREAM_KIND__ACK, 0, 5, NULL);
    cli_sync_apply (s, &ack);
    CHECK (s->send_synced && !s->recv_synced);
    CHECK (w.count == 2);
    CHECK (w.msgs[1].kind == PORTHOLE__V1__STREAM_KIND__RESIZE && w.msgs[1].seq == 6);
    CHECK_STR (w.payloads[1], "132x43");
    CHECK (ph_stream_sent_seq (s->stream) == 6);
    CHECK (ph_stream_receive (s->stream, &ack) == 0);
    CHECK (ph_stream_unacked_bytes (s->stream) == 6); /* the probe at seq 1 was let go */

    /* its output stands at seq 12: that is delivered next, nothing earlier */
    ph_stream_data_t out = s_from_agent (PORTHOLE__V1__STREAM_KIND__STDOUT, 12, 6, "hi");
    cli_sync_apply (s, &out);
    CHECK (s->recv_synced);
    CHECK (ph_stream_receive (s->stream, &out) == 1);
    CHECK (ph_stream_recv_seq (s->stream) == 12);
    CHECK (ph_stream_drained (s->stream));
    ph_stream_data_t old = s_from_agent (PORTHOLE__V1__STREAM_KIND__STDOUT, 11, 6, "old");
    cli_sync_apply (s, &old); /* synced: no effect */
    CHECK (ph_stream_receive (s->stream, &old) == 0);

    /* later messages leave the positions alone and send no more probes */
    int before = w.count;
    ph_stream_data_t later = s_from_agent (PORTHOLE__V1__STREAM_KIND__STDOUT, 13, 40, "x");
    cli_sync_apply (s, &later);
    CHECK (w.count == before);
    CHECK (ph_stream_sent_seq (s->stream) == 6);
    s_free (&s);
}

static void test_command_and_fresh (void)
{
    /* non-interactive: no RESIZE probe */
    sent_t w = {0};
    cli_sess_t *s = s_session (&w, false);
    ph_stream_data_t first = s_from_agent (PORTHOLE__V1__STREAM_KIND__STDOUT, 3, 7, "x");
    cli_sync_apply (s, &first);
    CHECK (s->send_synced && s->recv_synced);
    CHECK (w.count == 0);
    CHECK (ph_stream_receive (s->stream, &first) == 1);
    ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__STDIN, "a", 1);
    CHECK (w.count == 1 && w.msgs[0].seq == 8);
    s_free (&s);

    /* a fresh session: positions at zero, nothing skipped */
    sent_t w2 = {0};
    s = s_session (&w2, true);
    ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__RESIZE, "80x24", 5);
    ph_stream_data_t ack = s_from_agent (PORTHOLE__V1__STREAM_KIND__ACK, 0, 0, NULL);
    cli_sync_apply (s, &ack);
    CHECK (w2.count == 2 && w2.msgs[1].seq == 2);
    CHECK (ph_stream_unacked_bytes (s->stream) == 5 + 6); /* both kept */
    ph_stream_data_t out = s_from_agent (PORTHOLE__V1__STREAM_KIND__STDOUT, 1, 2, "y");
    cli_sync_apply (s, &out);
    CHECK (ph_stream_receive (s->stream, &out) == 1 && ph_stream_recv_seq (s->stream) == 1);
    s_free (&s);
}

int main (void)
{
    test_interactive_resume ();
    test_command_and_fresh ();
    PH_TEST_END ();
}
