// swift-tools-version:6.0
// An Anneal stage plugin. `anneal run` builds it with ANNEAL_PACKAGE_PATH set to the Anneal
// checkout the runner was built from; by hand, from this directory of an Anneal checkout,
// `swift build` finds Anneal two levels up.
import PackageDescription

let anneal = Context.environment["ANNEAL_PACKAGE_PATH"] ?? "../.."

let package = Package(
    name: "lrrange",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Anneal", path: anneal)],
    targets: [
        .executableTarget(name: "lrrange", dependencies: [
            .product(name: "AnnealStageKit", package: "Anneal"),
            .product(name: "AnnealCompute", package: "Anneal"),
            .product(name: "AnnealModels", package: "Anneal"),
            .product(name: "AnnealTrain", package: "Anneal"),
        ]),
    ]
)
