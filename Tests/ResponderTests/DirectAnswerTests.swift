import DNSResponder
import DNSWire
import Foundation
import RecordIndex
import Testing
import TestSupport

/// Issue 12: the common answers are written straight from the received bytes (no allocation);
/// wherever that direct path answers, its reply is the long way's byte for byte, and it does
/// answer the cases the issue lists.
@Suite struct DirectAnswerTests {
    static func query(_ name: String, _ type: RecordType, edns: EDNS? = EDNS(udpPayloadSize: 1232), id: UInt16 = 0x1234,
                      rd: Bool = true, cd: Bool = false) -> [UInt8] {
        var h = Header()
        h.id = id
        h.recursionDesired = rd
        h.checkingDisabled = cd
        return Message(header: h, questions: [Question(name: DNSName(name)!, type: type)], edns: edns).encoded()
    }

    static let types: [RecordType] = [.a, .aaaa, .srv, .ptr, .cname, .ns, .soa, .txt, .mx, RecordType(43), RecordType(65)]

    /// Every name of the world, as stored, in mixed case, with a search-path suffix and with a
    /// child label; every type; with and without EDNS and DO; UDP and TCP; four rotations.
    static func sweep(_ snapshot: Snapshot) throws -> (asked: Int, direct: Int) {
        var asked = 0, direct = 0
        let ednsVariants: [EDNS?] = [nil, EDNS(udpPayloadSize: 1232), EDNS(udpPayloadSize: 512, dnssecOK: true),
                                     EDNS(udpPayloadSize: 4096, options: [.init(code: EDNS.cookieOption, data: Array(repeating: 7, count: 8))])]
        for zone in snapshot.zones {
            for node in zone.allNodes {
                let base = node.name.description
                let mixed = String(base.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
                for name in [base, mixed, "svc1.testns.svc." + base, "nosuchchild." + base] {
                    for type in types {
                        for (k, edns) in ednsVariants.enumerated() {
                            let q = query(name, type, edns: edns, id: UInt16(asked & 0xFFFF), cd: k == 2)
                            for transport in [QueryProcessor.Transport.udp, .tcp] {
                                for rotation in [0, 1, 2, 7] {
                                    asked += 1
                                    if try DirectAnswerCheck.compare(q, snapshot, transport: transport, rotation: rotation) { direct += 1 }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (asked, direct)
    }

    @Test func specWorld_directEqualsLongWay() throws {
        let (asked, direct) = try Self.sweep(SpecWorld.world.snapshot)
        // Most of the sweep is direct; the rest (ANY-free here) is pods, zone-less names, …
        #expect(direct * 10 > asked * 8, "direct path answered \(direct) of \(asked)")
    }

    @Test func podsInsecure_directEqualsLongWay() throws {
        var o = IndexOptions()
        o.pods = .insecure
        let w = try World(yaml: SpecWorld.yaml, options: o)
        try Self.sweep(w.snapshot)
        // A synthesised pod name takes the long way; a search-path miss in the same zone does not.
        #expect(try !DirectAnswerCheck.compare(Self.query("172-0-0-2.testns.pod.cluster.local.", .a), w.snapshot))
        #expect(try DirectAnswerCheck.compare(Self.query("svc1.testns.svc.cluster.local.svc.cluster.local.", .a), w.snapshot))
    }

    /// The paths the issue lists, each answered directly.
    @Test func commonAnswers_areDirect() throws {
        let s = SpecWorld.world.snapshot
        for (name, type) in [
            ("svc1.testns.svc.cluster.local.", RecordType.a),                         // positive
            ("hdls1.testns.svc.cluster.local.", .a),                                 // headless, rotated
            ("nosuch.testns.svc.cluster.local.", .a),                                // NXDOMAIN
            ("svc1.testns.svc.cluster.local.", .txt),                                // NODATA
            ("_http._tcp.hdls1.testns.svc.cluster.local.", .srv),                    // SRV + additional
            ("1.0.0.10.in-addr.arpa.", .ptr),                                        // PTR
            ("extin.testns.svc.cluster.local.", .a),                                 // CNAME in our zones
            ("svc1.testns.svc.cluster.local.testns.svc.cluster.local.", .a),         // ndots:5 misses
            ("svc1.testns.svc.cluster.local.svc.cluster.local.", .aaaa),
            ("svc1.testns.svc.cluster.local.cluster.local.", .a),
        ] {
            for transport in [QueryProcessor.Transport.udp, .tcp] {
                #expect(try DirectAnswerCheck.compare(Self.query(name, type), s, transport: transport, rotation: 1), "\(name) \(type)")
                #expect(try DirectAnswerCheck.compare(Self.query(name, type, edns: nil), s, transport: transport), "\(name) \(type) no EDNS")
            }
        }
    }

    // CoreDNS `loadbalance` (round_robin): the A records of a set come rotated, one further per
    // reply, so clients taking the first address spread over a headless Service's pods.
    @Test func loadbalance_rotatesAddressSets() throws {
        let s = SpecWorld.world.snapshot
        let q = Self.query("hdls1.testns.svc.cluster.local.", .a)
        var firsts: [String] = []
        for rotation in 0..<4 {
            guard case .reply(let bytes, _) = QueryProcessor().respond(to: q, transport: .udp, snapshot: s, rotation: rotation) else {
                Issue.record("no reply")
                return
            }
            let m = try LDNSCheck.decodeBoth(bytes)
            #expect(m.answers.count >= 2)
            firsts.append("\(m.answers[0].rdata)")
            #expect(Set(m.answers.map { "\($0.rdata)" }).count == m.answers.count)
        }
        #expect(Set(firsts).count >= 2, "first address never changed: \(firsts)")
    }
}
