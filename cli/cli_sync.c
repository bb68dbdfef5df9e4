/*  cli_sync: see cli_sess.h.
 *
 *  Why: a session's agent keeps its stream across clients, but a new CLI
 *  process (resume-session after "~.") starts a new ph_stream at seq 1 on
 *  both sides. Without help the agent would drop our messages as
 *  duplicates and we would drop its messages as a gap.
 *
 *  How: the first messages of the agent tell its positions: ack = the
 *  highest seq it delivered from our side, seq = where its output stands;
 *  ph_stream_adopt_send/recv move our stream there. On attach the CLI sends
 *  a RESIZE first, which makes an idle agent answer with an ACK.
 */
#include "cli_sess.h"

void cli_sync_apply (cli_sess_t *s, const ph_stream_data_t *msg)
{
    if (!s->send_synced) {
        ph_stream_adopt_send (s->stream, msg->ack);
        s->send_synced = true;
        if (s->interactive) {
            char size[32];
            int n = snprintf (size, sizeof size, "%ux%u", s->cols, s->rows);
            ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__RESIZE, size, (size_t)n);
        }
    }
    if (!s->recv_synced && msg->seq > 0) {
        ph_stream_adopt_recv (s->stream, msg->seq);
        s->recv_synced = true;
    }
}
