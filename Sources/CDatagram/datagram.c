#define _GNU_SOURCE
#include "CDatagram.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sched.h>
#include <unistd.h>

_Static_assert(sizeof(struct cdns_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");

int cdns_udp_socket(const char *host, int port, int rcvbuf, int timeout_ms, int *bound_port) {
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    /* Numeric addresses, or a name such as localhost: the first address it resolves to, as the
       TCP listener's bind does. */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || res == NULL) return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    /* A larger buffer rides out bursts; the kernel caps it at rmem_max (not an error). */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) *bound_port = cdns_address_port(&ss);
    return fd;
}

void cdns_batch_init(struct cdns_batch *b, int count, unsigned char *queries, int query_slot, unsigned char *replies, int reply_slot,
                     struct sockaddr_storage *addrs) {
    memset(b, 0, sizeof *b);
    if (count > CDNS_BATCH_MAX) count = CDNS_BATCH_MAX;
    b->count = count;
    b->addrs = addrs;
    b->replies = replies;
    b->reply_slot = reply_slot;
    for (int i = 0; i < count; i++) {
        b->in_iov[i].iov_base = queries + (size_t)i * query_slot;
        b->in_iov[i].iov_len = (size_t)query_slot;
        b->in[i].msg_hdr.msg_iov = &b->in_iov[i];
        b->in[i].msg_hdr.msg_iovlen = 1;
        b->in[i].msg_hdr.msg_name = &addrs[i];
        b->out[i].msg_hdr.msg_iov = &b->out_iov[i];
        b->out[i].msg_hdr.msg_iovlen = 1;
    }
}

int cdns_recv_batch(int fd, struct cdns_batch *b, int *lengths) {
    for (int i = 0; i < b->count; i++) b->in[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    int n = recvmmsg(fd, (struct mmsghdr *)b->in, (unsigned)b->count, MSG_WAITFORONE, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
    for (int i = 0; i < n; i++) lengths[i] = (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int)b->in[i].msg_len;
    return n;
}

int cdns_batch_address_length(const struct cdns_batch *b, int i) { return (int)b->in[i].msg_hdr.msg_namelen; }

int cdns_send_batch(int fd, struct cdns_batch *b, int count, const int *lengths) {
    int k = 0;
    if (count > b->count) count = b->count;
    for (int i = 0; i < count; i++) {
        if (lengths[i] <= 0) continue;
        b->out_iov[k].iov_base = b->replies + (size_t)i * b->reply_slot;
        b->out_iov[k].iov_len = (size_t)lengths[i];
        b->out[k].msg_hdr.msg_name = &b->addrs[i];
        b->out[k].msg_hdr.msg_namelen = b->in[i].msg_hdr.msg_namelen;
        k++;
    }
    /* Socket buffer full (EAGAIN): the rest are lost, as UDP is. Any other error belongs to
       one datagram (a client with no route back, a firewall rule): skip it, send the others. */
    int sent = 0, failed = 0;
    while (sent + failed < k) {
        int n = sendmmsg(fd, (struct mmsghdr *)(b->out + sent + failed), (unsigned)(k - sent - failed), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            failed++;
            continue;
        }
        sent += n;
    }
    return k - sent;
}

int cdns_send_one(int fd, const unsigned char *bytes, int n, const struct sockaddr_storage *addr, int addr_len) {
    ssize_t r = sendto(fd, bytes, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)addr, (socklen_t)addr_len);
    return r < 0 ? -errno : (int)r;
}

int cdns_address_port(const struct sockaddr_storage *addr) {
    if (addr->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)addr)->sin_port);
    if (addr->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    return 0;
}

int cdns_address_is_ipv6(const struct sockaddr_storage *addr) { return addr->ss_family == AF_INET6; }

int cdns_address_ip(const struct sockaddr_storage *addr, unsigned char *out) {
    if (addr->ss_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)addr)->sin_addr, 4);
        return 4;
    }
    if (addr->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(out, &a->s6_addr[12], 4);
            return 4;
        }
        memcpy(out, a, 16);
        return 16;
    }
    return 0;
}

void cdns_address_text(const struct sockaddr_storage *addr, char *out, int size) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (addr->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof ip);
        snprintf(out, (size_t)size, "%s:%d", ip, cdns_address_port(addr));
    } else {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof ip);
        snprintf(out, (size_t)size, "[%s]:%d", ip, cdns_address_port(addr));
    }
}

int cdns_affinity_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}
