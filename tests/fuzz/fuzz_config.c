/* The config loader: any file text is refused or accepted, never a crash,
 * a hang past the instruction budget, or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct config *cfg = NULL;
    char *err = NULL;
    FILE *f;

    if (!path[0])
        snprintf(path, sizeof path, "/tmp/relais-fuzz-config-%d.lua", (int)getpid());
    f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    if (config_load(path, &cfg, &err) == 0)
        config_free(cfg);
    free(err);
    return 0;
}
