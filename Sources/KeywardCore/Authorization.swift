/// The one permission check behind the cabinet and the management API: a member's role or a restricted
/// key either holds every permission an action needs, or the action is refused with the missing ones named.
public enum Authorization {
    public static func require(_ needed: Set<Permission>, granted: Set<Permission>, holder: String) throws(KeywardError) {
        let missing = needed.subtracting(granted)
        guard missing.isEmpty else {
            throw KeywardError(.forbidden, "permission_denied", "\(holder) lacks \(missing.map(\.rawValue).sorted().joined(separator: ", ")).")
        }
    }
}
