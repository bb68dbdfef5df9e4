/*  Unit tests of common/ph_zap.c and common/ph_keys.c: real CURVE
 *  handshakes over loopback TCP, identities from the ZAP handler, refused
 *  keys, wrong server keys, oversized frames and key files. */
#include "ph_errors.h"
#include "ph_keys.h"
#include "ph_test.h"
#include "ph_wire.h"
#include "ph_zap.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    ph_keypair_t known, denied;
    char got_user_id[PH_USER_ID_MAX];
    int received;
} ctx_t;

static void s_lookup (ph_zap_t *zap, ph_zap_request_t *req, const char *domain, const char *key,
                      void *arg)
{
    ctx_t *ctx = arg;
    CHECK_STR (domain, "test-domain");
    if (strcmp (key, ctx->known.public_z85) == 0)
        ph_zap_reply (zap, req, "user:alice");
    else if (strcmp (key, ctx->denied.public_z85) == 0)
        ph_zap_reply (zap, req, NULL);
    else {
        char id[64];
        snprintf (id, sizeof id, "key:%s", key);
        ph_zap_reply (zap, req, id);
    }
}

static int s_on_router (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    ctx_t *ctx = arg;
    ph_wire_rx_t rx;
    ph_env_t *env;
    char err[256];
    int rc = ph_wire_recv (sock, true, &rx, &env, err, sizeof err);
    if (rc == 0) {
        snprintf (ctx->got_user_id, sizeof ctx->got_user_id, "%s", rx.user_id);
        ctx->received++;
        ph_wire_free (&env);
    }
    ph_wire_rx_close (&rx);
    return -1; /* stop the loop: one message per run */
}

static int s_on_timeout (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id, (void)arg;
    return -1;
}

static void s_send_heartbeat (zsock_t *dealer)
{
    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    CHECK (ph_wire_send (dealer, NULL, 0, &env) == 0);
}

/*  Connects a client with kp to endpoint, sends one message, runs the loop
 *  until the router got it or 2 s passed. Returns messages received. */
static int s_try (zloop_t *loop, ctx_t *ctx, const ph_keypair_t *kp, const char *server_pub,
                  const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    CHECK (ph_keys_setup_client (dealer, kp, server_pub) == 0);
    CHECK (zsock_connect (dealer, "%s", endpoint) == 0);
    s_send_heartbeat (dealer);
    int before = ctx->received;
    ctx->got_user_id[0] = 0;
    int timer = zloop_timer (loop, 2000, 1, s_on_timeout, NULL);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    zsock_destroy (&dealer);
    return ctx->received - before;
}

static void s_test_keyfiles (void)
{
    char dir[] = "/tmp/ph-test-keys-XXXXXX", path[256];
    CHECK (mkdtemp (dir) != NULL);
    snprintf (path, sizeof path, "%s/k.key", dir);
    ph_keypair_t kp, back;
    CHECK (ph_keys_generate (&kp) == 0);
    CHECK (ph_keys_z85_valid (kp.public_z85) && ph_keys_z85_valid (kp.secret_z85));
    CHECK (!ph_keys_z85_valid ("short") && !ph_keys_z85_valid (NULL));
    CHECK (ph_keys_save (&kp, path) == 0);
    struct stat st;
    CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK (ph_keys_load (path, &back) == 0);
    CHECK_STR (back.public_z85, kp.public_z85);
    CHECK_STR (back.secret_z85, kp.secret_z85);
    chmod (path, 0644); /* readable by others: refused */
    CHECK (ph_keys_load (path, &back) == PH_EINVAL);
    unlink (path);
    CHECK (ph_keys_load (path, &back) == PH_ENOENT);
    rmdir (dir);
}

int main (void)
{
    zsys_init ();
    s_test_keyfiles ();
    ctx_t ctx = {0};
    ph_keypair_t server, stranger, impostor;
    ph_keys_generate (&server);
    ph_keys_generate (&ctx.known);
    ph_keys_generate (&ctx.denied);
    ph_keys_generate (&stranger);
    ph_keys_generate (&impostor);

    zloop_t *loop = zloop_new ();
    ph_zap_t *zap = ph_zap_new (loop, s_lookup, &ctx);
    CHECK (zap != NULL);
    CHECK (ph_zap_new (loop, s_lookup, &ctx) == NULL); /* one handler per context */
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    CHECK (ph_keys_setup_server (router, &server, "test-domain") == 0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    zloop_reader (loop, router, s_on_router, &ctx);

    CHECK (s_try (loop, &ctx, &ctx.known, server.public_z85, endpoint) == 1);
    CHECK_STR (ctx.got_user_id, "user:alice");

    CHECK (s_try (loop, &ctx, &stranger, server.public_z85, endpoint) == 1);
    CHECK (strncmp (ctx.got_user_id, "key:", 4) == 0);
    CHECK_STR (ctx.got_user_id + 4, stranger.public_z85);

    /* ZAP refuses: nothing arrives */
    CHECK (s_try (loop, &ctx, &ctx.denied, server.public_z85, endpoint) == 0);
    /* the client pinned the wrong server key: the handshake fails */
    CHECK (s_try (loop, &ctx, &ctx.known, impostor.public_z85, endpoint) == 0);
    /* and the server still serves good clients */
    CHECK (s_try (loop, &ctx, &ctx.known, server.public_z85, endpoint) == 1);

    zsock_destroy (&router);
    ph_zap_destroy (&zap);
    CHECK (zap == NULL);
    zloop_destroy (&loop);
    PH_TEST_END ();
}
