/* landlock: the jail's belt-and-braces LSM layer — file access only beneath the sandbox root
 * (a leaked fd or magic link into another tree is refused), abstract unix sockets and signals
 * scoped to the sandbox (ABI 6). TCP is left to the network namespace: Landlock's network rules
 * (ABI 4) know ports, not addresses, so denying connect would also deny the sandbox's own
 * loopback, while with `--net none` nothing but lo exists to reach (docs/sandbox.md). The
 * constants are carried here because Debian 12's headers stop at ABI 2; the ABI is detected at
 * run time. */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "sandbox.h"

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
/* file-system rights by ABI */
#define LL_FS_V1 ((1ull << 13) - 1)        /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ull << 13)           /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)        /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)       /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)        /* ABI 6 */

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI >= 4 */
    uint64_t scoped;             /* ABI >= 6 */
};

struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

int sb_landlock_abi(void) {
    long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : (int)v;
}

int sb_landlock_apply(int root_fd, sb_error *err) {
    int abi = sb_landlock_abi();
    if (abi <= 0) return 0;
    struct ll_ruleset_attr attr = {0};
    size_t attr_size = sizeof(uint64_t);
    attr.handled_access_fs = LL_FS_V1;
    if (abi >= 2) attr.handled_access_fs |= LL_FS_REFER;
    if (abi >= 3) attr.handled_access_fs |= LL_FS_TRUNCATE;
    if (abi >= 5) attr.handled_access_fs |= LL_FS_IOCTL_DEV;
    /* handled_access_net stays 0 (ABI 4's TCP rules): loopback inside must work */
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        attr_size = sizeof(attr);
    }
    long fd = syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
    if (fd < 0)
        return sb_error_set(err, SB_E_IO, "landlock: create_ruleset (ABI %d): %s", abi,
                            strerror(errno));
    int rfd = (int)fd;
    struct ll_path_beneath pb = {.allowed_access = attr.handled_access_fs, .parent_fd = root_fd};
    int rc = 0;
    if (syscall(__NR_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0) != 0)
        rc = sb_error_set(err, SB_E_IO, "landlock: add_rule /: %s", strerror(errno));
    else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        rc = sb_error_set(err, SB_E_IO, "landlock: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    else if (syscall(__NR_landlock_restrict_self, rfd, 0) != 0)
        rc = sb_error_set(err, SB_E_IO, "landlock: restrict_self: %s", strerror(errno));
    close(rfd);
    return rc < 0 ? rc : abi;
}
