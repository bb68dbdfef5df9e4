/*  ph-filterbench: how fast metric filters (common/ph_pattern) evaluate,
 *  the figure issue 4 asks for: the logshipper meets every event of a log
 *  group with every filter of that group (~100), and must keep up with
 *  ≥ 1,000,000 (line × filter) evaluations per second on one core.
 *
 *  It builds, in memory, a corpus of realistic session-transcript lines
 *  (prompts, commands, ls / ps / df / journalctl output, an access log
 *  being tailed, JSON lines from a service) and 100 filters of every kind
 *  (terms, phrases, ?OR, exclusions, %regex%, JSON, space-delimited), then
 *  evaluates all filters on every line, the way the logshipper does (one
 *  event object per line, shared by the filters), for a fixed time on one
 *  thread, and prints line-evaluations/s (lines × filters / s of CPU) and
 *  lines/s; then the same for each kind of filter alone.
 *
 *    ph-filterbench [--quick] [--seconds S] [--lines N]
 *
 *  --seconds is the whole run (default 3); --quick runs ~0.5 s (CI smoke). Exit status 0, or 1 when
 * a filter does not compile (a broken build of the pattern module).
 */
#include "ph_pattern.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_LINES_DEFAULT   20000
#define S_LINE_MAX        512
#define S_SECONDS_DEFAULT 3.0
#define S_SECONDS_QUICK   0.5
#define S_KIND_SHARE      0.4 /* of the time, for the per-kind runs together */

typedef struct {
    const char *kind;
    const char *text;
} s_filter_t;

/*  100 filters, the mix a fleet's log group might carry. */
static const s_filter_t s_filters[] = {
    /* terms (35) */
    {"terms", "ERROR"},
    {"terms", "WARN"},
    {"terms", "sudo"},
    {"terms", "passwd"},
    {"terms", "shadow"},
    {"terms", "FATAL"},
    {"terms", "panic"},
    {"terms", "segfault"},
    {"terms", "denied"},
    {"terms", "Permission denied"},
    {"terms", "iptables"},
    {"terms", "nc"},
    {"terms", "curl"},
    {"terms", "wget"},
    {"terms", "ssh_config"},
    {"terms", "authorized_keys"},
    {"terms", "crontab"},
    {"terms", "useradd"},
    {"terms", "usermod"},
    {"terms", "chmod 777"},
    {"terms", "OOM"},
    {"terms", "killed process"},
    {"terms", "reboot"},
    {"terms", "shutdown"},
    {"terms", "docker"},
    {"terms", "kubectl delete"},
    {"terms", "DROP"},
    {"terms", "TRUNCATE"},
    {"terms", "mysql root"},
    {"terms", "base64"},
    {"terms", "xmrig"},
    {"terms", "Traceback"},
    {"terms", "Exception"},
    {"terms", "timeout"},
    {"terms", "refused"},
    /* quoted phrases (15) */
    {"phrases", "\"rm -rf /\""},
    {"phrases", "\"/etc/shadow\""},
    {"phrases", "\"sudo su\""},
    {"phrases", "\"chmod +s\""},
    {"phrases", "\"| bash\""},
    {"phrases", "\"| sh\""},
    {"phrases", "\"> /dev/null 2>&1\""},
    {"phrases", "\"No space left on device\""},
    {"phrases", "\"Connection refused\""},
    {"phrases", "\"command not found\""},
    {"phrases", "\"Out of memory\""},
    {"phrases", "\"HTTP/1.1\\\" 500\""},
    {"phrases", "\"user@\""},
    {"phrases", "\"/var/log/\""},
    {"phrases", "\"[sudo] password\""},
    /* OR and exclusions (15) */
    {"or/exclude", "?ERROR ?FATAL ?CRITICAL"},
    {"or/exclude", "?panic ?segfault ?\"core dumped\""},
    {"or/exclude", "?curl ?wget ?\"nc -e\""},
    {"or/exclude", "?useradd ?userdel ?usermod"},
    {"or/exclude", "?reboot ?shutdown ?halt ?poweroff"},
    {"or/exclude", "?iptables ?nft ?ufw"},
    {"or/exclude", "?DROP ?TRUNCATE ?\"DELETE FROM\""},
    {"or/exclude", "?docker ?podman ?kubectl"},
    {"or/exclude", "ERROR -DEBUG"},
    {"or/exclude", "sudo -\"sudo -l\""},
    {"or/exclude", "error -timeout -retry"},
    {"or/exclude", "WARN -deprecated"},
    {"or/exclude", "denied -\"dry run\""},
    {"or/exclude", "ssh -\"ssh-keygen\""},
    {"or/exclude", "-INFO -DEBUG -TRACE"},
    /* regex (5) */
    {"regex", "%\\d+\\.\\d+\\.\\d+\\.\\d+%"},
    {"regex", "%sudo\\s+rm|sudo\\s+dd%"},
    {"regex", "%HTTP/1\\.1\\x22 5\\d\\d%"},
    {"regex", "%^\\[ERROR\\]|^FATAL%"},
    {"regex", "%[A-Za-z0-9]{40}%"},
    /* JSON (15) */
    {"json", "{ $.level = \"error\" }"},
    {"json", "{ $.level = \"warn\" || $.level = \"error\" }"},
    {"json", "{ $.latency > 500 }"},
    {"json", "{ $.latency >= 1000 && $.status = 200 }"},
    {"json", "{ $.status = 5* }"},
    {"json", "{ $.status != 200 }"},
    {"json", "{ $.user = \"root\" }"},
    {"json", "{ $.req.method = \"DELETE\" }"},
    {"json", "{ $.req.path = \"/admin*\" }"},
    {"json", "{ $.tags[0] = \"audit\" }"},
    {"json", "{ $.tags[*] = \"security\" }"},
    {"json", "{ $.error IS NULL }"},
    {"json", "{ $.trace NOT EXISTS }"},
    {"json", "{ $.ok IS FALSE }"},
    {"json", "{ ($.bytes > 100000 || $.latency > 2000) && $.level != \"debug\" }"},
    /* space-delimited (15) */
    {"fields", "[ip, id, user, ts, req, status = 5*, bytes]"},
    {"fields", "[ip, id, user, ts, req, status = 404, bytes]"},
    {"fields", "[ip, id, user, ts, req = *admin*, status, bytes]"},
    {"fields", "[ip, id, user, ts, req, status, bytes > 100000]"},
    {"fields", "[..., status = 4* && status != 404, bytes]"},
    {"fields", "[ip = 10.*, ...]"},
    {"fields", "[ip, id, user = root, ...]"},
    {"fields", "[w1 = ERROR || w1 = FATAL, w2]"},
    {"fields", "[w1 = sudo, w2]"},
    {"fields", "[month, day, time, host, proc = sshd*, ...]"},
    {"fields", "[month, day, time, host, proc = kernel*, w1 = *OOM*, ...]"},
    {"fields", "[..., bytes > 1000000]"},
    {"fields", "[perm = -rwxrwxrwx, ...]"},
    {"fields", "[user, pid > 30000, ...]"},
    {"fields", "[fs, size, used, avail, pct = 9*, mount]"},
};
#define S_N_FILTERS (sizeof s_filters / sizeof s_filters[0])

/* -------------------------------------------------------------- the corpus */

static uint64_t s_rng = 0x9E3779B97F4A7C15ull;

static uint32_t s_rand (uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

#define S_PICK(a) (a)[s_rand (sizeof (a) / sizeof (a)[0])]

static const char *const s_users[] = {"alice", "bob", "root", "carol", "deploy", "www-data"};
static const char *const s_hosts[] = {"web-1", "web-2", "db-1", "cache-3", "batch-7"};
static const char *const s_cmds[] = {
    "ls -la",
    "cd /var/log",
    "tail -f /var/log/nginx/access.log",
    "sudo systemctl restart nginx",
    "git pull --rebase",
    "vim /etc/nginx/sites-enabled/default",
    "ps aux | grep python",
    "df -h",
    "journalctl -u app --since today",
    "docker ps",
    "curl -s http://localhost:8080/health",
    "cat /etc/os-release",
    "sudo rm -rf /tmp/build-cache",
    "grep -R TODO src/",
    "make -j4",
    "kubectl get pods -n prod",
};
static const char *const s_words[] = {
    "started", "stopped", "connection", "request",  "handler", "worker", "queue", "retry",
    "timeout", "cache",   "session",    "upstream", "config",  "reload", "token", "client"};
static const char *const s_levels[] = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
static const char *const s_paths[] = {
    "/",       "/index.html",         "/api/v1/users", "/admin/login", "/static/app.js",
    "/health", "/api/v1/orders?id=77"};

/*  One line of a session transcript into buf. */
static int s_line (char *buf, size_t size)
{
    const char *u = S_PICK (s_users), *h = S_PICK (s_hosts);
    switch (s_rand (12)) {
    case 0:
        return snprintf (buf, size, "%s@%s:~$ %s", u, h, S_PICK (s_cmds));
    case 1:
        return snprintf (buf, size, "-rw-r--r-- 1 %s %s %6u Nov %2u 12:%02u %s.log", u, u,
                         s_rand (900000), 1 + s_rand (28), s_rand (60), S_PICK (s_words));
    case 2:
        return snprintf (buf, size,
                         "%-8s %5u  %2u.%u  %3u.%u %7u %6u ?        Ss   09:1%u   0:0%u %s", u,
                         1 + s_rand (40000), s_rand (99), s_rand (9), s_rand (20), s_rand (9),
                         s_rand (999999), s_rand (99999), s_rand (9), s_rand (9), S_PICK (s_cmds));
    case 3:
        return snprintf (buf, size, "/dev/sda%u        %uG  %uG  %uG  %u%% /%s", 1 + s_rand (4),
                         20 + s_rand (400), s_rand (200), s_rand (200), s_rand (100),
                         S_PICK (s_words));
    case 4:
    case 5:
        return snprintf (buf, size,
                         "10.%u.%u.%u - %s [25/Nov/2026:18:%02u:%02u +0000] \"%s %s HTTP/1.1\" "
                         "%u %u",
                         s_rand (255), s_rand (255), s_rand (255), s_rand (4) ? "-" : u,
                         s_rand (60), s_rand (60), s_rand (5) ? "GET" : "POST", S_PICK (s_paths),
                         s_rand (10) ? 200 : 400 + s_rand (110), s_rand (2000000));
    case 6:
        return snprintf (buf, size, "Nov 25 18:%02u:%02u %s %s[%u]: %s %s %s", s_rand (60),
                         s_rand (60), h, s_rand (3) ? "sshd" : "kernel", s_rand (65536),
                         S_PICK (s_words), S_PICK (s_words), u);
    case 7:
    case 8:
        return snprintf (
            buf, size,
            "{\"ts\":\"2026-11-25T18:%02u:%02uZ\",\"level\":\"%s\",\"msg\":\"%s %s\",\"user\":"
            "\"%s\",\"latency\":%u,\"status\":%u,\"bytes\":%u,\"req\":{\"method\":\"%s\","
            "\"path\":\"%s\"},\"tags\":[\"%s\",\"app\"],\"ok\":%s%s}",
            s_rand (60), s_rand (60), s_rand (6) ? "info" : "error", S_PICK (s_words),
            S_PICK (s_words), u, s_rand (3000), s_rand (12) ? 200 : 500 + s_rand (4),
            s_rand (200000), s_rand (8) ? "GET" : "DELETE", S_PICK (s_paths),
            s_rand (10) ? "web" : "audit", s_rand (9) ? "true" : "false",
            s_rand (5) ? "" : ",\"error\":null");
    case 9:
        return snprintf (buf, size, "%s [%s] %s: %s %s (attempt %u)", S_PICK (s_levels), h,
                         S_PICK (s_words), S_PICK (s_words), S_PICK (s_words), s_rand (5));
    case 10:
        return snprintf (buf, size, "  File \"/srv/app/%s.py\", line %u, in %s", S_PICK (s_words),
                         s_rand (900), S_PICK (s_words));
    default:
        return snprintf (buf, size, "%s %s %s %s", S_PICK (s_words), S_PICK (s_words),
                         S_PICK (s_words), S_PICK (s_words));
    }
}

/* --------------------------------------------------------------- the runs */

static double s_cpu_seconds (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    uint64_t lines;
    uint64_t evaluations;
    uint64_t matches;
    double seconds;
} s_result_t;

/*  Every filter of set[0..n) on every line, over and over, for `seconds`
 *  of CPU: the logshipper's loop (one event object per line). */
static s_result_t s_run (ph_pattern_t *const *set, size_t n, char *const *lines, const size_t *lens,
                         size_t n_lines, double seconds)
{
    s_result_t r = {0};
    ph_pattern_event_t *ev = ph_pattern_event_new ();
    if (!ev)
        return r;
    double start = s_cpu_seconds (), now = start;
    while (now - start < seconds) {
        for (size_t l = 0; l < n_lines; l++) {
            ph_pattern_event_set (ev, lines[l], lens[l]);
            for (size_t f = 0; f < n; f++)
                r.matches += ph_pattern_match (set[f], ev);
            if ((l & 1023) == 1023 && s_cpu_seconds () - start >= seconds) {
                r.lines += l + 1;
                goto out_done;
            }
        }
        r.lines += n_lines;
        now = s_cpu_seconds ();
    }
out_done:
    r.seconds = s_cpu_seconds () - start;
    r.evaluations = r.lines * n;
    ph_pattern_event_destroy (&ev);
    return r;
}

static void s_print (const char *what, size_t n_filters, s_result_t r)
{
    printf ("%-12s %3zu filters  %12.0f line-evaluations/s  %10.0f lines/s  (%llu lines, "
            "%llu matches, %.2f s)\n",
            what, n_filters, (double)r.evaluations / r.seconds, (double)r.lines / r.seconds,
            (unsigned long long)r.lines, (unsigned long long)r.matches, r.seconds);
}

static int s_usage (const char *prog)
{
    fprintf (stderr, "usage: %s [--quick] [--seconds S] [--lines N]\n", prog);
    return 64;
}

int main (int argc, char **argv)
{
    double seconds = S_SECONDS_DEFAULT;
    size_t n_lines = S_LINES_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--quick") == 0)
            seconds = S_SECONDS_QUICK;
        else if (strcmp (argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof (argv[++i]);
        else if (strcmp (argv[i], "--lines") == 0 && i + 1 < argc)
            n_lines = (size_t)strtoul (argv[++i], NULL, 10);
        else
            return s_usage (argv[0]);
    }
    if (seconds <= 0 || n_lines == 0)
        return s_usage (argv[0]);

    int rc = 1;
    ph_pattern_t *set[S_N_FILTERS] = {NULL};
    char **lines = calloc (n_lines, sizeof *lines);
    size_t *lens = calloc (n_lines, sizeof *lens), bytes = 0;
    if (!lines || !lens)
        goto out_free;
    for (size_t i = 0; i < S_N_FILTERS; i++) {
        char err[PH_PATTERN_ERR_MAX];
        if (!(set[i] = ph_pattern_new (s_filters[i].text, err, sizeof err))) {
            fprintf (stderr, "ph-filterbench: filter %s: %s\n", s_filters[i].text, err);
            goto out_free;
        }
    }
    for (size_t l = 0; l < n_lines; l++) {
        char buf[S_LINE_MAX];
        int n = s_line (buf, sizeof buf);
        lens[l] = n < 0 ? 0 : (size_t)n >= sizeof buf ? sizeof buf - 1 : (size_t)n;
        if (!(lines[l] = malloc (lens[l] ? lens[l] : 1)))
            goto out_free;
        memcpy (lines[l], buf, lens[l]); /* not NUL-terminated, as events are not */
        bytes += lens[l];
    }
    printf ("ph-filterbench: %zu filters, %zu lines (%.0f bytes on average), one thread\n",
            S_N_FILTERS, n_lines, (double)bytes / (double)n_lines);
    s_print ("all", S_N_FILTERS,
             s_run (set, S_N_FILTERS, lines, lens, n_lines, seconds * (1 - S_KIND_SHARE)));

    /* each kind alone: where the time goes */
    const char *kinds[] = {"terms", "phrases", "or/exclude", "regex", "json", "fields"};
    size_t n_kinds = sizeof kinds / sizeof kinds[0];
    for (size_t k = 0; k < n_kinds; k++) {
        ph_pattern_t *sub[S_N_FILTERS];
        size_t n = 0;
        for (size_t i = 0; i < S_N_FILTERS; i++)
            if (strcmp (s_filters[i].kind, kinds[k]) == 0)
                sub[n++] = set[i];
        s_print (kinds[k], n,
                 s_run (sub, n, lines, lens, n_lines, seconds * S_KIND_SHARE / (double)n_kinds));
    }
    rc = 0;
out_free:
    for (size_t i = 0; i < S_N_FILTERS; i++)
        ph_pattern_destroy (&set[i]);
    for (size_t l = 0; lines && l < n_lines; l++)
        free (lines[l]);
    free (lines);
    free (lens);
    return rc;
}
