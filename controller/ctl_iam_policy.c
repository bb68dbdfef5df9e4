/*  ctl_iam_policy: the IAM ops on policies and SimulatePrincipalPolicy.
 *  Called by ctl_iam_request once the op's name field was checked and the
 *  call authorised.
 *
 *  Redis keys:
 *    ph:policy:{NAME}        hash: name, document (the JSON as given), created_ms
 *    ph:policy:{NAME}:users  set of the users it is attached to
 *    ph:policies             set of policy names
 *  A document is stored only after ph_policy_parse accepted it; its error
 *  text goes back verbatim (after "porthole: policy NAME: ").
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_USER_POLICIES_MAX 20 /* policies attached to one user */

/*  ARGV: name, document, now ms. */
static const char s_create_lua[] =
    "local pk = 'ph:policy:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', pk) == 1 then return 'exists' end\n"
    "redis.call('HSET', pk, 'name', ARGV[1], 'document', ARGV[2], 'created_ms', ARGV[3])\n"
    "redis.call('SADD', 'ph:policies', ARGV[1])\n"
    "return 'ok'\n";

/*  ARGV: name. Returns 'ok', 'missing' or the number of users attached. */
static const char s_delete_lua[] = "local pk = 'ph:policy:{' .. ARGV[1] .. '}'\n"
                                   "if redis.call('EXISTS', pk) == 0 then return 'missing' end\n"
                                   "local n = redis.call('SCARD', pk .. ':users')\n"
                                   "if n > 0 then return n end\n"
                                   "redis.call('DEL', pk, pk .. ':users')\n"
                                   "redis.call('SREM', 'ph:policies', ARGV[1])\n"
                                   "return 'ok'\n";

/*  ARGV: name or '' (all), with documents '1' or '0'. Returns a list of
 *  {hash, attachment count}. */
static const char s_get_lua[] =
    "local names = {ARGV[1]}\n"
    "if ARGV[1] == '' then names = redis.call('SMEMBERS', 'ph:policies') end\n"
    "table.sort(names)\n"
    "local out = {}\n"
    "for _, n in ipairs(names) do\n"
    "  local pk = 'ph:policy:{' .. n .. '}'\n"
    "  local h = redis.call('HMGET', pk, 'name', 'created_ms', 'document')\n"
    "  if h[1] then\n"
    "    if ARGV[2] ~= '1' then h[3] = '' end\n"
    "    out[#out + 1] = {h[1], h[2] or '0', h[3] or '', redis.call('SCARD', pk .. ':users')}\n"
    "  end\n"
    "end\n"
    "return out\n";

/*  ARGV: user, policy, 'attach' | 'detach', max. Returns 'ok', 'missing'
 *  (user), 'nopolicy', 'toomany' or 'notattached'. */
static const char s_attach_lua[] =
    "local uk = 'ph:user:{' .. ARGV[1] .. '}'\n"
    "local pk = 'ph:policy:{' .. ARGV[2] .. '}'\n"
    "if redis.call('EXISTS', uk) == 0 then return 'missing' end\n"
    "if ARGV[3] == 'detach' then\n"
    "  if redis.call('SREM', uk .. ':policies', ARGV[2]) == 0 then return 'notattached' end\n"
    "  redis.call('SREM', pk .. ':users', ARGV[1])\n"
    "  return 'ok'\n"
    "end\n"
    "if redis.call('EXISTS', pk) == 0 then return 'nopolicy' end\n"
    "if redis.call('SISMEMBER', uk .. ':policies', ARGV[2]) == 0 and\n"
    "   redis.call('SCARD', uk .. ':policies') >= tonumber(ARGV[4]) then return 'toomany' end\n"
    "redis.call('SADD', uk .. ':policies', ARGV[2])\n"
    "redis.call('SADD', pk .. ':users', ARGV[1])\n"
    "return 'ok'\n";

/*  ARGV: user, instance id or '', session id or ''. Returns 'missing' or
 *  {admin, tags, {policy, document, ...}, instance tags, session owner}. */
static const char s_simulate_lua[] =
    "local uk = 'ph:user:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', uk) == 0 then return 'missing' end\n"
    "local u = redis.call('HMGET', uk, 'admin', 'tags')\n"
    "local docs = {}\n"
    "for _, p in ipairs(redis.call('SMEMBERS', uk .. ':policies')) do\n"
    "  local d = redis.call('HGET', 'ph:policy:{' .. p .. '}', 'document')\n"
    "  if d then docs[#docs + 1] = p; docs[#docs + 1] = d end\n"
    "end\n"
    "local itags, owner = '', ''\n"
    "if ARGV[2] ~= '' then\n"
    "  itags = redis.call('HGET', 'ph:instance:{' .. ARGV[2] .. '}', 'tags') or ''\n"
    "end\n"
    "if ARGV[3] ~= '' then\n"
    "  owner = redis.call('HGET', 'ph:session:{' .. ARGV[3] .. '}', 'owner') or ''\n"
    "end\n"
    "return {u[1] or '0', u[2] or '', docs, itags, owner}\n";

static void s_fail_missing_policy (ctl_req_t **req_p, const char *name)
{
    ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                  "porthole: policy %s does not exist; list policies with porthole iam "
                  "list-policies",
                  name);
}

/* ---- create, delete, get, list ------------------------------------------ */

static void s_reply_policies (ctl_req_t **req_p, const ph_reply_t *list)
{
    size_t n = ph_reply_count (list);
    Porthole__V1__Policy *pols = calloc (n ? n : 1, sizeof *pols);
    Porthole__V1__Policy **ptrs = calloc (n ? n : 1, sizeof *ptrs);
    assert (pols && ptrs);
    for (size_t i = 0; i < n; i++) {
        const ph_reply_t *p = ph_reply_at (list, i);
        const char *created = ph_reply_str (ph_reply_at (p, 1));
        porthole__v1__policy__init (&pols[i]);
        pols[i].name = (char *)ph_reply_str (ph_reply_at (p, 0));
        pols[i].created_ms = created ? strtoull (created, NULL, 10) : 0;
        pols[i].document = (char *)ph_reply_str (ph_reply_at (p, 2));
        pols[i].attachment_count = (uint32_t)ph_reply_int (ph_reply_at (p, 3));
        ptrs[i] = &pols[i];
    }
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    body.n_policies = n;
    body.policies = ptrs;
    ctl_iam_reply (req_p, &body);
    free (ptrs);
    free (pols);
}

static void s_on_created (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const Porthole__V1__IamRequest *r = req->env->iam;
    const char *what = ph_reply_str (reply);
    if (!what || strcmp (what, "ok") != 0) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: policy %s already exists; delete it first or choose another "
                      "name",
                      r->policy_name);
        return;
    }
    ph_info ("audit: user %s created policy %s", req->name, r->policy_name);
    Porthole__V1__Policy pol = PORTHOLE__V1__POLICY__INIT;
    pol.name = r->policy_name;
    pol.document = r->policy_document;
    pol.created_ms = req->num;
    Porthole__V1__Policy *ptr = &pol;
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    body.n_policies = 1;
    body.policies = &ptr;
    ctl_iam_reply (&req, &body);
}

void ctl_iam_create_policy (ctl_req_t *req)
{
    const Porthole__V1__IamRequest *r = req->env->iam;
    char err[PH_POLICY_ERR_MAX];
    size_t len = strlen (r->policy_document);
    if (len > PH_POLICY_DOC_MAX) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: policy %s: the document is %zu bytes; at most %d", r->policy_name,
                      len, PH_POLICY_DOC_MAX);
        return;
    }
    ph_policy_t *p = ph_policy_parse (r->policy_name, r->policy_document, len, err, sizeof err);
    if (!p) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST, "porthole: policy %s: %s", r->policy_name, err);
        return;
    }
    ph_policy_destroy (&p);
    req->num = ph_now_ms ();
    int rc = ph_redis_cmd (req->ctl->redis, s_on_created, req, "EVAL %s 0 %s %s %llu", s_create_lua,
                           r->policy_name, r->policy_document, (unsigned long long)req->num);
    ctl_req_queued (&req, rc);
}

static void s_on_deleted (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *name = req->env->iam->policy_name;
    const char *what = ph_reply_str (reply);
    if (ph_reply_is_int (reply)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: policy %s is attached to %lld user(s); detach it first "
                      "(porthole iam detach-user-policy)",
                      name, ph_reply_int (reply));
        return;
    }
    if (!what || strcmp (what, "ok") != 0) {
        s_fail_missing_policy (&req, name);
        return;
    }
    ph_info ("audit: user %s deleted policy %s", req->name, name);
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    ctl_iam_reply (&req, &body);
}

void ctl_iam_delete_policy (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_deleted, req, "EVAL %s 0 %s", s_delete_lua,
                           req->env->iam->policy_name);
    ctl_req_queued (&req, rc);
}

static void s_on_got (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    if (strcmp (req->env->iam->op, "GetPolicy") == 0 && ph_reply_count (reply) == 0) {
        s_fail_missing_policy (&req, req->env->iam->policy_name);
        return;
    }
    s_reply_policies (&req, reply);
}

void ctl_iam_get_policy (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_got, req, "EVAL %s 0 %s 1", s_get_lua,
                           req->env->iam->policy_name);
    ctl_req_queued (&req, rc);
}

void ctl_iam_list_policies (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_got, req, "EVAL %s 0 %s 0", s_get_lua, "");
    ctl_req_queued (&req, rc);
}

/* ---- attach, detach ------------------------------------------------------ */

static void s_on_attached (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const Porthole__V1__IamRequest *r = req->env->iam;
    const char *what = ph_reply_str (reply);
    what = what ? what : "?";
    if (strcmp (what, "ok") == 0) {
        ph_info ("audit: user %s: %s %s user %s", req->name, r->op, r->policy_name, r->user);
        Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
        ctl_iam_reply (&req, &body);
    } else if (strcmp (what, "missing") == 0)
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: user %s does not exist; list users with porthole iam list-users",
                      r->user);
    else if (strcmp (what, "nopolicy") == 0)
        s_fail_missing_policy (&req, r->policy_name);
    else if (strcmp (what, "toomany") == 0)
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: user %s already has %d policies attached; detach one or merge "
                      "them",
                      r->user, CTL_USER_POLICIES_MAX);
    else
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: policy %s is not attached to user %s; see porthole iam "
                      "list-users",
                      r->policy_name, r->user);
}

static void s_attach_or_detach (ctl_req_t *req, const char *mode)
{
    const Porthole__V1__IamRequest *r = req->env->iam;
    if (!ph_name_valid (r->policy_name)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: %s needs --policy-name (1..64 of A-Z a-z 0-9 _ . @ -)", r->op);
        return;
    }
    int rc = ph_redis_cmd (req->ctl->redis, s_on_attached, req, "EVAL %s 0 %s %s %s %d",
                           s_attach_lua, r->user, r->policy_name, mode, CTL_USER_POLICIES_MAX);
    ctl_req_queued (&req, rc);
}

void ctl_iam_attach_policy (ctl_req_t *req)
{
    s_attach_or_detach (req, "attach");
}

void ctl_iam_detach_policy (ctl_req_t *req)
{
    s_attach_or_detach (req, "detach");
}

/* ---- SimulatePrincipalPolicy ------------------------------------------- */

static void s_on_simulate (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const Porthole__V1__IamRequest *r = req->env->iam;
    if (!ph_reply_is_array (reply)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: user %s does not exist; list users with porthole iam list-users",
                      r->user);
        return;
    }
    const char *admin = ph_reply_str (ph_reply_at (reply, 0));
    ctl_principal_t *p =
        ctl_principal_new (req->ctl, r->user, admin && strcmp (admin, "1") == 0,
                           ph_reply_str (ph_reply_at (reply, 1)), ph_reply_at (reply, 2));
    ph_tag_t tags[PH_TAGS_MAX];
    ph_policy_kv_t kv[PH_TAGS_MAX];
    size_t ntags = ctl_tags_to_kv (ph_reply_str (ph_reply_at (reply, 3)), tags, kv);
    const char *owner = ph_reply_str (ph_reply_at (reply, 4));
    char why[PH_POLICY_WHY_MAX], matched[PH_POLICY_WHY_MAX + 64];
    ph_policy_result_t res;
    ph_policy_decision_t d =
        ctl_principal_evaluate (p, r->action, r->resource, *r->source_ip ? r->source_ip : NULL,
                                owner && *owner ? owner : NULL, kv, ntags, &res, why, sizeof why);
    if (ctl_principal_admin (p)) {
        d = PH_POLICY_ALLOW;
        snprintf (matched, sizeof matched, "admin user (the bootstrap admin may do everything)");
    } else if (d == PH_POLICY_IMPLICIT_DENY)
        snprintf (matched, sizeof matched, "%s", PH_POLICY_WHY_NO_STATEMENT);
    else if (res.sid)
        snprintf (matched, sizeof matched, "policy %s statement %s", res.policy, res.sid);
    else if (strstr (why, "cannot be parsed"))
        snprintf (matched, sizeof matched, "policy %s (cannot be parsed)", res.policy);
    else
        snprintf (matched, sizeof matched, "policy %s Statement[%zu]", res.policy, res.statement);
    Porthole__V1__IamReply body = PORTHOLE__V1__IAM_REPLY__INIT;
    body.decision = (char *)ph_policy_decision_name (d);
    body.matched_statement = matched;
    ctl_iam_reply (&req, &body);
    ctl_principal_destroy (&p);
}

/*  The instance id (resource instance/ID) or session id (session/ID) that
 *  the simulation needs context from, else "". */
static void s_resource_ids (const char *resource, char *iid, char *sid)
{
    iid[0] = sid[0] = 0;
    if (strncmp (resource, "instance/", 9) == 0 && ph_instance_id_valid (resource + 9))
        snprintf (iid, CTL_IID_MAX, "%s", resource + 9);
    else if (strncmp (resource, "session/", 8) == 0 && ctl_session_id_valid (resource + 8))
        snprintf (sid, CTL_SID_MAX, "%s", resource + 8);
}

void ctl_iam_simulate (ctl_req_t *req)
{
    const Porthole__V1__IamRequest *r = req->env->iam;
    if (!ph_policy_action_known (r->action)) {
        const char *hint = ph_policy_action_suggest (r->action);
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not a known action%s%s%s (like session:StartSession)",
                      r->action, hint ? "; did you mean " : "", hint ? hint : "", hint ? "?" : "");
        return;
    }
    if (!*r->resource || strlen (r->resource) >= CTL_RESOURCE_MAX) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: --resource must be TYPE/NAME (like instance/mi-0a1b2c3d4e5f60718) "
                      "or *, at most %d bytes",
                      CTL_RESOURCE_MAX - 1);
        return;
    }
    char iid[CTL_IID_MAX], sid[CTL_SID_MAX];
    s_resource_ids (r->resource, iid, sid);
    int rc = ph_redis_cmd (req->ctl->redis, s_on_simulate, req, "EVAL %s 0 %s %s %s",
                           s_simulate_lua, r->user, iid, sid);
    ctl_req_queued (&req, rc);
}
