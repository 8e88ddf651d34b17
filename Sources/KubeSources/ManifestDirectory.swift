import Dispatch
import FileContents
import Foundation
import KubeModel
import RecordIndex
import Synchronization

/// A directory of manifests and zone files, read recursively: `*.yaml`, `*.yml`, `*.json` as
/// Kubernetes objects, `*.zone` as RFC 1035 zones. `scan()` re-reads only files whose size or
/// modification time changed (in parallel, one file per core) and reports each file's new
/// objects, so the index applies what changed as events; a file that fails keeps its last good
/// content (issue 3) and its error is reported until it is fixed.
public final class ManifestDirectory {
    /// What a scan found.
    public struct Load: Sendable {
        /// Files whose objects may have changed, with their whole current content: the index
        /// replaces what the file held with it (an empty list: the file is gone or empty).
        public var changedFiles: [(path: String, objects: [ClusterObject])] = []
        /// Every zone file's zone, whenever any zone file changed; nil when none did.
        public var zones: [Zone]?
        /// Every current problem: files that do not parse (serving their last good content) and
        /// objects skipped.
        public var problems: [SourceError] = []
        public var skippedKinds: [String: Int] = [:]
        public var files = 0
        public init() {}

        /// The scan as index updates: one replace per changed file.
        public func updates(arrived: ContinuousClock.Instant) -> [SourceUpdate] {
            changedFiles.flatMap { file -> [SourceUpdate] in
                let origin = Origin.file(file.path)
                return [.beginReplace(origin, ObjectKind.allCases),
                        .events(origin, file.objects.map(ObjectEvent.upsert), arrived: arrived),
                        .endReplace(origin, ObjectKind.allCases, arrived: arrived)]
            }
        }
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

    /// Re-reads what changed. Returns nil when nothing did; the first scan reports every file.
    public func scan() throws -> Load? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw SourceError(file: root, line: 0, message: "not a directory")
        }
        var seen = Set<String>()
        let enumerator = fm.enumerator(atPath: root)
        var paths: [String] = []
        while let rel = enumerator?.nextObject() as? String {
            let ext = (rel as NSString).pathExtension.lowercased()
            guard Self.manifestExtensions.contains(ext) || ext == "zone" else { continue }
            // Hidden files and editor droppings (".#x.yaml", "x.yaml~") are not data.
            if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            paths.append(rel)
        }
        var toRead: [(rel: String, stamp: (Date, Int))] = []
        for rel in paths.sorted() {
            let path = root + "/" + rel
            guard let attrs = try? fm.attributesOfItem(atPath: path),
                  (attrs[.type] as? FileAttributeType) != .typeDirectory else { continue }
            let stamp = ((attrs[.modificationDate] as? Date) ?? .distantPast, (attrs[.size] as? Int) ?? 0)
            seen.insert(rel)
            if let old = files[rel], old.stamp == stamp { continue }
            toRead.append((rel, stamp))
        }
        let removed = files.keys.filter { !seen.contains($0) }
        guard !toRead.isEmpty || !removed.isEmpty else { return nil }

        // Parse on every core: a large dump is one file, a directory of many files spreads.
        let results = Self.readAll(toRead.map { (root + "/" + $0.rel, display($0.rel)) })
        var changed: [String] = []
        var zonesChanged = false
        for ((rel, stamp), result) in zip(toRead, results) {
            var state = files[rel] ?? FileState(stamp: stamp)
            state.stamp = stamp
            switch result {
            case .success(let content):
                if case .zone = content { zonesChanged = true }
                if case .zone? = state.content { zonesChanged = true }
                state.content = content
                state.error = nil
                changed.append(rel)
            case .failure(let error):
                state.error = error
            }
            files[rel] = state
        }
        for rel in removed {
            if case .zone? = files[rel]?.content { zonesChanged = true }
            files[rel] = nil
            changed.append(rel)
        }
        var load = summary()
        for rel in changed {
            var objects: [ClusterObject] = []
            if case .manifests(let r)? = files[rel]?.content { objects = r.objects }
            load.changedFiles.append((display(rel), objects))
        }
        if zonesChanged {
            load.zones = files.keys.sorted().compactMap {
                if case .zone(let z)? = files[$0]?.content { return z }
                return nil
            }
        }
        return load
    }

    /// Problems and counts over every file, as they stand.
    func summary() -> Load {
        var load = Load()
        for rel in files.keys.sorted() {
            let state = files[rel]!
            load.files += 1
            if let e = state.error { load.problems.append(e) }
            if case .manifests(let r)? = state.content {
                load.problems += r.problems
                load.skippedKinds.merge(r.skippedKinds, uniquingKeysWith: +)
            }
        }
        return load
    }

    func display(_ rel: String) -> String {
        root == "." ? rel : root + "/" + rel
    }

    static func readAll(_ files: [(path: String, display: String)]) -> [Result<Content, SourceError>] {
        let results = Mutex([Result<Content, SourceError>?](repeating: nil, count: files.count))
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            let r: Result<Content, SourceError>
            do {
                r = .success(try read(path: files[i].path, displayName: files[i].display))
            } catch {
                r = .failure(error as? SourceError ?? SourceError(file: files[i].display, line: 0, message: "\(error)"))
            }
            results.withLock { $0[i] = r }
        }
        return results.withLock { $0.map { $0! } }
    }

    static func read(path: String, displayName: String) throws -> Content {
        if path.lowercased().hasSuffix(".zone") {
            return .zone(try ZoneFileLoader.load(path: path, displayName: displayName))
        }
        guard let bytes = FileContents.bytes(path) else {
            throw SourceError(file: displayName, line: 0, message: "cannot read")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SourceError(file: displayName, line: 1, message: "not UTF-8 text")
        }
        return .manifests(try ManifestDecoder(file: displayName).decode(text))
    }
}
