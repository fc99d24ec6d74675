package core

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Audited changes to notification channels and ping URLs.
const (
	ActionNotifyAdd    = "notify add"
	ActionNotifyUpdate = "notify update"
	ActionNotifyRemove = "notify remove"
	ActionPingURLSet   = "ping url set"
)

// ActionListNotifyChannels: Detail names a notification channel that does
// not exist; the person lists the channels there are.
const ActionListNotifyChannels Action = "list-notify-channels"

// ActionEnterNotifyURL: the URL of the notification channel named Detail
// cannot be read (sealed with another key, or hidden); the person enters
// it again.
const ActionEnterNotifyURL Action = "enter-notify-url"

// ActionEnterPingURL: the ping URL of Service's configuration on
// Destination cannot be read; the person enters it again.
const ActionEnterPingURL Action = "enter-ping-url"

// ActionUpdateNotifyChannel: a channel named Detail already exists; the
// person changes it instead of adding it again.
const ActionUpdateNotifyChannel Action = "update-notify-channel"

// ParseNotifyEvents reads a comma-separated list of events ("failure,
// recovery"); "" or "all" is every event (nil).
func ParseNotifyEvents(s string) ([]NotifyEvent, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return nil, nil
	}
	var out []NotifyEvent
	for _, part := range strings.Split(s, ",") {
		ev := NotifyEvent(strings.TrimSpace(part))
		if !knownEvent(ev) {
			return nil, Userf(ErrInvalid, "%q is not an event a channel can be sent; give a comma-separated list of %s", string(ev), joinEvents(NotifyEvents))
		}
		dup := false
		for _, e := range out {
			dup = dup || e == ev
		}
		if !dup {
			out = append(out, ev)
		}
	}
	return out, nil
}

func knownEvent(ev NotifyEvent) bool {
	for _, e := range NotifyEvents {
		if e == ev {
			return true
		}
	}
	return false
}

func joinEvents(evs []NotifyEvent) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// EventsText is the channel's events as ParseNotifyEvents reads them back:
// "all" for every event.
func (c NotifyChannel) EventsText() string {
	if len(c.Events) == 0 {
		return "all"
	}
	return strings.ReplaceAll(joinEvents(c.Events), " ", "")
}

// urlChecks are the delivery layer's checks of a channel's and a ping's URL
// (its scheme supported, the parameters its scheme needs), registered by
// that layer, which imports core: nil until it is linked in.
var urlChecks struct{ channel, ping func(Secret) error }

// RegisterURLChecks sets the delivery layer's checks of a channel URL and a
// ping URL, which CheckNotifyURL and CheckPingURL run after their own.
func RegisterURLChecks(channel, ping func(Secret) error) {
	urlChecks.channel, urlChecks.ping = channel, ping
}

// CheckNotifyURL checks that raw reads as a URL with a scheme and a host or
// path, then as the delivery layer checks it (RegisterURLChecks).
func CheckNotifyURL(what string, raw Secret) error {
	if err := checkNotifyURLShape(what, raw); err != nil || raw.Ref() != "" || urlChecks.channel == nil {
		return err
	}
	return urlChecks.channel(Secret(strings.TrimSpace(raw.Reveal())))
}

func checkNotifyURLShape(what string, raw Secret) error {
	if raw.Ref() != "" {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(raw.Reveal()))
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		// Never quote the value: it holds the credentials.
		return Userf(ErrInvalid, "the %s cannot be read as a URL; give it as scheme://... (https://, smtp://, slack://, ...)", what)
	}
	return nil
}

// CheckPingURL checks a configuration's ping URL: an http or https URL.
func CheckPingURL(raw Secret) error {
	if !raw.IsSet() || raw.Ref() != "" {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(raw.Reveal()))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Userf(ErrInvalid, "the ping URL cannot be used; give an http:// or https:// URL such as the one healthchecks.io or Uptime Kuma shows for the check")
	}
	if urlChecks.ping != nil {
		return urlChecks.ping(Secret(strings.TrimSpace(raw.Reveal())))
	}
	return nil
}

// ValidateNotifyChannel checks a channel before it is saved.
func ValidateNotifyChannel(c NotifyChannel) error {
	if err := ValidateName("notification channel", c.Name); err != nil {
		return settingErr("name", err)
	}
	if _, unreadable := c.URL.Unreadable(); !unreadable {
		if !c.URL.IsSet() {
			return settingErr("url", Userf(ErrInvalid, "notification channel %q needs a URL", c.Name))
		}
		if err := CheckNotifyURL(fmt.Sprintf("URL of notification channel %q", c.Name), c.URL); err != nil {
			return settingErr("url", err)
		}
	}
	for _, e := range c.Events {
		if !knownEvent(e) {
			return settingErr("events", Userf(ErrInvalid, "%q is not an event a channel can be sent; give a comma-separated list of %s", string(e), joinEvents(NotifyEvents)))
		}
	}
	if c.Digest != "" {
		if _, _, err := ParseTimeOfDay(c.Digest); err != nil {
			return settingErr("digest", Userf(ErrInvalid, "the digest time %q is not HH:MM (00:00 to 23:59, local time)", c.Digest))
		}
	}
	return nil
}

// NotifyChannelNotFound is the error of a channel name that is not in the
// catalog.
func NotifyChannelNotFound(name string) error {
	return Advise(Advice{Action: ActionListNotifyChannels, Detail: name}, ErrNotFound, "notification channel %q does not exist", name)
}

// NotifyChannelExists is the error of a channel added under a name taken.
func NotifyChannelExists(name string) error {
	return Advise(Advice{Action: ActionUpdateNotifyChannel, Detail: name}, ErrExists, "a notification channel named %q already exists", name)
}

// SaveNotifyChannel checks c and adds it (replace false: refused when the
// name is taken) or replaces the channel of that name (replace true:
// refused when there is none). The command line and the console both call
// it.
func SaveNotifyChannel(ctx context.Context, cat NotifyCatalog, c *NotifyChannel, replace bool) error {
	if err := ValidateNotifyChannel(*c); err != nil {
		return err
	}
	return cat.SaveNotifyChannel(ctx, c, replace)
}

// PingURLSetter keeps the ping URL of a service's configuration; "" removes
// it.
type PingURLSetter interface {
	SetPingURL(ctx context.Context, service, destination string, url Secret) error
}

// SetPingURL checks and sets the ping URL of service's configuration on
// destination ("" removes it).
func SetPingURL(ctx context.Context, cat PingURLSetter, service, destination string, raw Secret) error {
	if err := CheckPingURL(raw); err != nil {
		return settingErr("ping_url", err)
	}
	if raw.IsValue() {
		raw = Secret(strings.TrimSpace(raw.Reveal()))
	}
	return cat.SetPingURL(ctx, service, destination, raw)
}
