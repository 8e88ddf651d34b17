import DNSWire

/// The system-assigned hostname of an endpoint address (spec S5, CoreDNS `endpointHostname`):
/// the IP with dashes — `10-3-0-102`, `2001-db8--102` — and a `0` appended when the result would
/// end in a dash.
public enum EndpointName {
    public static func dashed(_ ip: IPAddress) -> String {
        if case let .v4(a, b, c, d) = ip {
            // At most 15 bytes: a small string, built without interpolation (one per endpoint
            // in a cluster's first build, where interpolation cost more than the rest of it).
            let v4 = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
            return String(unsafeUninitializedCapacity: 15) { buffer in
                writeDashed(v4, into: UnsafeMutableRawBufferPointer(buffer), at: 0)
            }
        }
        var text = ip.description.replacingAll(":", with: "-")
        if text.hasSuffix("-") { text += "0" }
        if text.hasPrefix("-") { text = "0" + text }
        return text
    }

    /// `<dashed ip>.<suffix>`, without the dashed label as a String for an IPv4 address.
    static func name(dashed ip: IPAddress, suffix: DNSName) throws -> DNSName {
        guard case let .v4(a, b, c, d) = ip else { return try DNSName(labels: [dashed(ip)], suffix: suffix) }
        let v4 = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
        return try withUnsafeTemporaryAllocation(byteCount: 16, alignment: 1) { buffer in
            let n = writeDashed(v4, into: buffer, at: 0)
            return try DNSName(label: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), suffix: suffix)
        }
    }

    /// Writes an IPv4 address's dashed name (`10-3-0-102`, at most 15 bytes) into `buffer` from
    /// `start`; returns where it ends. No closure: the query path's PTR writer calls it.
    static func writeDashed(_ v4: UInt32, into buffer: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        var i = start
        for k in 0..<4 {
            if k > 0 { buffer[i] = UInt8(ascii: "-"); i += 1 }
            let octet = UInt8(truncatingIfNeeded: v4 >> (24 - 8 * UInt32(k)))
            if octet >= 100 { buffer[i] = UInt8(ascii: "0") + octet / 100; i += 1 }
            if octet >= 10 { buffer[i] = UInt8(ascii: "0") + octet / 10 % 10; i += 1 }
            buffer[i] = UInt8(ascii: "0") + octet % 10
            i += 1
        }
        return i
    }

    /// Reads a pod-record label back into an IP (coredns-kubernetes.md §3.6): exactly three
    /// dashes and no `--` is IPv4, anything else is tried as IPv6 with dashes turned to colons.
    public static func parseDashed(_ label: String) -> IPAddress? {
        let dashes = label.filter { $0 == "-" }.count
        if dashes == 3 && !label.contains("--") {
            guard let ip = IPAddress(label.replacingAll("-", with: ".")), ip.isIPv4 else { return nil }
            return ip
        }
        guard let ip = IPAddress(label.replacingAll("-", with: ":")), !ip.isIPv4 else { return nil }
        return ip
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(count)
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}
