/*  ls_put: PutLogEvents, the one write path of session logs.
 *
 *  Everything a batch can be refused for without Redis is checked here in
 *  C (sizes, names, order of timestamps within the batch); the rest is one
 *  Lua script that is atomic with the append: the batch id (a re-sent batch
 *  is acknowledged again and appends nothing), the group (created when
 *  --auto-create-log-groups is on), the stream's last timestamp (a batch
 *  may not go back in time). The reply goes out only after Redis answered,
 *  so an acknowledged batch is durable (as durable as Redis' AOF).
 *
 *  Retention: stream ids are assigned at ingestion, so XTRIM MINID
 *  <now - retention> drops what was ingested before the cut-off.
 *
 *  Encryption (ph_logcrypt.h): a batch that asks for it (the session's
 *  preferences), or any batch for a group known to be encrypted, is sealed
 *  here with the group's data key before the append. The script is the
 *  judge: it answers 'encrypt' when plain messages meet an encrypted group
 *  and 'rekey' when another logshipper gave the group its data key first;
 *  both carry the group's wrapped key, which is opened, cached and used to
 *  seal the batch again (at most LS_REKEY_MAX times).
 */
#include "ls.h"

#include <stdio.h>
#include <string.h>

/*  KEYS: ph:logbatch:{B}, ph:loggroup:{G}, ph:loggroups, ph:logs:{G}:{S},
 *        ph:logstreams:{G}, ph:logstream:{G}:{S}
 *  ARGV: now ms, auto-create 1|0, group, stream, dedup ttl s, wrapped data
 *        key ('' when the messages are plain), n, then n pairs timestamp,
 *        message.
 *  Returns {'ok', n}, {'duplicate', 0}, {'nogroup', 0}, {'order', last_ts},
 *  {'encrypt', wrapped key} (plain messages for an encrypted group) or
 *  {'rekey', wrapped key} (sealed with another data key than the group's).
 *  A group becomes encrypted with its first sealed batch, for good. */
static const char s_put_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate', 0} end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
    "  if ARGV[2] ~= '1' then return {'nogroup', 0} end\n"
    "  redis.call('HSET', KEYS[2], 'name', ARGV[3], 'created_ms', ARGV[1],\n"
    "             'retention_days', '0', 'stored_bytes', '0', 'auto', '1')\n"
    "  redis.call('SADD', KEYS[3], ARGV[3])\n"
    "end\n"
    "local dk = redis.call('HGET', KEYS[2], 'data_key')\n"
    "if ARGV[6] == '' then\n"
    "  if dk then return {'encrypt', dk} end\n"
    "elseif not dk then\n"
    "  redis.call('HSET', KEYS[2], 'data_key', ARGV[6], 'encrypted', '1')\n"
    "elseif dk ~= ARGV[6] then\n"
    "  return {'rekey', dk}\n"
    "end\n"
    "local n = tonumber(ARGV[7])\n"
    "local last = redis.call('HGET', KEYS[6], 'last_ts')\n"
    "if n > 0 and last and tonumber(ARGV[8]) < tonumber(last) then\n"
    "  return {'order', last}\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[6]) == 0 then\n"
    "  redis.call('HSET', KEYS[6], 'created_ms', ARGV[1], 'stored_bytes', '0')\n"
    "  redis.call('ZADD', KEYS[5], 0, ARGV[4])\n"
    "end\n"
    "local bytes = 0\n"
    "for i = 0, n - 1 do\n"
    "  local msg = ARGV[9 + 2 * i]\n"
    "  redis.call('XADD', KEYS[4], '*', 'ts', ARGV[8 + 2 * i], 'msg', msg, 'ing', ARGV[1])\n"
    "  bytes = bytes + #msg\n"
    "end\n"
    "if n > 0 then\n"
    "  local lts = ARGV[6 + 2 * n]\n"
    "  redis.call('HSET', KEYS[6], 'last_ts', lts)\n"
    "  redis.call('HSETNX', KEYS[6], 'first_ts', ARGV[8])\n"
    "  redis.call('ZADD', KEYS[5], lts, ARGV[4])\n"
    "  redis.call('HINCRBY', KEYS[6], 'stored_bytes', bytes)\n"
    "  redis.call('HINCRBY', KEYS[2], 'stored_bytes', bytes)\n"
    "end\n"
    "redis.call('SET', KEYS[1], '1', 'EX', ARGV[5])\n"
    "return {'ok', n}\n";

/*  ARGV: now ms. XTRIM of every stream of every group with a retention. */
static const char s_retention_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local trimmed = 0\n"
    "for _, g in ipairs(redis.call('SMEMBERS', 'ph:loggroups')) do\n"
    "  local days = tonumber(redis.call('HGET', 'ph:loggroup:{' .. g .. '}',\n"
    "                                   'retention_days') or '0')\n"
    "  if days and days > 0 then\n"
    "    local minid = string.format('%d-0', now - days * 86400000)\n"
    "    for _, s in ipairs(redis.call('ZRANGE', 'ph:logstreams:{' .. g .. '}', 0, -1)) do\n"
    "      trimmed = trimmed + redis.call('XTRIM', 'ph:logs:{' .. g .. '}:' .. s,\n"
    "                                     'MINID', minid)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return trimmed\n";

bool ls_name_valid (const char *name)
{
    return ph_log_name_valid (name);
}

/*  The checks that need no Redis. Returns true, or answers and frees req. */
static bool s_batch_valid (ls_req_t **req_p)
{
    const Porthole__V1__PutLogEvents *p = (*req_p)->env->put_log_events;
    if (strlen (p->batch_id) > LS_BATCH_ID_MAX || !ls_name_valid (p->batch_id)) {
        ls_req_fail (req_p, LS_E_INVALID_REQUEST,
                     "porthole-logshipper: batch_id must be 1..%d of A-Z a-z 0-9 _ . - / #",
                     LS_BATCH_ID_MAX);
        return false;
    }
    if (!ls_name_valid (p->log_group) || !ls_name_valid (p->log_stream)) {
        ls_req_fail (req_p, LS_E_INVALID_REQUEST,
                     "porthole-logshipper: log group and stream names must be 1..%d of A-Z a-z "
                     "0-9 _ . - / # (got group '%.64s', stream '%.64s')",
                     LS_NAME_MAX, p->log_group, p->log_stream);
        return false;
    }
    if (p->n_events > LS_BATCH_EVENTS_MAX) {
        ls_req_fail (req_p, LS_E_INVALID_REQUEST,
                     "porthole-logshipper: batch %s has %zu events (max %d); split it", p->batch_id,
                     p->n_events, LS_BATCH_EVENTS_MAX);
        return false;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < p->n_events; i++) {
        bytes += strlen (p->events[i]->message);
        if (i > 0 && p->events[i]->timestamp_ms < p->events[i - 1]->timestamp_ms) {
            ls_req_fail (req_p, LS_E_INVALID_REQUEST,
                         "porthole-logshipper: batch %s: event %zu has timestamp %llu, before "
                         "event %zu (%llu); events of a batch must be in timestamp order",
                         p->batch_id, i, (unsigned long long)p->events[i]->timestamp_ms, i - 1,
                         (unsigned long long)p->events[i - 1]->timestamp_ms);
            return false;
        }
    }
    if (bytes > LS_BATCH_BYTES_MAX) {
        ls_req_fail (req_p, LS_E_INVALID_REQUEST,
                     "porthole-logshipper: batch %s holds %zu message bytes (max %d); split it",
                     p->batch_id, bytes, LS_BATCH_BYTES_MAX);
        return false;
    }
    return true;
}

static void s_reply (ls_req_t **req_p, uint32_t accepted, bool duplicate)
{
    Porthole__V1__PutLogEventsReply body = PORTHOLE__V1__PUT_LOG_EVENTS_REPLY__INIT;
    body.batch_id = (*req_p)->env->put_log_events->batch_id;
    body.accepted = accepted;
    body.duplicate = duplicate;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY;
    env.put_log_events_reply = &body;
    ls_req_reply (req_p, &env);
}

static int s_send_append (ls_req_t *req);

/*  The health counters of an appended batch (ls_prom.c). */
static void s_count (const ls_req_t *req)
{
    const Porthole__V1__PutLogEvents *p = req->env->put_log_events;
    ls_stats_t *st = &req->ls->stats;
    st->batches++;
    st->events += p->n_events;
    for (size_t i = 0; i < p->n_events; i++)
        st->bytes += strlen (p->events[i]->message);
    uint64_t now = ph_now_ms ();
    if (p->n_events && p->events[p->n_events - 1]->timestamp_ms <= now)
        st->lag_ms = now - p->events[p->n_events - 1]->timestamp_ms;
}

/*  The batch is stored: its events through the group's metric filters
 *  (the plain messages, also for an encrypted group). */
static void s_ingest_metrics (const ls_req_t *req)
{
    const Porthole__V1__PutLogEvents *p = req->env->put_log_events;
    ls_event_ref_t *ev = calloc (p->n_events + 1, sizeof *ev);
    assert (ev);
    for (size_t i = 0; i < p->n_events; i++)
        ev[i] = (ls_event_ref_t){p->events[i]->timestamp_ms, p->events[i]->message};
    ls_metrics_ingest (req->ls->metrics, p->log_group, ev, p->n_events, req->instance);
    free (ev);
}

/*  Takes the group's wrapped data key from the script's answer: opened
 *  with the master key and cached. Returns false after answering req. */
static bool s_adopt_data_key (ls_req_t **req_p, const char *wrapped)
{
    ls_req_t *req = *req_p;
    ls_t *ls = req->ls;
    const char *group = req->env->put_log_events->log_group;
    ls_data_key_t *dk = calloc (1, sizeof *dk);
    assert (dk);
    if (!ls->has_master || ++req->rekeys > LS_REKEY_MAX ||
        ph_logcrypt_unwrap (ls->master, group, wrapped, dk->key) != 0 ||
        !(dk->wrapped = strdup (wrapped))) {
        free (dk);
        ph_error ("log group %s is encrypted and its data key does not open with this "
                  "logshipper's master key (%s)",
                  group, ls->has_master ? ls->opt.master_key_file : "none loaded");
        ls_req_fail (req_p, LS_E_UNAVAILABLE,
                     "porthole-logshipper: log group %.512s is encrypted and this logshipper "
                     "cannot open its data key; the batch stays in the spool (operators: give "
                     "every logshipper the same --master-key-file)",
                     group);
        return false;
    }
    zhashx_update (ls->data_keys, group, dk);
    return true;
}

static void s_on_appended (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ls_req_t *req = arg;
    const Porthole__V1__PutLogEvents *p = req->env->put_log_events;
    const char *what = ph_reply_str (ph_reply_at (reply, 0));
    const char *num = ph_reply_str (ph_reply_at (reply, 1));
    long long n = ph_reply_int (ph_reply_at (reply, 1));
    if (!reply) {
        ls_req_fail (&req, LS_E_UNAVAILABLE,
                     "porthole-logshipper: lost the Redis connection during the append; the "
                     "batch is kept in the spool and re-sent");
    } else if (!what) {
        ph_error ("redis: append of batch %s failed: %s", p->batch_id,
                  ph_reply_str (reply) ? ph_reply_str (reply) : "unexpected reply");
        ls_req_fail (&req, LS_E_INTERNAL,
                     "porthole-logshipper: the store failed the append; operators: see the "
                     "logshipper log");
    } else if (strcmp (what, "ok") == 0) {
        ph_debug ("batch %s from %s: %lld events to %s/%s", p->batch_id, req->instance, n,
                  p->log_group, p->log_stream);
        if (!p->recording)
            s_ingest_metrics (req);
        s_count (req);
        s_reply (&req, (uint32_t)n, false);
    } else if (strcmp (what, "duplicate") == 0) {
        req->ls->stats.duplicates++;
        ph_debug ("batch %s from %s: duplicate, acknowledged again", p->batch_id, req->instance);
        s_reply (&req, 0, true);
    } else if (strcmp (what, "encrypt") == 0 || strcmp (what, "rekey") == 0) {
        if (s_adopt_data_key (&req, num ? num : "") && s_send_append (req) != 0)
            ls_req_fail (&req, LS_E_UNAVAILABLE,
                         "porthole-logshipper: cannot reach Redis right now; the batch stays "
                         "in the spool and is re-sent");
    } else if (strcmp (what, "nogroup") == 0) {
        ls_req_fail (&req, LS_E_RESOURCE_NOT_FOUND,
                     "porthole-logshipper: log group %.512s does not exist and this logshipper "
                     "does not create groups (--auto-create-log-groups false); create it with "
                     "porthole logs create-log-group %.512s",
                     p->log_group, p->log_group);
    } else {
        ls_req_fail (&req, LS_E_INVALID_REQUEST,
                     "porthole-logshipper: batch %s starts at timestamp %llu, before the last "
                     "event of stream %.512s (%s); send events in timestamp order",
                     p->batch_id, (unsigned long long)p->events[0]->timestamp_ms, p->log_stream,
                     num ? num : "?");
    }
}

/*  The data key to seal req's batch with: the group's cached one, or a new
 *  one (the script keeps the group's own if it has one). NULL when the
 *  batch goes in plain; sets *fail when it cannot be sealed here. */
static const ls_data_key_t *s_seal_key (ls_req_t *req, bool *fail)
{
    const Porthole__V1__PutLogEvents *p = req->env->put_log_events;
    ls_t *ls = req->ls;
    ls_data_key_t *dk = zhashx_lookup (ls->data_keys, p->log_group);
    *fail = false;
    if (dk || !p->encrypt)
        return dk;
    uint8_t key[PH_AEAD_KEY_LEN];
    char *wrapped = NULL;
    if (!ls->has_master || ph_random_bytes (key, sizeof key) != 0 ||
        !(wrapped = ph_logcrypt_wrap (ls->master, p->log_group, key))) {
        *fail = true;
        return NULL;
    }
    dk = calloc (1, sizeof *dk);
    assert (dk);
    dk->wrapped = wrapped;
    memcpy (dk->key, key, sizeof key);
    explicit_bzero (key, sizeof key);
    zhashx_update (ls->data_keys, p->log_group, dk);
    ph_info ("log group %s: new data key (first encrypted batch)", p->log_group);
    return dk;
}

/*  Seals every message of req's batch with dk into req->sealed. */
static bool s_seal (ls_req_t *req, const ls_data_key_t *dk)
{
    const Porthole__V1__PutLogEvents *p = req->env->put_log_events;
    if (!req->sealed && !(req->sealed = calloc (p->n_events + 1, sizeof *req->sealed)))
        return false;
    for (size_t i = 0; i < p->n_events; i++) {
        free (req->sealed[i]);
        const char *msg = p->events[i]->message;
        req->sealed[i] = ph_logcrypt_seal (dk->key, p->log_group, p->log_stream, msg, strlen (msg));
        if (!req->sealed[i])
            return false;
    }
    return true;
}

/*  argv for the append script; entries point into the request (which
 *  outlives the call: hiredis copies the arguments when it queues).
 *  Returns 0, PH_EIO when Redis is away, or PH_EAUTH when the batch must be
 *  sealed and this logshipper cannot (no master key). */
static int s_send_append (ls_req_t *req)
{
    const Porthole__V1__PutLogEvents *p = req->env->put_log_events;
    ls_t *ls = req->ls;
    bool fail;
    const ls_data_key_t *dk = s_seal_key (req, &fail);
    if (fail || (dk && !s_seal (req, dk)))
        return PH_EAUTH;
    size_t argc = 16 + 2 * p->n_events;
    const char **argv = calloc (argc, sizeof *argv);
    size_t *len = calloc (argc, sizeof *len);
    char *nums = calloc (p->n_events + 1, 24);
    char keys[6][1200], now[24], ttl[16], n[16];
    assert (argv && len && nums);
    snprintf (keys[0], sizeof keys[0], "ph:logbatch:{%s}", p->batch_id);
    snprintf (keys[1], sizeof keys[1], "ph:loggroup:{%s}", p->log_group);
    snprintf (keys[2], sizeof keys[2], "ph:loggroups");
    snprintf (keys[3], sizeof keys[3], "ph:logs:{%s}:%s", p->log_group, p->log_stream);
    snprintf (keys[4], sizeof keys[4], "ph:logstreams:{%s}", p->log_group);
    snprintf (keys[5], sizeof keys[5], "ph:logstream:{%s}:%s", p->log_group, p->log_stream);
    snprintf (now, sizeof now, "%llu", (unsigned long long)ph_now_ms ());
    snprintf (ttl, sizeof ttl, "%d", LS_DEDUP_TTL_S);
    snprintf (n, sizeof n, "%zu", p->n_events);
    size_t i = 0;
    argv[i++] = "EVAL";
    argv[i++] = s_put_lua;
    argv[i++] = "6";
    for (int k = 0; k < 6; k++)
        argv[i++] = keys[k];
    argv[i++] = now;
    argv[i++] = ls->opt.auto_create ? "1" : "0";
    argv[i++] = p->log_group;
    argv[i++] = p->log_stream;
    argv[i++] = ttl;
    argv[i++] = dk ? dk->wrapped : "";
    argv[i++] = n;
    for (size_t e = 0; e < p->n_events; e++) {
        char *ts = nums + 24 * e;
        snprintf (ts, 24, "%llu", (unsigned long long)p->events[e]->timestamp_ms);
        argv[i++] = ts;
        argv[i++] = dk ? req->sealed[e] : p->events[e]->message;
    }
    for (size_t k = 0; k < i; k++)
        len[k] = strlen (argv[k]);
    int rc = ph_redis_cmdargv (ls->redis, s_on_appended, req, (int)i, argv, len);
    free (nums);
    free (len);
    free (argv);
    return rc;
}

void ls_put_log_events (ls_req_t *req)
{
    if (!s_batch_valid (&req))
        return;
    int rc = s_send_append (req);
    if (rc == PH_EAUTH)
        ls_req_fail (&req, LS_E_UNAVAILABLE,
                     "porthole-logshipper: batch %s must be stored encrypted and this "
                     "logshipper holds no log master key; the batch stays in the spool "
                     "(operators: porthole-logshipper run --master-key-file)",
                     req->env->put_log_events->batch_id);
    else if (rc != 0)
        ls_req_fail (&req, LS_E_UNAVAILABLE,
                     "porthole-logshipper: cannot reach Redis right now; the batch stays in "
                     "the spool and is re-sent (operators: check redis-server)");
}

static void s_on_trimmed (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)arg;
    if (!reply || ph_reply_is_error (reply))
        ph_warn ("retention: XTRIM failed: %s; retried in a minute",
                 reply ? ph_reply_str (reply) : "connection lost");
    else if (ph_reply_int (reply) > 0)
        ph_info ("retention: %lld events past their group's retention removed",
                 ph_reply_int (reply));
}

void ls_put_retention (ls_t *ls)
{
    ph_redis_cmd (ls->redis, s_on_trimmed, NULL, "EVAL %s 0 %llu", s_retention_lua,
                  (unsigned long long)ph_now_ms ());
}
