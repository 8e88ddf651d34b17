import Testing
import TestSupport

/// RFC 8906 §8 (table in reliability.md §1.2): each check is the `dig` one-liner, against the
/// real server on the example zones plus a Service too big for one UDP answer.
@Suite struct RFC8906Tests {
    let server: ServerProcess

    init() throws {
        server = try ServerProcess.shared("rfc8906") {
            try ServerProcess(arguments: ["--zones", try Fixtures.directory(extra: [
                "big.yaml": Fixtures.bigHeadless(name: "big", 200), "mid.yaml": Fixtures.bigHeadless(name: "mid", 50),
            ])])
        }
    }

    // 8.1.1: `+noedns SOA zone` → NOERROR, 1 SOA, AA=1, no OPT.
    @Test func zoneConfigured() throws {
        let r = try dig(server.port, ["+noedns", "cluster.local", "SOA"])
        #expect(r.status == "NOERROR")
        #expect(r.flags.contains("aa"))
        #expect(r.answers.count == 1 && r.answers[0].contains("SOA"))
        #expect(!r.hasOPT)
    }

    // 8.1.2: unknown type → NOERROR, empty answer, AA=1.
    @Test func unknownType() throws {
        let r = try dig(server.port, ["+noedns", "cluster.local", "TYPE1000"])
        #expect(r.status == "NOERROR" && r.answers.isEmpty && r.flags.contains("aa"))
    }

    // 8.1.3.1–8.1.3.4: CD, AD, Z, RD — normal answers; AD=0 and Z cleared; RD echoed.
    @Test func headerBits() throws {
        let cd = try dig(server.port, ["+noedns", "+cd", "cluster.local", "SOA"])
        #expect(cd.status == "NOERROR" && cd.answers.count == 1)
        let ad = try dig(server.port, ["+noedns", "+ad", "cluster.local", "SOA"])
        #expect(ad.status == "NOERROR" && !ad.flags.contains("ad"))
        let z = try dig(server.port, ["+noedns", "+zflag", "cluster.local", "SOA"])
        #expect(z.status == "NOERROR" && !z.text.contains("MBZ"))
        let rd = try dig(server.port, ["+noedns", "+rec", "cluster.local", "SOA"])
        #expect(rd.flags.contains("rd"))
        let nord = try dig(server.port, ["+noedns", "+norec", "cluster.local", "SOA"])
        #expect(!nord.flags.contains("rd"))
    }

    // 8.1.4: unknown opcode → NOTIMP, opcode echoed, empty sections, no OPT.
    @Test func unknownOpcode() throws {
        let r = try dig(server.port, ["+noedns", "+opcode=15", "+header-only", "cluster.local", "SOA"])
        #expect(r.status == "NOTIMP")
        #expect(r.text.contains("opcode: 15") || r.text.contains("opcode: RESERVED15"))
        #expect(!r.hasOPT && r.answers.isEmpty)
    }

    // 8.1.5: the same answer over TCP.
    @Test func tcp() throws {
        let r = try dig(server.port, ["+noedns", "+tcp", "cluster.local", "SOA"])
        #expect(r.status == "NOERROR" && r.answers.count == 1 && r.flags.contains("aa"))
    }

    // 8.2.1: minimal EDNS → NOERROR, OPT version 0.
    @Test func minimalEDNS() throws {
        let r = try dig(server.port, ["+edns=0", "+nocookie", "cluster.local", "SOA"])
        #expect(r.status == "NOERROR" && r.hasOPT && r.text.contains("EDNS: version: 0"))
    }

    // 8.2.2: EDNS version 1 → BADVERS, OPT version 0, no answer, AA=0.
    @Test func ednsVersion() throws {
        let r = try dig(server.port, ["+edns=1", "+noednsneg", "+nocookie", "cluster.local", "SOA"])
        #expect(r.status == "BADVERS")
        #expect(r.text.contains("EDNS: version: 0"))
        #expect(r.answers.isEmpty && !r.flags.contains("aa"))
    }

    // 8.2.3: unknown option → NOERROR, not echoed.
    @Test func unknownOption() throws {
        let r = try dig(server.port, ["+ednsopt=100", "+nocookie", "cluster.local", "SOA"])
        #expect(r.status == "NOERROR" && !r.text.contains("OPT=100"))
    }

    // 8.2.4: unknown EDNS flag → NOERROR, cleared.
    @Test func unknownFlag() throws {
        let r = try dig(server.port, ["+ednsflags=0x40", "+nocookie", "cluster.local", "SOA"])
        #expect(r.status == "NOERROR" && !(r.ednsFlags ?? "").contains("MBZ"))
    }

    // 8.2.5 / 8.2.6: version 1 with a flag / an option → BADVERS, flag cleared, option not echoed.
    @Test func versionWithFlagOrOption() throws {
        let f = try dig(server.port, ["+edns=1", "+noednsneg", "+ednsflags=0x40", "+nocookie", "cluster.local", "SOA"])
        #expect(f.status == "BADVERS" && !(f.ednsFlags ?? "").contains("MBZ"))
        let o = try dig(server.port, ["+edns=1", "+noednsneg", "+ednsopt=100", "+nocookie", "cluster.local", "SOA"])
        #expect(o.status == "BADVERS" && !o.text.contains("OPT=100"))
    }

    // 8.2.7: truncation → TC=1 with OPT present.
    @Test func truncation() throws {
        let r = try dig(server.port, ["+bufsize=512", "+dnssec", "+ignore", "+nocookie", "big.data.svc.cluster.local", "A"])
        #expect(r.flags.contains("tc"))
        #expect(r.hasOPT)
        // Over TCP the whole answer.
        let t = try dig(server.port, ["+tcp", "big.data.svc.cluster.local", "A"])
        #expect(t.answers.count == 200)
    }

    // 8.2.8 / 8.2.9: DO=1 echoed; with version 1, BADVERS with DO echoed.
    @Test func dnssecOK() throws {
        let r = try dig(server.port, ["+dnssec", "+nocookie", "cluster.local", "SOA"])
        #expect(r.status == "NOERROR" && (r.ednsFlags ?? "").contains("do"))
        let b = try dig(server.port, ["+edns=1", "+noednsneg", "+dnssec", "+nocookie", "cluster.local", "SOA"])
        #expect(b.status == "BADVERS" && (b.ednsFlags ?? "").contains("do"))
    }

    // 8.2.10: several known options → NOERROR.
    @Test func knownOptions() throws {
        let r = try dig(server.port, ["+nsid", "+expire", "+subnet=0", "cluster.local", "SOA"])
        #expect(r.status == "NOERROR")
    }

    // D13 / DNS Flag Day 2020: EDNS 4096 is capped at 1232; no EDNS is 512. An RRset that does
    // not fit is left out whole and TC set (RFC 2181 §9), never cut in the middle.
    @Test func sizeLimits() throws {
        func size(_ r: DigResult) -> Int { r.field(after: "MSG SIZE  rcvd: ", until: "\n").flatMap { Int($0) } ?? -1 }
        // 50 A records (~850 bytes) fit 1232 but not 512.
        let fits = try dig(server.port, ["+bufsize=4096", "+ignore", "mid.data.svc.cluster.local", "A"])
        #expect(!fits.flags.contains("tc") && fits.answers.count == 50)
        #expect(size(fits) > 512 && size(fits) <= 1232)
        let small = try dig(server.port, ["+noedns", "+ignore", "mid.data.svc.cluster.local", "A"])
        #expect(small.flags.contains("tc") && small.answers.isEmpty && size(small) <= 512)
        // 200 records fit neither: TC at 1232 too, and the full set over TCP.
        let big = try dig(server.port, ["+bufsize=4096", "+ignore", "big.data.svc.cluster.local", "A"])
        #expect(big.flags.contains("tc") && size(big) <= 1232)
    }
}
