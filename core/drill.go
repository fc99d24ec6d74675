package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
)

// ActionTakeBackup: Service has no succeeded backup (on Destination, when
// given) to work from; take one.
const ActionTakeBackup Action = "take-backup"

// DrillRequest asks for one restore drill of a service.
type DrillRequest struct {
	Service string
	// Destination limits the drill to the backups on that destination (a
	// scheduled drill uses its configuration's); empty means the newest
	// succeeded backup anywhere, the primary's when several are as new.
	Destination string
	// ScratchDir is where the scratch filestore is built; empty means
	// os.TempDir(). It needs room for the whole filestore.
	ScratchDir string
	// IdentityFile is an age identity file that decrypts an encrypted
	// backup whose destination keeps no key on this host.
	IdentityFile string
	Progress     ProgressFunc
}

// DrillResult is a finished drill and where it restored to (both gone by
// the time Drill returns).
type DrillResult struct {
	Drill      Drill  `json:"drill"`
	Backup     Backup `json:"backup"`
	ScratchDB  string `json:"scratch_database"`
	ScratchDir string `json:"scratch_dir"`
}

// Drill answers "is this service's latest backup restorable?": it verifies
// the backup's checksum, restores it into a scratch database on the
// service's PostgreSQL server (named <db>_drill_<random>, built under a
// temporary name) and a scratch filestore directory, checks that dump.sql
// loaded without an SQL error, that the database passes CheckRestored (the
// same checks a restore makes before it puts a copy in place: key tables,
// the row counts recorded at backup time, base installed), and that every
// attachment file the backup holds is present (those it recorded as missing
// when it was taken were never in it), then removes the scratch copy
// whatever happened. The drill
// is recorded in the history; a failed drill returns an error that says why.
func (e *Engine) Drill(ctx context.Context, req DrillRequest) (_ DrillResult, err error) {
	var res DrillResult
	defer func() { e.audit(ctx, auditDrill(req, res), err) }()
	if err := e.permit(ctx, ActionDrill); err != nil {
		return res, err
	}
	defer interrupted(ctx, &err, func() string {
		return fmt.Sprintf("the restore drill of %s was interrupted; its scratch database and directory were removed and the backup was not judged", req.Service)
	})
	svc, err := e.Catalog.Service(ctx, req.Service)
	if err != nil {
		return res, err
	}
	if svc.Placeholder {
		return res, Advise(Advice{Action: ActionSetConnection, Service: svc.Name, Detail: "drilling it"}, ErrInvalid, "service %q has no database connection yet", svc.Name)
	}
	d := Drill{ServiceID: svc.ID, Service: svc.Name, Status: DrillRunning, StartedAt: e.now().UTC().Truncate(1e6)}
	b, pickErr := e.drillBackup(ctx, svc, req.Destination)
	if pickErr == nil {
		d.BackupID, d.Destination = b.ID, b.Destination
		res.Backup = b
	} else if errors.Is(pickErr, ErrInvalid) || !errors.Is(pickErr, ErrNotFound) {
		return res, pickErr
	}
	if err := e.Catalog.AddDrill(ctx, &d); err != nil {
		return res, fmt.Errorf("record the drill of %s: %w", svc.Name, err)
	}
	e.log().Info("drill started", "service", svc.Name, "backup", d.BackupID)

	var runErr error
	if pickErr != nil {
		runErr = pickErr
	} else {
		runErr = e.runDrill(ctx, svc, b, req, &d, &res)
	}
	saveCtx := context.WithoutCancel(ctx)
	finished := e.now().UTC()
	d.FinishedAt = &finished
	if runErr == nil && len(d.Details.Problems) > 0 {
		runErr = Userf(ErrCorrupt, "the restore drill of %s failed on backup %d: %s", svc.Name, d.BackupID, strings.Join(d.Details.Problems, "; "))
	}
	if runErr != nil {
		d.Status, d.Error = DrillFailed, describe(ctx, runErr)
		e.log().Error("drill failed", "service", svc.Name, "backup", d.BackupID, "error", d.Error)
	} else {
		d.Status = DrillOK
		e.log().Info("drill succeeded", "service", svc.Name, "backup", d.BackupID, "tables", len(d.Details.Tables), "files", d.Details.FilestoreFiles)
	}
	if err := e.Catalog.UpdateDrill(saveCtx, d); err != nil && runErr == nil {
		runErr = fmt.Errorf("record drill %d: %w", d.ID, err)
	}
	res.Drill = d
	if runErr != nil {
		var ue *UserError
		if !errors.As(runErr, &ue) {
			runErr = &UserError{Msg: d.Error, Cause: runErr}
		}
	}
	return res, runErr
}

// drillBackup is the newest succeeded backup of the service (on dest when
// given), the primary's when several are as new.
func (e *Engine) drillBackup(ctx context.Context, svc Service, dest string) (Backup, error) {
	if dest != "" {
		if _, err := e.Catalog.Destination(ctx, dest); err != nil {
			return Backup{}, Advise(Advice{Action: ActionListDestinations, Destination: dest}, ErrInvalid, "destination %q does not exist", dest)
		}
	}
	bs, err := e.Catalog.Backups(ctx, BackupFilter{Service: svc.Name, Destination: dest, Status: StatusSucceeded, Limit: 50})
	if err != nil {
		return Backup{}, err
	}
	primary := ""
	if p, err := e.Catalog.Primary(ctx, svc.Name); err == nil {
		primary = p.Destination
	}
	var best Backup
	for _, b := range bs {
		newer := best.ID == 0 || b.StartedAt.After(best.StartedAt)
		tie := best.ID != 0 && b.StartedAt.Equal(best.StartedAt) && b.Destination == primary && best.Destination != primary
		if newer || tie {
			best = b
		}
	}
	if best.ID == 0 {
		where := ""
		if dest != "" {
			where = " on destination " + dest
		}
		return Backup{}, Advise(Advice{Action: ActionTakeBackup, Service: svc.Name, Destination: dest}, ErrNotFound, "service %q has no succeeded backup%s to drill", svc.Name, where)
	}
	return best, nil
}

// runDrill restores b into the scratch copy, checks it, and removes it.
// Check failures go to d.Details.Problems; an error means the drill could
// not get that far.
func (e *Engine) runDrill(ctx context.Context, svc Service, b Backup, req DrillRequest, d *Drill, res *DrillResult) error {
	// The restore is timed from here to the staged copy, before the
	// checks: what bringing the service back would take (its RTO).
	start := e.now()
	rb, err := e.openReadable(ctx, b.ID, req.IdentityFile)
	if err != nil {
		return err
	}
	parent := req.ScratchDir
	if parent == "" {
		parent = os.TempDir()
	}
	scratch, err := os.MkdirTemp(parent, "odoo-backup-drill-")
	if err != nil {
		return Userf(err, "cannot create a scratch directory under %s: %v; check its permissions", parent, errors.Unwrap(err))
	}
	defer func() {
		if err := os.RemoveAll(scratch); err != nil {
			e.log().Error("cannot remove the drill's scratch directory", "dir", scratch, "error", err)
		}
	}()
	res.ScratchDir = scratch
	base := svc.DB.Database
	if len(base) > 25 {
		base = base[:25]
	}
	scratchDB := base + "_drill_" + randomSuffix()
	server := svc.DB
	server.Database = maintenanceDB
	// The scratch copy belongs to whom a restore of the service would give
	// it: the owner of its database and of its filestore.
	owner, err := replacedOwner(ctx, svc, server, svc.FilestoreDir)
	if err != nil {
		return err
	}
	if owner.fsSet && owner.fs.chown {
		// The owner reaches its files through the scratch directory.
		if err := os.Lchown(scratch, owner.fs.uid, owner.fs.gid); err != nil {
			return err
		}
	}
	// The drill judges the copy itself: its problems are the drill's
	// findings, not a refusal.
	spec := stageSpec{rb: rb, server: server, finalDB: scratchDB, finalFS: filepath.Join(scratch, scratchDB), owner: owner}
	rep := e.reporter(req.Progress)
	return e.restoreStaged(ctx, spec, nil, rep, func(st *staged) error {
		res.ScratchDB = st.tmpDB
		d.Details.RestoreSeconds = e.now().Sub(start).Seconds()
		rep.set(PhaseDrillCheck, rb.b.Size)
		if err := e.judgeDrill(ctx, st, rb, d); err != nil {
			return err
		}
		// Handed over as a restore would hand it, the copy is what the
		// service would get.
		if err := st.handOver(ctx); err != nil {
			return err
		}
		if afterDrillRestore != nil {
			c := server
			c.Database = st.tmpDB
			afterDrillRestore(c, st.tmpFS)
		}
		return nil
	})
}

// judgeDrill checks a drill's staged copy against what its backup recorded
// and adds what it finds to d.Details.Problems; an error means the checks
// could not run.
func (e *Engine) judgeDrill(ctx context.Context, st *staged, rb readableBackup, d *Drill) error {
	b := rb.b
	det := &d.Details
	meta, metaErr := e.readMetadata(ctx, rb.store, rb.b.Key)
	if metaErr != nil {
		det.Problems = append(det.Problems, fmt.Sprintf("the metadata object next to the archive is unreadable (%v), so the row counts cannot be checked", metaErr))
	}
	det.Expected = meta.Tables
	det.FilestoreFiles, det.MissingFiles, det.SQLErrors = st.files, st.missingCount, st.sqlErrors.count
	if st.sqlErrors.count > 0 {
		det.Problems = append(det.Problems, fmt.Sprintf("dump.sql loaded with %d SQL errors (first: %s)", st.sqlErrors.count, firstOr(st.sqlErrors.first, "?")))
	}
	// Files the backup recorded as missing were never in it: only those it
	// should hold and does not fail the drill. Past the names it keeps, a
	// backup that lacked more files than it names allows that many unnamed.
	recorded := max(b.MissingCount, meta.MissingFiles)
	det.KnownMissing = min(st.missingCount, recorded)
	if unnamed := recorded - len(b.MissingFiles); st.unknownMissing > unnamed {
		det.Problems = append(det.Problems, fmt.Sprintf("attachment files are missing from the restored filestore: %d the backup should hold (first: %s)", st.unknownMissing-unnamed, st.firstUnknown))
	}
	if metaErr == nil && meta.FilestoreFiles != st.files {
		det.Problems = append(det.Problems, fmt.Sprintf("the archive holds %d filestore files but %d were backed up", st.files, meta.FilestoreFiles))
	}
	noCounts := ""
	if metaErr != nil {
		noCounts = "the metadata object is unreadable"
	}
	checks, err := CheckRestored(ctx, st.dbConn(), meta.Tables, noCounts)
	if err != nil {
		return err
	}
	det.Tables, det.Checks = checks.Tables, checks.Ran
	det.Problems = append(det.Problems, checks.Problems...)
	return nil
}

// afterDrillRestore, set by tests, sees the drill's scratch database and
// filestore once handed to their owner, before they are removed.
var afterDrillRestore func(db DBConn, filestore string)

// countRestored counts the rows of the key tables present in a database.
func countRestored(ctx context.Context, c DBConn) (map[string]int64, error) {
	conn, err := ConnectDB(ctx, c)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return odoosql.CountKeyTables(ctx, conn, "the restored database", 0)
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
