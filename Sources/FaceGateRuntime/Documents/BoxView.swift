import FaceEngine
import Foundation

/// A face box as the API shows it.
public struct BoxView: Codable, Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(_ box: FaceBox) { (x, y, width, height) = (box.x, box.y, box.width, box.height) }

    public init?(_ values: [Int]?) {
        guard let values, values.count == 4 else { return nil }
        (x, y, width, height) = (values[0], values[1], values[2], values[3])
    }
}
