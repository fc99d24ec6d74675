package storekit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// MaxKeyLen is S3's limit on object keys, in bytes; the bucket prefix counts.
const MaxKeyLen = 1024

// ValidateKey checks that key is a relative '/'-separated path every store
// can hold: a local directory maps it onto sub-directories, so it must not
// climb out of the root or be ambiguous, and S3 stores must be able to
// list it back unchanged.
func ValidateKey(key string) error {
	if why := KeyProblem(key); why != "" {
		return UserErr(core.ErrInvalid, nil,
			"object key %q is not allowed (%s); use a relative path of '/'-separated names", key, why)
	}
	return nil
}

// KeyProblem says why key is not a valid object key, "" when it is.
func KeyProblem(key string) string {
	switch {
	case key == "":
		return "it is empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("it is longer than %d bytes", MaxKeyLen)
	case strings.HasPrefix(key, "/"):
		return "it is absolute"
	case strings.HasSuffix(key, "/"):
		return "it ends with '/'"
	}
	if why := charProblem(key); why != "" {
		return why
	}
	for seg := range strings.SplitSeq(key, "/") {
		if why := SegmentProblem(seg); why != "" {
			return why
		}
	}
	return ""
}

func charProblem(s string) string {
	for _, c := range s {
		switch {
		case c == '\\':
			return "it contains a backslash"
		case c < 0x20 || c == 0x7f:
			return "it contains a control character"
		}
	}
	return ""
}

// SegmentProblem says why seg is not a valid segment of a key, "" when it is.
func SegmentProblem(seg string) string {
	switch seg {
	case "":
		return "it has an empty path segment"
	case ".", "..":
		return fmt.Sprintf("it has a %q segment", seg)
	}
	return ""
}

// ValidatePrefix checks a List prefix: any beginning of a valid key. Every
// complete segment must be valid; the last one may be partial.
func ValidatePrefix(prefix string) error {
	why := ""
	switch {
	case prefix == "":
		return nil
	case strings.HasPrefix(prefix, "/"):
		why = "it is absolute"
	case len(prefix) > MaxKeyLen:
		why = fmt.Sprintf("it is longer than %d bytes", MaxKeyLen)
	default:
		why = charProblem(prefix)
	}
	if why == "" {
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			for seg := range strings.SplitSeq(prefix[:i], "/") {
				if why = SegmentProblem(seg); why != "" {
					break
				}
			}
		}
	}
	if why != "" {
		return UserErr(core.ErrInvalid, nil,
			"listing prefix %q is not allowed (%s); use the beginning of a relative '/'-separated path", prefix, why)
	}
	return nil
}

// UserErr is an error whose message is the sentence the user reads; it
// wraps class (one of core's error classes) and cause for errors.Is.
func UserErr(class, cause error, format string, args ...any) error {
	c := class
	if cause != nil {
		c = fmt.Errorf("%w: %w", class, cause)
	}
	return &core.UserError{Msg: fmt.Sprintf(format, args...), Cause: c}
}

// SourceReader wraps the reader a Put consumes. It remembers the first
// error other than io.EOF, returns it on every later Read, and stops at a
// cancelled ctx. The error it returns is a *sourceError, never io.EOF or
// io.ErrUnexpectedEOF: minio-go treats a reader's io.ErrUnexpectedEOF as
// the end of the data and would complete a truncated object.
type SourceReader struct {
	Ctx context.Context
	R   io.Reader
	err *sourceError
	// Watch, when set, learns that a Put waiting on its source is not
	// stalled by the endpoint.
	Watch Watcher
}

// Watcher is told when a Put starts waiting on its source (Waiting) and
// stops (the function it returns), so a stall watch does not blame the
// endpoint for the caller's slowness.
type Watcher interface {
	Waiting() (done func())
}

// sourceError is a failure of the data source (the caller's reader or its
// context), as opposed to one of the store.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func (s *SourceReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if err := s.Ctx.Err(); err != nil {
		s.err = &sourceError{err}
		return 0, s.err
	}
	if s.Watch != nil {
		defer s.Watch.Waiting()()
	}
	n, err := s.R.Read(p)
	if err != nil && err != io.EOF {
		s.err = &sourceError{err}
		return n, s.err
	}
	return n, err
}

// Failed reports whether the source failed; Failure says how.
func (s *SourceReader) Failed() bool { return s.err != nil }

// Failure returns the error Put reports when the source failed: the
// reader's own error unchanged (the caller knows what it was reading), or
// a sentence about the cancellation wrapping the context's error.
func (s *SourceReader) Failure(key, store string) error {
	if s.err == nil {
		return nil
	}
	if ctxErr := s.Ctx.Err(); ctxErr != nil && (errors.Is(s.err.err, ctxErr) || errors.Is(s.err.err, context.Cause(s.Ctx))) {
		return Cancelled(s.Ctx, key, store)
	}
	return s.err.err
}

// Cancelled is Put's error when ctx ended before the object was complete.
// It wraps ctx.Err(), and the cancellation cause when one was given.
func Cancelled(ctx context.Context, key, store string) error {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return fmt.Errorf("storing %s in %s was cancelled (%w): %w", key, store, cause, ctx.Err())
	}
	return fmt.Errorf("storing %s in %s was cancelled: %w", key, store, ctx.Err())
}

// CtxReader stops a read stream once ctx is done.
type CtxReader struct {
	Ctx context.Context
	R   io.Reader
}

func (c CtxReader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}
