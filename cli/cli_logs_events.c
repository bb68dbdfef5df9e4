/*  cli_logs_events: the `porthole logs` verbs that read events:
 *    get-log-events     one stream, a page at a time, with the forward and
 *                       backward tokens of aws logs ("f/ID", "b/ID");
 *    filter-log-events  a group's streams searched with a filter pattern
 *                       (the language of metric filters, ph_pattern.h),
 *                       with nextToken;
 *    tail               FilterLogEvents polled every 500 ms from the last
 *                       timestamp seen, one "TIMESTAMP STREAM MESSAGE"
 *                       line per event.
 */
#include "cli_logs.h"
#include "cli_verbs.h"
#include "ph_pattern.h"
#include "ph_util.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define CLI_TAIL_POLL_MS   500
#define CLI_TAIL_SINCE     "10m"
#define CLI_TAIL_SEEN_MAX  4096 /* event ids remembered at the last timestamp */
#define CLI_TAIL_PAGES_MAX 1000 /* pages read in one poll */

/* ---- shared --------------------------------------------------------------- */

/*  Reads --start-time and --end-time into req; returns an exit code. */
static int s_time_range (const cli_ctx_t *ctx, const cli_args_t *args,
                         Porthole__V1__LogsRequest *req)
{
    int rc = cli_logs_time_option (ctx, args, "start-time", &req->start_time);
    if (rc == PH_EXIT_OK)
        rc = cli_logs_time_option (ctx, args, "end-time", &req->end_time);
    if (rc == PH_EXIT_OK && req->start_time && req->end_time && req->start_time > req->end_time)
        return cli_usage_error (ctx->verb, "--start-time is after --end-time");
    return rc;
}

/*  Reads --limit (1..CLI_LOG_LIMIT_MAX) into req; returns an exit code. */
static int s_limit_option (const cli_ctx_t *ctx, const cli_args_t *args,
                           Porthole__V1__LogsRequest *req)
{
    const char *limit = cli_args_get (args, "limit");
    uint64_t n = 0;
    if (limit && ph_parse_uint (limit, 1, CLI_LOG_LIMIT_MAX, &n) != 0)
        return cli_usage_error (ctx->verb, "--limit '%s' is not a number in 1..%d", limit,
                                CLI_LOG_LIMIT_MAX);
    req->limit = (uint32_t)n;
    return PH_EXIT_OK;
}

/*  Reads --filter-pattern into req; returns an exit code. */
static int s_pattern_option (const cli_ctx_t *ctx, const cli_args_t *args,
                             Porthole__V1__LogsRequest *req)
{
    const char *pattern = cli_args_get (args, "filter-pattern");
    if (!pattern)
        return PH_EXIT_OK;
    size_t len = strlen (pattern);
    if (len > CLI_LOG_PATTERN_MAX || !ph_utf8_valid (pattern, len))
        return cli_usage_error (ctx->verb, "--filter-pattern is not UTF-8 text of at most %d bytes",
                                CLI_LOG_PATTERN_MAX);
    char err[PH_PATTERN_ERR_MAX];
    ph_pattern_t *compiled = ph_pattern_new (pattern, err, sizeof err);
    if (!compiled)
        return cli_usage_error (ctx->verb,
                                "--filter-pattern '%s': %s (try a pattern with porthole logs "
                                "test-metric-filter)",
                                pattern, err);
    ph_pattern_destroy (&compiled);
    req->filter_pattern = (char *)pattern;
    return PH_EXIT_OK;
}

static json_t *s_event_json (const Porthole__V1__LogEvent *e, const char *stream)
{
    json_t *doc = json_object ();
    if (stream)
        json_object_set_new (doc, "logStreamName", cli_json_str (stream));
    json_object_set_new (doc, "timestamp", json_integer ((json_int_t)e->timestamp_ms));
    json_object_set_new (doc, "message", cli_json_str (e->message));
    json_object_set_new (doc, "ingestionTime", json_integer ((json_int_t)e->ingestion_ms));
    if (stream)
        json_object_set_new (doc, "eventId", cli_json_str (e->event_id));
    return doc;
}

static json_t *s_token_json (const char *token)
{
    return token && *token ? json_string (token) : json_null ();
}

/* ---- get-log-events ----------------------------------------------------------- */

static json_t *s_get_events_json (const ph_env_t *reply)
{
    const Porthole__V1__LogsReply *r = reply->logs_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_events; i++)
        json_array_append_new (list, s_event_json (r->events[i], NULL));
    return json_pack ("{s:o, s:o, s:o}", "events", list, "nextForwardToken",
                      s_token_json (r->next_forward_token), "nextBackwardToken",
                      s_token_json (r->next_backward_token));
}

static const cli_col_t s_get_cols[] = {
    {"timestamp", "Timestamp"}, {"message", "Message"}, {NULL, NULL}};
static const char *const s_get_text[] = {"timestamp", "message", "ingestionTime", NULL};
static const cli_view_t s_get_view = {"events", s_get_cols, s_get_text, "nextForwardToken"};

int cli_verb_logs_get_log_events (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *group, *stream;
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc == PH_EXIT_OK)
        rc = cli_logs_name_option (ctx, args, "log-stream-name", true, &stream);
    if (rc == PH_EXIT_OK)
        rc = s_time_range (ctx, args, &req);
    if (rc == PH_EXIT_OK)
        rc = cli_logs_token_option (ctx, args, &req);
    if (rc == PH_EXIT_OK)
        rc = s_limit_option (ctx, args, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    if (*req.next_token && strncmp (req.next_token, "f/", 2) != 0 &&
        strncmp (req.next_token, "b/", 2) != 0)
        return cli_usage_error (ctx->verb,
                                "--next-token '%s' is not a nextForwardToken or "
                                "nextBackwardToken that get-log-events printed (f/... or b/...)",
                                req.next_token);
    req.op = "GetLogEvents";
    req.log_group_name = (char *)group;
    req.log_stream_name = (char *)stream;
    req.start_from_head = cli_args_has (args, "start-from-head");
    return cli_logs_run (ctx, &req, s_get_events_json, &s_get_view);
}

/* ---- filter-log-events --------------------------------------------------------- */

static json_t *s_filter_json (const ph_env_t *reply)
{
    const Porthole__V1__LogsReply *r = reply->logs_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_events; i++)
        json_array_append_new (
            list, s_event_json (r->events[i], i < r->n_event_streams ? r->event_streams[i] : ""));
    return json_pack ("{s:o, s:o}", "events", list, "nextToken", s_token_json (r->next_token));
}

static const cli_col_t s_filter_cols[] = {{"logStreamName", "LogStreamName"},
                                          {"timestamp", "Timestamp"},
                                          {"message", "Message"},
                                          {NULL, NULL}};
static const char *const s_filter_text[] = {"logStreamName", "timestamp", "message",
                                            "ingestionTime", "eventId",   NULL};
static const cli_view_t s_filter_view = {"events", s_filter_cols, s_filter_text, "nextToken"};

/*  Reads the options of filter-log-events into req; names (CLI_LOG_STREAM_NAMES
 *  entries) receives the stream names. Returns an exit code. */
static int s_filter_options (const cli_ctx_t *ctx, const cli_args_t *args,
                             Porthole__V1__LogsRequest *req, char **names)
{
    const char *group;
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc == PH_EXIT_OK)
        rc = s_time_range (ctx, args, req);
    if (rc == PH_EXIT_OK)
        rc = cli_logs_token_option (ctx, args, req);
    if (rc == PH_EXIT_OK)
        rc = s_pattern_option (ctx, args, req);
    if (rc == PH_EXIT_OK)
        rc = s_limit_option (ctx, args, req);
    if (rc != PH_EXIT_OK)
        return rc;
    size_t n = cli_args_count (args, "log-stream-names");
    if (n > CLI_LOG_STREAM_NAMES)
        return cli_usage_error (ctx->verb, "--log-stream-names takes at most %d names",
                                CLI_LOG_STREAM_NAMES);
    for (size_t i = 0; i < n; i++) {
        const char *name = cli_args_nth (args, "log-stream-names", i);
        if (!cli_logs_name_valid (name))
            return cli_usage_error (ctx->verb,
                                    "--log-stream-names '%s' is not a log stream name: 1..%d "
                                    "letters, digits and _.-/#",
                                    name, CLI_LOG_NAME_MAX);
        names[i] = (char *)name;
    }
    req->op = "FilterLogEvents";
    req->log_group_name = (char *)group;
    req->log_stream_names = names;
    req->n_log_stream_names = n;
    return PH_EXIT_OK;
}

int cli_verb_logs_filter_log_events (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    char *names[CLI_LOG_STREAM_NAMES];
    int rc = s_filter_options (ctx, args, &req, names);
    if (rc != PH_EXIT_OK)
        return rc;
    return cli_logs_run (ctx, &req, s_filter_json, &s_filter_view);
}

/* ---- tail ------------------------------------------------------------------------- */

typedef struct {
    uint64_t last_ts;              /* newest timestamp printed */
    char *seen[CLI_TAIL_SEEN_MAX]; /* event ids printed at last_ts */
    size_t nseen;
} s_tail_t;

static void s_tail_forget (s_tail_t *self)
{
    for (size_t i = 0; i < self->nseen; i++)
        zstr_free (&self->seen[i]);
    self->nseen = 0;
}

static bool s_tail_seen (const s_tail_t *self, const Porthole__V1__LogEvent *e)
{
    if (e->timestamp_ms != self->last_ts)
        return e->timestamp_ms < self->last_ts;
    for (size_t i = 0; i < self->nseen; i++)
        if (strcmp (self->seen[i], e->event_id) == 0)
            return true;
    return false;
}

/*  Prints e unless it was printed already, and remembers it. */
static void s_tail_print (s_tail_t *self, const Porthole__V1__LogEvent *e, const char *stream)
{
    if (s_tail_seen (self, e))
        return;
    if (e->timestamp_ms > self->last_ts) {
        s_tail_forget (self);
        self->last_ts = e->timestamp_ms;
    }
    if (self->nseen < CLI_TAIL_SEEN_MAX)
        self->seen[self->nseen++] = strdup (e->event_id);
    char when[40];
    ph_format_time (e->timestamp_ms, when, sizeof when);
    const char *msg = e->message;
    size_t len = strlen (msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        len--;
    printf ("%s %s %.*s\n", when, stream, (int)len, msg);
}

/*  Reads every page of FilterLogEvents from tail->last_ts and prints the
 *  new events. Returns an exit code. */
static int s_tail_poll (const cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__LogsRequest *req,
                        s_tail_t *tail)
{
    char token[CLI_LOG_TOKEN_MAX + 1] = "";
    int rc = PH_EXIT_OK;
    for (int page = 0; rc == PH_EXIT_OK && page < CLI_TAIL_PAGES_MAX; page++) {
        ph_env_t *reply = NULL;
        req->start_time = tail->last_ts;
        req->next_token = token;
        rc = cli_logs_call (ctx, conn, req, &reply);
        if (rc != PH_EXIT_OK)
            break;
        const Porthole__V1__LogsReply *r = reply->logs_reply;
        for (size_t i = 0; i < r->n_events; i++)
            s_tail_print (tail, r->events[i], i < r->n_event_streams ? r->event_streams[i] : "");
        bool more = r->next_token && *r->next_token && strcmp (r->next_token, token) != 0;
        snprintf (token, sizeof token, "%s", more ? r->next_token : "");
        ph_wire_free (&reply);
        if (!more)
            break;
    }
    fflush (stdout);
    return rc;
}

int cli_verb_logs_tail (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *since = cli_args_get (args, "since"), *group;
    uint64_t seconds;
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc == PH_EXIT_OK)
        rc = s_pattern_option (ctx, args, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    if (ph_parse_duration (since ? since : CLI_TAIL_SINCE, &seconds) != 0)
        return cli_usage_error (ctx->verb, "--since '%s' is not a duration (e.g. 30s, 10m, 2h, 1d)",
                                since);
    req.op = "FilterLogEvents";
    req.log_group_name = (char *)group;
    cli_conn_t *conn;
    rc = cli_connect (ctx, &conn, NULL);
    if (rc != PH_EXIT_OK)
        return rc;
    s_tail_t *tail = zmalloc (sizeof *tail);
    uint64_t now = ph_now_ms ();
    tail->last_ts = now > seconds * 1000 ? now - seconds * 1000 : 0;
    bool follow = cli_args_has (args, "follow");
    do {
        rc = s_tail_poll (ctx, conn, &req, tail);
        if (follow && rc == PH_EXIT_OK)
            zclock_sleep (CLI_TAIL_POLL_MS);
    } while (follow && rc == PH_EXIT_OK);
    s_tail_forget (tail);
    free (tail);
    cli_conn_destroy (&conn, 0);
    return rc;
}
