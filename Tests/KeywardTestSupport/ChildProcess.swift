import Foundation
import Synchronization

// Peer programs are started with posix_spawn here rather than Foundation's `Process`: on Linux,
// Swift 6.3's `Process.run()` reads past a `dirent` while it lists /proc/self/fd
// (swift-corelibs-foundation PR #5472) and crashes the whole test process now and then, more often
// the more descriptors are open, which is exactly when our parallel router tests run. swift-subprocess
// avoids that bug too but is async only, and most of our peer calls are synchronous helpers.
// Every pipe is made close-on-exec, so a child inherits only the three descriptors given to it and
// no peer holds another peer's pipe open.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Held while a pipe is made and while a child is spawned (see `ChildPipe.init`).
private let spawnLock = Mutex(())

/// A child process of the test process, started by `posix_spawn`.
public final class ChildProcess: Sendable {
    /// What a standard stream of the child is connected to.
    public enum Stream: Sendable {
        /// /dev/null.
        case null
        /// An open descriptor of ours (a file or one end of a pipe), duplicated into the child.
        case descriptor(Int32)
    }

    public let pid: pid_t

    /// Starts `executable` (a path, not looked up in PATH) with `arguments`.
    public init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: Stream = .null,
        stdout: Stream = .null,
        stderr: Stream = .null
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target) in [(stdin, Int32(0)), (stdout, Int32(1)), (stderr, Int32(2))] {
            switch stream {
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let fd):
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            }
        }
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
        defer { env.forEach { free($0) } }
        var child: pid_t = 0
        let status = spawnLock.withLock { _ in posix_spawn(&child, executable, &actions, nil, argv + [nil], env + [nil]) }
        guard status == 0 else {
            throw Shell.Failure(description: "\(executable) could not start: \(String(cString: strerror(status)))")
        }
        pid = child
    }

    /// Waits for the child to exit and returns its exit status (128 + signal when a signal ended it).
    @discardableResult
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return Self.exitCode(status)
    }

    /// Whether the child is still running (reaps it when it has exited).
    public var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// Sends SIGTERM.
    public func terminate() { kill(pid, SIGTERM) }

    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// A pipe whose both ends are close-on-exec (a child gets an end only through `ChildProcess.Stream`).
public struct ChildPipe: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init() throws {
        var fds: [Int32] = [0, 0]
        // pipe2 is not visible to Swift (glibc declares it under _GNU_SOURCE only): pipe, then
        // close-on-exec, under the lock every spawn takes, so no child starts in between.
        let made = spawnLock.withLock { _ in
            guard pipe(&fds) == 0 else { return false }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return true
        }
        guard made else {
            throw Shell.Failure(description: "pipe failed: \(String(cString: strerror(errno)))")
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    /// Reads `fd` until end of file.
    public static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
                continue
            }
            if count < 0 && errno == EINTR { continue }
            return data
        }
    }

    /// Writes all of `data` to `fd` (stops early if the reader went away).
    public static func writeAll(_ data: Data, to fd: Int32) {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
