/*  ctl_attach: a client opens the data stream of a session (Attach), the
 *  agent confirms (SessionOpened) or reports the end (SessionEnded).
 *
 *  Attach checks the token (HMAC, expiry, user) in C, then one Lua script
 *  spends it (SET ph:token:used:{MAC} NX EX 120) and, only if it was
 *  unspent, returns the session and the preferences. A Connecting session
 *  gets its OpenSession now and the Attach waits (at most 10 s, see
 *  ctl_relay_tick) for SessionOpened; a live one is answered at once.
 *  Attach (token use) and SessionEnded are audit events.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_DEFAULT_COLS 80
#define CTL_DEFAULT_ROWS 24

/*  KEYS: token key, session; ARGV: token ttl s.
 *  Returns 'used' or {session, prefs}. */
static const char s_attach_lua[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 'used' end\n"
    "return {redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', 'ph:prefs')}\n";

static void s_fail_token (ctl_req_t **req_p, const char *sid)
{
    (*req_p)->denied = true;
    ctl_req_fail (req_p, CTL_E_INVALID_TOKEN,
                  "porthole: token expired or already used; run porthole resume-session "
                  "--session-id %.96s",
                  sid);
}

static void s_attach_reply (ctl_req_t **req_p)
{
    Porthole__V1__AttachReply body = PORTHOLE__V1__ATTACH_REPLY__INIT;
    body.session_id = (*req_p)->sid;
    body.status = "Connected";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY;
    env.attach_reply = &body;
    ctl_req_reply (req_p, &env);
}

/*  Sends OpenSession for the session hash sess to its agent. */
static int s_open_session (ctl_req_t *req, const ph_reply_t *sess, const ph_reply_t *prefs_hash)
{
    ctl_t *ctl = req->ctl;
    const Porthole__V1__Attach *at = req->env->attach;
    Porthole__V1__Preferences prefs = PORTHOLE__V1__PREFERENCES__INIT;
    ctl_prefs_from_reply (prefs_hash, &prefs);
    const char *run_as = ph_reply_field (sess, "run_as");
    const char *command = ph_reply_field (sess, "command");
    if (!run_as || !ctl_unix_name_valid (run_as))
        run_as = CTL_DEFAULT_RUN_AS;
    Porthole__V1__OpenSession body = PORTHOLE__V1__OPEN_SESSION__INIT;
    body.session_id = req->sid;
    body.owner = (char *)(ph_reply_field (sess, "owner") ? ph_reply_field (sess, "owner") : "");
    body.run_as = (char *)run_as;
    body.interactive = !command || !*command;
    body.command = (char *)(command ? command : "");
    body.cols = at->cols ? at->cols : CTL_DEFAULT_COLS;
    body.rows = at->rows ? at->rows : CTL_DEFAULT_ROWS;
    body.shell_profile = prefs.shell_profile;
    body.idle_timeout_s =
        ctl->opt.idle_timeout_s ? ctl->opt.idle_timeout_s : prefs.idle_session_timeout_min * 60;
    body.max_duration_s =
        ctl->opt.max_duration_s ? ctl->opt.max_duration_s : prefs.max_session_duration_min * 60;
    body.admin_rights = prefs.admin_rights;
    const char *create = ph_reply_field (sess, "create_user");
    body.create_user =
        create ? strcmp (create, "1") == 0 : strcmp (run_as, CTL_DEFAULT_RUN_AS) == 0;
    Porthole__V1__SessionLogPrefs log_prefs = PORTHOLE__V1__SESSION_LOG_PREFS__INIT;
    log_prefs.log_group = prefs.log_group;
    log_prefs.streaming_enabled = prefs.streaming_enabled;
    log_prefs.encryption_enabled = prefs.encryption_enabled;
    log_prefs.log_input = prefs.log_input;
    body.log_prefs = &log_prefs;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION;
    env.open_session = &body;
    return ctl_send_to_agent (ctl, req->iid, &env);
}

/*  First Attach of a Connecting session: OpenSession, then wait. */
static void s_attach_connecting (ctl_req_t **req_p, const ph_reply_t *sess, const ph_reply_t *prefs)
{
    ctl_req_t *req = *req_p;
    if (s_open_session (req, sess, prefs) != 0) {
        ctl_req_fail (req_p, CTL_E_TARGET_NOT_CONNECTED,
                      "porthole: the agent of instance %s is not connected to this controller; "
                      "try again in a few seconds (porthole resume-session --session-id %s)",
                      req->iid, req->sid);
        return;
    }
    ctl_route_t *route = ctl_route_ensure (req->ctl, req->sid, req->iid);
    ctl_route_fail_pending (route, CTL_E_SESSION_FAILED, "superseded by a newer attach");
    route->pending_attach = req;
    route->attach_deadline_mono = ph_mono_ms () + CTL_ATTACH_TIMEOUT_MS;
    *req_p = NULL;
    ph_info ("session %s: OpenSession sent to %s", req->sid, req->iid);
}

static void s_on_attach_loaded (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    if (!ph_reply_is_array (reply)) {
        s_fail_token (&req, req->sid);
        return;
    }
    const ph_reply_t *sess = ph_reply_at (reply, 0);
    const char *state = ph_reply_field (sess, "state");
    const char *target = ph_reply_field (sess, "target");
    if (!state || !target || !ph_instance_id_valid (target)) {
        ctl_req_fail (&req, CTL_E_SESSION_NOT_FOUND,
                      "porthole: session %s not found; list sessions with porthole "
                      "describe-sessions",
                      req->sid);
        return;
    }
    snprintf (req->iid, sizeof req->iid, "%s", target);
    if (strcmp (state, "Connecting") == 0) {
        s_attach_connecting (&req, sess, ph_reply_at (reply, 1));
        return;
    }
    if (strcmp (state, "Connected") && strcmp (state, "Disconnected")) {
        ctl_req_fail (&req, CTL_E_INVALID_STATE,
                      "porthole: session %s is %s; start a new one with porthole start-session",
                      req->sid, state);
        return;
    }
    ctl_route_t *route = ctl_route_ensure (req->ctl, req->sid, target);
    ctl_route_attach_client (route, req);
    ctl_store_set_state (req->ctl, req->sid, target, "Connected", "Connected,Disconnected", NULL,
                         NULL);
    ph_info ("session %s: %s attached from %s", req->sid, req->name, req->addr);
    s_attach_reply (&req);
}

void ctl_attach_on_attach (ctl_t *ctl, ctl_msg_t *msg)
{
    ctl_req_t *req = ctl_req_new (ctl, msg);
    const Porthole__V1__Attach *at = req->env->attach;
    req->audit = true; /* token use */
    snprintf (req->action, sizeof req->action, "session:Attach");
    snprintf (req->resource, sizeof req->resource, "session/%.96s", at->session_id);
    if (!ctl_session_id_valid (at->session_id) ||
        ph_token_verify (ctl->secret, ctl->secret_len, at->token, at->session_id, req->name,
                         ph_now_ms ()) != 0) {
        s_fail_token (&req, at->session_id);
        return;
    }
    snprintf (req->sid, sizeof req->sid, "%s", at->session_id);
    const char *mac = strchr (at->token, '.') + 1; /* verified above */
    int rc = ph_redis_cmd (ctl->redis, s_on_attach_loaded, req,
                           "EVAL %s 2 ph:token:used:{%s} ph:session:{%s} %d", s_attach_lua, mac,
                           req->sid, CTL_TOKEN_USED_TTL_S);
    ctl_req_queued (&req, rc);
}

void ctl_attach_on_opened (ctl_t *ctl, ctl_msg_t *msg)
{
    const char *sid = msg->env->session_opened->session_id;
    ctl_route_t *route = ctl_route_find (ctl, sid);
    ctl_store_set_state (ctl, sid, msg->name, "Connected", "Connecting", NULL, NULL);
    if (!route || strcmp (route->instance_id, msg->name) || !route->pending_attach) {
        ph_info ("session %s: opened by %s with no Attach waiting here", sid, msg->name);
        return;
    }
    ctl_req_t *req = route->pending_attach;
    route->pending_attach = NULL;
    ctl_route_attach_client (route, req);
    ph_info ("session %s: Connected (%s on %s)", sid, req->name, msg->name);
    s_attach_reply (&req);
}

void ctl_attach_on_ended (ctl_t *ctl, ctl_msg_t *msg)
{
    const Porthole__V1__SessionEnded *e = msg->env->session_ended;
    const char *reason = e->reason && *e->reason ? e->reason : (e->failed ? "failed" : "exited");
    ph_info ("session %s: %s on %s (exit %d, %s)", e->session_id, e->failed ? "failed" : "ended",
             msg->name, (int)e->exit_code, reason);
    if (e->failed)
        ctl_store_end_session (ctl, e->session_id, msg->name, "Failed", false, 0, reason, NULL,
                               NULL);
    else /* Terminating until the transcript is shipped (ctl_transcript.c) */
        ctl_transcript_session_ended (ctl, e->session_id, msg->name, true, e->exit_code, reason);
    char principal[CTL_IID_MAX + 16], resource[CTL_RESOURCE_MAX];
    const char *addr = zmq_msg_gets (&msg->rx->frame, "Peer-Address");
    snprintf (principal, sizeof principal, "instance:%.24s", msg->name);
    snprintf (resource, sizeof resource, "session/%.96s", e->session_id);
    ctl_audit_add (ctl, principal, addr ? addr : "?", "session:SessionEnded", resource, true,
                   msg->env->request_id, e->failed ? CTL_E_SESSION_FAILED : "Success");
    ctl_route_t *route = ctl_route_find (ctl, e->session_id);
    if (route && strcmp (route->instance_id, msg->name) == 0)
        ctl_route_end (ctl, e->session_id, reason);
}
