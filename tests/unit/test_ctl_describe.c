/*  Unit tests of controller/ctl_describe.c through an in-process controller
 *  (ctl_new) with a real redis-server on a free port, on instances and
 *  sessions written straight into Redis: DescribeInstances (every field,
 *  ping status computed from last seen, tag filters ANDed across filters
 *  and ORed within one, InstanceIds, PingStatus, PlatformName, bad filters,
 *  dangling ids, authorisation) and DescribeSessions (Active newest start
 *  first, History newest end first, paging with NextToken with and without
 *  filters, Target/Owner/Status filters, exit codes, bad requests). */
#include "ctl_harness.h"

/* ---- helpers ------------------------------------------------------------------ */

#define I1 "mi-00000000000000001"
#define I2 "mi-00000000000000002"
#define I3 "mi-00000000000000003"

static void s_instance (const char *iid, const char *tags, const char *platform, const char *status,
                        uint64_t seen_ago_ms)
{
    char seen[32];
    snprintf (seen, sizeof seen, "%llu", (unsigned long long)(ph_now_ms () - seen_ago_ms));
    h_redis (
        "HSET ph:instance:{%s} instance_id %s hostname host-%s platform %s agent_version 0.1.0 "
        "ip 10.0.0.1 tags %s activation_id act-1 registered_ms 1000 ping_status %s "
        "last_seen_ms %s",
        iid, iid, iid + 17, platform, tags, status, seen);
    h_redis ("SADD ph:instances %s", iid);
    char list[128];
    snprintf (list, sizeof list, "%s", tags);
    for (char *save = NULL, *t = strtok_r (list, ",", &save); t; t = strtok_r (NULL, ",", &save))
        h_redis ("SADD ph:tag:{%s} %s", t, iid);
}

typedef struct {
    const char *key;
    const char *values[4];
} filter_t;

/*  DescribeInstances with filters (key NULL ends); the ids it lists joined
 *  by spaces into ids, or the error code. */
static void s_instances (peer_t *p, const filter_t *filters, char *ids, size_t len)
{
    Porthole__V1__Filter f[4], *fp[4];
    size_t n = 0;
    for (; filters && filters[n].key; n++) {
        Porthole__V1__Filter init = PORTHOLE__V1__FILTER__INIT;
        f[n] = init;
        f[n].key = (char *)filters[n].key;
        while (filters[n].values[f[n].n_values])
            f[n].n_values++;
        f[n].values = (char **)filters[n].values;
        fp[n] = &f[n];
    }
    Porthole__V1__DescribeInstancesRequest req = PORTHOLE__V1__DESCRIBE_INSTANCES_REQUEST__INIT;
    req.n_filters = n;
    req.filters = fp;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES;
    env.describe_instances = &req;
    ph_env_t *r = h_call (p, &env);
    ids[0] = 0;
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY) {
        for (size_t i = 0; i < r->describe_instances_reply->n_instances; i++)
            snprintf (ids + strlen (ids), len - strlen (ids), "%s%s", i ? " " : "",
                      r->describe_instances_reply->instances[i]->instance_id);
    } else if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        snprintf (ids, len, "%s: %s", r->error->code, r->error->message);
    else
        snprintf (ids, len, "(no answer)");
    ph_wire_free (&r);
}

#define FILTERS(...) ((const filter_t[]){__VA_ARGS__, {NULL, {NULL}}})

/* ---- instances ---------------------------------------------------------------- */

static void test_instances (peer_t *alice, peer_t *bob)
{
    s_instance (I1, "env=dev,role=web", "Debian-12", "Online", 1000);
    s_instance (I2, "env=prod,role=web", "Ubuntu-24.04", "ConnectionLost", 1000);
    s_instance (I3, "env=dev,role=db", "Debian-12", "Online", 600000); /* silent 10 min */
    h_redis ("SADD ph:instances mi-0000000000000dead");                /* no record */

    Porthole__V1__DescribeInstancesRequest req = PORTHOLE__V1__DESCRIBE_INSTANCES_REQUEST__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES;
    env.describe_instances = &req;
    ph_env_t *r = h_call (alice, &env);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY) {
        const Porthole__V1__DescribeInstancesReply *d = r->describe_instances_reply;
        CHECK (d->n_instances == 3);
        if (d->n_instances == 3) {
            const Porthole__V1__InstanceInfo *a = d->instances[0];
            CHECK_STR (a->instance_id, I1);
            CHECK_STR (a->ping_status, "Online");
            CHECK_STR (a->computer_name, "host-001");
            CHECK_STR (a->platform_name, "Debian-12");
            CHECK_STR (a->agent_version, "0.1.0");
            CHECK_STR (a->ip_address, "10.0.0.1");
            CHECK_STR (a->activation_id, "act-1");
            CHECK (a->registration_ms == 1000);
            CHECK (a->last_ping_ms > ph_now_ms () - 5000);
            CHECK (a->n_tags == 2 && strcmp (a->tags[1]->key, "role") == 0 &&
                   strcmp (a->tags[1]->value, "web") == 0);
            CHECK_STR (d->instances[1]->ping_status, "ConnectionLost");
            CHECK_STR (d->instances[2]->ping_status, "ConnectionLost"); /* stored Online, silent */
        }
    }
    ph_wire_free (&r);

    char ids[512];
    s_instances (alice, FILTERS ({"tag:env", {"dev"}}), ids, sizeof ids);
    CHECK_STR (ids, I1 " " I3);
    s_instances (alice, FILTERS ({"tag:env", {"dev"}}, {"tag:role", {"web"}}), ids, sizeof ids);
    CHECK_STR (ids, I1);
    s_instances (alice, FILTERS ({"tag:role", {"web", "db"}}), ids, sizeof ids);
    CHECK_STR (ids, I1 " " I2 " " I3);
    s_instances (alice, FILTERS ({"tag:env", {"qa"}}), ids, sizeof ids);
    CHECK_STR (ids, "");
    s_instances (alice, FILTERS ({"InstanceIds", {I2, I3}}), ids, sizeof ids);
    CHECK_STR (ids, I2 " " I3);
    s_instances (alice, FILTERS ({"InstanceIds", {I2, I3}}, {"tag:env", {"dev"}}), ids, sizeof ids);
    CHECK_STR (ids, I3);
    s_instances (alice, FILTERS ({"PingStatus", {"Online"}}), ids, sizeof ids);
    CHECK_STR (ids, I1);
    s_instances (alice, FILTERS ({"PingStatus", {"ConnectionLost"}}), ids, sizeof ids);
    CHECK_STR (ids, I2 " " I3);
    s_instances (alice, FILTERS ({"PlatformName", {"Ubuntu-24.04"}}), ids, sizeof ids);
    CHECK_STR (ids, I2);
    s_instances (alice, FILTERS ({"PlatformName", {"Debian-12"}}, {"PingStatus", {"Online"}}), ids,
                 sizeof ids);
    CHECK_STR (ids, I1);

    s_instances (alice, FILTERS ({"AgentVersion", {"0.1.0"}}), ids, sizeof ids);
    h_expect_in ("AgentVersion", ids, "InvalidRequest: porthole: filter 'AgentVersion': unknown");
    s_instances (alice, FILTERS ({"tag:", {"x"}}), ids, sizeof ids);
    h_expect_in ("tag:", ids, "a tag:KEY filter needs a key and values");
    s_instances (alice, FILTERS ({"tag:env", {NULL}}), ids, sizeof ids);
    h_expect_in ("tag without values", ids, "needs a key and values");
    s_instances (alice, FILTERS ({"InstanceIds", {"i-123"}}), ids, sizeof ids);
    h_expect_in ("InstanceIds", ids, "must be instance ids");
    s_instances (alice, FILTERS ({"PingStatus", {"Offline"}}), ids, sizeof ids);
    h_expect_in ("PingStatus", ids, "Online or ConnectionLost");
    s_instances (bob, NULL, ids, sizeof ids);
    h_expect_in ("bob", ids,
                 "AccessDenied: porthole: AccessDenied: user bob may not "
                 "instance:DescribeInstanceInformation on instance/*");
}

/* ---- sessions ----------------------------------------------------------------- */

static void s_session (const char *sid, const char *owner, const char *target, const char *state,
                       int start, int end, const char *exit_code)
{
    char s[16], e[16];
    snprintf (s, sizeof s, "%d", start);
    snprintf (e, sizeof e, "%d", end);
    h_redis ("HSET ph:session:{%s} session_id %s owner %s target %s state %s start_ms %s "
             "document Shell reason why",
             sid, sid, owner, target, state, s);
    if (exit_code)
        h_redis ("HSET ph:session:{%s} exit_code %s", sid, exit_code);
    if (end) {
        h_redis ("HSET ph:session:{%s} end_ms %s", sid, e);
        h_redis ("ZADD ph:sessions:history %s %s", e, sid);
    } else
        h_redis ("SADD ph:sessions:active %s", sid);
}

/*  DescribeSessions; the ids listed (spaces) and the next token into
 *  next, or the error. */
static void s_sessions (peer_t *p, const char *state, uint32_t max, const char *token,
                        const filter_t *filters, char *ids, size_t len, char *next)
{
    Porthole__V1__Filter f[4], *fp[4];
    size_t n = 0;
    for (; filters && filters[n].key; n++) {
        Porthole__V1__Filter init = PORTHOLE__V1__FILTER__INIT;
        f[n] = init;
        f[n].key = (char *)filters[n].key;
        while (filters[n].values[f[n].n_values])
            f[n].n_values++;
        f[n].values = (char **)filters[n].values;
        fp[n] = &f[n];
    }
    Porthole__V1__DescribeSessionsRequest req = PORTHOLE__V1__DESCRIBE_SESSIONS_REQUEST__INIT;
    req.state = (char *)state;
    req.max_results = max;
    req.next_token = (char *)(token ? token : "");
    req.n_filters = n;
    req.filters = fp;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS;
    env.describe_sessions = &req;
    ph_env_t *r = h_call (p, &env);
    ids[0] = next[0] = 0;
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS_REPLY) {
        const Porthole__V1__DescribeSessionsReply *d = r->describe_sessions_reply;
        for (size_t i = 0; i < d->n_sessions; i++)
            snprintf (ids + strlen (ids), len - strlen (ids), "%s%s", i ? " " : "",
                      d->sessions[i]->session_id);
        snprintf (next, 24, "%s", d->next_token);
    } else if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        snprintf (ids, len, "%s: %s", r->error->code, r->error->message);
    ph_wire_free (&r);
}

#define A1 "bob-00000000000000a01"
#define A2 "alice-00000000000000a02"
#define A3 "bob-00000000000000a03"

static void test_sessions (peer_t *alice)
{
    s_session (A1, "bob", I1, "Connected", 1000, 0, NULL);
    s_session (A2, "alice", I2, "Connecting", 3000, 0, NULL);
    s_session (A3, "bob", I1, "Disconnected", 2000, 0, NULL);
    h_redis ("SADD ph:sessions:active bob-00000000000000dea"); /* no record */
    char hist[5][32];
    for (int i = 0; i < 5; i++) {
        snprintf (hist[i], sizeof hist[i], "%s-0000000000000000%d", i % 2 ? "alice" : "bob", i);
        s_session (hist[i], i % 2 ? "alice" : "bob", i < 3 ? I1 : I3, "Terminated", 100 * i,
                   1000 + 100 * i, i == 4 ? "3" : NULL);
    }
    char ids[1024], next[32];
    s_sessions (alice, "Active", 0, NULL, NULL, ids, sizeof ids, next);
    CHECK_STR (ids, A2 " " A3 " " A1);
    CHECK_STR (next, "");
    s_sessions (alice, "", 0, NULL, NULL, ids, sizeof ids, next); /* Active by default */
    CHECK_STR (ids, A2 " " A3 " " A1);
    s_sessions (alice, "Active", 2, NULL, NULL, ids, sizeof ids, next);
    CHECK_STR (ids, A2 " " A3);
    CHECK_STR (next, "2");
    s_sessions (alice, "Active", 2, "2", NULL, ids, sizeof ids, next);
    CHECK_STR (ids, A1);
    CHECK_STR (next, "");
    s_sessions (alice, "Active", 0, NULL, FILTERS ({"Status", {"Connected", "Connecting"}}), ids,
                sizeof ids, next);
    CHECK_STR (ids, A2 " " A1);
    s_sessions (alice, "Active", 0, NULL, FILTERS ({"Owner", {"bob"}}, {"Target", {I1}}), ids,
                sizeof ids, next);
    CHECK_STR (ids, A3 " " A1);

    /* history: newest end first, paged */
    char want[256];
    s_sessions (alice, "History", 2, NULL, NULL, ids, sizeof ids, next);
    snprintf (want, sizeof want, "%s %s", hist[4], hist[3]);
    CHECK_STR (ids, want);
    CHECK_STR (next, "2");
    s_sessions (alice, "History", 2, "4", NULL, ids, sizeof ids, next);
    CHECK_STR (ids, hist[0]);
    CHECK_STR (next, "");
    s_sessions (alice, "History", 1, NULL, FILTERS ({"Owner", {"bob"}}), ids, sizeof ids, next);
    CHECK_STR (ids, hist[4]);
    CHECK_STR (next, "1");
    s_sessions (alice, "History", 5, "1", FILTERS ({"Owner", {"bob"}}), ids, sizeof ids, next);
    snprintf (want, sizeof want, "%s %s", hist[2], hist[0]);
    CHECK_STR (ids, want);
    CHECK_STR (next, "");

    /* every field of one record */
    Porthole__V1__DescribeSessionsRequest req = PORTHOLE__V1__DESCRIBE_SESSIONS_REQUEST__INIT;
    req.state = "History";
    req.max_results = 1;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS;
    env.describe_sessions = &req;
    ph_env_t *r = h_call (alice, &env);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS_REPLY &&
        r->describe_sessions_reply->n_sessions == 1) {
        const Porthole__V1__SessionInfo *s = r->describe_sessions_reply->sessions[0];
        CHECK_STR (s->target, I3);
        CHECK_STR (s->status, "Terminated");
        CHECK_STR (s->owner, "bob");
        CHECK_STR (s->reason, "why");
        CHECK_STR (s->document, "Shell");
        CHECK (s->start_ms == 400 && s->end_ms == 1400);
        CHECK (s->has_exit_code && s->exit_code == 3);
    } else
        CHECK (false);
    ph_wire_free (&r);
    s_sessions (alice, "History", 1, "1", NULL, ids, sizeof ids, next);
    CHECK_STR (ids, hist[3]);

    s_sessions (alice, "Running", 0, NULL, NULL, ids, sizeof ids, next);
    h_expect_in ("state", ids, "InvalidRequest: porthole: state must be Active or History");
    s_sessions (alice, "Active", 201, NULL, NULL, ids, sizeof ids, next);
    h_expect_in ("max", ids, "max_results must be 1..200 (got 201)");
    s_sessions (alice, "Active", 0, "abc", NULL, ids, sizeof ids, next);
    h_expect_in ("token", ids, "next_token is not one this cluster issued");
    s_sessions (alice, "Active", 0, NULL, FILTERS ({"owner", {"bob"}}), ids, sizeof ids, next);
    h_expect_in ("filter", ids, "unknown filter key 'owner'; use Target, Owner or Status");
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_describe");
    zsys_init ();
    zsys_handler_set (NULL);
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    peer_t *alice = h_user ("alice", true, NULL);
    peer_t *bob = h_user ("bob", false, NULL);
    test_instances (alice, bob);
    test_sessions (alice);
    h_peer_destroy (&alice);
    h_peer_destroy (&bob);
    h_stop ();
    PH_TEST_END ();
}
