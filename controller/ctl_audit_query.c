/*  ctl_audit_query: AuditLookupRequest (`porthole audit lookup-events`) and
 *  AuditVerifyRequest (`porthole audit verify`).
 *
 *  Lookup runs one Lua script that walks ph:audit newest first (XREVRANGE
 *  in chunks) and filters by principal, action (exact or with * and ?
 *  wildcards, without regard to case) and time. It scans at most
 *  CTL_LOOKUP_SCAN_MAX events per call so that Redis is never held long;
 *  when it stops early it answers what it found and a next_token.
 *  next_token is the stream id to continue before.
 *
 *  Verify walks ph:audit oldest first in chunks of CTL_VERIFY_CHUNK (one
 *  async script call per chunk, each also returning ph:audit:head so that
 *  the last chunk and the head are read atomically) and recomputes the
 *  chain in C (ctl_audit_hash).
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_LOOKUP_DEFAULT     50
#define CTL_LOOKUP_MAX         1000
#define CTL_LOOKUP_SCAN_MAX    10000
#define CTL_LOOKUP_SLACK_MS    3600000 /* an event is in the stream within an hour of its time */
#define CTL_ACTION_PATTERN_MAX 64
#define CTL_STREAM_ID_MAX      48
#define CTL_VERIFY_CHUNK       1000

/*  KEYS: ph:audit; ARGV: principal or '', action pattern (Lua, lower case)
 *  or '', start ms, end ms (0: none), max results, next token or '', scan
 *  limit, slack ms. Returns {events, next token or ''}. */
static const char s_lookup_lua[] =
    "local want, start, stop = tonumber(ARGV[5]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local limit, slack = tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "local maxid = '+'\n"
    "if ARGV[6] ~= '' then maxid = '(' .. ARGV[6]\n"
    "elseif stop > 0 then maxid = tostring(stop + slack) end\n"
    "local out, scanned = {}, 0\n"
    "while true do\n"
    "  local chunk = redis.call('XREVRANGE', KEYS[1], maxid, '-', 'COUNT', 500)\n"
    "  if #chunk == 0 then return {out, ''} end\n"
    "  for _, e in ipairs(chunk) do\n"
    "    local f = {}\n"
    "    for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end\n"
    "    local t = tonumber(f.time_ms) or 0\n"
    "    if start > 0 and tonumber(string.match(e[1], '^(%d+)')) + slack < start then\n"
    "      return {out, ''}\n"
    "    end\n"
    "    if (ARGV[1] == '' or f.principal == ARGV[1])\n"
    "       and (ARGV[2] == '' or string.find(string.lower(f.action or ''), ARGV[2]))\n"
    "       and (start == 0 or t >= start) and (stop == 0 or t <= stop) then\n"
    "      out[#out + 1] = e\n"
    "      if #out >= want then return {out, e[1]} end\n"
    "    end\n"
    "    scanned = scanned + 1\n"
    "    if scanned >= limit then return {out, e[1]} end\n"
    "  end\n"
    "  maxid = '(' .. chunk[#chunk][1]\n"
    "end\n";

/*  KEYS: ph:audit, ph:audit:head; ARGV: start id ('-' or '(ID' or ID),
 *  count. Returns {entries, head or false}. */
static const char s_verify_lua[] =
    "return {redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2]),\n"
    "        redis.call('GET', KEYS[2])}\n";

static const char *const s_fields[] = {"time_ms",   "principal", "source_ip",  "action",
                                       "resource",  "decision",  "request_id", "result",
                                       "prev_hash", "hash"};

static bool s_stream_id_valid (const char *id)
{
    size_t n = strlen (id), digits = strspn (id, "0123456789");
    if (n == 0 || n >= CTL_STREAM_ID_MAX || digits == 0)
        return false;
    if (digits == n)
        return true;
    return id[digits] == '-' && digits + 1 < n &&
           strspn (id + digits + 1, "0123456789") == n - digits - 1;
}

/*  The action filter as a Lua pattern: letters, digits and ':' as they
 *  are, '?' one character, '*' any run. NULL when text is not one. */
static bool s_action_pattern (const char *text, char *out, size_t len)
{
    size_t used = 0;
    if (strlen (text) > CTL_ACTION_PATTERN_MAX)
        return false;
    used += (size_t)snprintf (out, len, "^");
    for (const char *p = text; *p; p++) {
        const char *piece;
        char one[2] = {(char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p), 0};
        if (*p == '*')
            piece = ".*";
        else if (*p == '?')
            piece = ".";
        else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == ':')
            piece = one;
        else
            return false;
        used += (size_t)snprintf (out + used, len - used, "%s", piece);
    }
    snprintf (out + used, len - used, "$");
    return true;
}

/* ---- lookup ------------------------------------------------------------- */

static void s_event_from_entry (const ph_reply_t *e, Porthole__V1__AuditEvent *ev)
{
    const ph_reply_t *f = ph_reply_at (e, 1);
    const char *v[10];
    for (int i = 0; i < 10; i++) {
        v[i] = ph_reply_field (f, s_fields[i]);
        v[i] = v[i] ? v[i] : "";
    }
    ev->event_id = (char *)ph_reply_str (ph_reply_at (e, 0));
    ev->time_ms = strtoull (v[0], NULL, 10);
    ev->principal = (char *)v[1];
    ev->source_ip = (char *)v[2];
    ev->action = (char *)v[3];
    ev->resource = (char *)v[4];
    ev->decision = (char *)v[5];
    ev->request_id = strtoull (v[6], NULL, 10);
    ev->result = (char *)v[7];
    ev->prev_hash = (char *)v[8];
    ev->hash = (char *)v[9];
}

static void s_on_lookup (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const ph_reply_t *entries = ph_reply_at (reply, 0);
    const char *next = ph_reply_str (ph_reply_at (reply, 1));
    size_t n = ph_reply_count (entries);
    Porthole__V1__AuditEvent *evs = calloc (n ? n : 1, sizeof *evs);
    Porthole__V1__AuditEvent **ptrs = calloc (n ? n : 1, sizeof *ptrs);
    assert (evs && ptrs);
    for (size_t i = 0; i < n; i++) {
        porthole__v1__audit_event__init (&evs[i]);
        s_event_from_entry (ph_reply_at (entries, i), &evs[i]);
        ptrs[i] = &evs[i];
    }
    Porthole__V1__AuditLookupReply body = PORTHOLE__V1__AUDIT_LOOKUP_REPLY__INIT;
    body.n_events = n;
    body.events = ptrs;
    body.next_token = (char *)(next ? next : "");
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_AUDIT_LOOKUP_REPLY;
    env.audit_lookup_reply = &body;
    ctl_req_reply (&req, &env);
    free (ptrs);
    free (evs);
}

void ctl_audit_lookup (ctl_req_t *req)
{
    if (!ctl_req_authorize (&req, "audit:LookupEvents", "*", NULL))
        return;
    const Porthole__V1__AuditLookupRequest *r = req->env->audit_lookup;
    char pattern[4 * CTL_ACTION_PATTERN_MAX];
    uint32_t max = r->max_results ? r->max_results : CTL_LOOKUP_DEFAULT;
    if (max > CTL_LOOKUP_MAX) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST, "porthole: max results must be 1..%d (got %u)",
                      CTL_LOOKUP_MAX, (unsigned)max);
        return;
    }
    if (*r->user && !ph_name_valid (r->user)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not a user name (1..64 of A-Z a-z 0-9 _ . @ -)",
                      r->user);
        return;
    }
    if (*r->action && !s_action_pattern (r->action, pattern, sizeof pattern)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: action '%.64s' must be like session:StartSession or session:* "
                      "(letters, digits, ':', '*', '?')",
                      r->action);
        return;
    }
    if (*r->next_token && !s_stream_id_valid (r->next_token)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: next token '%.48s' is not one that lookup-events returned",
                      r->next_token);
        return;
    }
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_lookup_lua);
    ctl_argv_add (&a, "1");
    ctl_argv_add (&a, "ph:audit");
    if (*r->user)
        ctl_argv_addf (&a, "user:%s", r->user);
    else
        ctl_argv_add (&a, "");
    ctl_argv_add (&a, *r->action ? pattern : "");
    ctl_argv_addf (&a, "%llu", (unsigned long long)r->start_ms);
    ctl_argv_addf (&a, "%llu", (unsigned long long)r->end_ms);
    ctl_argv_addf (&a, "%u", (unsigned)max);
    ctl_argv_add (&a, r->next_token);
    ctl_argv_addf (&a, "%d", CTL_LOOKUP_SCAN_MAX);
    ctl_argv_addf (&a, "%d", CTL_LOOKUP_SLACK_MS);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_lookup, req));
}

/* ---- verify ------------------------------------------------------------- */

typedef struct {
    bool from;      /* started at a given id: its prev_hash is trusted */
    bool have_prev; /* prev holds the hash of the event before */
    char prev[CTL_AUDIT_HASH_LEN + 1];
    char last_id[CTL_STREAM_ID_MAX];
    uint64_t checked;
} s_verify_t;

static void s_verify_reply (ctl_req_t **req_p, const char *broken_id, const char *reason)
{
    s_verify_t *v = (*req_p)->data;
    Porthole__V1__AuditVerifyReply body = PORTHOLE__V1__AUDIT_VERIFY_REPLY__INIT;
    body.intact = broken_id == NULL;
    body.checked = v->checked;
    body.broken_event_id = (char *)(broken_id ? broken_id : "");
    body.reason = (char *)(reason ? reason : "");
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_AUDIT_VERIFY_REPLY;
    env.audit_verify_reply = &body;
    ctl_req_reply (req_p, &env);
}

/*  Checks one entry against the chain so far. Returns false with reason
 *  filled when it breaks the chain. */
static bool s_verify_entry (s_verify_t *v, const ph_reply_t *e, char *reason, size_t len)
{
    Porthole__V1__AuditEvent ev = PORTHOLE__V1__AUDIT_EVENT__INIT;
    s_event_from_entry (e, &ev);
    const ph_reply_t *f = ph_reply_at (e, 1);
    const char *fields[8];
    for (int i = 0; i < 8; i++) {
        fields[i] = ph_reply_field (f, s_fields[i]);
        fields[i] = fields[i] ? fields[i] : "";
    }
    char hash[CTL_AUDIT_HASH_LEN + 1];
    ctl_audit_hash (ev.prev_hash, fields, hash);
    if (strcmp (hash, ev.hash) != 0) {
        snprintf (reason, len, "event %s does not match its hash (edited?)", ev.event_id);
        return false;
    }
    const char *expected = v->have_prev ? v->prev : v->from ? NULL : CTL_AUDIT_ZERO_HASH;
    if (expected && strcmp (expected, ev.prev_hash) != 0) {
        snprintf (reason, len,
                  "event %s does not follow the event before it (an event was deleted or "
                  "inserted before it)",
                  ev.event_id);
        return false;
    }
    snprintf (v->prev, sizeof v->prev, "%s", ev.hash);
    snprintf (v->last_id, sizeof v->last_id, "%s", ev.event_id);
    v->have_prev = true;
    v->checked++;
    return true;
}

static int s_verify_chunk (ctl_req_t *req, const char *start);

static void s_on_verify_chunk (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    s_verify_t *v = req->data;
    const ph_reply_t *entries = ph_reply_at (reply, 0);
    const char *head = ph_reply_str (ph_reply_at (reply, 1));
    size_t n = ph_reply_count (entries);
    char reason[PH_ERRTEXT_MAX];
    for (size_t i = 0; i < n; i++) {
        const ph_reply_t *e = ph_reply_at (entries, i);
        if (!s_verify_entry (v, e, reason, sizeof reason)) {
            s_verify_reply (&req, ph_reply_str (ph_reply_at (e, 0)), reason);
            return;
        }
    }
    if (n == CTL_VERIFY_CHUNK) {
        char start[CTL_STREAM_ID_MAX + 1];
        snprintf (start, sizeof start, "(%s", v->last_id);
        ctl_req_queued (&req, s_verify_chunk (req, start));
        return;
    }
    const char *expected = v->have_prev ? v->prev : CTL_AUDIT_ZERO_HASH;
    bool head_ok =
        v->from && !v->have_prev ? true : strcmp (head ? head : CTL_AUDIT_ZERO_HASH, expected) == 0;
    if (!head_ok) {
        s_verify_reply (&req, v->have_prev ? v->last_id : "",
                        "the last event(s) were deleted (ph:audit:head does not match the last "
                        "event)");
        return;
    }
    ph_info ("audit: %s verified the audit trail: intact, %llu events", req->name,
             (unsigned long long)v->checked);
    s_verify_reply (&req, NULL, NULL);
}

static int s_verify_chunk (ctl_req_t *req, const char *start)
{
    return ph_redis_cmd (req->ctl->redis, s_on_verify_chunk, req,
                         "EVAL %s 2 ph:audit ph:audit:head %s %d", s_verify_lua, start,
                         CTL_VERIFY_CHUNK);
}

void ctl_audit_verify (ctl_req_t *req)
{
    if (!ctl_req_authorize (&req, "audit:Verify", "*", NULL))
        return;
    const char *from = req->env->audit_verify->from_id;
    if (*from && !s_stream_id_valid (from)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.48s' is not an event id (like 1764064800000-0); take one "
                      "from porthole audit lookup-events",
                      from);
        return;
    }
    s_verify_t *v = calloc (1, sizeof *v);
    assert (v);
    v->from = *from != 0;
    req->data = v;
    req->data_free = free;
    ctl_req_queued (&req, s_verify_chunk (req, *from ? from : "-"));
}
