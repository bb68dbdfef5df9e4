/*  cli_help_iam: the --help texts of the `porthole iam` and `porthole
 *  audit` verbs (see cli_help.h); keep them in step with the option tables
 *  of cli_iam.c and cli_audit.c. */
#include "cli_help.h"

#include <stddef.h>
#include <string.h>

#define GLOBALS                                                                                    \
    "\nGlobal options (before or after the command):\n"                                            \
    "  --profile NAME     profile to use (default: $PORTHOLE_PROFILE, else \"default\")\n"         \
    "  --output FORMAT    json, table or text (default: $PORTHOLE_OUTPUT, else json)\n"            \
    "  --timeout SECONDS  how long to wait for the controller's answer (default 10)\n"             \
    "  --help             show this help\n"

#define EXIT_API                                                                                   \
    "\nExit status:\n"                                                                             \
    "  0   success\n"                                                                              \
    "  64  bad options (the message says which)\n"                                                 \
    "  65  no endpoint, server key or key file: run porthole configure\n"                          \
    "  69  no answer from the controller within --timeout\n"                                       \
    "  70  the controller refused the request (its reason is on stderr)\n"                         \
    "  77  access denied (key not registered, or not allowed)\n"

#define SILENT "\nOutput: nothing on success (as aws iam).\n"

static const char s_create_user[] =
    "Usage: porthole iam create-user NAME [--tags k=v,...]\n"
    "\n"
    "Creates the user NAME with no key and no permission. Then register their key\n"
    "(iam add-user-key) and give them permissions (iam attach-user-policy).\n"
    "\n"
    "Options:\n"
    "  NAME, --user-name NAME  1..64 letters, digits and _.@-\n"
    "  --tags k=v,...          tags, for policy conditions (user:Tag/KEY) and RunAs=UNIXNAME:\n"
    "                          the OS account of the user's sessions when run-as is enabled\n"
    "                          (porthole update-preferences --run-as-enabled true); never root\n"
    "\n"
    "Output: json {\"User\": {\"UserName\", \"CreateDate\", \"Tags\", \"PublicKeys\",\n"
    "\"AttachedPolicies\", \"Admin\"}}; table/text: those fields.\n"
    "\n"
    "Example:\n"
    "  porthole iam create-user alice --tags team=web,RunAs=alice\n" GLOBALS EXIT_API;

static const char s_delete_user[] =
    "Usage: porthole iam delete-user NAME\n"
    "\n"
    "Deletes the user NAME with their keys, tags and policy attachments. Their keys\n"
    "are refused from the next request on, also on connections already open. The\n"
    "bootstrap admin cannot be deleted.\n"
    "\n"
    "Options:\n"
    "  NAME, --user-name NAME  the user\n" SILENT "\nExample:\n"
    "  porthole iam delete-user bob\n" GLOBALS EXIT_API;

static const char s_list_users[] =
    "Usage: porthole iam list-users\n"
    "\n"
    "Lists the users with their keys, tags and attached policies.\n"
    "\n"
    "Output: json {\"Users\": [{\"UserName\", \"CreateDate\", \"Tags\": [{\"Key\", \"Value\"}],\n"
    "\"PublicKeys\": [...], \"AttachedPolicies\": [...], \"Admin\"}]}; table: one row per user;\n"
    "text: UserName Admin CreateDate Tags AttachedPolicies PublicKeys, tab-separated.\n"
    "\n"
    "Example:\n"
    "  porthole iam list-users --output table\n" GLOBALS EXIT_API;

static const char s_add_user_key[] =
    "Usage: porthole iam add-user-key --user NAME --public-key KEY\n"
    "\n"
    "Registers KEY as one of the user's CURVE public keys: the user runs porthole\n"
    "configure, which prints the key as its last line, and sends it to you. A key\n"
    "that belongs to anyone (or any machine) already is refused.\n"
    "\n"
    "Options:\n"
    "  --user NAME        the user\n"
    "  --public-key KEY   40 Z85 characters\n" SILENT "\nExample:\n"
    "  porthole iam add-user-key --user alice --public-key "
    "'Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID'\n" GLOBALS EXIT_API;

static const char s_remove_user_key[] =
    "Usage: porthole iam remove-user-key --user NAME --public-key KEY\n"
    "\n"
    "Revokes one of the user's keys. The next request made with it is refused, also\n"
    "on a connection that is already open, and so is every new session.\n"
    "\n"
    "Options:\n"
    "  --user NAME        the user\n"
    "  --public-key KEY   the key (see porthole iam list-users)\n" SILENT "\nExample:\n"
    "  porthole iam remove-user-key --user alice --public-key "
    "'Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID'\n" GLOBALS EXIT_API;

static const char s_tag_user[] =
    "Usage: porthole iam tag-user --user NAME --tags k=v,...\n"
    "\n"
    "Adds tags to a user, or changes the value of tags they have.\n"
    "\n"
    "Options:\n"
    "  --user NAME      the user\n"
    "  --tags k=v,...   at least one; RunAs=UNIXNAME sets the OS account of the user's\n"
    "                   sessions when run-as is enabled (never root)\n" SILENT "\nExample:\n"
    "  porthole iam tag-user --user alice --tags RunAs=alice,team=web\n" GLOBALS EXIT_API;

static const char s_untag_user[] =
    "Usage: porthole iam untag-user --user NAME --tag-keys KEY[,KEY...]\n"
    "\n"
    "Removes tags from a user; keys the user does not have are ignored.\n"
    "\n"
    "Options:\n"
    "  --user NAME             the user\n"
    "  --tag-keys KEY,KEY...   the keys of the tags to remove\n" SILENT "\nExample:\n"
    "  porthole iam untag-user --user alice --tag-keys RunAs\n" GLOBALS EXIT_API;

static const char s_create_policy[] =
    "Usage: porthole iam create-policy NAME --policy-document file://PATH|JSON\n"
    "\n"
    "Creates a permission policy. The controller checks the document; an error names\n"
    "the place, e.g. Statement[0].Action[1]: unknown action \"sesion:StartSession\".\n"
    "\n"
    "Options:\n"
    "  NAME, --policy-name NAME            1..64 letters, digits and _.@-\n"
    "  --policy-document file://PATH|JSON  the document, from a file or inline (at most\n"
    "                                      64 KiB):\n"
    "    {\"Version\": \"2026-11-01\",\n"
    "     \"Statement\": [{\"Sid\": \"DevShells\", \"Effect\": \"Allow\",\n"
    "                    \"Action\": [\"session:StartSession\"],\n"
    "                    \"Resource\": [\"instance/*\"],\n"
    "                    \"Condition\": {\"StringEquals\": {\"instance:ResourceTag/env\": "
    "\"dev\"}}},\n"
    "                   {\"Sid\": \"OwnSessions\", \"Effect\": \"Allow\",\n"
    "                    \"Action\": [\"session:TerminateSession\", "
    "\"session:ResumeSession\"],\n"
    "                    \"Resource\": [\"session/${username}-*\"]}]}\n"
    "    Effect Allow or Deny (a Deny that applies always wins; nothing allowed is\n"
    "    denied). Actions SERVICE:Verb with * and ? wildcards (session:*, iam:List*).\n"
    "    Resources *, instance/ID, session/ID, user/NAME, policy/NAME, loggroup/NAME ...\n"
    "    with wildcards and ${username}. Conditions StringEquals, StringNotEquals,\n"
    "    StringLike on instance:ResourceTag/KEY, user:Tag/KEY, session:Owner;\n"
    "    IpAddress, NotIpAddress on source:Ip.\n"
    "\n"
    "Output: json {\"Policy\": {\"PolicyName\", \"CreateDate\", \"AttachmentCount\"}}.\n"
    "\n"
    "Example:\n"
    "  porthole iam create-policy dev-shells --policy-document file://dev-shells.json\n" GLOBALS
        EXIT_API;

static const char s_delete_policy[] =
    "Usage: porthole iam delete-policy NAME\n"
    "\n"
    "Deletes a policy. A policy attached to a user is refused: detach it first\n"
    "(porthole iam detach-user-policy).\n"
    "\n"
    "Options:\n"
    "  NAME, --policy-name NAME   the policy\n" SILENT "\nExample:\n"
    "  porthole iam delete-policy dev-shells\n" GLOBALS EXIT_API;

static const char s_get_policy[] =
    "Usage: porthole iam get-policy NAME\n"
    "\n"
    "Shows a policy and its document.\n"
    "\n"
    "Options:\n"
    "  NAME, --policy-name NAME   the policy\n"
    "\n"
    "Output: json {\"Policy\": {\"PolicyName\", \"CreateDate\", \"AttachmentCount\",\n"
    "\"PolicyDocument\": {the document}}}; table/text: those fields, the document as\n"
    "compact JSON.\n"
    "\n"
    "Example:\n"
    "  porthole iam get-policy dev-shells\n" GLOBALS EXIT_API;

static const char s_list_policies[] =
    "Usage: porthole iam list-policies\n"
    "\n"
    "Lists the policies and how many users each is attached to.\n"
    "\n"
    "Output: json {\"Policies\": [{\"PolicyName\", \"CreateDate\", \"AttachmentCount\"}]};\n"
    "table: one row per policy; text: PolicyName AttachmentCount CreateDate.\n"
    "\n"
    "Example:\n"
    "  porthole iam list-policies --output table\n" GLOBALS EXIT_API;

static const char s_attach_user_policy[] =
    "Usage: porthole iam attach-user-policy --user NAME --policy-name POLICY\n"
    "\n"
    "Gives the user the permissions of the policy, from their next request on.\n"
    "\n"
    "Options:\n"
    "  --user NAME            the user\n"
    "  --policy-name POLICY   the policy (see porthole iam list-policies)\n" SILENT "\nExample:\n"
    "  porthole iam attach-user-policy --user alice --policy-name dev-shells\n" GLOBALS EXIT_API;

static const char s_detach_user_policy[] =
    "Usage: porthole iam detach-user-policy --user NAME --policy-name POLICY\n"
    "\n"
    "Takes the policy's permissions away from the user, from their next request on.\n"
    "\n"
    "Options:\n"
    "  --user NAME            the user\n"
    "  --policy-name POLICY   the policy\n" SILENT "\nExample:\n"
    "  porthole iam detach-user-policy --user alice --policy-name dev-shells\n" GLOBALS EXIT_API;

static const char s_simulate[] =
    "Usage: porthole iam simulate-principal-policy --user NAME --action ACTION\n"
    "           --resource RESOURCE [--source-ip IP]\n"
    "\n"
    "Asks the controller what it would decide if the user asked for ACTION on\n"
    "RESOURCE, with the user's policies as they are now, and which statement decides.\n"
    "An instance resource is evaluated with that instance's tags.\n"
    "\n"
    "Options:\n"
    "  --user NAME          the user\n"
    "  --action ACTION      an API action, e.g. session:StartSession\n"
    "  --resource RESOURCE  e.g. instance/mi-0a1b2c3d4e5f60718, session/alice-..., *\n"
    "  --source-ip IP       the caller's address, for IpAddress conditions (default:\n"
    "                       none, so that such conditions do not hold)\n"
    "\n"
    "Output: json {\"EvaluationResults\": [{\"EvalActionName\", \"EvalResourceName\",\n"
    "\"EvalDecision\": allowed|implicitDeny|explicitDeny, \"MatchedStatements\": [\"policy\n"
    "NAME statement SID\"]}]}; text: decision, action, resource, statement:\n"
    "  allowed  session:StartSession  instance/mi-0a1b2c3d4e5f60718  policy dev-shells "
    "statement DevShells\n"
    "\n"
    "Example:\n"
    "  porthole iam simulate-principal-policy --user alice --action session:StartSession \\\n"
    "      --resource instance/mi-0a1b2c3d4e5f60718 --output text\n" GLOBALS EXIT_API;

static const char s_lookup_events[] =
    "Usage: porthole audit lookup-events [--user NAME] [--action ACTION]\n"
    "           [--start-time TIME] [--end-time TIME] [--max-results N] [--next-token T]\n"
    "\n"
    "Lists audit events, newest first: every API call (allowed or denied), enrollment,\n"
    "session start, end, resume and attach.\n"
    "\n"
    "Options:\n"
    "  --user NAME         only events of this user (principal user:NAME)\n"
    "  --action ACTION     only this action (session:StartSession), or a pattern with *\n"
    "                      (session:*)\n"
    "  --start-time TIME   only events at or after TIME: 2026-11-25T10:00:00Z (ISO 8601;\n"
    "                      without a zone UTC), 2026-11-25, or seconds since the epoch\n"
    "  --end-time TIME     only events at or before TIME\n"
    "  --max-results N     at most N events (1..1000, default 50)\n"
    "  --next-token T      the page after the one that returned T\n"
    "\n"
    "Output: json {\"Events\": [{\"EventId\", \"EventTime\", \"Principal\", \"SourceIPAddress\",\n"
    "\"EventName\", \"Resource\", \"Decision\" (Allow|Deny), \"RequestId\", \"Result\" (Success\n"
    "or an error code)}], \"NextToken\"} (null on the last page); table: one row per\n"
    "event; text: the fields in that order, tab-separated, then NEXTTOKEN<TAB>T.\n"
    "\n"
    "Examples:\n"
    "  porthole audit lookup-events --user bob --output table\n"
    "  porthole audit lookup-events --action 'session:*' --start-time "
    "2026-11-25T10:00:00Z\n" GLOBALS EXIT_API;

static const char s_verify[] =
    "Usage: porthole audit verify [--from EVENT_ID]\n"
    "\n"
    "Asks the controller to walk the audit trail and check its hash chain: each\n"
    "event's SHA-256 against its fields (an edit shows), each event's link to the one\n"
    "before (a deletion or insertion shows), and the last event against the stored\n"
    "head (a deletion at the end shows).\n"
    "\n"
    "Options:\n"
    "  --from EVENT_ID   start at this event (trusting its link to the one before),\n"
    "                    e.g. to check only what was added since the last check;\n"
    "                    default: the first event\n"
    "\n"
    "Output: text/table: \"intact: N events checked\", or \"broken at EVENT_ID: REASON\";\n"
    "json {\"Intact\", \"Checked\", \"BrokenEventId\", \"Reason\"}.\n"
    "\n"
    "Example:\n"
    "  porthole audit verify --output text\n" GLOBALS "\nExit status:\n"
    "  0   the trail is intact\n"
    "  1   the trail is NOT intact: the output names the first broken event\n"
    "  64  bad options      65  not configured (run porthole configure)\n"
    "  69  no answer from the controller within --timeout\n"
    "  70  the controller refused the request (its reason is on stderr)\n"
    "  77  access denied (audit:Verify not allowed)\n";

static const struct {
    const char *verb;
    const char *text;
} s_texts[] = {
    {"iam create-user", s_create_user},
    {"iam delete-user", s_delete_user},
    {"iam list-users", s_list_users},
    {"iam add-user-key", s_add_user_key},
    {"iam remove-user-key", s_remove_user_key},
    {"iam tag-user", s_tag_user},
    {"iam untag-user", s_untag_user},
    {"iam create-policy", s_create_policy},
    {"iam delete-policy", s_delete_policy},
    {"iam get-policy", s_get_policy},
    {"iam list-policies", s_list_policies},
    {"iam attach-user-policy", s_attach_user_policy},
    {"iam detach-user-policy", s_detach_user_policy},
    {"iam simulate-principal-policy", s_simulate},
    {"audit lookup-events", s_lookup_events},
    {"audit verify", s_verify},
};

const char *cli_help_iam_verb (const char *verb)
{
    for (size_t i = 0; i < sizeof s_texts / sizeof s_texts[0]; i++)
        if (strcmp (s_texts[i].verb, verb) == 0)
            return s_texts[i].text;
    return NULL;
}
