/*  cli_filter: parses --filters values into Filter messages.
 *
 *  Syntax, as aws ssm accepts it (names case-insensitive):
 *      Key=tag:role,Values=web,db      Key=Target,Value=mi-0123456789abcdef0
 */
#ifndef CLI_FILTER_H
#define CLI_FILTER_H

#include "cli_args.h"
#include "ph_wire.h"

#include <stddef.h>

#define CLI_FILTERS_MAX       20  /* --filters per request */
#define CLI_FILTER_VALUES_MAX 100 /* values per filter */

typedef struct {
    Porthole__V1__Filter *items[CLI_FILTERS_MAX];
    size_t count;
} cli_filters_t;

/*  Parses every value of option "filters" in args. When allowed is not
 *  NULL (a NULL-terminated list), a key must be one of them (any case; it
 *  is sent as spelt in the list). Returns 0, or PH_EINVAL with the reason
 *  in err. Call cli_filters_free in every case. */
int cli_filters_parse (cli_filters_t *self, const cli_args_t *args, const char *const *allowed,
                       char *err, size_t errlen);

void cli_filters_free (cli_filters_t *self);

#endif
