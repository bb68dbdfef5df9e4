/*  cli_iam: the user verbs of `porthole iam` (see cli_iam.h), the runner
 *  they share with cli_iam_policy.c, and the iam group's verb table.
 *  Options are checked before any network traffic; the controller checks
 *  again (it is the authority: a user that exists, a key nobody has). */
#include "cli_iam.h"
#include "cli_group.h"
#include "cli_verbs.h"
#include "ph_keys.h"
#include "ph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CLI_TAG_KEYS_TEXT_MAX 8192

/*  Prints doc; in table and text output a document that wraps one record
 *  ({"User": {...}}) shows that record, as aws does. */
static int s_print (const cli_ctx_t *ctx, const json_t *doc, const cli_view_t *view)
{
    const char *key;
    json_t *inner;
    if (ctx->output != CLI_OUT_JSON && !view->list_key && json_object_size (doc) == 1)
        json_object_foreach ((json_t *)doc, key, inner)
        {
            if (json_is_object (inner))
                return cli_output_print (ctx, inner, view);
        }
    return cli_output_print (ctx, doc, view);
}

int cli_iam_run (cli_ctx_t *ctx, Porthole__V1__IamRequest *req, cli_iam_json_fn *to_json,
                 const cli_view_t *view)
{
    cli_conn_t *conn;
    ph_env_t *reply = NULL;
    int rc = cli_connect (ctx, &conn, NULL);
    if (rc != PH_EXIT_OK)
        return rc;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_IAM;
    env.iam = req;
    rc = cli_conn_call (ctx, conn, &env, PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY, &reply);
    if (rc == PH_EXIT_OK && to_json) {
        json_t *doc = to_json (req, reply->iam_reply);
        if (!doc || s_print (ctx, doc, view) != 0)
            rc = cli_error (PH_EXIT_API, "cannot write the output");
        json_decref (doc);
    }
    ph_wire_free (&reply);
    cli_conn_destroy (&conn, 0);
    return rc;
}

int cli_iam_name_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                         const char *what, const char **value)
{
    *value = cli_args_get (args, name);
    const char *example = strcmp (what, "user") == 0 ? "alice" : "dev-shells";
    const cli_verb_t *verb = cli_group_find (&cli_iam_group, ctx->verb + strlen ("iam "));
    bool positional = verb && verb->positional && strcmp (verb->positional + 2, name) == 0;
    if (!*value && positional)
        return cli_usage_error (ctx->verb, "porthole %s needs the %s's NAME, e.g. porthole %s %s",
                                ctx->verb, what, ctx->verb, example);
    if (!*value)
        return cli_usage_error (ctx->verb, "porthole %s needs --%s NAME (e.g. --%s %s)", ctx->verb,
                                name, name, example);
    if (!ph_name_valid (*value))
        return cli_usage_error (
            ctx->verb, "'%s' is not a valid %s name: 1..64 letters, digits and _.@-", *value, what);
    return PH_EXIT_OK;
}

json_t *cli_iam_tags_json (Porthole__V1__Tag **tags, size_t n)
{
    json_t *list = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (list, json_pack ("{s:o, s:o}", "Key", cli_json_str (tags[i]->key),
                                                "Value", cli_json_str (tags[i]->value)));
    return list;
}

static json_t *s_strings_json (char **items, size_t n)
{
    json_t *list = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (list, cli_json_str (items[i]));
    return list;
}

static json_t *s_user_json (const Porthole__V1__User *u)
{
    return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:b}", "UserName", cli_json_str (u->name),
                      "CreateDate", cli_json_time (u->created_ms), "Tags",
                      cli_iam_tags_json (u->tags, u->n_tags), "PublicKeys",
                      s_strings_json (u->public_keys, u->n_public_keys), "AttachedPolicies",
                      s_strings_json (u->policies, u->n_policies), "Admin", (int)u->admin);
}

static const cli_col_t s_user_cols[] = {{"UserName", "UserName"},
                                        {"Admin", "Admin"},
                                        {"CreateDate", "CreateDate"},
                                        {"Tags", "Tags"},
                                        {"AttachedPolicies", "AttachedPolicies"},
                                        {"PublicKeys", "PublicKeys"},
                                        {NULL, NULL}};
static const cli_view_t s_users_view = {"Users", s_user_cols, NULL, NULL};
static const cli_view_t s_user_view = {NULL, s_user_cols, NULL, NULL};

/* ---- tags -------------------------------------------------------------- */

typedef struct {
    ph_tag_t parsed[PH_TAGS_MAX];
    Porthole__V1__Tag wire[PH_TAGS_MAX];
    Porthole__V1__Tag *ptrs[PH_TAGS_MAX];
} s_tags_t;

/*  Parses --tags into req->tags (tags holds the storage). required: the
 *  verb needs at least one. Returns an exit code. */
static int s_tags_option (const cli_ctx_t *ctx, const cli_args_t *args, bool required,
                          s_tags_t *tags, Porthole__V1__IamRequest *req)
{
    static const Porthole__V1__Tag tag_init = PORTHOLE__V1__TAG__INIT;
    const char *text = cli_args_get (args, "tags");
    char err[512];
    if (required && (!text || !*text))
        return cli_usage_error (ctx->verb,
                                "porthole %s needs --tags k=v[,k2=v2...], e.g. --tags "
                                "team=web,RunAs=alice",
                                ctx->verb);
    int n = ph_parse_tags (text, tags->parsed, PH_TAGS_MAX, err, sizeof err);
    if (n < 0)
        return cli_usage_error (ctx->verb, "--tags: %s", err);
    for (int i = 0; i < n; i++) {
        if (strcmp (tags->parsed[i].key, "RunAs") == 0 &&
            strcmp (tags->parsed[i].value, "root") == 0)
            return cli_usage_error (ctx->verb, "--tags RunAs=root: sessions never run as root; "
                                               "name an ordinary account");
        tags->wire[i] = tag_init;
        tags->wire[i].key = tags->parsed[i].key;
        tags->wire[i].value = tags->parsed[i].value;
        tags->ptrs[i] = &tags->wire[i];
    }
    req->n_tags = (size_t)n;
    req->tags = tags->ptrs;
    return PH_EXIT_OK;
}

/* ---- create-user, delete-user, list-users ------------------------------- */

static json_t *s_created_user_json (const Porthole__V1__IamRequest *req,
                                    const Porthole__V1__IamReply *reply)
{
    if (reply->n_users > 0)
        return json_pack ("{s:o}", "User", s_user_json (reply->users[0]));
    Porthole__V1__User u = PORTHOLE__V1__USER__INIT;
    u.name = req->user;
    u.tags = req->tags;
    u.n_tags = req->n_tags;
    return json_pack ("{s:o}", "User", s_user_json (&u));
}

static json_t *s_users_json (const Porthole__V1__IamRequest *req,
                             const Porthole__V1__IamReply *reply)
{
    (void)req;
    json_t *list = json_array ();
    for (size_t i = 0; i < reply->n_users; i++)
        json_array_append_new (list, s_user_json (reply->users[i]));
    return json_pack ("{s:o}", "Users", list);
}

int cli_verb_iam_create_user (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    s_tags_t tags;
    const char *user;
    int rc = cli_iam_name_option (ctx, args, "user-name", "user", &user);
    if (rc == PH_EXIT_OK)
        rc = s_tags_option (ctx, args, false, &tags, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "CreateUser";
    req.user = (char *)user;
    return cli_iam_run (ctx, &req, s_created_user_json, &s_user_view);
}

int cli_verb_iam_delete_user (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    const char *user;
    int rc = cli_iam_name_option (ctx, args, "user-name", "user", &user);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "DeleteUser";
    req.user = (char *)user;
    return cli_iam_run (ctx, &req, NULL, NULL);
}

int cli_verb_iam_list_users (cli_ctx_t *ctx, const cli_args_t *args)
{
    (void)args;
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    req.op = "ListUsers";
    return cli_iam_run (ctx, &req, s_users_json, &s_users_view);
}

/* ---- add-user-key, remove-user-key -------------------------------------- */

static int s_user_key_verb (cli_ctx_t *ctx, const cli_args_t *args, const char *op)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    const char *user;
    const char *key = cli_args_get (args, "public-key");
    int rc = cli_iam_name_option (ctx, args, "user", "user", &user);
    if (rc != PH_EXIT_OK)
        return rc;
    if (!key)
        return cli_usage_error (ctx->verb,
                                "porthole %s needs --public-key KEY (the last line that "
                                "porthole configure printed for that user)",
                                ctx->verb);
    if (!ph_keys_z85_valid (key))
        return cli_usage_error (ctx->verb,
                                "--public-key '%s' is not a CURVE public key (40 Z85 "
                                "characters, as porthole configure prints it)",
                                key);
    req.op = (char *)op;
    req.user = (char *)user;
    req.public_key = (char *)key;
    return cli_iam_run (ctx, &req, NULL, NULL);
}

int cli_verb_iam_add_user_key (cli_ctx_t *ctx, const cli_args_t *args)
{
    return s_user_key_verb (ctx, args, "AddUserKey");
}

int cli_verb_iam_remove_user_key (cli_ctx_t *ctx, const cli_args_t *args)
{
    return s_user_key_verb (ctx, args, "RemoveUserKey");
}

/* ---- tag-user, untag-user ------------------------------------------------ */

int cli_verb_iam_tag_user (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    s_tags_t tags;
    const char *user;
    int rc = cli_iam_name_option (ctx, args, "user", "user", &user);
    if (rc == PH_EXIT_OK)
        rc = s_tags_option (ctx, args, true, &tags, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "TagUser";
    req.user = (char *)user;
    return cli_iam_run (ctx, &req, NULL, NULL);
}

static bool s_tag_key_valid (const char *key)
{
    size_t len = strlen (key);
    if (len == 0 || len > PH_TAG_KEY_MAX)
        return false;
    return strspn (key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/+-@") ==
           len;
}

/*  Splits the comma list text (modified in place) into at most
 *  PH_TAGS_MAX keys. Returns the count or PH_EINVAL (with a message). */
static int s_split_tag_keys (const cli_ctx_t *ctx, char *text, char **keys)
{
    int n = 0;
    for (char *save = NULL, *k = strtok_r (text, ",", &save); k; k = strtok_r (NULL, ",", &save)) {
        if (n == PH_TAGS_MAX) {
            cli_usage_error (ctx->verb, "--tag-keys names more than %d keys", PH_TAGS_MAX);
            return PH_EINVAL;
        }
        if (!s_tag_key_valid (k)) {
            cli_usage_error (ctx->verb,
                             "--tag-keys: '%s' is not a tag key (1..128 letters, digits "
                             "and _.:/+-@)",
                             k);
            return PH_EINVAL;
        }
        keys[n++] = k;
    }
    if (n == 0) {
        cli_usage_error (ctx->verb, "--tag-keys names no key; write --tag-keys team,RunAs");
        return PH_EINVAL;
    }
    return n;
}

int cli_verb_iam_untag_user (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__IamRequest req = PORTHOLE__V1__IAM_REQUEST__INIT;
    char text[CLI_TAG_KEYS_TEXT_MAX];
    char *keys[PH_TAGS_MAX];
    const char *user;
    const char *list = cli_args_get (args, "tag-keys");
    int rc = cli_iam_name_option (ctx, args, "user", "user", &user);
    if (rc != PH_EXIT_OK)
        return rc;
    if (!list)
        return cli_usage_error (ctx->verb, "porthole %s needs --tag-keys KEY[,KEY2...]", ctx->verb);
    if (strlen (list) >= sizeof text)
        return cli_usage_error (ctx->verb, "--tag-keys is too long");
    snprintf (text, sizeof text, "%s", list);
    int n = s_split_tag_keys (ctx, text, keys);
    if (n < 0)
        return PH_EXIT_USAGE;
    req.op = "UntagUser";
    req.user = (char *)user;
    req.tag_keys = keys;
    req.n_tag_keys = (size_t)n;
    return cli_iam_run (ctx, &req, NULL, NULL);
}

/* ---- the group ------------------------------------------------------------ */

static const cli_opt_t s_user_name_opts[] = {{"user-name", 0}, {NULL, 0}};
static const cli_opt_t s_create_user_opts[] = {{"user-name", 0}, {"tags", 0}, {NULL, 0}};
static const cli_opt_t s_no_opts[] = {{NULL, 0}};
static const cli_opt_t s_user_key_opts[] = {{"user", 0}, {"public-key", 0}, {NULL, 0}};
static const cli_opt_t s_tag_user_opts[] = {{"user", 0}, {"tags", 0}, {NULL, 0}};
static const cli_opt_t s_untag_user_opts[] = {{"user", 0}, {"tag-keys", 0}, {NULL, 0}};
static const cli_opt_t s_policy_name_opts[] = {{"policy-name", 0}, {NULL, 0}};
static const cli_opt_t s_create_policy_opts[] = {
    {"policy-name", 0}, {"policy-document", 0}, {NULL, 0}};
static const cli_opt_t s_attach_opts[] = {{"user", 0}, {"policy-name", 0}, {NULL, 0}};
static const cli_opt_t s_simulate_opts[] = {
    {"user", 0}, {"action", 0}, {"resource", 0}, {"source-ip", 0}, {NULL, 0}};

static const cli_verb_t s_iam_verbs[] = {
    {"iam create-user", cli_verb_iam_create_user, s_create_user_opts, "create a user",
     "--user-name"},
    {"iam delete-user", cli_verb_iam_delete_user, s_user_name_opts,
     "delete a user; their keys stop working at once", "--user-name"},
    {"iam list-users", cli_verb_iam_list_users, s_no_opts,
     "list users with their keys, tags and policies", NULL},
    {"iam add-user-key", cli_verb_iam_add_user_key, s_user_key_opts,
     "register a public key (from porthole configure) as a user's", NULL},
    {"iam remove-user-key", cli_verb_iam_remove_user_key, s_user_key_opts,
     "revoke a user's key, even on connections already open", NULL},
    {"iam tag-user", cli_verb_iam_tag_user, s_tag_user_opts,
     "add or change a user's tags (RunAs=unixname, team=...)", NULL},
    {"iam untag-user", cli_verb_iam_untag_user, s_untag_user_opts, "remove tags from a user", NULL},
    {"iam create-policy", cli_verb_iam_create_policy, s_create_policy_opts,
     "create a permission policy from a JSON document", "--policy-name"},
    {"iam delete-policy", cli_verb_iam_delete_policy, s_policy_name_opts,
     "delete a policy that no user has attached", "--policy-name"},
    {"iam get-policy", cli_verb_iam_get_policy, s_policy_name_opts,
     "show a policy and its document", "--policy-name"},
    {"iam list-policies", cli_verb_iam_list_policies, s_no_opts, "list policies", NULL},
    {"iam attach-user-policy", cli_verb_iam_attach_user_policy, s_attach_opts,
     "give a user the permissions of a policy", NULL},
    {"iam detach-user-policy", cli_verb_iam_detach_user_policy, s_attach_opts,
     "take a policy away from a user", NULL},
    {"iam simulate-principal-policy", cli_verb_iam_simulate, s_simulate_opts,
     "would a user be allowed an action on a resource, and why", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_group_t cli_iam_group = {
    "iam", "users, their keys and tags, permission policies",
    "Users, their CURVE keys and tags, and the permission policies that say who may\n"
    "do what on which machines (default: nothing; admins: everything). The commands\n"
    "follow aws iam. Changes take effect on the next request, also on connections\n"
    "that are already open.\n",
    s_iam_verbs};
