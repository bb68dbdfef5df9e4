/*  cli_prefs: the get-preferences and update-preferences verbs (declared in
 *  cli_verbs.h): the cluster's session preferences, one document like
 *  SSM-SessionManagerRunShell. UpdatePreferencesRequest.fields names the
 *  members that were given, since proto3 has no field presence. */
#include "cli_output.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CLI_IDLE_MIN_MIN     1
#define CLI_IDLE_MAX_MIN     60
#define CLI_DURATION_MAX_MIN 1440
#define CLI_PREF_FIELDS      10

static json_t *s_prefs_json (const ph_env_t *reply)
{
    const Porthole__V1__Preferences *p = reply->preferences;
    return json_pack (
        "{s:I, s:I, s:b, s:o, s:b, s:o, s:o, s:b, s:b, s:b}", "IdleSessionTimeout",
        (json_int_t)p->idle_session_timeout_min, "MaxSessionDuration",
        (json_int_t)p->max_session_duration_min, "RunAsEnabled", (int)p->run_as_enabled,
        "RunAsDefaultUser", cli_json_str (p->run_as_default_user), "AdminRights",
        (int)p->admin_rights, "ShellProfile", cli_json_str (p->shell_profile), "LogGroupName",
        cli_json_str (p->log_group), "StreamingEnabled", (int)p->streaming_enabled,
        "EncryptionEnabled", (int)p->encryption_enabled, "LogInput", (int)p->log_input);
}

static const cli_col_t s_prefs_cols[] = {{"IdleSessionTimeout", "IdleSessionTimeout"},
                                         {"MaxSessionDuration", "MaxSessionDuration"},
                                         {"RunAsEnabled", "RunAsEnabled"},
                                         {"RunAsDefaultUser", "RunAsDefaultUser"},
                                         {"AdminRights", "AdminRights"},
                                         {"ShellProfile", "ShellProfile"},
                                         {"LogGroupName", "LogGroupName"},
                                         {"StreamingEnabled", "StreamingEnabled"},
                                         {"EncryptionEnabled", "EncryptionEnabled"},
                                         {"LogInput", "LogInput"},
                                         {NULL, NULL}};
static const cli_view_t s_prefs_view = {NULL, s_prefs_cols, NULL, NULL};

static int s_call (cli_ctx_t *ctx, ph_env_t *env)
{
    cli_conn_t *conn;
    ph_env_t *reply = NULL;
    int rc = cli_connect (ctx, &conn, NULL);
    if (rc != PH_EXIT_OK)
        return rc;
    rc = cli_conn_call (ctx, conn, env, PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES, &reply);
    if (rc == PH_EXIT_OK) {
        json_t *doc = s_prefs_json (reply);
        if (!doc || cli_output_print (ctx, doc, &s_prefs_view) != 0)
            rc = cli_error (PH_EXIT_API, "cannot write the output");
        json_decref (doc);
    }
    ph_wire_free (&reply);
    cli_conn_destroy (&conn, 0);
    return rc;
}

int cli_verb_get_preferences (cli_ctx_t *ctx, const cli_args_t *args)
{
    (void)args;
    Porthole__V1__GetPreferencesRequest req = PORTHOLE__V1__GET_PREFERENCES_REQUEST__INIT;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_GET_PREFERENCES;
    env.get_preferences = &req;
    return s_call (ctx, &env);
}

typedef enum { S_MINUTES, S_BOOL, S_TEXT, S_USER, S_GROUP } s_kind_t;

/*  One settable preference: its option, its name in
 *  UpdatePreferencesRequest.fields, how to parse it, where it goes. */
typedef struct {
    const char *option, *field;
    s_kind_t kind;
    uint32_t min, max; /* S_MINUTES */
    size_t offset;     /* in Porthole__V1__Preferences */
} s_pref_t;

#define S_AT(member) offsetof (Porthole__V1__Preferences, member)

static const s_pref_t s_prefs[CLI_PREF_FIELDS] = {
    {"idle-session-timeout", "idle_session_timeout_min", S_MINUTES, CLI_IDLE_MIN_MIN,
     CLI_IDLE_MAX_MIN, S_AT (idle_session_timeout_min)},
    {"max-session-duration", "max_session_duration_min", S_MINUTES, 0, CLI_DURATION_MAX_MIN,
     S_AT (max_session_duration_min)},
    {"run-as-enabled", "run_as_enabled", S_BOOL, 0, 0, S_AT (run_as_enabled)},
    {"run-as-default-user", "run_as_default_user", S_USER, 0, 0, S_AT (run_as_default_user)},
    {"admin-rights", "admin_rights", S_BOOL, 0, 0, S_AT (admin_rights)},
    {"shell-profile", "shell_profile", S_TEXT, 0, 0, S_AT (shell_profile)},
    {"log-group", "log_group", S_GROUP, 0, 0, S_AT (log_group)},
    {"streaming-enabled", "streaming_enabled", S_BOOL, 0, 0, S_AT (streaming_enabled)},
    {"encryption-enabled", "encryption_enabled", S_BOOL, 0, 0, S_AT (encryption_enabled)},
    {"log-input", "log_input", S_BOOL, 0, 0, S_AT (log_input)},
};

/*  Parses text for preference p into prefs. Returns an exit code. */
static int s_parse_pref (const cli_ctx_t *ctx, const s_pref_t *p, const char *text,
                         Porthole__V1__Preferences *prefs)
{
    char *at = (char *)prefs + p->offset;
    uint64_t minutes;
    bool flag;
    switch (p->kind) {
    case S_MINUTES:
        if (ph_parse_uint (text, p->min, p->max, &minutes) != 0)
            return cli_usage_error (ctx->verb, "--%s '%s' is not a number of minutes in %u..%u",
                                    p->option, text, p->min, p->max);
        *(uint32_t *)at = (uint32_t)minutes;
        return PH_EXIT_OK;
    case S_BOOL:
        if (ph_parse_bool (text, &flag) != 0)
            return cli_usage_error (ctx->verb, "--%s '%s' is neither true nor false", p->option,
                                    text);
        *(protobuf_c_boolean *)at = flag;
        return PH_EXIT_OK;
    case S_USER:
        if (!ph_name_valid (text) || strcmp (text, "root") == 0)
            return cli_usage_error (ctx->verb,
                                    "--%s '%s' is not a valid user name (letters, "
                                    "digits, _.@-, at most 64, not root)",
                                    p->option, text);
        break;
    case S_GROUP:
        if (!ph_log_name_valid (text))
            return cli_usage_error (ctx->verb,
                                    "--%s '%s' is not a log group name (1..%d of A-Z a-z 0-9 "
                                    "_ . - / #)",
                                    p->option, text, PH_LOG_NAME_MAX);
        break;
    case S_TEXT:
        if (strlen (text) > PH_STR_MAX || !ph_utf8_valid (text, strlen (text)))
            return cli_usage_error (ctx->verb, "--%s must be UTF-8 text of at most %d bytes",
                                    p->option, PH_STR_MAX);
        break;
    }
    *(char **)at = (char *)text;
    return PH_EXIT_OK;
}

int cli_verb_update_preferences (cli_ctx_t *ctx, const cli_args_t *args)
{
    static const Porthole__V1__Preferences prefs_init = PORTHOLE__V1__PREFERENCES__INIT;
    Porthole__V1__Preferences prefs = prefs_init;
    char *fields[CLI_PREF_FIELDS];
    size_t n_fields = 0;
    for (size_t i = 0; i < CLI_PREF_FIELDS; i++) {
        const char *text = cli_args_get (args, s_prefs[i].option);
        if (!text)
            continue;
        int rc = s_parse_pref (ctx, &s_prefs[i], text, &prefs);
        if (rc != PH_EXIT_OK)
            return rc;
        fields[n_fields++] = (char *)s_prefs[i].field;
    }
    if (n_fields == 0)
        return cli_usage_error (ctx->verb, "update-preferences needs at least one preference to "
                                           "change, e.g. --idle-session-timeout 30");
    Porthole__V1__UpdatePreferencesRequest req = PORTHOLE__V1__UPDATE_PREFERENCES_REQUEST__INIT;
    req.n_fields = n_fields;
    req.fields = fields;
    req.prefs = &prefs;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_UPDATE_PREFERENCES;
    env.update_preferences = &req;
    return s_call (ctx, &env);
}
