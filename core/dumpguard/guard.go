// Package dumpguard checks a plain SQL dump on its way to psql: it passes
// the SQL through unchanged and refuses anything psql would run as a
// meta-command, tracking quotes, comments and COPY data as psql's lexer does.
package dumpguard

import (
	"bytes"
	"fmt"
	"io"
)

// Kind says what the guard refused.
type Kind int

const (
	// MetaCommand is a backslash that psql reads as a command.
	MetaCommand Kind = iota + 1
	// Variable is a :NAME reference to a variable psql itself may set
	// (LAST_ERROR_MESSAGE holds text the dump chose), which psql reads
	// again as input.
	Variable
	// Setting is a change of standard_conforming_strings or of the client
	// encoding, which would change how psql reads the rest of the dump.
	Setting
	// Copy is a COPY … FROM stdin statement not in pg_dump's form, or text
	// after it on its line: the guard could not tell where psql takes its
	// data from.
	Copy
	// Ambiguous is text that psql versions or settings read two ways (a
	// NUL byte, a backslash before a quote in a string, a number run into
	// a name).
	Ambiguous
)

// RefusedError says what the guard found and where. What is the command
// word (`\!`), the variable (`:NAME`), the setting, or a short description;
// never the rest of the line.
type RefusedError struct {
	Line int64
	Kind Kind
	What string
}

func (e *RefusedError) Error() string {
	switch e.Kind {
	case MetaCommand:
		return fmt.Sprintf("the dump holds a psql meta-command (%s on line %d), which a backup never contains", e.What, e.Line)
	case Variable:
		return fmt.Sprintf("the dump holds a psql variable reference (%s on line %d), which a backup never contains", e.What, e.Line)
	case Setting:
		return fmt.Sprintf("the dump changes %s on line %d in a way pg_dump never writes", e.What, e.Line)
	case Copy:
		return fmt.Sprintf("the dump holds a COPY statement on line %d that pg_dump never writes (%s)", e.Line, e.What)
	}
	return fmt.Sprintf("the dump holds %s on line %d, which psql could read two ways and a backup never contains", e.What, e.Line)
}

const (
	bufSize = 64 << 10
	// lookahead is the most any construct needs to see past its first byte
	// (a \restrict line, a dollar-quote tag, a variable name).
	lookahead = 2 << 10
)

// Reader passes a plain SQL dump through unchanged, except pg_dump's own
// \restrict and \unrestrict lines, which it drops. At the first thing psql
// would read as a meta-command (or could read two ways) it returns a
// *RefusedError, and none of the refused bytes have been returned. It holds
// at most a fixed buffer, however long a line is.
type Reader struct {
	src     io.Reader
	buf     []byte
	start   int // buf[start:scan] is checked and not yet returned
	scan    int
	end     int // buf[scan:end] is read and not yet checked
	base    int64
	eof     bool
	err     error
	dropEnd int   // after returning buf[start:scan], skip to here (a dropped line)
	nul     int64 // absolute offset of the first NUL byte read, or -1
	lx      lexer
}

// NewReader guards r.
func NewReader(r io.Reader) *Reader {
	return &Reader{src: r, buf: make([]byte, bufSize), dropEnd: -1, nul: -1, lx: newLexer()}
}

func (r *Reader) Read(p []byte) (int, error) {
	for {
		if r.start < r.scan {
			n := copy(p, r.buf[r.start:r.scan])
			r.start += n
			return n, nil
		}
		if r.dropEnd >= 0 {
			r.start, r.scan, r.dropEnd = r.dropEnd, r.dropEnd, -1
			continue
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.eof && r.scan == r.end {
			if r.err = r.lx.finish(); r.err == nil {
				r.err = io.EOF
			}
			continue
		}
		if err := r.fill(); err != nil {
			r.err = err
			continue
		}
		r.step()
	}
}

// fill moves the unchecked bytes to the front and reads until lookahead
// bytes past them are there, or the end.
func (r *Reader) fill() error {
	if r.scan > 0 {
		n := copy(r.buf, r.buf[r.scan:r.end])
		r.base += int64(r.scan)
		r.start, r.scan, r.end = 0, 0, n
	}
	for !r.eof && r.end-r.scan <= lookahead {
		n, err := r.src.Read(r.buf[r.end:])
		if n > 0 && r.nul < 0 {
			if i := bytes.IndexByte(r.buf[r.end:r.end+n], 0); i >= 0 {
				r.nul = r.base + int64(r.end+i)
			}
		}
		r.end += n
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) step() {
	limit := r.end
	if !r.eof {
		limit = r.end - lookahead
	}
	nulAt := -1
	if r.nul >= 0 && r.nul-r.base < int64(limit) {
		nulAt = int(r.nul - r.base)
		limit = nulAt
	}
	pos, dropEnd, err := r.lx.scan(r.buf[:r.end], r.scan, limit, r.eof, r.base)
	if err != nil {
		r.err = err
		r.scan = r.start // nothing of what was refused goes out
		return
	}
	if dropEnd < 0 && nulAt >= 0 && pos >= nulAt { // an escape may have taken the NUL along
		r.scan = nulAt
		r.err = &RefusedError{Line: r.lx.line, Kind: Ambiguous, What: "a NUL byte"}
		return
	}
	if pos == r.scan && dropEnd < 0 && r.scan < r.end {
		// Every step reads at least one byte; a lexer bug must not hang a
		// restore.
		r.err = fmt.Errorf("dump guard: no progress at byte %d", r.base+int64(pos))
		return
	}
	r.scan, r.dropEnd = pos, dropEnd
}
