package core

import "errors"

// Error classes. Errors that leave the engine, the catalog or a store wrap one
// of these (test with errors.Is) beside the underlying cause, so callers can
// decide what to tell the user and what is worth a retry.
var (
	// ErrNotFound: the named thing (object, backup, service, ...) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a thing with that name or key already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: the request breaks a rule; retrying it unchanged will fail again.
	ErrInvalid = errors.New("invalid")
	// ErrAccessDenied: credentials were refused or lack a permission.
	ErrAccessDenied = errors.New("access denied")
	// ErrUnreachable: a server could not be reached at all.
	ErrUnreachable = errors.New("unreachable")
	// ErrTransient: a failure that may succeed when retried (timeouts, 5xx, throttling).
	ErrTransient = errors.New("transient")
	// ErrCorrupt: stored bytes do not match what was recorded, or are not a valid backup.
	ErrCorrupt = errors.New("corrupt")
	// ErrNoSpace: a disk or quota is full.
	ErrNoSpace = errors.New("no space left")
	// ErrInterrupted: the operation's context ended (Ctrl-C, SIGTERM, a
	// console job cancelled) before it finished. Whatever it acted on is as
	// it was, and nothing is known about the backup it was reading: an
	// interrupted read never says a backup is damaged.
	ErrInterrupted = errors.New("interrupted")
)

// UserError is an error whose message is already the one plain sentence the
// user should read; wrapping layers must not prefix it. Cause stays reachable
// through errors.Is/As for classification.
type UserError struct {
	Msg   string
	Cause error
}

func (e *UserError) Error() string { return e.Msg }
func (e *UserError) Unwrap() error { return e.Cause }

// Userf builds a UserError around cause.
func Userf(cause error, format string, args ...any) error {
	return &UserError{Msg: sprintf(format, args...), Cause: cause}
}
