extension StringProtocol {
    /// The text without leading and trailing white space (Unicode `White_Space`: spaces, tabs,
    /// line breaks, no-break spaces …). Foundation's `trimmingCharacters(in:)` without Foundation.
    public func trimmingWhitespace() -> SubSequence {
        guard let first = self.firstIndex(where: { !$0.isWhitespace }), let last = self.lastIndex(where: { !$0.isWhitespace }) else {
            return self[self.endIndex...]
        }
        return self[first...last]
    }
}
