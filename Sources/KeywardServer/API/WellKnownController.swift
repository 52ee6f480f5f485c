import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `/.well-known/` files, on both listeners and without redirects (the CA and Apple fetch them over
/// plain HTTP): ACME HTTP-01 answers and the Apple Pay domain-association file of the merchant whose
/// channel claims the requested host.
struct WellKnownController {
    let acme: ACMEState
    let associations: DomainAssociationService

    func addRoutes(to router: Router<KeywardRequestContext>) {
        router.get(".well-known/acme-challenge/:token") { request, context in
            let token = try context.parameters.require("token")
            guard let answer = try await acme.challengeResponse(token: token, host: Self.host(request)) else {
                throw KeywardError(.notFound, .notFound, "No pending ACME challenge with this token.")
            }
            return Self.text(answer, contentType: "application/octet-stream")
        }
        router.get(".well-known/apple-developer-merchantid-domain-association") { request, _ in
            guard let host = Self.host(request), let content = try await associations.content(forHost: host) else {
                throw KeywardError(.notFound, .notFound, "No Apple Pay domain-association file is uploaded for this domain's merchant.")
            }
            return Self.text(content, contentType: "text/plain")
        }
    }

    /// The requested host. HTTP/1 servers turn Host into the authority; a Host field left in the headers counts too.
    static func host(_ request: Request) -> String? {
        request.head.authority ?? HTTPField.Name("Host").flatMap({ request.headers[$0] })
    }

    static func text(_ text: String, contentType: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: contentType, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
