/*  ph_policy_parse: the policy document parser and validator (see
 *  ph_policy.h). The JSON is read with jansson into a document that the
 *  policy keeps; the statements are then checked one element at a time and
 *  compiled into the arrays of ph_policy_stmt_t that ph_policy_eval.c walks. Every error names its
 * place as a path (Statement[1].Action[0]) or, for JSON syntax, a line and a column, and says what
 * would be right; the first error stops the parse.
 */
#define PH_POLICY_PRIVATE
#include "ph_policy.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_PATH_MAX          320 /* Statement[99].Condition.StringNotEquals["…"][99] */
#define S_QUOTE_MAX         100 /* a user's string as quoted in a message */
#define S_SUGGEST_INPUT_MAX 64  /* a type longer than this gets no "did you mean" */
#define S_ID_MAX            128 /* bytes of the document's Id */
#define S_ALNUM             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define S_TAG_KEY_CHARS     S_ALNUM "_.:/+-@" /* as ph_parse_tags */
#define S_SID_CHARS         S_ALNUM "_.-"

static const char *const s_resource_types[] = {
    "instance", "session", "loggroup", "alarm", "topic", "user", "policy",
};
#define S_RESOURCE_TYPES_TEXT "instance, session, loggroup, alarm, topic, user, policy"

static const char *const s_operator_names[] = {
    [PH_POLICY_OP_STRING_EQUALS] = "StringEquals",
    [PH_POLICY_OP_STRING_NOT_EQUALS] = "StringNotEquals",
    [PH_POLICY_OP_STRING_LIKE] = "StringLike",
    [PH_POLICY_OP_IP_ADDRESS] = "IpAddress",
    [PH_POLICY_OP_NOT_IP_ADDRESS] = "NotIpAddress",
};
#define S_OPERATOR_COUNT (sizeof s_operator_names / sizeof s_operator_names[0])
#define S_OPERATORS_TEXT "StringEquals, StringNotEquals, StringLike, IpAddress, NotIpAddress"
#define S_KEYS_TEXT      "instance:ResourceTag/KEY, user:Tag/KEY, session:Owner, source:Ip"

static const char *const s_document_keys[] = {"Version", "Id", "Statement"};
static const char *const s_statement_keys[] = {"Sid", "Effect", "Action", "Resource", "Condition"};
#define S_KEY_COUNT(a) (sizeof (a) / sizeof (a)[0])

typedef struct {
    char *err;
    size_t errlen;
} s_parser_t;

/*  Checks one string of a list; path names it. Returns 0 or PH_EINVAL. */
typedef int (s_check_fn) (s_parser_t *p, const char *path, const char *value);

__attribute__ ((format (printf, 3, 4))) static int s_fail (s_parser_t *p, const char *path,
                                                           const char *fmt, ...)
{
    int n = snprintf (p->err, p->errlen, "%s: ", path);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end (ap);
    }
    return PH_EINVAL;
}

/*  Formats a path (Statement[1].Action[0]) into buf; a path too long for
 *  buf is cut. Through vsnprintf so that the cut is not a warning. */
__attribute__ ((format (printf, 3, 4))) static void s_path (char *buf, size_t size, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (buf, size, fmt, ap);
    va_end (ap);
}

/*  s in double quotes for a one-line message: control and non-ASCII bytes
 *  as \xNN, quotes and backslashes escaped, long text cut with "...". */
static const char *s_quote (char *buf, size_t size, const char *s)
{
    size_t o = 0;
    buf[o++] = '"';
    for (; *s && o + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf (buf + o, size - o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf (buf + o, size - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (*s)
        o += (size_t)snprintf (buf + o, size - o, "...");
    snprintf (buf + o, size - o, "\"");
    return buf;
}

/*  Unknown keys of obj are errors; a near miss gets a "did you mean". */
static int s_check_keys (s_parser_t *p, json_t *obj, const char *path, const char *const *allowed,
                         size_t n)
{
    const char *key;
    json_t *value;
    json_object_foreach (obj, key, value)
    {
        size_t i = 0;
        while (i < n && strcmp (key, allowed[i]) != 0)
            i++;
        if (i < n)
            continue;
        char q[S_QUOTE_MAX], list[128] = "";
        const char *close = ph_policy_closest_ (key, allowed, n);
        if (close)
            return s_fail (p, path, "unknown key %s (did you mean %s?)", s_quote (q, sizeof q, key),
                           close);
        for (i = 0; i < n; i++)
            snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", i ? ", " : "",
                      allowed[i]);
        return s_fail (p, path, "unknown key %s (allowed: %s)", s_quote (q, sizeof q, key), list);
    }
    return 0;
}

static int s_check_variables (s_parser_t *p, const char *path, const char *s)
{
    static const char *const known[] = {"${username}", "${*}", "${?}", "${$}"};
    char q[S_QUOTE_MAX];
    for (const char *d = strstr (s, "${"); d; d = strstr (d, "${")) {
        const char *end = strchr (d, '}');
        if (!end)
            return s_fail (p, path,
                           "%s has \"${\" without a closing \"}\"; write ${$} for a literal $",
                           s_quote (q, sizeof q, s));
        size_t i = 0, len = (size_t)(end - d) + 1;
        while (i < S_KEY_COUNT (known) &&
               !(strlen (known[i]) == len && !strncmp (d, known[i], len)))
            i++;
        if (i == S_KEY_COUNT (known))
            return s_fail (p, path,
                           "unknown variable in %s (the variable is ${username}; ${*}, ${?} and "
                           "${$} stand for the characters *, ? and $)",
                           s_quote (q, sizeof q, s));
        d = end + 1;
    }
    return 0;
}

static int s_check_action (s_parser_t *p, const char *path, const char *action)
{
    for (size_t i = 0; i < ph_policy_action_count (); i++)
        if (ph_policy_wildcard_match (action, ph_policy_action_name (i), NULL, true))
            return 0;
    char q[S_QUOTE_MAX];
    const char *close = ph_policy_action_suggest (action);
    if (close)
        return s_fail (p, path, "unknown action %s (did you mean %s?)",
                       s_quote (q, sizeof q, action), close);
    if (strpbrk (action, "*?"))
        return s_fail (p, path, "%s matches no known action (services: %s)",
                       s_quote (q, sizeof q, action), ph_policy_services_ ());
    return s_fail (p, path,
                   "unknown action %s (actions are SERVICE:Verb, e.g. session:StartSession; "
                   "services: %s)",
                   s_quote (q, sizeof q, action), ph_policy_services_ ());
}

static int s_check_resource (s_parser_t *p, const char *path, const char *res)
{
    char q[S_QUOTE_MAX];
    if (strcmp (res, "*") == 0)
        return 0;
    const char *slash = strchr (res, '/');
    size_t tlen = slash ? (size_t)(slash - res) : strlen (res);
    for (size_t i = 0; slash && i < S_KEY_COUNT (s_resource_types); i++) {
        if (strlen (s_resource_types[i]) != tlen || strncmp (res, s_resource_types[i], tlen))
            continue;
        if (!slash[1])
            return s_fail (p, path, "%s has no NAME after the TYPE/; write %.*s/* for every one",
                           s_quote (q, sizeof q, res), (int)tlen, res);
        return s_check_variables (p, path, res);
    }
    char type[S_SUGGEST_INPUT_MAX + 1] = "";
    if (tlen <= S_SUGGEST_INPUT_MAX)
        snprintf (type, sizeof type, "%.*s", (int)tlen, res);
    const char *close = ph_policy_closest_ (type, s_resource_types, S_KEY_COUNT (s_resource_types));
    if (close)
        return s_fail (p, path, "%s is not a resource (did you mean %s%s?)",
                       s_quote (q, sizeof q, res), close, slash ? slash : "/*");
    return s_fail (
        p, path,
        "%s is not a resource (use *, or TYPE/NAME with TYPE one of " S_RESOURCE_TYPES_TEXT
        ", e.g. instance/mi-*)",
        s_quote (q, sizeof q, res));
}

static int s_check_ip (s_parser_t *p, const char *path, const char *value)
{
    char q[S_QUOTE_MAX];
    ph_policy_cidr_t cidr;
    if (ph_policy_cidr_parse_ (value, &cidr) == 0)
        return 0;
    return s_fail (p, path,
                   "%s is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/8, ::1/128)",
                   s_quote (q, sizeof q, value));
}

/*  A string or a non-empty array of strings into *out (borrowed strings,
 *  the array owned by the caller's statement), each passed through check. */
static int s_parse_list (s_parser_t *p, json_t *json, const char *path, const char ***out,
                         size_t *n_out, s_check_fn *check)
{
    size_t n = json_is_array (json) ? json_array_size (json) : 1;
    if (!json_is_array (json) && !json_is_string (json))
        return s_fail (p, path, "must be a string or a list of strings");
    if (n == 0)
        return s_fail (p, path, "is an empty list; give at least one entry");
    if (n > PH_POLICY_LIST_MAX)
        return s_fail (p, path, "has %zu entries; the limit is %d", n, PH_POLICY_LIST_MAX);
    if (!(*out = calloc (n, sizeof **out)))
        return s_fail (p, path, "out of memory");
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_is_array (json) ? json_array_get (json, i) : json;
        char ipath[S_PATH_MAX];
        if (json_is_array (json))
            s_path (ipath, sizeof ipath, "%s[%zu]", path, i);
        else
            s_path (ipath, sizeof ipath, "%s", path);
        if (!json_is_string (item))
            return s_fail (p, ipath, "must be a string");
        if (json_string_length (item) > PH_POLICY_STRING_MAX)
            return s_fail (p, ipath, "is %zu bytes long; the limit is %d",
                           json_string_length (item), PH_POLICY_STRING_MAX);
        (*out)[i] = json_string_value (item);
        if (check (p, ipath, (*out)[i]) != 0)
            return PH_EINVAL;
    }
    return 0;
}

/*  Condition key → kind (and tag KEY); the operator must suit the key. */
static int s_parse_condition_key (s_parser_t *p, ph_policy_cond_t *c, const char *key,
                                  const char *path)
{
    static const struct {
        const char *prefix;
        ph_policy_key_t kind;
    } tag_keys[] = {{"instance:ResourceTag/", PH_POLICY_KEY_RESOURCE_TAG},
                    {"user:Tag/", PH_POLICY_KEY_USER_TAG}};
    char q[S_QUOTE_MAX];
    size_t i = 0;
    while (i < 2 && strncasecmp (key, tag_keys[i].prefix, strlen (tag_keys[i].prefix)))
        i++;
    if (i < 2) {
        c->key = tag_keys[i].kind;
        c->tag = key + strlen (tag_keys[i].prefix);
        size_t len = strlen (c->tag);
        if (len == 0 || len > PH_TAG_KEY_MAX || strspn (c->tag, S_TAG_KEY_CHARS) != len)
            return s_fail (p, path,
                           "%s: the tag key must be 1..%d characters of A-Z a-z 0-9 _ . : / + - @",
                           s_quote (q, sizeof q, key), PH_TAG_KEY_MAX);
    } else if (strcasecmp (key, "session:Owner") == 0)
        c->key = PH_POLICY_KEY_SESSION_OWNER;
    else if (strcasecmp (key, "source:Ip") == 0)
        c->key = PH_POLICY_KEY_SOURCE_IP;
    else
        return s_fail (p, path, "unknown condition key %s (keys: " S_KEYS_TEXT ")",
                       s_quote (q, sizeof q, key));
    bool ip_op = c->op == PH_POLICY_OP_IP_ADDRESS || c->op == PH_POLICY_OP_NOT_IP_ADDRESS;
    if (ip_op && c->key != PH_POLICY_KEY_SOURCE_IP)
        return s_fail (p, path, "%s applies to source:Ip only, not to %s", s_operator_names[c->op],
                       s_quote (q, sizeof q, key));
    if (!ip_op && c->key == PH_POLICY_KEY_SOURCE_IP)
        return s_fail (p, path, "source:Ip takes IpAddress or NotIpAddress, not %s",
                       s_operator_names[c->op]);
    return 0;
}

static int s_parse_condition (s_parser_t *p, ph_policy_cond_t *c, const char *key, json_t *values,
                              const char *op_path)
{
    if (s_parse_condition_key (p, c, key, op_path) != 0)
        return PH_EINVAL;
    char path[S_PATH_MAX];
    s_path (path, sizeof path, "%s[\"%.160s\"]", op_path, key);
    bool ip_op = c->key == PH_POLICY_KEY_SOURCE_IP;
    if (s_parse_list (p, values, path, &c->values, &c->n_values,
                      ip_op ? s_check_ip : s_check_variables) != 0)
        return PH_EINVAL;
    if (!ip_op)
        return 0;
    if (!(c->cidrs = calloc (c->n_values, sizeof *c->cidrs)))
        return s_fail (p, path, "out of memory");
    for (size_t i = 0; i < c->n_values; i++)
        ph_policy_cidr_parse_ (c->values[i], &c->cidrs[i]);
    return 0;
}

static int s_parse_operator (s_parser_t *p, const char *name, const char *path, ph_policy_op_t *op)
{
    for (size_t i = 0; i < S_OPERATOR_COUNT; i++)
        if (strcmp (name, s_operator_names[i]) == 0) {
            *op = (ph_policy_op_t)i;
            return 0;
        }
    char q[S_QUOTE_MAX];
    const char *close = ph_policy_closest_ (name, s_operator_names, S_OPERATOR_COUNT);
    if (close)
        return s_fail (p, path, "unknown operator %s (did you mean %s?)",
                       s_quote (q, sizeof q, name), close);
    return s_fail (p, path, "unknown operator %s (operators: " S_OPERATORS_TEXT ")",
                   s_quote (q, sizeof q, name));
}

/*  "Condition": {OPERATOR: {KEY: value(s), ...}, ...} */
static int s_parse_conditions (s_parser_t *p, ph_policy_stmt_t *st, json_t *cond,
                               const char *stmt_path)
{
    char path[S_PATH_MAX], op_path[S_PATH_MAX];
    s_path (path, sizeof path, "%s.Condition", stmt_path);
    if (!json_is_object (cond) || json_object_size (cond) == 0)
        return s_fail (p, path,
                       "must be an object of operators, e.g. "
                       "{\"StringEquals\": {\"instance:ResourceTag/env\": \"dev\"}}");
    const char *name, *key;
    json_t *keys, *values;
    size_t total = 0;
    json_object_foreach (cond, name, keys)
    {
        ph_policy_op_t op;
        if (s_parse_operator (p, name, path, &op) != 0)
            return PH_EINVAL;
        s_path (op_path, sizeof op_path, "%s.Condition.%s", stmt_path, s_operator_names[op]);
        if (!json_is_object (keys) || json_object_size (keys) == 0)
            return s_fail (p, op_path,
                           "must be an object of condition keys, e.g. "
                           "{\"instance:ResourceTag/env\": \"dev\"}");
        total += json_object_size (keys);
    }
    if (total > PH_POLICY_CONDITIONS_MAX)
        return s_fail (p, path, "has %zu condition keys; the limit is %d", total,
                       PH_POLICY_CONDITIONS_MAX);
    if (!(st->conds = calloc (total, sizeof *st->conds)))
        return s_fail (p, path, "out of memory");
    json_object_foreach (cond, name, keys)
    {
        ph_policy_op_t op;
        s_parse_operator (p, name, path, &op);
        s_path (op_path, sizeof op_path, "%s.Condition.%s", stmt_path, s_operator_names[op]);
        json_object_foreach (keys, key, values)
        {
            ph_policy_cond_t *c = &st->conds[st->n_conds++];
            c->op = op;
            if (s_parse_condition (p, c, key, values, op_path) != 0)
                return PH_EINVAL;
        }
    }
    return 0;
}

static int s_parse_sid (s_parser_t *p, ph_policy_stmt_t *st, json_t *sid, const char *stmt_path)
{
    char path[S_PATH_MAX], q[S_QUOTE_MAX];
    s_path (path, sizeof path, "%s.Sid", stmt_path);
    if (!json_is_string (sid))
        return s_fail (p, path, "must be a string");
    const char *s = json_string_value (sid);
    size_t len = strlen (s);
    if (len == 0 || len > PH_POLICY_SID_MAX || strspn (s, S_SID_CHARS) != len)
        return s_fail (p, path, "%s must be 1..%d characters of A-Z a-z 0-9 _ . -",
                       s_quote (q, sizeof q, s), PH_POLICY_SID_MAX);
    st->sid = s;
    return 0;
}

static int s_parse_effect (s_parser_t *p, ph_policy_stmt_t *st, json_t *effect,
                           const char *stmt_path)
{
    char path[S_PATH_MAX], q[S_QUOTE_MAX];
    s_path (path, sizeof path, "%s.Effect", stmt_path);
    if (!effect)
        return s_fail (p, path, "missing; add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"");
    const char *s = json_is_string (effect) ? json_string_value (effect) : "";
    if (strcmp (s, "Allow") == 0 || strcmp (s, "Deny") == 0) {
        st->deny = s[0] == 'D';
        return 0;
    }
    if (!json_is_string (effect))
        return s_fail (p, path, "must be the string \"Allow\" or \"Deny\"");
    return s_fail (p, path, "%s is neither \"Allow\" nor \"Deny\" (the words are case-sensitive)",
                   s_quote (q, sizeof q, s));
}

/*  IAM keys that porthole leaves out get a reason rather than a typo hint. */
static int s_check_unsupported (s_parser_t *p, json_t *json, const char *path)
{
    static const struct {
        const char *key, *why;
    } keys[] = {
        {"NotAction", "list the actions in Action, or deny the others in a Deny statement"},
        {"NotResource", "list the resources in Resource, or deny the others in a Deny statement"},
        {"Principal", "a policy applies to the users it is attached to"},
        {"NotPrincipal", "a policy applies to the users it is attached to"},
    };
    for (size_t i = 0; i < S_KEY_COUNT (keys); i++)
        if (json_object_get (json, keys[i].key))
            return s_fail (p, path, "%s is not supported in porthole policies (%s)", keys[i].key,
                           keys[i].why);
    return 0;
}

static int s_parse_statement (s_parser_t *p, ph_policy_stmt_t *st, json_t *json, const char *path)
{
    char epath[S_PATH_MAX];
    if (!json_is_object (json))
        return s_fail (p, path, "must be an object with Effect, Action and Resource");
    if (s_check_unsupported (p, json, path) != 0)
        return PH_EINVAL;
    if (s_check_keys (p, json, path, s_statement_keys, S_KEY_COUNT (s_statement_keys)) != 0)
        return PH_EINVAL;
    json_t *sid = json_object_get (json, "Sid");
    if (sid && s_parse_sid (p, st, sid, path) != 0)
        return PH_EINVAL;
    if (s_parse_effect (p, st, json_object_get (json, "Effect"), path) != 0)
        return PH_EINVAL;
    static const char *const lists[] = {"Action", "Resource"};
    for (size_t i = 0; i < 2; i++) {
        json_t *list = json_object_get (json, lists[i]);
        s_path (epath, sizeof epath, "%s.%s", path, lists[i]);
        if (!list)
            return s_fail (p, epath, "missing; add \"%s\": [%s]", lists[i],
                           i ? "\"instance/mi-*\", ..." : "\"session:StartSession\", ...");
        if (i == 0 && s_parse_list (p, list, epath, &st->actions, &st->n_actions, s_check_action))
            return PH_EINVAL;
        if (i == 1 &&
            s_parse_list (p, list, epath, &st->resources, &st->n_resources, s_check_resource))
            return PH_EINVAL;
    }
    json_t *cond = json_object_get (json, "Condition");
    return cond ? s_parse_conditions (p, st, cond, path) : 0;
}

static int s_parse_version (s_parser_t *p, json_t *doc)
{
    char q[S_QUOTE_MAX];
    json_t *version = json_object_get (doc, "Version");
    if (!version)
        return s_fail (p, "Version", "missing; add \"Version\": \"" PH_POLICY_VERSION "\"");
    if (!json_is_string (version))
        return s_fail (p, "Version", "must be the string \"" PH_POLICY_VERSION "\"");
    if (strcmp (json_string_value (version), PH_POLICY_VERSION) != 0)
        return s_fail (p, "Version", "%s is not supported; use \"" PH_POLICY_VERSION "\"",
                       s_quote (q, sizeof q, json_string_value (version)));
    json_t *id = json_object_get (doc, "Id");
    if (id && (!json_is_string (id) || json_string_length (id) > S_ID_MAX))
        return s_fail (p, "Id", "must be a string of at most %d bytes", S_ID_MAX);
    return 0;
}

static int s_check_sids_unique (s_parser_t *p, const ph_policy_t *self)
{
    char path[S_PATH_MAX], q[S_QUOTE_MAX];
    for (size_t i = 1; i < self->n_stmts; i++)
        for (size_t j = 0; self->stmts[i].sid && j < i; j++)
            if (self->stmts[j].sid && strcmp (self->stmts[i].sid, self->stmts[j].sid) == 0) {
                s_path (path, sizeof path, "Statement[%zu].Sid", i);
                return s_fail (p, path,
                               "%s is already the Sid of Statement[%zu]; Sids must be unique",
                               s_quote (q, sizeof q, self->stmts[i].sid), j);
            }
    return 0;
}

static int s_parse_document (s_parser_t *p, ph_policy_t *self)
{
    json_t *doc = self->doc;
    if (!json_is_object (doc))
        return s_fail (p, "document",
                       "must be a JSON object: {\"Version\": \"" PH_POLICY_VERSION
                       "\", \"Statement\": [...]}");
    if (s_check_keys (p, doc, "document", s_document_keys, S_KEY_COUNT (s_document_keys)) != 0 ||
        s_parse_version (p, doc) != 0)
        return PH_EINVAL;
    json_t *stmts = json_object_get (doc, "Statement");
    if (!stmts)
        return s_fail (p, "Statement",
                       "missing; add \"Statement\": [{\"Effect\": ..., "
                       "\"Action\": ..., \"Resource\": ...}]");
    bool one = json_is_object (stmts);
    size_t n = one ? 1 : json_array_size (stmts);
    if (!one && !json_is_array (stmts))
        return s_fail (p, "Statement", "must be a list of statements (or one statement object)");
    if (n == 0)
        return s_fail (p, "Statement", "is empty; a policy needs at least one statement");
    if (n > PH_POLICY_STATEMENTS_MAX)
        return s_fail (p, "Statement", "has %zu statements; the limit is %d", n,
                       PH_POLICY_STATEMENTS_MAX);
    if (!(self->stmts = calloc (n, sizeof *self->stmts)))
        return s_fail (p, "document", "out of memory");
    for (size_t i = 0; i < n; i++) {
        char path[S_PATH_MAX];
        if (one)
            s_path (path, sizeof path, "Statement");
        else
            s_path (path, sizeof path, "Statement[%zu]", i);
        ph_policy_stmt_t *st = &self->stmts[self->n_stmts++];
        if (s_parse_statement (p, st, one ? stmts : json_array_get (stmts, i), path) != 0)
            return PH_EINVAL;
    }
    return s_check_sids_unique (p, self);
}

ph_policy_t *ph_policy_parse (const char *name, const char *json, size_t len, char *err,
                              size_t errlen)
{
    char dummy[PH_POLICY_ERR_MAX];
    s_parser_t parser = {err && errlen ? err : dummy, err && errlen ? errlen : sizeof dummy};
    s_parser_t *p = &parser;
    char q[S_QUOTE_MAX];
    if (!ph_name_valid (name)) {
        s_fail (p, "policy name", "%s must be 1..64 characters of A-Z a-z 0-9 _ . @ -",
                s_quote (q, sizeof q, name ? name : ""));
        return NULL;
    }
    if (len > PH_POLICY_DOC_MAX) {
        s_fail (p, "document", "is %zu bytes; the limit is %d", len, PH_POLICY_DOC_MAX);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb (json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        /* jansson quotes the bad token, which may hold a newline */
        for (char *c = jerr.text; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
        snprintf (p->err, p->errlen, "line %d, column %d: JSON: %s", jerr.line, jerr.column,
                  jerr.text);
        return NULL;
    }
    ph_policy_t *self = calloc (1, sizeof *self);
    if (!self || !(self->name = strdup (name))) {
        free (self);
        json_decref (doc);
        s_fail (p, "document", "out of memory");
        return NULL;
    }
    self->doc = doc;
    if (s_parse_document (p, self) != 0)
        ph_policy_destroy (&self);
    return self;
}

void ph_policy_destroy (ph_policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_policy_t *self = *self_p;
    for (size_t i = 0; i < self->n_stmts; i++) {
        ph_policy_stmt_t *st = &self->stmts[i];
        for (size_t j = 0; j < st->n_conds; j++) {
            free (st->conds[j].values);
            free (st->conds[j].cidrs);
        }
        free (st->conds);
        free (st->actions);
        free (st->resources);
    }
    free (self->stmts);
    json_decref (self->doc);
    free (self->name);
    free (self);
    *self_p = NULL;
}

const char *ph_policy_name (const ph_policy_t *self)
{
    return self->name;
}

size_t ph_policy_statement_count (const ph_policy_t *self)
{
    return self->n_stmts;
}
