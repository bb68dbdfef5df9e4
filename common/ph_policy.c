/*  ph_policy: the catalogue of known actions (every API verb), the "did
 *  you mean" of misspelt names, and the names of decisions; shared by the
 *  parser (ph_policy_parse.c) and the evaluator (ph_policy_eval.c). See
 *  ph_policy.h for the whole module.
 */
#define PH_POLICY_PRIVATE
#include "ph_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define S_SUGGEST_INPUT_MAX 64 /* longer text gets no "did you mean" */
#define S_COUNT(a)          (sizeof (a) / sizeof (a)[0])

/*  Every API verb, one row each: what Action patterns are checked against.
 *  A new API call adds its verb here (and to docs/ when it is documented). */
static const char *const s_actions[] = {
    "session:StartSession",
    "session:TerminateSession",
    "session:ResumeSession",
    "session:DescribeSessions",
    "instance:DescribeInstanceInformation",
    "activation:CreateActivation",
    "preferences:GetPreferences",
    "preferences:UpdatePreferences",
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
    "logs:PutRetentionPolicy",
    "logs:PutMetricFilter",
    "logs:DeleteMetricFilter",
    "logs:DescribeMetricFilters",
    "logs:TestMetricFilter",
    "metrics:GetMetricStatistics",
    "metrics:ListMetrics",
    "alarms:PutMetricAlarm",
    "alarms:DescribeAlarms",
    "alarms:DescribeAlarmHistory",
    "alarms:SetAlarmState",
    "alarms:DeleteAlarms",
    "topics:CreateTopic",
    "topics:DeleteTopic",
    "topics:ListTopics",
    "topics:Subscribe",
    "topics:Unsubscribe",
    "topics:ListSubscriptions",
    "topics:Publish",
    "topics:Watch",
    "iam:CreateUser",
    "iam:DeleteUser",
    "iam:ListUsers",
    "iam:AddUserKey",
    "iam:RemoveUserKey",
    "iam:TagUser",
    "iam:UntagUser",
    "iam:CreatePolicy",
    "iam:DeletePolicy",
    "iam:GetPolicy",
    "iam:ListPolicies",
    "iam:AttachUserPolicy",
    "iam:DetachUserPolicy",
    "iam:SimulatePrincipalPolicy",
    "audit:LookupEvents",
    "audit:Verify",
};
#define S_ACTION_COUNT (sizeof s_actions / sizeof s_actions[0])

/*  SERVICE:* for every service of s_actions (the unit test checks that the
 *  two agree): the candidates of "did you mean" beside the actions. */
static const char *const s_services[] = {
    "session:*", "instance:*", "activation:*", "preferences:*", "logs:*",
    "metrics:*", "alarms:*",   "topics:*",     "iam:*",         "audit:*",
};
#define S_SERVICES_TEXT                                                                            \
    "session, instance, activation, preferences, logs, metrics, alarms, topics, iam, audit"

/*  Levenshtein distance without regard to ASCII case; b is at most
 *  S_SUGGEST_INPUT_MAX bytes. */
static size_t s_distance (const char *a, const char *b)
{
    size_t nb = strlen (b), row[S_SUGGEST_INPUT_MAX + 1], prev[S_SUGGEST_INPUT_MAX + 1];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; a[i - 1]; i++) {
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t cost = tolower ((unsigned char)a[i - 1]) != tolower ((unsigned char)b[j - 1]);
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
        }
        memcpy (prev, row, (nb + 1) * sizeof row[0]);
    }
    return prev[nb];
}

/*  The candidate closest to text when it is close enough to be a typo;
 *  its distance in *dist. */
static const char *s_closest (const char *text, const char *const *cands, size_t n, size_t *dist)
{
    size_t len = strlen (text);
    if (len == 0 || len > S_SUGGEST_INPUT_MAX)
        return NULL;
    size_t limit = len < 4 ? 1 : len < 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t clen = strlen (cands[i]);
        /* the distance is at least the difference in length */
        if (clen > S_SUGGEST_INPUT_MAX || clen + best_d <= len || len + best_d <= clen)
            continue;
        size_t d = s_distance (text, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    if (dist)
        *dist = best_d;
    return best;
}

bool ph_policy_action_known (const char *action)
{
    for (size_t i = 0; action && i < S_ACTION_COUNT; i++)
        if (strcasecmp (action, s_actions[i]) == 0)
            return true;
    return false;
}

size_t ph_policy_action_count (void)
{
    return S_ACTION_COUNT;
}

const char *ph_policy_action_name (size_t i)
{
    return i < S_ACTION_COUNT ? s_actions[i] : NULL;
}

const char *ph_policy_action_suggest (const char *text)
{
    if (!text)
        return NULL;
    size_t da, ds;
    const char *action = s_closest (text, s_actions, S_ACTION_COUNT, &da);
    const char *service = s_closest (text, s_services, S_COUNT (s_services), &ds);
    if (!action || (service && ds < da))
        return service;
    return action;
}

const char *ph_policy_closest_ (const char *text, const char *const *cands, size_t n)
{
    return text ? s_closest (text, cands, n, NULL) : NULL;
}

const char *ph_policy_services_ (void)
{
    return S_SERVICES_TEXT;
}

const char *ph_policy_decision_name (ph_policy_decision_t decision)
{
    switch (decision) {
    case PH_POLICY_ALLOW:
        return "allowed";
    case PH_POLICY_EXPLICIT_DENY:
        return "explicitDeny";
    case PH_POLICY_IMPLICIT_DENY:
        break;
    }
    return "implicitDeny";
}
