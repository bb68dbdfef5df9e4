/*  cli_iam_policy: the policy verbs of `porthole iam` (see cli_iam.h):
 *  create, delete, get and list policies, attach them to users, and ask
 *  the controller's evaluator what it would decide (simulate).
 *
 *  The controller parses and checks policy documents (its error points at
 *  the place, e.g. "Statement[0].Action[1]: unknown action ..."); the CLI
 *  only reads the document and checks its size and encoding, so that a
 *  CLI older than the controller never refuses an action it learnt later. */
#include "cli_iam.h"
#include "ph_policy.h"
#include "ph_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_FILE_PREFIX "file://"

static json_t *s_policy_json (const Porthole__V1__Policy *p, bool with_document)
{
    json_t *o = json_pack ("{s:o, s:o, s:I}", "PolicyName", cli_json_str (p->name), "CreateDate",
                           cli_json_time (p->created_ms), "AttachmentCount",
                           (json_int_t)p->attachment_count);
    if (with_document) {
        json_t *doc = p->document ? json_loads (p->document, 0, NULL) : NULL;
        json_object_set_new (o, "PolicyDocument", doc ? doc : cli_json_str (p->document));
    }
    return o;
}

static const cli_col_t s_policy_cols[] = {{"PolicyName", "PolicyName"},
                                          {"AttachmentCount", "AttachmentCount"},
                                          {"CreateDate", "CreateDate"},
                                          {NULL, NULL}};
static const cli_view_t s_policies_view = {"Policies", s_policy_cols, NULL, NULL};
static const cli_view_t s_policy_view = {NULL, s_policy_cols, NULL, NULL};
static const cli_col_t s_policy_doc_cols[] = {{"PolicyName", "PolicyName"},
                                              {"AttachmentCount", "AttachmentCount"},
                                              {"CreateDate", "CreateDate"},
                                              {"PolicyDocument", "PolicyDocument"},
                                              {NULL, NULL}};
static const cli_view_t s_policy_doc_view = {NULL, s_policy_doc_cols, NULL, NULL};

/*  {"Policy": ...} of the reply's first policy (or of the request when the
 *  controller sent none back). */
static json_t *s_one_policy_json (const Porthole__V1__IamRequest *req,
                                  const Porthole__V1__IamReply *reply, bool with_document)
{
    if (reply->n_policies > 0)
        return json_pack ("{s:o}", "Policy", s_policy_json (reply->policies[0], with_document));
    Porthole__V1__Policy p = PORTHOLE__V1__POLICY__INIT;
    p.name = req->policy_name;
    p.document = req->policy_document;
    return json_pack ("{s:o}", "Policy", s_policy_json (&p, with_document));
}

static json_t *s_created_json (const Porthole__V1__IamRequest *req,
                               const Porthole__V1__IamReply *reply)
{
    return s_one_policy_json (req, reply, false);
}

static json_t *s_got_json (const Porthole__V1__IamRequest *req, const Porthole__V1__IamReply *reply)
{
    return s_one_policy_json (req, reply, true);
}

static json_t *s_list_json (const Porthole__V1__IamRequest *req,
                            const Porthole__V1__IamReply *reply)
{
    (void)req;
    json_t *list = json_array ();
    for (size_t i = 0; i < reply->n_policies; i++)
        json_array_append_new (list, s_policy_json (reply->policies[i], false));
    return json_pack ("{s:o}", "Policies", list);
}

/* ---- create-policy --------------------------------------------------------- */

/*  The document named by --policy-document: file://PATH or the JSON text
 *  itself. Returns a heap string or NULL after printing why. */
static char *s_read_document (const cli_ctx_t *ctx, const char *arg)
{
    size_t len;
    char *doc;
    if (strncmp (arg, CLI_FILE_PREFIX, strlen (CLI_FILE_PREFIX)) == 0) {
        const char *path = arg + strlen (CLI_FILE_PREFIX);
        doc = ph_file_read (path, PH_POLICY_DOC_MAX, &len);
        if (!doc) {
            cli_error (PH_EXIT_USAGE,
                       "--policy-document: cannot read %s (missing, unreadable, or over %d "
                       "bytes)",
                       path, PH_POLICY_DOC_MAX);
            return NULL;
        }
    } else {
        const char *p = arg + strspn (arg, " \t\r\n");
        if (*p != '{') {
            cli_usage_error (ctx->verb, "--policy-document must be file://PATH or the JSON "
                                        "document itself ({\"Version\": ...})");
            return NULL;
        }
        len = strlen (arg);
        if (len > PH_POLICY_DOC_MAX) {
            cli_usage_error (ctx->verb, "--policy-document is over %d bytes", PH_POLICY_DOC_MAX);
            return NULL;
        }
        doc = strdup (arg);
    }
    if (doc && (strlen (doc) != len || !ph_utf8_valid (doc, len))) {
        cli_error (PH_EXIT_USAGE, "--policy-document is not UTF-8 text");
        free (doc);
        return NULL;
    }
    return doc;
}

int cli_verb_iam_create_policy (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    const char *name;
    const char *arg = cli_args_get (args, "policy-document");
    int rc = cli_iam_name_option (ctx, args, "policy-name", "policy", &name);
    if (rc != PH_EXIT_OK)
        return rc;
    if (!arg)
        return cli_usage_error (ctx->verb,
                                "porthole %s needs --policy-document file://PATH (or the "
                                "JSON document itself)",
                                ctx->verb);
    char *doc = s_read_document (ctx, arg);
    if (!doc)
        return PH_EXIT_USAGE;
    req.op = "CreatePolicy";
    req.policy_name = (char *)name;
    req.policy_document = doc;
    rc = cli_iam_run (ctx, &req, s_created_json, &s_policy_view);
    free (doc);
    return rc;
}

/* ---- delete-policy, get-policy, list-policies -------------------------------- */

static int s_policy_name_verb (cli_ctx_t *ctx, const cli_args_t *args, const char *op,
                               cli_iam_json_fn *to_json, const cli_view_t *view)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    const char *name;
    int rc = cli_iam_name_option (ctx, args, "policy-name", "policy", &name);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = (char *)op;
    req.policy_name = (char *)name;
    return cli_iam_run (ctx, &req, to_json, view);
}

int cli_verb_iam_delete_policy (cli_ctx_t *ctx, const cli_args_t *args)
{
    return s_policy_name_verb (ctx, args, "DeletePolicy", NULL, NULL);
}

int cli_verb_iam_get_policy (cli_ctx_t *ctx, const cli_args_t *args)
{
    return s_policy_name_verb (ctx, args, "GetPolicy", s_got_json, &s_policy_doc_view);
}

int cli_verb_iam_list_policies (cli_ctx_t *ctx, const cli_args_t *args)
{
    (void)args;
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    req.op = "ListPolicies";
    return cli_iam_run (ctx, &req, s_list_json, &s_policies_view);
}

/* ---- attach-user-policy, detach-user-policy ---------------------------------- */

static int s_attach_verb (cli_ctx_t *ctx, const cli_args_t *args, const char *op)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    const char *user, *name;
    int rc = cli_iam_name_option (ctx, args, "user", "user", &user);
    if (rc == PH_EXIT_OK)
        rc = cli_iam_name_option (ctx, args, "policy-name", "policy", &name);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = (char *)op;
    req.user = (char *)user;
    req.policy_name = (char *)name;
    return cli_iam_run (ctx, &req, NULL, NULL);
}

int cli_verb_iam_attach_user_policy (cli_ctx_t *ctx, const cli_args_t *args)
{
    return s_attach_verb (ctx, args, "AttachUserPolicy");
}

int cli_verb_iam_detach_user_policy (cli_ctx_t *ctx, const cli_args_t *args)
{
    return s_attach_verb (ctx, args, "DetachUserPolicy");
}

/* ---- simulate-principal-policy ----------------------------------------------- */

static json_t *s_simulate_json (const Porthole__V1__IamRequest *req,
                                const Porthole__V1__IamReply *reply)
{
    json_t *matched = json_array ();
    if (reply->matched_statement && *reply->matched_statement)
        json_array_append_new (matched, cli_json_str (reply->matched_statement));
    json_t *result =
        json_pack ("{s:o, s:o, s:o, s:o}", "EvalActionName", cli_json_str (req->action),
                   "EvalResourceName", cli_json_str (req->resource), "EvalDecision",
                   cli_json_str (reply->decision), "MatchedStatements", matched);
    json_t *list = json_array ();
    json_array_append_new (list, result);
    return json_pack ("{s:o}", "EvaluationResults", list);
}

static const cli_col_t s_simulate_cols[] = {{"EvalDecision", "EvalDecision"},
                                            {"EvalActionName", "EvalActionName"},
                                            {"EvalResourceName", "EvalResourceName"},
                                            {"MatchedStatements", "MatchedStatements"},
                                            {NULL, NULL}};
static const cli_view_t s_simulate_view = {"EvaluationResults", s_simulate_cols, NULL, NULL};

static bool s_ip_valid (const char *text)
{
    unsigned char buf[16];
    return inet_pton (AF_INET, text, buf) == 1 || inet_pton (AF_INET6, text, buf) == 1;
}

/*  Checks the options of simulate-principal-policy. Returns an exit code. */
static int s_simulate_options (const cli_ctx_t *ctx, const cli_args_t *args,
                               Porthole__V1__IamRequest *req)
{
    const char *user, *action = cli_args_get (args, "action");
    const char *resource = cli_args_get (args, "resource");
    const char *ip = cli_args_get (args, "source-ip");
    int rc = cli_iam_name_option (ctx, args, "user", "user", &user);
    if (rc != PH_EXIT_OK)
        return rc;
    if (!action || !*action)
        return cli_usage_error (ctx->verb,
                                "porthole %s needs --action SERVICE:Verb, e.g. "
                                "--action session:StartSession",
                                ctx->verb);
    if (!resource || !*resource)
        return cli_usage_error (ctx->verb,
                                "porthole %s needs --resource TYPE/NAME or *, e.g. "
                                "--resource instance/mi-0a1b2c3d4e5f60718",
                                ctx->verb);
    if (strcmp (resource, "*") != 0 && !strchr (resource, '/'))
        return cli_usage_error (ctx->verb,
                                "--resource '%s' is not TYPE/NAME (instance/mi-..., "
                                "session/ID, user/NAME, ...) or *",
                                resource);
    if (!ph_policy_action_known (action)) {
        const char *hint = ph_policy_action_suggest (action);
        cli_error (0, "note: this CLI does not know the action '%s'%s%s%s", action,
                   hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
    }
    if (ip && !s_ip_valid (ip))
        return cli_usage_error (ctx->verb, "--source-ip '%s' is not an IPv4 or IPv6 address", ip);
    req->op = "SimulatePrincipalPolicy";
    req->user = (char *)user;
    req->action = (char *)action;
    req->resource = (char *)resource;
    req->source_ip = (char *)(ip ? ip : "");
    return PH_EXIT_OK;
}

int cli_verb_iam_simulate (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    int rc = s_simulate_options (ctx, args, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    return cli_iam_run (ctx, &req, s_simulate_json, &s_simulate_view);
}
