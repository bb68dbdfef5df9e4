/*  cli_fake: the fake controller of the test_cli_*.c that talk to one: a
 *  CURVE ROUTER bound on a free loopback port in a zactor thread. It
 *  records each request it takes (how many, and the last one, read with
 *  cli_fake_last) and hands it to the test's answer function. A test may
 *  also set hooks run in the actor thread at start, after each poll (with
 *  poll_ms >= 0) and at stop, and a handler for its own pipe commands.
 *  Header-only: every function is static. */
#ifndef CLI_FAKE_H
#define CLI_FAKE_H

#include "ph_keys.h"
#include "ph_test.h"
#include "ph_util.h"
#include "ph_errors.h"
#include "ph_wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_UNUSED __attribute__ ((unused)) /* not every test uses every helper */

/*  Answers req (which arrived with rx) on router; state is the test's. */
typedef void (cli_fake_answer_fn) (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req,
                                   void *state);
/*  Handles pipe command cmd (the rest of the message is msg); replies on
 *  pipe if the command wants an answer. */
typedef void (cli_fake_command_fn) (zsock_t *pipe, const char *cmd, zmsg_t *msg, void *state);
/*  A hook run in the actor thread with the bound router. */
typedef void (cli_fake_hook_fn) (zsock_t *router, void *state);

typedef struct {
    const ph_keypair_t *kp;       /* the fake's CURVE keypair */
    ph_body_t only;               /* record and answer only this body (0: every body) */
    int poll_ms;                  /* -1: wait for a message; else also tick this often */
    cli_fake_answer_fn *answer;   /* required */
    cli_fake_command_fn *command; /* commands other than LAST and $TERM (may be NULL) */
    cli_fake_hook_fn *start;      /* once bound, before the port is sent up (may be NULL) */
    cli_fake_hook_fn *tick;       /* after every poll (may be NULL) */
    cli_fake_hook_fn *stop;       /* before the router is closed (may be NULL) */
    void *state;                  /* passed to every callback; used in the actor thread only */
} cli_fake_t;

typedef struct {
    int count;
    uint8_t *last;
    size_t last_len;
} cli_fake_record_t;

/*  One request from the router: recorded and answered unless filtered. */
static void s_cli_fake_on_router (const cli_fake_t *fake, zsock_t *router, cli_fake_record_t *rec)
{
    ph_wire_rx_t rx;
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX];
    if (ph_wire_recv (router, true, &rx, &env, err, sizeof err) == 0 &&
        (!fake->only || env->body_case == fake->only)) {
        rec->count++;
        free (rec->last);
        rec->last = ph_wire_encode (env, &rec->last_len);
        fake->answer (router, &rx, env, fake->state);
    }
    ph_wire_free (&env);
    ph_wire_rx_close (&rx);
}

/*  One command from the pipe; false once the actor should stop ($TERM).
 *  "LAST" answers the request count and the last request's frame. */
static bool s_cli_fake_on_pipe (const cli_fake_t *fake, zsock_t *pipe, cli_fake_record_t *rec)
{
    zmsg_t *msg = zmsg_recv (pipe);
    char *cmd = msg ? zmsg_popstr (msg) : NULL;
    bool go_on = cmd && strcmp (cmd, "$TERM") != 0;
    if (cmd && strcmp (cmd, "LAST") == 0)
        zsock_send (pipe, "ib", rec->count, rec->last, rec->last_len);
    else if (go_on && fake->command)
        fake->command (pipe, cmd, msg, fake->state);
    zstr_free (&cmd);
    zmsg_destroy (&msg);
    return go_on;
}

/*  The actor (arg: the cli_fake_t): binds, sends the port up the pipe,
 *  serves until $TERM. */
static void s_cli_fake_actor (zsock_t *pipe, void *arg)
{
    const cli_fake_t *fake = arg;
    cli_fake_record_t rec = {0};
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_curve_server (router, 1);
    zsock_set_curve_secretkey (router, fake->kp->secret_z85);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    if (fake->start)
        fake->start (router, fake->state);
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "%d", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    for (;;) {
        zsock_t *which = zpoller_wait (poller, fake->poll_ms);
        if (which == pipe) {
            if (!s_cli_fake_on_pipe (fake, pipe, &rec))
                break;
        } else if (which == router)
            s_cli_fake_on_router (fake, router, &rec);
        else if (fake->poll_ms < 0 || zpoller_terminated (poller))
            break;
        if (fake->tick)
            fake->tick (router, fake->state);
    }
    if (fake->stop)
        fake->stop (router, fake->state);
    free (rec.last);
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

/*  Starts the fake (which must outlive it) and writes its endpoint
 *  ("tcp://127.0.0.1:PORT") into endpoint. zactor_destroy stops it. */
static FAKE_UNUSED zactor_t *cli_fake_start (cli_fake_t *fake, char *endpoint, size_t len)
{
    zactor_t *actor = zactor_new (s_cli_fake_actor, fake);
    char *port = zstr_recv (actor);
    snprintf (endpoint, len, "tcp://127.0.0.1:%s", port ? port : "0");
    zstr_free (&port);
    return actor;
}

/*  The number of requests so far and the last one (decoded; may be NULL;
 *  the caller frees it). */
static FAKE_UNUSED int cli_fake_last (zactor_t *fake, ph_env_t **env)
{
    int count = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    *env = NULL;
    zstr_send (fake, "LAST");
    zsock_recv (fake, "ib", &count, &data, &len);
    char err[PH_ERRTEXT_MAX];
    if (data && len)
        ph_wire_decode (data, len, env, err, sizeof err);
    free (data);
    return count;
}

#endif
