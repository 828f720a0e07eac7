/* image: what a sandbox's root is made of. The default image is the host's read-only /usr
 * (plus the merged-/usr symlinks): it changes whenever the host is upgraded, so it is recorded
 * as "mutable:host-usr" and is never eligible for attestation. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define SB_IMAGE_HOST_DIGEST "mutable:host-usr"

int sb_image_resolve(const char *state_dir, const char *image, char **lower, char **digest,
                     bool *host, sb_error *err) {
    (void)state_dir;
    if (!image || strcmp(image, "host") == 0) {
        struct stat st;
        if (stat("/usr", &st) != 0 || !S_ISDIR(st.st_mode))
            BAIL(err, SB_E_NOTFOUND, "image: the host has no /usr directory");
        *lower = strdup("/usr");
        *digest = strdup(SB_IMAGE_HOST_DIGEST);
        if (!*lower || !*digest) {
            free(*lower);
            free(*digest);
            BAIL(err, SB_E_INTERNAL, "out of memory");
        }
        *host = true;
        return 0;
    }
    BAIL(err, SB_E_NOTFOUND, "image: '%s' not found (the host image is 'host')", image);
}
