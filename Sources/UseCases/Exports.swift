import CSV
import Foundation
import Storage

/// How `facegate export` and the API's exports write records: CSV (RFC 4180, a header line first) or JSON Lines
/// (one JSON object per line), one record per line as it is read, so that an export of any size streams.
public enum ExportFormat: String, Sendable, CaseIterable {
    case csv, jsonl

    public var contentType: String {
        switch self {
        case .csv: "text/csv; charset=utf-8"
        case .jsonl: "application/jsonl; charset=utf-8"
        }
    }
}

/// Check-ins for billing and attendance, oldest first: `checked_in_at,member_id,external_id,name,distance,method`
/// (no distance for a manual check-in).
public enum CheckinExport {
    public static let columns = ["checked_in_at", "member_id", "external_id", "name", "distance", "method"]

    /// What comes before the first record: the CSV header (nothing for JSON Lines).
    public static func head(_ format: ExportFormat) -> String {
        format == .csv ? CSVTable.line(columns) : ""
    }

    public static func line(_ checkin: CheckinStore.ExportedCheckin, _ format: ExportFormat) -> String {
        let time = checkin.checkedInAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            member = checkin.memberID.uuidString.lowercased()
        switch format {
        case .csv:
            return CSVTable.line([
                time, member, SpreadsheetCell.escaped(checkin.externalID ?? ""),
                SpreadsheetCell.escaped(checkin.name), checkin.distance.map { String($0) } ?? "",
                checkin.method,
            ])
        case .jsonl:
            return JSONLine.object([
                ("checked_in_at", JSONLine.string(time)), ("member_id", JSONLine.string(member)),
                ("external_id", checkin.externalID.map(JSONLine.string) ?? "null"),
                ("name", JSONLine.string(checkin.name)),
                ("distance", checkin.distance.map { String($0) } ?? "null"),
                ("method", JSONLine.string(checkin.method)),
            ])
        }
    }
}

/// An organisation's members with the columns of an import (`MemberImport.columns`: external_id, name, email,
/// photos — empty: photos are not exported —, metadata, status and valid_until; never the PIN), so that an export
/// imports back; no biometric data.
public enum MemberListExport {
    public static let columns = MemberImport.columns.filter { $0 != "pin" }

    public static func head(_ format: ExportFormat) -> String {
        format == .csv ? CSVTable.line(columns) : ""
    }

    public static func line(_ member: MemberStore.ExportedMember, _ format: ExportFormat) -> String {
        switch format {
        case .csv:
            return CSVTable.line([
                SpreadsheetCell.escaped(member.externalID ?? ""), SpreadsheetCell.escaped(member.name),
                SpreadsheetCell.escaped(member.email ?? ""), "", member.metadata, member.status,
                member.validUntil ?? "",
            ])
        case .jsonl:
            // The metadata is the database's JSON text of an object: written as the object it is.
            return JSONLine.object([
                ("external_id", member.externalID.map(JSONLine.string) ?? "null"),
                ("name", JSONLine.string(member.name)),
                ("email", member.email.map(JSONLine.string) ?? "null"), ("photos", JSONLine.string("")),
                ("metadata", member.metadata), ("status", JSONLine.string(member.status)),
                ("valid_until", member.validUntil.map(JSONLine.string) ?? "null"),
            ])
        }
    }
}

/// A text field of a CSV file facegate writes (the exports, the import report) as a spreadsheet shows it rather than
/// runs it: one that begins with a tab or a carriage return, or whose first Unicode scalar after any space and
/// zero-width characters (Unicode white space and default-ignorable code points: U+200B–U+200D, U+2060, U+FEFF, …) is
/// `=`, `+`, `-` or `@`, gets a leading apostrophe (names come from other systems' data). Scalars, not `Character`s:
/// `=` followed by U+200D or a combining mark is one `Character` that is not `=`, yet a spreadsheet runs it. The import
/// takes the apostrophe off again, so that an export imports back unchanged.
public enum SpreadsheetCell {
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@"]

    /// Whether a spreadsheet could take `scalars` for a formula.
    static func runsAsFormula<Scalars: Sequence<Unicode.Scalar>>(_ scalars: Scalars) -> Bool {
        var iterator = scalars.makeIterator()
        guard let first = iterator.next() else { return false }
        if first == "\t" || first == "\r" { return true }
        var scalar: Unicode.Scalar? = first
        while let current = scalar, current.properties.isWhitespace || current.properties.isDefaultIgnorableCodePoint {
            scalar = iterator.next()
        }
        return scalar.map(formulaStarts.contains) ?? false
    }

    public static func escaped(_ text: String) -> String {
        runsAsFormula(text.unicodeScalars) ? "'" + text : text
    }

    public static func unescaped(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.first == "'", runsAsFormula(scalars.dropFirst()) else { return text }
        return String(String.UnicodeScalarView(scalars.dropFirst()))
    }
}

/// One JSON object per line, written directly (an encoder per record would cost more than the record).
enum JSONLine {
    /// `{"key":value,…}` and a line feed; values are JSON text already.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}\n"
    }

    /// A JSON string (RFC 8259: quotation mark, reverse solidus and control characters escaped).
    static func string(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20:
                escaped +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
