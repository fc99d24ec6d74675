package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// maxKeyLen is S3's limit on object keys, in bytes; the bucket prefix counts.
const maxKeyLen = 1024

// validateKey checks that key is a relative '/'-separated path every store
// can hold: a local directory maps it onto sub-directories, so it must not
// climb out of the root or be ambiguous, and S3 stores must be able to
// list it back unchanged.
func validateKey(key string) error {
	if why := keyProblem(key); why != "" {
		return userErr(core.ErrInvalid, nil,
			"object key %q is not allowed (%s); use a relative path of '/'-separated names", key, why)
	}
	return nil
}

func keyProblem(key string) string {
	switch {
	case key == "":
		return "it is empty"
	case len(key) > maxKeyLen:
		return fmt.Sprintf("it is longer than %d bytes", maxKeyLen)
	case strings.HasPrefix(key, "/"):
		return "it is absolute"
	case strings.HasSuffix(key, "/"):
		return "it ends with '/'"
	}
	if why := charProblem(key); why != "" {
		return why
	}
	for seg := range strings.SplitSeq(key, "/") {
		if why := segmentProblem(seg); why != "" {
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

func segmentProblem(seg string) string {
	switch seg {
	case "":
		return "it has an empty path segment"
	case ".", "..":
		return fmt.Sprintf("it has a %q segment", seg)
	}
	return ""
}

// validatePrefix checks a List prefix: any beginning of a valid key. Every
// complete segment must be valid; the last one may be partial.
func validatePrefix(prefix string) error {
	why := ""
	switch {
	case prefix == "":
		return nil
	case strings.HasPrefix(prefix, "/"):
		why = "it is absolute"
	case len(prefix) > maxKeyLen:
		why = fmt.Sprintf("it is longer than %d bytes", maxKeyLen)
	default:
		why = charProblem(prefix)
	}
	if why == "" {
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			for seg := range strings.SplitSeq(prefix[:i], "/") {
				if why = segmentProblem(seg); why != "" {
					break
				}
			}
		}
	}
	if why != "" {
		return userErr(core.ErrInvalid, nil,
			"listing prefix %q is not allowed (%s); use the beginning of a relative '/'-separated path", prefix, why)
	}
	return nil
}

// userErr is an error whose message is the sentence the user reads; it
// wraps class (one of core's error classes) and cause for errors.Is.
func userErr(class, cause error, format string, args ...any) error {
	c := class
	if cause != nil {
		c = fmt.Errorf("%w: %w", class, cause)
	}
	return &core.UserError{Msg: fmt.Sprintf(format, args...), Cause: c}
}

// sourceReader wraps the reader a Put consumes. It remembers the first
// error other than io.EOF, returns it on every later Read, and stops at a
// cancelled ctx. The error it returns is a *sourceError, never io.EOF or
// io.ErrUnexpectedEOF: minio-go treats a reader's io.ErrUnexpectedEOF as
// the end of the data and would complete a truncated object.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err *sourceError
	// watch, when set, learns that a Put waiting on its source is not
	// stalled by the endpoint.
	watch *stallWatch
}

// sourceError is a failure of the data source (the caller's reader or its
// context), as opposed to one of the store.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func (s *sourceReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = &sourceError{err}
		return 0, s.err
	}
	if s.watch != nil {
		s.watch.waiting.Add(1)
		defer func() {
			s.watch.touch()
			s.watch.waiting.Add(-1)
		}()
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = &sourceError{err}
		return n, s.err
	}
	return n, err
}

// failure returns the error Put reports when the source failed: the
// reader's own error unchanged (the caller knows what it was reading), or
// a sentence about the cancellation wrapping the context's error.
func (s *sourceReader) failure(key, store string) error {
	if s.err == nil {
		return nil
	}
	if ctxErr := s.ctx.Err(); ctxErr != nil && (errors.Is(s.err.err, ctxErr) || errors.Is(s.err.err, context.Cause(s.ctx))) {
		return cancelled(s.ctx, key, store)
	}
	return s.err.err
}

// cancelled is Put's error when ctx ended before the object was complete.
// It wraps ctx.Err(), and the cancellation cause when one was given.
func cancelled(ctx context.Context, key, store string) error {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return fmt.Errorf("storing %s in %s was cancelled (%w): %w", key, store, cause, ctx.Err())
	}
	return fmt.Errorf("storing %s in %s was cancelled: %w", key, store, ctx.Err())
}

// ctxReader stops a read stream once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
