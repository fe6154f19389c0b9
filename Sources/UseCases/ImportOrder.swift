/// The import's schedule, without I/O: the photos of the steps ahead are examined up to `width` at a time, in any
/// order they finish, while the steps are stored strictly in the file's order (a member before its photos, each
/// row after the one above it). `MemberImport.run` starts what `photosToStart` names, reports each examination back
/// with `examined`, and stores what `nextToStore` hands out; `Examination` is whatever a photo's examination gives.
struct ImportOrder<Examination> {
    /// For each step, whether it is a photo (examined first) or a row of its own (stored as it is).
    let isPhoto: [Bool]
    /// Photos examined at once.
    let width: Int
    /// The next step not yet looked at by `photosToStart`.
    private(set) var next = 0
    /// The next step to store.
    private(set) var stored = 0
    /// Photos started and not yet stored.
    private(set) var examining = 0
    private var examinations: [Int: Examination] = [:]

    init(isPhoto: [Bool], width: Int) {
        precondition(width > 0)
        self.isPhoto = isPhoto
        self.width = width
    }

    var isDone: Bool { stored == isPhoto.count }

    /// The photo steps to start examining now: the next ones, while fewer than `width` are under way.
    mutating func photosToStart() -> [Int] {
        var start: [Int] = []
        while next < isPhoto.count {
            if isPhoto[next] {
                guard examining < width else { break }
                examining += 1
                start.append(next)
            }
            next += 1
        }
        return start
    }

    /// A photo's examination finished.
    mutating func examined(step: Int, _ examination: Examination) {
        precondition(isPhoto[step] && step >= stored && step < next, "step \(step) was not being examined")
        examinations[step] = examination
    }

    /// The next step in the file's order and its photo's examination, when it can be stored now; nil while its
    /// photo is still being examined.
    mutating func nextToStore() -> (step: Int, examination: Examination?)? {
        guard !isDone else { return nil }
        let step = stored
        guard isPhoto[step] else {
            stored += 1
            return (step, nil)
        }
        guard let examination = examinations.removeValue(forKey: step) else { return nil }
        examining -= 1
        stored += 1
        return (step, examination)
    }
}
