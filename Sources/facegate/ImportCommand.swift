import ArgumentParser
import CSV
import FaceEngine
import FaceGateRuntime
import Foundation
import Logging
import PostgresNIO
import Storage
import UseCases

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Bring data in from another system.", subcommands: [ImportMembersCommand.self])
}

/// `facegate import members --csv FILE --photos DIR [--organization ID|NAME] [--report FILE] [--dry-run]`: members
/// and their photos from a CSV file (`MemberImport`), every photo through the enrolment the API runs, on all engines;
/// idempotent and resumable. Progress with rate and ETA on a terminal, a line every 100 photos otherwise; a report
/// line per photo (`external_id,photo,outcome,code,detail`) in `--report`; the last stdout line is a JSON summary.
/// Exit status 0 when every photo was enrolled or already there, 1 when some were refused or a row was in error
/// (the report says which), 65 for a file that is not an import.
struct ImportMembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members",
        abstract: "Create or update members from a CSV file and enrol their photos; last stdout line is JSON.",
        discussion: """
            The CSV (UTF-8, header row, RFC 4180 quoting) has the columns external_id,name,email,photos and \
            optionally metadata (a JSON object); photos is a ;-separated list of paths relative to --photos. Members \
            are matched by external_id: created, or updated when name, email or metadata differ (an empty email \
            clears it; without a metadata column metadata is left as it is). A photo the member already has is \
            skipped, so running the same import again changes nothing. The running service sees the new faces at once.
            """)

    @Option(help: "The CSV file of members.") var csv: String
    @Option(help: "The folder the photos column's paths are relative to.") var photos: String
    @Option(help: "The organisation, by id or name (default: the super admin's).") var organization: String?
    @Option(help: "Write a report line per photo to this CSV file (external_id,photo,outcome,code,detail).")
    var report: String?
    @Flag(help: "Check every row and examine every photo, writing nothing.") var dryRun = false
    @Option(help: "Face engines running at once (default: ENGINE_WORKERS or one per core).") var workers: Int?

    func run() async throws {
        var configuration = try loadConfiguration()
        if let workers { configuration.engine.workers = max(1, workers) }
        let table: CSVTable
        do {
            table = try CSVTable(path: csv)
            try MemberImport.checkHeader(table.header)
        } catch {
            FileHandle.standardError.write(Data("facegate: \(csv): \(error)\n".utf8))
            throw ExitCode(65)  // EX_DATAERR
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: photos, isDirectory: &isFolder), isFolder.boolValue else {
            FileHandle.standardError.write(Data("facegate: --photos \(photos) is not a folder\n".utf8))
            throw ExitCode(66)  // EX_NOINPUT
        }
        let started = ContinuousClock.now
        let progress = ProgressLine(unit: "photos")
        let summary = try await withMigratedDatabase(configuration, label: "facegate.import") {
            [photos, organization, report, dryRun, configuration] database, logger in
            let reportFile = try report.map(Self.createReport)
            defer { try? reportFile?.close() }
            let target = try await Self.organization(
                organization, in: OrganizationStore(database: database, logger: logger))
            // A model activated in the database (`faces reembed --activate`) is the one every instance enrols with.
            var engine = configuration.engine
            if let activated = try await ModelActivationStore(database: database, logger: logger).current(),
                activated != engine.space
            {
                guard let running = engine.running(activated) else {
                    throw ValidationError("the activated face model \(activated) is not one this build makes")
                }
                engine = running
            }
            try engine.verifyModels()
            // The database's exact search decides whether a face is another member's: it sees every face enrolled
            // until that moment, also by the running service meanwhile, and there is no gallery to load first.
            var searchedInDatabase = configuration
            searchedInDatabase.gallery.searchBackend = .pgvectorExact
            let model = FaceModelRuntime(
                engines: try engine.makeBatchPool(), engine: engine, configuration: searchedInDatabase,
                database: database,
                logger: logger
            ).context
            return try await MemberImport(configuration: configuration, model: model).run(
                table, photosFolder: photos, organization: target.id, actor: nil, dryRun: dryRun,
                report: { line in try? reportFile?.write(contentsOf: Data(CSVTable.line(line.reportFields).utf8)) },
                progress: { done in
                    progress.update(
                        done.photosDone, of: done.photos,
                        detail: "\(done.facesEnrolled) enrolled, \(done.facesSkipped) skipped, "
                            + "\(done.refused) refused, \(done.errors) errors")
                })
        }
        progress.finish()
        try printJSON([
            "members_created": summary.membersCreated, "members_updated": summary.membersUpdated,
            "members_unchanged": summary.membersUnchanged, "faces_enrolled": summary.facesEnrolled,
            "faces_skipped": summary.facesSkipped, "refused": summary.refused, "errors": summary.errors,
            "rows": summary.rows, "dry_run": dryRun,
            "seconds": ((ContinuousClock.now - started) / .seconds(1) * 100).rounded() / 100,
        ])
        if summary.refused > 0 || summary.errors > 0 { throw ExitCode(1) }
    }

    /// The report file, created (or emptied) with its header line.
    static func createReport(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw ValidationError("cannot write the report to \(path)")
        }
        try handle.write(contentsOf: Data(CSVTable.line(MemberImport.ReportLine.header).utf8))
        return handle
    }

    /// The organisation named on the command line (id or name), else the super admin's.
    static func organization(_ named: String?, in organizations: OrganizationStore) async throws
        -> OrganizationStore.Organization
    {
        if let named {
            guard let found = try await organizations.find(idOrName: named) else {
                throw ValidationError("no organisation has the id or name \(named)")
            }
            return found
        }
        guard let found = try await organizations.superAdminOrganization() else {
            throw ValidationError("there is no super admin yet (start the service once) and no --organization")
        }
        return found
    }
}
