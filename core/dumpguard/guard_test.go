package dumpguard

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// guard runs the whole input through a Reader.
func guard(in string) (string, error) {
	out, err := io.ReadAll(NewReader(strings.NewReader(in)))
	return string(out), err
}

const head = "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"

func TestGuardPasses(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"pg_dump header", head + "SELECT pg_catalog.set_config('search_path', '', false);\n"},
		{"backslash in a string", `COMMENT ON TABLE t IS 'a \d+ \n path C:\dir\x';` + "\n"},
		{"doubled quotes", "SELECT 'it''s \\! not a command';\n"},
		{"E string escapes", `SELECT E'\'\\! x\' ; \\';` + "\n"},
		{"E string over lines", "SELECT E'one\\\n\\! still in the string';\n"},
		{"N and U& strings", "SELECT N'\\! a', U&'\\0041 \\!', U&\"\\! id\";\n"},
		{"bit and hex strings", "SELECT B'01\\', X'1F\\';\n"},
		{"double-quoted identifier", "CREATE TABLE \"a\\!\"\"b\" (\"\\o\" int);\n"},
		{"line comment", "SELECT 1; -- \\! id\n"},
		{"nested block comment", "/* a /* \\! */ \\o */ SELECT 1;\n"},
		{"block comment over lines", "/*\n\\! id\n*/\nSELECT 1;\n"},
		{"dollar quote", "CREATE FUNCTION f() RETURNS int AS $body$ \\! $x$ \\o $body$ LANGUAGE sql;\n"},
		{"empty dollar tag", "DO $$ BEGIN RAISE NOTICE '\\!'; END $$;\n"},
		{"dollar quote over lines", "DO $f$\n\\! id\n$f$;\n"},
		{"identifier with dollars is not a quote", "SELECT a$b$ FROM t;\n"},
		{"parameter", "PREPARE p AS SELECT $1;\n"},
		{"COPY data", head + "COPY public.t (id, name) FROM stdin;\n1\t\\\\! id\n2\t\\N\n\\N\tx\n\\.\nSELECT 1;\n"},
		{"COPY data with CRLF", "COPY public.t (id) FROM stdin;\r\n\\! id\r\n\\.\r\nSELECT 1;\r\n"},
		{"COPY without columns", "COPY public.t  FROM stdin;\n\\o x\n\\.\n"},
		{"COPY quoted names", "COPY \"Public\".\"T\" (\"from\", \"a b\") FROM stdin;\n\\g\n\\.\n"},
		{"COPY at the end without marker", "COPY public.t (id) FROM stdin;\n\\! x"},
		{"COPY to stdout", "COPY t TO stdout;\n"},
		{"typecast and assignment", "SELECT 1::int, a[1:2], f(x := 1) FROM t;\n"},
		{"lower-case psql variable syntax", "SELECT a[1:n], :'X', :\"Y\", :{?Z};\n"},
		{"string continuation", "SELECT 'a'\r'b';\n"},
		// psql 15.18 prints a' ! touch /tmp/m6 for this one: the \r makes
		// the second quote continue the E string, where \' is a quote.
		{"continued E string", "SELECT E'a'\r'\\' \\! touch m6 ';\n"},
		{"CRLF lines", "SELECT 1;\r\nSELECT 'a\\b';\r\n"},
		{"numbers", "SELECT 1.5e10, .5, 1e-3, 10, 1..2;\n"},
		{"operators", "SELECT a <-> b, a @> b, 1 */* c */ 2, x-1;\n"},
		{"begin atomic", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 1;\n"},
		{"set names utf8", "SET NAMES 'UTF8';\nSET client_encoding TO latin1;\nSET SESSION client_encoding = 'win1252';\n"},
		{"no newline at the end", "SELECT 1;"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := guard(tc.in)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if out != tc.in {
				t.Fatalf("output differs from input:\ngot  %q\nwant %q", out, tc.in)
			}
		})
	}
}

func TestGuardDropsRestrictLines(t *testing.T) {
	key := strings.Repeat("aB3", 21)
	in := "--\n-- PostgreSQL database dump\n--\n\n\\restrict " + key + "\n\nSELECT 1;\n\n\\unrestrict " + key + "\r\n"
	out, err := guard(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "--\n-- PostgreSQL database dump\n--\n\n\nSELECT 1;\n\n"
	if out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

func TestGuardRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		kind     Kind
		line     int64
		what     string
	}{
		{"shell at the start", "\\! id > proof.txt\n", MetaCommand, 1, `\!`},
		{"before the first SET", "--\n-- PostgreSQL database dump\n--\n\n\\! id > proof.txt\nSET a = 1;\n", MetaCommand, 5, `\!`},
		{"after a statement on its line", "SET a = 1;\nSELECT 1; \\! id\n", MetaCommand, 2, `\!`},
		{"in the middle of a statement", "SELECT\n1 \\o |touch m\n;", MetaCommand, 2, `\o`},
		{"output to a pipe", "\\o |touch MARKER\n", MetaCommand, 1, `\o`},
		{"word stops at a backslash", "\\o|touch\\x\n", MetaCommand, 1, `\o|touch`},
		{"copy to program", "\\copy (select 1) to program 'touch MARKER'\n", MetaCommand, 1, `\copy`},
		{"setenv", "\\setenv PAGER x\n", MetaCommand, 1, `\setenv`},
		{"gexec", "SELECT 'x'\n\\gexec\n", MetaCommand, 2, `\gexec`},
		{"after COPY data", "COPY public.t (id) FROM stdin;\n1\n\\.\n\\! id\n", MetaCommand, 4, `\!`},
		{"after a closed string", "SELECT 'a' \\! x\n", MetaCommand, 1, `\!`},
		// psql 15.18 runs this \! (the E string goes on after the \r).
		{"after a continued E string", "SELECT E'a'\r'\\'' \\! touch m5 ';\n", MetaCommand, 1, `\!`},
		{"after a line comment ended by CR", "SELECT 1; -- c\r\\! id\n", MetaCommand, 1, `\!`},
		{"after a block comment", "/* a */ \\! id\n", MetaCommand, 1, `\!`},
		{"after a dollar quote", "DO $a$ x $a$ \\! id\n", MetaCommand, 1, `\!`},
		{"dollar tag is case-sensitive", "DO $a$ x $A$;\n$a$ \\! id\n", MetaCommand, 2, `\!`},
		{"nested comment closes twice", "/* /* */ \\! still a comment */ \\! id\n", MetaCommand, 1, `\!`},
		{"quote at line end closes", "SELECT '\n'\\! id\n", MetaCommand, 2, `\!`},
		{"E string backslash at line end", "SELECT E'a\\\n' \\! id\n", MetaCommand, 2, `\!`},
		{"forced semicolon", "SELECT 1\\;SELECT 2;\n", MetaCommand, 1, `\;`},
		{"restrict line with more", "\\restrict abc; \\! id\n", MetaCommand, 1, `\restrict`},
		{"restrict not at line start", " \\restrict abc\n", MetaCommand, 1, `\restrict`},
		{"long line", "SELECT '" + strings.Repeat("x", 3<<20) + "' \\! id\n", MetaCommand, 1, `\!`},
		{"psql variable", "SELECT 1;\n:LAST_ERROR_MESSAGE\n", Variable, 2, ":LAST_ERROR_MESSAGE"},
		{"scs off", "SET standard_conforming_strings = off;\n", Setting, 1, "standard_conforming_strings"},
		{"scs through set_config", "SELECT set_config('standard_conforming_strings', 'off', false);\n", Setting, 1, "standard_conforming_strings"},
		{"scs in a function body", "DO $$ BEGIN PERFORM set_config('Standard_Conforming_Strings','off',false); END $$;\n", Setting, 1, "standard_conforming_strings"},
		{"client encoding SJIS", "SET client_encoding = 'SJIS';\n", Setting, 1, "client_encoding"},
		{"client encoding reset", "RESET client_encoding;\n", Setting, 1, "client_encoding"},
		{"set names big5", "SET NAMES 'BIG5';\n", Setting, 1, "the client encoding (SET NAMES)"},
		{"copy with options", "COPY t FROM stdin WITH (FORMAT binary);\n\\! id\n", Copy, 1, "a COPY … FROM stdin not in pg_dump's form"},
		{"text after COPY", "COPY t (a) FROM stdin; SELECT 1;\n\\.\n", Copy, 1, "text after the COPY statement on its line"},
		{"copy in a multi-statement", "CREATE FUNCTION f() BEGIN; COPY t FROM stdin; END;\n", Copy, 1, "a COPY that psql would send together with other statements"},
		{"backslash quote in a string", "SELECT 'a\\' \\! id '\n", Ambiguous, 1, "a backslash before a quote in a string"},
		{"number run into a name", "SELECT 1e'\\' \\! id';\n", Ambiguous, 1, "a number run into a name"},
		{"parameter run into a name", "SELECT $1a$b$ \\! $b$;\n", Ambiguous, 1, "a number run into a name"},
		{"NUL byte", "SELECT 'a\x00'; \\! x\n", Ambiguous, 1, "a NUL byte"},
		{"NUL after a backslash in an E string", "SELECT E'a\\\x00';\n", Ambiguous, 1, "a NUL byte"},
		{"NUL after a long line", strings.Repeat("-", 5000) + "\n\x00\n", Ambiguous, 2, "a NUL byte"},
		{"NUL in COPY data", "COPY t (a) FROM stdin;\nx\x00\n\\.\n", Ambiguous, 2, "a NUL byte"},
		{"long variable name", "SELECT :" + strings.Repeat("4", 3000) + ";\n", Variable, 1, ":" + strings.Repeat("4", 32) + "…"},
		{"long quoted variable name", "SELECT :'" + strings.Repeat("a", 3000) + "';\n", Variable, 1, ":'" + strings.Repeat("a", 31) + "…"},
		{"long operator", "SELECT 1 " + strings.Repeat("+", 3000) + "-- '\n\\! x\n", Ambiguous, 1, "an operator longer than 1024 bytes"},
		{"long dollar tag", "DO $" + strings.Repeat("a", 300) + "$ x;\n", Ambiguous, 1, "a dollar-quote tag longer than 256 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := guard(tc.in)
			if _, small := io.ReadAll(NewReader(iotest.OneByteReader(strings.NewReader(tc.in)))); fmt.Sprint(small) != fmt.Sprint(err) {
				t.Fatalf("one-byte reads: %v, whole reads: %v", small, err)
			}
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if re.Kind != tc.kind || re.Line != tc.line || re.What != tc.what {
				t.Fatalf("got kind %d line %d %q, want kind %d line %d %q", re.Kind, re.Line, re.What, tc.kind, tc.line, tc.what)
			}
			if strings.Contains(err.Error(), "id >") || strings.Contains(err.Error(), "touch") && tc.what != `\o|touch` {
				t.Fatalf("the message carries the rest of the line: %v", err)
			}
			if p, ok := metaOutside(out); ok {
				t.Fatalf("refused, but passed on a meta-command at %d: %q", p, out)
			}
		})
	}
}

// TestGuardOneByteReads feeds the input a byte at a time: nothing may
// depend on where reads end.
func TestGuardOneByteReads(t *testing.T) {
	in := head + "COPY public.t (id) FROM stdin;\n1\t\\! x\n\\.\r\nDO $f$ '\\!' $f$;\n/* \\! */ SELECT E'\\'', '\\\\';\n\\restrict abc\n"
	out, err := io.ReadAll(NewReader(iotest.OneByteReader(strings.NewReader(in))))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(in, "\\restrict abc\n", "", 1); string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	_, err = io.ReadAll(NewReader(iotest.OneByteReader(strings.NewReader(in + "SELECT 1; \\! id\n"))))
	if !errors.As(err, new(*RefusedError)) {
		t.Fatalf("got %v, want a refusal", err)
	}
}

// TestGuardHugeLines passes lines far longer than its buffer, in COPY data
// and in SQL.
func TestGuardHugeLines(t *testing.T) {
	big := strings.Repeat("ab\\\\c'd", 1<<20)
	in := "COPY public.t (a) FROM stdin;\n" + big + "\n\\.\nSELECT '" + strings.ReplaceAll(big, "'", "''") + "';\n"
	out, err := guard(in)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatal("output differs from input")
	}
}

func TestGuardReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := io.ReadAll(NewReader(io.MultiReader(strings.NewReader("SELECT 1;\n"), iotest.ErrReader(boom))))
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
}

func TestSafeEncoding(t *testing.T) {
	for v, want := range map[string]bool{
		"UTF8": true, "utf-8": true, "SQL_ASCII": true, "LATIN1": true, "latin10": true, "ISO-8859-15": true,
		"WIN1252": true, "KOI8-R": true, "EUC_JP": true,
		"SJIS": false, "BIG5": false, "GBK": false, "GB18030": false, "UHC": false, "JOHAB": false,
		"latin11": false, "win1249": false, "latin01": false, "": false,
	} {
		if got := safeEncoding(strings.ToLower(v)); got != want {
			t.Errorf("safeEncoding(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestRefusedErrorWording(t *testing.T) {
	err := &RefusedError{Line: 12, Kind: MetaCommand, What: `\!`}
	if got, want := err.Error(), `the dump holds a psql meta-command (\! on line 12), which a backup never contains`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The \restrict lines of pg_dump 17.6, 16.10 and later are dropped
// wherever psql would read them, however the input is cut into reads; a
// dump that ends in its \unrestrict line without a newline too.
func TestGuardRestrictLinesAnyReads(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"pg_dump 17.6 plain dump",
			"--\n-- PostgreSQL database dump\n--\n\n\\restrict 3PuTmAGRWKh7rC1qeWGgT9wTYEoYQQIY\n\nSET x = 1;\nCOPY t (a) FROM stdin;\n1\n\\.\n\n\\unrestrict 3PuTmAGRWKh7rC1qeWGgT9wTYEoYQQIY\n\n",
			"--\n-- PostgreSQL database dump\n--\n\n\nSET x = 1;\nCOPY t (a) FROM stdin;\n1\n\\.\n\n\n"},
		{"first line", "\\restrict K\nSELECT 1;\n", "SELECT 1;\n"},
		{"CRLF", "\\restrict K\r\nSELECT 1;\r\n\\unrestrict K\r\n", "SELECT 1;\r\n"},
		{"last line without newline", "SELECT 1;\n\\unrestrict K", "SELECT 1;\n"},
		{"in COPY data it is data", "COPY t (a) FROM stdin;\n\\restrict K\n\\.\n", "COPY t (a) FROM stdin;\n\\restrict K\n\\.\n"},
		{"after a long line", strings.Repeat("-", 300<<10) + "\n\\restrict K\nSELECT 1;\n", strings.Repeat("-", 300<<10) + "\nSELECT 1;\n"},
	} {
		for rname, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader, "half": iotest.HalfReader,
		} {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				out, err := io.ReadAll(NewReader(wrap(strings.NewReader(tc.in))))
				if err != nil {
					t.Fatal(err)
				}
				if string(out) != tc.want {
					t.Fatalf("got %q, want %q", shortQ(string(out)), shortQ(tc.want))
				}
			})
		}
	}
}

func TestGuardReaderContract(t *testing.T) {
	body := strings.Repeat("INSERT INTO t VALUES (1, 'a\\b');\n", 20000)
	if err := iotest.TestReader(NewReader(strings.NewReader("\\restrict K\n"+body+"\\unrestrict K\n")), []byte(body)); err != nil {
		t.Error(err)
	}
}

func shortQ(s string) string {
	if len(s) > 120 {
		return s[:60] + "…" + s[len(s)-40:]
	}
	return s
}
