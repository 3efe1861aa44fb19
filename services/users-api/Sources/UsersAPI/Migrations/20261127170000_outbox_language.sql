-- outbox_language
-- Applied once, in a transaction, by `make migrate`. Never edit after it has been applied.

-- The reader's language preferences from the registration's Accept-Language, most preferred
-- first (`fr-ca,fr,en`): the mailer picks the best language it has templates for. NULL: none.
ALTER TABLE outbox ADD COLUMN language text CHECK (char_length(language) <= 300);
