/*  ph_config: see ph_config.h. Entries are kept in file order so that a
 *  file that is loaded, changed and saved keeps its layout. */
#include "ph_config.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PH_CONFIG_FILE_MAX (256 * 1024)

typedef struct s_entry_t {
    struct s_entry_t *next;
    char *section, *key, *value;
} s_entry_t;

struct _ph_config_t {
    s_entry_t *head, *tail;
};

ph_config_t *ph_config_new (void)
{
    return calloc (1, sizeof (ph_config_t));
}

void ph_config_destroy (ph_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_entry_t *e = (*self_p)->head;
    while (e) {
        s_entry_t *next = e->next;
        free (e->section);
        free (e->key);
        free (e->value);
        free (e);
        e = next;
    }
    free (*self_p);
    *self_p = NULL;
}

static char *s_trim (char *s)
{
    while (isspace ((unsigned char)*s))
        s++;
    char *end = s + strlen (s);
    while (end > s && isspace ((unsigned char)end[-1]))
        *--end = 0;
    return s;
}

static void s_append (ph_config_t *self, const char *section, const char *key, const char *value)
{
    s_entry_t *e = calloc (1, sizeof *e);
    e->section = strdup (section);
    e->key = strdup (key);
    e->value = strdup (value);
    if (self->tail)
        self->tail->next = e;
    else
        self->head = e;
    self->tail = e;
}

/*  Parses one line; section is updated for [headers]. */
static int s_parse_line (ph_config_t *self, char *line, char *section, size_t seclen)
{
    char *s = s_trim (line);
    if (!*s || *s == '#' || *s == ';')
        return 0;
    if (*s == '[') {
        char *close = strchr (s, ']');
        if (!close || close[1])
            return PH_EINVAL;
        *close = 0;
        snprintf (section, seclen, "%s", s_trim (s + 1));
        return 0;
    }
    char *eq = strchr (s, '=');
    if (!eq)
        return PH_EINVAL;
    *eq = 0;
    char *key = s_trim (s);
    if (!*key)
        return PH_EINVAL;
    s_append (self, section, key, s_trim (eq + 1));
    return 0;
}

ph_config_t *ph_config_load (const char *path, char *err, size_t errlen)
{
    ph_config_t *self = ph_config_new ();
    FILE *f = fopen (path, "r");
    if (!f)
        return self;
    char line[4096], section[256] = "";
    int lineno = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        if (s_parse_line (self, line, section, sizeof section) != 0) {
            snprintf (err, errlen, "%s:%d: expected 'key = value' or '[section]'", path, lineno);
            fclose (f);
            ph_config_destroy (&self);
            return NULL;
        }
    }
    fclose (f);
    return self;
}

const char *ph_config_get (const ph_config_t *self, const char *section, const char *key)
{
    for (s_entry_t *e = self->head; e; e = e->next)
        if (strcmp (e->section, section) == 0 && strcmp (e->key, key) == 0)
            return e->value;
    return NULL;
}

int ph_config_set (ph_config_t *self, const char *section, const char *key, const char *value)
{
    if (strpbrk (value, "\r\n") || strpbrk (key, "\r\n=[]") || strpbrk (section, "\r\n[]"))
        return PH_EINVAL;
    s_entry_t *last_in_section = NULL;
    for (s_entry_t *e = self->head; e; e = e->next) {
        if (strcmp (e->section, section) != 0)
            continue;
        last_in_section = e;
        if (strcmp (e->key, key) == 0) {
            free (e->value);
            e->value = strdup (value);
            return 0;
        }
    }
    if (!last_in_section) {
        s_append (self, section, key, value);
        return 0;
    }
    s_entry_t *e = calloc (1, sizeof *e);
    e->section = strdup (section);
    e->key = strdup (key);
    e->value = strdup (value);
    e->next = last_in_section->next;
    last_in_section->next = e;
    if (self->tail == last_in_section)
        self->tail = e;
    return 0;
}

int ph_config_save (const ph_config_t *self, const char *path, unsigned mode)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc (cap);
    const char *section = NULL;
    for (s_entry_t *e = self->head; e; e = e->next) {
        size_t need = strlen (e->section) + strlen (e->key) + strlen (e->value) + 16;
        if (len + need > cap) {
            cap = (len + need) * 2;
            buf = realloc (buf, cap);
        }
        if (!section || strcmp (section, e->section) != 0) {
            if (*e->section)
                len += (size_t)sprintf (buf + len, "%s[%s]\n", len ? "\n" : "", e->section);
            section = e->section;
        }
        len += (size_t)sprintf (buf + len, "%s = %s\n", e->key, e->value);
    }
    int rc = ph_file_write (path, buf, len, mode);
    free (buf);
    return rc;
}
