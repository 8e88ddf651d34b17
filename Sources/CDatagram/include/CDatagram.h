#ifndef CDATAGRAM_H
#define CDATAGRAM_H
#include <sys/socket.h>
#include <stddef.h>
#include <sys/uio.h>

/// Batched UDP I/O for the DNS listeners: recvmmsg/sendmmsg over fixed slots of one buffer,
/// so a batch of datagrams costs two system calls and no allocation.

/// The most datagrams one call moves.
#define CDNS_BATCH_MAX 64

/// A UDP socket bound to host:port (numeric, or a name: its first address) with SO_REUSEADDR and
/// SO_REUSEPORT (one per thread on one port), a receive buffer of `rcvbuf` bytes and a receive
/// timeout of `timeout_ms`; IPv6 sockets take IPv4 too, as the system sets them (and the TCP
/// listener's). Returns the descriptor, or -errno. `bound_port` receives the port.
int cdns_udp_socket(const char *host, int port, int rcvbuf, int timeout_ms, int *bound_port);

/// The message headers of one listener's batches, set up once (`cdns_batch_init`): slot i of
/// `queries` receives into addrs[i]; replies go out from slot i of `replies`.
/// struct mmsghdr's layout (declared here: the system's needs _GNU_SOURCE, which Swift's view of
/// sys/socket.h does not have).
struct cdns_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

struct cdns_batch {
    struct cdns_mmsghdr in[CDNS_BATCH_MAX];
    struct iovec in_iov[CDNS_BATCH_MAX];
    struct cdns_mmsghdr out[CDNS_BATCH_MAX];
    struct iovec out_iov[CDNS_BATCH_MAX];
    struct sockaddr_storage *addrs;
    unsigned char *replies;
    int reply_slot;
    int count;
};

void cdns_batch_init(struct cdns_batch *b, int count, unsigned char *queries, int query_slot, unsigned char *replies, int reply_slot,
                     struct sockaddr_storage *addrs);

/// Receives up to the batch's count of datagrams: waits for the first (up to the socket's
/// timeout), takes what else is queued. lengths[i] is -1 for a datagram longer than its slot.
/// Returns how many, 0 on timeout, or -errno.
int cdns_recv_batch(int fd, struct cdns_batch *b, int *lengths);

/// Sends reply slot i (lengths[i] bytes, skipped when 0) to the address it came from, for
/// i < count. Returns how many replies were not sent (a full socket buffer, or an error that
/// concerns one datagram, which is skipped).
int cdns_send_batch(int fd, struct cdns_batch *b, int count, const int *lengths);

/// The length of addrs[i] as received.
int cdns_batch_address_length(const struct cdns_batch *b, int i);

/// One datagram (a forwarded answer, sent later from another thread). Returns bytes or -errno.
int cdns_send_one(int fd, const unsigned char *bytes, int n, const struct sockaddr_storage *addr, int addr_len);

/// The port of an address (host order), and whether it is IPv6.
int cdns_address_port(const struct sockaddr_storage *addr);
int cdns_address_is_ipv6(const struct sockaddr_storage *addr);
/// The address's IP into out (16 bytes of room): returns 4 or 16, the bytes written (an
/// IPv4-mapped IPv6 address, as a dual-stack socket reports IPv4 senders, gives its 4), or 0.
int cdns_address_ip(const struct sockaddr_storage *addr, unsigned char *out);
/// The address as text ("1.2.3.4:53", "[::1]:53") into out (at least 64 bytes).
void cdns_address_text(const struct sockaddr_storage *addr, char *out, int size);

/// CPUs this process may run on (taskset, cpusets), or 0 when unknown.
int cdns_affinity_cpus(void);

#endif
