/*  ph_log: one line per event on stderr, "TIME LEVEL program: message".
 *  The level comes from PORTHOLE_LOG (debug|info|warn|error, default info).
 *  Never blocks on anything but stderr itself.
 */
#ifndef PH_LOG_H
#define PH_LOG_H

#include <stdarg.h>

typedef enum { PH_LOG_DEBUG = 0, PH_LOG_INFO, PH_LOG_WARN, PH_LOG_ERROR } ph_log_level_t;

/*  Sets the program name shown on every line and reads PORTHOLE_LOG. */
void ph_log_init (const char *program);

void ph_log (ph_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define ph_debug(...) ph_log (PH_LOG_DEBUG, __VA_ARGS__)
#define ph_info(...)  ph_log (PH_LOG_INFO, __VA_ARGS__)
#define ph_warn(...)  ph_log (PH_LOG_WARN, __VA_ARGS__)
#define ph_error(...) ph_log (PH_LOG_ERROR, __VA_ARGS__)

#endif
