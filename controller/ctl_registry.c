/*  ctl_registry: the instances of the cluster.
 *
 *  Enroll turns an unknown key into an instance: the activation is checked
 *  in C (constant-time HMAC compare, expiry, count) and then written by one
 *  Lua script that re-checks expiry and count and does every write, so a
 *  refused or raced enrollment changes nothing. Hello (re)binds an instance
 *  to this process and ends the sessions its agent no longer has; it reads
 *  only that instance's sessions, from its index ph:instance:{ID}:sessions
 *  (kept by every script that adds to or takes from ph:sessions:active),
 *  so that 10,000 agents saying Hello after a restart cost Redis O(their
 *  sessions), not O(agents x active sessions). A second Hello of an
 *  instance while its first is in Redis is not stored again: the first
 *  answers, at the routing id of the latest. Heartbeats only touch memory;
 *  last_seen_ms is flushed once a second.
 */
#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CTL_FACT_MAX     255 /* hostname, platform, agent version, ip */
#define CTL_ACT_CODE_MAX 128

/*  KEYS: activation, instance, ph:instances, ph:key:{Z85}, tag sets...
 *  ARGV: now ms, instance id, key identity, instance field/value pairs. */
static const char s_enroll_lua[] =
    "local a = redis.call('HMGET', KEYS[1], 'limit', 'count', 'expires_ms')\n"
    "if not a[1] then return 'gone' end\n"
    "if tonumber(a[3]) <= tonumber(ARGV[1]) then return 'expired' end\n"
    "if tonumber(a[2] or '0') >= tonumber(a[1]) then return 'used' end\n"
    "if redis.call('EXISTS', KEYS[4]) == 1 then return 'key' end\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return 'dup' end\n"
    "redis.call('HSET', KEYS[2], unpack(ARGV, 4))\n"
    "redis.call('SADD', KEYS[3], ARGV[2])\n"
    "for i = 5, #KEYS do redis.call('SADD', KEYS[i], ARGV[2]) end\n"
    "redis.call('SET', KEYS[4], ARGV[3])\n"
    "redis.call('HINCRBY', KEYS[1], 'count', 1)\n"
    "return 'ok'\n";

/*  KEYS: instance, ph:sessions:active, ph:sessions:history,
 *  ph:instance:{ID}:sessions (the instance's active sessions)
 *  ARGV: instance id, now ms, keep s, n live ids, ids..., field/value pairs.
 *  Returns -1 for an unknown instance, else the ids of the sessions ended
 *  because the agent no longer has them (Connecting ones are left alone:
 *  their OpenSession may not have been sent yet). While a logshipper is
 *  registered such a session is Terminating, not Terminated: the restarted
 *  agent still ships what its spool holds and then sends
 *  TranscriptComplete (DESIGN.md section 4); one already Terminating stays so.
 *  Index entries that are no longer active sessions of this instance (a
 *  record gone, a session ended by an older controller) are dropped. */
static const char s_hello_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "local n = tonumber(ARGV[4])\n"
    "local live = {}\n"
    "for i = 1, n do live[ARGV[4 + i]] = true end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 5 + n))\n"
    "local ended = {}\n"
    "for _, sid in ipairs(redis.call('SMEMBERS', KEYS[4])) do\n"
    "  local key = 'ph:session:{' .. sid .. '}'\n"
    "  local s = redis.call('HMGET', key, 'target', 'state')\n"
    "  if s[1] ~= ARGV[1] or redis.call('SISMEMBER', KEYS[2], sid) == 0 then\n"
    "    redis.call('SREM', KEYS[4], sid)\n"
    "  elseif not live[sid] and s[2] ~= 'Connecting' and s[2] ~= 'Terminating' then\n"
    "    local done = redis.call('HGET', key, 'transcript_complete') == '1'\n"
    "    if not done and redis.call('SCARD', 'ph:logshippers') > 0 then\n"
    "      redis.call('HSET', key, 'state', 'Terminating', 'transcript_pending', '1',\n"
    "                 'end_ms', ARGV[2], 'end_reason', 'agent restarted')\n"
    "    else\n"
    "      redis.call('HSET', key, 'state', 'Terminated', 'end_ms', ARGV[2],\n"
    "                 'end_reason', 'agent restarted')\n"
    "      redis.call('SREM', KEYS[2], sid)\n"
    "      redis.call('SREM', KEYS[4], sid)\n"
    "      redis.call('ZADD', KEYS[3], ARGV[2], sid)\n"
    "      redis.call('EXPIRE', key, ARGV[3])\n"
    "    end\n"
    "    ended[#ended + 1] = sid\n"
    "  end\n"
    "end\n"
    "return ended\n";

/*  KEYS: instance; ARGV: this controller id. */
static const char s_lost_lua[] = "if redis.call('HGET', KEYS[1], 'controller') == ARGV[1] then\n"
                                 "  redis.call('HSET', KEYS[1], 'ping_status', 'ConnectionLost')\n"
                                 "end\n"
                                 "return 1\n";

ctl_instance_t *ctl_registry_instance (ctl_t *ctl, const char *instance_id)
{
    return zhashx_lookup (ctl->instances, instance_id);
}

const char *ctl_ping_status (const ctl_t *ctl, const char *stored, uint64_t last_seen_ms)
{
    uint64_t now = ph_now_ms ();
    uint64_t window = (uint64_t)CTL_LOST_INTERVALS * ctl->opt.heartbeat_ms + CTL_FLUSH_SLACK_MS;
    if (stored && strcmp (stored, "Online") == 0 &&
        (last_seen_ms >= now || now - last_seen_ms <= window))
        return "Online";
    return "ConnectionLost";
}

/* ---- Enroll ------------------------------------------------------------ */

static bool s_host_facts_valid (ctl_req_t **req_p, const char *hostname, const char *platform,
                                const char *version, const char *ip)
{
    const char *facts[] = {hostname, platform, version, ip};
    const char *names[] = {"hostname", "platform", "agent_version", "ip"};
    for (int i = 0; i < 4; i++)
        if (facts[i] && strlen (facts[i]) > CTL_FACT_MAX) {
            ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                          "porthole: %s is over %d bytes; the agent sent a malformed report",
                          names[i], CTL_FACT_MAX);
            return false;
        }
    return true;
}

typedef struct {
    uint64_t window_start;
    int failures;
} s_fail_count_t;

static bool s_enroll_throttled (ctl_t *ctl, const char *addr)
{
    s_fail_count_t *f = zhashx_lookup (ctl->enroll_fails, addr);
    if (!f || ph_mono_ms () - f->window_start > CTL_ENROLL_FAIL_WINDOW)
        return false;
    return f->failures >= CTL_ENROLL_FAIL_MAX;
}

/*  Refuses an enrollment: counted per address, logged for the audit. */
static void s_enroll_refuse (ctl_req_t **req_p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void s_enroll_refuse (ctl_req_t **req_p, const char *fmt, ...)
{
    ctl_req_t *req = *req_p;
    uint64_t now = ph_mono_ms ();
    s_fail_count_t *f = zhashx_lookup (req->ctl->enroll_fails, req->addr);
    if (!f) {
        f = calloc (1, sizeof *f);
        assert (f);
        zhashx_insert (req->ctl->enroll_fails, req->addr, f);
    }
    if (now - f->window_start > CTL_ENROLL_FAIL_WINDOW) {
        f->window_start = now;
        f->failures = 0;
    }
    f->failures++;
    req->denied = true;
    char text[PH_ERRTEXT_MAX];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    ph_warn ("audit: enrollment refused from %s (key %s): %s", req->addr, req->name, text);
    ctl_req_fail (req_p, CTL_E_INVALID_ACTIVATION, "%s", text);
}

static bool s_activation_id_valid (const char *id)
{
    if (!id || strlen (id) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !strchr ("0123456789abcdef", id[i]) || !id[i])
            return false;
    }
    return true;
}

static void s_enroll_reply (ctl_req_t **req_p)
{
    ctl_req_t *req = *req_p;
    char identity[PH_USER_ID_MAX];
    snprintf (identity, sizeof identity, "instance:%s", req->iid);
    ctl_cache_key (req->ctl, req->name, identity);
    snprintf (req->resource, sizeof req->resource, "instance/%s", req->iid);
    ph_info ("audit: instance %s enrolled from %s with activation %s", req->iid, req->addr,
             req->env->enroll->activation_id);
    Porthole__V1__EnrollReply body = PORTHOLE__V1__ENROLL_REPLY__INIT;
    body.instance_id = req->iid;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY;
    env.enroll_reply = &body;
    ctl_req_reply (req_p, &env);
}

static void s_on_enroll_written (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *r = ph_reply_str (reply);
    const char *id = req->env->enroll->activation_id;
    if (r && strcmp (r, "ok") == 0)
        s_enroll_reply (&req);
    else if (r && strcmp (r, "key") == 0)
        s_enroll_refuse (&req, "porthole: this agent key is already registered; run porthole-agent "
                               "with its existing state, or register with a fresh key");
    else if (r && strcmp (r, "used") == 0)
        s_enroll_refuse (&req,
                         "porthole: activation %s has reached its registration limit; ask an "
                         "admin for a new one (porthole create-activation)",
                         id);
    else if (r && strcmp (r, "dup") == 0)
        ctl_req_fail (&req, CTL_E_INTERNAL, "porthole: instance id clash; register again");
    else
        s_enroll_refuse (&req,
                         "porthole: activation %s does not exist or has expired; ask an admin "
                         "for a new one (porthole create-activation)",
                         id);
}

static void s_enroll_write (ctl_req_t **req_p, const ph_reply_t *act)
{
    ctl_req_t *req = *req_p;
    Porthole__V1__Enroll *e = req->env->enroll;
    const char *tags = ph_reply_field (act, "tags");
    ph_tag_t parsed[PH_TAGS_MAX];
    char err[PH_ERRTEXT_MAX];
    int ntags = ph_parse_tags (tags ? tags : "", parsed, PH_TAGS_MAX, err, sizeof err);
    if (ntags < 0) {
        ph_error ("activation %s has bad stored tags: %s", e->activation_id, err);
        ntags = 0;
    }
    uint8_t raw[9];
    char hex[19];
    ph_random_bytes (raw, sizeof raw);
    ph_hex (raw, sizeof raw, hex);
    snprintf (req->iid, sizeof req->iid, "mi-%.17s", hex);
    uint64_t now = ph_now_ms ();
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_enroll_lua);
    ctl_argv_addf (&a, "%d", 4 + ntags);
    ctl_argv_addf (&a, "ph:activation:{%s}", e->activation_id);
    ctl_argv_addf (&a, "ph:instance:{%s}", req->iid);
    ctl_argv_add (&a, "ph:instances");
    ctl_argv_addf (&a, "ph:key:{%s}", req->name);
    for (int i = 0; i < ntags; i++)
        ctl_argv_addf (&a, "ph:tag:{%s=%s}", parsed[i].key, parsed[i].value);
    ctl_argv_addf (&a, "%llu", (unsigned long long)now);
    ctl_argv_add (&a, req->iid);
    ctl_argv_addf (&a, "instance:%s", req->iid);
    const char *fields[][2] = {
        {"instance_id", req->iid},
        {"hostname", e->hostname},
        {"platform", e->platform},
        {"agent_version", e->agent_version},
        {"ip", e->ip},
        {"tags", tags ? tags : ""},
        {"activation_id", e->activation_id},
        {"public_key", req->name},
        {"controller", req->ctl->cid},
        {"ping_status", "Online"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        ctl_argv_add (&a, fields[i][0]);
        ctl_argv_add (&a, fields[i][1]);
    }
    ctl_argv_add (&a, "registered_ms");
    ctl_argv_addf (&a, "%llu", (unsigned long long)now);
    ctl_argv_add (&a, "last_seen_ms");
    ctl_argv_addf (&a, "%llu", (unsigned long long)now);
    ctl_req_queued (req_p, ctl_argv_send (&a, req->ctl->redis, s_on_enroll_written, req));
}

static bool s_code_matches (const ctl_t *ctl, const char *code, const char *stored_hex)
{
    uint8_t mac[PH_SHA256_LEN];
    char hex[2 * PH_SHA256_LEN + 1];
    ph_hmac_sha256 (ctl->secret, ctl->secret_len, code, strlen (code), mac);
    ph_hex (mac, sizeof mac, hex);
    return stored_hex && strlen (stored_hex) == 2 * PH_SHA256_LEN &&
           ph_ct_equal (hex, stored_hex, 2 * PH_SHA256_LEN);
}

static void s_on_activation (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    Porthole__V1__Enroll *e = req->env->enroll;
    const char *id = e->activation_id;
    if (ph_reply_count (reply) == 0) {
        s_enroll_refuse (&req,
                         "porthole: activation %s does not exist or has expired; ask an admin "
                         "for a new one (porthole create-activation)",
                         id);
        return;
    }
    if (!s_code_matches (req->ctl, e->activation_code, ph_reply_field (reply, "code_hmac"))) {
        s_enroll_refuse (&req,
                         "porthole: the activation code does not match activation %s; copy "
                         "both from porthole create-activation (codes are case-sensitive)",
                         id);
        return;
    }
    const char *expires = ph_reply_field (reply, "expires_ms");
    if (!expires || strtoull (expires, NULL, 10) <= ph_now_ms ()) {
        char when[32];
        ph_format_time (expires ? strtoull (expires, NULL, 10) : 0, when, sizeof when);
        s_enroll_refuse (&req,
                         "porthole: activation %s expired at %s; ask an admin for a new one "
                         "(porthole create-activation)",
                         id, when);
        return;
    }
    const char *limit = ph_reply_field (reply, "limit");
    const char *count = ph_reply_field (reply, "count");
    if (strtoll (count ? count : "0", NULL, 10) >= strtoll (limit ? limit : "0", NULL, 10)) {
        s_enroll_refuse (&req,
                         "porthole: activation %s has reached its registration limit (%s); ask an "
                         "admin for a new one (porthole create-activation)",
                         id, limit ? limit : "0");
        return;
    }
    s_enroll_write (&req, reply);
}

void ctl_registry_on_enroll (ctl_t *ctl, ctl_msg_t *msg)
{
    ctl_req_t *req = ctl_req_new (ctl, msg);
    Porthole__V1__Enroll *e = req->env->enroll;
    req->audit = true;
    snprintf (req->action, sizeof req->action, "activation:Enroll");
    snprintf (req->resource, sizeof req->resource, "activation/%.64s", e->activation_id);
    if (s_enroll_throttled (ctl, req->addr)) {
        ph_warn ("audit: enrollment from %s throttled", req->addr);
        req->denied = true;
        ctl_req_fail (&req, CTL_E_THROTTLED,
                      "porthole: too many failed enrollments from %s; wait a minute, then check "
                      "the activation id and code",
                      req->addr);
        return;
    }
    if (!s_host_facts_valid (&req, e->hostname, e->platform, e->agent_version, e->ip))
        return;
    if (!s_activation_id_valid (e->activation_id) ||
        strlen (e->activation_code) > CTL_ACT_CODE_MAX) {
        s_enroll_refuse (&req,
                         "porthole: activation id '%.40s' or its code is malformed; copy both "
                         "from porthole create-activation",
                         e->activation_id);
        return;
    }
    int rc = ph_redis_cmd (ctl->redis, s_on_activation, req, "HGETALL ph:activation:{%s}",
                           e->activation_id);
    ctl_req_queued (&req, rc);
}

/* ---- Hello ------------------------------------------------------------- */

void ctl_registry_hello_reply (ctl_req_t **req_p, Porthole__V1__LogshipperInfo **logshippers,
                               size_t n_logshippers, Porthole__V1__SessionLogPrefs *log_prefs)
{
    ctl_req_t *req = *req_p;
    ctl_t *ctl = req->ctl;
    ctl_instance_t *inst = zhashx_lookup (ctl->instances, req->name);
    if (!inst) {
        inst = calloc (1, sizeof *inst);
        assert (inst);
        snprintf (inst->id, sizeof inst->id, "%.20s", req->name);
        zhashx_insert (ctl->instances, req->name, inst);
    }
    memcpy (inst->rid, req->rid, req->rid_len);
    inst->rid_len = req->rid_len;
    inst->last_heartbeat_mono = ph_mono_ms ();
    inst->last_seen_ms = ph_now_ms ();
    inst->dirty = false;
    Porthole__V1__HelloReply body = PORTHOLE__V1__HELLO_REPLY__INIT;
    body.instance_id = req->name;
    body.heartbeat_interval_ms = ctl->opt.heartbeat_ms;
    body.logshippers = logshippers;
    body.n_logshippers = n_logshippers;
    body.log_prefs = log_prefs;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY;
    env.hello_reply = &body;
    ctl_req_reply (req_p, &env);
}

/*  Sessions the agent still runs and a client is attached to here: the
 *  agent is back, so they are Connected again. */
static void s_hello_reconnect_sessions (ctl_t *ctl, const Porthole__V1__Hello *h, const char *iid)
{
    for (size_t i = 0; i < h->n_session_ids; i++) {
        ctl_route_t *route = ctl_route_find (ctl, h->session_ids[i]);
        if (route && route->has_client && !route->ended_mono &&
            strcmp (route->instance_id, iid) == 0)
            ctl_store_set_state (ctl, route->sid, iid, "Connected", "Disconnected", NULL, NULL);
    }
}

static void s_on_hello_stored (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    if (ph_reply_is_int (reply)) {
        ph_warn ("instance %s said Hello but is not registered; refused", req->name);
        ctl_req_fail (&req, CTL_E_ACCESS_DENIED,
                      "porthole: instance %s is no longer registered with this cluster; register "
                      "this machine again (porthole-agent register)",
                      req->name);
        return;
    }
    for (size_t i = 0; i < ph_reply_count (reply); i++) {
        const char *sid = ph_reply_str (ph_reply_at (reply, i));
        ph_info ("session %s: ended (agent %s restarted without it)", sid, req->name);
        ctl_route_end (req->ctl, sid, "agent restarted");
    }
    s_hello_reconnect_sessions (req->ctl, req->env->hello, req->name);
    ph_info ("instance %s: Hello from %s (%s, agent %s)", req->name, req->addr,
             req->env->hello->hostname, req->env->hello->agent_version);
    ctl_transcript_hello (req); /* logshippers and log preferences, then the reply */
}

/*  The mark of a Hello in Redis (req->data): taken off ctl->hellos
 *  whichever way the request ends. */
typedef struct {
    ctl_t *ctl;
    char iid[CTL_IID_MAX];
} s_hello_mark_t;

static void s_hello_unmark (void *data)
{
    s_hello_mark_t *mark = data;
    zhashx_delete (mark->ctl->hellos, mark->iid);
    free (mark);
}

/*  True when msg repeats the Hello of an instance whose first is still in
 *  Redis (the agent retried, or reconnected): that one will answer, to the
 *  routing id and request id of this one, rather than a second script run
 *  that a busy Redis (10,000 agents after a restart) would pay for again. */
static bool s_hello_repeated (ctl_t *ctl, ctl_msg_t *msg)
{
    ctl_req_t *first = zhashx_lookup (ctl->hellos, msg->name);
    if (!first)
        return false;
    memcpy (first->rid, msg->rx->routing_id, msg->rx->routing_id_len);
    first->rid_len = msg->rx->routing_id_len;
    first->request_id = msg->env->request_id;
    ph_debug ("instance %s: Hello again while its first is being stored; one answer", msg->name);
    return true;
}

void ctl_registry_on_hello (ctl_t *ctl, ctl_msg_t *msg)
{
    if (s_hello_repeated (ctl, msg))
        return;
    ctl_req_t *req = ctl_req_new (ctl, msg);
    Porthole__V1__Hello *h = req->env->hello;
    if (!s_host_facts_valid (&req, h->hostname, h->platform, h->agent_version, h->ip))
        return;
    s_hello_mark_t *mark = calloc (1, sizeof *mark);
    assert (mark);
    mark->ctl = ctl;
    snprintf (mark->iid, sizeof mark->iid, "%.*s", CTL_IID_MAX - 1, req->name);
    zhashx_insert (ctl->hellos, mark->iid, req);
    req->data = mark;
    req->data_free = s_hello_unmark;
    char now[24];
    snprintf (now, sizeof now, "%llu", (unsigned long long)ph_now_ms ());
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_hello_lua);
    ctl_argv_add (&a, "4");
    ctl_argv_addf (&a, "ph:instance:{%s}", req->name);
    ctl_argv_add (&a, "ph:sessions:active");
    ctl_argv_add (&a, "ph:sessions:history");
    ctl_argv_addf (&a, "ph:instance:{%s}:sessions", req->name);
    ctl_argv_add (&a, req->name);
    ctl_argv_add (&a, now);
    ctl_argv_addf (&a, "%d", CTL_HISTORY_KEEP_S);
    ctl_argv_addf (&a, "%zu", h->n_session_ids);
    for (size_t i = 0; i < h->n_session_ids; i++)
        ctl_argv_add (&a, h->session_ids[i]);
    const char *fields[][2] = {
        {"hostname", h->hostname},
        {"platform", h->platform},
        {"agent_version", h->agent_version},
        {"ip", h->ip},
        {"controller", ctl->cid},
        {"last_seen_ms", now},
        {"ping_status", "Online"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        ctl_argv_add (&a, fields[i][0]);
        ctl_argv_add (&a, fields[i][1]);
    }
    ctl_req_queued (&req, ctl_argv_send (&a, ctl->redis, s_on_hello_stored, req));
}

/* ---- Heartbeat and housekeeping ----------------------------------------- */

void ctl_registry_on_heartbeat (ctl_t *ctl, ctl_msg_t *msg)
{
    ctl_instance_t *inst = ctl_registry_instance (ctl, msg->name);
    assert (inst); /* the dispatch table requires Hello */
    inst->last_heartbeat_mono = ph_mono_ms ();
    inst->last_seen_ms = ph_now_ms ();
    inst->dirty = true;
}

static void s_instance_lost (ctl_t *ctl, ctl_instance_t *inst, uint64_t silent_ms)
{
    char ago[16];
    ctl_format_ago (silent_ms, ago, sizeof ago);
    ph_warn ("instance %s: ConnectionLost (no heartbeat for %s)", inst->id, ago);
    ph_redis_cmd (ctl->redis, ctl_log_reply, (void *)"mark instance lost",
                  "EVAL %s 1 ph:instance:{%s} %s", s_lost_lua, inst->id, ctl->cid);
    ctl_relay_instance_lost (ctl, inst->id);
}

/*  Forgets enrollment failure counters whose window has passed. */
static void s_purge_enroll_fails (ctl_t *ctl, uint64_t now)
{
    zlistx_t *addrs = zhashx_keys (ctl->enroll_fails);
    for (const char *addr = zlistx_first (addrs); addr; addr = zlistx_next (addrs)) {
        s_fail_count_t *f = zhashx_lookup (ctl->enroll_fails, addr);
        if (now - f->window_start > CTL_ENROLL_FAIL_WINDOW)
            zhashx_delete (ctl->enroll_fails, addr);
    }
    zlistx_destroy (&addrs);
}

void ctl_registry_tick (ctl_t *ctl)
{
    uint64_t now = ph_mono_ms ();
    if (ctl->hk_ticks % CTL_MAINTENANCE_TICKS == 0)
        s_purge_enroll_fails (ctl, now);
    uint64_t limit = (uint64_t)CTL_LOST_INTERVALS * ctl->opt.heartbeat_ms;
    zlistx_t *ids = zhashx_keys (ctl->instances);
    for (const char *id = zlistx_first (ids); id; id = zlistx_next (ids)) {
        ctl_instance_t *inst = zhashx_lookup (ctl->instances, id);
        if (now - inst->last_heartbeat_mono > limit) {
            s_instance_lost (ctl, inst, now - inst->last_heartbeat_mono);
            zhashx_delete (ctl->instances, id);
            continue;
        }
        if (inst->dirty && ph_redis_cmd (ctl->redis, ctl_log_reply, (void *)"flush last_seen_ms",
                                         "HSET ph:instance:{%s} last_seen_ms %llu", inst->id,
                                         (unsigned long long)inst->last_seen_ms) == 0)
            inst->dirty = false;
    }
    zlistx_destroy (&ids);
}
