/*  Unit tests of agent/agent_conn.c: the agent's one DEALER against a fake
 *  controller (a CURVE ROUTER on a loopback port, on the agent's own zloop).
 *  Checks: Hello with host facts after the handshake; HelloReply sets the
 *  instance id and the heartbeat interval (clamped to 1..300 s);
 *  heartbeats at that interval; Error{NotRegistered} brings a new Hello;
 *  OpenSession runs a session whose end is seen through the SIGCHLD
 *  signalfd; after the controller restarts, the agent reconnects by itself
 *  and its Hello names the live sessions; SIGTERM ends the reactor; a bad
 *  key or endpoint is refused at start, a wrong server key never gets a
 *  Hello through. */
#include "agent.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_test.h"
#include "ph_util.h"
#include "ph_version.h"

#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IID "mi-0123456789abcdef0"

typedef struct {
    ph_agent_t *agent;
    zsock_t *router;
    ph_keypair_t server_kp;
    int port;
    uint8_t rid[PH_ROUTING_MAX];
    size_t rid_len;
    int hellos, heartbeats, opened, ended, stream_msgs;
    uint64_t hb_ms[16];
    uint64_t opened_rid;
    int exit_code;
    bool failed;
    char hello_host[256], hello_version[32], hello_ids[512];
    uint32_t hb_sessions;
} fake_t;

static fake_t s_f;

static void s_on_hello (const Porthole__V1__Hello *h)
{
    s_f.hellos++;
    snprintf (s_f.hello_host, sizeof s_f.hello_host, "%s", h->hostname);
    snprintf (s_f.hello_version, sizeof s_f.hello_version, "%s", h->agent_version);
    s_f.hello_ids[0] = 0;
    for (size_t i = 0; i < h->n_session_ids; i++)
        snprintf (s_f.hello_ids + strlen (s_f.hello_ids),
                  sizeof s_f.hello_ids - strlen (s_f.hello_ids), "%s ", h->session_ids[i]);
}

static int s_on_router (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop, (void)arg;
    for (;;) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, true, &rx, &env, err, sizeof err);
        if (rc == 0) {
            memcpy (s_f.rid, rx.routing_id, rx.routing_id_len);
            s_f.rid_len = rx.routing_id_len;
        }
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            return 0;
        if (rc != 0)
            continue;
        switch (env->body_case) {
        case PORTHOLE__V1__ENVELOPE__BODY_HELLO:
            s_on_hello (env->hello);
            break;
        case PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT:
            if (s_f.heartbeats < 16)
                s_f.hb_ms[s_f.heartbeats] = ph_mono_ms ();
            s_f.heartbeats++;
            s_f.hb_sessions = env->heartbeat->session_count;
            break;
        case PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED:
            s_f.opened++;
            s_f.opened_rid = env->request_id;
            break;
        case PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED:
            s_f.ended++;
            s_f.exit_code = env->session_ended->exit_code;
            s_f.failed = env->session_ended->failed;
            break;
        case PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA:
            s_f.stream_msgs++;
            break;
        default:
            break;
        }
        ph_wire_free (&env);
    }
}

static void s_router_start (void)
{
    s_f.router = zsock_new (ZMQ_ROUTER);
    zsock_set_curve_server (s_f.router, 1);
    zsock_set_curve_secretkey (s_f.router, s_f.server_kp.secret_z85);
    if (s_f.port)
        CHECK (zsock_bind (s_f.router, "tcp://127.0.0.1:%d", s_f.port) == s_f.port);
    else
        s_f.port = zsock_bind (s_f.router, "tcp://127.0.0.1:*");
    zloop_reader (s_f.agent->loop, s_f.router, s_on_router, NULL);
}

static void s_router_stop (void)
{
    zloop_reader_end (s_f.agent->loop, s_f.router);
    zsock_destroy (&s_f.router);
}

/*  Sends env from the fake controller to the agent. */
static void s_to_agent (ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    CHECK (ph_wire_send (s_f.router, s_f.rid, s_f.rid_len, env) == 0);
}

/* ---- waiting ---------------------------------------------------------------- */

typedef struct {
    int *counter;
    int want;
    uint64_t deadline;
} wait_t;

static int s_check (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    wait_t *w = arg;
    return *w->counter >= w->want || ph_mono_ms () >= w->deadline ? -1 : 0;
}

/*  Runs the agent's reactor until *counter reaches want. */
static bool s_run_until (int *counter, int want, int timeout_ms)
{
    wait_t w = {counter, want, ph_mono_ms () + (uint64_t)timeout_ms};
    int t = zloop_timer (s_f.agent->loop, 5, 0, s_check, &w);
    zloop_start (s_f.agent->loop);
    zloop_timer_end (s_f.agent->loop, t);
    return *counter >= want;
}

/* ---- tests -------------------------------------------------------------------- */

/*  ph_agent_conn_start, retried while the monitor's fixed inproc endpoint
 *  of a previous (stopped) connection is not yet released by libzmq. */
static int s_conn_start (ph_agent_t *a, const ph_keypair_t *kp, const char *server_key)
{
    int rc;
    uint64_t deadline = ph_mono_ms () + 5000;
    while ((rc = ph_agent_conn_start (a, kp, server_key)) == PH_EIO && ph_mono_ms () < deadline) {
        ph_agent_conn_stop (a);
        usleep (20000);
    }
    return rc;
}

static void test_start_refusals (void)
{
    ph_agent_t *a = calloc (1, sizeof *a);
    a->loop = zloop_new ();
    ph_agent_sessions_new (a);
    snprintf (a->endpoint, sizeof a->endpoint, "tcp://127.0.0.1:1");
    ph_keypair_t kp;
    ph_keys_generate (&kp);
    CHECK (ph_agent_conn_start (a, &kp, "not-a-key") == PH_EINVAL);
    ph_agent_conn_stop (a);
    CHECK (a->dealer == NULL && a->monitor == NULL && a->signal_fd == -1);
    snprintf (a->endpoint, sizeof a->endpoint, "tcp://nohost");
    CHECK (s_conn_start (a, &kp, s_f.server_kp.public_z85) == PH_EINVAL);
    ph_agent_conn_stop (a);
    ph_agent_sessions_destroy (a);
    zloop_destroy (&a->loop);
    free (a);
}

static void test_hello_and_heartbeat (void)
{
    CHECK (s_run_until (&s_f.hellos, 1, 10000));
    CHECK (s_f.agent->connected && !s_f.agent->hello_ok);
    CHECK_STR (s_f.hello_host, s_f.agent->facts.hostname);
    CHECK_STR (s_f.hello_version, PH_VERSION);
    CHECK_STR (s_f.hello_ids, "");

    /* no HelloReply yet: Hello again every 2 s, no heartbeat */
    uint64_t start = ph_mono_ms ();
    CHECK (s_run_until (&s_f.hellos, 2, 5000));
    uint64_t gap = ph_mono_ms () - start;
    CHECK (gap >= 1500 && gap < 4000);
    CHECK (s_f.heartbeats == 0);

    Porthole__V1__HelloReply r = PORTHOLE__V1__HELLO_REPLY__INIT;
    r.instance_id = IID;
    r.heartbeat_interval_ms = 50; /* below the minimum: 1000 */
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY;
    env.hello_reply = &r;
    s_to_agent (&env);
    CHECK (s_run_until (&s_f.heartbeats, 3, 6000));
    CHECK (s_f.agent->hello_ok);
    CHECK_STR (s_f.agent->instance_id, IID);
    CHECK (s_f.agent->heartbeat_ms == 1000);
    uint64_t d1 = s_f.hb_ms[1] - s_f.hb_ms[0], d2 = s_f.hb_ms[2] - s_f.hb_ms[1];
    CHECK (d1 >= 900 && d1 < 2000 && d2 >= 900 && d2 < 2000);
    CHECK (s_f.hb_sessions == 0);
    int hellos = s_f.hellos;
    CHECK (hellos == 2); /* no Hello while registered */

    /* the controller forgot us: Hello again at once */
    Porthole__V1__Error e = PORTHOLE__V1__ERROR__INIT;
    e.code = "NotRegistered";
    e.message = "porthole: instance has not said Hello";
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ERROR;
    env.error = &e;
    s_to_agent (&env);
    start = ph_mono_ms ();
    CHECK (s_run_until (&s_f.hellos, hellos + 1, 3000));
    CHECK (ph_mono_ms () - start < 1000);
    CHECK (!s_f.agent->hello_ok);
    r.heartbeat_interval_ms = 1000000; /* above the maximum: 300 s */
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY;
    env.hello_reply = &r;
    s_to_agent (&env);
    int never = 0;
    s_run_until (&never, 1, 300);
    CHECK (s_f.agent->hello_ok && s_f.agent->heartbeat_ms == 300000);
    /* back to 1 s for the rest */
    r.heartbeat_interval_ms = 1000;
    s_to_agent (&env);
    s_run_until (&never, 1, 100);
    CHECK (s_f.agent->heartbeat_ms == 1000);
}

static void s_open (const char *sid, const char *command, uint64_t request_id)
{
    Porthole__V1__OpenSession m = PORTHOLE__V1__OPEN_SESSION__INIT;
    m.session_id = (char *)sid;
    m.owner = "bob";
    m.run_as = "nobody";
    m.command = (char *)command;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = request_id;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION;
    env.open_session = &m;
    s_to_agent (&env);
}

static void test_session_and_reconnect (void)
{
    if (geteuid () != 0 || !getpwnam ("nobody")) {
        fprintf (stderr, "not root: session checks skipped\n");
        return;
    }
    /* a session runs and its end is reaped through the signalfd */
    s_open ("bob-00000000000000001", "echo hi; exit 4", 77);
    CHECK (s_run_until (&s_f.ended, 1, 10000));
    CHECK (s_f.opened == 1 && s_f.opened_rid == 77);
    CHECK (s_f.exit_code == 4 && !s_f.failed);
    CHECK (s_f.stream_msgs >= 2); /* STDOUT and EXIT */

    /* a long one; then the controller goes away and comes back */
    s_open ("bob-00000000000000002", "sleep 30", 78);
    CHECK (s_run_until (&s_f.opened, 2, 10000));
    int hb = s_f.heartbeats;
    CHECK (s_run_until (&s_f.heartbeats, hb + 1, 3000));
    CHECK (s_f.hb_sessions == 1);
    int hellos = s_f.hellos;
    s_router_stop ();
    int never = 0;
    s_run_until (&never, 1, 300);
    s_router_start ();
    CHECK (s_run_until (&s_f.hellos, hellos + 1, 10000));
    CHECK_STR (s_f.hello_ids, "bob-00000000000000002 ");
    CHECK (s_f.agent->connected);

    Porthole__V1__CloseSession c = PORTHOLE__V1__CLOSE_SESSION__INIT;
    c.session_id = "bob-00000000000000002";
    c.reason = "test";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION;
    env.close_session = &c;
    s_to_agent (&env);
    CHECK (s_run_until (&s_f.ended, 2, 10000));
    CHECK (s_f.exit_code == 129);
}

static int s_safety (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    *(bool *)arg = true;
    return -1;
}

static void test_sigterm_stops (void)
{
    bool timed_out = false;
    int t = zloop_timer (s_f.agent->loop, 5000, 1, s_safety, &timed_out);
    kill (getpid (), SIGTERM); /* blocked: read from the signalfd */
    uint64_t start = ph_mono_ms ();
    zloop_start (s_f.agent->loop);
    CHECK (!timed_out && ph_mono_ms () - start < 2000);
    if (!timed_out)
        zloop_timer_end (s_f.agent->loop, t);
}

static void test_wrong_server_key (void)
{
    ph_keypair_t kp, other;
    ph_keys_generate (&kp);
    ph_keys_generate (&other);
    ph_agent_t *a = calloc (1, sizeof *a);
    a->loop = zloop_new ();
    ph_agent_sessions_new (a);
    snprintf (a->endpoint, sizeof a->endpoint, "tcp://127.0.0.1:%d", s_f.port);
    ph_agent_t *saved = s_f.agent;
    s_f.agent = a;
    zloop_reader_end (saved->loop, s_f.router);
    zloop_reader (a->loop, s_f.router, s_on_router, NULL);
    CHECK (s_conn_start (a, &kp, other.public_z85) == 0);
    int hellos = s_f.hellos;
    CHECK (!s_run_until (&s_f.hellos, hellos + 1, 1500));
    CHECK (!a->connected);
    zloop_reader_end (a->loop, s_f.router);
    ph_agent_conn_stop (a);
    ph_agent_sessions_destroy (a);
    zloop_destroy (&a->loop);
    free (a);
    s_f.agent = saved;
}

/*  controller= of agent.conf: one endpoint or a comma-separated list. */
static void test_endpoints_parse (void)
{
    char eps[PH_AGENT_ENDPOINTS_MAX][PH_AGENT_ENDPOINT_LEN];
    CHECK (ph_agent_endpoints_parse ("tcp://a:7610", eps, PH_AGENT_ENDPOINTS_MAX) == 1);
    CHECK (strcmp (eps[0], "tcp://a:7610") == 0);
    CHECK (ph_agent_endpoints_parse (" tcp://a:1 , tcp://b:2,tcp://c:3 ", eps,
                                     PH_AGENT_ENDPOINTS_MAX) == 3);
    CHECK (strcmp (eps[0], "tcp://a:1") == 0 && strcmp (eps[1], "tcp://b:2") == 0 &&
           strcmp (eps[2], "tcp://c:3") == 0);
    CHECK (ph_agent_endpoints_parse ("tcp://a:1,tcp://b:2", NULL, PH_AGENT_ENDPOINTS_MAX) == 2);
    const char *bad[] = {"",
                         " ",
                         "a:7610",
                         "tcp://",
                         "tcp://a:1,",
                         ",tcp://a:1",
                         "tcp://a:1,,tcp://b:2",
                         "tcp://a b:1",
                         "udp://a:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK (ph_agent_endpoints_parse (bad[i], eps, PH_AGENT_ENDPOINTS_MAX) == PH_EINVAL);
    char many[2048] = "";
    for (int i = 0; i <= PH_AGENT_ENDPOINTS_MAX; i++)
        snprintf (many + strlen (many), sizeof many - strlen (many), "%stcp://h%d:1", i ? "," : "",
                  i);
    CHECK (ph_agent_endpoints_parse (many, eps, PH_AGENT_ENDPOINTS_MAX) == PH_EINVAL);
    char longest[PH_AGENT_ENDPOINT_LEN + 8] = "tcp://";
    memset (longest + 6, 'h', PH_AGENT_ENDPOINT_LEN);
    longest[PH_AGENT_ENDPOINT_LEN + 6] = 0;
    CHECK (ph_agent_endpoints_parse (longest, eps, PH_AGENT_ENDPOINTS_MAX) == PH_EINVAL);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_agent_conn");
    CHECK (ph_agent_signals_block () == 0); /* before any thread */
    zsys_init ();
    zsys_handler_set (NULL);
    ph_keys_generate (&s_f.server_kp);

    test_start_refusals ();
    test_endpoints_parse ();

    ph_keypair_t kp;
    ph_keys_generate (&kp);
    s_f.agent = calloc (1, sizeof *s_f.agent);
    s_f.agent->loop = zloop_new ();
    ph_agent_facts_collect (&s_f.agent->facts);
    CHECK (ph_agent_sessions_new (s_f.agent) == 0);
    s_router_start ();
    snprintf (s_f.agent->endpoint, sizeof s_f.agent->endpoint, "tcp://127.0.0.1:%d", s_f.port);
    CHECK (s_conn_start (s_f.agent, &kp, s_f.server_kp.public_z85) == 0);
    CHECK (s_f.agent->dealer && s_f.agent->monitor && s_f.agent->signal_fd >= 0);

    test_hello_and_heartbeat ();
    test_session_and_reconnect ();
    test_sigterm_stops ();

    ph_agent_conn_stop (s_f.agent);
    CHECK (s_f.agent->dealer == NULL && s_f.agent->signal_fd == -1);
    test_wrong_server_key ();

    ph_agent_sessions_destroy (s_f.agent);
    s_router_stop ();
    zloop_destroy (&s_f.agent->loop);
    free (s_f.agent);
    PH_TEST_END ();
}
