import Common
import Foundation
import Testing

@testable import Mailer

/// The mail templates: the built-in English and French set, `{{name}}` values (HTML-escaped in
/// HTML only), and a `MAIL_TEMPLATES_DIR` that adds languages or replaces messages.
@Suite struct MailTemplatesTests {
    static func builtIn() throws -> MailTemplates {
        try MailTemplates(directories: [try #require(MailTemplates.builtInDirectory)])
    }

    /// A fresh directory with `files` (relative path → content); removed by the caller.
    static func directory(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)").path
        for (path, content) in files {
            let file = URL(fileURLWithPath: root + "/" + path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: file, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    static func set(_ language: String, _ name: String, subject: String, text: String, html: String) -> [String: String] {
        ["\(language)/\(name).subject": subject, "\(language)/\(name).txt": text, "\(language)/\(name).html": html]
    }

    @Test func theBuiltInSetHasEveryMessageInEnglishAndFrench() throws {
        let templates = try Self.builtIn()
        // One template for every topic users-api writes (the topic without its `user.` prefix).
        #expect(Set(templates.templates.keys) == Set(OutboxTopic.all.map { String($0.dropFirst("user.".count)) }))
        #expect(templates.templates.count == 7)
        for (name, languages) in templates.templates {
            #expect(Set(languages.keys) == ["en", "fr"], "\(name)")
            for (language, template) in languages {
                #expect(!template.subject.isEmpty && !template.text.isEmpty && !template.html.isEmpty, "\(language)/\(name)")
                #expect(template.html.contains("<html"), "\(language)/\(name)")
            }
        }
    }

    @Test func theVerificationCodeIsRenderedInEnglish() throws {
        let rendered = try #require(
            try Self.builtIn().render("verification_code", preference: LanguagePreference(acceptLanguage: "en-US"), values: ["code": "0427"])
        )
        #expect(rendered.language == "en")
        #expect(rendered.subject == "Your verification code")
        #expect(rendered.text.hasPrefix("Your code is 0427\n"))
        #expect(rendered.html.contains(">0427</strong>"))
        #expect(!rendered.text.contains("{{") && !rendered.html.contains("{{"))
    }

    @Test(arguments: ["fr-ca,fr", "fr", "fr-be", "de,fr"])
    func aFrenchReaderGetsFrench(stored: String) throws {
        let rendered = try #require(
            try Self.builtIn().render("verification_code", preference: LanguagePreference(stored: stored), values: ["code": "9"])
        )
        #expect(rendered.language == "fr")
        #expect(rendered.subject == "Votre code de vérification")
        #expect(rendered.text.hasPrefix("Votre code est 9\n"))
    }

    @Test(arguments: [nil, "", "de", "ja,zh-tw", "*"] as [String?])
    func anyOtherReaderGetsEnglish(stored: String?) throws {
        let rendered = try #require(try Self.builtIn().render("already_registered", preference: LanguagePreference(stored: stored), values: [:]))
        #expect(rendered.language == "en")
        #expect(rendered.subject == "Your account already exists")
    }

    @Test func valuesAreHTMLEscapedInHTMLOnly() throws {
        let hostile = "<script>alert('x')</script> & \"q\""
        let rendered = try #require(
            try Self.builtIn().render("verification_code", preference: LanguagePreference(stored: "en"), values: ["code": hostile])
        )
        #expect(rendered.text.contains(hostile))
        #expect(!rendered.html.contains("<script>"))
        #expect(rendered.html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"))
        #expect(MailTemplates.escapeHTML("a<b>&\"'é") == "a&lt;b&gt;&amp;&quot;&#39;é")
    }

    @Test func aMissingValueFailsTheRender() throws {
        #expect(throws: MailTemplates.MissingValue.self) {
            try Self.builtIn().render("verification_code", preference: LanguagePreference(stored: "fr"), values: ["email": "a@example.com"])
        }
        do {
            _ = try MailTemplates.substitute("Hi {{ name }}", values: [:], template: "t", escape: false)
            Issue.record("no error")
        } catch let error as MailTemplates.MissingValue {
            #expect(error.template == "t")
            #expect(error.name == "name")
        }
    }

    @Test func anUnknownTemplateIsNil() throws {
        #expect(try Self.builtIn().render("password_reset", preference: LanguagePreference(stored: "fr"), values: [:]) == nil)
    }

    @Test(arguments: [
        ("{{code}}", "42"),
        ("{{ code }} and {{code}}", "42 and 42"),
        ("{{code", "{{code"),
        ("a {{code}} {{b", "a 42 {{b"),
        ("}} {{code}} }}", "}} 42 }}"),
        ("{{value}}", "{{code}}"),
        ("no placeholders", "no placeholders"),
        ("", ""),
    ])
    func substitution(template: String, expected: String) throws {
        #expect(try MailTemplates.substitute(template, values: ["code": "42", "value": "{{code}}"], template: "t", escape: false) == expected)
    }

    @Test func aSubjectIsOneLine() throws {
        let directory = try Self.directory(
            Self.set("en", "note", subject: "  Hello\n{{name}}\r\n\n", text: "t", html: "h")
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let templates = try MailTemplates(directories: [directory])
        let rendered = try #require(try templates.render("note", preference: LanguagePreference(stored: nil), values: ["name": "Ann"]))
        #expect(rendered.subject == "Hello Ann")
    }

    @Test func anOverrideDirectoryAddsALanguageAndReplacesAMessage() throws {
        let directory = try Self.directory(
            Self.set("de", "verification_code", subject: "Ihr Bestätigungscode", text: "Ihr Code ist {{code}}", html: "<p>{{code}}</p>")
                .merging(Self.set("en", "verification_code", subject: "Your code", text: "Code: {{code}}", html: "<b>{{code}}</b>")) { a, _ in a }
                .merging(["README.md": "not a language", "de/notes.md": "ignored", "x_y/verification_code.subject": "bad folder"]) { a, _ in a }
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let templates = try MailTemplates(directories: [try #require(MailTemplates.builtInDirectory), directory])
        #expect(Set(templates.templates["verification_code"].map { Array($0.keys) } ?? []) == ["en", "fr", "de"])
        let german = try #require(try templates.render("verification_code", preference: LanguagePreference(stored: "de-at"), values: ["code": "7"]))
        #expect(german == MailTemplates.Rendered(language: "de", subject: "Ihr Bestätigungscode", text: "Ihr Code ist 7", html: "<p>7</p>"))
        let english = try #require(try templates.render("verification_code", preference: LanguagePreference(stored: "it"), values: ["code": "7"]))
        #expect(english.text == "Code: 7", "replaced")
        let french = try #require(try templates.render("verification_code", preference: LanguagePreference(stored: "fr"), values: ["code": "7"]))
        #expect(french.subject == "Votre code de vérification", "kept")
        // Messages the override does not touch stay as built in.
        #expect(templates.templates["already_registered"] == (try Self.builtIn()).templates["already_registered"])
    }

    @Test func anUpperCaseLanguageFolderIsRead() throws {
        let directory = try Self.directory(
            Self.set("pt-BR", "verification_code", subject: "Seu código", text: "Código {{code}}", html: "<p>{{code}}</p>")
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let templates = try MailTemplates(directories: [try #require(MailTemplates.builtInDirectory), directory])
        let rendered = try #require(try templates.render("verification_code", preference: LanguagePreference(stored: "pt-br"), values: ["code": "7"]))
        #expect(rendered.language == "pt-br")
        #expect(rendered.text == "Código 7")
    }

    @Test func aMessageWithoutEnglishIsAConfigurationError() throws {
        let directory = try Self.directory(Self.set("de", "newsletter", subject: "s", text: "t", html: "h"))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let builtIn = try #require(MailTemplates.builtInDirectory)
        do {
            _ = try MailTemplates(directories: [builtIn, directory])
            Issue.record("loaded a message without English")
        } catch let error as ConfigurationError {
            #expect(error.found == "newsletter")
        }
        // A language added to a message that has English elsewhere is fine.
        let german = try Self.directory(Self.set("de", "verification_code", subject: "s", text: "t", html: "h"))
        defer { try? FileManager.default.removeItem(atPath: german) }
        #expect(try MailTemplates(directories: [builtIn, german]).templates["verification_code"]?["de"] != nil)
    }

    @Test func anIncompleteSetIsAConfigurationError() throws {
        let directory = try Self.directory(["en/verification_code.subject": "Subject", "en/verification_code.txt": "Text"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try MailTemplates(directories: [directory])
            Issue.record("loaded without the .html")
        } catch let error as ConfigurationError {
            #expect(error.key == "MAIL_TEMPLATES_DIR")
            #expect(error.found?.hasSuffix("en/verification_code.html") == true)
        }
    }

    @Test func aTemplateThatIsNotUTF8IsAConfigurationError() throws {
        let directory = try Self.directory(Self.set("en", "note", subject: "s", text: "t", html: "h"))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data([0x66, 0xFF, 0xFE, 0x6F]).write(to: URL(fileURLWithPath: directory + "/en/note.txt"))
        #expect(throws: ConfigurationError.self) { try MailTemplates(directories: [directory]) }
    }

    @Test func aMissingDirectoryIsAConfigurationError() {
        #expect(throws: ConfigurationError.self) { try MailTemplates(directories: ["/nonexistent/templates-\(UUID().uuidString)"]) }
    }
}

/// Outbox rows into messages: the template in the reader's language, the Message-ID from the
/// idempotency key, the seed's subject and body for rows without template values.
@Suite struct MailComposerTests {
    static let key = UUID(uuidString: "3F2A1B0C-9D8E-4F7A-8B6C-5D4E3F2A1B0C")!

    func composer() throws -> MailComposer {
        MailComposer(
            from: try #require(MailAddress("Registrar <no-reply@registrar.local>")),
            templates: try MailTemplatesTests.builtIn()
        )
    }

    func row(topic: String = OutboxTopic.verificationCode, data: [String: String]?, language: String?) -> OutboxRow {
        OutboxRow(
            id: 42,
            idempotencyKey: Self.key,
            topic: topic,
            payload: OutboxPayload(to: "anna@example.com", subject: "Your verification code", body: "Your code is 0427\nBye <3", data: data),
            createdAt: Date(timeIntervalSince1970: 1_795_600_000),
            expiresAt: nil,
            attempts: 1,
            language: language
        )
    }

    @Test func aFrenchReaderGetsTheFrenchTemplateWithTheKeyAsMessageID() throws {
        let mail = try self.composer().compose(
            self.row(data: ["code": "0427"], language: "fr-ca,fr"),
            now: Date(timeIntervalSince1970: 1_795_796_450)
        )
        #expect(mail.envelopeFrom == "no-reply@registrar.local")
        #expect(mail.recipients == ["anna@example.com"])
        #expect(mail.messageID == "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c@registrar.local")
        #expect(mail.raw.contains("\r\nMessage-ID: <3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c@registrar.local>\r\n"))
        #expect(mail.raw.contains("\r\nContent-Language: fr\r\n"))
        #expect(mail.raw.contains("\r\nDate: Fri, 27 Nov 2026 16:20:50 +0000\r\n"))
        #expect(mail.raw.contains("\r\nSubject: =?UTF-8?B?Vm90cmUgY29kZSBkZSB2w6lyaWZpY2F0aW9u?=\r\n"))
        #expect(mail.raw.contains("Votre code est 0427"))
        #expect(mail.streamEntry.subject == "Votre code de vérification")
        #expect(mail.streamEntry.body.hasPrefix("Votre code est 0427\n"))
        #expect(mail.streamEntry.idempotencyKey == "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c")
        #expect(mail.streamEntry.messageID == "42")
        #expect(mail.streamEntry.topic == OutboxTopic.verificationCode)
        #expect(mail.streamEntry.raw == mail.raw)
    }

    @Test func everyAttemptSendsTheSameMessageID() throws {
        let composer = try self.composer()
        let row = self.row(data: ["code": "0427"], language: nil)
        let first = try composer.compose(row, now: Date(timeIntervalSince1970: 1))
        let second = try composer.compose(row, now: Date(timeIntervalSince1970: 2))
        #expect(first.messageID == second.messageID)
        #expect(first.raw.contains("\r\nContent-Language: en\r\n"))
        #expect(first.raw.contains("\r\nSubject: Your verification code\r\n"))
    }

    @Test func aRowWithoutTemplateValuesIsSentAsItsOwnText() throws {
        let mail = try self.composer().compose(self.row(data: nil, language: "fr"))
        #expect(mail.streamEntry.subject == "Your verification code")
        #expect(mail.streamEntry.body == "Your code is 0427\nBye <3")
        #expect(mail.raw.contains("\r\nContent-Language: en\r\n"))
        #expect(mail.raw.contains("<p>Bye &lt;3</p>"))
    }

    @Test func aTopicWithoutTemplateIsSentAsItsOwnText() throws {
        let mail = try self.composer().compose(self.row(topic: "user.something_new", data: ["code": "1"], language: "fr"))
        #expect(mail.streamEntry.subject == "Your verification code")
        #expect(mail.streamEntry.body == "Your code is 0427\nBye <3")
    }

    @Test(arguments: ["a@b.c\r\nBcc: x@y.z", "a b@c.d", "<a@b.c>", "Anna <a@b.c>", "anna", "ä@b.c"])
    func aRecipientThatIsNotAPlainAddressIsRefused(to: String) throws {
        var row = self.row(data: ["code": "0427"], language: nil)
        row.payload.to = to
        #expect(throws: MailComposer.InvalidRecipient.self) { try self.composer().compose(row) }
    }

    @Test func aRowMissingATemplateValueFails() throws {
        #expect(throws: MailTemplates.MissingValue.self) { try self.composer().compose(self.row(data: ["other": "x"], language: "fr")) }
    }

    @Test func theRecipientIsAValueEveryTemplateMayUse() throws {
        let directory = try MailTemplatesTests.directory(
            MailTemplatesTests.set("en", "verification_code", subject: "For {{email}}", text: "{{code}} for {{email}}", html: "{{email}}")
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let composer = MailComposer(
            from: try #require(MailAddress("no-reply@registrar.local")),
            templates: try MailTemplates(directories: [directory])
        )
        let plain = try composer.compose(self.row(data: ["code": "5"], language: nil))
        #expect(plain.streamEntry.subject == "For anna@example.com")
        #expect(plain.streamEntry.body == "5 for anna@example.com")
    }
}
