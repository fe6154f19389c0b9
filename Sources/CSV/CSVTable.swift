import Foundation

/// A CSV file with a header row (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks), read
/// into one dictionary per row, keyed by the header's names; `records` keeps each row as written, with its line.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [[String: String]]
    /// The rows after the header as written: their fields (as many as the row has, whatever the header's count)
    /// and the line each begins on (1 is the header's). Parallel to `rows`.
    public let records: [Record]
    /// The line a quoted field began on that the text ended inside (the last record is then cut short), or nil.
    public let unterminatedQuote: Int?

    public struct Record: Sendable, Equatable {
        public var line: Int
        public var fields: [String]

        public init(line: Int, fields: [String]) {
            self.line = line
            self.fields = fields
        }
    }

    public init(path: String) throws {
        try self.init(text: String(contentsOfFile: path, encoding: .utf8))
    }

    public init(text: String) {
        // A byte order mark (spreadsheets write one in "CSV UTF-8") is not part of the first column's name.
        let (all, unterminated) = Self.parse(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        let names = all.first?.fields.map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        let data = Array(all.dropFirst())
        header = names
        records = data
        unterminatedQuote = unterminated
        rows = data.map { record in
            var row: [String: String] = [:]
            for (i, name) in names.enumerated() where i < record.fields.count { row[name] = record.fields[i] }
            return row
        }
    }

    /// Every record of `text` (blank lines skipped) with the line it begins on, and the line of a quoted field left
    /// open at the end.
    static func parse(_ text: String) -> (records: [Record], unterminatedQuote: Int?) {
        var records: [Record] = [], record: [String] = [], field = ""
        var inQuotes = false, afterQuote = false
        var line = 1, recordLine = 1, quoteLine = 1
        for character in text {
            if inQuotes {
                if character == "\"" {
                    inQuotes = false
                    afterQuote = true
                } else {
                    field.append(character)
                    if character.isNewline { line += 1 }
                }
                continue
            }
            switch character {
            case "\"":
                if afterQuote { field.append("\"") }  // "" inside a quoted field
                inQuotes = true
                quoteLine = line
            case ",":
                record.append(field)
                field = ""
            case "\n", "\r\n", "\r":
                record.append(field)
                field = ""
                if record != [""] { records.append(Record(line: recordLine, fields: record)) }
                record = []
                line += 1
                recordLine = line
            default:
                field.append(character)
            }
            afterQuote = false
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(Record(line: recordLine, fields: record))
        }
        return (records, inQuotes ? quoteLine : nil)
    }
}

extension CSVTable {
    /// One record as a CSV line (RFC 4180), ending in a line feed: a field holding a comma, a quote or a line
    /// break is quoted, its quotes doubled. `CSVTable(text:)` reads it back as it was.
    public static func line(_ fields: [String]) -> String {
        fields.map(quoted).joined(separator: ",") + "\n"
    }

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
