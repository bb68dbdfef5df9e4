/*  Unit tests of controller/ctl_sessions.c through an in-process controller
 *  (ctl_new) with a real redis-server on a free port: session ids;
 *  StartSession (the session record, the stream endpoint and key, a token
 *  for the caller, documents, reasons, targets unknown, malformed or not
 *  connected, policies on the target's tags, the run-as account from the
 *  preferences and the user's RunAs tag); ResumeSession (owner, admin,
 *  another user, ended sessions); TerminateSession (a session never
 *  opened ends at once, an open one gets CloseSession at its agent and
 *  is Terminating, an ended one is left alone). A session joins its
 *  instance's index ph:instance:{ID}:sessions when it starts and leaves it
 *  when it ends. */
#include "ctl_harness.h"

/* ---- helpers ------------------------------------------------------------------ */

#define IID_DEV  "mi-000000000000000d1"
#define IID_PROD "mi-000000000000000f1"
#define IID_LOST "mi-000000000000000e1"
#define IID_NONE "mi-00000000000000000"

static const char s_bob_policy[] =
    "{\"Version\": \"2026-11-01\", \"Statement\": ["
    " {\"Sid\": \"DevOnly\", \"Effect\": \"Allow\", \"Action\": \"session:StartSession\","
    "  \"Resource\": \"instance/*\","
    "  \"Condition\": {\"StringEquals\": {\"instance:ResourceTag/env\": \"dev\"}}},"
    " {\"Sid\": \"Own\", \"Effect\": \"Allow\", \"Action\": \"session:*\", \"Resource\": "
    "\"session/*\","
    "  \"Condition\": {\"StringEquals\": {\"session:Owner\": \"${username}\"}}}]}";

/*  An instance record: Online and seen now unless status says otherwise. */
static void s_instance (const char *iid, const char *status, const char *tags, bool seen)
{
    char now[32];
    snprintf (now, sizeof now, "%llu", (unsigned long long)(seen ? ph_now_ms () - 2000 : 0));
    h_redis ("HSET ph:instance:{%s} instance_id %s ping_status %s tags %s controller c-0000test",
             iid, iid, status, tags);
    if (seen)
        h_redis ("HSET ph:instance:{%s} last_seen_ms %s", iid, now);
    h_redis ("SADD ph:instances %s", iid);
}

static ph_env_t *s_start (peer_t *p, const char *target, const char *command, const char *doc,
                          const char *reason)
{
    s_instance (IID_DEV, "Online", "env=dev", true); /* seen just now, every time */
    s_instance (IID_PROD, "Online", "env=prod", true);
    Porthole__V1__StartSessionRequest r = PORTHOLE__V1__START_SESSION_REQUEST__INIT;
    r.target = (char *)target;
    r.command = (char *)(command ? command : "");
    r.document = (char *)(doc ? doc : "");
    r.reason = (char *)(reason ? reason : "");
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_START_SESSION;
    env.start_session = &r;
    return h_call (p, &env);
}

/*  A StartSessionReply's session id (into sid), or false. */
static bool s_started (ph_env_t **r, char *sid, size_t len)
{
    bool ok = *r && (*r)->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY;
    if (ok)
        snprintf (sid, len, "%s", (*r)->start_session_reply->session_id);
    else if (*r && (*r)->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        fprintf (stderr, "unexpected %s: %s\n", (*r)->error->code, (*r)->error->message);
    CHECK (ok);
    ph_wire_free (r);
    return ok;
}

static ph_env_t *s_by_id (peer_t *p, ph_body_t body, const char *sid)
{
    Porthole__V1__ResumeSessionRequest rs = PORTHOLE__V1__RESUME_SESSION_REQUEST__INIT;
    Porthole__V1__TerminateSessionRequest ts = PORTHOLE__V1__TERMINATE_SESSION_REQUEST__INIT;
    rs.session_id = ts.session_id = (char *)sid;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = body;
    if (body == PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION)
        env.resume_session = &rs;
    else
        env.terminate_session = &ts;
    return h_call (p, &env);
}

#define RESUME    PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION
#define TERMINATE PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION

/* ---- tests -------------------------------------------------------------------- */

static void test_session_ids (void)
{
    CHECK (ctl_session_id_valid ("bob-0123456789abcdef0"));
    CHECK (ctl_session_id_valid ("a.b@c_d-e-0123456789abcdef0"));
    CHECK (!ctl_session_id_valid ("bob-0123456789ABCDEF0"));
    CHECK (!ctl_session_id_valid ("bob-0123456789abcdef"));
    CHECK (!ctl_session_id_valid ("bob_0123456789abcdef0"));
    CHECK (!ctl_session_id_valid ("-0123456789abcdef0"));
    CHECK (!ctl_session_id_valid ("a b-0123456789abcdef0"));
    CHECK (!ctl_session_id_valid ("bob-0123456789abcdefg"));
    CHECK (!ctl_session_id_valid (""));
    CHECK (!ctl_session_id_valid (NULL));
    char id[200];
    memset (id, 'a', 64);
    strcpy (id + 64, "-0123456789abcdef0");
    CHECK (ctl_session_id_valid (id)); /* a 64-character name */
    memset (id, 'a', 65);
    strcpy (id + 65, "-0123456789abcdef0");
    CHECK (!ctl_session_id_valid (id));
}

static void test_start (peer_t *alice, peer_t *bob)
{
    uint64_t before = ph_now_ms ();
    ph_env_t *r = s_start (alice, IID_DEV, "id -u", NULL, "INC-1");
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY);
    if (!r || r->body_case != PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY) {
        ph_wire_free (&r);
        return;
    }
    const Porthole__V1__StartSessionReply *s = r->start_session_reply;
    char sid[CTL_SID_MAX];
    snprintf (sid, sizeof sid, "%s", s->session_id);
    CHECK (strncmp (sid, "alice-", 6) == 0 && ctl_session_id_valid (sid));
    /* no ph:controller record: this controller's own endpoint and key */
    CHECK_STR (s->stream_url, H.client_ep);
    CHECK_STR (s->server_key, H.keys.public_z85);
    CHECK (ph_token_verify (H.secret, sizeof H.secret, s->token, sid, "alice", ph_now_ms ()) == 0);
    CHECK (ph_token_verify (H.secret, sizeof H.secret, s->token, sid, "bob", ph_now_ms ()) != 0);
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", sid), "Connecting");
    CHECK_STR (h_redis ("HGET ph:session:{%s} owner", sid), "alice");
    CHECK_STR (h_redis ("HGET ph:session:{%s} target", sid), IID_DEV);
    CHECK_STR (h_redis ("HGET ph:session:{%s} document", sid), "Command");
    CHECK_STR (h_redis ("HGET ph:session:{%s} command", sid), "id -u");
    CHECK_STR (h_redis ("HGET ph:session:{%s} reason", sid), "INC-1");
    CHECK_STR (h_redis ("HGET ph:session:{%s} run_as", sid), "porthole-user");
    CHECK_STR (h_redis ("HGET ph:session:{%s} create_user", sid), "1");
    CHECK_STR (h_redis ("HGET ph:session:{%s} controller", sid), "c-0000test");
    CHECK ((uint64_t)atoll (h_redis ("HGET ph:session:{%s} start_ms", sid)) >= before);
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", sid), "1");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", IID_DEV, sid), "1");

    /* the stream goes where the instance's controller says */
    h_redis ("HSET ph:controller:{c-0000test} client_endpoint tcp://10.9.9.9:7611 server_key %s",
             "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    r = s_start (alice, IID_DEV, NULL, "Shell", NULL);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY) {
        CHECK_STR (r->start_session_reply->stream_url, "tcp://10.9.9.9:7611");
        CHECK_STR (r->start_session_reply->server_key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
        CHECK_STR (h_redis ("HGET ph:session:{%s} document", r->start_session_reply->session_id),
                   "Shell");
    }
    ph_wire_free (&r);
    h_redis ("DEL ph:controller:{c-0000test}");

    /* refusals */
    r = s_start (alice, IID_DEV, NULL, "Command", NULL);
    h_expect_error (&r, "InvalidRequest", "document Command needs a command");
    r = s_start (alice, IID_DEV, "id", "Shell", NULL);
    h_expect_error (&r, "InvalidRequest", "document Shell does not take a command");
    r = s_start (alice, IID_DEV, "id", "Script", NULL);
    h_expect_error (&r, "InvalidRequest", "document 'Script' is not supported");
    char reason[300];
    memset (reason, 'r', 257);
    reason[257] = 0;
    r = s_start (alice, IID_DEV, "id", NULL, reason);
    h_expect_error (&r, "InvalidRequest", "reason must be at most 256 bytes");
    r = s_start (alice, "i-0123", "id", NULL, NULL);
    h_expect_error (&r, "InvalidTarget", "'i-0123' is not an instance id");
    r = s_start (alice, IID_NONE, "id", NULL, NULL);
    h_expect_error (&r, "InvalidTarget", "instance " IID_NONE " is not registered");
    s_instance (IID_LOST, "ConnectionLost", "", true);
    r = s_start (alice, IID_LOST, "id", NULL, NULL);
    h_expect_error (&r, "TargetNotConnected", "is ConnectionLost (last seen 2s ago)");
    s_instance (IID_LOST, "Online", "", false);
    h_redis ("HDEL ph:instance:{%s} last_seen_ms", IID_LOST);
    r = s_start (alice, IID_LOST, "id", NULL, NULL);
    h_expect_error (&r, "TargetNotConnected", "(last seen never)");

    /* policies see the target's tags */
    r = s_start (bob, IID_DEV, "id", NULL, NULL);
    CHECK (s_started (&r, reason, sizeof reason));
    CHECK (strncmp (reason, "bob-", 4) == 0);
    r = s_start (bob, IID_PROD, "id", NULL, NULL);
    h_expect_error (&r, "AccessDenied",
                    "user bob may not session:StartSession on instance/" IID_PROD
                    " (no statement allows it)");
}

static void test_run_as (peer_t *alice, peer_t *bob)
{
    char sid[CTL_SID_MAX];
    h_redis ("HSET ph:prefs run_as_enabled 1 run_as_default_user ops");
    ph_env_t *r = s_start (alice, IID_DEV, "id", NULL, NULL);
    if (s_started (&r, sid, sizeof sid)) {
        CHECK_STR (h_redis ("HGET ph:session:{%s} run_as", sid), "ops");
        CHECK_STR (h_redis ("HGET ph:session:{%s} create_user", sid), "0");
    }
    h_redis ("HSET ph:user:{bob} tags RunAs=deploy,team=web");
    r = s_start (bob, IID_DEV, "id", NULL, NULL);
    if (s_started (&r, sid, sizeof sid))
        CHECK_STR (h_redis ("HGET ph:session:{%s} run_as", sid), "deploy");
    h_redis ("HSET ph:user:{bob} tags RunAs=root");
    r = s_start (bob, IID_DEV, "id", NULL, NULL);
    h_expect_error (&r, "InvalidRequest", "your RunAs tag 'root' is not a unix account name");
    /* run-as off: the tag does not count */
    h_redis ("HSET ph:prefs run_as_enabled 0");
    r = s_start (bob, IID_DEV, "id", NULL, NULL);
    if (s_started (&r, sid, sizeof sid)) {
        CHECK_STR (h_redis ("HGET ph:session:{%s} run_as", sid), "porthole-user");
        CHECK_STR (h_redis ("HGET ph:session:{%s} create_user", sid), "1");
    }
    h_redis ("HDEL ph:user:{bob} tags");
    h_redis ("DEL ph:prefs");
}

static void test_resume (peer_t *alice, peer_t *bob, peer_t *carol)
{
    char sid[CTL_SID_MAX];
    ph_env_t *r = s_start (bob, IID_DEV, "id", NULL, NULL);
    if (!s_started (&r, sid, sizeof sid))
        return;
    r = s_by_id (bob, RESUME, sid);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY)
        CHECK (ph_token_verify (H.secret, sizeof H.secret, r->start_session_reply->token, sid,
                                "bob", ph_now_ms ()) == 0);
    ph_wire_free (&r);
    r = s_by_id (alice, RESUME, sid); /* an admin may */
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY)
        CHECK (ph_token_verify (H.secret, sizeof H.secret, r->start_session_reply->token, sid,
                                "alice", ph_now_ms ()) == 0);
    ph_wire_free (&r);
    r = s_by_id (carol, RESUME, sid); /* same policy, not hers */
    h_expect_error (&r, "AccessDenied", "may not session:ResumeSession on session/");
    r = s_by_id (bob, RESUME, "bob-0000000000000beef");
    h_expect_error (&r, "SessionNotFound", "session bob-0000000000000beef not found");
    r = s_by_id (bob, RESUME, "nope");
    h_expect_error (&r, "SessionNotFound", "'nope' is not a session id");
    h_redis ("HSET ph:session:{%s} state Terminated", sid);
    r = s_by_id (bob, RESUME, sid);
    h_expect_error (&r, "InvalidState", "is Terminated and cannot be resumed");
    h_redis ("HSET ph:session:{%s} state Terminating", sid);
    r = s_by_id (bob, RESUME, sid);
    h_expect_error (&r, "InvalidState", "is Terminating");
}

static void test_terminate (peer_t *alice, peer_t *bob, peer_t *carol)
{
    /* never opened: ends at once */
    char sid[CTL_SID_MAX];
    ph_env_t *r = s_start (bob, IID_DEV, "id", NULL, NULL);
    if (!s_started (&r, sid, sizeof sid))
        return;
    r = s_by_id (carol, TERMINATE, sid);
    h_expect_error (&r, "AccessDenied", "may not session:TerminateSession");
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", sid), "Connecting");
    r = s_by_id (bob, TERMINATE, sid);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY)
        CHECK_STR (r->terminate_session_reply->session_id, sid);
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", sid), "Terminated");
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_reason", sid), "terminated by bob");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", sid), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:instance:{%s}:sessions %s", IID_DEV, sid), "0");
    CHECK (*h_redis ("ZSCORE ph:sessions:history %s", sid));
    CHECK (atoll (h_redis ("TTL ph:session:{%s}", sid)) > 29 * 86400);
    /* again: answered, nothing changes */
    char end[32];
    snprintf (end, sizeof end, "%s", h_redis ("HGET ph:session:{%s} end_ms", sid));
    r = s_by_id (bob, TERMINATE, sid);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY);
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:session:{%s} end_ms", sid), end);

    /* open, with its agent connected here: CloseSession, Terminating */
    peer_t *agent = h_peer (true, "instance:" IID_DEV);
    r = h_hello (agent, "dev1", NULL);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY);
    ph_wire_free (&r);
    r = s_start (bob, IID_DEV, "sleep 60", NULL, NULL);
    if (!s_started (&r, sid, sizeof sid)) {
        h_peer_destroy (&agent);
        return;
    }
    h_redis ("HSET ph:session:{%s} state Connected", sid);
    r = s_by_id (alice, TERMINATE, sid);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY);
    ph_wire_free (&r);
    r = h_wait (agent, 0, PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION, 3000);
    CHECK (r != NULL);
    if (r) {
        CHECK_STR (r->close_session->session_id, sid);
        CHECK_STR (r->close_session->reason, "terminated by alice");
    }
    ph_wire_free (&r);
    uint64_t deadline = ph_mono_ms () + 3000;
    while (strcmp (h_redis ("HGET ph:session:{%s} state", sid), "Terminating") &&
           ph_mono_ms () < deadline)
        h_run_ms (20);
    CHECK_STR (h_redis ("HGET ph:session:{%s} state", sid), "Terminating");
    CHECK_STR (h_redis ("SISMEMBER ph:sessions:active %s", sid), "1");
    h_peer_destroy (&agent);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_sessions");
    zsys_init ();
    zsys_handler_set (NULL);
    test_session_ids ();
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    h_policy ("self-service", s_bob_policy);
    peer_t *alice = h_user ("alice", true, NULL);
    peer_t *bob = h_user ("bob", false, "self-service");
    peer_t *carol = h_user ("carol", false, "self-service");
    test_start (alice, bob);
    test_run_as (alice, bob);
    test_resume (alice, bob, carol);
    test_terminate (alice, bob, carol);
    h_peer_destroy (&alice);
    h_peer_destroy (&bob);
    h_peer_destroy (&carol);
    h_stop ();
    PH_TEST_END ();
}
