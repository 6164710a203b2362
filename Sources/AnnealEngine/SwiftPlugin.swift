import AnnealPipeline
import Foundation

/// A plugin that is a Swift package: `stages/NAME/` holds a `Package.swift` whose executable
/// product the manifest names (`swift: PRODUCT`). The runner builds it in release on first
/// use and whenever its sources change, and runs the binary under the stage protocol
/// (`SwiftPluginBuild`, started as `anneal exec-swift-plugin DIR PRODUCT` in the stage's
/// own process, so the compiler's output is the stage's log and Ctrl-C stops the build).
public enum SwiftPlugin {
    /// The command recorded for a Swift plugin (and hashed into its action keys): the
    /// runner's own launcher, found through `$ANNEAL_BIN`, so no path of this machine is in
    /// the key and a lockfile reproduces anywhere.
    public static func command(product: String) -> String {
        "\"$ANNEAL_BIN\" exec-swift-plugin ${plugin} \(product)"
    }

    /// What SwiftPM and editors leave in a package directory: not the plugin's source, so
    /// neither in its digest (a `swift build` by hand must not rerun every stage using it)
    /// nor given to the build.
    public static let generated: Set<String> = [".build", ".swiftpm", "Package.resolved"]

    /// `swift: PRODUCT`, checked; nil when the manifest has no `swift` key.
    static func product(in root: YAMLNode, diags: inout [Diagnostic]) -> String? {
        guard let node = root["swift"] else { return nil }
        guard let name = node.scalar, !name.isEmpty,
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }) else {
            diags.append(Diagnostic(node.mark, "'swift' names the package's executable product, a name of letters, digits, '_' and '-'",
                                    hint: "e.g. swift: lrfind, for .executable(name: \"lrfind\", …) in Package.swift"))
            return nil
        }
        if let c = root["command"] {
            diags.append(Diagnostic(c.mark, "a Swift plugin has no 'command': the runner builds and runs its product '\(name)'",
                                    hint: "remove 'command', or 'swift' to run a script"))
        }
        return name
    }

    /// A manifest that says `swift:` over a directory without a package.
    static func packageProblem(_ manifest: PluginManifest, directory: String, manifest top: SourceMark) -> Diagnostic? {
        guard manifest.swiftProduct != nil, !FileManager.default.fileExists(atPath: directory + "/Package.swift") else { return nil }
        return Diagnostic(manifest.swiftMark ?? top, "plugin '\(manifest.schema.name)' says 'swift:' but its directory has no Package.swift",
                          hint: "`anneal init --stage NAME --swift` writes one")
    }

    /// The digest of the plugin's sources: each top-level entry but the `generated` ones, as
    /// `name\0kind\0digest\n` lines in name order, kind `d` for a directory (its tree
    /// digest), `x`/`f` for an (executable) file and `l` for a symlink (its target text).
    public static func sourceDigest(of directory: String) throws(StoreError) -> (digest: String, size: Int64, files: Int) {
        let names = try FileTree.names(in: directory)
        var manifest = ""
        var size: Int64 = 0
        var files = 0
        for name in names.filter({ !generated.contains($0) }).sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let path = directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { throw .system(errno, "cannot stat \(path)") }
            let kind: String
            let digest: String
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                kind = "l"
                digest = Digest.of(string: (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "")
            case S_IFDIR:
                let tree = try Digest.ofTree(path)
                (kind, digest) = ("d", tree.digest)
                size += tree.size
                files += tree.files
            default:
                let file = try Digest.ofTree(path)
                (kind, digest) = (st.st_mode & 0o111 != 0 ? "x" : "f", file.digest)
                size += file.size
                files += 1
            }
            manifest += "\(name)\0\(kind)\0\(digest)\n"
        }
        return (Digest.of(string: manifest), size, files)
    }
}
