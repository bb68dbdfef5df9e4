/*  cli_audit: the `porthole audit` verbs (the aws cloudtrail counterparts)
 *  and their group table:
 *    lookup-events  the audit trail (ph:audit), newest first, filtered by
 *                   user, action and time, a page at a time;
 *    verify         asks the controller to walk the hash chain and says
 *                   whether it is intact or where it breaks.
 *  Every verb returns a process exit code; verify exits
 *  CLI_EXIT_NOT_INTACT when the trail was tampered with. */
#include "cli_group.h"
#include "cli_output.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CLI_EXIT_NOT_INTACT   1
#define CLI_LOOKUP_MAX        1000
#define CLI_EPOCH_SECONDS_MAX 32503680000ULL /* year 3000 */
#define CLI_STREAM_ID_MAX     64

int cli_verb_audit_lookup_events (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_audit_verify (cli_ctx_t *ctx, const cli_args_t *args);

/* ---- times ------------------------------------------------------------- */

/*  Parses the zone of an ISO 8601 time ("Z", "+02:00", "-0530", or none:
 *  UTC) into seconds east of UTC. Returns 0 or PH_EINVAL. */
static int s_parse_zone (const char *p, long *offset)
{
    int hh, mm, n = 0;
    *offset = 0;
    if (*p == 0 || strcmp (p, "Z") == 0 || strcmp (p, "z") == 0)
        return 0;
    if ((*p != '+' && *p != '-') ||
        (sscanf (p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 &&
         sscanf (p + 1, "%2d%2d%n", &hh, &mm, &n) != 2) ||
        p[1 + n] != 0 || hh > 23 || mm > 59)
        return PH_EINVAL;
    *offset = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return 0;
}

/*  Parses "2026-11-25T10:00:00Z" (optional .fff, a zone or none = UTC),
 *  "2026-11-25" (midnight UTC) or epoch seconds into ms. Returns 0 or
 *  PH_EINVAL. */
int cli_parse_time (const char *text, uint64_t *ms)
{
    uint64_t seconds;
    if (ph_parse_uint (text, 0, CLI_EPOCH_SECONDS_MAX, &seconds) == 0) {
        *ms = seconds * 1000;
        return 0;
    }
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    const char *p = strptime (text, "%Y-%m-%d", &tm);
    unsigned frac_ms = 0;
    if (p && (*p == 'T' || *p == 't' || *p == ' ')) {
        p = strptime (p + 1, "%H:%M:%S", &tm);
        if (p && *p == '.') {
            unsigned scale = 100;
            for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                frac_ms += (unsigned)(*p - '0') * scale;
        }
    }
    long offset;
    if (!p || s_parse_zone (p, &offset) != 0)
        return PH_EINVAL;
    time_t t = timegm (&tm);
    if (t == (time_t)-1 || t - offset < 0)
        return PH_EINVAL;
    *ms = (uint64_t)(t - offset) * 1000 + frac_ms;
    return 0;
}

/* ---- lookup-events ------------------------------------------------------ */

static json_t *s_event_json (const Porthole__V1__AuditEvent *e)
{
    char request_id[32];
    snprintf (request_id, sizeof request_id, "%" PRIu64, e->request_id);
    return json_pack (
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}", "EventId", cli_json_str (e->event_id),
        "EventTime", cli_json_time (e->time_ms), "Principal", cli_json_str (e->principal),
        "SourceIPAddress", cli_json_str (e->source_ip), "EventName", cli_json_str (e->action),
        "Resource", cli_json_str (e->resource), "Decision", cli_json_str (e->decision), "RequestId",
        request_id, "Result", cli_json_str (e->result));
}

static json_t *s_events_json (const ph_env_t *reply)
{
    const Porthole__V1__AuditLookupReply *r = reply->audit_lookup_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_events; i++)
        json_array_append_new (list, s_event_json (r->events[i]));
    json_t *next = r->next_token && *r->next_token ? json_string (r->next_token) : json_null ();
    return json_pack ("{s:o, s:o}", "Events", list, "NextToken", next);
}

static const cli_col_t s_event_cols[] = {{"EventTime", "EventTime"},    {"Principal", "Principal"},
                                         {"EventName", "EventName"},    {"Resource", "Resource"},
                                         {"Decision", "Decision"},      {"Result", "Result"},
                                         {"SourceIPAddress", "Source"}, {NULL, NULL}};
static const char *const s_event_text[] = {"EventId",   "EventTime", "Principal", "SourceIPAddress",
                                           "EventName", "Resource",  "Decision",  "RequestId",
                                           "Result",    NULL};
static const cli_view_t s_events_view = {"Events", s_event_cols, s_event_text, "NextToken"};

static int s_time_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                          uint64_t *ms)
{
    const char *text = cli_args_get (args, name);
    *ms = 0;
    if (text && cli_parse_time (text, ms) != 0)
        return cli_usage_error (ctx->verb,
                                "--%s '%s' is not a time: write 2026-11-25T10:00:00Z (ISO "
                                "8601) or seconds since the epoch",
                                name, text);
    return PH_EXIT_OK;
}

/*  Parses the options of lookup-events into req. Returns an exit code. */
static int s_lookup_options (const cli_ctx_t *ctx, const cli_args_t *args,
                             Porthole__V1__AuditLookupRequest *req)
{
    const char *user = cli_args_get (args, "user");
    const char *action = cli_args_get (args, "action");
    const char *max = cli_args_get (args, "max-results");
    const char *next = cli_args_get (args, "next-token");
    uint64_t n = 0;
    if (user && !ph_name_valid (user))
        return cli_usage_error (
            ctx->verb, "--user '%s' is not a user name (1..64 letters, digits and _.@-)", user);
    if (action && (!*action || strlen (action) > 128 || strpbrk (action, " \t\r\n")))
        return cli_usage_error (ctx->verb,
                                "--action '%s' is not an action such as session:StartSession "
                                "or session:* ",
                                action);
    if (max && ph_parse_uint (max, 1, CLI_LOOKUP_MAX, &n) != 0)
        return cli_usage_error (ctx->verb, "--max-results '%s' is not a number in 1..%d", max,
                                CLI_LOOKUP_MAX);
    if (next &&
        (strlen (next) > CLI_STREAM_ID_MAX || strspn (next, "0123456789-") != strlen (next)))
        return cli_usage_error (
            ctx->verb, "--next-token '%s' is not a token that lookup-events printed", next);
    int rc = s_time_option (ctx, args, "start-time", &req->start_ms);
    if (rc == PH_EXIT_OK)
        rc = s_time_option (ctx, args, "end-time", &req->end_ms);
    if (rc != PH_EXIT_OK)
        return rc;
    if (req->start_ms && req->end_ms && req->start_ms > req->end_ms)
        return cli_usage_error (ctx->verb, "--start-time is after --end-time");
    req->user = (char *)(user ? user : "");
    req->action = (char *)(action ? action : "");
    req->max_results = (uint32_t)n;
    req->next_token = (char *)(next ? next : "");
    return PH_EXIT_OK;
}

int cli_verb_audit_lookup_events (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__AuditLookupRequest req = PORTHOLE__V1__AUDIT_LOOKUP_REQUEST__INIT;
    int rc = s_lookup_options (ctx, args, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_AUDIT_LOOKUP;
    env.audit_lookup = &req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_AUDIT_LOOKUP_REPLY,
                            s_events_json, &s_events_view);
}

/* ---- verify ---------------------------------------------------------------- */

static int s_print_verify (const cli_ctx_t *ctx, const Porthole__V1__AuditVerifyReply *r)
{
    if (ctx->output == CLI_OUT_JSON) {
        json_t *doc =
            json_pack ("{s:b, s:I, s:o, s:o}", "Intact", (int)r->intact, "Checked",
                       (json_int_t)r->checked, "BrokenEventId",
                       r->broken_event_id && *r->broken_event_id ? json_string (r->broken_event_id)
                                                                 : json_null (),
                       "Reason", r->reason && *r->reason ? cli_json_str (r->reason) : json_null ());
        static const cli_view_t view = {NULL, NULL, NULL, NULL};
        int rc = doc ? cli_output_print (ctx, doc, &view) : PH_ENOMEM;
        json_decref (doc);
        return rc;
    }
    if (r->intact)
        printf ("intact: %" PRIu64 " events checked\n", r->checked);
    else
        printf ("broken at %s: %s\n", r->broken_event_id ? r->broken_event_id : "?",
                r->reason && *r->reason ? r->reason : "the chain does not hold");
    return fflush (stdout) == 0 ? 0 : PH_EIO;
}

int cli_verb_audit_verify (cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *from = cli_args_get (args, "from");
    if (from && (!*from || strlen (from) > CLI_STREAM_ID_MAX ||
                 strspn (from, "0123456789-") != strlen (from)))
        return cli_usage_error (ctx->verb,
                                "--from '%s' is not an event id such as 1764064800000-0 (see "
                                "porthole audit lookup-events)",
                                from);
    Porthole__V1__AuditVerifyRequest req = PORTHOLE__V1__AUDIT_VERIFY_REQUEST__INIT;
    req.from_id = (char *)(from ? from : "");
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_AUDIT_VERIFY;
    env.audit_verify = &req;
    cli_conn_t *conn;
    ph_env_t *reply = NULL;
    int rc = cli_connect (ctx, &conn, NULL);
    if (rc != PH_EXIT_OK)
        return rc;
    rc = cli_conn_call (ctx, conn, &env, PORTHOLE__V1__ENVELOPE__BODY_AUDIT_VERIFY_REPLY, &reply);
    if (rc == PH_EXIT_OK) {
        const Porthole__V1__AuditVerifyReply *r = reply->audit_verify_reply;
        if (s_print_verify (ctx, r) != 0)
            rc = cli_error (PH_EXIT_API, "cannot write the output");
        else if (!r->intact)
            rc = CLI_EXIT_NOT_INTACT;
    }
    ph_wire_free (&reply);
    cli_conn_destroy (&conn, 0);
    return rc;
}

/* ---- the group --------------------------------------------------------------- */

static const cli_opt_t s_lookup_opts[] = {{"user", 0},     {"action", 0},      {"start-time", 0},
                                          {"end-time", 0}, {"max-results", 0}, {"next-token", 0},
                                          {NULL, 0}};
static const cli_opt_t s_verify_opts[] = {{"from", 0}, {NULL, 0}};

static const cli_verb_t s_audit_verbs[] = {
    {"audit lookup-events", cli_verb_audit_lookup_events, s_lookup_opts,
     "list audit events, newest first, by user, action and time", NULL},
    {"audit verify", cli_verb_audit_verify, s_verify_opts,
     "check the audit trail's hash chain: intact, or where it breaks", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_group_t cli_audit_group = {
    "audit", "the audit trail: who did what; was it tampered with",
    "The audit trail: every API call (allowed or denied), enrollment and session\n"
    "event, each chained to the one before by SHA-256 so that an edit, insertion or\n"
    "deletion shows. The commands follow aws cloudtrail.\n",
    s_audit_verbs};
