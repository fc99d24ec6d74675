package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/notifier"
	"github.com/odoo-backup/odoo-backup/core/notify"
)

func (a *app) notifyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "notify", Short: "Notification channels: email, chat services, webhooks; and what was sent to them"}
	cmd.AddCommand(a.notifyAddCommand(), a.notifyUpdateCommand(), a.notifyListCommand(), a.notifyRemoveCommand(),
		a.notifyTestCommand(), a.notifyLogCommand())
	return cmd
}

// channelFlags are the settings of a channel; only those given change an
// existing one.
type channelFlags struct {
	urlEnv, urlRef string
	events         string
	digest         string
	noDigest       bool
	fs             *pflag.FlagSet
}

func (c *channelFlags) register(fs *pflag.FlagSet, update bool) {
	c.fs = fs
	fs.StringVar(&c.urlEnv, "url-env", "", "name of the environment variable holding the channel's URL (read now, stored encrypted; keeps it out of the shell's history)")
	fs.StringVar(&c.urlRef, "url-ref", "", "where the channel's URL is kept, read at each use instead of stored: env:VARIABLE or file:PATH (owner-only)")
	fs.StringVar(&c.events, "events", "", "the events sent to this channel, comma-separated: "+eventNames()+" (default all)")
	fs.StringVar(&c.digest, "digest", "", "also send a daily digest of every service at this local time, HH:MM")
	if update {
		fs.BoolVar(&c.noDigest, "no-digest", false, "stop the daily digest")
	}
}

func eventNames() string {
	s := make([]string, len(core.NotifyEvents))
	for i, e := range core.NotifyEvents {
		s[i] = string(e)
	}
	return strings.Join(s, ",")
}

// url is the channel's URL from the argument or the flags; ok is false
// when none was given.
func (c *channelFlags) url(args []string) (core.Secret, bool, error) {
	s, ok, err := secretFromFlags("url-env", c.urlEnv, "url-ref", c.urlRef)
	if err != nil {
		return "", false, err
	}
	if len(args) > 1 {
		if ok {
			return "", false, usageError{errors.New("give the URL either as an argument or with --url-env or --url-ref, not both")}
		}
		return core.Secret(args[1]), true, nil
	}
	return s, ok, nil
}

// apply sets the flags given on ch; every error is wrong usage, found
// before the catalog is touched.
func (c *channelFlags) apply(ch *core.NotifyChannel, args []string) error {
	u, ok, err := c.url(args)
	if err != nil {
		return err
	}
	if ok {
		ch.URL = u
	}
	if c.fs.Changed("events") {
		evs, err := core.ParseNotifyEvents(c.events)
		if err != nil {
			return usageError{err}
		}
		ch.Events = evs
	}
	if c.fs.Changed("digest") && c.noDigest {
		return usageError{errors.New("give either --digest or --no-digest, not both")}
	}
	if c.fs.Changed("digest") {
		ch.Digest = strings.TrimSpace(c.digest)
	}
	if c.noDigest {
		ch.Digest = ""
	}
	if err := core.ValidateNotifyChannel(*ch); err != nil && !errors.Is(err, core.ErrNotFound) {
		return usageError{err}
	}
	return nil
}

func (a *app) notifyAddCommand() *cobra.Command {
	var flags channelFlags
	cmd := &cobra.Command{
		Use:   "add NAME [URL]",
		Short: "Add a notification channel (its URL is stored encrypted and never shown)",
		Example: `  HOOK='https://hooks.slack.com/services/T000/B000/XXXX' odoo-backup notify add ops --url-env HOOK
  odoo-backup notify add mail --url-env SMTP_URL --events failure,recovery,drill_failed --digest 08:00
  (SMTP_URL=smtp://user:password@mail.example.com:587/?from=backup@example.com&to=ops@example.com)
  odoo-backup notify add chat --url-ref file:/etc/odoo-backup/chat.url --events failure,rpo_exceeded`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch := core.NotifyChannel{Name: args[0]}
			if _, ok, err := flags.url(args); err != nil {
				return err
			} else if !ok {
				return usageError{fmt.Errorf("give the URL of channel %q with --url-env VARIABLE (or as an argument, which the shell's history keeps)", args[0])}
			}
			if err := flags.apply(&ch, args); err != nil {
				return err
			}
			return a.withCatalog(func(ctx context.Context, _ []string) error {
				if err := core.SaveNotifyChannel(ctx, a.cat, &ch, false); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "channel %s added: %s, events %s%s\n", ch.Name, channelTarget(ch), ch.EventsText(), digestText(ch))
				return nil
			})(cmd, args)
		},
	}
	flags.register(cmd.Flags(), false)
	return cmd
}

func (a *app) notifyUpdateCommand() *cobra.Command {
	var flags channelFlags
	cmd := &cobra.Command{
		Use:   "update NAME [URL]",
		Short: "Change a notification channel: only what is given changes",
		Example: `  odoo-backup notify update ops --events failure,recovery
  odoo-backup notify update ops --url-env NEW_HOOK
  odoo-backup notify update mail --no-digest`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Every flag is read before the catalog is opened.
			check := core.NotifyChannel{Name: args[0], URL: "https://checked.example/"}
			if err := flags.apply(&check, args); err != nil {
				return err
			}
			return a.withCatalog(func(ctx context.Context, _ []string) error {
				ch, err := a.cat.NotifyChannel(ctx, args[0])
				if err != nil {
					return err
				}
				if err := flags.apply(&ch, args); err != nil {
					return err
				}
				if err := core.SaveNotifyChannel(ctx, a.cat, &ch, true); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "channel %s updated: %s, events %s%s\n", ch.Name, channelTarget(ch), ch.EventsText(), digestText(ch))
				return nil
			})(cmd, args)
		},
	}
	flags.register(cmd.Flags(), true)
	return cmd
}

// channelJSON is a channel as listed: where it goes, never its URL.
type channelJSON struct {
	Name      string             `json:"name"`
	Target    string             `json:"target"`
	Events    []core.NotifyEvent `json:"events"`
	Digest    string             `json:"digest,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
}

func (a *app) notifyListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the notification channels (where each goes, never its URL)",
		Args:  cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			chs, err := a.cat.NotifyChannels(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				out := []channelJSON{}
				for _, ch := range chs {
					evs := ch.Events
					if len(evs) == 0 {
						evs = core.NotifyEvents
					}
					out = append(out, channelJSON{Name: ch.Name, Target: channelTarget(ch), Events: evs, Digest: ch.Digest, CreatedAt: ch.CreatedAt})
				}
				return writeJSON(a.stdout, out)
			}
			if len(chs) == 0 {
				fmt.Fprintln(a.stdout, "No notification channel yet; add one with: odoo-backup notify add NAME --url-env VARIABLE")
				return nil
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "NAME\tGOES TO\tEVENTS\tDIGEST")
			for _, ch := range chs {
				d := ch.Digest
				if d == "" {
					d = "—"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.Name, channelTarget(ch), ch.EventsText(), d)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) notifyRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a notification channel (what was sent to it stays in the log)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := a.cat.DeleteNotifyChannel(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "channel %s removed.\n", args[0])
			return nil
		}),
	}
}

func (a *app) notifyTestCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test NAME",
		Short: "Send a test message to a channel now, and say how it went",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			ch, err := a.cat.NotifyChannel(ctx, args[0])
			if err != nil {
				return err
			}
			w := notifier.New(notifier.Options{Catalog: a.cat, Delivery: notify.Options{Timeout: timeout}})
			d := w.Test(ctx, ch)
			if d.Status != core.DeliverySent {
				return fmt.Errorf("the test message to channel %s was not delivered after %d %s: %s", ch.Name, d.Tries, plural(d.Tries, "try", "tries"), d.Error)
			}
			fmt.Fprintf(a.stdout, "test message sent to channel %s (%s) in %d %s.\n", ch.Name, channelTarget(ch), d.Tries, plural(d.Tries, "try", "tries"))
			return nil
		}),
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long one attempt may take")
	return cmd
}

func (a *app) notifyLogCommand() *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "log",
		Short: "List the notifications and pings sent, failed after their tries, or held back by the rate limit, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageError{fmt.Errorf("--limit %d is not a number of deliveries; give 1 or more, or 0 for all", limit)}
			}
			return a.withCatalog(func(ctx context.Context, _ []string) error {
				ds, err := a.cat.Deliveries(ctx, limit)
				if err != nil {
					return err
				}
				if asJSON {
					if ds == nil {
						ds = []core.Delivery{}
					}
					return writeJSON(a.stdout, ds)
				}
				if len(ds) == 0 {
					fmt.Fprintln(a.stdout, "Nothing was sent yet.")
					return nil
				}
				tw := table(a.stdout)
				fmt.Fprintln(tw, "AT\tCHANNEL\tEVENT\tSTATUS\tTRIES\tSUBJECT")
				for _, d := range ds {
					subject := d.Subject
					if d.Error != "" {
						subject += " — " + d.Error
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", d.At.Local().Format("2006-01-02 15:04:05"), d.Channel, d.Event, d.Status, d.Tries, subject)
				}
				return tw.Flush()
			})(cmd, args)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most this many (0: all)")
	return cmd
}

// channelTarget says where a channel goes without its credentials: the
// scheme and host of its URL, or where its URL is read from.
func channelTarget(ch core.NotifyChannel) string {
	return secretTarget(ch.URL)
}

func secretTarget(s core.Secret) string {
	if ref := s.Ref(); ref != "" {
		return "URL from " + ref
	}
	if _, bad := s.Unreadable(); bad {
		return "(URL not readable here)"
	}
	u, err := url.Parse(s.Reveal())
	if err != nil || u.Scheme == "" {
		return "(URL not readable)"
	}
	return notify.Redact(u)
}

func digestText(ch core.NotifyChannel) string {
	if ch.Digest == "" {
		return ""
	}
	return ", daily digest at " + ch.Digest
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
