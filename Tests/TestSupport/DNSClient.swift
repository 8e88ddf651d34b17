import DNSWire

#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback DNS client on plain sockets, for tests: sends bytes, returns bytes or nil
/// on timeout. Deliberately not NIO, so the server is tested by an independent stack.
public enum DNSClient {
    public static func udp(_ query: [UInt8], port: Int, host: String = "127.0.0.1", timeout: Double = 2) -> [UInt8]? {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        setTimeout(fd, timeout)
        guard withAddress(host, port, { sendto(fd, query, query.count, 0, $0, $1) }) == query.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? Array(buf[0..<n]) : nil
    }

    /// Sends every query at once from one socket, then collects replies until all came or the
    /// timeout: each reply with the seconds since the burst was sent.
    public static func burst(_ queries: [[UInt8]], port: Int, timeout: Double = 3) -> [(reply: [UInt8], seconds: Double)] {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        setTimeout(fd, 0.2)
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        func since() -> Double {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            return Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9
        }
        for q in queries { _ = withAddress("127.0.0.1", port, { sendto(fd, q, q.count, 0, $0, $1) }) }
        var out: [([UInt8], Double)] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while out.count < queries.count && since() < timeout {
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 { out.append((Array(buf[0..<n]), since())) }
        }
        return out
    }

    /// Opens a TCP connection, writes `chunks` (each a raw byte string, framing included), and
    /// reads until `expect` framed replies arrived, the peer closed, or the timeout.
    public static func tcpRaw(_ chunks: [[UInt8]], expect: Int, port: Int, host: String = "127.0.0.1", timeout: Double = 3) -> (replies: [[UInt8]], closed: Bool) {
        guard let fd = connectTCP(host, port, timeout) else { return ([], true) }
        defer { close(fd) }
        for c in chunks { _ = c.withUnsafeBytes { send(fd, $0.baseAddress, c.count, Int32(MSG_NOSIGNAL)) } }
        var data: [UInt8] = []
        var replies: [[UInt8]] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while replies.count < expect {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return (replies, true) }
            data += buf[0..<n]
            while data.count >= 2 {
                let len = Int(data[0]) << 8 | Int(data[1])
                guard data.count >= len + 2 else { break }
                replies.append(Array(data[2..<(2 + len)]))
                data.removeFirst(len + 2)
            }
        }
        return (replies, false)
    }

    public static func tcp(_ query: [UInt8], port: Int, host: String = "127.0.0.1") -> [UInt8]? {
        tcpRaw([frame(query)], expect: 1, port: port, host: host).replies.first
    }

    public static func frame(_ m: [UInt8]) -> [UInt8] {
        [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m
    }

    public static func connectTCP(_ host: String, _ port: Int, _ timeout: Double) -> Int32? {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        setTimeout(fd, timeout)
        guard withAddress(host, port, { Glibc.connect(fd, $0, $1) }) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func withAddress<R>(_ host: String, _ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if host.contains(":") {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET6, host, &a.sin6_addr)
            return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &a.sin_addr)
        return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }

    /// A query message: RD set, EDNS with a 1232-byte buffer unless `edns` is nil.
    public static func query(_ name: String, _ type: RecordType, id: UInt16 = 0x1234, edns: EDNS? = EDNS(udpPayloadSize: 1232)) -> [UInt8] {
        var h = Header()
        h.id = id
        h.recursionDesired = true
        let n = try! DNSName(parsing: name.hasSuffix(".") ? name : name + ".")
        return Message(header: h, questions: [Question(name: n, type: type)], edns: edns).encoded()
    }
}
