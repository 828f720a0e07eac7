/* front_int: what the front's files share (not part of the public api.h). */
#ifndef SB_FRONT_INT_H
#define SB_FRONT_INT_H

#include <event2/http.h>

#include "api.h"

struct front;

/* Sends a log line to the monitor, which writes it with component "sealboxd-front". */
void sb_front_log(struct front *f, enum sb_log_level lvl, const char *fmt, ...) SB_PRINTF(3, 4);
/* Loads the certificate chain and key and makes every accepted connection a TLS one. */
int sb_front_tls_setup(struct evhttp *http, const char *cert, const char *key, void **tls,
                       sb_error *err) SB_WUR;
void sb_front_tls_free(void *tls);
/* As root: become the "sealbox" user if it exists, else nobody; no groups, no capabilities. */
int sb_front_drop_privileges(sb_error *err) SB_WUR;
/* no_new_privs, then the front's syscall allowlist; anything else kills the process. */
int sb_front_seccomp(sb_error *err) SB_WUR;

#endif
