/*  Unit tests of cli/cli_verbs.c and cli/cli_prefs.c (both declared in
 *  cli_verbs.h): each request/reply verb against a fake controller (a
 *  CURVE ROUTER in a zactor thread) with a profile in a temp dir. Checks
 *  the request each verb builds from its options (defaults, canonical
 *  spellings, the fields list of UpdatePreferences), the aws-style output,
 *  exit codes for controller errors, and that usage errors are reported
 *  before anything is sent. */
#include "cli_output.h"
#include "cli_verbs.h"
#include "ph_config.h"
#include "cli_fake.h"
#include "cli_test.h"
#include "ph_test.h"
#include "ph_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[] = "/tmp/ph-test-cli-verbs-XXXXXX";
static ph_keypair_t s_server_kp;

/* ---- the fake controller ---------------------------------------------------- */

static void s_send (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    env->request_id = req->request_id;
    ph_wire_send (router, rx->routing_id, rx->routing_id_len, env);
}

/*  Filter key "paged": three pages of one instance each (tokens "" -> "t1"
 *  -> "t2" -> none); "loop": every page says there is more, with the same
 *  token. */
static void s_answer_instance_pages (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req,
                                     bool loop)
{
    const char *token = req->describe_instances->next_token;
    int page = !*token ? 0 : strcmp (token, "t1") == 0 ? 1 : 2;
    char id[32], next[8];
    snprintf (id, sizeof id, "mi-0000000000000000%d", page + 1);
    snprintf (next, sizeof next, "%s", loop ? "same" : page == 0 ? "t1" : page == 1 ? "t2" : "");
    Porthole__V1__InstanceInfo a = PORTHOLE__V1__INSTANCE_INFO__INIT;
    a.instance_id = id;
    a.ping_status = "Online";
    Porthole__V1__InstanceInfo *list[] = {&a};
    Porthole__V1__DescribeInstancesReply body = PORTHOLE__V1__DESCRIBE_INSTANCES_REPLY__INIT;
    body.n_instances = 1;
    body.instances = list;
    body.next_token = next;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY;
    env.describe_instances_reply = &body;
    s_send (router, rx, req, &env);
}

static void s_answer_instances (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req)
{
    const Porthole__V1__DescribeInstancesRequest *r = req->describe_instances;
    ph_env_t env = PH_ENV_INIT;
    if (r->n_filters &&
        (!strcmp (r->filters[0]->key, "paged") || !strcmp (r->filters[0]->key, "loop"))) {
        s_answer_instance_pages (router, rx, req, !strcmp (r->filters[0]->key, "loop"));
        return;
    }
    if (r->n_filters && strcmp (r->filters[0]->key, "deny") == 0) {
        Porthole__V1__Error e = PORTHOLE__V1__ERROR__INIT;
        e.code = "AccessDenied";
        e.message = "porthole: AccessDenied: user bob may not list instances";
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ERROR;
        env.error = &e;
        s_send (router, rx, req, &env);
        return;
    }
    Porthole__V1__Tag t1 = PORTHOLE__V1__TAG__INIT, t2 = PORTHOLE__V1__TAG__INIT;
    t1.key = "env", t1.value = "prod", t2.key = "role", t2.value = "web";
    Porthole__V1__Tag *tags[] = {&t1, &t2};
    Porthole__V1__InstanceInfo a = PORTHOLE__V1__INSTANCE_INFO__INIT;
    a.instance_id = "mi-0123456789abcdef0";
    a.ping_status = "Online";
    a.last_ping_ms = 1764083045123ULL;
    a.agent_version = "0.1.0";
    a.platform_name = "Debian GNU/Linux 12 (bookworm)";
    a.computer_name = "web1";
    a.ip_address = "10.0.0.5";
    a.n_tags = 2;
    a.tags = tags;
    Porthole__V1__InstanceInfo b = PORTHOLE__V1__INSTANCE_INFO__INIT;
    b.instance_id = "mi-00000000000000001";
    b.ping_status = "ConnectionLost";
    Porthole__V1__InstanceInfo *list[] = {&a, &b};
    Porthole__V1__DescribeInstancesReply body = PORTHOLE__V1__DESCRIBE_INSTANCES_REPLY__INIT;
    body.n_instances = 2;
    body.instances = list;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY;
    env.describe_instances_reply = &body;
    s_send (router, rx, req, &env);
}

static void s_answer_sessions (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req)
{
    Porthole__V1__SessionInfo a = PORTHOLE__V1__SESSION_INFO__INIT;
    a.session_id = "alice-0a1b2c3d4e5f60718";
    a.target = "mi-0123456789abcdef0";
    a.status = "Terminated";
    a.start_ms = 1000;
    a.end_ms = 61000;
    a.owner = "alice";
    a.reason = "fix\tit";
    a.document = "Command";
    a.exit_code = 3;
    a.has_exit_code = true;
    Porthole__V1__SessionInfo *list[] = {&a};
    Porthole__V1__DescribeSessionsReply body = PORTHOLE__V1__DESCRIBE_SESSIONS_REPLY__INIT;
    body.n_sessions = 1;
    body.sessions = list;
    body.next_token = "50";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS_REPLY;
    env.describe_sessions_reply = &body;
    s_send (router, rx, req, &env);
}

static void s_answer (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, void *state)
{
    (void)state;
    ph_env_t env = PH_ENV_INIT;
    switch (req->body_case) {
    case PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION: {
        Porthole__V1__CreateActivationReply body = PORTHOLE__V1__CREATE_ACTIVATION_REPLY__INIT;
        body.activation_id = "0a1b2c3d-0000-4000-8000-000000000001";
        body.activation_code = "CodeCodeCodeCodeCode";
        body.expiration_ms = 1764083045123ULL;
        body.registration_limit = req->create_activation->registration_limit;
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY;
        env.create_activation_reply = &body;
        s_send (router, rx, req, &env);
        return;
    }
    case PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES:
        s_answer_instances (router, rx, req);
        return;
    case PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS:
        s_answer_sessions (router, rx, req);
        return;
    case PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION: {
        Porthole__V1__TerminateSessionReply body = PORTHOLE__V1__TERMINATE_SESSION_REPLY__INIT;
        body.session_id = req->terminate_session->session_id;
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY;
        env.terminate_session_reply = &body;
        s_send (router, rx, req, &env);
        return;
    }
    case PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES:
    case PORTHOLE__V1__ENVELOPE__BODY_UPDATE_PREFERENCES: {
        Porthole__V1__Preferences p = PORTHOLE__V1__PREFERENCES__INIT;
        p.idle_session_timeout_min = 20;
        p.run_as_enabled = true;
        p.run_as_default_user = "ops";
        p.admin_rights = true;
        p.shell_profile = "cd /srv";
        p.log_group = "porthole/sessions";
        p.streaming_enabled = true;
        p.log_input = true;
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES;
        env.preferences = &p;
        s_send (router, rx, req, &env);
        return;
    }
    default:
        return;
    }
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_session_id (void)
{
    fflush (stderr);
    int se = dup (2), null = open ("/dev/null", O_WRONLY);
    dup2 (null, 2);
    CHECK (cli_check_session_id ("x", "alice-0a1b2c3d4e5f60718") == PH_EXIT_OK);
    CHECK (cli_check_session_id ("x", "a.b@c-0a1b2c3d4e5f60718") == PH_EXIT_OK);
    CHECK (cli_check_session_id ("x", NULL) == PH_EXIT_USAGE);
    CHECK (cli_check_session_id ("x", "") == PH_EXIT_USAGE);
    CHECK (cli_check_session_id ("x", "alice") == PH_EXIT_USAGE);
    CHECK (cli_check_session_id ("x", "alice-0a1b2c3d4e5f6071") == PH_EXIT_USAGE);
    CHECK (cli_check_session_id ("x", "alice_0a1b2c3d4e5f60718") == PH_EXIT_USAGE);
    CHECK (cli_check_session_id ("x", "-0a1b2c3d4e5f60718") == PH_EXIT_USAGE);
    CHECK (cli_check_session_id ("x", "alice-0a1b2c3d4e5f6071z") == PH_EXIT_USAGE);
    char long_id[200];
    memset (long_id, 'a', 120);
    strcpy (long_id + 120, "-0a1b2c3d4e5f60718");
    CHECK (cli_check_session_id ("x", long_id) == PH_EXIT_USAGE);
    fflush (stderr);
    dup2 (se, 2);
    close (se);
    close (null);
}

static void test_activation (zactor_t *server)
{
    cli_test_run_t r;
    ph_env_t *req;
    cli_test_run (&r, cli_verb_create_activation, "create-activation", CLI_OUT_JSON, NO_OPTS);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "{\n"
                      "    \"ActivationId\": \"0a1b2c3d-0000-4000-8000-000000000001\",\n"
                      "    \"ActivationCode\": \"CodeCodeCodeCodeCode\",\n"
                      "    \"ExpirationDate\": \"2025-11-25T15:04:05.123Z\",\n"
                      "    \"RegistrationLimit\": 1\n"
                      "}\n");
    free (r.out);
    cli_fake_last (server, &req);
    CHECK (req && req->body_case == PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION);
    if (req) {
        CHECK (req->create_activation->registration_limit == 1);
        CHECK (req->create_activation->expires_in_s == 86400);
        CHECK (req->create_activation->n_tags == 0);
        CHECK_STR (req->create_activation->description, "");
    }
    ph_wire_free (&req);

    cli_test_run (&r, cli_verb_create_activation, "create-activation", CLI_OUT_TEXT,
                  OPTS ("tags", "env=prod,role=web", "registration-limit", "5", "expires-in", "7d",
                        "description", "web fleet"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "0a1b2c3d-0000-4000-8000-000000000001\tCodeCodeCodeCodeCode\n");
    free (r.out);
    cli_fake_last (server, &req);
    if (req) {
        const Porthole__V1__CreateActivationRequest *a = req->create_activation;
        CHECK (a->registration_limit == 5 && a->expires_in_s == 7 * 86400);
        CHECK (a->n_tags == 2);
        if (a->n_tags == 2) {
            CHECK_STR (a->tags[0]->key, "env");
            CHECK_STR (a->tags[0]->value, "prod");
            CHECK_STR (a->tags[1]->key, "role");
            CHECK_STR (a->tags[1]->value, "web");
        }
        CHECK_STR (a->description, "web fleet");
    }
    ph_wire_free (&req);

    const char *ca = "create-activation";
    cli_test_fn *fn = cli_verb_create_activation;
    cli_test_expect_usage (server, fn, ca, OPTS ("registration-limit", "0"), "1..1000");
    cli_test_expect_usage (server, fn, ca, OPTS ("registration-limit", "1001"), "1..1000");
    cli_test_expect_usage (server, fn, ca, OPTS ("registration-limit", "x"), "1..1000");
    cli_test_expect_usage (server, fn, ca, OPTS ("expires-in", "30s"), "from 1m to 30d");
    cli_test_expect_usage (server, fn, ca, OPTS ("expires-in", "31d"), "from 1m to 30d");
    cli_test_expect_usage (server, fn, ca, OPTS ("expires-in", "soon"), "from 1m to 30d");
    cli_test_expect_usage (server, fn, ca, OPTS ("tags", "no equals"), "--tags:");
    char desc[300];
    memset (desc, 'd', 257);
    desc[257] = 0;
    cli_test_expect_usage (server, fn, ca, OPTS ("description", desc), "over 256 characters");
}

static void test_instances (zactor_t *server)
{
    cli_test_run_t r;
    ph_env_t *req;
    cli_test_run (
        &r, cli_verb_describe_instances, "describe-instance-information", CLI_OUT_TABLE,
        OPTS ("filters", "Key=tag:env,Values=prod,dev", "filters", "Key=PingStatus,Values=Online"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "InstanceId            PingStatus      ComputerName  IPAddress  "
                      "PlatformName                    AgentVersion  LastPing                  "
                      "Tags\n"
                      "mi-0123456789abcdef0  Online          web1          10.0.0.5   "
                      "Debian GNU/Linux 12 (bookworm)  0.1.0         2025-11-25T15:04:05.123Z  "
                      "env=prod,role=web\n"
                      "mi-00000000000000001  ConnectionLost  -             -          "
                      "-                               -             -                         "
                      "-\n");
    free (r.out);
    cli_fake_last (server, &req);
    CHECK (req && req->body_case == PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES);
    if (req && req->describe_instances->n_filters == 2) {
        const Porthole__V1__Filter *f = req->describe_instances->filters[0];
        CHECK_STR (f->key, "tag:env");
        CHECK (f->n_values == 2 && strcmp (f->values[1], "dev") == 0);
        CHECK_STR (req->describe_instances->filters[1]->key, "PingStatus");
    } else
        CHECK (false);
    ph_wire_free (&req);

    cli_test_run (&r, cli_verb_describe_instances, "describe-instance-information", CLI_OUT_JSON,
                  NO_OPTS);
    CHECK (r.rc == PH_EXIT_OK);
    cli_test_expect_in (r.out, "\"InstanceInformationList\": [");
    cli_test_expect_in (r.out,
                        "\"Tags\": [\n                {\n                    \"Key\": \"env\",");
    cli_test_expect_in (r.out, "\"LastPingDateTime\": null");
    free (r.out);

    cli_test_run (&r, cli_verb_describe_instances, "describe-instance-information", CLI_OUT_JSON,
                  OPTS ("filters", "Key=deny,Values=x"));
    CHECK (r.rc == PH_EXIT_DENIED);
    CHECK_STR (r.err, "porthole: AccessDenied: user bob may not list instances\n");
    CHECK_STR (r.out, "");
    free (r.out);
    cli_test_expect_usage (server, cli_verb_describe_instances, "describe-instance-information",
                           OPTS ("filters", "Key=tag:,Values=x"), "--filters: filter key 'tag:'");
}

/*  Every page by default (pages of 1000, one list, no NextToken); one page
 *  with NextToken for --max-results, --next-token or --no-paginate. */
static void test_instance_pages (zactor_t *server)
{
    static const char di[] = "describe-instance-information";
    cli_test_fn *fn = cli_verb_describe_instances;
    cli_test_run_t r;
    ph_env_t *req;
    int before = cli_fake_last (server, &req);
    ph_wire_free (&req);
    cli_test_run (&r, fn, di, CLI_OUT_TEXT, OPTS ("filters", "Key=paged,Values=x"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK (cli_fake_last (server, &req) == before + 3);
    CHECK (req && req->describe_instances->max_results == 1000);
    CHECK (req && strcmp (req->describe_instances->next_token, "t2") == 0);
    ph_wire_free (&req);
    CHECK_STR (r.out, "mi-00000000000000001\tOnline\t\t\t\t\t\t\t\t\n"
                      "mi-00000000000000002\tOnline\t\t\t\t\t\t\t\t\n"
                      "mi-00000000000000003\tOnline\t\t\t\t\t\t\t\t\n");
    free (r.out);
    cli_test_run (&r, fn, di, CLI_OUT_JSON, OPTS ("filters", "Key=paged,Values=x"));
    CHECK (r.rc == PH_EXIT_OK && !strstr (r.out, "NextToken"));
    cli_test_expect_in (r.out, "mi-00000000000000003");
    free (r.out);

    before = cli_fake_last (server, &req);
    ph_wire_free (&req);
    cli_test_run (&r, fn, di, CLI_OUT_JSON,
                  OPTS ("filters", "Key=paged,Values=x", "max-results", "7"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK (cli_fake_last (server, &req) == before + 1);
    CHECK (req && req->describe_instances->max_results == 7);
    ph_wire_free (&req);
    cli_test_expect_in (r.out, "\"InstanceId\": \"mi-00000000000000001\"");
    cli_test_expect_in (r.out, "\"NextToken\": \"t1\"");
    CHECK (!strstr (r.out, "mi-00000000000000002"));
    free (r.out);

    cli_test_run (&r, fn, di, CLI_OUT_JSON,
                  OPTS ("filters", "Key=paged,Values=x", "next-token", "t2"));
    CHECK (r.rc == PH_EXIT_OK);
    cli_fake_last (server, &req);
    CHECK (req && req->describe_instances->max_results == 0); /* the controller's default */
    ph_wire_free (&req);
    cli_test_expect_in (r.out, "mi-00000000000000003");
    cli_test_expect_in (r.out, "\"NextToken\": null");
    free (r.out);

    cli_test_run (&r, fn, di, CLI_OUT_TABLE,
                  OPTS ("filters", "Key=paged,Values=x", "no-paginate", ""));
    CHECK (r.rc == PH_EXIT_OK);
    cli_test_expect_in (r.out, "mi-00000000000000001");
    cli_test_expect_in (r.out, "t1");
    CHECK (!strstr (r.out, "mi-00000000000000002"));
    free (r.out);

    /* a controller that never stops: an error, not a loop */
    cli_test_run (&r, fn, di, CLI_OUT_JSON, OPTS ("filters", "Key=loop,Values=x"));
    CHECK (r.rc == PH_EXIT_API);
    cli_test_expect_in (r.err, "keeps answering with more pages");
    CHECK_STR (r.out, "");
    free (r.out);

    cli_test_expect_usage (server, fn, di, OPTS ("max-results", "0"), "1..1000");
    cli_test_expect_usage (server, fn, di, OPTS ("max-results", "1001"), "1..1000");
    cli_test_expect_usage (server, fn, di, OPTS ("next-token", ""), "--next-token needs");
}

static void test_sessions (zactor_t *server)
{
    cli_test_run_t r;
    ph_env_t *req;
    cli_test_run (&r, cli_verb_describe_sessions, "describe-sessions", CLI_OUT_JSON,
                  OPTS ("state", "history", "max-results", "10", "next-token", "20", "filters",
                        "key=owner,values=alice"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "{\n"
                      "    \"Sessions\": [\n"
                      "        {\n"
                      "            \"SessionId\": \"alice-0a1b2c3d4e5f60718\",\n"
                      "            \"Target\": \"mi-0123456789abcdef0\",\n"
                      "            \"Status\": \"Terminated\",\n"
                      "            \"StartDate\": \"1970-01-01T00:00:01.000Z\",\n"
                      "            \"EndDate\": \"1970-01-01T00:01:01.000Z\",\n"
                      "            \"Owner\": \"alice\",\n"
                      "            \"Reason\": \"fix\\tit\",\n"
                      "            \"DocumentName\": \"Command\",\n"
                      "            \"ExitCode\": 3,\n"
                      "            \"Details\": \"exit status 3\"\n"
                      "        }\n"
                      "    ],\n"
                      "    \"NextToken\": \"50\"\n"
                      "}\n");
    free (r.out);
    cli_fake_last (server, &req);
    if (req) {
        const Porthole__V1__DescribeSessionsRequest *d = req->describe_sessions;
        CHECK_STR (d->state, "History");
        CHECK (d->max_results == 10);
        CHECK_STR (d->next_token, "20");
        CHECK (d->n_filters == 1 && strcmp (d->filters[0]->key, "Owner") == 0);
    } else
        CHECK (false);
    ph_wire_free (&req);

    cli_test_run (&r, cli_verb_describe_sessions, "describe-sessions", CLI_OUT_TEXT,
                  OPTS ("state", "ACTIVE"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "alice-0a1b2c3d4e5f60718\tmi-0123456789abcdef0\tTerminated\t"
                      "1970-01-01T00:00:01.000Z\t1970-01-01T00:01:01.000Z\talice\tfix it\n"
                      "NEXTTOKEN\t50\n");
    free (r.out);
    cli_fake_last (server, &req);
    if (req) {
        CHECK_STR (req->describe_sessions->state, "Active");
        CHECK (req->describe_sessions->max_results == 0); /* the controller's default */
        CHECK_STR (req->describe_sessions->next_token, "");
    }
    ph_wire_free (&req);

    const char *ds = "describe-sessions";
    cli_test_fn *fn = cli_verb_describe_sessions;
    cli_test_expect_usage (server, fn, ds, NO_OPTS, "needs --state Active or --state History");
    cli_test_expect_usage (server, fn, ds, OPTS ("state", "Running"), "neither Active nor History");
    cli_test_expect_usage (server, fn, ds, OPTS ("state", "Active", "max-results", "0"), "1..200");
    cli_test_expect_usage (server, fn, ds, OPTS ("state", "Active", "max-results", "201"),
                           "1..200");
    cli_test_expect_usage (server, fn, ds, OPTS ("state", "Active", "filters", "Key=Host,Values=x"),
                           "use one of Target, Owner, Status");
}

static void test_terminate (zactor_t *server)
{
    cli_test_run_t r;
    ph_env_t *req;
    cli_test_run (&r, cli_verb_terminate_session, "terminate-session", CLI_OUT_JSON,
                  OPTS ("session-id", "bob-00000000000000abc"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "{\n    \"SessionId\": \"bob-00000000000000abc\"\n}\n");
    free (r.out);
    cli_fake_last (server, &req);
    CHECK (req && strcmp (req->terminate_session->session_id, "bob-00000000000000abc") == 0);
    ph_wire_free (&req);
    cli_test_expect_usage (server, cli_verb_terminate_session, "terminate-session", NO_OPTS,
                           "terminate-session needs --session-id ID");
    cli_test_expect_usage (server, cli_verb_terminate_session, "terminate-session",
                           OPTS ("session-id", "bob"), "'bob' is not a session id");
}

static void test_preferences (zactor_t *server)
{
    cli_test_run_t r;
    ph_env_t *req;
    cli_test_run (&r, cli_verb_get_preferences, "get-preferences", CLI_OUT_JSON, NO_OPTS);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "{\n"
                      "    \"IdleSessionTimeout\": 20,\n"
                      "    \"MaxSessionDuration\": 0,\n"
                      "    \"RunAsEnabled\": true,\n"
                      "    \"RunAsDefaultUser\": \"ops\",\n"
                      "    \"AdminRights\": true,\n"
                      "    \"ShellProfile\": \"cd /srv\",\n"
                      "    \"LogGroupName\": \"porthole/sessions\",\n"
                      "    \"StreamingEnabled\": true,\n"
                      "    \"EncryptionEnabled\": false,\n"
                      "    \"LogInput\": true\n"
                      "}\n");
    free (r.out);
    cli_fake_last (server, &req);
    CHECK (req && req->body_case == PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES);
    ph_wire_free (&req);

    cli_test_run (&r, cli_verb_update_preferences, "update-preferences", CLI_OUT_TABLE,
                  OPTS ("shell-profile", "cd /tmp", "idle-session-timeout", "30", "admin-rights",
                        "off", "max-session-duration", "0", "run-as-default-user", "ops",
                        "log-group", "team/web", "encryption-enabled", "true"));
    CHECK (r.rc == PH_EXIT_OK);
    cli_test_expect_in (r.out, "IdleSessionTimeout  MaxSessionDuration  RunAsEnabled");
    free (r.out);
    cli_fake_last (server, &req);
    CHECK (req && req->body_case == PORTHOLE__V1__ENVELOPE__BODY_UPDATE_PREFERENCES);
    if (req) {
        const Porthole__V1__UpdatePreferencesRequest *u = req->update_preferences;
        /* fields in the CLI's fixed order, only those given */
        CHECK (u->n_fields == 7);
        if (u->n_fields == 7) {
            CHECK_STR (u->fields[0], "idle_session_timeout_min");
            CHECK_STR (u->fields[1], "max_session_duration_min");
            CHECK_STR (u->fields[2], "run_as_default_user");
            CHECK_STR (u->fields[3], "admin_rights");
            CHECK_STR (u->fields[4], "shell_profile");
            CHECK_STR (u->fields[5], "log_group");
            CHECK_STR (u->fields[6], "encryption_enabled");
        }
        CHECK (u->prefs && strcmp (u->prefs->log_group, "team/web") == 0);
        CHECK (u->prefs && u->prefs->encryption_enabled);
        CHECK (u->prefs && u->prefs->idle_session_timeout_min == 30);
        CHECK (u->prefs && u->prefs->max_session_duration_min == 0);
        CHECK (u->prefs && !u->prefs->admin_rights);
        CHECK (u->prefs && strcmp (u->prefs->run_as_default_user, "ops") == 0);
        CHECK (u->prefs && strcmp (u->prefs->shell_profile, "cd /tmp") == 0);
    }
    ph_wire_free (&req);

    const char *up = "update-preferences";
    cli_test_fn *fn = cli_verb_update_preferences;
    cli_test_expect_usage (server, fn, up, NO_OPTS, "needs at least one preference");
    cli_test_expect_usage (server, fn, up, OPTS ("idle-session-timeout", "0"), "in 1..60");
    cli_test_expect_usage (server, fn, up, OPTS ("idle-session-timeout", "61"), "in 1..60");
    cli_test_expect_usage (server, fn, up, OPTS ("max-session-duration", "1441"), "in 0..1440");
    cli_test_expect_usage (server, fn, up, OPTS ("run-as-enabled", "maybe"),
                           "neither true nor false");
    cli_test_expect_usage (server, fn, up, OPTS ("run-as-default-user", "root"), "not root");
    cli_test_expect_usage (server, fn, up, OPTS ("run-as-default-user", "a b"),
                           "not a valid user name");
    cli_test_expect_usage (server, fn, up, OPTS ("shell-profile", "\xff\xfe"), "must be UTF-8");
    cli_test_expect_usage (server, fn, up, OPTS ("log-group", "a b"), "is not a log group name");
    cli_test_expect_usage (server, fn, up, OPTS ("log-input", "yes please"),
                           "neither true nor false");
}

/*  Without a usable profile nothing connects: exit 65. */
static void test_no_profile (void)
{
    char saved[sizeof s_dir];
    memcpy (saved, s_dir, sizeof s_dir);
    strcpy (s_dir + strlen (s_dir) - 6, "nopeXX");
    cli_test_run_t r;
    cli_test_run (&r, cli_verb_get_preferences, "get-preferences", CLI_OUT_JSON, NO_OPTS);
    CHECK (r.rc == PH_EXIT_CONFIG);
    cli_test_expect_in (r.err, "no endpoint configured");
    free (r.out);
    memcpy (s_dir, saved, sizeof s_dir);
}

int main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    if (!mkdtemp (s_dir))
        return 1;
    cli_test_dir = s_dir;
    unsetenv ("PORTHOLE_ENDPOINT");
    unsetenv ("PORTHOLE_SERVER_KEY");
    ph_keys_generate (&s_server_kp);
    cli_fake_t fake = {.kp = &s_server_kp, .poll_ms = -1, .answer = s_answer};
    char endpoint[64];
    zactor_t *server = cli_fake_start (&fake, endpoint, sizeof endpoint);
    cli_test_write_profile (endpoint, s_server_kp.public_z85);

    test_session_id ();
    test_activation (server);
    test_instances (server);
    test_instance_pages (server);
    test_sessions (server);
    test_terminate (server);
    test_preferences (server);
    test_no_profile ();

    zactor_destroy (&server);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
