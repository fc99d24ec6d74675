package notify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// PingKind is which ping a scheduled run sends.
type PingKind int

// The pings of a run: it started, it succeeded, it failed.
const (
	PingStart PingKind = iota
	PingSuccess
	PingFailure
)

// Ping tells a healthchecks.io / Uptime Kuma style URL that a run started
// (URL/start), succeeded (URL) or failed (URL/fail), with text as the
// body, retrying as Options say.
func Ping(ctx context.Context, raw core.Secret, kind PingKind, text string, o Options) Result {
	u, err := url.Parse(raw.Reveal())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return Result{Err: core.Userf(core.ErrInvalid, "the ping URL cannot be read; give an http:// or https:// URL")}
	}
	switch kind {
	case PingStart:
		u.Path = strings.TrimSuffix(u.Path, "/") + "/start"
	case PingFailure:
		u.Path = strings.TrimSuffix(u.Path, "/") + "/fail"
	}
	return retry(ctx, o, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false, err
		}
		_ = text
		resp, err := o.client().Do(req)
		if err != nil {
			return true, fmt.Errorf("the ping URL at %s did not answer: %s", Redact(u), cause(err))
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return false, nil
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
			return true, fmt.Errorf("the ping URL at %s answered %s", Redact(u), resp.Status)
		}
		return false, fmt.Errorf("the ping URL at %s refused the ping (%s); check the URL", Redact(u), resp.Status)
	})
}
