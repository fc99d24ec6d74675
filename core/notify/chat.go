package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
	"github.com/nicholas-fedor/shoutrrr/pkg/util/jsonclient"

	"github.com/odoo-backup/odoo-backup/core"
)

// Chat and push services (Slack, Teams, Telegram, Discord, ntfy, Gotify,
// Pushover, Matrix, ...) are delivered to by shoutrrr, one library that
// knows each service's API, from the service's own URL form
// (slack://..., ntfy://..., generic+https://...).

// notChat are shoutrrr's schemes this package does not hand to it: email
// has its own client here, and the logger service writes to a log nobody
// reads.
var notChat = []string{"smtp", "logger"}

// ChatSchemes are the URL schemes of the chat and push services, sorted.
func ChatSchemes() []string {
	var r router.ServiceRouter
	var s []string
	for _, name := range r.ListServices() {
		if !slices.Contains(notChat, name) {
			s = append(s, name)
		}
	}
	sort.Strings(s)
	return s
}

// chatBase is a chat scheme's service: generic+https is generic.
func chatBase(scheme string) string {
	base, _, _ := strings.Cut(scheme, "+")
	return base
}

func isChatScheme(scheme string) bool {
	return slices.Contains(ChatSchemes(), chatBase(scheme))
}

// chatService makes the service for u, as shoutrrr's router does, keeping
// the reason when the URL does not suit the service.
func chatService(u *url.URL) (types.Service, error) {
	var r router.ServiceRouter
	base := chatBase(u.Scheme)
	svc, err := r.NewService(base)
	if err != nil {
		return nil, unknownScheme(u.Scheme)
	}
	cu := u
	if u.Scheme != base {
		custom, ok := svc.(types.CustomURLService)
		if !ok {
			return nil, core.Userf(core.ErrInvalid, "the %s service takes no %s:// URL; give it as %s://...", base, u.Scheme, base)
		}
		if cu, err = custom.GetConfigURLFromCustom(u); err != nil {
			return nil, core.Userf(core.ErrInvalid, "the %s URL cannot be used (%s); check its form for the service", u.Scheme, scrub(err.Error(), u))
		}
	}
	if err := svc.Initialize(cu, nil); err != nil {
		return nil, core.Userf(core.ErrInvalid, "the %s URL cannot be used (%s); check its form for the service", u.Scheme, scrub(err.Error(), u))
	}
	return svc, nil
}

// sendChat sends m's text through a fresh service for u. The library's
// calls take no context: one that outlives its attempt is left to end on
// its own (each service bounds its requests, 10 to 30 s, and Discord's
// retries itself within 5 minutes), so a message that was in fact
// delivered late may arrive twice, as with any delivery retried after a
// timeout; the next try gets its own service, sharing no state.
func sendChat(ctx context.Context, o Options, u *url.URL, m Message) (again bool, err error) {
	svc, err := chatService(u)
	if err != nil {
		return false, err
	}
	if hc, ok := svc.(interface{ SetHTTPClient(*http.Client) }); ok && o.HTTPClient != nil {
		hc.SetHTTPClient(o.HTTPClient)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Send(m.Text(), nil) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		return true, core.Userf(core.ErrTransient, "the %s service at %s did not answer: it timed out", chatBase(u.Scheme), Redact(u))
	}
	if err == nil {
		return false, nil
	}
	return chatFailure(u, err)
}

// retryStatus finds an HTTP status worth another try (5xx, 429) in an
// error's text, as the library's services write it: "502 Bad Gateway", or
// ntfy's error code "(50201)", the status followed by two digits.
var retryStatus = regexp.MustCompile(`\b(5\d\d|429) [A-Z]|\((5\d\d|429)\d\d\)`)

// chatFailure turns the library's error into one sentence without the
// URL's secrets, and says whether another try may help.
func chatFailure(u *url.URL, err error) (again bool, _ error) {
	where := fmt.Sprintf("the %s service at %s", chatBase(u.Scheme), Redact(u))
	var je jsonclient.Error
	if errors.As(err, &je) && je.StatusCode > 0 {
		status := fmt.Sprintf("%d %s", je.StatusCode, http.StatusText(je.StatusCode))
		if je.StatusCode >= 500 || je.StatusCode == http.StatusTooManyRequests {
			return true, core.Userf(core.ErrTransient, "%s answered %s", where, status)
		}
		return false, core.Userf(core.ErrInvalid, "%s refused the message (%s); check the channel's URL", where, status)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return true, core.Userf(core.ErrUnreachable, "%s did not answer: %s", where, scrub(cause(err), u))
	}
	text := scrub(err.Error(), u)
	if retryStatus.MatchString(err.Error()) {
		return true, core.Userf(core.ErrTransient, "%s answered with an error (%s)", where, text)
	}
	return false, core.Userf(core.ErrInvalid, "%s refused the message (%s); check the channel's URL", where, text)
}

// anyURL is a URL inside a library's message: the API address it built
// from the channel's URL, which may hold its tokens.
var anyURL = regexp.MustCompile(`"?\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"]*"?`)

// placeholders are the words services' URLs hold where nothing secret
// goes (telegram://token@telegram, slack://hook:token@webhook).
var placeholders = []string{"webhook", "hook", "shoutrrr", "telegram", "default"}

// scrub takes out of s every URL and every part of u that may be a
// secret: the user, the password, the host where it is not a server's
// name, each element of the path, each parameter's value.
func scrub(s string, u *url.URL) string {
	s = anyURL.ReplaceAllString(s, "…")
	var secrets []string
	add := func(v string) {
		if len(v) >= 4 && !slices.Contains(placeholders, v) && v != chatBase(u.Scheme) {
			secrets = append(secrets, v)
			if e := url.PathEscape(v); e != v {
				secrets = append(secrets, e)
			}
			if e := url.QueryEscape(v); e != v {
				secrets = append(secrets, e)
			}
		}
	}
	if u.User != nil {
		add(u.User.Username())
		p, _ := u.User.Password()
		add(u.User.Username() + ":" + p)
		add(p)
	}
	if !hostIsServer(u.Scheme) {
		add(u.Hostname())
	}
	for _, seg := range strings.Split(u.Path, "/") {
		add(seg)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
			for _, part := range strings.Split(v, ",") {
				add(part)
			}
		}
	}
	add(u.Fragment)
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "…")
	}
	return firstLine(s)
}
