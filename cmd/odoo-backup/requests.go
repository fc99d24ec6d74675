package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

// requestPoll is how often a command that asked another host for work
// reads the request: its progress is written about once a second.
const requestPoll = 500 * time.Millisecond

// remoteHost returns the host that must do work on service when that is
// another host than this one. An unknown service is left to the local
// command, which says so in its own words.
func (a *app) remoteHost(ctx context.Context, service string) (string, bool, error) {
	s, err := a.cat.Service(ctx, service)
	if errors.Is(err, core.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	host, remote := core.RemoteHost(s)
	return host, remote, nil
}

// checkRemote refuses at once work for host when no daemon runs there.
func (a *app) checkRemote(ctx context.Context, host, what string) error {
	return core.CheckHostDaemon(ctx, a.cat, host, what, time.Now())
}

// noIdentityRemote refuses --identity for work another host does: the file
// is on this host, and that host's daemon decrypts with the keys it keeps.
func noIdentityRemote(identity, host string) error {
	if identity == "" {
		return nil
	}
	return usageError{fmt.Errorf("--identity names a file on this host, but host %s does this work with the keys it keeps; leave --identity out, or run the command on host %s", host, host)}
}

// request asks r.Host's daemon for r (what says it in words, for the
// refusal when that host has no live daemon), follows it with the same
// progress as a local run, cancels it on Ctrl-C, and returns it ended. A
// request that did not succeed comes back with its error as the one
// sentence to print.
func (a *app) request(ctx context.Context, r core.Request, what string) (core.Request, error) {
	if err := a.checkRemote(ctx, r.Host, what); err != nil {
		return r, err
	}
	if err := a.cat.SubmitRequest(ctx, &r); err != nil {
		return r, err
	}
	fmt.Fprintf(a.stderr, "Requested on host %s (request %d).\n", r.Host, r.ID)
	progress, done := progressPrinter(a.stderr)
	said := false
	end, err := core.FollowRequest(ctx, a.cat, a.cat, r.ID, requestPoll, time.Now, func(cur core.Request) {
		if cur.CancelRequested && ctx.Err() != nil && !said {
			said = true
			done()
			fmt.Fprintf(a.stderr, "Interrupted: asked host %s to cancel request %d; waiting for it to stop.\n", r.Host, r.ID)
		}
		if progress != nil && cur.Status == core.RequestRunning && cur.Progress.Phase != "" {
			progress(core.Progress{Phase: cur.Progress.Phase, Bytes: cur.Progress.Bytes, Total: cur.Progress.Total})
		}
	})
	done()
	if err != nil {
		return end, err
	}
	switch end.Status {
	case core.RequestSucceeded:
		return end, nil
	case core.RequestCancelled:
		err = core.Userf(core.ErrInterrupted, "request %d was cancelled on host %s: %s", end.ID, end.Host, end.Error)
	default:
		err = core.Userf(errRemote, "%s", end.Error)
	}
	return end, err
}

// errRemote marks the failure of work another host did.
var errRemote = errors.New("failed on another host")

// requestResult decodes an ended request's result into v; a request that
// has none leaves v as it is.
func requestResult(r core.Request, v any) error {
	if len(r.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("host %s answered request %d with a result this odoo-backup cannot read (%v); see it with: odoo-backup requests --json", r.Host, r.ID, err)
	}
	return nil
}

// requestBackup has host back service up to dests.
func (a *app) requestBackup(ctx context.Context, host, service string, dests []string) ([]core.Backup, error) {
	r, err := a.request(ctx, core.Request{Kind: core.RequestBackup, Host: host, Service: service,
		Params: core.RequestParams{Destinations: dests}}, "back up "+service)
	var out []core.Backup
	if rerr := requestResult(r, &out); rerr != nil && err == nil {
		err = rerr
	}
	return out, err
}

// requestRestore has host run a restore (or the restore of an upload).
func (a *app) requestRestore(ctx context.Context, kind core.RequestKind, host, service string, p core.RequestParams) (core.RestoreResult, error) {
	what := "restore onto " + p.Target
	if p.Target == "" {
		what = "restore into a new database"
	}
	r, err := a.request(ctx, core.Request{Kind: kind, Host: host, Service: service, Params: p}, what)
	var res core.RestoreResult
	if err == nil {
		err = requestResult(r, &res)
	}
	return res, err
}

func (a *app) requestsCommand() *cobra.Command {
	var asJSON bool
	var f core.RequestFilter
	var status string
	cmd := &cobra.Command{
		Use:   "requests [--host H] [--status S] [--json]",
		Short: "List the work hosts asked of each other's daemons, newest first",
		Long: `List the requests: backups, restores, drills and service copies asked for on
one host for a service of another, which that host's daemon runs. A request
whose daemon stopped in the middle ends failed as interrupted and is never run
again by itself.`,
		Args: cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			switch core.RequestStatus(status) {
			case "", core.RequestPending, core.RequestRunning, core.RequestSucceeded, core.RequestFailed, core.RequestCancelled:
			default:
				return usageError{fmt.Errorf("--status %q is not a request status; use pending, running, succeeded, failed or cancelled", status)}
			}
			if f.Limit < 0 {
				return usageError{fmt.Errorf("--limit %d is negative; give 0 for everything, or a count", f.Limit)}
			}
			f.Status = core.RequestStatus(status)
			rs, err := a.cat.Requests(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				if rs == nil {
					rs = []core.Request{}
				}
				return writeJSON(a.stdout, rs)
			}
			if len(rs) == 0 {
				fmt.Fprintln(a.stdout, "No request yet: work on a service of another host, asked for here, shows up here.")
				return nil
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "ID\tASKED\tWHAT\tBY\tSTATUS")
			for _, r := range rs {
				st := string(r.Status)
				switch {
				case r.Status == core.RequestRunning && r.Progress.Phase != "":
					st += fmt.Sprintf(" (%s, %s)", r.Progress.Phase, humanSize(r.Progress.Bytes))
				case r.Error != "":
					st += ": " + r.Error
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s on %s\t%s\n", r.ID, localTime(r.RequestedAt), r.Describe(), r.RequestedBy, r.RequestedHost, st)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.Host, "host", "", "only the requests for this host")
	cmd.Flags().StringVar(&status, "status", "", "only the requests with this status")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "show at most this many")
	cmd.AddCommand(&cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a request: a pending one at once, a running one as soon as its daemon reads it",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("%q is not a request id; ids are the numbers in the first column of: odoo-backup requests", args[0])}
			}
			r, err := a.cat.CancelRequest(ctx, id)
			if err != nil {
				return err
			}
			switch r.Status {
			case core.RequestCancelled:
				fmt.Fprintf(a.stdout, "Request %d is cancelled.\n", id)
			case core.RequestRunning:
				fmt.Fprintf(a.stdout, "Asked host %s to cancel request %d; it stops within a few seconds.\n", r.Host, id)
			default:
				fmt.Fprintf(a.stdout, "Request %d had already ended %s.\n", id, r.Status)
			}
			return nil
		}),
	})
	return cmd
}
