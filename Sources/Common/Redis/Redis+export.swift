// The Redis client is its own module (Sources/Redis); every service that imports Common uses it.
@_exported import Redis
