/*  ph_stream: one end of a session's reliable data stream (DESIGN.md §3,
 *  docs/architecture.md "Session streams"). The CLI and the agent each hold
 *  one per session; the controller only relays frames and keeps nothing.
 *
 *  - Every message but ACK gets the next seq (1, 2, ...); the receiver
 *    delivers only seq == last+1 and drops duplicates and gaps, so nothing
 *    is delivered twice or out of order.
 *  - Every message carries ack (highest seq delivered) and credit (the
 *    receiver's free window in payload bytes). The sender keeps each
 *    message until it is acknowledged and never has more than credit bytes
 *    unacknowledged: memory is bounded end to end.
 *  - When acks stop coming (a dropped frame, a restarted controller, a
 *    peer that reconnected) the sender resends everything unacknowledged
 *    after PH_STREAM_RTO_MS (go-back-N); duplicates are dropped by seq.
 *
 *  Not thread-safe; never blocks (the send callback must not either).
 */
#ifndef PH_STREAM_H
#define PH_STREAM_H

#include "ph_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_STREAM_WINDOW       (1024 * 1024) /* default credit, bytes */
#define PH_STREAM_RTO_MS       1000          /* resend when no ack progress */
#define PH_STREAM_ACK_DELAY_MS 20            /* ack at most this late */
#define PH_STREAM_KEEPALIVE_MS 1000          /* ACK when idle, if enabled */
#define PH_STREAM_CONTROL_MAX  256           /* control payloads, beyond credit */

typedef struct _ph_stream_t ph_stream_t;

/*  Puts one StreamData on the wire. Must not block; a message it cannot
 *  send is simply lost (and resent later). */
typedef void (ph_stream_send_fn) (void *arg, const ph_stream_data_t *msg);

ph_stream_t *ph_stream_new (const char *session_id, ph_stream_send_fn *send, void *arg);
void ph_stream_destroy (ph_stream_t **self_p);

/*  Payload bytes that may be written now without exceeding the peer's
 *  credit. */
size_t ph_stream_room (const ph_stream_t *self);

/*  Sends a sequenced message of kind (a Porthole__V1__StreamKind) with len
 *  payload bytes (at most PH_PAYLOAD_MAX) and keeps it until acknowledged.
 *  Control messages (RESIZE, SIGNAL, EOF, EXIT, PORT_OPEN, PORT_CLOSE) of at
 *  most PH_STREAM_CONTROL_MAX bytes are always accepted, whatever the
 *  credit, so that an exit status is never stuck behind a full window.
 *  Returns 0, or PH_ESTATE when a data payload is over ph_stream_room. */
int ph_stream_write (ph_stream_t *self, int kind, const void *data, size_t len);

/*  Takes in one message from the peer. Returns 1 when msg is the next in
 *  order and must be delivered by the caller, 0 when there is nothing to
 *  deliver (ACK, duplicate or gap). */
int ph_stream_receive (ph_stream_t *self, const ph_stream_data_t *msg);

/*  Tells the stream how many received bytes the caller still holds
 *  undelivered (e.g. waiting for a PTY to drain); credit shrinks by that. */
void ph_stream_set_held (ph_stream_t *self, size_t held);

/*  Periodic work (every ~10-50 ms): delayed acks, keepalives, resends. */
void ph_stream_tick (ph_stream_t *self, uint64_t now_mono_ms);

/*  Sends an ACK now (e.g. before exiting, so the peer can let go). */
void ph_stream_flush_ack (ph_stream_t *self);

/*  Resends every unacknowledged message now (after a reattach). */
void ph_stream_resend (ph_stream_t *self);

/*  Joining a stream whose other end is already under way (a new CLI process
 *  resuming a session the agent has kept): when the peer's ack is ahead of
 *  what we sent, drop what we keep and send after it; when the peer's seq
 *  is ahead of what we delivered, expect it next. Messages skipped were
 *  meant for an earlier client. */
void ph_stream_adopt_send (ph_stream_t *self, uint64_t peer_ack);
void ph_stream_adopt_recv (ph_stream_t *self, uint64_t peer_seq);

/*  Sends an ACK every PH_STREAM_KEEPALIVE_MS even when idle. */
void ph_stream_set_keepalive (ph_stream_t *self, bool on);

/*  True when every message sent has been acknowledged. */
bool ph_stream_drained (const ph_stream_t *self);

/*  Counters for tests and benchmarks. */
uint64_t ph_stream_sent_seq (const ph_stream_t *self);
uint64_t ph_stream_recv_seq (const ph_stream_t *self);
size_t ph_stream_unacked_bytes (const ph_stream_t *self);
const char *ph_stream_session_id (const ph_stream_t *self);

#endif
