/* cmd_client: reaching sealboxd from the CLI (see cmd_client.h). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cmd_client.h"

int sb_cli_open(struct sb_cli *c, const char *cmd, int *argc, char **argv) {
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    const char *state = NULL, *sock = NULL;
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < *argc;
        if (strcmp(a, "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if ((strcmp(a, "--socket") == 0 || strcmp(a, "--state-dir") == 0 ||
                    strcmp(a, "--url") == 0 || strcmp(a, "--cacert") == 0)) {
            if (!has) {
                fprintf(stderr, "sealbox %s: %s needs a value\n", cmd, a);
                return SB_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--socket") == 0) sock = v;
            if (strcmp(a, "--state-dir") == 0) state = v;
            if (strcmp(a, "--url") == 0) c->url = v;
            if (strcmp(a, "--cacert") == 0) c->ca_file = v;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    sb_error err = {0};
    if (!c->url) {
        char dir[4096];
        if (sock) {
            (void)snprintf(c->socket_path, sizeof(c->socket_path), "%s", sock);
        } else {
            if (!state && sb_default_state_dir(dir, sizeof(dir), &err) < 0) {
                fprintf(stderr, "sealbox %s: %s\n", cmd, err.msg);
                return SB_EXIT_CLIENT;
            }
            const char *d = state ? state : dir;
            if (strlen(d) + sizeof(SB_SOCKET_FILE) + 1 > sizeof(c->socket_path)) {
                fprintf(stderr, "sealbox %s: the state directory path is too long\n", cmd);
                return SB_EXIT_USAGE;
            }
            (void)snprintf(c->socket_path, sizeof(c->socket_path), "%.*s/%s",
                           (int)(sizeof(c->socket_path) - sizeof(SB_SOCKET_FILE) - 1), d,
                           SB_SOCKET_FILE);
        }
    }
    sb_client_cfg cfg = {.socket_path = c->url ? NULL : c->socket_path,
                         .url = c->url,
                         .key = getenv("SEALBOX_API_KEY"),
                         .ca_file = c->ca_file};
    if (sb_client_new(&cfg, &c->client, &err) < 0) {
        fprintf(stderr, "sealbox %s: %s\n", cmd, err.msg);
        return SB_EXIT_CLIENT;
    }
    return 0;
}

void sb_cli_close(struct sb_cli *c) {
    sb_client_free(c->client);
    c->client = NULL;
}

int sb_cli_call(struct sb_cli *c, const char *method, const char *path, const char *json_body,
                const long *ok, json_t **j) {
    sb_client_req rq = {.method = method,
                        .path = path,
                        .ctype = json_body ? "application/json" : NULL,
                        .body = json_body,
                        .body_len = json_body ? strlen(json_body) : 0};
    sb_client_resp rs;
    sb_error err = {0};
    if (sb_client_do(c->client, &rq, &rs, &err) < 0) {
        fprintf(stderr, "sealbox %s: %s\n", c->cmd, err.msg);
        sb_client_resp_free(&rs);
        return SB_EXIT_CLIENT;
    }
    bool good = false;
    for (const long *s = ok; *s; s++)
        good = good || rs.status == *s;
    if (!good) {
        char msg[512];
        sb_client_problem(&rs, msg, sizeof(msg));
        fprintf(stderr, "sealbox %s: %s\n", c->cmd, msg);
        sb_client_resp_free(&rs);
        return rs.status >= 400 && rs.status < 500 ? 1 : SB_EXIT_CLIENT;
    }
    if (c->json && rs.body.len) printf("%s\n", (const char *)rs.body.buf);
    if (j) *j = rs.body.len ? json_loadb((const char *)rs.body.buf, rs.body.len, 0, NULL) : NULL;
    sb_client_resp_free(&rs);
    return 0;
}
