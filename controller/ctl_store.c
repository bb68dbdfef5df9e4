/*  ctl_store: the Redis writes on session records that several modules
 *  share, each one Lua script so that the check and the write are atomic
 *  (a session that ended meanwhile is never moved back to a live state),
 *  plus the controller's own record and the periodic maintenance.
 *
 *  Every script that takes a session out of ph:sessions:active also takes
 *  it out of its instance's index ph:instance:{ID}:sessions (the set of
 *  that instance's active sessions, which Hello reads instead of walking
 *  every active session: issue 6). Where the caller does not know the
 *  target, the script names the index from the session's stored target.
 *  ctl_store_on_connected builds the index for sessions that started
 *  before it existed.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

/*  KEYS: session; ARGV: target ('' = any), new state, states it may leave. */
static const char s_set_state_lua[] =
    "local s = redis.call('HMGET', KEYS[1], 'target', 'state')\n"
    "if not s[2] then return 'missing' end\n"
    "if ARGV[1] ~= '' and s[1] ~= ARGV[1] then return 'target' end\n"
    "for i = 3, #ARGV do\n"
    "  if s[2] == ARGV[i] then\n"
    "    redis.call('HSET', KEYS[1], 'state', ARGV[2])\n"
    "    return 'ok'\n"
    "  end\n"
    "end\n"
    "return s[2]\n";

/*  KEYS: session, ph:sessions:active, ph:sessions:history
 *  ARGV: target ('' = any), state, end ms, exit code ('' = none), reason,
 *  keep s, session id. */
static const char s_end_lua[] =
    "local s = redis.call('HMGET', KEYS[1], 'target', 'state')\n"
    "if not s[2] then return 'missing' end\n"
    "if ARGV[1] ~= '' and s[1] ~= ARGV[1] then return 'target' end\n"
    "if s[2] == 'Terminated' or s[2] == 'Failed' then return 'ended' end\n"
    "redis.call('HSET', KEYS[1], 'state', ARGV[2], 'end_ms', ARGV[3], 'end_reason', ARGV[5])\n"
    "if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'exit_code', ARGV[4]) end\n"
    "redis.call('SREM', KEYS[2], ARGV[7])\n"
    "if s[1] then redis.call('SREM', 'ph:instance:{' .. s[1] .. '}:sessions', ARGV[7]) end\n"
    "redis.call('ZADD', KEYS[3], ARGV[3], ARGV[7])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[6])\n"
    "return 'ok'\n";

/*  KEYS: ph:sessions:active, ph:sessions:history
 *  ARGV: now ms, history cutoff ms, connecting cutoff ms, keep s,
 *  terminating cutoff ms.
 *  Returns the ids of the sessions it failed. A session Terminating since
 *  before the terminating cutoff (its transcript never completed: the
 *  agent's spool was lost, or no logshipper has been up for that long)
 *  becomes Terminated with end_reason "transcript incomplete"; whatever of
 *  its transcript arrives later is still stored. */
static const char s_maintenance_lua[] =
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])\n"
    "local failed = {}\n"
    "local function retire(key, sid, target)\n"
    "  redis.call('SREM', KEYS[1], sid)\n"
    "  redis.call('SREM', 'ph:instance:{' .. target .. '}:sessions', sid)\n"
    "  redis.call('ZADD', KEYS[2], ARGV[1], sid)\n"
    "  redis.call('EXPIRE', key, ARGV[4])\n"
    "end\n"
    "for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local key = 'ph:session:{' .. sid .. '}'\n"
    "  local s = redis.call('HMGET', key, 'state', 'start_ms', 'target')\n"
    "  if not s[1] then\n"
    "    redis.call('SREM', KEYS[1], sid)\n"
    "  elseif s[1] == 'Connecting' and tonumber(s[2] or '0') < tonumber(ARGV[3]) then\n"
    "    redis.call('HSET', key, 'state', 'Failed', 'end_ms', ARGV[1],\n"
    "               'end_reason', 'never attached')\n"
    "    retire(key, sid, s[3] or '')\n"
    "    failed[#failed + 1] = sid\n"
    "  elseif s[1] == 'Terminating' and\n"
    "         tonumber(redis.call('HGET', key, 'end_ms') or '0') < tonumber(ARGV[5]) then\n"
    "    redis.call('HSET', key, 'state', 'Terminated', 'end_reason', 'transcript incomplete')\n"
    "    retire(key, sid, s[3] or '')\n"
    "  end\n"
    "end\n"
    "return failed\n";

/*  KEYS: ph:sessions:active. Adds every active session to the index of
 *  its target (ph:instance:{ID}:sessions); returns how many were missing.
 *  One pass over the active sessions per Redis connection (1,000 sessions:
 *  about a millisecond of Redis), where Hello used to make one per Hello. */
static const char s_index_lua[] =
    "local added = 0\n"
    "for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local t = redis.call('HGET', 'ph:session:{' .. sid .. '}', 'target')\n"
    "  if t then\n"
    "    added = added + redis.call('SADD', 'ph:instance:{' .. t .. '}:sessions', sid)\n"
    "  end\n"
    "end\n"
    "return added\n";

int ctl_store_set_state (ctl_t *ctl, const char *sid, const char *target, const char *state,
                         const char *from, ph_redis_fn *fn, void *arg)
{
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_set_state_lua);
    ctl_argv_add (&a, "1");
    ctl_argv_addf (&a, "ph:session:{%s}", sid);
    ctl_argv_add (&a, target ? target : "");
    ctl_argv_add (&a, state);
    char list[128];
    snprintf (list, sizeof list, "%s", from);
    char *save = NULL;
    for (char *s = strtok_r (list, ",", &save); s; s = strtok_r (NULL, ",", &save))
        ctl_argv_add (&a, s);
    if (!fn) {
        fn = ctl_log_reply;
        arg = (void *)"session state";
    }
    return ctl_argv_send (&a, ctl->redis, fn, arg);
}

int ctl_store_end_session (ctl_t *ctl, const char *sid, const char *target, const char *state,
                           bool has_exit, int exit_code, const char *reason, ph_redis_fn *fn,
                           void *arg)
{
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_end_lua);
    ctl_argv_add (&a, "3");
    ctl_argv_addf (&a, "ph:session:{%s}", sid);
    ctl_argv_add (&a, "ph:sessions:active");
    ctl_argv_add (&a, "ph:sessions:history");
    ctl_argv_add (&a, target ? target : "");
    ctl_argv_add (&a, state);
    ctl_argv_addf (&a, "%llu", (unsigned long long)ph_now_ms ());
    if (has_exit)
        ctl_argv_addf (&a, "%d", exit_code);
    else
        ctl_argv_add (&a, "");
    ctl_argv_add (&a, reason ? reason : "");
    ctl_argv_addf (&a, "%d", CTL_HISTORY_KEEP_S);
    ctl_argv_add (&a, sid);
    if (!fn) {
        fn = ctl_log_reply;
        arg = (void *)"end session";
    }
    return ctl_argv_send (&a, ctl->redis, fn, arg);
}

void ctl_store_refresh_controller (ctl_t *ctl)
{
    ph_redis_cmd (ctl->redis, ctl_log_reply, (void *)"controller record",
                  "HSET ph:controller:{%s} client_endpoint %s agent_endpoint %s server_key %s "
                  "started_ms %llu",
                  ctl->cid, ctl->opt.advertise_client, ctl->opt.advertise_agent,
                  ctl->keys.public_z85, (unsigned long long)ctl->started_ms);
    ph_redis_cmd (ctl->redis, ctl_log_reply, (void *)"controller expiry",
                  "EXPIRE ph:controller:{%s} %d", ctl->cid, CTL_CONTROLLER_TTL_S);
}

static void s_on_maintenance (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_t *ctl = arg;
    if (!ph_reply_ok (reply)) {
        ctl_log_reply (redis, reply, (void *)"maintenance");
        return;
    }
    for (size_t i = 0; i < ph_reply_count (reply); i++) {
        const char *sid = ph_reply_str (ph_reply_at (reply, i));
        ph_info ("session %s: Failed (never attached)", sid);
        ctl_route_end (ctl, sid, "the session was never attached");
    }
}

void ctl_store_maintenance (ctl_t *ctl)
{
    uint64_t now = ph_now_ms ();
    ph_redis_cmd (ctl->redis, s_on_maintenance, ctl,
                  "EVAL %s 2 ph:sessions:active ph:sessions:history %llu %llu %llu %d %llu",
                  s_maintenance_lua, (unsigned long long)now,
                  (unsigned long long)(now - (uint64_t)CTL_HISTORY_KEEP_S * 1000),
                  (unsigned long long)(now - CTL_CONNECTING_MAX_MS), CTL_HISTORY_KEEP_S,
                  (unsigned long long)(now - CTL_TERMINATING_MAX_MS));
}

static void s_on_indexed (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)arg;
    if (!ph_reply_ok (reply) || !ph_reply_is_int (reply)) {
        ctl_log_reply (redis, reply, (void *)"index of sessions by instance");
        return;
    }
    if (ph_reply_int (reply) > 0)
        ph_info ("indexed %lld active sessions by instance (they started before "
                 "ph:instance:{ID}:sessions existed)",
                 ph_reply_int (reply));
}

void ctl_store_on_connected (ctl_t *ctl)
{
    ph_redis_cmd (ctl->redis, s_on_indexed, ctl, "EVAL %s 1 ph:sessions:active", s_index_lua);
}
