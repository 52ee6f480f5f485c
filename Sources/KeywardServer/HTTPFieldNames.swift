import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto
import Logging

extension HTTPField.Name {
    static let keywardRequestID = Self("Keyward-Request-Id")!
    static let xRequestID = Self("X-Request-Id")!
    static let xForwardedProto = Self("X-Forwarded-Proto")!
    static let xForwardedFor = Self("X-Forwarded-For")!
    static let keywardMerchantID = Self("Keyward-Merchant-Id")!
    static let keywardMode = Self("Keyward-Mode")!
    static let keywardKeyID = Self("Keyward-Key-Id")!
    static let keywardPermissions = Self("Keyward-Permissions")!
    static let signatureInput = Self("Signature-Input")!
    static let aliKassaAccount = Self("Account")!
    static let allianceDeviceID = Self("x-device_id")!
    static let allianceRefreshToken = Self("x-refresh_token")!
    static let allianceAPIVersion = Self("x-api_version")!
    static let aliKassaSign = Self("Sign")!
    static let keywardObjectID = Self("Keyward-Object-Id")!
}
