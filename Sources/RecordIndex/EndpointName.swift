import DNSWire

/// The system-assigned hostname of an endpoint address (spec S5, CoreDNS `endpointHostname`):
/// the IP with dashes — `10-3-0-102`, `2001-db8--102` — and a `0` appended when the result would
/// end in a dash.
public enum EndpointName {
    public static func dashed(_ ip: IPAddress) -> String {
        if case let .v4(a, b, c, d) = ip { return "\(a)-\(b)-\(c)-\(d)" }
        var text = ip.description.replacingAll(":", with: "-")
        if text.hasSuffix("-") { text += "0" }
        if text.hasPrefix("-") { text = "0" + text }
        return text
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
