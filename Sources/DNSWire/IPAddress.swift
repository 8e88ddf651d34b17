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
    /// zeros ("010.0.0.1"), which inet_pton rejects as well, and text with a NUL in it (the
    /// dotted-quad parser takes digits and dots only; inet_pton would read only up to the NUL,
    /// and a pod label `0--4\0@` is not `::4`).
    public init?(_ text: String) {
        // Dotted quads, the bulk of any cluster, parsed here rather than through the C
        // library, as strictly: four parts, each 0–255, no leading zeros. Over the string's
        // bytes in place (a third of the instructions of walking its UTF8View).
        var text = text
        let v4: IPAddress?? = text.withUTF8 { bytes in
            bytes.contains(UInt8(ascii: ":")) ? nil : .some(IPAddress.parseV4(bytes))
        }
        if let v4 {
            guard let v4 else { return nil }
            self = v4
            return
        }
        var raw = in6_addr()
        guard !text.utf8.contains(0), inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
        self = .v6(withUnsafeBytes(of: &raw) { Array($0) })
    }

    static func parseV4(_ text: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        var parts: (UInt8, UInt8, UInt8) = (0, 0, 0)
        var part = 0, value = 0, digits = 0
        for c in text {
            if c == UInt8(ascii: ".") {
                guard digits > 0 else { return nil }
                switch part {
                case 0: parts.0 = UInt8(value)
                case 1: parts.1 = UInt8(value)
                case 2: parts.2 = UInt8(value)
                default: return nil
                }
                part += 1
                value = 0
                digits = 0
            } else if c >= 0x30 && c <= 0x39 {
                if digits > 0 && value == 0 { return nil }  // a leading zero
                value = value * 10 + Int(c - 0x30)
                digits += 1
                guard value <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard part == 3, digits > 0 else { return nil }
        return .v4(parts.0, parts.1, parts.2, UInt8(value))
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack socket shows IPv4
    /// peers) as the IPv4 address; any other address unchanged.
    public var unmapped: IPAddress {
        guard case .v6(let b) = self, b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF else { return self }
        return .v4(b[12], b[13], b[14], b[15])
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
            // Byte by byte: array literals here were a temporary array per octet, and a first
            // build names every endpoint address.
            wire.reserveCapacity(16 + IPAddress.inAddrArpa.count)
            Self.appendLabel(d, to: &wire)
            Self.appendLabel(c, to: &wire)
            Self.appendLabel(b, to: &wire)
            Self.appendLabel(a, to: &wire)
            wire.append(contentsOf: IPAddress.inAddrArpa)
        case let .v6(bytes):
            wire.reserveCapacity(64 + IPAddress.ip6Arpa.count)
            for byte in bytes.reversed() {
                wire.append(1)
                wire.append(IPAddress.hex[Int(byte & 0x0F)])
                wire.append(1)
                wire.append(IPAddress.hex[Int(byte >> 4)])
            }
            wire.append(contentsOf: IPAddress.ip6Arpa)
        }
        return DNSName(validatedWire: wire)
    }

    static let hex = Array("0123456789abcdef".utf8)
    /// An octet as a label in decimal, without a String: 1 to 3 digits.
    private static func appendLabel(_ octet: UInt8, to wire: inout [UInt8]) {
        wire.append(octet >= 100 ? 3 : octet >= 10 ? 2 : 1)
        if octet >= 100 { wire.append(0x30 + octet / 100) }
        if octet >= 10 { wire.append(0x30 + octet / 10 % 10) }
        wire.append(0x30 + octet % 10)
    }

    /// `in-addr.arpa.` and `ip6.arpa.` in wire form: the tails of every reverse name.
    public static let inAddrArpa: [UInt8] = [7] + Array("in-addr".utf8) + [4] + Array("arpa".utf8) + [0]
    public static let ip6Arpa: [UInt8] = [3] + Array("ip6".utf8) + [4] + Array("arpa".utf8) + [0]
}
