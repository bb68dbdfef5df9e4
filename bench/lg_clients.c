/*  lg_clients: the client worker of ph-loadgen, the CLI side of the
 *  sessions.
 *
 *  Each session is what `porthole start-session` does (cli/cli_session.c,
 *  cli/cli_link.c), minus the terminal: its own CURVE DEALER with the
 *  stack's admin key, StartSessionRequest, Attach with the token of the
 *  reply, then a ph_stream with keepalives. Session start is timed from
 *  StartSession sent (socket just created, so connect and handshake are
 *  included, as for the CLI) to the first STDOUT byte back: for an echo
 *  session the echo of a probe byte typed right after AttachReply, for a
 *  session on the real porthole-agent its shell's first output.
 *
 *  Open echo sessions then type one byte every --keystroke-ms and time its
 *  echo. A session whose controller restarted gets Error{NotAttached} on its
 *  next keepalive and resumes like the CLI: ResumeSession, Attach with the
 *  new token, resend what is unacknowledged. Sessions open at --session-rate
 *  per second so that each start is measured under the fleet's load rather
 *  than under a burst of our own.
 */
#include "lg.h"
#include "ph_random.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <stdio.h>
#include <string.h>

#define LG_PROBE_BYTE          '.'
#define LG_RESUME_WINDOW_US    (60 * 1000000ull)
#define LG_RESUME_RETRY_MAX_MS 8000
#define LG_TERMINATE_WAIT      3000 /* ms for real sessions to end at stop */
#define LG_LOG_FIRST           3    /* errors logged per kind */

typedef enum {
    C_IDLE,
    C_STARTING,    /* StartSession sent */
    C_ATTACHING,   /* Attach sent */
    C_PROBING,     /* attached, waiting for the first byte */
    C_OPEN,        /* typing */
    C_RESUMING,    /* ResumeSession sent (or to be retried) */
    C_REATTACHING, /* Attach after ResumeSession */
    C_DONE
} s_state_t;

typedef struct _s_clients_t s_clients_t;

typedef struct {
    s_clients_t *c;
    size_t index;
    bool real;
    char target[LG_IID_MAX];
    zsock_t *sock;
    lg_watch_t *watch;
    s_state_t state;
    char sid[LG_SID_MAX];
    ph_stream_t *stream;
    uint64_t next_id, pending_id;
    uint64_t t0_us, deadline_us, retry_at_us, lost_us;
    unsigned retry_ms; /* 1, 2, 4, 8 s between ResumeSession attempts */
    uint64_t next_key_us, key_sent_us;
    uint8_t key;
    bool key_waiting;
} s_sess_t;

struct _s_clients_t {
    const lg_opts_t *o;
    lg_shared_t *sh;
    lg_loop_t *loop;
    ph_keypair_t admin;
    s_sess_t *sess;
    size_t n, n_started;
    uint64_t begin_us;
};

static void s_count_err (s_clients_t *c, lg_err_t kind, const char *sid, const char *text)
{
    if (atomic_fetch_add (&c->sh->client.err[kind], 1) < LG_LOG_FIRST)
        ph_warn ("session %s: %s: %s", sid && *sid ? sid : "(not started)", lg_err_names[kind],
                 text);
}

static void s_sample (_Atomic uint32_t *count, uint32_t *arr, size_t cap, uint64_t us)
{
    uint32_t i = atomic_fetch_add (count, 1);
    if (i < cap)
        arr[i] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int s_send (s_sess_t *s, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    int rc = ph_wire_send (s->sock, NULL, 0, env);
    if (rc != 0)
        atomic_fetch_add (&s->c->sh->client.err[LG_ERR_SEND], 1);
    lg_loop_kick (s->c->loop, s->watch);
    return rc;
}

static uint64_t s_request (s_sess_t *s, ph_env_t *env)
{
    env->request_id = s->pending_id = ++s->next_id;
    s_send (s, env);
    return s->pending_id;
}

/*  ph_stream's way out: only while attached, as the CLI does. */
static void s_stream_send (void *arg, const ph_stream_data_t *msg)
{
    s_sess_t *s = arg;
    if (s->state != C_PROBING && s->state != C_OPEN)
        return;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
    env.stream_data = (ph_stream_data_t *)msg;
    s_send (s, &env);
}

static void s_close (s_sess_t *s)
{
    lg_loop_unwatch (s->c->loop, &s->watch);
    zsock_destroy (&s->sock);
    ph_stream_destroy (&s->stream);
}

static void s_fail (s_sess_t *s, lg_err_t kind, const char *text)
{
    s_count_err (s->c, kind, s->sid, text);
    atomic_fetch_add (&s->c->sh->sess_failed, 1);
    s->state = C_DONE;
    s_close (s);
}

/* ---- the session's requests ----------------------------------------------- */

static void s_attach (s_sess_t *s, const char *token, s_state_t next)
{
    Porthole__V1__Attach body = PORTHOLE__V1__ATTACH__INIT;
    body.session_id = s->sid;
    body.token = (char *)token;
    body.cols = LG_COLS;
    body.rows = LG_ROWS;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ATTACH;
    env.attach = &body;
    s->state = next;
    s_request (s, &env);
}

static void s_resume (s_sess_t *s)
{
    Porthole__V1__ResumeSessionRequest body = PORTHOLE__V1__RESUME_SESSION_REQUEST__INIT;
    body.session_id = s->sid;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION;
    env.resume_session = &body;
    s->state = C_RESUMING;
    s->retry_ms = s->retry_ms ? s->retry_ms * 2 : LG_RESUME_RETRY_MS;
    s->retry_ms = s->retry_ms > LG_RESUME_RETRY_MAX_MS ? LG_RESUME_RETRY_MAX_MS : s->retry_ms;
    s->retry_at_us = lg_now_us () + s->retry_ms * 1000ull;
    s_request (s, &env);
}

static void s_on_sock (lg_loop_t *loop, zsock_t *sock, void *arg);

static int s_start (s_clients_t *c, s_sess_t *s)
{
    s->c = c;
    s->sock = lg_dealer_new (&c->admin, c->o->server_key, false);
    if (!s->sock || zsock_connect (s->sock, "%s", c->o->client_endpoint) != 0)
        return PH_EIO;
    s->watch = lg_loop_watch (c->loop, s->sock, s_on_sock, s);
    if (!s->watch)
        return PH_EIO;
    Porthole__V1__StartSessionRequest body = PORTHOLE__V1__START_SESSION_REQUEST__INIT;
    body.target = s->target;
    body.reason = "ph-loadgen";
    body.cols = LG_COLS;
    body.rows = LG_ROWS;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_START_SESSION;
    env.start_session = &body;
    s->next_id = (uint64_t)s->index << 32;
    s->t0_us = lg_now_us ();
    s->deadline_us = s->t0_us + LG_SESSION_WAIT_MS * 1000ull;
    s->state = C_STARTING;
    atomic_fetch_add (&c->sh->sess_started, 1);
    s_request (s, &env);
    return 0;
}

/* ---- what the controller sends ---------------------------------------------- */

static void s_on_start_reply (s_sess_t *s, const Porthole__V1__StartSessionReply *r)
{
    if (s->state == C_STARTING) {
        snprintf (s->sid, sizeof s->sid, "%s", r->session_id);
        s->stream = ph_stream_new (s->sid, s_stream_send, s);
        if (!s->stream) {
            s_fail (s, LG_ERR_START, "out of memory");
            return;
        }
        ph_stream_set_keepalive (s->stream, true);
        s_attach (s, r->token, C_ATTACHING);
    } else if (s->state == C_RESUMING)
        s_attach (s, r->token, C_REATTACHING);
}

static void s_on_attach_reply (s_sess_t *s)
{
    if (s->state == C_ATTACHING) {
        s->state = C_PROBING;
        if (!s->real)
            ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__STDIN, (char[]){LG_PROBE_BYTE},
                             1);
    } else if (s->state == C_REATTACHING) {
        s->state = C_OPEN;
        s->retry_ms = 0;
        ph_stream_resend (s->stream);
        atomic_fetch_add (&s->c->sh->sess_resumed, 1);
    }
}

static bool s_session_gone (const char *code)
{
    return !strcmp (code, "SessionNotFound") || !strcmp (code, "InvalidState") ||
           !strcmp (code, "SessionFailed") || !strcmp (code, "AccessDenied");
}

static void s_on_error (s_sess_t *s, const Porthole__V1__Error *e)
{
    char text[PH_ERRTEXT_MAX];
    snprintf (text, sizeof text, "%s: %s", e->code, e->message);
    switch (s->state) {
    case C_STARTING:
    case C_ATTACHING:
    case C_PROBING:
        s_fail (s, LG_ERR_START, text);
        break;
    case C_OPEN:
        if (strcmp (e->code, "NotAttached") == 0) {
            s->lost_us = lg_now_us ();
            s_resume (s);
        }
        break;
    case C_RESUMING:
    case C_REATTACHING:
        if (s_session_gone (e->code))
            s_fail (s, LG_ERR_RESUME, text);
        else
            s->state = C_RESUMING; /* retried by the tick */
        break;
    default:
        break;
    }
}

static void s_on_first_byte (s_sess_t *s, uint64_t now)
{
    s_clients_t *c = s->c;
    s->state = C_OPEN;
    if (s->real) {
        atomic_fetch_add (&c->sh->real_opened, 1);
        s_sample (&c->sh->n_real_start, c->sh->real_start_us, LG_SESSIONS_MAX, now - s->t0_us);
        return;
    }
    atomic_fetch_add (&c->sh->sess_opened, 1);
    s_sample (&c->sh->n_start, c->sh->start_us, LG_SESSIONS_MAX, now - s->t0_us);
    if (c->o->keystroke_ms) {
        uint32_t r = 0;
        ph_random_bytes (&r, sizeof r);
        s->next_key_us = now + (r % (c->o->keystroke_ms * 1000u));
    }
}

static void s_on_output (s_sess_t *s, const ProtobufCBinaryData *p, uint64_t now)
{
    if (s->state == C_PROBING) {
        if (!s->real && (p->len < 1 || p->data[0] != LG_PROBE_BYTE))
            s_count_err (s->c, LG_ERR_ECHO, s->sid, "the probe came back as another byte");
        s_on_first_byte (s, now);
        return;
    }
    if (s->real || !s->key_waiting)
        return;
    if (p->len < 1 || p->data[0] != s->key)
        s_count_err (s->c, LG_ERR_ECHO, s->sid, "a keystroke came back as another byte");
    s->key_waiting = false;
    atomic_fetch_add (&s->c->sh->keys_echoed, 1);
    s_sample (&s->c->sh->n_echo, s->c->sh->echo_us, LG_ECHO_SAMPLES_MAX, now - s->key_sent_us);
}

static void s_on_stream (s_sess_t *s, const ph_stream_data_t *sd)
{
    if (!s->stream || strcmp (sd->session_id, s->sid) != 0 ||
        ph_stream_receive (s->stream, sd) != 1)
        return;
    if (sd->kind == PORTHOLE__V1__STREAM_KIND__STDOUT)
        s_on_output (s, &sd->payload, lg_now_us ());
    else if (sd->kind == PORTHOLE__V1__STREAM_KIND__EXIT) {
        ph_stream_flush_ack (s->stream);
        atomic_fetch_add (&s->c->sh->sess_exited, 1);
        s->state = C_DONE;
    }
}

static void s_dispatch (s_sess_t *s, const ph_env_t *env)
{
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA) {
        s_on_stream (s, env->stream_data);
        return;
    }
    bool awaited = env->request_id == s->pending_id;
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        if (awaited || env->request_id == 0)
            s_on_error (s, env->error);
    } else if (awaited && env->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY)
        s_on_start_reply (s, env->start_session_reply);
    else if (awaited && env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY)
        s_on_attach_reply (s);
}

static void s_on_sock (lg_loop_t *loop, zsock_t *sock, void *arg)
{
    s_sess_t *s = arg;
    for (int i = 0; i < LG_RECV_BATCH && s->sock == sock; i++) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            return;
        if (rc == 0)
            s_dispatch (s, env);
        else
            atomic_fetch_add (&s->c->sh->client.err[LG_ERR_BAD_FRAME], 1);
        ph_wire_free (&env);
    }
    if (s->sock == sock)
        lg_loop_kick (loop, s->watch);
}

/* ---- timers ------------------------------------------------------------------ */

static void s_type_key (s_sess_t *s, uint64_t now)
{
    unsigned ms = s->c->o->keystroke_ms;
    if (!ms || s->real || s->key_waiting || now < s->next_key_us || ph_stream_room (s->stream) < 1)
        return;
    s->key = (uint8_t)('a' + (s->key - 'a' + 1) % 26);
    s->key_sent_us = now;
    s->key_waiting = true;
    s->next_key_us += ms * 1000ull;
    if (s->next_key_us <= now)
        s->next_key_us = now + ms * 1000ull;
    atomic_fetch_add (&s->c->sh->keys_sent, 1);
    ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__STDIN, &s->key, 1);
}

static void s_sess_tick (s_sess_t *s, uint64_t now, uint64_t now_ms)
{
    switch (s->state) {
    case C_STARTING:
    case C_ATTACHING:
    case C_PROBING:
        if (now > s->deadline_us) {
            s_fail (s, LG_ERR_START_TIMEOUT, "no first byte in time");
            return;
        }
        break;
    case C_RESUMING:
        if (now - s->lost_us > LG_RESUME_WINDOW_US)
            s_fail (s, LG_ERR_RESUME, "not resumed within 60 s");
        else if (now >= s->retry_at_us)
            s_resume (s);
        return;
    case C_OPEN:
        s_type_key (s, now);
        break;
    default:
        return;
    }
    if (s->stream && (s->state == C_PROBING || s->state == C_OPEN))
        ph_stream_tick (s->stream, now_ms);
}

static void s_tick (s_clients_t *c, uint64_t now)
{
    unsigned rate = c->o->session_rate ? c->o->session_rate : 1;
    while (c->n_started < c->n && now - c->begin_us >= c->n_started * 1000000ull / rate) {
        s_sess_t *s = &c->sess[c->n_started++];
        if (s_start (c, s) != 0) {
            s_fail (s, LG_ERR_START, "cannot open a socket (out of file descriptors?)");
            break;
        }
    }
    uint64_t now_ms = ph_mono_ms ();
    for (size_t i = 0; i < c->n_started; i++)
        s_sess_tick (&c->sess[i], now, now_ms);
}

/* ---- set-up, the loop, the end ----------------------------------------------- */

static void s_terminate_real (s_clients_t *c)
{
    for (size_t i = 0; i < c->n_started; i++) {
        s_sess_t *s = &c->sess[i];
        if (!s->real || !s->sock || s->state == C_DONE || !*s->sid)
            continue;
        Porthole__V1__TerminateSessionRequest body = PORTHOLE__V1__TERMINATE_SESSION_REQUEST__INIT;
        body.session_id = s->sid;
        ph_env_t env = PH_ENV_INIT;
        env.request_id = ++s->next_id;
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION;
        env.terminate_session = &body;
        s_send (s, &env);
    }
}

static bool s_real_done (const s_clients_t *c)
{
    for (size_t i = 0; i < c->n_started; i++)
        if (c->sess[i].real && c->sess[i].sock && c->sess[i].state != C_DONE)
            return false;
    return true;
}

static void s_run (s_clients_t *c)
{
    uint64_t next_tick = 0, stop_at = 0;
    c->begin_us = lg_now_us ();
    for (;;) {
        uint64_t now = lg_now_us ();
        if (!stop_at && (atomic_load (&c->sh->client.cmd) == LG_CMD_STOP || zsys_interrupted)) {
            s_terminate_real (c);
            stop_at = now + LG_TERMINATE_WAIT * 1000ull;
        }
        if (stop_at && (now >= stop_at || s_real_done (c)))
            break;
        if (now >= next_tick) {
            if (!stop_at)
                s_tick (c, now);
            atomic_store (&c->sh->client.cpu_us, lg_self_cpu_us ());
            next_tick = now + LG_TICK_MS * 1000ull;
        }
        if (lg_loop_once (c->loop, LG_TICK_MS) != 0)
            break;
    }
}

/*  Echo session i goes to agent i * agents / sessions (one per agent,
 *  spread over the workers); the real ones to the real agent. */
static int s_plan (s_clients_t *c, const lg_state_t *st)
{
    const lg_opts_t *o = c->o;
    c->n = o->sessions + o->real_sessions;
    c->sess = calloc (c->n ? c->n : 1, sizeof *c->sess);
    if (!c->sess)
        return PH_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        s_sess_t *s = &c->sess[i];
        s->index = i;
        s->key = 'a';
        s->real = i >= o->sessions;
        const char *target = s->real ? o->real_target : st->ids[i * o->agents / o->sessions].iid;
        snprintf (s->target, sizeof s->target, "%s", target);
    }
    return 0;
}

int lg_clients_run (const lg_opts_t *o, const lg_state_t *st, lg_shared_t *shared)
{
    zsys_set_max_sockets (0);
    s_clients_t c = {.o = o, .sh = shared};
    if (lg_admin_key (o, &c.admin) != 0)
        return PH_EXIT_CONFIG;
    c.loop = lg_loop_new ();
    if (!c.loop || s_plan (&c, st) != 0) {
        fprintf (stderr, LG_PROGRAM ": out of memory in the client worker\n");
        return PH_EXIT_CONFIG;
    }
    atomic_store (&shared->client.start_us, lg_now_us ());
    atomic_store (&shared->client.ready, 1);
    s_run (&c);
    for (size_t i = 0; i < c.n; i++)
        s_close (&c.sess[i]);
    free (c.sess);
    lg_loop_destroy (&c.loop);
    memset (&c.admin, 0, sizeof c.admin);
    return PH_EXIT_OK;
}
