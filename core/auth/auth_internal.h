/* auth_internal — what auth.c (sign-in, sessions), auth_password.c (the
 * password rules, secrets) and auth_invite.c (e-mailed set-password links)
 * share. Not a module contract: other modules go through auth.h. */
#ifndef RELAIS_AUTH_INTERNAL_H
#define RELAIS_AUTH_INTERNAL_H

#include <stdint.h>

#include "auth.h"

struct pwhash;

/* Failures remembered per key (a client address or an e-mail, kept as the
 * first bytes of their SHA-256, so no address is held in clear), in sets of
 * FAIL_WAYS by hash: a new key takes the set's entry used longest ago, so
 * memory never grows with the number of keys. */
#define FAIL_SETS 512
#define FAIL_WAYS 8
#define FAIL_KEY 16

struct auth_fails {
    unsigned char key[FAIL_KEY];
    int64_t times[AUTH_FAILURES_MAX];   /* a ring of the last failures */
    int n, head;
    int64_t used;
};

struct auth {
    struct app *app;
    struct pwhash *ph;
    auth_mail_fn mail;        /* auth_set_mailer; NULL: invitations answer 503 */
    void *mail_arg;
    struct auth_fails fails[FAIL_SETS * FAIL_WAYS];
};

/* The invitation routes (auth_invite.c). 0 or -1. */
int auth_invite_register(struct app *app);
/* auth_password.c: 32 random bytes as base64url (43 characters) into OUT
 * (≥ 44 bytes). 0 or -1. */
int auth_new_secret(char out[64]);

#endif
