/*  cli_filter: see cli_filter.h. */
#include "cli_filter.h"
#include "ph_errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CLI_FILTER_EXAMPLE "write Key=NAME,Values=V1[,V2...]"

/*  Length of the "Values=" or "Value=" prefix at p (any case), or 0. */
static size_t s_values_prefix (const char *p)
{
    if (strncasecmp (p, "values=", 7) == 0)
        return 7;
    if (strncasecmp (p, "value=", 6) == 0)
        return 6;
    return 0;
}

/*  Finds ",Values=" in text; returns its position or NULL. */
static const char *s_find_values (const char *text)
{
    for (const char *p = strchr (text, ','); p; p = strchr (p + 1, ','))
        if (s_values_prefix (p + 1))
            return p;
    return NULL;
}

static int s_check_key (char **key, const char *const *allowed, char *err, size_t errlen)
{
    if (!**key) {
        snprintf (err, errlen, "a filter has an empty Key; " CLI_FILTER_EXAMPLE);
        return PH_EINVAL;
    }
    if (strncasecmp (*key, "tag:", 4) == 0 && !(*key)[4]) {
        snprintf (err, errlen, "filter key 'tag:' names no tag; write Key=tag:NAME,Values=V");
        return PH_EINVAL;
    }
    if (!allowed)
        return 0;
    for (size_t i = 0; allowed[i]; i++)
        if (strcasecmp (*key, allowed[i]) == 0) {
            free (*key);
            *key = strdup (allowed[i]);
            return 0;
        }
    char list[256] = "";
    for (size_t i = 0; allowed[i]; i++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", i ? ", " : "",
                  allowed[i]);
    snprintf (err, errlen, "filter key '%s' is not known; use one of %s", *key, list);
    return PH_EINVAL;
}

static int s_split_values (Porthole__V1__Filter *f, const char *values, char *err, size_t errlen)
{
    f->values = calloc (CLI_FILTER_VALUES_MAX, sizeof *f->values);
    const char *p = values;
    while (*p || f->n_values == 0) {
        size_t n = strcspn (p, ",");
        if (n == 0) {
            snprintf (err, errlen, "filter %s has an empty value; " CLI_FILTER_EXAMPLE, f->key);
            return PH_EINVAL;
        }
        if (f->n_values == CLI_FILTER_VALUES_MAX) {
            snprintf (err, errlen, "filter %s has more than %d values", f->key,
                      CLI_FILTER_VALUES_MAX);
            return PH_EINVAL;
        }
        f->values[f->n_values++] = strndup (p, n);
        p += n;
        if (*p == ',' && !*++p) {
            snprintf (err, errlen, "filter %s ends with ','; " CLI_FILTER_EXAMPLE, f->key);
            return PH_EINVAL;
        }
    }
    return 0;
}

static int s_parse_one (cli_filters_t *self, const char *text, const char *const *allowed,
                        char *err, size_t errlen)
{
    const char *comma = s_find_values (text);
    if (strncasecmp (text, "key=", 4) != 0 || !comma) {
        snprintf (err, errlen, "filter '%s' is not understood; " CLI_FILTER_EXAMPLE, text);
        return PH_EINVAL;
    }
    static const Porthole__V1__Filter init = PORTHOLE__V1__FILTER__INIT;
    Porthole__V1__Filter *f = malloc (sizeof *f);
    *f = init;
    self->items[self->count++] = f;
    f->key = strndup (text + 4, (size_t)(comma - text - 4));
    if (s_check_key (&f->key, allowed, err, errlen))
        return PH_EINVAL;
    return s_split_values (f, comma + 1 + s_values_prefix (comma + 1), err, errlen);
}

int cli_filters_parse (cli_filters_t *self, const cli_args_t *args, const char *const *allowed,
                       char *err, size_t errlen)
{
    memset (self, 0, sizeof *self);
    size_t n = cli_args_count (args, "filters");
    if (n > CLI_FILTERS_MAX) {
        snprintf (err, errlen, "too many --filters (at most %d)", CLI_FILTERS_MAX);
        return PH_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (s_parse_one (self, cli_args_nth (args, "filters", i), allowed, err, errlen))
            return PH_EINVAL;
    return 0;
}

void cli_filters_free (cli_filters_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        Porthole__V1__Filter *f = self->items[i];
        for (size_t k = 0; k < f->n_values; k++)
            free (f->values[k]);
        free (f->values);
        free (f->key);
        free (f);
    }
    self->count = 0;
}
