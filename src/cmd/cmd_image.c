/* cmd_image: `sealbox image import DIR|TAR` (an immutable, content-addressed image in the state
 * directory; prints its digest) and `sealbox image ls`. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cmd.h"
#include "sandbox/sandbox.h"

#define EXIT_FAIL 1

static const char *state_dir(void) {
    const char *s = getenv("SEALBOX_STATE_DIR");
    return s && *s ? s : SB_SANDBOX_STATE_DIR;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: sealbox image import DIR|TAR\n"
            "       sealbox image ls\n\n"
            "import copies a root file system (a directory, or a tar archive unpacked by\n"
            "GNU tar) into the state directory ($SEALBOX_STATE_DIR or %s) as an immutable\n"
            "image and prints its digest (sha256 of the canonical manifest, docs/sandbox.md);\n"
            "use it with 'sealbox run --image sha256:...'.\n",
            SB_SANDBOX_STATE_DIR);
}

/* GNU tar refuses absolute names and ".." members by default; owners kept numerically. */
static int untar(const char *tar, const char *dir) {
    pid_t p = fork();
    if (p < 0) return -1;
    if (p == 0) {
        execlp("tar", "tar", "--numeric-owner", "--same-owner", "-xpf", tar, "-C", dir,
               (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(p, &st, 0) != p) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void rm_rf(const char *dir) {
    pid_t p = fork();
    if (p == 0) {
        execlp("rm", "rm", "-rf", "--one-file-system", "--", dir, (char *)NULL);
        _exit(127);
    }
    if (p > 0) waitpid(p, NULL, 0);
}

static int import(const char *src) {
    struct stat st;
    if (stat(src, &st) != 0) {
        fprintf(stderr, "sealbox image import: %s: %s\n", src, strerror(errno));
        return EXIT_FAIL;
    }
    char tmp[4096 + 32] = "";
    const char *dir = src;
    if (S_ISREG(st.st_mode)) {
        char base[4096];
        snprintf(base, sizeof(base), "%s/images", state_dir());
        if (mkdir(state_dir(), 0711) != 0 && errno != EEXIST) {
            fprintf(stderr, "sealbox image import: state directory %s: %s\n", state_dir(),
                    strerror(errno));
            return EXIT_FAIL;
        }
        (void)mkdir(base, 0711);
        snprintf(tmp, sizeof(tmp), "%s/.untar-XXXXXX", base);
        if (!mkdtemp(tmp)) {
            fprintf(stderr, "sealbox image import: %s: %s\n", tmp, strerror(errno));
            return EXIT_FAIL;
        }
        if (untar(src, tmp) != 0) {
            fprintf(stderr, "sealbox image import: cannot unpack %s with tar\n", src);
            rm_rf(tmp);
            return EXIT_FAIL;
        }
        dir = tmp;
    } else if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sealbox image import: %s is neither a directory nor a tar file\n", src);
        return EXIT_FAIL;
    }
    char *digest = NULL;
    sb_error err = {0};
    int rc = sb_image_import(state_dir(), dir, &digest, &err);
    if (tmp[0]) rm_rf(tmp);
    if (rc < 0) {
        fprintf(stderr, "sealbox image import: %s\n", err.msg);
        return EXIT_FAIL;
    }
    printf("%s\n", digest);
    free(digest);
    return 0;
}

static int list(void) {
    char p[4096];
    snprintf(p, sizeof(p), "%s/images", state_dir());
    DIR *d = opendir(p);
    printf("IMAGE\n");
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strlen(de->d_name) == 64 && strspn(de->d_name, "0123456789abcdef") == 64)
            printf("sha256:%s\n", de->d_name);
    closedir(d);
    return 0;
}

int sb_cmd_image(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "import") == 0) return import(argv[2]);
    if (argc == 2 && strcmp(argv[1], "ls") == 0) return list();
    usage(stderr);
    return SB_EXIT_USAGE;
}
