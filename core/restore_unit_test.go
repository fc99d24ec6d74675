package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func filterAll(t *testing.T, in string, wrap func(io.Reader) io.Reader) string {
	t.Helper()
	out, err := io.ReadAll(wrap(newRestrictFilter(strings.NewReader(in))))
	if err != nil {
		t.Fatalf("reading the filter: %v", err)
	}
	return string(out)
}

func TestRestrictFilter(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	atBuffer := strings.Repeat("a", 64<<10)
	tests := []struct {
		name, in, want string
	}{
		{"pg_dump 17.6 plain dump",
			"--\n-- PostgreSQL database dump\n--\n\n\\restrict 3PuTmAGRWKh7rC1qeWGgT9wTYEoYQQIY\n\nSET x = 1;\nCOPY t (a) FROM stdin;\n1\n\\.\n\n\\unrestrict 3PuTmAGRWKh7rC1qeWGgT9wTYEoYQQIY\n\n",
			"--\n-- PostgreSQL database dump\n--\n\n\nSET x = 1;\nCOPY t (a) FROM stdin;\n1\n\\.\n\n\n"},
		{"restrict as the very first line", "\\restrict K\nSELECT 1;\n", "SELECT 1;\n"},
		{"CRLF lines", "\\restrict K\r\nSELECT 1;\r\n\\unrestrict K\r\n", "SELECT 1;\r\n"},
		{"no restrict lines", "SELECT 1;\nSELECT 2;\n", "SELECT 1;\nSELECT 2;\n"},
		{"not at a line start", "SELECT '\\restrict K';\n  \\restrict K\n-- \\unrestrict K\n", "SELECT '\\restrict K';\n  \\restrict K\n-- \\unrestrict K\n"},
		{"other meta-commands and look-alikes", "\\connect db\n\\restricted K\n\\restrict\n\\unrestrictK\n\\Restrict K\n", "\\connect db\n\\restricted K\n\\restrict\n\\unrestrictK\n\\Restrict K\n"},
		{"last line without newline", "SELECT 1;\nSELECT 2;", "SELECT 1;\nSELECT 2;"},
		{"empty", "", ""},
		{"only newlines", "\n\n\n", "\n\n\n"},
		{"line longer than the buffer", "\\restrict K\n" + long + "\n\\unrestrict K\n", long + "\n"},
		{"long line without newline at the end", "\\restrict K\n" + long, long},
		{"restrict after a long line", long + "\n\\restrict K\nSELECT 1;\n", long + "\nSELECT 1;\n"},
		{"restrict-like text where a long line crosses the buffer", atBuffer + "\\restrict K\n", atBuffer + "\\restrict K\n"},
		{"restrict-like text one byte before the buffer edge", atBuffer[1:] + "\n\\restrict K\nEND\n", atBuffer[1:] + "\nEND\n"},
		{"binary bytes", "\x00\xff\n\\restrict K\n\x00\xfe", "\x00\xff\n\x00\xfe"},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tc := range tests {
		for rname, wrap := range readers {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				got := filterAll(t, tc.in, wrap)
				if got != tc.want {
					t.Errorf("filter(%s)\n got %s\nwant %s", shortQuote(tc.in), shortQuote(got), shortQuote(tc.want))
				}
			})
		}
	}
}

// pg_dump ends a dump with "\unrestrict KEY\n"; a dump cut before its last
// newline still ends in the meta-command an old psql does not know.
func TestRestrictFilterLastLineWithoutNewline(t *testing.T) {
	got := filterAll(t, "SELECT 1;\n\\unrestrict K", func(r io.Reader) io.Reader { return r })
	if got == "SELECT 1;\n\\unrestrict K" {
		t.Fatal(`a final "\unrestrict K" without a newline is passed through (the filter drops a line only when ReadSlice returned no error); an old psql then reports "invalid command \unrestrict"`)
	}
	if got != "SELECT 1;\n" {
		t.Errorf("filter = %q, want %q", got, "SELECT 1;\n")
	}
}

func TestRestrictFilterPassesErrors(t *testing.T) {
	boom := errors.New("network gone")
	r := newRestrictFilter(io.MultiReader(strings.NewReader("\\restrict K\nSELECT 1;\n"), iotest.ErrReader(boom)))
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) {
		t.Errorf("ReadAll error = %v, want %v", err, boom)
	}
	if string(got) != "SELECT 1;\n" {
		t.Errorf("ReadAll before the error = %q, want %q", got, "SELECT 1;\n")
	}
	if n, err := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err, boom) {
		t.Errorf("Read after the error = %d, %v; want 0, %v", n, err, boom)
	}
}

func TestRestrictFilterReaderContract(t *testing.T) {
	in := "\\restrict K\n" + strings.Repeat("INSERT INTO t VALUES (1);\n", 5000) + "\\unrestrict K\n"
	want := []byte(strings.Repeat("INSERT INTO t VALUES (1);\n", 5000))
	if err := iotest.TestReader(newRestrictFilter(strings.NewReader(in)), want); err != nil {
		t.Error(err)
	}
}

func shortQuote(s string) string {
	if len(s) <= 80 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…(%d bytes)…%q", s[:40], len(s), s[len(s)-30:])
}

func TestErrorLines(t *testing.T) {
	psql := "SET\n" +
		"psql:/tmp/dump.sql:12: ERROR:  relation \"x\" already exists\n" +
		"psql:/tmp/dump.sql:13: WARNING:  no privileges were granted\n" +
		"psql:/tmp/dump.sql:14: ERROR:  role \"odoo\" does not exist\n" +
		"NOTICE:  extension \"pg_trgm\" already exists, skipping\n" +
		"psql:/tmp/dump.sql:99: FATAL:  terminating connection\n" +
		"   \n" +
		"psql:/tmp/dump.sql:100: ERROR:  fourth\n" +
		"the end\n"
	for _, chunk := range []int{1, 3, 7, 64, len(psql)} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			e := &errorLines{max: 2}
			for i := 0; i < len(psql); i += chunk {
				p := []byte(psql[i:min(i+chunk, len(psql))])
				if n, err := e.Write(p); n != len(p) || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(p))
				}
			}
			if e.count != 4 {
				t.Errorf("count = %d, want 4 (3 ERROR, 1 FATAL)", e.count)
			}
			want := []string{`psql:/tmp/dump.sql:12: ERROR:  relation "x" already exists`, `psql:/tmp/dump.sql:14: ERROR:  role "odoo" does not exist`}
			if fmt.Sprint(e.first) != fmt.Sprint(want) {
				t.Errorf("first = %q, want %q", e.first, want)
			}
			if got := e.lastLine(); got != "the end" {
				t.Errorf("lastLine() = %q, want %q", got, "the end")
			}
		})
	}
}

func TestErrorLinesBounded(t *testing.T) {
	e := &errorLines{max: 20}
	line := []byte("psql:dump.sql:1: ERROR:  " + strings.Repeat("x", 1000) + "\n")
	for range 10000 {
		e.Write(line)
	}
	if e.count != 10000 || len(e.first) != 20 {
		t.Errorf("count, kept = %d, %d; want 10000, 20", e.count, len(e.first))
	}
	for _, l := range e.first {
		if len(l) > 600 {
			t.Errorf("kept a line of %d bytes; lines are cut to about 500", len(l))
			break
		}
	}
	if !strings.HasSuffix(e.first[0], "…") {
		t.Errorf("a cut line should end in …: %q", shortQuote(e.first[0]))
	}

	// A line that never ends must not grow the buffer.
	huge := bytes.Repeat([]byte("y"), 64<<10)
	for range 160 {
		e.Write(huge)
	}
	if len(e.partial) > 4096 {
		t.Errorf("after 10 MiB without a newline the pending line holds %d bytes, want at most 4096", len(e.partial))
	}
	if got := e.lastLine(); len(got) > 4096 || !strings.HasPrefix(got, "yyy") {
		t.Errorf("lastLine() = %s, want the start of the unfinished line, at most 4096 bytes", shortQuote(got))
	}
	e.Write([]byte("\nERROR: after\n"))
	if e.count != 10001 || e.lastLine() != "ERROR: after" {
		t.Errorf("after the long line: count %d, last %q; want 10001, %q", e.count, e.lastLine(), "ERROR: after")
	}
}

func TestErrorLinesEmpty(t *testing.T) {
	e := &errorLines{max: 5}
	if e.lastLine() != "" || e.count != 0 || len(e.first) != 0 {
		t.Errorf("fresh errorLines: last %q, count %d, first %q; want all empty", e.lastLine(), e.count, e.first)
	}
	e.Write([]byte("no newline ERROR: yet"))
	if e.count != 0 {
		t.Errorf("an unfinished line was counted: count %d", e.count)
	}
	if got := e.lastLine(); got != "no newline ERROR: yet" {
		t.Errorf("lastLine() = %q, want the unfinished line", got)
	}
}
