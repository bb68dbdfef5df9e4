/*  ph_policy: IAM-style permission policies (issue 5). Parses and validates
 *  the JSON documents that admins attach to users, and decides whether a
 *  user's set of policies allows one action on one resource. The controller
 *  asks on every API call; `porthole iam simulate-principal-policy` prints
 *  the same answer; the CLI may validate a document before sending it.
 *
 *  Pure code: no I/O, no globals, never blocks; safe on a reactor thread.
 *
 *  Document:
 *    {"Version": "2026-11-01",
 *     "Statement": [{"Sid": "DevShells", "Effect": "Allow" | "Deny",
 *                    "Action": ["session:StartSession", ...] or one string,
 *                    "Resource": ["instance/mi-*", ...] or one string,
 *                    "Condition": {"StringEquals": {"instance:ResourceTag/env": "dev"}}}]}
 *  "Statement" may also be one object; "Id" (a string) is accepted and
 *  ignored. Element names (Version, Effect, ...) are case-sensitive, as in
 *  IAM; any other element is an error.
 *
 *  Semantics (IAM's, for the parts porthole supports):
 *  - Action: SERVICE:Verb from the table of known actions, matched without
 *    regard to case; `*` and `?` are wildcards (`session:*`, `iam:List*`,
 *    `*`). A pattern that matches no known action is an error.
 *  - Resource: `*` or TYPE/NAME, TYPE one of instance, session, loggroup,
 *    alarm, topic, user, policy. Case-sensitive; `*` matches any run of
 *    characters including `/`, `?` exactly one character. `${username}` is
 *    replaced by the caller's user name (taken literally, never as a
 *    wildcard); `${*}`, `${?}` and `${$}` stand for a literal `*`, `?`, `$`.
 *    A pattern that needs ${username} when the request has none matches
 *    nothing.
 *  - Condition: operator → key → value or list of values. Every key of
 *    every operator must hold (AND); within one key any value may match
 *    (OR), except StringNotEquals / NotIpAddress, which hold when no value
 *    matches. Operators: StringEquals, StringNotEquals, StringLike (the
 *    wildcards above), IpAddress, NotIpAddress. Keys (prefix without regard
 *    to case, tag KEY exact): instance:ResourceTag/KEY (the target's tags),
 *    user:Tag/KEY (the caller's tags), session:Owner, source:Ip (IpAddress
 *    and NotIpAddress only; values are IPv4/IPv6 addresses or CIDR blocks,
 *    host bits ignored; an IPv4-mapped IPv6 peer counts as IPv4, and an
 *    IPv4 peer also falls in IPv6 blocks that hold ::ffff:a.b.c.d, e.g. ::/0).
 *    String values may use the variables above. A key absent from the
 *    request makes the condition not hold, for every operator.
 *  - Decision over a set of policies: an explicit Deny that applies wins;
 *    otherwise Allow if any Allow statement applies; otherwise the implicit
 *    (default) deny.
 */
#ifndef PH_POLICY_H
#define PH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_POLICY_VERSION        "2026-11-01"
#define PH_POLICY_DOC_MAX        (64 * 1024) /* bytes of one JSON document */
#define PH_POLICY_STATEMENTS_MAX 100         /* statements in one document */
#define PH_POLICY_LIST_MAX       100         /* entries of an Action / Resource / value list */
#define PH_POLICY_CONDITIONS_MAX 20          /* condition keys of one statement, all operators */
#define PH_POLICY_STRING_MAX     1024        /* bytes of one action, resource or value */
#define PH_POLICY_SID_MAX        128         /* bytes of one Sid */
#define PH_POLICY_ERR_MAX        512         /* a buffer this size holds any parse error */
#define PH_POLICY_WHY_MAX        256         /* a buffer this size holds any "why" text */

/*  The "why" of an implicit deny, verbatim. */
#define PH_POLICY_WHY_NO_STATEMENT "no statement allows it"

typedef struct _ph_policy_t ph_policy_t;

/*  Parses the len bytes of json (need not be NUL-terminated) as the policy
 *  called name (ph_name_valid: [A-Za-z0-9_.@-], 1..64). Returns a new
 *  policy that the caller destroys, or NULL with err set to one line that
 *  points at the place and says what to do, e.g.
 *    line 3, column 14: JSON: unexpected token near '}'
 *    Statement[1].Action[0]: unknown action "sesion:StartSession" (did you
 *    mean session:StartSession?)
 *  The caller adds the policy name or file to the message. err may be NULL;
 *  PH_POLICY_ERR_MAX bytes hold any message. */
ph_policy_t *ph_policy_parse (const char *name, const char *json, size_t len, char *err,
                              size_t errlen);

/*  Destroys *self_p (NULL is fine) and sets it to NULL. */
void ph_policy_destroy (ph_policy_t **self_p);

/*  The name the policy was parsed with; owned by the policy. */
const char *ph_policy_name (const ph_policy_t *self);

/*  The number of statements (at least 1). */
size_t ph_policy_statement_count (const ph_policy_t *self);

/*  One key/value pair of the request context (a tag). */
typedef struct {
    const char *key;
    const char *value;
} ph_policy_kv_t;

/*  What is known about the caller and the target. Every field may be NULL
 *  (or 0 entries): a missing value makes the conditions on it not hold.
 *  The evaluation borrows all of it. */
typedef struct {
    const char *username;            /* ${username}, e.g. "alice" */
    const char *source_ip;           /* source:Ip, "10.1.2.3" or "::1" or "::ffff:10.1.2.3" */
    const ph_policy_kv_t *user_tags; /* user:Tag/KEY */
    size_t n_user_tags;
    const ph_policy_kv_t *resource_tags; /* instance:ResourceTag/KEY: the target's tags */
    size_t n_resource_tags;
    const char *session_owner; /* session:Owner */
} ph_policy_request_t;

typedef enum {
    PH_POLICY_IMPLICIT_DENY = 0,
    PH_POLICY_ALLOW,
    PH_POLICY_EXPLICIT_DENY,
} ph_policy_decision_t;

/*  The decision and the statement that made it. policy and sid are
 *  borrowed from the deciding policy (NULL for the implicit deny; sid NULL
 *  when the statement has none); statement is its 0-based index. */
typedef struct {
    ph_policy_decision_t decision;
    const char *policy;
    const char *sid;
    size_t statement;
} ph_policy_result_t;

/*  Decides whether policies[0..n) allow action (e.g. "session:StartSession")
 *  on resource (e.g. "instance/mi-0a1b2c3d4e5f60718") for req (may be NULL:
 *  an empty context). An action that names no one resource (a List or a
 *  Describe of everything) passes resource "*", which only the pattern "*"
 *  matches, as in IAM. n may be 0 (the implicit deny). Writes to why (may be
 *  NULL) the text that names the deciding statement, for messages such as
 *  "user bob may not session:StartSession on instance/mi-… (WHY)":
 *    allowed by policy dev-shells, statement DevShells
 *    denied by policy no-prod, Statement[2]            (a statement without Sid)
 *    no statement allows it                            (PH_POLICY_WHY_NO_STATEMENT)
 *  PH_POLICY_WHY_MAX bytes hold any of them. Never fails. */
ph_policy_decision_t ph_policy_evaluate (ph_policy_t *const *policies, size_t n, const char *action,
                                         const char *resource, const ph_policy_request_t *req,
                                         char *why, size_t whylen);

/*  The same decision as a struct, for callers that format it themselves
 *  (JSON output of simulate-principal-policy). Returns result->decision. */
ph_policy_decision_t ph_policy_evaluate_result (ph_policy_t *const *policies, size_t n,
                                                const char *action, const char *resource,
                                                const ph_policy_request_t *req,
                                                ph_policy_result_t *result);

/*  "allowed", "implicitDeny" or "explicitDeny" (the EvalDecision words of
 *  IAM's simulate-principal-policy). */
const char *ph_policy_decision_name (ph_policy_decision_t decision);

/*  True when action is one of the known actions (without regard to case);
 *  no wildcards: this checks a concrete API verb. */
bool ph_policy_action_known (const char *action);

/*  The known actions, in table order: for i in [0, ph_policy_action_count())
 *  ph_policy_action_name(i) is a static string; NULL past the end. */
size_t ph_policy_action_count (void);
const char *ph_policy_action_name (size_t i);

/*  The known action or SERVICE:* closest to text (a misspelling), or NULL
 *  when none is close. A static string. For "did you mean" messages. */
const char *ph_policy_action_suggest (const char *text);

/*  True when text matches the IAM-style pattern: `*` any run of characters
 *  (including none and `/`), `?` exactly one character, ${username} the
 *  given username (no match when it is NULL), ${*} ${?} ${$} literal
 *  characters. nocase compares ASCII letters without regard to case.
 *  Exposed for the unit tests and for callers that filter lists. */
bool ph_policy_wildcard_match (const char *pattern, const char *text, const char *username,
                               bool nocase);

#ifdef PH_POLICY_PRIVATE
/*  The parsed form, shared by ph_policy_parse.c (which builds it) and
 *  ph_policy_eval.c (which reads it), and helpers of ph_policy.c; no file
 *  outside the module defines PH_POLICY_PRIVATE. Strings are borrowed from the jansson document
 * that the policy keeps. */
typedef enum {
    PH_POLICY_OP_STRING_EQUALS,
    PH_POLICY_OP_STRING_NOT_EQUALS,
    PH_POLICY_OP_STRING_LIKE,
    PH_POLICY_OP_IP_ADDRESS,
    PH_POLICY_OP_NOT_IP_ADDRESS,
} ph_policy_op_t;

typedef enum {
    PH_POLICY_KEY_RESOURCE_TAG,
    PH_POLICY_KEY_USER_TAG,
    PH_POLICY_KEY_SESSION_OWNER,
    PH_POLICY_KEY_SOURCE_IP,
} ph_policy_key_t;

typedef struct {
    int family; /* AF_INET or AF_INET6 */
    unsigned prefix;
    uint8_t addr[16]; /* host bits cleared */
} ph_policy_cidr_t;

typedef struct {
    ph_policy_op_t op;
    ph_policy_key_t key;
    const char *tag; /* the KEY of a tag key */
    const char **values;
    ph_policy_cidr_t *cidrs; /* IpAddress / NotIpAddress: values parsed */
    size_t n_values;
} ph_policy_cond_t;

typedef struct {
    bool deny;
    const char *sid; /* or NULL */
    const char **actions;
    size_t n_actions;
    const char **resources;
    size_t n_resources;
    ph_policy_cond_t *conds;
    size_t n_conds;
} ph_policy_stmt_t;

struct _ph_policy_t {
    char *name;
    struct json_t *doc; /* owns every string above */
    ph_policy_stmt_t *stmts;
    size_t n_stmts;
};

/*  Parses "10.0.0.0/8", "::1/128" or a bare address (a /32 or /128) into
 *  cidr. Returns 0 or PH_EINVAL. */
int ph_policy_cidr_parse_ (const char *text, ph_policy_cidr_t *cidr);

/*  The candidate closest to text when it is close enough to be a typo,
 *  without regard to case; else NULL (ph_policy.c). */
const char *ph_policy_closest_ (const char *text, const char *const *cands, size_t n);

/*  "session, instance, …": the services of the known actions, for
 *  messages (ph_policy.c). */
const char *ph_policy_services_ (void);
#endif

#endif
