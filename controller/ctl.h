/*  ctl.h: the internals of porthole-controller, shared by its modules only.
 *
 *  The controller is one zloop reactor (ctl_server.c) that owns a ZAP
 *  handler, two ROUTER sockets (agents, clients), an async Redis connection
 *  and one housekeeping timer. Everything durable lives in Redis; memory
 *  holds only what routing needs: which ROUTER routing id reaches which
 *  instance (ctl_instance_t) and which client is attached to which session
 *  (ctl_route_t). A restarted controller rebuilds both from Hello and Attach.
 *
 *  Modules:
 *    main.c           command line, keygen, bootstrap-admin, start-up
 *    ctl_server.c     reactor, ZAP lookup, dispatch tables, housekeeping
 *    ctl_req.c        request contexts carried through Redis callbacks
 *    ctl_registry.c   Enroll, Hello, Heartbeat, lost instances
 *    ctl_describe.c   DescribeInstances, DescribeSessions
 *    ctl_sessions.c   StartSession, ResumeSession, TerminateSession
 *    ctl_attach.c     Attach, SessionOpened, SessionEnded
 *    ctl_relay.c      routes, StreamData relay, Detach, route housekeeping
 *    ctl_api.c        authorisation, CreateActivation, preferences
 *    ctl_store.c      Redis writes shared by several modules (Lua scripts)
 *    ctl_principal.c  the caller's principal (admin, tags, policies) per request
 *    ctl_iam.c        IAM ops on users and keys; op dispatch
 *    ctl_iam_policy.c IAM ops on policies, SimulatePrincipalPolicy
 *    ctl_audit.c      the audit trail: hash chain, queued appends
 *    ctl_audit_query.c LookupEvents, Verify
 *    ctl_transcript.c logshippers and log prefs in HelloReply, Terminating
 *                     until TranscriptComplete
 *    ctl_logs.c       LogsRequest: log groups and streams (ops on metadata)
 *    ctl_logs_read.c  LogsRequest: GetLogEvents, FilterLogEvents
 *    ctl_logs_filters.c LogsRequest: metric filters
 *    ctl_logkeys.c    data keys of encrypted log groups, opened by a logshipper
 *    ctl_actions.c    alarm actions on instances: channel ph:ctl:{CID} -> agent
 */
#ifndef CTL_H
#define CTL_H

#include "ph_crypto.h"
#include "ph_errors.h"
#include "ph_keycache.h"
#include "ph_keys.h"
#include "ph_log.h"
#include "ph_policy.h"
#include "ph_redis.h"
#include "ph_util.h"
#include "ph_wire.h"
#include "ph_zap.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- limits and timings ------------------------------------------------ */

#define CTL_DOMAIN_AGENTS      "porthole-agents"
#define CTL_DOMAIN_CLIENTS     "porthole-clients"
#define CTL_CACHE_TTL_MS       10000  /* ZAP key -> identity, user records */
#define CTL_CACHE_MAX          100000 /* entries per cache */
#define CTL_HOUSEKEEPING_MS    1000   /* the one periodic timer */
#define CTL_LOST_INTERVALS     3      /* heartbeats missed before ConnectionLost */
#define CTL_FLUSH_SLACK_MS     1000   /* last_seen_ms is flushed once a second */
#define CTL_CLIENT_SILENCE_MS  10000  /* attached client silent -> Disconnected */
#define CTL_ATTACH_TIMEOUT_MS  10000  /* OpenSession -> SessionOpened */
#define CTL_ROUTE_LINGER_MS    60000  /* route kept after the end, for EXIT and acks */
#define CTL_CONNECTING_MAX_MS  600000 /* never-attached sessions fail after this */
#define CTL_HISTORY_KEEP_S     (30 * 86400)
#define CTL_CONTROLLER_TTL_S   30                    /* ph:controller:{CID} */
#define CTL_CONTROLLER_REFRESH 5                     /* housekeeping ticks between refreshes */
#define CTL_MAINTENANCE_TICKS  60                    /* history trim, stale sessions */
#define CTL_TERMINATING_MAX_MS (24 * 3600 * 1000ULL) /* transcript never completed */
#define CTL_TOKEN_USED_TTL_S   120
#define CTL_RECV_BATCH         64 /* messages read per socket wake-up */
#define CTL_SID_MAX            96 /* "<user>-<17 hex>" */
#define CTL_IID_MAX            24 /* "mi-" + 17 hex */
#define CTL_NAME_MAX           65
#define CTL_ENDPOINT_MAX       256
#define CTL_CID_MAX            16 /* "c-" + 8 hex */
#define CTL_SECRET_MAX         64
#define CTL_ENROLL_FAIL_MAX    10    /* failed enrollments per address ... */
#define CTL_ENROLL_FAIL_WINDOW 60000 /* ... per this many ms */
#define CTL_BAD_FRAME_LOGS     10    /* bad-frame warnings per housekeeping tick */
#define CTL_DRAIN_MAX_MS       2000  /* at exit, wait this long for Redis writes */
#define CTL_HEARTBEAT_MIN_MS   1000  /* the agent clamps to the same range */
#define CTL_HEARTBEAT_MAX_MS   300000
#define CTL_DEFAULT_RUN_AS     "porthole-user"
#define CTL_ACTION_MAX         64    /* "iam:SimulatePrincipalPolicy" */
#define CTL_RESOURCE_MAX       192   /* "session/<sid>", "instance/<id>", "user/<name>" */
#define CTL_POLICY_IDLE_MS     60000 /* unused parsed policies are dropped after this */

/* ---- wire error codes (docs/architecture.md "Messages") ---------------- */

#define CTL_E_ACCESS_DENIED        "AccessDenied"
#define CTL_E_INVALID_REQUEST      "InvalidRequest"
#define CTL_E_INVALID_TARGET       "InvalidTarget"
#define CTL_E_TARGET_NOT_CONNECTED "TargetNotConnected"
#define CTL_E_INVALID_ACTIVATION   "InvalidActivation"
#define CTL_E_INVALID_TOKEN        "InvalidToken"
#define CTL_E_SESSION_NOT_FOUND    "SessionNotFound"
#define CTL_E_INVALID_STATE        "InvalidState"
#define CTL_E_NOT_REGISTERED       "NotRegistered"
#define CTL_E_NOT_ATTACHED         "NotAttached"
#define CTL_E_SESSION_FAILED       "SessionFailed"
#define CTL_E_THROTTLED            "Throttled"
#define CTL_E_INTERNAL             "InternalError"
#define CTL_E_UNAVAILABLE          "Unavailable"

/* ---- types ------------------------------------------------------------- */

typedef struct {
    const char *redis_url;
    const char *key_file;
    const char *agent_bind;
    const char *client_bind;
    char advertise_client[CTL_ENDPOINT_MAX];
    char advertise_agent[CTL_ENDPOINT_MAX];
    uint32_t heartbeat_ms;
    uint32_t idle_timeout_s; /* 0: from preferences */
    uint32_t max_duration_s; /* 0: from preferences */
    const char *pid_file;
} ctl_options_t;

typedef enum { CTL_PORT_AGENTS, CTL_PORT_CLIENTS } ctl_port_t;

/*  What ZAP said about a peer (its User-Id property). */
typedef enum { CTL_PEER_NONE, CTL_PEER_KEY, CTL_PEER_INSTANCE, CTL_PEER_USER } ctl_peer_t;

/*  An agent that said Hello to this process. */
typedef struct {
    char id[CTL_IID_MAX];
    uint8_t rid[PH_ROUTING_MAX];
    size_t rid_len;
    uint64_t last_heartbeat_mono;
    uint64_t last_seen_ms;
    bool dirty; /* last_seen_ms not yet flushed to Redis */
} ctl_instance_t;

typedef struct _ctl_req_t ctl_req_t;

/*  A session this process relays: the attached client (if any) and the
 *  instance that runs it. */
typedef struct {
    char sid[CTL_SID_MAX];
    char instance_id[CTL_IID_MAX];
    bool has_client;
    uint8_t client_rid[PH_ROUTING_MAX];
    size_t client_rid_len;
    char client_user[CTL_NAME_MAX];
    char client_key[PH_Z85_KEY_LEN + 1]; /* the CURVE key it attached with */
    uint64_t last_client_mono;
    ctl_req_t *pending_attach; /* Attach waiting for SessionOpened */
    uint64_t attach_deadline_mono;
    uint64_t ended_mono; /* 0 while the session lives */
} ctl_route_t;

typedef struct _ctl_principal_t ctl_principal_t;
typedef struct _ctl_audit_t ctl_audit_t;

typedef struct _ctl_logkeys_t ctl_logkeys_t;

typedef struct _ctl_t {
    ctl_options_t opt;
    ph_keypair_t keys;
    char cid[CTL_CID_MAX];
    uint64_t started_ms;
    uint8_t secret[CTL_SECRET_MAX];
    size_t secret_len;
    zloop_t *loop;
    ph_zap_t *zap;
    zsock_t *agents;
    zsock_t *clients;
    ph_redis_t *redis;
    ph_redis_t *subscriber;   /* subscribed to ph:ctl:{CID} (ctl_actions.c) */
    ph_keycache_t *key_cache; /* ZAP: Z85 -> identity, with expiry */
    zhashx_t *policy_cache;   /* "name\nsha256" -> parsed policy (ctl_principal.c) */
    ctl_audit_t *audit;       /* the audit trail writer (ctl_audit.c) */
    ctl_logkeys_t *logkeys;   /* data keys of encrypted log groups (ctl_logkeys.c) */
    zhashx_t *instances;      /* instance id -> ctl_instance_t */
    zhashx_t *routes;         /* session id -> ctl_route_t */
    zhashx_t *enroll_fails;   /* peer address -> failure counter */
    zhashx_t *hellos;         /* instance id -> ctl_req_t of its Hello in Redis */
    int hk_timer;
    uint64_t hk_ticks;
    unsigned bad_frames; /* bad frames seen in this housekeeping tick */
    bool drained;        /* at exit: Redis answered everything queued */
} ctl_t;

/*  One received, validated message as the dispatcher hands it over. */
typedef struct {
    ctl_port_t port;
    ph_wire_rx_t *rx;
    ph_env_t *env; /* owned; a handler that keeps it sets this to NULL */
    ctl_peer_t peer;
    char name[PH_USER_ID_MAX];    /* instance id, user name or Z85 key */
    char key[PH_Z85_KEY_LEN + 1]; /* users: the CURVE key of the connection */
} ctl_msg_t;

/*  A request in flight through Redis callbacks: who to answer, what they
 *  asked. Exactly one reply is sent per request (ctl_req_reply/fail). */
struct _ctl_req_t {
    ctl_t *ctl;
    ctl_port_t port;
    uint8_t rid[PH_ROUTING_MAX];
    size_t rid_len;
    uint64_t request_id;
    ctl_peer_t peer;
    char name[PH_USER_ID_MAX];
    char key[PH_Z85_KEY_LEN + 1]; /* users: the CURVE key of the connection */
    char addr[64];                /* peer address, for rate limits and logs */
    bool admin;
    ctl_principal_t *principal; /* users' API calls: loaded before the handler */
    /* audit: when audit is set, the reply or failure appends one event */
    bool audit;
    bool denied; /* authorisation (or a token, an activation) said no */
    char action[CTL_ACTION_MAX];
    char resource[CTL_RESOURCE_MAX];
    ph_env_t *env; /* the request, owned */
    void (*api) (ctl_req_t *req);
    /* scratch used by handlers across callbacks */
    char sid[CTL_SID_MAX];
    char iid[CTL_IID_MAX];
    char text[PH_ERRTEXT_MAX];
    uint64_t num;
    void *data;
    void (*data_free) (void *data);
};

/*  Handlers, called from the dispatch table (ctl_server.c) only with the
 *  bodies and peers it allows. A message handler may take msg->env (via
 *  ctl_req_new) to keep it across Redis callbacks. An API handler owns req
 *  and answers it exactly once, possibly later; neither blocks. */
typedef void (ctl_msg_fn) (ctl_t *ctl, ctl_msg_t *msg);
typedef void (ctl_api_fn) (ctl_req_t *req);

/* ---- ctl_server.c ------------------------------------------------------ */

/*  Builds the reactor: ZAP handler, sockets (bound), async Redis, timer.
 *  Takes a copy of opt and keys. Returns NULL with a message in err when a
 *  socket cannot be bound. Blocks only while binding. */
ctl_t *ctl_new (const ctl_options_t *opt, const ph_keypair_t *keys, const char *cid,
                const uint8_t *secret, size_t secret_len, char *err, size_t errlen);
void ctl_destroy (ctl_t **self_p);

/*  Runs the reactor until SIGINT/SIGTERM. Returns 0. */
int ctl_run (ctl_t *self);

zsock_t *ctl_sock (ctl_t *self, ctl_port_t port);

/*  Remembers (for CTL_CACHE_TTL_MS) that key_z85 maps to identity, e.g.
 *  right after an enrollment wrote it. */
void ctl_cache_key (ctl_t *self, const char *key_z85, const char *identity);

/*  Forgets what ZAP cached for key_z85 (a key added or removed). */
void ctl_cache_forget (ctl_t *self, const char *key_z85);

/* ---- ctl_req.c --------------------------------------------------------- */

/*  One op of an op-dispatched request (IamRequest, LogsRequest,
 *  AlarmsRequest, TopicsRequest): its API name, what it acts on (the
 *  module's own S_ON_* value) and its handler. */
typedef struct {
    const char *op;
    int on;
    ctl_api_fn *fn;
} ctl_op_t;

/*  The entry of ops (n of them) named op, or NULL. */
const ctl_op_t *ctl_op_find (const ctl_op_t *ops, size_t n, const char *op);

/*  A request context for msg; takes msg->env. Never NULL. */
ctl_req_t *ctl_req_new (ctl_t *ctl, ctl_msg_t *msg);
void ctl_req_destroy (ctl_req_t **req_p);

/*  Sends env (version and request_id filled in) and destroys the request. */
void ctl_req_reply (ctl_req_t **req_p, ph_env_t *env);

/*  Sends Error{code, message} and destroys the request. */
void ctl_req_fail (ctl_req_t **req_p, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  For the rc of ph_redis_cmd*: on failure answers Unavailable, destroys
 *  the request and returns false. */
bool ctl_req_queued (ctl_req_t **req_p, int rc);

/*  For a Redis reply in a callback: NULL (connection lost) answers
 *  Unavailable, an error reply answers InternalError; both destroy the
 *  request and return false. */
bool ctl_req_reply_ok (ctl_req_t **req_p, const ph_reply_t *reply);

/*  Growable argv for ph_redis_cmdargv (EVAL with many arguments). */
typedef struct {
    int argc;
    int cap;
    char **argv;
    size_t *len;
} ctl_argv_t;

void ctl_argv_init (ctl_argv_t *a);
void ctl_argv_add (ctl_argv_t *a, const char *s);
void ctl_argv_addf (ctl_argv_t *a, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/*  Queues the command and frees a. Returns the rc of ph_redis_cmdargv. */
int ctl_argv_send (ctl_argv_t *a, ph_redis_t *redis, ph_redis_fn *fn, void *arg);
void ctl_argv_free (ctl_argv_t *a);

/*  "12s", "3m", "5h", "2d" for a duration in ms. */
void ctl_format_ago (uint64_t ms, char *buf, size_t len);

/*  A Redis callback that only logs a failure (fire-and-forget writes). */
void ctl_log_reply (ph_redis_t *redis, ph_reply_t *reply, void *arg);

/* ---- ctl_api.c --------------------------------------------------------- */

/*  THE authorisation decision. True when the user of req (its principal
 *  loaded) may perform action on resource: admins always, others when
 *  their attached policies allow it (ph_policy_evaluate). owner is the
 *  session's owner for session resources, else NULL; rtags the target
 *  instance's tags (may be NULL). why (may be NULL) gets the reason of a
 *  denial, e.g. "no statement allows it". */
bool ctl_authorize (const ctl_req_t *req, const char *action, const char *resource,
                    const char *owner, const ph_policy_kv_t *rtags, size_t n_rtags, char *why,
                    size_t whylen);

/*  ctl_authorize, recording action and resource for the audit event, and
 *  answering AccessDenied and destroying the request when it says no. */
bool ctl_req_authorize (ctl_req_t **req_p, const char *action, const char *resource,
                        const char *owner);
bool ctl_req_authorize_tags (ctl_req_t **req_p, const char *action, const char *resource,
                             const char *owner, const ph_policy_kv_t *rtags, size_t n_rtags);

/*  Parses a stored "k=v,..." tag list into kv pointing into tags (both
 *  hold PH_TAGS_MAX). Returns the count (0 for bad or empty text). */
size_t ctl_tags_to_kv (const char *text, ph_tag_t *tags, ph_policy_kv_t *kv);

void ctl_api_create_activation (ctl_req_t *req);
void ctl_api_get_preferences (ctl_req_t *req);
void ctl_api_update_preferences (ctl_req_t *req);

/*  Fills p from an HGETALL of ph:prefs, defaults for what is missing.
 *  Strings in p point into r. */
void ctl_prefs_from_reply (const ph_reply_t *r, Porthole__V1__Preferences *p);

/*  True for a valid unix account name that is not root. */
bool ctl_unix_name_valid (const char *name);

/* ---- ctl_registry.c ---------------------------------------------------- */

void ctl_registry_on_enroll (ctl_t *ctl, ctl_msg_t *msg);
void ctl_registry_on_hello (ctl_t *ctl, ctl_msg_t *msg);
void ctl_registry_on_heartbeat (ctl_t *ctl, ctl_msg_t *msg);

/*  Answers the Hello of req (whose instance was stored) with HelloReply:
 *  the instance is (re)bound to this process; logshippers and log_prefs
 *  are borrowed for the call. Destroys req. */
void ctl_registry_hello_reply (ctl_req_t **req_p, Porthole__V1__LogshipperInfo **logshippers,
                               size_t n_logshippers, Porthole__V1__SessionLogPrefs *log_prefs);

/*  The instance that said Hello to this process, or NULL. */
ctl_instance_t *ctl_registry_instance (ctl_t *ctl, const char *instance_id);

/*  Housekeeping: flushes last_seen_ms, marks silent instances lost. */
void ctl_registry_tick (ctl_t *ctl);

/*  "Online" or "ConnectionLost" from the stored status and last_seen_ms. */
const char *ctl_ping_status (const ctl_t *ctl, const char *stored, uint64_t last_seen_ms);

/* ---- ctl_describe.c ---------------------------------------------------- */

void ctl_describe_instances (ctl_req_t *req);
void ctl_describe_sessions (ctl_req_t *req);

/* ---- ctl_sessions.c ---------------------------------------------------- */

void ctl_sessions_start (ctl_req_t *req);
void ctl_sessions_resume (ctl_req_t *req);
void ctl_sessions_terminate (ctl_req_t *req);

/*  Sends CloseSession for sid to the agent of instance target when it is
 *  connected to this controller, and moves the session to Terminating.
 *  False when the agent is not connected here. */
bool ctl_sessions_close_on_agent (ctl_t *ctl, const char *sid, const char *target,
                                  const char *reason);

/*  True for "<user name>-<17 lowercase hex>". */
bool ctl_session_id_valid (const char *sid);

/* ---- ctl_attach.c ------------------------------------------------------ */

void ctl_attach_on_attach (ctl_t *ctl, ctl_msg_t *msg);
void ctl_attach_on_opened (ctl_t *ctl, ctl_msg_t *msg);
void ctl_attach_on_ended (ctl_t *ctl, ctl_msg_t *msg);

/* ---- ctl_relay.c ------------------------------------------------------- */

void ctl_relay_from_client (ctl_t *ctl, ctl_msg_t *msg);
void ctl_relay_from_agent (ctl_t *ctl, ctl_msg_t *msg);
void ctl_relay_on_detach (ctl_t *ctl, ctl_msg_t *msg);

/*  The route of sid, or NULL. */
ctl_route_t *ctl_route_find (ctl_t *ctl, const char *sid);

/*  The route of sid, created for instance_id when missing. */
ctl_route_t *ctl_route_ensure (ctl_t *ctl, const char *sid, const char *instance_id);

/*  Detaches every client of user name (key NULL) or of that one key: a
 *  removed user or key relays nothing more through this controller. */
void ctl_relay_drop_clients (ctl_t *ctl, const char *name, const char *key);

/*  Points the route at the client of req (its routing id and user). */
void ctl_route_attach_client (ctl_route_t *route, const ctl_req_t *req);

/*  Marks the route ended: it lingers CTL_ROUTE_LINGER_MS for the last
 *  frames; a waiting Attach is answered SessionFailed with reason. */
void ctl_route_end (ctl_t *ctl, const char *sid, const char *reason);

/*  Answers the Attach waiting on route (if any) with Error{code, text}. */
void ctl_route_fail_pending (ctl_route_t *route, const char *code, const char *text);

/*  Sends env to the agent that reaches instance_id. Returns 0, PH_ENOENT
 *  when this process has no route to it, or PH_EIO. */
int ctl_send_to_agent (ctl_t *ctl, const char *instance_id, ph_env_t *env);

/*  Housekeeping: silent clients, attach timeouts, lingering routes. */
void ctl_relay_tick (ctl_t *ctl);

/*  The instance's agent went away: its attached sessions -> Disconnected. */
void ctl_relay_instance_lost (ctl_t *ctl, const char *instance_id);

/* ---- ctl_store.c ------------------------------------------------------- */

/*  Moves session sid to state if it is in one of the states listed in
 *  from (comma separated) and, when target is not NULL, runs on target.
 *  fn gets "ok", "missing", "target" or the current state. */
int ctl_store_set_state (ctl_t *ctl, const char *sid, const char *target, const char *state,
                         const char *from, ph_redis_fn *fn, void *arg);

/*  Ends session sid (state Terminated or Failed): end_ms, exit_code (when
 *  has_exit), end_reason, out of ph:sessions:active and its instance's
 *  index, into history, expiry.
 *  When target is not NULL the session must run there. fn gets "ok",
 *  "missing", "target" or "ended". */
int ctl_store_end_session (ctl_t *ctl, const char *sid, const char *target, const char *state,
                           bool has_exit, int exit_code, const char *reason, ph_redis_fn *fn,
                           void *arg);

/*  Writes ph:controller:{CID} and its expiry (fire and forget). */
void ctl_store_refresh_controller (ctl_t *ctl);

/*  Trims history older than CTL_HISTORY_KEEP_S and fails sessions that
 *  stayed Connecting longer than CTL_CONNECTING_MAX_MS. */
void ctl_store_maintenance (ctl_t *ctl);

/*  Redis (re)connected: adds every active session to the index of its
 *  instance, ph:instance:{ID}:sessions (sessions started before the index
 *  existed, or by an older controller). Queued first on the connection, so
 *  that every Hello this controller stores reads a complete index. */
void ctl_store_on_connected (ctl_t *ctl);

/* ---- ctl_principal.c ----------------------------------------------------- */

/*  Loads the principal of req (a user's API call) in one Redis round trip
 *  and then calls req->api, or answers AccessDenied when the key or the
 *  user was removed. Takes req. */
void ctl_principal_load (ctl_req_t *req);

/*  A principal from its parts (the reply of a Lua script): admin flag,
 *  stored tags "k=v,...", and a flat [name, document, ...] array of its
 *  attached policies. Never NULL. */
ctl_principal_t *ctl_principal_new (ctl_t *ctl, const char *name, bool admin, const char *tags,
                                    const ph_reply_t *docs);
void ctl_principal_destroy (ctl_principal_t **self_p);
bool ctl_principal_admin (const ctl_principal_t *self);
/*  The value of the user's tag key, or NULL. */
const char *ctl_principal_tag (const ctl_principal_t *self, const char *key);

/*  The decision for action on resource; fills res (policy/sid borrowed
 *  from the principal). A policy that no longer parses denies everything
 *  (res->policy names it, res->sid is NULL, why says so). */
ph_policy_decision_t ctl_principal_evaluate (const ctl_principal_t *self, const char *action,
                                             const char *resource, const char *source_ip,
                                             const char *owner, const ph_policy_kv_t *rtags,
                                             size_t n_rtags, ph_policy_result_t *res, char *why,
                                             size_t whylen);

/*  Housekeeping: drops parsed policies unused for CTL_POLICY_IDLE_MS. */
void ctl_principal_tick (ctl_t *ctl);
zhashx_t *ctl_principal_cache_new (void);

/* ---- ctl_iam.c / ctl_iam_policy.c ------------------------------------- */

/*  IamRequest: checks the op and its fields, authorises iam:OP, runs it. */
void ctl_iam_request (ctl_req_t *req);

/*  The ops of ctl_iam_policy.c, called by ctl_iam_request after the
 *  fields were checked and the call authorised. */
void ctl_iam_create_policy (ctl_req_t *req);
void ctl_iam_delete_policy (ctl_req_t *req);
void ctl_iam_get_policy (ctl_req_t *req);
void ctl_iam_list_policies (ctl_req_t *req);
void ctl_iam_attach_policy (ctl_req_t *req);
void ctl_iam_detach_policy (ctl_req_t *req);
void ctl_iam_simulate (ctl_req_t *req);

/*  Sends IamReply (op copied from the request) and destroys req. */
void ctl_iam_reply (ctl_req_t **req_p, Porthole__V1__IamReply *body);

/* ---- ctl_audit.c -------------------------------------------------------- */

#define CTL_AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define CTL_AUDIT_HASH_LEN  64

ctl_audit_t *ctl_audit_new (ctl_t *ctl);
void ctl_audit_destroy (ctl_audit_t **self_p);

/*  Queues one event (copied); it is appended to ph:audit soon, chained to
 *  the event before it. Never blocks. */
void ctl_audit_add (ctl_t *ctl, const char *principal, const char *source_ip, const char *action,
                    const char *resource, bool allow, uint64_t request_id, const char *result);

/*  The event of req (req->audit set) with result "Success" or a code. */
void ctl_audit_req (const ctl_req_t *req, const char *result);

/*  Redis (re)connected: load the head; housekeeping: send what waits. */
void ctl_audit_on_connected (ctl_t *ctl);
void ctl_audit_tick (ctl_t *ctl);

/*  True when nothing is queued or in flight (for the drain at exit). */
bool ctl_audit_idle (const ctl_t *ctl);

/*  Writes the lowercase hex SHA-256 of the event's chained fields to out
 *  (CTL_AUDIT_HASH_LEN + 1 bytes). fields: time_ms, principal, source_ip,
 *  action, resource, decision, request_id, result. */
void ctl_audit_hash (const char *prev_hash, const char *const fields[8], char *out);

/* ---- ctl_audit_query.c ------------------------------------------------- */

void ctl_audit_lookup (ctl_req_t *req);
void ctl_audit_verify (ctl_req_t *req);

/* ---- ctl_transcript.c -------------------------------------------------- */

/*  After a stored Hello: reads the live logshippers and the log
 *  preferences, then answers with ctl_registry_hello_reply. Takes req. */
void ctl_transcript_hello (ctl_req_t *req);

/*  SessionEnded (not failed) from target: stores the end and moves the
 *  session to Terminating, or Terminated when no logshipper is registered
 *  or the transcript was complete already. Fire and forget; returns the rc
 *  of the queued command. */
int ctl_transcript_session_ended (ctl_t *ctl, const char *sid, const char *target, bool has_exit,
                                  int exit_code, const char *reason);

/*  TranscriptComplete from the session's instance: Terminating -> Terminated. */
void ctl_transcript_on_complete (ctl_t *ctl, ctl_msg_t *msg);

/* ---- ctl_logs.c / ctl_logs_read.c ---------------------------------------- */

#define CTL_E_RESOURCE_NOT_FOUND      "ResourceNotFound"
#define CTL_E_RESOURCE_ALREADY_EXISTS "ResourceAlreadyExists"
#define CTL_LOGS_NAME_MAX             512
#define CTL_LOG_GROUP_DEFAULT         "porthole/sessions" /* preferences' log_group */
#define CTL_LOGS_LIMIT_DEFAULT        10000
#define CTL_LOGS_LIMIT_MAX            10000

/*  LogsRequest: checks the op and its fields, authorises logs:OP on
 *  loggroup/G (or "*" for DescribeLogGroups), runs it. */
void ctl_logs_request (ctl_req_t *req);

/*  The read ops of ctl_logs_read.c, called after authorisation. */
void ctl_logs_get_events (ctl_req_t *req);
void ctl_logs_filter_events (ctl_req_t *req);

/*  The metric-filter ops of ctl_logs_filters.c, called after authorisation. */
void ctl_logs_put_metric_filter (ctl_req_t *req);
void ctl_logs_describe_metric_filters (ctl_req_t *req);
void ctl_logs_delete_metric_filter (ctl_req_t *req);
void ctl_logs_test_metric_filter (ctl_req_t *req);

/*  True for a metric name or namespace: 1..255 of A-Z a-z 0-9 space _ . # /
 *  : -, no space at either end. */
bool ctl_metric_name_valid (const char *name);

/*  True for [A-Za-z0-9_.-/#]{1,512}. */
bool ctl_logs_name_valid (const char *name);

/*  Sends LogsReply (op copied from the request) and destroys req. */
void ctl_logs_reply (ctl_req_t **req_p, Porthole__V1__LogsReply *body);

/* ---- ctl_metrics.c, ctl_alarms.c, ctl_topics.c ------------------------- */

/*  MetricsRequest (metrics:OP), AlarmsRequest (alarms:OP), TopicsRequest
 *  (topics:OP): dispatch on op, authorise, answer. Own req. */
void ctl_metrics_request (ctl_req_t *req);
void ctl_alarms_request (ctl_req_t *req);
void ctl_topics_request (ctl_req_t *req);

/* ---- ctl_actions.c ------------------------------------------------------ */

/*  Opens the subscriber connection (subscribes to ph:ctl:{CID} whenever it
 *  connects). Returns 0 or PH_EINVAL (bad URL). */
int ctl_actions_start (ctl_t *ctl);
void ctl_actions_stop (ctl_t *ctl);

/*  InstanceActionResult from an agent: alarm history and audit. */
void ctl_actions_on_result (ctl_t *ctl, ctl_msg_t *msg);

/*  Asks the controller that holds the agent of instance iid, when that is
 *  another controller, to close session sid (channel ph:ctl:{CID}). fn
 *  gets an integer reply: how many controllers received it (0: none, the
 *  caller ends the session itself). Returns 0 or a PH_E* error. */
int ctl_actions_close_elsewhere (ctl_t *ctl, const char *sid, const char *iid, const char *reason,
                                 ph_redis_fn *fn, void *arg);

/* ---- ctl_logkeys.c ------------------------------------------------------ */

#define CTL_SERVICE_IDENTITY "service:controller" /* this key's ph:key:{Z85} */

/*  Called with the opened data key (borrowed for the call), or with NULL
 *  and why when it cannot be had. */
typedef void (ctl_logkey_fn) (void *arg, const uint8_t *key, const char *why);

ctl_logkeys_t *ctl_logkeys_new (ctl_t *ctl);

/*  Fails what still waits ("shutting down"), then frees. */
void ctl_logkeys_destroy (ctl_logkeys_t **self_p);

/*  Calls fn with the data key of group whose stored (wrapped) form is
 *  wrapped: at once when cached, else once a logshipper opened it (within
 *  5 s, or fn gets NULL). Never blocks. */
void ctl_logkeys_open (ctl_t *ctl, const char *group, const char *wrapped, ctl_logkey_fn *fn,
                       void *arg);

/*  Housekeeping: fails requests that timed out. */
void ctl_logkeys_tick (ctl_t *ctl);

/*  Redis (re)connected: registers this controller's key as
 *  service:controller, which logshippers accept for OpenDataKey. */
void ctl_logkeys_on_connected (ctl_t *ctl);

#endif
