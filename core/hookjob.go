package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ActionHook records one run of a service's hook in the audit trail.
const ActionHook = "hook"

// Where hooks run, on the host that runs the job:
//
//   - pre-backup: once per backup (one job sending to several destinations
//     runs it once), after its rows are recorded as running and before
//     anything is dumped; a failure fails the backup with the hook's
//     sentence, and nothing is stored;
//   - post-backup: once, after every destination finished, told the
//     outcome; a failure is a warning on the backup's rows;
//   - pre-restore: before a restore onto a service takes its safety
//     backup; a failure refuses the restore, nothing changed;
//   - post-restore: after that restore finished or failed; a failure is a
//     warning of the restore.
//
// A post hook runs whenever its job reached the point of the pre hook, even
// when the pre hook failed, so it can undo what the pre hook did. The
// safety backup a restore takes runs no backup hook (the restore hooks
// bracket the whole restore); a drill and a restore into a new database run
// none: they do not touch a service.

// serviceHooks reads the hooks of service by event; a catalog that keeps no
// hooks has none.
func (e *Engine) serviceHooks(ctx context.Context, service string) (map[HookEvent]Hook, error) {
	hc, ok := e.Catalog.(HookCatalog)
	if !ok {
		return nil, nil
	}
	hooks, err := hc.ServiceHooks(ctx, service)
	if err != nil {
		return nil, Userf(err, "cannot read the hooks of service %q, so nothing was done: %s", service, message(err))
	}
	out := map[HookEvent]Hook{}
	for _, h := range hooks {
		out[h.Event] = h
	}
	return out, nil
}

// runHook runs h, logs how it went and records it in the audit trail.
func (e *Engine) runHook(ctx context.Context, service string, h Hook, env HookEnv) HookRun {
	env.Service = service
	e.log().Info("running hook", "service", service, "event", h.Event, "command", h.Command)
	run := RunHook(ctx, service, h, env)
	detail := fmt.Sprintf("%s hook %s", h.Event, h.Command)
	switch {
	case run.Err == nil:
		detail += fmt.Sprintf(", exited with status 0 in %s", run.Duration.Round(time.Millisecond))
		e.log().Info("hook succeeded", "service", service, "event", h.Event, "command", h.Command, "took", run.Duration.String(), "last_line", run.LastLine)
	default:
		// What a failure means is the job's to say: it fails, or carries
		// the sentence as its warning, which every front end shows once.
		e.log().Info("hook failed", "service", service, "event", h.Event, "command", h.Command, "error", message(run.Err))
	}
	if env.Outcome != "" {
		detail += ", outcome " + string(env.Outcome)
	}
	if run.Err == nil && run.LastLine != "" {
		detail += ": " + run.LastLine
	}
	e.audit(ctx, AuditEntry{Action: ActionHook, Service: service, Target: "service " + service, Detail: detail}, run.Err)
	return run
}

// jobOutcome is what a post hook is told of a job that ended with err.
func jobOutcome(ctx context.Context, err error) (HookOutcome, string) {
	switch {
	case err == nil:
		return HookSucceeded, ""
	case ctx.Err() != nil || errors.Is(err, ErrInterrupted):
		return HookInterrupted, describe(ctx, err)
	}
	return HookFailed, message(err)
}

// backupHooks are the hooks of one backup job; nil runs none.
type backupHooks struct {
	svc   Service
	hooks map[HookEvent]Hook
	// primary is the service's primary destination, whose backup the
	// hooks name first.
	primary string
	// err is why the hooks could not be read: the backup fails with it.
	err error
}

// hooksForBackup reads svc's hooks for a backup of kind: none for the
// safety backup of a restore, whose own hooks bracket it.
func (e *Engine) hooksForBackup(ctx context.Context, svc Service, kind BackupKind) *backupHooks {
	if kind == KindSafety {
		return nil
	}
	hooks, err := e.serviceHooks(ctx, svc.Name)
	if err == nil && len(hooks) == 0 {
		return nil
	}
	bh := &backupHooks{svc: svc, hooks: hooks, err: err}
	if p, err := e.Catalog.Primary(ctx, svc.Name); err == nil {
		bh.primary = p.Destination
	}
	return bh
}

// env is what the backup's hooks are told: its backups and destinations,
// the primary's first when it is one of them.
func (bh *backupHooks) env(targets []*target) HookEnv {
	env := HookEnv{Database: bh.svc.DB.Database, Filestore: bh.svc.FilestoreDir}
	ordered := make([]*target, 0, len(targets))
	for _, t := range targets {
		if t.dest.Name == bh.primary {
			ordered = append([]*target{t}, ordered...)
		} else {
			ordered = append(ordered, t)
		}
	}
	for _, t := range ordered {
		env.BackupIDs = append(env.BackupIDs, t.b.ID)
		env.Destinations = append(env.Destinations, t.dest.Name)
	}
	return env
}

// pre runs the pre-backup hook, and says why the backup must fail: the
// hook failed, or could not be read.
func (bh *backupHooks) pre(ctx context.Context, e *Engine, targets []*target) error {
	if bh == nil {
		return nil
	}
	if bh.err != nil {
		return bh.err
	}
	h, ok := bh.hooks[HookPreBackup]
	if !ok {
		return nil
	}
	// The rows show the wait and keep their sign of life, so no process
	// takes the backup for dead while a slow hook runs.
	recs := make([]*recording, len(targets))
	for i, t := range targets {
		recs[i] = t.recording
	}
	rep, stop := e.trackProgress(nil, 0, recs...)
	rep.set(PhaseHook, 0)
	err := e.runHook(ctx, bh.svc.Name, h, bh.env(targets)).Err
	stop()
	rep.set(PhaseConnect, 0)
	return err
}

// post runs the post-backup hook once every destination finished, told the
// outcome (failed when any destination failed, err the job's error). A
// failure is a warning: it is set on every row of the job, in the catalog
// and in out.
func (bh *backupHooks) post(ctx context.Context, e *Engine, targets []*target, out []Backup, err error) {
	if bh == nil || bh.err != nil {
		return
	}
	h, ok := bh.hooks[HookPostBackup]
	if !ok {
		return
	}
	env := bh.env(targets)
	env.Outcome, env.Error = jobOutcome(ctx, err)
	// The hook runs even after an interruption: telling it so is the point
	// of its outcome. Its own timeout bounds it.
	run := e.runHook(context.WithoutCancel(ctx), bh.svc.Name, h, env)
	if run.Err == nil {
		return
	}
	warning := message(run.Err)
	saveCtx := context.WithoutCancel(ctx)
	for i, t := range targets {
		// A warning the backup already has (its pool's locks not
		// renewed) stays beside the hook's.
		t.b.Warning = joinWarnings(t.b.Warning, warning)
		if i < len(out) {
			out[i].Warning = t.b.Warning
		}
		if err := e.Catalog.UpdateBackup(saveCtx, t.b); err != nil {
			e.log().Warn("cannot record the warning of a post-backup hook", "backup", t.b.ID, "error", err)
		}
	}
}

// preRestore runs the pre-restore hook of svc before a restore of b onto it
// changes anything, and returns the post-restore hook to run when the
// restore ends (nil when svc has none), or why the restore is refused.
func (e *Engine) preRestore(ctx context.Context, svc Service, b Backup, filestore string) (post func(res *RestoreResult, err error), _ error) {
	hooks, err := e.serviceHooks(ctx, svc.Name)
	if err != nil {
		return nil, err
	}
	env := HookEnv{Database: svc.DB.Database, Filestore: filestore, BackupIDs: []int64{b.ID}, Destinations: []string{b.Destination}}
	if h, ok := hooks[HookPostRestore]; ok {
		post = func(res *RestoreResult, err error) {
			env := env
			env.SafetyBackupID = res.SafetyBackupID
			env.Outcome, env.Error = jobOutcome(ctx, err)
			run := e.runHook(context.WithoutCancel(ctx), svc.Name, h, env)
			if run.Err != nil {
				res.Warnings = append(res.Warnings, message(run.Err))
			}
		}
	}
	if h, ok := hooks[HookPreRestore]; ok {
		if run := e.runHook(ctx, svc.Name, h, env); run.Err != nil {
			return post, Userf(run.Err, "%s, so nothing was restored and %q is unchanged", strings.TrimSuffix(message(run.Err), "."), svc.Name)
		}
	}
	return post, nil
}

// TestHook runs the hook of event of service now, on this host, with the
// service's values and the outcome HookTested, and records it in the audit
// trail as any run. The error is for a service or hook that does not exist;
// how the hook went is in the HookRun.
func (e *Engine) TestHook(ctx context.Context, service string, event HookEvent) (HookRun, error) {
	svc, err := e.Catalog.Service(ctx, service)
	if err != nil {
		return HookRun{}, err
	}
	hooks, err := e.serviceHooks(ctx, svc.Name)
	if err != nil {
		return HookRun{}, err
	}
	h, ok := hooks[event]
	if !ok {
		return HookRun{}, Userf(ErrNotFound, "service %q has no %s hook", svc.Name, event)
	}
	if host := ServiceHost(svc); host != HostName() {
		return HookRun{}, Userf(ErrInvalid, "the hooks of service %q run on host %s, not on this host %s; try it there", svc.Name, host, HostName())
	}
	env := HookEnv{Database: svc.DB.Database, Filestore: svc.FilestoreDir, Outcome: HookTested}
	return e.runHook(ctx, svc.Name, h, env), nil
}

// SetHookCatalog is what setting a hook needs of the catalog.
type SetHookCatalog interface {
	ServiceReader
	HookCatalog
}

// HookSet is what setting a hook found: whether its file was checked here,
// and else the host that checks it when it runs.
type HookSet struct {
	Checked bool
	Host    string
}

// SetHook checks and sets the hook h of service: an absolute path, a
// timeout above zero, and, when the service's work runs on this host, a
// file fit to run (CheckHookFile). A service of another host cannot have
// its file checked from here: it is set, and checked on that host each time
// it runs. Nothing is stored when a check fails.
func SetHook(ctx context.Context, cat SetHookCatalog, service string, h Hook) (HookSet, error) {
	if _, err := ParseHookEvent(string(h.Event)); err != nil {
		return HookSet{}, err
	}
	if err := CheckHookCommand(h.Event, h.Command); err != nil {
		return HookSet{}, err
	}
	if h.Timeout < time.Second {
		return HookSet{}, Userf(ErrInvalid, "the timeout of the %s hook must be at least one second, not %s; give how long it may run, such as 30s or 5m", h.Event, h.Timeout)
	}
	svc, err := cat.Service(ctx, service)
	if err != nil {
		return HookSet{}, err
	}
	res := HookSet{Host: ServiceHost(svc)}
	if res.Host == HostName() {
		if err := CheckHookFile(h.Event, h.Command); err != nil {
			return HookSet{}, err
		}
		res.Checked = true
	}
	h.Timeout = h.Timeout.Round(time.Second)
	if err := cat.SetServiceHook(ctx, svc.Name, h); err != nil {
		return HookSet{}, err
	}
	return res, nil
}

// joinWarnings is both warnings of a backup, one sentence after the other;
// either may be empty.
func joinWarnings(had, more string) string {
	switch {
	case had == "":
		return more
	case more == "" || strings.Contains(had, more):
		return had
	}
	return strings.TrimRight(had, ". ") + ". " + more
}
