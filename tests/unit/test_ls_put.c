/*  Unit tests of logshipper/ls_put.c: PutLogEvents, its validation and its
 *  one append script, against a real redis-server on a free loopback port
 *  and an in-process logshipper (ls_new) whose reactor the test runs.
 *  Peers are CURVE DEALERs whose keys Redis maps to identities, as
 *  enrollment does.
 *
 *  Covered: de-duplication by batch id (the same batch again, with other
 *  events, to another stream, twice in one pipeline, from two
 *  connections; the dedup key's 24 h expiry; a refused batch does not
 *  count as seen); the reply goes out only after Redis answered (Redis
 *  frozen with SIGSTOP: no reply until it runs again); what is stored
 *  (event fields, stream and group metadata, stream index); the limits
 *  (10,000 events; names; batch ids; order within a batch and against the
 *  stream's last event; equal timestamps); invalid UTF-8; identities
 *  (only instances); a body that is not PutLogEvents; a group that does
 *  not exist when auto-create is off; an Error's text is valid UTF-8.
 *
 *  CHECK_KNOWN_BUG marks checks of bugs found by these tests and since
 *  fixed: a plain CHECK with the bug's description. */
#include "ls.h"
#include "ph_test.h"
#include "ph_test_loop.h"
#include "ph_test_redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS       5000 /* deadline of every reply */
#define FROZEN_MS     500  /* while Redis is stopped, no reply within this */
#define INSTANCE      "instance:mi-0123456789abcdef0"
#define GROUP         "test/group"
#define DEDUP_SLACK_S 60
#define INBOX_MAX     64
#define ANSWER_MS     1000 /* an answer that should come at once */

#define CHECK_KNOWN_BUG(cond, what) CHECK ((cond) && (what))

typedef struct {
    zsock_t *sock;
    ph_keypair_t kp;
    ph_env_t *inbox[INBOX_MAX];
    size_t n;
    size_t bad; /* frames that did not decode (an agent drops them) */
} peer_t;

static struct {
    pid_t redis_pid;
    char redis_dir[64];
    char redis_url[64];
    ph_redis_sync_t *sync;
    ls_t *ls;
    ph_keypair_t keys;
    char endpoint[64];
    uint64_t next_id;
    uint64_t now; /* timestamps of the events the test sends */
} T;

static char s_text[4096];

/*  A command on the sync client; its string or integer reply as text. */
static char *s_redis (const char *fmt, const char *a, const char *b)
{
    ph_reply_t *r = ph_redis_sync_cmd (T.sync, fmt, a, b);
    const char *s = ph_reply_str (r);
    if (ph_reply_is_int (r))
        snprintf (s_text, sizeof s_text, "%lld", ph_reply_int (r));
    else
        snprintf (s_text, sizeof s_text, "%s", s ? s : "");
    ph_reply_free (&r);
    return s_text;
}

static bool s_redis_start (void)
{
    snprintf (T.redis_dir, sizeof T.redis_dir, "/tmp/ph-test-ls-XXXXXX");
    T.sync =
        ph_test_redis_start (T.redis_dir, T.redis_url, sizeof T.redis_url, &T.redis_pid, WAIT_MS);
    return T.sync != NULL;
}

static void s_run_ms (int ms)
{
    ph_test_loop_run_ms (T.ls->loop, (size_t)ms);
}

static bool s_ls_start (bool auto_create)
{
    ph_keys_generate (&T.keys);
    snprintf (T.endpoint, sizeof T.endpoint, "tcp://127.0.0.1:%d", ph_test_free_port ());
    ls_options_t opt;
    memset (&opt, 0, sizeof opt);
    opt.redis_url = T.redis_url;
    opt.bind = T.endpoint;
    snprintf (opt.advertise, sizeof opt.advertise, "%s", T.endpoint);
    opt.auto_create = auto_create;
    char err[256];
    T.ls = ls_new (&opt, &T.keys, NULL, "l-0000test", err, sizeof err);
    if (!T.ls) {
        fprintf (stderr, "ls_new: %s\n", err);
        return false;
    }
    uint64_t deadline = ph_mono_ms () + WAIT_MS;
    while (!ph_redis_connected (T.ls->redis) && ph_mono_ms () < deadline)
        s_run_ms (10);
    return ph_redis_connected (T.ls->redis);
}

/* ---- peers ---------------------------------------------------------------- */

static int s_on_peer (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    peer_t *p = arg;
    bool got = false;
    for (;;) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            break;
        if (rc == 0 && p->n < INBOX_MAX) {
            p->inbox[p->n++] = env;
            got = true;
        } else {
            p->bad += rc != 0;
            got |= rc != 0;
            ph_wire_free (&env);
        }
    }
    return got ? -1 : 0; /* wake the waiting test */
}

/*  A DEALER to the logshipper whose key Redis maps to identity (NULL: an
 *  unknown key). */
static peer_t *s_peer (const char *identity)
{
    peer_t *p = calloc (1, sizeof *p);
    ph_keys_generate (&p->kp);
    if (identity) {
        char key[64];
        snprintf (key, sizeof key, "ph:key:{%s}", p->kp.public_z85);
        s_redis ("SET %s %s", key, identity);
    }
    p->sock = zsock_new (ZMQ_DEALER);
    ph_keys_setup_client (p->sock, &p->kp, T.keys.public_z85);
    zsock_connect (p->sock, "%s", T.endpoint);
    zloop_reader (T.ls->loop, p->sock, s_on_peer, p);
    return p;
}

static void s_peer_destroy (peer_t **p_p)
{
    peer_t *p = *p_p;
    zloop_reader_end (T.ls->loop, p->sock);
    zsock_destroy (&p->sock);
    for (size_t i = 0; i < p->n; i++)
        ph_wire_free (&p->inbox[i]);
    free (p);
    *p_p = NULL;
}

/*  The reply to request_id (0: any), waiting up to timeout_ms; the caller
 *  frees it. */
static ph_env_t *s_wait (peer_t *p, uint64_t request_id, int timeout_ms)
{
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    for (;;) {
        for (size_t i = 0; i < p->n; i++)
            if (!request_id || p->inbox[i]->request_id == request_id) {
                ph_env_t *env = p->inbox[i];
                memmove (p->inbox + i, p->inbox + i + 1, (p->n - i - 1) * sizeof *p->inbox);
                p->n--;
                return env;
            }
        uint64_t now = ph_mono_ms ();
        if (now >= deadline)
            return NULL;
        s_run_ms ((int)(deadline - now));
    }
}

/* ---- batches -------------------------------------------------------------- */

typedef struct {
    const char *batch_id, *group, *stream;
    size_t n;
    const uint64_t *ts;  /* n timestamps; NULL: all T.now */
    const char *message; /* every event's text; NULL: "event I" */
} batch_t;

/*  Sends the batch from p; returns its request id. */
static uint64_t s_send (peer_t *p, const batch_t *b)
{
    Porthole__V1__LogEvent *ev = calloc (b->n + 1, sizeof *ev);
    Porthole__V1__LogEvent **evp = calloc (b->n + 1, sizeof *evp);
    char *text = calloc (b->n + 1, 32);
    for (size_t i = 0; i < b->n; i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        ev[i] = init;
        ev[i].timestamp_ms = b->ts ? b->ts[i] : T.now;
        snprintf (text + 32 * i, 32, "event %zu", i);
        ev[i].message = (char *)(b->message ? b->message : text + 32 * i);
        evp[i] = &ev[i];
    }
    Porthole__V1__PutLogEvents put = PORTHOLE__V1__PUT_LOG_EVENTS__INIT;
    put.batch_id = (char *)b->batch_id;
    put.log_group = (char *)(b->group ? b->group : GROUP);
    put.log_stream = (char *)b->stream;
    put.n_events = b->n;
    put.events = evp;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = ++T.next_id;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS;
    env.put_log_events = &put;
    CHECK (ph_wire_send (p->sock, NULL, 0, &env) == 0);
    free (text);
    free (evp);
    free (ev);
    return env.request_id;
}

/*  Sends b and checks the reply: accepted events and duplicate flag. */
static void s_put_ok (peer_t *p, const batch_t *b, uint32_t accepted, bool duplicate)
{
    ph_env_t *r = s_wait (p, s_send (p, b), WAIT_MS);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY) {
        CHECK_STR (r->put_log_events_reply->batch_id, b->batch_id);
        CHECK (r->put_log_events_reply->accepted == accepted);
        CHECK (r->put_log_events_reply->duplicate == duplicate);
    } else if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        fprintf (stderr, "  batch %s: %s %s\n", b->batch_id, r->error->code, r->error->message);
    ph_wire_free (&r);
}

/*  Checks that r is Error{code} with want in its message; frees r. */
static void s_expect_error (ph_env_t *r, const char *code, const char *want)
{
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR);
    if (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        CHECK_STR (r->error->code, code);
        CHECK (strstr (r->error->message, want) != NULL);
        if (!strstr (r->error->message, want))
            fprintf (stderr, "  '%s' lacks '%s'\n", r->error->message, want);
    }
    ph_wire_free (&r);
}

static void s_put_fails (peer_t *p, const batch_t *b, const char *code, const char *want)
{
    s_expect_error (s_wait (p, s_send (p, b), WAIT_MS), code, want);
}

static const char *s_xlen (const char *stream)
{
    char key[1200];
    snprintf (key, sizeof key, "ph:logs:{%s}:%s", GROUP, stream);
    return s_redis ("XLEN %s", key, NULL);
}

static bool s_batch_seen (const char *batch_id)
{
    char key[256];
    snprintf (key, sizeof key, "ph:logbatch:{%s}", batch_id);
    return strcmp (s_redis ("EXISTS %s", key, NULL), "1") == 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_dedupe_by_batch_id (peer_t *agent)
{
    uint64_t ts[] = {T.now, T.now, T.now + 1};
    batch_t b = {.batch_id = "s-1.00000000", .stream = "s-1", .n = 3, .ts = ts};
    s_put_ok (agent, &b, 3, false);
    CHECK_STR (s_xlen ("s-1"), "3");
    char bytes[32];
    snprintf (bytes, sizeof bytes, "%s",
              s_redis ("HGET %s %s", "ph:logstream:{" GROUP "}:s-1", "stored_bytes"));
    /* again, as an agent does after a lost reply: acknowledged, not appended */
    s_put_ok (agent, &b, 0, true);
    CHECK_STR (s_xlen ("s-1"), "3");
    CHECK_STR (s_redis ("HGET %s %s", "ph:logstream:{" GROUP "}:s-1", "stored_bytes"), bytes);
    /* the id decides, not the content nor the stream */
    batch_t other = {.batch_id = "s-1.00000000", .stream = "s-1", .n = 5};
    s_put_ok (agent, &other, 0, true);
    other.stream = "elsewhere";
    s_put_ok (agent, &other, 0, true);
    CHECK_STR (s_xlen ("s-1"), "3");
    CHECK_STR (s_redis ("EXISTS %s", "ph:logs:{" GROUP "}:elsewhere", NULL), "0");
    long ttl = atol (s_redis ("TTL %s", "ph:logbatch:{s-1.00000000}", NULL));
    CHECK (ttl > LS_DEDUP_TTL_S - DEDUP_SLACK_S && ttl <= LS_DEDUP_TTL_S);

    /* the same batch twice in one pipeline, and once more from a second
     * connection of the same instance: appended exactly once */
    peer_t *again = s_peer (INSTANCE);
    batch_t p2 = {.batch_id = "s-1.00000001", .stream = "s-1", .n = 4};
    T.now++;
    uint64_t r1 = s_send (agent, &p2), r2 = s_send (agent, &p2), r3 = s_send (again, &p2);
    ph_env_t *a = s_wait (agent, r1, WAIT_MS), *b2 = s_wait (agent, r2, WAIT_MS),
             *c = s_wait (again, r3, WAIT_MS);
    int fresh = 0, dups = 0;
    ph_env_t *all[] = {a, b2, c};
    for (int i = 0; i < 3; i++) {
        CHECK (all[i] && all[i]->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY);
        if (!all[i] || all[i]->body_case != PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY)
            continue;
        if (all[i]->put_log_events_reply->duplicate)
            dups += all[i]->put_log_events_reply->accepted == 0;
        else
            fresh += all[i]->put_log_events_reply->accepted == 4;
        ph_wire_free (&all[i]);
    }
    CHECK (fresh == 1 && dups == 2);
    CHECK_STR (s_xlen ("s-1"), "7");
    s_peer_destroy (&again);
    /* an old batch sent again after later ones were appended is a duplicate,
     * not a batch that goes back in time */
    s_put_ok (agent, &b, 0, true);

    /* a refused batch is not "seen": once it is right, it is appended */
    uint64_t back[] = {T.now - 10};
    batch_t late = {.batch_id = "s-1.00000002", .stream = "s-1", .n = 1, .ts = back};
    s_put_fails (agent, &late, LS_E_INVALID_REQUEST, "before the last event");
    CHECK (!s_batch_seen ("s-1.00000002"));
    late.ts = NULL;
    s_put_ok (agent, &late, 1, false);
    CHECK (s_batch_seen ("s-1.00000002"));
    CHECK_STR (s_xlen ("s-1"), "8");

    T.ls->opt.auto_create = false;
    batch_t nogroup = {.batch_id = "s-9.00000000", .group = "no/such", .stream = "s-9", .n = 2};
    s_put_fails (agent, &nogroup, LS_E_RESOURCE_NOT_FOUND, "create-log-group no/such");
    CHECK (!s_batch_seen ("s-9.00000000"));
    CHECK_STR (s_redis ("SISMEMBER %s %s", "ph:loggroups", "no/such"), "0");
    s_redis ("HSET %s name %s", "ph:loggroup:{no/such}", "no/such");
    s_put_ok (agent, &nogroup, 2, false);
    T.ls->opt.auto_create = true;
}

/*  The reply is sent once Redis answered, never before. */
static void test_reply_after_redis (peer_t *agent)
{
    batch_t b = {.batch_id = "s-2.00000000", .stream = "s-2", .n = 2};
    kill (T.redis_pid, SIGSTOP);
    uint64_t rid = s_send (agent, &b);
    ph_env_t *early = s_wait (agent, rid, FROZEN_MS);
    CHECK (early == NULL);
    ph_wire_free (&early);
    kill (T.redis_pid, SIGCONT);
    ph_env_t *r = s_wait (agent, rid, WAIT_MS);
    CHECK (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY &&
           r->put_log_events_reply->accepted == 2);
    ph_wire_free (&r);
    CHECK_STR (s_xlen ("s-2"), "2");
}

static void test_stored_form (peer_t *agent)
{
    uint64_t ts[] = {T.now + 100, T.now + 100, T.now + 250};
    batch_t b = {.batch_id = "s-3.00000000", .stream = "s-3", .n = 3, .ts = ts, .message = "héllo"};
    uint64_t before = ph_now_ms ();
    s_put_ok (agent, &b, 3, false);
    ph_reply_t *r = ph_redis_sync_cmd (T.sync, "XRANGE %s - +", "ph:logs:{" GROUP "}:s-3");
    CHECK (ph_reply_count (r) == 3);
    for (size_t i = 0; i < ph_reply_count (r); i++) {
        ph_reply_t *fields = ph_reply_at (ph_reply_at (r, i), 1);
        char want[24];
        snprintf (want, sizeof want, "%llu", (unsigned long long)ts[i]);
        CHECK_STR (ph_reply_field (fields, "ts"), want);
        CHECK_STR (ph_reply_field (fields, "msg"), "héllo");
        const char *ing = ph_reply_field (fields, "ing");
        CHECK (ing && strtoull (ing, NULL, 10) >= before);
    }
    ph_reply_free (&r);
    char first[24], last[24];
    snprintf (first, sizeof first, "%llu", (unsigned long long)ts[0]);
    snprintf (last, sizeof last, "%llu", (unsigned long long)ts[2]);
    const char *meta = "ph:logstream:{" GROUP "}:s-3";
    CHECK_STR (s_redis ("HGET %s %s", meta, "first_ts"), first);
    CHECK_STR (s_redis ("HGET %s %s", meta, "last_ts"), last);
    CHECK_STR (s_redis ("HGET %s %s", meta, "stored_bytes"), "18"); /* 3 x 6 bytes */
    CHECK_STR (s_redis ("ZSCORE %s %s", "ph:logstreams:{" GROUP "}", "s-3"), last);
    CHECK_STR (s_redis ("SISMEMBER %s %s", "ph:loggroups", GROUP), "1");
    CHECK_STR (s_redis ("HGET %s %s", "ph:loggroup:{" GROUP "}", "auto"), "1");
    /* a later batch at the same millisecond as the last event is in order */
    uint64_t same[] = {T.now + 250};
    batch_t next = {.batch_id = "s-3.00000001", .stream = "s-3", .n = 1, .ts = same};
    s_put_ok (agent, &next, 1, false);
    CHECK_STR (s_redis ("HGET %s %s", meta, "first_ts"), first);
}

static void test_limits (peer_t *agent)
{
    batch_t full = {.batch_id = "s-4.00000000", .stream = "s-4", .n = LS_BATCH_EVENTS_MAX};
    s_put_ok (agent, &full, LS_BATCH_EVENTS_MAX, false);
    batch_t over = {.batch_id = "s-4.00000001", .stream = "s-4", .n = LS_BATCH_EVENTS_MAX + 1};
    s_put_fails (agent, &over, LS_E_INVALID_REQUEST, "(max 10000)");
    CHECK_STR (s_xlen ("s-4"), "10000");

    uint64_t ts[] = {T.now + 500, T.now + 499};
    batch_t order = {.batch_id = "s-4.00000002", .stream = "s-4", .n = 2, .ts = ts};
    s_put_fails (agent, &order, LS_E_INVALID_REQUEST, "timestamp order");

    char name[LS_NAME_MAX + 2];
    memset (name, 'n', sizeof name);
    name[LS_NAME_MAX] = 0;
    batch_t longest = {.batch_id = "s-4.00000003", .stream = name, .n = 1};
    s_put_ok (agent, &longest, 1, false);
    name[LS_NAME_MAX] = 'n';
    name[LS_NAME_MAX + 1] = 0;
    batch_t too_long = {.batch_id = "s-4.00000004", .stream = name, .n = 1};
    s_put_fails (agent, &too_long, LS_E_INVALID_REQUEST, "names must be");
    batch_t space = {.batch_id = "s-4.00000005", .group = "bad group", .stream = "s", .n = 1};
    s_put_fails (agent, &space, LS_E_INVALID_REQUEST, "names must be");
    batch_t colon = {.batch_id = "s-4.00000006", .stream = "a:b", .n = 1};
    s_put_fails (agent, &colon, LS_E_INVALID_REQUEST, "names must be");

    char id[LS_BATCH_ID_MAX + 2];
    memset (id, 'i', sizeof id);
    id[LS_BATCH_ID_MAX] = 0;
    batch_t id_ok = {.batch_id = id, .stream = "s-4", .n = 1};
    s_put_ok (agent, &id_ok, 1, false);
    id[LS_BATCH_ID_MAX] = 'i';
    id[LS_BATCH_ID_MAX + 1] = 0;
    batch_t id_long = {.batch_id = id, .stream = "s-4", .n = 1};
    s_put_fails (agent, &id_long, LS_E_INVALID_REQUEST, "batch_id must be");
    batch_t id_bad = {.batch_id = "a batch", .stream = "s-4", .n = 1};
    s_put_fails (agent, &id_bad, LS_E_INVALID_REQUEST, "batch_id must be");

    /* text must be UTF-8: the frame does not even decode */
    batch_t bad_utf8 = {.batch_id = "s-4.00000007", .stream = "s-4", .n = 1, .message = "\xff"};
    s_send (agent, &bad_utf8);
    s_expect_error (s_wait (agent, 0, WAIT_MS), LS_E_INVALID_REQUEST, "cannot read the message");
    CHECK (!s_batch_seen ("s-4.00000007"));
}

/*  An Error must itself be a valid frame: its text quotes the bad name cut
 *  to 64 bytes, here in the middle of a two-byte character. An agent that
 *  cannot decode the answer never learns that the batch is refused, and
 *  resends it forever. */
static void test_error_text_is_utf8 (peer_t *agent)
{
    char group[96] = "x";
    for (int i = 0; i < 40; i++)
        strcat (group, "\xC3\xA9"); /* not a valid name, valid UTF-8 */
    batch_t b = {.batch_id = "s-6.00000000", .group = group, .stream = "s-6", .n = 1};
    size_t bad = agent->bad;
    uint64_t rid = s_send (agent, &b);
    ph_env_t *r = s_wait (agent, rid, ANSWER_MS);
    CHECK (r != NULL || agent->bad > bad); /* answered at once, one way or the other */
    CHECK_KNOWN_BUG (r && r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR &&
                         strcmp (r->error->code, LS_E_INVALID_REQUEST) == 0,
                     "the logshipper's Error quoting a name cut by %.64s is not valid UTF-8, "
                     "so the agent drops it as a bad frame");
    ph_wire_free (&r);
}

static void test_identities_and_bodies (peer_t *agent)
{
    batch_t b = {.batch_id = "s-5.00000000", .stream = "s-5", .n = 1};
    peer_t *user = s_peer ("user:alice");
    s_put_fails (user, &b, LS_E_ACCESS_DENIED, "only registered instances");
    peer_t *stranger = s_peer (NULL);
    s_put_fails (stranger, &b, LS_E_ACCESS_DENIED, "only registered instances");
    CHECK (!s_batch_seen ("s-5.00000000"));
    s_peer_destroy (&user);
    s_peer_destroy (&stranger);

    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = ++T.next_id;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    ph_wire_send (agent->sock, NULL, 0, &env);
    s_expect_error (s_wait (agent, env.request_id, WAIT_MS), LS_E_INVALID_REQUEST,
                    "only put_log_events");
    /* the logshipper goes on after all of this */
    s_put_ok (agent, &b, 1, false);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ls_put");
    zsys_init ();
    zsys_handler_set (NULL);
    signal (SIGPIPE, SIG_IGN);
    CHECK (s_redis_start ());
    CHECK (T.sync && s_ls_start (true));
    if (!T.ls) {
        if (T.redis_pid > 0)
            kill (T.redis_pid, SIGKILL);
        PH_TEST_END ();
    }
    T.now = ph_now_ms ();
    peer_t *agent = s_peer (INSTANCE);

    test_dedupe_by_batch_id (agent);
    test_reply_after_redis (agent);
    test_stored_form (agent);
    test_limits (agent);
    test_error_text_is_utf8 (agent);
    test_identities_and_bodies (agent);

    s_peer_destroy (&agent);
    ls_destroy (&T.ls);
    ph_redis_sync_destroy (&T.sync);
    kill (T.redis_pid, SIGKILL);
    waitpid (T.redis_pid, NULL, 0);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", T.redis_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", T.redis_dir);
    PH_TEST_END ();
}
