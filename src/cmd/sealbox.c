/* sealbox: the command-line entry point. Dispatches to one handler per command; handlers
 * live in src/cmd/cmd_<name>.c and are listed in the table below (and nowhere else). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "gateway/gateway.h"

static int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("sealbox %s\n", SB_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv);

/* One line per command; keep the help text honest: only commands that work are listed. */
static const struct sb_cmd COMMANDS[] = {
    {"help", "show this help, or the help of one command", cmd_help},
    {"version", "print the version", cmd_version},
    {"verify", "verify TEE evidence, appraise it under a policy, optionally sign an EAR token",
     sb_cmd_verify},
    {"jwks", "print the JWKS that verifies sealbox tokens (several keys for rotation)",
     sb_cmd_jwks},
    {"collateral", "manage the offline collateral cache (import, ls, prune)", sb_cmd_collateral},
    {"admin", "manage tenants and API keys of sealboxd (in its state directory)", sb_cmd_admin},
    {"run", "run a command in a new sandbox (jail backend; needs root)", sb_cmd_run},
    {"exec", "run a command in a detached sandbox (run --detach)", sb_cmd_exec},
    {"freeze", "freeze a detached sandbox (standby: no CPU, memory resident)", sb_cmd_freeze},
    {"thaw", "resume a frozen sandbox", sb_cmd_thaw},
    {"rm", "destroy a detached sandbox", sb_cmd_rm},
    {"ps", "list detached sandboxes", sb_cmd_ps},
    {"image", "import a root file system as an immutable image (import, ls)", sb_cmd_image},
    {"sandbox", "sandboxes of sealboxd: create, ls, get, exec, standby, resume, rm",
     sb_cmd_sandbox},
    {"files", "files of a sealboxd sandbox: put, get, ls, mkdir, rm", sb_cmd_files},
    {"tpm", "TPM 2.0 attester: enroll this TPM's AK, print a bound quote (enroll, quote, ak)",
     sb_cmd_tpm},
    {"gateway", "MCP gateway: serve an agent over stdio with servers in sandboxes; pin, approve",
     sb_cmd_gateway},
    {"audit", "verify, tail or export the tamper-evident audit log (verify, tail, export)",
     sb_cmd_audit},
    {"kbs", "the key broker: serve it, admin keys, master key rotation, get a resource",
     sb_cmd_kbs},
    {"measure", "print the image, config and initial measurement-log digests for a policy",
     sb_cmd_measure},
    {"attest", "make evidence bound to KBS runtime data (software: insecure; configfs-tsm)",
     sb_cmd_attest},
};

static int cmd_help(int argc, char **argv) {
    if (argc > 1) {
        for (size_t i = 0; i < SB_ARRAY_LEN(COMMANDS); i++)
            if (strcmp(argv[1], COMMANDS[i].name) == 0) {
                char *hargv[] = {argv[1], (char *)"--help", NULL};
                return COMMANDS[i].run(2, hargv);
            }
        fprintf(stderr, "sealbox: no command '%s'\n", argv[1]);
        return SB_EXIT_USAGE;
    }
    printf("usage: sealbox COMMAND [ARGS...]\n\n"
           "sealbox: sandboxes, attestation and a least-privilege tool gateway for AI agents.\n\n"
           "commands:\n");
    for (size_t i = 0; i < SB_ARRAY_LEN(COMMANDS); i++)
        printf("  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    printf("\n'sealbox help COMMAND' or 'sealbox COMMAND --help' for details.\n"
           "Documentation: docs/ (README.md has a five-minute tour).\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        (void)cmd_help(1, argv);
        return SB_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, SB_GW_HOLDER_ARG) == 0) sb_gw_holder_main(argc, argv); /* not a command */
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) name = "version";
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
    for (size_t i = 0; i < SB_ARRAY_LEN(COMMANDS); i++)
        if (strcmp(name, COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sealbox: unknown command '%s' (try 'sealbox help')\n", argv[1]);
    return SB_EXIT_USAGE;
}
