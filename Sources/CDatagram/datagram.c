#define _GNU_SOURCE
#include "CDatagram.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

_Static_assert(sizeof(struct cdns_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");

int cdns_udp_socket(const char *host, int port, int rcvbuf, int timeout_ms, int *bound_port) {
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        len = sizeof *v6;
    } else {
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)) {
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
    int sent = 0;
    while (sent < k) {
        int n = sendmmsg(fd, (struct mmsghdr *)(b->out + sent), (unsigned)(k - sent), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* Socket buffer full (EAGAIN) or an unreachable client: the rest are lost, as UDP is. */
            if (sent == 0) return -errno;
            break;
        }
        sent += n;
    }
    return sent;
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
