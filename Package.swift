// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Release executables on Linux are linked by lld with packed relative relocations (DT_RELR,
/// glibc ≥ 2.36): their relative relocations, which the loader reads at every start (resident
/// memory of every process), take ~10 KB instead of ~1.2 MB (see README, Performance).
let executableLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux], configuration: .release))
]

/// One library per service (all behaviour, testable) plus a thin executable named like its folder.
func service(_ folder: String, library: String, dependencies: [Target.Dependency], resources: [Resource]? = nil) -> [Target] {
    [
        .target(
            name: library,
            dependencies: ["Common"] + dependencies,
            path: "services/\(folder)/Sources/\(library)",
            resources: resources,
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "\(library)Main",
            dependencies: [
                .byName(name: library), "Common", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "services/\(folder)/Sources/\(library)Main",
            swiftSettings: swiftSettings,
            linkerSettings: executableLinkerSettings
        ),
    ]
}

let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let postgres: Target.Dependency = .product(name: "PostgresNIO", package: "postgres-nio")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let httpClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")

let package = Package(
    name: "registrar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "users-api", targets: ["UsersAPIMain"]),
        .executable(name: "auth-api", targets: ["AuthAPIMain"]),
        .executable(name: "mailer", targets: ["MailerMain"]),
        .executable(name: "smtp-mock", targets: ["SMTPMockMain"]),
        .library(name: "Common", targets: ["Common"]),
    ],
    dependencies: [
        // Without the FullFoundation trait Hummingbird needs FoundationEssentials only: services
        // that do not use postgres-nio then never load Foundation and ICU (8–10 MB resident each).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),  // 4.x: FoundationEssentials only
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // bcrypt from libxcrypt (Debian's libcrypt): 207 ms a hash at cost 12 on one core here, against
        // 235 ms for HummingbirdBcrypt (the fastest implementation on the machine; same `$2b$` hashes).
        .systemLibrary(
            name: "CCrypt",
            path: "Sources/CCrypt",
            pkgConfig: "libxcrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        .target(name: "Bcrypt", dependencies: ["CCrypt"], swiftSettings: swiftSettings),
        // The Redis client (RESP over hiredis, connections, pool, Sentinel, TLS): no dependency
        // on the services' shared code; Common re-exports it.
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis", lifecycle, logging,
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Common",
            dependencies: [
                "Redis", hummingbird, lifecycle, logging, metrics, prometheus,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CommonPostgres",
            dependencies: [
                "Common", postgres, logging, .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bcrypt-ceiling",
            dependencies: ["Bcrypt", .product(name: "NIOPosix", package: "swift-nio")],
            path: "bench/BcryptCeiling",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Common", "CommonPostgres", hummingbird, postgres, logging, .product(name: "HummingbirdTesting", package: "hummingbird")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CommonTests",
            dependencies: ["Common", "CommonPostgres", "Redis", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio"), nioSSL],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuthAPITests",
            dependencies: ["AuthAPI", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird"), postgres],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MailerTests",
            dependencies: [
                "Mailer", "Common", "TestSupport", postgres, .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SMTPMockTests",
            dependencies: [
                "SMTPMock", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "UsersAPITests",
            dependencies: ["UsersAPI", "Bcrypt", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
    ]
        + service(
            "users-api",
            library: "UsersAPI",
            dependencies: ["CommonPostgres", "Bcrypt", hummingbird, postgres, lifecycle, metrics],
            resources: [.copy("Migrations"), .copy("OpenAPI/openapi.json")]
        )
        + service("auth-api", library: "AuthAPI", dependencies: [hummingbird, httpClient, lifecycle])
        + service(
            "mailer",
            library: "Mailer",
            dependencies: [
                "CommonPostgres", hummingbird, postgres, lifecycle, metrics, nioCore, nioPosix, nioSSL,
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            resources: [.copy("Templates")]
        )
        + service("smtp-mock", library: "SMTPMock", dependencies: [hummingbird, lifecycle, metrics, nioCore, nioPosix, nioSSL])
)
