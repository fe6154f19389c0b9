import FaceEngine
import Foundation

/// A face box as the API shows it.
struct BoxView: Codable, Equatable {
    var x: Int
    var y: Int
    var width: Int
    var height: Int

    init(_ box: FaceBox) { (x, y, width, height) = (box.x, box.y, box.width, box.height) }

    init?(_ values: [Int]?) {
        guard let values, values.count == 4 else { return nil }
        (x, y, width, height) = (values[0], values[1], values[2], values[3])
    }
}
