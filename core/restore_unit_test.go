package core

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
)

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

// A psql that knows \restrict reads a \restrict line with a fresh random
// key before the dump; an older one reads the dump alone.
func TestGuardDumpRestrictPrefix(t *testing.T) {
	read := func(tool Tool) string {
		b, err := io.ReadAll(guardDump(strings.NewReader("SELECT 1;\n"), tool))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	re := regexp.MustCompile(`^\\restrict ([A-Za-z0-9]{20,})\nSELECT 1;\n$`)
	first, second := re.FindStringSubmatch(read(Tool{Major: 15, Minor: 18})), re.FindStringSubmatch(read(Tool{Major: 17, Minor: 6}))
	if first == nil || second == nil || first[1] == second[1] {
		t.Errorf("got %q and %q, want a \\restrict line with a fresh random key each", first, second)
	}
	if got := read(Tool{Major: 15, Minor: 13}); got != "SELECT 1;\n" {
		t.Errorf("psql 15.13: got %q, want the dump alone", got)
	}
}
