/*  Unit tests of controller/ctl_api.c (and the principal of
 *  controller/ctl_principal.c that it decides with): the authorisation
 *  decision (ctl_authorize) for admins, policies, owners, target tags and
 *  source addresses, account-name checks, preferences read from a Redis
 *  hash with their defaults, and the CreateActivation, GetPreferences and
 *  UpdatePreferences handlers driven through an in-process controller
 *  (ctl_new) on loopback ports, with a real redis-server on a free port
 *  and CURVE clients whose keys are registered in it. */
#include "ctl_harness.h"

/* ---- pure parts ------------------------------------------------------------- */

/*  A principal for user name from policy documents given as name/JSON
 *  pairs (NULL-terminated), built the way a loaded call builds it. */
static ctl_principal_t *s_principal (const char *name, bool admin, const char *tags,
                                     const char *const *docs)
{
    const char *argv[16] = {"EVAL", "return ARGV", "0"};
    size_t len[16];
    int argc = 3;
    for (size_t i = 0; docs && docs[i] && argc < 16; i++)
        argv[argc++] = docs[i];
    for (int i = 0; i < argc; i++)
        len[i] = strlen (argv[i]);
    ph_reply_t *r = ph_redis_sync_cmdargv (H.sync, argc, argv, len);
    ctl_principal_t *p = ctl_principal_new (H.ctl, name, admin, tags, r);
    ph_reply_free (&r);
    return p;
}

static bool s_allowed (ctl_req_t *req, const char *action, const char *resource, const char *owner,
                       const char *env_tag, char *why)
{
    ph_policy_kv_t tag = {"env", env_tag};
    return ctl_authorize (req, action, resource, owner, env_tag ? &tag : NULL, env_tag ? 1 : 0, why,
                          PH_POLICY_WHY_MAX);
}

static const char s_policy[] =
    "{\"Version\": \"2026-11-01\", \"Statement\": ["
    " {\"Sid\": \"Own\", \"Effect\": \"Allow\", \"Action\": \"session:*\","
    "  \"Resource\": \"session/*\","
    "  \"Condition\": {\"StringEquals\": {\"session:Owner\": \"${username}\"}}},"
    " {\"Sid\": \"Dev\", \"Effect\": \"Allow\", \"Action\": \"session:StartSession\","
    "  \"Resource\": \"instance/*\"},"
    " {\"Sid\": \"NoProd\", \"Effect\": \"Deny\", \"Action\": \"session:StartSession\","
    "  \"Resource\": \"instance/*\","
    "  \"Condition\": {\"StringEquals\": {\"instance:ResourceTag/env\": \"prod\"}}},"
    " {\"Sid\": \"Office\", \"Effect\": \"Allow\", \"Action\": \"preferences:GetPreferences\","
    "  \"Resource\": \"*\", \"Condition\": {\"IpAddress\": {\"source:Ip\": \"10.0.0.0/8\"}}}]}";

static void test_authorize (void)
{
    char why[PH_POLICY_WHY_MAX];
    ctl_req_t req;
    memset (&req, 0, sizeof req);
    req.peer = CTL_PEER_USER;
    snprintf (req.name, sizeof req.name, "bob");
    snprintf (req.addr, sizeof req.addr, "10.1.2.3");
    /* no principal loaded: no */
    CHECK (!s_allowed (&req, "session:DescribeSessions", "session/*", NULL, NULL, why));
    CHECK_STR (why, PH_POLICY_WHY_NO_STATEMENT);

    /* an admin: everything, but only as a user */
    req.principal = s_principal ("bob", true, "", NULL);
    CHECK (s_allowed (&req, "iam:DeleteUser", "user/alice", NULL, NULL, why));
    CHECK (s_allowed (&req, "session:StartSession", "instance/mi-0123456789abcdef0", NULL, "prod",
                      why));
    req.peer = CTL_PEER_INSTANCE;
    CHECK (!s_allowed (&req, "session:DescribeSessions", "session/*", NULL, NULL, why));
    req.peer = CTL_PEER_KEY;
    CHECK (!s_allowed (&req, "session:DescribeSessions", "session/*", NULL, NULL, why));
    req.peer = CTL_PEER_USER;
    ctl_principal_destroy (&req.principal);
    CHECK (req.principal == NULL);

    /* no policy at all: default deny */
    req.principal = s_principal ("bob", false, "", NULL);
    CHECK (!s_allowed (&req, "session:DescribeSessions", "session/*", NULL, NULL, why));
    CHECK_STR (why, PH_POLICY_WHY_NO_STATEMENT);
    ctl_principal_destroy (&req.principal);

    /* a policy: own sessions, tags of the target, the source address */
    const char *docs[] = {"bobs", s_policy, NULL};
    req.principal = s_principal ("bob", false, "team=web", docs);
    const char *sess = "session/bob-0123456789abcdef0";
    CHECK (s_allowed (&req, "session:TerminateSession", sess, "bob", NULL, why));
    CHECK_STR (why, "allowed by policy bobs statement Own");
    CHECK (!s_allowed (&req, "session:TerminateSession", sess, "alice", NULL, why));
    CHECK_STR (why, PH_POLICY_WHY_NO_STATEMENT);
    CHECK (!s_allowed (&req, "session:ResumeSession", sess, NULL, NULL, why));
    const char *inst = "instance/mi-0123456789abcdef0";
    CHECK (s_allowed (&req, "session:StartSession", inst, NULL, "dev", why));
    CHECK (!s_allowed (&req, "session:StartSession", inst, NULL, "prod", why));
    CHECK_STR (why, "denied by policy bobs statement NoProd");
    CHECK (s_allowed (&req, "preferences:GetPreferences", "*", NULL, NULL, why));
    snprintf (req.addr, sizeof req.addr, "192.168.1.1");
    CHECK (!s_allowed (&req, "preferences:GetPreferences", "*", NULL, NULL, why));
    snprintf (req.addr, sizeof req.addr, "?"); /* unknown address: no source:Ip */
    CHECK (!s_allowed (&req, "preferences:GetPreferences", "*", NULL, NULL, why));
    CHECK (!s_allowed (&req, "preferences:UpdatePreferences", "*", NULL, NULL, why));
    CHECK (ctl_principal_tag (req.principal, "team") &&
           strcmp (ctl_principal_tag (req.principal, "team"), "web") == 0);
    CHECK (ctl_principal_tag (req.principal, "RunAs") == NULL);
    CHECK (!ctl_principal_admin (req.principal));
    ctl_principal_destroy (&req.principal);

    /* a stored document that no longer parses denies everything */
    const char *broken[] = {"bobs", s_policy, "oops", "{\"Version\": ", NULL};
    req.principal = s_principal ("bob", false, "", broken);
    CHECK (!s_allowed (&req, "session:TerminateSession", sess, "bob", NULL, why));
    h_expect_in ("broken", why, "attached policy oops cannot be parsed");
    ctl_principal_destroy (&req.principal);

    /* tags as stored */
    ph_tag_t tags[PH_TAGS_MAX];
    ph_policy_kv_t kv[PH_TAGS_MAX];
    CHECK (ctl_tags_to_kv ("env=prod,role=web", tags, kv) == 2);
    CHECK_STR (kv[1].key, "role");
    CHECK_STR (kv[1].value, "web");
    CHECK (ctl_tags_to_kv ("", tags, kv) == 0);
    CHECK (ctl_tags_to_kv (NULL, tags, kv) == 0);
    CHECK (ctl_tags_to_kv ("no equals", tags, kv) == 0);
}

static void test_unix_names (void)
{
    CHECK (ctl_unix_name_valid ("porthole-user"));
    CHECK (ctl_unix_name_valid ("_svc"));
    CHECK (ctl_unix_name_valid ("ops1"));
    CHECK (ctl_unix_name_valid ("machine$"));
    CHECK (ctl_unix_name_valid ("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    CHECK (!ctl_unix_name_valid ("abcdefghijklmnopqrstuvwxyz0123456"));
    CHECK (!ctl_unix_name_valid ("root"));
    CHECK (!ctl_unix_name_valid (""));
    CHECK (!ctl_unix_name_valid (NULL));
    CHECK (!ctl_unix_name_valid ("1abc"));
    CHECK (!ctl_unix_name_valid ("-abc"));
    CHECK (!ctl_unix_name_valid ("Ops"));
    CHECK (!ctl_unix_name_valid ("a.b"));
    CHECK (!ctl_unix_name_valid ("a$b"));
    CHECK (!ctl_unix_name_valid ("a b"));
}

static void test_prefs_from_reply (void)
{
    h_redis ("DEL ph:prefs");
    ph_reply_t *r = ph_redis_sync_cmd (H.sync, "HGETALL ph:prefs");
    Porthole__V1__Preferences p = PORTHOLE__V1__PREFERENCES__INIT;
    ctl_prefs_from_reply (r, &p);
    CHECK (p.idle_session_timeout_min == 20);
    CHECK (p.max_session_duration_min == 0);
    CHECK (!p.run_as_enabled);
    CHECK_STR (p.run_as_default_user, "");
    CHECK (p.admin_rights);
    CHECK_STR (p.shell_profile, "");
    ph_reply_free (&r);

    h_redis ("HSET ph:prefs idle_session_timeout_min 45 max_session_duration_min 600 "
             "run_as_enabled 1 run_as_default_user ops admin_rights 0 shell_profile cd");
    r = ph_redis_sync_cmd (H.sync, "HGETALL ph:prefs");
    ctl_prefs_from_reply (r, &p);
    CHECK (p.idle_session_timeout_min == 45 && p.max_session_duration_min == 600);
    CHECK (p.run_as_enabled && !p.admin_rights);
    CHECK_STR (p.run_as_default_user, "ops");
    CHECK_STR (p.shell_profile, "cd");
    ph_reply_free (&r);
    /* an empty stored value means the default */
    h_redis ("HSET ph:prefs idle_session_timeout_min %s", "");
    r = ph_redis_sync_cmd (H.sync, "HGETALL ph:prefs");
    ctl_prefs_from_reply (r, &p);
    CHECK (p.idle_session_timeout_min == 20);
    ph_reply_free (&r);
    h_redis ("DEL ph:prefs");
}

/* ---- through the controller ------------------------------------------------- */

static ph_env_t *s_create_activation (peer_t *p, uint32_t limit, uint64_t expires_s,
                                      const char *description, const char *const *tags)
{
    Porthole__V1__Tag t[4], *tp[4];
    size_t n = 0;
    for (; tags && tags[2 * n]; n++) {
        Porthole__V1__Tag init = PORTHOLE__V1__TAG__INIT;
        t[n] = init;
        t[n].key = (char *)tags[2 * n];
        t[n].value = (char *)tags[2 * n + 1];
        tp[n] = &t[n];
    }
    Porthole__V1__CreateActivationRequest req = PORTHOLE__V1__CREATE_ACTIVATION_REQUEST__INIT;
    req.registration_limit = limit;
    req.expires_in_s = expires_s;
    req.description = (char *)(description ? description : "");
    req.n_tags = n;
    req.tags = tp;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION;
    env.create_activation = &req;
    return h_call (p, &env);
}

static void test_activation (peer_t *admin, peer_t *bob)
{
    const char *tags[] = {"role", "web", "env", "prod", NULL};
    uint64_t before = ph_now_ms ();
    ph_env_t *r = s_create_activation (admin, 5, 3600, "web fleet", tags);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY);
    if (!r || r->body_case != PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY) {
        ph_wire_free (&r);
        return;
    }
    const Porthole__V1__CreateActivationReply *a = r->create_activation_reply;
    CHECK (strlen (a->activation_id) == 36 && a->activation_id[8] == '-');
    CHECK (strlen (a->activation_code) == 20);
    CHECK (a->registration_limit == 5);
    CHECK (a->expiration_ms >= before + 3600000 && a->expiration_ms <= ph_now_ms () + 3600000);
    /* what Redis holds: the HMAC of the code, never the code */
    uint8_t mac[PH_SHA256_LEN];
    char hex[2 * PH_SHA256_LEN + 1];
    ph_hmac_sha256 (H.secret, sizeof H.secret, a->activation_code, strlen (a->activation_code),
                    mac);
    ph_hex (mac, sizeof mac, hex);
    char key[128];
    snprintf (key, sizeof key, "ph:activation:{%s}", a->activation_id);
    CHECK_STR (h_redis ("HGET %s code_hmac", key), hex);
    CHECK_STR (h_redis ("HGET %s tags", key), "role=web,env=prod");
    CHECK_STR (h_redis ("HGET %s limit", key), "5");
    CHECK_STR (h_redis ("HGET %s count", key), "0");
    CHECK_STR (h_redis ("HGET %s created_by", key), "alice");
    CHECK_STR (h_redis ("HGET %s description", key), "web fleet");
    char want[32];
    snprintf (want, sizeof want, "%llu", (unsigned long long)a->expiration_ms);
    CHECK_STR (h_redis ("HGET %s expires_ms", key), want);
    ph_reply_t *all = ph_redis_sync_cmd (H.sync, "HGETALL %s", key);
    CHECK (ph_reply_count (all) >= 16);
    for (size_t i = 0; i < ph_reply_count (all); i++) {
        const char *v = ph_reply_str (ph_reply_at (all, i));
        CHECK (v && !strstr (v, a->activation_code));
    }
    ph_reply_free (&all);
    long long ttl = atoll (h_redis ("PTTL %s", key));
    CHECK (ttl > 3600000 + 86400000 - 60000 && ttl <= 3600000 + 86400000);
    ph_wire_free (&r);

    /* defaults: limit 1, a day */
    r = s_create_activation (admin, 0, 0, NULL, NULL);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY) {
        CHECK (r->create_activation_reply->registration_limit == 1);
        uint64_t exp = r->create_activation_reply->expiration_ms;
        CHECK (exp >= before + 86400000 && exp <= ph_now_ms () + 86400000);
    }
    ph_wire_free (&r);

    /* refusals */
    r = s_create_activation (admin, 1001, 0, NULL, NULL);
    h_expect_error (&r, "InvalidRequest", "registration_limit must be 1..1000");
    r = s_create_activation (admin, 1, 31 * 86400, NULL, NULL);
    h_expect_error (&r, "InvalidRequest", "expires_in_s must be");
    char desc[300];
    memset (desc, 'd', 257);
    desc[257] = 0;
    r = s_create_activation (admin, 1, 0, desc, NULL);
    h_expect_error (&r, "InvalidRequest", "description must be at most 256 bytes");
    const char *bad_tags[] = {"a=b", "c", NULL};
    r = s_create_activation (admin, 1, 0, NULL, bad_tags);
    h_expect_error (&r, "InvalidRequest", "may not hold ',' or '='");
    const char *bad_key[] = {"a b", "c", NULL};
    r = s_create_activation (admin, 1, 0, NULL, bad_key);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR);
    ph_wire_free (&r);
    r = s_create_activation (bob, 1, 0, NULL, NULL);
    h_expect_error (&r, "AccessDenied",
                    "user bob may not activation:CreateActivation on * (no statement allows it)");
}

static ph_env_t *s_get_prefs (peer_t *p)
{
    Porthole__V1__GetPreferencesRequest req = PORTHOLE__V1__GET_PREFERENCES_REQUEST__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES;
    env.get_preferences = &req;
    return h_call (p, &env);
}

static ph_env_t *s_update_prefs (peer_t *p, const Porthole__V1__Preferences *prefs,
                                 const char *const *fields)
{
    size_t n = 0;
    while (fields[n])
        n++;
    Porthole__V1__UpdatePreferencesRequest req = PORTHOLE__V1__UPDATE_PREFERENCES_REQUEST__INIT;
    req.n_fields = n;
    req.fields = (char **)fields;
    req.prefs = (Porthole__V1__Preferences *)prefs;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_UPDATE_PREFERENCES;
    env.update_preferences = &req;
    return h_call (p, &env);
}

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_preferences (peer_t *admin, peer_t *bob)
{
    h_redis ("DEL ph:prefs");
    ph_env_t *r = s_get_prefs (bob);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES) {
        CHECK (r->preferences->idle_session_timeout_min == 20);
        CHECK (r->preferences->admin_rights);
    }
    ph_wire_free (&r);

    Porthole__V1__Preferences p = PORTHOLE__V1__PREFERENCES__INIT;
    p.idle_session_timeout_min = 30;
    p.max_session_duration_min = 480;
    p.run_as_default_user = "ops";
    p.shell_profile = "cd /srv";
    p.admin_rights = false;
    p.run_as_enabled = true;
    /* only the named fields change */
    r = s_update_prefs (admin, &p, FIELDS ("idle_session_timeout_min", "admin_rights"));
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES) {
        CHECK (r->preferences->idle_session_timeout_min == 30);
        CHECK (!r->preferences->admin_rights);
        CHECK (r->preferences->max_session_duration_min == 0);
        CHECK_STR (r->preferences->run_as_default_user, "");
        CHECK (!r->preferences->run_as_enabled);
    }
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:prefs idle_session_timeout_min"), "30");
    CHECK_STR (h_redis ("HGET ph:prefs admin_rights"), "0");
    r = s_update_prefs (admin, &p,
                        FIELDS ("max_session_duration_min", "run_as_default_user", "shell_profile",
                                "run_as_enabled"));
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES);
    ph_wire_free (&r);
    r = s_get_prefs (bob);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES) {
        CHECK (r->preferences->idle_session_timeout_min == 30);
        CHECK (r->preferences->max_session_duration_min == 480);
        CHECK_STR (r->preferences->run_as_default_user, "ops");
        CHECK_STR (r->preferences->shell_profile, "cd /srv");
        CHECK (r->preferences->run_as_enabled && !r->preferences->admin_rights);
    } else
        CHECK (false);
    ph_wire_free (&r);

    /* refusals change nothing, not even the valid fields of the request */
    Porthole__V1__Preferences bad = p;
    bad.idle_session_timeout_min = 0;
    bad.max_session_duration_min = 10;
    r = s_update_prefs (admin, &bad,
                        FIELDS ("max_session_duration_min", "idle_session_timeout_min"));
    h_expect_error (&r, "InvalidRequest", "idle_session_timeout_min must be 1..60 minutes (got 0)");
    CHECK_STR (h_redis ("HGET ph:prefs max_session_duration_min"), "480");
    bad.idle_session_timeout_min = 61;
    r = s_update_prefs (admin, &bad, FIELDS ("idle_session_timeout_min"));
    h_expect_error (&r, "InvalidRequest", "(got 61)");
    bad.max_session_duration_min = 1441;
    r = s_update_prefs (admin, &bad, FIELDS ("max_session_duration_min"));
    h_expect_error (&r, "InvalidRequest",
                    "max_session_duration_min must be 0 (no limit) or 1..1440");
    bad.run_as_default_user = "root";
    r = s_update_prefs (admin, &bad, FIELDS ("run_as_default_user"));
    h_expect_error (&r, "InvalidRequest", "run_as_default_user 'root'");
    bad.run_as_default_user = "Ops.Team";
    r = s_update_prefs (admin, &bad, FIELDS ("run_as_default_user"));
    h_expect_error (&r, "InvalidRequest", "must be a unix account name");
    char profile[5000];
    memset (profile, 'x', 4097);
    profile[4097] = 0;
    bad.shell_profile = profile;
    r = s_update_prefs (admin, &bad, FIELDS ("shell_profile"));
    h_expect_error (&r, "InvalidRequest", "shell_profile must be at most 4096 bytes");
    r = s_update_prefs (admin, &p, FIELDS ("colour"));
    h_expect_error (&r, "InvalidRequest", "unknown preference 'colour'");
    CHECK_STR (h_redis ("HGET ph:prefs run_as_default_user"), "ops");

    /* an empty run-as user is allowed (back to the default) */
    Porthole__V1__Preferences empty = PORTHOLE__V1__PREFERENCES__INIT;
    r = s_update_prefs (admin, &empty, FIELDS ("run_as_default_user"));
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES);
    ph_wire_free (&r);
    CHECK_STR (h_redis ("HGET ph:prefs run_as_default_user"), "");

    /* a plain user may read but not change */
    r = s_update_prefs (bob, &p, FIELDS ("idle_session_timeout_min"));
    h_expect_error (&r, "AccessDenied", "may not preferences:UpdatePreferences");
}

/*  A key or user removed while its connection is open makes no more calls. */
static void test_removed (void)
{
    peer_t *carol = h_user ("carol", true, NULL);
    ph_env_t *r = s_get_prefs (carol);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES);
    ph_wire_free (&r);
    h_redis ("DEL ph:key:{%s}", carol->kp.public_z85);
    r = s_get_prefs (carol);
    h_expect_error (&r, "AccessDenied", "is no longer registered (removed)");
    h_peer_destroy (&carol);

    peer_t *dave = h_user ("dave", true, NULL);
    r = s_get_prefs (dave);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES);
    ph_wire_free (&r);
    h_redis ("DEL ph:user:{dave}");
    r = s_get_prefs (dave);
    h_expect_error (&r, "AccessDenied", "no longer registered");
    h_peer_destroy (&dave);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_api");
    zsys_init ();
    zsys_handler_set (NULL);
    test_unix_names ();
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    test_authorize ();
    test_prefs_from_reply ();
    h_policy ("reader", "{\"Version\": \"2026-11-01\", \"Statement\": {\"Sid\": \"Read\", "
                        "\"Effect\": \"Allow\", \"Action\": [\"preferences:GetPreferences\", "
                        "\"session:DescribeSessions\"], \"Resource\": \"*\"}}");
    peer_t *admin = h_user ("alice", true, NULL);
    peer_t *bob = h_user ("bob", false, "reader");
    test_activation (admin, bob);
    test_preferences (admin, bob);
    test_removed ();
    h_peer_destroy (&admin);
    h_peer_destroy (&bob);
    h_stop ();
    PH_TEST_END ();
}
