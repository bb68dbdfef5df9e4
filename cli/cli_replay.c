/*  cli_replay: the `porthole session` group: a session's recording read
 *  back from its log stream (group porthole/sessions by default, stream =
 *  the session id, one asciicast v2 line per event, the header first):
 *    replay  plays the "o" events to stdout with their timing (--speed X;
 *            0 = no waiting), so the bytes are those the user saw;
 *    export  writes the asciicast file, one line per event, that asciinema
 *            play plays.
 *  The stream is read with GetLogEvents from the head, a page at a time,
 *  so a long recording is never held whole in memory.
 */
#include "cli_group.h"
#include "cli_logs.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_REPLAY_SPEED_MAX 1000.0
#define CLI_REPLAY_PAGES_MAX 100000 /* pages of one recording; a guard against a loop */
#define CLI_CAST_VERSION     2

typedef struct {
    double speed;        /* 0: no waiting */
    int64_t start_ms;    /* monotonic clock when the first event played */
    size_t line;         /* asciicast lines seen */
    bool export;         /* write lines, not play them */
    const char *session; /* for messages */
} s_replay_t;

/*  Waits until event time t (seconds since the recording's start) at
 *  self->speed. */
static void s_wait_for (s_replay_t *self, double t)
{
    if (self->speed <= 0 || !(t > 0))
        return;
    int64_t due = self->start_ms + (int64_t)(t * 1000.0 / self->speed);
    int64_t now = zclock_mono ();
    if (due > now)
        zclock_sleep ((int)(due - now > INT32_MAX ? INT32_MAX : due - now));
}

/*  Plays one event line: [t, "o", data] goes to stdout; other kinds
 *  ("i", "r", markers) are skipped. Returns 0 or PH_EPROTO for a line that
 *  is not an asciicast event. */
static int s_play_event (s_replay_t *self, const char *msg)
{
    json_error_t jerr;
    json_t *event = json_loads (msg, JSON_DECODE_ANY, &jerr);
    json_t *t = json_array_get (event, 0), *kind = json_array_get (event, 1);
    json_t *data = json_array_get (event, 2);
    int rc = PH_EPROTO;
    if (json_is_number (t) && json_is_string (kind) && json_is_string (data)) {
        rc = 0;
        if (strcmp (json_string_value (kind), "o") == 0) {
            s_wait_for (self, json_number_value (t));
            fwrite (json_string_value (data), 1, json_string_length (data), stdout);
            fflush (stdout);
        }
    }
    json_decref (event);
    return rc;
}

/*  Checks that the first line is an asciicast v2 header. */
static int s_check_header (const char *msg)
{
    json_error_t jerr;
    json_t *header = json_loads (msg, 0, &jerr);
    json_t *version = json_object_get (header, "version");
    int rc = json_is_integer (version) && json_integer_value (version) == CLI_CAST_VERSION
                 ? 0
                 : PH_EPROTO;
    json_decref (header);
    return rc;
}

/*  Handles one event of the stream. Returns an exit code. */
static int s_on_line (s_replay_t *self, const Porthole__V1__LogEvent *e)
{
    size_t len = strlen (e->message);
    while (len && (e->message[len - 1] == '\n' || e->message[len - 1] == '\r'))
        len--;
    bool first = self->line++ == 0;
    if (first && s_check_header (e->message) != 0)
        return cli_error (PH_EXIT_API,
                          "the log stream of session %s does not start with an asciicast v2 "
                          "header; was it an interactive session? (porthole logs "
                          "get-log-events shows what it holds)",
                          self->session);
    if (self->export) {
        fwrite (e->message, 1, len, stdout);
        putchar ('\n');
        return ferror (stdout) ? cli_error (PH_EXIT_API, "cannot write the output") : PH_EXIT_OK;
    }
    if (first) {
        self->start_ms = zclock_mono ();
        return PH_EXIT_OK;
    }
    if (s_play_event (self, e->message) != 0)
        return cli_error (PH_EXIT_API,
                          "line %zu of the recording of session %s is not an asciicast event "
                          "[t, \"o\", data]",
                          self->line, self->session);
    return PH_EXIT_OK;
}

/*  Reads the whole stream from its head, one GetLogEvents page at a time,
 *  and hands each event to s_on_line. Returns an exit code. */
static int s_read_stream (const cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__LogsRequest *req,
                          s_replay_t *self)
{
    char token[CLI_LOG_TOKEN_MAX + 1] = "";
    int rc = PH_EXIT_OK;
    for (int page = 0; rc == PH_EXIT_OK && page < CLI_REPLAY_PAGES_MAX; page++) {
        ph_env_t *reply = NULL;
        req->next_token = token;
        rc = cli_logs_call (ctx, conn, req, &reply);
        if (rc != PH_EXIT_OK)
            break;
        const Porthole__V1__LogsReply *r = reply->logs_reply;
        for (size_t i = 0; rc == PH_EXIT_OK && i < r->n_events; i++)
            rc = s_on_line (self, r->events[i]);
        const char *next = r->next_forward_token;
        bool more = r->n_events > 0 && next && *next && strcmp (next, token) != 0 &&
                    strlen (next) <= CLI_LOG_TOKEN_MAX;
        snprintf (token, sizeof token, "%s", more ? next : "");
        ph_wire_free (&reply);
        if (!more)
            break;
    }
    if (rc == PH_EXIT_OK && self->line == 0)
        rc = cli_error (PH_EXIT_API,
                        "log group %s holds no recording of session %s (yet); is the "
                        "session's log group another one (--log-group)?",
                        req->log_group_name, self->session);
    return rc;
}

/*  Reads SESSION_ID and --log-group into req. Returns an exit code. */
static int s_stream_options (const cli_ctx_t *ctx, const cli_args_t *args,
                             Porthole__V1__LogsRequest *req)
{
    const char *id = cli_args_get (args, "session-id");
    const char *group;
    int rc = cli_check_session_id (ctx->verb, id);
    if (rc == PH_EXIT_OK)
        rc = cli_logs_name_option (ctx, args, "log-group", false, &group);
    if (rc != PH_EXIT_OK)
        return rc;
    req->op = "GetLogEvents";
    req->log_group_name = (char *)(group ? group : CLI_LOG_GROUP_DEFAULT);
    req->log_stream_name = (char *)id;
    req->start_from_head = true;
    req->limit = CLI_LOG_LIMIT_MAX;
    return PH_EXIT_OK;
}

static int s_run (cli_ctx_t *ctx, const cli_args_t *args, s_replay_t *self)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    int rc = s_stream_options (ctx, args, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    self->session = req.log_stream_name;
    cli_conn_t *conn;
    rc = cli_connect (ctx, &conn, NULL);
    if (rc != PH_EXIT_OK)
        return rc;
    rc = s_read_stream (ctx, conn, &req, self);
    cli_conn_destroy (&conn, 0);
    fflush (stdout);
    return rc;
}

int cli_verb_session_replay (cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *text = cli_args_get (args, "speed");
    s_replay_t self = {1.0, 0, 0, false, NULL};
    if (text) {
        char *end;
        self.speed = strtod (text, &end);
        if (end == text || *end || !isfinite (self.speed) || self.speed < 0 ||
            self.speed > CLI_REPLAY_SPEED_MAX)
            return cli_usage_error (ctx->verb,
                                    "--speed '%s' is not a number in 0..%g (2 = twice as fast, "
                                    "0 = no waiting)",
                                    text, CLI_REPLAY_SPEED_MAX);
    }
    return s_run (ctx, args, &self);
}

int cli_verb_session_export (cli_ctx_t *ctx, const cli_args_t *args)
{
    s_replay_t self = {0, 0, 0, true, NULL};
    return s_run (ctx, args, &self);
}

/* ---- the group ---------------------------------------------------------------- */

static const cli_opt_t s_replay_opts[] = {
    {"session-id", 0}, {"speed", 0}, {"log-group", 0}, {NULL, 0}};
static const cli_opt_t s_export_opts[] = {{"session-id", 0}, {"log-group", 0}, {NULL, 0}};

static const cli_verb_t s_session_verbs[] = {
    {"session replay", cli_verb_session_replay, s_replay_opts,
     "play a session's recorded output with its timing", "--session-id"},
    {"session export", cli_verb_session_export, s_export_opts,
     "write a session's recording as an asciicast v2 file", "--session-id"},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_group_t cli_session_group = {
    "session", "play back or export a session's recording",
    "Recordings of interactive sessions: the agent ships every session's terminal\n"
    "output, as asciicast v2 events, to the log stream SESSION_ID of the log group\n"
    "of the preferences (porthole/sessions by default).\n",
    s_session_verbs};
