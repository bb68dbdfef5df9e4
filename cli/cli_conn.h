/*  cli_conn: one DEALER to a controller's clients endpoint (CURVE, the
 *  user's keypair, the server's pinned key), with request/reply matched by
 *  request_id, and a socket monitor that tells whether the link is up.
 *
 *  ZMQ_IMMEDIATE is off, so a request sent before the TCP connection is up
 *  waits in the queue; a wrong server key makes the handshake fail
 *  silently, which the caller sees as a timeout.
 */
#ifndef CLI_CONN_H
#define CLI_CONN_H

#include "cli.h"
#include "ph_keys.h"
#include "ph_wire.h"

#include <stdint.h>

#define CLI_LINGER_MS 1000 /* how long a last Detach or ACK may take to leave */

typedef struct _cli_conn_t cli_conn_t;

/*  Connects a DEALER to endpoint (tcp://HOST:PORT). Returns NULL with the
 *  reason in err when the socket cannot be set up. Does not block. */
cli_conn_t *cli_conn_new (const char *endpoint, const char *server_z85, const ph_keypair_t *kp,
                          char *err, size_t errlen);

/*  Closes the socket; messages not yet sent wait at most linger_ms. */
void cli_conn_destroy (cli_conn_t **self_p, int linger_ms);

zsock_t *cli_conn_sock (cli_conn_t *self);
zsock_t *cli_conn_monitor_sock (cli_conn_t *self);
const char *cli_conn_endpoint (const cli_conn_t *self);

/*  A fresh request id (never 0). */
uint64_t cli_conn_new_id (cli_conn_t *self);

/*  Sends env (version set here) without blocking. Returns 0 or PH_E*. */
int cli_conn_send (cli_conn_t *self, ph_env_t *env);

/*  Receives one decoded message without blocking. Returns 0 with *env set
 *  (caller frees with ph_wire_free), PH_EIO when nothing is waiting, or
 *  PH_EPROTO for a bad frame (skipped). */
int cli_conn_recv (cli_conn_t *self, ph_env_t **env);

/*  Reads the monitor's pending events. */
void cli_conn_on_monitor (cli_conn_t *self);

/*  Milliseconds (monotonic) since the link went down, 0 while it is up or
 *  has never been up (still connecting counts as down since creation). */
uint64_t cli_conn_down_for (const cli_conn_t *self, uint64_t now_ms);

/*  Sends req with a fresh request id and waits, blocking, up to timeout_ms
 *  for the message with that id; others are dropped. Returns 0 with *reply
 *  set (it may be an Error), or PH_ETIMEOUT. */
int cli_conn_request (cli_conn_t *self, ph_env_t *req, int timeout_ms, ph_env_t **reply);

/*  For verbs: sends req, waits ctx->timeout_s, and expects a reply of body
 *  expect. Returns PH_EXIT_OK with *reply set, or prints what went wrong
 *  (Error from the controller, timeout, wrong reply) and returns the exit
 *  code. */
int cli_conn_call (const cli_ctx_t *ctx, cli_conn_t *self, ph_env_t *req, ph_body_t expect,
                   ph_env_t **reply);

/*  Prints the controller's Error and returns its exit code: PH_EXIT_DENIED
 *  for AccessDenied/InvalidToken, PH_EXIT_API otherwise. */
int cli_conn_report_error (const Porthole__V1__Error *error);

/*  Prints the no-answer message for endpoint and returns PH_EXIT_UNAVAIL. */
int cli_conn_report_timeout (const char *endpoint, int timeout_s);

#endif
