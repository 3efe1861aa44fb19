import Common
import Foundation
import TestSupport
import Testing

@testable import SMTPMock

/// The inbox's reader of received messages: headers unfolded and decoded, the text and HTML
/// parts found and decoded, and nothing it is given makes it fail.
@Suite struct MIMEParserTests {
    static func parse(_ lines: [String]) -> ParsedMessage {
        MIMEParser.parse(Array(lines.joined(separator: "\r\n").utf8))
    }

    /// A message as the mailer renders it (`MIMEMessage.rendered`, which this target cannot
    /// import): encoded-word subject folded over two lines, quoted-printable parts with soft breaks.
    static let mailerMessage = [
        "From: \"Registrar\" <no-reply@registrar.local>",
        "To: anna@example.com",
        "Subject: =?UTF-8?B?VsOpcmlmaWV6IHZvdHJlIGFkcmVzc2Ugw6lsZWN0cm9uaXF1ZSBwb3VyIGFj?=",
        " =?UTF-8?B?dGl2ZXIgdm90cmUgY29tcHRlIFJlZ2lzdHJhcg==?=",
        "Date: Fri, 27 Nov 2026 16:20:50 +0000",
        "Message-ID: <3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c@registrar.local>",
        "Content-Language: fr",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative; boundary=\"=_registrar_5ab3c0ff1e\"",
        "",
        "This is a multi-part message in MIME format.",
        "--=_registrar_5ab3c0ff1e",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Votre code est 0427",
        "",
        "Saisissez-le pour activer votre compte. Il ne sert qu=E2=80=99une fois et e=",
        "xpire au bout d=E2=80=99une minute.",
        "Si vous n=E2=80=99avez pas cr=C3=A9=C3=A9 de compte, ignorez ce message : r=",
        "ien ne se passe sans le code.",
        "",
        "--=_registrar_5ab3c0ff1e",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "<!doctype html>",
        "<html lang=3D\"fr\">",
        "<body style=3D\"font-family: sans-serif\">",
        "<p>Votre code est <strong style=3D\"font-size: 1.5em; letter-spacing: 0.2em\"=",
        ">0427</strong></p>",
        "</body>",
        "</html>",
        "",
        "--=_registrar_5ab3c0ff1e--",
        "",
    ]

    @Test func aMessageFromTheMailerReadsBack() throws {
        let message = Self.parse(Self.mailerMessage)
        #expect(message.header("Subject") == "Vérifiez votre adresse électronique pour activer votre compte Registrar")
        #expect(message.header("subject") == message.header("SUBJECT"), "names are case-insensitive")
        #expect(message.header("From") == "\"Registrar\" <no-reply@registrar.local>")
        #expect(message.header("Content-Language") == "fr")
        #expect(message.messageID == "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c@registrar.local")
        #expect(message.headers.map { $0[0] } == ["From", "To", "Subject", "Date", "Message-ID", "Content-Language", "MIME-Version", "Content-Type"])
        #expect(
            message.text
                == "Votre code est 0427\r\n\r\nSaisissez-le pour activer votre compte. Il ne sert qu’une fois et expire au bout d’une minute.\r\n"
                + "Si vous n’avez pas créé de compte, ignorez ce message : rien ne se passe sans le code.\r\n"
        )
        let html = try #require(message.html)
        #expect(html.hasPrefix("<!doctype html>\r\n<html lang=\"fr\">\r\n"))
        #expect(html.contains("<strong style=\"font-size: 1.5em; letter-spacing: 0.2em\">0427</strong>"))
        #expect(html.hasSuffix("</html>\r\n"))
    }

    @Test func lfLineEndsReadTheSame() {
        let crlf = Self.parse(Self.mailerMessage)
        let lf = MIMEParser.parse(Array(Self.mailerMessage.joined(separator: "\n").utf8))
        #expect(lf.headers == crlf.headers)
        #expect(lf.text?.replacingOccurrences(of: "\n", with: "\r\n") == crlf.text)
    }

    // MARK: - Headers

    @Test func foldedHeadersAreUnfolded() {
        let message = Self.parse(["Subject: first", " second", "\tthird  ", "X-Empty:", "Not a header line", "To:  a@example.com  ", "", "body"])
        #expect(message.header("Subject") == "first second third")
        #expect(message.header("X-Empty") == "")
        #expect(message.header("To") == "a@example.com")
        #expect(message.headers.count == 3)
    }

    @Test(arguments: [
        ("=?UTF-8?B?w6l0w6k=?=", "été"),
        ("=?utf-8?b?w6l0w6k=?=", "été"),
        ("=?UTF-8?Q?=C3=A9t=C3=A9?=", "été"),
        ("=?iso-8859-1?Q?caf=E9_cr=E8me?=", "café crème"),
        ("=?ISO-8859-1?B?Y2Fm6Q==?=", "café"),
        ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),
        ("=?UTF-8?B?w6k=?=   \t =?UTF-8?Q?=C3=A9?=", "éé"),
        ("=?UTF-8?B?w6k=?= plain =?UTF-8?B?w6k=?=", "é plain é"),
        ("Re: =?UTF-8?B?w6k=?= !", "Re: é !"),
        ("a_b =?UTF-8?Q?a_b?=", "a_b a b"),
        ("=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="),
        ("=?UTF-8?B?***?=", "=?UTF-8?B?***?="),
        ("50% =? off", "50% =? off"),
        ("=?UTF-8?B?w6k=", "=?UTF-8?B?w6k="),
        ("=?", "=?"),
        ("=?UTF-8?B?w6k=?==?UTF-8?B?w6k=?=", "éé"),
        ("=?bad =?UTF-8?B?w6k=?=", "=?bad é"),
    ])
    func encodedWordsAreDecoded(raw: String, decoded: String) {
        #expect(MIMEParser.decodeEncodedWords(raw) == decoded)
    }

    @Test func aFoldedEncodedSubjectIsJoinedWithoutTheFold() {
        let message = Self.parse(["Subject: =?UTF-8?B?w6k=?=", " =?UTF-8?B?w6k=?=", " and more", "", ""])
        #expect(message.header("Subject") == "éé and more")
    }

    @Test(
        arguments: [
            ("<abc@example.com>", "abc@example.com"), ("  <abc@example.com>  ", "abc@example.com"), ("abc@example.com", "abc@example.com"),
            ("<>", nil), ("", nil), ("<\(String(repeating: "a", count: 251))>", nil),
            ("<\(String(repeating: "a", count: 250))>", String(repeating: "a", count: 250)),
        ] as [(String, String?)]
    )
    func messageIDs(header: String, id: String?) {
        #expect(Self.parse(["Message-ID: \(header)", "", ""]).messageID == id)
    }

    @Test func noMessageIDIsNil() {
        #expect(Self.parse(["Subject: x", "", "body"]).messageID == nil)
    }

    // MARK: - Bodies

    @Test func aPlainMessageWithoutContentTypeIsText() {
        let message = Self.parse(["Subject: x", "", "line one", "line two"])
        #expect(message.text == "line one\r\nline two")
        #expect(message.html == nil)
    }

    @Test func aMessageWithoutABodyHasEmptyText() {
        let message = Self.parse(["Subject: x", "To: a@example.com"])
        #expect(message.header("To") == "a@example.com")
        #expect(message.text == "")
    }

    @Test func base64AndLatin1BodiesAreDecoded() {
        let latin1 = Data([0x63, 0x61, 0x66, 0xE9]).base64EncodedString()  // "café" in ISO-8859-1
        let message = Self.parse([
            "Content-Type: multipart/alternative; boundary=b1", "", "--b1", "Content-Type: text/plain; charset=\"ISO-8859-1\"",
            "Content-Transfer-Encoding: BASE64", "", String(latin1.prefix(4)), String(latin1.dropFirst(4)), "--b1",
            "Content-Type: text/html; charset=windows-1252", "Content-Transfer-Encoding: quoted-printable", "", "<p>caf=E9</p>", "--b1--",
        ])
        #expect(message.text == "café")
        #expect(message.html == "<p>café</p>")
    }

    @Test func invalidBase64IsKeptAsIs() {
        let message = Self.parse(["Content-Type: text/plain", "Content-Transfer-Encoding: base64", "", "not base64 !"])
        #expect(message.text == "not base64 !")
    }

    @Test func nestedMultipartsAreSearchedAndTheFirstTextWins() {
        let message = Self.parse([
            "Content-Type: multipart/mixed; boundary=\"outer\"", "", "preamble", "--outer",
            "Content-Type: multipart/alternative; boundary=\"inner\"", "", "--inner", "Content-Type: text/plain", "", "first text", "--inner",
            "Content-Type: text/html", "", "<b>first html</b>", "--inner--", "--outer", "Content-Type: application/pdf",
            "Content-Transfer-Encoding: base64", "", "JVBERi0=", "--outer", "Content-Type: text/plain", "", "second text", "--outer--",
            "epilogue",
        ])
        #expect(message.text == "first text")
        #expect(message.html == "<b>first html</b>")
    }

    @Test func multipartsNestedTooDeepAreNotFollowed() {
        func nested(_ depth: Int) -> [String] {
            var lines = ["Content-Type: text/plain", "", "deep"]
            for level in 0..<depth {
                lines = ["Content-Type: multipart/mixed; boundary=\"b\(level)\"", "", "--b\(level)"] + lines + ["--b\(level)--"]
            }
            return lines
        }
        #expect(Self.parse(nested(MIMEParser.maximumDepth)).text == "deep")
        #expect(Self.parse(nested(MIMEParser.maximumDepth + 1)).text == nil)
    }

    @Test func aMultipartWithoutBoundaryOrClosingDelimiterIsReadAsFarAsPossible() {
        #expect(Self.parse(["Content-Type: multipart/alternative", "", "--x", "", "text"]).text == nil)
        #expect(Self.parse(["Content-Type: multipart/alternative; boundary=\"\"", "", "--", "", "text"]).text == nil)
        // No closing delimiter: the parts before the last delimiter are read.
        #expect(Self.parse(["Content-Type: multipart/alternative; boundary=x", "", "--x", "", "text", "--x", "", "cut"]).text == "text")
    }

    @Test func contentTypeParameters() {
        let (type, parameters) = MIMEParser.contentType("Multipart/Alternative; boundary=\"=_a b\"; CHARSET=UTF-8; broken; q=\"")
        #expect(type == "multipart/alternative")
        #expect(parameters == ["boundary": "=_a b", "charset": "UTF-8", "q": "\""])
    }

    @Test(arguments: [
        ("caf=C3=A9", "café"), ("soft=\r\nbreak", "softbreak"), ("soft=\nbreak", "softbreak"), ("a=3Db", "a=b"), ("lower=3d", "lower="),
        ("trailing=", "trailing="), ("bad=ZZescape", "bad=ZZescape"), ("=", "="), ("=\r", ""), ("=4", "=4"),
    ])
    func quotedPrintableDecoding(encoded: String, decoded: String) {
        #expect(String(decoding: MIMEParser.decodeQuotedPrintable(Array(encoded.utf8)[...]), as: UTF8.self) == decoded)
    }

    // MARK: - Garbage

    @Test func garbageNeverMakesItFail() {
        let texts: [String] = [
            "\r\n", "\n", "\r", "\r\n\r\n", ": ", "=", "=?", "?=", "?", "=?UTF-8?B?", "=?UTF-8?Q?", "=?x?B?w6k=?=", "--b", "--b--", " ", "\t",
            "Content-Type: multipart/mixed; boundary=b", "Content-Type: multipart/alternative; boundary=\"b\"",
            "Content-Type: text/plain; charset=latin1",
            "Content-Type: text/html", "Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: quoted-printable", "Message-ID: <", ">",
            "Subject:", "=\r\n", "=C3", "=A9", "w6k=", "\u{0}", "é", ";", "\"",
        ]
        let fragments = texts.map { Array($0.utf8) }
        var random = SplitMix64(state: 0x6A5B_A6E0)
        var parsed = 0
        for _ in 0..<3000 {
            var raw: [UInt8] = []
            for _ in 0..<Int.random(in: 0..<60, using: &random) {
                if Bool.random(using: &random) {
                    raw += fragments.randomElement(using: &random)!
                } else {
                    raw += (0..<Int.random(in: 1..<8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                }
            }
            let message = MIMEParser.parse(raw)
            #expect(message.headers.allSatisfy { $0.count == 2 })
            if let id = message.messageID { #expect(!id.isEmpty && id.utf8.count <= 250) }
            parsed += 1
        }
        #expect(parsed == 3000)
        // And the edge cases one by one.
        for raw in ["", "\r\n", "\n\n", ":", "=", "=?", "--", "a: =?UTF-8?B?=?=", "Content-Type: multipart/x; boundary=a\r\n\r\n--a\r\n--a\r\n--a--"]
        {
            _ = MIMEParser.parse(Array(raw.utf8))
        }
        _ = MIMEParser.parse([UInt8](repeating: UInt8(ascii: "="), count: 10000))
        _ = MIMEParser.parse([UInt8](repeating: 10, count: 10000))
    }

    @Test func aLongerBoundaryIsNotTakenForAShorterOne() {
        let parsed = Self.parse([
            "Content-Type: multipart/alternative; boundary=b1", "", "--b1", "Content-Type: text/plain", "", "real", "--b10",
            "Content-Type: text/html", "", "fake", "--b1--", "",
        ])
        #expect(parsed.text == "real\r\n--b10\r\nContent-Type: text/html\r\n\r\nfake")
        #expect(parsed.html == nil)
    }
}
