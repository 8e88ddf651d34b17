/// The RDATA of a record, decoded for the types this server produces and keeps as opaque bytes
/// for every other (RFC 3597), so unknown types round-trip unchanged.
public enum RData: Hashable, Sendable {
    case a(IPAddress)
    case aaaa(IPAddress)
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    /// Boxed: an SOA is rare and large, and would otherwise size every RData.
    indirect case soa(SOA)
    case srv(SRV)
    /// Character-strings, each at most 255 bytes.
    case txt([[UInt8]])
    /// Any other type: the bytes as they were.
    case opaque([UInt8])

    public struct SOA: Hashable, Sendable {
        public var mname: DNSName
        public var rname: DNSName
        public var serial: UInt32
        public var refresh: UInt32
        public var retry: UInt32
        public var expire: UInt32
        public var minimum: UInt32
        public init(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
            self.mname = mname
            self.rname = rname
            self.serial = serial
            self.refresh = refresh
            self.retry = retry
            self.expire = expire
            self.minimum = minimum
        }
    }

    public struct SRV: Hashable, Sendable {
        public var priority: UInt16
        public var weight: UInt16
        public var port: UInt16
        public var target: DNSName
        public init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
            self.priority = priority
            self.weight = weight
            self.port = port
            self.target = target
        }
    }
}

/// One resource record (RFC 1035 §4.1.3). OPT is not one of these: it is `EDNS`.
public struct ResourceRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: RecordType
    public var recordClass: RecordClass
    public var ttl: UInt32
    public var rdata: RData

    public init(name: DNSName, type: RecordType, recordClass: RecordClass = .in, ttl: UInt32, rdata: RData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.rdata = rdata
    }

    /// The record with its type taken from the RDATA. For opaque data, pass the type.
    public init(name: DNSName, ttl: UInt32, rdata: RData) {
        let type: RecordType
        switch rdata {
        case .a: type = .a
        case .aaaa: type = .aaaa
        case .ns: type = .ns
        case .cname: type = .cname
        case .ptr: type = .ptr
        case .soa: type = .soa
        case .srv: type = .srv
        case .txt: type = .txt
        case .opaque: preconditionFailure("opaque RDATA needs an explicit type")
        }
        self.init(name: name, type: type, ttl: ttl, rdata: rdata)
    }
}

/// The EDNS(0) pseudo-record (RFC 6891 §6.1), unpacked from an OPT RR.
public struct EDNS: Hashable, Sendable {
    public var udpPayloadSize: UInt16
    public var extendedRcodeHigh: UInt8
    public var version: UInt8
    public var dnssecOK: Bool
    /// Flag bits other than DO, kept to prove they are cleared in replies (RFC 8906 §8.2.4).
    public var otherFlags: UInt16
    public var options: [Option]

    public struct Option: Hashable, Sendable {
        public var code: UInt16
        public var data: [UInt8]
        public init(code: UInt16, data: [UInt8]) {
            self.code = code
            self.data = data
        }
    }

    public static let cookieOption: UInt16 = 10

    /// RFC 7873 §4: a COOKIE option holds a client cookie (8) or both (16–40); any other length
    /// is FORMERR.
    @inlinable
    public static func isValidCookieLength(_ n: Int) -> Bool { n == 8 || (16...40).contains(n) }

    public init(udpPayloadSize: UInt16 = 1232, extendedRcodeHigh: UInt8 = 0, version: UInt8 = 0, dnssecOK: Bool = false, otherFlags: UInt16 = 0, options: [Option] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRcodeHigh = extendedRcodeHigh
        self.version = version
        self.dnssecOK = dnssecOK
        self.otherFlags = otherFlags
        self.options = options
    }

    /// Bytes the OPT record takes in a message.
    public var wireSize: Int {
        11 + options.reduce(0) { $0 + 4 + $1.data.count }
    }
}
