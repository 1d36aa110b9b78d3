// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "registry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "registry", targets: ["registry"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // The target graph follows the data (docs/ARCHITECTURE.md draws it): pure readers and rules →
        // RegistryImport (pipelines, one import-run driver) → RegistryStore ← RegistryAPI, RegistryDispatch.
        // Neither the API nor the dispatcher links an importer, libxml2 or a data generator.
        .systemLibrary(
            name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Pure domain: identifiers, entities, dates, JSON, quality findings, webhooks' rules, lookup tables.
        .target(
            name: "RegistryCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            resources: [
                .copy("Resources/postcodes.csv"), .copy("Resources/cd-hcparty.csv"),
                .copy("Resources/nihii-profession-digits.csv"),
            ],
            swiftSettings: swiftSettings
        ),
        // Streaming readers shared by the source readers: libxml2 SAX2 and zip entries.
        .target(name: "XMLStreaming", dependencies: ["CLibXML2", "CZlib"], swiftSettings: swiftSettings),
        // Source readers and their quality rules: files in, entities and findings out; no database.
        .target(
            name: "SAMReaders",
            dependencies: [
                "RegistryCore", "XMLStreaming", "CLibXML2", "CZlib", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProviderReaders",
            dependencies: ["RegistryCore", "XMLStreaming"],
            exclude: ["Formats"],
            swiftSettings: swiftSettings
        ),
        .target(name: "SPORReaders", dependencies: ["RegistryCore", "XMLStreaming"], swiftSettings: swiftSettings),
        // The store: schema and migrations, queries, the change feed, clients and subscriptions, the
        // embedded PostgreSQL and the in-memory practice search. No reader, no import.
        .target(
            name: "RegistryStore",
            dependencies: [
                "RegistryCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),
        // Import pipelines (read → check → stage → diff → gate → apply + events) and the one
        // import-run driver that owns their lock, run record, refusal, NOTIFY and COMMIT.
        .target(
            name: "RegistryImport",
            dependencies: [
                "RegistryCore", "RegistryStore", "XMLStreaming", "SAMReaders", "ProviderReaders", "SPORReaders",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Source synchronisation: configured sources checked on their schedules, new versions
        // downloaded (streamed, resumed, retried) into an archive and imported through the pipelines.
        .target(
            name: "RegistrySync",
            dependencies: [
                "RegistryCore", "RegistryStore", "RegistryImport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Offline mirrors: SQLite snapshots (GRDB, on the system's libsqlite3: Debian's libsqlite3-dev,
        // which ops/install-prerequisites.sh installs), NDJSON files and deltas built from the store.
        .target(
            name: "RegistryExport",
            dependencies: [
                "RegistryCore", "RegistryStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RegistryAPI",
            dependencies: [
                "RegistryCore", "RegistryStore", "RegistryDispatch", "RegistryExport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            resources: [.copy("OpenAPI/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RegistryDispatch",
            dependencies: [
                "RegistryCore", "RegistryStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Seeded generators of realistic SAM exports and CoBRHA snapshots, for the demo, the
        // benchmarks and the tests; never linked by the server's libraries.
        .target(
            name: "TestDataGenerators",
            dependencies: ["RegistryCore", "XMLStreaming", "SAMReaders"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "registry",
            dependencies: [
                "RegistryCore", "RegistryStore", "RegistryImport", "RegistryAPI", "RegistryDispatch", "RegistrySync",
                "TestDataGenerators", "SAMReaders", "ProviderReaders",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The receiver of the webhook benchmark (ops/bench/webhooks.sh); never part of the product.
        .executableTarget(
            name: "webhook-sink",
            dependencies: [
                "RegistryCore", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "ops/bench/WebhookSink",
            swiftSettings: swiftSettings
        ),
        // SAM's download service on loopback for the sync benchmark (ops/bench/sync.sh); never part of the product.
        .executableTarget(
            name: "sam-download-fake", dependencies: ["FakeSources"], path: "ops/bench/SAMDownloadFake",
            swiftSettings: swiftSettings),
        // The real fragments of ../shared for tests; never part of the product.
        .target(name: "SharedSamples", path: "Tests/SharedSamples", swiftSettings: swiftSettings),
        // A fake of the sources' download services (SAM's version protocol, documents, TLS with
        // client certificates) for the sync tests and the sync benchmark; never part of the product.
        .target(
            name: "FakeSources",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/FakeSources",
            swiftSettings: swiftSettings
        ),
        // A fresh migrated database per test on a real PostgreSQL (embedded or TEST_DATABASE_URL).
        .target(
            name: "DatabaseTestSupport",
            dependencies: [
                "RegistryStore", "RegistryImport", "TestDataGenerators", "SAMReaders",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/DatabaseTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProviderReadersTests",
            dependencies: ["ProviderReaders", "TestDataGenerators", "XMLStreaming", "RegistryCore"],
            swiftSettings: swiftSettings),
        .testTarget(name: "RegistryCoreTests", dependencies: ["RegistryCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SAMReadersTests",
            dependencies: ["SAMReaders", "TestDataGenerators", "XMLStreaming", "RegistryCore", "SharedSamples"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistryAPITests",
            dependencies: [
                "RegistryAPI", "RegistryStore", "RegistryImport", "RegistryDispatch", "TestDataGenerators",
                "SAMReaders", "RegistryCore", "SharedSamples", "DatabaseTestSupport", "RegistryExport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistryDispatchTests",
            dependencies: [
                "RegistryDispatch", "RegistryAPI", "RegistryStore", "RegistryImport", "RegistryCore",
                "TestDataGenerators", "SAMReaders", "DatabaseTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistryStoreTests",
            dependencies: [
                "RegistryStore", "RegistryImport", "TestDataGenerators", "RegistryCore", "DatabaseTestSupport",
                "ProviderReaders", .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistrySyncTests",
            dependencies: [
                "RegistrySync", "RegistryImport", "RegistryStore", "RegistryAPI", "TestDataGenerators", "RegistryCore",
                "DatabaseTestSupport", "FakeSources",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistryImportTests",
            dependencies: [
                "RegistryImport", "RegistryStore", "TestDataGenerators", "SAMReaders", "ProviderReaders",
                "SPORReaders", "RegistryCore", "SharedSamples", "DatabaseTestSupport", "XMLStreaming", "CZlib",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
