/*  cli_sync: see cli_sess.h.
 *
 *  Why: a session's agent keeps its stream across clients, but a new CLI
 *  process (resume-session after "~.") starts a new ph_stream at seq 1 on
 *  both sides. Without help the agent would drop our messages as
 *  duplicates and we would drop its messages as a gap.
 *
 *  How: the first messages of the agent tell its positions: ack = the
 *  highest seq it delivered from our side, seq = where its output stands.
 *  ph_stream has no setter for either (its state is opaque), so this
 *  module advances it with messages that never reach the wire: empty
 *  writes that a fake ACK then acknowledges (in batches, to bound memory),
 *  and empty receives that are not delivered. On attach the CLI sends a
 *  RESIZE first, which makes an idle agent answer with an ACK.
 */
#include "cli_sess.h"

#define CLI_SYNC_BATCH 4096 /* fake writes kept at once while skipping */

/*  Gives the stream an ACK of ack with credit, as if from the agent. */
static void s_fake_ack (cli_sess_t *s, uint64_t ack, uint32_t credit)
{
    ph_stream_data_t m = PORTHOLE__V1__STREAM_DATA__INIT;
    m.session_id = s->session_id;
    m.ack = ack;
    m.credit = credit;
    m.kind = PORTHOLE__V1__STREAM_KIND__ACK;
    ph_stream_receive (s->stream, &m);
}

/*  Makes the next seq we send ack + 1, everything before acknowledged. */
static void s_skip_sent (cli_sess_t *s, uint64_t ack, uint32_t credit)
{
    s->muted = true;
    while (ph_stream_sent_seq (s->stream) < ack) {
        uint64_t n = ack - ph_stream_sent_seq (s->stream);
        for (uint64_t i = 0; i < n && i < CLI_SYNC_BATCH; i++)
            ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__STDIN, NULL, 0);
        s_fake_ack (s, ph_stream_sent_seq (s->stream), credit);
    }
    s->muted = false;
}

/*  Makes the next seq we deliver upto + 1. */
static void s_skip_received (cli_sess_t *s, uint64_t upto, uint32_t credit)
{
    ph_stream_data_t m = PORTHOLE__V1__STREAM_DATA__INIT;
    m.session_id = s->session_id;
    m.credit = credit;
    m.kind = PORTHOLE__V1__STREAM_KIND__STDOUT;
    s->muted = true;
    while (ph_stream_recv_seq (s->stream) < upto) {
        m.seq = ph_stream_recv_seq (s->stream) + 1;
        ph_stream_receive (s->stream, &m);
    }
    s->muted = false;
}

void cli_sync_apply (cli_sess_t *s, const ph_stream_data_t *msg)
{
    if (!s->send_synced) {
        if (msg->ack > ph_stream_sent_seq (s->stream))
            s_skip_sent (s, msg->ack, msg->credit);
        s->send_synced = true;
        if (s->interactive) {
            char size[32];
            int n = snprintf (size, sizeof size, "%ux%u", s->cols, s->rows);
            ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__RESIZE, size, (size_t)n);
        }
    }
    if (!s->recv_synced && msg->seq > 0) {
        if (msg->seq > ph_stream_recv_seq (s->stream) + 1)
            s_skip_received (s, msg->seq - 1, msg->credit);
        s->recv_synced = true;
    }
}
