import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit. Each connection is a descriptor, and the usual soft limit (1,024) is far
/// below the connection caps: at that limit `accept` fails and NIO backs off, so a few hundred idle sockets
/// would lock verified callers out long before `max_connections` is reached. Like Go's runtime, the server
/// raises its soft limit to the hard one (which the operator controls) and says so when even that is short.
enum FileDescriptorLimit {
    /// Raises the soft limit towards `needed` (never above the hard limit) and warns when it stays below.
    static func raise(toFit needed: Int, logger: Logger) {
        var limit = rlimit()
        #if canImport(Darwin)
        let resource = RLIMIT_NOFILE
        #else
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #endif
        guard getrlimit(resource, &limit) == 0 else { return }
        let wanted = rlim_t(max(needed, 0))
        if limit.rlim_cur < wanted, limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(wanted, limit.rlim_max)
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        if limit.rlim_cur < wanted {
            logger.warning(
                "Open-file limit is \(limit.rlim_cur), below the \(needed) the connection caps need (max_connections on both listeners, plus database and files): raise it (ulimit -n, LimitNOFILE) or lower max_connections"
            )
        }
    }
}
