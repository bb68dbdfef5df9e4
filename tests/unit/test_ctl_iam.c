/*  Unit tests of controller/ctl_iam.c and controller/ctl_iam_policy.c
 *  through an in-process controller (ctl_new) with a real redis-server on
 *  a free port: users (create, list, tag and untag with RunAs checked,
 *  delete; the bootstrap admin cannot be deleted), keys (added only when
 *  free, removed only by their owner; a removed key or user can make no
 *  more calls and its relay routes lose their client), policies (a
 *  document that does not parse is refused with its place, attach and
 *  detach change what a user may do at once, an attached policy cannot
 *  be deleted), the simulator, and authorisation of the IAM ops
 *  themselves (nobody becomes admin through them). */
#include "ctl_harness.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct {
    const char *op, *user, *key, *policy, *doc, *action, *resource;
    const char *tags[8]; /* k, v, ..., NULL */
    const char *tag_keys[4];
} iam_t;

static ph_env_t *s_iam (peer_t *p, const iam_t *q)
{
    Porthole__V1__Tag t[4], *tp[4];
    size_t n = 0;
    for (; q->tags[2 * n]; n++) {
        porthole__v1__tag__init (&t[n]);
        t[n].key = (char *)q->tags[2 * n];
        t[n].value = (char *)q->tags[2 * n + 1];
        tp[n] = &t[n];
    }
    size_t nk = 0;
    while (q->tag_keys[nk])
        nk++;
    Porthole__V1__IamRequest r = PORTHOLE__V1__IAM_REQUEST__INIT;
    r.op = (char *)q->op;
    r.user = (char *)(q->user ? q->user : "");
    r.public_key = (char *)(q->key ? q->key : "");
    r.policy_name = (char *)(q->policy ? q->policy : "");
    r.policy_document = (char *)(q->doc ? q->doc : "");
    r.action = (char *)(q->action ? q->action : "");
    r.resource = (char *)(q->resource ? q->resource : "");
    r.n_tags = n;
    r.tags = tp;
    r.n_tag_keys = nk;
    r.tag_keys = (char **)q->tag_keys;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_IAM;
    env.iam = &r;
    return h_call (p, &env);
}

/*  True when r is an IamReply (freed unless keep). */
static bool s_ok (ph_env_t **r)
{
    bool ok = *r && (*r)->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY;
    if (*r && !ok && (*r)->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        fprintf (stderr, "unexpected %s: %s\n", (*r)->error->code, (*r)->error->message);
    CHECK (ok);
    ph_wire_free (r);
    return ok;
}

static ph_env_t *s_get_prefs (peer_t *p)
{
    Porthole__V1__GetPreferencesRequest req = PORTHOLE__V1__GET_PREFERENCES_REQUEST__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES;
    env.get_preferences = &req;
    return h_call (p, &env);
}

static bool s_prefs_allowed (peer_t *p)
{
    ph_env_t *r = s_get_prefs (p);
    bool ok = r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES;
    ph_wire_free (&r);
    return ok;
}

static const char s_reader[] =
    "{\"Version\": \"2026-11-01\", \"Statement\": {\"Sid\": \"Prefs\", \"Effect\": \"Allow\", "
    "\"Action\": \"preferences:GetPreferences\", \"Resource\": \"*\"}}";

/* ---- tests -------------------------------------------------------------------- */

static void test_users (peer_t *alice, ph_keypair_t *bob_kp)
{
    ph_env_t *r = s_iam (alice, &(iam_t){.op = "CreateUser",
                                         .user = "bob",
                                         .tags = {"team", "web", "RunAs", "deploy", NULL}});
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY) {
        const Porthole__V1__IamReply *i = r->iam_reply;
        CHECK_STR (i->op, "CreateUser");
        CHECK (i->n_users == 1);
        if (i->n_users == 1) {
            CHECK_STR (i->users[0]->name, "bob");
            CHECK (!i->users[0]->admin);
            CHECK (i->users[0]->n_tags == 2 && strcmp (i->users[0]->tags[1]->value, "deploy") == 0);
            CHECK (i->users[0]->n_public_keys == 0);
        }
    }
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:user:{bob} admin"), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:users bob"), "1");
    r = s_iam (alice, &(iam_t){.op = "CreateUser", .user = "bob"});
    h_expect_error (&r, "InvalidRequest", "user bob already exists");
    r = s_iam (alice, &(iam_t){.op = "CreateUser", .user = "eve", .tags = {"RunAs", "root", NULL}});
    h_expect_error (&r, "InvalidRequest", "RunAs=root must name a unix account");
    r = s_iam (alice, &(iam_t){.op = "CreateUser", .user = "eve", .tags = {"a", "b=c", NULL}});
    h_expect_error (&r, "InvalidRequest", "may not hold ',' or '='");
    r = s_iam (alice, &(iam_t){.op = "CreateUser", .user = "bad name"});
    h_expect_error (&r, "InvalidRequest", "CreateUser needs a user name of 1..64 characters");
    r = s_iam (alice, &(iam_t){.op = "MakeAdmin", .user = "bob"});
    h_expect_error (&r, "InvalidRequest", "'MakeAdmin' is not an IAM operation");
    CHECK_STR (h_redis ("EXISTS ph:user:{eve}"), "0");

    /* keys: bob's own, not one that is taken */
    ph_keys_generate (bob_kp);
    r = s_iam (alice, &(iam_t){.op = "AddUserKey", .user = "bob", .key = bob_kp->public_z85});
    CHECK (s_ok (&r));
    CHECK_STR (h_redis ("GET ph:key:{%s}", bob_kp->public_z85), "user:bob");
    r = s_iam (alice, &(iam_t){.op = "AddUserKey", .user = "bob", .key = alice->kp.public_z85});
    h_expect_error (&r, "InvalidRequest", "is already registered (to user:alice)");
    r = s_iam (alice, &(iam_t){.op = "AddUserKey", .user = "bob", .key = "short"});
    h_expect_error (&r, "InvalidRequest", "must be a 40-character Z85 CURVE public key");
    r = s_iam (alice, &(iam_t){.op = "AddUserKey", .user = "nobody9", .key = H.keys.public_z85});
    h_expect_error (&r, "InvalidRequest", "user nobody9 does not exist");
    r = s_iam (alice, &(iam_t){.op = "RemoveUserKey", .user = "bob", .key = alice->kp.public_z85});
    h_expect_error (&r, "InvalidRequest", "is not a key of user bob");
    CHECK_STR (h_redis ("GET ph:key:{%s}", alice->kp.public_z85), "user:alice");

    /* tags: replaced in place, new ones last, removed by key */
    r = s_iam (
        alice,
        &(iam_t){.op = "TagUser", .user = "bob", .tags = {"RunAs", "ops", "env", "dev", NULL}});
    CHECK (s_ok (&r));
    CHECK_STR (h_redis ("HGET ph:user:{bob} tags"), "team=web,RunAs=ops,env=dev");
    r = s_iam (alice, &(iam_t){.op = "UntagUser", .user = "bob", .tag_keys = {"team", "nope"}});
    CHECK (s_ok (&r));
    CHECK_STR (h_redis ("HGET ph:user:{bob} tags"), "RunAs=ops,env=dev");
    r = s_iam (alice, &(iam_t){.op = "TagUser", .user = "bob", .tags = {"RunAs", "root", NULL}});
    h_expect_error (&r, "InvalidRequest", "RunAs=root");
    r = s_iam (alice, &(iam_t){.op = "TagUser", .user = "bob"});
    h_expect_error (&r, "InvalidRequest", "give at least one tag");
    r = s_iam (alice, &(iam_t){.op = "UntagUser", .user = "bob"});
    h_expect_error (&r, "InvalidRequest", "give 1..50 tag keys");

    /* listed, sorted, with their keys */
    r = s_iam (alice, &(iam_t){.op = "ListUsers"});
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY && r->iam_reply->n_users == 2) {
        CHECK_STR (r->iam_reply->users[0]->name, "alice");
        CHECK_STR (r->iam_reply->users[1]->name, "bob");
        CHECK (r->iam_reply->users[1]->n_public_keys == 1 &&
               strcmp (r->iam_reply->users[1]->public_keys[0], bob_kp->public_z85) == 0);
    } else
        CHECK (false);
    ph_wire_free (&r);
}

static void test_policies (peer_t *alice, peer_t *bob)
{
    /* bob has no policy: nothing, not even IAM on himself */
    CHECK (!s_prefs_allowed (bob));
    ph_env_t *r = s_iam (bob, &(iam_t){.op = "AttachUserPolicy", .user = "bob", .policy = "x"});
    h_expect_error (&r, "AccessDenied", "user bob may not iam:AttachUserPolicy on user/bob");

    r = s_iam (alice, &(iam_t){.op = "CreatePolicy",
                               .policy = "broken",
                               .doc = "{\"Version\": \"2026-11-01\",\n \"Statement\": [}"});
    h_expect_error (&r, "InvalidRequest", "policy broken: line 2");
    r = s_iam (alice,
               &(iam_t){.op = "CreatePolicy",
                        .policy = "typo",
                        .doc = "{\"Version\": \"2026-11-01\", \"Statement\": {\"Effect\": "
                               "\"Allow\", \"Action\": \"sesion:StartSession\", \"Resource\": "
                               "\"*\"}}"});
    h_expect_error (&r, "InvalidRequest", "sesion:StartSession");
    CHECK_STR (h_redis ("EXISTS ph:policy:{typo}"), "0");
    r = s_iam (alice, &(iam_t){.op = "CreatePolicy", .policy = "reader", .doc = s_reader});
    CHECK (s_ok (&r));
    r = s_iam (alice, &(iam_t){.op = "CreatePolicy", .policy = "reader", .doc = s_reader});
    h_expect_error (&r, "InvalidRequest", "policy reader already exists");
    r = s_iam (alice, &(iam_t){.op = "GetPolicy", .policy = "reader"});
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY &&
           r->iam_reply->n_policies == 1);
    ph_wire_free (&r);

    /* attached: allowed at once; the simulator agrees */
    r = s_iam (alice, &(iam_t){.op = "AttachUserPolicy", .user = "bob", .policy = "reader"});
    CHECK (s_ok (&r));
    CHECK (s_prefs_allowed (bob));
    r = s_iam (alice, &(iam_t){.op = "SimulatePrincipalPolicy",
                               .user = "bob",
                               .action = "preferences:GetPreferences",
                               .resource = "*"});
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY) {
        CHECK_STR (r->iam_reply->decision, "allowed");
        h_expect_in ("simulate", r->iam_reply->matched_statement, "reader");
    }
    ph_wire_free (&r);
    r = s_iam (alice, &(iam_t){.op = "SimulatePrincipalPolicy",
                               .user = "bob",
                               .action = "preferences:UpdatePreferences",
                               .resource = "*"});
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY)
        CHECK_STR (r->iam_reply->decision, "implicitDeny");
    else
        CHECK (false);
    ph_wire_free (&r);
    r = s_iam (alice, &(iam_t){.op = "SimulatePrincipalPolicy",
                               .user = "bob",
                               .action = "preferences:Frobnicate",
                               .resource = "*"});
    h_expect_error (&r, "InvalidRequest", "is not a known action");

    /* an attached policy cannot be deleted; detached, bob loses it at once */
    r = s_iam (alice, &(iam_t){.op = "DeletePolicy", .policy = "reader"});
    h_expect_error (&r, "InvalidRequest", "policy reader is attached to 1 user(s)");
    r = s_iam (alice, &(iam_t){.op = "DetachUserPolicy", .user = "bob", .policy = "reader"});
    CHECK (s_ok (&r));
    CHECK (!s_prefs_allowed (bob));
    r = s_iam (alice, &(iam_t){.op = "DetachUserPolicy", .user = "bob", .policy = "reader"});
    h_expect_error (&r, "InvalidRequest", "is not attached to user bob");
    r = s_iam (alice, &(iam_t){.op = "DeletePolicy", .policy = "reader"});
    CHECK (s_ok (&r));
    r = s_iam (alice, &(iam_t){.op = "AttachUserPolicy", .user = "bob", .policy = "reader"});
    h_expect_error (&r, "InvalidRequest", "policy reader does not exist");
}

/*  A user who may manage only their own keys cannot become an admin or
 *  act on another user. */
static void test_self_service (peer_t *alice, peer_t *bob)
{
    const char *self =
        "{\"Version\": \"2026-11-01\", \"Statement\": {\"Sid\": \"Self\", \"Effect\": \"Allow\", "
        "\"Action\": [\"iam:AddUserKey\", \"iam:TagUser\"], \"Resource\": \"user/${username}\"}}";
    ph_env_t *r = s_iam (alice, &(iam_t){.op = "CreatePolicy", .policy = "self", .doc = self});
    CHECK (s_ok (&r));
    r = s_iam (alice, &(iam_t){.op = "AttachUserPolicy", .user = "bob", .policy = "self"});
    CHECK (s_ok (&r));
    ph_keypair_t k;
    ph_keys_generate (&k);
    r = s_iam (bob, &(iam_t){.op = "AddUserKey", .user = "bob", .key = k.public_z85});
    CHECK (s_ok (&r));
    ph_keys_generate (&k);
    r = s_iam (bob, &(iam_t){.op = "AddUserKey", .user = "alice", .key = k.public_z85});
    h_expect_error (&r, "AccessDenied", "may not iam:AddUserKey on user/alice");
    r = s_iam (bob, &(iam_t){.op = "TagUser", .user = "bob", .tags = {"admin", "1", NULL}});
    CHECK (s_ok (&r));
    CHECK_STR (h_redis ("HGET ph:user:{bob} admin"), "0");
    CHECK (!s_prefs_allowed (bob));
    r = s_iam (bob, &(iam_t){.op = "AttachUserPolicy", .user = "bob", .policy = "self"});
    h_expect_error (&r, "AccessDenied", "iam:AttachUserPolicy");
}

static void test_removal (peer_t *alice, peer_t **bob, const ph_keypair_t *bob_kp)
{
    /* bob attached to a session route through this controller */
    ctl_route_t *route = ctl_route_ensure (H.ctl, "bob-00000000000000001", "mi-00000000000000001");
    route->has_client = true;
    snprintf (route->client_user, sizeof route->client_user, "bob");
    snprintf (route->client_key, sizeof route->client_key, "%s", bob_kp->public_z85);
    h_redis ("HSET ph:session:{bob-00000000000000001} target mi-00000000000000001 state Connected");

    /* attaching what is attached already is fine */
    ph_env_t *r =
        s_iam (alice, &(iam_t){.op = "AttachUserPolicy", .user = "bob", .policy = "self"});
    CHECK (s_ok (&r));
    CHECK_STR (h_redis ("SCARD ph:user:{bob}:policies"), "1");
    r = s_iam (alice, &(iam_t){.op = "RemoveUserKey", .user = "bob", .key = bob_kp->public_z85});
    CHECK (s_ok (&r));
    CHECK_STR (h_redis ("EXISTS ph:key:{%s}", bob_kp->public_z85), "0");
    CHECK (!route->has_client);
    r = s_get_prefs (*bob);
    h_expect_error (&r, "AccessDenied", "is no longer registered (removed)");

    /* the bootstrap admin stays; bob goes with everything he had */
    h_redis ("SET ph:bootstrap alice");
    r = s_iam (alice, &(iam_t){.op = "DeleteUser", .user = "alice"});
    h_expect_error (&r, "InvalidRequest", "alice is the bootstrap admin and cannot be deleted");
    r = s_iam (alice, &(iam_t){.op = "DeleteUser", .user = "bob"});
    CHECK (s_ok (&r));
    CHECK_STR (h_redis ("EXISTS ph:user:{bob}"), "0");
    CHECK_STR (h_redis ("EXISTS ph:user:{bob}:keys"), "0");
    CHECK_STR (h_redis ("EXISTS ph:user:{bob}:policies"), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:users bob"), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:policy:{self}:users bob"), "0");
    r = s_iam (alice, &(iam_t){.op = "DeleteUser", .user = "bob"});
    h_expect_error (&r, "InvalidRequest", "user bob does not exist");
    h_peer_destroy (bob);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_iam");
    zsys_init ();
    zsys_handler_set (NULL);
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    peer_t *alice = h_user ("alice", true, NULL);
    h_redis ("SADD ph:users alice");
    ph_keypair_t bob_kp;
    test_users (alice, &bob_kp);
    peer_t *bob = h_peer_kp (false, NULL, &bob_kp);
    test_policies (alice, bob);
    test_self_service (alice, bob);
    test_removal (alice, &bob, &bob_kp);
    h_peer_destroy (&alice);
    h_stop ();
    PH_TEST_END ();
}
