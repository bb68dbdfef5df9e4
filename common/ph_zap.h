/*  ph_zap: a ZAP handler (ZeroMQ RFC 27) that runs on a daemon's zloop and
 *  maps each CURVE client key to the identity that the daemon's handlers
 *  will read from every message's User-Id property (DESIGN.md §2).
 *
 *  Bind it (ph_zap_new) before any CURVE server socket binds. The lookup
 *  callback may answer at once or later (after an async Redis read), by
 *  calling ph_zap_reply exactly once per request, or put off the answer
 *  with ph_zap_hold when it cannot know it yet.
 *
 *  Why holding exists: libzmq 4.3.4 treats a refused handshake (ZAP 400 or
 *  500) as a protocol error and never reconnects that client, so a refusal
 *  for a reason of the daemon's own (its Redis not connected yet, a lookup
 *  that failed) would lock a peer out for good. A held request is asked
 *  about again; one still unknown after PH_ZAP_HOLD_MS is answered 300
 *  ("temporary failure"), which libzmq does not pass on to the client: the
 *  handshake then ends at libzmq's handshake timeout (30 s) and the client
 *  reconnects by itself.
 */
#ifndef PH_ZAP_H
#define PH_ZAP_H

#include <czmq.h>

#define PH_ZAP_HOLD_MS      25000 /* under libzmq's 30 s ZMQ_HANDSHAKE_IVL */
#define PH_ZAP_RETRY_MIN_MS 100   /* a held request is asked about again after this, */
#define PH_ZAP_RETRY_MAX_MS 1000  /* doubling up to this */

typedef struct _ph_zap_t ph_zap_t;
typedef struct _ph_zap_request_t ph_zap_request_t;

typedef void (ph_zap_lookup_fn) (ph_zap_t *zap, ph_zap_request_t *req, const char *domain,
                                 const char *key_z85, void *arg);

/*  Binds inproc://zeromq.zap.01 in the czmq context and polls it on loop.
 *  Returns NULL when another handler is bound already. */
ph_zap_t *ph_zap_new (zloop_t *loop, ph_zap_lookup_fn *lookup, void *arg);

/*  Destroys the handler. Requests still pending are answered 300, never
 *  refused (see above); destroy the server sockets first. */
void ph_zap_destroy (ph_zap_t **self_p);

/*  Answers req: user_id becomes the User-Id of every message of that
 *  connection; NULL refuses the handshake for good (a key or mechanism
 *  that will never be accepted). Frees req. */
void ph_zap_reply (ph_zap_t *self, ph_zap_request_t *req, const char *user_id);

/*  Puts off the answer to req: the lookup is called again for it after
 *  PH_ZAP_RETRY_MIN_MS, doubling to PH_ZAP_RETRY_MAX_MS, until it is
 *  answered or PH_ZAP_HOLD_MS after it arrived (then 300, see above).
 *  Takes req until the lookup is called again. Never blocks. */
void ph_zap_hold (ph_zap_t *self, ph_zap_request_t *req);

/*  Calls the lookup again now for every held request, e.g. when the
 *  daemon's Redis connection came back. */
void ph_zap_retry_held (ph_zap_t *self);

/*  Requests held now (waiting for their next lookup). */
size_t ph_zap_held (const ph_zap_t *self);

/*  Requests answered 300 because they were held too long, since start. */
size_t ph_zap_expired (const ph_zap_t *self);

#endif
