/*  lg_proc: what the coordinator measures from outside the processes:
 *  CPU time and RSS from /proc/PID/stat and /proc/PID/status, the machine's
 *  busy time from /proc/stat, and Redis's own counters (INFO stats). These
 *  calls block briefly (a file read, one Redis round trip); the
 *  coordinator is not a reactor and calls them between its sleeps.
 */
#include "lg.h"
#include "ph_errors.h"
#include "ph_redis.h"
#include "ph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t lg_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t lg_proc_cpu_us (pid_t pid)
{
    char path[64], buf[1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = 0;
    /* the command name may hold spaces: fields count from the last ')' */
    char *p = strrchr (buf, ')');
    if (!p)
        return 0;
    unsigned long long utime = 0, stime = 0;
    /* after ")": state(3) ppid pgrp session tty_nr tpgid flags minflt
     * cminflt majflt cmajflt utime(14) stime(15) */
    if (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
        2)
        return 0;
    long hz = sysconf (_SC_CLK_TCK);
    return (utime + stime) * 1000000ull / (unsigned long long)(hz > 0 ? hz : 100);
}

long lg_proc_rss_kb (pid_t pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets (line, sizeof line, f))
        if (strncmp (line, "VmRSS:", 6) == 0) {
            kb = strtol (line + 6, NULL, 10);
            break;
        }
    fclose (f);
    return kb;
}

void lg_machine_jiffies (uint64_t *busy, uint64_t *total)
{
    *busy = *total = 0;
    FILE *f = fopen ("/proc/stat", "r");
    if (!f)
        return;
    unsigned long long v[8] = {0};
    if (fscanf (f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            *total += v[i];
        *busy = *total - v[3] - v[4]; /* minus idle and iowait */
    }
    fclose (f);
}

uint64_t lg_self_cpu_us (void)
{
    struct rusage ru;
    if (getrusage (RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

pid_t lg_pid_from_file (const char *path)
{
    if (!path || !*path)
        return 0;
    char *text = ph_file_read (path, 64, NULL);
    if (!text)
        return 0;
    long pid = strtol (text, NULL, 10);
    free (text);
    return pid > 0 ? (pid_t)pid : 0;
}

long long lg_redis_commands (const char *url)
{
    char err[256];
    ph_redis_sync_t *r = ph_redis_sync_new (url, err, sizeof err);
    if (!r)
        return -1;
    long long n = -1;
    ph_reply_t *reply = ph_redis_sync_cmd (r, "INFO stats");
    const char *text = ph_reply_str (reply);
    const char *at = text ? strstr (text, "total_commands_processed:") : NULL;
    if (at)
        n = strtoll (at + strlen ("total_commands_processed:"), NULL, 10);
    ph_reply_free (&reply);
    ph_redis_sync_destroy (&r);
    return n;
}

/*  ARGV: oldest last_seen_ms that counts as fresh. */
static const char s_fresh_lua[] =
    "local n = 0\n"
    "for _, id in ipairs(redis.call('SMEMBERS', 'ph:instances')) do\n"
    "  local s = redis.call('HGET', 'ph:instance:{' .. id .. '}', 'last_seen_ms')\n"
    "  if s and tonumber(s) >= tonumber(ARGV[1]) then n = n + 1 end\n"
    "end\n"
    "return n\n";

long long lg_redis_fresh_instances (const char *url, uint64_t window_ms)
{
    char err[256];
    ph_redis_sync_t *r = ph_redis_sync_new (url, err, sizeof err);
    if (!r)
        return -1;
    char since[32];
    snprintf (since, sizeof since, "%llu", (unsigned long long)(ph_now_ms () - window_ms));
    ph_reply_t *reply = ph_redis_sync_cmd (r, "EVAL %s 0 %s", s_fresh_lua, since);
    long long n = ph_reply_is_int (reply) ? ph_reply_int (reply) : -1;
    ph_reply_free (&reply);
    ph_redis_sync_destroy (&r);
    return n;
}
