// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "foliod",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FolioClient", targets: ["FolioClient"]),
        .executable(name: "foliod", targets: ["foliod"]),
        .executable(name: "folioctl", targets: ["folioctl"]),
        .executable(name: "foliobench", targets: ["foliobench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // The metrics endpoint (FolioMetrics): HTTP on SwiftNIO, the exposition format by swift-prometheus.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CFuse",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        .target(
            name: "CLinux"
        ),
        .target(
            name: "SystemCalls",
            dependencies: [
                "CLinux",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FolioSharedMemory",
            dependencies: [
                "SystemCalls",
                "CLinux",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FolioMemory",
            dependencies: [
                "FolioSharedMemory",
                "SystemCalls",
                "CLinux",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FolioProtocol",
            dependencies: [
                "SystemCalls",
                "CLinux",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Sysfs",
            dependencies: [
                "SystemCalls",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SysfsFUSE",
            dependencies: [
                "SystemCalls",
                "CLinux",
                "CFuse",
                "Sysfs",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Migration",
            dependencies: [
                "FolioSharedMemory",
                "SystemCalls",
                "FolioMemory",
                "FolioProtocol",
                "Sysfs",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Tiering",
            dependencies: [
                "FolioSharedMemory",
                "SystemCalls",
                "FolioMemory",
                "FolioProtocol",
                "Migration",
                "Sysfs",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FolioService",
            dependencies: [
                "FolioSharedMemory",
                "FolioMemory",
                "FolioProtocol",
                "Migration",
                "Tiering",
                "SystemCalls",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FolioClient",
            dependencies: [
                "SystemCalls",
                "FolioSharedMemory",
                "FolioProtocol",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // The client: FolioClient and what it stands on, nothing of the daemon's layers.
        .target(
            name: "FolioCommandLine",
            dependencies: [
                "FolioClient",
                "SystemCalls",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "folioctl",
            dependencies: [
                "FolioCommandLine",
                "CLinux",
                "SystemCalls",
                "FolioClient",
                "FolioProtocol",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The load tools (bench, gups, soak, exercise) as a library the tests can call;
        // `bench --in-process` embeds the migration core.
        .target(
            name: "FolioLoad",
            dependencies: [
                "FolioSharedMemory",
                "SystemCalls",
                "FolioClient",
                "FolioMemory",
                "FolioProtocol",
                "Migration",
                "Sysfs",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "foliobench",
            dependencies: [
                "FolioCommandLine",
                "FolioLoad",
                "FolioClient",
                "FolioProtocol",
                "SystemCalls",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // `[metrics] listen`: GET /metrics in Prometheus's text format, from the stats reply.
        .target(
            name: "FolioMetrics",
            dependencies: [
                "FolioProtocol",
                "SystemCalls",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FoliodDaemon",
            dependencies: [
                "FolioSharedMemory",
                "FolioMetrics",
                "CLinux",
                "SystemCalls",
                "FolioMemory",
                "FolioProtocol",
                "FolioService",
                "Migration",
                "Sysfs",
                "SysfsFUSE",
                "Tiering",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "foliod",
            dependencies: [
                "FoliodDaemon",
                "FolioProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets, built by `make libfuzzer` with --sanitize=fuzzer -DLIBFUZZER.
        .executableTarget(
            name: "fuzz-knobs",
            dependencies: ["Sysfs"],
            path: "Tests/Fuzzers/fuzz-knobs",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fuzz-wire",
            dependencies: ["FolioProtocol"],
            path: "Tests/Fuzzers/fuzz-wire",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["FolioClient", "FolioProtocol", "FoliodDaemon", "FolioService"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FolioMemoryTests",
            dependencies: ["FolioSharedMemory", "FolioMemory", "SystemCalls", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FolioProtocolTests",
            dependencies: ["FolioProtocol", "TestSupport"],
            exclude: ["Corpus", "Golden"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FolioServiceTests",
            dependencies: ["FolioMemory", "FolioProtocol", "FolioService", "Migration", "SystemCalls"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FolioClientTests",
            dependencies: ["FolioClient", "FolioProtocol", "TestSupport", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FoliodDaemonTests",
            dependencies: ["FolioClient", "FolioMemory", "FoliodDaemon", "FolioService", "Tiering", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "foliodTests",
            dependencies: ["FolioClient", "FolioProtocol", "SystemCalls", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SysfsTests",
            dependencies: ["TestSupport", "Sysfs"],
            exclude: ["Corpus"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SysfsFUSETests",
            dependencies: ["Sysfs", "SysfsFUSE"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MigrationTests",
            dependencies: ["FolioSharedMemory", "FolioMemory", "FolioProtocol", "Migration", "Sysfs", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TieringTests",
            dependencies: ["FolioSharedMemory", "FolioMemory", "Migration", "Sysfs", "Tiering", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FolioMetricsTests",
            dependencies: ["FolioMetrics", "FolioProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SystemCallsTests",
            dependencies: ["SystemCalls"],
            swiftSettings: swiftSettings
        ),
        // FolioService's types in-process (FolioServiceTests runs the daemon as a process).
    ]
)
