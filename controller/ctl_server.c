/*  ctl_server: the controller's one reactor.
 *
 *  Order matters at start-up: the ZAP handler is bound first (libzmq would
 *  otherwise accept any CURVE key), then both ROUTERs get their CURVE and
 *  ZAP options and bind. ZAP maps each client key to an identity via
 *  ph:key:{Z85} (ph_keycache: async GET, cached 10 s): "instance:mi-...",
 *  "user:NAME:Z85" (the key too, so that each API call can check that the
 *  key is still registered) or, for a key nobody registered, "key:Z85" so
 *  that such a peer gets a clear answer instead of a silent handshake
 *  failure. A user's API call first loads its principal (ctl_principal.c).
 *  While Redis cannot answer (the first milliseconds after a start, an
 *  outage) handshakes wait (ph_zap_hold) and are never refused: libzmq
 *  would not reconnect a refused agent. The ROUTERs still bind at once,
 *  so that agents queue their handshakes rather than back off.
 *
 *  Every frame goes through ph_wire_recv (decode + validate), then through
 *  the dispatch table below, which says which peer may send which body on
 *  which port (STYLE.md habit 7). Anything the table does not allow is
 *  answered or dropped here, so handlers never see it.
 */
#include "ctl.h"
#include "ph_daemon.h"
#include "ph_version.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CTL_TRIM_TICKS     10                 /* at most one malloc_trim per 10 ticks */
#define CTL_TRIM_SLACK_MIN (16 * 1024 * 1024) /* resident but free: worth returning */
#define CTL_TRIM_SLACK_DIV 4                  /* ... and over a quarter of what is in use */

typedef struct {
    ctl_port_t port;
    ph_body_t body;
    ctl_peer_t peer;
    bool needs_hello; /* an instance must have said Hello to this process */
    ctl_msg_fn *on_msg;
    ctl_api_fn *on_api; /* client API: the principal is loaded first */
    const char *action; /* client API: the action audited when no handler names one */
} s_route_t;

#define B(x) PORTHOLE__V1__ENVELOPE__BODY_##x

static void s_on_agent_error (ctl_t *ctl, ctl_msg_t *msg);

static const s_route_t s_routes[] = {
    {CTL_PORT_AGENTS, B (ENROLL), CTL_PEER_KEY, false, ctl_registry_on_enroll, NULL, NULL},
    {CTL_PORT_AGENTS, B (HELLO), CTL_PEER_INSTANCE, false, ctl_registry_on_hello, NULL, NULL},
    {CTL_PORT_AGENTS, B (HEARTBEAT), CTL_PEER_INSTANCE, true, ctl_registry_on_heartbeat, NULL,
     NULL},
    {CTL_PORT_AGENTS, B (SESSION_OPENED), CTL_PEER_INSTANCE, true, ctl_attach_on_opened, NULL,
     NULL},
    {CTL_PORT_AGENTS, B (SESSION_ENDED), CTL_PEER_INSTANCE, true, ctl_attach_on_ended, NULL, NULL},
    {CTL_PORT_AGENTS, B (STREAM_DATA), CTL_PEER_INSTANCE, true, ctl_relay_from_agent, NULL, NULL},
    {CTL_PORT_AGENTS, B (TRANSCRIPT_COMPLETE), CTL_PEER_INSTANCE, true, ctl_transcript_on_complete,
     NULL, NULL},
    {CTL_PORT_AGENTS, B (INSTANCE_ACTION_RESULT), CTL_PEER_INSTANCE, true, ctl_actions_on_result,
     NULL, NULL},
    {CTL_PORT_AGENTS, B (ERROR), CTL_PEER_INSTANCE, false, s_on_agent_error, NULL, NULL},
    {CTL_PORT_CLIENTS, B (CREATE_ACTIVATION), CTL_PEER_USER, false, NULL, ctl_api_create_activation,
     "activation:CreateActivation"},
    {CTL_PORT_CLIENTS, B (DESCRIBE_INSTANCES), CTL_PEER_USER, false, NULL, ctl_describe_instances,
     "instance:DescribeInstanceInformation"},
    {CTL_PORT_CLIENTS, B (START_SESSION), CTL_PEER_USER, false, NULL, ctl_sessions_start,
     "session:StartSession"},
    {CTL_PORT_CLIENTS, B (RESUME_SESSION), CTL_PEER_USER, false, NULL, ctl_sessions_resume,
     "session:ResumeSession"},
    {CTL_PORT_CLIENTS, B (TERMINATE_SESSION), CTL_PEER_USER, false, NULL, ctl_sessions_terminate,
     "session:TerminateSession"},
    {CTL_PORT_CLIENTS, B (DESCRIBE_SESSIONS), CTL_PEER_USER, false, NULL, ctl_describe_sessions,
     "session:DescribeSessions"},
    {CTL_PORT_CLIENTS, B (GET_PREFERENCES), CTL_PEER_USER, false, NULL, ctl_api_get_preferences,
     "preferences:GetPreferences"},
    {CTL_PORT_CLIENTS, B (UPDATE_PREFERENCES), CTL_PEER_USER, false, NULL,
     ctl_api_update_preferences, "preferences:UpdatePreferences"},
    {CTL_PORT_CLIENTS, B (IAM), CTL_PEER_USER, false, NULL, ctl_iam_request, NULL},
    {CTL_PORT_CLIENTS, B (LOGS), CTL_PEER_USER, false, NULL, ctl_logs_request, NULL},
    {CTL_PORT_CLIENTS, B (METRICS), CTL_PEER_USER, false, NULL, ctl_metrics_request, NULL},
    {CTL_PORT_CLIENTS, B (ALARMS), CTL_PEER_USER, false, NULL, ctl_alarms_request, NULL},
    {CTL_PORT_CLIENTS, B (TOPICS), CTL_PEER_USER, false, NULL, ctl_topics_request, NULL},
    {CTL_PORT_CLIENTS, B (AUDIT_LOOKUP), CTL_PEER_USER, false, NULL, ctl_audit_lookup,
     "audit:LookupEvents"},
    {CTL_PORT_CLIENTS, B (AUDIT_VERIFY), CTL_PEER_USER, false, NULL, ctl_audit_verify,
     "audit:Verify"},
    {CTL_PORT_CLIENTS, B (ATTACH), CTL_PEER_USER, false, ctl_attach_on_attach, NULL, NULL},
    {CTL_PORT_CLIENTS, B (DETACH), CTL_PEER_USER, false, ctl_relay_on_detach, NULL, NULL},
    {CTL_PORT_CLIENTS, B (STREAM_DATA), CTL_PEER_USER, false, ctl_relay_from_client, NULL, NULL},
};

zsock_t *ctl_sock (ctl_t *self, ctl_port_t port)
{
    return port == CTL_PORT_AGENTS ? self->agents : self->clients;
}

/* ---- ZAP: key -> identity -------------------------------------------- */

void ctl_cache_key (ctl_t *self, const char *key_z85, const char *identity)
{
    ph_keycache_put (self->key_cache, key_z85, identity);
}

void ctl_cache_forget (ctl_t *self, const char *key_z85)
{
    ph_keycache_forget (self->key_cache, key_z85);
}

/*  "user:NAME" becomes "user:NAME:Z85" (the key too, so that each API call
 *  can check that the key is still registered); an unregistered key or an
 *  unknown value becomes "key:Z85". */
static void s_identity_of (const char *value, const char *key_z85, char *identity, size_t len)
{
    if (value && strncmp (value, "user:", 5) == 0 && !strchr (value + 5, ':'))
        snprintf (identity, len, "%s:%s", value, key_z85);
    else if (value && strncmp (value, "instance:", 9) == 0)
        snprintf (identity, len, "%s", value);
    else
        snprintf (identity, len, "key:%s", key_z85);
}

static void s_zap_lookup (ph_zap_t *zap, ph_zap_request_t *req, const char *domain,
                          const char *key_z85, void *arg)
{
    ctl_t *ctl = arg;
    if (strcmp (domain, CTL_DOMAIN_AGENTS) && strcmp (domain, CTL_DOMAIN_CLIENTS)) {
        ph_zap_reply (zap, req, NULL);
        return;
    }
    ph_keycache_resolve (ctl->key_cache, ctl->redis, zap, req, key_z85);
}

/* ---- peers ----------------------------------------------------------- */

/*  "user:NAME:Z85": NAME into name, Z85 into key. */
static ctl_peer_t s_parse_user (const char *user_id, char *name, size_t len, char *key)
{
    const char *colon = strchr (user_id + 5, ':');
    if (!colon || !ph_keys_z85_valid (colon + 1))
        return CTL_PEER_NONE;
    snprintf (name, len, "%.*s", (int)(colon - user_id - 5), user_id + 5);
    snprintf (key, PH_Z85_KEY_LEN + 1, "%s", colon + 1);
    return ph_name_valid (name) ? CTL_PEER_USER : CTL_PEER_NONE;
}

static ctl_peer_t s_parse_peer (const char *user_id, char *name, size_t len, char *key)
{
    const char *colon = strchr (user_id, ':');
    if (!colon)
        return CTL_PEER_NONE;
    if (strncmp (user_id, "user:", 5) == 0)
        return s_parse_user (user_id, name, len, key);
    snprintf (name, len, "%s", colon + 1);
    if (strncmp (user_id, "instance:", 9) == 0 && ph_instance_id_valid (name))
        return CTL_PEER_INSTANCE;
    if (strncmp (user_id, "key:", 4) == 0)
        return CTL_PEER_KEY;
    return CTL_PEER_NONE;
}

static void s_on_agent_error (ctl_t *ctl, ctl_msg_t *msg)
{
    (void)ctl;
    ph_warn ("agent %s reported %s: %s", msg->name, msg->env->error->code,
             msg->env->error->message ? msg->env->error->message : "");
}

/* ---- client API requests ---------------------------------------------- */

/*  The action of a request with an op field: "service:OP". */
static void s_op_action (const ph_env_t *env, char *out, size_t len)
{
    switch (env->body_case) {
    case B (LOGS):
        snprintf (out, len, "logs:%.40s", env->logs->op);
        break;
    case B (METRICS):
        snprintf (out, len, "metrics:%.40s", env->metrics->op);
        break;
    case B (ALARMS):
        snprintf (out, len, "alarms:%.40s", env->alarms->op);
        break;
    case B (TOPICS):
        snprintf (out, len, "topics:%.40s", env->topics->op);
        break;
    default:
        snprintf (out, len, "iam:%.40s", env->iam->op);
    }
}

/*  Every API call is audited; its action is the route's, or "service:OP"
 *  (iam, logs, metrics, alarms, topics), its resource "*" until the
 *  handler's authorisation names one. */
static void s_dispatch_api (ctl_t *ctl, ctl_msg_t *msg, const s_route_t *route)
{
    ctl_req_t *req = ctl_req_new (ctl, msg);
    req->api = route->on_api;
    req->audit = true;
    if (route->action)
        snprintf (req->action, sizeof req->action, "%s", route->action);
    else
        s_op_action (req->env, req->action, sizeof req->action);
    snprintf (req->resource, sizeof req->resource, "*");
    ctl_principal_load (req);
}

/* ---- dispatch ---------------------------------------------------------- */

static void s_send_error (ctl_t *ctl, ctl_msg_t *msg, const char *code, const char *fmt,
                          const char *arg)
{
    ph_wire_rx_t *rx = msg->rx;
    ph_wire_send_error (ctl_sock (ctl, msg->port), rx->routing_id, rx->routing_id_len,
                        msg->env ? msg->env->request_id : 0, code, fmt, arg);
}

/*  A message that no table entry allows for this peer. */
static void s_refuse (ctl_t *ctl, ctl_msg_t *msg)
{
    const char *body = ph_wire_body_name (msg->env->body_case);
    if (msg->port == CTL_PORT_CLIENTS && msg->peer == CTL_PEER_KEY)
        s_send_error (ctl, msg, CTL_E_ACCESS_DENIED,
                      "porthole: your key %s is not registered with this cluster; ask an admin "
                      "to add it (porthole-controller bootstrap-admin for the first admin)",
                      msg->name);
    else if (msg->port == CTL_PORT_CLIENTS && msg->peer == CTL_PEER_USER)
        s_send_error (ctl, msg, CTL_E_INVALID_REQUEST,
                      "porthole: '%s' is not a request the controller accepts; is your porthole "
                      "CLI the same version as the controller (" PH_VERSION ")?",
                      body);
    else if (msg->port == CTL_PORT_CLIENTS)
        s_send_error (ctl, msg, CTL_E_ACCESS_DENIED,
                      "porthole: %s keys may not use the clients port; use a user key "
                      "(porthole configure)",
                      msg->peer == CTL_PEER_INSTANCE ? "instance" : "unknown");
    else if (msg->peer == CTL_PEER_KEY)
        s_send_error (ctl, msg, CTL_E_ACCESS_DENIED,
                      "porthole: agent key %s is not registered with this cluster; register the "
                      "machine with porthole-agent register --activation-id ID "
                      "--activation-code CODE",
                      msg->name);
    else if (msg->peer == CTL_PEER_USER)
        s_send_error (ctl, msg, CTL_E_ACCESS_DENIED,
                      "porthole: user %s may not use the agents port; point the CLI at the "
                      "clients endpoint (default port 7611)",
                      msg->name);
    else
        ph_warn ("agents port: %s may not send %s; dropped", msg->name, body);
}

static const s_route_t *s_find_route (const ctl_msg_t *msg)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (s_routes[i].port == msg->port && s_routes[i].body == msg->env->body_case &&
            s_routes[i].peer == msg->peer)
            return &s_routes[i];
    return NULL;
}

/*  An instance that said Hello here: remember the routing id it uses now
 *  (a reconnected DEALER gets a new one; the identity is what CURVE proved). */
static bool s_instance_ready (ctl_t *ctl, ctl_msg_t *msg)
{
    ctl_instance_t *inst = ctl_registry_instance (ctl, msg->name);
    if (!inst)
        return false;
    ph_wire_rx_t *rx = msg->rx;
    if (inst->rid_len != rx->routing_id_len ||
        memcmp (inst->rid, rx->routing_id, rx->routing_id_len)) {
        ph_info ("instance %s reconnected", inst->id);
        memcpy (inst->rid, rx->routing_id, rx->routing_id_len);
        inst->rid_len = rx->routing_id_len;
    }
    return true;
}

static void s_dispatch (ctl_t *ctl, ctl_msg_t *msg)
{
    const s_route_t *route = s_find_route (msg);
    if (!route) {
        s_refuse (ctl, msg);
        return;
    }
    if (route->needs_hello && !s_instance_ready (ctl, msg)) {
        s_send_error (ctl, msg, CTL_E_NOT_REGISTERED,
                      "porthole: instance %s has not said Hello to this controller; send Hello",
                      msg->name);
        return;
    }
    if (route->on_api)
        s_dispatch_api (ctl, msg, route);
    else
        route->on_msg (ctl, msg);
}

/*  A frame that failed ph_wire_recv. Warnings are capped per tick so that
 *  a peer sending garbage cannot flood the log. */
static void s_on_bad_frame (ctl_t *ctl, ctl_port_t port, ph_wire_rx_t *rx, const char *err)
{
    if (port == CTL_PORT_AGENTS) {
        if (++ctl->bad_frames <= CTL_BAD_FRAME_LOGS)
            ph_warn ("agents port: bad frame from %s: %s; dropped",
                     *rx->user_id ? rx->user_id : "?", err);
        return;
    }
    ph_debug ("clients port: bad frame from %s: %s", rx->user_id, err);
    ph_wire_send_error (ctl->clients, rx->routing_id, rx->routing_id_len, 0, CTL_E_INVALID_REQUEST,
                        "porthole: the controller could not read your request (%s); is your "
                        "porthole CLI the same version as the controller (" PH_VERSION ")?",
                        err);
}

/*  Reads and handles one message. Returns false when nothing was waiting. */
static bool s_receive_one (ctl_t *ctl, ctl_port_t port)
{
    ph_wire_rx_t rx;
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX] = "";
    int rc = ph_wire_recv (ctl_sock (ctl, port), true, &rx, &env, err, sizeof err);
    if (rc == PH_EIO) {
        ph_wire_rx_close (&rx);
        return false;
    }
    if (rc != 0)
        s_on_bad_frame (ctl, port, &rx, err);
    else {
        ctl_msg_t msg = {.port = port, .rx = &rx, .env = env};
        msg.peer = s_parse_peer (rx.user_id, msg.name, sizeof msg.name, msg.key);
        s_dispatch (ctl, &msg);
        ph_wire_free (&msg.env);
    }
    ph_wire_rx_close (&rx);
    return true;
}

static int s_on_agents (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    for (int i = 0; i < CTL_RECV_BATCH && s_receive_one (arg, CTL_PORT_AGENTS); i++)
        ;
    return 0;
}

static int s_on_clients (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    for (int i = 0; i < CTL_RECV_BATCH && s_receive_one (arg, CTL_PORT_CLIENTS); i++)
        ;
    return 0;
}

/* ---- housekeeping ----------------------------------------------------- */

/*  Resident bytes of this process (/proc/self/statm), 0 if unknown. */
static size_t s_resident_bytes (void)
{
    unsigned long pages = 0, resident = 0;
    FILE *f = fopen ("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf (f, "%lu %lu", &pages, &resident) != 2)
        resident = 0;
    fclose (f);
    return (size_t)resident * (size_t)sysconf (_SC_PAGESIZE);
}

/*  glibc keeps what is freed for reuse, and libzmq allocates ~100 KiB per
 *  connection (pipes, encoder, decoder) in its I/O thread's arena: after
 *  agents leave, or a burst of connections and failed handshakes, the
 *  controller kept hundreds of MB it no longer used (272 MB after three
 *  cycles of 3,000 agents; 15 MB with malloc_trim, bench/RESULTS.md).
 *  Every CTL_TRIM_TICKS ticks this compares what is resident with what
 *  malloc has in use (mallinfo2 sums every arena) and, when much of it is
 *  free, returns it to the kernel with malloc_trim(0). Nothing to remember
 *  between ticks: once trimmed, resident memory is close to what is in use
 *  and the next check does nothing. Both walk the free lists with each
 *  arena locked (measured with 10,000 agents: mallinfo2 0.1-2 ms; a trim
 *  that returned 380 MB, 21 ms), at most once every 10 s. */
static void s_trim_memory (ctl_t *ctl)
{
    if (ctl->hk_ticks % CTL_TRIM_TICKS)
        return;
    size_t resident = s_resident_bytes ();
    struct mallinfo2 mi = mallinfo2 ();
    size_t in_use = mi.uordblks + mi.hblkhd;
    if (in_use == 0) /* not glibc's malloc (ASan): nothing to learn, nothing to trim */
        return;
    if (resident <= in_use || resident - in_use < CTL_TRIM_SLACK_MIN ||
        resident - in_use < in_use / CTL_TRIM_SLACK_DIV)
        return;
    malloc_trim (0);
    ph_info ("returned freed memory to the system: resident %zu -> %zu MB (%zu MB in use)",
             resident >> 20, s_resident_bytes () >> 20, in_use >> 20);
}

static int s_on_housekeeping (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ctl_t *ctl = arg;
    ctl->hk_ticks++;
    if (ctl->bad_frames > CTL_BAD_FRAME_LOGS)
        ph_warn ("agents port: %u more bad frames dropped without a log line",
                 ctl->bad_frames - CTL_BAD_FRAME_LOGS);
    ctl->bad_frames = 0;
    ctl_registry_tick (ctl);
    ctl_relay_tick (ctl);
    if (ctl->hk_ticks % CTL_CONTROLLER_REFRESH == 0)
        ctl_store_refresh_controller (ctl);
    if (ctl->hk_ticks % CTL_MAINTENANCE_TICKS == 0) {
        ctl_store_maintenance (ctl);
        ph_keycache_purge_expired (ctl->key_cache);
        ctl_principal_tick (ctl);
    }
    ctl_audit_tick (ctl);
    ctl_logkeys_tick (ctl);
    s_trim_memory (ctl);
    return 0;
}

/* ---- life cycle --------------------------------------------------------- */

static void s_free_entry (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void s_free_route (void **item_p)
{
    ctl_route_t *route = *item_p;
    if (route)
        ctl_req_destroy (&route->pending_attach);
    free (route);
    *item_p = NULL;
}

static zhashx_t *s_table (zhashx_destructor_fn *destructor)
{
    zhashx_t *h = zhashx_new ();
    assert (h);
    zhashx_set_destructor (h, destructor);
    return h;
}

static zsock_t *s_server_socket (ctl_t *self, const char *domain, const char *endpoint, char *err,
                                 size_t errlen)
{
    return ph_daemon_server_socket (&self->keys, domain, endpoint,
                                    "is another controller running there? choose another endpoint",
                                    err, errlen);
}

static void s_on_redis_state (ph_redis_t *redis, bool connected, void *arg)
{
    (void)redis;
    ctl_t *ctl = arg;
    if (connected) {
        ctl_store_on_connected (ctl); /* first on the connection: see ctl_store.c */
        ctl_audit_on_connected (ctl);
        ctl_logkeys_on_connected (ctl);
        ph_zap_retry_held (ctl->zap); /* handshakes that waited for Redis */
    }
}

ctl_t *ctl_new (const ctl_options_t *opt, const ph_keypair_t *keys, const char *cid,
                const uint8_t *secret, size_t secret_len, char *err, size_t errlen)
{
    ctl_t *self = calloc (1, sizeof *self);
    assert (self && secret_len <= sizeof self->secret);
    self->opt = *opt;
    self->keys = *keys;
    snprintf (self->cid, sizeof self->cid, "%s", cid);
    memcpy (self->secret, secret, secret_len);
    self->secret_len = secret_len;
    self->key_cache = ph_keycache_new (CTL_CACHE_MAX, CTL_CACHE_TTL_MS, s_identity_of);
    self->policy_cache = ctl_principal_cache_new ();
    self->instances = s_table (s_free_entry);
    self->routes = s_table (s_free_route);
    self->enroll_fails = s_table (s_free_entry);
    self->hellos = s_table (NULL); /* the requests own themselves */
    self->loop = zloop_new ();
    self->zap = ph_zap_new (self->loop, s_zap_lookup, self);
    if (!self->zap) {
        snprintf (err, errlen, "cannot bind the ZAP handler (another one in this process?)");
        goto out_destroy;
    }
    self->agents = s_server_socket (self, CTL_DOMAIN_AGENTS, opt->agent_bind, err, errlen);
    if (!self->agents)
        goto out_destroy;
    self->clients = s_server_socket (self, CTL_DOMAIN_CLIENTS, opt->client_bind, err, errlen);
    if (!self->clients)
        goto out_destroy;
    zloop_reader (self->loop, self->agents, s_on_agents, self);
    zloop_reader (self->loop, self->clients, s_on_clients, self);
    self->audit = ctl_audit_new (self);
    self->logkeys = ctl_logkeys_new (self);
    if (ctl_actions_start (self) != 0) {
        snprintf (err, errlen, "bad Redis URL '%s': use redis://HOST:PORT[/DB] or unix:///PATH",
                  opt->redis_url);
        goto out_destroy;
    }
    self->redis = ph_redis_new (self->loop, opt->redis_url, s_on_redis_state, self);
    if (!self->redis) {
        snprintf (err, errlen, "bad Redis URL '%s': use redis://HOST:PORT[/DB] or unix:///PATH",
                  opt->redis_url);
        goto out_destroy;
    }
    self->hk_timer = zloop_timer (self->loop, CTL_HOUSEKEEPING_MS, 0, s_on_housekeeping, self);
    return self;
out_destroy:
    ctl_destroy (&self);
    return NULL;
}

void ctl_destroy (ctl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ctl_t *self = *self_p;
    /* Redis first: its pending callbacks still answer on the sockets and
     * the ZAP handler, which must outlive them. */
    ph_redis_destroy (&self->redis);
    ctl_actions_stop (self);
    ctl_logkeys_destroy (&self->logkeys); /* answers its waiting readers */
    zhashx_destroy (&self->routes);
    if (self->loop && self->agents)
        zloop_reader_end (self->loop, self->agents);
    if (self->loop && self->clients)
        zloop_reader_end (self->loop, self->clients);
    zsock_destroy (&self->agents);
    zsock_destroy (&self->clients);
    ph_zap_destroy (&self->zap);
    zloop_destroy (&self->loop);
    ph_keycache_destroy (&self->key_cache);
    ctl_audit_destroy (&self->audit);
    zhashx_destroy (&self->policy_cache); /* after every request that held a policy */
    zhashx_destroy (&self->instances);
    zhashx_destroy (&self->enroll_fails);
    zhashx_destroy (&self->hellos); /* empty: every request ended with Redis */
    free (self);
    *self_p = NULL;
}

static void s_on_drained (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)reply;
    ((ctl_t *)arg)->drained = true;
}

static int s_check_drained (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ctl_t *ctl = arg;
    if (ctl->drained && !ctl_audit_idle (ctl)) {
        ctl->drained = false; /* the audit batch in flight goes before a new PING */
        ctl_audit_tick (ctl);
        ph_redis_cmd (ctl->redis, s_on_drained, ctl, "PING");
    }
    return ctl->drained ? -1 : 0;
}

static int s_drain_timeout (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    ph_warn ("Redis did not confirm the last writes within %d ms; some may be lost",
             CTL_DRAIN_MAX_MS);
    return -1;
}

/*  After a stop signal: take no new work, and let Redis answer what is
 *  queued (Redis replies in order, so a PING's reply means everything
 *  before it was done) instead of dropping those writes. */
static void s_drain_redis (ctl_t *self)
{
    zloop_reader_end (self->loop, self->agents);
    zloop_reader_end (self->loop, self->clients);
    zloop_timer_end (self->loop, self->hk_timer);
    self->drained = false;
    if (ph_redis_cmd (self->redis, s_on_drained, self, "PING") != 0)
        return;
    zloop_set_nonstop (self->loop, true);
    zloop_timer (self->loop, 10, 0, s_check_drained, self);
    zloop_timer (self->loop, CTL_DRAIN_MAX_MS, 1, s_drain_timeout, self);
    zloop_start (self->loop);
}

int ctl_run (ctl_t *self)
{
    ph_info ("controller %s: agents on %s, clients on %s (advertised %s), heartbeat %u ms",
             self->cid, self->opt.agent_bind, self->opt.client_bind, self->opt.advertise_client,
             self->opt.heartbeat_ms);
    zloop_start (self->loop);
    ph_info ("controller %s: stopping", self->cid);
    s_drain_redis (self);
    return 0;
}
