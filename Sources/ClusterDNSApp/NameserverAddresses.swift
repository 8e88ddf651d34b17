import DNSServer
import DNSWire
import NIOCore

/// The addresses `ns.dns.<zone>` answers with (spec D4): the listen addresses, or for a wildcard
/// listener the machine's non-loopback interface addresses.
public enum NameserverAddresses {
    public static func forListeners(_ endpoints: [ServerConfiguration.Endpoint]) -> [IPAddress] {
        var out: [IPAddress] = []
        for e in endpoints {
            guard let listen = IPAddress(e.host) else { continue }
            if listen.isUnspecified {
                for addr in interfaceAddresses() {
                    if listen.isIPv4 && !addr.isIPv4 { continue }
                    if addr.isLoopback || addr.description.hasPrefix("fe80") { continue }
                    out.append(addr)
                }
            } else {
                out.append(listen)
            }
        }
        var seen = Set<IPAddress>()
        return out.filter { seen.insert($0).inserted }
    }

    /// Every address of this machine's interfaces (loopback and link-local included, any zone
    /// suffix dropped).
    static func interfaceAddresses() -> [IPAddress] {
        ((try? System.enumerateDevices()) ?? []).compactMap { d in
            d.address?.ipAddress.flatMap { IPAddress(String($0.prefix { $0 != "%" })) }
        }
    }
}
