import Common

/// Checks an email and password: the one place users-api verifies a password (login through the
/// internal API, activation, resend).
///
/// Every check first reserves an attempt with the ``CredentialGuard`` (429 before the account is
/// looked up and before bcrypt), then runs exactly one bcrypt, with one answer (401
/// `invalid_credentials`) and the same time for an unknown email, a wrong password or an
/// unverifiable one.
struct Authenticator: Sendable {
    let users: UserStore
    let hasher: PasswordHasher
    let guardrail: CredentialGuard

    /// The account, once `password` is proven for `rawEmail` from `client`.
    func authenticate(email rawEmail: String, password: String, client: String) async throws -> User {
        try await self.authenticate(email: rawEmail, password: password, client: client) { user in (user.passwordHash, ()) }.user
    }

    /// The account, once `password` is proven against the hash `target` picks for it (the stored
    /// password, or the one a pending re-registration's code carries), with what `target` found.
    func authenticate<Found: Sendable>(
        email rawEmail: String,
        password: String,
        client: String,
        target: @Sendable (User) async throws -> (hash: String, found: Found)
    ) async throws -> (user: User, found: Found) {
        let email = EmailAddress.normalize(rawEmail)
        let attempt = try await self.guardrail.reserve(email: email, client: client)
        let verified: Bool
        let user: User?
        var chosen: (hash: String, found: Found)?
        do {
            user = EmailAddress.problem(email) == nil ? try await self.users.find(email: email) : nil
            if let user { chosen = try await target(user) }
            let hash = PasswordPolicy.isVerifiable(password) ? chosen?.hash : nil
            verified = try await self.hasher.verify(password, against: hash)
        } catch {
            // No password was checked (overloaded, Postgres or Redis down): nothing is charged.
            await self.guardrail.release(attempt)
            throw error
        }
        guard verified, let user, let chosen else { throw ProblemDetails.invalidCredentials }
        try await self.guardrail.succeeded(attempt)
        return (user, chosen.found)
    }
}
