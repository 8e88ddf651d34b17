/// A list that is almost always one element, stored without an array in that case: the index
/// keeps hundreds of thousands of these (copies of an object by origin, askers of a PTR, names
/// sharing a hash), and an array each would be an allocation each.
enum OneOrMany<Element> {
    case one(Element)
    case many([Element])

    init?(_ list: [Element]) {
        switch list.count {
        case 0: return nil
        case 1: self = .one(list[0])
        default: self = .many(list)
        }
    }

    var all: [Element] {
        switch self {
        case .one(let e): return [e]
        case .many(let list): return list
        }
    }
}

extension OneOrMany: Equatable where Element: Equatable {}
extension OneOrMany: Sendable where Element: Sendable {}
