// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "statussync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "statussync", targets: ["statussync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        // The packages above bring these in. No target uses them directly: they are pinned here so
        // that every build resolves the same versions without a committed Package.resolved
        // (docs/deployment.md#reproducible-builds). Raise a pin together with the package that needs it.
        // `swift build` warns that no target uses them: expected, and harmless.
        .package(url: "https://github.com/apple/swift-algorithms.git", exact: "1.2.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", exact: "1.4.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", exact: "1.7.3"),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", exact: "1.7.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-transport-services.git", exact: "1.28.0"),
        .package(url: "https://github.com/apple/swift-numerics.git", exact: "1.1.1"),
        .package(url: "https://github.com/apple/swift-service-context.git", exact: "1.5.1"),
        .package(url: "https://github.com/apple/swift-system.git", exact: "1.8.1"),
    ],
    targets: [
        // Build tools: the schema from migrations/NNNN_name.sql embedded in the binary, and the
        // provider registry generated from Sources/StatusSyncProviders/Kinds/*Provider.swift.
        .executableTarget(name: "BuildCodegen", swiftSettings: swiftSettings),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["BuildCodegen"]),
        .plugin(name: "RegisterProviders", capability: .buildTool(), dependencies: ["BuildCodegen"]),

        // Domain: the plugin call, its validation, configuration, states. No I/O frameworks.
        .target(
            name: "StatusSyncCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Durable store: SQLite through GRDB; the only module that touches the database.
        .target(
            name: "StatusSyncStore",
            dependencies: [
                "StatusSyncCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                "CSQLiteTuning",
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedMigrations"]
        ),
        // Outgoing: git hosting provider clients.
        .target(
            name: "StatusSyncProviders",
            dependencies: [
                "StatusSyncCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["RegisterProviders"]
        ),
        // Delivery loop: store → provider → store.
        .target(
            name: "StatusSyncDelivery",
            dependencies: [
                "StatusSyncCore",
                "StatusSyncStore",
                "StatusSyncProviders",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Incoming: the Argo executor plugin HTTP server.
        .target(
            name: "StatusSyncServer",
            dependencies: [
                "StatusSyncCore",
                "StatusSyncStore",
                "StatusSyncDelivery",
                "StatusSyncProviders",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The read-only web dashboard: the store's read queries rendered as HTML (its own listener).
        .target(
            name: "StatusSyncDashboard",
            dependencies: [
                "StatusSyncCore",
                "StatusSyncStore",
                "StatusSyncDelivery",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("Templates/layout.mustache"),
                .embedInCode("Templates/overview.mustache"),
                .embedInCode("Templates/updates.mustache"),
                .embedInCode("Templates/update.mustache"),
                .embedInCode("Templates/calls.mustache"),
                .embedInCode("Templates/backlog.mustache"),
                .embedInCode("Templates/style.css"),
            ],
            swiftSettings: swiftSettings
        ),
        // Command line: serve plus the operator commands.
        .target(
            name: "StatusSyncCLI",
            dependencies: [
                "StatusSyncCore",
                "StatusSyncStore",
                "StatusSyncProviders",
                "StatusSyncDelivery",
                "StatusSyncServer",
                "StatusSyncDashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // bench/ only: the machine's HTTP and SQLite ceilings, to compare statussync against.
        .executableTarget(
            name: "BenchCeiling",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                "StatusSyncCore", "StatusSyncProviders", "StatusSyncStore", "CMallocTuning",
            ],
            path: "bench/ceiling",
            swiftSettings: swiftSettings
        ),
        // glibc's mallopt, which Swift's Glibc module does not export (see Sources/statussync/main.swift).
        .target(name: "CMallocTuning"),
        // sqlite3_config, which is variadic (see AppDatabase.sqliteConfigured).
        .target(name: "CSQLiteTuning", linkerSettings: [.linkedLibrary("sqlite3")]),
        .executableTarget(
            name: "statussync",
            dependencies: [
                "StatusSyncCLI",
                "CMallocTuning",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StatusSyncTests",
            dependencies: [
                "statussync",
                "StatusSyncCore",
                "StatusSyncStore",
                "StatusSyncProviders",
                "StatusSyncDelivery",
                "StatusSyncServer",
                "StatusSyncCLI",
                "StatusSyncDashboard",
                "CMallocTuning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
