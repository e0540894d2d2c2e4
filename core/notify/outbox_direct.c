/* outbox_direct — a message handed to a channel's sender at once, outside
 * the queue: for what is not a beneficiary's notification (a staff member's
 * set-password invitation, core/auth/auth_invite.c). No row, no retry: the
 * caller hears the sender's answer and tells its own client. */
#include "outbox_internal.h"

#include "log.h"

int outbox_send_direct(struct outbox *ob, const char *channel, int64_t id,
                       const cJSON *data, outbox_done_fn done, void *token)
{
    int ch = outbox_channel_index(channel);
    struct outbox_msg m = {id, channel, data};

    if (!ob || ch < 0 || !ob->senders[ch].fn || !done)
        return -1;
    /* A sender that could not start said so by its return: it will not
     * call DONE then. */
    if (ob->senders[ch].fn(ob->senders[ch].arg, &m, done, token) != 0) {
        log_warn("outbox", "the %s sender could not take message %lld", channel, (long long)id);
        return -1;
    }
    return 0;
}
