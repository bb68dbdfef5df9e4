/*  ls_audit: the audit trail shipped into the log group porthole/audit.
 *
 *  The controllers append audit events to the hash-chained stream ph:audit
 *  (controller/ctl_audit.c). Every logshipper copies them, in order, into
 *  the log group porthole/audit, so that log readers, `logs tail` and
 *  metric filters (for example { $.decision = "Deny" }) see them like any
 *  other log event. One stream per UTC day (2026-11-25); each message is one
 *  JSON object:
 *
 *    {"eventId":"1764...-0","time":1764...,"eventTime":"2026-...Z",
 *     "principal":"alice","sourceIp":"127.0.0.1","action":"session:StartSession",
 *     "resource":"instance/mi-...","decision":"Deny","requestId":"42",
 *     "result":"AccessDenied","hash":"..."}
 *
 *  Nothing is lost and nothing doubled: ph:audit is the source of truth and
 *  the cursor ph:logship:audit holds the id of the last event copied. Each
 *  round reads the events after the cursor (one read script), formats them
 *  here, then one append script checks that the cursor has not moved (another
 *  logshipper may have copied the same events meanwhile; then this round is
 *  dropped) and appends them and moves the cursor atomically. At most one
 *  round is in flight per logshipper; a full round starts the next at once,
 *  otherwise the housekeeping tick (1 s) does.
 */
#include "ls.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define LS_AUDIT_CURSOR_KEY "ph:logship:audit"
#define LS_AUDIT_ROUND_MAX  500
#define LS_AUDIT_DAY_MAX    16 /* "2026-11-25" */
#define LS_AUDIT_ID_MAX     48 /* stream id "ms-seq" */

/*  KEYS: ph:audit, cursor; ARGV: count. Returns {cursor, XRANGE reply}. */
static const char s_read_lua[] =
    "local c = redis.call('GET', KEYS[2]) or '0-0'\n"
    "return {c, redis.call('XRANGE', KEYS[1], '(' .. c, '+', 'COUNT', ARGV[1])}\n";

/*  KEYS: cursor, ph:loggroup:{G}, ph:loggroups, ph:logstreams:{G};
 *  ARGV: now ms, expected cursor, new cursor, group, n, then n triples
 *  stream, timestamp, message. Streams are ph:logs:{G}:S with their
 *  ph:logstream:{G}:S record, as ls_put.c writes them; a timestamp older than
 *  its stream's last one is raised to it (controllers' clocks differ a
 *  little, a stream's events stay in order). Returns 'ok' or 'moved'. */
static const char s_append_lua[] =
    "if (redis.call('GET', KEYS[1]) or '0-0') ~= ARGV[2] then return 'moved' end\n"
    "local g = ARGV[4]\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
    "  redis.call('HSET', KEYS[2], 'name', g, 'created_ms', ARGV[1],\n"
    "             'retention_days', '0', 'stored_bytes', '0', 'auto', '1')\n"
    "  redis.call('SADD', KEYS[3], g)\n"
    "end\n"
    "local total = 0\n"
    "for i = 0, tonumber(ARGV[5]) - 1 do\n"
    "  local s, ts, msg = ARGV[6 + 3 * i], tonumber(ARGV[7 + 3 * i]), ARGV[8 + 3 * i]\n"
    "  local meta = 'ph:logstream:{' .. g .. '}:' .. s\n"
    "  local last = tonumber(redis.call('HGET', meta, 'last_ts') or '0')\n"
    "  if ts < last then ts = last end\n"
    "  if redis.call('EXISTS', meta) == 0 then\n"
    "    redis.call('HSET', meta, 'created_ms', ARGV[1], 'stored_bytes', '0')\n"
    "  end\n"
    "  redis.call('XADD', 'ph:logs:{' .. g .. '}:' .. s, '*', 'ts', ts, 'msg', msg,\n"
    "             'ing', ARGV[1])\n"
    "  redis.call('HSET', meta, 'last_ts', ts)\n"
    "  redis.call('HSETNX', meta, 'first_ts', ts)\n"
    "  redis.call('ZADD', KEYS[4], ts, s)\n"
    "  redis.call('HINCRBY', meta, 'stored_bytes', #msg)\n"
    "  total = total + #msg\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[2], 'stored_bytes', total)\n"
    "redis.call('SET', KEYS[1], ARGV[3])\n"
    "return 'ok'\n";

/*  One formatted event: stream (day), timestamp, message. */
typedef struct {
    char stream[LS_AUDIT_DAY_MAX];
    char ts[24];
    char *msg;
} s_event_t;

typedef struct {
    ls_t *ls;
    char cursor[LS_AUDIT_ID_MAX];
    char last[LS_AUDIT_ID_MAX];
    size_t read; /* events read after the cursor */
    size_t n;    /* of which formatted */
    s_event_t ev[LS_AUDIT_ROUND_MAX];
} s_round_t;

static void s_round_destroy (s_round_t **round_p)
{
    s_round_t *round = *round_p;
    if (!round)
        return;
    for (size_t i = 0; i < round->n; i++)
        free (round->ev[i].msg);
    free (round);
    *round_p = NULL;
}

static void s_round_end (s_round_t **round_p, bool again)
{
    ls_t *ls = (*round_p)->ls;
    s_round_destroy (round_p);
    ls->audit_busy = false;
    if (again)
        ls_audit_ship (ls);
}

/*  json_string of a field, or "" when the event lacks it. */
static json_t *s_str (const ph_reply_t *fields, const char *name)
{
    const char *v = ph_reply_field (fields, name);
    json_t *s = json_string (v ? v : "");
    return s ? s : json_string ("");
}

/*  Formats the audit event id/fields into ev. Returns false when the
 *  event cannot be shown as JSON (it is then skipped, with a warning). */
static bool s_format (const char *id, const ph_reply_t *fields, s_event_t *ev)
{
    const char *t = ph_reply_field (fields, "time_ms");
    unsigned long long ms = t ? strtoull (t, NULL, 10) : 0;
    char iso[32];
    ph_format_time (ms, iso, sizeof iso);
    snprintf (ev->stream, sizeof ev->stream, "%.10s", iso);
    snprintf (ev->ts, sizeof ev->ts, "%llu", ms);
    json_t *o = json_object ();
    json_object_set_new (o, "eventId", json_string (id));
    json_object_set_new (o, "time", json_integer ((json_int_t)ms));
    json_object_set_new (o, "eventTime", json_string (iso));
    json_object_set_new (o, "principal", s_str (fields, "principal"));
    json_object_set_new (o, "sourceIp", s_str (fields, "source_ip"));
    json_object_set_new (o, "action", s_str (fields, "action"));
    json_object_set_new (o, "resource", s_str (fields, "resource"));
    json_object_set_new (o, "decision", s_str (fields, "decision"));
    json_object_set_new (o, "requestId", s_str (fields, "request_id"));
    json_object_set_new (o, "result", s_str (fields, "result"));
    json_object_set_new (o, "hash", s_str (fields, "hash"));
    ev->msg = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (o);
    return ev->msg != NULL;
}

/*  The copied events through the metric filters of porthole/audit. */
static void s_ingest_metrics (const s_round_t *round)
{
    ls_event_ref_t ev[LS_AUDIT_ROUND_MAX];
    for (size_t i = 0; i < round->n; i++)
        ev[i] = (ls_event_ref_t){strtoull (round->ev[i].ts, NULL, 10), round->ev[i].msg};
    ls_metrics_ingest (round->ls->metrics, LS_AUDIT_GROUP, ev, round->n, "");
}

static void s_on_appended (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    s_round_t *round = arg;
    const char *what = ph_reply_str (reply);
    if (what && strcmp (what, "ok") == 0) {
        ph_debug ("audit: %zu events copied to %s (up to %s)", round->n, LS_AUDIT_GROUP,
                  round->last);
        s_ingest_metrics (round);
        round->ls->stats.audit_events += round->n;
        s_round_end (&round, round->read == LS_AUDIT_ROUND_MAX);
    } else if (what && strcmp (what, "moved") == 0) {
        s_round_end (&round, true); /* another logshipper copied them */
    } else {
        ph_warn ("audit: copy to %s failed (%s); retried in a second", LS_AUDIT_GROUP,
                 what ? what : "connection lost");
        s_round_end (&round, false);
    }
}

static void s_send_append (s_round_t *round)
{
    size_t argc = 12 + 3 * round->n;
    const char **argv = calloc (argc, sizeof *argv);
    size_t *len = calloc (argc, sizeof *len);
    char now[24], n[16];
    assert (argv && len);
    snprintf (now, sizeof now, "%llu", (unsigned long long)ph_now_ms ());
    snprintf (n, sizeof n, "%zu", round->n);
    size_t i = 0;
    argv[i++] = "EVAL";
    argv[i++] = s_append_lua;
    argv[i++] = "4";
    argv[i++] = LS_AUDIT_CURSOR_KEY;
    argv[i++] = "ph:loggroup:{" LS_AUDIT_GROUP "}";
    argv[i++] = "ph:loggroups";
    argv[i++] = "ph:logstreams:{" LS_AUDIT_GROUP "}";
    argv[i++] = now;
    argv[i++] = round->cursor;
    argv[i++] = round->last;
    argv[i++] = LS_AUDIT_GROUP;
    argv[i++] = n;
    for (size_t e = 0; e < round->n; e++) {
        argv[i++] = round->ev[e].stream;
        argv[i++] = round->ev[e].ts;
        argv[i++] = round->ev[e].msg;
    }
    for (size_t k = 0; k < i; k++)
        len[k] = strlen (argv[k]);
    int rc = ph_redis_cmdargv (round->ls->redis, s_on_appended, round, (int)i, argv, len);
    free (len);
    free (argv);
    if (rc != 0)
        s_round_end (&round, false);
}

static void s_on_read (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    s_round_t *round = arg;
    const char *cursor = ph_reply_str (ph_reply_at (reply, 0));
    const ph_reply_t *events = ph_reply_at (reply, 1);
    if (!cursor || !ph_reply_is_array (events)) {
        if (reply)
            ph_warn ("audit: reading ph:audit failed: %s",
                     ph_reply_str (reply) ? ph_reply_str (reply) : "unexpected reply");
        s_round_end (&round, false);
        return;
    }
    snprintf (round->cursor, sizeof round->cursor, "%s", cursor);
    size_t count = ph_reply_count (events);
    for (size_t i = 0; i < count && round->n < LS_AUDIT_ROUND_MAX; i++) {
        const ph_reply_t *e = ph_reply_at (events, i);
        const char *id = ph_reply_str (ph_reply_at (e, 0));
        if (!id)
            continue;
        round->read++;
        snprintf (round->last, sizeof round->last, "%s", id);
        if (s_format (id, ph_reply_at (e, 1), &round->ev[round->n]))
            round->n++;
        else
            ph_warn ("audit: event %s cannot be shown as JSON; not copied", id);
    }
    if (count == 0) {
        s_round_end (&round, false);
        return;
    }
    s_send_append (round);
}

void ls_audit_ship (ls_t *ls)
{
    if (ls->audit_busy || !ph_redis_connected (ls->redis))
        return;
    s_round_t *round = calloc (1, sizeof *round);
    assert (round);
    round->ls = ls;
    ls->audit_busy = true;
    if (ph_redis_cmd (ls->redis, s_on_read, round, "EVAL %s 2 ph:audit %s %d", s_read_lua,
                      LS_AUDIT_CURSOR_KEY, LS_AUDIT_ROUND_MAX) != 0)
        s_round_end (&round, false);
}
