/*  agent_ship_net: the agent's DEALERs to the logshippers (agent_log.h).
 *
 *  One DEALER per logshipper named in the last HelloReply: connect only
 *  (the agent never listens), ZMQ_IMMEDIATE so that nothing is queued for
 *  a logshipper that is not connected (the batch then waits for its
 *  backoff and goes to the next logshipper), CURVE with the agent's own
 *  keypair pinned to the logshipper's key. Replies are decoded by ph_wire
 *  and handed to the shipper's callback.
 */
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
    char *endpoint;
    char *server_key;
    zsock_t *dealer;
} s_shipper_t;

struct _ph_shippers_t {
    zloop_t *loop;
    zlist_t *list; /* s_shipper_t, in HelloReply order */
    ph_shippers_reply_fn *on_reply;
    void *arg;
};

static void s_shipper_destroy (s_shipper_t **self_p, zloop_t *loop)
{
    s_shipper_t *s = *self_p;
    if (!s)
        return;
    if (s->dealer) {
        zloop_reader_end (loop, s->dealer);
        zsock_destroy (&s->dealer);
    }
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

static s_shipper_t *s_shipper_new (ph_shippers_t *self, const ph_keypair_t *kp,
                                   const Porthole__V1__LogshipperInfo *info)
{
    s_shipper_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    s->endpoint = strdup (info->endpoint);
    s->server_key = strdup (info->server_key);
    s->dealer = zsock_new (ZMQ_DEALER);
    if (!s->endpoint || !s->server_key || !s->dealer ||
        ph_keys_setup_client (s->dealer, kp, info->server_key) != 0) {
        ph_error ("the controller named logshipper %s with an invalid key; its transcripts go "
                  "to the other logshippers",
                  info->endpoint);
        goto out_free;
    }
    zsock_set_immediate (s->dealer, 1);
    zsock_set_sndhwm (s->dealer, PH_SHIPNET_SNDHWM);
    zsock_set_reconnect_ivl (s->dealer, PH_SHIPNET_RECONNECT);
    zsock_set_reconnect_ivl_max (s->dealer, PH_SHIPNET_RECONN_MAX);
    if (zsock_connect (s->dealer, "%s", info->endpoint) != 0) {
        ph_error ("cannot connect to logshipper %s: %s", info->endpoint,
                  zmq_strerror (zmq_errno ()));
        goto out_free;
    }
    if (zloop_reader (self->loop, s->dealer, s_on_dealer, self) != 0)
        goto out_free;
    zloop_reader_set_tolerant (self->loop, s->dealer);
    ph_info ("shipping transcripts to the logshipper at %s", info->endpoint);
    return s;
out_free:
    zsock_destroy (&s->dealer);
    s_shipper_destroy (&s, self->loop);
    return NULL;
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
        s = s_shipper_new (self, kp, list[i]);
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
    if (zmq_send (zsock_resolve (s->dealer), data, len, ZMQ_DONTWAIT) < 0)
        return PH_EIO;
    return 0;
}
