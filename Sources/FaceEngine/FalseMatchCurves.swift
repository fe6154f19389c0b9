/// The models' false-match curves: FAR(d), the share of impostor pairs (photos of two different people) within cosine
/// distance d, measured with
///
///     facegate eval impostors --model M --manifest ../shared/faces/manifest.csv --root ../shared/faces \
///         --skip-identity compreface/einstein --exclude-derived          (FACE_EMBED_FLIP=true|false)
///
/// on every labelled real photo of shared/faces (1,027 faces of 472 identities, about 525,000 impostor pairs: LFW
/// fold 1, deepface, CompreFace, face_recognition and dlib samples). Knots down to about 3e-5 are measured (at
/// least 10 pairs below); lower ones extend the last measured decade's log-linear slope, a heavier tail than a
/// normal fit, so that large galleries err towards turning people away. The even and odd halves of the identities
/// give tolerances within 0.01 of each other at the rates a 50–200 face gallery uses (README, "Accuracy").
/// Re-measure when a model file or its pre-processing changes.
enum FalseMatchCurves {
    // sface, flip on: 1027 faces of 472 identities, 525210 impostor pairs
    static let sfaceFlip = FalseMatchCurve(knots: [
        (0.31984, 1e-08),  // extrapolated
        (0.35125, 3.16e-08),  // extrapolated
        (0.38265, 1e-07),  // extrapolated
        (0.41406, 3.16e-07),  // extrapolated
        (0.44547, 1e-06),  // extrapolated
        (0.47687, 3.16e-06),  // extrapolated
        (0.50828, 1e-05),  // extrapolated
        (0.53969, 3.16e-05),
        (0.55898, 5.62e-05),
        (0.57249, 0.0001),
        (0.58588, 0.000178),
        (0.60250, 0.000316),
        (0.61858, 0.000562),
        (0.63551, 0.001),
        (0.65293, 0.00178),
        (0.66975, 0.00316),
        (0.68799, 0.00562),
        (0.70598, 0.01),
        (0.72642, 0.0178),
        (0.74783, 0.0316),
        (0.77204, 0.0562),
        (0.79921, 0.1),
        (0.83085, 0.178),
        (0.87064, 0.316),
        (0.91367, 0.5),
    ])
    // sface, flip off: 1027 faces of 472 identities, 525210 impostor pairs
    static let sface = FalseMatchCurve(knots: [
        (0.34732, 1e-08),  // extrapolated
        (0.37579, 3.16e-08),  // extrapolated
        (0.40426, 1e-07),  // extrapolated
        (0.43274, 3.16e-07),  // extrapolated
        (0.46121, 1e-06),  // extrapolated
        (0.48968, 3.16e-06),  // extrapolated
        (0.51816, 1e-05),  // extrapolated
        (0.54663, 3.16e-05),
        (0.56269, 5.62e-05),
        (0.57487, 0.0001),
        (0.58876, 0.000178),
        (0.60358, 0.000316),
        (0.62104, 0.000562),
        (0.63826, 0.001),
        (0.65499, 0.00178),
        (0.67201, 0.00316),
        (0.68922, 0.00562),
        (0.70754, 0.01),
        (0.72752, 0.0178),
        (0.74950, 0.0316),
        (0.77317, 0.0562),
        (0.80028, 0.1),
        (0.83220, 0.178),
        (0.87193, 0.316),
        (0.91501, 0.5),
    ])
    // dlib, flip on: 1025 faces of 472 identities, 523163 impostor pairs
    static let dlibFlip = FalseMatchCurve(knots: [
        (0.00690, 1e-08),  // extrapolated
        (0.01339, 3.16e-08),  // extrapolated
        (0.01988, 1e-07),  // extrapolated
        (0.02637, 3.16e-07),  // extrapolated
        (0.03287, 1e-06),  // extrapolated
        (0.03936, 3.16e-06),  // extrapolated
        (0.04585, 1e-05),  // extrapolated
        (0.05234, 3.16e-05),
        (0.05602, 5.62e-05),
        (0.05875, 0.0001),
        (0.06162, 0.000178),
        (0.06533, 0.000316),
        (0.06954, 0.000562),
        (0.07373, 0.001),
        (0.07804, 0.00178),
        (0.08227, 0.00316),
        (0.08690, 0.00562),
        (0.09193, 0.01),
        (0.09755, 0.0178),
        (0.10399, 0.0316),
        (0.11149, 0.0562),
        (0.12041, 0.1),
        (0.13151, 0.178),
        (0.14630, 0.316),
        (0.16322, 0.5),
    ])
    // dlib, flip off: 1025 faces of 472 identities, 523163 impostor pairs
    static let dlib = FalseMatchCurve(knots: [
        (0.00468, 1e-08),  // extrapolated
        (0.01175, 3.16e-08),  // extrapolated
        (0.01882, 1e-07),  // extrapolated
        (0.02589, 3.16e-07),  // extrapolated
        (0.03295, 1e-06),  // extrapolated
        (0.04002, 3.16e-06),  // extrapolated
        (0.04709, 1e-05),  // extrapolated
        (0.05416, 3.16e-05),
        (0.05677, 5.62e-05),
        (0.06065, 0.0001),
        (0.06396, 0.000178),
        (0.06829, 0.000316),
        (0.07209, 0.000562),
        (0.07630, 0.001),
        (0.08092, 0.00178),
        (0.08529, 0.00316),
        (0.09000, 0.00562),
        (0.09511, 0.01),
        (0.10090, 0.0178),
        (0.10735, 0.0316),
        (0.11499, 0.0562),
        (0.12397, 0.1),
        (0.13521, 0.178),
        (0.15004, 0.316),
        (0.16695, 0.5),
    ])
}
