/*  Unit tests of cli/cli_iam.c and cli/cli_iam_policy.c (cli_iam.h): the
 *  `porthole iam` verbs against a fake controller (a CURVE ROUTER in a
 *  zactor thread) that records each IamRequest and answers it. Checks the
 *  op and fields each verb sends (names as options or positional, tags,
 *  tag keys, a policy document inline or from file://, the simulator's
 *  inputs), the aws-style output, and the usage errors that are caught
 *  before anything is sent. */
#include "cli_iam.h"
#include "ph_config.h"
#include "ph_keys.h"
#include "cli_fake.h"
#include "cli_test.h"
#include "ph_test.h"
#include "ph_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[] = "/tmp/ph-test-cli-iam-XXXXXX";
static ph_keypair_t s_server_kp;

/* ---- the fake controller ---------------------------------------------------- */

static void s_answer (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, void *state)
{
    (void)state;
    const Porthole__V1__IamRequest *r = req->iam;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = req->request_id;
    if (strcmp (r->user, "ghost") == 0) {
        ph_wire_send_error (router, rx->routing_id, rx->routing_id_len, req->request_id,
                            "InvalidRequest", "porthole: user ghost does not exist");
        return;
    }
    Porthole__V1__User u = PORTHOLE__V1__USER__INIT;
    u.name = *r->user ? r->user : "bob";
    u.created_ms = 1764083045123ULL;
    u.n_tags = r->n_tags;
    u.tags = r->tags;
    char *keys[] = {"k1"}, *pols[] = {"reader"};
    u.n_public_keys = 1;
    u.public_keys = keys;
    u.n_policies = 1;
    u.policies = pols;
    Porthole__V1__User *users[] = {&u};
    Porthole__V1__Policy p = PORTHOLE__V1__POLICY__INIT;
    p.name = *r->policy_name ? r->policy_name : "reader";
    p.document = "{\"Version\": \"2026-11-01\", \"Statement\": []}";
    p.attachment_count = 2;
    Porthole__V1__Policy *policies[] = {&p};
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    body.op = r->op;
    if (strstr (r->op, "User") && strcmp (r->op, "DeleteUser") != 0) {
        body.n_users = 1;
        body.users = users;
    }
    if (strstr (r->op, "Polic") && strcmp (r->op, "DeletePolicy") != 0 &&
        strcmp (r->op, "SimulatePrincipalPolicy") != 0) {
        body.n_policies = 1;
        body.policies = policies;
    }
    if (strcmp (r->op, "SimulatePrincipalPolicy") == 0) {
        body.decision = "explicitDeny";
        body.matched_statement = "policy nodev statement NoDev";
    }
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY;
    env.iam_reply = &body;
    ph_wire_send (router, rx->routing_id, rx->routing_id_len, &env);
}

/* ---- tests ----------------------------------------------------------------------- */

/*  Runs an iam verb and returns the IamRequest the controller got (the
 *  caller frees *env), checking the exit code. */
static const Porthole__V1__IamRequest *s_iam (zactor_t *server, cli_test_fn *verb, const char *name,
                                              const char *const *opts, int want_rc,
                                              cli_test_run_t *r, ph_env_t **env)
{
    cli_test_run (r, verb, name, CLI_OUT_JSON, opts);
    if (r->rc != want_rc)
        fprintf (stderr, "%s: exit %d, want %d; stderr: %s\n", name, r->rc, want_rc, r->err);
    CHECK (r->rc == want_rc);
    cli_fake_last (server, env);
    return *env && (*env)->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM ? (*env)->iam : NULL;
}

static void test_users (zactor_t *server)
{
    cli_test_run_t r;
    ph_env_t *env;
    const Porthole__V1__IamRequest *q =
        s_iam (server, cli_verb_iam_create_user, "iam create-user",
               OPTS ("user-name", "carol", "tags", "team=web,RunAs=carol"), 0, &r, &env);
    CHECK (q && strcmp (q->op, "CreateUser") == 0 && strcmp (q->user, "carol") == 0);
    CHECK (q && q->n_tags == 2 && strcmp (q->tags[1]->key, "RunAs") == 0);
    cli_test_expect_in (r.out, "\"User\": {");
    cli_test_expect_in (r.out, "\"UserName\": \"carol\"");
    cli_test_expect_in (r.out, "\"AttachedPolicies\": [\n            \"reader\"");
    free (r.out);
    ph_wire_free (&env);

    q = s_iam (server, cli_verb_iam_delete_user, "iam delete-user", OPTS ("user-name", "carol"), 0,
               &r, &env);
    CHECK (q && strcmp (q->op, "DeleteUser") == 0 && strcmp (q->user, "carol") == 0);
    CHECK_STR (r.out, ""); /* as aws iam: nothing printed */
    free (r.out);
    ph_wire_free (&env);

    q = s_iam (server, cli_verb_iam_list_users, "iam list-users", NO_OPTS, 0, &r, &env);
    CHECK (q && strcmp (q->op, "ListUsers") == 0);
    cli_test_expect_in (r.out, "\"Users\": [");
    free (r.out);
    ph_wire_free (&env);

    ph_keypair_t k;
    ph_keys_generate (&k);
    q = s_iam (server, cli_verb_iam_add_user_key, "iam add-user-key",
               OPTS ("user", "carol", "public-key", k.public_z85), 0, &r, &env);
    CHECK (q && strcmp (q->op, "AddUserKey") == 0 && strcmp (q->public_key, k.public_z85) == 0);
    free (r.out);
    ph_wire_free (&env);
    q = s_iam (server, cli_verb_iam_remove_user_key, "iam remove-user-key",
               OPTS ("user", "carol", "public-key", k.public_z85), 0, &r, &env);
    CHECK (q && strcmp (q->op, "RemoveUserKey") == 0);
    free (r.out);
    ph_wire_free (&env);

    q = s_iam (server, cli_verb_iam_tag_user, "iam tag-user",
               OPTS ("user", "carol", "tags", "env=dev"), 0, &r, &env);
    CHECK (q && strcmp (q->op, "TagUser") == 0 && q->n_tags == 1);
    free (r.out);
    ph_wire_free (&env);
    q = s_iam (server, cli_verb_iam_untag_user, "iam untag-user",
               OPTS ("user", "carol", "tag-keys", "env,RunAs"), 0, &r, &env);
    CHECK (q && strcmp (q->op, "UntagUser") == 0 && q->n_tag_keys == 2);
    CHECK (q && q->n_tag_keys == 2 && strcmp (q->tag_keys[1], "RunAs") == 0);
    free (r.out);
    ph_wire_free (&env);

    /* the controller's refusal: its message, exit 70 */
    q = s_iam (server, cli_verb_iam_delete_user, "iam delete-user", OPTS ("user-name", "ghost"),
               PH_EXIT_API, &r, &env);
    CHECK_STR (r.err, "porthole: user ghost does not exist\n");
    free (r.out);
    ph_wire_free (&env);

    /* usage errors: nothing sent */
    cli_test_expect_usage (server, cli_verb_iam_create_user, "iam create-user", NO_OPTS,
                           "porthole iam create-user needs the user's NAME");
    cli_test_expect_usage (server, cli_verb_iam_create_user, "iam create-user",
                           OPTS ("user-name", "a b"), "'a b' is not a valid user name");
    cli_test_expect_usage (server, cli_verb_iam_create_user, "iam create-user",
                           OPTS ("user-name", "dave", "tags", "RunAs=root"),
                           "sessions never run as root");
    cli_test_expect_usage (server, cli_verb_iam_create_user, "iam create-user",
                           OPTS ("user-name", "dave", "tags", "novalue"), "--tags:");
    cli_test_expect_usage (server, cli_verb_iam_tag_user, "iam tag-user", OPTS ("user", "dave"),
                           "needs --tags k=v");
    cli_test_expect_usage (server, cli_verb_iam_add_user_key, "iam add-user-key",
                           OPTS ("user", "dave", "public-key", "nope"), "public-key");
    cli_test_expect_usage (server, cli_verb_iam_add_user_key, "iam add-user-key",
                           OPTS ("public-key", k.public_z85), "needs --user NAME");
    cli_test_expect_usage (server, cli_verb_iam_untag_user, "iam untag-user", OPTS ("user", "dave"),
                           "needs --tag-keys");
    cli_test_expect_usage (server, cli_verb_iam_untag_user, "iam untag-user",
                           OPTS ("user", "dave", "tag-keys", ","), "--tag-keys");
}

static void test_policies (zactor_t *server)
{
    cli_test_run_t r;
    ph_env_t *env;
    const char *doc = "{\"Version\": \"2026-11-01\", \"Statement\": []}";
    const Porthole__V1__IamRequest *q =
        s_iam (server, cli_verb_iam_create_policy, "iam create-policy",
               OPTS ("policy-name", "reader", "policy-document", doc), 0, &r, &env);
    CHECK (q && strcmp (q->op, "CreatePolicy") == 0 && strcmp (q->policy_name, "reader") == 0);
    CHECK (q && strcmp (q->policy_document, doc) == 0);
    cli_test_expect_in (r.out, "\"PolicyName\": \"reader\"");
    cli_test_expect_in (r.out, "\"AttachmentCount\": 2");
    free (r.out);
    ph_wire_free (&env);

    /* from a file, sent byte for byte */
    char path[sizeof s_dir + 16], url[sizeof path + 8];
    snprintf (path, sizeof path, "%s/p.json", s_dir);
    const char *file_doc = "{\n  \"Version\": \"2026-11-01\",\n  \"Statement\": []\n}\n";
    ph_file_write (path, file_doc, strlen (file_doc), 0600);
    snprintf (url, sizeof url, "file://%s", path);
    q = s_iam (server, cli_verb_iam_create_policy, "iam create-policy",
               OPTS ("policy-name", "fromfile", "policy-document", url), 0, &r, &env);
    CHECK (q && strcmp (q->policy_document, file_doc) == 0);
    free (r.out);
    ph_wire_free (&env);

    q = s_iam (server, cli_verb_iam_get_policy, "iam get-policy", OPTS ("policy-name", "reader"), 0,
               &r, &env);
    CHECK (q && strcmp (q->op, "GetPolicy") == 0);
    cli_test_expect_in (r.out, "\"PolicyDocument\": {"); /* the document as JSON, not a string */
    free (r.out);
    ph_wire_free (&env);
    q = s_iam (server, cli_verb_iam_attach_user_policy, "iam attach-user-policy",
               OPTS ("user", "carol", "policy-name", "reader"), 0, &r, &env);
    CHECK (q && strcmp (q->op, "AttachUserPolicy") == 0 && strcmp (q->user, "carol") == 0 &&
           strcmp (q->policy_name, "reader") == 0);
    free (r.out);
    ph_wire_free (&env);
    q = s_iam (server, cli_verb_iam_detach_user_policy, "iam detach-user-policy",
               OPTS ("user", "carol", "policy-name", "reader"), 0, &r, &env);
    CHECK (q && strcmp (q->op, "DetachUserPolicy") == 0);
    free (r.out);
    ph_wire_free (&env);

    q = s_iam (server, cli_verb_iam_simulate, "iam simulate-principal-policy",
               OPTS ("user", "carol", "action", "session:StartSession", "resource",
                     "instance/mi-0123456789abcdef0", "source-ip", "10.1.2.3"),
               0, &r, &env);
    CHECK (q && strcmp (q->op, "SimulatePrincipalPolicy") == 0);
    CHECK (q && strcmp (q->action, "session:StartSession") == 0 &&
           strcmp (q->resource, "instance/mi-0123456789abcdef0") == 0 &&
           strcmp (q->source_ip, "10.1.2.3") == 0);
    cli_test_expect_in (r.out, "explicitDeny");
    cli_test_expect_in (r.out, "policy nodev statement NoDev");
    free (r.out);
    ph_wire_free (&env);

    cli_test_expect_usage (server, cli_verb_iam_create_policy, "iam create-policy",
                           OPTS ("policy-name", "x", "policy-document", "Version: 1"),
                           "--policy-document must be file://PATH or the JSON");
    cli_test_expect_usage (
        server, cli_verb_iam_create_policy, "iam create-policy",
        OPTS ("policy-name", "x", "policy-document", "file:///nonexistent/p.json"),
        "cannot read /nonexistent/p.json");
    cli_test_expect_usage (server, cli_verb_iam_create_policy, "iam create-policy",
                           OPTS ("policy-document", doc), "needs the policy's NAME");
    cli_test_expect_usage (server, cli_verb_iam_simulate, "iam simulate-principal-policy",
                           OPTS ("user", "carol", "action", "session:StartSession", "resource", "*",
                                 "source-ip", "10.1.2"),
                           "is not an IPv4 or IPv6 address");
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
    cli_fake_t fake = {.kp = &s_server_kp,
                       .only = PORTHOLE__V1__ENVELOPE__BODY_IAM,
                       .poll_ms = -1,
                       .answer = s_answer};
    char endpoint[64];
    zactor_t *server = cli_fake_start (&fake, endpoint, sizeof endpoint);
    cli_test_write_profile (endpoint, s_server_kp.public_z85);
    test_users (server);
    test_policies (server);
    zactor_destroy (&server);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
