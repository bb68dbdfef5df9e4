/*  lg_agents: an agent worker of ph-loadgen, one child process that plays
 *  a slice of the simulated fleet.
 *
 *  Each agent behaves on the wire exactly as porthole-agent's connection
 *  does (agent/agent_conn.c): one CURVE DEALER with its own keypair,
 *  ZMQ_RECONNECT_IVL a random 100..300 ms backing off to 5 s, ZMQ_IMMEDIATE,
 *  a socket monitor; Hello (host facts, live session ids) on every
 *  completed handshake; a timer that sends Heartbeat at the interval of
 *  HelloReply and, until then, repeats Hello after 2 s, 4, 8, 16, then
 *  every 30 s (each +-25 %); Error{NotRegistered} brings Hello again (at
 *  most once a second). After a refused handshake (AUTH / PROTOCOL) the
 *  DEALER is replaced (1 s later, doubling to 30 s, jittered: libzmq never
 *  retries a refused one), and so is one without HelloReply for a minute
 *  (jittered).
 *  OpenSession, CloseSession and StreamData go to lg_echo.
 *
 *  Timers are not zloop timers (one per agent would make zloop's timer
 *  list O(N) per turn): every LG_TICK_MS one pass looks at each agent's
 *  due time, which costs a few microseconds per thousand agents.
 */
#include "lg.h"
#include "ph_crypto.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_version.h"

#include <stdio.h>
#include <string.h>

#define LG_MONITOR_EVENTS                                                                          \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |                                      \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
#define LG_SHM_EVERY_MS      100
#define LG_WAIT_TICK_MS      250   /* agent_conn.c: the timer while no HelloReply */
#define LG_HELLO_RETRY_MAX   30000 /* Hello retries: LG_HELLO_RETRY_MS doubling to this */
#define LG_HELLO_DEADLINE_MS 60000 /* no HelloReply for this long: a new DEALER */
#define LG_REBUILD_MIN_MS    1000  /* a new DEALER after a failed handshake, */
#define LG_REBUILD_MAX_MS    30000 /* doubling up to this */

struct _lg_agent_t {
    lg_agents_t *w;
    size_t index; /* in the state file */
    const lg_identity_t *id;
    zsock_t *dealer, *monitor;
    lg_watch_t *dealer_watch, *monitor_watch;
    bool connected, hello_ok, ever_registered, reregistered;
    uint64_t hello_sent_us;
    uint64_t hello_due_us;     /* next Hello while unanswered */
    uint32_t hello_retry_ms;   /* base of the next Hello retry */
    uint64_t waiting_since_us; /* no HelloReply since; 0 while registered */
    uint32_t deadline_ms;      /* waiting this long: a new DEALER */
    uint64_t rebuild_due_us;   /* a new DEALER then; 0: none planned */
    uint32_t rebuild_step_ms;
    unsigned generation;   /* DEALERs made so far: names the monitor endpoint */
    uint32_t heartbeat_ms; /* from HelloReply; 0 until then */
    uint32_t timer_ms;
    uint64_t timer_due_us;
    uint64_t next_request_id;
    char hostname[32];
};

struct _lg_agents_t {
    const lg_opts_t *o;
    lg_worker_shm_t *shm;
    lg_loop_t *loop;
    lg_echo_t *echo;
    lg_agent_t *agents;
    size_t n;
    uint64_t registered, connected;
};

lg_worker_shm_t *lg_agent_shm (lg_agent_t *agent)
{
    return agent->w->shm;
}

uint64_t lg_agent_request_id (lg_agent_t *agent)
{
    return ++agent->next_request_id;
}

int lg_agent_send (lg_agent_t *agent, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    int rc = agent->dealer ? ph_wire_send (agent->dealer, NULL, 0, env) : PH_EIO;
    if (rc != 0)
        atomic_fetch_add (&agent->w->shm->err[LG_ERR_SEND], 1);
    if (agent->dealer_watch)
        lg_loop_kick (agent->w->loop, agent->dealer_watch);
    return rc;
}

static void s_arm (lg_agent_t *agent, uint32_t ms)
{
    agent->timer_ms = ms;
    agent->timer_due_us = lg_now_us () + ms * 1000ull;
}

/*  base_ms +- 25 %, uniformly random (agent_conn.c's ph_agent_jitter). */
static uint32_t s_jitter (uint32_t base_ms)
{
    uint32_t r = 0;
    ph_random_bytes (&r, sizeof r);
    return base_ms - base_ms / 4 + r % (base_ms / 2 + 1);
}

static uint32_t s_double (uint32_t ms, uint32_t max)
{
    return ms * 2 > max ? max : ms * 2;
}

/*  No HelloReply (yet, or any more): the wait tick, Hello after 2 s. */
static void s_start_waiting (lg_agent_t *agent)
{
    uint64_t now = lg_now_us ();
    agent->hello_ok = false;
    agent->heartbeat_ms = 0;
    agent->hello_retry_ms = LG_HELLO_RETRY_MS;
    agent->hello_due_us = now + s_jitter (LG_HELLO_RETRY_MS) * 1000ull;
    if (!agent->waiting_since_us) {
        agent->waiting_since_us = now;
        agent->deadline_ms = s_jitter (LG_HELLO_DEADLINE_MS);
    }
    s_arm (agent, LG_WAIT_TICK_MS);
}

static void s_send_hello (lg_agent_t *agent)
{
    size_t n = 0;
    const char **ids = lg_echo_live_ids (agent->w->echo, agent, &n);
    Porthole__V1__Hello hello = PORTHOLE__V1__HELLO__INIT;
    hello.hostname = agent->hostname;
    hello.platform = "ph-loadgen";
    hello.agent_version = PH_VERSION;
    hello.ip = "127.0.0.1";
    hello.n_session_ids = n;
    hello.session_ids = (char **)ids;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = lg_agent_request_id (agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    if (lg_agent_send (agent, &env) == 0)
        atomic_fetch_add (&agent->w->shm->hello_sent, 1);
    free (ids);
    agent->hello_sent_us = lg_now_us ();
    if (!agent->hello_ok) {
        agent->hello_due_us = agent->hello_sent_us + s_jitter (agent->hello_retry_ms) * 1000ull;
        agent->hello_retry_ms = s_double (agent->hello_retry_ms, LG_HELLO_RETRY_MAX);
    }
}

static void s_send_heartbeat (lg_agent_t *agent)
{
    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    hb.session_count = (uint32_t)lg_echo_live_count (agent->w->echo, agent);
    ph_env_t env = PH_ENV_INIT;
    env.request_id = lg_agent_request_id (agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    if (lg_agent_send (agent, &env) == 0)
        atomic_fetch_add (&agent->w->shm->hb_sent, 1);
}

static int s_agent_open (lg_agents_t *w, lg_agent_t *agent);
static void s_agent_stop (lg_agents_t *w, lg_agent_t *agent);

/*  Replaces the DEALER and its monitor (the way out of a refused handshake). */
static void s_rebuild (lg_agent_t *agent)
{
    lg_agents_t *w = agent->w;
    if (agent->connected)
        w->connected--;
    agent->connected = false;
    agent->rebuild_due_us = 0;
    agent->waiting_since_us = 0;
    s_agent_stop (w, agent);
    s_start_waiting (agent);
    if (s_agent_open (w, agent) != 0) {
        s_agent_stop (w, agent);
        agent->rebuild_due_us = lg_now_us () + s_jitter (agent->rebuild_step_ms) * 1000ull;
        agent->rebuild_step_ms = s_double (agent->rebuild_step_ms, LG_REBUILD_MAX_MS);
    }
}

static void s_on_timer (lg_agent_t *agent, uint64_t now)
{
    if (agent->hello_ok) {
        s_send_heartbeat (agent);
        return;
    }
    if ((agent->rebuild_due_us && now >= agent->rebuild_due_us) ||
        now - agent->waiting_since_us >= agent->deadline_ms * 1000ull)
        s_rebuild (agent);
    else if (agent->connected && now >= agent->hello_due_us)
        s_send_hello (agent);
}

/* ---- what the controller sends ------------------------------------------- */

static void s_on_hello_reply (lg_agent_t *agent, const ph_env_t *env)
{
    lg_agents_t *w = agent->w;
    uint32_t ms = env->hello_reply->heartbeat_interval_ms;
    ms = ms ? ms : LG_HEARTBEAT_DFLT_MS;
    ms = ms < LG_HEARTBEAT_MIN_MS ? LG_HEARTBEAT_MIN_MS : ms;
    ms = ms > LG_HEARTBEAT_MAX_MS ? LG_HEARTBEAT_MAX_MS : ms;
    agent->hello_ok = true;
    agent->waiting_since_us = 0;
    agent->rebuild_due_us = 0;
    agent->rebuild_step_ms = LG_REBUILD_MIN_MS;
    atomic_store (&w->shm->heartbeat_ms, ms);
    if (!agent->ever_registered) {
        agent->ever_registered = true;
        atomic_store (&w->shm->registered, ++w->registered);
        if (w->registered == w->n)
            atomic_store (&w->shm->all_registered_us, lg_now_us ());
    }
    /* the old controller is gone once the mark is set: a HelloReply from
     * now on is a registration with the new one */
    uint64_t mark = atomic_load (&w->shm->mark_us), now = lg_now_us ();
    if (mark && now >= mark && !agent->reregistered) {
        agent->reregistered = true;
        atomic_fetch_add (&w->shm->reregistered, 1);
        atomic_store (&w->shm->last_rereg_us, now);
    }
    if (ms != agent->heartbeat_ms) {
        agent->heartbeat_ms = ms;
        s_arm (agent, ms);
    }
    lg_echo_resync (w->echo, agent);
}

static void s_on_error (lg_agent_t *agent, const ph_env_t *env)
{
    const Porthole__V1__Error *e = env->error;
    lg_worker_shm_t *shm = agent->w->shm;
    if (strcmp (e->code, "NotRegistered") != 0) {
        if (atomic_fetch_add (&shm->err[LG_ERR_REFUSED], 1) < 3)
            ph_warn ("agent %s: the controller answered %s: %s", agent->id->iid, e->code,
                     e->message);
        return;
    }
    atomic_fetch_add (&shm->not_registered, 1);
    s_start_waiting (agent);
    if (lg_now_us () - agent->hello_sent_us >= LG_HELLO_MIN_GAP_MS * 1000ull)
        s_send_hello (agent);
}

static void s_dispatch (lg_agent_t *agent, const ph_env_t *env)
{
    lg_echo_t *echo = agent->w->echo;
    switch (env->body_case) {
    case PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY:
        s_on_hello_reply (agent, env);
        break;
    case PORTHOLE__V1__ENVELOPE__BODY_ERROR:
        s_on_error (agent, env);
        break;
    case PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION:
        lg_echo_open (echo, agent, env->request_id, env->open_session);
        break;
    case PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION:
        lg_echo_close (echo, agent, env->close_session->session_id, "closed");
        break;
    case PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA:
        lg_echo_stream (echo, agent, env->stream_data);
        break;
    default:
        break;
    }
}

static void s_on_dealer (lg_loop_t *loop, zsock_t *sock, void *arg)
{
    lg_agent_t *agent = arg;
    for (int i = 0; i < LG_RECV_BATCH; i++) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            return;
        if (rc != 0) {
            atomic_fetch_add (&agent->w->shm->err[LG_ERR_BAD_FRAME], 1);
            continue;
        }
        s_dispatch (agent, env);
        ph_wire_free (&env);
    }
    lg_loop_kick (loop, agent->dealer_watch);
}

/* ---- connection events ---------------------------------------------------- */

static void s_on_event (lg_agent_t *agent, uint16_t event)
{
    lg_agents_t *w = agent->w;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (!agent->connected)
            w->connected++;
        agent->connected = true;
        agent->rebuild_due_us = 0;
        s_start_waiting (agent);
        s_send_hello (agent);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        if (agent->connected)
            w->connected--;
        agent->connected = false;
        if (agent->hello_ok)
            s_start_waiting (agent);
    } else {
        atomic_fetch_add (&w->shm->err[LG_ERR_HANDSHAKE], 1);
        /* refused: libzmq will not retry; _NO_DETAIL: it reconnects by itself */
        if (event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && !agent->rebuild_due_us) {
            agent->rebuild_due_us = lg_now_us () + s_jitter (agent->rebuild_step_ms) * 1000ull;
            agent->rebuild_step_ms = s_double (agent->rebuild_step_ms, LG_REBUILD_MAX_MS);
        }
    }
}

static void s_on_monitor (lg_loop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    uint16_t event;
    while (ph_wire_monitor_next (sock, &event))
        s_on_event (arg, event);
}

/* ---- set-up and the loop --------------------------------------------------- */

/*  The DEALER and its monitor, watched, connecting. */
static int s_agent_open (lg_agents_t *w, lg_agent_t *agent)
{
    char ep[64];
    snprintf (ep, sizeof ep, ">inproc://lg-monitor-%zu-%u", agent->index, agent->generation++);
    agent->dealer = lg_dealer_new (&agent->id->kp, w->o->server_key, true);
    if (!agent->dealer ||
        zmq_socket_monitor (zsock_resolve (agent->dealer), ep + 1, LG_MONITOR_EVENTS) != 0)
        return PH_EIO;
    agent->monitor = zsock_new_pair (ep); /* '>': connect */
    if (!agent->monitor)
        return PH_EIO;
    agent->dealer_watch = lg_loop_watch (w->loop, agent->dealer, s_on_dealer, agent);
    agent->monitor_watch = lg_loop_watch (w->loop, agent->monitor, s_on_monitor, agent);
    if (!agent->dealer_watch || !agent->monitor_watch)
        return PH_EIO;
    return zsock_connect (agent->dealer, "%s", w->o->agent_endpoint) == 0 ? 0 : PH_EINVAL;
}

static int s_agent_start (lg_agents_t *w, lg_agent_t *agent)
{
    snprintf (agent->hostname, sizeof agent->hostname, "loadgen-%zu", agent->index);
    agent->rebuild_step_ms = LG_REBUILD_MIN_MS;
    s_start_waiting (agent);
    return s_agent_open (w, agent);
}

static void s_agent_stop (lg_agents_t *w, lg_agent_t *agent)
{
    if (agent->dealer)
        zmq_socket_monitor (zsock_resolve (agent->dealer), NULL, 0);
    lg_loop_unwatch (w->loop, &agent->monitor_watch);
    lg_loop_unwatch (w->loop, &agent->dealer_watch);
    zsock_destroy (&agent->monitor);
    zsock_destroy (&agent->dealer);
}

static void s_tick (lg_agents_t *w, uint64_t now)
{
    for (size_t i = 0; i < w->n; i++) {
        lg_agent_t *agent = &w->agents[i];
        if (now >= agent->timer_due_us) { /* also without a DEALER: its rebuild */
            agent->timer_due_us += agent->timer_ms * 1000ull;
            if (agent->timer_due_us <= now)
                agent->timer_due_us = now + agent->timer_ms * 1000ull;
            s_on_timer (agent, now);
        }
    }
    lg_echo_tick (w->echo, now);
}

static void s_publish (lg_agents_t *w)
{
    atomic_store (&w->shm->connected, w->connected);
    atomic_store (&w->shm->registered, w->registered);
    atomic_store (&w->shm->echo_open, lg_echo_open_count (w->echo));
    atomic_store (&w->shm->cpu_us, lg_self_cpu_us ());
}

/*  Runs until the coordinator says stop (or SIGINT/SIGTERM), then ends the
 *  sessions and lets the last messages leave. */
static void s_run (lg_agents_t *w)
{
    uint64_t next_tick = 0, next_publish = 0, stop_at = 0;
    for (;;) {
        uint64_t now = lg_now_us ();
        if (!stop_at && (atomic_load (&w->shm->cmd) == LG_CMD_STOP || zsys_interrupted)) {
            lg_echo_end_all (w->echo);
            stop_at = now + LG_STOP_LINGER_MS * 1000ull;
        }
        if (stop_at && now >= stop_at)
            break;
        if (now >= next_tick) {
            s_tick (w, now);
            next_tick = now + LG_TICK_MS * 1000ull;
        }
        if (now >= next_publish) {
            s_publish (w);
            next_publish = now + LG_SHM_EVERY_MS * 1000ull;
        }
        if (lg_loop_once (w->loop, LG_TICK_MS) != 0)
            break;
    }
    s_publish (w);
}

int lg_agents_run (const lg_opts_t *o, const lg_state_t *st, size_t lo, size_t hi,
                   lg_worker_shm_t *shm)
{
    zsys_set_max_sockets (0);
    lg_agents_t w = {.o = o, .shm = shm, .n = hi - lo};
    w.loop = lg_loop_new ();
    w.echo = lg_echo_new ();
    w.agents = calloc (w.n ? w.n : 1, sizeof *w.agents);
    if (!w.loop || !w.echo || !w.agents) {
        fprintf (stderr, LG_PROGRAM ": out of memory in an agent worker\n");
        return PH_EXIT_CONFIG;
    }
    atomic_store (&shm->agents, w.n);
    atomic_store (&shm->start_us, lg_now_us ());
    int rc = PH_EXIT_OK;
    for (size_t i = 0; i < w.n && rc == PH_EXIT_OK; i++) {
        lg_agent_t *agent = &w.agents[i];
        agent->w = &w;
        agent->index = lo + i;
        agent->id = &st->ids[lo + i];
        if (s_agent_start (&w, agent) != 0) {
            fprintf (stderr,
                     LG_PROGRAM ": agent %zu: cannot set up its socket (%s); raise the open "
                                "files limit (ulimit -n) or use more --workers\n",
                     agent->index, zmq_strerror (zmq_errno ()));
            rc = PH_EXIT_CONFIG;
        }
    }
    atomic_store (&shm->ready, rc == PH_EXIT_OK ? 1 : -1);
    if (rc == PH_EXIT_OK)
        s_run (&w);
    for (size_t i = 0; i < w.n; i++)
        s_agent_stop (&w, &w.agents[i]);
    lg_echo_destroy (&w.echo);
    lg_loop_destroy (&w.loop);
    free (w.agents);
    return rc;
}
