import ArgumentParser
import Foundation

// Parsing and exit codes are handled here rather than by `Anneal.main()` so that usage
// errors exit 2, as documented, instead of ArgumentParser's 64.
do {
    var command = try Anneal.parseAsRoot(try Workspace.takeDirectoryOptions(Array(CommandLine.arguments.dropFirst())))
    IdleBLAS.stopThreads(for: command)
    Workspace.locate(for: command)
    try command.run()
} catch {
    exit(reportAndExitCode(for: error))
}
