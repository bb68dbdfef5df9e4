/*  ctl_topics: TopicsRequest, the users' API on notification topics
 *  (docs/architecture.md "Alarms and topics"): what alarm actions
 *  "topic:NAME" publish to, modelled on SNS. Webhook deliveries are made
 *  later by the deliverer (logshipper), which also writes a subscription's
 *  counters; this file only keeps the records.
 *
 *  Ops, authorised as topics:OP on topic/NAME (ListTopics, and
 *  ListSubscriptions of every topic, on "*"):
 *    CreateTopic        idempotent, as SNS: an existing topic is kept
 *    DeleteTopic        the topic, its subscriptions and its messages; a
 *                       topic that does not exist is no error (SNS)
 *    ListTopics         names, sorted
 *    Subscribe          protocol webhook, an http(s) endpoint, format json
 *                       (default) or alertmanager; the same subscription
 *                       twice gives the same id (SNS); id "sub-" + 16 hex
 *    Unsubscribe        by id; authorised on the topic it belongs to
 *    ListSubscriptions  of one topic or of all, with their counters
 *    Publish            appends a notification (ts, subject, message) to
 *                       ph:topic:{T}:messages (about the last 1,000 kept);
 *                       last_id is its id. The stored message is always
 *                       JSON text: a message that is not JSON is stored as
 *                       a JSON string.
 *    Watch              the notifications after after_id (at most
 *                       max_results, default 100) and last_id to pass
 *                       next time; an empty after_id returns none and the
 *                       newest id, so that a watcher starts "from now"
 *  Each op is one Lua script (check and write atomic).
 */
#include "ctl_alarms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_TOPIC_FORMAT_DEFAULT "json"

/*  ARGV: topic, now ms. */
static const char s_create_lua[] =
    "local k = 'ph:topic:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', k) == 0 then\n"
    "  redis.call('HSET', k, 'name', ARGV[1], 'created_ms', ARGV[2])\n"
    "end\n"
    "redis.call('SADD', 'ph:topics', ARGV[1])\n"
    "return 'ok'\n";

/*  ARGV: topic. */
static const char s_delete_lua[] =
    "local k = 'ph:topic:{' .. ARGV[1] .. '}'\n"
    "for _, id in ipairs(redis.call('SMEMBERS', k .. ':subscriptions')) do\n"
    "  redis.call('DEL', 'ph:subscription:{' .. id .. '}')\n"
    "end\n"
    "redis.call('DEL', k, k .. ':subscriptions', k .. ':messages')\n"
    "redis.call('SREM', 'ph:topics', ARGV[1])\n"
    "return 'ok'\n";

static const char s_list_lua[] = "local names = redis.call('SMEMBERS', 'ph:topics')\n"
                                 "table.sort(names)\n"
                                 "return names\n";

/*  ARGV: topic, protocol, endpoint, format, new id, now ms. Returns
 *  {'missing'} or {'ok', id}. */
static const char s_subscribe_lua[] =
    "local t, p, e, f = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local k = 'ph:topic:{' .. t .. '}'\n"
    "if redis.call('EXISTS', k) == 0 then return {'missing'} end\n"
    "for _, id in ipairs(redis.call('SMEMBERS', k .. ':subscriptions')) do\n"
    "  local h = redis.call('HMGET', 'ph:subscription:{' .. id .. '}', 'protocol', 'endpoint',\n"
    "                       'format')\n"
    "  if h[1] == p and h[2] == e and h[3] == f then return {'ok', id} end\n"
    "end\n"
    "redis.call('HSET', 'ph:subscription:{' .. ARGV[5] .. '}', 'subscription_id', ARGV[5],\n"
    "           'topic', t, 'protocol', p, 'endpoint', e, 'format', f, 'created_ms', ARGV[6],\n"
    "           'delivered', '0', 'failed', '0', 'last_error', '', 'last_attempt_ms', '0')\n"
    "redis.call('SADD', k .. ':subscriptions', ARGV[5])\n"
    "return {'ok', ARGV[5]}\n";

/*  ARGV: subscription id, its topic (as read before authorising). */
static const char s_unsubscribe_lua[] =
    "local sk = 'ph:subscription:{' .. ARGV[1] .. '}'\n"
    "if redis.call('HGET', sk, 'topic') ~= ARGV[2] then return 'missing' end\n"
    "redis.call('DEL', sk)\n"
    "redis.call('SREM', 'ph:topic:{' .. ARGV[2] .. '}:subscriptions', ARGV[1])\n"
    "return 'ok'\n";

/*  ARGV: topic ('' = every topic). Returns {'missing'} or {'ok', {HGETALL
 *  of each subscription, by topic then id}}. */
static const char s_subscriptions_lua[] =
    "local topics = {ARGV[1]}\n"
    "if ARGV[1] == '' then\n"
    "  topics = redis.call('SMEMBERS', 'ph:topics')\n"
    "  table.sort(topics)\n"
    "elseif redis.call('EXISTS', 'ph:topic:{' .. ARGV[1] .. '}') == 0 then return {'missing'} end\n"
    "local out = {}\n"
    "for _, t in ipairs(topics) do\n"
    "  local ids = redis.call('SMEMBERS', 'ph:topic:{' .. t .. '}:subscriptions')\n"
    "  table.sort(ids)\n"
    "  for _, id in ipairs(ids) do\n"
    "    local h = redis.call('HGETALL', 'ph:subscription:{' .. id .. '}')\n"
    "    if #h > 0 then out[#out + 1] = h end\n"
    "  end\n"
    "end\n"
    "return {'ok', out}\n";

/*  ARGV: topic, subject, message, now ms, max length. Returns {'missing'}
 *  or {'ok', id}. */
static const char s_publish_lua[] =
    "local k = 'ph:topic:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', k) == 0 then return {'missing'} end\n"
    "local m = ARGV[3]\n"
    "if not pcall(cjson.decode, m) then m = cjson.encode(m) end\n"
    "local id = redis.call('XADD', k .. ':messages', 'MAXLEN', '~', ARGV[5], '*', 'ts', ARGV[4],\n"
    "                      'subject', ARGV[2], 'message', m)\n"
    "return {'ok', id}\n";

/*  ARGV: topic, after id ('' = from now on), max, bytes max (the reply
 *  stops before it; at least one notification). Returns {'missing'} or
 *  {'ok', last id, flat [id, ts, subject, message, ...]}. */
static const char s_watch_lua[] =
    "local k = 'ph:topic:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', k) == 0 then return {'missing'} end\n"
    "local key = k .. ':messages'\n"
    "if ARGV[2] == '' then\n"
    "  local newest = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)\n"
    "  if #newest == 0 then return {'ok', '0-0', {}} end\n"
    "  return {'ok', newest[1][1], {}}\n"
    "end\n"
    "local out, last, bytes = {}, ARGV[2], 0\n"
    "for _, e in ipairs(redis.call('XRANGE', key, '(' .. ARGV[2], '+', 'COUNT', ARGV[3])) do\n"
    "  local v = {}\n"
    "  for j = 1, #e[2], 2 do v[e[2][j]] = e[2][j + 1] end\n"
    "  local size = #(v.subject or '') + #(v.message or '')\n"
    "  if #out > 0 and bytes + size > tonumber(ARGV[4]) then break end\n"
    "  bytes = bytes + size\n"
    "  out[#out + 1] = e[1]\n"
    "  out[#out + 1] = v.ts or '0'\n"
    "  out[#out + 1] = v.subject or ''\n"
    "  out[#out + 1] = v.message or ''\n"
    "  last = e[1]\n"
    "end\n"
    "return {'ok', last, out}\n";

/* ---- shared -------------------------------------------------------------------- */

static void s_topics_reply (ctl_req_t **req_p, Porthole__V1__TopicsReply *body)
{
    body->op = (*req_p)->env->topics->op;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TOPICS_REPLY;
    env.topics_reply = body;
    ctl_req_reply (req_p, &env);
}

static void s_reply_empty (ctl_req_t **req_p)
{
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    s_topics_reply (req_p, &body);
}

static uint64_t s_u64 (const char *s)
{
    return s ? strtoull (s, NULL, 10) : 0;
}

/*  For the scripts that answer {'missing'} or {'ok', ...}: false after
 *  answering (Redis trouble, or ResourceNotFound naming the topic). */
static bool s_found (ctl_req_t **req_p, const ph_reply_t *reply)
{
    if (!ctl_req_reply_ok (req_p, reply))
        return false;
    const char *what = ph_reply_str (ph_reply_at (reply, 0));
    if (what && strcmp (what, "ok") == 0)
        return true;
    ctl_req_fail (req_p, CTL_E_RESOURCE_NOT_FOUND,
                  "porthole: topic %s does not exist; see porthole topics list-topics",
                  (*req_p)->env->topics->topic);
    return false;
}

static void s_on_done (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (ctl_req_reply_ok (&req, reply))
        s_reply_empty (&req);
}

/* ---- topics ---------------------------------------------------------------------- */

static void s_on_created (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    char *names[] = {req->env->topics->topic};
    body.topics = names;
    body.n_topics = 1;
    s_topics_reply (&req, &body);
}

static void s_create (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_created, req, "EVAL %s 0 %s %llu", s_create_lua,
                           req->env->topics->topic, (unsigned long long)ph_now_ms ());
    ctl_req_queued (&req, rc);
}

static void s_delete (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_done, req, "EVAL %s 0 %s", s_delete_lua,
                           req->env->topics->topic);
    ctl_req_queued (&req, rc);
}

static void s_on_list (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    size_t n = ph_reply_count (reply);
    char **names = calloc (n + 1, sizeof *names);
    assert (names);
    for (size_t i = 0; i < n; i++)
        names[i] = (char *)ph_reply_str (ph_reply_at (reply, i));
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    body.topics = names;
    body.n_topics = n;
    s_topics_reply (&req, &body);
    free (names);
}

static void s_list (ctl_req_t *req)
{
    ctl_req_queued (&req, ph_redis_cmd (req->ctl->redis, s_on_list, req, "EVAL %s 0", s_list_lua));
}

/* ---- subscriptions ------------------------------------------------------------------ */

static void s_on_subscribed (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!s_found (&req, reply))
        return;
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    body.subscription_id = (char *)ph_reply_str (ph_reply_at (reply, 1));
    s_topics_reply (&req, &body);
}

static void s_subscribe (ctl_req_t *req)
{
    const Porthole__V1__TopicsRequest *r = req->env->topics;
    const char *format = *r->format ? r->format : CTL_TOPIC_FORMAT_DEFAULT;
    if (strcmp (r->protocol, "webhook") != 0) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: Subscribe: protocol '%.40s' is not supported; use webhook",
                      r->protocol);
        return;
    }
    if (!ctl_topics_endpoint_valid (r->endpoint)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: Subscribe: endpoint '%.300s' is not a webhook URL: write "
                      "http://HOST[:PORT]/PATH or https://..., at most %d characters, no spaces",
                      r->endpoint, CTL_TOPIC_ENDPOINT_MAX);
        return;
    }
    if (strcmp (format, "json") != 0 && strcmp (format, "alertmanager") != 0) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: Subscribe: format '%.40s' is not json or alertmanager", format);
        return;
    }
    uint8_t raw[CTL_SUBSCRIPTION_ID_HEX / 2];
    char hex[CTL_SUBSCRIPTION_ID_HEX + 1];
    ph_random_bytes (raw, sizeof raw);
    ph_hex (raw, sizeof raw, hex);
    int rc = ph_redis_cmd (req->ctl->redis, s_on_subscribed, req,
                           "EVAL %s 0 %s %s %s %s sub-%s %llu", s_subscribe_lua, r->topic,
                           r->protocol, r->endpoint, format, hex, (unsigned long long)ph_now_ms ());
    ctl_req_queued (&req, rc);
}

static void s_fail_no_subscription (ctl_req_t **req_p)
{
    ctl_req_fail (req_p, CTL_E_RESOURCE_NOT_FOUND,
                  "porthole: subscription %s does not exist; see porthole topics "
                  "list-subscriptions",
                  (*req_p)->env->topics->subscription_id);
}

static void s_on_unsubscribed (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *what = ph_reply_str (reply);
    if (what && strcmp (what, "ok") == 0)
        s_reply_empty (&req);
    else
        s_fail_no_subscription (&req);
}

/*  The subscription's topic is known: authorise on it, then delete. */
static void s_on_subscription_topic (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *topic = ph_reply_str (reply);
    const char *id = req->env->topics->subscription_id;
    if (!topic || !ctl_topics_name_valid (topic)) {
        s_fail_no_subscription (&req);
        return;
    }
    char resource[CTL_TOPIC_RESOURCE_MAX];
    snprintf (resource, sizeof resource, "topic/%s", topic);
    if (!ctl_req_authorize (&req, "topics:Unsubscribe", resource, NULL))
        return;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_unsubscribed, req, "EVAL %s 0 %s %s",
                           s_unsubscribe_lua, id, topic);
    ctl_req_queued (&req, rc);
}

static void s_unsubscribe (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_subscription_topic, req,
                           "HGET ph:subscription:{%s} topic", req->env->topics->subscription_id);
    ctl_req_queued (&req, rc);
}

static void s_on_subscriptions (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!s_found (&req, reply))
        return;
    const ph_reply_t *list = ph_reply_at (reply, 1);
    size_t n = ph_reply_count (list);
    Porthole__V1__Subscription *subs = calloc (n + 1, sizeof *subs);
    Porthole__V1__Subscription **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (subs && ptrs);
    for (size_t i = 0; i < n; i++) {
        const ph_reply_t *h = ph_reply_at (list, i);
        Porthole__V1__Subscription init = PORTHOLE__V1__SUBSCRIPTION__INIT;
        subs[i] = init;
        const char *f;
        subs[i].subscription_id = (char *)((f = ph_reply_field (h, "subscription_id")) ? f : "");
        subs[i].topic = (char *)((f = ph_reply_field (h, "topic")) ? f : "");
        subs[i].protocol = (char *)((f = ph_reply_field (h, "protocol")) ? f : "");
        subs[i].endpoint = (char *)((f = ph_reply_field (h, "endpoint")) ? f : "");
        subs[i].format = (char *)((f = ph_reply_field (h, "format")) ? f : "");
        subs[i].last_error = (char *)((f = ph_reply_field (h, "last_error")) ? f : "");
        subs[i].delivered = s_u64 (ph_reply_field (h, "delivered"));
        subs[i].failed = s_u64 (ph_reply_field (h, "failed"));
        subs[i].last_attempt = s_u64 (ph_reply_field (h, "last_attempt_ms"));
        ptrs[i] = &subs[i];
    }
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    body.subscriptions = ptrs;
    body.n_subscriptions = n;
    s_topics_reply (&req, &body);
    free (ptrs);
    free (subs);
}

static void s_list_subscriptions (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_subscriptions, req, "EVAL %s 0 %s",
                           s_subscriptions_lua, req->env->topics->topic);
    ctl_req_queued (&req, rc);
}

/* ---- notifications ------------------------------------------------------------------- */

static void s_on_published (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!s_found (&req, reply))
        return;
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    body.last_id = (char *)ph_reply_str (ph_reply_at (reply, 1));
    s_topics_reply (&req, &body);
}

static void s_publish (ctl_req_t *req)
{
    const Porthole__V1__TopicsRequest *r = req->env->topics;
    bool subject_ok = strlen (r->subject) <= CTL_TOPIC_SUBJECT_MAX;
    for (const char *p = r->subject; subject_ok && *p; p++)
        subject_ok = (unsigned char)*p >= ' ' && *p != 0x7f;
    if (!subject_ok || !*r->message) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: Publish needs a message, and a subject of at most %d characters "
                      "on one line",
                      CTL_TOPIC_SUBJECT_MAX);
        return;
    }
    int rc = ph_redis_cmd (req->ctl->redis, s_on_published, req, "EVAL %s 0 %s %s %s %llu %d",
                           s_publish_lua, r->topic, r->subject, r->message,
                           (unsigned long long)ph_now_ms (), CTL_TOPIC_MESSAGES_MAX);
    ctl_req_queued (&req, rc);
}

static void s_on_watch (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!s_found (&req, reply))
        return;
    const ph_reply_t *flat = ph_reply_at (reply, 2);
    size_t n = ph_reply_count (flat) / 4;
    Porthole__V1__Notification *items = calloc (n + 1, sizeof *items);
    Porthole__V1__Notification **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (items && ptrs);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__Notification init = PORTHOLE__V1__NOTIFICATION__INIT;
        items[i] = init;
        items[i].id = (char *)ph_reply_str (ph_reply_at (flat, 4 * i));
        items[i].topic = req->env->topics->topic;
        items[i].timestamp = s_u64 (ph_reply_str (ph_reply_at (flat, 4 * i + 1)));
        items[i].subject = (char *)ph_reply_str (ph_reply_at (flat, 4 * i + 2));
        items[i].message = (char *)ph_reply_str (ph_reply_at (flat, 4 * i + 3));
        ptrs[i] = &items[i];
    }
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    body.notifications = ptrs;
    body.n_notifications = n;
    body.last_id = (char *)ph_reply_str (ph_reply_at (reply, 1));
    s_topics_reply (&req, &body);
    free (ptrs);
    free (items);
}

static void s_watch (ctl_req_t *req)
{
    const Porthole__V1__TopicsRequest *r = req->env->topics;
    uint32_t max = r->max_results ? r->max_results : CTL_TOPIC_WATCH_DEFAULT;
    if (max > CTL_TOPIC_WATCH_MAX || (*r->after_id && !ctl_alarms_stream_id_valid (r->after_id))) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: Watch: max_results is 1..%d and after_id a last_id that Watch "
                      "returned (or empty: from now on)",
                      CTL_TOPIC_WATCH_MAX);
        return;
    }
    int rc = ph_redis_cmd (req->ctl->redis, s_on_watch, req, "EVAL %s 0 %s %s %u %d", s_watch_lua,
                           r->topic, r->after_id, max, CTL_TOPIC_REPLY_BYTES_MAX);
    ctl_req_queued (&req, rc);
}

/* ---- dispatch ------------------------------------------------------------------------ */

typedef enum {
    S_ON_ALL,          /* resource "*" */
    S_ON_TOPIC,        /* topic/NAME; the topic is required */
    S_ON_TOPIC_OR_ALL, /* topic/NAME when one is given, else "*" */
    S_ON_SUBSCRIPTION, /* the topic of subscription_id (looked up first) */
} s_on_t;

static const ctl_op_t s_ops[] = {
    {"CreateTopic", S_ON_TOPIC, s_create},
    {"DeleteTopic", S_ON_TOPIC, s_delete},
    {"ListTopics", S_ON_ALL, s_list},
    {"Subscribe", S_ON_TOPIC, s_subscribe},
    {"Unsubscribe", S_ON_SUBSCRIPTION, s_unsubscribe},
    {"ListSubscriptions", S_ON_TOPIC_OR_ALL, s_list_subscriptions},
    {"Publish", S_ON_TOPIC, s_publish},
    {"Watch", S_ON_TOPIC, s_watch},
};

/*  "sub-" and 16 lowercase hex digits. */
static bool s_subscription_id_valid (const char *id)
{
    return strncmp (id, "sub-", 4) == 0 && strlen (id) == 4 + CTL_SUBSCRIPTION_ID_HEX &&
           strspn (id + 4, "0123456789abcdef") == CTL_SUBSCRIPTION_ID_HEX;
}

void ctl_topics_request (ctl_req_t *req)
{
    const Porthole__V1__TopicsRequest *r = req->env->topics;
    const ctl_op_t *op = ctl_op_find (s_ops, sizeof s_ops / sizeof s_ops[0], r->op);
    if (!op) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not a topics operation; is your porthole CLI the "
                      "same version as the controller?",
                      r->op);
        return;
    }
    bool named = op->on == S_ON_TOPIC || (op->on == S_ON_TOPIC_OR_ALL && *r->topic);
    if (named && !ctl_topics_name_valid (r->topic)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: %s needs a topic name of 1..%d letters, digits, _ and - (got "
                      "'%.64s')",
                      op->op, CTL_TOPIC_NAME_MAX, r->topic);
        return;
    }
    if (op->on == S_ON_SUBSCRIPTION && !s_subscription_id_valid (r->subscription_id)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: %s needs a subscription id as subscribe printed it (sub- and "
                      "16 hex digits; got '%.64s')",
                      op->op, r->subscription_id);
        return;
    }
    if (op->on != S_ON_SUBSCRIPTION) {
        char action[CTL_ACTION_MAX], resource[CTL_TOPIC_RESOURCE_MAX] = "*";
        snprintf (action, sizeof action, "topics:%s", op->op);
        if (named)
            snprintf (resource, sizeof resource, "topic/%s", r->topic);
        if (!ctl_req_authorize (&req, action, resource, NULL))
            return;
    }
    op->fn (req);
}
