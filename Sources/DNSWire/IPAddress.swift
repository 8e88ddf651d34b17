#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as bytes, parsed and printed in canonical text (RFC 5952 for IPv6,
/// through the C library's inet_pton/inet_ntop so the forms match every other tool).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt8, UInt8, UInt8, UInt8)
    case v6([UInt8])  // exactly 16 bytes

    /// Parses dotted-quad or IPv6 text. Rejects everything else, including IPv4 with leading
    /// zeros ("010.0.0.1"), which inet_pton rejects as well.
    public init?(_ text: String) {
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            self = .v6(withUnsafeBytes(of: &raw) { Array($0) })
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            let b = withUnsafeBytes(of: &raw) { Array($0) }
            self = .v4(b[0], b[1], b[2], b[3])
        }
    }

    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: self = .v4(bytes[0], bytes[1], bytes[2], bytes[3])
        case 16: self = .v6(bytes)
        default: return nil
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case let .v4(a, b, c, d): return [a, b, c, d]
        case let .v6(b): return b
        }
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let a, _, _, _): return a == 127
        case .v6(let b): return b == [UInt8](repeating: 0, count: 15) + [1]
        }
    }

    /// 0.0.0.0 or ::, a wildcard listen address.
    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .v4(a, b, c, d):
            return "\(a).\(b).\(c).\(d)"
        case let .v6(bytes):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &buf, socklen_t(buf.count)) != nil else { return "::" }
            return String(cString: buf)
        }
    }

    /// The reverse-tree name: `d.c.b.a.in-addr.arpa.` or the 32-nibble `ip6.arpa.` form
    /// (spec S13/S14).
    public var reverseName: DNSName {
        var wire: [UInt8] = []
        switch self {
        case let .v4(a, b, c, d):
            for octet in [d, c, b, a] {
                let text = Array(String(octet).utf8)
                wire.append(UInt8(text.count))
                wire.append(contentsOf: text)
            }
            wire += [7] + Array("in-addr".utf8) + [4] + Array("arpa".utf8) + [0]
        case let .v6(bytes):
            let hex = Array("0123456789abcdef".utf8)
            for byte in bytes.reversed() {
                wire += [1, hex[Int(byte & 0x0F)], 1, hex[Int(byte >> 4)]]
            }
            wire += [3] + Array("ip6".utf8) + [4] + Array("arpa".utf8) + [0]
        }
        return DNSName(validatedWire: wire)
    }
}
