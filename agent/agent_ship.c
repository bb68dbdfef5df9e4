/*  agent_ship: session transcripts on their way to the logshippers
 *  (agent_log.h, DESIGN.md §6).
 *
 *  Each transcript collects events for its two streams (<sid> asciicast,
 *  <sid>.txt text lines). A batch is cut every PH_SHIP_CUT_MS while
 *  streaming is on (else only when the session ends), or as soon as a
 *  stream reaches PH_SHIP_BATCH_EVENTS / PH_SHIP_BATCH_BYTES. A cut
 *  batch goes to the spool's actor and is sent only once the spool
 *  reported it durable (fdatasync'ed); meanwhile the reactor goes on
 *  reading the sessions. The batch at the head of the queue is sent from
 *  the buffer the spool gives back; a later one is read back from its
 *  segment when its turn comes. Batches of a
 *  session are sent strictly in order, one in flight at a time, so the
 *  timestamps of every stream stay ordered at the logshipper. A batch that
 *  is not acknowledged is sent again after an exponential backoff
 *  (250 ms .. 10 s), each time to the next known logshipper. Once the
 *  session has ended and everything is acknowledged, TranscriptComplete
 *  goes to the controller (again after every HelloReply, until the
 *  transcript is forgotten PH_SHIP_LINGER_MS later).
 *
 *  Batch ids are "<session id>.<batch number>", unique for the spool's
 *  life; request ids are a hash of the batch id, so that an Error from a
 *  logshipper finds its batch even after an agent restart.
 */
#include "agent_log.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PH_SHIP_BATCH_ID_MAX 320

typedef struct {
    uint64_t ts;
    char *msg;
} s_event_t;

/*  A batch handed to the spool, not yet acknowledged. */
typedef struct {
    uint32_t n;
    bool durable; /* reported by the spool: it may be sent */
} s_queued_t;

typedef struct {
    s_event_t *ev;
    size_t n, cap;
    size_t bytes;
    uint64_t last_ts;
} s_pending_t;

struct _ph_transcript_t {
    ph_ship_t *ship;
    char *sid;
    char *group;
    bool streaming, encrypt, log_input;
    s_pending_t pend[PH_SHIP_STREAMS];
    uint64_t last_cut_ms; /* monotonic */
    uint32_t next_n;      /* number of the next batch cut */
    s_queued_t *queue;    /* spooled, unacknowledged batches, in order */
    size_t qlen, qcap;
    /* the batch in flight: queue[0] */
    uint8_t *data;
    size_t len;
    char batch_id[PH_SHIP_BATCH_ID_MAX];
    uint64_t request_id;
    uint64_t deadline_ms; /* monotonic: send again then */
    uint32_t backoff_ms;
    size_t target; /* logshipper index for the next send */
    bool refused_warned;
    bool ended;     /* no more events will come */
    bool recovered; /* taken up from an earlier run's spool */
    bool complete;  /* TranscriptComplete sent */
    uint64_t complete_ms;
};

struct _ph_ship_t {
    ph_agent_t *agent;
    ph_spool_t *spool;
    ph_shippers_t *net;
    zhashx_t *transcripts; /* sid -> ph_transcript_t */
    ph_ship_prefs_t prefs; /* of the last HelloReply; log_group is group */
    char *group;
    int timer;
};

static void s_pump (ph_transcript_t *t, uint64_t now);

/* ---- transcripts --------------------------------------------------------- */

static void s_pending_clear (s_pending_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        free (p->ev[i].msg);
    p->n = 0;
    p->bytes = 0;
}

static void s_transcript_destroy (ph_transcript_t **self_p)
{
    ph_transcript_t *t = *self_p;
    if (!t)
        return;
    for (int i = 0; i < PH_SHIP_STREAMS; i++) {
        s_pending_clear (&t->pend[i]);
        free (t->pend[i].ev);
    }
    free (t->queue);
    free (t->data);
    free (t->group);
    free (t->sid);
    free (t);
    *self_p = NULL;
}

static void s_transcript_destructor (void **item)
{
    s_transcript_destroy ((ph_transcript_t **)item);
}

static ph_transcript_t *s_transcript_new (ph_ship_t *ship, const char *sid,
                                          const ph_ship_prefs_t *prefs)
{
    ph_transcript_t *t = calloc (1, sizeof *t);
    if (!t)
        return NULL;
    t->ship = ship;
    t->sid = strdup (sid);
    t->group = strdup (prefs->log_group);
    t->streaming = prefs->streaming;
    t->encrypt = prefs->encrypt;
    t->log_input = prefs->log_input;
    t->backoff_ms = PH_SHIP_BACKOFF_MIN_MS;
    t->last_cut_ms = ph_mono_ms ();
    if (!t->sid || !t->group) {
        s_transcript_destroy (&t);
        return NULL;
    }
    return t;
}

static int s_queue_push (ph_transcript_t *t, uint32_t n, bool durable)
{
    if (t->qlen == t->qcap) {
        size_t cap = t->qcap ? t->qcap * 2 : 16;
        s_queued_t *q = realloc (t->queue, cap * sizeof *q);
        if (!q)
            return PH_ENOMEM;
        t->queue = q;
        t->qcap = cap;
    }
    t->queue[t->qlen].n = n;
    t->queue[t->qlen].durable = durable;
    t->qlen++;
    return 0;
}

/*  Removes queue entry i. */
static void s_queue_drop (ph_transcript_t *t, size_t i)
{
    memmove (t->queue + i, t->queue + i + 1, (t->qlen - i - 1) * sizeof *t->queue);
    t->qlen--;
}

static void s_queue_pop (ph_transcript_t *t)
{
    s_queue_drop (t, 0);
}

/*  FNV-1a: the request id of a batch, from its id. */
static uint64_t s_request_id (const char *batch_id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = batch_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return h ? h : 1;
}

static void s_batch_id (const ph_transcript_t *t, uint32_t n, char *buf, size_t len)
{
    snprintf (buf, len, "%s.%08u", t->sid, n);
}

/* ---- cutting batches ----------------------------------------------------- */

/*  Encodes the pending events of stream which as one PutLogEvents. */
static uint8_t *s_encode (ph_transcript_t *t, ph_ship_stream_t which, uint32_t n, size_t *len)
{
    s_pending_t *p = &t->pend[which];
    Porthole__V1__LogEvent *ev = calloc (p->n, sizeof *ev);
    Porthole__V1__LogEvent **evp = calloc (p->n, sizeof *evp);
    char stream[PH_SHIP_BATCH_ID_MAX], batch_id[PH_SHIP_BATCH_ID_MAX];
    uint8_t *buf = NULL;
    if (!ev || !evp)
        goto out_free;
    for (size_t i = 0; i < p->n; i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        ev[i] = init;
        ev[i].timestamp_ms = p->ev[i].ts;
        ev[i].message = p->ev[i].msg;
        evp[i] = &ev[i];
    }
    snprintf (stream, sizeof stream, "%s%s", t->sid,
              which == PH_SHIP_TEXT ? PH_SHIP_TXT_SUFFIX : "");
    s_batch_id (t, n, batch_id, sizeof batch_id);
    Porthole__V1__PutLogEvents put = PORTHOLE__V1__PUT_LOG_EVENTS__INIT;
    put.batch_id = batch_id;
    put.log_group = t->group;
    put.log_stream = stream;
    put.encrypt = t->encrypt;
    put.recording = which == PH_SHIP_CAST;
    put.n_events = p->n;
    put.events = evp;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = s_request_id (batch_id);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS;
    env.put_log_events = &put;
    buf = ph_wire_encode (&env, len);
out_free:
    free (evp);
    free (ev);
    return buf;
}

/*  Hands the pending events of stream which to the spool as the next
 *  batch; it is sent once the spool reports it durable (s_on_durable). */
static void s_cut_stream (ph_transcript_t *t, ph_ship_stream_t which)
{
    s_pending_t *p = &t->pend[which];
    if (!p->n)
        return;
    size_t len = 0;
    uint32_t n = t->next_n++;
    uint8_t *buf = s_encode (t, which, n, &len);
    if (!buf)
        ph_error ("session %s: cannot encode %zu transcript events; they are lost", t->sid, p->n);
    else if (ph_spool_write (t->ship->spool, t->sid, n, which, &buf, len) == 0)
        s_queue_push (t, n, false);
    free (buf);
    s_pending_clear (p);
}

static void s_cut (ph_transcript_t *t)
{
    s_cut_stream (t, PH_SHIP_CAST);
    s_cut_stream (t, PH_SHIP_TEXT);
    t->last_cut_ms = ph_mono_ms ();
}

void ph_ship_append (ph_transcript_t *t, ph_ship_stream_t which, const char *msg, size_t len)
{
    if (!t || t->ended)
        return;
    s_pending_t *p = &t->pend[which];
    if (p->n >= PH_SHIP_BATCH_EVENTS || p->bytes + len > PH_SHIP_BATCH_BYTES)
        s_cut_stream (t, which); /* the other stream waits for its own cut */
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        s_event_t *ev = realloc (p->ev, cap * sizeof *ev);
        if (!ev)
            return;
        p->ev = ev;
        p->cap = cap;
    }
    char *copy = strndup (msg, len);
    if (!copy)
        return;
    uint64_t ts = ph_now_ms ();
    if (ts < p->last_ts)
        ts = p->last_ts;
    p->last_ts = ts;
    p->ev[p->n].ts = ts;
    p->ev[p->n].msg = copy;
    p->n++;
    p->bytes += len;
}

/* ---- sending ------------------------------------------------------------- */

static bool s_done (const ph_transcript_t *t)
{
    return t->ended && !t->qlen && !t->pend[0].n && !t->pend[1].n;
}

static void s_check_complete (ph_transcript_t *t, uint64_t now)
{
    if (t->complete || !s_done (t))
        return;
    t->complete = true;
    t->complete_ms = now;
    ph_spool_forget (t->ship->spool, t->sid);
    ph_info ("session %s: transcript complete", t->sid);
    ph_ship_send_complete (t->ship->agent, t->sid);
}

/*  True when a spooled batch decodes as a PutLogEvents: one that does not
 *  (cut short or damaged on disk) would be refused by every logshipper
 *  with an Error that names no batch, and be resent forever. */
static bool s_batch_readable (const uint8_t *data, size_t len)
{
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX];
    bool ok = ph_wire_decode (data, len, &env, err, sizeof err) == 0 &&
              env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS;
    ph_wire_free (&env);
    return ok;
}

/*  t->data holds queue[0]: it is the batch in flight from now on. */
static void s_head_ready (ph_transcript_t *t)
{
    s_batch_id (t, t->queue[0].n, t->batch_id, sizeof t->batch_id);
    t->request_id = s_request_id (t->batch_id);
    t->deadline_ms = 0;
}

/*  Loads queue[0], once durable, for sending. One that went missing is
 *  skipped; one taken up from an earlier run that does not decode is
 *  dropped (logged: its events are lost). Batches of this run were
 *  encoded here and are checksummed on disk: they are not decoded again. */
static bool s_load_head (ph_transcript_t *t)
{
    while (t->qlen && t->queue[0].durable && !t->data) {
        uint32_t n = t->queue[0].n;
        t->data = ph_spool_read (t->ship->spool, t->sid, n, &t->len);
        if (t->data && (!t->recovered || s_batch_readable (t->data, t->len)))
            break;
        ph_error ("session %s: spooled batch %u is %s; skipping it", t->sid, n,
                  t->data ? "damaged (it does not decode); its events are lost"
                          : "missing or unreadable");
        if (t->data) /* an unreadable one stays on disk for a restart */
            ph_spool_remove (t->ship->spool, t->sid, n);
        free (t->data);
        t->data = NULL;
        s_queue_pop (t);
    }
    if (!t->data)
        return false;
    s_head_ready (t);
    return true;
}

/*  The spool's report on batch n of sid (ph_spool_durable_fn). */
static void s_on_durable (void *arg, const char *sid, uint32_t n, bool ok, uint8_t **data_p,
                          size_t len)
{
    ph_ship_t *self = arg;
    ph_transcript_t *t = zhashx_lookup (self->transcripts, sid);
    size_t i = 0;
    while (t && i < t->qlen && t->queue[i].n != n)
        i++;
    if (!t || i == t->qlen)
        return;
    if (!ok) {
        ph_error ("session %s: transcript batch %u could not be spooled; its events are lost", sid,
                  n);
        s_queue_drop (t, i);
    } else {
        t->queue[i].durable = true;
        if (i == 0 && !t->data) { /* next to go: send it from memory */
            t->data = *data_p;
            t->len = len;
            *data_p = NULL;
            s_head_ready (t);
        }
    }
    s_pump (t, ph_mono_ms ());
}

static void s_pump (ph_transcript_t *t, uint64_t now)
{
    ph_ship_t *ship = t->ship;
    s_check_complete (t, now);
    if (!t->data && !s_load_head (t))
        return;
    if (now < t->deadline_ms || ph_shippers_count (ship->net) == 0)
        return;
    if (t->deadline_ms) { /* not acknowledged in time: next logshipper, longer wait */
        t->target++;
        t->backoff_ms =
            t->backoff_ms * 2 > PH_SHIP_BACKOFF_MAX_MS ? PH_SHIP_BACKOFF_MAX_MS : t->backoff_ms * 2;
    }
    if (ph_shippers_send (ship->net, t->target, t->data, t->len) != 0)
        ph_debug ("session %s: no logshipper connected for batch %s; retrying in %u ms", t->sid,
                  t->batch_id, t->backoff_ms);
    t->deadline_ms = now + t->backoff_ms;
}

/*  The batch in flight was acknowledged (or refused for good). */
static void s_batch_done (ph_transcript_t *t)
{
    ph_spool_remove (t->ship->spool, t->sid, t->queue[0].n);
    s_queue_pop (t);
    free (t->data);
    t->data = NULL;
    t->backoff_ms = PH_SHIP_BACKOFF_MIN_MS;
    t->refused_warned = false;
    s_pump (t, ph_mono_ms ());
}

static ph_transcript_t *s_find_inflight (ph_ship_t *self, uint64_t request_id, const char *batch_id)
{
    for (ph_transcript_t *t = zhashx_first (self->transcripts); t;
         t = zhashx_next (self->transcripts)) {
        if (!t->data)
            continue;
        if (batch_id ? strcmp (t->batch_id, batch_id) == 0 : t->request_id == request_id)
            return t;
    }
    return NULL;
}

static void s_on_reply (void *arg, uint64_t request_id, const char *batch_id,
                        const Porthole__V1__Error *error)
{
    ph_ship_t *self = arg;
    ph_transcript_t *t = s_find_inflight (self, request_id, batch_id);
    if (!t)
        return; /* a duplicate answer to a batch done already */
    if (!error) {
        ph_debug ("session %s: batch %s acknowledged", t->sid, t->batch_id);
        s_batch_done (t);
    } else if (strcmp (error->code, "InvalidRequest") == 0) {
        ph_error ("session %s: the logshipper refused transcript batch %s for good (%s); "
                  "dropping it",
                  t->sid, t->batch_id, error->message);
        s_batch_done (t);
    } else if (!t->refused_warned) {
        ph_warn ("session %s: the logshipper answered %s for batch %s: %s; retrying with "
                 "backoff",
                 t->sid, error->code, t->batch_id, error->message);
        t->refused_warned = true;
    }
}

/* ---- the shipper --------------------------------------------------------- */

static int s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ph_ship_t *self = arg;
    uint64_t now = ph_mono_ms ();
    zlist_t *forget = NULL;
    for (ph_transcript_t *t = zhashx_first (self->transcripts); t;
         t = zhashx_next (self->transcripts)) {
        if (t->streaming && !t->ended && now - t->last_cut_ms >= PH_SHIP_CUT_MS)
            s_cut (t);
        s_pump (t, now);
        if (t->complete && now - t->complete_ms >= PH_SHIP_LINGER_MS) {
            if (!forget && !(forget = zlist_new ()))
                continue;
            zlist_append (forget, t->sid);
        }
    }
    for (char *sid = forget ? zlist_first (forget) : NULL; sid; sid = zlist_next (forget))
        zhashx_delete (self->transcripts, sid);
    zlist_destroy (&forget);
    return 0;
}

/*  Takes up the transcripts an earlier run left in the spool. */
static void s_recover (ph_ship_t *self)
{
    zlist_t *sids = ph_spool_sessions (self->spool);
    for (char *sid = sids ? zlist_first (sids) : NULL; sid; sid = zlist_next (sids)) {
        ph_transcript_t *t = s_transcript_new (self, sid, &self->prefs);
        if (!t)
            break;
        size_t count = 0;
        uint32_t *nums = ph_spool_batches (self->spool, sid, &count);
        for (size_t i = 0; i < count; i++)
            s_queue_push (t, nums[i], true);
        t->next_n = count ? nums[count - 1] + 1 : 0;
        free (nums);
        t->ended = true;
        t->recovered = true;
        zhashx_insert (self->transcripts, t->sid, t);
        ph_info ("session %s: %zu transcript batches left in the spool; sending them", sid, count);
    }
    zlist_destroy (&sids);
}

ph_ship_t *ph_ship_new (ph_agent_t *agent, const char *state_dir, uint64_t spool_max_bytes)
{
    char dir[4096];
    snprintf (dir, sizeof dir, "%s/%s", state_dir, PH_SPOOL_DIR_NAME);
    ph_ship_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->agent = agent;
    self->prefs.streaming = true;
    self->timer = -1;
    self->group = strdup (PH_SHIP_GROUP_DEFAULT);
    self->spool = ph_spool_new (dir, spool_max_bytes);
    self->net = ph_shippers_new (agent->loop, s_on_reply, self);
    self->transcripts = zhashx_new ();
    self->prefs.log_group = self->group;
    if (!self->group || !self->spool || !self->net || !self->transcripts ||
        ph_spool_attach (self->spool, agent->loop, s_on_durable, self) != 0) {
        ph_ship_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->transcripts, s_transcript_destructor);
    s_recover (self);
    self->timer = zloop_timer (agent->loop, PH_SHIP_TICK_MS, 0, s_on_timer, self);
    return self;
}

void ph_ship_destroy (ph_ship_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_ship_t *self = *self_p;
    if (self->timer >= 0)
        zloop_timer_end (self->agent->loop, self->timer);
    if (self->transcripts) {
        for (ph_transcript_t *t = zhashx_first (self->transcripts); t;
             t = zhashx_next (self->transcripts))
            if (!t->complete)
                s_cut (t); /* a restart sends it */
        zhashx_destroy (&self->transcripts);
    }
    ph_shippers_destroy (&self->net);
    ph_spool_destroy (&self->spool);
    free (self->group);
    free (self);
    *self_p = NULL;
}

void ph_ship_configure (ph_ship_t *self, const Porthole__V1__HelloReply *reply)
{
    const Porthole__V1__SessionLogPrefs *prefs = reply->log_prefs;
    const char *group = prefs && *prefs->log_group ? prefs->log_group : PH_SHIP_GROUP_DEFAULT;
    char *copy = strdup (group);
    if (copy) {
        free (self->group);
        self->group = copy;
        self->prefs.log_group = copy;
    }
    self->prefs.streaming = prefs ? prefs->streaming_enabled : true;
    self->prefs.encrypt = prefs ? prefs->encryption_enabled : false;
    self->prefs.log_input = prefs ? prefs->log_input : false;
    ph_shippers_update (self->net, &self->agent->kp, reply->logshippers, reply->n_logshippers);
    if (!reply->n_logshippers)
        ph_info ("no logshipper is registered; sessions are not recorded");
    uint64_t now = ph_mono_ms ();
    for (ph_transcript_t *t = zhashx_first (self->transcripts); t;
         t = zhashx_next (self->transcripts)) {
        if (t->complete)
            ph_ship_send_complete (self->agent, t->sid);
        else
            s_pump (t, now);
    }
}

bool ph_ship_recording (const ph_ship_t *self)
{
    return self && ph_shippers_count (self->net) > 0;
}

bool ph_ship_has_room (const ph_ship_t *self)
{
    return !self || !ph_spool_full (self->spool);
}

bool ph_transcript_log_input (const ph_transcript_t *t)
{
    return t && t->log_input;
}

ph_transcript_t *ph_ship_transcript_new (ph_ship_t *self, const char *sid,
                                         const ph_ship_prefs_t *prefs)
{
    ph_transcript_t *t = zhashx_lookup (self->transcripts, sid);
    if (t)
        return t->ended ? NULL : t;
    t = s_transcript_new (self, sid, prefs ? prefs : &self->prefs);
    if (t && zhashx_insert (self->transcripts, t->sid, t) != 0)
        s_transcript_destroy (&t);
    return t;
}

void ph_ship_transcript_end (ph_transcript_t *t)
{
    if (!t || t->ended)
        return;
    s_cut (t);
    t->ended = true;
    /* the session's last batches are on disk when its end is reported (a
     * reader of the spool directory sees the whole transcript); one sync,
     * behind at most PH_SPOOL_UNSYNCED_MAX bytes, once per session */
    ph_spool_flush (t->ship->spool);
    s_pump (t, ph_mono_ms ());
}

void ph_ship_send_complete (ph_agent_t *agent, const char *sid)
{
    Porthole__V1__TranscriptComplete body = PORTHOLE__V1__TRANSCRIPT_COMPLETE__INIT;
    body.session_id = (char *)sid;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = ph_agent_request_id (agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TRANSCRIPT_COMPLETE;
    env.transcript_complete = &body;
    ph_agent_send (agent, &env);
}
