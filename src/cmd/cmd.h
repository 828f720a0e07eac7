/* cmd: what the sealbox command handlers share — the command table entry and exit codes. */
#ifndef SB_CMD_H
#define SB_CMD_H

#include "util/util.h"

struct sb_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Exit codes of `sealbox` itself for usage errors (commands document their own). */
#define SB_EXIT_USAGE 2

/* Command handlers (src/cmd/cmd_<name>.c), one line each. */
int sb_cmd_verify(int argc, char **argv);
int sb_cmd_collateral(int argc, char **argv);
int sb_cmd_jwks(int argc, char **argv);
int sb_cmd_admin(int argc, char **argv);
int sb_cmd_run(int argc, char **argv);
int sb_cmd_exec(int argc, char **argv);
int sb_cmd_freeze(int argc, char **argv);
int sb_cmd_thaw(int argc, char **argv);
int sb_cmd_rm(int argc, char **argv);
int sb_cmd_ps(int argc, char **argv);
int sb_cmd_image(int argc, char **argv);
int sb_cmd_audit(int argc, char **argv);
int sb_cmd_kbs(int argc, char **argv);
int sb_cmd_measure(int argc, char **argv);

#endif
