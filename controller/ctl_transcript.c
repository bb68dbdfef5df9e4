/*  ctl_transcript: the controller's side of session transcripts
 *  (docs/architecture.md "Session logs").
 *
 *  - HelloReply carries the live logshippers (ph:logshippers and their
 *    expiring ph:logshipper:{LID} records) and the log preferences of the
 *    cluster (ph:prefs: log_group, streaming_enabled, encryption_enabled,
 *    log_input), read in one Lua script after the Hello was stored.
 *  - SessionEnded (not failed) moves a session to Terminating and stores
 *    its end (end_ms, exit code, reason): the agent still ships the rest of
 *    the transcript. TranscriptComplete from the session's instance then
 *    makes it Terminated. With no logshipper registered at all, nothing
 *    will be shipped, so SessionEnded makes it Terminated at once.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

/*  No KEYS (ph:logshippers names the records). Returns {{endpoint, key,
 *  ...}, {log_group, streaming, encryption, log_input}}; records that
 *  expired are dropped from the set. */
static const char s_hello_info_lua[] =
    "local out = {}\n"
    "for _, lid in ipairs(redis.call('SMEMBERS', 'ph:logshippers')) do\n"
    "  local h = redis.call('HMGET', 'ph:logshipper:{' .. lid .. '}', 'endpoint', 'server_key')\n"
    "  if h[1] and h[2] then\n"
    "    out[#out + 1] = h[1]\n"
    "    out[#out + 1] = h[2]\n"
    "  else\n"
    "    redis.call('SREM', 'ph:logshippers', lid)\n"
    "  end\n"
    "end\n"
    "local p = redis.call('HMGET', 'ph:prefs', 'log_group', 'streaming_enabled',\n"
    "                     'encryption_enabled', 'log_input')\n"
    "return {out, {p[1] or '', p[2] or '', p[3] or '', p[4] or ''}}\n";

/*  KEYS: session, ph:sessions:active, ph:sessions:history,
 *  ph:instance:{TARGET}:sessions
 *  ARGV: target, end ms, exit code ('' = none), reason, keep s, sid.
 *  Returns 'terminating', 'terminated' (no logshipper, or the transcript
 *  was complete already), 'missing', 'target' or 'ended'. */
static const char s_ended_lua[] =
    "local s = redis.call('HMGET', KEYS[1], 'target', 'state', 'transcript_complete')\n"
    "if not s[2] then return 'missing' end\n"
    "if s[1] ~= ARGV[1] then return 'target' end\n"
    "if s[2] == 'Terminated' or s[2] == 'Failed' then return 'ended' end\n"
    "redis.call('HSET', KEYS[1], 'end_ms', ARGV[2], 'end_reason', ARGV[4])\n"
    "if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'exit_code', ARGV[3]) end\n"
    "if s[3] ~= '1' and redis.call('SCARD', 'ph:logshippers') > 0 then\n"
    "  redis.call('HSET', KEYS[1], 'state', 'Terminating', 'transcript_pending', '1')\n"
    "  return 'terminating'\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'state', 'Terminated')\n"
    "redis.call('SREM', KEYS[2], ARGV[6])\n"
    "redis.call('SREM', KEYS[4], ARGV[6])\n"
    "redis.call('ZADD', KEYS[3], ARGV[2], ARGV[6])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
    "return 'terminated'\n";

/*  KEYS: session, ph:sessions:active, ph:sessions:history,
 *  ph:instance:{TARGET}:sessions
 *  ARGV: target, keep s, sid. Returns 'terminated', 'early' (SessionEnded
 *  not seen yet: remembered), 'missing', 'target' or the state. */
static const char s_complete_lua[] =
    "local s = redis.call('HMGET', KEYS[1], 'target', 'state', 'end_ms', 'transcript_pending')\n"
    "if not s[2] then return 'missing' end\n"
    "if s[1] ~= ARGV[1] then return 'target' end\n"
    "if s[2] == 'Terminating' and s[4] == '1' then\n"
    "  redis.call('HSET', KEYS[1], 'state', 'Terminated', 'transcript_pending', '0')\n"
    "  redis.call('SREM', KEYS[2], ARGV[3])\n"
    "  redis.call('SREM', KEYS[4], ARGV[3])\n"
    "  redis.call('ZADD', KEYS[3], s[3], ARGV[3])\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "  return 'terminated'\n"
    "end\n"
    "if s[2] ~= 'Terminated' and s[2] ~= 'Failed' then\n"
    "  redis.call('HSET', KEYS[1], 'transcript_complete', '1')\n"
    "  return 'early'\n"
    "end\n"
    "return s[2]\n";

/* ---- HelloReply ---------------------------------------------------------- */

static bool s_flag (const char *text, bool dflt)
{
    bool v = dflt;
    if (text && *text && ph_parse_bool (text, &v) != 0)
        v = dflt;
    return v;
}

static void s_on_hello_info (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const ph_reply_t *ships = ph_reply_at (reply, 0);
    const ph_reply_t *prefs = ph_reply_at (reply, 1);
    size_t n = ph_reply_count (ships) / 2;
    Porthole__V1__LogshipperInfo *infos = calloc (n + 1, sizeof *infos);
    Porthole__V1__LogshipperInfo **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (infos && ptrs);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__LogshipperInfo init = PORTHOLE__V1__LOGSHIPPER_INFO__INIT;
        infos[i] = init;
        infos[i].endpoint = (char *)ph_reply_str (ph_reply_at (ships, 2 * i));
        infos[i].server_key = (char *)ph_reply_str (ph_reply_at (ships, 2 * i + 1));
        ptrs[i] = &infos[i];
    }
    Porthole__V1__SessionLogPrefs lp = PORTHOLE__V1__SESSION_LOG_PREFS__INIT;
    const char *group = ph_reply_str (ph_reply_at (prefs, 0));
    lp.log_group = (char *)(group && *group ? group : CTL_LOG_GROUP_DEFAULT);
    lp.streaming_enabled = s_flag (ph_reply_str (ph_reply_at (prefs, 1)), true);
    lp.encryption_enabled = s_flag (ph_reply_str (ph_reply_at (prefs, 2)), false);
    lp.log_input = s_flag (ph_reply_str (ph_reply_at (prefs, 3)), false);
    ctl_registry_hello_reply (&req, ptrs, n, &lp);
    free (ptrs);
    free (infos);
}

void ctl_transcript_hello (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_hello_info, req, "EVAL %s 0", s_hello_info_lua);
    ctl_req_queued (&req, rc);
}

/* ---- SessionEnded, TranscriptComplete ------------------------------------- */

static void s_on_ended (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    char *sid = arg;
    const char *what = ph_reply_str (reply);
    if (!ph_reply_ok (reply) || !what)
        ctl_log_reply (redis, reply, (void *)"session ended");
    else if (strcmp (what, "terminating") == 0)
        ph_info ("session %s: Terminating (waiting for the transcript to be shipped)", sid);
    else if (strcmp (what, "terminated") == 0)
        ph_info ("session %s: Terminated", sid);
    else
        ph_debug ("session %s: SessionEnded ignored (%s)", sid, what);
    free (sid);
}

int ctl_transcript_session_ended (ctl_t *ctl, const char *sid, const char *target, bool has_exit,
                                  int exit_code, const char *reason)
{
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_ended_lua);
    ctl_argv_add (&a, "4");
    ctl_argv_addf (&a, "ph:session:{%s}", sid);
    ctl_argv_add (&a, "ph:sessions:active");
    ctl_argv_add (&a, "ph:sessions:history");
    ctl_argv_addf (&a, "ph:instance:{%s}:sessions", target);
    ctl_argv_add (&a, target);
    ctl_argv_addf (&a, "%llu", (unsigned long long)ph_now_ms ());
    if (has_exit)
        ctl_argv_addf (&a, "%d", exit_code);
    else
        ctl_argv_add (&a, "");
    ctl_argv_add (&a, reason ? reason : "");
    ctl_argv_addf (&a, "%d", CTL_HISTORY_KEEP_S);
    ctl_argv_add (&a, sid);
    char *copy = strdup (sid);
    assert (copy);
    int rc = ctl_argv_send (&a, ctl->redis, s_on_ended, copy);
    if (rc)
        free (copy);
    return rc;
}

static void s_on_complete (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    char *sid = arg;
    const char *what = ph_reply_str (reply);
    if (!ph_reply_ok (reply) || !what)
        ctl_log_reply (redis, reply, (void *)"transcript complete");
    else if (strcmp (what, "terminated") == 0)
        ph_info ("session %s: Terminated (transcript complete)", sid);
    else
        ph_debug ("session %s: TranscriptComplete: %s", sid, what);
    free (sid);
}

void ctl_transcript_on_complete (ctl_t *ctl, ctl_msg_t *msg)
{
    const char *sid = msg->env->transcript_complete->session_id;
    if (!ctl_session_id_valid (sid)) {
        ph_warn ("instance %s: TranscriptComplete for a malformed session id; dropped", msg->name);
        return;
    }
    char *copy = strdup (sid);
    assert (copy);
    int rc = ph_redis_cmd (ctl->redis, s_on_complete, copy,
                           "EVAL %s 4 ph:session:{%s} ph:sessions:active ph:sessions:history "
                           "ph:instance:{%s}:sessions %s %d %s",
                           s_complete_lua, sid, msg->name, msg->name, CTL_HISTORY_KEEP_S, sid);
    if (rc) {
        ph_warn ("session %s: TranscriptComplete not stored (Redis down); the agent re-sends it",
                 sid);
        free (copy);
    }
}
