/// What a password must be: at least `minimumLength` characters, at most 72 bytes of UTF-8 and
/// no NUL (bcrypt reads 72 bytes and stops at NUL: anything beyond would be silently ignored).
/// Characters are Unicode code points, as JSON Schema's `minLength` counts them (the OpenAPI
/// document), not grapheme clusters: `e` + a combining accent is two.
struct PasswordPolicy: Sendable {
    static let maximumBytes = 72

    let minimumLength: Int

    /// Why `password` is not acceptable at registration, or nil.
    func problem(_ password: String) -> String? {
        if password.unicodeScalars.count < self.minimumLength { return "must be at least \(self.minimumLength) characters" }
        if password.utf8.count > Self.maximumBytes { return "must be at most \(Self.maximumBytes) bytes in UTF-8 (bcrypt ignores the rest)" }
        if password.utf8.contains(0) { return "must not contain NUL characters" }
        return nil
    }

    /// Whether bcrypt can check `password` exactly (used at login: a longer one can never match).
    static func isVerifiable(_ password: String) -> Bool {
        password.utf8.count <= Self.maximumBytes && !password.utf8.contains(0)
    }
}
