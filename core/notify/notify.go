// Package notify delivers notifications: to an email address through SMTP,
// to chat and push services by their URL, to a generic webhook, and pings
// to healthchecks.io / Uptime Kuma style URLs. Every delivery is retried
// with backoff when the other side may come back (a timeout, a refused
// connection, a 5xx or 429 answer), and every error is one sentence that
// never holds the URL's credentials.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Message is one notification.
type Message struct {
	Event       core.NotifyEvent
	Service     string
	Destination string
	// Subject is one line; Body is the whole text (Subject when empty).
	Subject string
	Body    string
}

// Text is the message as one text: the subject, then the body.
func (m Message) Text() string {
	if m.Body == "" || m.Body == m.Subject {
		return m.Subject
	}
	return m.Subject + "\n\n" + m.Body
}

// Options tune deliveries; the zero value is the product's defaults.
type Options struct {
	// Tries is how many attempts a delivery gets in all (default 3).
	Tries int
	// Backoff is the wait after the try-th failed attempt (default 2s,
	// then 4s, doubling).
	Backoff func(try int) time.Duration
	// Sleep waits between tries (default: time.Sleep, or ctx's end).
	Sleep func(context.Context, time.Duration)
	// Timeout bounds each attempt (default 10s).
	Timeout time.Duration
	// HTTPClient is used for webhooks and pings (default: one with Timeout).
	HTTPClient *http.Client
}

func (o Options) tries() int {
	if o.Tries > 0 {
		return o.Tries
	}
	return 3
}

func (o Options) backoff(try int) time.Duration {
	if o.Backoff != nil {
		return o.Backoff(try)
	}
	return time.Duration(1<<try) * time.Second
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 10 * time.Second
}

func (o Options) sleep(ctx context.Context, d time.Duration) {
	if o.Sleep != nil {
		o.Sleep(ctx, d)
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (o Options) client() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Timeout: o.timeout()}
}

// Result is what a delivery did: how many attempts it took, and the error
// of the last one (nil when delivered).
type Result struct {
	Tries int
	Err   error
	// Skipped is true when there was nothing to send: a ping the URL's
	// service has no use for (the start of a run, to an Uptime Kuma push
	// URL). Tries is then 0 and Err nil.
	Skipped bool
}

// Send delivers m to the channel URL raw, retrying as Options say. A URL
// that cannot be used (see ValidateURL) fails at once, without a try.
func Send(ctx context.Context, raw core.Secret, m Message, o Options) Result {
	u, err := parseURL(raw)
	if err != nil {
		return Result{Err: err}
	}
	switch kindOf(u.Scheme) {
	case kindWebhook:
		if err := checkWebhook(u); err != nil {
			return Result{Err: err}
		}
		return retry(ctx, o, func(ctx context.Context) (bool, error) { return postWebhook(ctx, o, u, m) })
	case kindEmail:
		cfg, err := parseSMTP(u)
		if err != nil {
			return Result{Err: err}
		}
		return retry(ctx, o, func(ctx context.Context) (bool, error) { return sendEmail(ctx, cfg, m) })
	case kindChat:
		if _, err := chatService(u); err != nil {
			return Result{Err: err}
		}
		return retry(ctx, o, func(ctx context.Context) (bool, error) { return sendChat(ctx, o, u, m) })
	}
	return Result{Err: unknownScheme(u.Scheme)}
}

// ValidateURL checks a channel's URL before it is kept: a scheme this
// package delivers to, and the parts that scheme needs (a server, and the
// sender and recipients of an email; what a chat service's URL must hold).
// It sends nothing. Its errors are one sentence without the URL's secrets.
func ValidateURL(raw core.Secret) error {
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	switch kindOf(u.Scheme) {
	case kindWebhook:
		return checkWebhook(u)
	case kindEmail:
		_, err := parseSMTP(u)
		return err
	case kindChat:
		_, err := chatService(u)
		return err
	}
	return unknownScheme(u.Scheme)
}

func checkWebhook(u *url.URL) error {
	if u.Host == "" {
		return core.Userf(core.ErrInvalid, "the webhook URL names no server; give it as https://host/path")
	}
	return nil
}

// parseURL reads a channel's URL.
func parseURL(raw core.Secret) (*url.URL, error) {
	s := strings.TrimSpace(raw.Reveal())
	if s == "" {
		return nil, core.Userf(core.ErrInvalid, "the notification URL is empty; give it as scheme://... (smtp://, https://, slack://, ...)")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return nil, core.Userf(core.ErrInvalid, "the notification URL cannot be read; give it again as scheme://... (smtp://, https://, slack://, ...)")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u, nil
}

type urlKind int

const (
	kindUnknown urlKind = iota
	kindWebhook
	kindEmail
	kindChat
)

func kindOf(scheme string) urlKind {
	switch scheme {
	case "http", "https":
		return kindWebhook
	case "smtp", "smtps":
		return kindEmail
	}
	if isChatScheme(scheme) {
		return kindChat
	}
	return kindUnknown
}

func unknownScheme(scheme string) error {
	return core.Userf(core.ErrInvalid, "notifications to %s:// URLs are not supported; use smtp:// or smtps:// (email), https:// (a webhook) or a chat service's URL (%s)", scheme, strings.Join(ChatSchemes(), ", "))
}

// retry runs attempt until it succeeds, says another try cannot help, or
// the tries are spent.
func retry(ctx context.Context, o Options, attempt func(context.Context) (again bool, err error)) Result {
	var err error
	for try := 1; ; try++ {
		actx, cancel := context.WithTimeout(ctx, o.timeout())
		var again bool
		again, err = attempt(actx)
		cancel()
		if err == nil {
			return Result{Tries: try}
		}
		if !again || try == o.tries() || ctx.Err() != nil {
			return Result{Tries: try, Err: err}
		}
		o.sleep(ctx, o.backoff(try))
	}
}

// postWebhook posts {"text": ...} (Slack-compatible) to u.
func postWebhook(ctx context.Context, o Options, u *url.URL, m Message) (again bool, err error) {
	body, _ := json.Marshal(map[string]string{"text": m.Text()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.client().Do(req)
	if err != nil {
		return true, fmt.Errorf("the webhook at %s did not answer: %s", Redact(u), cause(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("the webhook at %s answered %s", Redact(u), resp.Status)
	}
	return false, fmt.Errorf("the webhook at %s refused the message (%s); check its URL", Redact(u), resp.Status)
}

// Redact is u without what may be a credential: no user or password, no
// query, no path (an ellipsis says there was one), and the host only where
// it names a server: a chat service's URL often holds a token where the
// host would be (discord://token@id, slack://a/b/c), so those show the
// scheme alone.
func Redact(u *url.URL) string {
	if !hostIsServer(u.Scheme) {
		return u.Scheme + "://…"
	}
	s := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" {
		s += "/…"
	}
	return s
}

// RedactURL is Redact of a channel's or a ping's URL as it is kept, for
// showing where notifications go without showing its secrets; a URL that
// cannot be read shows as its scheme, or as "…".
func RedactURL(raw core.Secret) string {
	u, err := url.Parse(strings.TrimSpace(raw.Reveal()))
	if err != nil || u.Scheme == "" {
		scheme, _, ok := strings.Cut(raw.Reveal(), "://")
		if !ok || strings.ContainsAny(scheme, "/@:?# ") || scheme == "" {
			return "…"
		}
		return strings.ToLower(scheme) + "://…"
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return Redact(u)
}

// hostIsServer reports whether the host of a scheme's URLs is a server's
// name rather than a token.
func hostIsServer(scheme string) bool {
	switch scheme {
	case "http", "https", "smtp", "smtps",
		"ntfy", "gotify", "matrix", "mattermost", "rocketchat", "zulip", "bark",
		"generic+http", "generic+https":
		return true
	}
	return false
}

// cause is err's last words without the URL net/http repeats in them.
func cause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "it timed out"
	}
	return err.Error()
}

// The catalog's checks of a channel's and a ping's URL are this package's:
// a URL is refused when it is given, not at its first delivery.
func init() { core.RegisterURLChecks(ValidateURL, ValidatePingURL) }
