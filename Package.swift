// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: anneal → AnnealStages → AnnealTrain → (AnnealModels, AnnealText)
// → AnnealCompute → C modules; anneal → AnnealEngine → AnnealPipeline. AnnealEngine knows nothing about ML.

// The static Foundation's archives, each after those that need it: linked with `-static-stdlib`,
// the objects name only the top ones (Foundation's shared libraries bring the rest themselves).
let staticFoundation = ["Foundation", "CoreFoundation", "FoundationInternationalization", "FoundationEssentials",
                        "_FoundationCollections", "_FoundationCShims", "_FoundationICU", "swiftSynchronization",
                        "swiftDispatch", "dispatch", "BlocksRuntime"]

let package = Package(
    name: "Anneal",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "anneal", targets: ["anneal"]),
        // The libraries Swift stage plugins build on (docs/plugins.md lists their public API
        // and its version). Nothing else is a product: the runner's modules stay internal.
        .library(name: "AnnealCompute", targets: ["AnnealCompute"]),
        .library(name: "AnnealModels", targets: ["AnnealModels"]),
        .library(name: "AnnealTrain", targets: ["AnnealTrain"]),
        .library(name: "AnnealStageKit", targets: ["AnnealStageKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "AnnealCompute", dependencies: ["CBLAS"]),
        .target(name: "AnnealModels", dependencies: ["AnnealCompute"]),
        .target(name: "AnnealPipeline", dependencies: ["CYAML"]),
        .target(name: "AnnealEngine", dependencies: [
            "AnnealPipeline",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Data library: generator, readers, clean, dedup, BPE. Foundation only, so the stage
        // wrappers and benchmarks can use it without pulling the runner in.
        .target(name: "AnnealText"),
        .executableTarget(name: "AnnealTextBench", dependencies: ["AnnealText"], path: "bench/data/AnnealTextBench"),
        // Training decisions as pure functions (batches, masks, losses, metrics) that stages
        // call and tests check without training.
        .target(name: "AnnealTrain", dependencies: ["AnnealModels", "AnnealText", "AnnealCompute"]),
        // The stage protocol as a library (context, progress, config decoding, `main`): what a
        // Swift plugin imports, and what the built-in stages' context is.
        .target(name: "AnnealStageKit", dependencies: ["AnnealCompute", "AnnealText"]),
        .target(name: "AnnealStages", dependencies: ["AnnealPipeline", "AnnealText", "AnnealModels", "AnnealCompute", "AnnealTrain", "AnnealStageKit"]),
        .executableTarget(name: "anneal", dependencies: [
            "AnnealEngine", "AnnealPipeline", "AnnealStages", "AnnealText", "AnnealModels", "AnnealCompute",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [
            // The Swift runtime and Foundation linked in: a no-op `anneal run` then starts in a few
            // milliseconds instead of spending them in the dynamic loader (docs/runner-speed.md).
            .unsafeFlags(["-static-stdlib"] + staticFoundation.map { "-l" + $0 }, .when(platforms: [.linux])),
        ]),
        .testTarget(name: "AnnealPipelineTests", dependencies: ["AnnealPipeline"]),
        .testTarget(name: "AnnealEngineTests", dependencies: ["AnnealEngine"]),
        .testTarget(name: "AnnealTextTests", dependencies: ["AnnealText"]),
        .testTarget(name: "AnnealComputeTests", dependencies: ["AnnealCompute"]),
        .testTarget(name: "AnnealModelsTests", dependencies: ["AnnealModels"]),
        .testTarget(name: "AnnealTrainTests", dependencies: ["AnnealTrain"]),
        .testTarget(name: "AnnealStagesTests", dependencies: ["AnnealStages"]),
        .testTarget(name: "AnnealStageKitTests", dependencies: ["AnnealStageKit"]),
        // The models and text modules let tests write tiny checkpoints for chat/generate/export.
        // The tests drive the built binary (`swift build --build-tests` builds it too) and do not
        // link its module: they would inherit its static Swift runtime, and a test bundle needs
        // the shared one swift-testing links against.
        .testTarget(name: "AnnealEndToEndTests", dependencies: ["AnnealPipeline", "AnnealModels", "AnnealText", "AnnealCompute"]),
    ]
)
