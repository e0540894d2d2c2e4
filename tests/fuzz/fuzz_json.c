/* Request JSON decoding: the strict grammar check, UTF-8 check and cJSON
 * must agree — whatever passes the check must parse, and must not crash the
 * field getters. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct json_check c;
    cJSON *root;
    const char *str;
    int64_t i64;
    int b, idx;
    static const char *const kinds[] = {"workshop", "permanence", "training", NULL};
    static const char *const allowed[] = {"name", "n", "t", "b", "k", NULL};

    if (json_utf8_valid(s, size) != 1 || json_syntax_check(s, size, NULL) != 0)
        return 0;
    root = cJSON_ParseWithLength(s, size);
    if (!root)
        abort();   /* the grammar check let through what cJSON refuses */
    json_check_init(&c);
    if (cJSON_IsObject(root)) {
        json_check_known(&c, root, allowed);
        json_get_str(&c, root, "name", 1, 200, &str);
        json_get_int(&c, root, "n", 0, -5, 1000000, &i64);
        json_get_time(&c, root, "t", 0, &i64);
        json_get_bool(&c, root, "b", 0, &b);
        json_get_enum(&c, root, "k", 0, kinds, &idx);
    }
    json_check_free(&c);
    cJSON_Delete(root);
    return 0;
}
