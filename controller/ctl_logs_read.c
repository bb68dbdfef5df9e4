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
 *  it (streams are read in name order). Filter patterns: space-separated
 *  terms, a "quoted phrase" is one term; every term must be a
 *  case-sensitive substring of the message; an empty pattern matches all.
 */
#include "ctl.h"

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
 *  flat [id, ts, msg, ing, ...] in ascending order}. */
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
    "return {last, first, out}\n";

/*  ARGV: group, start, end, limit, scan max, bytes max, cursor stream ('' =
 *  from the first), cursor id, n streams, streams..., terms...
 *  Returns 'missing' or {next stream or '', next id, flat [stream, id, ts,
 *  msg, ing, ...]}. */
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
    "return {nexts, nextid, out}\n";

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

/*  Events from a flat array of stride fields starting at offset (id, ts,
 *  msg, ing); strings point into the reply. */
static Porthole__V1__LogEvent **s_events (const ph_reply_t *flat, size_t stride, size_t off,
                                          size_t *n_out, Porthole__V1__LogEvent **store)
{
    size_t n = ph_reply_count (flat) / stride;
    Porthole__V1__LogEvent *evs = calloc (n + 1, sizeof *evs);
    Porthole__V1__LogEvent **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (evs && ptrs);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        evs[i] = init;
        evs[i].event_id = (char *)ph_reply_str (ph_reply_at (flat, stride * i + off));
        evs[i].timestamp_ms = s_u64 (ph_reply_at (flat, stride * i + off + 1));
        evs[i].message = (char *)ph_reply_str (ph_reply_at (flat, stride * i + off + 2));
        evs[i].ingestion_ms = s_u64 (ph_reply_at (flat, stride * i + off + 3));
        ptrs[i] = &evs[i];
    }
    *n_out = n;
    *store = evs;
    return ptrs;
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
    char fwd[64], back[64];
    /* at either end the token passed comes back, as in aws logs */
    if (last && *last)
        snprintf (fwd, sizeof fwd, "f/%s", last);
    else
        snprintf (fwd, sizeof fwd, "%s", token && token[0] == 'f' ? token : "f/0-0");
    if (first && *first)
        snprintf (back, sizeof back, "b/%s", first);
    else
        snprintf (back, sizeof back, "%s", token && token[0] == 'b' ? token : "b/0-0");
    Porthole__V1__LogEvent *store = NULL;
    Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
    body.events = s_events (ph_reply_at (reply, 2), 4, 0, &body.n_events, &store);
    body.next_forward_token = fwd;
    body.next_backward_token = back;
    Porthole__V1__LogEvent **ptrs = body.events;
    ctl_logs_reply (&req, &body);
    free (ptrs);
    free (store);
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

/*  Splits pattern into terms (a "quoted phrase" is one term) added to a.
 *  Returns the number of terms, or -1 when there are too many or a quote
 *  is not closed. */
static int s_add_terms (ctl_argv_t *a, const char *pattern)
{
    int n = 0;
    const char *p = pattern;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *end;
        if (*p == '"') {
            end = strchr (p + 1, '"');
            if (!end)
                return -1;
            if (end > p + 1)
                ctl_argv_addf (a, "%.*s", (int)(end - p - 1), p + 1);
            p = end + 1;
        } else {
            end = strchr (p, ' ');
            if (!end)
                end = p + strlen (p);
            ctl_argv_addf (a, "%.*s", (int)(end - p), p);
            p = end;
        }
        if (++n > CTL_LOGS_TERMS_MAX)
            return -1;
    }
    return n;
}

static void s_on_filter (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply) || s_missing (&req, reply))
        return;
    const char *ns = ph_reply_str (ph_reply_at (reply, 0));
    const char *nid = ph_reply_str (ph_reply_at (reply, 1));
    const ph_reply_t *flat = ph_reply_at (reply, 2);
    char *next = NULL;
    if (ns && *ns && nid && asprintf (&next, "s/%s/%s", nid, ns) < 0)
        next = NULL;
    Porthole__V1__LogEvent *store = NULL;
    Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
    body.events = s_events (flat, 5, 1, &body.n_events, &store);
    body.event_streams = calloc (body.n_events + 1, sizeof (char *));
    assert (body.event_streams);
    for (size_t i = 0; i < body.n_events; i++)
        body.event_streams[i] = (char *)ph_reply_str (ph_reply_at (flat, 5 * i));
    body.n_event_streams = body.n_events;
    body.next_token = next ? next : "";
    Porthole__V1__LogEvent **ptrs = body.events;
    char **names = body.event_streams;
    ctl_logs_reply (&req, &body);
    free (names);
    free (ptrs);
    free (store);
    free (next);
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
    if (s_add_terms (&a, r->filter_pattern ? r->filter_pattern : "") < 0) {
        ctl_argv_free (&a);
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: --filter-pattern has an unclosed quote or more than %d terms",
                      CTL_LOGS_TERMS_MAX);
        return;
    }
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_filter, req));
}
