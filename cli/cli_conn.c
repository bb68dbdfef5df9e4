/*  cli_conn: see cli_conn.h. Each connection has its own monitor (an
 *  inproc PAIR named after the connection's address and generation) so
 *  that the session loop learns of a dropped link (ZMTP heartbeat timeout,
 *  controller gone) without application traffic.
 *
 *  libzmq 4.3.4 never reconnects a DEALER whose handshake the server
 *  refused (ZAP 400/500, e.g. a controller whose Redis was not up yet), so
 *  a refused handshake (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH / _PROTOCOL; after
 *  _NO_DETAIL libzmq reconnects by itself) plans a new DEALER after a
 *  jittered backoff
 *  (CLI_REBUILD_MIN_MS doubling to CLI_REBUILD_MAX_MS); cli_conn_request
 *  carries it out and sends its request again on the new socket. */
#include "cli_conn.h"
#include "cli_output.h"
#include "ph_random.h"
#include "ph_log.h"
#include "ph_util.h"

#include <stdio.h>
#include <string.h>

#define CLI_MONITOR_EVENTS                                                                         \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_MONITOR_STOPPED |          \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
#define CLI_REBUILD_MIN_MS 500  /* a new DEALER this long after a failed handshake, */
#define CLI_REBUILD_MAX_MS 8000 /* doubling up to this (each +-25 %) */

struct _cli_conn_t {
    zsock_t *sock;
    zsock_t *monitor;
    char endpoint[CLI_ENDPOINT_MAX];
    char server_z85[PH_Z85_KEY_LEN + 1];
    ph_keypair_t kp;
    unsigned generation; /* sockets made so far: names the monitor endpoint */
    uint64_t next_id;
    bool link_up;
    uint64_t down_since_ms;
    uint64_t rebuild_at_ms; /* monotonic: a new DEALER is due then; 0: none planned */
    uint32_t rebuild_step_ms;
};

static int s_start_monitor (cli_conn_t *self, char *err, size_t errlen)
{
    char addr[96];
    snprintf (addr, sizeof addr, "inproc://porthole-cli-monitor-%p-%u", (void *)self,
              self->generation);
    if (zmq_socket_monitor (zsock_resolve (self->sock), addr, CLI_MONITOR_EVENTS) != 0) {
        snprintf (err, errlen, "cannot monitor the socket: %s", zmq_strerror (zmq_errno ()));
        return PH_EIO;
    }
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->monitor || zsock_connect (self->monitor, "%s", addr) != 0) {
        snprintf (err, errlen, "cannot connect the socket monitor");
        return PH_EIO;
    }
    return 0;
}

/*  Stops the monitor and closes both sockets. */
static void s_close (cli_conn_t *self, int linger_ms)
{
    if (self->sock) {
        zmq_socket_monitor (zsock_resolve (self->sock), NULL, 0);
        zsock_set_linger (self->sock, linger_ms);
        zsock_destroy (&self->sock);
    }
    zsock_destroy (&self->monitor);
}

/*  A new DEALER with its monitor, connecting. Returns 0 or PH_E* with the
 *  reason in err. */
static int s_open (cli_conn_t *self, char *err, size_t errlen)
{
    self->generation++;
    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->sock) {
        snprintf (err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror (zmq_errno ()));
        return PH_EIO;
    }
    if (ph_keys_setup_client (self->sock, &self->kp, self->server_z85) != 0) {
        snprintf (err, errlen, "the server key '%s' is not a 40-character Z85 CURVE key",
                  self->server_z85);
        return PH_EINVAL;
    }
    zsock_set_immediate (self->sock, 0);
    int rc = s_start_monitor (self, err, errlen);
    if (rc != 0)
        return rc;
    if (zsock_connect (self->sock, "%s", self->endpoint) != 0) {
        snprintf (err, errlen, "cannot connect to %s: %s", self->endpoint,
                  zmq_strerror (zmq_errno ()));
        return PH_EINVAL;
    }
    return 0;
}

cli_conn_t *cli_conn_new (const char *endpoint, const char *server_z85, const ph_keypair_t *kp,
                          char *err, size_t errlen)
{
    cli_conn_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    snprintf (self->server_z85, sizeof self->server_z85, "%.*s", PH_Z85_KEY_LEN, server_z85);
    if (strlen (server_z85) != PH_Z85_KEY_LEN) /* what ph_keys_setup_client refuses */
        self->server_z85[0] = 0;
    self->kp = *kp;
    self->rebuild_step_ms = CLI_REBUILD_MIN_MS;
    ph_random_bytes (&self->next_id, sizeof self->next_id);
    self->next_id >>= 1; /* room to count up without reaching 0 */
    self->down_since_ms = ph_mono_ms ();
    if (s_open (self, err, errlen) != 0) {
        if (!*self->server_z85) /* name the key as it was given */
            snprintf (err, errlen, "the server key '%s' is not a 40-character Z85 CURVE key",
                      server_z85);
        cli_conn_destroy (&self, 0);
    }
    return self;
}

void cli_conn_destroy (cli_conn_t **self_p, int linger_ms)
{
    if (!self_p || !*self_p)
        return;
    cli_conn_t *self = *self_p;
    s_close (self, linger_ms);
    explicit_bzero (&self->kp, sizeof self->kp);
    free (self);
    *self_p = NULL;
}

/*  base_ms +- 25 %, uniformly random. */
static uint32_t s_jitter (uint32_t base_ms)
{
    uint32_t r = 0;
    ph_random_bytes (&r, sizeof r);
    return base_ms - base_ms / 4 + r % (base_ms / 2 + 1);
}

/*  Replaces the DEALER by a new one (see the top of the file). What the
 *  old one still held is dropped. Returns 0 or PH_E*. */
static int s_rebuild (cli_conn_t *self)
{
    char err[256];
    self->rebuild_at_ms = 0;
    s_close (self, 0);
    int rc = s_open (self, err, sizeof err);
    if (rc != 0)
        ph_debug ("cannot open a new socket to %s: %s", self->endpoint, err);
    else
        ph_debug ("the handshake with %s failed; connecting with a new socket", self->endpoint);
    return rc;
}

zsock_t *cli_conn_sock (cli_conn_t *self)
{
    return self->sock;
}

zsock_t *cli_conn_monitor_sock (cli_conn_t *self)
{
    return self->monitor;
}

const char *cli_conn_endpoint (const cli_conn_t *self)
{
    return self->endpoint;
}

uint64_t cli_conn_new_id (cli_conn_t *self)
{
    return ++self->next_id;
}

int cli_conn_send (cli_conn_t *self, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    return ph_wire_send (self->sock, NULL, 0, env);
}

int cli_conn_recv (cli_conn_t *self, ph_env_t **env)
{
    ph_wire_rx_t rx;
    char err[PH_ERRTEXT_MAX];
    int rc = ph_wire_recv (self->sock, false, &rx, env, err, sizeof err);
    ph_wire_rx_close (&rx);
    if (rc == PH_EPROTO || rc == PH_ETOOBIG) {
        ph_debug ("ignoring a bad message from %s: %s", self->endpoint, err);
        return PH_EPROTO;
    }
    if (rc == 0)
        self->link_up = true; /* a message proves it, whatever the monitor has not said yet */
    return rc;
}

void cli_conn_on_monitor (cli_conn_t *self)
{
    uint16_t event;
    while (ph_wire_monitor_next (self->monitor, &event)) {
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            self->link_up = true;
            self->rebuild_at_ms = 0;
            self->rebuild_step_ms = CLI_REBUILD_MIN_MS;
        } else if (event == ZMQ_EVENT_DISCONNECTED && self->link_up) {
            self->link_up = false;
            self->down_since_ms = ph_mono_ms ();
        } else if ((event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                    event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) &&
                   !self->rebuild_at_ms) { /* after _NO_DETAIL libzmq reconnects itself */
            self->rebuild_at_ms = ph_mono_ms () + s_jitter (self->rebuild_step_ms);
            self->rebuild_step_ms = self->rebuild_step_ms * 2 > CLI_REBUILD_MAX_MS
                                        ? CLI_REBUILD_MAX_MS
                                        : self->rebuild_step_ms * 2;
        }
    }
}

uint64_t cli_conn_down_for (const cli_conn_t *self, uint64_t now_ms)
{
    return self->link_up ? 0 : now_ms - self->down_since_ms;
}

int cli_conn_request (cli_conn_t *self, ph_env_t *req, int timeout_ms, ph_env_t **reply)
{
    *reply = NULL;
    req->request_id = cli_conn_new_id (self);
    if (cli_conn_send (self, req) != 0)
        return PH_EIO;
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = ph_mono_ms ();
        if (now >= deadline)
            return PH_ETIMEOUT;
        if (self->rebuild_at_ms && now >= self->rebuild_at_ms) {
            /* the request went down with the refused socket: again */
            if (s_rebuild (self) != 0 || cli_conn_send (self, req) != 0)
                return PH_EIO;
            continue;
        }
        uint64_t wake =
            self->rebuild_at_ms && self->rebuild_at_ms < deadline ? self->rebuild_at_ms : deadline;
        zmq_pollitem_t items[] = {{zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0},
                                  {zsock_resolve (self->monitor), 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (items, 2, (long)(wake - now)) <= 0)
            continue; /* timeout or EINTR: the loop checks the deadlines */
        if (items[1].revents & ZMQ_POLLIN)
            cli_conn_on_monitor (self);
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        ph_env_t *env;
        while (cli_conn_recv (self, &env) != PH_EIO) {
            if (env && env->request_id == req->request_id) {
                *reply = env;
                return 0;
            }
            ph_wire_free (&env);
        }
    }
}

int cli_conn_report_error (const Porthole__V1__Error *error)
{
    bool denied =
        strcmp (error->code, "AccessDenied") == 0 || strcmp (error->code, "InvalidToken") == 0;
    int code = denied ? PH_EXIT_DENIED : PH_EXIT_API;
    if (error->message && *error->message)
        return cli_error (code, "%s", error->message);
    return cli_error (code, "the controller refused the request (%s)", error->code);
}

int cli_conn_report_timeout (const char *endpoint, int timeout_s)
{
    return cli_error (PH_EXIT_UNAVAIL,
                      "no answer from the controller at %s within %ds; is porthole-controller "
                      "running, and is the server key its public key?",
                      endpoint, timeout_s);
}

int cli_conn_call (const cli_ctx_t *ctx, cli_conn_t *self, ph_env_t *req, ph_body_t expect,
                   ph_env_t **reply)
{
    int rc = cli_conn_request (self, req, ctx->timeout_s * 1000, reply);
    if (rc == PH_ETIMEOUT)
        return cli_conn_report_timeout (self->endpoint, ctx->timeout_s);
    if (rc != 0)
        return cli_error (PH_EXIT_UNAVAIL, "cannot send to the controller at %s", self->endpoint);
    if ((*reply)->body_case == expect)
        return PH_EXIT_OK;
    if ((*reply)->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        rc = cli_conn_report_error ((*reply)->error);
    else
        rc = cli_error (PH_EXIT_API,
                        "the controller at %s answered %s where %s was expected; are the CLI "
                        "and the controller the same version?",
                        self->endpoint, ph_wire_body_name ((*reply)->body_case),
                        ph_wire_body_name (expect));
    ph_wire_free (reply);
    return rc;
}
