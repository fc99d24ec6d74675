package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/scheduler"
	"github.com/odoo-backup/odoo-backup/store"
)

// consoleScheduler runs the schedules inside an open console while no daemon
// holds the scheduler lease, and hands them to a daemon that starts.
type consoleScheduler struct {
	s    *scheduler.Scheduler
	stop context.CancelFunc
	done chan error
	log  *os.File
	// requestsDone stops the loop that runs this host's requests while
	// the console's scheduler holds the host's lease, and waits for it.
	requestsDone func()
}

// consoleSchedulerLog is where a console's scheduler writes its log: beside
// the catalog, never onto the console's screen.
func (a *app) consoleSchedulerLog() string {
	if store.IsPostgres(a.resolveCatalogPath()) {
		// A URL has no directory: this host's data directory instead.
		return filepath.Join(dataDir(), "console-scheduler.log")
	}
	return filepath.Join(filepath.Dir(a.resolveCatalogPath()), "console-scheduler.log")
}

// startConsoleScheduler starts the console's scheduler; a read-only console
// runs none and gets nil.
func (a *app) startConsoleScheduler(ctx context.Context) (*consoleScheduler, error) {
	// A viewer runs no schedules: the catalog would refuse its backups.
	if a.readOnly || !a.cat.Role().Role.Allows(core.RoleOperator) {
		return nil, nil
	}
	cs := &consoleScheduler{done: make(chan error, 1)}
	log := slog.New(slog.DiscardHandler)
	if f, err := os.OpenFile(a.consoleSchedulerLog(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		cs.log = f
		log = slog.New(slog.NewTextHandler(f, nil))
	}
	// The schedules' backups are the same as the daemon's; only the log
	// differs (the console's own engine gathers its warnings and prints them
	// once the console has closed).
	engine := *a.engine
	engine.Log = log
	s, err := scheduler.New(scheduler.Options{Catalog: a.cat, Runner: &engine, Console: true, Log: log})
	if err != nil {
		cs.close()
		return nil, err
	}
	cs.s = s
	sctx, stop := context.WithCancel(core.WithActor(ctx, core.Actor{User: "console:" + core.CurrentActor().User}))
	cs.stop = stop
	go func() { cs.done <- s.Run(sctx) }()
	// A console that quits cancels what it runs at once, as it does its
	// scheduled backups: those requests end failed as interrupted.
	cs.requestsDone = a.startRequestLoop(sctx, core.ConsoleHolder, &engine, log, 2, 0)
	return cs, nil
}

// Running lists the services a scheduled backup or drill of this console
// is working on; nil for a console that runs no schedules.
func (cs *consoleScheduler) Running() []string {
	if cs == nil {
		return nil
	}
	return cs.s.Running()
}

// shutdown stops the scheduler when the console quits: running jobs are
// cancelled (the person agreed when asked), their rows end failed as
// interrupted and their partial files are removed, and the lease is freed.
func (cs *consoleScheduler) shutdown(say func(string)) error {
	if cs == nil {
		return nil
	}
	if running := cs.s.Running(); len(running) > 0 {
		say(fmt.Sprintf("Stopping the scheduled backup of %s that ran in the console…", strings.Join(running, ", ")))
	}
	cs.stop()
	cs.s.Abort()
	cs.requestsDone()
	var err error
	select {
	case err = <-cs.done:
	case <-time.After(time.Minute):
		err = fmt.Errorf("the console's scheduler did not stop within a minute; its log is %s", logName(cs.log))
	}
	cs.close()
	return err
}

func (cs *consoleScheduler) close() {
	if cs.log != nil {
		cs.log.Close()
	}
}

func logName(f *os.File) string {
	if f == nil {
		return "off"
	}
	return f.Name()
}
