import CDatagram
import DNSResponder
import DNSWire
import Foundation
import NIOCore
import RecordIndex
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One UDP socket and the thread that serves it, as NSD and Knot do: `recvmmsg` takes a batch
/// of datagrams into fixed slots, each is answered in place (`QueryProcessor.respondDirect`,
/// the long way when it declines), and `sendmmsg` sends the batch's replies. Nothing is
/// allocated per query on the common answers, and no event loop sits between the socket and
/// the answer. Several listeners share an address with SO_REUSEPORT, so the kernel spreads
/// datagrams over them. Forwarded names go to the forwarder on an event loop; their replies
/// are sent from there on the same socket.
final class UDPListener: Sendable {
    let fd: Int32
    let port: Int
    private let stopping = Atomic<Bool>(false)
    /// Set, under its lock, when the socket is closed: a forwarded reply arriving later on an
    /// event loop must not be sent on a descriptor number that may since name another socket.
    private let closed = Mutex(false)
    private let exited = DispatchSemaphore(value: 0)
    /// Work to run on the listener's thread (between batches), for tools that need to look at
    /// what that thread does (the query-path benchmark counts its allocations).
    private let chores = Mutex<[@Sendable () -> Void]>([])
    private let hasChores = Atomic<Bool>(false)

    /// Datagrams per system call, and the size of each slot (queries larger than a slot are
    /// not ones a client sends without fragmentation: they are counted as `oversized` and
    /// dropped).
    static let batch = 32
    static let querySlot = 4096
    /// How often an idle thread wakes to see whether it should stop.
    static let idleWakeMilliseconds: Int32 = 200

    private struct Shared: Sendable {
        let dispatch: QueryDispatch
        var processor: QueryProcessor { dispatch.processor }
        let store: SnapshotStore
        let counters: ServerCounters
        let recorder: QueryRecorder
        /// Where forwarded replies complete.
        let forwardLoop: EventLoop
        let loadBalance: Bool
    }
    private let shared: Shared

    /// Binds the socket; the thread starts with `start()`.
    init(host: String, port: Int, dispatch: QueryDispatch, store: SnapshotStore, counters: ServerCounters, recorder: QueryRecorder,
         forwardLoop: EventLoop, loadBalance: Bool) throws {
        var bound: Int32 = 0
        let fd = cdns_udp_socket(host, Int32(port), 4 << 20, Self.idleWakeMilliseconds, &bound)
        guard fd >= 0 else { throw IOError(errnoCode: -fd, reason: "binding UDP \(host):\(port)") }
        self.fd = fd
        self.port = Int(bound)
        shared = Shared(dispatch: dispatch, store: store, counters: counters, recorder: recorder, forwardLoop: forwardLoop,
                        loadBalance: loadBalance)
    }

    func start(name: String) {
        let thread = Thread { [self] in
            self.serve()
            self.exited.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Asks the thread to stop: it does within the idle wake interval.
    func requestStop() {
        stopping.store(true, ordering: .relaxed)
    }

    /// Stops the thread and closes the socket.
    func stop() async {
        requestStop()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.exited.wait()
                done.resume()
            }
        }
        closed.withLock { isClosed in
            isClosed = true
            close(fd)
        }
    }

    /// Runs `body` on the listener's thread before its next batch (at most the idle wake
    /// interval away).
    func run(onThread body: @escaping @Sendable () -> Void) {
        chores.withLock { $0.append(body) }
        hasChores.store(true, ordering: .releasing)
    }

    private func serve() {
        let s = shared
        let batch = Self.batch
        let replySlot = s.processor.udpSize
        let queries = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * Self.querySlot, alignment: 16)
        let replies = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * replySlot, alignment: 16)
        let addresses = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: batch)
        let queryLengths = UnsafeMutablePointer<Int32>.allocate(capacity: batch)
        let replyLengths = UnsafeMutablePointer<Int32>.allocate(capacity: batch)
        let headers = UnsafeMutablePointer<cdns_batch>.allocate(capacity: 1)
        defer {
            queries.deallocate()
            replies.deallocate()
            addresses.deallocate()
            queryLengths.deallocate()
            replyLengths.deallocate()
            headers.deallocate()
        }
        cdns_batch_init(headers, Int32(batch), queries.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(Self.querySlot),
                        replies.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(replySlot), addresses)
        var view = SnapshotStore.View(s.store)
        var rotation = 0

        while !stopping.load(ordering: .relaxed) {
            if hasChores.load(ordering: .acquiring) {
                hasChores.store(false, ordering: .relaxed)
                for chore in chores.withLock({ c -> [@Sendable () -> Void] in defer { c = [] }; return c }) { chore() }
            }
            let n = Int(cdns_recv_batch(fd, headers, queryLengths))
            guard n > 0 else { continue }  // timeout (or a transient error): look at `stopping` again
            let snapshot = view.current()
            for i in 0..<n {
                replyLengths[i] = 0
                let length = Int(queryLengths[i])
                guard length >= 0 else {
                    s.counters.droppedOversized.add(1, ordering: .relaxed)
                    continue
                }
                let started = s.recorder.active ? MonotonicClock.nanoseconds() : 0
                if UDPListener.isReservedPort(Int(cdns_address_port(&addresses[i]))) {
                    s.counters.droppedReservedPort.add(1, ordering: .relaxed)
                    continue
                }
                if s.loadBalance { rotation &+= 1 }
                let query = UnsafeRawBufferPointer(rebasing: queries[(i * Self.querySlot)..<(i * Self.querySlot + length)])
                let out = UnsafeMutableRawBufferPointer(rebasing: replies[(i * replySlot)..<((i + 1) * replySlot)])
                let client = s.processor.autopath ? UDPListener.ip(&addresses[i]) : nil
                if let direct = s.processor.respondDirect(to: query, into: out, transport: .udp, snapshot: snapshot, rotation: rotation,
                                                          client: client) {
                    replyLengths[i] = Int32(direct.count)
                    if s.recorder.active {
                        let address = addresses[i]
                        s.recorder.record(rcode: direct.rcode, type: direct.type, zone: direct.zone, inet6: cdns_address_is_ipv6(&addresses[i]) != 0,
                                          client: UDPListener.text(address), requestSize: length, responseSize: direct.count,
                                          started: started, name: QueryRecorder.questionName(query))
                    }
                } else {
                    longWay(query, out, addresses[i], cdns_batch_address_length(headers, Int32(i)), &replyLengths[i], snapshot: snapshot,
                            rotation: rotation, started: started, client: client)
                }
            }
            let unsent = cdns_send_batch(fd, headers, Int32(n), replyLengths)
            if unsent > 0 { s.counters.replySendFailed.add(Int(unsent), ordering: .relaxed) }
        }
    }

    /// Everything `respondDirect` declines (errors, forwarding, the cache, truncation), by the
    /// dispatch TCP shares.
    private func longWay(_ query: UnsafeRawBufferPointer, _ out: UnsafeMutableRawBufferPointer, _ address: sockaddr_storage,
                         _ addressLength: Int32, _ replyLength: UnsafeMutablePointer<Int32>, snapshot: Snapshot, rotation: Int,
                         started: UInt64, client: IPAddress?) {
        let s = shared
        let bytes = Array(query)
        var a = address
        let inet6 = cdns_address_is_ipv6(&a) != 0
        func put(_ reply: [UInt8], _ info: QueryProcessor.ReplyInfo) {
            if s.recorder.active {
                s.recorder.record(info, inet6: inet6, client: UDPListener.text(address), requestSize: bytes.count, responseSize: reply.count,
                                  started: started)
            }
            // UDP replies never exceed udpSize, the slot's size.
            guard reply.count <= out.count else { return }
            reply.withUnsafeBytes { out.copyMemory(from: $0) }
            replyLength.pointee = Int32(reply.count)
        }
        // whoami: the sender, read here, off the direct path.
        let whoami = s.processor.wantsClientPort
        let client = whoami ? client ?? UDPListener.ip(&a) : client
        let clientPort = whoami ? Int(cdns_address_port(&a)) : nil
        switch s.dispatch.handle(bytes, transport: .udp, snapshot: snapshot, rotation: rotation, client: client, clientPort: clientPort,
                                 loop: s.forwardLoop) {
        case .drop:
            return
        case .reply(let reply):
            put(reply.bytes, reply.info)
        case .later(let future):
            // Upstream: the reply is sent from the forwarder's loop when it comes, unless the
            // socket closed in the meantime.
            let recorder = s.recorder, client = Address(storage: address, length: addressLength)
            future.whenSuccess { [self] reply in
                if recorder.active {
                    recorder.record(reply.info, inet6: inet6, client: UDPListener.text(client.storage), requestSize: bytes.count,
                                    responseSize: reply.bytes.count, started: started)
                }
                var storage = client.storage
                let sent = closed.withLock { isClosed -> Int32 in
                    guard !isClosed else { return -1 }
                    return reply.bytes.withUnsafeBufferPointer { cdns_send_one(fd, $0.baseAddress, Int32($0.count), &storage, client.length) }
                }
                if sent < 0 { shared.counters.replySendFailed.add(1, ordering: .relaxed) }
            }
        }
    }

    private struct Address: Sendable {
        var storage: sockaddr_storage
        var length: Int32
    }

    /// Ports of echo, daytime, chargen and time, and 0: replies to them feed reflection loops
    /// (BIND `ns_client_dropport`, reliability.md §2.1).
    static func isReservedPort(_ port: Int) -> Bool {
        switch port {
        case 0, 7, 13, 19, 37: return true
        default: return false
        }
    }

    /// The sender's IP, an IPv4-mapped IPv6 sender as IPv4 (the socket is dual-stack).
    static func ip(_ address: inout sockaddr_storage) -> IPAddress? {
        var raw: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &raw) { out -> IPAddress? in
            let base = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            switch cdns_address_ip(&address, base) {
            case 4: return .v4(out[0], out[1], out[2], out[3])
            case 16: return IPAddress(bytes: Array(out))
            default: return nil
            }
        }
    }

    /// "1.2.3.4:53" or "[::1]:53", for the query log.
    static func text(_ address: sockaddr_storage) -> String {
        var a = address
        var out = [CChar](repeating: 0, count: 64)
        cdns_address_text(&a, &out, 64)
        return String(cString: out)
    }
}
