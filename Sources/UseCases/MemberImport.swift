import CSV
import Crypto
import FaceEngine
import Foundation
import ImageDecoding
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Members and their photos from a CSV file into an organisation (`facegate import members`), for a gym moving from
/// another system. A row is `external_id,name,email,photos[,metadata][,status][,valid_until][,pin]`: `photos` a
/// `;`-separated list of paths inside the photos folder, `metadata` a JSON object, `status` and `valid_until` the
/// membership (as the API takes them), `pin` the member's PIN (hashed; never exported). An optional column left out,
/// or an empty `status` or `pin` cell, leaves the member's value as it is. Members are matched by external id:
/// created, or updated when a field differs (`MemberStore.importMember`, with its audit entry; a PIN differs when
/// the member's hash does not verify it). Every photo goes through the
/// enrolment use case (`Enrolment`: decoding, quality gates, another member's face refused), except one the member
/// already has (same SHA-256: skipped before any engine runs), so a second run changes nothing and an interrupted
/// one resumes.
///
/// Photos are examined (decoded, gated, embedded) many at once on all the engines, and stored in the file's order:
/// every outcome — which of two members listing the same face gets it — is the one a run row by row would give. A
/// row that breaks a rule (a field the API would refuse, a photo missing or outside the folder, a malformed line) is
/// reported and nothing of it written; a photo the enrolment refuses is reported with the API's code; the import goes
/// on. A database outage or a model switch stops it (run it again to continue).
public struct MemberImport: Sendable {
    /// The columns of an import file, in order (the ones after `photos` may be left out); `facegate export members`
    /// writes them all but `pin`.
    public static let columns = ["external_id", "name", "email", "photos", "metadata", "status", "valid_until", "pin"]
    static let requiredColumns = ["external_id", "name", "email", "photos"]

    /// How the service answers an error: the catalogue's code and words (the API's), or for an internal failure what
    /// went wrong, for the operator; whether it refuses what was sent (a 4xx) and whether it passes by itself (the
    /// database unavailable, a model switch: the import stops, and can be run again).
    struct Answer {
        let code: ErrorCode
        let detail: String
        let refused: Bool
        let transient: Bool

        init(_ error: any Error) {
            let coded = CodedError(describing: error)
            code = coded.code
            detail =
                coded.code.kind == .internal
                ? databaseErrorDescription(error, withValues: true) ?? String(describing: error) : coded.detail
            refused = coded.code.kind.isRefusal
            transient = coded.code.kind == .transient
        }
    }

    public enum Outcome: String, Sendable, Equatable {
        /// The photo is now one of the member's faces.
        case enrolled
        /// The member already has this photo (same SHA-256).
        case skipped
        /// The enrolment refused the photo (the API's code: `no_face`, `face_belongs_to_other_member`, …).
        case refused
        /// The row could not be imported (nothing of it written), or the photo failed.
        case error
    }

    /// One line of the report: a photo of a row, or a row in error that names no photo.
    public struct ReportLine: Sendable, Equatable {
        public var externalID: String
        public var photo: String
        public var outcome: Outcome
        public var code: String
        public var detail: String

        public static let header = ["external_id", "photo", "outcome", "code", "detail"]
        public var fields: [String] { [externalID, photo, outcome.rawValue, code, detail] }
        /// The fields as the report file holds them: what a spreadsheet would run as a formula (an external id or a
        /// photo name from the imported file, a detail quoting them) escaped as the exports escape it.
        public var reportFields: [String] { fields.map(SpreadsheetCell.escaped) }

        public init(externalID: String, photo: String, outcome: Outcome, code: String, detail: String) {
            self.externalID = externalID
            self.photo = photo
            self.outcome = outcome
            self.code = code
            self.detail = detail
        }
    }

    public struct Summary: Sendable, Equatable {
        public var rows = 0
        /// Photos the file names, and those dealt with so far.
        public var photos = 0
        public var photosDone = 0
        public var membersCreated = 0
        public var membersUpdated = 0
        public var membersUnchanged = 0
        public var facesEnrolled = 0
        public var facesSkipped = 0
        /// Report lines `refused` and `error`.
        public var refused = 0
        public var errors = 0

        public init() {}

        mutating func count(_ line: ReportLine) {
            switch line.outcome {
            case .enrolled: facesEnrolled += 1
            case .skipped: facesSkipped += 1
            case .refused: refused += 1
            case .error: errors += 1
            }
            if !line.photo.isEmpty { photosDone += 1 }
        }
    }

    /// The file is not an import: columns missing, or ones it does not know.
    public struct BadHeader: Error, CustomStringConvertible {
        public let missing: [String]
        public let unknown: [String]
        public var description: String {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing column(s) \(missing.joined(separator: ", "))") }
            if !unknown.isEmpty { parts.append("unknown column(s) \(unknown.joined(separator: ", "))") }
            return
                "the CSV header must be \(MemberImport.columns.joined(separator: ",")) (the columns after photos optional): "
                + parts.joined(separator: "; ")
        }
    }

    let model: ModelContext
    let enrolment: Enrolment
    /// `MAX_IMAGE_BYTES`: a larger photo is refused (`image_too_large`) without being read whole.
    let maxPhotoBytes: Int
    /// How a `pin` cell is hashed and a member's hash checked against it.
    let pins: PINHashing
    /// Photos examined at once: every engine busy, one more each waiting while rows are stored in order.
    let width: Int

    public init(model: ModelContext, sealer: BiometricSealer, maxPhotoBytes: Int, pins: PINHashing) {
        self.model = model
        enrolment = Enrolment(model: model, sealer: sealer)
        self.maxPhotoBytes = maxPhotoBytes
        self.pins = pins
        width = 2 * model.pipeline.engines.size
    }

    public static func checkHeader(_ header: [String]) throws(BadHeader) {
        let missing = requiredColumns.filter { !header.contains($0) }
        let unknown = header.filter { !columns.contains($0) }
        if !missing.isEmpty || !unknown.isEmpty { throw BadHeader(missing: missing, unknown: unknown) }
    }

    /// Imports `table`'s rows into `organization` (by `actor`; nil: the service itself), each of its report lines
    /// given to `report` in the file's order as it is decided, the counts so far to `progress` after each row and
    /// photo. `dryRun`: every row checked (against the database as it is) and every photo examined, nothing written.
    public func run(
        _ table: CSVTable, photosFolder: String, organization: UUID, actor: UUID?, dryRun: Bool,
        report: (ReportLine) -> Void, progress: (Summary) -> Void
    ) async throws -> Summary {
        try Self.checkHeader(table.header)
        let folder = URL(fileURLWithPath: photosFolder).standardized.resolvingSymlinksInPath()
        var checkedRows = table.records.enumerated().map { index, record in
            check(
                record, header: table.header, folder: folder,
                cutShort: table.unterminatedQuote != nil && index == table.records.count - 1)
        }
        // A member is one row: a later row with the same external id would change it again on every run.
        var firstLine: [String: Int] = [:]
        for (index, checked) in checkedRows.enumerated() {
            guard case .valid(let row) = checked else { continue }
            if let first = firstLine[row.externalID] {
                checkedRows[index] = .invalid(
                    externalID: row.externalID, photos: row.photos.map(\.named),
                    code: ErrorCode.duplicateExternalID.name,
                    detail: "line \(row.line): external_id \(row.externalID) is already on line \(first)")
            } else {
                firstLine[row.externalID] = row.line
            }
        }
        let rows = checkedRows
        var steps: [Step] = []
        var ledger = Ledger()
        ledger.summary.rows = rows.count
        for (index, row) in rows.enumerated() {
            switch row {
            case .invalid(_, let photos, _, _):
                steps.append(.invalid(index))
                ledger.summary.photos += photos.count
            case .valid(let valid):
                steps.append(.member(index))
                steps += valid.photos.indices.map { Step.photo(index, $0) }
                ledger.summary.photos += valid.photos.count
            }
        }
        progress(ledger.summary)
        // Every photo is checked against other members' faces with the tolerance of the gallery the import leads to
        // — the organisation's other members' faces and every photo of the file — not of the gallery as it grows
        // (a larger gallery has a stricter tolerance): each photo is judged alike wherever it stands in the file,
        // and a second run, with the first one's faces stored, judges every photo as the first did.
        var imported: [String] = [], importedPhotos = 0
        for case .valid(let row) in rows {
            imported.append(row.externalID)
            importedPhotos += row.photos.count
        }
        let galleryFaces =
            try await model.faces.count(organization: organization, excludingExternalIDs: imported)
            + importedPhotos
        let context = Context(
            rows: rows, organization: organization, actor: actor, dryRun: dryRun, galleryFaces: galleryFaces)
        try await withThrowingTaskGroup(of: (Int, Examination).self) { group in
            var order = ImportOrder<Examination>(
                isPhoto: steps.map { if case .photo = $0 { true } else { false } }, width: width)
            func startPhotos() {
                for step in order.photosToStart() {
                    guard case .photo(let index, let number) = steps[step], case .valid(let row) = rows[index] else {
                        preconditionFailure("step \(step) is not a photo of a valid row")
                    }
                    let photo = row.photos[number], externalID = row.externalID
                    group.addTask {
                        (step, try await self.examine(photo, externalID: externalID, organization: organization))
                    }
                }
            }
            startPhotos()
            while !order.isDone {
                guard let (step, examination) = order.nextToStore() else {
                    // The step to store next is a photo still being examined: take whichever examination ends first.
                    guard let (step, examination) = try await group.next() else {
                        preconditionFailure("the photo of step \(order.stored) was never started")
                    }
                    order.examined(step: step, examination)
                    continue
                }
                try await commit(steps[step], examination, context, &ledger, report: report)
                progress(ledger.summary)
                startPhotos()
            }
        }
        return ledger.summary
    }

    // MARK: - Rows

    /// A row that can be imported: its fields checked by the API's rules and its photos found in the folder.
    struct Row: Sendable {
        var line: Int
        var externalID: String
        var name: String
        var email: String?
        /// Nil without a metadata column (left as it is); an empty cell is `{}`.
        var metadata: String?
        /// Nil without the column or with an empty cell: left as it is.
        var status: String?
        /// Nil without the column (left as it is); `.some(nil)` for an empty cell: the membership does not end.
        var validUntil: String??
        /// Nil without the column or with an empty cell: left as it is.
        var pin: String?
        var photos: [Photo]
    }

    struct Photo: Sendable {
        /// As the row names it.
        var named: String
        /// The file, symbolic links resolved.
        var path: String
        /// The photos folder, symbolic links resolved: the file read must be inside it.
        var folder: String
    }

    enum Checked: Sendable {
        case valid(Row)
        /// Reported as `error` for each photo it names (or once when it names none); nothing of it written.
        case invalid(externalID: String, photos: [String], code: String, detail: String)
    }

    /// Why a row or a photo cannot be imported, with the code the report gives it.
    struct RowProblem: Error {
        let code: ErrorCode
        let detail: String
    }

    func check(_ record: CSVTable.Record, header: [String], folder: URL, cutShort: Bool) -> Checked {
        var cells: [String: String] = [:]
        for (i, name) in header.enumerated() where i < record.fields.count {
            cells[name] = SpreadsheetCell.unescaped(record.fields[i])
        }
        let externalID = cells["external_id"] ?? ""
        let named = (cells["photos"] ?? "").split(separator: ";")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func invalid(_ code: ErrorCode, _ detail: String) -> Checked {
            .invalid(externalID: externalID, photos: named, code: code.name, detail: "line \(record.line): \(detail)")
        }
        if cutShort { return invalid(.malformedRow, "a quoted field is not closed before the end of the file") }
        guard record.fields.count == header.count else {
            return invalid(.malformedRow, "\(record.fields.count) fields where the header has \(header.count)")
        }
        guard !externalID.isEmpty else {
            return invalid(.invalidField, "external_id: required (members are matched by it)")
        }
        let name = MemberFields.trimmed(cells["name"]) ?? ""
        let email = MemberFields.trimmed(cells["email"]) ?? ""
        // Compact, as the API measures it (the database's text of an export has spaces after ':' and ',').
        let metadata = cells["metadata"].map { cell -> String in
            guard !cell.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return "{}" }
            guard let object = try? JSONSerialization.jsonObject(with: Data(cell.utf8)), object is [String: Any],
                let compact = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            else { return cell }
            return String(decoding: compact, as: UTF8.self)
        }
        func optional(_ column: String) -> String? {
            MemberFields.trimmed(cells[column]).flatMap { $0.isEmpty ? nil : $0 }
        }
        let validUntil: String?? = cells["valid_until"] == nil ? nil : .some(optional("valid_until"))
        let fields = MemberFields(
            name: name.isEmpty ? nil : name, externalID: externalID,
            email: email.isEmpty ? nil : email, metadata: metadata, status: optional("status"),
            validUntil: validUntil ?? nil)
        do {
            try fields.validate(requireName: true)
        } catch {
            let coded = CodedError(describing: error)
            return invalid(coded.code, coded.detail)
        }
        if let pin = optional("pin"), !PIN.isWellFormed(pin) { return invalid(.invalidField, "pin: \(PIN.rule)") }
        var photos: [Photo] = []
        for photo in named {
            switch Self.locate(photo, in: folder) {
            case .success(let path): photos.append(Photo(named: photo, path: path, folder: folder.path))
            case .failure(let problem): return invalid(problem.code, "\(photo): \(problem.detail)")
            }
        }
        return .valid(
            Row(
                line: record.line, externalID: externalID, name: name, email: fields.email,
                metadata: metadata, status: fields.status, validUntil: validUntil, pin: optional("pin"),
                photos: photos))
    }

    /// The file `named` stands for inside `folder` (which has its symbolic links resolved): a relative path that
    /// stays inside the folder, to a readable regular file, also once its own links are resolved.
    static func locate(_ named: String, in folder: URL) -> Result<String, RowProblem> {
        let outside = RowProblem(code: .photoOutsideFolder, detail: "the path leads outside the photos folder")
        guard !named.hasPrefix("/") else { return .failure(outside) }
        let url = folder.appendingPathComponent(named).standardized
        guard url.path.hasPrefix(folder.path + "/") else { return .failure(outside) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return .failure(RowProblem(code: .photoNotFound, detail: "no such file in the photos folder"))
        }
        let resolved = url.resolvingSymlinksInPath()
        guard resolved.path.hasPrefix(folder.path + "/") else { return .failure(outside) }
        // A named pipe, a device or a socket would block the import or never end: only regular files.
        guard
            (try? FileManager.default.attributesOfItem(atPath: resolved.path)[.type] as? FileAttributeType)
                == .typeRegular
        else { return .failure(notAFile) }
        guard FileManager.default.isReadableFile(atPath: resolved.path) else {
            return .failure(RowProblem(code: .photoUnreadable, detail: "the file cannot be read (permissions)"))
        }
        return .success(resolved.path)
    }

    static let notAFile = RowProblem(
        code: .photoNotAFile,
        detail: "not a regular file (a named pipe, a device or a socket)")

    // MARK: - Photos

    enum Examination: Sendable {
        /// The member already has this photo: nothing to run.
        case alreadyEnrolled
        case examined(Enrolment.Examined)
        case failed(any Error)
    }

    /// Reads the photo, skips it if the member has it already, else examines it on an engine. Never throws but for
    /// cancellation: a failure is the photo's outcome, decided when its turn comes.
    func examine(_ photo: Photo, externalID: String, organization: UUID) async throws -> Examination {
        do {
            let bytes = try read(photo)
            if try await model.faces.hasFace(
                externalID: externalID, organization: organization, photoSHA256: Array(SHA256.hash(data: bytes)))
            {
                return .alreadyEnrolled
            }
            return .examined(try await enrolment.examine(bytes))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .failed(error)
        }
    }

    /// The photo's bytes, refused as the API refuses a body over `MAX_IMAGE_BYTES` without reading more than that. The
    /// file is checked as opened, not as it was named: no link followed at its end, opened without waiting (a named
    /// pipe put there since does not block), a regular file by `fstat`, and inside the photos folder by the path of
    /// what was opened, so that nothing swapped in between the row's check and this read is read.
    func read(_ photo: Photo) throws -> [UInt8] {
        let descriptor = open(photo.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw RowProblem(code: .photoUnreadable, detail: "the file cannot be opened") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { throw Self.notAFile }
        #if os(Linux)
        let opened = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)")) ?? ""
        guard opened.hasPrefix(photo.folder + "/") else {
            throw RowProblem(code: .photoOutsideFolder, detail: "the file opened is outside the photos folder")
        }
        #endif
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        let data = try handle.read(upToCount: maxPhotoBytes + 1) ?? Data()
        if data.count > maxPhotoBytes { throw ImageDecodingError.tooManyBytes(limit: maxPhotoBytes) }
        return [UInt8](data)
    }

    // MARK: - Storing, in the file's order

    enum Step: Sendable {
        case invalid(Int)
        case member(Int)
        case photo(Int, Int)
    }

    struct Context: Sendable {
        let rows: [Checked]
        let organization: UUID
        let actor: UUID?
        let dryRun: Bool
        /// The gallery size whose tolerance decides whether a face is another member's.
        let galleryFaces: Int
    }

    /// What the steps stored so far decided.
    struct Ledger {
        var summary = Summary()
        /// Each valid row's member once its step is stored: its id, or why it was not written.
        var members: [Int: Result<UUID, RowProblem>] = [:]
        /// Photos enrolled (or, in a dry run, found enrollable) in this run, by member and SHA-256.
        var enrolled = Set<String>()
    }

    func commit(
        _ step: Step, _ examination: Examination?, _ context: Context, _ ledger: inout Ledger,
        report: (ReportLine) -> Void
    ) async throws {
        func say(_ line: ReportLine) {
            ledger.summary.count(line)
            report(line)
        }
        switch step {
        case .invalid(let index):
            guard case .invalid(let externalID, let photos, let code, let detail) = context.rows[index] else { return }
            for photo in photos.isEmpty ? [""] : photos {
                say(ReportLine(externalID: externalID, photo: photo, outcome: .error, code: code, detail: detail))
            }
        case .member(let index):
            guard case .valid(let row) = context.rows[index] else { return }
            do {
                let (id, change) = try await model.members.importMember(
                    organization: context.organization, externalID: row.externalID, name: row.name, email: row.email,
                    metadata: row.metadata, status: row.status, validUntil: row.validUntil,
                    pin: row.pin.map { pin in
                        .init(keeps: { try await pins.verify(pin, $0) }, hash: { try await pins.hash(pin) })
                    },
                    actor: context.actor, dryRun: context.dryRun)
                switch change {
                case .created: ledger.summary.membersCreated += 1
                case .updated: ledger.summary.membersUpdated += 1
                case .unchanged: ledger.summary.membersUnchanged += 1
                }
                ledger.members[index] = .success(id)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let answer = Answer(error)
                if answer.transient { throw error }
                let problem = RowProblem(code: answer.code, detail: "line \(row.line): \(answer.detail)")
                ledger.members[index] = .failure(problem)
                if row.photos.isEmpty {
                    say(
                        ReportLine(
                            externalID: row.externalID, photo: "", outcome: .error, code: problem.code.name,
                            detail: problem.detail))
                }
            }
        case .photo(let index, let number):
            guard case .valid(let row) = context.rows[index], let examination else { return }
            let photo = row.photos[number]
            func line(_ outcome: Outcome, _ code: String, _ detail: String) -> ReportLine {
                ReportLine(externalID: row.externalID, photo: photo.named, outcome: outcome, code: code, detail: detail)
            }
            switch ledger.members[index] {
            case .failure(let problem)?:
                say(line(.error, problem.code.name, problem.detail))
            case nil:
                preconditionFailure("a photo stored before its member")
            case .success(let member)?:
                let decided = try await enrol(examination, member: member, context, &ledger, line: line)
                say(decided)
            }
        }
    }

    private func enrol(
        _ examination: Examination, member: UUID, _ context: Context, _ ledger: inout Ledger,
        line: (Outcome, String, String) -> ReportLine
    ) async throws -> ReportLine {
        let alreadyThere = line(.skipped, ErrorCode.duplicateFace.name, StorageError.duplicateFace.description)
        do {
            switch examination {
            case .alreadyEnrolled:
                return alreadyThere
            case .failed(let error):
                throw error
            case .examined(let examined):
                let key = member.uuidString + "|" + examined.imageSHA256.map { String(format: "%02x", $0) }.joined()
                guard !ledger.enrolled.contains(key) else { return alreadyThere }
                let detail: String
                if context.dryRun {
                    try await enrolment.checkNotAnotherMembers(
                        examined, member: member, organization: context.organization, galleryFaces: context.galleryFaces
                    )
                    detail = "dry run: would be enrolled"
                } else {
                    let enrolled = try await enrolment.store(
                        examined, member: member, organization: context.organization, enrolledBy: context.actor,
                        galleryFaces: context.galleryFaces)
                    detail = "face " + enrolled.faceID.uuidString.lowercased()
                }
                ledger.enrolled.insert(key)
                return line(.enrolled, "", detail)
            }
        } catch StorageError.duplicateFace {
            return alreadyThere
        } catch is CancellationError {
            throw CancellationError()
        } catch let problem as RowProblem {
            return line(.error, problem.code.name, problem.detail)
        } catch {
            let answer = Answer(error)
            if answer.transient { throw error }
            return line(answer.refused ? .refused : .error, answer.code.name, answer.detail)
        }
    }
}
