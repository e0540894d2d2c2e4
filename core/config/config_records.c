/* config_records.c — the keys of the programme's records in the
 * configuration file (struct config_records, etc/relais.conf.lua):
 *
 *   territory = { qpv = {"Le Biollay", …}, qva = {…} }
 *   themes    = { "smartphone", "ordinateur", … }
 *   reports   = { age_brackets = { 26, 36, 46, 56 } }
 *
 * Names are kept as written; matching them against what people type
 * (case, accents) is the domain's business (core/domain/records.c). Themes are
 * stored with the accompaniments as they are written here, so they may hold
 * no control character (the domain joins them with U+001F when reading). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "config_internal.h"

#define MAX_NAMES     500   /* neighbourhoods in one territory list */
#define MAX_NAME_LEN  100   /* bytes, as a beneficiary's neighborhood */
#define MAX_AGE       150

/* The programme's typology of supports (the contract's default list). */
static const char *const default_themes[] = {
    "smartphone", "ordinateur", "e-mail", "internet", "bons usages", "identité numérique",
    "démarches en ligne", "santé", "impôts", "droits et allocations", "emploi", "énergie",
    "autre",
};
static const int default_brackets[] = {26, 36, 46, 56};

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Reads the list of names at IDX into *LIST / *N (replacing what was there:
 * the old list is freed first, and the new one is attached at once so that
 * an error raised half-way leaks nothing). UNIQUE: a name given twice is an
 * error. */
static void read_names(lua_State *L, int idx, const char *name, char ***list, size_t *n,
                       size_t max, int unique)
{
    static const char what[] = "a list of names like {\"Le Biollay\", \"Bellevue\"}";
    size_t count = config_list_len(L, idx, name, what, max);
    char **fresh = calloc(count ? count : 1, sizeof *fresh);

    if (!fresh)
        config_bad(L, "out of memory");
    free_list(*list, *n);
    *list = fresh;
    *n = 0;
    for (size_t i = 0; i < count; i++) {
        char item[192];
        const char *s;
        size_t len;

        snprintf(item, sizeof item, "%s[%d]", name, (int)i + 1);
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        s = config_get_str(L, -1, item, "a name (a string)");
        len = strlen(s);
        if (len == 0 || len > MAX_NAME_LEN)
            config_bad(L, "'%s' must be a name of 1 to %d bytes", item, MAX_NAME_LEN);
        for (size_t k = 0; k < len; k++)
            if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
                config_bad(L, "'%s' must not hold control characters", item);
        if (s[0] == ' ' || s[len - 1] == ' ')
            config_bad(L, "'%s' must not start or end with a space", item);
        if (unique)
            for (size_t j = 0; j < i; j++)
                if (strcmp(fresh[j], s) == 0)
                    config_bad(L, "'%s' repeats \"%s\"", item, s);
        if (!(fresh[i] = strdup(s)))
            config_bad(L, "out of memory");
        *n = i + 1;
        lua_pop(L, 1);
    }
}

static void k_qpv(lua_State *L, int idx, const char *name, struct config *cfg)
{
    read_names(L, idx, name, &cfg->records.qpv, &cfg->records.n_qpv, MAX_NAMES, 0);
}

static void k_qva(lua_State *L, int idx, const char *name, struct config *cfg)
{
    read_names(L, idx, name, &cfg->records.qva, &cfg->records.n_qva, MAX_NAMES, 0);
}

void config_k_territory(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"qpv", k_qpv}, {"qva", k_qva}};

    if (lua_type(L, idx) != LUA_TTABLE || config_table_is_list(L, idx))
        config_bad(L, "'%s' must be a table {qpv = {\"Le Biollay\", …}, qva = {…}}", name);
    config_walk(L, idx, name, fields, 2, cfg);
}

void config_k_themes(lua_State *L, int idx, const char *name, struct config *cfg)
{
    read_names(L, idx, name, &cfg->records.themes, &cfg->records.n_themes,
               CONFIG_MAX_THEMES, 1);
    if (cfg->records.n_themes == 0)
        config_bad(L, "'%s' must list at least one theme", name);
}

static void k_age_brackets(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const char what[] = "a list of ages like {26, 36, 46, 56}";
    size_t n = config_list_len(L, idx, name, what, CONFIG_MAX_AGE_BRACKETS);

    if (n == 0)
        config_bad(L, "'%s' must be %s", name, what);
    for (size_t i = 0; i < n; i++) {
        char item[192];
        lua_Integer v = 0;
        int ok = 0;

        snprintf(item, sizeof item, "%s[%d]", name, (int)i + 1);
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        if (lua_type(L, -1) == LUA_TNUMBER)
            v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 1 || v > MAX_AGE)
            config_bad(L, "'%s' must be a whole number of years from 1 to %d", item, MAX_AGE);
        /* Each bracket starts where the one before ends: the ages must
         * grow, or a bracket would be empty or overlap. */
        if (i > 0 && v <= cfg->records.age_brackets[i - 1])
            config_bad(L, "'%s' must be greater than the age before it", item);
        cfg->records.age_brackets[i] = (int)v;
        lua_pop(L, 1);
    }
    cfg->records.n_age_brackets = n;
}

void config_k_reports(lua_State *L, int idx, const char *name, struct config *cfg)
{
    static const struct config_field fields[] = {{"age_brackets", k_age_brackets}};

    if (lua_type(L, idx) != LUA_TTABLE || config_table_is_list(L, idx))
        config_bad(L, "'%s' must be a table {age_brackets = {26, 36, 46, 56}}", name);
    config_walk(L, idx, name, fields, 1, cfg);
}

int config_records_defaults(struct config *cfg)
{
    struct config_records *r = &cfg->records;
    size_t n = sizeof default_themes / sizeof default_themes[0];

    r->themes = calloc(n, sizeof *r->themes);
    if (!r->themes)
        return -1;
    for (; r->n_themes < n; r->n_themes++)
        if (!(r->themes[r->n_themes] = strdup(default_themes[r->n_themes])))
            return -1;
    r->n_age_brackets = sizeof default_brackets / sizeof default_brackets[0];
    memcpy(r->age_brackets, default_brackets, sizeof default_brackets);
    return 0;
}

void config_records_free(struct config *cfg)
{
    struct config_records *r = &cfg->records;

    free_list(r->qpv, r->n_qpv);
    free_list(r->qva, r->n_qva);
    free_list(r->themes, r->n_themes);
    r->qpv = r->qva = r->themes = NULL;
    r->n_qpv = r->n_qva = r->n_themes = 0;
}
