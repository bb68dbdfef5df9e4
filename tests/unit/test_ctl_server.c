/*  Unit tests of controller/ctl_server.c through an in-process controller
 *  (ctl_new) with a real redis-server on a free port: the dispatch table
 *  (which peer may send what on which port, and the answer to everything
 *  else), ZAP identities (unknown keys, malformed mappings), bad and
 *  oversized frames (answered or dropped; the next request is served),
 *  Redis going away and coming back (Unavailable, then served again), and
 *  the controller record refreshed by housekeeping. */
#include "ctl_harness.h"

/* ---- helpers ------------------------------------------------------------------ */

static ph_env_t *s_get_prefs (peer_t *p)
{
    Porthole__V1__GetPreferencesRequest req = PORTHOLE__V1__GET_PREFERENCES_REQUEST__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES;
    env.get_preferences = &req;
    return h_call (p, &env);
}

static bool s_is_prefs (ph_env_t **r)
{
    bool ok = *r && (*r)->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES;
    if (*r && !ok && (*r)->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        fprintf (stderr, "unexpected %s: %s\n", (*r)->error->code, (*r)->error->message);
    ph_wire_free (r);
    return ok;
}

static ph_env_t *s_hello (peer_t *p)
{
    Porthole__V1__Hello h = PORTHOLE__V1__HELLO__INIT;
    h.hostname = "h";
    h.platform = "p";
    h.agent_version = "0.1.0";
    h.ip = "10.0.0.1";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    return h_call (p, &env);
}

/*  Restarts redis-server on the same port (its data is gone). */
static void s_redis_restart (void)
{
    int port = atoi (strrchr (H.redis_url, ':') + 1);
    H.redis_pid = fork ();
    if (H.redis_pid == 0) {
        char p[16];
        snprintf (p, sizeof p, "%d", port);
        int null = open ("/dev/null", O_WRONLY);
        dup2 (null, 1);
        execlp ("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", H.redis_dir, "--loglevel", "warning", (char *)NULL);
        _exit (127);
    }
    ph_redis_sync_destroy (&H.sync);
    uint64_t deadline = ph_mono_ms () + 10000;
    char err[256];
    while (!H.sync && ph_mono_ms () < deadline) {
        H.sync = ph_redis_sync_new (H.redis_url, err, sizeof err);
        if (!H.sync)
            usleep (20000);
    }
}

/* ---- tests -------------------------------------------------------------------- */

static void test_dispatch (peer_t *alice)
{
    /* a key nobody registered, on the clients port */
    peer_t *stranger = h_peer (false, NULL);
    ph_env_t *r = s_get_prefs (stranger);
    h_expect_error (&r, "AccessDenied", "is not registered with this cluster; ask an admin");
    h_expect_in ("key", stranger->kp.public_z85, "");
    h_peer_destroy (&stranger);
    /* an instance key on the clients port */
    peer_t *inst = h_peer (false, "instance:mi-00000000000000001");
    r = s_get_prefs (inst);
    h_expect_error (&r, "AccessDenied", "instance keys may not use the clients port");
    h_peer_destroy (&inst);
    /* a mapping that is not a valid identity */
    peer_t *odd = h_peer (false, "user:bad name");
    r = s_get_prefs (odd);
    h_expect_error (&r, "AccessDenied", "unknown keys may not use the clients port");
    h_peer_destroy (&odd);
    peer_t *junk = h_peer (false, "nonsense");
    r = s_get_prefs (junk);
    h_expect_error (&r, "AccessDenied", "is not registered with this cluster");
    h_peer_destroy (&junk);
    /* a user sending an agent's message */
    r = s_hello (alice);
    h_expect_error (&r, "InvalidRequest", "'hello' is not a request the controller accepts");
    /* an agent sending a client's request: dropped, no answer */
    h_redis ("HSET ph:instance:{mi-00000000000000001} instance_id mi-00000000000000001");
    peer_t *agent = h_peer (true, "instance:mi-00000000000000001");
    r = s_get_prefs (agent);
    CHECK (r == NULL);
    ph_wire_free (&r);
    r = s_hello (agent); /* and it is still served */
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    h_peer_destroy (&agent);
}

static void test_bad_frames (peer_t *alice)
{
    /* garbage on the clients port: InvalidRequest with request id 0 */
    zmq_send (zsock_resolve (alice->sock), "\xff\x01garbage", 9, 0);
    ph_env_t *r = h_wait (alice, 0, PORTHOLE__V1__ENVELOPE__BODY_ERROR, 3000);
    CHECK (r && r->request_id == 0);
    h_expect_error (&r, "InvalidRequest", "the controller could not read your request");
    ph_env_t *ok = s_get_prefs (alice);
    CHECK (s_is_prefs (&ok));
    /* a valid envelope of a wrong version */
    Porthole__V1__GetPreferencesRequest gp = PORTHOLE__V1__GET_PREFERENCES_REQUEST__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.version = 2;
    env.request_id = 4242;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES;
    env.get_preferences = &gp;
    ph_wire_send (alice->sock, NULL, 0, &env);
    r = h_wait (alice, 0, PORTHOLE__V1__ENVELOPE__BODY_ERROR, 3000);
    h_expect_error (&r, "InvalidRequest", "could not read your request");

    /* garbage on the agents port: dropped; the agent is still served */
    h_redis ("HSET ph:instance:{mi-00000000000000002} instance_id mi-00000000000000002");
    peer_t *agent = h_peer (true, "instance:mi-00000000000000002");
    for (int i = 0; i < 30; i++)
        zmq_send (zsock_resolve (agent->sock), "junk", 4, 0);
    r = s_hello (agent);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    h_peer_destroy (&agent);

    /* a frame over 1 MiB: the connection is dropped, the client reconnects */
    size_t big = PH_MSG_MAX + 1024;
    char *blob = calloc (1, big);
    zmq_send (zsock_resolve (alice->sock), blob, big, 0);
    free (blob);
    bool served = false;
    uint64_t deadline = ph_mono_ms () + 10000;
    while (!served && ph_mono_ms () < deadline) {
        r = s_get_prefs (alice);
        served = s_is_prefs (&r);
    }
    CHECK (served);
}

static void test_redis_outage (peer_t **alice)
{
    kill (H.redis_pid, SIGKILL);
    waitpid (H.redis_pid, NULL, 0);
    H.redis_pid = -1;
    uint64_t deadline = ph_mono_ms () + 5000;
    while (ph_redis_connected (H.ctl->redis) && ph_mono_ms () < deadline)
        h_run_ms (20);
    CHECK (!ph_redis_connected (H.ctl->redis));
    ph_env_t *r = s_get_prefs (*alice);
    h_expect_error (&r, "Unavailable", "cannot reach Redis right now");

    s_redis_restart ();
    CHECK (H.sync != NULL);
    if (!H.sync)
        return;
    deadline = ph_mono_ms () + 10000;
    while (!ph_redis_connected (H.ctl->redis) && ph_mono_ms () < deadline)
        h_run_ms (20);
    CHECK (ph_redis_connected (H.ctl->redis));
    /* the new Redis is empty: register alice again, then she is served */
    h_peer_destroy (alice);
    *alice = h_user ("alice", true, NULL);
    r = s_get_prefs (*alice);
    CHECK (s_is_prefs (&r));
}

static void test_controller_record (void)
{
    uint64_t deadline = ph_mono_ms () + 8000;
    while (!*h_redis ("HGET ph:controller:{c-0000test} client_endpoint") &&
           ph_mono_ms () < deadline)
        h_run_ms (50);
    CHECK_STR (h_redis ("HGET ph:controller:{c-0000test} client_endpoint"), H.client_ep);
    CHECK_STR (h_redis ("HGET ph:controller:{c-0000test} agent_endpoint"), H.agent_ep);
    CHECK_STR (h_redis ("HGET ph:controller:{c-0000test} server_key"), H.keys.public_z85);
    long long ttl = atoll (h_redis ("TTL ph:controller:{c-0000test}"));
    CHECK (ttl > 20 && ttl <= 30);
    CHECK (ctl_sock (H.ctl, CTL_PORT_AGENTS) == H.ctl->agents);
    CHECK (ctl_sock (H.ctl, CTL_PORT_CLIENTS) == H.ctl->clients);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_server");
    zsys_init ();
    zsys_handler_set (NULL);
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    /* a second controller cannot bind the same ports */
    ctl_options_t opt = H.ctl->opt;
    char err[256] = "";
    CHECK (ctl_new (&opt, &H.keys, "c-0000dup", H.secret, sizeof H.secret, err, sizeof err) ==
           NULL);
    h_expect_in ("second", err, "another");
    peer_t *alice = h_user ("alice", true, NULL);
    test_dispatch (alice);
    test_bad_frames (alice);
    test_controller_record ();
    test_redis_outage (&alice);
    h_peer_destroy (&alice);
    h_stop ();
    PH_TEST_END ();
}
