/*  agent_facts: the host facts an agent reports in Enroll and Hello
 *  (hostname, platform, agent version, IP address). Read once at start-up
 *  from local files and the kernel; never from the network.
 */
#include "agent.h"
#include "ph_util.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PH_OS_RELEASE     "/etc/os-release"
#define PH_OS_RELEASE_MAX (64 * 1024)

/*  The value of PRETTY_NAME= in text, unquoted, into out; false if none. */
static bool s_pretty_name (const char *text, char *out, size_t outlen)
{
    const char *p = text;
    while (p && *p) {
        if (strncmp (p, "PRETTY_NAME=", 12) == 0) {
            p += 12;
            size_t n = strcspn (p, "\n");
            if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) {
                p++;
                n -= 2;
            }
            if (n == 0 || n >= outlen)
                return false;
            memcpy (out, p, n);
            out[n] = 0;
            return ph_utf8_valid (out, n);
        }
        p = strchr (p, '\n');
        if (p)
            p++;
    }
    return false;
}

static void s_platform (char *out, size_t outlen)
{
    char *text = ph_file_read (PH_OS_RELEASE, PH_OS_RELEASE_MAX, NULL);
    bool found = text && s_pretty_name (text, out, outlen);
    free (text);
    if (found)
        return;
    struct utsname u;
    if (uname (&u) == 0)
        snprintf (out, outlen, "%s %s", u.sysname, u.release);
    else
        snprintf (out, outlen, "Linux");
}

static void s_ip (char *out, size_t outlen)
{
    struct ifaddrs *list = NULL;
    snprintf (out, outlen, "127.0.0.1");
    if (getifaddrs (&list) != 0)
        return;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
            continue;
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
        if (inet_ntop (AF_INET, &sin->sin_addr, out, (socklen_t)outlen))
            break;
        snprintf (out, outlen, "127.0.0.1");
    }
    freeifaddrs (list);
}

void ph_agent_facts_collect (ph_agent_facts_t *facts)
{
    memset (facts, 0, sizeof *facts);
    if (gethostname (facts->hostname, sizeof facts->hostname - 1) != 0 ||
        !ph_utf8_valid (facts->hostname, strlen (facts->hostname)))
        snprintf (facts->hostname, sizeof facts->hostname, "localhost");
    s_platform (facts->platform, sizeof facts->platform);
    s_ip (facts->ip, sizeof facts->ip);
}
