/*  ctl_harness: what every test_ctl_*.c that needs a live controller uses:
 *  a redis-server on a free port (h_redis_start), an in-process controller
 *  made by ctl_new whose reactor the test runs (h_ctl_start, h_run_ms),
 *  and CURVE DEALER peers on its agents or clients port (h_peer, h_user)
 *  with calls and checks on their replies (h_call, h_wait,
 *  h_expect_error). Header-only: every helper is static, and marked unused
 *  because not every test uses every helper. */
#ifndef CTL_HARNESS_H
#define CTL_HARNESS_H

#include "ctl.h"
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

/* ---- harness: redis-server, an in-process controller, CURVE peers -------- */

typedef struct {
    pid_t redis_pid;
    char redis_dir[64];
    char redis_url[64];
    ph_redis_sync_t *sync;
    ctl_t *ctl;
    ph_keypair_t keys;
    uint8_t secret[32];
    char agent_ep[64], client_ep[64];
    uint64_t next_id;
} harness_t;

static harness_t H;

#define H_UNUSED __attribute__ ((unused)) /* not every test uses every helper */

typedef struct {
    zsock_t *sock;
    ph_keypair_t kp;
    zlist_t *inbox; /* ph_env_t * received, oldest first */
} peer_t;

/*  A command on the sync client (hiredis format: each %s is one
 *  argument); returns its string or integer reply as text ("" for nil). */
#define h_redis(...) h_reply_text (ph_redis_sync_cmd (H.sync, __VA_ARGS__))

static char s_redis_buf[4096];

static H_UNUSED char *h_reply_text (ph_reply_t *r)
{
    const char *s = ph_reply_str (r);
    if (ph_reply_is_int (r))
        snprintf (s_redis_buf, sizeof s_redis_buf, "%lld", ph_reply_int (r));
    else
        snprintf (s_redis_buf, sizeof s_redis_buf, "%s", s ? s : "");
    ph_reply_free (&r);
    return s_redis_buf;
}

static H_UNUSED bool h_redis_start (void)
{
    snprintf (H.redis_dir, sizeof H.redis_dir, "/tmp/ph-test-ctl-XXXXXX");
    H.sync =
        ph_test_redis_start (H.redis_dir, H.redis_url, sizeof H.redis_url, &H.redis_pid, 10000);
    return H.sync != NULL;
}

/*  Runs the controller's reactor for ms milliseconds. */
static H_UNUSED void h_run_ms (int ms)
{
    uint64_t end = ph_mono_ms () + (uint64_t)ms;
    while (ph_mono_ms () < end) {
        ph_test_loop_run_ms (H.ctl->loop, end - ph_mono_ms () + 1);
    }
}

static H_UNUSED bool h_ctl_start (uint32_t heartbeat_ms)
{
    ph_keys_generate (&H.keys);
    ph_random_bytes (H.secret, sizeof H.secret);
    snprintf (H.agent_ep, sizeof H.agent_ep, "tcp://127.0.0.1:%d", ph_test_free_port ());
    snprintf (H.client_ep, sizeof H.client_ep, "tcp://127.0.0.1:%d", ph_test_free_port ());
    ctl_options_t opt;
    memset (&opt, 0, sizeof opt);
    opt.redis_url = H.redis_url;
    opt.agent_bind = H.agent_ep;
    opt.client_bind = H.client_ep;
    snprintf (opt.advertise_client, sizeof opt.advertise_client, "%s", H.client_ep);
    snprintf (opt.advertise_agent, sizeof opt.advertise_agent, "%s", H.agent_ep);
    opt.heartbeat_ms = heartbeat_ms;
    char err[256];
    H.ctl = ctl_new (&opt, &H.keys, "c-0000test", H.secret, sizeof H.secret, err, sizeof err);
    if (!H.ctl) {
        fprintf (stderr, "ctl_new: %s\n", err);
        return false;
    }
    H.ctl->started_ms = ph_now_ms ();
    uint64_t deadline = ph_mono_ms () + 10000;
    while (!ph_redis_connected (H.ctl->redis) && ph_mono_ms () < deadline)
        h_run_ms (10);
    return ph_redis_connected (H.ctl->redis);
}

static H_UNUSED void h_stop (void)
{
    ctl_destroy (&H.ctl);
    ph_redis_sync_destroy (&H.sync);
    if (H.redis_pid > 0) {
        kill (H.redis_pid, SIGKILL);
        waitpid (H.redis_pid, NULL, 0);
    }
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", H.redis_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", H.redis_dir);
}

static H_UNUSED int h_on_peer (zloop_t *loop, zsock_t *sock, void *arg)
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
        if (rc == 0) {
            zlist_append (p->inbox, env);
            got = true;
        }
    }
    return got ? -1 : 0; /* wake the waiting test */
}

/*  A CURVE DEALER to the agents or clients port with keypair kp (NULL: a
 *  new one) whose key Redis maps to identity ("user:NAME",
 *  "instance:mi-...") unless identity is NULL. */
static H_UNUSED peer_t *h_peer_kp (bool agents_port, const char *identity, const ph_keypair_t *kp)
{
    peer_t *p = calloc (1, sizeof *p);
    if (kp)
        p->kp = *kp;
    else
        ph_keys_generate (&p->kp);
    if (identity)
        h_redis ("SET ph:key:{%s} %s", p->kp.public_z85, identity);
    p->inbox = zlist_new ();
    p->sock = zsock_new (ZMQ_DEALER);
    ph_keys_setup_client (p->sock, &p->kp, H.keys.public_z85);
    zsock_connect (p->sock, "%s", agents_port ? H.agent_ep : H.client_ep);
    zloop_reader (H.ctl->loop, p->sock, h_on_peer, p);
    return p;
}

static H_UNUSED peer_t *h_peer (bool agents_port, const char *identity)
{
    return h_peer_kp (agents_port, identity, NULL);
}

/*  Stores policy name with document json. */
static H_UNUSED void h_policy (const char *name, const char *json)
{
    ph_reply_t *r =
        ph_redis_sync_cmd (H.sync, "HSET ph:policy:{%s} name %s document %s", name, name, json);
    ph_reply_free (&r);
    h_redis ("SADD ph:policies %s", name);
}

/*  A user NAME (admin or not) with a registered key on the clients port,
 *  and the named policies (comma separated, may be NULL) attached. */
static H_UNUSED peer_t *h_user (const char *name, bool admin, const char *policies)
{
    h_redis ("HSET ph:user:{%s} name %s admin %d", name, name, admin ? 1 : 0);
    char list[256];
    snprintf (list, sizeof list, "%s", policies ? policies : "");
    for (char *save = NULL, *p = strtok_r (list, ",", &save); p; p = strtok_r (NULL, ",", &save))
        h_redis ("SADD ph:user:{%s}:policies %s", name, p);
    char identity[128];
    snprintf (identity, sizeof identity, "user:%s", name);
    return h_peer (false, identity);
}

static H_UNUSED void h_peer_destroy (peer_t **p_p)
{
    peer_t *p = *p_p;
    if (!p)
        return;
    zloop_reader_end (H.ctl->loop, p->sock);
    zsock_destroy (&p->sock);
    ph_env_t *env;
    while ((env = zlist_pop (p->inbox)))
        ph_wire_free (&env);
    zlist_destroy (&p->inbox);
    free (p);
    *p_p = NULL;
}

static H_UNUSED void h_send (peer_t *p, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    ph_wire_send (p->sock, NULL, 0, env);
}

/*  The first message in p's inbox with request_id (0: any) and body (0:
 *  any), waiting up to timeout_ms. The caller frees it. */
static H_UNUSED ph_env_t *h_wait (peer_t *p, uint64_t request_id, ph_body_t body, int timeout_ms)
{
    uint64_t deadline = ph_mono_ms () + (uint64_t)timeout_ms;
    for (;;) {
        for (ph_env_t *env = zlist_first (p->inbox); env; env = zlist_next (p->inbox))
            if ((!request_id || env->request_id == request_id) &&
                (!body || env->body_case == body)) {
                zlist_remove (p->inbox, env);
                return env;
            }
        uint64_t now = ph_mono_ms ();
        if (now >= deadline)
            return NULL;
        ph_test_loop_run_ms (H.ctl->loop, deadline - now);
    }
}

/*  Sends env from p with a fresh request id; waits for the reply. */
static H_UNUSED ph_env_t *h_call (peer_t *p, ph_env_t *env)
{
    env->request_id = ++H.next_id;
    h_send (p, env);
    return h_wait (p, env->request_id, 0, 5000);
}

/*  An agent's Hello from p (hostname, Debian, agent 0.1.0, ip 10.0.0.6,
 *  live: the session ids it still runs, NULL-terminated, or NULL); returns
 *  the reply (h_call). */
static H_UNUSED ph_env_t *h_hello (peer_t *p, const char *hostname, const char *const *live)
{
    size_t n = 0;
    while (live && live[n])
        n++;
    Porthole__V1__Hello h = PORTHOLE__V1__HELLO__INIT;
    h.hostname = (char *)hostname;
    h.platform = "Debian";
    h.agent_version = "0.1.0";
    h.ip = "10.0.0.6";
    h.n_session_ids = n;
    h.session_ids = (char **)live;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    return h_call (p, &env);
}

static H_UNUSED void h_expect_in (const char *what, const char *text, const char *want)
{
    if (!text || !strstr (text, want)) {
        fprintf (stderr, "%s: '%s' lacks '%s'\n", what, text ? text : "(null)", want);
        CHECK (false);
    } else
        CHECK (true);
}

/*  Checks that reply is Error{code} with want in its message; frees it. */
static H_UNUSED void h_expect_error (ph_env_t **reply, const char *code, const char *want)
{
    ph_env_t *r = *reply;
    CHECK (r != NULL);
    if (!r)
        return;
    CHECK (r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR);
    if (r->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        CHECK_STR (r->error->code, code);
        h_expect_in (code, r->error->message, want);
    }
    ph_wire_free (reply);
}

#endif
