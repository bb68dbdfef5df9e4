/*  ctl_iam: IamRequest (`porthole iam ...`): the op table, and the ops on
 *  users and their keys and tags. Policy ops are in ctl_iam_policy.c.
 *
 *  Each op checks its fields, is authorised as iam:OP on user/NAME,
 *  policy/NAME or * (ListUsers, ListPolicies), and runs as one Lua script
 *  so that concurrent controllers never see half a change. Redis keys:
 *    ph:user:{NAME}           hash: name, admin (1/0), created_ms, tags "k=v,..."
 *                             (the bootstrap admin also has public_key)
 *    ph:user:{NAME}:keys      set of Z85 public keys
 *    ph:user:{NAME}:policies  set of attached policy names
 *    ph:users                 set of user names
 *    ph:key:{Z85}             "user:NAME" (or "instance:ID")
 *  Removing a key or a user also forgets this controller's ZAP cache entry
 *  and detaches that user's (or key's) clients from their relay routes;
 *  every later call on an open connection is refused by the principal
 *  check (ctl_principal.c).
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_TAGS_TEXT_MAX (PH_TAGS_MAX * (PH_TAG_KEY_MAX + PH_TAG_VALUE_MAX + 2) + 1)

/*  Lua: user(NAME) -> {hash, keys, policies} (sorted), for replies. */
#define CTL_LUA_USER                                                                               \
    "local function user(n)\n"                                                                     \
    "  local uk = 'ph:user:{' .. n .. '}'\n"                                                       \
    "  local h = redis.call('HGETALL', uk)\n"                                                      \
    "  if #h == 0 then return nil end\n"                                                           \
    "  local keys = redis.call('SMEMBERS', uk .. ':keys')\n"                                       \
    "  local pk = redis.call('HGET', uk, 'public_key')\n"                                          \
    "  if pk and redis.call('SISMEMBER', uk .. ':keys', pk) == 0 then keys[#keys + 1] = pk end\n"  \
    "  table.sort(keys)\n"                                                                         \
    "  local pols = redis.call('SMEMBERS', uk .. ':policies')\n"                                   \
    "  table.sort(pols)\n"                                                                         \
    "  return {h, keys, pols}\n"                                                                   \
    "end\n"

/*  ARGV: name, now ms, tags. */
static const char s_create_lua[] =
    CTL_LUA_USER "local uk = 'ph:user:{' .. ARGV[1] .. '}'\n"
                 "if redis.call('EXISTS', uk) == 1 then return {'exists'} end\n"
                 "redis.call('HSET', uk, 'name', ARGV[1], 'admin', '0', 'created_ms', ARGV[2], "
                 "'tags', ARGV[3])\n"
                 "redis.call('SADD', 'ph:users', ARGV[1])\n"
                 "return {'ok', user(ARGV[1])}\n";

/*  ARGV: name. Returns {'ok', dropped keys} or {'bootstrap'|'missing'}. */
static const char s_delete_lua[] =
    "local n = ARGV[1]\n"
    "local uk = 'ph:user:{' .. n .. '}'\n"
    "if redis.call('GET', 'ph:bootstrap') == n then return {'bootstrap'} end\n"
    "if redis.call('EXISTS', uk) == 0 then return {'missing'} end\n"
    "local keys = redis.call('SMEMBERS', uk .. ':keys')\n"
    "local pk = redis.call('HGET', uk, 'public_key')\n"
    "if pk then keys[#keys + 1] = pk end\n"
    "local dropped = {}\n"
    "for _, k in ipairs(keys) do\n"
    "  if redis.call('GET', 'ph:key:{' .. k .. '}') == 'user:' .. n then\n"
    "    redis.call('DEL', 'ph:key:{' .. k .. '}')\n"
    "    dropped[#dropped + 1] = k\n"
    "  end\n"
    "end\n"
    "for _, p in ipairs(redis.call('SMEMBERS', uk .. ':policies')) do\n"
    "  redis.call('SREM', 'ph:policy:{' .. p .. '}:users', n)\n"
    "end\n"
    "redis.call('DEL', uk, uk .. ':keys', uk .. ':policies')\n"
    "redis.call('SREM', 'ph:users', n)\n"
    "return {'ok', dropped}\n";

static const char s_list_lua[] = CTL_LUA_USER "local out = {}\n"
                                              "local names = redis.call('SMEMBERS', 'ph:users')\n"
                                              "table.sort(names)\n"
                                              "for _, n in ipairs(names) do\n"
                                              "  local u = user(n)\n"
                                              "  if u then out[#out + 1] = u end\n"
                                              "end\n"
                                              "return out\n";

/*  ARGV: name, key. */
static const char s_add_key_lua[] =
    CTL_LUA_USER "local uk = 'ph:user:{' .. ARGV[1] .. '}'\n"
                 "if redis.call('EXISTS', uk) == 0 then return {'missing'} end\n"
                 "local cur = redis.call('GET', 'ph:key:{' .. ARGV[2] .. '}')\n"
                 "if cur then return {'taken', cur} end\n"
                 "redis.call('SET', 'ph:key:{' .. ARGV[2] .. '}', 'user:' .. ARGV[1])\n"
                 "redis.call('SADD', uk .. ':keys', ARGV[2])\n"
                 "return {'ok', user(ARGV[1])}\n";

/*  ARGV: name, key. */
static const char s_remove_key_lua[] = CTL_LUA_USER
    "local uk = 'ph:user:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', uk) == 0 then return {'missing'} end\n"
    "if redis.call('GET', 'ph:key:{' .. ARGV[2] .. '}') ~= 'user:' .. ARGV[1] then\n"
    "  return {'notyours'}\n"
    "end\n"
    "redis.call('DEL', 'ph:key:{' .. ARGV[2] .. '}')\n"
    "redis.call('SREM', uk .. ':keys', ARGV[2])\n"
    "if redis.call('HGET', uk, 'public_key') == ARGV[2] then redis.call('HDEL', uk, 'public_key') "
    "end\n"
    "return {'ok', user(ARGV[1])}\n";

/*  ARGV: name, 'tag' | 'untag', max tags, then k, v, ... (tag) or k, ...
 *  (untag). Keeps the order of the stored tags; new keys go last. */
static const char s_tags_lua[] =
    CTL_LUA_USER "local uk = 'ph:user:{' .. ARGV[1] .. '}'\n"
                 "if redis.call('EXISTS', uk) == 0 then return {'missing'} end\n"
                 "local order, map = {}, {}\n"
                 "for kv in string.gmatch(redis.call('HGET', uk, 'tags') or '', '[^,]+') do\n"
                 "  local k, v = string.match(kv, '^([^=]*)=(.*)$')\n"
                 "  if k then order[#order + 1] = k; map[k] = v end\n"
                 "end\n"
                 "if ARGV[2] == 'tag' then\n"
                 "  for i = 4, #ARGV, 2 do\n"
                 "    if map[ARGV[i]] == nil then order[#order + 1] = ARGV[i] end\n"
                 "    map[ARGV[i]] = ARGV[i + 1]\n"
                 "  end\n"
                 "else\n"
                 "  for i = 4, #ARGV do map[ARGV[i]] = nil end\n"
                 "end\n"
                 "local out, seen = {}, {}\n"
                 "for _, k in ipairs(order) do\n"
                 "  if map[k] ~= nil and not seen[k] then out[#out + 1] = k .. '=' .. map[k]; "
                 "seen[k] = true end\n"
                 "end\n"
                 "if #out > tonumber(ARGV[3]) then return {'toomany'} end\n"
                 "redis.call('HSET', uk, 'tags', table.concat(out, ','))\n"
                 "return {'ok', user(ARGV[1])}\n";

/* ---- replies ------------------------------------------------------------ */

void ctl_iam_reply (ctl_req_t **req_p, Porthole__V1__IamReply *body)
{
    body->op = (*req_p)->env->iam->op;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY;
    env.iam_reply = body;
    ctl_req_reply (req_p, &env);
}

/*  One User message and the storage it points into (strings into the
 *  Redis reply, valid during its callback). */
typedef struct {
    Porthole__V1__User user;
    ph_tag_t parsed[PH_TAGS_MAX];
    Porthole__V1__Tag tags[PH_TAGS_MAX];
    Porthole__V1__Tag *tagp[PH_TAGS_MAX];
    char **keys;
    char **policies;
} s_user_out_t;

static char **s_strings (const ph_reply_t *arr, size_t *n)
{
    *n = ph_reply_count (arr);
    char **out = calloc (*n ? *n : 1, sizeof *out);
    assert (out);
    for (size_t i = 0; i < *n; i++)
        out[i] = (char *)ph_reply_str (ph_reply_at (arr, i));
    return out;
}

/*  Fills o from the {hash, keys, policies} of the Lua user() function. */
static void s_user_out (const ph_reply_t *u, s_user_out_t *o)
{
    const ph_reply_t *h = ph_reply_at (u, 0);
    porthole__v1__user__init (&o->user);
    const char *name = ph_reply_field (h, "name"), *created = ph_reply_field (h, "created_ms");
    const char *admin = ph_reply_field (h, "admin");
    o->user.name = (char *)(name ? name : "");
    o->user.created_ms = created ? strtoull (created, NULL, 10) : 0;
    o->user.admin = admin && strcmp (admin, "1") == 0;
    ph_policy_kv_t kv[PH_TAGS_MAX];
    size_t n = ctl_tags_to_kv (ph_reply_field (h, "tags"), o->parsed, kv);
    for (size_t i = 0; i < n; i++) {
        porthole__v1__tag__init (&o->tags[i]);
        o->tags[i].key = o->parsed[i].key;
        o->tags[i].value = o->parsed[i].value;
        o->tagp[i] = &o->tags[i];
    }
    o->user.n_tags = n;
    o->user.tags = o->tagp;
    o->keys = s_strings (ph_reply_at (u, 1), &o->user.n_public_keys);
    o->user.public_keys = o->keys;
    o->policies = s_strings (ph_reply_at (u, 2), &o->user.n_policies);
    o->user.policies = o->policies;
}

static void s_user_out_free (s_user_out_t *o)
{
    free (o->keys);
    free (o->policies);
}

/*  Replies with the users of the array users (each a user() triple). */
static void s_reply_users (ctl_req_t **req_p, const ph_reply_t *users)
{
    size_t n = ph_reply_count (users);
    s_user_out_t *outs = calloc (n ? n : 1, sizeof *outs);
    Porthole__V1__User **ptrs = calloc (n ? n : 1, sizeof *ptrs);
    assert (outs && ptrs);
    for (size_t i = 0; i < n; i++) {
        s_user_out (ph_reply_at (users, i), &outs[i]);
        ptrs[i] = &outs[i].user;
    }
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    body.n_users = n;
    body.users = ptrs;
    ctl_iam_reply (req_p, &body);
    for (size_t i = 0; i < n; i++)
        s_user_out_free (&outs[i]);
    free (outs);
    free (ptrs);
}

/*  The reply of a script that returns {'ok', user} or {'WHAT', arg}:
 *  answers the error for WHAT (via fail) or the user. */
typedef void (s_fail_fn) (ctl_req_t **req_p, const char *what, const char *arg);

static void s_on_user_result (ctl_req_t *req, const ph_reply_t *reply, s_fail_fn *fail)
{
    const char *what = ph_reply_str (ph_reply_at (reply, 0));
    if (!what || strcmp (what, "ok") != 0) {
        fail (&req, what ? what : "?", ph_reply_str (ph_reply_at (reply, 1)));
        return;
    }
    const ph_reply_t *u = ph_reply_at (reply, 1);
    if (!ph_reply_is_array (u)) {
        Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
        ctl_iam_reply (&req, &body);
        return;
    }
    s_user_out_t out;
    s_user_out (u, &out);
    Porthole__V1__User *ptr = &out.user;
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    body.n_users = 1;
    body.users = &ptr;
    ctl_iam_reply (&req, &body);
    s_user_out_free (&out);
}

static void s_user_fail (ctl_req_t **req_p, const char *what, const char *arg)
{
    const Porthole__V1__IamRequest *r = (*req_p)->env->iam;
    if (strcmp (what, "missing") == 0)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: user %s does not exist; list users with porthole iam list-users",
                      r->user);
    else if (strcmp (what, "exists") == 0)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: user %s already exists; choose another name or delete it first",
                      r->user);
    else if (strcmp (what, "taken") == 0)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: key %s is already registered (to %s); each user needs their own "
                      "key (porthole configure makes one)",
                      r->public_key, arg ? arg : "someone");
    else if (strcmp (what, "notyours") == 0)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: key %s is not a key of user %s; list keys with porthole iam "
                      "list-users",
                      r->public_key, r->user);
    else if (strcmp (what, "toomany") == 0)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: user %s would have more than %d tags; remove some with porthole "
                      "iam untag-user",
                      r->user, PH_TAGS_MAX);
    else if (strcmp (what, "bootstrap") == 0)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: %s is the bootstrap admin and cannot be deleted", r->user);
    else
        ctl_req_fail (req_p, CTL_E_INTERNAL,
                      "porthole: unexpected answer '%.32s' from the store; operators: see the "
                      "controller log",
                      what);
}

static void s_on_user_script (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    s_on_user_result (req, reply, s_user_fail);
}

/* ---- tags --------------------------------------------------------------- */

/*  Checks the request's tags (ph_parse_tags rules; RunAs a unix account
 *  name other than root) and joins them as "k=v,...". Returns false with
 *  the request answered. */
static bool s_tags_checked (ctl_req_t **req_p, char *out, size_t len)
{
    const Porthole__V1__IamRequest *r = (*req_p)->env->iam;
    char err[PH_ERRTEXT_MAX] = "";
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < r->n_tags && i <= PH_TAGS_MAX; i++) {
        const char *k = r->tags[i]->key, *v = r->tags[i]->value;
        if (strpbrk (k, ",=") || strpbrk (v, ",="))
            snprintf (err, sizeof err, "tag '%.64s=%.64s' may not hold ',' or '='", k, v);
        else if (strcmp (k, "RunAs") == 0 && !ctl_unix_name_valid (v))
            snprintf (err, sizeof err,
                      "RunAs=%.64s must name a unix account ([a-z_][a-z0-9_-]*) other than root",
                      v);
        int n = snprintf (out + used, len - used, "%s%s=%s", i ? "," : "", k, v);
        if (n < 0 || (size_t)n >= len - used)
            snprintf (err, sizeof err, "tags are too long");
        if (*err)
            break;
        used += (size_t)n;
    }
    ph_tag_t parsed[PH_TAGS_MAX];
    if (!*err && r->n_tags > PH_TAGS_MAX)
        snprintf (err, sizeof err, "too many tags: at most %d", PH_TAGS_MAX);
    if (!*err && (!*out || ph_parse_tags (out, parsed, PH_TAGS_MAX, err, sizeof err) >= 0))
        return true;
    ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: %s", err);
    return false;
}

/* ---- user ops ----------------------------------------------------------- */

static void s_create_user (ctl_req_t *req)
{
    char tags[CTL_TAGS_TEXT_MAX];
    if (!s_tags_checked (&req, tags, sizeof tags))
        return;
    int rc =
        ph_redis_cmd (req->ctl->redis, s_on_user_script, req, "EVAL %s 0 %s %llu %s", s_create_lua,
                      req->env->iam->user, (unsigned long long)ph_now_ms (), tags);
    ctl_req_queued (&req, rc);
}

static void s_on_deleted (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *what = ph_reply_str (ph_reply_at (reply, 0));
    if (!what || strcmp (what, "ok") != 0) {
        s_user_fail (&req, what ? what : "?", NULL);
        return;
    }
    const ph_reply_t *keys = ph_reply_at (reply, 1);
    for (size_t i = 0; i < ph_reply_count (keys); i++)
        ctl_cache_forget (req->ctl, ph_reply_str (ph_reply_at (keys, i)));
    ctl_relay_drop_clients (req->ctl, req->env->iam->user, NULL);
    ph_info ("audit: user %s deleted user %s (%zu key(s))", req->name, req->env->iam->user,
             ph_reply_count (keys));
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    ctl_iam_reply (&req, &body);
}

static void s_delete_user (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_deleted, req, "EVAL %s 0 %s", s_delete_lua,
                           req->env->iam->user);
    ctl_req_queued (&req, rc);
}

static void s_on_listed (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (ctl_req_reply_ok (&req, reply))
        s_reply_users (&req, reply);
}

static void s_list_users (ctl_req_t *req)
{
    ctl_req_queued (&req,
                    ph_redis_cmd (req->ctl->redis, s_on_listed, req, "EVAL %s 0", s_list_lua));
}

static bool s_key_checked (ctl_req_t **req_p)
{
    const char *key = (*req_p)->env->iam->public_key;
    if (ph_keys_z85_valid (key))
        return true;
    ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                  "porthole: --public-key must be a 40-character Z85 CURVE public key (porthole "
                  "configure prints yours); got '%.48s'",
                  key);
    return false;
}

static void s_on_key_changed (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const Porthole__V1__IamRequest *r = req->env->iam;
    const char *what = ph_reply_str (ph_reply_at (reply, 0));
    if (what && strcmp (what, "ok") == 0) {
        bool removed = strcmp (r->op, "RemoveUserKey") == 0;
        ctl_cache_forget (req->ctl, r->public_key);
        if (removed)
            ctl_relay_drop_clients (req->ctl, r->user, r->public_key);
        ph_info ("audit: user %s %s key %s %s user %s", req->name, removed ? "removed" : "added",
                 r->public_key, removed ? "from" : "to", r->user);
    }
    s_on_user_result (req, reply, s_user_fail);
}

static void s_change_key (ctl_req_t *req)
{
    if (!s_key_checked (&req))
        return;
    const Porthole__V1__IamRequest *r = req->env->iam;
    const char *lua = strcmp (r->op, "AddUserKey") == 0 ? s_add_key_lua : s_remove_key_lua;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_key_changed, req, "EVAL %s 0 %s %s", lua, r->user,
                           r->public_key);
    ctl_req_queued (&req, rc);
}

static void s_tag_user (ctl_req_t *req)
{
    char tags[CTL_TAGS_TEXT_MAX];
    if (!s_tags_checked (&req, tags, sizeof tags))
        return;
    const Porthole__V1__IamRequest *r = req->env->iam;
    if (r->n_tags == 0) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: give at least one tag (--tags k=v,...)");
        return;
    }
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_tags_lua);
    ctl_argv_add (&a, "0");
    ctl_argv_add (&a, r->user);
    ctl_argv_add (&a, "tag");
    ctl_argv_addf (&a, "%d", PH_TAGS_MAX);
    for (size_t i = 0; i < r->n_tags; i++) {
        ctl_argv_add (&a, r->tags[i]->key);
        ctl_argv_add (&a, r->tags[i]->value);
    }
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_user_script, req));
}

static void s_untag_user (ctl_req_t *req)
{
    const Porthole__V1__IamRequest *r = req->env->iam;
    if (r->n_tag_keys == 0 || r->n_tag_keys > PH_TAGS_MAX) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: give 1..%d tag keys (--tag-keys k1,k2)", PH_TAGS_MAX);
        return;
    }
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_tags_lua);
    ctl_argv_add (&a, "0");
    ctl_argv_add (&a, r->user);
    ctl_argv_add (&a, "untag");
    ctl_argv_addf (&a, "%d", PH_TAGS_MAX);
    for (size_t i = 0; i < r->n_tag_keys; i++)
        ctl_argv_add (&a, r->tag_keys[i]);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_user_script, req));
}

/* ---- op table ------------------------------------------------------------ */

typedef enum { S_ON_ALL, S_ON_USER, S_ON_POLICY } s_on_t;

static const ctl_op_t s_ops[] = {
    {"CreateUser", S_ON_USER, s_create_user},
    {"DeleteUser", S_ON_USER, s_delete_user},
    {"ListUsers", S_ON_ALL, s_list_users},
    {"AddUserKey", S_ON_USER, s_change_key},
    {"RemoveUserKey", S_ON_USER, s_change_key},
    {"TagUser", S_ON_USER, s_tag_user},
    {"UntagUser", S_ON_USER, s_untag_user},
    {"CreatePolicy", S_ON_POLICY, ctl_iam_create_policy},
    {"DeletePolicy", S_ON_POLICY, ctl_iam_delete_policy},
    {"GetPolicy", S_ON_POLICY, ctl_iam_get_policy},
    {"ListPolicies", S_ON_ALL, ctl_iam_list_policies},
    {"AttachUserPolicy", S_ON_USER, ctl_iam_attach_policy},
    {"DetachUserPolicy", S_ON_USER, ctl_iam_detach_policy},
    {"SimulatePrincipalPolicy", S_ON_USER, ctl_iam_simulate},
};

void ctl_iam_request (ctl_req_t *req)
{
    const Porthole__V1__IamRequest *r = req->env->iam;
    const ctl_op_t *op = ctl_op_find (s_ops, sizeof s_ops / sizeof s_ops[0], r->op);
    if (!op) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not an IAM operation; is your porthole CLI the same "
                      "version as the controller?",
                      r->op);
        return;
    }
    char resource[CTL_RESOURCE_MAX] = "*";
    const char *name = op->on == S_ON_USER ? r->user : r->policy_name;
    if (op->on != S_ON_ALL && !ph_name_valid (name)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: %s needs a %s name of 1..64 characters A-Z a-z 0-9 _ . @ - "
                      "(got '%.64s')",
                      op->op, op->on == S_ON_USER ? "user" : "policy", name);
        return;
    }
    if (op->on != S_ON_ALL)
        snprintf (resource, sizeof resource, "%s/%s", op->on == S_ON_USER ? "user" : "policy",
                  name);
    char action[CTL_ACTION_MAX];
    snprintf (action, sizeof action, "iam:%s", op->op);
    if (!ctl_req_authorize (&req, action, resource, NULL))
        return;
    op->fn (req);
}
