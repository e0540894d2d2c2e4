/* outbox_config — what the outbox takes from the configuration (rules,
 * public URL, the invitations' organizer) at start and on SIGHUP, and the
 * senders the plugins register for a channel.
 */
#include "outbox_internal.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "ical.h"
#include "log.h"

/* The invitations' organizer from the email config's "from", which is
 * "addr" or "Name <addr>"; without one, invitations name no organizer. */
static void organizer_from(struct outbox *ob, const struct config *cfg)
{
    const cJSON *from = cfg->email ? cJSON_GetObjectItemCaseSensitive(cfg->email, "from") : NULL;
    const char *v = cJSON_IsString(from) ? from->valuestring : NULL;
    const char *lt, *gt;

    free(ob->org_addr);
    free(ob->org_name);
    ob->org_addr = ob->org_name = NULL;
    if (!v || !*v)
        return;
    lt = strchr(v, '<');
    gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) {
        size_t nl = (size_t)(lt - v);
        while (nl > 0 && (v[nl - 1] == ' ' || v[nl - 1] == '"'))
            nl--;
        while (nl > 0 && (*v == ' ' || *v == '"')) {
            v++;
            nl--;
        }
        ob->org_name = nl ? strndup(v, nl) : NULL;
        ob->org_addr = strndup(lt + 1, (size_t)(gt - lt - 1));
    } else {
        ob->org_addr = strdup(v);
    }
}

/* The rules and addresses of CFG into OB (replacing what it had). 0 or -1
 * (OB unchanged). */
int outbox_apply_config(struct outbox *ob, const struct config *cfg)
{
    int64_t *before = NULL;
    char *url = NULL;
    size_t len;

    if (cfg->n_reminder_before > 0) {
        if (!(before = malloc(cfg->n_reminder_before * sizeof *before)))
            return -1;
        memcpy(before, cfg->reminder_before, cfg->n_reminder_before * sizeof *before);
    }
    if (!(url = strdup(cfg->public_url ? cfg->public_url : ""))) {
        free(before);
        return -1;
    }
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        url[--len] = '\0';
    free(ob->before);
    free(ob->public_url);
    ob->before = before;
    ob->public_url = url;
    organizer_from(ob, cfg);
    ob->rules.quiet_enabled = cfg->quiet_enabled;
    ob->rules.quiet_from_min = cfg->quiet_from_min;
    ob->rules.quiet_to_min = cfg->quiet_to_min;
    ob->rules.confirmation = cfg->reminder_confirmation;
    ob->rules.before = before;
    ob->rules.nbefore = cfg->n_reminder_before;
    ob->rules.survey_after = cfg->survey_after;
    ob->rules.retry_first = cfg->retry_first;
    ob->rules.retry_max = cfg->retry_max;
    ob->rules.max_attempts = cfg->retry_attempts;
    ical_uid_host(url, ob->host, sizeof ob->host);
    return 0;
}

void outbox_reconfigure(struct outbox *ob, const struct config *cfg)
{
    if (!ob || !cfg)
        return;
    if (outbox_apply_config(ob, cfg) != 0) {
        log_error("outbox", "out of memory: keeping the previous notification rules");
        return;
    }
    outbox_kick(ob);
}

int outbox_set_sender(struct outbox *ob, const char *channel, outbox_sender_fn fn, void *arg)
{
    int ch = outbox_channel_index(channel);

    if (!ob || ch < 0)
        return -1;
    ob->senders[ch].fn = fn;
    ob->senders[ch].arg = fn ? arg : NULL;
    outbox_kick(ob);
    return 0;
}
