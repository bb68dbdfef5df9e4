/*  Unit tests of controller/ctl_store.c: its scripts run against a real
 *  redis-server on a free port through an in-process controller's async
 *  connection. Session state moves only from the listed states and only
 *  on the right target; ending a session (exit code, reason, history,
 *  expiry) happens once; the controller record and its expiry; the
 *  maintenance pass trims old history, fails sessions that never attached
 *  (ending their routes) and drops dangling ids; every session taken out
 *  of ph:sessions:active also leaves its instance's index
 *  ph:instance:{ID}:sessions, which ctl_store_on_connected builds for
 *  sessions that started without it. */
#include "ctl_harness.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct {
    bool done;
    char text[128];
} result_t;

static void s_on_result (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    result_t *r = arg;
    r->done = true;
    snprintf (r->text, sizeof r->text, "%s",
              reply && ph_reply_str (reply) ? ph_reply_str (reply) : "(none)");
}

static const char *s_wait (result_t *r)
{
    uint64_t deadline = ph_mono_ms () + 3000;
    while (!r->done && ph_mono_ms () < deadline)
        h_run_ms (5);
    return r->done ? r->text : "(timeout)";
}

static const char *s_set_state (const char *sid, const char *target, const char *state,
                                const char *from)
{
    static result_t r;
    memset (&r, 0, sizeof r);
    CHECK (ctl_store_set_state (H.ctl, sid, target, state, from, s_on_result, &r) == 0);
    return s_wait (&r);
}

static const char *s_end (const char *sid, const char *target, const char *state, bool has_exit,
                          int code, const char *reason)
{
    static result_t r;
    memset (&r, 0, sizeof r);
    CHECK (ctl_store_end_session (H.ctl, sid, target, state, has_exit, code, reason, s_on_result,
                                  &r) == 0);
    return s_wait (&r);
}

static void s_session (const char *sid, const char *target, const char *state, uint64_t start_ms)
{
    char start[32];
    snprintf (start, sizeof start, "%llu", (unsigned long long)start_ms);
    h_redis ("HSET ph:session:{%s} session_id %s target %s state %s start_ms %s", sid, sid, target,
             state, start);
    h_redis ("SADD ph:sessions:active %s", sid);
    h_redis ("SADD ph:instance:{%s}:sessions %s", target, sid);
}

#define S1 "bob-00000000000000001"
#define T1 "mi-00000000000000001"

/* ---- tests -------------------------------------------------------------------- */

static void test_set_state (void)
{
    s_session (S1, T1, "Connecting", ph_now_ms ());
    CHECK_STR (s_set_state (S1, T1, "Connected", "Connecting"), "ok");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", S1), "Connected");
    /* not from the listed states: the current state comes back */
    CHECK_STR (s_set_state (S1, T1, "Connected", "Connecting"), "Connected");
    CHECK_STR (s_set_state (S1, T1, "Disconnected", "Connecting,Connected"), "ok");
    CHECK_STR (s_set_state (S1, NULL, "Connected", "Disconnected"), "ok");
    /* the wrong target, a missing session */
    CHECK_STR (s_set_state (S1, "mi-00000000000000002", "Terminating", "Connected"), "target");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", S1), "Connected");
    CHECK_STR (s_set_state ("bob-0000000000000dead", NULL, "Connected", "Connecting"), "missing");
    CHECK_STR (h_redis ("EXISTS ph:session:{bob-0000000000000dead}"), "0");
    /* without a callback: logged, still done */
    CHECK (ctl_store_set_state (H.ctl, S1, T1, "Terminating", "Connected", NULL, NULL) == 0);
    uint64_t deadline = ph_mono_ms () + 3000;
    while (strcmp (h_redis ("HGET ph:session:{%s} state", S1), "Terminating") &&
           ph_mono_ms () < deadline)
        h_run_ms (5);
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", S1), "Terminating");
}

static void test_end (void)
{
    uint64_t before = ph_now_ms ();
    CHECK_STR (s_end (S1, "mi-00000000000000002", "Terminated", true, 3, "x"), "target");
    CHECK_STR (s_end (S1, T1, "Terminated", true, 3, "exited"), "ok");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", S1), "Terminated");
    CHECK_STR (h_redis ("HGET ph:session:{%s} exit_code", S1), "3");
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_reason", S1), "exited");
    uint64_t end = (uint64_t)atoll (h_redis ("HGET ph:session:{%s} end_ms", S1));
    CHECK (end >= before && end <= ph_now_ms ());
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", S1), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", T1, S1), "0");
    CHECK ((uint64_t)atoll (h_redis ("ZSCORE ph:sessions:history %s", S1)) == end);
    long long ttl = atoll (h_redis ("TTL ph:session:{%s}", S1));
    CHECK (ttl > CTL_HISTORY_KEEP_S - 60 && ttl <= CTL_HISTORY_KEEP_S);
    /* once only: an ended session stays as it ended */
    CHECK_STR (s_end (S1, T1, "Failed", false, 0, "late"), "ended");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", S1), "Terminated");
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_reason", S1), "exited");
    CHECK_STR (s_end ("bob-0000000000000dead", NULL, "Failed", false, 0, "x"), "missing");
    /* Failed, without an exit code */
    s_session ("bob-00000000000000002", T1, "Connecting", ph_now_ms ());
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-00000000000000002", T1), "1");
    CHECK_STR (s_end ("bob-00000000000000002", NULL, "Failed", false, 0, NULL), "ok");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-00000000000000002", T1), "0");
    CHECK_STR (h_redis ("HGET ph:session:{bob-00000000000000002} state"), "Failed");
    CHECK_STR (h_redis ("HEXISTS ph:session:{bob-00000000000000002} exit_code"), "0");
}

static void test_controller_record (void)
{
    H.ctl->started_ms = 123;
    ctl_store_refresh_controller (H.ctl);
    uint64_t deadline = ph_mono_ms () + 3000;
    while (!*h_redis ("HGET ph:controller:{c-0000test} started_ms") && ph_mono_ms () < deadline)
        h_run_ms (5);
    h_run_ms (50);
    CHECK_STR (h_redis ("HGET ph:controller:{c-0000test} started_ms"), "123");
    CHECK_STR (h_redis ("HGET ph:controller:{c-0000test} client_endpoint"), H.client_ep);
    CHECK_STR (h_redis ("HGET ph:controller:{c-0000test} server_key"), H.keys.public_z85);
    long long ttl = atoll (h_redis ("TTL ph:controller:{c-0000test}"));
    CHECK (ttl > 25 && ttl <= CTL_CONTROLLER_TTL_S);
}

static void test_maintenance (void)
{
    uint64_t now = ph_now_ms ();
    char old[32], recent[32];
    snprintf (old, sizeof old, "%llu",
              (unsigned long long)(now - (uint64_t)CTL_HISTORY_KEEP_S * 1000 - 60000));
    snprintf (recent, sizeof recent, "%llu", (unsigned long long)(now - 60000));
    h_redis ("ZADD ph:sessions:history %s bob-000000000000000a1", old);
    h_redis ("ZADD ph:sessions:history %s bob-000000000000000a2", recent);
    s_session ("bob-000000000000000b1", T1, "Connecting", now - CTL_CONNECTING_MAX_MS - 1000);
    s_session ("bob-000000000000000b2", T1, "Connecting", now - 1000);
    s_session ("bob-000000000000000b3", T1, "Connected", now - CTL_CONNECTING_MAX_MS - 1000);
    h_redis ("SADD ph:sessions:active bob-000000000000000b4"); /* no record */
    ctl_route_t *route = ctl_route_ensure (H.ctl, "bob-000000000000000b1", T1);
    CHECK (route && route->ended_mono == 0);
    CHECK (ctl_route_ensure (H.ctl, "bob-000000000000000b1", T1) == route);
    ctl_store_maintenance (H.ctl);
    uint64_t deadline = ph_mono_ms () + 3000;
    while (strcmp (h_redis ("HGET ph:session:{bob-000000000000000b1} state"), "Failed") &&
           ph_mono_ms () < deadline)
        h_run_ms (5);
    h_run_ms (50); /* the reply's callback */
    CHECK_STR (h_redis ("ZSCORE ph:sessions:history bob-000000000000000a1"), "");
    CHECK_STR (h_redis ("ZSCORE ph:sessions:history bob-000000000000000a2"), recent);
    CHECK_STR (h_redis ("HGET ph:session:{bob-000000000000000b1} state"), "Failed");
    CHECK_STR (h_redis ("HGET ph:session:{bob-000000000000000b1} end_reason"), "never attached");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active bob-000000000000000b1"), "0");
    CHECK (*h_redis ("ZSCORE ph:sessions:history bob-000000000000000b1"));
    CHECK_STR (h_redis ("HGET ph:session:{bob-000000000000000b2} state"), "Connecting");
    CHECK_STR (h_redis ("HGET ph:session:{bob-000000000000000b3} state"), "Connected");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active bob-000000000000000b4"), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active bob-000000000000000b2"), "1");
    /* the index follows: b1 left it, b2 and b3 stay */
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-000000000000000b1", T1), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-000000000000000b2", T1), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-000000000000000b3", T1), "1");
    route = ctl_route_find (H.ctl, "bob-000000000000000b1");
    CHECK (route && route->ended_mono != 0);
    /* Terminating for a day: Terminated, out of the index too */
    s_session ("bob-000000000000000b5", T1, "Terminating", now - 1000);
    char day_ago[32];
    snprintf (day_ago, sizeof day_ago, "%llu",
              (unsigned long long)(now - CTL_TERMINATING_MAX_MS - 1000));
    h_redis ("HSET ph:session:{bob-000000000000000b5} end_ms %s", day_ago);
    ctl_store_maintenance (H.ctl);
    deadline = ph_mono_ms () + 3000;
    while (strcmp (h_redis ("HGET ph:session:{bob-000000000000000b5} state"), "Terminated") &&
           ph_mono_ms () < deadline)
        h_run_ms (5);
    CHECK_STR (h_redis ("HGET ph:session:{bob-000000000000000b5} end_reason"),
               "transcript incomplete");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-000000000000000b5", T1), "0");
}

/*  Sessions that started before the index existed (or by an older
 *  controller): on (re)connecting, each active one joins its instance's
 *  index; ended ones and dangling ids do not. */
static void test_index_built_on_connect (void)
{
    const char *t2 = "mi-00000000000000002";
    h_redis ("HSET ph:session:{bob-000000000000000c1} target %s state Connected", t2);
    h_redis ("HSET ph:session:{bob-000000000000000c2} target %s state Disconnected", T1);
    h_redis ("HSET ph:session:{bob-000000000000000c3} target %s state Terminated", t2);
    h_redis ("SADD ph:sessions:active bob-000000000000000c1 bob-000000000000000c2 "
             "bob-000000000000000c9");
    CHECK_STR (h_redis ("SCARD ph:instance:{%s}:sessions", t2), "0");
    ctl_store_on_connected (H.ctl);
    uint64_t deadline = ph_mono_ms () + 3000;
    while (strcmp (h_redis ("SCARD ph:instance:{%s}:sessions", t2), "1") &&
           ph_mono_ms () < deadline)
        h_run_ms (5);
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-000000000000000c1", t2), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-000000000000000c2", T1), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions bob-000000000000000c3", t2), "0");
    CHECK_STR (h_redis ("EXISTS ph:instance:{}:sessions"), "0");
    /* again: nothing changes (idempotent) */
    ctl_store_on_connected (H.ctl);
    h_run_ms (50);
    CHECK_STR (h_redis ("SCARD ph:instance:{%s}:sessions", t2), "1");
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_store");
    zsys_init ();
    zsys_handler_set (NULL);
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    test_set_state ();
    test_end ();
    test_controller_record ();
    test_maintenance ();
    test_index_built_on_connect ();
    h_stop ();
    PH_TEST_END ();
}
