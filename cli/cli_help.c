/*  cli_help: see cli_help.h. The texts are the user's documentation of the
 *  CLI; keep them in step with the options that main.c accepts. */
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

#define EXIT_SESSION                                                                               \
    "\nExit status:\n"                                                                             \
    "  N   the remote shell's or command's own exit status (0..255; 128+N after signal N)\n"       \
    "  64  bad options            65  not configured (run porthole configure)\n"                   \
    "  69  controller unreachable 70  the controller refused (reason on stderr)\n"                 \
    "  75  detached (~.): the session goes on; porthole resume-session reattaches\n"               \
    "  76  connection lost for good, or the session ended without an exit status\n"                \
    "  77  access denied\n"                                                                        \
    "  A remote status may equal one of these codes; the message on stderr tells them apart.\n"

#define ESCAPES                                                                                    \
    "\nEscape sequences (typed at the beginning of a line):\n"                                     \
    "  ~.   detach: leave the session running and exit with status 75\n"                           \
    "  ~~   send one '~'\n"                                                                        \
    "  Ctrl-C and every other key go to the remote shell.\n"

static const char s_configure[] =
    "Usage: porthole configure --endpoint tcp://HOST:PORT --server-key KEY [--profile NAME]\n"
    "\n"
    "Writes the profile NAME (default \"default\") to $PORTHOLE_CONFIG_DIR/config\n"
    "(default ~/.config/porthole/config; the directory is made with mode 0700), and\n"
    "makes your CURVE keypair in $PORTHOLE_CONFIG_DIR/NAME.key (mode 0600) unless it\n"
    "exists already. Prints your public key as the last line of stdout: an\n"
    "administrator registers it as your user on the controller.\n"
    "\n"
    "Options:\n"
    "  --endpoint tcp://HOST:PORT  the controller's clients endpoint (port 7611 by default)\n"
    "  --server-key KEY            the controller's public key (40 Z85 characters),\n"
    "                              as printed by porthole-controller keygen\n"
    "  --profile NAME              profile to write (default \"default\")\n"
    "\n"
    "Example:\n"
    "  porthole configure --endpoint tcp://ctl.example.com:7611 --server-key "
    "'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'\n"
    "\n"
    "Exit status:\n"
    "  0   written\n"
    "  64  bad options (bad endpoint or key)\n"
    "  65  the directory, config or key file cannot be written or read\n";

static const char s_create_activation[] =
    "Usage: porthole create-activation [--tags k=v,...] [--registration-limit N]\n"
    "                                  [--expires-in DURATION] [--description TEXT]\n"
    "\n"
    "Creates an activation: an id and a secret code with which up to N machines\n"
    "register (porthole-agent register --activation-id ID --activation-code CODE).\n"
    "\n"
    "Options:\n"
    "  --tags k=v,...            tags given to every instance that registers with it\n"
    "  --registration-limit N    how many machines may register (1..1000, default 1)\n"
    "  --expires-in DURATION     lifetime: 90m, 24h, 7d ... (1m..30d, default 24h)\n"
    "  --description TEXT        free text, at most 256 characters\n"
    "\n"
    "Output: json {\"ActivationId\", \"ActivationCode\", \"ExpirationDate\",\n"
    "\"RegistrationLimit\"}; text: ACTIVATION_ID<TAB>ACTIVATION_CODE.\n"
    "\n"
    "Examples:\n"
    "  porthole create-activation --tags role=web,env=prod --registration-limit 10\n"
    "  read ID CODE < <(porthole create-activation --output text)\n" GLOBALS EXIT_API;

static const char s_describe_instances[] =
    "Usage: porthole describe-instance-information [--filters Key=NAME,Values=V1[,V2...]]...\n"
    "                                  [--max-results N] [--next-token TOKEN] [--no-paginate]\n"
    "\n"
    "Lists the managed instances (registered machines) and whether their agent is\n"
    "connected (PingStatus Online or ConnectionLost), in instance id order.\n"
    "\n"
    "Options:\n"
    "  --filters Key=NAME,Values=V1,V2  keep instances that match; several --filters\n"
    "                          must all match, the values of one filter any. Keys:\n"
    "                          tag:TAGKEY, InstanceIds, PingStatus, PlatformName.\n"
    "                          May be repeated; default: every instance\n"
    "  --max-results N         one page of at most N instances (1..1000) and its\n"
    "                          NextToken, instead of every page\n"
    "  --next-token TOKEN      the page after the one that printed NextToken TOKEN\n"
    "                          (same --filters); one page, like --max-results\n"
    "  --no-paginate           one page of the controller's default size (50) and\n"
    "                          its NextToken\n"
    "\n"
    "By default every page is fetched (pages of 1000) and printed as one list, as\n"
    "aws does; a reply never exceeds the 1 MiB message limit, so a page may hold\n"
    "fewer instances than asked for and still have a NextToken.\n"
    "\n"
    "Output: json {\"InstanceInformationList\": [{\"InstanceId\", \"PingStatus\",\n"
    "\"LastPingDateTime\", \"AgentVersion\", \"PlatformName\", \"ComputerName\",\n"
    "\"IPAddress\", \"Tags\": [{\"Key\", \"Value\"}], \"RegistrationDate\", \"ActivationId\"}]}\n"
    "and, for one page, \"NextToken\" (null on the last page); table: one row per\n"
    "instance; text: those fields tab-separated, tags as k=v,k=v.\n"
    "\n"
    "Examples:\n"
    "  porthole describe-instance-information --output table\n"
    "  porthole describe-instance-information --filters Key=tag:role,Values=web,db\n"
    "  porthole describe-instance-information --filters Key=PingStatus,Values=Online\n"
    "  porthole describe-instance-information --max-results 100\n"
    "  porthole describe-instance-information --max-results 100 --next-token TOKEN\n" GLOBALS
        EXIT_API;

static const char s_start_session[] =
    "Usage: porthole start-session --target INSTANCE_ID [--reason TEXT] [--command CMD]\n"
    "\n"
    "Opens an interactive shell on the instance (a PTY, as the run-as user of the\n"
    "preferences), or with --command runs one command there and exits with its\n"
    "status. The session is recorded and audited.\n"
    "\n"
    "Options:\n"
    "  --target INSTANCE_ID  the instance, mi- and 17 hex digits\n"
    "                        (see porthole describe-instance-information)\n"
    "  --reason TEXT         why: recorded with the session (at most 256 characters)\n"
    "  --command CMD         run CMD with /bin/sh -c instead of a shell: its stdout\n"
    "                        and stderr come to yours, your stdin (unless a terminal)\n"
    "                        goes to it, Ctrl-C/SIGTERM are forwarded as signals\n"
    "\n"
    "Interactive sessions put your terminal in raw mode; it is restored when the\n"
    "session ends. If the connection to the controller breaks, the CLI resumes the\n"
    "session by itself (for up to 60 s) without losing or repeating a byte.\n" ESCAPES
    "\nExamples:\n"
    "  porthole start-session --target mi-0a1b2c3d4e5f60718 --reason 'INC-1234 disk full'\n"
    "  porthole start-session --target mi-0a1b2c3d4e5f60718 --command 'df -h /'\n"
    "  tar c dir | porthole start-session --target mi-0a1b2c3d4e5f60718 --command 'tar x'\n" GLOBALS
        EXIT_SESSION;

static const char s_resume_session[] =
    "Usage: porthole resume-session --session-id ID\n"
    "\n"
    "Reattaches your terminal to an interactive session that is still running, after\n"
    "you detached (~.) or the CLI lost its connection. Output that the session made\n"
    "meanwhile and that no client acknowledged is shown first.\n"
    "\n"
    "Options:\n"
    "  --session-id ID   the session (see porthole describe-sessions --state Active)\n" ESCAPES
    "\nExample:\n"
    "  porthole resume-session --session-id alice-0a1b2c3d4e5f60718\n" GLOBALS EXIT_SESSION;

static const char s_terminate_session[] =
    "Usage: porthole terminate-session --session-id ID\n"
    "\n"
    "Ends a session: its shell or command gets SIGHUP (then SIGKILL after 2 s), and\n"
    "any client attached to it sees it exit.\n"
    "\n"
    "Options:\n"
    "  --session-id ID   the session (see porthole describe-sessions --state Active)\n"
    "\n"
    "Output: json {\"SessionId\"}; text: the id.\n"
    "\n"
    "Example:\n"
    "  porthole terminate-session --session-id alice-0a1b2c3d4e5f60718\n" GLOBALS EXIT_API;

static const char s_describe_sessions[] =
    "Usage: porthole describe-sessions --state Active|History [--filters Key=K,Value=V]...\n"
    "                                  [--max-results N] [--next-token TOKEN]\n"
    "\n"
    "Lists sessions that are running (Active) or ended in the last 30 days (History).\n"
    "\n"
    "Options:\n"
    "  --state Active|History     which sessions (required)\n"
    "  --filters Key=K,Value=V    K is Target, Owner or Status; may be repeated\n"
    "  --max-results N            at most N sessions per page (1..200; default: the\n"
    "                             controller's page size)\n"
    "  --next-token TOKEN         the page after the one that returned TOKEN\n"
    "\n"
    "Output: json {\"Sessions\": [{\"SessionId\", \"Target\", \"Status\", \"StartDate\",\n"
    "\"EndDate\", \"Owner\", \"Reason\", and when known \"DocumentName\", \"ExitCode\",\n"
    "\"Details\"}], \"NextToken\"} (NextToken null on the last page); table: one row per\n"
    "session; text: SessionId Target Status StartDate EndDate Owner Reason, tab-separated,\n"
    "then NEXTTOKEN<TAB>TOKEN when there are more pages.\n"
    "\n"
    "Examples:\n"
    "  porthole describe-sessions --state Active --output table\n"
    "  porthole describe-sessions --state History --filters Key=Target,Value=mi-0a1b2c3d4e5f60718\n"
    "  porthole describe-sessions --state History --filters Key=Owner,Value=alice --max-results "
    "20\n" GLOBALS EXIT_API;

static const char s_get_preferences[] =
    "Usage: porthole get-preferences\n"
    "\n"
    "Shows the cluster's session preferences.\n"
    "\n"
    "Output: json {\"IdleSessionTimeout\" (minutes), \"MaxSessionDuration\" (minutes, 0 =\n"
    "none), \"RunAsEnabled\", \"RunAsDefaultUser\", \"AdminRights\", \"ShellProfile\",\n"
    "\"LogGroupName\", \"StreamingEnabled\", \"EncryptionEnabled\", \"LogInput\"}.\n"
    "\n"
    "Example:\n"
    "  porthole get-preferences --output table\n" GLOBALS EXIT_API;

static const char s_update_preferences[] =
    "Usage: porthole update-preferences [--idle-session-timeout MIN] [--max-session-duration MIN]\n"
    "           [--run-as-enabled true|false] [--run-as-default-user USER]\n"
    "           [--admin-rights true|false] [--shell-profile COMMANDS]\n"
    "           [--log-group NAME] [--streaming-enabled true|false]\n"
    "           [--encryption-enabled true|false] [--log-input true|false]\n"
    "\n"
    "Changes the preferences that are given (at least one); the others keep their\n"
    "value. Prints the preferences as they are afterwards (as get-preferences).\n"
    "\n"
    "Options:\n"
    "  --idle-session-timeout MIN   end a session after MIN minutes without input\n"
    "                               (1..60; the cluster default is 20)\n"
    "  --max-session-duration MIN   end a session after MIN minutes (1..1440; 0: never)\n"
    "  --run-as-enabled true|false  run each user's sessions as the OS account named by\n"
    "                               their RunAs tag (porthole iam tag-user --tags RunAs=NAME)\n"
    "  --run-as-default-user USER   OS user of sessions of users without one (default\n"
    "                               porthole-user; never root)\n"
    "  --admin-rights true|false    give the default user sudo rights (default true)\n"
    "  --shell-profile COMMANDS     commands typed into every new shell first\n"
    "  --log-group NAME             log group of session transcripts (default\n"
    "                               porthole/sessions; created on first use)\n"
    "  --streaming-enabled true|false\n"
    "                               true (default): transcripts reach the log group within\n"
    "                               a second; false: uploaded when the session ends\n"
    "  --encryption-enabled true|false\n"
    "                               store transcripts AES-256-GCM encrypted (the log group\n"
    "                               becomes encrypted; readers see plain text)\n"
    "  --log-input true|false       also record what is typed (asciicast \"i\" events;\n"
    "                               default false: passwords typed stay out of the logs)\n"
    "  New sessions take the preferences in force when they start.\n"
    "\n"
    "Examples:\n"
    "  porthole update-preferences --idle-session-timeout 30 --max-session-duration 480\n"
    "  porthole update-preferences --admin-rights false --shell-profile 'cd /srv; umask "
    "027'\n" GLOBALS EXIT_API;

static const char s_head[] =
    "Usage: porthole [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
    "\n"
    "Shell access to managed machines through porthole-controller: no inbound ports, no\n"
    "bastion, no SSH keys, and every session recorded. The commands follow aws ssm.\n"
    "\n"
    "Commands:\n";

static const char s_tail[] =
    "\nGlobal options (before or after the command):\n"
    "  --profile NAME     profile to use (default: $PORTHOLE_PROFILE, else \"default\")\n"
    "  --output FORMAT    json, table or text (default: $PORTHOLE_OUTPUT, else json)\n"
    "  --timeout SECONDS  how long to wait for the controller's answer (default 10)\n"
    "  --help             this help; porthole COMMAND --help documents a command\n"
    "  --version          print the version\n"
    "\n"
    "Environment:\n"
    "  PORTHOLE_CONFIG_DIR   configuration directory (default ~/.config/porthole)\n"
    "  PORTHOLE_ENDPOINT     controller endpoint (overrides the profile's)\n"
    "  PORTHOLE_SERVER_KEY   controller public key (overrides the profile's)\n"
    "  PORTHOLE_PROFILE      default of --profile\n"
    "  PORTHOLE_OUTPUT       default of --output\n"
    "  PORTHOLE_LOG          debug shows diagnostics on stderr\n"
    "\n"
    "Exit status:\n"
    "  0 success, 64 bad options, 65 not configured (run porthole configure),\n"
    "  69 controller unreachable or no answer, 70 the controller refused the request,\n"
    "  77 access denied; start-session and resume-session exit with the remote status,\n"
    "  or 75 when detached (~.), 76 when the session was lost.\n"
    "\n"
    "Getting started:\n"
    "  porthole configure --endpoint tcp://ctl.example.com:7611 --server-key KEY\n"
    "  porthole describe-instance-information --output table\n"
    "  porthole start-session --target mi-0a1b2c3d4e5f60718\n";

static const struct {
    const char *verb;
    const char *text;
} s_texts[] = {
    {"configure", s_configure},
    {"create-activation", s_create_activation},
    {"describe-instance-information", s_describe_instances},
    {"start-session", s_start_session},
    {"resume-session", s_resume_session},
    {"terminate-session", s_terminate_session},
    {"describe-sessions", s_describe_sessions},
    {"get-preferences", s_get_preferences},
    {"update-preferences", s_update_preferences},
};

const char *cli_help_verb (const char *verb)
{
    for (size_t i = 0; i < sizeof s_texts / sizeof s_texts[0]; i++)
        if (strcmp (s_texts[i].verb, verb) == 0)
            return s_texts[i].text;
    const char *text = cli_help_iam_verb (verb);
    if (!text)
        text = cli_help_logs_verb (verb);
    if (!text)
        text = cli_help_metrics_verb (verb);
    return text ? text : cli_help_alarms_verb (verb);
}

const char *cli_help_head (void)
{
    return s_head;
}

const char *cli_help_tail (void)
{
    return s_tail;
}
