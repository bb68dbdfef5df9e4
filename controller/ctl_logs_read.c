/*  ctl_logs_read: GetLogEvents and FilterLogEvents, the reads of log
 *  streams (docs/architecture.md "Session logs").
 *
 *  Stream entries are {ts, msg, ing}; within a stream ts never decreases
 *  (the logshipper refuses batches that go back in time), so a scan by id
 *  is also a scan by time and stops at the first event past end_time. Each
 *  read is one Lua script that scans at most CTL_LOGS_SCAN_MAX entries and
 *  returns at most CTL_LOGS_BYTES_MAX message bytes, so that Redis is never
 *  held for long and the reply fits in a frame; the tokens let the caller
 *  go on where it stopped.
 *
 *  Tokens: GetLogEvents "f/<id>" (events after id) and "b/<id>" (events
 *  before id), as nextForwardToken / nextBackwardToken; at the end of the
 *  stream the token that was passed comes back. FilterLogEvents
 *  "s/<id>/<stream>": go on after id in that stream, then the streams after
 *  it (streams are read in name order). Filter patterns are the language
 *  of metric filters (common/ph_pattern.h, CloudWatch's): a pattern of
 *  required terms and "quoted phrases" only is matched by the script, so a
 *  page holds up to --limit matches; any other pattern (?a ?b, -x,
 *  %regex%, { JSON }, [ fields ]) is matched here on the events the script
 *  returns in range, so its page may hold fewer than --limit events and a
 *  nextToken that goes on (as aws logs pages do).
 *
 *  Encrypted groups (ph_logcrypt.h): both scripts also return the group's
 *  wrapped data key; the events are copied out of the reply, the key is
 *  opened by a logshipper (ctl_logkeys.c) and the messages are opened here.
 *  The filter script cannot match sealed messages, so for an encrypted
 *  group it returns every event in range and the pattern is matched here,
 *  after opening (a page may then hold fewer events than --limit; its
 *  nextToken goes on).
 */
#include "ctl.h"
#include "ph_logcrypt.h"
#include "ph_pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_LOGS_SCAN_MAX  100000
#define CTL_LOGS_BYTES_MAX (768 * 1024)
#define CTL_LOGS_TERMS_MAX 32

/*  Reads fields ts, msg, ing of a stream entry e (a Lua helper). */
#define CTL_LUA_FIELDS                                                                             \
    "local function fields(e)\n"                                                                   \
    "  local f, ts, msg, ing = e[2], '0', '', '0'\n"                                               \
    "  for j = 1, #f, 2 do\n"                                                                      \
    "    if f[j] == 'ts' then ts = f[j + 1] elseif f[j] == 'msg' then msg = f[j + 1]\n"            \
    "    elseif f[j] == 'ing' then ing = f[j + 1] end\n"                                           \
    "  end\n"                                                                                      \
    "  return tonumber(ts), msg, ing, ts\n"                                                        \
    "end\n"

/*  ARGV: group, stream, start, end (0 = none), limit, dir f|b, cursor id
 *  ('' = from the head / the tail), scan max, bytes max.
 *  Returns 'missing' or {last stream id or '', first stream id or '',
 *  flat [id, ts, msg, ing, ...] in ascending order, wrapped data key or
 *  ''}. */
static const char s_get_lua[] = CTL_LUA_FIELDS
    "local g, s = ARGV[1], ARGV[2]\n"
    "if redis.call('EXISTS', 'ph:loggroup:{' .. g .. '}') == 0 then return 'missing' end\n"
    "local key = 'ph:logs:{' .. g .. '}:' .. s\n"
    "local st, en, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local fwd, cur = ARGV[6] == 'f', ARGV[7]\n"
    "local scanmax, bytesmax = tonumber(ARGV[8]), tonumber(ARGV[9])\n"
    "local got, scanned, bytes, done = {}, 0, 0, false\n"
    "if cur == '' then cur = fwd and '-' or '+' else cur = '(' .. cur end\n"
    "if cur == '(0-0' and not fwd then done = true end\n"
    "while not done do\n"
    "  local batch\n"
    "  if fwd then batch = redis.call('XRANGE', key, cur, '+', 'COUNT', 500)\n"
    "  else batch = redis.call('XREVRANGE', key, cur, '-', 'COUNT', 500) end\n"
    "  if #batch == 0 then break end\n"
    "  for _, e in ipairs(batch) do\n"
    "    local t, msg, ing, ts = fields(e)\n"
    "    scanned = scanned + 1\n"
    "    cur = '(' .. e[1]\n"
    "    if fwd and en > 0 and t >= en then done = true break end\n"
    "    if not fwd and t < st then done = true break end\n"
    "    if t >= st and (en == 0 or t < en) then\n"
    "      got[#got + 1] = {e[1], ts, msg, ing}\n"
    "      bytes = bytes + #msg\n"
    "    end\n"
    "    if #got >= limit or scanned >= scanmax or bytes >= bytesmax then done = true break end\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "local n = #got\n"
    "for i = 1, n do\n"
    "  local e = got[i]\n"
    "  if not fwd then e = got[n + 1 - i] end\n"
    "  for j = 1, 4 do out[#out + 1] = e[j] end\n"
    "end\n"
    "local first, last = '', ''\n"
    "if n > 0 then first = out[1] last = out[#out - 3] end\n"
    "return {last, first, out, redis.call('HGET', 'ph:loggroup:{' .. g .. '}', 'data_key') or "
    "''}\n";

/*  ARGV: group, start, end, limit, scan max, bytes max, cursor stream ('' =
 *  from the first), cursor id, n streams, streams..., terms...
 *  Returns 'missing' or {next stream or '', next id, flat [stream, id, ts,
 *  msg, ing, ...], wrapped data key or ''}; terms are not matched when the
 *  group is encrypted (the caller does, after opening). */
static const char s_filter_lua[] = CTL_LUA_FIELDS
    "local g = ARGV[1]\n"
    "if redis.call('EXISTS', 'ph:loggroup:{' .. g .. '}') == 0 then return 'missing' end\n"
    "local st, en, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local scanmax, bytesmax = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local cs, cid, ns = ARGV[7], ARGV[8], tonumber(ARGV[9])\n"
    "local streams, terms = {}, {}\n"
    "for i = 1, ns do streams[i] = ARGV[9 + i] end\n"
    "for i = 10 + ns, #ARGV do terms[#terms + 1] = ARGV[i] end\n"
    "if ns == 0 then streams = redis.call('ZRANGE', 'ph:logstreams:{' .. g .. '}', 0, -1) end\n"
    "local dk = redis.call('HGET', 'ph:loggroup:{' .. g .. '}', 'data_key') or ''\n"
    "if dk ~= '' then terms = {} end\n"
    "table.sort(streams)\n"
    "local out, scanned, bytes, count = {}, 0, 0, 0\n"
    "local full, nexts, nextid = false, '', ''\n"
    "for _, s in ipairs(streams) do\n"
    "  if full then break end\n"
    "  local cur = nil\n"
    "  if cs == '' or s > cs then cur = '-' elseif s == cs then cur = '(' .. cid end\n"
    "  local key = 'ph:logs:{' .. g .. '}:' .. s\n"
    "  while cur do\n"
    "    local batch = redis.call('XRANGE', key, cur, '+', 'COUNT', 500)\n"
    "    if #batch == 0 then break end\n"
    "    for _, e in ipairs(batch) do\n"
    "      local t, msg, ing, ts = fields(e)\n"
    "      scanned = scanned + 1\n"
    "      cur = '(' .. e[1]\n"
    "      if en > 0 and t >= en then cur = nil break end\n"
    "      local ok = t >= st\n"
    "      for _, term in ipairs(terms) do\n"
    "        if ok and not string.find(msg, term, 1, true) then ok = false end\n"
    "      end\n"
    "      if ok then\n"
    "        out[#out + 1] = s\n"
    "        out[#out + 1] = e[1]\n"
    "        out[#out + 1] = ts\n"
    "        out[#out + 1] = msg\n"
    "        out[#out + 1] = ing\n"
    "        count = count + 1\n"
    "        bytes = bytes + #msg\n"
    "      end\n"
    "      if count >= limit or scanned >= scanmax or bytes >= bytesmax then\n"
    "        full, nexts, nextid, cur = true, s, e[1], nil\n"
    "        break\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {nexts, nextid, out, dk}\n";

/*  "<digits>-<digits>": a stream id. */
static bool s_stream_id_valid (const char *id)
{
    size_t a = strspn (id, "0123456789");
    if (a == 0 || a > 20 || id[a] != '-')
        return false;
    size_t b = strspn (id + a + 1, "0123456789");
    return b > 0 && b <= 20 && id[a + 1 + b] == 0;
}

static uint64_t s_u64 (const ph_reply_t *r)
{
    const char *s = ph_reply_str (r);
    return s ? strtoull (s, NULL, 10) : 0;
}

static bool s_missing (ctl_req_t **req_p, const ph_reply_t *reply)
{
    if (ph_reply_is_array (reply))
        return false;
    ctl_req_fail (req_p, CTL_E_RESOURCE_NOT_FOUND,
                  "porthole: log group %s does not exist; see porthole logs describe-log-groups",
                  (*req_p)->env->logs->log_group_name);
    return true;
}

/*  A read answered by Redis, copied out of the reply so that it can wait
 *  for the group's data key (hiredis frees the reply after the callback). */
typedef struct {
    ctl_req_t *req;
    bool filter;
    Porthole__V1__LogEvent *evs; /* event_id and message owned */
    Porthole__V1__LogEvent **ptrs;
    char **streams; /* filter: each event's stream, owned */
    size_t n;
    char *wrapped; /* the group's data key as stored; NULL: a plain group */
    char fwd[64], back[64];
    char *next;            /* filter: nextToken, owned */
    ph_pattern_t *pattern; /* filter: matched here when set (see the top), owned */
} s_read_t;

static void s_read_destroy (s_read_t **rd_p)
{
    s_read_t *rd = *rd_p;
    if (!rd)
        return;
    for (size_t i = 0; i < rd->n; i++) {
        free (rd->evs[i].event_id);
        free (rd->evs[i].message);
        if (rd->streams)
            free (rd->streams[i]);
    }
    free (rd->evs);
    free (rd->ptrs);
    free (rd->streams);
    free (rd->wrapped);
    free (rd->next);
    ph_pattern_destroy (&rd->pattern);
    ctl_req_destroy (&rd->req);
    free (rd);
    *rd_p = NULL;
}

static char *s_dup (const ph_reply_t *r)
{
    char *s = strdup (ph_reply_str (r) ? ph_reply_str (r) : "");
    assert (s);
    return s;
}

/*  Copies the events of a flat array of stride fields (a stream name first
 *  when stride is 5, then id, ts, msg, ing) and the data key at index 3 of
 *  reply. Takes req. */
static s_read_t *s_read_new (ctl_req_t **req_p, const ph_reply_t *reply, size_t stride)
{
    const ph_reply_t *flat = ph_reply_at (reply, 2);
    const char *wrapped = ph_reply_str (ph_reply_at (reply, 3));
    size_t n = ph_reply_count (flat) / stride, off = stride - 4;
    s_read_t *rd = calloc (1, sizeof *rd);
    assert (rd);
    rd->req = *req_p;
    *req_p = NULL;
    rd->filter = stride == 5;
    rd->evs = calloc (n + 1, sizeof *rd->evs);
    rd->ptrs = calloc (n + 1, sizeof *rd->ptrs);
    rd->streams = rd->filter ? calloc (n + 1, sizeof *rd->streams) : NULL;
    assert (rd->evs && rd->ptrs && (rd->streams || !rd->filter));
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        rd->evs[i] = init;
        rd->evs[i].event_id = s_dup (ph_reply_at (flat, stride * i + off));
        rd->evs[i].timestamp_ms = s_u64 (ph_reply_at (flat, stride * i + off + 1));
        rd->evs[i].message = s_dup (ph_reply_at (flat, stride * i + off + 2));
        rd->evs[i].ingestion_ms = s_u64 (ph_reply_at (flat, stride * i + off + 3));
        if (rd->filter)
            rd->streams[i] = s_dup (ph_reply_at (flat, stride * i));
        rd->ptrs[i] = &rd->evs[i];
        rd->n++;
    }
    if (wrapped && *wrapped)
        rd->wrapped = strdup (wrapped);
    return rd;
}

/*  Keeps the events that rd->pattern matches (all of them without one),
 *  in order; frees the others. */
static void s_keep_matches (s_read_t *rd)
{
    if (!rd->pattern)
        return;
    ph_pattern_event_t *ev = ph_pattern_event_new ();
    assert (ev);
    size_t kept = 0;
    for (size_t i = 0; i < rd->n; i++) {
        Porthole__V1__LogEvent *e = &rd->evs[i];
        ph_pattern_event_set (ev, e->message, strlen (e->message));
        if (!ph_pattern_match (rd->pattern, ev)) {
            free (e->event_id);
            free (e->message);
            free (rd->streams[i]);
            continue;
        }
        rd->evs[kept] = *e;
        rd->streams[kept] = rd->streams[i];
        rd->ptrs[kept] = &rd->evs[kept];
        kept++;
    }
    rd->n = kept;
    ph_pattern_event_destroy (&ev);
}

static void s_read_reply (s_read_t **rd_p)
{
    s_read_t *rd = *rd_p;
    s_keep_matches (rd);
    Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
    body.events = rd->ptrs;
    body.n_events = rd->n;
    if (rd->filter) {
        body.event_streams = rd->streams;
        body.n_event_streams = rd->n;
        body.next_token = rd->next ? rd->next : "";
    } else {
        body.next_forward_token = rd->fwd;
        body.next_backward_token = rd->back;
    }
    ctl_logs_reply (&rd->req, &body);
    s_read_destroy (rd_p);
}

/*  The data key is here (or not): opens the sealed messages, answers
 *  (s_read_reply matches a filter's pattern). */
static void s_on_data_key (void *arg, const uint8_t *key, const char *why)
{
    s_read_t *rd = arg;
    const Porthole__V1__LogsRequest *r = rd->req->env->logs;
    if (!key) {
        ctl_req_fail (&rd->req, CTL_E_UNAVAILABLE,
                      "porthole: log group %s is encrypted and its key cannot be opened now "
                      "(%s)",
                      r->log_group_name, why ? why : "no logshipper answered");
        s_read_destroy (&rd);
        return;
    }
    for (size_t i = 0; i < rd->n; i++) {
        Porthole__V1__LogEvent *e = &rd->evs[i];
        const char *stream = rd->filter ? rd->streams[i] : r->log_stream_name;
        size_t len;
        char *plain = ph_logcrypt_is_sealed (e->message)
                          ? ph_logcrypt_open (key, r->log_group_name, stream, e->message, &len)
                          : NULL;
        if (ph_logcrypt_is_sealed (e->message)) {
            free (e->message);
            e->message = plain ? plain
                               : strdup ("[porthole: this event does not decrypt with its "
                                         "group's key: it was altered or moved]");
            assert (e->message);
        }
    }
    s_read_reply (&rd);
}

/*  Answers rd now (a plain group) or once its data key is open. */
static void s_read_finish (s_read_t *rd)
{
    if (!rd->wrapped) {
        s_read_reply (&rd);
        return;
    }
    ctl_logkeys_open (rd->req->ctl, rd->req->env->logs->log_group_name, rd->wrapped, s_on_data_key,
                      rd);
}

/* ---- GetLogEvents ---------------------------------------------------------- */

static void s_on_get (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply) || s_missing (&req, reply))
        return;
    const char *last = ph_reply_str (ph_reply_at (reply, 0));
    const char *first = ph_reply_str (ph_reply_at (reply, 1));
    const char *token = req->env->logs->next_token;
    s_read_t *rd = s_read_new (&req, reply, 4);
    /* at either end the token passed comes back, as in aws logs */
    if (last && *last)
        snprintf (rd->fwd, sizeof rd->fwd, "f/%s", last);
    else
        snprintf (rd->fwd, sizeof rd->fwd, "%s", token && token[0] == 'f' ? token : "f/0-0");
    if (first && *first)
        snprintf (rd->back, sizeof rd->back, "b/%s", first);
    else
        snprintf (rd->back, sizeof rd->back, "%s", token && token[0] == 'b' ? token : "b/0-0");
    s_read_finish (rd);
}

void ctl_logs_get_events (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    const char *token = r->next_token ? r->next_token : "";
    bool forward = r->start_from_head;
    const char *cursor = "";
    if (*token) {
        if ((token[0] != 'f' && token[0] != 'b') || token[1] != '/' ||
            !s_stream_id_valid (token + 2)) {
            ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                          "porthole: '%.64s' is not a token of get-log-events; pass a "
                          "nextForwardToken or nextBackwardToken as it came",
                          token);
            return;
        }
        forward = token[0] == 'f';
        cursor = token + 2;
    }
    if (!ctl_logs_name_valid (r->log_stream_name)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: get-log-events needs --log-stream-name (1..%d characters A-Z a-z "
                      "0-9 _ . - / #)",
                      CTL_LOGS_NAME_MAX);
        return;
    }
    uint32_t limit = r->limit && r->limit <= CTL_LOGS_LIMIT_MAX ? r->limit : CTL_LOGS_LIMIT_DEFAULT;
    int rc =
        ph_redis_cmd (req->ctl->redis, s_on_get, req, "EVAL %s 0 %s %s %llu %llu %u %s %s %d %d",
                      s_get_lua, r->log_group_name, r->log_stream_name,
                      (unsigned long long)r->start_time, (unsigned long long)r->end_time, limit,
                      forward ? "f" : "b", cursor, CTL_LOGS_SCAN_MAX, CTL_LOGS_BYTES_MAX);
    ctl_req_queued (&req, rc);
}

/* ---- FilterLogEvents ----------------------------------------------------- */

/*  True when pattern is only required terms (letters, digits and '_')
 *  and "quoted phrases" without escapes: the filter script matches those
 *  itself (each a case-sensitive substring), which keeps pages full. */
static bool s_plain_terms (const char *pattern)
{
    const char *p = pattern;
    int n = 0;
    while (*p) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        if (++n > CTL_LOGS_TERMS_MAX)
            return false;
        if (*p == '"') {
            const char *end = strpbrk (p + 1, "\"\\");
            if (!end || *end != '"' || strspn (p + 1, " \t") >= (size_t)(end - p - 1))
                return false; /* an escape, no end, or blank (which matches all) */
            p = end + 1;
            if (*p && *p != ' ' && *p != '\t')
                return false;
            continue;
        }
        size_t len = strspn (p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        if (len == 0 || (p[len] && p[len] != ' ' && p[len] != '\t'))
            return false;
        p += len;
    }
    return true;
}

/*  Adds the terms of a pattern that s_plain_terms accepted to a. */
static void s_add_terms (ctl_argv_t *a, const char *pattern)
{
    const char *p = pattern;
    while (*p) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        const char *start = *p == '"' ? p + 1 : p;
        const char *end = *p == '"' ? strchr (start, '"') : start + strcspn (start, " \t");
        if (end > start)
            ctl_argv_addf (a, "%.*s", (int)(end - start), start);
        p = *end == '"' ? end + 1 : end;
    }
}

static void s_on_filter (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply) || s_missing (&req, reply))
        return;
    const char *ns = ph_reply_str (ph_reply_at (reply, 0));
    const char *nid = ph_reply_str (ph_reply_at (reply, 1));
    s_read_t *rd = s_read_new (&req, reply, 5);
    if (ns && *ns && nid && asprintf (&rd->next, "s/%s/%s", nid, ns) < 0)
        rd->next = NULL;
    /* what the script did not match (see the top); the pattern compiled
       when the request came, so it compiles now */
    const char *text = rd->req->env->logs->filter_pattern;
    if (text && *text && (rd->wrapped || !s_plain_terms (text))) {
        rd->pattern = ph_pattern_new (text, NULL, 0);
        assert (rd->pattern);
    }
    s_read_finish (rd);
}

/*  "s/<id>/<stream>" into id and stream (pointers into token). */
static bool s_filter_token (const char *token, char *id, size_t idlen, const char **stream)
{
    if (strncmp (token, "s/", 2))
        return false;
    const char *slash = strchr (token + 2, '/');
    if (!slash || (size_t)(slash - token - 2) >= idlen)
        return false;
    snprintf (id, idlen, "%.*s", (int)(slash - token - 2), token + 2);
    *stream = slash + 1;
    return s_stream_id_valid (id) && ctl_logs_name_valid (*stream);
}

void ctl_logs_filter_events (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    char id[48] = "";
    const char *stream = "";
    if (r->next_token && *r->next_token &&
        !s_filter_token (r->next_token, id, sizeof id, &stream)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not a token of filter-log-events; pass nextToken as "
                      "it came",
                      r->next_token);
        return;
    }
    for (size_t i = 0; i < r->n_log_stream_names; i++)
        if (!ctl_logs_name_valid (r->log_stream_names[i])) {
            ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                          "porthole: log stream name '%.64s' is not 1..%d characters A-Z a-z 0-9 "
                          "_ . - / #",
                          r->log_stream_names[i], CTL_LOGS_NAME_MAX);
            return;
        }
    const char *text = r->filter_pattern ? r->filter_pattern : "";
    char err[PH_PATTERN_ERR_MAX];
    ph_pattern_t *pattern = ph_pattern_new (text, err, sizeof err);
    if (!pattern) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: --filter-pattern: %s (the syntax of metric filter patterns; try "
                      "it with porthole logs test-metric-filter)",
                      err);
        return;
    }
    ph_pattern_destroy (&pattern);
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_filter_lua);
    ctl_argv_add (&a, "0");
    ctl_argv_add (&a, r->log_group_name);
    ctl_argv_addf (&a, "%llu", (unsigned long long)r->start_time);
    ctl_argv_addf (&a, "%llu", (unsigned long long)r->end_time);
    ctl_argv_addf (&a, "%u",
                   r->limit && r->limit <= CTL_LOGS_LIMIT_MAX ? r->limit : CTL_LOGS_LIMIT_DEFAULT);
    ctl_argv_addf (&a, "%d", CTL_LOGS_SCAN_MAX);
    ctl_argv_addf (&a, "%d", CTL_LOGS_BYTES_MAX);
    ctl_argv_add (&a, stream);
    ctl_argv_add (&a, id);
    ctl_argv_addf (&a, "%zu", r->n_log_stream_names);
    for (size_t i = 0; i < r->n_log_stream_names; i++)
        ctl_argv_add (&a, r->log_stream_names[i]);
    if (s_plain_terms (text))
        s_add_terms (&a, text);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_filter, req));
}
