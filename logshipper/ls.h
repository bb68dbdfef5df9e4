/*  ls.h: the internals of porthole-logshipper, shared by its modules only.
 *
 *  The logshipper is one zloop reactor (ls_server.c) that owns a ZAP
 *  handler, one CURVE ROUTER (agents ship their session transcripts here),
 *  an async Redis connection and one housekeeping timer. It keeps nothing
 *  of its own: log groups and streams live in Redis (docs/architecture.md
 *  "Session logs"), so any number of logshippers can run side by side.
 *
 *  Modules:
 *    main.c          command line: keygen, run, put-log-events (a test tool)
 *    ls_server.c     reactor, ZAP lookup, dispatch, registration, retention
 *    ls_put.c        PutLogEvents: validation and the one append script
 *    ls_client.c     put-log-events: one batch sent as an instance, blocking
 *    ls_audit.c      copies the audit trail ph:audit into porthole/audit
 *    ls_metrics.c    metric filters evaluated on what was appended
 *    ls_alarms.c     alarm evaluation (one leader) and alarm actions
 *    ls_prom.c       Prometheus /metrics on a loopback port
 *    ls_webhooks.c   topic notifications POSTed to webhook subscribers
 */
#ifndef LS_H
#define LS_H

#include "ph_errors.h"
#include "ph_keycache.h"
#include "ph_keys.h"
#include "ph_log.h"
#include "ph_logcrypt.h"
#include "ph_redis.h"
#include "ph_util.h"
#include "ph_wire.h"
#include "ph_zap.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- limits and timings ------------------------------------------------ */

#define LS_DOMAIN              "porthole-logshipper"
#define LS_BATCH_EVENTS_MAX    10000         /* events per PutLogEvents */
#define LS_BATCH_BYTES_MAX     (1024 * 1024) /* message bytes per PutLogEvents */
#define LS_NAME_MAX            512           /* log group and stream names */
#define LS_BATCH_ID_MAX        128
#define LS_DEDUP_TTL_S         86400 /* ph:logbatch:{ID} */
#define LS_CACHE_TTL_MS        10000 /* ZAP key -> identity */
#define LS_CACHE_MAX           100000
#define LS_HOUSEKEEPING_MS     1000
#define LS_REGISTER_TTL_S      30 /* ph:logshipper:{LID} */
#define LS_REGISTER_TICKS      5  /* refreshed every 5 s */
#define LS_RETENTION_TICKS     60 /* XTRIM once a minute */
#define LS_RECV_BATCH          64
#define LS_LID_MAX             16 /* "l-" + 8 hex */
#define LS_ENDPOINT_MAX        256
#define LS_DRAIN_MAX_MS        2000
#define LS_BAD_FRAME_LOGS      10
#define LS_REKEY_MAX           2                    /* data-key refetches per batch */
#define LS_CONTROLLER_IDENTITY "service:controller" /* ph:key:{Z85} of controllers */
#define LS_AUDIT_GROUP         "porthole/audit"     /* where ph:audit is copied */

#define LS_E_ACCESS_DENIED      "AccessDenied"
#define LS_E_INVALID_REQUEST    "InvalidRequest"
#define LS_E_RESOURCE_NOT_FOUND "ResourceNotFound"
#define LS_E_INTERNAL           "InternalError"
#define LS_E_UNAVAILABLE        "Unavailable"

typedef struct {
    const char *redis_url;
    const char *key_file;
    const char *bind;
    char advertise[LS_ENDPOINT_MAX];
    bool auto_create; /* unknown log groups are created on first use */
    const char *pid_file;
    const char *master_key_file;
    const char *metrics_listen; /* HOST:PORT of /metrics, or "off" */
} ls_options_t;

typedef struct _ls_metrics_t ls_metrics_t;
typedef struct _ls_alarms_t ls_alarms_t;
typedef struct _ls_webhooks_t ls_webhooks_t;

/*  One event appended, as metric filters see it (borrowed). */
typedef struct {
    uint64_t ts_ms;
    const char *msg;
} ls_event_ref_t;

/*  What this logshipper counted since it started (ls_prom.c shows it). */
typedef struct {
    uint64_t batches, events, bytes, duplicates, refused, errors, audit_events;
    uint64_t lag_ms; /* newest event of the last batch -> its append */
} ls_stats_t;

typedef struct _ls_t {
    ls_options_t opt;
    ph_keypair_t keys;
    char lid[LS_LID_MAX];
    uint64_t started_ms;
    zloop_t *loop;
    ph_zap_t *zap;
    zsock_t *router;
    ph_redis_t *redis;
    ph_keycache_t *key_cache; /* ZAP: Z85 -> identity, with expiry */
    int hk_timer;
    uint64_t hk_ticks;
    unsigned bad_frames;
    bool drained;
    bool audit_busy;          /* an ls_audit round in flight */
    ls_metrics_t *metrics;    /* metric filters (ls_metrics.c) */
    ls_alarms_t *alarms;      /* alarm evaluation and actions (ls_alarms.c) */
    ls_webhooks_t *webhooks;  /* notification deliveries (ls_webhooks.c) */
    struct _ph_httpd_t *prom; /* /metrics (ls_prom.c), NULL when off */
    int prom_port;
    ls_stats_t stats;
    bool has_master; /* master holds the log master key */
    uint8_t master[PH_AEAD_KEY_LEN];
    zhashx_t *data_keys; /* group -> ls_data_key_t: data keys of encrypted groups */
} ls_t;

/*  A PutLogEvents in flight through its Redis callback. */
typedef struct {
    ls_t *ls;
    uint8_t rid[PH_ROUTING_MAX];
    size_t rid_len;
    uint64_t request_id;
    char instance[PH_USER_ID_MAX];
    ph_env_t *env; /* the request, owned */
    char **sealed; /* the events' messages sealed (encrypted groups), owned */
    int rekeys;    /* times the group's data key had to be fetched again */
} ls_req_t;

/*  The data key of an encrypted group, as stored (wrapped) and opened. */
typedef struct {
    char *wrapped;
    uint8_t key[PH_AEAD_KEY_LEN];
} ls_data_key_t;

/* ---- ls_server.c ------------------------------------------------------- */

/*  Builds the reactor: ZAP handler, ROUTER (bound), async Redis, timer.
 *  Returns NULL with a message in err. Blocks only while binding. */
ls_t *ls_new (const ls_options_t *opt, const ph_keypair_t *keys, const uint8_t *master,
              const char *lid, char *err, size_t errlen);
void ls_destroy (ls_t **self_p);

/*  Runs until SIGINT/SIGTERM, then lets Redis answer what is queued. */
int ls_run (ls_t *self);

/*  Sends env as the reply to req (version, request_id filled in), or
 *  Error{code, text}; both free req. */
void ls_req_reply (ls_req_t **req_p, ph_env_t *env);
void ls_req_fail (ls_req_t **req_p, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void ls_req_destroy (ls_req_t **req_p);

/* ---- ls_put.c ---------------------------------------------------------- */

/*  True for a log group or stream name: [A-Za-z0-9_.-/#]{1,512}. */
bool ls_name_valid (const char *name);

/*  Validates the PutLogEvents of req and appends it (one Lua script). The
 *  reply goes out once Redis answered. Takes req; never blocks. */
void ls_put_log_events (ls_req_t *req);

/*  Housekeeping, once a minute: XTRIM by each group's retention. */
void ls_put_retention (ls_t *ls);

/* ---- ls_audit.c ------------------------------------------------------- */

/*  Copies the audit events that ph:audit holds after the cursor
 *  ph:logship:audit into the log group porthole/audit (one round in flight;
 *  a full round starts the next). Called every housekeeping tick; never
 *  blocks. */
void ls_audit_ship (ls_t *ls);

/* ---- ls_metrics.c ----------------------------------------------------- */

ls_metrics_t *ls_metrics_new (ls_t *ls);
void ls_metrics_destroy (ls_metrics_t **self_p);

/*  Housekeeping: reloads the filters when ph:metricfilters:version moved. */
void ls_metrics_tick (ls_metrics_t *self);

/*  Runs the filters of group over n events (timestamp order) that Redis
 *  has just stored, and merges the resulting 1-second buckets into the
 *  metrics. Never blocks. */
void ls_metrics_ingest (ls_metrics_t *self, const char *group, const ls_event_ref_t *events,
                        size_t n, const char *instance);

/* ---- ls_alarms.c ------------------------------------------------------ */

ls_alarms_t *ls_alarms_new (ls_t *ls);
void ls_alarms_destroy (ls_alarms_t **self_p);

/*  Housekeeping: takes or renews the lease; the leader evaluates every
 *  alarm and runs the actions of new transitions. Never blocks. */
void ls_alarms_tick (ls_alarms_t *self);

/*  True while this logshipper holds the alarms lease. */
bool ls_alarms_leader (const ls_alarms_t *self);

/*  Hands an "instance:VERB[:mi-…]" action of alarm to the controller of
 *  the instance (Redis channel ph:ctl:{CID}); failures go to the alarm's
 *  history. */
void ls_alarms_instance_action (ls_t *ls, const char *alarm, const char *action);

/*  Calls fn for every metric this logshipper's filters fed since it
 *  started: its samples and the sum of their values. */
void ls_metrics_each (ls_metrics_t *self,
                      void (*fn) (const char *ns, const char *name, uint64_t samples, double sum,
                                  void *arg),
                      void *arg);

/* ---- ls_webhooks.c ----------------------------------------------------- */

ls_webhooks_t *ls_webhooks_new (ls_t *ls);

/*  Stops the delivery actor (waits for a POST in progress, at most 5 s). */
void ls_webhooks_destroy (ls_webhooks_t **self_p);

/*  Housekeeping: when leader, sends the next notification of every due
 *  subscription to the delivery actor. Never blocks. */
void ls_webhooks_tick (ls_webhooks_t *self, bool leader);

/* ---- ls_prom.c --------------------------------------------------------- */

/*  Serves /metrics on opt.metrics_listen (unless "off"). Returns 0, or
 *  PH_EINVAL / PH_EIO with err when the address is bad or cannot be bound. */
int ls_prom_start (ls_t *ls, char *err, size_t errlen);
void ls_prom_stop (ls_t *ls);

/* ---- ls_client.c ------------------------------------------------------- */

/*  put-log-events: sends one batch and prints the answer; blocks (a
 *  command-line tool). Returns a PH_EXIT_* code. */
int ls_client_main (int argc, char **argv);

#endif
