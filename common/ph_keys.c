/*  ph_keys: see ph_keys.h. */
#include "ph_keys.h"
#include "ph_errors.h"
#include "ph_util.h"
#include "ph_wire.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/*  Debian's libzmq 4.3.4 keeps this option in the draft section of zmq.h;
 *  the library accepts it (DESIGN.md §2). */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/*  Dead-peer detection on clients (DEALERs: agent, CLI, logshipper
 *  clients): ZMTP heartbeats close a connection to a server that has been
 *  silent this long, so that they reconnect promptly. Each client has one
 *  or two connections, so the timers cost nothing there. */
#define PH_ZMTP_HEARTBEAT_MS 2000
#define PH_ZMTP_TIMEOUT_MS   6000

/*  Servers (ROUTERs) get no ZMTP heartbeats: libzmq 4.3.4 cancels a timer
 *  with a linear scan of all timers (poller_base_t::cancel_timer), and a
 *  heartbeat arms and cancels one per connection every interval, so with
 *  N connections the I/O thread does O(N^2) work (at 10,000 agents it was
 *  saturated, bench/RESULTS.md). Servers find dead peers at the
 *  application level instead (agents: 3 missed Heartbeats; clients: stream
 *  keepalives), and the kernel's TCP keepalive reaps connections whose
 *  peer vanished without a FIN: probes after 60 s idle, every 10 s, 3
 *  unanswered = closed (about 90 s). The clients' PINGs are still
 *  answered, which needs no timer on the server side. */
#define PH_TCP_KEEPALIVE_IDLE_S  60
#define PH_TCP_KEEPALIVE_INTVL_S 10
#define PH_TCP_KEEPALIVE_CNT     3

int ph_keys_generate (ph_keypair_t *kp)
{
    if (zmq_curve_keypair (kp->public_z85, kp->secret_z85) != 0)
        return PH_EIO;
    return 0;
}

int ph_keys_save (const ph_keypair_t *kp, const char *path)
{
    char text[128];
    int n = snprintf (text, sizeof text, "public %s\nsecret %s\n", kp->public_z85, kp->secret_z85);
    return ph_file_write (path, text, (size_t)n, 0600);
}

bool ph_keys_z85_valid (const char *text)
{
    uint8_t raw[32];
    if (!text || strlen (text) != PH_Z85_KEY_LEN)
        return false;
    return zmq_z85_decode (raw, text) != NULL;
}

int ph_keys_load (const char *path, ph_keypair_t *kp)
{
    struct stat st;
    if (stat (path, &st) != 0)
        return PH_ENOENT;
    if (st.st_mode & 077)
        return PH_EINVAL;
    char *text = ph_file_read (path, 1024, NULL);
    if (!text)
        return PH_ENOENT;
    int rc = sscanf (text, "public %40s secret %40s", kp->public_z85, kp->secret_z85);
    free (text);
    if (rc != 2 || !ph_keys_z85_valid (kp->public_z85) || !ph_keys_z85_valid (kp->secret_z85))
        return PH_EINVAL;
    return 0;
}

static void s_common_options (zsock_t *sock)
{
    zsock_set_maxmsgsize (sock, PH_MSG_MAX);
    zsock_set_linger (sock, 0);
}

int ph_keys_setup_server (zsock_t *sock, const ph_keypair_t *kp, const char *zap_domain)
{
    int enforce = 1;
    s_common_options (sock);
    zsock_set_heartbeat_ivl (sock, 0);
    zsock_set_tcp_keepalive (sock, 1);
    zsock_set_tcp_keepalive_idle (sock, PH_TCP_KEEPALIVE_IDLE_S);
    zsock_set_tcp_keepalive_intvl (sock, PH_TCP_KEEPALIVE_INTVL_S);
    zsock_set_tcp_keepalive_cnt (sock, PH_TCP_KEEPALIVE_CNT);
    zsock_set_curve_server (sock, 1);
    zsock_set_curve_publickey (sock, kp->public_z85);
    zsock_set_curve_secretkey (sock, kp->secret_z85);
    zsock_set_zap_domain (sock, zap_domain);
    if (zmq_setsockopt (zsock_resolve (sock), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce))
        return PH_EINVAL;
    return 0;
}

int ph_keys_setup_client (zsock_t *sock, const ph_keypair_t *kp, const char *server_z85)
{
    if (!ph_keys_z85_valid (server_z85))
        return PH_EINVAL;
    s_common_options (sock);
    zsock_set_heartbeat_ivl (sock, PH_ZMTP_HEARTBEAT_MS);
    zsock_set_heartbeat_timeout (sock, PH_ZMTP_TIMEOUT_MS);
    zsock_set_curve_serverkey (sock, server_z85);
    zsock_set_curve_publickey (sock, kp->public_z85);
    zsock_set_curve_secretkey (sock, kp->secret_z85);
    return 0;
}
