#ifndef CDATAGRAM_H
#define CDATAGRAM_H
#include <sys/socket.h>
#include <stddef.h>

/// Batched UDP I/O for the DNS listeners: recvmmsg/sendmmsg over fixed slots of one buffer,
/// so a batch of datagrams costs two system calls and no allocation.

/// The most datagrams one call moves.
#define CDNS_BATCH_MAX 64

/// A UDP socket bound to host:port with SO_REUSEADDR and SO_REUSEPORT (one per thread on one
/// port), a receive buffer of `rcvbuf` bytes and a receive timeout of `timeout_ms`; IPv6 sockets
/// are IPv6-only. Returns the descriptor, or -errno. `bound_port` receives the port.
int cdns_udp_socket(const char *host, int port, int rcvbuf, int timeout_ms, int *bound_port);

/// Receives up to `count` datagrams into slots of `slot` bytes of `buf`: waits for the first
/// (up to the socket's timeout), takes what else is queued. Lengths, addresses and their
/// lengths go to the arrays; a datagram longer than its slot has its length set to -1.
/// Returns how many, 0 on timeout, or -errno.
int cdns_recv_batch(int fd, unsigned char *buf, int slot, int count, struct sockaddr_storage *addrs, int *addr_lens, int *lengths);

/// Sends slot i (lengths[i] bytes, skipped when 0) to addrs[i] for i < count. Returns how many
/// datagrams the kernel took, or -errno.
int cdns_send_batch(int fd, unsigned char *buf, int slot, int count, const struct sockaddr_storage *addrs, const int *addr_lens,
                    const int *lengths);

/// One datagram (a forwarded answer, sent later from another thread). Returns bytes or -errno.
int cdns_send_one(int fd, const unsigned char *bytes, int n, const struct sockaddr_storage *addr, int addr_len);

/// The port of an address (host order), and whether it is IPv6.
int cdns_address_port(const struct sockaddr_storage *addr);
int cdns_address_is_ipv6(const struct sockaddr_storage *addr);
/// The address as text ("1.2.3.4:53", "[::1]:53") into out (at least 64 bytes).
void cdns_address_text(const struct sockaddr_storage *addr, char *out, int size);

#endif
