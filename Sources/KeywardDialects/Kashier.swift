import Crypto
import KeywardCrypto

/// The Kashier wire dialect: order hashes for the hosted payment page.
///
/// `lowercase_hex(HMAC-SHA256(key: payment API key, message: "/?payment=" + MID + "." + orderId + "." + amount + "." + currency))`,
/// with every part taken as the literal string the merchant sends (the amount is not re-formatted:
/// `20` and `20.00` hash differently, exactly as at Kashier).
public enum KashierOrderHash {
    /// The path the HMAC covers.
    public static func path(mid: String, orderID: String, amount: String, currency: String) -> String {
        "/?payment=\(mid).\(orderID).\(amount).\(currency)"
    }

    /// The order hash, lowercase hex.
    public static func compute(paymentKey: String, mid: String, orderID: String, amount: String, currency: String) -> String {
        let message = path(mid: mid, orderID: orderID, amount: amount, currency: currency)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: Array(paymentKey.utf8)))
        return Hex.encode(mac)
    }

    /// Whether `presented` (hex, any case) is the order hash of these fields; compared in constant time.
    public static func verify(_ presented: String, paymentKey: String, mid: String, orderID: String, amount: String, currency: String) -> Bool {
        guard let presentedBytes = Hex.decode(presented), presentedBytes.count == SHA256.byteCount else { return false }
        let message = path(mid: mid, orderID: orderID, amount: amount, currency: currency)
        let key = SymmetricKey(data: Array(paymentKey.utf8))
        return HMAC<SHA256>.isValidAuthenticationCode(presentedBytes, authenticating: Array(message.utf8), using: key)
    }
}
