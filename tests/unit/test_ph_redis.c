/*  Unit tests of common/ph_redis.c against a real redis-server started on a
 *  free loopback port: async commands on a zloop, replies, the sync client,
 *  and reconnection after Redis restarts. */
#include "ph_errors.h"
#include "ph_redis.h"
#include "ph_test.h"
#include "ph_test_redis.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int s_port;
static char s_dir[] = "/tmp/ph-test-redis-XXXXXX";

static pid_t s_start_redis (void)
{
    return ph_test_redis_spawn (s_port, s_dir);
}

static void s_stop_redis (pid_t pid)
{
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
}

typedef struct {
    int replies;
    int ups, downs;
    char last[64];
} ctx_t;

static void s_on_reply (ph_redis_t *r, ph_reply_t *reply, void *arg)
{
    (void)r;
    ctx_t *ctx = arg;
    ctx->replies++;
    snprintf (ctx->last, sizeof ctx->last, "%s", ph_reply_str (reply) ? ph_reply_str (reply) : "");
}

static void s_on_state (ph_redis_t *r, bool up, void *arg)
{
    (void)r;
    ctx_t *ctx = arg;
    if (up)
        ctx->ups++;
    else
        ctx->downs++;
}

typedef struct {
    ctx_t *ctx;
    int want_ups;
    int want_replies;
    uint64_t deadline;
} wait_t;

static int s_poll (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    wait_t *w = arg;
    if (w->ctx->ups >= w->want_ups && w->ctx->replies >= w->want_replies)
        return -1;
    return zclock_mono () > (int64_t)w->deadline ? -1 : 0;
}

static void s_run_until (zloop_t *loop, ctx_t *ctx, int ups, int replies)
{
    wait_t w = {ctx, ups, replies, (uint64_t)zclock_mono () + 5000};
    int t = zloop_timer (loop, 10, 0, s_poll, &w);
    zloop_start (loop);
    zloop_timer_end (loop, t);
}

int main (void)
{
    zsys_init ();
    char host[256];
    int port, db;
    CHECK (ph_redis_parse_url ("redis://127.0.0.1:6379", host, &port, &db) == 0 && port == 6379);
    CHECK (ph_redis_parse_url ("redis://h:1/3", host, &port, &db) == 0 && db == 3);
    CHECK (ph_redis_parse_url ("unix:///run/r.sock", host, &port, &db) == 0 && port == 0);
    CHECK (ph_redis_parse_url ("http://x:1", host, &port, &db) == PH_EINVAL);
    CHECK (ph_redis_parse_url ("redis://x:99999", host, &port, &db) == PH_EINVAL);
    CHECK (ph_redis_parse_url ("redis://x", host, &port, &db) == PH_EINVAL);

    CHECK (mkdtemp (s_dir) != NULL);
    s_port = ph_test_free_port ();
    pid_t pid = s_start_redis ();
    char url[64];
    snprintf (url, sizeof url, "redis://127.0.0.1:%d", s_port);

    zloop_t *loop = zloop_new ();
    ctx_t ctx = {0};
    ph_redis_t *r = ph_redis_new (loop, url, s_on_state, &ctx);
    CHECK (r != NULL);
    CHECK (ph_redis_new (loop, "nonsense", NULL, NULL) == NULL);
    s_run_until (loop, &ctx, 1, 0);
    CHECK (ph_redis_connected (r));
    CHECK (ph_redis_cmd (r, s_on_reply, &ctx, "SET %s %s", "k", "v1") == 0);
    CHECK (ph_redis_cmd (r, s_on_reply, &ctx, "GET %s", "k") == 0);
    s_run_until (loop, &ctx, 1, 2);
    CHECK (ctx.replies == 2);
    CHECK_STR (ctx.last, "v1");

    char err[256];
    ph_redis_sync_t *sync = ph_redis_sync_new (url, err, sizeof err);
    CHECK (sync != NULL);
    ph_reply_t *rep = ph_redis_sync_cmd (sync, "HSET h a 1 b 2");
    ph_reply_free (&rep);
    rep = ph_redis_sync_cmd (sync, "HGETALL h");
    CHECK (ph_reply_is_array (rep) && ph_reply_count (rep) == 4);
    CHECK_STR (ph_reply_field (rep, "b"), "2");
    CHECK (ph_reply_field (rep, "zz") == NULL);
    ph_reply_free (&rep);
    ph_redis_sync_destroy (&sync);

    /* Redis goes away: commands fail fast, then it comes back */
    s_stop_redis (pid);
    s_run_until (loop, &ctx, 99, 99); /* runs until the 5 s deadline */
    CHECK (ctx.downs == 1 && !ph_redis_connected (r));
    CHECK (ph_redis_cmd (r, s_on_reply, &ctx, "PING") == PH_EREDIS);
    pid = s_start_redis ();
    s_run_until (loop, &ctx, 2, 0);
    CHECK (ctx.ups == 2 && ph_redis_connected (r));
    CHECK (ph_redis_cmd (r, s_on_reply, &ctx, "PING") == 0);
    s_run_until (loop, &ctx, 2, 3);
    CHECK_STR (ctx.last, "PONG");

    snprintf (url, sizeof url, "redis://127.0.0.1:%d", ph_test_free_port ());
    CHECK (ph_redis_sync_new (url, err, sizeof err) == NULL && strstr (err, "cannot reach"));

    ph_redis_destroy (&r);
    CHECK (r == NULL);
    zloop_destroy (&loop);
    s_stop_redis (pid);
    rmdir (s_dir);
    PH_TEST_END ();
}
