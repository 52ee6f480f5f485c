import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Where and how Keyward sends mail (invitations, password-reset links).
public struct SMTPSettings: Sendable, Equatable {
    /// `starttls` (submission, port 587), `tls` (implicit TLS, port 465) or `none` (a local relay only).
    public enum Security: String, Sendable { case starttls, tls, none }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// The `From:` address.
    public var from: String
    /// Extra certificates to trust for the server's TLS (a private relay); the system roots otherwise.
    public var caBundle: String?

    public init(host: String, port: Int, security: Security, username: String?, password: String?, from: String, caBundle: String?) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.caBundle = caBundle
    }
}

/// A failed delivery, with the server's reply (never the credentials or the message).
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(description: String) { self.description = description }
}

/// Sends one plain-text message per connection (RFC 5321): EHLO, STARTTLS when asked, AUTH PLAIN over
/// TLS only, MAIL/RCPT/DATA, QUIT. The body is base64 so no line of it can end the DATA section.
public struct SMTPMailer: Sendable {
    let settings: SMTPSettings
    /// A whole delivery (connect, TLS, conversation) gives up after this long (a relay that answers
    /// slowly under load still gets through; one that stalls does not hold the sender for minutes).
    static let timeout: TimeAmount = .seconds(30)

    public init(settings: SMTPSettings) { self.settings = settings }

    public func send(to recipient: String, subject: String, body: String) async throws {
        for value in [recipient, subject, settings.from] where value.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw SMTPError(description: "line breaks are not allowed in addresses or the subject")
        }
        if settings.username != nil, settings.security == .none {
            throw SMTPError(description: "refusing to send the SMTP password without TLS")
        }
        let tls = try tlsContext()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if settings.security == .tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(settings.host))
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let timedOut = Atomic(false)
        let deadline = channel.channel.eventLoop.scheduleTask(in: Self.timeout) {
            timedOut.store(true, ordering: .relaxed)
            channel.channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        do {
            try await converse(channel, tls: tls, to: recipient, subject: subject, body: body)
        } catch  where timedOut.load(ordering: .relaxed) {
            // Not the "I/O on closed channel" the deadline's close causes: say what happened.
            throw SMTPError(description: "the SMTP server did not finish within \(Self.timeout.nanoseconds / 1_000_000_000) s")
        }
    }

    private func converse(
        _ channel: NIOAsyncChannel<SMTPReply, ByteBuffer>,
        tls: NIOSSLContext,
        to recipient: String,
        subject: String,
        body: String
    ) async throws {
        try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            func expect(_ code: Int, after command: String?) async throws -> SMTPReply {
                if let command { try await outbound.write(ByteBuffer(string: command + "\r\n")) }
                guard let reply = try await replies.next() else { throw SMTPError(description: "the server closed the connection") }
                guard reply.code == code else {
                    let what = command.map { String($0.prefix(4)) } ?? "greeting"
                    throw SMTPError(description: "\(what) answered \(reply.code) \(reply.text.prefix(200))")
                }
                return reply
            }
            _ = try await expect(220, after: nil)
            var hello = try await expect(250, after: "EHLO keyward")
            if settings.security == .starttls {
                guard hello.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                    throw SMTPError(description: "the server does not offer STARTTLS; set smtp_security to tls or none")
                }
                _ = try await expect(220, after: "STARTTLS")
                // The TLS handler goes in front of the reply decoder; made on the channel's loop, where it lives.
                let serverName = Self.sniName(settings.host)
                try await channel.channel.eventLoop.submit {
                    try channel.channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: tls, serverHostname: serverName),
                        position: .first
                    )
                }.get()
                hello = try await expect(250, after: "EHLO keyward")
            }
            if let username = settings.username, let password = settings.password {
                let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                _ = try await expect(235, after: "AUTH PLAIN \(token)")
            }
            _ = try await expect(250, after: "MAIL FROM:<\(settings.from)>")
            _ = try await expect(250, after: "RCPT TO:<\(recipient)>")
            _ = try await expect(354, after: "DATA")
            _ = try await expect(250, after: message(to: recipient, subject: subject, body: body) + "\r\n.")
            _ = try? await expect(221, after: "QUIT")
        }
    }

    /// RFC 5322 headers and a base64 UTF-8 body (lines of 76 characters).
    func message(to recipient: String, subject: String, body: String) -> String {
        let encodedSubject = subject.allSatisfy(\.isASCII) ? subject : "=?utf-8?B?\(Data(subject.utf8).base64EncodedString())?="
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let domain = settings.from.split(separator: "@").last.map(String.init) ?? "keyward.invalid"
        let encoded = Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return [
            "From: \(settings.from)", "To: \(recipient)", "Subject: \(encodedSubject)", "Date: \(formatter.string(from: Date()))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "", encoded,
        ].joined(separator: "\r\n")
    }

    func tlsContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let bundle = settings.caBundle {
            configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(bundle))]
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// SNI takes host names only, not IP addresses.
    static func sniName(_ host: String) -> String? {
        host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : host
    }
}

/// One SMTP reply: its code and lines (`250-…` continues, `250 …` ends).
struct SMTPReply: Sendable {
    let code: Int
    let lines: [String]
    var text: String { lines.joined(separator: " ") }
}

/// Splits the server's bytes into replies, joining multi-line ones.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            guard buffer.readableBytes < 4096 else { throw SMTPError(description: "the server sent a line over 4 KiB") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex + 1
        guard var line = buffer.readString(length: length) else { return .needMoreData }
        line = line.trimmingCharacters(in: .newlines)
        guard line.count >= 3, let code = Int(line.prefix(3)) else { throw SMTPError(description: "the server's reply is not SMTP") }
        lines.append(line.count > 4 ? String(line.dropFirst(4)) : "")
        if line.count > 3, line[line.index(line.startIndex, offsetBy: 3)] == "-" { return .continue }
        context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
        lines = []
        return .continue
    }
}
