import ImageDecoding

extension RGBImage {
    /// The photo around a face, kept so that any face model can find and embed the face again without the member's
    /// photo (`facegate faces reembed`): the box grown by `margin` × its longer side on every side, clipped to the
    /// photo, downscaled so that its longer side is at most `maxSide` (a 320 px crop holds a face of about 160 px,
    /// twice what either detector needs).
    public func faceCrop(around box: FaceBox, margin: Double = 0.5, maxSide: Int = 320) -> RGBImage {
        let grow = Int((Double(max(box.width, box.height)) * margin).rounded())
        let left = min(max(0, box.x - grow), width - 1), top = min(max(0, box.y - grow), height - 1)
        let right = min(width, box.x + box.width + grow), bottom = min(height, box.y + box.height + grow)
        let cropWidth = max(1, right - left), cropHeight = max(1, bottom - top)
        var cropped = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        for row in 0..<cropHeight {
            let source = ((top + row) * width + left) * 3
            cropped.replaceSubrange(
                (row * cropWidth * 3)..<((row + 1) * cropWidth * 3),
                with: pixels[source..<(source + cropWidth * 3)])
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: cropped).downscaled(toFit: maxSide)
    }
}

extension FaceBox {
    /// Where this box (of the photo a crop was cut from by `faceCrop(around:margin:)`) lies in that crop. The photo's
    /// size is not kept, so a crop clipped at its right or bottom edge is told by its aspect: the scale is the larger
    /// of the two a crop unclipped on that side would have.
    public func inCrop(_ crop: RGBImage, margin: Double = 0.5) -> FaceBox {
        let grow = Int((Double(max(width, height)) * margin).rounded())
        let left = max(0, x - grow), top = max(0, y - grow)
        let fullWidth = Double(x + width + grow - left), fullHeight = Double(y + height + grow - top)
        let scale = min(1, max(Double(crop.width) / fullWidth, Double(crop.height) / fullHeight))
        return FaceBox(
            x: Int((Double(x - left) * scale).rounded()), y: Int((Double(y - top) * scale).rounded()),
            width: max(1, Int((Double(width) * scale).rounded())),
            height: max(1, Int((Double(height) * scale).rounded())))
    }

    /// Intersection over union with another box (0 when they do not overlap).
    public func overlap(with other: FaceBox) -> Double {
        let w = min(x + width, other.x + other.width) - max(x, other.x)
        let h = min(y + height, other.y + other.height) - max(y, other.y)
        guard w > 0, h > 0 else { return 0 }
        let shared = Double(w * h)
        return shared / (Double(area + other.area) - shared)
    }
}
