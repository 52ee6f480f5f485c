import Foundation
import KeywardCrypto
import NIOCore
import NIOPosix

/// Where DNS questions go: a recursive resolver's address and port (`verification_dns_resolver`).
public struct DNSServerAddress: Sendable, Equatable, CustomStringConvertible {
    /// An IP address (the resolver is named by address: resolving the resolver would need a resolver).
    public let host: String
    public let port: Int

    /// Parses `203.0.113.53`, `203.0.113.53:5353`, `[2001:db8::53]:53` or `2001:db8::53`.
    public init(parsing text: String) throws(KeywardError) {
        let invalid = KeywardError.invalid(.invalidResolver, "'\(text.prefix(64))' is not a resolver address (an IP address, optionally with :port).")
        var host = text.trimmingCharacters(in: .whitespaces)
        var port = 53
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let tail = host[host.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":"), let value = Int(tail.dropFirst()) else { throw invalid }
                port = value
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let value = Int(host[host.index(after: colon)...]) else { throw invalid }
            port = value
            host = String(host[..<colon])
        }
        guard IPAddressBytes.parse(host) != nil, (1...65535).contains(port) else { throw invalid }
        self.host = host
        self.port = port
    }

    /// The first `nameserver` of a resolv.conf (the system's resolver), port 53.
    public static func system(resolvConf path: String = "/etc/resolv.conf") -> DNSServerAddress? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0] == "nameserver", let address = try? DNSServerAddress(parsing: String(words[1])) { return address }
        }
        return nil
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why a DNS question got no usable answer (a timeout, a refusal, a malformed answer).
public struct DNSError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A small stub resolver client: one question over UDP to the configured recursive resolver (EDNS0,
/// two tries), answers parsed with bounds checks. Enough for TXT and A/AAAA lookups of domain
/// verification; not a general resolver (no TCP fallback: a truncated answer is an error).
public struct DNSClient: Sendable {
    public let server: DNSServerAddress
    /// How long one try waits for the answer.
    public let timeout: TimeAmount

    public init(server: DNSServerAddress, timeout: TimeAmount = .seconds(2)) {
        self.server = server
        self.timeout = timeout
    }

    /// The TXT strings at `name` (each record's character-strings joined); empty when the name or
    /// the record does not exist.
    public func txt(_ name: String) async throws -> [String] {
        try await query(name, type: DNSMessage.txt).compactMap { record in
            guard record.type == DNSMessage.txt else { return nil }
            return DNSMessage.txtStrings(record.data).map { String(decoding: $0, as: UTF8.self) }.joined()
        }
    }

    /// The IPv4 and IPv6 addresses of `name` (4- and 16-byte arrays), CNAMEs followed by the resolver.
    public func addresses(_ name: String) async throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        for (type, length) in [(DNSMessage.a, 4), (DNSMessage.aaaa, 16)] {
            for record in try await query(name, type: type) where record.type == type && record.data.count == length {
                result.append(record.data)
            }
        }
        return result
    }

    func query(_ name: String, type: UInt16) async throws -> [DNSMessage.Record] {
        let id = UInt16.random(in: .min ... .max)
        let question = try DNSMessage.query(id: id, name: name, type: type)
        var lastError: any Error = DNSError("no answer")
        for _ in 0..<2 {
            do {
                let answer = try await exchange(question, id: id)
                return try DNSMessage.parseAnswer(answer, id: id)
            } catch let error as DNSError where error.description.hasPrefix("timed out") {
                lastError = error
            }
        }
        throw lastError
    }

    /// Sends `message` on a connected UDP socket (so an unreachable resolver fails at once instead of
    /// timing out) and waits for the answer carrying `id`.
    func exchange(_ message: [UInt8], id: UInt16) async throws -> [UInt8] {
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: server.host, port: server.port) } catch {
            throw DNSError("resolver address \(server) is unusable")
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let promise = loop.makePromise(of: [UInt8].self)
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DNSAnswerCatcher(id: id, promise: promise))
                    }
                }
                .connect(to: address).get()
        } catch {
            promise.fail(error)
            throw DNSError("cannot reach the resolver at \(server)")
        }
        let timeout = self.timeout
        let timer = loop.scheduleTask(in: timeout) {
            promise.fail(DNSError("timed out after \(timeout.nanoseconds / 1_000_000) ms waiting for \(self.server)"))
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: message)), promise: nil)
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as DNSError {
            throw error
        } catch {
            throw DNSError("the resolver at \(server) is unreachable (\(type(of: error)))")
        }
    }
}

/// Completes the promise with the first datagram that answers our question id.
final class DNSAnswerCatcher: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let id: UInt16
    let promise: EventLoopPromise<[UInt8]>

    init(id: UInt16, promise: EventLoopPromise<[UInt8]>) {
        self.id = id
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        guard bytes.count >= 2, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id else { return }
        promise.succeed(bytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSError("the socket closed"))
    }
}

/// DNS wire format (RFC 1035), as much as a stub client needs.
enum DNSMessage {
    static let a: UInt16 = 1, cname: UInt16 = 5, txt: UInt16 = 16, aaaa: UInt16 = 28, opt: UInt16 = 41

    struct Record {
        let type: UInt16
        let data: [UInt8]
    }

    /// A recursive query for `name` (ASCII, no trailing dot needed) with an EDNS0 OPT record (1232 bytes).
    static func query(id: UInt16, name: String, type: UInt16) throws -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]
        let labels = name.split(separator: ".")
        guard !labels.isEmpty, name.utf8.count <= 253 else { throw DNSError("'\(name.prefix(80))' cannot be asked about") }
        for label in labels {
            let utf8 = Array(label.utf8)
            guard (1...63).contains(utf8.count), utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw DNSError("'\(name.prefix(80))' cannot be asked about")
            }
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        bytes += [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
        // OPT: root name, type 41, class = UDP payload size, TTL 0, no options.
        bytes += [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]
        return bytes
    }

    /// The answer section's records; empty for NXDOMAIN. Errors for failures and malformed answers.
    static func parseAnswer(_ message: [UInt8], id: UInt16) throws -> [Record] {
        guard message.count >= 12, UInt16(message[0]) << 8 | UInt16(message[1]) == id, message[2] & 0x80 != 0 else {
            throw DNSError("the resolver's answer is malformed")
        }
        guard message[2] & 0x02 == 0 else { throw DNSError("the resolver's answer was truncated") }
        switch message[3] & 0x0f {
        case 0: break
        case 3: return []  // NXDOMAIN: the name does not exist
        case 2: throw DNSError("the resolver failed to answer (SERVFAIL)")
        case 5: throw DNSError("the resolver refused to answer (REFUSED)")
        case let code: throw DNSError("the resolver answered with error code \(code)")
        }
        let questions = Int(message[4]) << 8 | Int(message[5])
        let answers = Int(message[6]) << 8 | Int(message[7])
        var offset = 12
        for _ in 0..<questions {
            offset = try skipName(message, at: offset) + 4
        }
        var records: [Record] = []
        for _ in 0..<answers {
            offset = try skipName(message, at: offset)
            guard offset + 10 <= message.count else { throw DNSError("the resolver's answer is cut short") }
            let type = UInt16(message[offset]) << 8 | UInt16(message[offset + 1])
            let length = Int(message[offset + 8]) << 8 | Int(message[offset + 9])
            offset += 10
            guard offset + length <= message.count else { throw DNSError("the resolver's answer is cut short") }
            records.append(Record(type: type, data: Array(message[offset..<offset + length])))
            offset += length
        }
        return records
    }

    /// The offset just past the (possibly compressed) name at `offset`.
    static func skipName(_ message: [UInt8], at start: Int) throws -> Int {
        var offset = start
        for _ in 0..<128 {
            guard offset < message.count else { throw DNSError("the resolver's answer is cut short") }
            let length = message[offset]
            if length == 0 { return offset + 1 }
            if length & 0xc0 == 0xc0 { return offset + 2 }  // a pointer ends the name
            guard length & 0xc0 == 0 else { throw DNSError("the resolver's answer is malformed") }
            offset += 1 + Int(length)
        }
        throw DNSError("the resolver's answer is malformed")
    }

    /// The character-strings of a TXT record's data.
    static func txtStrings(_ data: [UInt8]) -> [[UInt8]] {
        var strings: [[UInt8]] = []
        var offset = 0
        while offset < data.count {
            let length = Int(data[offset])
            offset += 1
            guard offset + length <= data.count else { break }
            strings.append(Array(data[offset..<offset + length]))
            offset += length
        }
        return strings
    }
}
