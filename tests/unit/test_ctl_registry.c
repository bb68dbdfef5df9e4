/*  Unit tests of controller/ctl_registry.c through an in-process controller
 *  (ctl_new) with a real redis-server on a free port and CURVE peers on
 *  the agents port: ping status from the stored status and last seen;
 *  Enroll (instance, key, tags and count written by one script; a wrong
 *  code, an expired, used-up, unknown or malformed activation, an already
 *  registered key, oversized host facts all refused with nothing changed;
 *  failures throttled per address); Hello (facts stored, sessions the
 *  agent no longer has ended, Connecting ones kept, a deregistered
 *  instance refused); Hello reads only the instance's index
 *  ph:instance:{ID}:sessions (a session missing from it is not touched
 *  until ctl_store_on_connected indexes it; stale entries are dropped); a
 *  Hello repeated while the first is in Redis gets one answer, to the
 *  latest request; Heartbeat before Hello (NotRegistered) and after
 *  (last_seen_ms flushed); an instance that falls silent is marked
 *  ConnectionLost. */
#include "ctl_harness.h"

/* ---- helpers ------------------------------------------------------------------ */

#define ACT_ID  "0a1b2c3d-0000-4000-8000-00000000000a"
#define ACT_DAY 86400000ULL

/*  Stores activation id with code, tags, limit, count and expiry. */
static void s_activation (const char *id, const char *code, const char *tags, int limit, int count,
                          uint64_t expires_ms)
{
    uint8_t mac[PH_SHA256_LEN];
    char hex[2 * PH_SHA256_LEN + 1];
    ph_hmac_sha256 (H.secret, sizeof H.secret, code, strlen (code), mac);
    ph_hex (mac, sizeof mac, hex);
    char lim[16], cnt[16], exp[32];
    snprintf (lim, sizeof lim, "%d", limit);
    snprintf (cnt, sizeof cnt, "%d", count);
    snprintf (exp, sizeof exp, "%llu", (unsigned long long)expires_ms);
    h_redis ("HSET ph:activation:{%s} code_hmac %s tags %s limit %s count %s expires_ms %s", id,
             hex, tags, lim, cnt, exp);
}

static ph_env_t *s_enroll (peer_t *p, const char *id, const char *code, const char *hostname)
{
    Porthole__V1__Enroll e = PORTHOLE__V1__ENROLL__INIT;
    e.activation_id = (char *)id;
    e.activation_code = (char *)code;
    e.hostname = (char *)hostname;
    e.platform = "Debian GNU/Linux 12 (bookworm)";
    e.agent_version = "0.1.0";
    e.ip = "10.0.0.5";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ENROLL;
    env.enroll = &e;
    return h_call (p, &env);
}

/*  Enrolls a fresh key with the activation; returns its instance id (or
 *  "") and the key in kp. */
static void s_enroll_new (const char *id, const char *code, char *iid, ph_keypair_t *kp)
{
    peer_t *p = h_peer (true, NULL);
    ph_env_t *r = s_enroll (p, id, code, "web1");
    iid[0] = 0;
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY)
        snprintf (iid, CTL_IID_MAX, "%s", r->enroll_reply->instance_id);
    *kp = p->kp;
    ph_wire_free (&r);
    h_peer_destroy (&p);
}

static ph_env_t *s_heartbeat (peer_t *p)
{
    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    env.request_id = ++H.next_id;
    h_send (p, &env);
    return h_wait (p, env.request_id, 0, 500); /* NULL: no answer, as it should be */
}

/* ---- tests -------------------------------------------------------------------- */

static void test_ping_status (void)
{
    uint64_t now = ph_now_ms ();
    /* heartbeat 1000 ms: Online while seen within 3 intervals + 1 s */
    CHECK_STR (ctl_ping_status (H.ctl, "Online", now), "Online");
    CHECK_STR (ctl_ping_status (H.ctl, "Online", now - 3000), "Online");
    CHECK_STR (ctl_ping_status (H.ctl, "Online", now - 5000), "ConnectionLost");
    CHECK_STR (ctl_ping_status (H.ctl, "Online", now + 60000), "Online"); /* clock skew */
    CHECK_STR (ctl_ping_status (H.ctl, "Online", 0), "ConnectionLost");
    CHECK_STR (ctl_ping_status (H.ctl, "ConnectionLost", now), "ConnectionLost");
    CHECK_STR (ctl_ping_status (H.ctl, NULL, now), "ConnectionLost");
    CHECK_STR (ctl_ping_status (H.ctl, "online", now), "ConnectionLost");
}

static void test_enroll (char *iid, ph_keypair_t *kp)
{
    s_activation (ACT_ID, "S3cretCode", "env=dev,role=web", 2, 0, ph_now_ms () + ACT_DAY);
    peer_t *p = h_peer (true, NULL);
    /* a wrong code first: refused, nothing counted */
    ph_env_t *r = s_enroll (p, ACT_ID, "s3cretcode", "web1");
    h_expect_error (&r, "InvalidActivation", "the activation code does not match");
    CHECK_STR (h_redis ("HGET ph:activation:{%s} count", ACT_ID), "0");

    r = s_enroll (p, ACT_ID, "S3cretCode", "web1");
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY);
    if (!r || r->body_case != PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY) {
        ph_wire_free (&r);
        h_peer_destroy (&p);
        return;
    }
    snprintf (iid, CTL_IID_MAX, "%s", r->enroll_reply->instance_id);
    *kp = p->kp;
    ph_wire_free (&r);
    CHECK (ph_instance_id_valid (iid));
    CHECK_STR (h_redis ("HGET ph:activation:{%s} count", ACT_ID), "1");
    char identity[64];
    snprintf (identity, sizeof identity, "instance:%s", iid);
    CHECK_STR (h_redis ("GET ph:key:{%s}", kp->public_z85), identity);
    CHECK_STR (h_redis ("HGET ph:instance:{%s} hostname", iid), "web1");
    CHECK_STR (h_redis ("HGET ph:instance:{%s} tags", iid), "env=dev,role=web");
    CHECK_STR (h_redis ("HGET ph:instance:{%s} public_key", iid), kp->public_z85);
    CHECK_STR (h_redis ("HGET ph:instance:{%s} ping_status", iid), "Online");
    CHECK_STR (h_redis ("HGET ph:instance:{%s} controller", iid), "c-0000test");
    CHECK_STR (h_redis ("HGET ph:instance:{%s} activation_id", iid), ACT_ID);
    CHECK_STR (h_redis ("SISMEMBER ph:instances %s", iid), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:tag:{env=dev} %s", iid), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:tag:{role=web} %s", iid), "1");

    /* the same key again (same connection): already registered */
    r = s_enroll (p, ACT_ID, "S3cretCode", "web1");
    h_expect_error (&r, "InvalidActivation", "this agent key is already registered");
    CHECK_STR (h_redis ("HGET ph:activation:{%s} count", ACT_ID), "1");
    h_peer_destroy (&p);

    /* the limit: one more fits, then no more */
    char iid2[CTL_IID_MAX];
    ph_keypair_t kp2;
    s_enroll_new (ACT_ID, "S3cretCode", iid2, &kp2);
    CHECK (ph_instance_id_valid (iid2) && strcmp (iid, iid2) != 0);
    p = h_peer (true, NULL);
    r = s_enroll (p, ACT_ID, "S3cretCode", "web3");
    h_expect_error (&r, "InvalidActivation", "has reached its registration limit (2)");
    CHECK_STR (h_redis ("HGET ph:activation:{%s} count", ACT_ID), "2");
    CHECK_STR (h_redis ("SCARD ph:instances"), "2");

    /* expired, unknown, malformed; facts over the limit */
    const char *old = "0a1b2c3d-0000-4000-8000-00000000000b";
    s_activation (old, "c", "", 5, 0, ph_now_ms () - 1000);
    r = s_enroll (p, old, "c", "web3");
    h_expect_error (&r, "InvalidActivation", "expired at");
    r = s_enroll (p, "0a1b2c3d-0000-4000-8000-0000000000ff", "c", "web3");
    h_expect_error (&r, "InvalidActivation", "does not exist or has expired");
    r = s_enroll (p, "not-an-activation-id", "c", "web3");
    h_expect_error (&r, "InvalidActivation", "is malformed");
    r = s_enroll (p, "0A1B2C3D-0000-4000-8000-00000000000A", "c", "web3");
    h_expect_error (&r, "InvalidActivation", "is malformed");
    char host[300];
    memset (host, 'h', 256);
    host[256] = 0;
    r = s_enroll (p, ACT_ID, "S3cretCode", host);
    h_expect_error (&r, "InvalidRequest", "hostname is over 255 bytes");
    CHECK_STR (h_redis ("SCARD ph:instances"), "2");
    h_peer_destroy (&p);
}

/*  Runs last: ten failures from one address, then Throttled. */
static void test_throttle (void)
{
    /* earlier tests failed 7 times from 127.0.0.1 within the window */
    peer_t *p = h_peer (true, NULL);
    int throttled_at = -1;
    for (int i = 0; i < 12 && throttled_at < 0; i++) {
        ph_env_t *r = s_enroll (p, "0a1b2c3d-0000-4000-8000-0000000000ff", "c", "x");
        if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR &&
            strcmp (r->error->code, "Throttled") == 0) {
            throttled_at = i;
            h_expect_in ("throttled", r->error->message, "too many failed enrollments from");
        }
        ph_wire_free (&r);
    }
    CHECK (throttled_at == CTL_ENROLL_FAIL_MAX - 7);
    /* even a right code is throttled now */
    s_activation ("0a1b2c3d-0000-4000-8000-00000000000c", "good", "", 5, 0, ph_now_ms () + ACT_DAY);
    ph_env_t *r = s_enroll (p, "0a1b2c3d-0000-4000-8000-00000000000c", "good", "x");
    h_expect_error (&r, "Throttled", "wait a minute");
    CHECK_STR (h_redis ("HGET ph:activation:{0a1b2c3d-0000-4000-8000-00000000000c} count"), "0");
    h_peer_destroy (&p);
}

/*  An active session as the controller writes it (ctl_sessions.c). */
static void s_session (const char *sid, const char *target, const char *state)
{
    h_redis ("HSET ph:session:{%s} session_id %s target %s state %s owner bob", sid, sid, target,
             state);
    h_redis ("SADD ph:sessions:active %s", sid);
    h_redis ("SADD ph:instance:{%s}:sessions %s", target, sid);
}

static void test_hello (const char *iid, const ph_keypair_t *kp)
{
    /* the agent's next connection, with its key */
    peer_t *a = h_peer_kp (true, NULL, kp);
    ph_env_t *r = s_heartbeat (a);
    h_expect_error (&r, "NotRegistered", "has not said Hello to this controller");

    char gone[64], opening[64], live[64], other[64];
    snprintf (gone, sizeof gone, "bob-0000000000000000a");
    snprintf (opening, sizeof opening, "bob-0000000000000000b");
    snprintf (live, sizeof live, "bob-0000000000000000c");
    snprintf (other, sizeof other, "bob-0000000000000000d");
    s_session (gone, iid, "Connected");
    s_session (opening, iid, "Connecting");
    s_session (live, iid, "Disconnected");
    s_session (other, "mi-00000000000000001", "Connected");
    h_redis ("HSET ph:instance:{%s} ping_status ConnectionLost last_seen_ms 1", iid);
    const char *live_ids[] = {live, NULL};
    uint64_t before = ph_now_ms ();
    r = h_hello (a, "web1b", live_ids);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY) {
        CHECK_STR (r->hello_reply->instance_id, iid);
        CHECK (r->hello_reply->heartbeat_interval_ms == 1000);
    }
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:instance:{%s} hostname", iid), "web1b");
    CHECK_STR (h_redis ("HGET ph:instance:{%s} ip", iid), "10.0.0.6");
    CHECK_STR (h_redis ("HGET ph:instance:{%s} ping_status", iid), "Online");
    CHECK ((uint64_t)atoll (h_redis ("HGET ph:instance:{%s} last_seen_ms", iid)) >= before);
    /* the session it no longer has ended; the others are left alone */
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", gone), "Terminated");
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_reason", gone), "agent restarted");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", gone), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, gone), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, live), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, opening), "1");
    CHECK (*h_redis ("ZSCORE ph:sessions:history %s", gone));
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", opening), "Connecting");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", live), "Disconnected");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", other), "Connected");
    CHECK (ctl_registry_instance (H.ctl, iid) != NULL);

    /* heartbeats: no answer; last seen flushed within a second or so */
    h_redis ("HSET ph:instance:{%s} last_seen_ms 1", iid);
    r = s_heartbeat (a);
    CHECK (r == NULL);
    uint64_t deadline = ph_mono_ms () + 3000;
    while (atoll (h_redis ("HGET ph:instance:{%s} last_seen_ms", iid)) <= 1 &&
           ph_mono_ms () < deadline)
        h_run_ms (50);
    CHECK ((uint64_t)atoll (h_redis ("HGET ph:instance:{%s} last_seen_ms", iid)) >= before);

    /* silent for 3 intervals: ConnectionLost (stored), forgotten here */
    uint64_t start = ph_mono_ms ();
    deadline = start + 8000;
    while (strcmp (h_redis ("HGET ph:instance:{%s} ping_status", iid), "ConnectionLost") != 0 &&
           ph_mono_ms () < deadline)
        h_run_ms (50);
    CHECK_STR (h_redis ("HGET ph:instance:{%s} ping_status", iid), "ConnectionLost");
    CHECK (ph_mono_ms () - start >= 2000);
    CHECK (ctl_registry_instance (H.ctl, iid) == NULL);
    r = s_heartbeat (a);
    h_expect_error (&r, "NotRegistered", "send Hello");
    r = h_hello (a, "web1b", NULL);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:instance:{%s} ping_status", iid), "Online");
    h_peer_destroy (&a);

    /* a key that maps to an instance without a record */
    peer_t *ghost = h_peer (true, "instance:mi-0000000000000dead");
    r = h_hello (ghost, "ghost", NULL);
    h_expect_error (&r, "AccessDenied", "is no longer registered with this cluster");
    h_peer_destroy (&ghost);
}

static void s_on_pong (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis, (void)reply;
    *(bool *)arg = true;
}

/*  Waits until the controller's Redis connection answered everything
 *  queued before now (Redis answers in order). */
static void s_drain (void)
{
    static bool done; /* static: a late callback must find it */
    done = false;
    CHECK (ph_redis_cmd (H.ctl->redis, s_on_pong, &done, "PING") == 0);
    uint64_t deadline = ph_mono_ms () + 3000;
    while (!done && ph_mono_ms () < deadline)
        h_run_ms (5);
    CHECK (done);
}

/*  Hello reads the instance's index, not every active session. */
static void test_hello_index (const char *iid, const ph_keypair_t *kp)
{
    peer_t *a = h_peer_kp (true, NULL, kp);
    char old[64], stale[64], moved[64], ghost[64];
    snprintf (old, sizeof old, "bob-000000000000000e1");     /* from before the index */
    snprintf (stale, sizeof stale, "bob-000000000000000e2"); /* ended, left in the index */
    snprintf (moved, sizeof moved, "bob-000000000000000e3"); /* another instance's */
    snprintf (ghost, sizeof ghost, "bob-000000000000000e4"); /* no record at all */
    h_redis ("HSET ph:session:{%s} session_id %s target %s state Connected owner bob", old, old,
             iid);
    h_redis ("SADD ph:sessions:active %s", old); /* not indexed */
    h_redis ("HSET ph:session:{%s} target %s state Terminated", stale, iid);
    s_session (moved, "mi-00000000000000002", "Connected");
    h_redis ("SADD ph:instance:{%s}:sessions %s %s %s", iid, stale, moved, ghost);
    ph_env_t *r = h_hello (a, "web1c", NULL);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    /* not in the index: untouched; stale entries dropped; the other instance's session lives */
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", old), "Connected");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, stale), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, moved), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, ghost), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, old), "0");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", moved), "Connected");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", moved), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{mi-00000000000000002}:sessions %s", moved), "1");

    /* the controller (re)connecting to Redis indexes it; the next Hello ends it */
    ctl_store_on_connected (H.ctl);
    s_drain ();
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, old), "1");
    r = h_hello (a, "web1c", NULL);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", old), "Terminated");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", old), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", iid, old), "0");
    h_peer_destroy (&a);
}

/*  Two Hellos while Redis is paused: stored once, answered once, to the
 *  second. */
static void test_hello_repeated (const ph_keypair_t *kp)
{
    peer_t *a = h_peer_kp (true, NULL, kp);
    ph_env_t *r = h_hello (a, "web1d", NULL); /* connected and known */
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    kill (H.redis_pid, SIGSTOP);
    Porthole__V1__Hello h = PORTHOLE__V1__HELLO__INIT;
    h.hostname = "web1e";
    h.platform = "Debian";
    h.agent_version = "0.1.0";
    h.ip = "10.0.0.7";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    env.request_id = ++H.next_id;
    uint64_t first_id = env.request_id;
    h_send (a, &env);
    h_run_ms (200); /* the first is queued in the controller's Redis connection */
    CHECK (zhashx_size (H.ctl->hellos) == 1);
    env.request_id = ++H.next_id;
    uint64_t second_id = env.request_id;
    h_send (a, &env);
    h_run_ms (200);
    CHECK (zhashx_size (H.ctl->hellos) == 1);
    kill (H.redis_pid, SIGCONT);
    r = h_wait (a, 0, PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY, 5000);
    CHECK (r && r->request_id == second_id);
    ph_wire_free (&r);
    r = h_wait (a, first_id, 0, 1000);
    CHECK (r == NULL); /* one answer only */
    ph_wire_free (&r);
    CHECK (zhashx_size (H.ctl->hellos) == 0);
    h_peer_destroy (&a);
}

static void test_wrong_peers (void)
{
    /* an unknown key may only enroll */
    peer_t *u = h_peer (true, NULL);
    ph_env_t *r = h_hello (u, "x", NULL);
    h_expect_error (&r, "AccessDenied",
                    "is not registered with this cluster; register the machine");
    h_peer_destroy (&u);
    /* a user key does not belong on the agents port */
    h_redis ("HSET ph:user:{bob} name bob admin 0");
    peer_t *bob = h_peer (true, "user:bob");
    r = h_hello (bob, "x", NULL);
    h_expect_error (&r, "AccessDenied", "may not use the agents port");
    h_peer_destroy (&bob);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_registry");
    zsys_init ();
    zsys_handler_set (NULL);
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    test_ping_status ();
    char iid[CTL_IID_MAX] = "";
    ph_keypair_t kp;
    test_enroll (iid, &kp);
    if (*iid) {
        test_hello (iid, &kp);
        test_hello_index (iid, &kp);
        test_hello_repeated (&kp);
    }
    test_wrong_peers ();
    test_throttle ();
    h_stop ();
    PH_TEST_END ();
}
