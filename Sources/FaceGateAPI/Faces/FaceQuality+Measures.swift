import FaceEngine

extension FaceQuality {
    /// The measures stored with a face and shown by the API.
    var measures: [String: Double] {
        ["face_size": Double(faceSize), "sharpness": sharpness, "yaw": yaw, "roll": roll, "detection_score": detectionScore]
    }
}
