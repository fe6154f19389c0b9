import Foundation
import Synchronization

/// A long command's progress on stderr: how many of how many, the rate and the time left. On a terminal one line
/// redrawn in place (`finish` ends it); otherwise (a log, CI) a line every `every` items and at the last, so the record
/// stays readable.
final class ProgressLine: Sendable {
    /// What is counted ("photos").
    let unit: String
    let every: Int
    let terminal = isatty(STDERR_FILENO) == 1
    private let started = ContinuousClock.now
    /// The count last written (nil: none yet).
    private let written = Mutex<Int?>(nil)

    init(unit: String, every: Int = 100) {
        self.unit = unit
        self.every = max(1, every)
    }

    /// `done` of `total` so far; `detail` goes in brackets after the count ("3 refused").
    func update(_ done: Int, of total: Int, detail: String = "") {
        let due = written.withLock { last in
            guard last != done, terminal || done >= total || last.map({ done - $0 >= every }) ?? true else {
                return false
            }
            last = done
            return true
        }
        guard due else { return }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let rate = Double(done) / max(seconds, 0.001)
        let eta = rate > 0 ? Double(max(0, total - done)) / rate : 0
        let line =
            "\(done) of \(total) \(unit)" + (detail.isEmpty ? "" : " (\(detail))")
            + String(format: ", %.1f/s, ETA %.0f s", rate, eta)
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    /// Ends the line redrawn on a terminal.
    func finish() {
        if terminal && written.withLock({ $0 != nil }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
