import Foundation
import Synchronization

/// CPU time and resident memory of another process, read from /proc (Linux).
struct ProcessSample {
    /// User + system CPU seconds so far.
    var cpuSeconds: Double
    var residentBytes: Int

    init?(pid: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3, utime 14 and stime 15 (1-based, man proc).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        cpuSeconds = (user + system) / ticks
        let pages = statm.split(separator: " ")
        residentBytes = pages.count > 1 ? (Int(pages[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}

/// The highest resident memory of a process seen while `watch` runs (sampled every 250 ms).
final class PeakResident: Sendable {
    let pid: Int32?
    private let peak = Mutex<Int>(0)
    var bytes: Int { peak.withLock { $0 } }

    init(pid: Int32?) { self.pid = pid }

    func watch() async {
        guard let pid else { return }
        while !Task.isCancelled {
            if let sample = ProcessSample(pid: pid) { peak.withLock { $0 = max($0, sample.residentBytes) } }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
