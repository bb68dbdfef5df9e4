/*  agent_conn: the agent's one connection to its controller
 *  (docs/architecture.md "Agent <-> controller") and the reactor plumbing
 *  around it.
 *
 *  - One DEALER that connects out (CURVE client pinned to the controller's
 *    key); the agent never binds or listens. libzmq reconnects by itself:
 *    ZMQ_RECONNECT_IVL is a random 100..300 ms (so a fleet does not
 *    reconnect in lockstep) and backs off exponentially to 5 s. With
 *    ZMQ_IMMEDIATE nothing is queued while disconnected; the streams
 *    resend what was not acknowledged.
 *  - A socket monitor tells us when a connection completes its handshake:
 *    every new connection starts with Hello (host facts, live sessions),
 *    so a controller that restarted or a new controller behind the same
 *    address rebuilds its routes. Error{NotRegistered} also triggers Hello.
 *  - libzmq does not reconnect a DEALER whose handshake was refused
 *    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH / _PROTOCOL), so such a DEALER is
 *    replaced by a new one, 1 s later doubling to 30 s (jittered); so is a
 *    DEALER that got no HelloReply for a minute (jittered), whatever the
 *    reason. After _NO_DETAIL (connection dropped, handshake timed out)
 *    libzmq reconnects by itself, and a new DEALER ~1 s later would only
 *    cut that attempt off mid-handshake (thousands of them when a busy
 *    controller times handshakes out): it is left to libzmq.
 *  - One heartbeat timer: the interval from HelloReply; until then a
 *    250 ms tick that repeats Hello after 2 s, 4, 8, 16, then every 30 s
 *    (each +-25 %), so that 10,000 agents waiting on a busy controller
 *    do not multiply its work. Also one 15 ms tick for the session
 *    streams, and a signalfd for SIGCHLD (reaping) and SIGTERM/SIGINT
 *    (clean exit).
 */
#include "agent.h"
#include "agent_log.h"
#include "ph_random.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"
#include "ph_version.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define PH_CONN_MONITOR_EP       "inproc://porthole-agent-monitor"
#define PH_CONN_RECONNECT_MIN    100
#define PH_CONN_RECONNECT_SPAN   200
#define PH_CONN_RECONNECT_MAX    5000
#define PH_CONN_SNDHWM           10000
#define PH_CONN_RECV_BATCH       256 /* messages per reader callback */
#define PH_CONN_TICK_MS          15
#define PH_CONN_WAIT_TICK_MS     250   /* heartbeat timer while no HelloReply */
#define PH_CONN_HELLO_RETRY_MS   2000  /* first Hello retry, doubling ... */
#define PH_CONN_HELLO_RETRY_MAX  30000 /* ... up to this */
#define PH_CONN_HELLO_DEADLINE   60000 /* no HelloReply for this long: a new DEALER */
#define PH_CONN_HELLO_MIN_GAP    1000  /* at most one Hello per second on NotRegistered */
#define PH_CONN_SHIPPERS_ASK     10000 /* knowing no logshipper: Hello again this often */
#define PH_CONN_HEARTBEAT_DFLT   10000
#define PH_CONN_HEARTBEAT_MIN    1000
#define PH_CONN_HEARTBEAT_MAX    300000
#define PH_CONN_MONITOR_NAME_MAX 96

/* ---- sending ------------------------------------------------------------- */

int ph_agent_send (ph_agent_t *agent, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    int rc = ph_wire_send (agent->dealer, NULL, 0, env);
    if (rc == PH_ETOOBIG)
        ph_error ("a %s message is over %d bytes and was not sent",
                  ph_wire_body_name (env->body_case), PH_MSG_MAX);
    return rc;
}

uint64_t ph_agent_request_id (ph_agent_t *agent)
{
    return ++agent->next_request_id;
}

void ph_agent_send_session_opened (ph_agent_t *agent, uint64_t request_id, const char *id)
{
    Porthole__V1__SessionOpened body = PORTHOLE__V1__SESSION_OPENED__INIT;
    body.session_id = (char *)id;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = request_id;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED;
    env.session_opened = &body;
    ph_agent_send (agent, &env);
}

void ph_agent_send_session_ended (ph_agent_t *agent, const char *id, int exit_code, bool failed,
                                  const char *reason)
{
    Porthole__V1__SessionEnded body = PORTHOLE__V1__SESSION_ENDED__INIT;
    body.session_id = (char *)id;
    body.exit_code = exit_code;
    body.failed = failed;
    body.reason = (char *)(reason ? reason : "");
    ph_env_t env = PH_ENV_INIT;
    env.request_id = ph_agent_request_id (agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED;
    env.session_ended = &body;
    ph_agent_send (agent, &env);
}

static void s_send_hello (ph_agent_t *agent)
{
    size_t n = 0;
    const char **ids = ph_agent_sessions_live_ids (agent, &n);
    Porthole__V1__Hello hello = PORTHOLE__V1__HELLO__INIT;
    hello.hostname = agent->facts.hostname;
    hello.platform = agent->facts.platform;
    hello.agent_version = PH_VERSION;
    hello.ip = agent->facts.ip;
    hello.n_session_ids = n;
    hello.session_ids = (char **)ids;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = ph_agent_request_id (agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    if (ph_agent_send (agent, &env) == 0)
        ph_debug ("Hello sent (%zu live sessions)", n);
    free (ids);
    agent->hello_sent_ms = ph_mono_ms ();
    if (!agent->hello_ok) {
        agent->hello_due_ms = agent->hello_sent_ms + ph_agent_jitter (agent->hello_retry_ms);
        agent->hello_retry_ms = agent->hello_retry_ms * 2 > PH_CONN_HELLO_RETRY_MAX
                                    ? PH_CONN_HELLO_RETRY_MAX
                                    : agent->hello_retry_ms * 2;
    }
}

static void s_send_heartbeat (ph_agent_t *agent)
{
    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    hb.session_count = (uint32_t)ph_agent_sessions_live_count (agent);
    ph_env_t env = PH_ENV_INIT;
    env.request_id = ph_agent_request_id (agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    ph_agent_send (agent, &env);
}

/* ---- timers -------------------------------------------------------------- */

static int s_on_heartbeat_timer (zloop_t *loop, int timer_id, void *arg);
static void s_rebuild_dealer (ph_agent_t *agent);

/*  (Re)starts the heartbeat timer with period ms. */
static void s_arm_heartbeat (ph_agent_t *agent, uint32_t ms)
{
    if (agent->heartbeat_timer >= 0)
        zloop_timer_end (agent->loop, agent->heartbeat_timer);
    agent->heartbeat_timer = zloop_timer (agent->loop, ms, 0, s_on_heartbeat_timer, agent);
}

/*  No HelloReply on this connection (yet, or any more): the timer ticks
 *  for Hello retries and rebuilds; the next Hello goes out 2 s after the
 *  one sent now, and the DEALER is replaced if this lasts a minute. */
static void s_start_waiting (ph_agent_t *agent)
{
    uint64_t now = ph_mono_ms ();
    agent->hello_ok = false;
    agent->heartbeat_ms = 0;
    agent->hello_retry_ms = PH_CONN_HELLO_RETRY_MS;
    agent->hello_due_ms = now + ph_agent_jitter (PH_CONN_HELLO_RETRY_MS);
    if (!agent->waiting_since_ms) {
        agent->waiting_since_ms = now;
        agent->hello_deadline_ms = ph_agent_jitter (PH_CONN_HELLO_DEADLINE);
    }
    s_arm_heartbeat (agent, PH_CONN_WAIT_TICK_MS);
}

/*  With several controllers (controller= lists them), moves on to the
 *  next one; returns false when there is only one. */
static bool s_next_endpoint (ph_agent_t *agent, const char *why)
{
    if (agent->n_endpoints < 2)
        return false;
    agent->endpoint_at = (agent->endpoint_at + 1) % agent->n_endpoints;
    ph_warn ("%s at %s; failing over to the controller at %s (sessions keep running)", why,
             agent->endpoint, agent->endpoints[agent->endpoint_at]);
    snprintf (agent->endpoint, sizeof agent->endpoint, "%s", agent->endpoints[agent->endpoint_at]);
    return true;
}

/*  Not registered: Hello when due, a new DEALER when one is planned or
 *  the wait has lasted too long; with several controllers, the next one
 *  after PH_AGENT_FAILOVER_MS without a HelloReply. */
static void s_on_waiting_tick (ph_agent_t *agent)
{
    uint64_t now = ph_mono_ms ();
    if (agent->rebuild_due_ms && now >= agent->rebuild_due_ms) {
        s_next_endpoint (agent, "the controller refused the handshake");
        s_rebuild_dealer (agent);
        return;
    }
    if (now - agent->waiting_since_ms >= PH_AGENT_FAILOVER_MS &&
        s_next_endpoint (agent, "no answer from the controller")) {
        s_rebuild_dealer (agent);
        return;
    }
    if (now - agent->waiting_since_ms >= agent->hello_deadline_ms) {
        ph_warn ("no answer from the controller at %s for %u s; reconnecting with a new socket",
                 agent->endpoint, (unsigned)((now - agent->waiting_since_ms) / 1000));
        s_rebuild_dealer (agent);
        return;
    }
    if (agent->connected && now >= agent->hello_due_ms)
        s_send_hello (agent);
}

static int s_on_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    ph_agent_t *agent = arg;
    if (timer_id != agent->heartbeat_timer)
        return 0; /* ended earlier in this iteration */
    if (agent->hello_ok) {
        s_send_heartbeat (agent);
        /* logshippers reach the agent only in HelloReply: while it knows
         * none, it asks again now and then, so that its spool and new
         * sessions reach one that registered since */
        if (agent->ship && !ph_ship_recording (agent->ship) &&
            ph_mono_ms () - agent->hello_sent_ms >= PH_CONN_SHIPPERS_ASK)
            s_send_hello (agent);
    } else
        s_on_waiting_tick (agent);
    return 0;
}

static int s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ph_agent_sessions_tick (arg);
    return 0;
}

/* ---- what the controller sends ------------------------------------------- */

static void s_on_hello_reply (ph_agent_t *agent, const ph_env_t *env)
{
    const Porthole__V1__HelloReply *r = env->hello_reply;
    if (*agent->instance_id && strcmp (r->instance_id, agent->instance_id) != 0)
        ph_warn ("the controller knows this agent as %s, but agent.conf says %s; using %s",
                 r->instance_id, agent->instance_id, r->instance_id);
    snprintf (agent->instance_id, sizeof agent->instance_id, "%s", r->instance_id);
    uint32_t ms = r->heartbeat_interval_ms ? r->heartbeat_interval_ms : PH_CONN_HEARTBEAT_DFLT;
    if (ms < PH_CONN_HEARTBEAT_MIN)
        ms = PH_CONN_HEARTBEAT_MIN;
    if (ms > PH_CONN_HEARTBEAT_MAX)
        ms = PH_CONN_HEARTBEAT_MAX;
    if (!agent->hello_ok)
        ph_info ("registered with the controller at %s as %s (heartbeat every %u ms)",
                 agent->endpoint, agent->instance_id, ms);
    agent->hello_ok = true;
    agent->waiting_since_ms = 0;
    agent->rebuild_due_ms = 0;
    agent->rebuild_step_ms = PH_AGENT_REBUILD_MIN_MS;
    if (ms != agent->heartbeat_ms || agent->heartbeat_timer < 0) {
        agent->heartbeat_ms = ms;
        s_arm_heartbeat (agent, ms);
    }
    ph_agent_sessions_resync (agent);
    if (agent->ship)
        ph_ship_configure (agent->ship, r);
}

static void s_on_error (ph_agent_t *agent, const ph_env_t *env)
{
    const Porthole__V1__Error *e = env->error;
    if (strcmp (e->code, "NotRegistered") == 0) {
        if (agent->hello_ok)
            ph_info ("the controller does not know this connection (it restarted?); saying "
                     "Hello again");
        s_start_waiting (agent);
        if (ph_mono_ms () - agent->hello_sent_ms >= PH_CONN_HELLO_MIN_GAP)
            s_send_hello (agent);
    } else if (strcmp (e->code, "AccessDenied") == 0) {
        ph_error ("the controller refused this agent: %s; if this instance was deregistered, "
                  "register again with porthole-agent register --force",
                  e->message);
    } else
        ph_warn ("the controller answered %s: %s", e->code, e->message);
}

static void s_on_open_session (ph_agent_t *agent, const ph_env_t *env)
{
    ph_agent_session_open (agent, env->request_id, env->open_session);
}

static void s_on_close_session (ph_agent_t *agent, const ph_env_t *env)
{
    ph_agent_session_close (agent, env->close_session);
}

static void s_on_instance_action (ph_agent_t *agent, const ph_env_t *env)
{
    ph_agent_instance_action (agent, env->instance_action);
}

static void s_on_stream_data (ph_agent_t *agent, const ph_env_t *env)
{
    ph_agent_session_stream (agent, env->stream_data);
}

typedef void (s_handler_fn) (ph_agent_t *agent, const ph_env_t *env);

static const struct {
    ph_body_t body;
    s_handler_fn *handler;
} s_routes[] = {
    {PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY, s_on_hello_reply},
    {PORTHOLE__V1__ENVELOPE__BODY_ERROR, s_on_error},
    {PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, s_on_open_session},
    {PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION, s_on_close_session},
    {PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA, s_on_stream_data},
    {PORTHOLE__V1__ENVELOPE__BODY_INSTANCE_ACTION, s_on_instance_action},
};

static void s_dispatch (ph_agent_t *agent, const ph_env_t *env)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        if (s_routes[i].body == env->body_case) {
            s_routes[i].handler (agent, env);
            return;
        }
    }
    ph_debug ("ignoring %s from the controller", ph_wire_body_name (env->body_case));
}

static int s_on_dealer (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    ph_agent_t *agent = arg;
    for (int i = 0; i < PH_CONN_RECV_BATCH; i++) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            break;
        if (rc != 0) {
            ph_warn ("ignoring a bad frame from the controller: %s", err);
            continue;
        }
        s_dispatch (agent, env);
        ph_wire_free (&env);
    }
    return 0;
}

/* ---- connection events --------------------------------------------------- */

/*  A refused handshake: plan a new DEALER (libzmq gives up on a refused
 *  one). A handshake that succeeds before then cancels it. */
static void s_plan_rebuild (ph_agent_t *agent)
{
    if (agent->rebuild_step_ms < PH_AGENT_REBUILD_MIN_MS)
        agent->rebuild_step_ms = PH_AGENT_REBUILD_MIN_MS;
    uint32_t delay = ph_agent_jitter (agent->rebuild_step_ms);
    if (!agent->auth_warned)
        ph_error ("the controller at %s refused the CURVE handshake; check server_key in "
                  "agent.conf (the controller's public key) and that this agent is registered; "
                  "retrying with a new connection in %u ms",
                  agent->endpoint, delay);
    agent->auth_warned = true;
    if (agent->rebuild_due_ms)
        return;
    agent->rebuild_due_ms = ph_mono_ms () + delay;
    agent->rebuild_step_ms = agent->rebuild_step_ms * 2 > PH_AGENT_REBUILD_MAX_MS
                                 ? PH_AGENT_REBUILD_MAX_MS
                                 : agent->rebuild_step_ms * 2;
}

static void s_on_event (ph_agent_t *agent, uint16_t event)
{
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        ph_info ("connected to the controller at %s", agent->endpoint);
        agent->connected = true;
        agent->auth_warned = false;
        agent->rebuild_due_ms = 0;
        s_start_waiting (agent);
        s_send_hello (agent);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        if (agent->connected)
            ph_warn ("lost the connection to the controller at %s; reconnecting (sessions keep "
                     "running)",
                     agent->endpoint);
        agent->connected = false;
        if (agent->hello_ok)
            s_start_waiting (agent);
    } else if (ph_agent_handshake_refused (event))
        s_plan_rebuild (agent);
    else if (!agent->auth_warned) { /* _NO_DETAIL: libzmq reconnects by itself */
        ph_warn ("the CURVE handshake with %s did not complete; retrying (if this lasts, check "
                 "server_key in agent.conf: the controller's public key)",
                 agent->endpoint);
        agent->auth_warned = true;
    }
}

static int s_on_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    uint16_t event;
    while (ph_wire_monitor_next (sock, &event))
        s_on_event (arg, event);
    return 0;
}

/* ---- signals ------------------------------------------------------------- */

static int s_on_signal (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    ph_agent_t *agent = arg;
    struct signalfd_siginfo si;
    bool child = false;
    int stop = 0;
    while (read (item->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            child = true;
        else
            stop = (int)si.ssi_signo;
    }
    if (child)
        ph_agent_sessions_reap (agent);
    if (stop) {
        ph_info ("got %s; hanging up %zu sessions and exiting", strsignal (stop),
                 ph_agent_sessions_live_count (agent));
        return -1;
    }
    return 0;
}

/*  The signals the daemon takes through its signalfd. */
static void s_signal_set (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGCHLD);
    sigaddset (set, SIGTERM);
    sigaddset (set, SIGINT);
}

/* ---- DEALERs: shared with agent_ship_net.c -------------------------------- */

uint32_t ph_agent_jitter (uint32_t base_ms)
{
    uint32_t r = 0;
    ph_random_bytes (&r, sizeof r);
    uint32_t span = base_ms / 2; /* -25 % .. +25 % */
    return base_ms - base_ms / 4 + (span ? r % (span + 1) : 0);
}

bool ph_agent_handshake_refused (uint16_t event)
{
    return event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}

int ph_agent_dealer_open (const ph_keypair_t *kp, const ph_agent_dealer_opts_t *o, zsock_t **dealer,
                          zsock_t **monitor)
{
    *dealer = zsock_new (ZMQ_DEALER);
    *monitor = NULL;
    if (!*dealer)
        return PH_EIO;
    if (ph_keys_setup_client (*dealer, kp, o->server_key) != 0) {
        zsock_destroy (dealer);
        return PH_EINVAL;
    }
    uint16_t r = 0;
    if (o->reconnect_jitter_ms > 0)
        ph_random_bytes (&r, sizeof r);
    zsock_set_reconnect_ivl (
        *dealer, o->reconnect_ms +
                     (o->reconnect_jitter_ms > 0 ? (int)(r % (o->reconnect_jitter_ms + 1)) : 0));
    zsock_set_reconnect_ivl_max (*dealer, o->reconnect_max_ms);
    zsock_set_immediate (*dealer, 1);
    zsock_set_sndhwm (*dealer, o->sndhwm);
    /* a fresh endpoint each time: libzmq releases the name of a stopped
     * monitor only some time after it stopped */
    uint64_t tag = 0;
    ph_random_bytes (&tag, sizeof tag);
    char ep[PH_CONN_MONITOR_NAME_MAX];
    snprintf (ep, sizeof ep, PH_CONN_MONITOR_EP "-%016llx", (unsigned long long)tag);
    if (zmq_socket_monitor (zsock_resolve (*dealer), ep, PH_AGENT_DEALER_EVENTS) != 0 ||
        !(*monitor = zsock_new (ZMQ_PAIR)) || zsock_connect (*monitor, "%s", ep) != 0) {
        ph_agent_dealer_close (NULL, dealer, monitor);
        return PH_EIO;
    }
    return 0;
}

void ph_agent_dealer_close (zloop_t *loop, zsock_t **dealer, zsock_t **monitor)
{
    if (loop && *monitor)
        zloop_reader_end (loop, *monitor);
    if (loop && *dealer)
        zloop_reader_end (loop, *dealer);
    if (*dealer)
        zmq_socket_monitor (zsock_resolve (*dealer), NULL, 0);
    zsock_destroy (monitor);
    zsock_destroy (dealer);
}

int ph_agent_dealer_watch (zloop_t *loop, zsock_t *dealer, zloop_reader_fn *on_dealer,
                           void *dealer_arg, zsock_t *monitor, zloop_reader_fn *on_monitor,
                           void *monitor_arg)
{
    if (zloop_reader (loop, dealer, on_dealer, dealer_arg) != 0 ||
        zloop_reader (loop, monitor, on_monitor, monitor_arg) != 0)
        return PH_EIO;
    zloop_reader_set_tolerant (loop, dealer);
    zloop_reader_set_tolerant (loop, monitor);
    return 0;
}

/* ---- set-up -------------------------------------------------------------- */

/*  The DEALER to the controller and its monitor, on the loop, connected. */
static int s_open_dealer (ph_agent_t *agent)
{
    ph_agent_dealer_opts_t o = {.server_key = agent->server_key,
                                .sndhwm = PH_CONN_SNDHWM,
                                .reconnect_ms = PH_CONN_RECONNECT_MIN,
                                .reconnect_jitter_ms = PH_CONN_RECONNECT_SPAN,
                                .reconnect_max_ms = PH_CONN_RECONNECT_MAX};
    int rc = ph_agent_dealer_open (&agent->kp, &o, &agent->dealer, &agent->monitor);
    if (rc == PH_EINVAL) {
        ph_error ("cannot set up the connection: server_key in agent.conf is not a valid "
                  "40-character Z85 key; register again with --force");
        return rc;
    }
    if (rc) {
        ph_error ("cannot monitor the controller connection: %s", zmq_strerror (zmq_errno ()));
        return rc;
    }
    if (ph_agent_dealer_watch (agent->loop, agent->dealer, s_on_dealer, agent, agent->monitor,
                               s_on_monitor, agent) != 0)
        return PH_EIO;
    if (zsock_connect (agent->dealer, "%s", agent->endpoint) != 0) {
        ph_error ("cannot connect to %s: %s; fix controller= in agent.conf (tcp://HOST:7610)",
                  agent->endpoint, zmq_strerror (zmq_errno ()));
        return PH_EINVAL;
    }
    return 0;
}

/*  Replaces the DEALER (and its monitor) by a new one: the way out of a
 *  refused handshake, which libzmq never retries. Sessions keep running;
 *  their streams resend after the next HelloReply. */
static void s_rebuild_dealer (ph_agent_t *agent)
{
    ph_agent_dealer_close (agent->loop, &agent->dealer, &agent->monitor);
    agent->connected = false;
    agent->hello_ok = false;
    agent->rebuild_due_ms = 0;
    agent->waiting_since_ms = 0; /* a fresh wait, a fresh deadline */
    s_start_waiting (agent);
    if (s_open_dealer (agent) != 0) {
        ph_agent_dealer_close (agent->loop, &agent->dealer, &agent->monitor);
        s_plan_rebuild (agent);
        return;
    }
    ph_info ("connecting to the controller at %s with a new socket", agent->endpoint);
}

static int s_setup_signals (ph_agent_t *agent)
{
    sigset_t set;
    s_signal_set (&set);
    agent->signal_fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (agent->signal_fd < 0) {
        ph_error ("signalfd failed: %s", strerror (errno));
        return PH_EIO;
    }
    zmq_pollitem_t item = {NULL, agent->signal_fd, ZMQ_POLLIN, 0};
    if (zloop_poller (agent->loop, &item, s_on_signal, agent) != 0)
        return PH_EIO;
    zloop_poller_set_tolerant (agent->loop, &item);
    return 0;
}

int ph_agent_conn_start (ph_agent_t *agent, const ph_keypair_t *kp, const char *server_key)
{
    agent->heartbeat_timer = agent->tick_timer = agent->signal_fd = -1;
    agent->kp = *kp;
    snprintf (agent->server_key, sizeof agent->server_key, "%s", server_key);
    agent->rebuild_step_ms = PH_AGENT_REBUILD_MIN_MS;
    int rc = s_open_dealer (agent);
    if (rc == 0)
        rc = s_setup_signals (agent);
    if (rc != 0)
        return rc;
    agent->tick_timer = zloop_timer (agent->loop, PH_CONN_TICK_MS, 0, s_on_tick, agent);
    s_start_waiting (agent);
    ph_info ("connecting to the controller at %s", agent->endpoint);
    return 0;
}

void ph_agent_conn_stop (ph_agent_t *agent)
{
    ph_agent_dealer_close (agent->loop, &agent->dealer, &agent->monitor);
    if (agent->signal_fd >= 0)
        close (agent->signal_fd);
    agent->signal_fd = -1;
}

int ph_agent_signals_block (void)
{
    sigset_t set;
    s_signal_set (&set);
    signal (SIGPIPE, SIG_IGN);
    return sigprocmask (SIG_BLOCK, &set, NULL) == 0 ? 0 : PH_EIO;
}

int ph_agent_endpoints_parse (const char *list, char (*out)[PH_AGENT_ENDPOINT_LEN], size_t max)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        p += strspn (p, " \t");
        size_t len = strcspn (p, ",");
        size_t end = len;
        while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        if (end <= 6 || end >= PH_AGENT_ENDPOINT_LEN || strncmp (p, "tcp://", 6) != 0 ||
            memchr (p, ' ', end) || (size_t)n >= max || n >= PH_AGENT_ENDPOINTS_MAX)
            return PH_EINVAL;
        if (out)
            snprintf (out[n], PH_AGENT_ENDPOINT_LEN, "%.*s", (int)end, p);
        n++;
        p += len;
        if (*p == ',' && !*++p)
            return PH_EINVAL; /* a trailing comma */
    }
    return n ? n : PH_EINVAL;
}
