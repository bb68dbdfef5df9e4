/*  cli_group: see cli_group.h. */
#include "cli_group.h"

#include <stdarg.h>
#include <string.h>

const cli_verb_t *cli_group_find (const cli_group_t *group, const char *word)
{
    size_t len = strlen (group->name);
    for (const cli_verb_t *v = group->verbs; v->name; v++)
        if (strncmp (v->name, group->name, len) == 0 && v->name[len] == ' ' &&
            strcmp (v->name + len + 1, word) == 0)
            return v;
    return NULL;
}

static bool s_is_option (const char *word)
{
    return word[0] == '-' && word[1] != 0;
}

/*  True when name is a flag (takes no value) in table (may be NULL). */
static bool s_is_flag (const cli_opt_t *table, const char *name)
{
    for (const cli_opt_t *o = table; o && o->name; o++)
        if (strcmp (o->name, name) == 0)
            return (o->flags & CLI_OPT_FLAG) != 0;
    return false;
}

/*  Index of the first bare word at or after start: not an option, nor the
 *  value of one. Flags (global, or of the verb when verb_opts is given)
 *  take no value; every other option takes one unless it is written
 *  --name=value. Returns -1 when there is none. */
static int s_next_word (int argc, char **argv, int start, const cli_opt_t *globals,
                        const cli_opt_t *verb_opts)
{
    for (int i = start; i < argc; i++) {
        const char *word = strcmp (argv[i], "-h") == 0 ? "--help" : argv[i];
        if (!s_is_option (word))
            return i;
        if (strncmp (word, "--", 2) != 0 || strchr (word, '='))
            continue;
        bool flag = s_is_flag (globals, word + 2) || s_is_flag (verb_opts, word + 2);
        if (!flag)
            i++;
    }
    return -1;
}

static int s_fail (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int s_fail (char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
    return PH_EINVAL;
}

/*  Copies argv to out without the words at skip1 and skip2 (-1: none). */
static int s_copy_without (int argc, char **argv, int skip1, int skip2, char **out)
{
    int n = 0;
    for (int i = 0; i < argc; i++)
        if (i != skip1 && i != skip2)
            out[n++] = argv[i];
    return n;
}

int cli_group_resolve (const cli_group_t *group, int argc, char **argv, int group_at,
                       const cli_opt_t *globals, char **out, int *out_argc, const cli_verb_t **verb,
                       char *err, size_t errlen)
{
    *verb = NULL;
    if (argc + 2 > CLI_ARGV_MAX)
        return s_fail (err, errlen, "too many arguments (at most %d)", CLI_ARGV_MAX - 2);
    int at = s_next_word (argc, argv, group_at + 1, globals, NULL);
    if (at < 0)
        return 0;
    *verb = cli_group_find (group, argv[at]);
    if (!*verb)
        return s_fail (err, errlen, "'%s' is not a porthole %s command", argv[at], group->name);
    int pos = (*verb)->positional ? s_next_word (argc, argv, at + 1, globals, (*verb)->opts) : -1;
    int n = s_copy_without (argc, argv, at, pos, out);
    out[group_at] = argv[at]; /* the verb takes the group word's place */
    if (pos >= 0) {
        out[n++] = (char *)(*verb)->positional;
        out[n++] = argv[pos];
    }
    *out_argc = n;
    return 0;
}

void cli_group_help (const cli_group_t *group, FILE *out)
{
    size_t len = strlen (group->name);
    fprintf (out, "Usage: porthole %s COMMAND [OPTIONS]\n\n%s\nCommands:\n", group->name,
             group->about);
    for (const cli_verb_t *v = group->verbs; v->name; v++)
        fprintf (out, "  %-27s%s\n", v->name + len + 1, v->summary);
    fprintf (out,
             "\nporthole %s COMMAND --help documents a command and its output.\n"
             "Global options (--profile, --output json|table|text, --timeout) and exit\n"
             "codes are those of every porthole command (see porthole --help).\n",
             group->name);
}
