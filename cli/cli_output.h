/*  cli_output: renders a verb's result, built as a jansson document whose
 *  member names are those of `aws ssm` (InstanceId, PingStatus, ...), in
 *  the format chosen with --output:
 *    json   the document, pretty-printed (indent 4); for scripts;
 *    table  aligned columns under a header, one row per record;
 *    text   tab-separated values, one record per line (aws --output text).
 *  A view names the list of records and the columns to show.
 */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include "cli.h"

#include <jansson.h>
#include <stdint.h>

#define CLI_CELL_MAX 60 /* table cells longer than this are cut with "..." */

typedef struct {
    const char *field;  /* member of a record; NULL ends the list */
    const char *header; /* table header */
} cli_col_t;

typedef struct {
    const char *list_key;  /* member holding the array of records; NULL: doc is the record */
    const cli_col_t *cols; /* table columns */
    const char *const *text_fields; /* text output; NULL: the table columns */
    const char *footer_key;         /* optional member shown after the records (NextToken) */
} cli_view_t;

/*  Prints doc on stdout in ctx->output format. Returns 0 or PH_EIO when
 *  stdout could not be written. */
int cli_output_print (const cli_ctx_t *ctx, const json_t *doc, const cli_view_t *view);

/*  Parses "json", "table" or "text". Returns 0 or PH_EINVAL. */
int cli_output_parse (const char *name, cli_output_t *out);

/*  A new JSON string of the ISO 8601 UTC time of ms, or JSON null for 0. */
json_t *cli_json_time (uint64_t ms);

/*  A new JSON string of s (NULL gives ""). */
json_t *cli_json_str (const char *s);

#endif
