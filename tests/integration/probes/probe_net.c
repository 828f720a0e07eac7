/* probe_net: the network from inside — raw, packet, vsock and non-route netlink sockets,
 * interface changes, the host's loopback listener and abstract unix sockets, cloud metadata.
 * arg: "PORT" of a TCP listener on the host's 127.0.0.1, or the abstract socket name. */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "probe.h"

static int atoi_port(const char *s) { return (int)strtol(s, NULL, 10); }
#include <stddef.h>

static int packet_in(const char *a) {
    (void)a;
    return want_errno("socket(AF_PACKET)", socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT);
}
static int packet_host(const char *a) {
    (void)a;
    return want_ok("socket(AF_PACKET)", socket(AF_PACKET, SOCK_RAW, 0));
}
static int raw_in(const char *a) {
    (void)a;
    return want_errno("socket(AF_INET, SOCK_RAW)", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
}
static int raw_host(const char *a) {
    (void)a;
    return want_ok("socket(AF_INET, SOCK_RAW)", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
}
static int vsock_in(const char *a) {
    (void)a;
    return want_errno("socket(AF_VSOCK)", socket(AF_VSOCK, SOCK_STREAM, 0), EAFNOSUPPORT);
}
static int vsock_host(const char *a) {
    (void)a;
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0 && errno == EAFNOSUPPORT) return PROBE_NO_CONTROL; /* no vsock transport here */
    return want_ok("socket(AF_VSOCK)", s);
}
static int xfrm_in(const char *a) {
    (void)a;
    return want_errno("socket(NETLINK_XFRM)", socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM),
                      EAFNOSUPPORT);
}
static int xfrm_host(const char *a) {
    (void)a;
    return want_ok("socket(NETLINK_XFRM)", socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM));
}

/* changing an interface (the MTU of lo, to its current value) needs CAP_NET_ADMIN */
static long set_lo_mtu(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof(r));
    memcpy(r.ifr_name, "lo", 3);
    if (ioctl(s, SIOCGIFMTU, &r) != 0) return -1;
    return ioctl(s, SIOCSIFMTU, &r);
}
static int lo_in(const char *a) {
    (void)a;
    return want_errno("SIOCSIFMTU lo", set_lo_mtu(), EPERM);
}
static int lo_host(const char *a) {
    (void)a;
    return want_ok("SIOCSIFMTU lo", set_lo_mtu());
}

static long tcp_connect(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return connect(s, (struct sockaddr *)&sa, sizeof(sa));
}
/* 127.0.0.1 inside is the sandbox's own loopback (TCP on it works): nothing listens on the
 * host listener's port there */
static int loopback_in(const char *a) {
    return want_errno("connect to the host's loopback listener",
                      tcp_connect("127.0.0.1", a ? atoi_port(a) : 1), ECONNREFUSED);
}
static int loopback_host(const char *a) {
    return want_ok("connect 127.0.0.1", tcp_connect("127.0.0.1", a ? atoi_port(a) : 1));
}
static int metadata_in(const char *a) {
    (void)a;
    return want_errno("connect 169.254.169.254:80", tcp_connect("169.254.169.254", 80),
                      ENETUNREACH);
}

static long abstract_connect(const char *name) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    if (n + 1 >= sizeof(sa.sun_path)) return -1;
    memcpy(sa.sun_path + 1, name, n);
    return connect(s, (struct sockaddr *)&sa,
                   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
}
static int abstract_in(const char *a) {
    long rc = abstract_connect(a ? a : "sbprobe");
    if (rc == -1 && (errno == ECONNREFUSED || errno == EPERM)) return PROBE_OK;
    return want_errno("connect to the host's abstract socket", rc, ECONNREFUSED);
}
static int abstract_host(const char *a) {
    return want_ok("connect abstract socket", abstract_connect(a ? a : "sbprobe"));
}

static const struct probe PROBES[] = {
    {"af_packet", packet_in, packet_host}, {"raw_socket", raw_in, raw_host},
    {"vsock", vsock_in, vsock_host},       {"netlink_xfrm", xfrm_in, xfrm_host},
    {"interface_change", lo_in, lo_host},  {"host_loopback", loopback_in, loopback_host},
    {"cloud_metadata", metadata_in, NULL}, {"host_abstract_socket", abstract_in, abstract_host},
};

PROBES_MAIN(PROBES)
