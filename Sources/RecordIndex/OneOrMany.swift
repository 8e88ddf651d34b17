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

extension OneOrMany where Element: Equatable {
    /// The list with `e` added unless it holds it already (a set of almost always one).
    func inserting(_ e: Element) -> OneOrMany {
        switch self {
        case .one(let x): return x == e ? self : .many([x, e])
        case .many(let list): return list.contains(e) ? self : .many(list + [e])
        }
    }

    /// The list without `e`; nil when nothing is left.
    func removing(_ e: Element) -> OneOrMany? {
        OneOrMany(all.filter { $0 != e })
    }
}
