package core

import (
	"errors"
	"fmt"
	"strings"
)

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
	// ErrCatalogUnreachable: the shared catalog's server could not be
	// reached (stopped, refused, no answer in time). It wraps ErrUnreachable;
	// a daemon keeps its results in its journal meanwhile, and a front end
	// says so and retries.
	ErrCatalogUnreachable = fmt.Errorf("the catalog is %w", ErrUnreachable)
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
	// ErrForbidden: the catalog's server refused the operation to this
	// database user, whose role does not allow it (see Role). Nothing was
	// changed; another role is needed, not a retry.
	ErrForbidden = errors.New("forbidden")
)

// UserError is an error whose message is already the one plain sentence the
// user should read; wrapping layers must not prefix it. Cause stays reachable
// through errors.Is/As for classification.
//
// Msg says what happened, with the facts, in words every front end can show
// as they are: it never names a command, a flag, a key or a screen. When what
// to do next depends on where the person is, Advice says which action helps
// and with what, and each front end phrases it (the command line names its
// command and flag, the console its key or screen): see AdviceOf.
type UserError struct {
	Msg    string
	Cause  error
	Advice Advice
}

func (e *UserError) Error() string { return e.Msg }
func (e *UserError) Unwrap() error { return e.Cause }

// Userf builds a UserError around cause.
func Userf(cause error, format string, args ...any) error {
	return &UserError{Msg: sprintf(format, args...), Cause: cause}
}

// Action names what a person can do about an error, without saying how: the
// front ends phrase each action in their own words. The constants live beside
// the code that returns them.
type Action string

// Advice is the action that helps with an error and the facts a front end
// needs to phrase it.
type Advice struct {
	Action      Action
	Service     string
	Destination string
	Backup      int64
	// Recipient is the age recipient of an encrypted backup.
	Recipient string
	// Detail is any other fact the phrase needs: a path, a setting, a limit.
	Detail string
	// User is the database user that advice about a role is for.
	User string
}

// Advise builds a UserError whose message is what happened and whose advice
// the front end phrases.
func Advise(a Advice, cause error, format string, args ...any) error {
	return &UserError{Msg: sprintf(format, args...), Cause: cause, Advice: a}
}

// AdviceOf returns the advice of the outermost UserError in err's chain that
// has one.
func AdviceOf(err error) (Advice, bool) {
	for err != nil {
		var ue *UserError
		if !errors.As(err, &ue) {
			return Advice{}, false
		}
		if ue.Advice.Action != "" {
			return ue.Advice, true
		}
		err = ue.Cause
	}
	return Advice{}, false
}

// WithAdvice is msg followed by phrase's words for the action core advises
// on err, if any: each front end passes its own phrasing. A message that
// quotes another (a cause) may hold its advice already, and does not get it
// twice.
func WithAdvice(msg string, err error, phrase func(Advice) string) string {
	a, ok := AdviceOf(err)
	if !ok {
		return msg
	}
	if how := phrase(a); how != "" && !strings.Contains(msg, how) {
		return msg + "; " + how
	}
	return msg
}
