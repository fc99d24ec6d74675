package core_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// recovery judges prod as status does, from the catalog itself and from
// one health snapshot: both must give the same RTO.
func (e *env) recovery() core.Recovery {
	e.t.Helper()
	svc, err := e.cat.Service(e.ctx, "prod")
	if err != nil {
		e.t.Fatal(err)
	}
	sh, err := core.EvaluateService(e.ctx, e.cat, svc, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	src, err := core.FleetHealthSource(e.ctx, e.cat)
	if err != nil {
		e.t.Fatal(err)
	}
	snap, err := core.EvaluateService(e.ctx, src, svc, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if (sh.Recovery.RTO == nil) != (snap.Recovery.RTO == nil) || sh.Recovery.RTO != nil && *sh.Recovery.RTO != *snap.Recovery.RTO {
		e.t.Errorf("the catalog gives RTO %+v, its health snapshot %+v; want the same", sh.Recovery.RTO, snap.Recovery.RTO)
	}
	return sh.Recovery
}

// Real restores are timed and recorded for the measured RTO: onto another
// service (after, not including, its safety backup), into a new database,
// and a failed one recorded failed, which is no RTO; a later drill is the
// RTO once it is the newer measurement.
func TestRestoresAreTimedForTheRTO(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 30})
	b := e.backup("minio")[0]
	tg := e.addTarget(31)
	if r := e.recovery(); r.RTO != nil {
		t.Fatalf("RTO before any restore or drill = %+v, want none", r.RTO)
	}

	before := time.Now()
	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	recs, err := e.cat.Restores(e.ctx, "prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("restores of prod after one restore onto staging: %+v, want 1", recs)
	}
	onto := recs[0]
	safety, err := e.cat.Backup(e.ctx, res.SafetyBackupID)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case onto.Status != core.RestoreSucceeded || onto.BackupID != b.ID || onto.Target != "staging" || onto.Host != core.HostName() || onto.Error != "":
		t.Errorf("restore recorded as %+v, want succeeded, backup %d onto staging from this host", onto, b.ID)
	case onto.StartedAt.Before(*safety.FinishedAt):
		t.Errorf("the restore is timed from %s, before its safety backup ended (%s): the safety backup must not count", onto.StartedAt, *safety.FinishedAt)
	case onto.Duration() <= 0 || onto.StartedAt.Before(before) || onto.FinishedAt.After(after):
		t.Errorf("the restore is timed %s to %s (%s), want a positive time within the call (%s to %s)", onto.StartedAt, onto.FinishedAt, onto.Duration(), before, after)
	}
	r := e.recovery()
	if r.RTO == nil || r.RTO.Source != "restore" || r.RTO.ID != onto.ID || r.RTO.BackupID != b.ID || r.RTO.Seconds != onto.Duration().Seconds() {
		t.Errorf("RTO after the restore = %+v, want restore %d's %s", r.RTO, onto.ID, onto.Duration())
	}

	// A restore that fails once begun is recorded failed; the RTO stays.
	bad := e.backup("local")[0]
	e.corrupt(bad)
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: bad.ID, Service: "staging"}); err == nil {
		t.Fatal("the restore of a corrupt backup succeeded")
	}
	recs, err = e.cat.Restores(e.ctx, "prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Status != core.RestoreFailed || recs[0].BackupID != bad.ID || !strings.Contains(recs[0].Error, "checksum") {
		t.Fatalf("restores after a failed one: %+v, want it first, failed, saying the checksum does not match", recs)
	}
	if r := e.recovery(); r.RTO == nil || r.RTO.ID != onto.ID {
		t.Errorf("RTO after a failed restore = %+v, want still restore %d: a failed restore measures nothing", r.RTO, onto.ID)
	}

	// A refusal before anything is restored is no restore.
	if _, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: tg.odoo.Name}); err == nil {
		t.Fatal("a restore over an existing database was not refused")
	}
	newDB := e.odoo.Name + "_rto"
	if _, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, FilestoreDir: filepath.Join(e.dir, "rto-filestore")}); err != nil {
		t.Fatal(err)
	}
	recs, err = e.cat.Restores(e.ctx, "prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Target != newDB || recs[0].Status != core.RestoreSucceeded {
		t.Fatalf("restores after a refusal and a restore into a new database: %+v, want 3, the newest into %s", recs, newDB)
	}
	if r := e.recovery(); r.RTO == nil || r.RTO.ID != recs[0].ID || r.RTO.Source != "restore" {
		t.Errorf("RTO after the restore into a new database = %+v, want restore %d", r.RTO, recs[0].ID)
	}

	// The drill after it is the newer measurement.
	dr, err := e.drill("minio")
	if err != nil {
		t.Fatal(err)
	}
	r = e.recovery()
	if dr.Drill.Details.RestoreSeconds <= 0 || r.RTO == nil || r.RTO.Source != "drill" || r.RTO.ID != dr.Drill.ID || r.RTO.Seconds != dr.Drill.Details.RestoreSeconds {
		t.Errorf("RTO after a drill = %+v, want drill %d's %.3fs", r.RTO, dr.Drill.ID, dr.Drill.Details.RestoreSeconds)
	}
}
