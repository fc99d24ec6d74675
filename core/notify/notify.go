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
}

// Send delivers m to the channel URL raw, retrying as Options say.
func Send(ctx context.Context, raw core.Secret, m Message, o Options) Result {
	u, err := url.Parse(raw.Reveal())
	if err != nil || u.Scheme == "" {
		return Result{Err: core.Userf(core.ErrInvalid, "the notification URL cannot be read; give it again as scheme://... (smtp://, https://, slack://, ...)")}
	}
	switch u.Scheme {
	case "http", "https":
		return retry(ctx, o, func(ctx context.Context) (bool, error) { return postWebhook(ctx, o, u, m) })
	}
	return Result{Err: core.Userf(core.ErrInvalid, "notifications to %s:// URLs are not supported; use smtp://, https:// (a webhook) or a chat service's URL", u.Scheme)}
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
// query, and only the first element of the path.
func Redact(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" {
		s += "/…"
	}
	return s
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
