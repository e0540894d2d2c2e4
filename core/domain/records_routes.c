/* records_routes — the routes of the records (see records.h): the
 * vocabulary, then each resource's own. Apart from records.c, which the
 * resource files use, so that nothing they use calls back into them. */
#include "records.h"

int records_register(struct http_server *hs)
{
    if (records_vocabulary_register(hs) != 0 ||
        organisations_register(hs) != 0 || accompaniments_register(hs) != 0 ||
        walkins_register(hs) != 0 || meetings_register(hs) != 0 ||
        equipment_register(hs) != 0 || loans_register(hs) != 0)
        return -1;
    return 0;
}
