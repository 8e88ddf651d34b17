import DNSServer
import DNSWire
import NIOCore

/// The addresses `ns.dns.<zone>` answers with (spec D4): the listen addresses, or for a wildcard
/// listener the machine's non-loopback interface addresses.
public enum NameserverAddresses {
    public static func forListeners(_ endpoints: [ServerConfiguration.Endpoint]) -> [IPAddress] {
        var out: [IPAddress] = []
        for e in endpoints {
            if e.host == "0.0.0.0" || e.host == "::" {
                let devices = (try? System.enumerateDevices()) ?? []
                for d in devices {
                    guard let ip = d.address?.ipAddress, let addr = IPAddress(ip) else { continue }
                    if e.host == "0.0.0.0" && !addr.isIPv4 { continue }
                    if addr.description.hasPrefix("127.") || addr.description == "::1" || addr.description.hasPrefix("fe80") { continue }
                    out.append(addr)
                }
            } else if let addr = IPAddress(e.host) {
                out.append(addr)
            }
        }
        var seen = Set<IPAddress>()
        return out.filter { seen.insert($0).inserted }
    }
}
