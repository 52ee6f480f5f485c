import Foundation
import Mustache

// Direct field lookups for the templates: swift-mustache otherwise builds a Mirror of the value for
// every `{{name}}`, which made a page of 1,000 keys take over 100 ms.

extension CabinetPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "message": message
        case "signedIn": signedIn
        case "email": email
        case "merchantName": merchantName
        case "role": role
        case "csrf": csrf
        case "banner": banner
        case "secret": secret
        case "uri": uri
        case "reason": reason
        case "codes": codes
        case "certificates": certificates
        case "hasCertificates": hasCertificates
        case "mode": mode
        case "canWrite": canWrite
        case "modes": modes
        case "keys": keys
        case "baseURL": baseURL
        case "roles": roles
        case "permissions": permissions
        case "grantable": grantable
        case "canMintUnrestricted": canMintUnrestricted
        case "members": members
        case "filter": filter
        case "entries": entries
        case "findings": findings
        case "chartWidth": chartWidth
        case "chartHeight": chartHeight
        case "chartDays": chartDays
        case "axisY": axisY
        case "ticks": ticks
        case "bars": bars
        case "keyRowsHTML": keys.map(\.html).joined()
        case "certificateRowsHTML": certificates.map(\.html).joined()
        case "barsHTML": bars.map(\.html).joined()
        case "notice": notice
        case "nav": nav
        case "keyAction": keyAction
        case "settings": settings
        case "keyCheck": keyCheck
        case "credentialsHTML": credentialsHTML
        case "channelRowsHTML": channelRowsHTML
        case "applePayRowsHTML": applePayRowsHTML
        case "certificateOptionsHTML": certificateOptionsHTML
        case "applePayRequest": applePayRequest
        case "channel": channel
        case "refreshSeconds": refreshSeconds
        case "qrSVG": qrSVG
        case "merchants": merchants
        case "hasOtherMerchants": !merchants.isEmpty
        case "account": account
        case "invitation": invitation
        case "passkeys": passkeys
        case "secretURLEncoded": secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        case "testMode": testMode
        default: nil
        }
    }
}

extension KeyRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "name": self.name
        case "prefix": prefix
        case "last4": last4
        case "status": status
        case "created": created
        case "lastUsed": lastUsed
        case "stale": stale
        case "rotationDays": rotationDays
        case "revocable": revocable
        case "rollable": rollable
        case "expires": expires
        case "mode": mode
        default: nil
        }
    }
}

extension CertificateRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "status": status
        case "daysLeft": daysLeft
        case "notAfter": notAfter
        case "mode": mode
        case "type": type
        case "names": names
        case "issuer": issuer
        default: nil
        }
    }
}

extension ExpiryTimeline.Bar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "status": status
        case "daysLeft": daysLeft
        case "y": y
        case "textY": textY
        case "width": width
        case "labelX": labelX
        case "color": color
        default: nil
        }
    }
}

extension NavigationLinks: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "keys": keys
        case "certificates": certificates
        case "team": team
        case "audit": audit
        case "settings": settings
        default: nil
        }
    }
}

extension KeyCheckResult: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "ok": ok
        case "code": code
        case "explanation": explanation
        case "hint": hint
        case "notes": notes
        case "steps": steps
        case "hasSteps": !steps.isEmpty
        default: nil
        }
    }
}

extension ApplePayRequestView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "name": self.name
        case "typeTitle": typeTitle
        case "keyType": keyType
        case "csrPEM": csrPEM
        case "csrURLEncoded": csrPEM.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        case "completed": completed
        case "created": created
        default: nil
        }
    }
}
