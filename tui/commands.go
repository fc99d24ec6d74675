package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// ServiceRow is one service on the home screen.
type ServiceRow struct {
	Health core.ServiceHealth
	// Running are its backups running now, in any process, and Expected
	// the probable size of each (by id), from its previous backup.
	Running  []core.Backup
	Expected map[int64]int64
	// Last is its newest finished backup.
	Last *core.Backup
	// Next is its earliest coming scheduled run, and NextSchedule that
	// configuration's schedule.
	Next         *time.Time
	NextSchedule string
}

// ServicesLoadedMsg carries the home screen's data.
type ServicesLoadedMsg struct {
	Rows      []ServiceRow
	Scheduler string
	// Fleet is every host with its services and daemon.
	Fleet core.Fleet
	Err   error
	// Seq orders loads: a screen drops a load older than one it applied,
	// so a slow read cannot put stale rows back after a newer one.
	Seq uint64
}

// ServiceLoadedMsg carries a service's configurations and the newest page
// of its history.
type ServiceLoadedMsg struct {
	Service string
	Health  core.ServiceHealth
	// Host is the service's host and its daemon; Hosts how many hosts the
	// catalog's services are on.
	Host    core.HostStatus
	Hosts   int
	Configs []core.Configuration
	History []core.Backup
	// Trends are the backups each configuration's health was judged on
	// (newest first), by destination: its sparklines.
	Trends map[string][]core.Backup
	Err    error
	Seq    uint64
}

// HistoryPageMsg carries an older page of a service's history.
type HistoryPageMsg struct {
	Service  string
	BeforeID int64
	Rows     []core.Backup
	Err      error
}

// TickMsg asks the visible screen to reload, so work done by other processes
// (the daemon's backups, their phase and bytes) shows.
type TickMsg time.Time

func tick(every time.Duration) tea.Cmd {
	return tea.Tick(every, func(t time.Time) tea.Msg { return TickMsg(t) })
}

func loadServices(ctx *Context) tea.Cmd {
	cat, now, seq := ctx.Catalog, ctx.now(), ctx.nextSeq()
	return func() tea.Msg {
		c, cancel := readContext()
		defer cancel()
		msg := ServicesLoadedMsg{Scheduler: "none", Seq: seq}
		if l, err := cat.CurrentLease(c, core.SchedulerLeaseName(core.HostName())); err == nil {
			msg.Scheduler = schedulerLabel(c, cat, l, now)
		} else if !errors.Is(err, core.ErrNotFound) {
			msg.Err = err
			return msg
		}
		svcs, err := cat.Services(c)
		if err != nil {
			msg.Err = err
			return msg
		}
		if msg.Fleet, err = core.LoadFleet(c, cat, svcs, now); err != nil {
			msg.Err = err
			return msg
		}
		// One snapshot of the catalog answers every service's health and
		// newest backups: a few queries, not a few per service.
		src, err := core.FleetHealthSource(c, cat)
		if err != nil {
			msg.Err = err
			return msg
		}
		for _, s := range svcs {
			sh, err := core.EvaluateService(c, src, s, now)
			if err != nil {
				msg.Err = err
				return msg
			}
			msg.Fleet.Judge(&sh)
			row := ServiceRow{Health: sh}
			for _, h := range sh.Configurations {
				if h.NextRun != nil && (row.Next == nil || h.NextRun.Before(*row.Next)) {
					row.Next, row.NextSchedule = h.NextRun, h.Frequency
				}
			}
			recent, err := src.Backups(c, core.BackupFilter{Service: s.Name, Limit: 20})
			if err != nil {
				msg.Err = err
				return msg
			}
			for i := range recent {
				b := recent[i]
				switch {
				case b.Status == core.StatusRunning:
					row.Running = append(row.Running, b)
					if row.Expected == nil {
						row.Expected = map[int64]int64{}
					}
					row.Expected[b.ID] = expectedSize(b, recent[i+1:])
				case row.Last == nil && b.Status != core.StatusDeleted:
					row.Last = &b
				}
			}
			msg.Rows = append(msg.Rows, row)
		}
		return msg
	}
}

func loadService(ctx *Context, name string) tea.Cmd {
	cat, now, limit, seq := ctx.Catalog, ctx.now(), ctx.PageSize, ctx.nextSeq()
	return func() tea.Msg {
		c, cancel := readContext()
		defer cancel()
		msg := ServiceLoadedMsg{Service: name, Seq: seq}
		svc, err := cat.Service(c, name)
		if err == nil {
			msg.Configs, err = cat.Configurations(c, name)
		}
		if err == nil {
			// The sparklines are drawn from the backups the health is
			// judged on: no listing of their own.
			msg.Trends = map[string][]core.Backup{}
			msg.Health, err = core.EvaluateService(c, configsRead{cat, msg.Configs, msg.Trends}, svc, now)
		}
		if err == nil {
			err = serviceHost(c, cat, &msg, now)
		}
		if err == nil {
			msg.History, err = cat.Backups(c, core.BackupFilter{Service: name, Limit: limit})
		}
		msg.Err = err
		return msg
	}
}

// configsRead gives EvaluateService the configurations loadService has
// just read, so opening a service reads them once (a read transaction of
// four round trips fewer, on a fleet's shared catalog). It keeps the
// backups read for each configuration in read, by destination, and passes
// the service's restores on when the catalog keeps them (its RTO).
type configsRead struct {
	core.HealthSource
	configs []core.Configuration
	read    map[string][]core.Backup
}

func (c configsRead) Configurations(context.Context, string) ([]core.Configuration, error) {
	return c.configs, nil
}

func (c configsRead) Backups(ctx context.Context, f core.BackupFilter) ([]core.Backup, error) {
	bs, err := c.HealthSource.Backups(ctx, f)
	if err == nil && c.read != nil && f.Destination != "" {
		c.read[f.Destination] = bs
	}
	return bs, err
}

func (c configsRead) Restores(ctx context.Context, service string, limit int) ([]core.RestoreRecord, error) {
	if rl, ok := c.HealthSource.(core.RestoreLister); ok {
		return rl.Restores(ctx, service, limit)
	}
	return nil, nil
}

// serviceHost judges msg's service by its host's daemon and tells how many
// hosts the catalog's services are on.
func serviceHost(c context.Context, cat Catalog, msg *ServiceLoadedMsg, now time.Time) error {
	svcs, err := cat.Services(c)
	if err != nil {
		return err
	}
	fleet, err := core.LoadFleet(c, cat, svcs, now)
	if err != nil {
		return err
	}
	fleet.Judge(&msg.Health)
	msg.Host, _ = fleet.Host(core.ServiceHost(msg.Health.Service))
	msg.Hosts = serviceHosts(fleet)
	return nil
}

// serviceHosts counts the hosts that have services.
func serviceHosts(f core.Fleet) int {
	n := 0
	for _, h := range f.Hosts {
		if len(h.Services) > 0 {
			n++
		}
	}
	return n
}

// mergeNewest puts a fresh newest page in front of the older rows already
// loaded (those with a smaller id), so a refresh does not reload the pages
// scrolled through. more says whether older rows may be left to read: as
// it was when loaded rows were kept, else whether the page was full.
func mergeNewest[T any](page, loaded []T, id func(T) int64, pageSize int, more bool) ([]T, bool) {
	if len(page) == 0 {
		return nil, false
	}
	oldest := id(page[len(page)-1])
	merged := page
	for _, r := range loaded {
		if id(r) < oldest {
			merged = append(merged, r)
		}
	}
	if len(merged) == len(page) {
		more = len(page) == pageSize
	}
	return merged, more
}

func loadHistoryPage(ctx *Context, name string, beforeID int64) tea.Cmd {
	cat, limit := ctx.Catalog, ctx.PageSize
	return func() tea.Msg {
		rows, err := cat.Backups(context.Background(), core.BackupFilter{Service: name, Limit: limit, BeforeID: beforeID})
		return HistoryPageMsg{Service: name, BeforeID: beforeID, Rows: rows, Err: err}
	}
}

// backupNow opens the back-up-now dialog of a service.
func backupNow(ctx *Context, name string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		configs, err := cat.Configurations(context.Background(), name)
		if err != nil {
			return statusMsg{err: true, text: fmt.Sprintf("cannot read %s: %s", name, errorText(err))}
		}
		return openMsg{newBackupDialog(ctx, name, configs)}
	}
}

// backupJob is a manual backup of service to dests, as a job of this console.
func backupJob(ctx *Context, service string, dests []string) JobSpec {
	eng := ctx.Engine
	return JobSpec{
		Label:   fmt.Sprintf("backing up %s → %s", service, strings.Join(dests, ", ")),
		Changes: true,
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			host, remote, err := remoteHost(jctx, ctx, service)
			if err != nil {
				return "", err
			}
			var bs []core.Backup
			where := ""
			if remote {
				var r core.Request
				r, err = runRequest(jctx, ctx, core.Request{Kind: core.RequestBackup, Host: host, Service: service,
					Params: core.RequestParams{Destinations: dests}}, "back up "+service, progress)
				if err == nil {
					err = requestResult(r, &bs)
				}
				where = fmt.Sprintf(" on host %s (request %d)", host, r.ID)
			} else {
				bs, err = eng.Backup(jctx, core.BackupRequest{Service: service, Destinations: dests, Kind: core.KindManual, Progress: progress})
			}
			if err != nil {
				return "", err
			}
			var parts []string
			for _, b := range bs {
				parts = append(parts, fmt.Sprintf("%s (%s)", b.Destination, size(b.Size)))
			}
			return fmt.Sprintf("backup of %s succeeded%s: %s", service, where, strings.Join(parts, ", ")), nil
		},
	}
}

// schedulerLabel says who runs the schedules, as the header shows it: this
// console itself while no daemon runs (and whether a daemon is taking them
// over), or the daemon or other console holding the lease.
func schedulerLabel(ctx context.Context, cat core.LeaseReader, l core.Lease, now time.Time) string {
	host := core.HostName()
	if l.Holder == core.ConsoleHolder && l.PID == os.Getpid() && l.Host == host {
		if d, err := cat.CurrentLease(ctx, core.SchedulerHandoverLeaseName(host)); err == nil && core.LeaseAlive(d, now) {
			return fmt.Sprintf("this console, handing over to %s (pid %d)", d.Holder, d.PID)
		}
		return "this console (no daemon running)"
	}
	label := fmt.Sprintf("%s (pid %d)", l.Holder, l.PID)
	if !core.LeaseAlive(l, now) {
		label += " not answering"
	}
	return label
}
