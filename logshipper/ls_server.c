/*  ls_server: the logshipper's one reactor.
 *
 *  The ZAP handler is bound before the ROUTER (libzmq would otherwise accept
 *  any CURVE key). ZAP maps each client key to an identity via
 *  ph:key:{Z85} (ph_keycache: async GET, cached 10 s), as the controller does:
 *  "instance:mi-..." for agents; any other key is let through as
 *  "key:Z85" or "user:NAME" so that it gets a clear Error{AccessDenied}
 *  rather than a silent handshake failure. Only instances may ship logs.
 *
 *  Housekeeping: every 5 s this logshipper refreshes its record
 *  ph:logshipper:{LID} (expires after 30 s), which controllers hand to
 *  agents in HelloReply; once a minute it applies retention; every second
 *  it copies new audit events into porthole/audit (ls_audit.c).
 */
#include "ls.h"
#include "ph_daemon.h"
#include "ph_version.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- requests ---------------------------------------------------------- */

void ls_req_destroy (ls_req_t **req_p)
{
    if (!req_p || !*req_p)
        return;
    ls_req_t *req = *req_p;
    if (req->sealed && req->env)
        for (size_t i = 0; i < req->env->put_log_events->n_events; i++)
            free (req->sealed[i]);
    free (req->sealed);
    ph_wire_free (&req->env);
    free (*req_p);
    *req_p = NULL;
}

void ls_req_reply (ls_req_t **req_p, ph_env_t *env)
{
    ls_req_t *req = *req_p;
    env->version = PH_WIRE_VERSION;
    env->request_id = req->request_id;
    if (ph_wire_send (req->ls->router, req->rid, req->rid_len, env) != 0)
        ph_debug ("reply to %s dropped (peer gone or queue full)", req->instance);
    ls_req_destroy (req_p);
}

void ls_req_fail (ls_req_t **req_p, const char *code, const char *fmt, ...)
{
    ls_req_t *req = *req_p;
    char text[PH_ERRTEXT_MAX];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    ph_debug ("%s %s: %s", code, req->instance, text);
    if (strcmp (code, LS_E_INTERNAL) == 0 || strcmp (code, LS_E_UNAVAILABLE) == 0)
        req->ls->stats.errors++;
    else
        req->ls->stats.refused++;
    ph_wire_send_error (req->ls->router, req->rid, req->rid_len, req->request_id, code, "%s", text);
    ls_req_destroy (req_p);
}

/* ---- ZAP: key -> identity -------------------------------------------- */

/*  "instance:...", "user:..." and "service:controller" as stored; any
 *  other key is "key:Z85". */
static void s_identity_of (const char *value, const char *key_z85, char *identity, size_t len)
{
    if (value && (strncmp (value, "instance:", 9) == 0 || strncmp (value, "user:", 5) == 0 ||
                  strcmp (value, LS_CONTROLLER_IDENTITY) == 0))
        snprintf (identity, len, "%s", value);
    else
        snprintf (identity, len, "key:%s", key_z85);
}

static void s_zap_lookup (ph_zap_t *zap, ph_zap_request_t *req, const char *domain,
                          const char *key_z85, void *arg)
{
    ls_t *ls = arg;
    if (strcmp (domain, LS_DOMAIN)) {
        ph_zap_reply (zap, req, NULL);
        return;
    }
    ph_keycache_resolve (ls->key_cache, ls->redis, zap, req, key_z85);
}

/* ---- dispatch ---------------------------------------------------------- */

/*  OpenDataKey from a controller: the group's data key, opened with the
 *  master key (no Redis: the wrapped key comes with the request, and its
 *  associated data names the group). */
static void s_open_data_key (ls_t *ls, ph_wire_rx_t *rx, const ph_env_t *env)
{
    const Porthole__V1__OpenDataKey *o = env->open_data_key;
    uint8_t key[PH_AEAD_KEY_LEN];
    if (!ls->has_master) {
        ph_wire_send_error (ls->router, rx->routing_id, rx->routing_id_len, env->request_id,
                            LS_E_UNAVAILABLE,
                            "porthole-logshipper: this logshipper holds no log master key "
                            "(--master-key-file)");
        return;
    }
    if (ph_logcrypt_unwrap (ls->master, o->log_group, o->wrapped_key, key) != 0) {
        ph_warn ("%s asked for the data key of %s, which does not open with the master key",
                 rx->user_id, o->log_group);
        ph_wire_send_error (ls->router, rx->routing_id, rx->routing_id_len, env->request_id,
                            LS_E_INVALID_REQUEST,
                            "porthole-logshipper: that is not a data key of log group %.512s "
                            "under this master key",
                            o->log_group);
        return;
    }
    Porthole__V1__OpenDataKeyReply body = PORTHOLE__V1__OPEN_DATA_KEY_REPLY__INIT;
    body.log_group = o->log_group;
    body.wrapped_key = o->wrapped_key;
    body.data_key.data = key;
    body.data_key.len = sizeof key;
    ph_env_t out = PH_ENV_INIT;
    out.version = PH_WIRE_VERSION;
    out.request_id = env->request_id;
    out.body_case = PORTHOLE__V1__ENVELOPE__BODY_OPEN_DATA_KEY_REPLY;
    out.open_data_key_reply = &body;
    ph_wire_send (ls->router, rx->routing_id, rx->routing_id_len, &out);
    explicit_bzero (key, sizeof key);
}

/*  Only an instance may send PutLogEvents, only a controller (a service
 *  identity) OpenDataKey; everything else is refused with a reason
 *  (replies are dropped, a peer's Error is logged). */
static void s_dispatch (ls_t *ls, ph_wire_rx_t *rx, ph_env_t **env_p)
{
    ph_env_t *env = *env_p;
    const char *uid = rx->user_id;
    bool instance = strncmp (uid, "instance:", 9) == 0 && ph_instance_id_valid (uid + 9);
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        ph_warn ("%s reported %s: %s", uid, env->error->code,
                 env->error->message ? env->error->message : "");
        return;
    }
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_OPEN_DATA_KEY &&
        strcmp (uid, LS_CONTROLLER_IDENTITY) == 0) {
        s_open_data_key (ls, rx, env);
        return;
    }
    if (!instance) {
        ph_wire_send_error (ls->router, rx->routing_id, rx->routing_id_len, env->request_id,
                            LS_E_ACCESS_DENIED,
                            "porthole-logshipper: only registered instances may ship logs, and "
                            "%s is not one; register the machine with porthole-agent register",
                            *uid ? uid : "this key");
        return;
    }
    if (env->body_case != PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS) {
        ph_wire_send_error (
            ls->router, rx->routing_id, rx->routing_id_len, env->request_id, LS_E_INVALID_REQUEST,
            "porthole-logshipper: '%s' is not a request the logshipper accepts "
            "(only put_log_events); is the agent the same version (" PH_VERSION ")?",
            ph_wire_body_name (env->body_case));
        return;
    }
    ls_req_t *req = calloc (1, sizeof *req);
    assert (req);
    req->ls = ls;
    req->rid_len = rx->routing_id_len;
    memcpy (req->rid, rx->routing_id, req->rid_len);
    req->request_id = env->request_id;
    snprintf (req->instance, sizeof req->instance, "%s", uid + 9);
    req->env = env;
    *env_p = NULL;
    ls_put_log_events (req);
}

static void s_on_bad_frame (ls_t *ls, ph_wire_rx_t *rx, const char *err)
{
    if (++ls->bad_frames <= LS_BAD_FRAME_LOGS)
        ph_warn ("bad frame from %s: %s; answered InvalidRequest", *rx->user_id ? rx->user_id : "?",
                 err);
    ph_wire_send_error (ls->router, rx->routing_id, rx->routing_id_len, 0, LS_E_INVALID_REQUEST,
                        "porthole-logshipper: cannot read the message (%s); is the agent the "
                        "same version (" PH_VERSION ")?",
                        err);
}

static bool s_receive_one (ls_t *ls)
{
    ph_wire_rx_t rx;
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX] = "";
    int rc = ph_wire_recv (ls->router, true, &rx, &env, err, sizeof err);
    if (rc == PH_EIO) {
        ph_wire_rx_close (&rx);
        return false;
    }
    if (rc != 0)
        s_on_bad_frame (ls, &rx, err);
    else
        s_dispatch (ls, &rx, &env);
    ph_wire_free (&env);
    ph_wire_rx_close (&rx);
    return true;
}

static int s_on_router (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    for (int i = 0; i < LS_RECV_BATCH && s_receive_one (arg); i++)
        ;
    return 0;
}

/* ---- housekeeping ----------------------------------------------------- */

static void s_log_reply (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    if (!reply)
        ph_warn ("redis: %s: connection lost before the reply", (const char *)arg);
    else if (ph_reply_is_error (reply))
        ph_error ("redis: %s: %s", (const char *)arg, ph_reply_str (reply));
}

/*  Writes ph:logshipper:{LID} (expiring) and adds LID to ph:logshippers:
 *  controllers list the live ones in HelloReply. Fire and forget. */
static void s_register (ls_t *ls)
{
    ph_redis_cmd (ls->redis, s_log_reply, "register",
                  "HSET ph:logshipper:{%s} endpoint %s server_key %s started_ms %llu", ls->lid,
                  ls->opt.advertise, ls->keys.public_z85, (unsigned long long)ls->started_ms);
    ph_redis_cmd (ls->redis, s_log_reply, "register", "EXPIRE ph:logshipper:{%s} %d", ls->lid,
                  LS_REGISTER_TTL_S);
    ph_redis_cmd (ls->redis, s_log_reply, "register", "SADD ph:logshippers %s", ls->lid);
}

static int s_on_housekeeping (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ls_t *ls = arg;
    ls->hk_ticks++;
    if (ls->bad_frames > LS_BAD_FRAME_LOGS)
        ph_warn ("%u more bad frames answered without a log line",
                 ls->bad_frames - LS_BAD_FRAME_LOGS);
    ls->bad_frames = 0;
    if (ls->hk_ticks % LS_REGISTER_TICKS == 0)
        s_register (ls);
    ls_audit_ship (ls);
    ls_metrics_tick (ls->metrics);
    ls_alarms_tick (ls->alarms);
    ls_webhooks_tick (ls->webhooks, ls_alarms_leader (ls->alarms));
    if (ls->hk_ticks % LS_RETENTION_TICKS == 0) {
        ls_put_retention (ls);
        ph_keycache_purge_expired (ls->key_cache);
    }
    return 0;
}

static void s_on_redis_state (ph_redis_t *redis, bool connected, void *arg)
{
    (void)redis;
    if (!connected)
        return;
    ls_t *ls = arg;
    s_register (ls);             /* at once, not 5 s later: agents wait for it */
    ph_zap_retry_held (ls->zap); /* handshakes that waited for Redis */
}

/* ---- life cycle --------------------------------------------------------- */

static zsock_t *s_server_socket (ls_t *self, char *err, size_t errlen)
{
    return ph_daemon_server_socket (
        &self->keys, LS_DOMAIN, self->opt.bind,
        "is another logshipper running there? choose another endpoint with --bind", err, errlen);
}

static void s_data_key_destroy (void **item)
{
    ls_data_key_t *dk = *item;
    if (dk) {
        free (dk->wrapped);
        explicit_bzero (dk->key, sizeof dk->key);
        free (dk);
    }
    *item = NULL;
}

ls_t *ls_new (const ls_options_t *opt, const ph_keypair_t *keys, const uint8_t *master,
              const char *lid, char *err, size_t errlen)
{
    ls_t *self = calloc (1, sizeof *self);
    assert (self);
    self->opt = *opt;
    self->keys = *keys;
    self->has_master = master != NULL;
    if (master)
        memcpy (self->master, master, PH_AEAD_KEY_LEN);
    self->data_keys = zhashx_new ();
    assert (self->data_keys);
    zhashx_set_destructor (self->data_keys, s_data_key_destroy);
    self->metrics = ls_metrics_new (self);
    self->alarms = ls_alarms_new (self);
    snprintf (self->lid, sizeof self->lid, "%s", lid);
    self->started_ms = ph_now_ms ();
    self->key_cache = ph_keycache_new (LS_CACHE_MAX, LS_CACHE_TTL_MS, s_identity_of);
    self->loop = zloop_new ();
    self->zap = ph_zap_new (self->loop, s_zap_lookup, self);
    if (!self->zap) {
        snprintf (err, errlen, "cannot bind the ZAP handler (another one in this process?)");
        goto out_destroy;
    }
    self->router = s_server_socket (self, err, errlen);
    if (!self->router)
        goto out_destroy;
    zloop_reader (self->loop, self->router, s_on_router, self);
    self->redis = ph_redis_new (self->loop, opt->redis_url, s_on_redis_state, self);
    if (!self->redis) {
        snprintf (err, errlen, "bad Redis URL '%s': use redis://HOST:PORT[/DB] or unix:///PATH",
                  opt->redis_url);
        goto out_destroy;
    }
    self->hk_timer = zloop_timer (self->loop, LS_HOUSEKEEPING_MS, 0, s_on_housekeeping, self);
    self->webhooks = ls_webhooks_new (self);
    if (ls_prom_start (self, err, errlen) != 0)
        goto out_destroy;
    return self;
out_destroy:
    ls_destroy (&self);
    return NULL;
}

void ls_destroy (ls_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ls_t *self = *self_p;
    ph_redis_destroy (&self->redis); /* its callbacks answer on the socket */
    ls_prom_stop (self);
    ls_webhooks_destroy (&self->webhooks);
    if (self->loop && self->router)
        zloop_reader_end (self->loop, self->router);
    zsock_destroy (&self->router);
    ph_zap_destroy (&self->zap);
    zloop_destroy (&self->loop);
    ph_keycache_destroy (&self->key_cache);
    zhashx_destroy (&self->data_keys);
    ls_metrics_destroy (&self->metrics);
    ls_alarms_destroy (&self->alarms);
    explicit_bzero (self->master, sizeof self->master);
    free (self);
    *self_p = NULL;
}

static void s_on_drained (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)reply;
    ((ls_t *)arg)->drained = true;
}

static int s_check_drained (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    return ((ls_t *)arg)->drained ? -1 : 0;
}

static int s_drain_timeout (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    ph_warn ("Redis did not confirm the last appends within %d ms; agents re-send them",
             LS_DRAIN_MAX_MS);
    return -1;
}

int ls_run (ls_t *self)
{
    ph_info ("logshipper %s: listening on %s (advertised %s), auto-create log groups %s", self->lid,
             self->opt.bind, self->opt.advertise, self->opt.auto_create ? "on" : "off");
    zloop_start (self->loop);
    ph_info ("logshipper %s: stopping", self->lid);
    /* take no new batches; let Redis answer the appends already queued */
    zloop_reader_end (self->loop, self->router);
    zloop_timer_end (self->loop, self->hk_timer);
    if (ph_redis_cmd (self->redis, s_on_drained, self, "PING") != 0)
        return 0;
    zloop_set_nonstop (self->loop, true);
    zloop_timer (self->loop, 10, 0, s_check_drained, self);
    zloop_timer (self->loop, LS_DRAIN_MAX_MS, 1, s_drain_timeout, self);
    zloop_start (self->loop);
    return 0;
}
