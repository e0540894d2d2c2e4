/* json_print — the text of a cJSON tree, as cJSON_PrintUnformatted writes
 * it, faster (see core/util/json.h).
 *
 * Every answer of the API goes through here. cJSON prints each number with
 * sprintf("%1.15g") and reads it back with sscanf to check it, and grows its
 * buffer as it goes; the ids and counts that make up most of our numbers are
 * integers, which need neither. The profile of a 50-session page put a third
 * of its time in cJSON's printer (docs/benchmarks.md). The output is the
 * same byte for byte: tests/unit/test_json checks it against cJSON's. */
#include "json.h"

#include <string.h>

#include "json_write.h"

#define MAX_DEPTH 1000   /* cJSON's own nesting limit */

/* Written with the primitives of core/util/json_write.c: one escaping, one way
 * of printing numbers for both. */
static void put_item(struct jw *o, const cJSON *it, int depth)
{
    const cJSON *c;

    if (depth > MAX_DEPTH) {
        o->bad = 1;
        return;
    }
    switch (it->type & 0xFF) {
    case cJSON_False: jw_put(o, "false", 5); break;
    case cJSON_True: jw_put(o, "true", 4); break;
    case cJSON_NULL: jw_put(o, "null", 4); break;
    case cJSON_Number: jw_put_number(o, it->valuedouble); break;
    case cJSON_String: jw_put_string(o, it->valuestring); break;
    case cJSON_Raw:
        if (!it->valuestring)
            o->bad = 1;
        else
            jw_put(o, it->valuestring, strlen(it->valuestring));
        break;
    case cJSON_Array:
        jw_put(o, "[", 1);
        for (c = it->child; c && !o->bad; c = c->next) {
            put_item(o, c, depth + 1);
            if (c->next)
                jw_put(o, ",", 1);
        }
        jw_put(o, "]", 1);
        break;
    case cJSON_Object:
        jw_put(o, "{", 1);
        for (c = it->child; c && !o->bad; c = c->next) {
            jw_put_string(o, c->string);
            jw_put(o, ":", 1);
            put_item(o, c, depth + 1);
            if (c->next)
                jw_put(o, ",", 1);
        }
        jw_put(o, "}", 1);
        break;
    default:
        o->bad = 1;
    }
}

char *json_print(const cJSON *doc, size_t *len)
{
    struct jw o;

    if (!doc)
        return NULL;
    jw_init(&o, 1024);
    put_item(&o, doc, 0);
    return jw_take(&o, len);
}
