import Common
import Foundation

/// The mail templates: for each message (named by its outbox topic without the `user.` prefix,
/// `verification_code` …) and each language, a subject, a text and an HTML body, read from files
/// `<language>/<name>.subject`, `.txt` and `.html`. The built-in set ships with the mailer;
/// `MAIL_TEMPLATES_DIR` adds languages and replaces messages file set by file set.
///
/// `{{name}}` is replaced by the row's value of that name (HTML-escaped in `.html`); a template
/// that names a value the row lacks fails the row rather than sending a broken mail.
struct MailTemplates: Sendable {
    struct Template: Sendable, Equatable {
        var subject: String
        var text: String
        var html: String
    }

    /// A message rendered in one language.
    struct Rendered: Sendable, Equatable {
        var language: String
        var subject: String
        var text: String
        var html: String
    }

    /// A template names a value the row does not have.
    struct MissingValue: Error, CustomStringConvertible {
        var template: String
        var name: String
        var description: String { "template \(self.template) needs the value \(self.name)" }
    }

    /// The language used when none of the reader's is available.
    static let defaultLanguage = "en"

    /// name → language → template.
    private(set) var templates: [String: [String: Template]] = [:]

    /// Loads `directories` in order; a later one replaces what an earlier one defines.
    init(directories: [String]) throws {
        for directory in directories {
            try self.load(directory)
        }
        for (name, languages) in self.templates where languages[Self.defaultLanguage] == nil {
            throw ConfigurationError(key: "MAIL_TEMPLATES_DIR", expected: "an English (en) version of every template", found: name)
        }
    }

    /// The built-in templates' directory (a resource of this module).
    static var builtInDirectory: String? { Bundle.module.url(forResource: "Templates", withExtension: nil)?.path }

    /// Renders `name` in the best language for `preference`; nil when there is no such template.
    func render(_ name: String, preference: LanguagePreference, values: [String: String]) throws -> Rendered? {
        guard let languages = self.templates[name] else { return nil }
        let language = preference.best(of: Set(languages.keys), fallback: Self.defaultLanguage)
        guard let template = languages[language] else { return nil }
        let subject = try Self.substitute(template.subject, values: values, template: name, escape: false)
        return Rendered(
            language: language,
            subject: subject.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingWhitespace().description,
            text: try Self.substitute(template.text, values: values, template: name, escape: false),
            html: try Self.substitute(template.html, values: values, template: name, escape: true)
        )
    }

    private mutating func load(_ directory: String) throws {
        let files = FileManager.default
        guard let languages = try? files.contentsOfDirectory(atPath: directory) else {
            throw ConfigurationError(
                key: "MAIL_TEMPLATES_DIR",
                expected: "a readable directory of <language>/<name>.{subject,txt,html}",
                found: directory
            )
        }
        for folderName in languages.sorted() where LanguagePreference.isValidTag(folderName.lowercased()) {
            let language = folderName.lowercased()  // `pt-BR/` holds the `pt-br` templates
            let folder = directory + "/" + folderName
            let names = Set(
                ((try? files.contentsOfDirectory(atPath: folder)) ?? []).compactMap { file -> String? in
                    guard let dot = file.lastIndex(of: "."), ["subject", "txt", "html"].contains(file[file.index(after: dot)...]) else { return nil }
                    return String(file[..<dot])
                }
            )
            for name in names.sorted() {
                func read(_ suffix: String) throws -> String {
                    let path = "\(folder)/\(name).\(suffix)"
                    guard let data = files.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                        throw ConfigurationError(
                            key: "MAIL_TEMPLATES_DIR",
                            expected: "\(name).subject, .txt and .html together, in UTF-8",
                            found: path
                        )
                    }
                    return text
                }
                self.templates[name, default: [:]][language] = Template(subject: try read("subject"), text: try read("txt"), html: try read("html"))
            }
        }
    }

    /// Replaces each `{{name}}`.
    static func substitute(_ template: String, values: [String: String], template name: String, escape: Bool) throws -> String {
        var output = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let key = String(rest[open.upperBound..<close.lowerBound].trimmingWhitespace())
            guard let value = values[key] else { throw MissingValue(template: name, name: key) }
            output += escape ? Self.escapeHTML(value) : value
            rest = rest[close.upperBound...]
        }
        return output + rest
    }

    static func escapeHTML(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
