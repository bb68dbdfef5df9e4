/*  cli_verbs: see cli_verbs.h. Each verb: check the options (usage errors
 *  before any network traffic), build the request, cli_conn_call, turn the
 *  reply into a JSON document with aws-style member names, print it. */
#include "cli_verbs.h"
#include "cli_filter.h"
#include "cli_output.h"
#include "ph_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CLI_REG_LIMIT_DEFAULT   "1"
#define CLI_REG_LIMIT_MAX       1000
#define CLI_EXPIRES_DEFAULT     "24h"
#define CLI_EXPIRES_MIN_S       60
#define CLI_EXPIRES_MAX_S       (30 * 86400)
#define CLI_DESCRIPTION_MAX     256
#define CLI_MAX_RESULTS_MAX     200
#define CLI_INSTANCES_PAGE_MAX  1000   /* the controller's largest DescribeInstances page */
#define CLI_INSTANCES_PAGES_MAX 100000 /* pages of one listing: a guard against loops */
#define CLI_SESSION_HEX         17

int cli_connect (const cli_ctx_t *ctx, cli_conn_t **conn, cli_creds_t *creds)
{
    cli_creds_t local;
    if (!creds)
        creds = &local;
    int rc = cli_profile_load (ctx, creds);
    if (rc != PH_EXIT_OK)
        return rc;
    char err[512];
    *conn = cli_conn_new (creds->endpoint, creds->server_key, &creds->kp, err, sizeof err);
    if (!*conn)
        return cli_error (PH_EXIT_CONFIG, "%s", err);
    return PH_EXIT_OK;
}

int cli_check_session_id (const char *verb, const char *id)
{
    size_t len = id ? strlen (id) : 0;
    bool ok = len > CLI_SESSION_HEX + 1 && len <= 128 && id[len - CLI_SESSION_HEX - 1] == '-';
    for (size_t i = len - CLI_SESSION_HEX; ok && i < len; i++)
        ok = isxdigit ((unsigned char)id[i]);
    if (ok)
        return PH_EXIT_OK;
    if (!id)
        return cli_usage_error (verb,
                                "%s needs --session-id ID (see porthole describe-sessions "
                                "--state Active)",
                                verb);
    return cli_usage_error (verb,
                            "'%s' is not a session id; they look like alice-0a1b2c3d4e5f60718 "
                            "(see porthole describe-sessions --state Active)",
                            id);
}

int cli_run_request (cli_ctx_t *ctx, ph_env_t *req, ph_body_t expect,
                     json_t *(*to_json) (const ph_env_t *reply), const cli_view_t *view)
{
    cli_conn_t *conn;
    ph_env_t *reply = NULL;
    int rc = cli_connect (ctx, &conn, NULL);
    if (rc != PH_EXIT_OK)
        return rc;
    rc = cli_conn_call (ctx, conn, req, expect, &reply);
    if (rc == PH_EXIT_OK && to_json) {
        json_t *doc = to_json (reply);
        if (!doc || cli_output_print (ctx, doc, view) != 0)
            rc = cli_error (PH_EXIT_API, "cannot write the output");
        json_decref (doc);
    }
    ph_wire_free (&reply);
    cli_conn_destroy (&conn, 0);
    return rc;
}

/* ---- create-activation ------------------------------------------------- */

static json_t *s_activation_json (const ph_env_t *reply)
{
    const Porthole__V1__CreateActivationReply *r = reply->create_activation_reply;
    return json_pack ("{s:o, s:o, s:o, s:I}", "ActivationId", cli_json_str (r->activation_id),
                      "ActivationCode", cli_json_str (r->activation_code), "ExpirationDate",
                      cli_json_time (r->expiration_ms), "RegistrationLimit",
                      (json_int_t)r->registration_limit);
}

static const cli_col_t s_activation_cols[] = {{"ActivationId", "ActivationId"},
                                              {"ActivationCode", "ActivationCode"},
                                              {"ExpirationDate", "ExpirationDate"},
                                              {"RegistrationLimit", "RegistrationLimit"},
                                              {NULL, NULL}};
static const char *const s_activation_text[] = {"ActivationId", "ActivationCode", NULL};
static const cli_view_t s_activation_view = {NULL, s_activation_cols, s_activation_text, NULL};

/*  Parses the options of create-activation into req. Returns an exit code. */
static int s_activation_options (const cli_ctx_t *ctx, const cli_args_t *args,
                                 Porthole__V1__CreateActivationRequest *req, ph_tag_t *tags,
                                 Porthole__V1__Tag *wire_tags, Porthole__V1__Tag **tag_ptrs)
{
    static const Porthole__V1__Tag tag_init = PORTHOLE__V1__TAG__INIT;
    const char *limit = cli_args_get (args, "registration-limit");
    const char *expires = cli_args_get (args, "expires-in");
    const char *description = cli_args_get (args, "description");
    uint64_t n, seconds;
    char err[512];
    int ntags = ph_parse_tags (cli_args_get (args, "tags"), tags, PH_TAGS_MAX, err, sizeof err);
    if (ntags < 0)
        return cli_usage_error (ctx->verb, "--tags: %s", err);
    if (ph_parse_uint (limit ? limit : CLI_REG_LIMIT_DEFAULT, 1, CLI_REG_LIMIT_MAX, &n) != 0)
        return cli_usage_error (ctx->verb, "--registration-limit '%s' is not a number in 1..%d",
                                limit, CLI_REG_LIMIT_MAX);
    if (ph_parse_duration (expires ? expires : CLI_EXPIRES_DEFAULT, &seconds) != 0 ||
        seconds < CLI_EXPIRES_MIN_S || seconds > CLI_EXPIRES_MAX_S)
        return cli_usage_error (ctx->verb,
                                "--expires-in '%s' is not a duration from 1m to 30d "
                                "(e.g. 90m, 24h, 7d)",
                                expires);
    if (description && strlen (description) > CLI_DESCRIPTION_MAX)
        return cli_usage_error (ctx->verb, "--description is over %d characters",
                                CLI_DESCRIPTION_MAX);
    for (int i = 0; i < ntags; i++) {
        wire_tags[i] = tag_init;
        wire_tags[i].key = tags[i].key;
        wire_tags[i].value = tags[i].value;
        tag_ptrs[i] = &wire_tags[i];
    }
    req->n_tags = (size_t)ntags;
    req->tags = tag_ptrs;
    req->registration_limit = (uint32_t)n;
    req->expires_in_s = seconds;
    req->description = (char *)(description ? description : "");
    return PH_EXIT_OK;
}

int cli_verb_create_activation (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__CreateActivationRequest req = PORTHOLE__V1__CREATE_ACTIVATION_REQUEST__INIT;
    ph_tag_t tags[PH_TAGS_MAX];
    Porthole__V1__Tag wire_tags[PH_TAGS_MAX];
    Porthole__V1__Tag *tag_ptrs[PH_TAGS_MAX];
    int rc = s_activation_options (ctx, args, &req, tags, wire_tags, tag_ptrs);
    if (rc != PH_EXIT_OK)
        return rc;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION;
    env.create_activation = &req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY,
                            s_activation_json, &s_activation_view);
}

/* ---- describe-instance-information ------------------------------------- */

static json_t *s_tags_json (Porthole__V1__Tag **tags, size_t n)
{
    json_t *list = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (list, json_pack ("{s:o, s:o}", "Key", cli_json_str (tags[i]->key),
                                                "Value", cli_json_str (tags[i]->value)));
    return list;
}

static json_t *s_instance_json (const Porthole__V1__InstanceInfo *i)
{
    return json_pack (
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "InstanceId",
        cli_json_str (i->instance_id), "PingStatus", cli_json_str (i->ping_status),
        "LastPingDateTime", cli_json_time (i->last_ping_ms), "AgentVersion",
        cli_json_str (i->agent_version), "PlatformName", cli_json_str (i->platform_name),
        "ComputerName", cli_json_str (i->computer_name), "IPAddress", cli_json_str (i->ip_address),
        "Tags", s_tags_json (i->tags, i->n_tags), "RegistrationDate",
        cli_json_time (i->registration_ms), "ActivationId", cli_json_str (i->activation_id));
}

static const cli_col_t s_instance_cols[] = {{"InstanceId", "InstanceId"},
                                            {"PingStatus", "PingStatus"},
                                            {"ComputerName", "ComputerName"},
                                            {"IPAddress", "IPAddress"},
                                            {"PlatformName", "PlatformName"},
                                            {"AgentVersion", "AgentVersion"},
                                            {"LastPingDateTime", "LastPing"},
                                            {"Tags", "Tags"},
                                            {NULL, NULL}};
static const char *const s_instance_text[] = {"InstanceId",
                                              "PingStatus",
                                              "LastPingDateTime",
                                              "AgentVersion",
                                              "PlatformName",
                                              "ComputerName",
                                              "IPAddress",
                                              "Tags",
                                              "RegistrationDate",
                                              "ActivationId",
                                              NULL};
/*  Every page fetched: one list. One page: with its NextToken. */
static const cli_view_t s_instance_view = {"InstanceInformationList", s_instance_cols,
                                           s_instance_text, NULL};
static const cli_view_t s_instance_page_view = {"InstanceInformationList", s_instance_cols,
                                                s_instance_text, "NextToken"};

/*  Parses the options of describe-instance-information into req (the
 *  first request). *all: fetch every page, as aws does unless it is given
 *  --max-results, --next-token or --no-paginate; it then asks for the
 *  largest pages. Returns an exit code. */
static int s_instances_options (const cli_ctx_t *ctx, const cli_args_t *args,
                                Porthole__V1__DescribeInstancesRequest *req, cli_filters_t *filters,
                                bool *all)
{
    const char *max = cli_args_get (args, "max-results");
    const char *token = cli_args_get (args, "next-token");
    uint64_t n = 0;
    char err[512];
    if (max && ph_parse_uint (max, 1, CLI_INSTANCES_PAGE_MAX, &n) != 0)
        return cli_usage_error (ctx->verb, "--max-results '%s' is not a number in 1..%d", max,
                                CLI_INSTANCES_PAGE_MAX);
    if (token && !*token)
        return cli_usage_error (ctx->verb, "--next-token needs the NextToken that an earlier "
                                           "page printed");
    if (cli_filters_parse (filters, args, NULL, err, sizeof err) != 0)
        return cli_usage_error (ctx->verb, "--filters: %s", err);
    *all = !max && !token && !cli_args_has (args, "no-paginate");
    req->max_results = *all ? CLI_INSTANCES_PAGE_MAX : (uint32_t)n;
    req->next_token = (char *)(token ? token : "");
    req->n_filters = filters->count;
    req->filters = filters->items;
    return PH_EXIT_OK;
}

/*  Sends req and, when all is set, the requests for the following pages
 *  until a reply has no next_token; appends the instances to list. *next
 *  gets the last reply's next_token (heap; NULL on the last page). Returns
 *  an exit code. Blocks up to ctx->timeout_s per page. */
static int s_fetch_instances (cli_ctx_t *ctx, cli_conn_t *conn,
                              Porthole__V1__DescribeInstancesRequest *req, bool all, json_t *list,
                              char **next)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES;
    env.describe_instances = req;
    char *token = NULL;
    int rc = PH_EXIT_OK;
    for (size_t pages = 0; rc == PH_EXIT_OK; pages++) {
        ph_env_t *reply = NULL;
        rc = cli_conn_call (ctx, conn, &env, PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY,
                            &reply);
        if (rc != PH_EXIT_OK)
            break;
        const Porthole__V1__DescribeInstancesReply *r = reply->describe_instances_reply;
        for (size_t i = 0; i < r->n_instances; i++)
            json_array_append_new (list, s_instance_json (r->instances[i]));
        const char *got = r->next_token && *r->next_token ? r->next_token : NULL;
        bool repeated = got && token && strcmp (got, token) == 0;
        free (token);
        token = got ? strdup (got) : NULL;
        ph_wire_free (&reply);
        if (repeated || pages + 1 == CLI_INSTANCES_PAGES_MAX)
            rc = cli_error (PH_EXIT_API,
                            "the controller keeps answering with more pages (NextToken %s); "
                            "is it the same version as the CLI?",
                            token ? token : "");
        if (!all || !token)
            break;
        req->next_token = token;
    }
    if (rc != PH_EXIT_OK)
        free (token);
    *next = rc == PH_EXIT_OK ? token : NULL;
    return rc;
}

int cli_verb_describe_instances (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__DescribeInstancesRequest req = PORTHOLE__V1__DESCRIBE_INSTANCES_REQUEST__INIT;
    cli_filters_t filters;
    memset (&filters, 0, sizeof filters);
    bool all = true;
    cli_conn_t *conn = NULL;
    char *next = NULL;
    json_t *list = json_array ();
    int rc = s_instances_options (ctx, args, &req, &filters, &all);
    if (rc != PH_EXIT_OK || (rc = cli_connect (ctx, &conn, NULL)) != PH_EXIT_OK)
        goto out_free;
    rc = s_fetch_instances (ctx, conn, &req, all, list, &next);
    if (rc != PH_EXIT_OK)
        goto out_free;
    json_t *doc = json_pack ("{s:O}", "InstanceInformationList", list);
    if (doc && !all)
        json_object_set_new (doc, "NextToken", next ? json_string (next) : json_null ());
    if (!doc || cli_output_print (ctx, doc, all ? &s_instance_view : &s_instance_page_view) != 0)
        rc = cli_error (PH_EXIT_API, "cannot write the output");
    json_decref (doc);
out_free:
    free (next);
    json_decref (list);
    cli_conn_destroy (&conn, 0);
    cli_filters_free (&filters);
    return rc;
}

/* ---- terminate-session ------------------------------------------------- */

static json_t *s_terminated_json (const ph_env_t *reply)
{
    return json_pack ("{s:o}", "SessionId",
                      cli_json_str (reply->terminate_session_reply->session_id));
}

static const cli_col_t s_terminated_cols[] = {{"SessionId", "SessionId"}, {NULL, NULL}};
static const cli_view_t s_terminated_view = {NULL, s_terminated_cols, NULL, NULL};

int cli_verb_terminate_session (cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *id = cli_args_get (args, "session-id");
    int rc = cli_check_session_id (ctx->verb, id);
    if (rc != PH_EXIT_OK)
        return rc;
    Porthole__V1__TerminateSessionRequest req = PORTHOLE__V1__TERMINATE_SESSION_REQUEST__INIT;
    req.session_id = (char *)id;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION;
    env.terminate_session = &req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION_REPLY,
                            s_terminated_json, &s_terminated_view);
}

/* ---- describe-sessions ------------------------------------------------- */

static json_t *s_session_json (const Porthole__V1__SessionInfo *s)
{
    json_t *o =
        json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "SessionId", cli_json_str (s->session_id),
                   "Target", cli_json_str (s->target), "Status", cli_json_str (s->status),
                   "StartDate", cli_json_time (s->start_ms), "EndDate", cli_json_time (s->end_ms),
                   "Owner", cli_json_str (s->owner), "Reason", cli_json_str (s->reason));
    if (s->document && *s->document)
        json_object_set_new (o, "DocumentName", cli_json_str (s->document));
    if (s->has_exit_code) {
        char details[64];
        snprintf (details, sizeof details, "exit status %d", s->exit_code);
        json_object_set_new (o, "ExitCode", json_integer (s->exit_code));
        json_object_set_new (o, "Details", json_string (details));
    }
    return o;
}

static json_t *s_sessions_json (const ph_env_t *reply)
{
    const Porthole__V1__DescribeSessionsReply *r = reply->describe_sessions_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_sessions; i++)
        json_array_append_new (list, s_session_json (r->sessions[i]));
    json_t *next = r->next_token && *r->next_token ? json_string (r->next_token) : json_null ();
    return json_pack ("{s:o, s:o}", "Sessions", list, "NextToken", next);
}

static const cli_col_t s_session_cols[] = {
    {"SessionId", "SessionId"}, {"Target", "Target"},   {"Status", "Status"}, {"Owner", "Owner"},
    {"StartDate", "StartDate"}, {"EndDate", "EndDate"}, {"Reason", "Reason"}, {NULL, NULL}};
static const char *const s_session_text[] = {"SessionId", "Target", "Status", "StartDate",
                                             "EndDate",   "Owner",  "Reason", NULL};
static const cli_view_t s_session_view = {"Sessions", s_session_cols, s_session_text, "NextToken"};

static const char *const s_session_filter_keys[] = {"Target", "Owner", "Status", NULL};

/*  Parses the options of describe-sessions into req. Returns an exit code. */
static int s_sessions_options (const cli_ctx_t *ctx, const cli_args_t *args,
                               Porthole__V1__DescribeSessionsRequest *req, cli_filters_t *filters)
{
    const char *state = cli_args_get (args, "state");
    const char *max = cli_args_get (args, "max-results");
    uint64_t n = 0;
    char err[512];
    if (!state)
        return cli_usage_error (ctx->verb, "describe-sessions needs --state Active or --state "
                                           "History");
    if (strcasecmp (state, "Active") != 0 && strcasecmp (state, "History") != 0)
        return cli_usage_error (ctx->verb, "--state '%s' is neither Active nor History", state);
    if (max && ph_parse_uint (max, 1, CLI_MAX_RESULTS_MAX, &n) != 0)
        return cli_usage_error (ctx->verb, "--max-results '%s' is not a number in 1..%d", max,
                                CLI_MAX_RESULTS_MAX);
    if (cli_filters_parse (filters, args, s_session_filter_keys, err, sizeof err) != 0)
        return cli_usage_error (ctx->verb, "--filters: %s", err);
    req->state = (char *)(strcasecmp (state, "Active") == 0 ? "Active" : "History");
    req->max_results = (uint32_t)n;
    req->next_token =
        (char *)(cli_args_has (args, "next-token") ? cli_args_get (args, "next-token") : "");
    req->n_filters = filters->count;
    req->filters = filters->items;
    return PH_EXIT_OK;
}

int cli_verb_describe_sessions (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__DescribeSessionsRequest req = PORTHOLE__V1__DESCRIBE_SESSIONS_REQUEST__INIT;
    cli_filters_t filters;
    memset (&filters, 0, sizeof filters);
    int rc = s_sessions_options (ctx, args, &req, &filters);
    if (rc == PH_EXIT_OK) {
        ph_env_t env = PH_ENV_INIT;
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS;
        env.describe_sessions = &req;
        rc = cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS_REPLY,
                              s_sessions_json, &s_session_view);
    }
    cli_filters_free (&filters);
    return rc;
}
