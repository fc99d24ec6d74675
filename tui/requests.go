package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Work on a service of another host is that host's (core.ServiceHost): the
// console asks its daemon for it (a request in the catalog) and shows the
// request's progress as this console's job; cancelling the job cancels the
// request.

// requestPoll is how often a job following a request reads it.
const requestPoll = 500 * time.Millisecond

// remoteHost returns the host that does work on service when that is
// another host and this console can ask it (Options.Requests).
func remoteHost(c context.Context, ctx *Context, service string) (string, bool, error) {
	if ctx.Requests == nil {
		return "", false, nil
	}
	s, err := ctx.Catalog.Service(c, service)
	if errors.Is(err, core.ErrNotFound) {
		return "", false, nil // the local use case says so in its words
	}
	if err != nil {
		return "", false, err
	}
	host, remote := core.RemoteHost(s)
	return host, remote, nil
}

// runRequest asks r.Host's daemon for r (what says it in words, for the
// refusal when that host has no live daemon), follows it into progress,
// and returns it ended; one that did not succeed comes with its error.
func runRequest(jctx context.Context, ctx *Context, r core.Request, what string, progress core.ProgressFunc) (core.Request, error) {
	q := ctx.Requests
	if err := core.CheckHostDaemon(jctx, ctx.Catalog, r.Host, what, ctx.now()); err != nil {
		return r, err
	}
	if err := q.SubmitRequest(jctx, &r); err != nil {
		return r, err
	}
	end, err := core.FollowRequest(jctx, q, ctx.Catalog, r.ID, requestPoll, ctx.Now, func(cur core.Request) {
		if progress != nil && cur.Status == core.RequestRunning && cur.Progress.Phase != "" {
			progress(core.Progress{Phase: cur.Progress.Phase, Bytes: cur.Progress.Bytes, Total: cur.Progress.Total})
		}
	})
	if err != nil {
		return end, err
	}
	switch end.Status {
	case core.RequestSucceeded:
		return end, nil
	case core.RequestCancelled:
		return end, core.Userf(core.ErrInterrupted, "request %d was cancelled on host %s: %s", end.ID, end.Host, end.Error)
	}
	return end, core.Userf(errRemote, "host %s (request %d): %s", end.Host, end.ID, end.Error)
}

// errRemote marks the failure of work another host did.
var errRemote = errors.New("failed on another host")

// requestResult decodes an ended request's result into v.
func requestResult(r core.Request, v any) error {
	if len(r.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("host %s answered request %d with a result this console cannot read: %w", r.Host, r.ID, err)
	}
	return nil
}

// noIdentityRemote refuses an identity file for work another host does.
func noIdentityRemote(identity, host string) error {
	if identity == "" {
		return nil
	}
	return fmt.Errorf("the identity file is on this host, but host %s does this work with the keys it keeps; leave the Identity file field empty", host)
}
