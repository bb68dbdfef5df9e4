/*  ctl_audit: the audit trail (issue 5), a hash chain in the Redis stream
 *  ph:audit.
 *
 *  Each event has the fields time_ms, principal, source_ip, action,
 *  resource, decision (Allow | Deny), request_id, result (Success or an
 *  error code), prev_hash and hash, where hash is the lowercase hex SHA-256
 *  of prev_hash "\n" time_ms "\n" ... "\n" result, and prev_hash the hash
 *  of the event before it (64 '0's for the first). ph:audit:head holds the
 *  hash of the last event. Editing, inserting or deleting any event breaks
 *  the chain (ctl_audit_query.c verifies it).
 *
 *  Several controllers append to the same stream, so appends are
 *  optimistic: events wait in a queue; at most one batch is in flight,
 *  chained locally from the last head this controller knows; one Lua
 *  script checks that the stored head is still that head and then XADDs
 *  the batch and moves the head, atomically. When another controller
 *  appended in between, the script answers the stored head and the batch
 *  is re-chained from it and sent again. Handlers never wait for any of
 *  this: ctl_audit_add only queues.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_AUDIT_BATCH_MAX 256
#define CTL_AUDIT_QUEUE_MAX 100000 /* events kept while Redis is away */
#define CTL_AUDIT_FIELDS    8

/*  KEYS: ph:audit, ph:audit:head; ARGV: expected head, then per event
 *  time_ms principal source_ip action resource decision request_id result
 *  prev_hash hash. Returns 'ok' or the stored head when it differs. */
static const char s_append_lua[] =
    "local stored = redis.call('GET', KEYS[2]) or string.rep('0', 64)\n"
    "if stored ~= ARGV[1] then return stored end\n"
    "local names = {'time_ms', 'principal', 'source_ip', 'action', 'resource', 'decision',\n"
    "               'request_id', 'result', 'prev_hash', 'hash'}\n"
    "for b = 2, #ARGV - 1, 10 do\n"
    "  local kv = {}\n"
    "  for j = 1, 10 do kv[#kv + 1] = names[j]; kv[#kv + 1] = ARGV[b + j - 1] end\n"
    "  redis.call('XADD', KEYS[1], '*', unpack(kv))\n"
    "end\n"
    "redis.call('SET', KEYS[2], ARGV[#ARGV])\n"
    "return 'ok'\n";

typedef struct {
    char *fields[CTL_AUDIT_FIELDS];
    char prev[CTL_AUDIT_HASH_LEN + 1];
    char hash[CTL_AUDIT_HASH_LEN + 1];
} s_event_t;

struct _ctl_audit_t {
    ctl_t *ctl;
    zlistx_t *queue; /* s_event_t, oldest first */
    s_event_t *batch[CTL_AUDIT_BATCH_MAX];
    size_t n_batch; /* the batch in flight, or waiting for a retry */
    char head[CTL_AUDIT_HASH_LEN + 1];
    bool head_known;
    bool busy; /* a head load or an append in flight */
    uint64_t dropped;
};

static void s_event_destroy (s_event_t **ev_p)
{
    if (!*ev_p)
        return;
    for (int i = 0; i < CTL_AUDIT_FIELDS; i++)
        free ((*ev_p)->fields[i]);
    free (*ev_p);
    *ev_p = NULL;
}

static void s_queue_destructor (void **item)
{
    s_event_destroy ((s_event_t **)item);
}

ctl_audit_t *ctl_audit_new (ctl_t *ctl)
{
    ctl_audit_t *self = calloc (1, sizeof *self);
    assert (self);
    self->ctl = ctl;
    self->queue = zlistx_new ();
    assert (self->queue);
    zlistx_set_destructor (self->queue, s_queue_destructor);
    return self;
}

void ctl_audit_destroy (ctl_audit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ctl_audit_t *self = *self_p;
    size_t lost = zlistx_size (self->queue) + self->n_batch;
    if (lost)
        ph_warn ("audit: %zu event(s) not written to Redis at exit", lost);
    for (size_t i = 0; i < self->n_batch; i++)
        s_event_destroy (&self->batch[i]);
    zlistx_destroy (&self->queue);
    free (self);
    *self_p = NULL;
}

void ctl_audit_hash (const char *prev_hash, const char *const fields[8], char *out)
{
    size_t len = strlen (prev_hash) + 1;
    for (int i = 0; i < CTL_AUDIT_FIELDS; i++)
        len += strlen (fields[i]) + 1;
    char *text = malloc (len);
    assert (text);
    size_t used = (size_t)sprintf (text, "%s", prev_hash);
    for (int i = 0; i < CTL_AUDIT_FIELDS; i++)
        used += (size_t)sprintf (text + used, "\n%s", fields[i]);
    uint8_t sha[PH_SHA256_LEN];
    ph_sha256 (text, used, sha);
    ph_hex (sha, sizeof sha, out);
    free (text);
}

/*  Chains the batch from the known head. */
static void s_chain (ctl_audit_t *self)
{
    const char *prev = self->head;
    for (size_t i = 0; i < self->n_batch; i++) {
        s_event_t *ev = self->batch[i];
        snprintf (ev->prev, sizeof ev->prev, "%s", prev);
        ctl_audit_hash (ev->prev, (const char *const *)ev->fields, ev->hash);
        prev = ev->hash;
    }
}

static void s_send (ctl_audit_t *self);

static void s_batch_done (ctl_audit_t *self)
{
    snprintf (self->head, sizeof self->head, "%s", self->batch[self->n_batch - 1]->hash);
    for (size_t i = 0; i < self->n_batch; i++)
        s_event_destroy (&self->batch[i]);
    self->n_batch = 0;
}

static void s_on_appended (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_audit_t *self = arg;
    self->busy = false;
    const char *r = ph_reply_str (reply);
    if (!reply || ph_reply_is_error (reply) || !r) {
        /* retried by the housekeeping tick; the head is re-read first */
        ph_warn ("audit: append failed (%s); %zu event(s) wait for a retry",
                 reply ? (r ? r : "bad reply") : "Redis connection lost",
                 self->n_batch + zlistx_size (self->queue));
        self->head_known = false;
        return;
    }
    if (strcmp (r, "ok") == 0 ||
        strcmp (r, self->batch[self->n_batch - 1]->hash) == 0) /* done before a lost reply */
        s_batch_done (self);
    else
        snprintf (self->head, sizeof self->head, "%.64s", r); /* another controller appended */
    if (self->ctl->redis)
        s_send (self);
}

static void s_on_head (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_audit_t *self = arg;
    self->busy = false;
    if (!ph_reply_ok (reply)) {
        ph_warn ("audit: cannot read ph:audit:head (%s); retrying",
                 reply ? ph_reply_str (reply) : "Redis connection lost");
        return;
    }
    const char *h = ph_reply_str (reply);
    snprintf (self->head, sizeof self->head, "%s",
              h && strlen (h) == CTL_AUDIT_HASH_LEN ? h : CTL_AUDIT_ZERO_HASH);
    self->head_known = true;
    s_send (self);
}

static void s_fill_batch (ctl_audit_t *self)
{
    while (self->n_batch < CTL_AUDIT_BATCH_MAX && zlistx_size (self->queue)) {
        zlistx_first (self->queue);
        self->batch[self->n_batch++] = zlistx_detach_cur (self->queue);
    }
}

/*  Sends the next batch (or first reads the head) unless something is in
 *  flight or Redis is down. */
static void s_send (ctl_audit_t *self)
{
    ctl_t *ctl = self->ctl;
    if (self->busy || !ctl->redis || !ph_redis_connected (ctl->redis))
        return;
    if (!self->head_known) {
        if (ph_redis_cmd (ctl->redis, s_on_head, self, "GET ph:audit:head") == 0)
            self->busy = true;
        return;
    }
    s_fill_batch (self);
    if (self->n_batch == 0)
        return;
    s_chain (self);
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_append_lua);
    ctl_argv_add (&a, "2");
    ctl_argv_add (&a, "ph:audit");
    ctl_argv_add (&a, "ph:audit:head");
    ctl_argv_add (&a, self->head);
    for (size_t i = 0; i < self->n_batch; i++) {
        for (int j = 0; j < CTL_AUDIT_FIELDS; j++)
            ctl_argv_add (&a, self->batch[i]->fields[j]);
        ctl_argv_add (&a, self->batch[i]->prev);
        ctl_argv_add (&a, self->batch[i]->hash);
    }
    if (ctl_argv_send (&a, ctl->redis, s_on_appended, self) == 0)
        self->busy = true;
}

void ctl_audit_add (ctl_t *ctl, const char *principal, const char *source_ip, const char *action,
                    const char *resource, bool allow, uint64_t request_id, const char *result)
{
    ctl_audit_t *self = ctl->audit;
    if (zlistx_size (self->queue) >= CTL_AUDIT_QUEUE_MAX) {
        if (self->dropped++ % 1000 == 0)
            ph_error ("audit: %d events wait for Redis; dropping new ones (%llu so far)",
                      CTL_AUDIT_QUEUE_MAX, (unsigned long long)self->dropped);
        return;
    }
    s_event_t *ev = calloc (1, sizeof *ev);
    assert (ev);
    char t[24], id[24];
    snprintf (t, sizeof t, "%llu", (unsigned long long)ph_now_ms ());
    snprintf (id, sizeof id, "%llu", (unsigned long long)request_id);
    const char *f[CTL_AUDIT_FIELDS] = {
        t, principal, source_ip, action, resource, allow ? "Allow" : "Deny", id, result};
    for (int i = 0; i < CTL_AUDIT_FIELDS; i++) {
        ev->fields[i] = strdup (f[i] ? f[i] : "");
        assert (ev->fields[i]);
    }
    zlistx_add_end (self->queue, ev);
    s_send (self);
}

void ctl_audit_req (const ctl_req_t *req, const char *result)
{
    char principal[PH_USER_ID_MAX + 16];
    const char *kind = req->peer == CTL_PEER_USER       ? "user"
                       : req->peer == CTL_PEER_INSTANCE ? "instance"
                                                        : "key";
    snprintf (principal, sizeof principal, "%s:%s", kind, req->name);
    ctl_audit_add (req->ctl, principal, req->addr, req->action, req->resource, !req->denied,
                   req->request_id, result);
}

void ctl_audit_on_connected (ctl_t *ctl)
{
    if (!ctl->audit)
        return;
    ctl->audit->head_known = false; /* another controller may have appended */
    ctl->audit->busy = false;       /* what was in flight died with the connection */
    s_send (ctl->audit);
}

void ctl_audit_tick (ctl_t *ctl)
{
    s_send (ctl->audit);
}

bool ctl_audit_idle (const ctl_t *ctl)
{
    const ctl_audit_t *self = ctl->audit;
    return !self->busy && self->n_batch == 0 && zlistx_size (self->queue) == 0;
}
