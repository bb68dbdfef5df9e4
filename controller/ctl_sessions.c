/*  ctl_sessions: StartSession, ResumeSession and TerminateSession.
 *
 *  Start and resume answer with where the data flows (stream_url and
 *  server_key of the controller that holds the agent's connection, read
 *  from ph:instance:{ID}.controller -> ph:controller:{CID}) and a token
 *  (ph_token_make, 60 s, single use at Attach). One Lua script ("locate")
 *  reads the session, its instance, the preferences and that controller in
 *  one round trip. StartSession is authorised after that read, with the
 *  target's tags (instance:ResourceTag/KEY conditions).
 *
 *  Run-as (preferences run_as_enabled): the user's tag RunAs=unixname
 *  names the OS account (the agent must find it: create_user false);
 *  without the tag, run_as_default_user if set, else porthole-user, which
 *  the agent creates. Never root: RunAs=root is refused here as well as at
 *  CreateUser/TagUser.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_REASON_MAX 256

/*  ARGV: session id or '', instance id or '' (taken from the session when
 *  empty). Returns {session, instance, prefs, controller}, each an HGETALL
 *  array (empty when missing). */
static const char s_locate_lua[] =
    "local function map(h)\n"
    "  local m = {}\n"
    "  for i = 1, #h, 2 do m[h[i]] = h[i + 1] end\n"
    "  return m\n"
    "end\n"
    "local sess, iid = {}, ARGV[2]\n"
    "if ARGV[1] ~= '' then\n"
    "  sess = redis.call('HGETALL', 'ph:session:{' .. ARGV[1] .. '}')\n"
    "  iid = map(sess).target or ''\n"
    "end\n"
    "local inst, ctl = {}, {}\n"
    "if iid ~= '' then inst = redis.call('HGETALL', 'ph:instance:{' .. iid .. '}') end\n"
    "local cid = map(inst).controller\n"
    "if cid then ctl = redis.call('HGETALL', 'ph:controller:{' .. cid .. '}') end\n"
    "return {sess, inst, redis.call('HGETALL', 'ph:prefs'), ctl}\n";

/*  KEYS: session, ph:sessions:active, ph:instance:{TARGET}:sessions (the
 *  index that Hello reads); ARGV: session id, field/value pairs. */
static const char s_create_lua[] = "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
                                   "redis.call('SADD', KEYS[2], ARGV[1])\n"
                                   "redis.call('SADD', KEYS[3], ARGV[1])\n"
                                   "return 1\n";

bool ctl_session_id_valid (const char *sid)
{
    size_t n = sid ? strlen (sid) : 0;
    if (n < 19 || n >= CTL_SID_MAX || sid[n - 18] != '-')
        return false;
    for (size_t i = n - 17; i < n; i++)
        if (!strchr ("0123456789abcdef", sid[i]))
            return false;
    char user[CTL_SID_MAX];
    snprintf (user, sizeof user, "%.*s", (int)(n - 18), sid);
    return ph_name_valid (user);
}

static bool s_ended (const char *state)
{
    return strcmp (state, "Terminated") == 0 || strcmp (state, "Failed") == 0;
}

static int s_locate (ctl_req_t *req, const char *sid, const char *iid, ph_redis_fn *fn)
{
    return ph_redis_cmd (req->ctl->redis, fn, req, "EVAL %s 0 %s %s", s_locate_lua, sid, iid);
}

/*  Answers StartSessionReply for req->sid: data at url (CURVE key key),
 *  with a fresh token for the caller. */
static void s_reply_start (ctl_req_t **req_p, const char *url, const char *key)
{
    ctl_req_t *req = *req_p;
    char token[PH_TOKEN_MAX];
    ph_token_make (req->ctl->secret, req->ctl->secret_len, req->sid, req->name,
                   ph_now_ms () + PH_TOKEN_TTL_MS, token);
    Porthole__V1__StartSessionReply body = PORTHOLE__V1__START_SESSION_REPLY__INIT;
    body.session_id = req->sid;
    body.stream_url = (char *)url;
    body.server_key = (char *)key;
    body.token = token;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY;
    env.start_session_reply = &body;
    ctl_req_reply (req_p, &env);
}

/*  The client endpoint and key of the controller whose HGETALL is
 *  ctl_hash. When that controller is gone, the agent will come back to a
 *  live one (with a single controller: this one), so this one's. */
static void s_stream_endpoint (const ctl_t *ctl, const ph_reply_t *ctl_hash, const char **url,
                               const char **key)
{
    *url = ph_reply_field (ctl_hash, "client_endpoint");
    *key = ph_reply_field (ctl_hash, "server_key");
    if (!*url || !*key) {
        *url = ctl->opt.advertise_client;
        *key = ctl->keys.public_z85;
    }
}

/* ---- StartSession ------------------------------------------------------ */

typedef struct {
    char document[16];
    char run_as[CTL_NAME_MAX];
    bool create_user;
    char controller[CTL_CID_MAX];
    char url[CTL_ENDPOINT_MAX];
    char key[PH_Z85_KEY_LEN + 1];
} s_start_t;

static void s_on_session_created (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    s_start_t *st = req->data;
    const Porthole__V1__StartSessionRequest *r = req->env->start_session;
    ph_info ("audit: user %s started session %s on %s as %s (%s)", req->name, req->sid, r->target,
             st->run_as, st->document);
    s_reply_start (&req, st->url, st->key);
}

/*  Who the shell runs as (see the top of the file). Returns false with
 *  the request answered when the user's RunAs tag is unusable. */
static bool s_pick_run_as (ctl_req_t **req_p, const ph_reply_t *prefs_hash, s_start_t *st)
{
    Porthole__V1__Preferences p = PORTHOLE__V1__PREFERENCES__INIT;
    ctl_prefs_from_reply (prefs_hash, &p);
    const char *tag = ctl_principal_tag ((*req_p)->principal, "RunAs");
    st->create_user = false;
    if (p.run_as_enabled && tag) {
        if (!ctl_unix_name_valid (tag)) {
            ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                          "porthole: your RunAs tag '%.64s' is not a unix account name other "
                          "than root; ask an admin to fix it (porthole iam tag-user --user %s "
                          "--tags RunAs=NAME)",
                          tag, (*req_p)->name);
            return false;
        }
        snprintf (st->run_as, sizeof st->run_as, "%s", tag);
    } else if (p.run_as_enabled && ctl_unix_name_valid (p.run_as_default_user))
        snprintf (st->run_as, sizeof st->run_as, "%s", p.run_as_default_user);
    else {
        snprintf (st->run_as, sizeof st->run_as, "%s", CTL_DEFAULT_RUN_AS);
        st->create_user = true;
    }
    return true;
}

static void s_create_session (ctl_req_t **req_p, const ph_reply_t *inst, const ph_reply_t *prefs,
                              const ph_reply_t *ctl_hash)
{
    ctl_req_t *req = *req_p;
    ctl_t *ctl = req->ctl;
    s_start_t *st = req->data;
    const Porthole__V1__StartSessionRequest *r = req->env->start_session;
    const char *url, *key;
    const char *cid = ph_reply_field (inst, "controller");
    s_stream_endpoint (ctl, ctl_hash, &url, &key);
    snprintf (st->url, sizeof st->url, "%s", url);
    snprintf (st->key, sizeof st->key, "%s", key);
    snprintf (st->controller, sizeof st->controller, "%s", cid ? cid : ctl->cid);
    if (!s_pick_run_as (req_p, prefs, st))
        return;
    uint8_t raw[9];
    char hex[19];
    ph_random_bytes (raw, sizeof raw);
    ph_hex (raw, sizeof raw, hex);
    snprintf (req->sid, sizeof req->sid, "%.64s-%.17s", req->name, hex);
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_create_lua);
    ctl_argv_add (&a, "3");
    ctl_argv_addf (&a, "ph:session:{%s}", req->sid);
    ctl_argv_add (&a, "ph:sessions:active");
    ctl_argv_addf (&a, "ph:instance:{%s}:sessions", r->target);
    ctl_argv_add (&a, req->sid);
    const char *fields[][2] = {
        {"session_id", req->sid},       {"target", r->target},
        {"owner", req->name},           {"state", "Connecting"},
        {"reason", r->reason},          {"document", st->document},
        {"command", r->command},        {"run_as", st->run_as},
        {"controller", st->controller}, {"create_user", st->create_user ? "1" : "0"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        ctl_argv_add (&a, fields[i][0]);
        ctl_argv_add (&a, fields[i][1]);
    }
    ctl_argv_add (&a, "start_ms");
    ctl_argv_addf (&a, "%llu", (unsigned long long)ph_now_ms ());
    ctl_req_queued (req_p, ctl_argv_send (&a, ctl->redis, s_on_session_created, req));
}

static void s_on_start_located (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *target = req->env->start_session->target;
    const ph_reply_t *inst = ph_reply_at (reply, 1);
    ph_tag_t tags[PH_TAGS_MAX];
    ph_policy_kv_t kv[PH_TAGS_MAX];
    size_t ntags = ctl_tags_to_kv (ph_reply_field (inst, "tags"), tags, kv);
    if (!ctl_req_authorize_tags (&req, "session:StartSession", req->resource, NULL, kv, ntags))
        return;
    if (ph_reply_count (inst) == 0) {
        ctl_req_fail (&req, CTL_E_INVALID_TARGET,
                      "porthole: instance %s is not registered; list instances with porthole "
                      "describe-instance-information",
                      target);
        return;
    }
    const char *seen = ph_reply_field (inst, "last_seen_ms");
    uint64_t seen_ms = seen ? strtoull (seen, NULL, 10) : 0;
    const char *status = ctl_ping_status (req->ctl, ph_reply_field (inst, "ping_status"), seen_ms);
    if (strcmp (status, "Online") != 0) {
        char ago[16] = "never";
        uint64_t now = ph_now_ms ();
        if (seen_ms)
            ctl_format_ago (now > seen_ms ? now - seen_ms : 0, ago, sizeof ago);
        ctl_req_fail (&req, CTL_E_TARGET_NOT_CONNECTED,
                      "porthole: instance %s is %s (last seen %s%s); is porthole-agent running "
                      "there?",
                      target, status, ago, seen_ms ? " ago" : "");
        return;
    }
    s_create_session (&req, inst, ph_reply_at (reply, 2), ph_reply_at (reply, 3));
}

/*  Checks reason and document; picks the document name. */
static bool s_start_request_valid (ctl_req_t **req_p, s_start_t *st)
{
    const Porthole__V1__StartSessionRequest *r = (*req_p)->env->start_session;
    const char *doc = r->document ? r->document : "";
    bool has_command = r->command && *r->command;
    if (!ph_instance_id_valid (r->target)) {
        ctl_req_fail (req_p, CTL_E_INVALID_TARGET,
                      "porthole: '%.64s' is not an instance id (mi- and 17 hex digits); list "
                      "instances with porthole describe-instance-information",
                      r->target);
        return false;
    }
    if (r->reason && strlen (r->reason) > CTL_REASON_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: reason must be at most %d bytes",
                      CTL_REASON_MAX);
        return false;
    }
    if (*doc && strcmp (doc, "Shell") && strcmp (doc, "Command")) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: document '%.64s' is not supported; use Shell or Command", doc);
        return false;
    }
    if ((strcmp (doc, "Command") == 0 && !has_command) ||
        (strcmp (doc, "Shell") == 0 && has_command)) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: document %s %s a command", doc,
                      has_command ? "does not take" : "needs");
        return false;
    }
    snprintf (st->document, sizeof st->document, "%s", has_command ? "Command" : "Shell");
    return true;
}

void ctl_sessions_start (ctl_req_t *req)
{
    const Porthole__V1__StartSessionRequest *r = req->env->start_session;
    snprintf (req->resource, sizeof req->resource, "instance/%.40s", r->target);
    s_start_t *st = calloc (1, sizeof *st);
    assert (st);
    req->data = st;
    req->data_free = free;
    if (!s_start_request_valid (&req, st))
        return;
    ctl_req_queued (&req, s_locate (req, "", r->target, s_on_start_located));
}

/* ---- ResumeSession ------------------------------------------------------ */

/*  The session hash of a located reply, after the checks that resume and
 *  terminate share (exists, caller may act on it). NULL when answered. */
static const ph_reply_t *s_located_session (ctl_req_t **req_p, const ph_reply_t *reply,
                                            const char *action)
{
    ctl_req_t *req = *req_p;
    const ph_reply_t *sess = ph_reply_at (reply, 0);
    if (ph_reply_count (sess) == 0) {
        ctl_req_fail (req_p, CTL_E_SESSION_NOT_FOUND,
                      "porthole: session %s not found; list sessions with porthole "
                      "describe-sessions",
                      req->sid);
        return NULL;
    }
    char resource[CTL_SID_MAX + 16];
    snprintf (resource, sizeof resource, "session/%s", req->sid);
    if (!ctl_req_authorize (req_p, action, resource, ph_reply_field (sess, "owner")))
        return NULL;
    return sess;
}

static void s_on_resume_located (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const ph_reply_t *sess = s_located_session (&req, reply, "session:ResumeSession");
    if (!sess)
        return;
    const char *state = ph_reply_field (sess, "state");
    if (!state || s_ended (state) || strcmp (state, "Terminating") == 0) {
        ctl_req_fail (&req, CTL_E_INVALID_STATE,
                      "porthole: session %s is %s and cannot be resumed; start a new one with "
                      "porthole start-session",
                      req->sid, state ? state : "gone");
        return;
    }
    const char *url, *key;
    s_stream_endpoint (req->ctl, ph_reply_at (reply, 3), &url, &key);
    s_reply_start (&req, url, key);
}

static bool s_session_id_checked (ctl_req_t **req_p, const char *sid)
{
    if (ctl_session_id_valid (sid)) {
        snprintf ((*req_p)->sid, sizeof (*req_p)->sid, "%s", sid);
        return true;
    }
    ctl_req_fail (req_p, CTL_E_SESSION_NOT_FOUND,
                  "porthole: '%.96s' is not a session id; list sessions with porthole "
                  "describe-sessions",
                  sid);
    return false;
}

void ctl_sessions_resume (ctl_req_t *req)
{
    if (!s_session_id_checked (&req, req->env->resume_session->session_id))
        return;
    ctl_req_queued (&req, s_locate (req, req->sid, "", s_on_resume_located));
}

/* ---- TerminateSession --------------------------------------------------- */

static void s_terminate_reply (ctl_req_t **req_p)
{
    Porthole__V1__TerminateSessionReply body = PORTHOLE__V1__TERMINATE_SESSION_REPLY__INIT;
    body.session_id = (*req_p)->sid;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY;
    env.terminate_session_reply = &body;
    ctl_req_reply (req_p, &env);
}

static void s_on_terminated_now (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    ctl_route_end (req->ctl, req->sid, req->text);
    s_terminate_reply (&req);
}

/*  Asks the agent to close the session; it answers SessionEnded. */
bool ctl_sessions_close_on_agent (ctl_t *ctl, const char *sid, const char *target,
                                  const char *reason)
{
    Porthole__V1__CloseSession body = PORTHOLE__V1__CLOSE_SESSION__INIT;
    body.session_id = (char *)sid;
    body.reason = (char *)reason;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION;
    env.close_session = &body;
    if (ctl_send_to_agent (ctl, target, &env) != 0)
        return false;
    ctl_store_set_state (ctl, sid, target, "Terminating", "Connecting,Connected,Disconnected", NULL,
                         NULL);
    ctl_route_t *route = ctl_route_find (ctl, sid);
    if (route)
        ctl_route_fail_pending (route, CTL_E_SESSION_FAILED, reason);
    return true;
}

/*  Nobody can reach the agent: the session ends in Redis now. */
static void s_end_unreachable (ctl_req_t *req)
{
    int rc = ctl_store_end_session (req->ctl, req->sid, NULL, "Terminated", false, 0, req->text,
                                    s_on_terminated_now, req);
    ctl_req_queued (&req, rc);
}

/*  The close was published for the controller that holds the agent: done
 *  when one received it (it ends the session if the agent left it too). */
static void s_on_forwarded (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    if (ph_reply_int (reply) > 0) {
        ph_info ("session %s: CloseSession handed to the controller that holds its agent",
                 req->sid);
        s_terminate_reply (&req);
        return;
    }
    s_end_unreachable (req);
}

static void s_on_terminate_located (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const ph_reply_t *sess = s_located_session (&req, reply, "session:TerminateSession");
    if (!sess)
        return;
    const char *state = ph_reply_field (sess, "state");
    const char *target = ph_reply_field (sess, "target");
    if (!state || !target || s_ended (state)) {
        s_terminate_reply (&req);
        return;
    }
    snprintf (req->text, sizeof req->text, "terminated by %s", req->name);
    ph_info ("audit: user %s terminates session %s (%s)", req->name, req->sid, state);
    ctl_route_t *route = ctl_route_find (req->ctl, req->sid);
    bool opened = strcmp (state, "Connecting") != 0 || (route && route->pending_attach);
    if (opened && ctl_sessions_close_on_agent (req->ctl, req->sid, target, req->text)) {
        s_terminate_reply (&req);
        return;
    }
    if (opened) { /* its agent may be connected to another controller */
        ctl_req_queued (&req, ctl_actions_close_elsewhere (req->ctl, req->sid, target, req->text,
                                                           s_on_forwarded, req));
        return;
    }
    s_end_unreachable (req);
}

void ctl_sessions_terminate (ctl_req_t *req)
{
    if (!s_session_id_checked (&req, req->env->terminate_session->session_id))
        return;
    ctl_req_queued (&req, s_locate (req, req->sid, "", s_on_terminate_located));
}
