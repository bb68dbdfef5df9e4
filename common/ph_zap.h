/*  ph_zap: a ZAP handler (ZeroMQ RFC 27) that runs on a daemon's zloop and
 *  maps each CURVE client key to the identity that the daemon's handlers
 *  will read from every message's User-Id property (DESIGN.md §2).
 *
 *  Bind it (ph_zap_new) before any CURVE server socket binds. The lookup
 *  callback may answer at once or later (after an async Redis read), by
 *  calling ph_zap_reply exactly once per request.
 */
#ifndef PH_ZAP_H
#define PH_ZAP_H

#include <czmq.h>

typedef struct _ph_zap_t ph_zap_t;
typedef struct _ph_zap_request_t ph_zap_request_t;

typedef void (ph_zap_lookup_fn) (ph_zap_t *zap, ph_zap_request_t *req, const char *domain,
                                 const char *key_z85, void *arg);

/*  Binds inproc://zeromq.zap.01 in the czmq context and polls it on loop.
 *  Returns NULL when another handler is bound already. */
ph_zap_t *ph_zap_new (zloop_t *loop, ph_zap_lookup_fn *lookup, void *arg);

/*  Destroys the handler; requests still pending are denied. */
void ph_zap_destroy (ph_zap_t **self_p);

/*  Answers req: user_id becomes the User-Id of every message of that
 *  connection; NULL refuses the handshake. Frees req. */
void ph_zap_reply (ph_zap_t *self, ph_zap_request_t *req, const char *user_id);

#endif
