/// A decoded image: 8-bit RGB, rows top to bottom, no padding (`stride == width * 3`), owned by Swift.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public var stride: Int { width * 3 }
    public var pixelCount: Int { width * height }

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "RGBImage size mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image of one colour (tests and synthetic inputs).
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = red
            pixels[3 * i + 1] = green
            pixels[3 * i + 2] = blue
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The RGB value at (x, y).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
