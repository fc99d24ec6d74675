package core

import (
	"context"
	"errors"
	"fmt"
)

// isCancellation reports whether err is the end of ctx rather than a fault
// of what was being read or written: ctx has ended, or err itself says a
// context was cancelled. Classifying code asks this before calling anything
// damaged, corrupt or unreachable.
func isCancellation(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	if ctx != nil && ctx.Err() != nil {
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, ErrInterrupted)
}

// interrupted replaces *err, when the operation failed because ctx ended,
// by ErrInterrupted with the sentence what() says (what was interrupted and
// what it left), keeping the cancellation's cause reachable with errors.Is.
// Every engine operation defers it, so a cancellation reads the same
// whichever step it stopped: never as a damaged backup or a raw "context
// canceled".
func interrupted(ctx context.Context, err *error, what func() string) {
	if *err == nil || ctx.Err() == nil {
		return
	}
	cause := fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
	if c := context.Cause(ctx); c != nil && c != ctx.Err() {
		cause = fmt.Errorf("%w: %w (%w)", ErrInterrupted, ctx.Err(), c)
	}
	*err = Userf(cause, "%s", what())
}
