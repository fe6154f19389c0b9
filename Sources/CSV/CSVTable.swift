import Foundation

/// A CSV file with a header row (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks), read
/// into one dictionary per row, keyed by the header's names.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [[String: String]]

    public init(path: String) throws {
        try self.init(text: String(contentsOfFile: path, encoding: .utf8))
    }

    public init(text: String) {
        let records = Self.records(text)
        header = records.first?.map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        rows = records.dropFirst().map { [header] fields in
            var row: [String: String] = [:]
            for (i, name) in header.enumerated() where i < fields.count { row[name] = fields[i] }
            return row
        }
    }

    static func records(_ text: String) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var inQuotes = false, afterQuote = false
        for character in text {
            if inQuotes {
                if character == "\"" { inQuotes = false; afterQuote = true } else { field.append(character) }
                continue
            }
            switch character {
            case "\"":
                if afterQuote { field.append("\"") }  // "" inside a quoted field
                inQuotes = true
            case ",":
                record.append(field)
                field = ""
            case "\n", "\r\n", "\r":
                record.append(field)
                field = ""
                if record != [""] { records.append(record) }
                record = []
            default:
                field.append(character)
            }
            afterQuote = false
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
