/// Errors of the face engine. The API maps them to status codes in one place.
public enum FaceEngineError: Error, Equatable, CustomStringConvertible {
    case modelsInvalid(String)
    case modelLoadFailed(String)
    case engineFailure(String)
    case overloaded(queueLimit: Int)

    public var description: String {
        switch self {
        case .modelsInvalid(let detail): "face models are not usable: \(detail)"
        case .modelLoadFailed(let detail): "a face model could not be loaded: \(detail)"
        case .engineFailure(let detail): "the face engine failed: \(detail)"
        case .overloaded(let limit): "the face engine queue is full (\(limit) waiting)"
        }
    }
}
