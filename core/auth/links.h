/* links — the unguessable tokens in links sent to beneficiaries: /r/{token}
 * (see or cancel an appointment) and /s/{token} (the satisfaction survey).
 *
 * A token is base64url(HMAC-SHA256(secret, purpose ‖ enrollment id)) cut to
 * 22 characters (132 bits): the same enrollment always gets the same link,
 * so a message resent after a crash is byte-for-byte the one first sent.
 * Only SHA-256(token) is stored (table links), which is how a token is
 * looked up. The secret comes from the config key link_secret (env "…"), or
 * else from a file created once beside the database (mode 0600), never from
 * the repository. Each token serves one purpose only.
 */
#ifndef RELAIS_LINKS_H
#define RELAIS_LINKS_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define LINKS_TOKEN_LEN 22
#define LINKS_EXPIRE_DEFAULT (90 * 86400)   /* after the session's end */
#define LINKS_EXPIRED 2                     /* links_lookup: a link past its time */

enum links_purpose { LINKS_APPOINTMENT = 'r', LINKS_SURVEY = 's' };

/* Loads or creates the secret (see above). 0 or -1 with *err (malloc'd). */
int links_init(const char *config_secret, const char *database_path, char **err);
void links_shutdown(void);
/* The token for ENROLLMENT_ID and PURPOSE into OUT (≥ LINKS_TOKEN_LEN + 1),
 * recording its hash (idempotent). 0 or -1. */
int links_token(struct store *st, enum links_purpose purpose, int64_t enrollment_id, char *out);
/* The enrollment a presented token stands for: 1 found, LINKS_EXPIRED
 * (*ENROLLMENT_ID filled) when its session ended more than the expiry ago,
 * 0 unknown (or for another purpose), -1 error. */
int links_lookup(struct store *st, enum links_purpose purpose, const char *token,
                 int64_t *enrollment_id);
/* How long after its session's end a link still works, in seconds (> 0;
 * LINKS_EXPIRE_DEFAULT until set). */
void links_set_expiry(int64_t seconds);

#endif
