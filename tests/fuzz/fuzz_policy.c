/*  libFuzzer target: the policy parser and evaluator (common/ph_policy_*.c).
 *  Policy documents come from admins through the API, so the parser must
 *  never crash, leak, read out of bounds or stall, whatever the bytes; and
 *  whatever it accepts must evaluate without trouble against any request.
 *  The input is also used as a wildcard pattern and as a misspelt action,
 *  to reach the matcher and the "did you mean" code directly.
 */
#include "ph_policy.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const ph_policy_kv_t s_tags[] = {{"env", "dev"}, {"role", "web*"}, {"", ""}};

static const ph_policy_request_t s_requests[] = {
    {"alice", "10.1.2.3", s_tags, 3, s_tags, 3, "alice"},
    {"*", "::ffff:10.9.9.9", NULL, 0, s_tags, 1, "bob"},
    {"", "2001:db8::1", s_tags, 1, NULL, 0, ""},
    {NULL, "not an address", NULL, 0, NULL, 0, NULL},
};

static const char *const s_targets[][2] = {
    {"session:StartSession", "instance/mi-0a1b2c3d4e5f60718"},
    {"session:TerminateSession", "session/alice-0a1b2c3d4e5f60718"},
    {"logs:GetLogEvents", "loggroup/porthole/audit"},
    {"iam:ListUsers", "*"},
};

static void s_evaluate_all (ph_policy_t *policy)
{
    ph_policy_t *const set[2] = {policy, policy};
    char why[PH_POLICY_WHY_MAX];
    for (size_t t = 0; t < sizeof s_targets / sizeof s_targets[0]; t++)
        for (size_t r = 0; r <= sizeof s_requests / sizeof s_requests[0]; r++) {
            const ph_policy_request_t *req = r < 4 ? &s_requests[r] : NULL;
            ph_policy_decision_t d =
                ph_policy_evaluate (set, 2, s_targets[t][0], s_targets[t][1], req, why, sizeof why);
            if (d != PH_POLICY_IMPLICIT_DENY && d != PH_POLICY_ALLOW &&
                d != PH_POLICY_EXPLICIT_DENY)
                __builtin_trap ();
            if (!memchr (why, 0, sizeof why))
                __builtin_trap ();
        }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[PH_POLICY_ERR_MAX];
    ph_policy_t *policy = ph_policy_parse ("fuzz", (const char *)data, size, err, sizeof err);
    if (policy) {
        if (ph_policy_statement_count (policy) == 0)
            __builtin_trap ();
        s_evaluate_all (policy);
        ph_policy_destroy (&policy);
    } else if (!memchr (err, 0, sizeof err) || strchr (err, '\n'))
        __builtin_trap (); /* errors are one terminated line */

    /* the same bytes as a pattern and as a misspelling */
    if (size > 4096)
        return 0;
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text[size] = 0;
    ph_policy_wildcard_match (text, "instance/mi-0a1b2c3d4e5f60718", "alice", false);
    ph_policy_wildcard_match (text, "session:StartSession", NULL, true);
    ph_policy_wildcard_match ("*a*?*${username}*", text, "a", false);
    ph_policy_action_suggest (text);
    free (text);
    return 0;
}
