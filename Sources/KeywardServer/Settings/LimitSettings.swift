import Foundation

/// The settings of the listener, body and work limits (issue 13), read with the others by `Settings.resolve`.
extension Settings {
    /// Reads the limit settings through `value` (flag > environment > file).
    mutating func resolveLimits(_ value: (String) -> String?) throws {
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw SettingsError("\(name) must be \(range.lowerBound) to \(range.upperBound), got '\(text)'")
            }
            return number
        }
        if let seconds = try integer("idle_timeout_seconds", 1...3600) { listenerLimits.idleTimeout = .seconds(seconds) }
        if let seconds = try integer("header_read_timeout_seconds", 1...600) { listenerLimits.headerReadTimeout = .seconds(seconds) }
        if let seconds = try integer("tls_handshake_timeout_seconds", 1...600) { listenerLimits.tlsHandshakeTimeout = .seconds(seconds) }
        if let count = try integer("max_connections", 1...1_000_000) { listenerLimits.maxConnections = count }
        if let count = try integer("refused_auth_per_address_per_second", 1...1_000_000) { refusedAuthPerAddressPerSecond = count }
        if let milliseconds = try integer("refused_auth_pause_ms", 0...60_000) { refusedAuthPause = .milliseconds(milliseconds) }
        if let count = try integer("device_session_max_open", 1...1_000_000) { deviceSessionLimits.maxOpenPerMerchant = count }
        if let bytes = try integer("signed_form_max_body_bytes", 1024...(64 * 1024 * 1024)) { signedFormMaxBodyBytes = bytes }
        if let count = try integer("heavy_work_threads", 1...64) { heavyWorkThreads = count }
        if let count = try integer("heavy_work_queue", 1...10_000) { heavyWorkQueue = count }
        if let milliseconds = try integer("sqlite_busy_timeout_ms", 10...600_000) { sqliteBusyTimeout = .milliseconds(milliseconds) }
        if let rounds = try integer("pbkdf2_max_iterations", 1000...100_000_000) { pbkdf2MaxIterations = rounds }
        if let seconds = try integer("device_session_unused_seconds", 10...86_400) { deviceSessionLimits.unusedLifetime = TimeInterval(seconds) }
    }
}
