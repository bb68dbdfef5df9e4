/*  Unit tests of controller/ctl_describe.c through an in-process controller
 *  (ctl_new) with a real redis-server on a free port, on instances and
 *  sessions written straight into Redis: DescribeInstances (every field,
 *  ping status computed from last seen, tag filters ANDed across filters
 *  and ORed within one, InstanceIds, PingStatus, PlatformName, bad filters,
 *  dangling ids, authorisation; pages in id order with next_token, full
 *  pages under PingStatus/PlatformName filters, tokens stable under
 *  inserts, pages cut before the 1 MiB frame) and DescribeSessions (Active newest start
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

/*  One page of DescribeInstances with filters (key NULL ends), max_results
 *  and next_token; the ids it lists joined by spaces into ids (or the
 *  error code), the next token into next. Returns the number listed. */
static size_t s_instances_page (peer_t *p, const filter_t *filters, uint32_t max, const char *token,
                                char *ids, size_t len, char *next)
{
    Porthole__V1__Filter f[4], *fp[4];
    size_t n = 0, listed = 0;
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
    req.max_results = max;
    req.next_token = (char *)(token ? token : "");
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES;
    env.describe_instances = &req;
    ph_env_t *r = h_call (p, &env);
    ids[0] = 0;
    if (next)
        next[0] = 0;
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY) {
        const Porthole__V1__DescribeInstancesReply *d = r->describe_instances_reply;
        for (size_t i = 0; i < d->n_instances; i++)
            snprintf (ids + strlen (ids), len - strlen (ids), "%s%s", i ? " " : "",
                      d->instances[i]->instance_id);
        listed = d->n_instances;
        if (next)
            snprintf (next, 64, "%s", d->next_token);
    } else if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        snprintf (ids, len, "%s: %s", r->error->code, r->error->message);
    else
        snprintf (ids, len, "(no answer)");
    ph_wire_free (&r);
    return listed;
}

/*  DescribeInstances with filters, the first page of the default size. */
static void s_instances (peer_t *p, const filter_t *filters, char *ids, size_t len)
{
    s_instances_page (p, filters, 0, NULL, ids, len, NULL);
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

/* ---- instance pages ----------------------------------------------------------- */

#define FLEET 120 /* instances tagged fleet=big */

static void s_fleet_id (int i, char *id)
{
    snprintf (id, CTL_IID_MAX, "mi-10000000000000%03x", i);
}

/*  Pages through the filter with max_results max until no next_token;
 *  every id listed is appended (with a space) to all. Returns the number
 *  of pages, with the size of each page (up to 8) in sizes. */
static int s_all_pages (peer_t *p, const filter_t *filters, uint32_t max, char *all, size_t len,
                        size_t *sizes)
{
    char next[64] = "", token[64] = "";
    char *ids = malloc (64 * 1024);
    int pages = 0;
    all[0] = 0;
    do {
        snprintf (token, sizeof token, "%s", next);
        size_t n = s_instances_page (p, filters, max, token, ids, 64 * 1024, next);
        if (pages < 8)
            sizes[pages] = n;
        pages++;
        if (n)
            snprintf (all + strlen (all), len - strlen (all), "%s%s", *all ? " " : "", ids);
        if (n == 0 && !*next)
            break;
    } while (*next && pages < 100);
    free (ids);
    return pages;
}

static void test_instance_pages (peer_t *alice)
{
    char id[CTL_IID_MAX], want[FLEET * 22 + 1] = "", online[FLEET * 22 + 1] = "";
    for (int i = 0; i < FLEET; i++) {
        s_fleet_id (i, id);
        s_instance (id, "fleet=big", i % 3 ? "Debian-12" : "Ubuntu-24.04",
                    i % 2 ? "ConnectionLost" : "Online", 500);
        snprintf (want + strlen (want), sizeof want - strlen (want), "%s%s", i ? " " : "", id);
        if (i % 2 == 0)
            snprintf (online + strlen (online), sizeof online - strlen (online), "%s%s",
                      *online ? " " : "", id);
    }
    char *all = malloc (64 * 1024), next[64];
    size_t sizes[8] = {0};
    const filter_t *fleet = FILTERS ({"tag:fleet", {"big"}});

    CHECK (s_all_pages (alice, fleet, 50, all, 64 * 1024, sizes) == 3);
    CHECK (sizes[0] == 50 && sizes[1] == 50 && sizes[2] == 20);
    CHECK_STR (all, want);                                             /* in id order, each once */
    CHECK (s_all_pages (alice, fleet, 0, all, 64 * 1024, sizes) == 3); /* default: 50 */
    CHECK (sizes[0] == 50);
    CHECK_STR (all, want);
    CHECK (s_all_pages (alice, fleet, 1000, all, 64 * 1024, sizes) == 1);
    CHECK (sizes[0] == FLEET);
    CHECK_STR (all, want);
    /* exactly a page: no token */
    CHECK (s_all_pages (alice, fleet, FLEET, all, 64 * 1024, sizes) == 1);

    /* the script's PingStatus agrees with ctl_ping_status; full pages */
    const filter_t *up = FILTERS ({"tag:fleet", {"big"}}, {"PingStatus", {"Online"}});
    CHECK (s_all_pages (alice, up, 25, all, 64 * 1024, sizes) == 3);
    CHECK (sizes[0] == 25 && sizes[1] == 25 && sizes[2] == 10);
    CHECK_STR (all, online);
    const filter_t *none = FILTERS ({"PingStatus", {"Online"}}, {"PingStatus", {"ConnectionLost"}});
    CHECK (s_instances_page (alice, none, 0, NULL, all, 64 * 1024, next) == 0);
    CHECK_STR (next, "");
    const filter_t *ubuntu =
        FILTERS ({"tag:fleet", {"big"}}, {"PlatformName", {"Ubuntu-24.04", "Debian-12"}},
                 {"PlatformName", {"Ubuntu-24.04"}});
    CHECK (s_all_pages (alice, ubuntu, 0, all, 64 * 1024, sizes) == 1);
    CHECK (sizes[0] == FLEET / 3);

    /* a token names a position: an instance added before it shifts nothing */
    s_instances_page (alice, fleet, 50, NULL, all, 64 * 1024, next);
    s_fleet_id (0, id);
    CHECK (strncmp (next, "i1.", 3) == 0);
    s_instance ("mi-10000000000000000", "fleet=big", "Debian-12", "Online", 0);
    char *page2 = malloc (64 * 1024);
    s_instances_page (alice, fleet, 50, next, page2, 64 * 1024, next);
    s_fleet_id (50, id);
    CHECK (strncmp (page2, id, strlen (id)) == 0);
    h_redis ("SREM ph:tag:{fleet=big} mi-10000000000000000");

    s_instances_page (alice, fleet, 1001, NULL, all, 64 * 1024, next);
    h_expect_in ("max", all, "InvalidRequest: porthole: max_results must be 1..1000 (got 1001)");
    s_instances_page (alice, fleet, 0, "abc", all, 64 * 1024, next);
    h_expect_in ("token", all, "next_token is not one this cluster issued");
    s_instances_page (alice, fleet, 0, "i1.mi-xyz", all, 64 * 1024, next);
    h_expect_in ("token id", all, "next_token is not one this cluster issued");
    free (page2);
    free (all);
}

/*  Instances with 50 tags of the longest size: 1000 of them would be ~20
 *  MB; a page stops before the 1 MiB frame and goes on from there. */
static void test_instance_pages_fit_a_frame (peer_t *alice)
{
    enum { BIG = 70 };
    size_t cap = PH_TAGS_MAX * (PH_TAG_KEY_MAX + PH_TAG_VALUE_MAX + 2) + 32;
    char *tags = malloc (cap), key[PH_TAG_KEY_MAX + 1], value[PH_TAG_VALUE_MAX + 1];
    memset (value, 'v', PH_TAG_VALUE_MAX);
    value[PH_TAG_VALUE_MAX] = 0;
    snprintf (tags, cap, "huge=yes");
    for (int t = 1; t < PH_TAGS_MAX; t++) {
        memset (key, 'k', PH_TAG_KEY_MAX);
        snprintf (key + PH_TAG_KEY_MAX - 3, 4, "%03d", t);
        snprintf (tags + strlen (tags), cap - strlen (tags), ",%s=%s", key, value);
    }
    char id[CTL_IID_MAX];
    for (int i = 0; i < BIG; i++) {
        snprintf (id, sizeof id, "mi-20000000000000%03x", i);
        s_instance (id, tags, "Debian-12", "Online", 500);
    }
    char *all = malloc (64 * 1024);
    size_t sizes[8] = {0};
    int pages = s_all_pages (alice, FILTERS ({"tag:huge", {"yes"}}), 1000, all, 64 * 1024, sizes);
    CHECK (pages == 2);
    CHECK (sizes[0] > 40 && sizes[0] < BIG && sizes[0] + sizes[1] == BIG);
    snprintf (id, sizeof id, "mi-20000000000000%03x", BIG - 1);
    CHECK (strstr (all, id) != NULL);
    free (all);
    free (tags);
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
    test_instance_pages (alice);
    test_instance_pages_fit_a_frame (alice);
    test_sessions (alice);
    h_peer_destroy (&alice);
    h_peer_destroy (&bob);
    h_stop ();
    PH_TEST_END ();
}
