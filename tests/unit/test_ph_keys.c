/*  Unit tests of common/ph_keys.c, the socket options: servers (ROUTERs)
 *  have no ZMTP heartbeats but TCP keepalive (idle 60 s, every 10 s, 3
 *  probes) and the message size limit; clients keep their ZMTP heartbeats
 *  (2 s, 6 s timeout). Over real CURVE connections: a client with fast
 *  heartbeats stays connected to such a server however long the link is
 *  idle (the server still answers PINGs), and notices at once when the
 *  server goes away. Key files and handshakes are in test_ph_zap.c. */
#include "ph_errors.h"
#include "ph_keys.h"
#include "ph_test.h"
#include "ph_wire.h"
#include "ph_zap.h"

#define T_WAIT_MS     3000 /* deadline for a connection event */
#define T_IDLE_MS     1500 /* idle link that must survive */
#define T_CLIENT_HB   100  /* the client's PING interval in the test ... */
#define T_CLIENT_HB_T 300  /* ... and the silence after which it gives up */

typedef struct {
    int connected;
    int disconnected;
} events_t;

static void s_lookup (ph_zap_t *zap, ph_zap_request_t *req, const char *domain, const char *key,
                      void *arg)
{
    (void)domain, (void)key, (void)arg;
    ph_zap_reply (zap, req, "user:alice");
}

static int s_on_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    events_t *ev = arg;
    char *event = NULL;
    zstr_recvx (sock, &event, NULL);
    if (event && strcmp (event, "HANDSHAKE_SUCCEEDED") == 0)
        ev->connected++;
    else if (event && strcmp (event, "DISCONNECTED") == 0)
        ev->disconnected++;
    zstr_free (&event);
    return -1; /* one event per run of the loop */
}

static int s_on_deadline (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    *(bool *)arg = true;
    return -1;
}

/*  Runs loop until *count reaches want or ms passed. */
static void s_run_until (zloop_t *loop, const int *count, int want, int ms)
{
    bool expired = false;
    int timer = zloop_timer (loop, (size_t)ms, 1, s_on_deadline, &expired);
    while (*count < want && !expired)
        zloop_start (loop);
    if (!expired)
        zloop_timer_end (loop, timer);
}

static void s_test_options (void)
{
    ph_keypair_t kp, server;
    ph_keys_generate (&kp);
    ph_keys_generate (&server);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    CHECK (ph_keys_setup_server (router, &server, "test-domain") == 0);
    CHECK (zsock_heartbeat_ivl (router) == 0);
    CHECK (zsock_tcp_keepalive (router) == 1);
    CHECK (zsock_tcp_keepalive_idle (router) == 60);
    CHECK (zsock_tcp_keepalive_intvl (router) == 10);
    CHECK (zsock_tcp_keepalive_cnt (router) == 3);
    CHECK (zsock_maxmsgsize (router) == PH_MSG_MAX);
    CHECK (zsock_curve_server (router) == 1);
    CHECK (zsock_linger (router) == 0);
    zsock_destroy (&router);

    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    CHECK (ph_keys_setup_client (dealer, &kp, server.public_z85) == 0);
    CHECK (zsock_heartbeat_ivl (dealer) == 2000);
    CHECK (zsock_heartbeat_timeout (dealer) == 6000);
    CHECK (zsock_maxmsgsize (dealer) == PH_MSG_MAX);
    CHECK (zsock_curve_server (dealer) == 0);
    CHECK (ph_keys_setup_client (dealer, &kp, "not-a-key") == PH_EINVAL);
    zsock_destroy (&dealer);
}

/*  A client with fast ZMTP heartbeats on an idle link to a server without
 *  them: answered PINGs keep it up; the server's end is seen at once. */
static void s_test_idle_link (void)
{
    ph_keypair_t kp, server;
    ph_keys_generate (&kp);
    ph_keys_generate (&server);
    zloop_t *loop = zloop_new ();
    ph_zap_t *zap = ph_zap_new (loop, s_lookup, NULL);
    CHECK (zap != NULL);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    CHECK (ph_keys_setup_server (router, &server, "test-domain") == 0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    CHECK (port > 0);

    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    CHECK (ph_keys_setup_client (dealer, &kp, server.public_z85) == 0);
    zsock_set_heartbeat_ivl (dealer, T_CLIENT_HB);
    zsock_set_heartbeat_timeout (dealer, T_CLIENT_HB_T);
    zsock_set_reconnect_ivl (dealer, -1); /* a drop stays a drop */
    zactor_t *monitor = zactor_new (zmonitor, dealer);
    zstr_sendx (monitor, "LISTEN", "HANDSHAKE_SUCCEEDED", "DISCONNECTED", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    events_t ev = {0, 0};
    zloop_reader (loop, zactor_sock (monitor), s_on_monitor, &ev);
    CHECK (zsock_connect (dealer, "tcp://127.0.0.1:%d", port) == 0);

    s_run_until (loop, &ev.connected, 1, T_WAIT_MS);
    CHECK (ev.connected == 1);
    s_run_until (loop, &ev.disconnected, 1, T_IDLE_MS);
    CHECK (ev.disconnected == 0); /* 15 heartbeat intervals, still up */

    zsock_destroy (&router);
    s_run_until (loop, &ev.disconnected, 1, T_WAIT_MS);
    CHECK (ev.disconnected == 1);

    zloop_reader_end (loop, zactor_sock (monitor));
    zactor_destroy (&monitor);
    zsock_destroy (&dealer);
    ph_zap_destroy (&zap);
    zloop_destroy (&loop);
}

int main (void)
{
    zsys_init ();
    s_test_options ();
    s_test_idle_link ();
    PH_TEST_END ();
}
