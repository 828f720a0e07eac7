/* replay_main: runs LLVMFuzzerTestOneInput over every file of a corpus directory (or, with
 * --evidence, of $SEALBOX_EVIDENCE_DIR) so that `make test` replays corpora without libFuzzer. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t nfiles;

static int run_file(const char *path) {
    uint8_t *b = NULL;
    size_t n = 0;
    sb_error err = {0};
    if (sb_read_file(path, 64u << 20, &b, &n, &err) < 0) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return -1;
    }
    /* Hand the target an exact-size heap copy so ASan sees any over-read. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) abort();
    memcpy(exact, b, n);
    free(b);
    (void)LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    nfiles++;
    return 0;
}

static int walk(const char *dir, int depth) {
    if (depth > 8) return 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        int k = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (k < 0 || (size_t)k >= sizeof(path)) continue;
        struct stat st;
        if (stat(path, &st) < 0) continue;
        if (S_ISDIR(st.st_mode))
            rc |= walk(path, depth + 1);
        else if (S_ISREG(st.st_mode) && run_file(path) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR | --evidence\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    if (strcmp(dir, "--evidence") == 0) {
        dir = getenv("SEALBOX_EVIDENCE_DIR");
        const char *ci = getenv("CI");
        struct stat st;
        if (!dir || stat(dir, &st) < 0) {
            if (ci && strcmp(ci, "true") == 0) {
                fprintf(stderr, "FAIL: evidence corpus not found (CI=true requires it)\n");
                return 1;
            }
            fprintf(stderr, "SKIP: evidence corpus not found at %s\n", dir ? dir : "(unset)");
            return 77;
        }
    }
    if (walk(dir, 0) < 0) return 1;
    fprintf(stderr, "replayed %zu files from %s\n", nfiles, dir);
    if (nfiles == 0) {
        fprintf(stderr, "FAIL: empty corpus\n");
        return 1;
    }
    return 0;
}
