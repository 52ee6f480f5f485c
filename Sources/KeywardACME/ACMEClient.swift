import AsyncHTTPClient
import Foundation
import KeywardCrypto
import NIOCore
import NIOHTTP1
import NIOSSL

/// Publishes HTTP-01 key authorizations where the CA will look for them
/// (`http://<domain>/.well-known/acme-challenge/<token>`).
public protocol HTTP01Responder: Sendable {
    /// Serves `keyAuthorization` at `/.well-known/acme-challenge/<token>` for requests to `domain`.
    func publish(token: String, keyAuthorization: String, domain: String) async throws
    func withdraw(token: String) async
}

/// Where and how to reach the CA.
public struct ACMEConfiguration: Sendable {
    /// The directory URL (Let's Encrypt's by default).
    public var directoryURL: String
    /// Extra PEM certificates to trust for the CA's HTTPS (pebble's, a private CA's).
    public var caBundlePEM: String?
    public var contactEmail: String?
    /// External account binding (RFC 8555 §7.3.4) for CAs that ask for one: key id and HMAC key.
    public var externalAccountKeyID: String?
    public var externalAccountHMACKey: [UInt8]?
    /// How long to wait for authorizations and the order to settle.
    public var pollTimeout: Duration = .seconds(120)

    public static let letsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

    public init(
        directoryURL: String = ACMEConfiguration.letsEncrypt,
        caBundlePEM: String? = nil,
        contactEmail: String? = nil,
        externalAccountKeyID: String? = nil,
        externalAccountHMACKey: [UInt8]? = nil
    ) {
        self.directoryURL = directoryURL
        self.caBundlePEM = caBundlePEM
        self.contactEmail = contactEmail
        self.externalAccountKeyID = externalAccountKeyID
        self.externalAccountHMACKey = externalAccountHMACKey
    }
}

/// An RFC 8555 client for one account at one CA: account registration (with EAB when asked), orders
/// answered by HTTP-01, finalization with the caller's CSR, chain download, and ARI renewal windows
/// (RFC 9773). Replay nonces are pooled; a `badNonce` refusal is retried with the fresh nonce the CA
/// sent. Several orders may run at once on one client.
public actor ACMEClient {
    let configuration: ACMEConfiguration
    let accountKey: ACMEAccountKey
    let http: HTTPClient
    var directory: ACMEDirectory?
    var nonces: [String] = []
    /// The account URL (`kid`), known once registered or looked up.
    public private(set) var accountURL: String?

    public init(configuration: ACMEConfiguration, accountKey: ACMEAccountKey, accountURL: String? = nil) throws {
        self.configuration = configuration
        self.accountKey = accountKey
        self.accountURL = accountURL
        var tls = TLSConfiguration.makeClientConfiguration()
        if let bundle = configuration.caBundlePEM {
            let certificates = try NIOSSLCertificate.fromPEMBytes(Array(bundle.utf8))
            guard !certificates.isEmpty else { throw ACMEError(.acmeBadConfiguration, "The ACME CA bundle holds no PEM certificate.") }
            tls.additionalTrustRoots = [.certificates(certificates)]
        }
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: .seconds(30))
        )
        http.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Closes the HTTP client; call once when done.
    public func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: Account

    /// Registers the account (or finds the existing one for this key) and returns its URL.
    @discardableResult
    public func registerAccount() async throws -> String {
        if let accountURL { return accountURL }
        let directory = try await loadDirectory()
        var payload: [String: Any] = ["termsOfServiceAgreed": true]
        if let email = configuration.contactEmail { payload["contact"] = ["mailto:" + email] }
        if let keyID = configuration.externalAccountKeyID, let hmacKey = configuration.externalAccountHMACKey {
            payload["externalAccountBinding"] = try accountKey.externalAccountBinding(
                keyID: keyID,
                hmacKey: hmacKey,
                newAccountURL: directory.newAccount
            )
        } else if directory.meta?.externalAccountRequired == true {
            throw ACMEError(.acmeEABRequired, "The CA requires external account binding: set the EAB key id and HMAC key.")
        }
        let response = try await post(directory.newAccount, payload: try JSONSerialization.data(withJSONObject: payload), signedWithKID: false)
        guard let location = response.headers.first(name: "Location") else {
            throw ACMEError(.acmeBadResponse, "The CA created the account but sent no Location.")
        }
        accountURL = location
        return location
    }

    // MARK: Orders

    /// Obtains a certificate for `domains`: new order (marked as replacing `replaces`, an ARI certificate id,
    /// when renewing), HTTP-01 for each pending authorization through `responder`, finalize with `csrDER`,
    /// and download. Returns the PEM chain, leaf first.
    public func issue(domains: [String], csrDER: [UInt8], replaces: String? = nil, responder: some HTTP01Responder) async throws -> String {
        let directory = try await loadDirectory()
        try await registerAccount()
        var payload: [String: Any] = ["identifiers": domains.map { ["type": "dns", "value": $0] }]
        if let replaces, directory.renewalInfo != nil { payload["replaces"] = replaces }
        let created = try await post(directory.newOrder, payload: try JSONSerialization.data(withJSONObject: payload))
        guard let orderURL = created.headers.first(name: "Location") else { throw ACMEError(.acmeBadResponse, "The CA sent no order URL.") }
        var order = try decode(ACMEOrder.self, created)
        for authorizationURL in order.authorizations {
            try await authorize(authorizationURL, responder: responder)
        }
        order = try await poll(orderURL, as: ACMEOrder.self) { $0.status != "pending" }
        guard order.status == "ready" else { throw Self.orderFailure(order) }
        let finalized = try await post(order.finalize, payload: try JSONSerialization.data(withJSONObject: ["csr": Base64URL.encode(csrDER)]))
        order = try decode(ACMEOrder.self, finalized)
        if order.status != "valid" {
            order = try await poll(orderURL, as: ACMEOrder.self) { $0.status != "processing" && $0.status != "ready" }
        }
        guard order.status == "valid", let certificateURL = order.certificate else { throw Self.orderFailure(order) }
        let chain = try await post(certificateURL, payload: nil, accept: "application/pem-certificate-chain")
        guard let pem = String(bytes: chain.body, encoding: .utf8), pem.contains("-----BEGIN CERTIFICATE-----") else {
            throw ACMEError(.acmeBadResponse, "The CA's certificate download is not a PEM chain.")
        }
        return pem
    }

    /// Answers one authorization by HTTP-01 (nothing to do when it is already valid) and waits for it.
    func authorize(_ url: String, responder: some HTTP01Responder) async throws {
        let authorization = try decode(ACMEAuthorization.self, try await post(url, payload: nil))
        if authorization.status == "valid" { return }
        guard authorization.status == "pending" else {
            throw ACMEError(.acmeChallengeFailed, "The authorization for \(authorization.identifier.value) is \(authorization.status).")
        }
        guard let challenge = authorization.challenges.first(where: { $0.type == "http-01" }), let token = challenge.token else {
            throw ACMEError(.acmeChallengeFailed, "The CA offers no HTTP-01 challenge for \(authorization.identifier.value).")
        }
        try await responder.publish(token: token, keyAuthorization: accountKey.keyAuthorization(token: token), domain: authorization.identifier.value)
        do {
            if challenge.status == "pending" { _ = try await post(challenge.url, payload: Data("{}".utf8)) }
            let settled = try await poll(url, as: ACMEAuthorization.self) { $0.status != "pending" }
            await responder.withdraw(token: token)
            guard settled.status == "valid" else {
                let reason = settled.challenges.first(where: { $0.type == "http-01" })?.error
                throw ACMEError(
                    .acmeChallengeFailed,
                    "HTTP-01 for \(authorization.identifier.value) failed: \(reason?.detail ?? settled.status)",
                    problemType: reason?.type
                )
            }
        } catch {
            await responder.withdraw(token: token)
            throw error
        }
    }

    static func orderFailure(_ order: ACMEOrder) -> ACMEError {
        ACMEError(.acmeOrderFailed, "The order ended \(order.status)\(order.error?.detail.map { ": " + $0 } ?? "").", problemType: order.error?.type)
    }

    /// POST-as-GET `url` until `settled` holds, honouring Retry-After, within the poll timeout.
    func poll<T: Decodable>(_ url: String, as type: T.Type, until settled: (T) -> Bool) async throws -> T {
        let deadline = ContinuousClock.now + configuration.pollTimeout
        var delay = Duration.milliseconds(100)
        while true {
            let response = try await post(url, payload: nil)
            let value = try decode(T.self, response)
            if settled(value) { return value }
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int.init).map { Duration.seconds(min($0, 30)) }
            let wait = retryAfter ?? delay
            guard ContinuousClock.now + wait < deadline else { throw ACMEError(.acmeTimeout, "The CA did not settle \(url) in time.") }
            try await Task.sleep(for: wait)
            delay = min(delay * 2, .seconds(2))
        }
    }
}
