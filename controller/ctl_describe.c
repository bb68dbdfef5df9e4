/*  ctl_describe: DescribeInstances and DescribeSessions.
 *
 *  Each page is one Lua script, so that it costs one Redis round trip
 *  whatever its size: the script picks the candidate ids (tag sets, the
 *  active set, the history zset), applies the filters and returns the
 *  hashes of one page. PingStatus is computed, not stored
 *  (ctl_ping_status): the script is given the same rule (a stored Online
 *  counts while last_seen_ms is within the window) and C checks again.
 *
 *  Instances are paged in instance id order; next_token names the last
 *  instance of a page ("i1." + id), so a page is stable while instances
 *  come and go. Sessions are paged by offset.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_RESULTS_DEFAULT 50
#define CTL_RESULTS_MAX     200

/*  DescribeInstances pages. aws ssm describe-instance-information takes
 *  MaxResults 5..50 (default 50 there too); 50 stays the default here, but
 *  a page may hold up to 1000 so that listing a 10,000-instance fleet
 *  costs 10 round trips instead of 200. Whatever was asked, a reply stops
 *  early (with a next_token) before its instances reach
 *  CTL_INSTANCES_REPLY_BUDGET bytes, so it always fits PH_MSG_MAX: an
 *  instance may carry 50 tags of up to 384 bytes each. */
#define CTL_INSTANCES_PAGE_DEFAULT 50
#define CTL_INSTANCES_PAGE_MAX     1000
#define CTL_INSTANCES_REPLY_BUDGET (PH_MSG_MAX - 64 * 1024)
#define CTL_INSTANCES_TOKEN_PREFIX "i1." /* next_token = prefix + last instance id */
#define CTL_PB_FIELD_OVERHEAD      4     /* a field's tag and length, strings <= 16 KiB */
#define CTL_PB_VARINT_MAX          11    /* a uint64 field: tag and 10-byte varint */

/*  ARGV: number of tag filters, then per filter key, n, values...; then n
 *  instance ids, ids...; then the page: the id to start after ('' = from
 *  the first), the page size, the PingStatus wanted ('' = any, 'Online',
 *  'ConnectionLost', 'None'), the last_seen_ms from which a stored
 *  'Online' still counts (ctl_ping_status), the number of PlatformName
 *  filters, then per filter n, values...
 *  Returns {more, {HGETALL...}}: up to a page of the matching instances
 *  after that id in instance id order; more = 1 when others follow. Only
 *  the page's hashes are read, so a page costs one sort of the ids. */
static const char s_instances_lua[] =
    "local idx = 2\n"
    "local cand = nil\n"
    "local function narrow(set)\n"
    "  if cand == nil then cand = set return end\n"
    "  local out = {}\n"
    "  for id in pairs(cand) do if set[id] then out[id] = true end end\n"
    "  cand = out\n"
    "end\n"
    "for i = 1, tonumber(ARGV[1]) do\n"
    "  local key, n = ARGV[idx], tonumber(ARGV[idx + 1])\n"
    "  idx = idx + 2\n"
    "  local set = {}\n"
    "  for j = 1, n do\n"
    "    local tag = 'ph:tag:{' .. key .. '=' .. ARGV[idx] .. '}'\n"
    "    for _, id in ipairs(redis.call('SMEMBERS', tag)) do set[id] = true end\n"
    "    idx = idx + 1\n"
    "  end\n"
    "  narrow(set)\n"
    "end\n"
    "local m = tonumber(ARGV[idx])\n"
    "if m > 0 then\n"
    "  local set = {}\n"
    "  for j = 1, m do set[ARGV[idx + j]] = true end\n"
    "  narrow(set)\n"
    "end\n"
    "idx = idx + m + 1\n"
    "local after, limit = ARGV[idx], tonumber(ARGV[idx + 1])\n"
    "local ping, since = ARGV[idx + 2], tonumber(ARGV[idx + 3])\n"
    "local platforms = {}\n"
    "idx = idx + 5\n"
    "for i = 1, tonumber(ARGV[idx - 1]) do\n"
    "  local set, n = {}, tonumber(ARGV[idx])\n"
    "  for j = 1, n do set[ARGV[idx + j]] = true end\n"
    "  platforms[#platforms + 1] = set\n"
    "  idx = idx + n + 1\n"
    "end\n"
    "local ids = {}\n"
    "if cand == nil then ids = redis.call('SMEMBERS', 'ph:instances')\n"
    "else for id in pairs(cand) do ids[#ids + 1] = id end end\n"
    "table.sort(ids)\n"
    "local lo, hi = 1, #ids + 1\n"
    "if after ~= '' then\n"
    "  while lo < hi do\n"
    "    local mid = math.floor((lo + hi) / 2)\n"
    "    if ids[mid] <= after then lo = mid + 1 else hi = mid end\n"
    "  end\n"
    "end\n"
    "local function wanted(h)\n"
    "  if ping == '' and #platforms == 0 then return true end\n"
    "  if ping == 'None' then return false end\n"
    "  local f = {}\n"
    "  for i = 1, #h, 2 do f[h[i]] = h[i + 1] end\n"
    "  for _, set in ipairs(platforms) do\n"
    "    if not set[f.platform or ''] then return false end\n"
    "  end\n"
    "  if ping == '' then return true end\n"
    "  local online = f.ping_status == 'Online' and tonumber(f.last_seen_ms or '0') >= since\n"
    "  return online == (ping == 'Online')\n"
    "end\n"
    "local out, more = {}, 0\n"
    "for i = lo, #ids do\n"
    "  local h = redis.call('HGETALL', 'ph:instance:{' .. ids[i] .. '}')\n"
    "  if #h > 0 and wanted(h) then\n"
    "    if #out == limit then more = 1 break end\n"
    "    out[#out + 1] = h\n"
    "  end\n"
    "end\n"
    "return {more, out}\n";

/*  ARGV: 'Active' | 'History', offset, limit, number of filters, then per
 *  filter field, n, values... Returns {next offset or -1, {HGETALL...}}:
 *  active sessions newest start first, history newest end first. */
static const char s_sessions_lua[] =
    "local active = ARGV[1] == 'Active'\n"
    "local offset, limit = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local filters, idx = {}, 5\n"
    "for i = 1, tonumber(ARGV[4]) do\n"
    "  local f = {field = ARGV[idx], values = {}}\n"
    "  local n = tonumber(ARGV[idx + 1])\n"
    "  idx = idx + 2\n"
    "  for j = 1, n do f.values[ARGV[idx]] = true idx = idx + 1 end\n"
    "  filters[#filters + 1] = f\n"
    "end\n"
    "if not active and #filters == 0 then\n"
    "  local out = {}\n"
    "  for _, sid in ipairs(redis.call('ZREVRANGE', 'ph:sessions:history', offset,\n"
    "                                  offset + limit - 1)) do\n"
    "    local h = redis.call('HGETALL', 'ph:session:{' .. sid .. '}')\n"
    "    if #h > 0 then out[#out + 1] = h end\n"
    "  end\n"
    "  local nxt = -1\n"
    "  if redis.call('ZCARD', 'ph:sessions:history') > offset + limit then\n"
    "    nxt = offset + limit end\n"
    "  return {nxt, out}\n"
    "end\n"
    "local ids\n"
    "if active then ids = redis.call('SMEMBERS', 'ph:sessions:active')\n"
    "else ids = redis.call('ZREVRANGE', 'ph:sessions:history', 0, -1) end\n"
    "local rows = {}\n"
    "for _, sid in ipairs(ids) do\n"
    "  local h = redis.call('HGETALL', 'ph:session:{' .. sid .. '}')\n"
    "  local m = {}\n"
    "  for i = 1, #h, 2 do m[h[i]] = h[i + 1] end\n"
    "  local ok = #h > 0\n"
    "  for _, f in ipairs(filters) do\n"
    "    if not f.values[m[f.field] or ''] then ok = false break end\n"
    "  end\n"
    "  if ok then rows[#rows + 1] = {h, tonumber(m.start_ms or '0'), sid} end\n"
    "end\n"
    "if active then\n"
    "  table.sort(rows, function(a, b)\n"
    "    if a[2] ~= b[2] then return a[2] > b[2] end\n"
    "    return a[3] < b[3] end)\n"
    "end\n"
    "local out = {}\n"
    "for i = offset + 1, math.min(#rows, offset + limit) do out[#out + 1] = rows[i][1] end\n"
    "local nxt = -1\n"
    "if #rows > offset + limit then nxt = offset + limit end\n"
    "return {nxt, out}\n";

static uint64_t s_u64 (const ph_reply_t *h, const char *field)
{
    const char *v = ph_reply_field (h, field);
    return v ? strtoull (v, NULL, 10) : 0;
}

static const char *s_str (const ph_reply_t *h, const char *field)
{
    const char *v = ph_reply_field (h, field);
    return v ? v : "";
}

static bool s_value_listed (const Porthole__V1__Filter *f, const char *value)
{
    for (size_t i = 0; i < f->n_values; i++)
        if (strcmp (f->values[i], value) == 0)
            return true;
    return false;
}

/* ---- DescribeInstances -------------------------------------------------- */

typedef struct {
    Porthole__V1__InstanceInfo info;
    ph_tag_t *tags;
    Porthole__V1__Tag *tag_msgs;
    Porthole__V1__Tag **tag_ptrs;
} s_instance_out_t;

/*  Fills out from one instance hash; strings point into h. */
static void s_instance_info (const ctl_t *ctl, const ph_reply_t *h, s_instance_out_t *out)
{
    Porthole__V1__InstanceInfo init = PORTHOLE__V1__INSTANCE_INFO__INIT;
    Porthole__V1__Tag tag_init = PORTHOLE__V1__TAG__INIT;
    Porthole__V1__InstanceInfo *info = &out->info;
    *info = init;
    info->instance_id = (char *)s_str (h, "instance_id");
    info->last_ping_ms = s_u64 (h, "last_seen_ms");
    info->ping_status = (char *)ctl_ping_status (ctl, s_str (h, "ping_status"), info->last_ping_ms);
    info->agent_version = (char *)s_str (h, "agent_version");
    info->platform_name = (char *)s_str (h, "platform");
    info->computer_name = (char *)s_str (h, "hostname");
    info->ip_address = (char *)s_str (h, "ip");
    info->registration_ms = s_u64 (h, "registered_ms");
    info->activation_id = (char *)s_str (h, "activation_id");
    ph_tag_t parsed[PH_TAGS_MAX];
    char err[PH_ERRTEXT_MAX];
    int n = ph_parse_tags (s_str (h, "tags"), parsed, PH_TAGS_MAX, err, sizeof err);
    if (n <= 0)
        return;
    out->tags = malloc ((size_t)n * sizeof *out->tags);
    out->tag_msgs = malloc ((size_t)n * sizeof *out->tag_msgs);
    out->tag_ptrs = malloc ((size_t)n * sizeof *out->tag_ptrs);
    assert (out->tags && out->tag_msgs && out->tag_ptrs);
    memcpy (out->tags, parsed, (size_t)n * sizeof *out->tags);
    for (int i = 0; i < n; i++) {
        out->tag_msgs[i] = tag_init;
        out->tag_msgs[i].key = out->tags[i].key;
        out->tag_msgs[i].value = out->tags[i].value;
        out->tag_ptrs[i] = &out->tag_msgs[i];
    }
    info->n_tags = (size_t)n;
    info->tags = out->tag_ptrs;
}

/*  The filters on computed fields (PingStatus, PlatformName). The script
 *  applied them already; this check only drops an instance whose status
 *  changed between the script and now, so that no row contradicts the
 *  filter. */
static bool s_instance_matches (const Porthole__V1__DescribeInstancesRequest *r,
                                const Porthole__V1__InstanceInfo *info)
{
    for (size_t i = 0; i < r->n_filters; i++) {
        const Porthole__V1__Filter *f = r->filters[i];
        if (strcmp (f->key, "PingStatus") == 0 && !s_value_listed (f, info->ping_status))
            return false;
        if (strcmp (f->key, "PlatformName") == 0 && !s_value_listed (f, info->platform_name))
            return false;
    }
    return true;
}

static size_t s_str_bound (const char *text)
{
    return strlen (text) + CTL_PB_FIELD_OVERHEAD;
}

/*  An upper bound of the bytes that info takes in the encoded reply. */
static size_t s_instance_size_bound (const Porthole__V1__InstanceInfo *info)
{
    size_t n = 2 * CTL_PB_FIELD_OVERHEAD + 2 * CTL_PB_VARINT_MAX;
    const char *texts[] = {info->instance_id,   info->ping_status,   info->agent_version,
                           info->platform_name, info->computer_name, info->ip_address,
                           info->activation_id};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        n += s_str_bound (texts[i]);
    for (size_t i = 0; i < info->n_tags; i++)
        n += CTL_PB_FIELD_OVERHEAD + s_str_bound (info->tags[i]->key) +
             s_str_bound (info->tags[i]->value);
    return n;
}

static void s_instance_out_free (s_instance_out_t *out)
{
    free (out->tags);
    free (out->tag_msgs);
    free (out->tag_ptrs);
}

/*  Script reply {more, rows}: the page, cut short before the reply would
 *  pass CTL_INSTANCES_REPLY_BUDGET; next_token names the last instance
 *  the page went through when more follow. */
static void s_on_instances (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const Porthole__V1__DescribeInstancesRequest *r = req->env->describe_instances;
    bool more = ph_reply_int (ph_reply_at (reply, 0)) == 1;
    const ph_reply_t *rows = ph_reply_at (reply, 1);
    size_t n = ph_reply_count (rows), kept = 0, bytes = 0, used = 0;
    s_instance_out_t *outs = calloc (n ? n : 1, sizeof *outs);
    Porthole__V1__InstanceInfo **infos = calloc (n ? n : 1, sizeof *infos);
    assert (outs && infos);
    for (; used < n; used++) {
        s_instance_info (req->ctl, ph_reply_at (rows, used), &outs[used]);
        size_t size = s_instance_size_bound (&outs[used].info);
        if (bytes + size > CTL_INSTANCES_REPLY_BUDGET) {
            s_instance_out_free (&outs[used]);
            more = true; /* the rest on the next page */
            break;
        }
        bytes += size;
        if (s_instance_matches (r, &outs[used].info))
            infos[kept++] = &outs[used].info;
    }
    char token[sizeof CTL_INSTANCES_TOKEN_PREFIX + CTL_IID_MAX] = "";
    if (more && used > 0)
        snprintf (token, sizeof token, "%s%s", CTL_INSTANCES_TOKEN_PREFIX,
                  outs[used - 1].info.instance_id);
    Porthole__V1__DescribeInstancesReply body = PORTHOLE__V1__DESCRIBE_INSTANCES_REPLY__INIT;
    body.n_instances = kept;
    body.instances = infos;
    body.next_token = token;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES_REPLY;
    env.describe_instances_reply = &body;
    ctl_req_reply (&req, &env);
    for (size_t i = 0; i < used; i++)
        s_instance_out_free (&outs[i]);
    free (outs);
    free (infos);
}

/*  Checks one filter; NULL when fine, else why not (static text). */
static const char *s_instance_filter_error (const Porthole__V1__Filter *f)
{
    if (strncmp (f->key, "tag:", 4) == 0)
        return f->key[4] && f->n_values ? NULL : "a tag:KEY filter needs a key and values";
    if (strcmp (f->key, "InstanceIds") == 0) {
        for (size_t i = 0; i < f->n_values; i++)
            if (!ph_instance_id_valid (f->values[i]))
                return "InstanceIds values must be instance ids (mi- and 17 hex digits)";
        return NULL;
    }
    if (strcmp (f->key, "PingStatus") == 0) {
        for (size_t i = 0; i < f->n_values; i++)
            if (strcmp (f->values[i], "Online") && strcmp (f->values[i], "ConnectionLost"))
                return "PingStatus values are Online or ConnectionLost";
        return NULL;
    }
    if (strcmp (f->key, "PlatformName") == 0)
        return NULL;
    return "unknown filter key; use tag:KEY, InstanceIds, PingStatus or PlatformName";
}

/*  Checks the filters, max_results and next_token; *after gets the
 *  instance id to start after ("" for the first page). */
static bool s_instances_request_valid (ctl_req_t **req_p, const char **after)
{
    const Porthole__V1__DescribeInstancesRequest *r = (*req_p)->env->describe_instances;
    for (size_t i = 0; i < r->n_filters; i++) {
        const char *why = s_instance_filter_error (r->filters[i]);
        if (why) {
            ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: filter '%.64s': %s",
                          r->filters[i]->key, why);
            return false;
        }
    }
    if (r->max_results > CTL_INSTANCES_PAGE_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: max_results must be 1..%d (got %u)",
                      CTL_INSTANCES_PAGE_MAX, (unsigned)r->max_results);
        return false;
    }
    const char *token = r->next_token ? r->next_token : "";
    size_t plen = strlen (CTL_INSTANCES_TOKEN_PREFIX);
    *after = "";
    if (!*token)
        return true;
    if (strncmp (token, CTL_INSTANCES_TOKEN_PREFIX, plen) || !ph_instance_id_valid (token + plen)) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: next_token is not one this cluster issued; start again without "
                      "it");
        return false;
    }
    *after = token + plen;
    return true;
}

/*  The PingStatus the filters allow, as the script takes it: '' (any),
 *  'Online', 'ConnectionLost' or 'None' (filters that exclude each other). */
static const char *s_ping_wanted (const Porthole__V1__DescribeInstancesRequest *r)
{
    unsigned allowed = 3; /* 1: Online, 2: ConnectionLost */
    for (size_t i = 0; i < r->n_filters; i++)
        if (strcmp (r->filters[i]->key, "PingStatus") == 0)
            allowed &= (s_value_listed (r->filters[i], "Online") ? 1u : 0u) |
                       (s_value_listed (r->filters[i], "ConnectionLost") ? 2u : 0u);
    static const char *const names[] = {"None", "Online", "ConnectionLost", ""};
    return names[allowed];
}

/*  Adds the arguments of every filter with key (or, with key "tag:", of
 *  every tag filter: its tag key first) as "count, then per filter n,
 *  values". */
static void s_add_filter_args (ctl_argv_t *a, const Porthole__V1__DescribeInstancesRequest *r,
                               const char *key)
{
    bool tags = strcmp (key, "tag:") == 0;
    size_t count = 0;
    for (size_t i = 0; i < r->n_filters; i++)
        count += tags ? strncmp (r->filters[i]->key, "tag:", 4) == 0
                      : strcmp (r->filters[i]->key, key) == 0;
    ctl_argv_addf (a, "%zu", count);
    for (size_t i = 0; i < r->n_filters; i++) {
        const Porthole__V1__Filter *f = r->filters[i];
        if (tags ? strncmp (f->key, "tag:", 4) != 0 : strcmp (f->key, key) != 0)
            continue;
        if (tags)
            ctl_argv_add (a, f->key + 4);
        ctl_argv_addf (a, "%zu", f->n_values);
        for (size_t k = 0; k < f->n_values; k++)
            ctl_argv_add (a, f->values[k]);
    }
}

void ctl_describe_instances (ctl_req_t *req)
{
    if (!ctl_req_authorize (&req, "instance:DescribeInstanceInformation", "instance/*", NULL))
        return;
    const char *after;
    if (!s_instances_request_valid (&req, &after))
        return;
    const Porthole__V1__DescribeInstancesRequest *r = req->env->describe_instances;
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_instances_lua);
    ctl_argv_add (&a, "0");
    s_add_filter_args (&a, r, "tag:");
    size_t nids = 0;
    for (size_t i = 0; i < r->n_filters; i++)
        if (strcmp (r->filters[i]->key, "InstanceIds") == 0)
            nids += r->filters[i]->n_values;
    ctl_argv_addf (&a, "%zu", nids);
    for (size_t i = 0; i < r->n_filters; i++)
        if (strcmp (r->filters[i]->key, "InstanceIds") == 0)
            for (size_t k = 0; k < r->filters[i]->n_values; k++)
                ctl_argv_add (&a, r->filters[i]->values[k]);
    /* the page, and what the script needs to apply PingStatus like
     * ctl_ping_status: a stored Online counts since now - window */
    uint64_t now = ph_now_ms ();
    uint64_t window =
        (uint64_t)CTL_LOST_INTERVALS * req->ctl->opt.heartbeat_ms + CTL_FLUSH_SLACK_MS;
    ctl_argv_add (&a, after);
    ctl_argv_addf (&a, "%u",
                   r->max_results ? (unsigned)r->max_results : CTL_INSTANCES_PAGE_DEFAULT);
    ctl_argv_add (&a, s_ping_wanted (r));
    ctl_argv_addf (&a, "%llu", (unsigned long long)(now > window ? now - window : 0));
    s_add_filter_args (&a, r, "PlatformName");
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_instances, req));
}

/* ---- DescribeSessions --------------------------------------------------- */

static void s_session_info (const ph_reply_t *h, Porthole__V1__SessionInfo *info)
{
    Porthole__V1__SessionInfo init = PORTHOLE__V1__SESSION_INFO__INIT;
    *info = init;
    info->session_id = (char *)s_str (h, "session_id");
    info->target = (char *)s_str (h, "target");
    info->status = (char *)s_str (h, "state");
    info->start_ms = s_u64 (h, "start_ms");
    info->end_ms = s_u64 (h, "end_ms");
    info->owner = (char *)s_str (h, "owner");
    info->reason = (char *)s_str (h, "reason");
    info->document = (char *)s_str (h, "document");
    const char *code = ph_reply_field (h, "exit_code");
    info->has_exit_code = code && *code;
    info->exit_code = info->has_exit_code ? (int32_t)strtol (code, NULL, 10) : 0;
}

static void s_on_sessions (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    long long next = ph_reply_int (ph_reply_at (reply, 0));
    const ph_reply_t *rows = ph_reply_at (reply, 1);
    size_t n = ph_reply_count (rows);
    Porthole__V1__SessionInfo *infos = calloc (n ? n : 1, sizeof *infos);
    Porthole__V1__SessionInfo **ptrs = calloc (n ? n : 1, sizeof *ptrs);
    assert (infos && ptrs);
    for (size_t i = 0; i < n; i++) {
        s_session_info (ph_reply_at (rows, i), &infos[i]);
        ptrs[i] = &infos[i];
    }
    char token[24] = "";
    if (next >= 0)
        snprintf (token, sizeof token, "%lld", next);
    Porthole__V1__DescribeSessionsReply body = PORTHOLE__V1__DESCRIBE_SESSIONS_REPLY__INIT;
    body.n_sessions = n;
    body.sessions = ptrs;
    body.next_token = token;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_SESSIONS_REPLY;
    env.describe_sessions_reply = &body;
    ctl_req_reply (&req, &env);
    free (infos);
    free (ptrs);
}

static const char *s_session_filter_field (const char *key)
{
    if (strcmp (key, "Target") == 0)
        return "target";
    if (strcmp (key, "Owner") == 0)
        return "owner";
    if (strcmp (key, "Status") == 0)
        return "state";
    return NULL;
}

/*  Checks state, max_results and next_token; fills in the defaults. */
static bool s_sessions_request_valid (ctl_req_t **req_p, uint64_t *offset)
{
    Porthole__V1__DescribeSessionsRequest *r = (*req_p)->env->describe_sessions;
    const char *state = r->state && *r->state ? r->state : "Active";
    if (strcmp (state, "Active") && strcmp (state, "History")) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: state must be Active or History (got '%.32s')", state);
        return false;
    }
    if (r->max_results > CTL_RESULTS_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: max_results must be 1..%d (got %u)",
                      CTL_RESULTS_MAX, (unsigned)r->max_results);
        return false;
    }
    *offset = 0;
    if (r->next_token && *r->next_token &&
        ph_parse_uint (r->next_token, 0, UINT32_MAX, offset) != 0) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: next_token is not one this cluster issued; start again without "
                      "it");
        return false;
    }
    for (size_t i = 0; i < r->n_filters; i++)
        if (!s_session_filter_field (r->filters[i]->key)) {
            ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                          "porthole: unknown filter key '%.64s'; use Target, Owner or Status",
                          r->filters[i]->key);
            return false;
        }
    return true;
}

void ctl_describe_sessions (ctl_req_t *req)
{
    if (!ctl_req_authorize (&req, "session:DescribeSessions", "session/*", NULL))
        return;
    uint64_t offset;
    if (!s_sessions_request_valid (&req, &offset))
        return;
    const Porthole__V1__DescribeSessionsRequest *r = req->env->describe_sessions;
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_sessions_lua);
    ctl_argv_add (&a, "0");
    ctl_argv_add (&a, r->state && strcmp (r->state, "History") == 0 ? "History" : "Active");
    ctl_argv_addf (&a, "%llu", (unsigned long long)offset);
    ctl_argv_addf (&a, "%u", r->max_results ? (unsigned)r->max_results : CTL_RESULTS_DEFAULT);
    ctl_argv_addf (&a, "%zu", r->n_filters);
    for (size_t i = 0; i < r->n_filters; i++) {
        const Porthole__V1__Filter *f = r->filters[i];
        ctl_argv_add (&a, s_session_filter_field (f->key));
        ctl_argv_addf (&a, "%zu", f->n_values);
        for (size_t k = 0; k < f->n_values; k++)
            ctl_argv_add (&a, f->values[k]);
    }
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_sessions, req));
}
