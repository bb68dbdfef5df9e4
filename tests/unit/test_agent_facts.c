/*  Unit tests of agent/agent_facts.c on this machine: the hostname is the
 *  kernel's, the platform is PRETTY_NAME of /etc/os-release unquoted (or
 *  uname), the IP address is an IPv4 address of an up, non-loopback
 *  interface (127.0.0.1 only when there is none); every fact is non-empty,
 *  UTF-8, within its buffer, and the same on every call. */
#include "agent.h"
#include "ph_test.h"
#include "ph_util.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/*  PRETTY_NAME from /etc/os-release read independently, or "" . */
static void s_expected_platform (char *out, size_t len)
{
    out[0] = 0;
    char *text = ph_file_read ("/etc/os-release", 64 * 1024, NULL);
    for (char *line = text ? strtok (text, "\n") : NULL; line; line = strtok (NULL, "\n")) {
        if (strncmp (line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        size_t n = strlen (v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v++;
            n -= 2;
        }
        snprintf (out, len, "%.*s", (int)n, v);
        break;
    }
    free (text);
    if (!out[0]) {
        struct utsname u;
        uname (&u);
        snprintf (out, len, "%s %s", u.sysname, u.release);
    }
}

/*  Whether ip belongs to an up, non-loopback interface; *any set when such
 *  an interface with an IPv4 address exists at all. */
static bool s_local_ipv4 (const char *ip, bool *any)
{
    struct ifaddrs *list = NULL;
    bool found = false;
    *any = false;
    if (getifaddrs (&list) != 0)
        return false;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
            continue;
        *any = true;
        char text[INET_ADDRSTRLEN];
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
        inet_ntop (AF_INET, &sin->sin_addr, text, sizeof text);
        if (strcmp (text, ip) == 0)
            found = true;
    }
    freeifaddrs (list);
    return found;
}

static void s_check_text (const char *text, size_t cap)
{
    size_t n = strnlen (text, cap);
    CHECK (n > 0 && n < cap);
    CHECK (ph_utf8_valid (text, n));
    CHECK (strchr (text, '\n') == NULL);
}

int main (void)
{
    ph_agent_facts_t facts;
    memset (&facts, 'x', sizeof facts); /* garbage must not survive */
    ph_agent_facts_collect (&facts);

    s_check_text (facts.hostname, sizeof facts.hostname);
    s_check_text (facts.platform, sizeof facts.platform);
    s_check_text (facts.ip, sizeof facts.ip);

    char host[PH_AGENT_FACT_MAX] = "";
    gethostname (host, sizeof host - 1);
    CHECK_STR (facts.hostname, *host ? host : "localhost");

    char platform[PH_AGENT_FACT_MAX];
    s_expected_platform (platform, sizeof platform);
    CHECK_STR (facts.platform, platform);
    CHECK (facts.platform[0] != '"' && facts.platform[0] != '\'');

    struct in_addr addr;
    CHECK (inet_pton (AF_INET, facts.ip, &addr) == 1);
    bool any;
    bool local = s_local_ipv4 (facts.ip, &any);
    if (any)
        CHECK (local); /* a real interface's address, never loopback */
    else
        CHECK_STR (facts.ip, "127.0.0.1");

    ph_agent_facts_t again;
    ph_agent_facts_collect (&again);
    CHECK (memcmp (&facts, &again, sizeof facts) == 0);
    printf ("facts: hostname=%s platform=%s ip=%s\n", facts.hostname, facts.platform, facts.ip);
    PH_TEST_END ();
}
