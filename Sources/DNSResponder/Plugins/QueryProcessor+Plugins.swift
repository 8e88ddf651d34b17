import DNSWire
import RecordIndex

extension QueryProcessor {
    /// A question routed to a server block with plugins, in CoreDNS's plugin.cfg order: chaos,
    /// rewrite, template, hosts, then the cluster zones and the upstreams. After a rewrite the
    /// later plugins, the zones and the upstream see the new name; the client sees its own
    /// question (its bytes are echoed) and records written back by the answer rules, for
    /// answers from here and from upstream alike (`Handoff.rewrite`).
    func respond(_ block: PluginBlock, _ header: Header, _ questionBytes: ArraySlice<UInt8>, _ question: Question, edns: EDNS?, limit: Int,
                 transport: Transport, snapshot: Snapshot, rotation: Int, client: IPAddress?, clientPort: Int?) -> Outcome {
        func reply(_ answer: Answer, _ rewrite: ResponseRewrite?) -> Outcome {
            var answer = answer
            rewrite?.apply(to: &answer)
            return encode(header, questionBytes, question, answer, edns: edns, limit: limit, rotation: rotation)
        }
        if let chaos = block.chaos, case .answer(let answer) = chaos.answer(question) {
            return reply(answer, nil)
        }

        var asked = question
        var rewrite: ResponseRewrite?
        if !block.rewrite.isEmpty {
            switch RewriteRule.apply(block.rewrite, to: question.name) {
            case .unchanged: break
            case .invalid: return reply(.error(.servFail), nil)
            case .rewritten(let name, let back):
                asked.name = name
                rewrite = back
            }
        }

        var resolution: Responder.Resolution?
        if !block.templates.isEmpty {
            switch TemplateStage.answer(block.templates, asked, snapshot: snapshot, forwarding: forwarding) {
            case .answer(let answer): return reply(answer, rewrite)
            case .resolve(let r): resolution = r
            case .next: break
            }
        }
        if resolution == nil, let hosts = block.hosts, case .answer(let answer) = hosts.answer(asked) {
            return reply(answer, rewrite)
        }
        if resolution == nil {
            // Past the plugins: we serve IN only.
            guard asked.recordClass == .in else { return reply(.error(.refused), nil) }
            // Autopath walks the search path of the name the pod asked; a rewritten name is not one.
            resolution = rewrite == nil ? resolve(asked, header: header, snapshot: snapshot, client: client)
                                        : resolve(asked, header: header, snapshot: snapshot, client: nil)
        }
        // whoami, last: what the zones did not answer (out of them, or a reverse name they hold
        // nothing for) is the client's address instead of an upstream's answer or REFUSED.
        if let whoami = block.whoami, let client, let clientPort {
            switch resolution! {
            case .forward(_, nil), .forwardSearch:
                return reply(whoami.answer(question, client: client, port: clientPort, transport: transport), nil)
            case .answer(let a) where a.zone == nil && a.rcode == .refused:
                return reply(whoami.answer(question, client: client, port: clientPort, transport: transport), nil)
            default: break
            }
        }
        switch resolution! {
        case .answer(let answer):
            return reply(answer, rewrite)
        case .forward(let target, let prefix):
            return .handOff(Handoff(header: header, question: question, questionBytes: Array(questionBytes), edns: edns,
                                           limit: limit, transport: transport, target: target, prefix: prefix, rewrite: rewrite))
        case .forwardSearch(let target, let prefix, let plain):
            return .handOff(Handoff(header: header, question: question, questionBytes: Array(questionBytes), edns: edns,
                                           limit: limit, transport: transport, target: target, prefix: prefix, searchPlain: plain,
                                           rewrite: rewrite))
        }
    }
}
