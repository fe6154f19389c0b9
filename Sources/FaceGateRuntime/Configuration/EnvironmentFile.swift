import Foundation

/// Reads `KEY=VALUE` files (`.env`, `.local/dev.env`): `#` comments, blank lines, an optional `export ` prefix and
/// single or double quotes around the value. CRLF line endings are accepted.
public enum EnvironmentFile {
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            if !key.isEmpty { values[key] = value }
        }
        return values
    }

    /// The values of `path`, or nothing when the file does not exist.
    public static func load(_ path: String) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        return parse(try String(contentsOfFile: path, encoding: .utf8))
    }

    /// The process environment, then `.env`, then the development values `scripts/run` generated, the first one
    /// that names a variable winning.
    public static func layeredEnvironment(
        process: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = FileManager.default.currentDirectoryPath
    ) throws -> [String: String] {
        var merged = try load(directory + "/.local/dev.env")
        merged.merge(try load(directory + "/.env")) { _, new in new }
        merged.merge(process) { _, new in new }
        return merged
    }
}
