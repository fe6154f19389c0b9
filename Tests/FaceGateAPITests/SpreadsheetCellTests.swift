import Testing
import UseCases

/// The formula guard of the CSV files facegate writes (the exports and the import report), on its own.
@Suite("Spreadsheet cells") struct SpreadsheetCellTests {
    @Test(
        """
        a formula behind space or zero-width characters, or followed by a joiner or a combining mark, is escaped in the \
        exports and in the import report, and imports back as it was
        """)
    func formulasAreEscaped() {
        let formulas = [
            "=1+2", "=\u{200D}1+2", "=\u{301}HYPERLINK(\"http://evil.example\")", "\u{200B}=1+2",
            "\u{FEFF}@SUM(A1)", " =1+2", "\u{00A0}+1", "\u{2060}\u{200C}-1", "\u{3000}=A1", "\t1", "\r1",
        ]
        for text in formulas {
            let escaped = SpreadsheetCell.escaped(text)
            #expect(escaped == "'" + text, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
            #expect(SpreadsheetCell.unescaped(escaped) == text)
        }
        for text in ["Ada", "a=b", "", "'quoted", "O'Brien", "\u{200B}Ada", "é=1"] {
            #expect(SpreadsheetCell.escaped(text) == text)
            #expect(SpreadsheetCell.unescaped(text) == text)
        }
        // The import report quotes the imported file: its external ids, photo names and details are escaped too.
        let line = MemberImport.ReportLine(
            externalID: "=HYPERLINK(\"http://evil.example\",\"x\")", photo: "\u{200D}@x.jpg", outcome: .error,
            code: "photo_missing", detail: "-1")
        #expect(
            line.reportFields == [
                "'=HYPERLINK(\"http://evil.example\",\"x\")", "'\u{200D}@x.jpg", "error",
                "photo_missing", "'-1",
            ])
    }
}
