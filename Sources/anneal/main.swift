import ArgumentParser
import Foundation

// Parsing and exit codes are handled here rather than by `Anneal.main()` so that usage
// errors exit 2, as documented, instead of ArgumentParser's 64.
do {
    let arguments = try Workspace.takeDirectoryOptions(Array(CommandLine.arguments.dropFirst()))
    IdleBLAS.stopThreads(forArguments: arguments)
    var command = try Anneal.parseAsRoot(arguments)
    Workspace.locate(for: command)
    try command.run()
} catch {
    exit(reportAndExitCode(for: error))
}
