/*  ph_util: small pure helpers shared by every program: clocks, parsing of
 *  user-facing values (durations, tag lists, booleans), UTF-8 checks, and
 *  files written atomically with a given mode. Nothing here blocks except
 *  the file helpers, which callers use outside any reactor or at start-up.
 */
#ifndef PH_UTIL_H
#define PH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_TAGS_MAX      50 /* tags per instance or activation */
#define PH_TAG_KEY_MAX   128
#define PH_TAG_VALUE_MAX 256

/*  Wall clock and monotonic clock, in milliseconds. */
uint64_t ph_now_ms (void);
uint64_t ph_mono_ms (void);

/*  Parses "90", "90s", "15m", "24h", "7d" into seconds. Returns 0 or
 *  PH_EINVAL. */
int ph_parse_duration (const char *text, uint64_t *seconds);

/*  Parses "true|false|yes|no|1|0|on|off". Returns 0 or PH_EINVAL. */
int ph_parse_bool (const char *text, bool *value);

/*  Parses an unsigned decimal within [min, max]. Returns 0 or PH_EINVAL. */
int ph_parse_uint (const char *text, uint64_t min, uint64_t max, uint64_t *value);

typedef struct {
    char key[PH_TAG_KEY_MAX + 1];
    char value[PH_TAG_VALUE_MAX + 1];
} ph_tag_t;

/*  Parses "k=v,k2=v2" into at most max tags. Keys are [A-Za-z0-9_.:/+-@]
 *  of 1..128 characters, values 0..256 characters without ',' or '='.
 *  Returns the number of tags, or PH_EINVAL with a reason in err. */
int ph_parse_tags (const char *text, ph_tag_t *tags, size_t max, char *err, size_t errlen);

/*  True when the len bytes at s are valid UTF-8 (no overlongs, no
 *  surrogates, nothing above U+10FFFF). */
bool ph_utf8_valid (const char *s, size_t len);

/*  True for a name made of [A-Za-z0-9_.@-], 1..64 characters: user names,
 *  profile names. */
bool ph_name_valid (const char *name);

/*  True for a log group or log stream name: 1..PH_LOG_NAME_MAX of
 *  [A-Za-z0-9_.-/#] (as CloudWatch Logs allows, less a few). */
#define PH_LOG_NAME_MAX 512
bool ph_log_name_valid (const char *name);

/*  Writes printf-style text into err (nothing when err is NULL or errlen
 *  is 0): the error-message out-parameter of many functions. */
void ph_set_err (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  strerror_r, thread-safe (the GNU variant): the text of errno value e,
 *  in buf or a static string. */
const char *ph_errstr (int e, char *buf, size_t len);

/*  Base64 (RFC 4648 alphabet, with padding). Encode writes
 *  PH_BASE64_LEN(len) bytes, NUL included, and returns the length. */
#define PH_BASE64_LEN(n) (((n) + 2) / 3 * 4 + 1)
size_t ph_base64_encode (const void *data, size_t len, char *out);

/*  Decodes len characters of canonical padded base64 into out (at least
 *  len / 4 * 3 bytes). Returns the byte count, or PH_EINVAL for anything
 *  else (bad length, characters, padding or non-zero spare bits). */
long ph_base64_decode (const char *text, size_t len, uint8_t *out);

/*  Decodes 2*len hex digits (either case) into len bytes. Returns 0 or
 *  PH_EINVAL. */
int ph_unhex (const char *hex, uint8_t *out, size_t len);

/*  True for "mi-" followed by 17 lowercase hex digits. */
bool ph_instance_id_valid (const char *id);

/*  Writes len bytes to path atomically (temp file + rename) with mode.
 *  Blocks on the disk. Returns 0 or PH_EIO. */
int ph_file_write (const char *path, const void *data, size_t len, unsigned mode);

/*  Reads a whole file of at most max bytes into a NUL-terminated heap
 *  buffer that the caller frees. Returns NULL when missing or too big. */
char *ph_file_read (const char *path, size_t max, size_t *len);

/*  mkdir -p with mode for every directory it creates. Returns 0 or PH_EIO. */
int ph_mkdir_p (const char *path, unsigned mode);

/*  Formats milliseconds since the epoch as ISO 8601 UTC with milliseconds
 *  ("2026-11-25T15:04:05.123Z") into buf (at least 32 bytes). */
void ph_format_time (uint64_t ms, char *buf, size_t len);

#endif
