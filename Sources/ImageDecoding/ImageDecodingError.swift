/// Why an image was refused (the error catalogue, `ErrorCode`, names each case for the API and the import report).
public enum ImageDecodingError: Error, Equatable, CustomStringConvertible, Sendable {
    case empty
    /// A recognised but undecodable format ("GIF", "BMP", …), or nil when nothing about the bytes is recognised.
    case unsupportedFormat(String?)
    case corrupt(String)
    case truncated
    case tooManyBytes(limit: Int)
    case tooManyPixels(width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case .empty: "the image is empty"
        case .unsupportedFormat(let name?): "\(name) images are not supported; send JPEG, PNG or WebP"
        case .unsupportedFormat(nil): "the data is not a JPEG, PNG or WebP image"
        case .corrupt(let detail): "the image data is corrupt (\(detail))"
        case .truncated: "the image data ends before the image does"
        case .tooManyBytes(let limit): "the image is larger than \(limit) bytes"
        case .tooManyPixels(let width, let height, let limit):
            "the image is \(width)x\(height) pixels, more than the limit of \(limit)"
        }
    }
}
