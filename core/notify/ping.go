package notify

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/odoo-backup/odoo-backup/core"
)

// PingKind is what a ping tells a dead-man's switch about a run.
type PingKind string

// The pings of a run: it started, it succeeded, it failed.
const (
	PingStart   PingKind = "start"
	PingSuccess PingKind = "success"
	PingFailure PingKind = "failure"
)

// PingBodyLimit bounds the text a ping carries (healthchecks.io keeps the
// first 100 kB of a body; a few kB of a run's outcome is plenty).
const PingBodyLimit = 4096

// kumaMsgLimit bounds an Uptime Kuma ping's msg= parameter, which travels in
// the URL.
const kumaMsgLimit = 200

// Ping tells a dead-man's switch at raw about a run, retrying as Options
// say. Two conventions are followed:
//
//   - healthchecks.io (and services like it): a POST to URL/start, URL (a
//     success) or URL/fail, the text as the body (its first PingBodyLimit
//     bytes);
//   - Uptime Kuma push URLs (the path holds /api/push/): a GET of the URL
//     with status=up or status=down and msg= the text's first line; Kuma
//     has no start signal, so a start ping is skipped (Result.Skipped).
func Ping(ctx context.Context, raw core.Secret, kind PingKind, text string, o Options) Result {
	u, err := parsePingURL(raw)
	if err != nil {
		return Result{Err: err}
	}
	switch kind {
	case PingStart, PingSuccess, PingFailure:
	default:
		return Result{Err: core.Userf(core.ErrInvalid, "a ping is a start, a success or a failure, not %q", string(kind))}
	}
	var req func(context.Context) (*http.Request, error)
	if isKuma(u) {
		if kind == PingStart {
			return Result{Skipped: true}
		}
		t := *u
		q := t.Query()
		q.Set("status", map[bool]string{true: "up", false: "down"}[kind == PingSuccess])
		q.Set("msg", truncate(firstLine(text), kumaMsgLimit))
		t.RawQuery = q.Encode()
		req = func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, t.String(), nil)
		}
	} else {
		t := *u
		switch kind {
		case PingStart:
			t.Path = strings.TrimSuffix(t.Path, "/") + "/start"
		case PingFailure:
			t.Path = strings.TrimSuffix(t.Path, "/") + "/fail"
		}
		t.RawPath = ""
		body := truncate(text, PingBodyLimit)
		req = func(ctx context.Context) (*http.Request, error) {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, t.String(), strings.NewReader(body))
			if err == nil {
				r.Header.Set("Content-Type", "text/plain; charset=utf-8")
			}
			return r, err
		}
	}
	return retry(ctx, o, func(ctx context.Context) (bool, error) { return ping(ctx, o, u, req) })
}

// ValidatePingURL checks a ping URL before it is kept: an http:// or
// https:// URL with a server. It sends nothing.
func ValidatePingURL(raw core.Secret) error {
	_, err := parsePingURL(raw)
	return err
}

func parsePingURL(raw core.Secret) (*url.URL, error) {
	s := strings.TrimSpace(raw.Reveal())
	if s == "" {
		return nil, core.Userf(core.ErrInvalid, "the ping URL is empty; give it as https://host/path (a healthchecks.io check, or an Uptime Kuma push URL)")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return nil, core.Userf(core.ErrInvalid, "the ping URL cannot be read; give it as https://host/path (a healthchecks.io check, or an Uptime Kuma push URL)")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, core.Userf(core.ErrInvalid, "a ping URL is an http:// or https:// address, not %s://; give the check's URL as its service shows it", u.Scheme)
	}
	if u.Host == "" {
		return nil, core.Userf(core.ErrInvalid, "the ping URL names no server; give it as https://host/path")
	}
	return u, nil
}

// isKuma reports whether u is an Uptime Kuma push URL.
func isKuma(u *url.URL) bool { return strings.Contains(u.Path, "/api/push/") }

// ping makes one request and judges the answer.
func ping(ctx context.Context, o Options, u *url.URL, newReq func(context.Context) (*http.Request, error)) (again bool, err error) {
	req, err := newReq(ctx)
	if err != nil {
		return false, core.Userf(core.ErrInvalid, "the ping URL %s cannot be used", Redact(u))
	}
	resp, err := o.client().Do(req)
	if err != nil {
		return true, core.Userf(core.ErrUnreachable, "the ping URL %s did not answer: %s", Redact(u), cause(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
		return true, core.Userf(core.ErrTransient, "the ping URL %s answered %s", Redact(u), resp.Status)
	}
	return false, core.Userf(core.ErrInvalid, "the ping URL %s refused the ping (%s); check the URL", Redact(u), resp.Status)
}

// truncate is s's first n bytes at most, cut between two characters.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
