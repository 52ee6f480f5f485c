import Foundation
import KeywardCrypto
import SQLKit

/// One page of a merchant's rows in one mode, newest first: the one way every list of the management API
/// pages. Rows are ordered by creation time, then id (the table has `merchant_id`, `mode`, `created_ms`);
/// a page starts after the row `startingAfter` (a keyset, so rows made meanwhile neither repeat nor skip one).
struct MerchantPage: Sendable {
    /// At most this many rows: 1…1,001 (a full page of 1,000 and one more, which tells the caller whether
    /// another page follows).
    let limit: Int
    /// The id of the last row of the previous page; `nil` for the first page.
    let startingAfter: String?

    init(limit: Int, startingAfter: String?) {
        self.limit = max(1, min(limit, 1001))
        self.startingAfter = startingAfter
    }

    /// The page of `table`'s rows of `merchantID` in `mode`. A `startingAfter` that is not one of them
    /// (another merchant's, the other mode's, no one's) is 404 `resource_missing`, naming `noun`; one that
    /// `isID` rejects is refused before the database sees it (PostgreSQL fails on a NUL byte in text).
    func rows<Row: Decodable>(
        _: Row.Type,
        of table: String,
        noun: String,
        in sql: any SQLDatabase,
        merchantID: String,
        mode: Mode,
        isID: (String) -> Bool
    ) async throws -> [Row] {
        var query = sql.select().column("*").from(table).where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue)
        if let startingAfter {
            guard isID(startingAfter),
                let cursor = try await sql.select().column("created_ms").from(table)
                    .where("id", .equal, startingAfter).where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue)
                    .first(decoding: Cursor.self)
            else { throw KeywardError.notFound(noun, id: startingAfter) }
            query = query.where {
                $0.where("created_ms", .lessThan, cursor.created_ms)
                    .orWhere { $0.where("created_ms", .equal, cursor.created_ms).where("id", .lessThan, startingAfter) }
            }
        }
        return try await query.orderBy("created_ms", .descending).orderBy("id", .descending).limit(limit).all(decoding: Row.self)
    }

    private struct Cursor: Decodable {
        let created_ms: Int64
    }
}
