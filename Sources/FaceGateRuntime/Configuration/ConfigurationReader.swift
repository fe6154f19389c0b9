import Foundation
import Logging
import Storage

/// Reads variables one by one, collecting problems instead of stopping at the first, and the names it was asked for
/// (`AppConfiguration.variables`). A setting absent from the environment keeps the default its section declares.
struct ConfigurationReader {
    let env: [String: String]
    var problems: [String] = []
    /// Every variable asked for, in order.
    private(set) var names: [String] = []

    init(_ env: [String: String]) { self.env = env }

    mutating func problem(_ text: String) { problems.append(text) }

    /// The variable's value, trimmed; nil when unset or empty.
    mutating func value(_ name: String) -> String? {
        names.append(name)
        guard let value = env[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// A comma-separated list (empty items left out).
    mutating func list(_ name: String) -> [String] {
        (value(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    mutating func string(_ name: String, default fallback: String) -> String { value(name) ?? fallback }

    mutating func required<T>(_ name: String, describe: String, _ parse: (String) -> T?) -> T? {
        guard let raw = value(name) else {
            problem("\(name) is not set (expected \(describe))")
            return nil
        }
        guard let parsed = parse(raw) else {
            problem("\(name) is invalid (expected \(describe))")
            return nil
        }
        return parsed
    }

    mutating func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int? {
        bounded(name, default: fallback, in: range, kind: "a whole number")
    }

    mutating func number(_ name: String, default fallback: Double, in range: ClosedRange<Double>) -> Double? {
        bounded(name, default: fallback, in: range, kind: "a number")
    }

    private mutating func bounded<T: LosslessStringConvertible & Comparable>(
        _ name: String, default fallback: T, in range: ClosedRange<T>, kind: String
    ) -> T? {
        guard let raw = value(name) else { return fallback }
        guard let number = T(raw), range.contains(number) else {
            problem("\(name) is '\(raw)'; expected \(kind) from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    mutating func boolean(_ name: String, default fallback: Bool) -> Bool? {
        guard let raw = value(name) else { return fallback }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problem("\(name) is '\(raw)'; expected true or false")
            return nil
        }
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) -> T?
    where T.RawValue == String {
        guard let raw = value(name) else { return fallback }
        guard let choice = T(rawValue: raw.lowercased()) else {
            problem("\(name) is '\(raw)'; expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return choice
    }

    // Into a section's property: set when the variable is there and valid, a problem when it is there and not.

    mutating func read(_ name: String, _ field: inout String) { field = string(name, default: field) }

    mutating func read(_ name: String, _ field: inout Int, in range: ClosedRange<Int>) {
        if let value = integer(name, default: field, in: range) { field = value }
    }

    mutating func read(_ name: String, _ field: inout Double, in range: ClosedRange<Double>) {
        if let value = number(name, default: field, in: range) { field = value }
    }

    mutating func read(_ name: String, _ field: inout Bool) {
        if let value = boolean(name, default: field) { field = value }
    }

    mutating func read<T: RawRepresentable & CaseIterable>(_ name: String, _ field: inout T)
    where T.RawValue == String {
        if let value = choice(name, default: field) { field = value }
    }

    /// A duration given as a whole number of `unit`s (`_SECONDS`, `_MS`, `_MINUTES`, `_DAYS`, `_HOURS`).
    mutating func read(_ name: String, _ field: inout Duration, unit: Duration, in range: ClosedRange<Int>) {
        if let value = integer(name, default: Int(field / unit), in: range) { field = unit * value }
    }

    mutating func superAdmin() -> UserStore.SuperAdminCredentials? {
        let username = value("SUPER_ADMIN_USERNAME"), password = value("SUPER_ADMIN_PASSWORD")
        let email = value("SUPER_ADMIN_EMAIL")
        switch (username, password) {
        case (nil, nil):
            return nil
        case (.some, nil):
            problem("SUPER_ADMIN_PASSWORD is not set but SUPER_ADMIN_USERNAME is")
        case (nil, .some):
            problem("SUPER_ADMIN_USERNAME is not set but SUPER_ADMIN_PASSWORD is")
        case (.some(let username), .some(let password)):
            if password.count < 12 { problem("SUPER_ADMIN_PASSWORD must have at least 12 characters") }
            if password.utf8.count > 72 {
                problem("SUPER_ADMIN_PASSWORD must be at most 72 bytes (bcrypt ignores the rest)")
            }
            if username.count > 100 { problem("SUPER_ADMIN_USERNAME must have at most 100 characters") }
            if password.count >= 12 && password.utf8.count <= 72 && username.count <= 100 {
                return .init(username: username, password: password, email: email)
            }
        }
        return nil
    }
}
