package dumpguard

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzDumpGuard holds the guard to three properties on any input:
//   - where reads end changes nothing (the same output or the same refusal);
//   - what it passes, passed again, comes out unchanged: it drops only its
//     own \restrict lines and never changes how the rest reads;
//   - what it passes holds no backslash outside quotes, comments and COPY
//     data for the reference reader (ref_test.go), a second reading of
//     psql's lexer written independently, line by line.
func FuzzDumpGuard(f *testing.F) {
	for _, s := range []string{
		head + "COPY public.t (id, name) FROM stdin;\n1\t\\\\! x\n\\.\nSELECT 1;\n",
		"SELECT E'a'\r'\\' \\! x ';\n",
		"DO $f$ \\! $f$; /* /* */ \\o */ SELECT 'it''s';\n",
		"\\restrict K\nSELECT 1;\n\\unrestrict K\n",
		"SELECT 'a'\n\r'b' \\! x\n",
		"CREATE FUNCTION f() LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nCOPY t FROM stdin;\n\\! x\n\\.\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(NewReader(bytes.NewReader(in)))
		small, smallErr := io.ReadAll(NewReader(iotest.OneByteReader(bytes.NewReader(in))))
		if err != nil || smallErr != nil {
			// How much of the accepted text went out before the refusal
			// depends on the reads; the refusal does not.
			if err == nil || smallErr == nil || err.Error() != smallErr.Error() {
				t.Fatalf("whole reads: %v; one-byte reads: %v", err, smallErr)
			}
			if p, ok := metaOutside(string(out)); ok {
				t.Fatalf("refused, but passed a meta-command at %d first: %q", p, out)
			}
			return
		}
		if !bytes.Equal(out, small) {
			t.Fatalf("whole reads gave %q, one-byte reads %q", out, small)
		}
		again, err := io.ReadAll(NewReader(bytes.NewReader(out)))
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("the output read again: %q, %v; want it unchanged", again, err)
		}
		if p, ok := metaOutside(string(out)); ok {
			t.Fatalf("passed a meta-command at %d: %q", p, out)
		}
	})
}

// The reference reader must itself find what psql would run.
func TestReferenceReader(t *testing.T) {
	for in, want := range map[string]bool{
		"SELECT 1; \\! x\n":                           true,
		"SELECT '\\!';\n":                             false,
		"COPY t (a) FROM stdin;\n\\! x\n\\.\n":        false,
		"COPY t (a) FROM stdin;\n\\.\n\\! x\n":        true,
		"SELECT E'a'\n\r'\\' \\! x';\n":               false,
		"SELECT 'a'\n\r'\\' \\! x';\n":                true,
		"/* /* */ \\! */ $q$ \\! $q$ -- \\!\r\\! x\n": true,
	} {
		if _, got := metaOutside(in); got != want {
			t.Errorf("metaOutside(%q) = %v, want %v", in, got, want)
		}
	}
}
