/*  ctl_principal: who is calling, as policies see it (issue 5).
 *
 *  Every API call from a user loads its principal in ONE async Redis round
 *  trip (s_principal_lua): the script first checks that ph:key:{Z85} still
 *  says user:NAME, so that a key or user removed while its connection is
 *  open cannot make another call; then it returns the admin flag, the
 *  user's tags and the documents of the attached policies.
 *
 *  Parsed policies are cached in memory keyed by name + SHA-256 of the
 *  document, so an edited document is parsed afresh and an unchanged one
 *  is parsed once. Entries are reference counted (a principal holds its
 *  policies across Redis callbacks) and dropped by housekeeping when no
 *  principal used them for CTL_POLICY_IDLE_MS.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

/*  KEYS: ph:key:{Z85}, ph:user:{NAME}, ph:user:{NAME}:policies; ARGV: name.
 *  Returns 'removed' or {admin, tags, {policy, document, ...}}. */
static const char s_principal_lua[] =
    "if redis.call('GET', KEYS[1]) ~= 'user:' .. ARGV[1] then return 'removed' end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then return 'removed' end\n"
    "local u = redis.call('HMGET', KEYS[2], 'admin', 'tags')\n"
    "local docs = {}\n"
    "for _, p in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
    "  local d = redis.call('HGET', 'ph:policy:{' .. p .. '}', 'document')\n"
    "  if d then docs[#docs + 1] = p; docs[#docs + 1] = d end\n"
    "end\n"
    "return {u[1] or '0', u[2] or '', docs}\n";

#define CTL_PRINCIPAL_POLICIES_MAX 64

typedef struct {
    ph_policy_t *policy; /* NULL when the stored document does not parse */
    unsigned refs;
    uint64_t last_used_mono;
} s_policy_entry_t;

struct _ctl_principal_t {
    ctl_t *ctl;
    char name[CTL_NAME_MAX];
    bool admin;
    ph_tag_t tags[PH_TAGS_MAX];
    ph_policy_kv_t kv[PH_TAGS_MAX];
    size_t n_tags;
    s_policy_entry_t *entries[CTL_PRINCIPAL_POLICIES_MAX];
    ph_policy_t *policies[CTL_PRINCIPAL_POLICIES_MAX]; /* the parsed ones */
    size_t n_entries;
    size_t n_policies;
    char broken[CTL_NAME_MAX]; /* a policy whose document does not parse */
};

/* ---- parsed-policy cache ------------------------------------------------ */

static void s_free_policy_entry (void **item_p)
{
    s_policy_entry_t *e = *item_p;
    if (e)
        ph_policy_destroy (&e->policy);
    free (e);
    *item_p = NULL;
}

zhashx_t *ctl_principal_cache_new (void)
{
    zhashx_t *h = zhashx_new ();
    assert (h);
    zhashx_set_destructor (h, s_free_policy_entry);
    return h;
}

/*  The cache entry of policy name with document doc (parsed when new);
 *  its reference count is taken. */
static s_policy_entry_t *s_policy_get (ctl_t *ctl, const char *name, const char *doc, size_t len)
{
    uint8_t sha[PH_SHA256_LEN];
    char hex[2 * PH_SHA256_LEN + 1];
    char key[CTL_NAME_MAX + sizeof hex + 1];
    ph_sha256 (doc, len, sha);
    ph_hex (sha, sizeof sha, hex);
    snprintf (key, sizeof key, "%.64s\n%s", name, hex);
    s_policy_entry_t *e = zhashx_lookup (ctl->policy_cache, key);
    if (!e) {
        char err[PH_POLICY_ERR_MAX] = "";
        e = calloc (1, sizeof *e);
        assert (e);
        e->policy = ph_policy_parse (name, doc, len, err, sizeof err);
        if (!e->policy)
            ph_error ("policy %s in Redis does not parse (%s); its users are denied everything "
                      "until an admin replaces it",
                      name, err);
        zhashx_insert (ctl->policy_cache, key, e);
    }
    e->refs++;
    e->last_used_mono = ph_mono_ms ();
    return e;
}

void ctl_principal_tick (ctl_t *ctl)
{
    uint64_t now = ph_mono_ms ();
    zlistx_t *keys = zhashx_keys (ctl->policy_cache);
    for (const char *k = zlistx_first (keys); k; k = zlistx_next (keys)) {
        s_policy_entry_t *e = zhashx_lookup (ctl->policy_cache, k);
        if (e->refs == 0 && now - e->last_used_mono > CTL_POLICY_IDLE_MS)
            zhashx_delete (ctl->policy_cache, k);
    }
    zlistx_destroy (&keys);
}

/* ---- principal ---------------------------------------------------------- */

size_t ctl_tags_to_kv (const char *text, ph_tag_t *tags, ph_policy_kv_t *kv)
{
    char err[PH_ERRTEXT_MAX];
    int n = ph_parse_tags (text ? text : "", tags, PH_TAGS_MAX, err, sizeof err);
    if (n < 0)
        return 0;
    for (int i = 0; i < n; i++) {
        kv[i].key = tags[i].key;
        kv[i].value = tags[i].value;
    }
    return (size_t)n;
}

ctl_principal_t *ctl_principal_new (ctl_t *ctl, const char *name, bool admin, const char *tags,
                                    const ph_reply_t *docs)
{
    ctl_principal_t *self = calloc (1, sizeof *self);
    assert (self);
    self->ctl = ctl;
    snprintf (self->name, sizeof self->name, "%s", name);
    self->admin = admin;
    self->n_tags = ctl_tags_to_kv (tags, self->tags, self->kv);
    size_t n = ph_reply_count (docs) / 2;
    for (size_t i = 0; i < n && self->n_entries < CTL_PRINCIPAL_POLICIES_MAX; i++) {
        const ph_reply_t *doc = ph_reply_at (docs, 2 * i + 1);
        const char *pname = ph_reply_str (ph_reply_at (docs, 2 * i));
        if (!pname || !ph_reply_str (doc))
            continue;
        s_policy_entry_t *e = s_policy_get (ctl, pname, ph_reply_str (doc), ph_reply_len (doc));
        self->entries[self->n_entries++] = e;
        if (e->policy)
            self->policies[self->n_policies++] = e->policy;
        else
            snprintf (self->broken, sizeof self->broken, "%s", pname);
    }
    return self;
}

void ctl_principal_destroy (ctl_principal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ctl_principal_t *self = *self_p;
    for (size_t i = 0; i < self->n_entries; i++) {
        assert (self->entries[i]->refs > 0);
        self->entries[i]->refs--;
        self->entries[i]->last_used_mono = ph_mono_ms ();
    }
    free (self);
    *self_p = NULL;
}

bool ctl_principal_admin (const ctl_principal_t *self)
{
    return self && self->admin;
}

const char *ctl_principal_tag (const ctl_principal_t *self, const char *key)
{
    for (size_t i = 0; self && i < self->n_tags; i++)
        if (strcmp (self->tags[i].key, key) == 0)
            return self->tags[i].value;
    return NULL;
}

ph_policy_decision_t ctl_principal_evaluate (const ctl_principal_t *self, const char *action,
                                             const char *resource, const char *source_ip,
                                             const char *owner, const ph_policy_kv_t *rtags,
                                             size_t n_rtags, ph_policy_result_t *res, char *why,
                                             size_t whylen)
{
    memset (res, 0, sizeof *res);
    if (*self->broken) {
        res->decision = PH_POLICY_EXPLICIT_DENY;
        res->policy = self->broken;
        snprintf (why, whylen, "attached policy %s cannot be parsed; ask an admin to replace it",
                  self->broken);
        return res->decision;
    }
    ph_policy_request_t rq = {.username = self->name,
                              .source_ip = source_ip,
                              .user_tags = self->kv,
                              .n_user_tags = self->n_tags,
                              .resource_tags = rtags,
                              .n_resource_tags = n_rtags,
                              .session_owner = owner};
    ph_policy_evaluate_result ((ph_policy_t *const *)self->policies, self->n_policies, action,
                               resource, &rq, res);
    if (res->decision == PH_POLICY_EXPLICIT_DENY && res->sid)
        snprintf (why, whylen, "denied by policy %s statement %s", res->policy, res->sid);
    else if (res->decision == PH_POLICY_EXPLICIT_DENY)
        snprintf (why, whylen, "denied by policy %s Statement[%zu]", res->policy, res->statement);
    else if (res->decision == PH_POLICY_ALLOW)
        snprintf (why, whylen, "allowed by policy %s statement %s", res->policy,
                  res->sid ? res->sid : "(no Sid)");
    else
        snprintf (why, whylen, "%s", PH_POLICY_WHY_NO_STATEMENT);
    return res->decision;
}

/* ---- loading for an API call ------------------------------------------- */

static void s_on_principal (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    if (!ph_reply_is_array (reply)) {
        req->denied = true;
        ph_warn ("audit: %s called %s with key %s, which is no longer registered", req->name,
                 req->action, req->key);
        ctl_req_fail (&req, CTL_E_ACCESS_DENIED,
                      "porthole: AccessDenied: the key %s is no longer registered (removed); ask "
                      "an admin",
                      req->key);
        return;
    }
    const char *admin = ph_reply_str (ph_reply_at (reply, 0));
    req->admin = admin && strcmp (admin, "1") == 0;
    req->principal =
        ctl_principal_new (req->ctl, req->name, req->admin, ph_reply_str (ph_reply_at (reply, 1)),
                           ph_reply_at (reply, 2));
    req->api (req);
}

void ctl_principal_load (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_principal, req,
                           "EVAL %s 3 ph:key:{%s} ph:user:{%s} ph:user:{%s}:policies %s",
                           s_principal_lua, req->key, req->name, req->name, req->name);
    ctl_req_queued (&req, rc);
}
