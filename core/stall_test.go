package core_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// testStall is the stall bound of the S3 stores in these tests: short, so
// the tests wait seconds, not the 30 s of production.
const testStall = 2 * time.Second

// stallOpener opens S3 destinations with the test's stall bound and 5 MiB
// parts.
func stallOpener(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
	if d.Kind != core.DestinationS3 {
		return s3.Open(ctx, d)
	}
	return s3.NewS3(s3.Config{S3Settings: d.S3, PartSize: s3.MinPartSize, StallTimeout: testStall})
}

// A frozen S3 endpoint (MinIO stopped with SIGSTOP) in a
// fan-out with a local directory. Frozen in the middle of the stream, it is
// cut off within its bound, the shared dump goes on, and the local backup
// succeeds; while it hangs, its backup is running and, once nothing has
// moved for core.StallAfter, health says stalled. Frozen before the backup
// starts, its row exists at once and fails as fast.
func TestFrozenEndpointIsBoundedAndVisible(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 51, DumpBytes: 6 << 20})
	m := testbed.StartMinIO(t)
	frozen := e.addS3On("frozen", m)
	t.Cleanup(func() { m.Resume() })
	e.engine.OpenStore = stallOpener

	// 1. Frozen mid-stream: the first progress report comes after both
	// keys were picked (MinIO answered) and before a byte is uploaded.
	var once sync.Once
	paused := make(chan struct{})
	progress := func(core.Progress) {
		once.Do(func() {
			if err := m.Pause(); err != nil {
				t.Error(err)
			}
			close(paused)
		})
	}
	type outcome struct {
		bs  []core.Backup
		err error
	}
	done := make(chan outcome, 1)
	began := time.Now()
	go func() {
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "frozen"}, Progress: progress})
		done <- outcome{bs, err}
	}()
	<-paused
	// While the endpoint hangs, both rows are running; judged once
	// StallAfter has passed since their last progress (an injected clock,
	// not a sleep), the configurations are stalled.
	svc, err := e.cat.Service(e.ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	running, err := e.cat.Backups(e.ctx, core.BackupFilter{Status: core.StatusRunning})
	if err != nil || len(running) != 2 {
		t.Fatalf("while the endpoint hangs: running backups %+v (%v), want the 2 of the fan-out", running, err)
	}
	var lastMove time.Time
	for _, b := range running {
		if b.LastProgress().After(lastMove) {
			lastMove = b.LastProgress()
		}
	}
	sh, err := core.EvaluateService(e.ctx, e.cat, svc, lastMove.Add(core.StallAfter+time.Second))
	if err != nil {
		t.Fatal(err)
	}
	stalled := 0
	for _, h := range sh.Configurations {
		if h.State == core.HealthStalled && h.Running != nil && strings.Contains(h.Reason, "no progress for") {
			stalled++
		}
	}
	if stalled != 2 || sh.State != core.HealthStalled || !sh.Unhealthy {
		t.Errorf("health during the stall: %s (unhealthy %v) %+v; want both configurations stalled", sh.State, sh.Unhealthy, sh.Configurations)
	}
	sh, err = core.EvaluateService(e.ctx, e.cat, svc, lastMove.Add(core.StallAfter/2))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range sh.Configurations {
		if (h.Destination == "local" || h.Destination == "frozen") && h.State != core.HealthRunning {
			t.Errorf("health of %s within StallAfter of the last progress: %s, want running", h.Destination, h.State)
		}
	}

	out := <-done
	took := time.Since(began)
	t.Logf("frozen mid-stream: the fan-out took %s", took)
	wantFrozenFailure(t, out.bs, out.err, frozen, m.Endpoint)
	e.wantSucceeded(out.bs, e.local)
	// The bound: the stall timeout after the last byte, plus the dump;
	// without it the wait was a minute (the response-header timeout).
	if took > 25*time.Second {
		t.Errorf("the fan-out took %s with a frozen endpoint, want it cut off within its %s bound", took, testStall)
	}
	e.noneRunning()

	// 2. Frozen before the backup starts: the row exists at once, and the
	// backup fails within the bound while the local one succeeds.
	began = time.Now()
	created := make(chan struct{})
	eng := *e.engine
	eng.Catalog = createSignal{EngineCatalog: e.engine.Catalog, destination: frozen.Name, created: created}
	go func() {
		bs, err := eng.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"frozen", "local"}})
		done <- outcome{bs, err}
	}()
	// While the endpoint answers nothing, the backup on it is already
	// there, running, for status and the console to show.
	<-created
	select {
	case out := <-done:
		t.Fatalf("the backup on the frozen endpoint ended (%v) as soon as its row was made", out.err)
	default:
	}
	if running, err := e.cat.Backups(e.ctx, core.BackupFilter{Destination: frozen.Name, Status: core.StatusRunning}); err != nil || len(running) != 1 {
		t.Fatalf("while the endpoint answers nothing: running backups on it %+v (%v), want its one backup", running, err)
	}
	out = <-done
	bs, err := out.bs, out.err
	took = time.Since(began)
	t.Logf("frozen from the start: the fan-out took %s", took)
	wantFrozenFailure(t, bs, err, frozen, m.Endpoint)
	e.wantSucceeded(bs, e.local)
	if took > 25*time.Second {
		t.Errorf("the fan-out took %s with an endpoint frozen from the start, want it cut off within its %s bound", took, testStall)
	}
	e.noneRunning()

	// Back again, the endpoint takes the next backup, and nothing of the
	// failed ones is left as an object.
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	ok := e.backup("frozen")
	e.wantSucceeded(ok, frozen)
	if keys := e.listAll(frozen); len(keys) != 2 {
		t.Errorf("the endpoint holds %q, want only the last backup and its metadata", keys)
	}
}

// wantFrozenFailure checks the backup on the frozen destination failed with
// one sentence naming its endpoint and the stall, and that the backup's
// error says so too.
func wantFrozenFailure(t *testing.T, bs []core.Backup, err error, frozen core.Destination, endpoint string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "frozen: ") || !strings.Contains(err.Error(), endpoint) {
		t.Errorf("backup error %v, want it to name the frozen destination and its endpoint %s", err, endpoint)
	}
	for _, b := range bs {
		if b.Destination != frozen.Name {
			continue
		}
		if b.Status != core.StatusFailed || !strings.Contains(b.Error, "the S3 endpoint "+endpoint+" stopped answering") ||
			!strings.Contains(b.Error, "nothing moved for "+testStall.String()) || strings.Count(b.Error, ". ") > 0 {
			t.Errorf("backup on the frozen endpoint: %s %q; want failed, one sentence naming %s and the stall", b.Status, b.Error, endpoint)
		}
		return
	}
	t.Errorf("no backup on %s in %+v", frozen.Name, bs)
}

// createSignal is the engine's catalog, closing created once the row of a
// backup on destination has been made.
type createSignal struct {
	core.EngineCatalog
	destination string
	created     chan struct{}
}

func (c createSignal) CreateBackup(ctx context.Context, b *core.Backup) error {
	err := c.EngineCatalog.CreateBackup(ctx, b)
	if err == nil && b.Destination == c.destination {
		close(c.created)
	}
	return err
}
