/*  ls_webhooks: delivery of topic notifications to webhook subscribers
 *  (issue 4), by the logshipper that holds the alarms lease.
 *
 *  Each subscription (ph:subscription:{ID}, written by the controller's
 *  topics API) has a cursor: the id of the last notification of its topic's
 *  stream ph:topic:{T}:messages it is done with (a new subscription starts
 *  at its creation time). Every tick one script returns, for each
 *  subscription that is due (next_attempt_ms passed) and not in flight, the
 *  next notification after its cursor; the POST itself runs in a zactor
 *  (ph_http_post blocks: STYLE.md habit 10), one at a time per
 *  subscription, in order. A 2xx moves the cursor and counts `delivered`;
 *  anything else counts `failed`, records `last_error` and retries with
 *  backoff (1 s doubling to 60 s); after LS_HOOK_ATTEMPTS attempts the
 *  notification is given up (cursor moved) so one bad message cannot stop
 *  a subscription for good. Both are visible in list-subscriptions.
 *
 *  Formats: "json" POSTs {"Type": "Notification", "MessageId", "TopicName",
 *  "Subject", "Message" (the notification's JSON text), "Timestamp"};
 *  "alertmanager" POSTs an Alertmanager v2 alert list (labels alertname,
 *  topic, state; annotations summary, description; startsAt, and endsAt
 *  when the alarm went back to OK, which resolves it).
 */
#include "ls.h"
#include "ph_http.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define LS_HOOK_TIMEOUT_MS  5000
#define LS_HOOK_ATTEMPTS    8
#define LS_HOOK_BACKOFF_MS  1000
#define LS_HOOK_BACKOFF_MAX 60000
#define LS_HOOK_DUE_MAX     100

/*  ARGV: now ms. Returns flat [id, endpoint, format, topic, message id, ts,
 *  subject, message, attempts] of the due subscriptions with a
 *  notification waiting. */
static const char s_due_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local out, n = {}, 0\n"
    "for _, t in ipairs(redis.call('SMEMBERS', 'ph:topics')) do\n"
    "  for _, id in ipairs(redis.call('SMEMBERS', 'ph:topic:{' .. t .. '}:subscriptions')) do\n"
    "    local k = 'ph:subscription:{' .. id .. '}'\n"
    "    local h = redis.call('HMGET', k, 'endpoint', 'format', 'cursor', 'next_attempt_ms',\n"
    "                         'created_ms', 'attempts', 'protocol')\n"
    "    if h[1] and (h[7] or 'webhook') == 'webhook' and tonumber(h[4] or '0') <= now and\n"
    "       n < tonumber(ARGV[2]) then\n"
    "      local cur = h[3] or ((h[5] or '0') .. '-0')\n"
    "      local m = redis.call('XRANGE', 'ph:topic:{' .. t .. '}:messages', '(' .. cur, '+',\n"
    "                           'COUNT', 1)[1]\n"
    "      if m then\n"
    "        local f = {}\n"
    "        for i = 1, #m[2], 2 do f[m[2][i]] = m[2][i + 1] end\n"
    "        for _, v in ipairs({id, h[1], h[2] or 'json', t, m[1], f.ts or '0', f.subject or '',\n"
    "                            f.message or '{}', h[6] or '0'}) do out[#out + 1] = v end\n"
    "        n = n + 1\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/*  ARGV: id, ok 1|0, message id, now ms, error, next attempt ms, give up
 *  1|0. */
static const char s_done_lua[] =
    "local k = 'ph:subscription:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', k) == 0 then return 0 end\n"
    "redis.call('HSET', k, 'last_attempt_ms', ARGV[4])\n"
    "if ARGV[2] == '1' then\n"
    "  redis.call('HINCRBY', k, 'delivered', 1)\n"
    "  redis.call('HSET', k, 'cursor', ARGV[3], 'attempts', 0, 'next_attempt_ms', 0)\n"
    "else\n"
    "  redis.call('HINCRBY', k, 'failed', 1)\n"
    "  redis.call('HSET', k, 'last_error', ARGV[5], 'next_attempt_ms', ARGV[6])\n"
    "  if ARGV[7] == '1' then\n"
    "    redis.call('HSET', k, 'cursor', ARGV[3], 'attempts', 0, 'next_attempt_ms', 0)\n"
    "  else redis.call('HINCRBY', k, 'attempts', 1) end\n"
    "end\n"
    "return 1\n";

struct _ls_webhooks_t {
    ls_t *ls;
    zactor_t *actor;
    zhashx_t *inflight; /* subscription id -> "" */
    bool asking;
};

/* ---- the actor: one POST at a time, blocking -------------------------------- */

static void s_actor (zsock_t *pipe, void *arg)
{
    (void)arg;
    zsock_signal (pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *cmd = zmsg_popstr (msg);
        if (!cmd || strcmp (cmd, "$TERM") == 0) {
            free (cmd);
            zmsg_destroy (&msg);
            break;
        }
        char *url = zmsg_popstr (msg), *ctype = zmsg_popstr (msg);
        zframe_t *body = zmsg_pop (msg);
        char err[PH_ERRTEXT_MAX] = "";
        int status = url && ctype && body
                         ? ph_http_post (url, ctype, (const char *)zframe_data (body),
                                         zframe_size (body), LS_HOOK_TIMEOUT_MS, err, sizeof err)
                         : PH_EINVAL;
        if (status >= 0 && (status < 200 || status > 299))
            snprintf (err, sizeof err, "HTTP status %d", status);
        zsock_send (pipe, "ssi", cmd, err, status);
        zframe_destroy (&body);
        free (ctype);
        free (url);
        free (cmd);
        zmsg_destroy (&msg);
    }
}

/* ---- formats ----------------------------------------------------------------- */

/*  The POST body of a notification in format. Returns a heap string. */
static char *s_body (const char *format, const char *topic, const char *id, const char *ts,
                     const char *subject, const char *message)
{
    char when[40];
    ph_format_time (strtoull (ts, NULL, 10), when, sizeof when);
    json_t *doc;
    if (strcmp (format, "alertmanager") == 0) {
        json_t *m = json_loads (message, 0, NULL);
        const char *name = json_string_value (json_object_get (m, "AlarmName"));
        const char *state = json_string_value (json_object_get (m, "NewStateValue"));
        const char *reason = json_string_value (json_object_get (m, "NewStateReason"));
        json_t *alert = json_pack ("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:s}", "labels", "alertname",
                                   name ? name : topic, "topic", topic, "state", state ? state : "",
                                   "annotations", "summary", subject, "description",
                                   reason ? reason : message, "startsAt", when);
        if (state && strcmp (state, "OK") == 0)
            json_object_set_new (alert, "endsAt", json_string (when));
        doc = json_pack ("[o]", alert);
        json_decref (m);
    } else
        doc = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "Type", "Notification", "MessageId", id,
                         "TopicName", topic, "Subject", subject, "Message", message, "Timestamp",
                         when);
    char *text = doc ? json_dumps (doc, JSON_COMPACT) : NULL;
    json_decref (doc);
    return text ? text : strdup ("{}");
}

/* ---- the reactor side ------------------------------------------------------- */

static void s_on_recorded (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)arg;
    if (!ph_reply_ok (reply))
        ph_warn ("webhook: a delivery's outcome was not recorded");
}

/*  The actor answered: record the outcome. */
static int s_on_actor (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void)loop;
    ls_webhooks_t *self = arg;
    char *tag = NULL, *err = NULL;
    int status = 0;
    if (zsock_recv (pipe, "ssi", &tag, &err, &status) != 0)
        return 0;
    /* tag: "id\nmessage id\nattempts" */
    char *id = tag, *mid = strchr (tag, '\n'), *att = mid ? strchr (mid + 1, '\n') : NULL;
    if (mid && att) {
        *mid++ = 0;
        *att++ = 0;
        bool ok = status >= 200 && status <= 299;
        int attempts = atoi (att) + 1;
        uint64_t backoff = LS_HOOK_BACKOFF_MS;
        for (int i = 1; i < attempts && backoff < LS_HOOK_BACKOFF_MAX; i++)
            backoff *= 2;
        if (backoff > LS_HOOK_BACKOFF_MAX)
            backoff = LS_HOOK_BACKOFF_MAX;
        char now[24], next[24];
        uint64_t ms = ph_now_ms ();
        snprintf (now, sizeof now, "%llu", (unsigned long long)ms);
        snprintf (next, sizeof next, "%llu", (unsigned long long)(ms + backoff));
        const char *give_up = !ok && attempts >= LS_HOOK_ATTEMPTS ? "1" : "0";
        if (!ok)
            ph_warn ("webhook %s: notification %s not delivered (attempt %d): %s", id, mid,
                     attempts, err);
        const char *argv[] = {"EVAL", s_done_lua, "0", id,   ok ? "1" : "0",
                              mid,    now,        err, next, give_up};
        size_t len[sizeof argv / sizeof argv[0]];
        for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
            len[i] = strlen (argv[i]);
        ph_redis_cmdargv (self->ls->redis, s_on_recorded, NULL, (int)(sizeof argv / sizeof argv[0]),
                          argv, len);
        zhashx_delete (self->inflight, id);
    }
    free (tag);
    free (err);
    return 0;
}

static void s_on_due (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ls_webhooks_t *self = arg;
    self->asking = false;
    for (size_t i = 0; i + 9 <= ph_reply_count (reply); i += 9) {
        const char *f[9];
        for (int k = 0; k < 9; k++) {
            f[k] = ph_reply_str (ph_reply_at (reply, i + (size_t)k));
            f[k] = f[k] ? f[k] : "";
        }
        if (zhashx_lookup (self->inflight, f[0]))
            continue;
        zhashx_insert (self->inflight, f[0], (void *)"");
        char *body = s_body (f[2], f[3], f[4], f[5], f[6], f[7]);
        char tag[256];
        snprintf (tag, sizeof tag, "%.64s\n%.48s\n%.16s", f[0], f[4], f[8]);
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, tag);
        zmsg_addstr (msg, f[1]);
        zmsg_addstr (msg, "application/json");
        zmsg_addmem (msg, body, strlen (body));
        zmsg_send (&msg, self->actor);
        free (body);
    }
}

ls_webhooks_t *ls_webhooks_new (ls_t *ls)
{
    ls_webhooks_t *self = calloc (1, sizeof *self);
    assert (self);
    self->ls = ls;
    self->inflight = zhashx_new ();
    self->actor = zactor_new (s_actor, NULL);
    assert (self->inflight && self->actor);
    zloop_reader (ls->loop, zactor_sock (self->actor), s_on_actor, self);
    return self;
}

void ls_webhooks_destroy (ls_webhooks_t **self_p)
{
    ls_webhooks_t *self = *self_p;
    if (!self)
        return;
    zloop_reader_end (self->ls->loop, zactor_sock (self->actor));
    zactor_destroy (&self->actor); /* waits for a POST in progress (at most its timeout) */
    zhashx_destroy (&self->inflight);
    free (self);
    *self_p = NULL;
}

void ls_webhooks_tick (ls_webhooks_t *self, bool leader)
{
    if (!leader || self->asking || !ph_redis_connected (self->ls->redis))
        return;
    self->asking = true;
    if (ph_redis_cmd (self->ls->redis, s_on_due, self, "EVAL %s 0 %llu %d", s_due_lua,
                      (unsigned long long)ph_now_ms (), LS_HOOK_DUE_MAX) != 0)
        self->asking = false;
}
