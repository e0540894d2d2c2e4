/* http_page — one page of a list answered from a statement: the loop every
 * list handler shares (venues, staff, beneficiaries, enrollments,
 * notifications). It lives with the replies, not with any resource, so that
 * a module that answers lists needs only the http module
 * (core/http/http.h, "lists").
 */
#include "http.h"

#include <sqlite3.h>

int http_reply_page(struct http_req *req, sqlite3_stmt *s, const struct http_page *page,
                    cJSON *(*render)(sqlite3_stmt *s), int k1, int k2)
{
    cJSON *items = cJSON_CreateArray(), *o;
    int64_t last1 = 0, last2 = 0;
    int n = 0, more = 0, rc;
    char next[64];

    if (!items)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == page->limit) {
            more = 1;
            break;
        }
        if (!(o = render(s)) || !cJSON_AddItemToArray(items, o)) {
            cJSON_Delete(o);
            goto fail;
        }
        last1 = sqlite3_column_int64(s, k1);
        last2 = k2 >= 0 ? sqlite3_column_int64(s, k2) : 0;
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    if (more)
        http_cursor_encode(last1, last2, next, sizeof next);
    http_reply_list(req, items, more ? next : NULL);
    return 0;
fail:
    cJSON_Delete(items);
    return -1;
}
