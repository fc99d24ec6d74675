package core

import (
	"context"
	"time"
)

// RestoreRecord is one restore onto a service (or into a new database),
// timed: with the drills, what the measured RTO is made of.
type RestoreRecord struct {
	ID       int64  `json:"id"`
	Service  string `json:"service"`
	BackupID int64  `json:"backup_id"`
	// Target is the service or new database restored onto.
	Target     string    `json:"target"`
	Status     string    `json:"status"` // RestoreSucceeded or RestoreFailed
	Error      string    `json:"error,omitempty"`
	Host       string    `json:"host,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// Restore record statuses.
const (
	RestoreSucceeded = "succeeded"
	RestoreFailed    = "failed"
)

// Duration is how long the restore took.
func (r RestoreRecord) Duration() time.Duration { return r.FinishedAt.Sub(r.StartedAt) }

// RestoreHistory records and lists the restores of services.
type RestoreHistory interface {
	AddRestore(ctx context.Context, r *RestoreRecord) error
	// Restores lists the restores of service (every service when ""),
	// newest first, at most limit (0: all).
	Restores(ctx context.Context, service string, limit int) ([]RestoreRecord, error)
}

// NotifyEvent is what a notification tells.
type NotifyEvent string

// The events a channel can be told about.
const (
	EventFailure     NotifyEvent = "failure"      // a configuration started failing
	EventRecovery    NotifyEvent = "recovery"     // it works again
	EventRPOExceeded NotifyEvent = "rpo_exceeded" // a service's newest good backup is older than its RPO target
	EventRTOExceeded NotifyEvent = "rto_exceeded" // its last measured restore took longer than its RTO target
	EventDrillFailed NotifyEvent = "drill_failed" // a restore drill failed
	EventAnomaly     NotifyEvent = "size_anomaly" // a backup's size is far from the usual (Backup.Anomaly)
	EventDigest      NotifyEvent = "digest"       // the daily digest
	EventTest        NotifyEvent = "test"         // `notify test`
)

// NotifyEvents are the events a channel may subscribe to, in the order
// they are listed.
var NotifyEvents = []NotifyEvent{EventFailure, EventRecovery, EventRPOExceeded, EventRTOExceeded, EventDrillFailed, EventAnomaly}

// NotifyChannel is where notifications go: an email address through SMTP
// (smtp://user:password@host:587/?from=...&to=...), a chat or push service
// by its URL (slack://, teams://, telegram://, discord://, ntfy://, ...),
// or a generic webhook (https://...). The URL holds the credentials, so it
// is sealed like every secret and never shown.
type NotifyChannel struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	URL  Secret `json:"-"`
	// Events are the events sent to this channel; empty means all of
	// NotifyEvents.
	Events []NotifyEvent `json:"events"`
	// Digest is the local time ("08:00") of a daily digest sent to this
	// channel, "" for none.
	Digest    string    `json:"digest,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Wants reports whether the channel is sent ev.
func (c NotifyChannel) Wants(ev NotifyEvent) bool {
	if ev == EventTest || (ev == EventDigest && c.Digest != "") {
		return true
	}
	if len(c.Events) == 0 {
		return ev != EventDigest
	}
	for _, e := range c.Events {
		if e == ev {
			return true
		}
	}
	return false
}

// Delivery is one notification delivered, or given up on after its
// retries, as the catalog records it.
type Delivery struct {
	ID int64 `json:"id"`
	// Channel is the channel's name, or "ping SERVICE/DESTINATION" for a
	// configuration's ping URL.
	Channel     string      `json:"channel"`
	Event       NotifyEvent `json:"event"`
	Service     string      `json:"service,omitempty"`
	Destination string      `json:"destination,omitempty"`
	Subject     string      `json:"subject"`
	Status      string      `json:"status"` // DeliverySent, DeliveryFailed or DeliveryDropped
	Tries       int         `json:"tries"`
	Error       string      `json:"error,omitempty"`
	Host        string      `json:"host,omitempty"`
	At          time.Time   `json:"at"`
}

// Delivery statuses: sent; failed after every retry; dropped by the rate
// limit (folded into the next message that is sent).
const (
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
	DeliveryDropped = "dropped"
)

// NotifyCatalog keeps the notification channels, their deliveries, and
// the last announced state of each thing notifications watch (so a daemon
// restarted announces a recovery of a failure announced before, and never
// the same failure twice).
type NotifyCatalog interface {
	NotifyChannels(ctx context.Context) ([]NotifyChannel, error)
	NotifyChannel(ctx context.Context, name string) (NotifyChannel, error)
	// SaveNotifyChannel adds c, or replaces the channel of the same name
	// when replace is true.
	SaveNotifyChannel(ctx context.Context, c *NotifyChannel, replace bool) error
	DeleteNotifyChannel(ctx context.Context, name string) error
	AddDelivery(ctx context.Context, d *Delivery) error
	// Deliveries lists the newest deliveries first, at most limit (0: all).
	Deliveries(ctx context.Context, limit int) ([]Delivery, error)
	// NotifyStates is every watched key's last announced state.
	NotifyStates(ctx context.Context) (map[string]string, error)
	SetNotifyState(ctx context.Context, key, state string) error
}

// FormatTarget writes a recovery target or a measured time the way the
// command line reads it back (ParseTarget): "2h", "30m", "1h30m", "45s".
func FormatTarget(d time.Duration) string {
	d = d.Round(time.Second)
	s := d.String()
	for _, z := range []string{"0s", "0m"} {
		if len(s) > len(z) && s[len(s)-len(z):] == z && (s[len(s)-len(z)-1] < '0' || s[len(s)-len(z)-1] > '9') {
			s = s[:len(s)-len(z)]
		}
	}
	return s
}
