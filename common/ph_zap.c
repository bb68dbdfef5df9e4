/*  ph_zap: see ph_zap.h.
 *
 *  The handler socket is a ROUTER rather than the usual REP so that answers
 *  can be given out of order, after an async lookup, without holding up
 *  other handshakes. libzmq sends each ZAP request behind an empty
 *  delimiter frame, as a REQ would, and expects the same in the reply.
 */
#include "ph_zap.h"
#include "ph_keys.h"
#include "ph_log.h"

#define PH_ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct _ph_zap_t {
    zloop_t *loop;
    zsock_t *sock;
    ph_zap_lookup_fn *lookup;
    void *arg;
    zlistx_t *pending;
};

struct _ph_zap_request_t {
    zframe_t *routing_id;
    zframe_t *request_id;
    void *handle; /* in pending */
};

static void s_send_reply (ph_zap_t *self, ph_zap_request_t *req, const char *user_id)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &req->routing_id);
    zmsg_addstr (reply, "");
    zmsg_addstr (reply, "1.0");
    zmsg_append (reply, &req->request_id);
    zmsg_addstr (reply, user_id ? "200" : "400");
    zmsg_addstr (reply, user_id ? "OK" : "Denied");
    zmsg_addstr (reply, user_id ? user_id : "");
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, self->sock);
}

static void s_request_free (ph_zap_request_t **req_p)
{
    ph_zap_request_t *req = *req_p;
    zframe_destroy (&req->routing_id);
    zframe_destroy (&req->request_id);
    free (req);
    *req_p = NULL;
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
    req->routing_id = zmsg_pop (msg);
    zframe_t *empty = zmsg_pop (msg);
    zframe_t *version = zmsg_pop (msg);
    req->request_id = zmsg_pop (msg);
    char *domain = zmsg_popstr (msg);
    zframe_t *address = zmsg_pop (msg);
    zframe_t *identity = zmsg_pop (msg);
    char *mechanism = zmsg_popstr (msg);
    zframe_t *key = zmsg_pop (msg);
    char z85[PH_Z85_KEY_LEN + 1] = "";
    bool curve = mechanism && strcmp (mechanism, "CURVE") == 0 && key && zframe_size (key) == 32;
    if (curve)
        zmq_z85_encode (z85, zframe_data (key), 32);
    zframe_destroy (&empty);
    zframe_destroy (&version);
    zframe_destroy (&address);
    zframe_destroy (&identity);
    zframe_destroy (&key);
    free (mechanism);
    zmsg_destroy (&msg);
    if (!curve) {
        s_send_reply (self, req, NULL);
        s_request_free (&req);
    } else {
        req->handle = zlistx_add_end (self->pending, req);
        self->lookup (self, req, domain ? domain : "", z85, self->arg);
    }
    free (domain);
    return 0;
}

ph_zap_t *ph_zap_new (zloop_t *loop, ph_zap_lookup_fn *lookup, void *arg)
{
    ph_zap_t *self = calloc (1, sizeof *self);
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
    zloop_reader (loop, self->sock, s_on_request, self);
    return self;
}

void ph_zap_reply (ph_zap_t *self, ph_zap_request_t *req, const char *user_id)
{
    s_send_reply (self, req, user_id);
    zlistx_delete (self->pending, req->handle);
    s_request_free (&req);
}

void ph_zap_destroy (ph_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_zap_t *self = *self_p;
    ph_zap_request_t *req;
    while ((req = zlistx_first (self->pending)))
        ph_zap_reply (self, req, NULL);
    zlistx_destroy (&self->pending);
    zloop_reader_end (self->loop, self->sock);
    zsock_destroy (&self->sock);
    free (self);
    *self_p = NULL;
}
