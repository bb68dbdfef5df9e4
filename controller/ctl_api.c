/*  ctl_api: authorisation, activations and session preferences.
 *
 *  ctl_authorize is the one place that decides who may do what; every
 *  handler asks it before acting (docs/architecture.md "Authorisation"):
 *  users with admin=1 (the bootstrap admin) may do everything; everyone
 *  else is evaluated against their attached IAM-style policies
 *  (ph_policy_evaluate, default deny, an explicit Deny wins) with the
 *  request context {user name, source address, user tags, the target
 *  instance's tags, the session's owner}.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_ACT_LIMIT_DEFAULT  1
#define CTL_ACT_LIMIT_MAX      1000
#define CTL_ACT_EXPIRY_DEFAULT 86400
#define CTL_ACT_EXPIRY_MAX     (30 * 86400)
#define CTL_ACT_KEEP_MS        86400000 /* record outlives the activation by a day */
#define CTL_ACT_CODE_LEN       20
#define CTL_DESCRIPTION_MAX    256
#define CTL_SHELL_PROFILE_MAX  4096
#define CTL_IDLE_MIN_MIN       1
#define CTL_IDLE_MIN_MAX       60
#define CTL_IDLE_MIN_DEFAULT   20
#define CTL_DURATION_MIN_MAX   1440
#define CTL_UNIX_NAME_MAX      32

/* ---- authorisation ----------------------------------------------------- */

/*  The peer address without the port, for source:Ip conditions. ZeroMQ's
 *  Peer-Address property is the bare address already; "?" means unknown. */
static const char *s_source_ip (const ctl_req_t *req)
{
    return strcmp (req->addr, "?") ? req->addr : NULL;
}

bool ctl_authorize (const ctl_req_t *req, const char *action, const char *resource,
                    const char *owner, const ph_policy_kv_t *rtags, size_t n_rtags, char *why,
                    size_t whylen)
{
    char none[PH_POLICY_WHY_MAX];
    if (!why) {
        why = none;
        whylen = sizeof none;
    }
    snprintf (why, whylen, "%s", PH_POLICY_WHY_NO_STATEMENT);
    if (req->peer != CTL_PEER_USER || !req->principal)
        return false;
    if (ctl_principal_admin (req->principal))
        return true;
    ph_policy_result_t res;
    return ctl_principal_evaluate (req->principal, action, resource, s_source_ip (req), owner,
                                   rtags, n_rtags, &res, why, whylen) == PH_POLICY_ALLOW;
}

bool ctl_req_authorize_tags (ctl_req_t **req_p, const char *action, const char *resource,
                             const char *owner, const ph_policy_kv_t *rtags, size_t n_rtags)
{
    ctl_req_t *req = *req_p;
    char why[PH_POLICY_WHY_MAX];
    if (action != req->action)
        snprintf (req->action, sizeof req->action, "%s", action);
    if (resource != req->resource)
        snprintf (req->resource, sizeof req->resource, "%s", resource);
    if (ctl_authorize (req, action, resource, owner, rtags, n_rtags, why, sizeof why))
        return true;
    req->denied = true;
    ph_warn ("audit: denied %s %s on %s (%s)", req->name, action, resource, why);
    ctl_req_fail (req_p, CTL_E_ACCESS_DENIED,
                  "porthole: AccessDenied: user %s may not %s on %s (%s)", req->name, action,
                  resource, why);
    return false;
}

bool ctl_req_authorize (ctl_req_t **req_p, const char *action, const char *resource,
                        const char *owner)
{
    return ctl_req_authorize_tags (req_p, action, resource, owner, NULL, 0);
}

/* ---- CreateActivation ---------------------------------------------------- */

static const char s_activation_lua[] = "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
                                       "redis.call('PEXPIREAT', KEYS[1], ARGV[1])\n"
                                       "return 1\n";

static void s_random_activation_id (char out[37])
{
    uint8_t raw[16];
    char hex[33];
    ph_random_bytes (raw, sizeof raw);
    ph_hex (raw, sizeof raw, hex);
    snprintf (out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/*  CTL_ACT_CODE_LEN base62 characters, without modulo bias. */
static void s_random_code (char out[CTL_ACT_CODE_LEN + 1])
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    int n = 0;
    while (n < CTL_ACT_CODE_LEN) {
        uint8_t raw[32];
        ph_random_bytes (raw, sizeof raw);
        for (size_t i = 0; i < sizeof raw && n < CTL_ACT_CODE_LEN; i++)
            if (raw[i] < 248)
                out[n++] = alphabet[raw[i] % 62];
    }
    out[n] = 0;
}

/*  Joins the request's tags as "k=v,..." after checking them the way
 *  ph_parse_tags does. Returns false with the reason in err. */
static bool s_join_tags (const Porthole__V1__CreateActivationRequest *r, char *out, size_t len,
                         char *err, size_t errlen)
{
    out[0] = 0;
    if (r->n_tags > PH_TAGS_MAX) {
        snprintf (err, errlen, "too many tags: at most %d", PH_TAGS_MAX);
        return false;
    }
    size_t used = 0;
    for (size_t i = 0; i < r->n_tags; i++) {
        const char *k = r->tags[i]->key, *v = r->tags[i]->value;
        if (strpbrk (k, ",=") || strpbrk (v, ",=")) {
            snprintf (err, errlen, "tag '%.64s=%.64s' may not hold ',' or '=' in key or value", k,
                      v);
            return false;
        }
        int n = snprintf (out + used, len - used, "%s%s=%s", i ? "," : "", k, v);
        if (n < 0 || (size_t)n >= len - used) {
            snprintf (err, errlen, "tags are too long");
            return false;
        }
        used += (size_t)n;
    }
    ph_tag_t parsed[PH_TAGS_MAX];
    return ph_parse_tags (out, parsed, PH_TAGS_MAX, err, errlen) >= 0;
}

static void s_on_activation_created (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    ph_info ("audit: user %s created activation %s (limit %u)", req->name, req->sid,
             (unsigned)req->env->create_activation->registration_limit);
    Porthole__V1__CreateActivationReply body = PORTHOLE__V1__CREATE_ACTIVATION_REPLY__INIT;
    body.activation_id = req->sid;
    body.activation_code = req->text;
    body.expiration_ms = req->num;
    body.registration_limit = req->env->create_activation->registration_limit;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY;
    env.create_activation_reply = &body;
    ctl_req_reply (&req, &env);
}

/*  Checks limit, expiry and description; fills in the defaults. */
static bool s_activation_request_valid (ctl_req_t **req_p)
{
    Porthole__V1__CreateActivationRequest *r = (*req_p)->env->create_activation;
    if (r->registration_limit == 0)
        r->registration_limit = CTL_ACT_LIMIT_DEFAULT;
    if (r->expires_in_s == 0)
        r->expires_in_s = CTL_ACT_EXPIRY_DEFAULT;
    if (r->registration_limit > CTL_ACT_LIMIT_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: registration_limit must be 1..%d (got %u)", CTL_ACT_LIMIT_MAX,
                      (unsigned)r->registration_limit);
        return false;
    }
    if (r->expires_in_s > CTL_ACT_EXPIRY_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: expires_in_s must be 1..%d (30 days; got %llu)",
                      CTL_ACT_EXPIRY_MAX, (unsigned long long)r->expires_in_s);
        return false;
    }
    if (r->description && strlen (r->description) > CTL_DESCRIPTION_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: description must be at most %d bytes", CTL_DESCRIPTION_MAX);
        return false;
    }
    return true;
}

void ctl_api_create_activation (ctl_req_t *req)
{
    if (!ctl_req_authorize (&req, "activation:CreateActivation", "*", NULL))
        return;
    if (!s_activation_request_valid (&req))
        return;
    Porthole__V1__CreateActivationRequest *r = req->env->create_activation;
    char tags[PH_TAGS_MAX * (PH_TAG_KEY_MAX + PH_TAG_VALUE_MAX + 2) + 1];
    char err[PH_ERRTEXT_MAX];
    if (!s_join_tags (r, tags, sizeof tags, err, sizeof err)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST, "porthole: %s", err);
        return;
    }
    uint64_t now = ph_now_ms ();
    uint8_t mac[PH_SHA256_LEN];
    char mac_hex[2 * PH_SHA256_LEN + 1];
    s_random_activation_id (req->sid);
    s_random_code (req->text);
    ph_hmac_sha256 (req->ctl->secret, req->ctl->secret_len, req->text, strlen (req->text), mac);
    ph_hex (mac, sizeof mac, mac_hex);
    req->num = now + r->expires_in_s * 1000;
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_activation_lua);
    ctl_argv_add (&a, "1");
    ctl_argv_addf (&a, "ph:activation:{%s}", req->sid);
    ctl_argv_addf (&a, "%llu", (unsigned long long)(req->num + CTL_ACT_KEEP_MS));
    const char *fields[][2] = {{"code_hmac", mac_hex},
                               {"tags", tags},
                               {"created_by", req->name},
                               {"description", r->description ? r->description : ""},
                               {"count", "0"}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        ctl_argv_add (&a, fields[i][0]);
        ctl_argv_add (&a, fields[i][1]);
    }
    ctl_argv_add (&a, "limit");
    ctl_argv_addf (&a, "%u", (unsigned)r->registration_limit);
    ctl_argv_add (&a, "expires_ms");
    ctl_argv_addf (&a, "%llu", (unsigned long long)req->num);
    ctl_argv_add (&a, "created_ms");
    ctl_argv_addf (&a, "%llu", (unsigned long long)now);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_activation_created, req));
}

/* ---- preferences ------------------------------------------------------- */

static const char s_prefs_lua[] =
    "if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end\n"
    "return redis.call('HGETALL', KEYS[1])\n";

bool ctl_unix_name_valid (const char *name)
{
    size_t n = name ? strlen (name) : 0;
    if (n == 0 || n > CTL_UNIX_NAME_MAX || strcmp (name, "root") == 0)
        return false;
    if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                  (c == '$' && i == n - 1);
        if (!ok)
            return false;
    }
    return true;
}

static uint32_t s_field_uint (const ph_reply_t *r, const char *field, uint32_t dflt)
{
    const char *v = ph_reply_field (r, field);
    return v && *v ? (uint32_t)strtoul (v, NULL, 10) : dflt;
}

void ctl_prefs_from_reply (const ph_reply_t *r, Porthole__V1__Preferences *p)
{
    const char *user = ph_reply_field (r, "run_as_default_user");
    const char *profile = ph_reply_field (r, "shell_profile");
    p->idle_session_timeout_min =
        s_field_uint (r, "idle_session_timeout_min", CTL_IDLE_MIN_DEFAULT);
    p->max_session_duration_min = s_field_uint (r, "max_session_duration_min", 0);
    p->run_as_enabled = s_field_uint (r, "run_as_enabled", 0) != 0;
    p->run_as_default_user = (char *)(user ? user : "");
    p->admin_rights = s_field_uint (r, "admin_rights", 1) != 0;
    p->shell_profile = (char *)(profile ? profile : "");
    const char *group = ph_reply_field (r, "log_group");
    p->log_group = (char *)(group && *group ? group : CTL_LOG_GROUP_DEFAULT);
    p->streaming_enabled = s_field_uint (r, "streaming_enabled", 1) != 0;
    p->encryption_enabled = s_field_uint (r, "encryption_enabled", 0) != 0;
    p->log_input = s_field_uint (r, "log_input", 0) != 0;
}

static void s_on_prefs (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    Porthole__V1__Preferences body = PORTHOLE__V1__PREFERENCES__INIT;
    ctl_prefs_from_reply (reply, &body);
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PREFERENCES;
    env.preferences = &body;
    ctl_req_reply (&req, &env);
}

void ctl_api_get_preferences (ctl_req_t *req)
{
    if (!ctl_req_authorize (&req, "preferences:GetPreferences", "*", NULL))
        return;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_prefs, req, "HGETALL ph:prefs");
    ctl_req_queued (&req, rc);
}

/*  The value of a true/false preference named field, or -1 when field is
 *  not one. */
static int s_pref_flag (const char *field, const Porthole__V1__Preferences *p)
{
    if (strcmp (field, "run_as_enabled") == 0)
        return p->run_as_enabled;
    if (strcmp (field, "admin_rights") == 0)
        return p->admin_rights;
    if (strcmp (field, "streaming_enabled") == 0)
        return p->streaming_enabled;
    if (strcmp (field, "encryption_enabled") == 0)
        return p->encryption_enabled;
    if (strcmp (field, "log_input") == 0)
        return p->log_input;
    return -1;
}

/*  Adds field=value of one named preference to a, or says why not. */
static bool s_pref_arg (const char *field, const Porthole__V1__Preferences *p, ctl_argv_t *a,
                        char *err, size_t errlen)
{
    if (strcmp (field, "idle_session_timeout_min") == 0) {
        if (p->idle_session_timeout_min < CTL_IDLE_MIN_MIN ||
            p->idle_session_timeout_min > CTL_IDLE_MIN_MAX) {
            snprintf (err, errlen, "idle_session_timeout_min must be %d..%d minutes (got %u)",
                      CTL_IDLE_MIN_MIN, CTL_IDLE_MIN_MAX, (unsigned)p->idle_session_timeout_min);
            return false;
        }
        ctl_argv_add (a, field);
        ctl_argv_addf (a, "%u", (unsigned)p->idle_session_timeout_min);
    } else if (strcmp (field, "max_session_duration_min") == 0) {
        if (p->max_session_duration_min > CTL_DURATION_MIN_MAX) {
            snprintf (err, errlen,
                      "max_session_duration_min must be 0 (no limit) or 1..%d minutes (got %u)",
                      CTL_DURATION_MIN_MAX, (unsigned)p->max_session_duration_min);
            return false;
        }
        ctl_argv_add (a, field);
        ctl_argv_addf (a, "%u", (unsigned)p->max_session_duration_min);
    } else if (s_pref_flag (field, p) >= 0) {
        ctl_argv_add (a, field);
        ctl_argv_add (a, s_pref_flag (field, p) ? "1" : "0");
    } else if (strcmp (field, "log_group") == 0) {
        const char *g = p->log_group ? p->log_group : "";
        if (!ph_log_name_valid (g)) {
            snprintf (err, errlen,
                      "log_group '%.64s' must be 1..%d of A-Z a-z 0-9 _ . - / # (for example "
                      "porthole/sessions)",
                      g, PH_LOG_NAME_MAX);
            return false;
        }
        ctl_argv_add (a, field);
        ctl_argv_add (a, g);
    } else if (strcmp (field, "run_as_default_user") == 0) {
        const char *u = p->run_as_default_user ? p->run_as_default_user : "";
        if (*u && !ctl_unix_name_valid (u)) {
            snprintf (err, errlen,
                      "run_as_default_user '%.64s' must be a unix account name ([a-z_][a-z0-9_-]*, "
                      "1..%d characters) and not root",
                      u, CTL_UNIX_NAME_MAX);
            return false;
        }
        ctl_argv_add (a, field);
        ctl_argv_add (a, u);
    } else if (strcmp (field, "shell_profile") == 0) {
        const char *s = p->shell_profile ? p->shell_profile : "";
        if (strlen (s) > CTL_SHELL_PROFILE_MAX) {
            snprintf (err, errlen, "shell_profile must be at most %d bytes", CTL_SHELL_PROFILE_MAX);
            return false;
        }
        ctl_argv_add (a, field);
        ctl_argv_add (a, s);
    } else {
        snprintf (err, errlen,
                  "unknown preference '%.64s'; known: idle_session_timeout_min, "
                  "max_session_duration_min, run_as_enabled, run_as_default_user, admin_rights, "
                  "shell_profile, log_group, streaming_enabled, encryption_enabled, log_input",
                  field);
        return false;
    }
    return true;
}

void ctl_api_update_preferences (ctl_req_t *req)
{
    if (!ctl_req_authorize (&req, "preferences:UpdatePreferences", "*", NULL))
        return;
    Porthole__V1__UpdatePreferencesRequest *r = req->env->update_preferences;
    Porthole__V1__Preferences empty = PORTHOLE__V1__PREFERENCES__INIT;
    const Porthole__V1__Preferences *p = r->prefs ? r->prefs : &empty;
    char err[PH_ERRTEXT_MAX];
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_prefs_lua);
    ctl_argv_add (&a, "1");
    ctl_argv_add (&a, "ph:prefs");
    for (size_t i = 0; i < r->n_fields; i++)
        if (!s_pref_arg (r->fields[i], p, &a, err, sizeof err)) {
            ctl_argv_free (&a);
            ctl_req_fail (&req, CTL_E_INVALID_REQUEST, "porthole: %s", err);
            return;
        }
    if (r->n_fields)
        ph_info ("audit: user %s updated %zu preference(s)", req->name, r->n_fields);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_prefs, req));
}
