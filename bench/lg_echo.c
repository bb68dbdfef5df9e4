/*  lg_echo: the sessions of ph-loadgen's simulated agents.
 *
 *  Where porthole-agent forks a shell, a simulated agent answers
 *  OpenSession with SessionOpened at once and echoes every STDIN byte back
 *  as STDOUT through its own ph_stream, so the client measures the whole
 *  data path (client -> controller -> agent -> controller -> client) with
 *  the real reliable stream at both ends and nothing slow in between.
 *  CloseSession (or the end of the run) writes EXIT "0" and sends
 *  SessionEnded, as the agent does when a shell exits, so the sessions end
 *  Terminated in Redis instead of lingering in ph:sessions:active.
 *
 *  An echo that does not fit the client's credit waits (bounded by the
 *  stream window, as in agent_io.c) and is held against the credit.
 */
#include "lg.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <stdlib.h>
#include <string.h>

#define LG_ECHO_PENDING_MAX (PH_STREAM_WINDOW + PH_PAYLOAD_MAX)

typedef struct {
    lg_echo_t *echo;
    lg_agent_t *agent;
    char sid[LG_SID_MAX];
    ph_stream_t *stream;
    bool ended;
    uint64_t ended_us;
    uint8_t *pending;
    size_t pending_len;
} s_sess_t;

struct _lg_echo_t {
    zhashx_t *sessions; /* session id -> s_sess_t */
    size_t open;
};

static void s_sess_free (void **item_p)
{
    s_sess_t *s = *item_p;
    if (s) {
        ph_stream_destroy (&s->stream);
        free (s->pending);
        free (s);
    }
    *item_p = NULL;
}

lg_echo_t *lg_echo_new (void)
{
    lg_echo_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->sessions = zhashx_new ();
    if (!self->sessions) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->sessions, s_sess_free);
    return self;
}

void lg_echo_destroy (lg_echo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->sessions);
    free (*self_p);
    *self_p = NULL;
}

size_t lg_echo_open_count (const lg_echo_t *self)
{
    return self->open;
}

static void s_stream_send (void *arg, const ph_stream_data_t *msg)
{
    s_sess_t *s = arg;
    ph_env_t env = PH_ENV_INIT; /* request id 0, as agent_io.c */
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
    env.stream_data = (ph_stream_data_t *)msg;
    lg_agent_send (s->agent, &env);
}

static void s_send_opened (lg_agent_t *agent, uint64_t request_id, const char *sid)
{
    Porthole__V1__SessionOpened body = PORTHOLE__V1__SESSION_OPENED__INIT;
    body.session_id = (char *)sid;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = request_id;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED;
    env.session_opened = &body;
    lg_agent_send (agent, &env);
}

static void s_send_ended (s_sess_t *s, const char *why)
{
    Porthole__V1__SessionEnded body = PORTHOLE__V1__SESSION_ENDED__INIT;
    body.session_id = s->sid;
    body.exit_code = 0;
    body.reason = (char *)why;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = lg_agent_request_id (s->agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED;
    env.session_ended = &body;
    lg_agent_send (s->agent, &env);
}

void lg_echo_open (lg_echo_t *self, lg_agent_t *agent, uint64_t request_id,
                   const Porthole__V1__OpenSession *msg)
{
    s_sess_t *s = zhashx_lookup (self->sessions, msg->session_id);
    if (s) {
        if (s->agent == agent && !s->ended)
            s_send_opened (agent, request_id, s->sid);
        return;
    }
    if (strlen (msg->session_id) >= LG_SID_MAX)
        return;
    s = calloc (1, sizeof *s);
    if (!s)
        return;
    s->echo = self;
    s->agent = agent;
    strcpy (s->sid, msg->session_id);
    s->stream = ph_stream_new (s->sid, s_stream_send, s);
    if (!s->stream) {
        free (s);
        return;
    }
    zhashx_insert (self->sessions, s->sid, s);
    self->open++;
    s_send_opened (agent, request_id, s->sid);
}

/*  Echoes what the client's credit allows; the rest waits. */
static void s_flush_pending (s_sess_t *s)
{
    size_t off = 0;
    while (off < s->pending_len) {
        size_t n = s->pending_len - off, room = ph_stream_room (s->stream);
        n = n < room ? n : room;
        n = n < PH_PAYLOAD_MAX ? n : PH_PAYLOAD_MAX;
        if (n == 0 ||
            ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__STDOUT, s->pending + off, n))
            break;
        off += n;
    }
    memmove (s->pending, s->pending + off, s->pending_len - off);
    s->pending_len -= off;
    ph_stream_set_held (s->stream, s->pending_len);
}

static void s_echo (s_sess_t *s, const ProtobufCBinaryData *data)
{
    if (s->pending_len + data->len > LG_ECHO_PENDING_MAX)
        return; /* the client went over its credit */
    uint8_t *p = realloc (s->pending, s->pending_len + data->len);
    if (!p)
        return;
    memcpy (p + s->pending_len, data->data, data->len);
    s->pending = p;
    s->pending_len += data->len;
    atomic_fetch_add (&lg_agent_shm (s->agent)->echo_bytes, data->len);
    s_flush_pending (s);
}

static void s_end (s_sess_t *s, const char *why)
{
    if (s->ended)
        return;
    ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__EXIT, "0", 1);
    s_send_ended (s, why);
    s->ended = true;
    s->ended_us = lg_now_us ();
    s->echo->open--;
}

void lg_echo_stream (lg_echo_t *self, lg_agent_t *agent, const ph_stream_data_t *sd)
{
    s_sess_t *s = zhashx_lookup (self->sessions, sd->session_id);
    if (!s || s->agent != agent || ph_stream_receive (s->stream, sd) != 1 || s->ended)
        return;
    if (sd->kind == PORTHOLE__V1__STREAM_KIND__STDIN)
        s_echo (s, &sd->payload);
    else if (sd->kind == PORTHOLE__V1__STREAM_KIND__EOF)
        s_end (s, "exited");
}

void lg_echo_close (lg_echo_t *self, lg_agent_t *agent, const char *sid, const char *why)
{
    s_sess_t *s = zhashx_lookup (self->sessions, sid);
    if (s && s->agent == agent)
        s_end (s, why);
}

const char **lg_echo_live_ids (lg_echo_t *self, lg_agent_t *agent, size_t *count)
{
    *count = 0;
    size_t n = lg_echo_live_count (self, agent);
    const char **ids = calloc (n ? n : 1, sizeof *ids);
    if (!ids)
        return NULL;
    for (s_sess_t *s = zhashx_first (self->sessions); s && *count < n;
         s = zhashx_next (self->sessions))
        if (s->agent == agent && !s->ended)
            ids[(*count)++] = s->sid;
    return ids;
}

size_t lg_echo_live_count (lg_echo_t *self, lg_agent_t *agent)
{
    size_t n = 0;
    if (self->open == 0)
        return 0;
    for (s_sess_t *s = zhashx_first (self->sessions); s; s = zhashx_next (self->sessions))
        n += s->agent == agent && !s->ended;
    return n;
}

void lg_echo_resync (lg_echo_t *self, lg_agent_t *agent)
{
    if (zhashx_size (self->sessions) == 0)
        return;
    for (s_sess_t *s = zhashx_first (self->sessions); s; s = zhashx_next (self->sessions)) {
        if (s->agent != agent)
            continue;
        ph_stream_resend (s->stream);
        if (s->ended)
            s_send_ended (s, "exited");
    }
}

void lg_echo_tick (lg_echo_t *self, uint64_t now_us)
{
    if (zhashx_size (self->sessions) == 0)
        return;
    uint64_t now_ms = ph_mono_ms ();
    zlistx_t *gone = NULL;
    for (s_sess_t *s = zhashx_first (self->sessions); s; s = zhashx_next (self->sessions)) {
        ph_stream_tick (s->stream, now_ms);
        if (s->pending_len)
            s_flush_pending (s);
        bool done = s->ended && (ph_stream_drained (s->stream) ||
                                 now_us - s->ended_us > LG_ECHO_LINGER_MS * 1000ull);
        if (done && (gone || (gone = zlistx_new ())))
            zlistx_add_end (gone, s->sid);
    }
    if (!gone)
        return;
    for (const char *sid = zlistx_first (gone); sid; sid = zlistx_next (gone))
        zhashx_delete (self->sessions, sid);
    zlistx_destroy (&gone);
}

void lg_echo_end_all (lg_echo_t *self)
{
    for (s_sess_t *s = zhashx_first (self->sessions); s; s = zhashx_next (self->sessions))
        s_end (s, "loadgen stopped");
}
