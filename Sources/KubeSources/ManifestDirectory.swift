import Foundation
import KubeModel
import RecordIndex

/// A directory of manifests and zone files, read recursively: `*.yaml`, `*.yml`, `*.json` as
/// Kubernetes objects, `*.zone` as RFC 1035 zones. `scan()` re-reads only files whose size or
/// modification time changed; a file that fails keeps its last good content (issue 3) and its
/// error is reported until it is fixed.
public final class ManifestDirectory {
    public struct Load: Sendable {
        public var objects = ClusterObjects()
        public var zones: [Zone] = []
        /// Every current problem: files that do not parse (serving their last good content) and
        /// objects skipped.
        public var problems: [SourceError] = []
        public var skippedKinds: [String: Int] = [:]
        public var files = 0
        public init() {}
    }

    enum Content {
        case manifests(ManifestDecoder.Result)
        case zone(Zone)
    }

    struct FileState {
        var stamp: (Date, Int)
        var content: Content?
        var error: SourceError?
    }

    public let root: String
    private var files: [String: FileState] = [:]

    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    static let manifestExtensions: Set<String> = ["yaml", "yml", "json"]

    /// Re-reads what changed. Returns nil when nothing did, else the whole current content.
    public func scan() throws -> Load? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw SourceError(file: root, line: 0, message: "not a directory")
        }
        var seen = Set<String>()
        var changed = false
        let enumerator = fm.enumerator(atPath: root)
        var paths: [String] = []
        while let rel = enumerator?.nextObject() as? String {
            let ext = (rel as NSString).pathExtension.lowercased()
            guard Self.manifestExtensions.contains(ext) || ext == "zone" else { continue }
            // Hidden files and editor droppings (".#x.yaml", "x.yaml~") are not data.
            if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            paths.append(rel)
        }
        for rel in paths.sorted() {
            let path = root + "/" + rel
            guard let attrs = try? fm.attributesOfItem(atPath: path),
                  (attrs[.type] as? FileAttributeType) != .typeDirectory else { continue }
            let stamp = ((attrs[.modificationDate] as? Date) ?? .distantPast, (attrs[.size] as? Int) ?? 0)
            seen.insert(rel)
            if let old = files[rel], old.stamp == stamp { continue }
            changed = true
            var state = files[rel] ?? FileState(stamp: stamp)
            state.stamp = stamp
            do {
                state.content = try Self.read(path: path, displayName: display(rel))
                state.error = nil
            } catch {
                state.error = error as? SourceError ?? SourceError(file: display(rel), line: 0, message: "\(error)")
            }
            files[rel] = state
        }
        for rel in files.keys where !seen.contains(rel) {
            files[rel] = nil
            changed = true
        }
        guard changed else { return nil }
        return current()
    }

    /// What the directory serves now, from the cached per-file content.
    public func current() -> Load {
        var load = Load()
        for rel in files.keys.sorted() {
            let state = files[rel]!
            load.files += 1
            if let e = state.error { load.problems.append(e) }
            switch state.content {
            case .manifests(let r)?:
                load.objects.merge(r.objects)
                load.problems += r.problems
                load.skippedKinds.merge(r.skippedKinds, uniquingKeysWith: +)
            case .zone(let z)?:
                load.zones.append(z)
            case nil:
                break
            }
        }
        return load
    }

    func display(_ rel: String) -> String {
        root == "." ? rel : root + "/" + rel
    }

    static func read(path: String, displayName: String) throws -> Content {
        if path.lowercased().hasSuffix(".zone") {
            return .zone(try ZoneFileLoader.load(path: path, displayName: displayName))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SourceError(file: displayName, line: 0, message: "cannot read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SourceError(file: displayName, line: 1, message: "not UTF-8 text")
        }
        return .manifests(try ManifestDecoder(file: displayName).decode(text))
    }
}
