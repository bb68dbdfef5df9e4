/*  Unit tests of common/ph_keycache.c with common/ph_zap.c: real CURVE
 *  handshakes over loopback TCP to a ROUTER whose ZAP handler resolves keys
 *  through the cache and a real redis-server on a free port.
 *  - a registered key gets its identity, an unknown one "key:Z85";
 *  - while Redis is down a handshake is held, never refused (the client's
 *    monitor sees no failed handshake), and completes once Redis is back;
 *  - a Redis error reply (WRONGTYPE) holds it too, until the key is fixed;
 *  - an answer is cached: the same key connects again with Redis down;
 *  - ph_zap_retry_held asks again at once. */
#include "ph_errors.h"
#include "ph_keycache.h"
#include "ph_keys.h"
#include "ph_log.h"
#include "ph_redis.h"
#include "ph_test.h"
#include "ph_test_loop.h"
#include "ph_test_redis.h"
#include "ph_util.h"
#include "ph_wire.h"
#include "ph_zap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TTL_MS 60000

typedef struct {
    zloop_t *loop;
    ph_zap_t *zap;
    ph_keycache_t *cache;
    ph_redis_t *redis;
    zsock_t *router;
    ph_keypair_t server;
    char endpoint[64];
    pid_t redis_pid;
    int redis_port;
    char redis_dir[64];
    char last_user_id[PH_USER_ID_MAX];
    int received;
    int lookups;
} fixture_t;

static fixture_t F;

static void s_map (const char *value, const char *key_z85, char *identity, size_t len)
{
    if (value)
        snprintf (identity, len, "%s", value);
    else
        snprintf (identity, len, "key:%s", key_z85);
}

static void s_lookup (ph_zap_t *zap, ph_zap_request_t *req, const char *domain, const char *key,
                      void *arg)
{
    (void)arg;
    F.lookups++;
    if (strcmp (domain, "test-domain")) {
        ph_zap_reply (zap, req, NULL);
        return;
    }
    ph_keycache_resolve (F.cache, F.redis, zap, req, key);
}

static int s_on_router (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop, (void)arg;
    ph_wire_rx_t rx;
    ph_env_t *env;
    char err[256];
    if (ph_wire_recv (sock, true, &rx, &env, err, sizeof err) == 0) {
        snprintf (F.last_user_id, sizeof F.last_user_id, "%s", rx.user_id);
        F.received++;
        ph_wire_free (&env);
    }
    ph_wire_rx_close (&rx);
    return 0;
}

/*  Runs the loop for ms. */
static void s_run_ms (int ms)
{
    ph_test_loop_run_ms (F.loop, (size_t)ms);
}

/*  Runs the loop until *counter > before or timeout_ms passed. */
static bool s_run_until (int *counter, int before, int timeout_ms)
{
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    while (*counter <= before && ph_mono_ms () < deadline)
        s_run_ms (10);
    return *counter > before;
}

static void s_redis_start (void)
{
    F.redis_pid = ph_test_redis_spawn (F.redis_port, F.redis_dir);
}

static void s_redis_stop (void)
{
    if (F.redis_pid > 0) {
        kill (F.redis_pid, SIGKILL);
        waitpid (F.redis_pid, NULL, 0);
    }
    F.redis_pid = -1;
}

/*  A blocking command on a short-lived connection (hiredis format),
 *  waiting up to 10 s for a redis-server that is starting. The reactor
 *  does not run meanwhile. */
static void s_redis_cmd (const char *fmt, const char *a, const char *b)
{
    char url[64], err[256];
    snprintf (url, sizeof url, "redis://127.0.0.1:%d", F.redis_port);
    ph_redis_sync_t *sync = NULL;
    uint64_t deadline = ph_mono_ms () + 10000;
    while (!(sync = ph_redis_sync_new (url, err, sizeof err)) && ph_mono_ms () < deadline)
        usleep (20000);
    CHECK (sync != NULL);
    if (!sync)
        return;
    ph_reply_t *r = b ? ph_redis_sync_cmd (sync, fmt, a, b) : ph_redis_sync_cmd (sync, fmt, a);
    CHECK (ph_reply_ok (r));
    ph_reply_free (&r);
    ph_redis_sync_destroy (&sync);
}

static bool s_wait_connected (bool want, int timeout_ms)
{
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    while (ph_redis_connected (F.redis) != want && ph_mono_ms () < deadline)
        s_run_ms (20);
    return ph_redis_connected (F.redis) == want;
}

typedef struct {
    zsock_t *dealer;
    zsock_t *monitor;
    int failed; /* ZMQ_EVENT_HANDSHAKE_FAILED_* seen */
} client_t;

/*  A CURVE client with kp that sends one message at once (queued until
 *  the handshake completes). */
static client_t s_client (const ph_keypair_t *kp, int n)
{
    client_t c = {0};
    char ep[64];
    snprintf (ep, sizeof ep, "inproc://test-keycache-monitor-%d", n);
    c.dealer = zsock_new (ZMQ_DEALER);
    CHECK (ph_keys_setup_client (c.dealer, kp, F.server.public_z85) == 0);
    zmq_socket_monitor (zsock_resolve (c.dealer), ep,
                        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    c.monitor = zsock_new (ZMQ_PAIR);
    zsock_connect (c.monitor, "%s", ep);
    CHECK (zsock_connect (c.dealer, "%s", F.endpoint) == 0);
    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    CHECK (ph_wire_send (c.dealer, NULL, 0, &env) == 0);
    return c;
}

static int s_client_failures (client_t *c)
{
    zmsg_t *m;
    while (zsock_events (c->monitor) & ZMQ_POLLIN && (m = zmsg_recv (c->monitor))) {
        c->failed++;
        zmsg_destroy (&m);
    }
    return c->failed;
}

static void s_client_destroy (client_t *c)
{
    zmq_socket_monitor (zsock_resolve (c->dealer), NULL, 0);
    zsock_destroy (&c->monitor);
    zsock_destroy (&c->dealer);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_known_and_unknown (const ph_keypair_t *alice, const ph_keypair_t *stranger)
{
    s_redis_cmd ("SET ph:key:{%s} user:alice", alice->public_z85, NULL);
    client_t c = s_client (alice, 1);
    int before = F.received;
    CHECK (s_run_until (&F.received, before, 5000));
    CHECK_STR (F.last_user_id, "user:alice");
    s_client_destroy (&c);
    c = s_client (stranger, 2);
    before = F.received;
    CHECK (s_run_until (&F.received, before, 5000));
    CHECK (strncmp (F.last_user_id, "key:", 4) == 0);
    CHECK_STR (F.last_user_id + 4, stranger->public_z85);
    s_client_destroy (&c);
}

/*  Redis down: the handshake waits; Redis back: it completes. */
static void test_held_while_redis_down (const ph_keypair_t *bob)
{
    s_redis_cmd ("SET ph:key:{%s} user:bob", bob->public_z85, NULL);
    s_redis_stop ();
    CHECK (s_wait_connected (false, 5000));
    client_t c = s_client (bob, 3);
    int before = F.received;
    uint64_t deadline = ph_mono_ms () + 5000;
    while (ph_zap_held (F.zap) == 0 && ph_mono_ms () < deadline)
        s_run_ms (10);
    CHECK (ph_zap_held (F.zap) == 1);
    int lookups = F.lookups;
    s_run_ms (1500); /* asked again meanwhile, still held, not refused */
    CHECK (F.lookups > lookups + 1);
    CHECK (ph_zap_held (F.zap) == 1);
    CHECK (F.received == before);
    CHECK (s_client_failures (&c) == 0);
    s_redis_start (); /* empty: the key again, before the reactor runs */
    s_redis_cmd ("SET ph:key:{%s} user:bob", bob->public_z85, NULL);
    CHECK (s_wait_connected (true, 10000));
    CHECK (s_run_until (&F.received, before, 5000));
    CHECK_STR (F.last_user_id, "user:bob");
    CHECK (ph_zap_held (F.zap) == 0);
    CHECK (s_client_failures (&c) == 0);
    CHECK (ph_zap_expired (F.zap) == 0);
    s_client_destroy (&c);
}

/*  An error reply holds the handshake until the key reads right. */
static void test_held_on_error (const ph_keypair_t *carol)
{
    s_redis_cmd ("HSET ph:key:{%s} not a-string", carol->public_z85, NULL);
    client_t c = s_client (carol, 4);
    int before = F.received;
    uint64_t deadline = ph_mono_ms () + 5000;
    while (ph_zap_held (F.zap) == 0 && ph_mono_ms () < deadline)
        s_run_ms (10);
    CHECK (ph_zap_held (F.zap) == 1);
    s_run_ms (300);
    CHECK (F.received == before);
    /* held (not between a GET and its reply): nothing moves until the loop runs */
    deadline = ph_mono_ms () + 5000;
    while (ph_zap_held (F.zap) != 1 && ph_mono_ms () < deadline)
        s_run_ms (1);
    CHECK (ph_zap_held (F.zap) == 1);
    s_redis_cmd ("SET ph:key:{%s} %s", carol->public_z85, "user:carol");
    int lookups = F.lookups;
    ph_zap_retry_held (F.zap); /* at once, not at the next retry */
    CHECK (F.lookups == lookups + 1);
    CHECK (s_run_until (&F.received, before, 5000));
    CHECK_STR (F.last_user_id, "user:carol");
    CHECK (s_client_failures (&c) == 0);
    s_client_destroy (&c);
}

/*  A cached answer needs no Redis. */
static void test_cached (const ph_keypair_t *carol)
{
    s_redis_stop ();
    CHECK (s_wait_connected (false, 5000));
    client_t c = s_client (carol, 5);
    int before = F.received;
    CHECK (s_run_until (&F.received, before, 5000));
    CHECK_STR (F.last_user_id, "user:carol");
    s_client_destroy (&c);
    ph_keycache_forget (F.cache, carol->public_z85);
    c = s_client (carol, 6);
    before = F.received;
    s_run_ms (500);
    CHECK (F.received == before); /* forgotten: waits for Redis */
    CHECK (s_client_failures (&c) == 0);
    s_client_destroy (&c);
    s_run_ms (100);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ph_keycache");
    zsys_init ();
    zsys_handler_set (NULL);
    snprintf (F.redis_dir, sizeof F.redis_dir, "/tmp/ph-test-keycache-XXXXXX");
    CHECK (mkdtemp (F.redis_dir) != NULL);
    F.redis_port = ph_test_free_port ();
    s_redis_start ();
    ph_keys_generate (&F.server);
    F.loop = zloop_new ();
    F.cache = ph_keycache_new (100, TTL_MS, s_map);
    F.zap = ph_zap_new (F.loop, s_lookup, NULL);
    CHECK (F.zap != NULL);
    F.router = zsock_new (ZMQ_ROUTER);
    CHECK (ph_keys_setup_server (F.router, &F.server, "test-domain") == 0);
    int port = zsock_bind (F.router, "tcp://127.0.0.1:*");
    snprintf (F.endpoint, sizeof F.endpoint, "tcp://127.0.0.1:%d", port);
    zloop_reader (F.loop, F.router, s_on_router, NULL);
    char url[64];
    snprintf (url, sizeof url, "redis://127.0.0.1:%d", F.redis_port);
    F.redis = ph_redis_new (F.loop, url, NULL, NULL);
    CHECK (s_wait_connected (true, 10000));

    ph_keypair_t alice, stranger, bob, carol;
    ph_keys_generate (&alice);
    ph_keys_generate (&stranger);
    ph_keys_generate (&bob);
    ph_keys_generate (&carol);
    test_known_and_unknown (&alice, &stranger);
    test_held_while_redis_down (&bob);
    test_held_on_error (&carol);
    test_cached (&carol);

    ph_redis_destroy (&F.redis); /* first: its callbacks answer through the handler */
    zloop_reader_end (F.loop, F.router);
    zsock_destroy (&F.router);
    ph_zap_destroy (&F.zap);
    zloop_destroy (&F.loop);
    ph_keycache_destroy (&F.cache);
    s_redis_stop ();
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", F.redis_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
