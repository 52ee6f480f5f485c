import Foundation
import Hummingbird
import KeywardCore

/// The one envelope of every list answer: `{"object": "list", "data": […], "has_more": …}`.
struct ListResource<Item: Encodable>: Encodable {
    let object = "list"
    let data: [Item]
    let has_more: Bool
}

extension ListResource: Sendable where Item: Sendable {}

/// What page of a list the caller asks for: `?limit=` (1…1,000, 100 when absent) and `?starting_after=`
/// (the id of the last item of the previous page). Every credential list of the management API pages this way.
struct PageRequest: Sendable {
    static let defaultLimit = 100

    /// Items per page.
    let limit: Int
    /// The page after this item, or the first page.
    let startingAfter: String?

    init(limit: Int = PageRequest.defaultLimit, startingAfter: String? = nil) {
        self.limit = limit
        self.startingAfter = startingAfter
    }

    /// The page `request` asks for; a `limit` that is not an integer from 1 to 1,000 is 400 `invalid_limit`.
    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        var limit = Self.defaultLimit
        if let text = query["limit"].map(String.init) {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw KeywardError(.invalidInput, .invalidLimit, "'limit' must be an integer from 1 to 1000.", field: "limit")
            }
            limit = value
        }
        self.init(limit: limit, startingAfter: query["starting_after"].map(String.init))
    }

    /// How many rows to fetch: one more than a page, which says whether another page follows.
    var fetchLimit: Int { limit + 1 }

    /// The answer for `items` fetched with `fetchLimit`: at most `limit` of them, `has_more` when there were more.
    func envelope<Item: Encodable>(_ items: [Item]) -> ListResource<Item> {
        ListResource(data: Array(items.prefix(limit)), has_more: items.count > limit)
    }
}
