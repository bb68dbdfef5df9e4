/*  Unit tests of cli/cli_conn.c against a fake controller: a CURVE ROUTER
 *  in a zactor thread that answers each kind of request in its own way
 *  (the right reply after a stray one and a garbage frame, an Error, a
 *  wrong body, nothing at all). Checks request ids, version, how replies
 *  and errors become exit codes, timeouts (also with a wrong server key),
 *  and the link state that the socket monitor reports. */
#include "cli_conn.h"
#include "cli_fake.h"
#include "ph_errors.h"
#include "ph_test.h"
#include "ph_util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static ph_keypair_t s_server_kp;

/* ---- the fake controller -------------------------------------------------- */

typedef struct {
    uint32_t last_version;
    uint64_t last_request_id;
    int requests;
} server_stats_t;

static void s_reply (zsock_t *router, ph_wire_rx_t *rx, uint64_t request_id, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    env->request_id = request_id;
    ph_wire_send (router, rx->routing_id, rx->routing_id_len, env);
}

static void s_answer (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, void *state)
{
    server_stats_t *st = state;
    st->requests++;
    st->last_version = req->version;
    st->last_request_id = req->request_id;
    ph_env_t env = PH_ENV_INIT;
    switch (req->body_case) {
    case PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS: {
        /* a stray reply, a garbage frame, then the real one */
        Porthole__V1__DescribeSessionsReply body = PORTHOLE__V1__DESCRIBE_SESSIONS_REPLY__INIT;
        body.next_token = "stray";
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS_REPLY;
        env.describe_sessions_reply = &body;
        s_reply (router, rx, req->request_id + 1000, &env);
        zmsg_t *junk = zmsg_new ();
        zmsg_addmem (junk, rx->routing_id, rx->routing_id_len);
        zmsg_addstr (junk, "\xff\xfe not protobuf");
        zmsg_send (&junk, router);
        body.next_token = "7";
        s_reply (router, rx, req->request_id, &env);
        break;
    }
    case PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES:
    case PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION: {
        Porthole__V1__Error e = PORTHOLE__V1__ERROR__INIT;
        bool denied = req->body_case == PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES;
        e.code = denied ? "AccessDenied" : "SessionNotFound";
        e.message = denied ? "porthole: AccessDenied: user bob may not do that" : "";
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ERROR;
        env.error = &e;
        s_reply (router, rx, req->request_id, &env);
        break;
    }
    case PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION: {
        Porthole__V1__Preferences p = PORTHOLE__V1__PREFERENCES__INIT;
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES;
        env.preferences = &p;
        s_reply (router, rx, req->request_id, &env);
        break;
    }
    default: /* UpdatePreferences and the rest: no answer */
        break;
    }
}

/*  "STATS" returns the counters. */
static void s_command (zsock_t *pipe, const char *cmd, zmsg_t *msg, void *state)
{
    (void)msg;
    server_stats_t *st = state;
    if (strcmp (cmd, "STATS") == 0)
        zstr_sendf (pipe, "%d %u %llu", st->requests, st->last_version,
                    (unsigned long long)st->last_request_id);
}

/*  Each server starts with zero counters. */
static void s_on_start (zsock_t *router, void *state)
{
    (void)router;
    memset (state, 0, sizeof (server_stats_t));
}

static server_stats_t s_stats;
static cli_fake_t s_fake = {.kp = &s_server_kp,
                            .poll_ms = -1,
                            .answer = s_answer,
                            .command = s_command,
                            .start = s_on_start,
                            .state = &s_stats};

/*  The fake controller on a free loopback port; its endpoint goes into
 *  endpoint. */
static zactor_t *s_server_start (char *endpoint, size_t len)
{
    return cli_fake_start (&s_fake, endpoint, len);
}

/* ---- helpers ----------------------------------------------------------------- */

static ph_env_t s_request (ph_body_t body, void *msg)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = body;
    /* every body pointer shares the oneof's storage */
    env.describe_sessions = msg;
    return env;
}

/*  Runs cli_conn_call with stderr captured into err. */
static int s_call (const cli_ctx_t *ctx, cli_conn_t *conn, ph_env_t *req, ph_body_t expect,
                   ph_env_t **reply, char *err, size_t errlen)
{
    char path[] = "/tmp/ph-test-cli-conn-XXXXXX";
    int fd = mkstemp (path);
    unlink (path);
    fflush (stderr);
    int saved = dup (2);
    dup2 (fd, 2);
    int rc = cli_conn_call (ctx, conn, req, expect, reply);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    ssize_t n = pread (fd, err, errlen - 1, 0);
    err[n > 0 ? n : 0] = 0;
    close (fd);
    return rc;
}

static void s_expect_in (const char *text, const char *want)
{
    if (!strstr (text, want)) {
        fprintf (stderr, "message '%s' lacks '%s'\n", text, want);
        CHECK (false);
    } else
        CHECK (true);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_new_refusals (const ph_keypair_t *kp)
{
    char err[256] = "";
    CHECK (cli_conn_new ("tcp://127.0.0.1:1", "not a key", kp, err, sizeof err) == NULL);
    s_expect_in (err, "'not a key' is not a 40-character Z85 CURVE key");
    err[0] = 0;
    CHECK (cli_conn_new ("tcp://nohost", s_server_kp.public_z85, kp, err, sizeof err) == NULL);
    s_expect_in (err, "cannot connect to tcp://nohost");
}

static void test_calls (const ph_keypair_t *kp, const char *endpoint, zactor_t *server)
{
    char err[1024];
    cli_conn_t *conn = cli_conn_new (endpoint, s_server_kp.public_z85, kp, err, sizeof err);
    CHECK (conn != NULL);
    if (!conn)
        return;
    CHECK_STR (cli_conn_endpoint (conn), endpoint);
    CHECK (cli_conn_down_for (conn, ph_mono_ms () + 5) >= 5); /* not up yet */
    uint64_t a = cli_conn_new_id (conn), b = cli_conn_new_id (conn);
    CHECK (a != 0 && b == a + 1);

    cli_ctx_t ctx;
    memset (&ctx, 0, sizeof ctx);
    ctx.timeout_s = 5;
    ctx.verb = "describe-sessions";

    /* the right reply, after a stray one and a garbage frame */
    Porthole__V1__DescribeSessionsRequest ds = PORTHOLE__V1__DESCRIBE_SESSIONS_REQUEST__INIT;
    ph_env_t req = s_request (PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS, &ds);
    ph_env_t *reply = NULL;
    int rc = s_call (&ctx, conn, &req, PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS_REPLY, &reply,
                     err, sizeof err);
    CHECK (rc == PH_EXIT_OK && reply != NULL);
    if (reply) {
        CHECK (reply->request_id == req.request_id);
        CHECK_STR (reply->describe_sessions_reply->next_token, "7");
    }
    ph_wire_free (&reply);
    CHECK (req.request_id > b);
    CHECK (cli_conn_down_for (conn, ph_mono_ms ()) == 0); /* a reply proves the link */
    zstr_send (server, "STATS");
    char *stats = zstr_recv (server);
    char want[64];
    snprintf (want, sizeof want, "1 1 %llu", (unsigned long long)req.request_id);
    CHECK_STR (stats, want); /* one request, version 1, our id */
    zstr_free (&stats);

    /* errors: AccessDenied -> 77 with the controller's message */
    Porthole__V1__GetPreferencesRequest gp = PORTHOLE__V1__GET_PREFERENCES_REQUEST__INIT;
    req = s_request (PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES, &gp);
    rc = s_call (&ctx, conn, &req, PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES, &reply, err,
                 sizeof err);
    CHECK (rc == PH_EXIT_DENIED && reply == NULL);
    CHECK_STR (err, "porthole: AccessDenied: user bob may not do that\n");

    /* another code without a message -> 70, naming the code */
    Porthole__V1__ResumeSessionRequest rs = PORTHOLE__V1__RESUME_SESSION_REQUEST__INIT;
    rs.session_id = "bob-0123456789abcdef0";
    req = s_request (PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION, &rs);
    rc = s_call (&ctx, conn, &req, PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY, &reply, err,
                 sizeof err);
    CHECK (rc == PH_EXIT_API && reply == NULL);
    s_expect_in (err, "(SessionNotFound)");

    /* the wrong body -> 70, naming both */
    Porthole__V1__TerminateSessionRequest ts = PORTHOLE__V1__TERMINATE_SESSION_REQUEST__INIT;
    ts.session_id = "bob-0123456789abcdef0";
    req = s_request (PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION, &ts);
    rc = s_call (&ctx, conn, &req, PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY, &reply,
                 err, sizeof err);
    CHECK (rc == PH_EXIT_API && reply == NULL);
    s_expect_in (err, "where terminate_session_reply was expected");

    /* no answer -> 69 after the timeout, naming the endpoint */
    ctx.timeout_s = 1;
    Porthole__V1__UpdatePreferencesRequest up = PORTHOLE__V1__UPDATE_PREFERENCES_REQUEST__INIT;
    req = s_request (PORTHOLE__V1__ENVELOPE__BODY_UPDATE_PREFERENCES, &up);
    uint64_t start = ph_mono_ms ();
    rc = s_call (&ctx, conn, &req, PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES, &reply, err,
                 sizeof err);
    uint64_t took = ph_mono_ms () - start;
    CHECK (rc == PH_EXIT_UNAVAIL && reply == NULL);
    CHECK (took >= 990 && took < 3000);
    s_expect_in (err, endpoint);
    s_expect_in (err, "within 1s");
    cli_conn_destroy (&conn, 0);
    CHECK (conn == NULL);
    cli_conn_destroy (&conn, 0);
}

static void test_report_error (void)
{
    Porthole__V1__Error e = PORTHOLE__V1__ERROR__INIT;
    e.code = "InvalidToken";
    e.message = "";
    fflush (stderr);
    int saved = dup (2), null = open ("/dev/null", O_WRONLY);
    dup2 (null, 2);
    int denied = cli_conn_report_error (&e);
    e.code = "Throttled";
    int api = cli_conn_report_error (&e);
    int timeout = cli_conn_report_timeout ("tcp://x:1", 3);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    close (null);
    CHECK (denied == PH_EXIT_DENIED);
    CHECK (api == PH_EXIT_API);
    CHECK (timeout == PH_EXIT_UNAVAIL);
}

static void test_wrong_server_key (const ph_keypair_t *kp, const char *endpoint)
{
    ph_keypair_t impostor;
    ph_keys_generate (&impostor);
    char err[256];
    cli_conn_t *conn = cli_conn_new (endpoint, impostor.public_z85, kp, err, sizeof err);
    CHECK (conn != NULL);
    Porthole__V1__DescribeSessionsRequest ds = PORTHOLE__V1__DESCRIBE_SESSIONS_REQUEST__INIT;
    ph_env_t req = s_request (PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS, &ds);
    ph_env_t *reply = NULL;
    CHECK (cli_conn_request (conn, &req, 500, &reply) == PH_ETIMEOUT && reply == NULL);
    cli_conn_on_monitor (conn);
    CHECK (cli_conn_down_for (conn, ph_mono_ms ()) > 0);
    cli_conn_destroy (&conn, 0);
}

/*  The monitor sees the handshake, then the server going away. */
static void test_monitor (const ph_keypair_t *kp)
{
    char endpoint[64], err[256];
    zactor_t *server = s_server_start (endpoint, sizeof endpoint);
    cli_conn_t *conn = cli_conn_new (endpoint, s_server_kp.public_z85, kp, err, sizeof err);
    zmq_pollitem_t item = {zsock_resolve (cli_conn_monitor_sock (conn)), 0, ZMQ_POLLIN, 0};
    uint64_t deadline = ph_mono_ms () + 5000;
    while (cli_conn_down_for (conn, ph_mono_ms ()) != 0 && ph_mono_ms () < deadline) {
        zmq_poll (&item, 1, 100);
        cli_conn_on_monitor (conn);
    }
    CHECK (cli_conn_down_for (conn, ph_mono_ms ()) == 0);
    zactor_destroy (&server);
    deadline = ph_mono_ms () + 5000;
    while (cli_conn_down_for (conn, ph_mono_ms () + 1) == 0 && ph_mono_ms () < deadline) {
        zmq_poll (&item, 1, 100);
        cli_conn_on_monitor (conn);
    }
    CHECK (cli_conn_down_for (conn, ph_mono_ms () + 1) > 0);
    cli_conn_destroy (&conn, 0);
}

int main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    ph_keys_generate (&s_server_kp);
    ph_keypair_t kp;
    ph_keys_generate (&kp);
    char endpoint[64];
    zactor_t *server = s_server_start (endpoint, sizeof endpoint);
    test_new_refusals (&kp);
    test_calls (&kp, endpoint, server);
    test_report_error ();
    test_wrong_server_key (&kp, endpoint);
    zactor_destroy (&server);
    test_monitor (&kp);
    PH_TEST_END ();
}
