import Common
import CommonPostgres
import Testing

@Suite struct SQLScriptTests {
    @Test func splitsAtTopLevelSemicolonsOnly() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'semi;colon', "we;ird" int);
            /* block; /* nested; */ still comment; */
            CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;
            DO $body$ BEGIN PERFORM 1; END $body$;
            SELECT 'it''s; fine'
            """
        let statements = SQLScript.statements(sql)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("CREATE TABLE a (x text DEFAULT 'semi;colon', \"we;ird\" int)"))
        #expect(statements[1].contains("$$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql"))
        #expect(statements[2] == "DO $body$ BEGIN PERFORM 1; END $body$")
        #expect(statements[3] == "SELECT 'it''s; fine'")
    }

    @Test func commentOnlyAndEmptyStatementsAreDropped() {
        #expect(SQLScript.statements("-- nothing\n;;\n  ").isEmpty)
        #expect(SQLScript.statements("SELECT $1::int;") == ["SELECT $1::int"])
    }
}
