/*  ph_policy_eval: the decision (see ph_policy.h). Walks the statements
 *  that ph_policy_parse.c compiled: an explicit Deny that applies wins at
 *  once, else the first Allow that applies, else the implicit deny.
 *
 *  Wildcards are matched by the classic greedy algorithm that remembers the
 *  last `*` only: O(pattern × text) at worst, never exponential, so that a
 *  hostile pattern ("*a*a*a*…b") cannot stall the controller. Variables
 *  are matched in place as literal runs rather than expanded into a copy,
 *  so that a user name can never act as a wildcard and no buffer is needed.
 */
#define PH_POLICY_PRIVATE
#include "ph_policy.h"
#include "ph_errors.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define S_ADDR_TEXT_MAX 64 /* longest address text before the '/' */

typedef enum { S_TOK_END, S_TOK_STAR, S_TOK_ONE, S_TOK_LITERAL, S_TOK_NO_USER } s_token_t;

/*  Reads the token at *p and moves *p past it. A literal run (one
 *  character, or the user name) is returned in *lit / *len. */
static s_token_t s_next_token (const char **p, const char *username, bool wild, const char **lit,
                               size_t *len)
{
    const char *c = *p;
    if (!*c)
        return S_TOK_END;
    if (c[0] == '$' && c[1] == '{') {
        if (strncmp (c, "${username}", 11) == 0) {
            *p = c + 11;
            if (!username)
                return S_TOK_NO_USER;
            *lit = username;
            *len = strlen (username);
            return S_TOK_LITERAL;
        }
        if (c[2] && strchr ("*?$", c[2]) && c[3] == '}') {
            *p = c + 4;
            *lit = c + 2;
            *len = 1;
            return S_TOK_LITERAL;
        }
    }
    *p = c + 1;
    if (wild && *c == '*')
        return S_TOK_STAR;
    if (wild && *c == '?')
        return S_TOK_ONE;
    *lit = c;
    *len = 1;
    return S_TOK_LITERAL;
}

/*  Past one UTF-8 character (a lead byte and its continuation bytes). */
static const char *s_next_char (const char *s)
{
    s++;
    while (((unsigned char)*s & 0xC0) == 0x80)
        s++;
    return s;
}

/*  wild false: `*` and `?` are ordinary characters (StringEquals). */
static bool s_match (const char *pattern, const char *text, const char *username, bool wild,
                     bool nocase)
{
    const char *p = pattern, *s = text, *star_p = NULL, *star_s = NULL;
    for (;;) {
        const char *next = p, *lit = NULL;
        size_t len = 0;
        s_token_t tok = s_next_token (&next, username, wild, &lit, &len);
        if (tok == S_TOK_NO_USER)
            return false;
        if (tok == S_TOK_STAR) {
            star_p = p = next;
            star_s = s;
            continue;
        }
        if (tok == S_TOK_END && !*s)
            return true;
        if (tok == S_TOK_ONE && *s) {
            s = s_next_char (s);
            p = next;
            continue;
        }
        if (tok == S_TOK_LITERAL &&
            (nocase ? strncasecmp (s, lit, len) : strncmp (s, lit, len)) == 0) {
            s += len;
            p = next;
            continue;
        }
        /* mismatch: let the last star take one more byte, or fail */
        if (!star_p || !*star_s)
            return false;
        s = ++star_s;
        p = star_p;
    }
}

bool ph_policy_wildcard_match (const char *pattern, const char *text, const char *username,
                               bool nocase)
{
    if (!pattern || !text)
        return false;
    return s_match (pattern, text, username, true, nocase);
}

int ph_policy_cidr_parse_ (const char *text, ph_policy_cidr_t *cidr)
{
    char addr[S_ADDR_TEXT_MAX];
    const char *slash = strchr (text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen (text);
    if (alen == 0 || alen >= sizeof addr)
        return PH_EINVAL;
    memcpy (addr, text, alen);
    addr[alen] = 0;
    memset (cidr, 0, sizeof *cidr);
    if (inet_pton (AF_INET, addr, cidr->addr) == 1)
        cidr->family = AF_INET;
    else if (inet_pton (AF_INET6, addr, cidr->addr) == 1)
        cidr->family = AF_INET6;
    else
        return PH_EINVAL;
    unsigned max = cidr->family == AF_INET ? 32 : 128;
    cidr->prefix = max;
    if (slash) {
        const char *d = slash + 1;
        size_t nd = strspn (d, "0123456789");
        if (nd == 0 || nd > 3 || d[nd])
            return PH_EINVAL;
        cidr->prefix = (unsigned)atoi (d);
        if (cidr->prefix > max)
            return PH_EINVAL;
    }
    for (unsigned bit = cidr->prefix; bit < max; bit++)
        cidr->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    return 0;
}

/*  The request's source address; an IPv4-mapped IPv6 address (as a dual
 *  stack socket reports IPv4 peers) counts as the IPv4 address. */
static int s_parse_source_ip (const char *text, ph_policy_cidr_t *ip)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (strchr (text, '/') || ph_policy_cidr_parse_ (text, ip) != 0)
        return PH_EINVAL;
    if (ip->family == AF_INET6 && memcmp (ip->addr, mapped, sizeof mapped) == 0) {
        memmove (ip->addr, ip->addr + 12, 4);
        memset (ip->addr + 4, 0, 12);
        ip->family = AF_INET;
        ip->prefix = 32;
    }
    return 0;
}

static bool s_cidr_contains (const ph_policy_cidr_t *net, const ph_policy_cidr_t *ip)
{
    uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff};
    const uint8_t *a = ip->addr;
    if (net->family != ip->family) {
        if (net->family != AF_INET6)
            return false;
        memcpy (mapped + 12, ip->addr, 4); /* an IPv4 peer against ::ffff:0:0/96 */
        a = mapped;
    }
    unsigned full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp (net->addr, a, full) != 0)
        return false;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return rest == 0 || (net->addr[full] & mask) == (a[full] & mask);
}

static const char *s_lookup_tag (const ph_policy_kv_t *kv, size_t n, const char *key)
{
    for (size_t i = 0; kv && i < n; i++)
        if (kv[i].key && strcmp (kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

/*  The request's value for the condition's key, or NULL when absent. */
static const char *s_request_value (const ph_policy_cond_t *c, const ph_policy_request_t *req)
{
    switch (c->key) {
    case PH_POLICY_KEY_RESOURCE_TAG:
        return s_lookup_tag (req->resource_tags, req->n_resource_tags, c->tag);
    case PH_POLICY_KEY_USER_TAG:
        return s_lookup_tag (req->user_tags, req->n_user_tags, c->tag);
    case PH_POLICY_KEY_SESSION_OWNER:
        return req->session_owner;
    case PH_POLICY_KEY_SOURCE_IP:
        return req->source_ip;
    }
    assert (!"condition key out of range");
    return NULL;
}

static bool s_ip_condition_holds (const ph_policy_cond_t *c, const char *actual)
{
    ph_policy_cidr_t ip;
    if (s_parse_source_ip (actual, &ip) != 0)
        return false; /* an address we cannot read is as good as none */
    bool any = false;
    for (size_t i = 0; i < c->n_values && !any; i++)
        any = s_cidr_contains (&c->cidrs[i], &ip);
    return c->op == PH_POLICY_OP_IP_ADDRESS ? any : !any;
}

/*  StringEquals / StringLike: some value matches. StringNotEquals: none
 *  equals; a value that needs a ${username} the request lacks cannot be
 *  shown to differ, so the condition does not hold. */
static bool s_string_condition_holds (const ph_policy_cond_t *c, const char *actual,
                                      const char *username)
{
    bool negate = c->op == PH_POLICY_OP_STRING_NOT_EQUALS;
    bool wild = c->op == PH_POLICY_OP_STRING_LIKE;
    for (size_t i = 0; i < c->n_values; i++) {
        if (negate && !username && strstr (c->values[i], "${username}"))
            return false;
        if (s_match (c->values[i], actual, username, wild, false))
            return !negate;
    }
    return negate;
}

static bool s_condition_holds (const ph_policy_cond_t *c, const ph_policy_request_t *req)
{
    const char *actual = s_request_value (c, req);
    if (!actual)
        return false;
    if (c->op == PH_POLICY_OP_IP_ADDRESS || c->op == PH_POLICY_OP_NOT_IP_ADDRESS)
        return s_ip_condition_holds (c, actual);
    return s_string_condition_holds (c, actual, req->username);
}

static bool s_any_match (const char *const *patterns, size_t n, const char *text,
                         const char *username, bool nocase)
{
    for (size_t i = 0; i < n; i++)
        if (s_match (patterns[i], text, username, true, nocase))
            return true;
    return false;
}

static bool s_statement_applies (const ph_policy_stmt_t *st, const char *action,
                                 const char *resource, const ph_policy_request_t *req)
{
    if (!s_any_match (st->actions, st->n_actions, action, NULL, true) ||
        !s_any_match (st->resources, st->n_resources, resource, req->username, false))
        return false;
    for (size_t i = 0; i < st->n_conds; i++)
        if (!s_condition_holds (&st->conds[i], req))
            return false;
    return true;
}

ph_policy_decision_t ph_policy_evaluate_result (ph_policy_t *const *policies, size_t n,
                                                const char *action, const char *resource,
                                                const ph_policy_request_t *req,
                                                ph_policy_result_t *result)
{
    assert (action && resource && result && (policies || n == 0));
    const ph_policy_request_t empty = {0};
    if (!req)
        req = &empty;
    ph_policy_result_t allow = {PH_POLICY_IMPLICIT_DENY, NULL, NULL, 0};
    for (size_t i = 0; i < n; i++) {
        const ph_policy_t *pol = policies[i];
        assert (pol);
        for (size_t j = 0; j < pol->n_stmts; j++) {
            const ph_policy_stmt_t *st = &pol->stmts[j];
            if (!s_statement_applies (st, action, resource, req))
                continue;
            ph_policy_result_t r = {st->deny ? PH_POLICY_EXPLICIT_DENY : PH_POLICY_ALLOW, pol->name,
                                    st->sid, j};
            if (st->deny) {
                *result = r;
                return r.decision;
            }
            if (allow.decision == PH_POLICY_IMPLICIT_DENY)
                allow = r;
        }
    }
    *result = allow;
    return result->decision;
}

ph_policy_decision_t ph_policy_evaluate (ph_policy_t *const *policies, size_t n, const char *action,
                                         const char *resource, const ph_policy_request_t *req,
                                         char *why, size_t whylen)
{
    ph_policy_result_t r;
    ph_policy_evaluate_result (policies, n, action, resource, req, &r);
    if (!why || whylen == 0)
        return r.decision;
    const char *verb = r.decision == PH_POLICY_ALLOW ? "allowed" : "denied";
    if (r.decision == PH_POLICY_IMPLICIT_DENY)
        snprintf (why, whylen, "%s", PH_POLICY_WHY_NO_STATEMENT);
    else if (r.sid)
        snprintf (why, whylen, "%s by policy %s, statement %s", verb, r.policy, r.sid);
    else
        snprintf (why, whylen, "%s by policy %s, Statement[%zu]", verb, r.policy, r.statement);
    return r.decision;
}
