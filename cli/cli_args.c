/*  cli_args: see cli_args.h. The parser never copies argv: values point
 *  into it, which lives as long as the process. */
#include "cli_args.h"
#include "ph_errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool s_is_option (const char *word)
{
    return word[0] == '-' && word[1] != 0;
}

/*  The option of table named by word ("--name" or "--name=v"), or NULL. */
static const cli_opt_t *s_lookup (const cli_opt_t *table, const char *word)
{
    if (!table)
        return NULL;
    const char *name = word + 2;
    size_t len = strcspn (name, "=");
    for (const cli_opt_t *o = table; o->name; o++)
        if (strlen (o->name) == len && strncmp (o->name, name, len) == 0)
            return o;
    return NULL;
}

/*  "-h" is the one short option: an alias of --help. */
static const char *s_canonical (const char *word)
{
    return strcmp (word, "-h") == 0 ? "--help" : word;
}

int cli_args_find_verb (int argc, char **argv, const cli_opt_t *globals)
{
    for (int i = 1; i < argc; i++) {
        const char *word = s_canonical (argv[i]);
        if (!s_is_option (word))
            return i;
        if (strncmp (word, "--", 2) != 0 || strchr (word, '='))
            continue;
        const cli_opt_t *o = s_lookup (globals, word);
        if (!o || !(o->flags & CLI_OPT_FLAG))
            i++; /* skip its value */
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

static int s_add (cli_args_t *self, const cli_opt_t *o, const char *value, char *err, size_t errlen)
{
    if (!(o->flags & CLI_OPT_REPEAT) && cli_args_has (self, o->name))
        return s_fail (err, errlen, "option --%s is given more than once", o->name);
    if (self->count == CLI_ARGS_MAX)
        return s_fail (err, errlen, "too many options (at most %d values)", CLI_ARGS_MAX);
    self->items[self->count].name = o->name;
    self->items[self->count].value = value;
    self->count++;
    return 0;
}

/*  Parses the option at argv[*i]; advances *i past its value. *last is the
 *  option that plain words may continue (a repeatable one), or NULL. */
static int s_parse_option (cli_args_t *self, int argc, char **argv, int *i,
                           const cli_opt_t *globals, const cli_opt_t *verb_opts,
                           const cli_opt_t **last, char *err, size_t errlen)
{
    const char *word = s_canonical (argv[*i]);
    if (strncmp (word, "--", 2) != 0 || word[2] == 0)
        return s_fail (err, errlen, "unknown option '%s': porthole options are long, as --name",
                       word);
    const cli_opt_t *o = s_lookup (globals, word);
    if (!o)
        o = s_lookup (verb_opts, word);
    if (!o)
        return s_fail (err, errlen, "unknown option '%.*s'", (int)strcspn (word, "="), word);
    const char *eq = strchr (word, '=');
    *last = NULL;
    if (o->flags & CLI_OPT_FLAG) {
        if (eq)
            return s_fail (err, errlen, "option --%s takes no value", o->name);
        return s_add (self, o, "", err, errlen);
    }
    if (eq)
        return s_add (self, o, eq + 1, err, errlen);
    if (*i + 1 >= argc)
        return s_fail (err, errlen, "option --%s needs a value", o->name);
    *i += 1;
    if (o->flags & CLI_OPT_REPEAT)
        *last = o;
    return s_add (self, o, argv[*i], err, errlen);
}

int cli_args_parse (cli_args_t *self, int argc, char **argv, int verb_at, const cli_opt_t *globals,
                    const cli_opt_t *verb_opts, char *err, size_t errlen)
{
    memset (self, 0, sizeof *self);
    self->verb = verb_at > 0 ? argv[verb_at] : NULL;
    const cli_opt_t *last = NULL;
    for (int i = 1; i < argc; i++) {
        if (i == verb_at) {
            last = NULL;
            continue;
        }
        if (s_is_option (argv[i])) {
            if (s_parse_option (self, argc, argv, &i, globals, verb_opts, &last, err, errlen))
                return PH_EINVAL;
        } else if (last) {
            if (s_add (self, last, argv[i], err, errlen))
                return PH_EINVAL;
        } else
            return s_fail (err, errlen, "unexpected argument '%s'", argv[i]);
    }
    return 0;
}

const char *cli_args_get (const cli_args_t *self, const char *name)
{
    const char *value = NULL;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->items[i].name, name) == 0)
            value = self->items[i].value;
    return value;
}

bool cli_args_has (const cli_args_t *self, const char *name)
{
    return cli_args_get (self, name) != NULL;
}

size_t cli_args_count (const cli_args_t *self, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->items[i].name, name) == 0)
            n++;
    return n;
}

const char *cli_args_nth (const cli_args_t *self, const char *name, size_t n)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->items[i].name, name) == 0 && n-- == 0)
            return self->items[i].value;
    return NULL;
}
