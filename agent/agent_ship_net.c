/*  agent_ship_net: the agent's DEALERs to the logshippers (agent_log.h).
 *
 *  One DEALER per logshipper named in the last HelloReply: connect only
 *  (the agent never listens), ZMQ_IMMEDIATE so that nothing is queued for
 *  a logshipper that is not connected (the batch then waits for its
 *  backoff and goes to the next logshipper), CURVE with the agent's own
 *  keypair pinned to the logshipper's key. Replies are decoded by ph_wire
 *  and handed to the shipper's callback.
 *
 *  The DEALERs are made as the controller's is (ph_agent_dealer_open,
 *  agent_conn.c), with a socket monitor: libzmq never reconnects a DEALER
 *  whose handshake the logshipper refused (its Redis not up yet, before
 *  ph_keycache held such handshakes), so after a refused handshake the
 *  DEALER is replaced, 1 s later doubling to 30 s (jittered), until one
 *  handshake succeeds.
 */
#include "agent.h"
#include "agent_log.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <string.h>

#define PH_SHIPNET_RECV_BATCH 256
#define PH_SHIPNET_SNDHWM     1000
#define PH_SHIPNET_RECONNECT  250
#define PH_SHIPNET_RECONN_MAX 5000

typedef struct {
    ph_shippers_t *owner;
    char *endpoint;
    char *server_key;
    zsock_t *dealer;
    zsock_t *monitor;
    int rebuild_timer;   /* zloop timer id while a new DEALER is planned, else -1 */
    uint32_t rebuild_ms; /* base of the next rebuild delay */
    bool failure_logged; /* since the last successful handshake */
} s_shipper_t;

struct _ph_shippers_t {
    zloop_t *loop;
    zlist_t *list; /* s_shipper_t, in HelloReply order */
    ph_keypair_t kp;
    ph_shippers_reply_fn *on_reply;
    void *arg;
};

static void s_shipper_destroy (s_shipper_t **self_p, zloop_t *loop)
{
    s_shipper_t *s = *self_p;
    if (!s)
        return;
    if (s->rebuild_timer >= 0)
        zloop_timer_end (loop, s->rebuild_timer);
    ph_agent_dealer_close (loop, &s->dealer, &s->monitor);
    free (s->endpoint);
    free (s->server_key);
    free (s);
    *self_p = NULL;
}

ph_shippers_t *ph_shippers_new (zloop_t *loop, ph_shippers_reply_fn *on_reply, void *arg)
{
    ph_shippers_t *self = calloc (1, sizeof *self);
    if (!self || !(self->list = zlist_new ())) {
        free (self);
        return NULL;
    }
    self->loop = loop;
    self->on_reply = on_reply;
    self->arg = arg;
    return self;
}

void ph_shippers_destroy (ph_shippers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_shippers_t *self = *self_p;
    s_shipper_t *s;
    while ((s = zlist_pop (self->list)))
        s_shipper_destroy (&s, self->loop);
    zlist_destroy (&self->list);
    free (self);
    *self_p = NULL;
}

static int s_on_dealer (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    ph_shippers_t *self = arg;
    for (int i = 0; i < PH_SHIPNET_RECV_BATCH; i++) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            break;
        if (rc != 0) {
            ph_warn ("ignoring a bad frame from a logshipper: %s", err);
            continue;
        }
        if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY)
            self->on_reply (self->arg, env->request_id, env->put_log_events_reply->batch_id, NULL);
        else if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
            self->on_reply (self->arg, env->request_id, NULL, env->error);
        else
            ph_debug ("ignoring %s from a logshipper", ph_wire_body_name (env->body_case));
        ph_wire_free (&env);
    }
    return 0;
}

static int s_on_monitor (zloop_t *loop, zsock_t *sock, void *arg);

/*  The shipper's DEALER and monitor, on the loop, connected. Returns 0,
 *  PH_EINVAL (bad key or endpoint) or PH_EIO. */
static int s_shipper_open (s_shipper_t *s)
{
    ph_shippers_t *self = s->owner;
    ph_agent_dealer_opts_t o = {.server_key = s->server_key,
                                .sndhwm = PH_SHIPNET_SNDHWM,
                                .reconnect_ms = PH_SHIPNET_RECONNECT,
                                .reconnect_max_ms = PH_SHIPNET_RECONN_MAX};
    int rc = ph_agent_dealer_open (&self->kp, &o, &s->dealer, &s->monitor);
    if (rc == PH_EINVAL)
        ph_error ("the controller named logshipper %s with an invalid key; its transcripts go "
                  "to the other logshippers",
                  s->endpoint);
    if (rc)
        return rc;
    if (zsock_connect (s->dealer, "%s", s->endpoint) != 0) {
        ph_error ("cannot connect to logshipper %s: %s", s->endpoint, zmq_strerror (zmq_errno ()));
        return PH_EINVAL;
    }
    return ph_agent_dealer_watch (self->loop, s->dealer, s_on_dealer, self, s->monitor,
                                  s_on_monitor, s);
}

static int s_on_rebuild (zloop_t *loop, int timer_id, void *arg)
{
    (void)timer_id;
    s_shipper_t *s = arg;
    s->rebuild_timer = -1;
    ph_agent_dealer_close (loop, &s->dealer, &s->monitor);
    int rc = s_shipper_open (s);
    if (rc) {
        ph_agent_dealer_close (loop, &s->dealer, &s->monitor);
        if (rc == PH_EIO) /* a key or endpoint that was fine before will not be bad now */
            s->rebuild_timer =
                zloop_timer (loop, ph_agent_jitter (s->rebuild_ms), 1, s_on_rebuild, s);
        return 0;
    }
    ph_info ("connecting to the logshipper at %s with a new socket", s->endpoint);
    return 0;
}

/*  A refused handshake: plan a new DEALER (libzmq gives up on a refused
 *  one); a handshake that succeeds first cancels it. */
static void s_on_event (s_shipper_t *s, uint16_t event)
{
    zloop_t *loop = s->owner->loop;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (s->rebuild_timer >= 0)
            zloop_timer_end (loop, s->rebuild_timer);
        s->rebuild_timer = -1;
        s->rebuild_ms = PH_AGENT_REBUILD_MIN_MS;
        s->failure_logged = false;
        return;
    }
    if (!ph_agent_handshake_refused (event) || s->rebuild_timer >= 0)
        return;
    uint32_t delay = ph_agent_jitter (s->rebuild_ms);
    if (!s->failure_logged)
        ph_warn ("the logshipper at %s refused the handshake; retrying with a new "
                 "connection in %u ms (transcripts wait in the spool)",
                 s->endpoint, delay);
    s->failure_logged = true;
    s->rebuild_timer = zloop_timer (loop, delay, 1, s_on_rebuild, s);
    s->rebuild_ms =
        s->rebuild_ms * 2 > PH_AGENT_REBUILD_MAX_MS ? PH_AGENT_REBUILD_MAX_MS : s->rebuild_ms * 2;
}

static int s_on_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    uint16_t event;
    while (ph_wire_monitor_next (sock, &event))
        s_on_event (arg, event);
    return 0;
}

static s_shipper_t *s_shipper_new (ph_shippers_t *self, const Porthole__V1__LogshipperInfo *info)
{
    s_shipper_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    s->owner = self;
    s->rebuild_timer = -1;
    s->rebuild_ms = PH_AGENT_REBUILD_MIN_MS;
    s->endpoint = strdup (info->endpoint);
    s->server_key = strdup (info->server_key);
    if (!s->endpoint || !s->server_key || s_shipper_open (s) != 0) {
        s_shipper_destroy (&s, self->loop);
        return NULL;
    }
    ph_info ("shipping transcripts to the logshipper at %s", info->endpoint);
    return s;
}

static bool s_listed (const s_shipper_t *s, Porthole__V1__LogshipperInfo **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (list[i]->endpoint, s->endpoint) == 0 &&
            strcmp (list[i]->server_key, s->server_key) == 0)
            return true;
    return false;
}

static bool s_known (ph_shippers_t *self, const Porthole__V1__LogshipperInfo *info)
{
    for (s_shipper_t *s = zlist_first (self->list); s; s = zlist_next (self->list))
        if (strcmp (info->endpoint, s->endpoint) == 0 &&
            strcmp (info->server_key, s->server_key) == 0)
            return true;
    return false;
}

void ph_shippers_update (ph_shippers_t *self, const ph_keypair_t *kp,
                         Porthole__V1__LogshipperInfo **list, size_t n)
{
    self->kp = *kp;
    zlist_t *keep = zlist_new ();
    s_shipper_t *s;
    while ((s = zlist_pop (self->list))) {
        if (s_listed (s, list, n))
            zlist_append (keep, s);
        else {
            ph_info ("the logshipper at %s is gone; not shipping there any more", s->endpoint);
            s_shipper_destroy (&s, self->loop);
        }
    }
    zlist_destroy (&self->list);
    self->list = keep;
    for (size_t i = 0; i < n; i++) {
        if (s_known (self, list[i]))
            continue;
        s = s_shipper_new (self, list[i]);
        if (s)
            zlist_append (self->list, s);
    }
}

size_t ph_shippers_count (const ph_shippers_t *self)
{
    return zlist_size (self->list);
}

int ph_shippers_send (ph_shippers_t *self, size_t index, const void *data, size_t len)
{
    size_t n = zlist_size (self->list);
    if (!n)
        return PH_EIO;
    s_shipper_t *s = zlist_first (self->list);
    for (size_t i = 0; i < index % n; i++)
        s = zlist_next (self->list);
    if (!s->dealer || zmq_send (zsock_resolve (s->dealer), data, len, ZMQ_DONTWAIT) < 0)
        return PH_EIO;
    return 0;
}
