/* cmd_client: what `sealbox sandbox` and `sealbox files` share — how to reach sealboxd (its
 * unix socket, or --url with SEALBOX_API_KEY), one request with its error reported, and the
 * option parsing common to both. */
#ifndef SB_CMD_CLIENT_H
#define SB_CMD_CLIENT_H

#include "client/client.h"
#include "cmd.h"

#define SB_EXIT_CLIENT 125 /* sealbox's own failure, as `sealbox run` */

struct sb_cli {
    const char *cmd; /* "sandbox ls", for messages */
    char socket_path[4096];
    const char *url, *ca_file;
    bool json;
    sb_client *client;
};

/* Takes the connection options (--socket P, --state-dir D, --url U, --cacert F, --json) out of
 * argv (in place; the rest keeps its order) and connects. 0, or an exit code after a message. */
int sb_cli_open(struct sb_cli *c, const char *cmd, int *argc, char **argv);
void sb_cli_close(struct sb_cli *c);
/* One request whose reply is collected; prints the problem and returns SB_EXIT_CLIENT (or 1
 * for a 4xx) unless the status is one of ok (0-terminated); *j gets the parsed JSON body when
 * asked for. */
int sb_cli_call(struct sb_cli *c, const char *method, const char *path, const char *json_body,
                const long *ok, json_t **j);
/* The connection options, for --help texts. */
#define SB_CLI_CONN_HELP                                                                   \
    "connection: --socket PATH (default: sealboxd.sock in the default state directory),\n" \
    "            --state-dir DIR, or --url https://HOST:PORT [--cacert FILE];\n"           \
    "            the API key comes from SEALBOX_API_KEY. --json prints the daemon's JSON.\n"

#endif
