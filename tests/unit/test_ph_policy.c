/*  Unit tests of common/ph_policy_*.c: a decision table (policies, action,
 *  resource, request context → decision and the statement that made it)
 *  and a table of parser errors with the message each must give. Policy
 *  documents are written with ' for " to stay readable; s_json swaps them.
 */
#include "ph_errors.h"
#include "ph_policy.h"
#include "ph_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DOC(stmts) "{'Version':'2026-11-01','Statement':[" stmts "]}"
#define MI         "instance/mi-0a1b2c3d4e5f60718"

/* ---------------------------------------------------------------- policies */

static const char s_dev_shells[] = DOC (
    "{'Sid':'DevShells','Effect':'Allow','Action':'session:StartSession',"
    "'Resource':'instance/*','Condition':{'StringEquals':{'instance:ResourceTag/env':'dev'}}}");
static const char s_own_sessions[] =
    DOC ("{'Sid':'OwnSessions','Effect':'Allow','Action':['session:TerminateSession',"
         "'session:ResumeSession'],'Resource':'session/${username}-*'}");
static const char s_allow_all[] =
    DOC ("{'Sid':'Admin','Effect':'Allow','Action':'*','Resource':'*'}");
static const char s_no_prod[] =
    DOC ("{'Sid':'NoProd','Effect':'Deny','Action':'session:*','Resource':'*',"
         "'Condition':{'StringEquals':{'instance:ResourceTag/env':'prod'}}}");
static const char s_readers[] = DOC (
    "{'Sid':'Lists','Effect':'Allow','Action':['iam:List*','*:Describe*','session:?tartSession'],"
    "'Resource':'*'}");
static const char s_resources[] =
    DOC ("{'Sid':'Res','Effect':'Allow','Action':'*','Resource':['instance/mi-0a*',"
         "'loggroup/porthole/*','loggroup/*/audit','alarm/cpu-?','topic/a${*}b']}");
static const char s_not_prod_staging[] = DOC (
    "{'Sid':'NotProd','Effect':'Allow','Action':'session:StartSession','Resource':'instance/*',"
    "'Condition':{'StringNotEquals':{'instance:ResourceTag/env':['prod','staging']}}}");
static const char s_like[] =
    DOC ("{'Sid':'Like','Effect':'Allow','Action':'session:StartSession','Resource':'*',"
         "'Condition':{'StringLike':{'instance:ResourceTag/role':'web*','user:Tag/team':'r?d'}}}");
static const char s_owner[] = DOC (
    "{'Sid':'Owner','Effect':'Allow','Action':'session:TerminateSession','Resource':'session/*',"
    "'Condition':{'StringEquals':{'session:Owner':'${username}'}}}");
static const char s_equals_literal[] =
    DOC ("{'Sid':'Lit','Effect':'Allow','Action':'*','Resource':'*',"
         "'Condition':{'StringEquals':{'instance:ResourceTag/role':'w*'}}}");
static const char s_office_v4[] =
    DOC ("{'Sid':'Office','Effect':'Allow','Action':'*','Resource':'*',"
         "'Condition':{'IpAddress':{'source:Ip':'10.0.0.0/8'}}}");
static const char s_office_v6[] =
    DOC ("{'Sid':'V6','Effect':'Allow','Action':'*','Resource':'*',"
         "'Condition':{'IpAddress':{'source:Ip':['::1/128','2001:db8::/32']}}}");
static const char s_outside_office[] =
    DOC ("{'Sid':'Outside','Effect':'Deny','Action':'*','Resource':'*',"
         "'Condition':{'NotIpAddress':{'source:Ip':['10.0.0.0/8','::1']}}}");
static const char s_mixed[] =
    DOC ("{'Effect':'Allow','Action':'session:*','Resource':'*'},"
         "{'Effect':'Deny','Action':'session:TerminateSession','Resource':'session/bob-*'}");
static const char s_two_allows[] =
    DOC ("{'Sid':'First','Effect':'Allow','Action':'session:StartSession','Resource':'*'},"
         "{'Sid':'Second','Effect':'Allow','Action':'session:*','Resource':'*'}");
static const char s_dev_and_office[] =
    DOC ("{'Sid':'DevOffice','Effect':'Allow','Action':'session:StartSession','Resource':'*',"
         "'Condition':{'StringEquals':{'instance:ResourceTag/env':['dev','staging']},"
         "'IpAddress':{'source:Ip':'10.0.0.0/8'}}}");
static const char s_single_object[] =
    "{'Version':'2026-11-01','Statement':{'Effect':'Allow','Action':'audit:Verify',"
    "'Resource':'*'}}";
static const char s_key_case[] =
    DOC ("{'Sid':'KeyCase','Effect':'Allow','Action':'*','Resource':'*',"
         "'Condition':{'StringEquals':{'Instance:resourcetag/env':'dev'}}}");
static const char s_not_owner[] =
    DOC ("{'Sid':'NotMine','Effect':'Deny','Action':'session:TerminateSession','Resource':'*',"
         "'Condition':{'StringNotEquals':{'session:Owner':'${username}'}}}");
static const char s_any_v4[] = DOC ("{'Sid':'AnyV4','Effect':'Allow','Action':'*','Resource':'*',"
                                    "'Condition':{'IpAddress':{'source:Ip':'0.0.0.0/0'}}}");
static const char s_any_v6[] = DOC ("{'Sid':'AnyV6','Effect':'Allow','Action':'*','Resource':'*',"
                                    "'Condition':{'IpAddress':{'source:Ip':'::/0'}}}");
static const char s_team_like_user[] =
    DOC ("{'Sid':'TeamLike','Effect':'Allow','Action':'*','Resource':'user/*',"
         "'Condition':{'StringLike':{'session:Owner':['${username}*','x${?}']}}}");
static const char s_mask[] =
    DOC ("{'Sid':'Mask','Effect':'Allow','Action':'*','Resource':'*',"
         "'Condition':{'IpAddress':{'source:Ip':['172.16.0.0/12','10.1.2.3/8']}}}");

/* ---------------------------------------------------------------- contexts */

static const ph_policy_kv_t s_dev_web[] = {{"env", "dev"}, {"role", "web"}};
static const ph_policy_kv_t s_prod[] = {{"env", "prod"}};
static const ph_policy_kv_t s_staging[] = {{"env", "staging"}};
static const ph_policy_kv_t s_red[] = {{"team", "red"}};
static const ph_policy_kv_t s_blue[] = {{"team", "blue"}};

enum {
    C_NULL = -1,
    C_ALICE_DEV,
    C_ALICE_PROD,
    C_BOB_V6,
    C_ALICE_STAGING_V6,
    C_ALICE_MAPPED,
    C_NO_USER,
    C_ALICE_DEV_HOME,
    C_STAR_USER,
    C_ALICE_172,
    C_ALICE_BADIP,
    C_ALICE_STAGING_OFFICE
};

static const ph_policy_request_t s_ctx[] = {
    [C_ALICE_DEV] = {"alice", "10.1.2.3", s_red, 1, s_dev_web, 2, "alice"},
    [C_ALICE_PROD] = {"alice", "192.168.1.5", s_red, 1, s_prod, 1, "bob"},
    [C_BOB_V6] = {"bob", "::1", s_blue, 1, NULL, 0, "bob"},
    [C_ALICE_STAGING_V6] = {"alice", "2001:db8::5", NULL, 0, s_staging, 1, NULL},
    [C_ALICE_MAPPED] = {"alice", "::ffff:10.9.9.9", NULL, 0, s_dev_web, 2, NULL},
    [C_NO_USER] = {NULL, NULL, NULL, 0, s_dev_web, 2, "alice"},
    [C_ALICE_DEV_HOME] = {"alice", "192.168.0.1", NULL, 0, s_dev_web, 2, NULL},
    [C_STAR_USER] = {"*", NULL, NULL, 0, NULL, 0, NULL},
    [C_ALICE_172] = {"alice", "172.31.255.255", NULL, 0, NULL, 0, NULL},
    [C_ALICE_BADIP] = {"alice", "10.1.2.3/8", NULL, 0, NULL, 0, NULL},
    [C_ALICE_STAGING_OFFICE] = {"alice", "10.0.0.7", NULL, 0, s_staging, 1, NULL},
};

/* ---------------------------------------------------------------- decisions */

typedef struct {
    const char *name;
    const char *json;
} s_doc_t;

typedef struct {
    const char *row;
    s_doc_t docs[3]; /* until a NULL name */
    const char *action;
    const char *resource;
    int ctx;
    ph_policy_decision_t expect;
    const char *why;
} s_case_t;

#define ALLOW    PH_POLICY_ALLOW
#define DENY     PH_POLICY_EXPLICIT_DENY
#define IMPLICIT PH_POLICY_IMPLICIT_DENY
#define NONE     PH_POLICY_WHY_NO_STATEMENT

static const s_case_t s_cases[] = {
    {"no policies", {{NULL}}, "session:StartSession", MI, C_ALICE_DEV, IMPLICIT, NONE},
    {"tag condition holds",
     {{"dev-shells", s_dev_shells}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy dev-shells, statement DevShells"},
    {"tag condition fails",
     {{"dev-shells", s_dev_shells}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     IMPLICIT,
     NONE},
    {"tag absent",
     {{"dev-shells", s_dev_shells}},
     "session:StartSession",
     MI,
     C_NULL,
     IMPLICIT,
     NONE},
    {"other action",
     {{"dev-shells", s_dev_shells}},
     "session:TerminateSession",
     MI,
     C_ALICE_DEV,
     IMPLICIT,
     NONE},
    {"action without case",
     {{"dev-shells", s_dev_shells}},
     "SESSION:startsession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy dev-shells, statement DevShells"},
    {"resource type differs",
     {{"dev-shells", s_dev_shells}},
     "session:StartSession",
     "session/alice-1",
     C_ALICE_DEV,
     IMPLICIT,
     NONE},
    /* action wildcards */
    {"iam:List*",
     {{"r", s_readers}},
     "iam:ListUsers",
     "*",
     C_NULL,
     ALLOW,
     "allowed by policy r, statement Lists"},
    {"iam:List* not Create",
     {{"r", s_readers}},
     "iam:CreateUser",
     "user/x",
     C_NULL,
     IMPLICIT,
     NONE},
    {"*:Describe*",
     {{"r", s_readers}},
     "logs:DescribeLogGroups",
     "loggroup/a",
     C_NULL,
     ALLOW,
     "allowed by policy r, statement Lists"},
    {"? in action",
     {{"r", s_readers}},
     "session:StartSession",
     MI,
     C_NULL,
     ALLOW,
     "allowed by policy r, statement Lists"},
    {"* action",
     {{"admin", s_allow_all}},
     "audit:Verify",
     "*",
     C_NULL,
     ALLOW,
     "allowed by policy admin, statement Admin"},
    {"session:* covers verbs",
     {{"m", s_mixed}},
     "session:DescribeSessions",
     "session/x",
     C_NULL,
     ALLOW,
     "allowed by policy m, Statement[0]"},
    /* resource wildcards */
    {"prefix*",
     {{"res", s_resources}},
     "session:StartSession",
     MI,
     C_NULL,
     ALLOW,
     "allowed by policy res, statement Res"},
    {"prefix* no",
     {{"res", s_resources}},
     "session:StartSession",
     "instance/mi-1a",
     C_NULL,
     IMPLICIT,
     NONE},
    {"* crosses /",
     {{"res", s_resources}},
     "logs:GetLogEvents",
     "loggroup/porthole/audit/x",
     C_NULL,
     ALLOW,
     "allowed by policy res, statement Res"},
    {"* inside",
     {{"res", s_resources}},
     "logs:GetLogEvents",
     "loggroup/a/b/audit",
     C_NULL,
     ALLOW,
     "allowed by policy res, statement Res"},
    {"? one char",
     {{"res", s_resources}},
     "alarms:SetAlarmState",
     "alarm/cpu-9",
     C_NULL,
     ALLOW,
     "allowed by policy res, statement Res"},
    {"? not two",
     {{"res", s_resources}},
     "alarms:SetAlarmState",
     "alarm/cpu-10",
     C_NULL,
     IMPLICIT,
     NONE},
    {"? not zero",
     {{"res", s_resources}},
     "alarms:SetAlarmState",
     "alarm/cpu-",
     C_NULL,
     IMPLICIT,
     NONE},
    {"resource case",
     {{"res", s_resources}},
     "session:StartSession",
     "INSTANCE/mi-0a",
     C_NULL,
     IMPLICIT,
     NONE},
    {"${*} literal",
     {{"res", s_resources}},
     "topics:Publish",
     "topic/a*b",
     C_NULL,
     ALLOW,
     "allowed by policy res, statement Res"},
    {"${*} not wild",
     {{"res", s_resources}},
     "topics:Publish",
     "topic/axb",
     C_NULL,
     IMPLICIT,
     NONE},
    /* ${username} */
    {"own session",
     {{"own", s_own_sessions}},
     "session:TerminateSession",
     "session/alice-0a1b",
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy own, statement OwnSessions"},
    {"other's session",
     {{"own", s_own_sessions}},
     "session:TerminateSession",
     "session/bob-0a1b",
     C_ALICE_DEV,
     IMPLICIT,
     NONE},
    {"no username",
     {{"own", s_own_sessions}},
     "session:TerminateSession",
     "session/alice-0a",
     C_NO_USER,
     IMPLICIT,
     NONE},
    {"username is literal",
     {{"own", s_own_sessions}},
     "session:TerminateSession",
     "session/bob-0a",
     C_STAR_USER,
     IMPLICIT,
     NONE},
    {"username * literal ok",
     {{"own", s_own_sessions}},
     "session:ResumeSession",
     "session/*-0a",
     C_STAR_USER,
     ALLOW,
     "allowed by policy own, statement OwnSessions"},
    /* StringNotEquals */
    {"not in list",
     {{"np", s_not_prod_staging}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy np, statement NotProd"},
    {"in list 1",
     {{"np", s_not_prod_staging}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     IMPLICIT,
     NONE},
    {"in list 2",
     {{"np", s_not_prod_staging}},
     "session:StartSession",
     MI,
     C_ALICE_STAGING_V6,
     IMPLICIT,
     NONE},
    {"NotEquals, key absent",
     {{"np", s_not_prod_staging}},
     "session:StartSession",
     MI,
     C_BOB_V6,
     IMPLICIT,
     NONE},
    /* StringLike, user tags */
    {"like both",
     {{"like", s_like}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy like, statement Like"},
    {"like user tag fails",
     {{"like", s_like}},
     "session:StartSession",
     MI,
     C_BOB_V6,
     IMPLICIT,
     NONE},
    {"like role absent",
     {{"like", s_like}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     IMPLICIT,
     NONE},
    {"StringEquals * is literal",
     {{"lit", s_equals_literal}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     IMPLICIT,
     NONE},
    {"key prefix without case",
     {{"kc", s_key_case}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy kc, statement KeyCase"},
    /* session:Owner */
    {"owner is me",
     {{"owner", s_owner}},
     "session:TerminateSession",
     "session/alice-1",
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy owner, statement Owner"},
    {"owner is bob",
     {{"owner", s_owner}},
     "session:TerminateSession",
     "session/bob-1",
     C_ALICE_PROD,
     IMPLICIT,
     NONE},
    {"owner absent",
     {{"owner", s_owner}},
     "session:TerminateSession",
     "session/bob-1",
     C_ALICE_STAGING_V6,
     IMPLICIT,
     NONE},
    {"deny not mine",
     {{"admin", s_allow_all}, {"nm", s_not_owner}},
     "session:TerminateSession",
     "session/bob-1",
     C_ALICE_PROD,
     DENY,
     "denied by policy nm, statement NotMine"},
    {"deny not mine, mine",
     {{"admin", s_allow_all}, {"nm", s_not_owner}},
     "session:TerminateSession",
     "session/alice-1",
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy admin, statement Admin"},
    {"NotEquals needs absent user",
     {{"admin", s_allow_all}, {"nm", s_not_owner}},
     "session:TerminateSession",
     "session/alice-1",
     C_NO_USER,
     ALLOW,
     "allowed by policy admin, statement Admin"},
    /* IpAddress */
    {"v4 in",
     {{"o4", s_office_v4}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy o4, statement Office"},
    {"v4 out", {{"o4", s_office_v4}}, "session:StartSession", MI, C_ALICE_PROD, IMPLICIT, NONE},
    {"v4-mapped v6 in",
     {{"o4", s_office_v4}},
     "session:StartSession",
     MI,
     C_ALICE_MAPPED,
     ALLOW,
     "allowed by policy o4, statement Office"},
    {"v6 vs v4 net", {{"o4", s_office_v4}}, "session:StartSession", MI, C_BOB_V6, IMPLICIT, NONE},
    {"ip absent", {{"o4", s_office_v4}}, "session:StartSession", MI, C_NULL, IMPLICIT, NONE},
    {"ip unreadable",
     {{"o4", s_office_v4}},
     "session:StartSession",
     MI,
     C_ALICE_BADIP,
     IMPLICIT,
     NONE},
    {"v6 ::1",
     {{"o6", s_office_v6}},
     "session:StartSession",
     MI,
     C_BOB_V6,
     ALLOW,
     "allowed by policy o6, statement V6"},
    {"v6 /32",
     {{"o6", s_office_v6}},
     "session:StartSession",
     MI,
     C_ALICE_STAGING_V6,
     ALLOW,
     "allowed by policy o6, statement V6"},
    {"v6 vs v4 peer",
     {{"o6", s_office_v6}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     IMPLICIT,
     NONE},
    {"/12 in",
     {{"mask", s_mask}},
     "session:StartSession",
     MI,
     C_ALICE_172,
     ALLOW,
     "allowed by policy mask, statement Mask"},
    {"host bits ignored",
     {{"mask", s_mask}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy mask, statement Mask"},
    {"0.0.0.0/0 v4",
     {{"any4", s_any_v4}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     ALLOW,
     "allowed by policy any4, statement AnyV4"},
    {"0.0.0.0/0 not v6",
     {{"any4", s_any_v4}},
     "session:StartSession",
     MI,
     C_BOB_V6,
     IMPLICIT,
     NONE},
    {"::/0 v6",
     {{"any6", s_any_v6}},
     "session:StartSession",
     MI,
     C_ALICE_STAGING_V6,
     ALLOW,
     "allowed by policy any6, statement AnyV6"},
    {"::/0 holds v4 too",
     {{"any6", s_any_v6}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy any6, statement AnyV6"},
    {"StringLike ${username}*",
     {{"tl", s_team_like_user}},
     "iam:TagUser",
     "user/x",
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy tl, statement TeamLike"},
    {"StringLike ${username}* no",
     {{"tl", s_team_like_user}},
     "iam:TagUser",
     "user/x",
     C_ALICE_PROD,
     IMPLICIT,
     NONE},
    {"StringLike without username",
     {{"tl", s_team_like_user}},
     "iam:TagUser",
     "user/x",
     C_NO_USER,
     IMPLICIT,
     NONE},
    {"/12 out", {{"mask", s_mask}}, "session:StartSession", MI, C_ALICE_PROD, IMPLICIT, NONE},
    {"NotIpAddress inside",
     {{"admin", s_allow_all}, {"out", s_outside_office}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy admin, statement Admin"},
    {"NotIpAddress outside",
     {{"admin", s_allow_all}, {"out", s_outside_office}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     DENY,
     "denied by policy out, statement Outside"},
    {"NotIpAddress v6 inside",
     {{"admin", s_allow_all}, {"out", s_outside_office}},
     "session:StartSession",
     MI,
     C_BOB_V6,
     ALLOW,
     "allowed by policy admin, statement Admin"},
    {"NotIpAddress ip absent",
     {{"admin", s_allow_all}, {"out", s_outside_office}},
     "session:StartSession",
     MI,
     C_NULL,
     ALLOW,
     "allowed by policy admin, statement Admin"},
    /* several conditions: AND; several values: OR */
    {"AND both",
     {{"do", s_dev_and_office}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy do, statement DevOffice"},
    {"AND ip fails",
     {{"do", s_dev_and_office}},
     "session:StartSession",
     MI,
     C_ALICE_DEV_HOME,
     IMPLICIT,
     NONE},
    {"OR second value",
     {{"do", s_dev_and_office}},
     "session:StartSession",
     MI,
     C_ALICE_STAGING_OFFICE,
     ALLOW,
     "allowed by policy do, statement DevOffice"},
    {"OR value, AND ip fails",
     {{"do", s_dev_and_office}},
     "session:StartSession",
     MI,
     C_ALICE_STAGING_V6,
     IMPLICIT,
     NONE},
    /* deny wins, in any order; several policies */
    {"deny wins",
     {{"admin", s_allow_all}, {"no-prod", s_no_prod}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     DENY,
     "denied by policy no-prod, statement NoProd"},
    {"deny wins, listed first",
     {{"no-prod", s_no_prod}, {"admin", s_allow_all}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     DENY,
     "denied by policy no-prod, statement NoProd"},
    {"deny does not apply",
     {{"no-prod", s_no_prod}, {"admin", s_allow_all}},
     "session:StartSession",
     MI,
     C_ALICE_DEV,
     ALLOW,
     "allowed by policy admin, statement Admin"},
    {"deny alone",
     {{"no-prod", s_no_prod}},
     "session:StartSession",
     MI,
     C_ALICE_PROD,
     DENY,
     "denied by policy no-prod, statement NoProd"},
    {"deny without Sid",
     {{"m", s_mixed}},
     "session:TerminateSession",
     "session/bob-1",
     C_NULL,
     DENY,
     "denied by policy m, Statement[1]"},
    {"allow beside deny",
     {{"m", s_mixed}},
     "session:TerminateSession",
     "session/alice-1",
     C_NULL,
     ALLOW,
     "allowed by policy m, Statement[0]"},
    {"second policy allows",
     {{"dev-shells", s_dev_shells}, {"own", s_own_sessions}},
     "session:ResumeSession",
     "session/alice-2",
     C_ALICE_PROD,
     ALLOW,
     "allowed by policy own, statement OwnSessions"},
    {"first allow named",
     {{"two", s_two_allows}},
     "session:StartSession",
     MI,
     C_NULL,
     ALLOW,
     "allowed by policy two, statement First"},
    {"second statement",
     {{"two", s_two_allows}},
     "session:DescribeSessions",
     "*",
     C_NULL,
     ALLOW,
     "allowed by policy two, statement Second"},
    {"no policy matches",
     {{"dev-shells", s_dev_shells}, {"own", s_own_sessions}},
     "iam:CreateUser",
     "user/eve",
     C_ALICE_DEV,
     IMPLICIT,
     NONE},
    {"single statement object",
     {{"one", s_single_object}},
     "audit:Verify",
     "*",
     C_NULL,
     ALLOW,
     "allowed by policy one, Statement[0]"},
};

/*  The test's JSON with ' turned into ". */
static char *s_json (const char *text)
{
    char *s = strdup (text);
    for (char *c = s; *c; c++)
        if (*c == '\'')
            *c = '"';
    return s;
}

static ph_policy_t *s_parse (const char *name, const char *text, char *err, size_t errlen)
{
    char *json = s_json (text);
    ph_policy_t *p = ph_policy_parse (name, json, strlen (json), err, errlen);
    free (json);
    return p;
}

static void s_test_decision_table (void)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const s_case_t *c = &s_cases[i];
        ph_policy_t *pols[3] = {NULL};
        size_t n = 0;
        char err[PH_POLICY_ERR_MAX], why[PH_POLICY_WHY_MAX];
        for (; n < 3 && c->docs[n].name; n++) {
            pols[n] = s_parse (c->docs[n].name, c->docs[n].json, err, sizeof err);
            if (!pols[n])
                fprintf (stderr, "row \"%s\": %s\n", c->row, err);
            CHECK (pols[n]);
        }
        const ph_policy_request_t *req = c->ctx == C_NULL ? NULL : &s_ctx[c->ctx];
        ph_policy_decision_t d =
            ph_policy_evaluate (pols, n, c->action, c->resource, req, why, sizeof why);
        if (d != c->expect || strcmp (why, c->why) != 0)
            fprintf (stderr, "row \"%s\": got %s (%s)\n", c->row, ph_policy_decision_name (d), why);
        CHECK (d == c->expect);
        CHECK_STR (why, c->why);
        for (size_t j = 0; j < n; j++)
            ph_policy_destroy (&pols[j]);
    }
}

static void s_test_result_struct (void)
{
    char err[PH_POLICY_ERR_MAX];
    ph_policy_t *pols[2] = {s_parse ("admin", s_allow_all, err, sizeof err),
                            s_parse ("m", s_mixed, err, sizeof err)};
    CHECK (pols[0] && pols[1]);
    CHECK_STR (ph_policy_name (pols[1]), "m");
    CHECK (ph_policy_statement_count (pols[1]) == 2);
    ph_policy_result_t r;
    CHECK (ph_policy_evaluate_result (pols, 2, "session:TerminateSession", "session/bob-x", NULL,
                                      &r) == PH_POLICY_EXPLICIT_DENY);
    CHECK_STR (r.policy, "m");
    CHECK (r.sid == NULL && r.statement == 1);
    CHECK (ph_policy_evaluate_result (pols, 1, "audit:Verify", "*", NULL, &r) == PH_POLICY_ALLOW);
    CHECK_STR (r.sid, "Admin");
    CHECK (ph_policy_evaluate_result (pols, 0, "audit:Verify", "*", NULL, &r) ==
           PH_POLICY_IMPLICIT_DENY);
    CHECK (r.policy == NULL && r.sid == NULL);
    /* a NULL why buffer, and one too small for the text */
    CHECK (ph_policy_evaluate (pols, 2, "audit:Verify", "*", NULL, NULL, 0) == PH_POLICY_ALLOW);
    char tiny[8];
    ph_policy_evaluate (pols, 2, "audit:Verify", "*", NULL, tiny, sizeof tiny);
    CHECK_STR (tiny, "allowed");
    CHECK_STR (ph_policy_decision_name (PH_POLICY_ALLOW), "allowed");
    CHECK_STR (ph_policy_decision_name (PH_POLICY_IMPLICIT_DENY), "implicitDeny");
    CHECK_STR (ph_policy_decision_name (PH_POLICY_EXPLICIT_DENY), "explicitDeny");
    ph_policy_destroy (&pols[0]);
    ph_policy_destroy (&pols[1]);
    CHECK (pols[0] == NULL);
    ph_policy_destroy (&pols[0]);
    ph_policy_destroy (NULL);
}

/* ---------------------------------------------------------------- errors */

typedef struct {
    const char *json;
    const char *expect; /* the whole message, or a prefix of it when it ends with "..." */
} s_error_case_t;

static const s_error_case_t s_errors[] = {
    /* the examples of the issue */
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*'},"
          "{'Effect':'Allow','Action':['sesion:StartSession'],'Resource':'*'}"),
     "Statement[1].Action[0]: unknown action \"sesion:StartSession\" (did you mean "
     "session:StartSession?)"},
    {"{\n  'Version': '2026-11-01',\n  'Statement': [{'Effect': 'Allow',,}]\n}",
     "line 3, column 36: JSON: string or '}' expected near ','"},
    /* JSON */
    {"", "line 1, column 0: JSON: ..."},
    {"{'Version':'2026-11-01','Version':'2026-11-01'}",
     "line 1, column ...duplicate object key..."},
    {"{'Version':'2026-11-01','Statement':[]} x", "line 1, column ...end of file expected..."},
    {"{'Version':'a\\u0000b'}", "line 1, column ...NUL..."},
    {"{'Version':'a\\\n",
     "line 2, column 0: JSON: invalid escape near '\"a\\?'"}, /* a newline in the token */
    /* document */
    {"[]", "document: must be a JSON object: {\"Version\": \"2026-11-01\", \"Statement\": [...]}"},
    {"{'Version':'2026-11-01','Statement':[],'Foo':1}",
     "document: unknown key \"Foo\" (allowed: Version, Id, Statement)"},
    {"{'version':'2026-11-01'}", "document: unknown key \"version\" (did you mean Version?)"},
    {"{'Statement':[]}", "Version: missing; add \"Version\": \"2026-11-01\""},
    {"{'Version':'2012-10-17','Statement':[]}",
     "Version: \"2012-10-17\" is not supported; use \"2026-11-01\""},
    {"{'Version':20261101,'Statement':[]}", "Version: must be the string \"2026-11-01\""},
    {"{'Version':'2026-11-01','Id':5,'Statement':[]}", "Id: must be a string..."},
    {"{'Version':'2026-11-01'}", "Statement: missing; add..."},
    {"{'Version':'2026-11-01','Statement':[]}",
     "Statement: is empty; a policy needs at least one statement"},
    {"{'Version':'2026-11-01','Statement':'Allow'}",
     "Statement: must be a list of statements (or one statement object)"},
    {DOC ("'Allow'"), "Statement[0]: must be an object with Effect, Action and Resource"},
    /* statement keys, Sid, Effect */
    {DOC ("{'Effect':'Allow','Actions':'*','Resource':'*'}"),
     "Statement[0]: unknown key \"Actions\" (did you mean Action?)"},
    {DOC ("{'Effect':'Allow','Foo':'*','Action':'*','Resource':'*'}"),
     "Statement[0]: unknown key \"Foo\" (allowed: Sid, Effect, Action, Resource, Condition)"},
    {DOC ("{'Effect':'Allow','Principal':'*','Action':'*','Resource':'*'}"),
     "Statement[0]: Principal is not supported in porthole policies (a policy applies to the "
     "users it is attached to)"},
    {DOC ("{'Efect':'Allow','Action':'*','Resource':'*'}"),
     "Statement[0]: unknown key \"Efect\" (did you mean Effect?)"},
    {DOC ("{'NotAction':'iam:*','Effect':'Allow','Resource':'*'}"),
     "Statement[0]: NotAction is not supported in porthole policies (list the actions in "
     "Action, or deny the others in a Deny statement)"},
    {DOC ("{'Sid':'a b','Effect':'Allow','Action':'*','Resource':'*'}"),
     "Statement[0].Sid: \"a b\" must be 1..128 characters of A-Z a-z 0-9 _ . -"},
    {DOC ("{'Sid':'','Effect':'Allow','Action':'*','Resource':'*'}"), "Statement[0].Sid: \"\" ..."},
    {DOC ("{'Sid':7,'Effect':'Allow','Action':'*','Resource':'*'}"),
     "Statement[0].Sid: must be a string"},
    {DOC ("{'Sid':'A','Effect':'Allow','Action':'*','Resource':'*'},"
          "{'Sid':'A','Effect':'Deny','Action':'*','Resource':'*'}"),
     "Statement[1].Sid: \"A\" is already the Sid of Statement[0]; Sids must be unique"},
    {DOC ("{'Action':'*','Resource':'*'}"),
     "Statement[0].Effect: missing; add \"Effect\": \"Allow\" or \"Effect\": \"Deny\""},
    {DOC ("{'Effect':'allow','Action':'*','Resource':'*'}"),
     "Statement[0].Effect: \"allow\" is neither \"Allow\" nor \"Deny\" (the words are "
     "case-sensitive)"},
    {DOC ("{'Effect':true,'Action':'*','Resource':'*'}"),
     "Statement[0].Effect: must be the string \"Allow\" or \"Deny\""},
    /* Action */
    {DOC ("{'Effect':'Allow','Resource':'*'}"),
     "Statement[0].Action: missing; add \"Action\": [\"session:StartSession\", ...]"},
    {DOC ("{'Effect':'Allow','Action':[],'Resource':'*'}"),
     "Statement[0].Action: is an empty list; give at least one entry"},
    {DOC ("{'Effect':'Allow','Action':5,'Resource':'*'}"),
     "Statement[0].Action: must be a string or a list of strings"},
    {DOC ("{'Effect':'Allow','Action':['*',{}],'Resource':'*'}"),
     "Statement[0].Action[1]: must be a string"},
    {DOC ("{'Effect':'Allow','Action':'sesion:StartSession','Resource':'*'}"),
     "Statement[0].Action: unknown action \"sesion:StartSession\" (did you mean "
     "session:StartSession?)"},
    {DOC ("{'Effect':'Allow','Action':'sesion:*','Resource':'*'}"),
     "Statement[0].Action: unknown action \"sesion:*\" (did you mean session:*?)"},
    {DOC ("{'Effect':'Allow','Action':'iam:ListUser','Resource':'*'}"),
     "Statement[0].Action: unknown action \"iam:ListUser\" (did you mean iam:ListUsers?)"},
    {DOC ("{'Effect':'Allow','Action':'session:Foo*','Resource':'*'}"),
     "Statement[0].Action: unknown action \"session:Foo*\" (did you mean session:*?)"},
    {DOC ("{'Effect':'Allow','Action':'session:Frobnicate*','Resource':'*'}"),
     "Statement[0].Action: \"session:Frobnicate*\" matches no known action (services: session, "
     "instance, activation, preferences, logs, metrics, alarms, topics, iam, audit)"},
    {DOC ("{'Effect':'Allow','Action':'s3:GetObject','Resource':'*'}"),
     "Statement[0].Action: unknown action \"s3:GetObject\" (actions are SERVICE:Verb, e.g. "
     "session:StartSession; services: ..."},
    {DOC ("{'Effect':'Allow','Action':'','Resource':'*'}"),
     "Statement[0].Action: unknown action \"\" ..."},
    {DOC ("{'Effect':'Allow','Action':'ses\\nsion','Resource':'*'}"),
     "Statement[0].Action: unknown action \"ses\\x0asion\" ..."},
    /* Resource */
    {DOC ("{'Effect':'Allow','Action':'*'}"), "Statement[0].Resource: missing; add..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':['*','instanc/mi-*']}"),
     "Statement[0].Resource[1]: \"instanc/mi-*\" is not a resource (did you mean instance/mi-*?)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'bucket/x'}"),
     "Statement[0].Resource: \"bucket/x\" is not a resource (use *, or TYPE/NAME with TYPE one "
     "of instance, session, loggroup, alarm, topic, user, policy, e.g. instance/mi-*)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'instances'}"),
     "Statement[0].Resource: \"instances\" is not a resource (did you mean instance/*?)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'instance/'}"),
     "Statement[0].Resource: \"instance/\" has no NAME after the TYPE/; write instance/* for "
     "every one"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'**'}"), "Statement[0].Resource: \"**\" ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'session/${user}-*'}"),
     "Statement[0].Resource: unknown variable in \"session/${user}-*\" (the variable is "
     "${username}; ${*}, ${?} and ${$} stand for the characters *, ? and $)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'session/${username'}"),
     "Statement[0].Resource: \"session/${username\" has \"${\" without a closing \"}\"; ..."},
    /* Condition */
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':{}}"),
     "Statement[0].Condition: must be an object of operators, e.g. ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEqual':{'session:Owner':'a'}}}"),
     "Statement[0].Condition: unknown operator \"StringEqual\" (did you mean StringEquals?)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'NumericEquals':{'session:Owner':'a'}}}"),
     "Statement[0].Condition: unknown operator \"NumericEquals\" (operators: StringEquals, "
     "StringNotEquals, StringLike, IpAddress, NotIpAddress)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':{'StringLike':'a'}}"),
     "Statement[0].Condition.StringLike: must be an object of condition keys, e.g. ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':{'StringLike':{}}}"),
     "Statement[0].Condition.StringLike: must be an object of condition keys, e.g. ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'aws:SourceIp':'a'}}}"),
     "Statement[0].Condition.StringEquals: unknown condition key \"aws:SourceIp\" (keys: "
     "instance:ResourceTag/KEY, user:Tag/KEY, session:Owner, source:Ip)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'instance:ResourceTag/':'a'}}}"),
     "Statement[0].Condition.StringEquals: \"instance:ResourceTag/\": the tag key must be "
     "1..128 characters of A-Z a-z 0-9 _ . : / + - @"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'user:Tag/a b':'a'}}}"),
     "Statement[0].Condition.StringEquals: \"user:Tag/a b\": the tag key must be ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'IpAddress':{'instance:ResourceTag/env':'dev'}}}"),
     "Statement[0].Condition.IpAddress: IpAddress applies to source:Ip only, not to "
     "\"instance:ResourceTag/env\""},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'source:Ip':'10.0.0.1'}}}"),
     "Statement[0].Condition.StringEquals: source:Ip takes IpAddress or NotIpAddress, not "
     "StringEquals"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'IpAddress':{'source:Ip':['10.0.0.0/8','10.0.0.0/33']}}}"),
     "Statement[0].Condition.IpAddress[\"source:Ip\"][1]: \"10.0.0.0/33\" is not an IPv4 or "
     "IPv6 address or CIDR block (e.g. 10.0.0.0/8, ::1/128)"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'IpAddress':{'source:Ip':'10.0.0.300'}}}"),
     "Statement[0].Condition.IpAddress[\"source:Ip\"]: \"10.0.0.300\" is not ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'NotIpAddress':{'source:Ip':'::1/129'}}}"),
     "Statement[0].Condition.NotIpAddress[\"source:Ip\"]: \"::1/129\" is not ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'IpAddress':{'source:Ip':'10.0.0.0/'}}}"),
     "Statement[0].Condition.IpAddress[\"source:Ip\"]: \"10.0.0.0/\" is not ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'IpAddress':{'source:Ip':'10.0.0.0/+8'}}}"),
     "Statement[0].Condition.IpAddress[\"source:Ip\"]: \"10.0.0.0/+8\" is not ..."},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'session:Owner':[]}}}"),
     "Statement[0].Condition.StringEquals[\"session:Owner\"]: is an empty list; give at least "
     "one entry"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'session:Owner':true}}}"),
     "Statement[0].Condition.StringEquals[\"session:Owner\"]: must be a string or a list of "
     "strings"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'session:Owner':['a',1]}}}"),
     "Statement[0].Condition.StringEquals[\"session:Owner\"][1]: must be a string"},
    {DOC ("{'Effect':'Allow','Action':'*','Resource':'*','Condition':"
          "{'StringEquals':{'session:Owner':'${name}'}}}"),
     "Statement[0].Condition.StringEquals[\"session:Owner\"]: unknown variable in "
     "\"${name}\" ..."},
};

static bool s_message_matches (const char *got, const char *expect)
{
    size_t n = strlen (expect);
    if (n < 3 || strcmp (expect + n - 3, "...") != 0)
        return strcmp (got, expect) == 0;
    /* "a...b...": every piece in order */
    char *copy = strdup (expect);
    const char *at = got;
    bool ok = true, first = true;
    for (char *piece = copy, *end; ok && piece && *piece; piece = end, first = false) {
        end = strstr (piece, "...");
        if (end) {
            *end = 0;
            end += 3;
        }
        const char *hit = strstr (at, piece);
        ok = hit && (!first || hit == got);
        if (ok)
            at = hit + strlen (piece);
    }
    free (copy);
    return ok;
}

static void s_test_error_table (void)
{
    for (size_t i = 0; i < sizeof s_errors / sizeof s_errors[0]; i++) {
        char err[PH_POLICY_ERR_MAX] = "";
        ph_policy_t *p = s_parse ("p", s_errors[i].json, err, sizeof err);
        CHECK (p == NULL);
        ph_policy_destroy (&p);
        if (!s_message_matches (err, s_errors[i].expect))
            fprintf (stderr, "error row %zu:\n  got    %s\n  wanted %s\n", i, err,
                     s_errors[i].expect);
        CHECK (s_message_matches (err, s_errors[i].expect));
        CHECK (strchr (err, '\n') == NULL);
    }
}

/*  Errors that need generated documents: sizes and counts at the limits. */
static void s_test_limits (void)
{
    char err[PH_POLICY_ERR_MAX];
    size_t cap = 2 * PH_POLICY_DOC_MAX;
    char *doc = malloc (cap);

    /* PH_POLICY_STATEMENTS_MAX statements parse, one more does not */
    for (int extra = 0; extra < 2; extra++) {
        size_t o = (size_t)snprintf (doc, cap, "{'Version':'2026-11-01','Statement':[");
        for (int i = 0; i < PH_POLICY_STATEMENTS_MAX + extra; i++)
            o += (size_t)snprintf (
                doc + o, cap - o, "%s{'Effect':'Allow','Action':'*','Resource':'*'}", i ? "," : "");
        snprintf (doc + o, cap - o, "]}");
        ph_policy_t *p = s_parse ("p", doc, err, sizeof err);
        CHECK (extra ? p == NULL : p != NULL);
        if (extra)
            CHECK_STR (err, "Statement: has 101 statements; the limit is 100");
        ph_policy_destroy (&p);
    }
    /* PH_POLICY_LIST_MAX actions */
    size_t o = (size_t)snprintf (doc, cap, DOC ("{'Effect':'Allow','Resource':'*','Action':["));
    o -= 2; /* drop the "]}" of DOC */
    for (int i = 0; i <= PH_POLICY_LIST_MAX; i++)
        o += (size_t)snprintf (doc + o, cap - o, "%s'*'", i ? "," : "");
    snprintf (doc + o, cap - o, "]}]}");
    CHECK (s_parse ("p", doc, err, sizeof err) == NULL);
    CHECK_STR (err, "Statement[0].Action: has 101 entries; the limit is 100");

    /* PH_POLICY_CONDITIONS_MAX condition keys */
    o = (size_t)snprintf (doc, cap,
                          "{'Version':'2026-11-01','Statement':[{'Effect':'Allow','Action':'*',"
                          "'Resource':'*','Condition':{'StringEquals':{");
    for (int i = 0; i <= PH_POLICY_CONDITIONS_MAX; i++)
        o += (size_t)snprintf (doc + o, cap - o, "%s'user:Tag/k%d':'v'", i ? "," : "", i);
    snprintf (doc + o, cap - o, "}}}]}");
    CHECK (s_parse ("p", doc, err, sizeof err) == NULL);
    CHECK_STR (err, "Statement[0].Condition: has 21 condition keys; the limit is 20");

    /* PH_POLICY_STRING_MAX */
    o = (size_t)snprintf (doc, cap,
                          "{'Version':'2026-11-01','Statement':[{'Effect':'Allow',"
                          "'Action':'*','Resource':'instance/");
    memset (doc + o, 'a', PH_POLICY_STRING_MAX);
    o += PH_POLICY_STRING_MAX - strlen ("instance/") + 1;
    snprintf (doc + o, cap - o, "'}]}");
    CHECK (s_parse ("p", doc, err, sizeof err) == NULL);
    CHECK_STR (err, "Statement[0].Resource: is 1025 bytes long; the limit is 1024");

    /* PH_POLICY_DOC_MAX, whatever the content */
    memset (doc, ' ', PH_POLICY_DOC_MAX + 1);
    CHECK (ph_policy_parse ("p", doc, PH_POLICY_DOC_MAX + 1, err, sizeof err) == NULL);
    CHECK_STR (err, "document: is 65537 bytes; the limit is 65536");
    free (doc);
}

static void s_test_parse_edges (void)
{
    char err[PH_POLICY_ERR_MAX];
    char *json = s_json (s_allow_all);
    CHECK (ph_policy_parse ("a b", json, strlen (json), err, sizeof err) == NULL);
    CHECK_STR (err, "policy name: \"a b\" must be 1..64 characters of A-Z a-z 0-9 _ . @ -");
    CHECK (ph_policy_parse (NULL, json, strlen (json), err, sizeof err) == NULL);
    CHECK (ph_policy_parse ("p", json, strlen (json) - 1, NULL, 0) == NULL); /* err optional */
    /* not NUL-terminated: only len bytes count */
    char *copy = malloc (strlen (json));
    memcpy (copy, json, strlen (json));
    ph_policy_t *p = ph_policy_parse ("p", copy, strlen (json), err, sizeof err);
    CHECK (p != NULL);
    ph_policy_destroy (&p);
    free (copy);
    /* a tiny err buffer is cut, not overrun */
    char tiny[10];
    CHECK (ph_policy_parse ("p", "[]", 2, tiny, sizeof tiny) == NULL);
    CHECK_STR (tiny, "document:");
    /* an Id is accepted; a long user string is quoted and cut */
    char *ok = s_json ("{'Id':'x','Version':'2026-11-01','Statement':[{'Effect':'Deny',"
                       "'Action':'*','Resource':'*'}]}");
    p = ph_policy_parse ("p", ok, strlen (ok), err, sizeof err);
    CHECK (p != NULL);
    ph_policy_destroy (&p);
    free (ok);
    char long_action[600];
    memset (long_action, 'x', sizeof long_action);
    long_action[sizeof long_action - 1] = 0;
    char doc[1024];
    snprintf (doc, sizeof doc, DOC ("{'Effect':'Allow','Action':'%s','Resource':'*'}"),
              long_action);
    CHECK (s_parse ("p", doc, err, sizeof err) == NULL);
    CHECK (strlen (err) < 300 && strstr (err, "...\" (actions are") != NULL);
    free (json);
}

/* ---------------------------------------------------------------- actions, matcher */

static void s_test_actions (void)
{
    size_t n = ph_policy_action_count ();
    CHECK (n == 50);
    CHECK (ph_policy_action_name (n) == NULL);
    char err[PH_POLICY_ERR_MAX], doc[256];
    for (size_t i = 0; i < n; i++) {
        const char *a = ph_policy_action_name (i);
        CHECK (a && ph_policy_action_known (a));
        const char *colon = strchr (a, ':');
        CHECK (colon && colon > a && colon[1]);
        for (size_t j = 0; j < i; j++)
            CHECK (strcasecmp (a, ph_policy_action_name (j)) != 0);
        /* every service has its SERVICE:* suggestion */
        char service[64];
        snprintf (service, sizeof service, "x%.*s:*", (int)(colon - a), a);
        const char *s = ph_policy_action_suggest (service);
        CHECK (s && strcmp (s, service + 1) == 0);
        /* the error for an unknown action lists every service */
        CHECK (s_parse ("p", DOC ("{'Effect':'Allow','Action':'s3:Get','Resource':'*'}"), err,
                        sizeof err) == NULL);
        const char *services = strstr (err, "services: ");
        char comma[64], paren[64];
        snprintf (comma, sizeof comma, " %.*s,", (int)(colon - a), a);
        snprintf (paren, sizeof paren, " %.*s)", (int)(colon - a), a);
        CHECK (services && (strstr (services, comma) || strstr (services, paren)));
        /* every action is usable in a policy */
        snprintf (doc, sizeof doc, DOC ("{'Effect':'Allow','Action':'%s','Resource':'*'}"), a);
        ph_policy_t *p = s_parse ("p", doc, err, sizeof err);
        CHECK (p != NULL);
        ph_policy_destroy (&p);
    }
    CHECK (ph_policy_action_known ("session:StartSession"));
    CHECK (ph_policy_action_known ("SESSION:STARTSESSION"));
    CHECK (!ph_policy_action_known ("session:*"));
    CHECK (!ph_policy_action_known ("session:Start"));
    CHECK (!ph_policy_action_known (""));
    CHECK (!ph_policy_action_known (NULL));
    CHECK_STR (ph_policy_action_suggest ("session:StartSesion"), "session:StartSession");
    CHECK (ph_policy_action_suggest ("completely-different") == NULL);
    CHECK (ph_policy_action_suggest (NULL) == NULL);
}

static void s_test_wildcards (void)
{
    CHECK (ph_policy_wildcard_match ("*", "", NULL, false));
    CHECK (ph_policy_wildcard_match ("*", "a/b/c", NULL, false));
    CHECK (ph_policy_wildcard_match ("a*", "a", NULL, false));
    CHECK (ph_policy_wildcard_match ("*a", "bba", NULL, false));
    CHECK (!ph_policy_wildcard_match ("*a", "ab", NULL, false));
    CHECK (ph_policy_wildcard_match ("a*b*c", "axxbyyc", NULL, false));
    CHECK (ph_policy_wildcard_match ("a*b*c", "abcbc", NULL, false));
    CHECK (!ph_policy_wildcard_match ("a*b*c", "acb", NULL, false));
    CHECK (ph_policy_wildcard_match ("??", "\xc3\xa9x", NULL, false)); /* ? is one character */
    CHECK (!ph_policy_wildcard_match ("?", "", NULL, false));
    CHECK (ph_policy_wildcard_match ("A*", "abc", NULL, true));
    CHECK (!ph_policy_wildcard_match ("A*", "abc", NULL, false));
    CHECK (ph_policy_wildcard_match ("u/${username}", "u/bob", "bob", false));
    CHECK (!ph_policy_wildcard_match ("u/${username}", "u/bob", NULL, false));
    CHECK (!ph_policy_wildcard_match ("u/${username}", "u/bobby", "bob", false));
    CHECK (ph_policy_wildcard_match ("u/${username}*", "u/bobby", "bob", false));
    CHECK (ph_policy_wildcard_match ("${$}{x}", "${x}", NULL, false));
    CHECK (ph_policy_wildcard_match ("a${?}", "a?", NULL, false));
    CHECK (!ph_policy_wildcard_match ("a${?}", "ab", NULL, false));
    CHECK (ph_policy_wildcard_match ("${other}", "${other}", NULL, false));
    CHECK (!ph_policy_wildcard_match (NULL, "a", NULL, false));
    CHECK (!ph_policy_wildcard_match ("a", NULL, NULL, false));

    /* no exponential blow-up: 50 stars against 64 KiB fails quickly */
    char pattern[128] = "", *text = malloc (65537);
    for (int i = 0; i < 50; i++)
        strcat (pattern, "*a");
    strcat (pattern, "b");
    memset (text, 'a', 65536);
    text[65536] = 0;
    clock_t t0 = clock ();
    CHECK (!ph_policy_wildcard_match (pattern, text, NULL, false));
    CHECK ((double)(clock () - t0) / CLOCKS_PER_SEC < 5.0);
    free (text);
}

int main (void)
{
    s_test_decision_table ();
    s_test_result_struct ();
    s_test_error_table ();
    s_test_limits ();
    s_test_parse_edges ();
    s_test_actions ();
    s_test_wildcards ();
    PH_TEST_END ();
}
