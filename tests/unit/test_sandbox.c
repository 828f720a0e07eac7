/* test_sandbox: the init message protocol (round trips and every refusal), the compiled
 * seccomp filter (syscall vectors issued for real in a forked child that loaded it), Landlock,
 * exit-status mapping and cgroup detection errors. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "harness.h"
#include "sandbox/internal.h"
#include "sandbox/sandbox.h"

/* ---- protocol ------------------------------------------------------------------------------ */

static uint8_t *encode_exec(size_t *len) {
    char *argv[] = {(char *)"/bin/echo", (char *)"hi", NULL};
    char *env[] = {(char *)"PATH=/usr/bin", NULL};
    struct sb_msg_exec e = {.tty = true,
                            .rows = 24,
                            .cols = 80,
                            .workdir = "/tmp",
                            .argc = 2,
                            .envc = 1,
                            .argv = argv,
                            .env = env};
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    CHECK_INT(sb_msg_encode_exec(&w, 7, &e), 0);
    return sb_writer_steal(&w, len);
}

TEST(proto_exec_round_trip) {
    size_t len;
    uint8_t *f = encode_exec(&len);
    struct sb_msg m;
    sb_error err = {0};
    CHECK_OK(sb_msg_parse(f, len, &m, &err), &err);
    CHECK_INT(m.type, SB_MSG_EXEC);
    CHECK_INT(m.exec_id, 7);
    CHECK(m.exec.tty);
    CHECK_INT(m.exec.rows, 24);
    CHECK_INT(m.exec.cols, 80);
    CHECK_STR(m.exec.workdir, "/tmp");
    CHECK_INT(m.exec.argc, 2);
    CHECK_STR(m.exec.argv[0], "/bin/echo");
    CHECK_STR(m.exec.argv[1], "hi");
    CHECK(m.exec.argv[2] == NULL);
    CHECK_STR(m.exec.env[0], "PATH=/usr/bin");
    sb_msg_free(&m);
    free(f);
}

TEST(proto_every_truncation_refused) {
    size_t len;
    uint8_t *f = encode_exec(&len);
    for (size_t n = 0; n < len; n++) {
        struct sb_msg m;
        sb_error err = {0};
        int rc = sb_msg_parse(f, n, &m, &err);
        CHECK_MSG(rc == SB_E_TRUNCATED || rc == SB_E_MALFORMED, "prefix %zu parsed (%d)", n, rc);
        CHECK_MSG(err.msg[0] != 0, "prefix %zu: no message", n);
    }
    free(f);
}

TEST(proto_trailing_and_corrupt_fields) {
    size_t len;
    uint8_t *f = encode_exec(&len);
    uint8_t *g = malloc(len + 1);
    memcpy(g, f, len);
    g[len] = 0;
    struct sb_msg m;
    sb_error err = {0};
    CHECK_INT(sb_msg_parse(g, len + 1, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "trailing");
    /* flags */
    memcpy(g, f, len);
    g[2] = 1;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "flags");
    /* type */
    memcpy(g, f, len);
    g[0] = 0x77;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "type");
    /* tty flag out of range */
    memcpy(g, f, len);
    g[8] = 2;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "exec.tty");
    /* workdir "/tmp" -> "xtmp": not absolute */
    memcpy(g, f, len);
    g[8 + 1 + 2 + 2 + 4] = 'x';
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "workdir");
    /* a NUL inside a string */
    memcpy(g, f, len);
    g[8 + 1 + 2 + 2 + 4 + 1] = 0;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "NUL");
    /* argc over the limit */
    memcpy(g, f, len);
    size_t argc_off = 8 + 1 + 2 + 2 + 4 + 4;
    g[argc_off] = 0xff;
    g[argc_off + 1] = 0xff;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "exec.argv");
    /* argc 0 */
    memcpy(g, f, len);
    g[argc_off] = 0;
    g[argc_off + 1] = 0;
    CHECK(sb_msg_parse(g, len, &m, &err) < 0);
    /* a string length over the limit */
    memcpy(g, f, len);
    g[8 + 1 + 2 + 2 + 3] = 0x7f;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_LIMIT);
    free(g);
    free(f);
}

TEST(proto_simple_messages) {
    sb_writer w;
    struct sb_msg m;
    sb_error err = {0};
    sb_writer_init(&w, 64);
    CHECK_INT(sb_msg_encode_exit(&w, 3, SB_EXIT_SIGNALED, 9), 0);
    CHECK_OK(sb_msg_parse(w.buf, w.len, &m, &err), &err);
    CHECK_INT(m.type, SB_MSG_EXIT);
    CHECK_INT(m.exit_kind, SB_EXIT_SIGNALED);
    CHECK_INT(m.exit_code, 9);
    w.buf[8] = SB_EXIT_KIND_MAX; /* unknown exit kind */
    CHECK_INT(sb_msg_parse(w.buf, w.len, &m, &err), SB_E_MALFORMED);
    sb_writer_free(&w);
    sb_writer_init(&w, 64);
    CHECK_INT(sb_msg_encode_resize(&w, 1, 50, 132), 0);
    CHECK_OK(sb_msg_parse(w.buf, w.len, &m, &err), &err);
    CHECK_INT(m.rows, 50);
    CHECK_INT(m.cols, 132);
    sb_writer_free(&w);
    sb_writer_init(&w, SB_PROTO_MAX_FRAME * 2);
    uint8_t *big = calloc(1, SB_PROTO_MAX_DATA + 1);
    CHECK_INT(sb_msg_encode_data(&w, SB_MSG_STDOUT, 1, big, SB_PROTO_MAX_DATA + 1), SB_E_LIMIT);
    /* hand-built oversized data frame */
    sb_writer_free(&w);
    sb_writer_init(&w, SB_PROTO_MAX_FRAME * 2);
    CHECK_INT(sb_msg_put_hdr(&w, SB_MSG_STDOUT, 1), 0);
    CHECK_INT(sb_writer_bytes(&w, big, SB_PROTO_MAX_DATA + 1), 0);
    CHECK_INT(sb_msg_parse(w.buf, w.len, &m, &err), SB_E_LIMIT);
    free(big);
    sb_writer_free(&w);
    uint8_t huge[1];
    CHECK_INT(sb_msg_parse(huge, SB_PROTO_MAX_FRAME + 1, &m, &err), SB_E_LIMIT);
}

TEST(exit_status_contract) {
    struct sb_exit e = {SB_EXIT_EXITED, 3};
    CHECK_INT(sb_exit_status(&e), 3);
    e = (struct sb_exit){SB_EXIT_SIGNALED, SIGTERM};
    CHECK_INT(sb_exit_status(&e), 143);
    e = (struct sb_exit){SB_EXIT_TIMEOUT, 0};
    CHECK_INT(sb_exit_status(&e), 124);
    e = (struct sb_exit){SB_EXIT_OOM, 9};
    CHECK_INT(sb_exit_status(&e), 137);
    e = (struct sb_exit){SB_EXIT_NOEXEC, EACCES};
    CHECK_INT(sb_exit_status(&e), 126);
    e = (struct sb_exit){SB_EXIT_NOTFOUND, ENOENT};
    CHECK_INT(sb_exit_status(&e), 127);
    e = (struct sb_exit){SB_EXIT_SANDBOX_GONE, 0};
    CHECK_INT(sb_exit_status(&e), 125);
}

/* ---- seccomp: the compiled filter, syscalls issued for real ---------------------------------- */

struct vec {
    const char *name;
    long nr;
    unsigned long a[6];
    int want; /* 0: must succeed (>= 0); otherwise the errno */
};

#define X32_BIT 0x40000000L

static int run_filtered(int (*fn)(void *), void *arg) {
    pid_t p = fork();
    if (p == 0) {
        sb_error err = {0};
        if (sb_seccomp_load(&err) != 0) _exit(100);
        _exit(fn(arg));
    }
    int st = 0;
    waitpid(p, &st, 0);
    return st;
}

static int vec_child(void *arg) {
    const struct vec *v = arg;
    errno = 0;
    long r = syscall(v->nr, v->a[0], v->a[1], v->a[2], v->a[3], v->a[4], v->a[5]);
    int e = errno;
    if (v->want == 0) return r >= 0 ? 0 : (e ? e : 99);
    return r == -1 && e == v->want ? 0 : (r >= 0 ? 98 : e);
}

TEST(seccomp_vectors) {
    int pfd[2];
    CHECK_INT(pipe(pfd), 0);
    unsigned long tiocsti_hi = (1ul << 32) | TIOCSTI;
    const struct vec vs[] = {
        {"getpid", __NR_getpid, {0}, 0},
        {"unshare(NEWUSER)", __NR_unshare, {CLONE_NEWUSER}, EPERM},
        {"unshare(NEWNS)", __NR_unshare, {CLONE_NEWNS}, EPERM},
        {"unshare(NEWNET)", __NR_unshare, {CLONE_NEWNET}, EPERM},
        {"unshare(NEWTIME)", __NR_unshare, {CLONE_NEWTIME}, EPERM},
        {"unshare(FILES) allowed", __NR_unshare, {CLONE_FILES}, 0},
        {"clone(NEWUSER)", __NR_clone, {CLONE_NEWUSER | SIGCHLD}, EPERM},
        {"clone(NEWPID)", __NR_clone, {CLONE_NEWPID | SIGCHLD}, EPERM},
        {"clone3", __NR_clone3, {0, 0}, ENOSYS},
        {"setns", __NR_setns, {(unsigned long)-1, 0}, EPERM},
        {"mount", __NR_mount, {0, (unsigned long)"/", 0, 0, 0}, EPERM},
        {"umount2", __NR_umount2, {(unsigned long)"/", 0}, EPERM},
        {"pivot_root", __NR_pivot_root, {(unsigned long)".", (unsigned long)"."}, EPERM},
        {"chroot", __NR_chroot, {(unsigned long)"/"}, EPERM},
        {"fsopen", __NR_fsopen, {(unsigned long)"tmpfs", 0}, EPERM},
        {"fsmount", __NR_fsmount, {(unsigned long)-1, 0, 0}, EPERM},
        {"fspick", __NR_fspick, {(unsigned long)-100, (unsigned long)"/", 0}, EPERM},
        {"open_tree", __NR_open_tree, {(unsigned long)-100, (unsigned long)"/", 1}, EPERM},
        {"move_mount", __NR_move_mount, {0, 0, 0, 0, 0}, EPERM},
        {"mount_setattr", __NR_mount_setattr, {0, 0, 0, 0, 0}, EPERM},
        {"init_module", __NR_init_module, {0, 0, (unsigned long)""}, EPERM},
        {"finit_module", __NR_finit_module, {0, (unsigned long)"", 0}, EPERM},
        {"delete_module", __NR_delete_module, {(unsigned long)"x", 0}, EPERM},
        {"kexec_load", __NR_kexec_load, {0, 0, 0, 0}, EPERM},
        {"kexec_file_load", __NR_kexec_file_load, {0, 0, 0, 0, 0}, EPERM},
        {"keyctl", __NR_keyctl, {0, 0}, EPERM},
        {"add_key", __NR_add_key, {0, 0, 0, 0, 0}, EPERM},
        {"request_key", __NR_request_key, {0, 0, 0, 0}, EPERM},
        {"bpf", __NR_bpf, {0, 0, 0}, EPERM},
        {"perf_event_open",
         __NR_perf_event_open,
         {0, 0, (unsigned long)-1, (unsigned long)-1, 0},
         EPERM},
        {"userfaultfd", __NR_userfaultfd, {0}, EPERM},
        {"io_uring_setup", __NR_io_uring_setup, {1, 0}, EPERM},
        {"ptrace", __NR_ptrace, {0, 0, 0, 0}, EPERM},
        {"process_vm_readv", __NR_process_vm_readv, {1, 0, 0, 0, 0, 0}, EPERM},
        {"process_vm_writev", __NR_process_vm_writev, {1, 0, 0, 0, 0, 0}, EPERM},
        {"kcmp", __NR_kcmp, {1, 1, 0, 0, 0}, EPERM},
        {"open_by_handle_at", __NR_open_by_handle_at, {0, 0, 0}, EPERM},
        {"name_to_handle_at", __NR_name_to_handle_at, {0, 0, 0, 0, 0}, EPERM},
        {"reboot", __NR_reboot, {0, 0, 0, 0}, EPERM},
        {"swapon", __NR_swapon, {0, 0}, EPERM},
        {"acct", __NR_acct, {0}, EPERM},
        {"settimeofday", __NR_settimeofday, {0, 0}, EPERM},
        {"clock_settime", __NR_clock_settime, {0, 0}, EPERM},
        {"adjtimex", __NR_adjtimex, {0}, EPERM},
        {"iopl", __NR_iopl, {3}, EPERM},
        {"ioperm", __NR_ioperm, {0, 1, 1}, EPERM},
        {"syslog", __NR_syslog, {3, 0, 0}, EPERM},
        {"ioctl TIOCSTI", __NR_ioctl, {0, TIOCSTI, 0}, EPERM},
        {"ioctl TIOCSTI high bits", __NR_ioctl, {0, tiocsti_hi, 0}, EPERM},
        {"ioctl TIOCLINUX", __NR_ioctl, {0, TIOCLINUX, 0}, EPERM},
        {"ioctl FIONREAD allowed",
         __NR_ioctl,
         {(unsigned long)pfd[0], FIONREAD, (unsigned long)&(int){0}},
         0},
        {"socket AF_PACKET", __NR_socket, {AF_PACKET, SOCK_RAW, 0}, EAFNOSUPPORT},
        {"socket AF_VSOCK", __NR_socket, {AF_VSOCK, SOCK_STREAM, 0}, EAFNOSUPPORT},
        {"socket AF_KEY", __NR_socket, {AF_KEY, SOCK_RAW, 2}, EAFNOSUPPORT},
        {"socket AF_ALG", __NR_socket, {AF_ALG, SOCK_SEQPACKET, 0}, EAFNOSUPPORT},
        {"socket AF_NETLINK xfrm", __NR_socket, {AF_NETLINK, SOCK_RAW, NETLINK_XFRM}, EAFNOSUPPORT},
        {"socket AF_NETLINK audit",
         __NR_socket,
         {AF_NETLINK, SOCK_RAW, NETLINK_AUDIT},
         EAFNOSUPPORT},
        {"socket AF_NETLINK route allowed", __NR_socket, {AF_NETLINK, SOCK_RAW, NETLINK_ROUTE}, 0},
        {"socket AF_INET allowed", __NR_socket, {AF_INET, SOCK_STREAM, 0}, 0},
        {"socket AF_INET6 allowed", __NR_socket, {AF_INET6, SOCK_DGRAM, 0}, 0},
        {"socket AF_UNIX allowed", __NR_socket, {AF_UNIX, SOCK_STREAM, 0}, 0},
        {"personality(ADDR_NO_RANDOMIZE)", __NR_personality, {ADDR_NO_RANDOMIZE}, ENOSYS},
        {"personality(READ_IMPLIES_EXEC)", __NR_personality, {READ_IMPLIES_EXEC}, ENOSYS},
        {"personality query allowed", __NR_personality, {0xffffffff}, 0},
        {"statmount (newer than the list)", 457, {0, 0, 0, 0}, ENOSYS},
        {"listmount", 458, {0, 0, 0, 0}, ENOSYS},
        {"mseal", 462, {0, 0, 0}, ENOSYS},
        {"unassigned 999", 999, {0}, ENOSYS},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(vs); i++) {
        int st = run_filtered(vec_child, (void *)&vs[i]);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "%s: wanted %s, child status 0x%x (exit %d = errno or marker)", vs[i].name,
                  vs[i].want ? strerror(vs[i].want) : "success", st, WEXITSTATUS(st));
    }
    close(pfd[0]);
    close(pfd[1]);
}

static int x32_child(void *arg) {
    (void)arg;
    syscall(X32_BIT | __NR_getpid);
    return 0;
}

static int int80_child(void *arg) {
    (void)arg;
    long ret = 20; /* i386 getpid */
    __asm__ volatile("int $0x80" : "+a"(ret)::"memory");
    return 0;
}

static int fork_child(void *arg) {
    (void)arg;
    pid_t p = fork(); /* glibc: clone3 -> ENOSYS -> clone without namespace flags */
    if (p == 0) _exit(0);
    int st;
    return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) ? 0 : 1;
}

TEST(seccomp_foreign_abis_are_killed) {
    int st = run_filtered(x32_child, NULL);
    CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "x32 syscall: status 0x%x", st);
    st = run_filtered(int80_child, NULL);
    CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "int 0x80: status 0x%x", st);
    /* positive control: without the filter the same x32 call is an ordinary ENOSYS/getpid */
    pid_t p = fork();
    if (p == 0) {
        syscall(X32_BIT | __NR_getpid);
        _exit(0);
    }
    waitpid(p, &st, 0);
    CHECK_MSG(WIFEXITED(st), "x32 call without the filter: status 0x%x", st);
}

TEST(seccomp_fork_still_works) {
    int st = run_filtered(fork_child, NULL);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork under the filter: 0x%x", st);
    CHECK(sb_seccomp_allowlist_len() > 250);
}

/* ---- landlock ----------------------------------------------------------------------------------
 */

static int landlock_child(void *arg) {
    const char *dir = arg;
    int root = open(dir, O_PATH | O_DIRECTORY);
    sb_error err = {0};
    int abi = sb_landlock_apply(root, &err);
    if (abi <= 0) return 90;
    char inside[512];
    snprintf(inside, sizeof(inside), "%s/f", dir);
    int fd = open(inside, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return 91;
    close(fd);
    if (open("/etc/hostname", O_RDONLY) >= 0 || errno != EACCES) return 92;
    /* TCP on loopback is not restricted (a server and its client in one sandbox) */
    int srv = socket(AF_INET, SOCK_STREAM, 0), cli = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (srv < 0 || cli < 0 || bind(srv, (struct sockaddr *)&a, sizeof(a)) != 0) return 93;
    if (listen(srv, 1) != 0 || getsockname(srv, (struct sockaddr *)&a, &al) != 0) return 94;
    if (connect(cli, (struct sockaddr *)&a, sizeof(a)) != 0) return 95;
    int acc = accept(srv, NULL, NULL);
    if (acc < 0) return 96;
    close(acc);
    close(cli);
    close(srv);
    return 0;
}

/* ---- seccomp: the compact program answers exactly as the libseccomp reference ---------------
 * A classic-BPF interpreter runs both over every syscall number below 1100 (native, x32 and
 * foreign architectures, numbers at the edges of the 32-bit range) with argument vectors that
 * hit every argument check, and over random inputs; the reference is libseccomp's program with
 * the argument filter stacked under it, combined as the kernel combines stacked filters. */

#define BPF_BAD 0xdeadbeefu /* an opcode the interpreter does not know, or a jump out */

static uint32_t bpf_run(const struct sock_filter *f, size_t n, const struct seccomp_data *d) {
    uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
    for (size_t pc = 0; pc < n; pc++) {
        const struct sock_filter *i = &f[pc];
        uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;
        switch (BPF_CLASS(i->code)) {
        case BPF_LD:
            if (i->code == (BPF_LD | BPF_W | BPF_ABS)) {
                if (i->k % 4 || i->k + 4 > sizeof(*d)) return BPF_BAD;
                memcpy(&a, (const uint8_t *)d + i->k, 4);
            } else if (i->code == (BPF_LD | BPF_IMM)) {
                a = i->k;
            } else if (i->code == (BPF_LD | BPF_MEM) && i->k < BPF_MEMWORDS) {
                a = mem[i->k];
            } else {
                return BPF_BAD;
            }
            break;
        case BPF_LDX:
            if (i->code == (BPF_LDX | BPF_IMM))
                x = i->k;
            else if (i->code == (BPF_LDX | BPF_MEM) && i->k < BPF_MEMWORDS)
                x = mem[i->k];
            else
                return BPF_BAD;
            break;
        case BPF_ST:
            if (i->k >= BPF_MEMWORDS) return BPF_BAD;
            mem[i->k] = a;
            break;
        case BPF_STX:
            if (i->k >= BPF_MEMWORDS) return BPF_BAD;
            mem[i->k] = x;
            break;
        case BPF_ALU:
            switch (BPF_OP(i->code)) {
            case BPF_ADD: a += src; break;
            case BPF_SUB: a -= src; break;
            case BPF_MUL: a *= src; break;
            case BPF_DIV: a = src ? a / src : 0; break;
            case BPF_MOD: a = src ? a % src : 0; break;
            case BPF_OR: a |= src; break;
            case BPF_AND: a &= src; break;
            case BPF_XOR: a ^= src; break;
            case BPF_LSH: a = src < 32 ? a << src : 0; break;
            case BPF_RSH: a = src < 32 ? a >> src : 0; break;
            case BPF_NEG: a = (uint32_t)-a; break;
            default: return BPF_BAD;
            }
            break;
        case BPF_JMP: {
            if (BPF_OP(i->code) == BPF_JA) {
                pc += i->k;
                break;
            }
            bool t;
            switch (BPF_OP(i->code)) {
            case BPF_JEQ: t = a == src; break;
            case BPF_JGT: t = a > src; break;
            case BPF_JGE: t = a >= src; break;
            case BPF_JSET: t = (a & src) != 0; break;
            default: return BPF_BAD;
            }
            pc += t ? i->jt : i->jf;
            break;
        }
        case BPF_RET:
            if (BPF_RVAL(i->code) == BPF_K) return i->k;
            if (BPF_RVAL(i->code) == BPF_A) return a;
            return BPF_BAD;
        case BPF_MISC:
            if (BPF_MISCOP(i->code) == BPF_TAX)
                x = a;
            else if (BPF_MISCOP(i->code) == BPF_TXA)
                a = x;
            else
                return BPF_BAD;
            break;
        default: return BPF_BAD;
        }
    }
    return BPF_BAD; /* ran off the end */
}

/* As the kernel combines stacked filters: the most recent first, the lowest action wins (a
 * signed comparison, so KILL_PROCESS beats everything), the first seen on a tie. */
static uint32_t stacked(const struct sock_filter *main_f, size_t main_n,
                        const struct sock_filter *arg_f, size_t arg_n,
                        const struct seccomp_data *d) {
    uint32_t ret = SECCOMP_RET_ALLOW;
    uint32_t r[2] = {bpf_run(main_f, main_n, d), bpf_run(arg_f, arg_n, d)};
    for (int i = 0; i < 2; i++) {
        if (r[i] == BPF_BAD) return BPF_BAD;
        if ((int32_t)(r[i] & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
            ret = r[i];
    }
    return ret;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

TEST(seccomp_compact_program_equals_reference) {
    const struct sock_filter *cf, *rf, *af;
    size_t cn = 0, rn = 0, an = 0;
    sb_error err = {0};
    CHECK_OK(sb_seccomp_program(&cf, &cn, &err), &err);
    CHECK_OK(sb_seccomp_reference(&rf, &rn, &err), &err);
    sb_seccomp_reference_arg(&af, &an);
    if (sb_test_failed()) return;
    printf("  compact program: %zu instructions; libseccomp's %zu + argument filter %zu\n", cn, rn,
           an);
    CHECK_MSG(cn < (rn + an) / 2, "compact %zu vs %zu + %zu", cn, rn, an);

    /* argument values that matter: every single bit, namespace flags, the personality and
     * ioctl/socket values, each also with high-word bits */
    static uint64_t vals[512];
    size_t nv = 0;
    vals[nv++] = 0;
    vals[nv++] = ~0ull;
    for (int b = 0; b < 64; b++)
        vals[nv++] = 1ull << b;
    const uint64_t special[] = {CLONE_NEWUSER | SIGCHLD,
                                CLONE_VM | CLONE_VFORK | SIGCHLD,
                                CLONE_NEWTIME,
                                CLONE_FILES,
                                CLONE_FS | CLONE_FILES,
                                0x8,
                                0x20000,
                                0x20008,
                                0xffffffff,
                                0x0040000,
                                0x0400000,
                                TIOCSTI,
                                TIOCLINUX,
                                0x5401,
                                0x5412,
                                AF_UNIX,
                                AF_INET,
                                AF_INET6,
                                AF_NETLINK,
                                AF_PACKET,
                                AF_VSOCK,
                                NETLINK_ROUTE,
                                NETLINK_XFRM,
                                0x7fffffff,
                                0x80000000};
    for (size_t i = 0; i < SB_ARRAY_LEN(special); i++) {
        vals[nv++] = special[i];
        vals[nv++] = special[i] | (1ull << 32);
        vals[nv++] = special[i] | (0xffffffffull << 32);
        vals[nv++] = special[i] + 1;
    }
    for (uint64_t v = 0; v < 48; v++)
        vals[nv++] = v;
    const uint32_t arches[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0,
                               0xffffffffu};
    const uint32_t edges[] = {0x3fffffffu, 0x40000000u, 0x7fffffffu, 0x80000000u,
                              0xbfffffffu, 0xffffffffu, 0xfffffffeu};
    const int argful[] = {__NR_clone, __NR_unshare, __NR_personality, __NR_ioctl, __NR_socket};
    size_t checked = 0, bad = 0;
    for (size_t ai = 0; ai < SB_ARRAY_LEN(arches); ai++) {
        for (uint32_t k = 0; k < 1100 + 1100 + SB_ARRAY_LEN(edges); k++) {
            uint32_t nr = k < 1100 ? k : k < 2200 ? 0x40000000u + (k - 1100) : edges[k - 2200];
            bool many = false;
            for (size_t s2 = 0; s2 < SB_ARRAY_LEN(argful); s2++)
                if ((nr & ~0x40000000u) == (uint32_t)argful[s2]) many = true;
            size_t rounds = many ? nv * 3 : 3;
            for (size_t r = 0; r < rounds; r++) {
                struct seccomp_data d;
                memset(&d, 0, sizeof(d));
                d.arch = arches[ai];
                d.nr = (int)nr;
                d.instruction_pointer = 0x401000;
                if (many) { /* each value in args 0, 1 and 2 (the checked ones) in turn */
                    d.args[r % 3] = vals[r / 3];
                    if (r % 3 == 2) d.args[0] = AF_NETLINK; /* socket(NETLINK, *, proto) */
                } else if (r == 1) {
                    for (int j = 0; j < 6; j++)
                        d.args[j] = ~0ull;
                } else if (r == 2) {
                    for (int j = 0; j < 6; j++)
                        d.args[j] = 0x5412 + (uint64_t)j;
                }
                uint32_t want = stacked(rf, rn, af, an, &d), got = bpf_run(cf, cn, &d);
                checked++;
                if (want == BPF_BAD || want != got) {
                    if (bad++ < 10)
                        sb_test_fail(__FILE__, __LINE__,
                                     "arch 0x%x nr 0x%x args %llx %llx %llx: reference 0x%x, "
                                     "compact 0x%x",
                                     d.arch, nr, (unsigned long long)d.args[0],
                                     (unsigned long long)d.args[1], (unsigned long long)d.args[2],
                                     want, got);
                }
            }
        }
    }
    /* random inputs, numbers biased to the used range */
    uint64_t seed = 0x5eedb0c5ull;
    for (int i = 0; i < 200000; i++) {
        struct seccomp_data d;
        memset(&d, 0, sizeof(d));
        uint64_t r = xorshift(&seed);
        d.arch = (r & 7) ? AUDIT_ARCH_X86_64 : (uint32_t)(r >> 32);
        d.nr = (int)((r >> 3) & 1 ? (xorshift(&seed) % 512) : (uint32_t)xorshift(&seed));
        for (int j = 0; j < 6; j++)
            d.args[j] = (r >> (8 + j)) & 1 ? xorshift(&seed) : xorshift(&seed) & 0xffff;
        uint32_t want = stacked(rf, rn, af, an, &d), got = bpf_run(cf, cn, &d);
        checked++;
        if (want == BPF_BAD || want != got) {
            if (bad++ < 10)
                sb_test_fail(__FILE__, __LINE__,
                             "random arch 0x%x nr 0x%x: reference 0x%x, "
                             "compact 0x%x",
                             d.arch, (uint32_t)d.nr, want, got);
        }
    }
    printf("  %zu inputs compared, %zu differences\n", checked, bad);
    CHECK_INT((int)bad, 0);
    /* the comparison can fail: a program that allows one more syscall differs */
    static struct sock_filter mutated[1024];
    CHECK(cn <= SB_ARRAY_LEN(mutated));
    memcpy(mutated, cf, cn * sizeof(*cf));
    struct seccomp_data d = {.nr = __NR_mount, .arch = AUDIT_ARCH_X86_64};
    size_t flipped = 0;
    for (size_t i = 0; i < cn; i++)
        if (mutated[i].code == (BPF_RET | BPF_K) && mutated[i].k == (SECCOMP_RET_ERRNO | EPERM) &&
            bpf_run(cf, cn, &d) == mutated[i].k) {
            mutated[i].k = SECCOMP_RET_ALLOW;
            if (bpf_run(mutated, cn, &d) == SECCOMP_RET_ALLOW) {
                flipped++;
                break;
            }
            mutated[i].k = SECCOMP_RET_ERRNO | EPERM;
        }
    CHECK_MSG(flipped == 1 && stacked(rf, rn, af, an, &d) != bpf_run(mutated, cn, &d),
              "a mutated program must differ from the reference");
}

TEST(landlock_confines_to_the_tree) {
    if (sb_landlock_abi() <= 0) {
        sb_test_skip(false, "this kernel has no Landlock");
        return;
    }
    pid_t p = fork();
    if (p == 0) _exit(landlock_child((void *)sb_test_tmpdir()));
    int st;
    waitpid(p, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "landlock child: 0x%x (exit %d)", st,
              WEXITSTATUS(st));
    /* positive control: the same open works outside Landlock */
    int fd = open("/etc/hostname", O_RDONLY);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
}

/* ---- cgroups ------------------------------------------------------------------------------------
 */

TEST(cgroup_missing_controller_is_named) {
    enum sb_cg_mode mode;
    sb_error err = {0};
    /* a directory that is neither cgroup2 nor holds v1 controller mounts */
    CHECK_INT(sb_cgroup_detect(sb_test_tmpdir(), &mode, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "controller 'memory' is not available");
}

TEST(cgroup_detects_this_host) {
    enum sb_cg_mode mode;
    sb_error err = {0};
    CHECK_OK(sb_cgroup_detect(NULL, &mode, &err), &err);
    CHECK(mode == SB_CG_V1 || mode == SB_CG_V2);
}

/* v1: a new process joins its sandbox cgroups by moving itself through fds its creator opened
 * (jail create's first child step); no cpu cgroup is made without a CPU cap. */
TEST(cgroup_v1_join_self) {
    enum sb_cg_mode mode;
    sb_error err = {0};
    if (geteuid() != 0 || sb_cgroup_detect(NULL, &mode, &err) < 0 || mode != SB_CG_V1) {
        sb_test_skip(false, "needs root on a cgroup v1 host (v2 clones into the cgroup; the "
                            "QEMU test covers it)");
        return;
    }
    char id[32];
    snprintf(id, sizeof(id), "unitjoin%d", (int)getpid());
    struct sb_cg_limits lim = {64ull << 20, 16, 0};
    struct sb_cgroup *cg = NULL;
    CHECK_OK(sb_cgroup_create(NULL, "sealbox-unit", id, &lim, &cg, &err), &err);
    if (!cg) return;
    CHECK(cg->v1[SB_CG_CPU] == NULL);
    struct sb_cg_join j = {.n = 0, .dir_fd = -1};
    CHECK_OK(sb_cgroup_join_prepare(cg, &j, &err), &err);
    CHECK(j.n >= 3 && j.dir_fd < 0);
    pid_t p = fork();
    if (p == 0) {
        sb_error e = {0};
        if (sb_cgroup_join_self(&j, &e) < 0) _exit(1);
        char buf[4096], want[64];
        snprintf(want, sizeof(want), "/sealbox-unit/%s\n", id);
        if (sb_read_small("/proc/self/cgroup", buf, sizeof(buf), NULL) < 0) _exit(2);
        int hits = 0; /* memory, pids, freezer (and cpuacct when mounted) */
        for (const char *q = buf; (q = strstr(q, want)) != NULL; q++)
            hits++;
        _exit(hits >= 3 ? 0 : 3);
    }
    sb_cgroup_join_close(&j);
    int st = 0;
    waitpid(p, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "join child: 0x%x", st);
    CHECK_OK(sb_cgroup_destroy(cg, &err), &err);
    /* with a CPU cap the cpu controller is used */
    lim.cpu_millis = 500;
    cg = NULL;
    CHECK_OK(sb_cgroup_create(NULL, "sealbox-unit", id, &lim, &cg, &err), &err);
    if (cg) CHECK(cg->v1[SB_CG_CPU] != NULL);
    char parents[SB_CG_CTRL_MAX][4096];
    for (int c = 0; c < SB_CG_CTRL_MAX; c++) {
        snprintf(parents[c], sizeof(parents[c]), "%s", cg && cg->v1[c] ? cg->v1[c] : "");
        char *slash = strrchr(parents[c], '/');
        if (slash) *slash = 0;
    }
    CHECK_OK(sb_cgroup_destroy(cg, &err), &err);
    for (int c = 0; c < SB_CG_CTRL_MAX; c++) /* the test's own parent directories */
        if (parents[c][0]) (void)rmdir(parents[c]);
}
