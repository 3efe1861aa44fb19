import Common

/// Checks an email and password against `users`: one answer (401 `invalid_credentials`) and the
/// same bcrypt time for an unknown email, a wrong password or an unverifiable one.
struct Authenticator: Sendable {
    let users: UserStore
    let hasher: PasswordHasher

    func authenticate(email rawEmail: String, password: String) async throws -> User {
        let email = EmailAddress.normalize(rawEmail)
        let user = EmailAddress.problem(email) == nil ? try await self.users.find(email: email) : nil
        let hash = PasswordPolicy.isVerifiable(password) ? user?.passwordHash : nil
        guard try await self.hasher.verify(password, against: hash), let user else { throw ProblemDetails.invalidCredentials }
        return user
    }
}
