/*  cli_link: see cli_sess.h. The way back after a broken link:
 *
 *      ATTACHED --(NotAttached | socket down 5 s | silence 5 s with data
 *                 unacknowledged)--> RESUMING --ResumeSession reply-->
 *      ATTACHING --AttachReply--> ATTACHED (and ph_stream_resend)
 *
 *  RESUMING retries with a growing wait (1, 2, 4, 8, 8 ... s) on a fresh
 *  socket each time, for at most CLI_RESUME_WINDOW_MS; then the CLI gives
 *  up and says how to resume later. The session keeps running on the agent
 *  meanwhile (Disconnected).
 */
#include "cli_output.h"
#include "cli_sess.h"
#include "ph_log.h"
#include "ph_util.h"

#include <stdio.h>
#include <string.h>

static bool s_code_is (const Porthole__V1__Error *e, const char *code)
{
    return strcmp (e->code, code) == 0;
}

/*  True for errors that say the session cannot be followed any more. */
static bool s_session_gone (const Porthole__V1__Error *e)
{
    return s_code_is (e, "SessionNotFound") || s_code_is (e, "InvalidState") ||
           s_code_is (e, "SessionFailed");
}

/*  The message of e, or its code when the controller sent none. */
static const char *s_text (const Porthole__V1__Error *e)
{
    return e->message && *e->message ? e->message : e->code;
}

static bool s_denied (const Porthole__V1__Error *e)
{
    return s_code_is (e, "AccessDenied");
}

void cli_link_send (cli_sess_t *s, ph_env_t *env)
{
    if (s->data)
        cli_conn_send (s->data, env);
}

/*  A stream endpoint published as a wildcard (tcp://STAR:7611 or
 *  "tcp://0.0.0.0:7611") is reached at the API endpoint's host. */
static void s_stream_url (const cli_sess_t *s, const char *url, char *out, size_t len)
{
    const char *port = strrchr (url, ':');
    bool wildcard = strncmp (url, "tcp://*:", 8) == 0 || strncmp (url, "tcp://0.0.0.0:", 14) == 0 ||
                    strncmp (url, "tcp://[::]:", 11) == 0;
    const char *api = cli_conn_endpoint (s->api);
    const char *api_port = strrchr (api, ':');
    if (wildcard && port && api_port)
        snprintf (out, len, "%.*s%s", (int)(api_port - api), api, port);
    else
        snprintf (out, len, "%s", url);
}

/*  Points s->data at the stream endpoint. Returns 0 or PH_EINVAL. */
static int s_use_endpoint (cli_sess_t *s, const char *url_in, const char *key)
{
    char url[CLI_ENDPOINT_MAX + 32], err[512];
    s_stream_url (s, url_in, url, sizeof url);
    if (strcmp (url, cli_conn_endpoint (s->api)) == 0 && strcmp (key, s->creds.server_key) == 0) {
        if (s->data != s->api)
            cli_conn_destroy (&s->data, 0);
        s->data = s->api;
        return 0;
    }
    if (s->data && s->data != s->api && strcmp (url, cli_conn_endpoint (s->data)) == 0)
        return 0;
    if (!cli_endpoint_valid (url, err, sizeof err)) {
        cli_sess_finish (s, PH_EXIT_API, "the controller sent a bad stream endpoint: %s", err);
        return PH_EINVAL;
    }
    if (s->data != s->api)
        cli_conn_destroy (&s->data, 0);
    s->data = cli_conn_new (url, key, &s->creds.kp, err, sizeof err);
    s->conn_gen++;
    if (!s->data) {
        s->data = s->api;
        cli_sess_finish (s, PH_EXIT_API, "cannot open the session stream at %s: %s", url, err);
        return PH_EINVAL;
    }
    return 0;
}

int cli_link_attach (cli_sess_t *s, const Porthole__V1__StartSessionReply *reply)
{
    const char *key =
        reply->server_key && *reply->server_key ? reply->server_key : s->creds.server_key;
    if (!ph_keys_z85_valid (key)) {
        cli_sess_finish (s, PH_EXIT_API, "the controller sent a bad server key for the stream");
        return PH_EINVAL;
    }
    if (s_use_endpoint (s, reply->stream_url, key) != 0)
        return PH_EINVAL;
    snprintf (s->token, sizeof s->token, "%s", reply->token);
    Porthole__V1__Attach attach = PORTHOLE__V1__ATTACH__INIT;
    attach.session_id = s->session_id;
    attach.token = s->token;
    if (s->interactive)
        cli_term_size (&s->cols, &s->rows);
    attach.cols = s->attach_cols = s->cols;
    attach.rows = s->attach_rows = s->rows;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ATTACH;
    env.attach = &attach;
    env.request_id = s->pending_id = cli_conn_new_id (s->data);
    cli_link_send (s, &env);
    int wait_s = s->ctx->timeout_s > CLI_ATTACH_WAIT_S ? s->ctx->timeout_s : CLI_ATTACH_WAIT_S;
    s->state = CLI_LINK_ATTACHING;
    s->deadline_ms = ph_mono_ms () + (uint64_t)wait_s * 1000;
    return 0;
}

void cli_link_lost (cli_sess_t *s, const char *why)
{
    ph_debug ("session %s: link lost: %s", s->session_id, why);
    cli_term_say (s->term, "connection to the controller lost; resuming session %s", s->session_id);
    s->state = CLI_LINK_RESUMING;
    s->pending_id = 0;
    s->lost_at_ms = s->retry_at_ms = ph_mono_ms ();
    s->attempt = 0;
}

/*  Replaces both sockets by fresh ones to the profile's endpoint. */
static int s_reconnect (cli_sess_t *s)
{
    char err[512];
    if (s->data != s->api)
        cli_conn_destroy (&s->data, 0);
    s->data = NULL;
    cli_conn_destroy (&s->api, 0);
    s->conn_gen++;
    s->api = cli_conn_new (s->creds.endpoint, s->creds.server_key, &s->creds.kp, err, sizeof err);
    if (!s->api) {
        cli_sess_finish (s, PH_EXIT_UNAVAIL, "%s", err);
        return PH_EIO;
    }
    s->data = s->api;
    return 0;
}

static void s_send_resume (cli_sess_t *s, uint64_t now)
{
    if (s->attempt > 0 && s_reconnect (s) != 0)
        return;
    Porthole__V1__ResumeSessionRequest req = PORTHOLE__V1__RESUME_SESSION_REQUEST__INIT;
    req.session_id = s->session_id;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION;
    env.resume_session = &req;
    env.request_id = s->pending_id = cli_conn_new_id (s->api);
    cli_conn_send (s->api, &env);
    uint64_t wait = (uint64_t)CLI_RETRY_FIRST_MS << (s->attempt < 4 ? s->attempt : 4);
    s->retry_at_ms = now + (wait < CLI_RETRY_MAX_MS ? wait : CLI_RETRY_MAX_MS);
    s->attempt++;
}

static void s_give_up (cli_sess_t *s)
{
    cli_sess_finish (s, PH_EXIT_LOST,
                     "the controller at %s did not answer for %ds; session %s goes on running "
                     "unless it ends: resume it later with porthole resume-session "
                     "--session-id %s",
                     s->creds.endpoint, CLI_RESUME_WINDOW_MS / 1000, s->session_id, s->session_id);
}

static void s_check_alive (cli_sess_t *s, uint64_t now)
{
    if (cli_conn_down_for (s->data, now) >= CLI_LINK_DOWN_MS)
        cli_link_lost (s, "socket disconnected");
    else if (s->data_since_attach && !ph_stream_drained (s->stream) &&
             now - s->last_rx_ms >= CLI_SILENCE_MS)
        cli_link_lost (s, "no acknowledgement");
}

void cli_link_tick (cli_sess_t *s, uint64_t now)
{
    if (s->done)
        return;
    switch (s->state) {
    case CLI_LINK_ATTACHED:
        s_check_alive (s, now);
        break;
    case CLI_LINK_ATTACHING:
        if (now < s->deadline_ms)
            break;
        if (!s->ever_attached)
            cli_sess_finish (s, PH_EXIT_UNAVAIL,
                             "session %s did not open: no answer from the controller at %s "
                             "within %llus; is the agent of the target connected? End the "
                             "session with porthole terminate-session --session-id %s",
                             s->session_id, cli_conn_endpoint (s->data),
                             (unsigned long long)CLI_ATTACH_WAIT_S, s->session_id);
        else {
            s->state = CLI_LINK_RESUMING;
            s->retry_at_ms = now;
        }
        break;
    case CLI_LINK_RESUMING:
        if (now - s->lost_at_ms >= CLI_RESUME_WINDOW_MS)
            s_give_up (s);
        else if (now >= s->retry_at_ms)
            s_send_resume (s, now);
        break;
    }
}

static void s_on_resume_reply (cli_sess_t *s, const ph_env_t *env)
{
    s->pending_id = 0;
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY) {
        cli_link_attach (s, env->start_session_reply);
        return;
    }
    const Porthole__V1__Error *e = env->error;
    if (s_denied (e))
        cli_sess_finish (s, PH_EXIT_DENIED, "%s", s_text (e));
    else if (s_session_gone (e))
        cli_sess_finish (s, PH_EXIT_LOST, "session %s ended while the connection was lost: %s",
                         s->session_id, s_text (e));
    else
        ph_debug ("resume of %s refused for now (%s): retrying", s->session_id, e->code);
}

static void s_on_attach_reply (cli_sess_t *s, const ph_env_t *env)
{
    s->pending_id = 0;
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY) {
        s->state = CLI_LINK_ATTACHED;
        s->data_since_attach = false;
        cli_sess_on_attached (s);
        return;
    }
    const Porthole__V1__Error *e = env->error;
    if (!s->ever_attached) {
        cli_sess_finish (s, PH_EXIT_OK, NULL);
        s->exit_code = cli_conn_report_error (e);
        return;
    }
    if (s_denied (e))
        cli_sess_finish (s, PH_EXIT_DENIED, "%s", s_text (e));
    else if (s_session_gone (e))
        cli_sess_finish (s, PH_EXIT_LOST, "session %s ended while the connection was lost: %s",
                         s->session_id, s_text (e));
    else {
        s->state = CLI_LINK_RESUMING; /* e.g. InvalidToken: get a new one */
        s->retry_at_ms = ph_mono_ms ();
    }
}

static void s_on_unsolicited_error (cli_sess_t *s, const Porthole__V1__Error *e)
{
    if (s_code_is (e, "NotAttached")) {
        if (s->state == CLI_LINK_ATTACHED)
            cli_link_lost (s, "the controller does not know this attachment");
        return;
    }
    if (s_session_gone (e) || s_denied (e))
        cli_sess_finish (s, s_denied (e) ? PH_EXIT_DENIED : PH_EXIT_LOST, "%s", s_text (e));
    else
        ph_debug ("session %s: the controller says %s: %s", s->session_id, e->code, e->message);
}

void cli_link_on_message (cli_sess_t *s, const ph_env_t *env)
{
    bool is_error = env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR;
    if (env->request_id == 0 || env->request_id != s->pending_id) {
        if (is_error)
            s_on_unsolicited_error (s, env->error);
        return;
    }
    if (s->state == CLI_LINK_RESUMING &&
        (is_error || env->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY))
        s_on_resume_reply (s, env);
    else if (s->state == CLI_LINK_ATTACHING &&
             (is_error || env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY))
        s_on_attach_reply (s, env);
}
