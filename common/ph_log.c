/*  ph_log: see ph_log.h. The program name and level are process-wide
 *  settings made once at start-up, before any thread exists. */
#include "ph_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static char s_program[32] = "porthole";
static ph_log_level_t s_level = PH_LOG_INFO;

void ph_log_init (const char *program)
{
    snprintf (s_program, sizeof s_program, "%s", program);
    const char *env = getenv ("PORTHOLE_LOG");
    if (!env)
        return;
    if (strcmp (env, "debug") == 0)
        s_level = PH_LOG_DEBUG;
    else if (strcmp (env, "warn") == 0)
        s_level = PH_LOG_WARN;
    else if (strcmp (env, "error") == 0)
        s_level = PH_LOG_ERROR;
}

void ph_log (ph_log_level_t level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < s_level)
        return;
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    char line[2048];
    int n = snprintf (line, sizeof line,
                      "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      (int)(tv.tv_usec / 1000), names[level], s_program);
    va_list ap;
    va_start (ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf (line + n, sizeof line - (size_t)n, fmt, ap);
    va_end (ap);
    fprintf (stderr, "%s\n", line);
}
