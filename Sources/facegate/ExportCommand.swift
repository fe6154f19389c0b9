import ArgumentParser
import FaceGateRuntime
import Foundation
import Logging
import PostgresNIO
import Storage
import UseCases

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Take data out: check-ins, members, one member's own data.",
        subcommands: [ExportCheckinsCommand.self, ExportMembersCommand.self, ExportMemberCommand.self])
}

extension ExportFormat: ExpressibleByArgument {}

/// What every export needs: the database, and the organisation it is about.
struct ExportOptions: ParsableArguments {
    @Option(help: "The organisation, by id or name (default: the super admin's).") var organization: String?

    /// Runs `body` with the database and the organisation (named, else the super admin's), migrations applied.
    func withDatabase<T: Sendable>(
        _ body: @escaping @Sendable (Database, OrganizationStore.Organization, Logger) async throws -> T
    ) async throws -> T {
        try await withMigratedDatabase(try loadConfiguration(), label: "facegate.export") {
            [organization] database, logger in
            let target = try await ImportMembersCommand.organization(
                organization, in: OrganizationStore(database: database, logger: logger))
            return try await body(database, target, logger)
        }
    }
}

/// Writes records to stdout as they come (buffered by the C library, not held), and counts them.
func writeLines<Rows: AsyncSequence>(
    _ rows: Rows, head: String, _ line: (Rows.Element) -> String
) async throws -> Int {
    print(head, terminator: "")
    var count = 0
    for try await row in rows {
        print(line(row), terminator: "")
        count += 1
    }
    fflush(nil)
    return count
}

/// `facegate export checkins [--organization …] [--since DATE] [--until DATE] [--format csv|jsonl]`: the check-ins for
/// billing and attendance, oldest first (`checked_in_at,member_id,external_id,name,distance`), streamed from the
/// database to stdout in constant memory; the count on stderr.
struct ExportCheckinsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkins", abstract: "Check-ins as CSV or JSON Lines on stdout, oldest first.",
        discussion: """
            A DATE is a day (2026-01-31: --since from its start, --until to its end, in --time-zone) or an ISO 8601 \
            time (2026-01-31T18:00:00+01:00: --until up to it, not included). Times are written in UTC.
            """)

    @OptionGroup var options: ExportOptions
    @Option(help: "The first day (or time) included.") var since: ExportDate?
    @Option(help: "The last day included (or the time before which).") var until: ExportDate?
    @Option(help: "The time zone days are counted in (IANA name, e.g. Europe/Paris; default: this machine's).")
    var timeZone: String?
    @Option(help: "csv or jsonl.") var format: ExportFormat = .csv

    func run() async throws {
        let zone =
            try timeZone.map { name in
                guard let zone = TimeZone(identifier: name) else { throw ValidationError("unknown time zone \(name)") }
                return zone
            } ?? .current
        let from = since?.start(in: zone), to = until?.end(in: zone)
        let count = try await options.withDatabase { [format] database, organization, logger in
            let rows = try await CheckinStore(database: database, logger: logger)
                .exportRows(organization: organization.id, from: from, to: to)
            return try await writeLines(rows, head: CheckinExport.head(format)) { CheckinExport.line($0, format) }
        }
        FileHandle.standardError.write(Data("\(count) check-in(s) exported\n".utf8))
    }
}

/// `facegate export members [--organization …] [--format csv|jsonl]`: the members with the import's columns
/// (`external_id,name,email,photos,metadata`, photos empty, no biometric data), so that the file imports back.
struct ExportMembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "Members with the import's columns, as CSV or JSON Lines on stdout.")

    @OptionGroup var options: ExportOptions
    @Option(help: "csv or jsonl.") var format: ExportFormat = .csv

    func run() async throws {
        let count = try await options.withDatabase { [format] database, organization, logger in
            let rows = try await MemberStore(database: database, logger: logger).exportRows(
                organization: organization.id)
            return try await writeLines(rows, head: MemberListExport.head(format)) { MemberListExport.line($0, format) }
        }
        FileHandle.standardError.write(Data("\(count) member(s) exported\n".utf8))
    }
}

/// `facegate export member ID`: one member's own data as the JSON document `GET /api/v1/members/{id}/export` answers
/// (`MemberDataExport`), audited as that is (by the service itself).
struct ExportMemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member",
        abstract: "One member's own data (record, faces, check-ins, audit entries) as JSON on stdout.")

    @Argument(help: "The member's id.") var id: String
    @Option(help: "The member's organisation, by id or name (default: the member's own).") var organization: String?

    func run() async throws {
        guard let member = UUID(uuidString: id) else { throw ValidationError("\(id) is not a member id") }
        let document = try await withMigratedDatabase(try loadConfiguration(), label: "facegate.export") {
            [organization] database, logger in
            let members = MemberStore(database: database, logger: logger)
            let owner: UUID?
            if let organization {
                owner = try await ImportMembersCommand.organization(
                    organization, in: OrganizationStore(database: database, logger: logger)
                ).id
            } else {
                owner = try await members.organization(of: member)
            }
            guard let owner else { throw ValidationError("no member has the id \(member.uuidString.lowercased())") }
            let data = try await MemberDataExport(
                members: members, checkins: CheckinStore(database: database, logger: logger)
            )
            .export(member: member, organization: owner, actor: nil)
            return try MemberDataDocument.encode(data)
        }
        FileHandle.standardOutput.write(document)
        print()
    }
}

/// A day or a time on the command line. A day (`2026-01-31`) starts at its midnight and ends at the next, in the
/// time zone it is counted in; a time (ISO 8601, with its offset) is both.
struct ExportDate: ExpressibleByArgument, Sendable {
    private enum Value: Sendable {
        case day(DateComponents)
        case time(Date)
    }

    private let value: Value

    init?(argument: String) {
        let parts = argument.split(separator: "-").compactMap { Int($0) }
        if argument.count == 10, parts.count == 3 {
            let components = DateComponents(year: parts[0], month: parts[1], day: parts[2])
            guard components.isValidDate(in: Calendar(identifier: .gregorian)) else { return nil }
            value = .day(components)
        } else if let time = try? Date(argument, strategy: .iso8601) {
            value = .time(time)
        } else {
            return nil
        }
    }

    func start(in zone: TimeZone) -> Date {
        switch value {
        case .day(let day): Self.calendar(zone).date(from: day)!
        case .time(let time): time
        }
    }

    func end(in zone: TimeZone) -> Date {
        switch value {
        case .day(let day):
            let calendar = Self.calendar(zone)
            return calendar.date(byAdding: .day, value: 1, to: calendar.date(from: day)!)!
        case .time(let time): return time
        }
    }

    private static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }
}
