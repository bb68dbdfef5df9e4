/*  ph_zap: see ph_zap.h.
 *
 *  The handler socket is a ROUTER rather than the usual REP so that answers
 *  can be given out of order, after an async lookup, without holding up
 *  other handshakes. libzmq sends each ZAP request behind an empty
 *  delimiter frame, as a REQ would, and expects the same in the reply.
 *
 *  Every request is in `pending` until it is answered. A held one is also
 *  in `held`, with the time it is due to be asked about again; one timer,
 *  armed only while something is held, walks that list. A late answer to a
 *  connection that libzmq already closed (its handshake timed out) goes to
 *  a routing id that no longer exists and is dropped by the ROUTER.
 */
#include "ph_zap.h"
#include "ph_keys.h"
#include "ph_log.h"
#include "ph_util.h"

#define PH_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define PH_ZAP_SWEEP_MS 50    /* how often held requests are looked at */
#define PH_ZAP_LOG_MS   10000 /* at most one warning about expired requests per this */

struct _ph_zap_t {
    zloop_t *loop;
    zsock_t *sock;
    ph_zap_lookup_fn *lookup;
    void *arg;
    zlistx_t *pending; /* every request not yet answered */
    zlistx_t *held;    /* those put off with ph_zap_hold */
    int sweep_timer;   /* zloop timer id while held is not empty, else -1 */
    size_t expired;
    size_t expired_unlogged;
    uint64_t logged_mono;
};

struct _ph_zap_request_t {
    zframe_t *routing_id;
    zframe_t *request_id;
    char *domain;
    char key[PH_Z85_KEY_LEN + 1];
    uint64_t arrived_mono;
    uint64_t due_mono; /* held: when to ask again */
    uint32_t retry_ms; /* held: the next delay */
    void *handle;      /* in pending */
    void *held_handle; /* in held, or NULL */
};

static void s_send_reply (ph_zap_t *self, ph_zap_request_t *req, const char *status,
                          const char *text, const char *user_id)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &req->routing_id);
    zmsg_addstr (reply, "");
    zmsg_addstr (reply, "1.0");
    zmsg_append (reply, &req->request_id);
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user_id);
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, self->sock);
}

/*  Sends the answer and forgets req. */
static void s_answer (ph_zap_t *self, ph_zap_request_t *req, const char *status, const char *text,
                      const char *user_id)
{
    s_send_reply (self, req, status, text, user_id);
    if (req->held_handle)
        zlistx_delete (self->held, req->held_handle);
    zlistx_delete (self->pending, req->handle);
    zframe_destroy (&req->routing_id);
    zframe_destroy (&req->request_id);
    free (req->domain);
    free (req);
}

/*  [rid][""]["1.0"][request id][domain][address][identity][mechanism][key] */
static int s_on_request (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    ph_zap_t *self = arg;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return 0;
    if (zmsg_size (msg) < 9) {
        ph_warn ("zap: malformed request of %zu frames", zmsg_size (msg));
        zmsg_destroy (&msg);
        return 0;
    }
    ph_zap_request_t *req = calloc (1, sizeof *req);
    assert (req);
    req->routing_id = zmsg_pop (msg);
    zframe_t *empty = zmsg_pop (msg);
    zframe_t *version = zmsg_pop (msg);
    req->request_id = zmsg_pop (msg);
    req->domain = zmsg_popstr (msg);
    zframe_t *address = zmsg_pop (msg);
    zframe_t *identity = zmsg_pop (msg);
    char *mechanism = zmsg_popstr (msg);
    zframe_t *key = zmsg_pop (msg);
    bool curve = mechanism && strcmp (mechanism, "CURVE") == 0 && key && zframe_size (key) == 32;
    if (curve)
        zmq_z85_encode (req->key, zframe_data (key), 32);
    zframe_destroy (&empty);
    zframe_destroy (&version);
    zframe_destroy (&address);
    zframe_destroy (&identity);
    zframe_destroy (&key);
    free (mechanism);
    zmsg_destroy (&msg);
    if (!req->domain)
        req->domain = strdup ("");
    assert (req->domain);
    req->arrived_mono = ph_mono_ms ();
    req->handle = zlistx_add_end (self->pending, req);
    if (!curve)
        s_answer (self, req, "400", "Denied", "");
    else
        self->lookup (self, req, req->domain, req->key, self->arg);
    return 0;
}

ph_zap_t *ph_zap_new (zloop_t *loop, ph_zap_lookup_fn *lookup, void *arg)
{
    ph_zap_t *self = calloc (1, sizeof *self);
    assert (self);
    self->sock = zsock_new (ZMQ_ROUTER);
    if (!self->sock || zsock_bind (self->sock, PH_ZAP_ENDPOINT) != 0) {
        zsock_destroy (&self->sock);
        free (self);
        return NULL;
    }
    self->loop = loop;
    self->lookup = lookup;
    self->arg = arg;
    self->pending = zlistx_new ();
    self->held = zlistx_new ();
    assert (self->pending && self->held);
    self->sweep_timer = -1;
    zloop_reader (loop, self->sock, s_on_request, self);
    return self;
}

void ph_zap_reply (ph_zap_t *self, ph_zap_request_t *req, const char *user_id)
{
    if (user_id)
        s_answer (self, req, "200", "OK", user_id);
    else
        s_answer (self, req, "400", "Denied", "");
}

/*  Asks the lookup again about every held request that is due (all of
 *  them when force), and answers 300 to those held too long. The due ones
 *  are taken out of `held` first: the lookup may hold them again. */
static void s_retry_due (ph_zap_t *self, bool force)
{
    uint64_t now = ph_mono_ms ();
    zlistx_t *due = zlistx_new ();
    assert (due);
    for (ph_zap_request_t *req = zlistx_first (self->held); req; req = zlistx_next (self->held))
        if (force || req->due_mono <= now)
            zlistx_add_end (due, req);
    size_t expired = 0;
    for (ph_zap_request_t *req = zlistx_first (due); req; req = zlistx_next (due)) {
        zlistx_delete (self->held, req->held_handle);
        req->held_handle = NULL;
        if (now - req->arrived_mono >= PH_ZAP_HOLD_MS) {
            s_answer (self, req, "300", "Try again later", "");
            expired++;
        } else
            self->lookup (self, req, req->domain, req->key, self->arg);
    }
    zlistx_destroy (&due);
    self->expired += expired;
    self->expired_unlogged += expired;
    if (self->expired_unlogged && now - self->logged_mono >= PH_ZAP_LOG_MS) {
        ph_warn ("zap: %zu handshakes still unanswered after %d s (is Redis reachable?); they end "
                 "at libzmq's handshake timeout and the peers reconnect",
                 self->expired_unlogged, PH_ZAP_HOLD_MS / 1000);
        self->expired_unlogged = 0;
        self->logged_mono = now;
    }
}

static int s_on_sweep (zloop_t *loop, int timer_id, void *arg)
{
    ph_zap_t *self = arg;
    s_retry_due (self, false);
    if (zlistx_size (self->held) == 0 && self->sweep_timer == timer_id) {
        zloop_timer_end (loop, timer_id);
        self->sweep_timer = -1;
    }
    return 0;
}

void ph_zap_hold (ph_zap_t *self, ph_zap_request_t *req)
{
    assert (!req->held_handle);
    req->retry_ms = req->retry_ms ? req->retry_ms * 2 : PH_ZAP_RETRY_MIN_MS;
    if (req->retry_ms > PH_ZAP_RETRY_MAX_MS)
        req->retry_ms = PH_ZAP_RETRY_MAX_MS;
    req->due_mono = ph_mono_ms () + req->retry_ms;
    req->held_handle = zlistx_add_end (self->held, req);
    if (self->sweep_timer < 0)
        self->sweep_timer = zloop_timer (self->loop, PH_ZAP_SWEEP_MS, 0, s_on_sweep, self);
}

void ph_zap_retry_held (ph_zap_t *self)
{
    s_retry_due (self, true);
}

size_t ph_zap_held (const ph_zap_t *self)
{
    return zlistx_size (self->held);
}

size_t ph_zap_expired (const ph_zap_t *self)
{
    return self->expired;
}

void ph_zap_destroy (ph_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_zap_t *self = *self_p;
    ph_zap_request_t *req;
    while ((req = zlistx_first (self->pending)))
        s_answer (self, req, "300", "Shutting down", "");
    zlistx_destroy (&self->held);
    zlistx_destroy (&self->pending);
    if (self->sweep_timer >= 0)
        zloop_timer_end (self->loop, self->sweep_timer);
    zloop_reader_end (self->loop, self->sock);
    zsock_destroy (&self->sock);
    free (self);
    *self_p = NULL;
}
