/*  Unit tests of controller/ctl_attach.c and controller/ctl_relay.c through
 *  an in-process controller (ctl_new) with a real redis-server on a free
 *  port, a user client and an agent peer (CURVE DEALERs):
 *  - Attach checks the token (forged, another user's, spent) and sends
 *    OpenSession with the preferences to the agent; SessionOpened answers
 *    the waiting Attach and the session is Connected;
 *  - StreamData is relayed both ways unchanged, only for the attached
 *    client; Detach makes the session Disconnected; a resumed Attach is
 *    answered at once;
 *  - SessionEnded ends the session (exit code, history) and the route
 *    lingers for the last frames; a failed start answers the Attach with
 *    SessionFailed; an agent that is not connected here;
 *  - housekeeping: an Attach that waits 10 s fails the session and closes
 *    it on the agent, a client silent for 10 s is Disconnected. */
#include "ctl_harness.h"

/* ---- helpers ------------------------------------------------------------------ */

#define IID "mi-000000000000000a1"

static peer_t *s_agent (void)
{
    h_redis ("HSET ph:instance:{%s} instance_id %s ping_status Online tags env=dev controller "
             "c-0000test",
             IID, IID);
    h_redis ("SADD ph:instances %s", IID);
    peer_t *a = h_peer (true, "instance:" IID);
    ph_env_t *r = h_hello (a, "dev1", NULL);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    return a;
}

/*  StartSession for command on IID; sid and token out. */
static bool s_start (peer_t *p, const char *command, char *sid, char *token)
{
    Porthole__V1__StartSessionRequest req = PORTHOLE__V1__START_SESSION_REQUEST__INIT;
    req.target = IID;
    req.command = (char *)(command ? command : "");
    req.reason = "";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_START_SESSION;
    env.start_session = &req;
    ph_env_t *r = h_call (p, &env);
    bool ok = r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY;
    if (ok) {
        snprintf (sid, CTL_SID_MAX, "%s", r->start_session_reply->session_id);
        snprintf (token, PH_TOKEN_MAX, "%s", r->start_session_reply->token);
    }
    CHECK (ok);
    ph_wire_free (&r);
    return ok;
}

static bool s_resume (peer_t *p, const char *sid, char *token)
{
    Porthole__V1__ResumeSessionRequest req = PORTHOLE__V1__RESUME_SESSION_REQUEST__INIT;
    req.session_id = (char *)sid;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION;
    env.resume_session = &req;
    ph_env_t *r = h_call (p, &env);
    bool ok = r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY;
    if (ok)
        snprintf (token, PH_TOKEN_MAX, "%s", r->start_session_reply->token);
    ph_wire_free (&r);
    return ok;
}

/*  Sends Attach; returns its request id (the reply may come later). */
static uint64_t s_attach (peer_t *p, const char *sid, const char *token)
{
    Porthole__V1__Attach at = PORTHOLE__V1__ATTACH__INIT;
    at.session_id = (char *)sid;
    at.token = (char *)token;
    at.cols = 120;
    at.rows = 40;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ATTACH;
    env.attach = &at;
    env.request_id = ++H.next_id;
    h_send (p, &env);
    return env.request_id;
}

static void s_data (peer_t *p, const char *sid, uint64_t seq, int kind, const char *payload)
{
    ph_stream_data_t sd = PORTHOLE__V1__STREAM_DATA__INIT;
    sd.session_id = (char *)sid;
    sd.seq = seq;
    sd.ack = 7;
    sd.credit = 12345;
    sd.kind = kind;
    sd.payload.data = (uint8_t *)payload;
    sd.payload.len = strlen (payload);
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
    env.stream_data = &sd;
    h_send (p, &env);
}

/*  Expects StreamData{seq, payload} at p within 2 s. */
static void s_expect_data (peer_t *p, uint64_t seq, const char *payload)
{
    ph_env_t *r = h_wait (p, 0, PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA, 2000);
    CHECK (r != NULL);
    if (r) {
        const ph_stream_data_t *sd = r->stream_data;
        CHECK (sd->seq == seq && sd->ack == 7 && sd->credit == 12345);
        CHECK (sd->payload.len == strlen (payload) &&
               memcmp (sd->payload.data, payload, sd->payload.len) == 0);
    }
    ph_wire_free (&r);
}

static void s_agent_says (peer_t *agent, ph_body_t body, const char *sid, uint64_t request_id,
                          bool failed, int exit_code, const char *reason)
{
    Porthole__V1__SessionOpened op = PORTHOLE__V1__SESSION_OPENED__INIT;
    Porthole__V1__SessionEnded en = PORTHOLE__V1__SESSION_ENDED__INIT;
    op.session_id = en.session_id = (char *)sid;
    en.failed = failed;
    en.exit_code = exit_code;
    en.reason = (char *)(reason ? reason : "");
    ph_env_t env = PH_ENV_INIT;
    env.body_case = body;
    env.request_id = request_id;
    if (body == PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED)
        env.session_opened = &op;
    else
        env.session_ended = &en;
    h_send (agent, &env);
}

static bool s_state_is (const char *sid, const char *state, int timeout_ms)
{
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    while (strcmp (h_redis ("HGET ph:session:{%s} state", sid), state) != 0 &&
           ph_mono_ms () < deadline)
        h_run_ms (20);
    return strcmp (h_redis ("HGET ph:session:{%s} state", sid), state) == 0;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_attach_and_relay (peer_t *alice, peer_t *bob, peer_t *agent)
{
    char sid[CTL_SID_MAX], token[PH_TOKEN_MAX], other[PH_TOKEN_MAX];
    if (!s_start (alice, "id", sid, token))
        return;
    /* tokens: forged, someone else's, for another session */
    ph_env_t *r = h_wait (alice, s_attach (alice, sid, "123.abc"), 0, 3000);
    h_expect_error (&r, "InvalidToken", "token expired or already used");
    r = h_wait (bob, s_attach (bob, sid, token), 0, 3000);
    h_expect_error (&r, "InvalidToken", "run porthole resume-session --session-id");
    char sid2[CTL_SID_MAX];
    if (!s_start (alice, "id", sid2, other))
        return;
    r = h_wait (alice, s_attach (alice, sid, other), 0, 3000);
    h_expect_error (&r, "InvalidToken", "token expired");
    CHECK (h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, 200) == NULL);

    /* the first Attach: OpenSession to the agent, the answer waits */
    h_redis ("HSET ph:prefs idle_session_timeout_min 15 max_session_duration_min 60 "
             "admin_rights 0 shell_profile cd");
    uint64_t rid = s_attach (alice, sid, token);
    ph_env_t *open = h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, 3000);
    CHECK (open != NULL);
    if (!open)
        return;
    const Porthole__V1__OpenSession *o = open->open_session;
    CHECK_STR (o->session_id, sid);
    CHECK_STR (o->owner, "alice");
    CHECK_STR (o->run_as, "porthole-user");
    CHECK (!o->interactive);
    CHECK_STR (o->command, "id");
    CHECK (o->cols == 120 && o->rows == 40);
    CHECK (o->idle_timeout_s == 900 && o->max_duration_s == 3600);
    CHECK (!o->admin_rights && o->create_user);
    CHECK_STR (o->shell_profile, "cd");
    CHECK (h_wait (alice, rid, 0, 200) == NULL);
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", sid), "Connecting");
    s_agent_says (agent, PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED, sid, open->request_id, false,
                  0, NULL);
    ph_wire_free (&open);
    r = h_wait (alice, rid, 0, 3000);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY) {
        CHECK_STR (r->attach_reply->session_id, sid);
        CHECK_STR (r->attach_reply->status, "Connected");
    }
    ph_wire_free (&r);
    CHECK (s_state_is (sid, "Connected", 3000));

    /* the token is spent */
    r = h_wait (alice, s_attach (alice, sid, token), 0, 3000);
    h_expect_error (&r, "InvalidToken", "already used");

    /* the relay, both ways, frames unchanged */
    s_data (alice, sid, 1, PORTHOLE__V1__STREAM_KIND__STDIN, "ls\n");
    s_expect_data (agent, 1, "ls\n");
    s_data (agent, sid, 1, PORTHOLE__V1__STREAM_KIND__STDOUT, "file\n");
    s_expect_data (alice, 1, "file\n");
    /* not the attached client: NotAttached, nothing relayed */
    s_data (bob, sid, 2, PORTHOLE__V1__STREAM_KIND__STDIN, "rm -rf /\n");
    r = h_wait (bob, 0, PORTHOLE__V1__ENVELOPE__BODY_ERROR, 2000);
    h_expect_error (&r, "NotAttached", "is not attached here");
    peer_t *alice2 = h_peer_kp (false, NULL, &alice->kp); /* same user, another connection */
    s_data (alice2, sid, 2, PORTHOLE__V1__STREAM_KIND__STDIN, "x");
    r = h_wait (alice2, 0, PORTHOLE__V1__ENVELOPE__BODY_ERROR, 2000);
    h_expect_error (&r, "NotAttached", "is not attached here");
    h_peer_destroy (&alice2);
    CHECK (h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA, 200) == NULL);

    /* Detach: Disconnected, output no longer relayed */
    Porthole__V1__Detach d = PORTHOLE__V1__DETACH__INIT;
    d.session_id = sid;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DETACH;
    env.detach = &d;
    h_send (alice, &env);
    CHECK (s_state_is (sid, "Disconnected", 3000));
    s_data (agent, sid, 2, PORTHOLE__V1__STREAM_KIND__STDOUT, "lost\n");
    CHECK (h_wait (alice, 0, PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA, 300) == NULL);

    /* resumed: a new token, answered at once, Connected again */
    CHECK (s_resume (alice, sid, token));
    rid = s_attach (alice, sid, token);
    r = h_wait (alice, rid, 0, 3000);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY);
    ph_wire_free (&r);
    CHECK (h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, 200) == NULL);
    CHECK (s_state_is (sid, "Connected", 3000));
    s_data (agent, sid, 2, PORTHOLE__V1__STREAM_KIND__STDOUT, "again\n");
    s_expect_data (alice, 2, "again\n");

    /* the end: Terminated with its exit code, out of the active sets; the last frames flow */
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", IID, sid), "1");
    s_agent_says (agent, PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED, sid, 99, false, 3, NULL);
    CHECK (s_state_is (sid, "Terminated", 3000));
    CHECK_STR (h_redis ("HGET ph:session:{%s} exit_code", sid), "3");
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_reason", sid), "exited");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", sid), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", IID, sid), "0");
    CHECK (*h_redis ("ZSCORE ph:sessions:history %s", sid));
    s_data (agent, sid, 3, PORTHOLE__V1__STREAM_KIND__EXIT, "3");
    s_expect_data (alice, 3, "3");
    /* an ended session cannot be attached, even with a valid token */
    char forged[PH_TOKEN_MAX];
    ph_token_make (H.secret, sizeof H.secret, sid, "alice", ph_now_ms () + 30000, forged);
    r = h_wait (alice, s_attach (alice, sid, forged), 0, 3000);
    h_expect_error (&r, "InvalidState", "is Terminated; start a new one");
    /* a repeated SessionEnded changes nothing */
    char end_ms[32];
    snprintf (end_ms, sizeof end_ms, "%s", h_redis ("HGET ph:session:{%s} end_ms", sid));
    s_agent_says (agent, PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED, sid, 100, false, 3, NULL);
    h_run_ms (200);
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_ms", sid), end_ms);
    h_redis ("DEL ph:prefs");
}

static void test_failed_start (peer_t *alice, peer_t *agent)
{
    char sid[CTL_SID_MAX], token[PH_TOKEN_MAX];
    if (!s_start (alice, NULL, sid, token))
        return;
    uint64_t rid = s_attach (alice, sid, token);
    ph_env_t *open = h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, 3000);
    CHECK (open && open->open_session->interactive);
    ph_wire_free (&open);
    s_agent_says (agent, PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED, sid, 5, true, 0,
                  "user porthole-user does not exist");
    ph_env_t *r = h_wait (alice, rid, 0, 3000);
    h_expect_error (&r, "SessionFailed", "user porthole-user does not exist");
    CHECK (s_state_is (sid, "Failed", 3000));
    CHECK_STR (h_redis ("HGET ph:session:{%s} exit_code", sid), "");
}

static void test_agent_not_here (peer_t *alice)
{
    char sid[CTL_SID_MAX], token[PH_TOKEN_MAX];
    /* a second instance that never said Hello to this controller */
    h_redis ("HSET ph:instance:{mi-000000000000000b2} ping_status Online last_seen_ms %s",
             "99999999999999");
    h_redis ("HSET ph:session:{alice-000000000000000b2} session_id alice-000000000000000b2 "
             "target mi-000000000000000b2 owner alice state Connecting");
    snprintf (sid, sizeof sid, "alice-000000000000000b2");
    ph_token_make (H.secret, sizeof H.secret, sid, "alice", ph_now_ms () + 30000, token);
    ph_env_t *r = h_wait (alice, s_attach (alice, sid, token), 0, 3000);
    h_expect_error (&r, "TargetNotConnected", "is not connected to this controller");
}

static void test_timeouts (peer_t *alice, peer_t *agent)
{
    /* one session whose agent never answers OpenSession ... */
    char slow[CTL_SID_MAX], token[PH_TOKEN_MAX];
    if (!s_start (alice, "sleep 1", slow, token))
        return;
    uint64_t rid = s_attach (alice, slow, token);
    ph_env_t *open = h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, 3000);
    CHECK (open != NULL);
    ph_wire_free (&open);
    /* ... and one whose client falls silent */
    peer_t *quiet = h_peer_kp (false, NULL, &alice->kp);
    char sid[CTL_SID_MAX];
    if (!s_start (quiet, "sleep 1", sid, token)) {
        h_peer_destroy (&quiet);
        return;
    }
    uint64_t qrid = s_attach (quiet, sid, token);
    open = h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, 3000);
    if (open)
        s_agent_says (agent, PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED, sid, open->request_id,
                      false, 0, NULL);
    ph_wire_free (&open);
    ph_env_t *r = h_wait (quiet, qrid, 0, 3000);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY);
    ph_wire_free (&r);
    uint64_t start = ph_mono_ms ();

    r = h_wait (alice, rid, 0, 15000);
    uint64_t took = ph_mono_ms () - start;
    h_expect_error (&r, "SessionFailed", "did not open it within 10 s");
    CHECK (took >= 8000 && took < 13000);
    r = h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION, 3000);
    CHECK (r && strcmp (r->close_session->session_id, slow) == 0);
    ph_wire_free (&r);
    CHECK (s_state_is (slow, "Failed", 3000));
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_reason", slow),
               "agent did not open the session in time");

    CHECK (s_state_is (sid, "Disconnected", 5000));
    CHECK (ph_mono_ms () - start >= 9000);
    h_peer_destroy (&quiet);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_attach");
    zsys_init ();
    zsys_handler_set (NULL);
    if (!h_redis_start () || !h_ctl_start (60000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    peer_t *alice = h_user ("alice", true, NULL);
    peer_t *bob = h_user ("bob", true, NULL);
    peer_t *agent = s_agent ();
    test_attach_and_relay (alice, bob, agent);
    test_failed_start (alice, agent);
    test_agent_not_here (alice);
    test_timeouts (alice, agent);
    h_peer_destroy (&alice);
    h_peer_destroy (&bob);
    h_peer_destroy (&agent);
    h_stop ();
    PH_TEST_END ();
}
