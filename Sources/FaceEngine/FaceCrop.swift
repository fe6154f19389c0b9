import ImageDecoding

extension RGBImage {
    /// The photo around a face, kept so that any face model can find and embed the face again without the member's
    /// photo (`facegate faces reembed`): the box grown by `margin` × its longer side on every side, clipped to the
    /// photo, downscaled so that its longer side is at most `maxSide` (a 320 px crop holds a face of about 160 px,
    /// twice what either detector needs).
    public func faceCrop(around box: FaceBox, margin: Double = 0.5, maxSide: Int = 320) -> RGBImage {
        let grow = Int((Double(max(box.width, box.height)) * margin).rounded())
        let left = max(0, box.x - grow), top = max(0, box.y - grow)
        let right = min(width, box.x + box.width + grow), bottom = min(height, box.y + box.height + grow)
        let cropWidth = max(1, right - left), cropHeight = max(1, bottom - top)
        var cropped = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        for row in 0..<cropHeight {
            let source = ((top + row) * width + left) * 3
            cropped.replaceSubrange((row * cropWidth * 3)..<((row + 1) * cropWidth * 3),
                                    with: pixels[source..<(source + cropWidth * 3)])
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: cropped).downscaled(toFit: maxSide)
    }
}
