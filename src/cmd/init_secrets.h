/* init_secrets: sealbox-init's side of attestation-gated secrets — the KBS handshake run in
 * init (its TEE key never leaves it) over the host relay, and delivery into the sandbox. */
#ifndef SB_INIT_SECRETS_H
#define SB_INIT_SECRETS_H

#include "sandbox/sandbox.h"

/* Frames that arrive while init waits for a relay answer go to dispatch (init's handler). */
typedef void (*init_dispatch_fn)(const uint8_t *frame, size_t len);
void init_secrets_setup(int ctl, init_dispatch_fn dispatch);
/* SB_MSG_SECRETS: fetches every secret, writes the files (as the workload's uid, mode 0400, on
 * the sandbox's tmpfs root only), keeps env values for the next exec, answers SECRETS_DONE. */
void init_secrets_release(uint32_t id, const struct sb_msg_secrets *s);
/* The "NAME=value" entries for the next exec (n of them, in locked memory), then wiped by
 * init_secrets_env_done once the exec has forked. */
char *const *init_secrets_env(size_t *n);
void init_secrets_env_done(void);
/* One secret now (a fresh handshake over the relay); *v is sb_secret_alloc memory of *n + 1
 * bytes (NUL-terminated): free with sb_secret_free(*v, *n + 1). */
int init_secrets_get(const char *path, uint8_t **v, size_t *n, sb_error *err);
/* The abstract unix socket @sealbox-secrets (-1 when it cannot be bound), and one accepted
 * caller answered: SO_PEERCRED must say the workload's uid (0), then GET /cdh/resource/... */
int init_cdh_listen(void);
void init_cdh_serve(int lfd);
/* Whether a handshake is running (a nested one is refused). */
bool init_secrets_busy(void);

#endif
