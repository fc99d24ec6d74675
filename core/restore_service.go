package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// ActionSetFilestore: Service has no filestore directory; Detail is what it
// was needed for.
const ActionSetFilestore Action = "set-filestore"

// CheckRestoreTarget says why svc cannot take a restore onto it, or nil:
// it needs a database connection, a primary destination for the safety
// backup (primaryErr is what looking the primary up gave) and a filestore
// directory. The console asks it before offering the target.
func CheckRestoreTarget(svc Service, primaryErr error) error {
	switch {
	case svc.Placeholder:
		return Advise(Advice{Action: ActionSetConnection, Service: svc.Name, Detail: "restoring onto it"}, ErrInvalid, "service %q has no database connection yet", svc.Name)
	case primaryErr != nil:
		return NoPrimaryError(svc.Name, "for the safety backup taken before a restore", primaryErr)
	case svc.FilestoreDir == "":
		return Advise(Advice{Action: ActionSetFilestore, Service: svc.Name, Detail: "restoring onto it"}, ErrInvalid, "service %q has no filestore directory", svc.Name)
	}
	return nil
}

// ServiceRestoreRequest restores a backup onto an existing service, replacing
// its database and filestore. The backup may belong to any service:
// production restored into staging is the common case.
type ServiceRestoreRequest struct {
	BackupID int64
	// Service is the target whose data is replaced.
	Service string
	// Neutralize makes the restored database safe to run beside the one it
	// came from (see Neutralize) before it replaces the target's.
	Neutralize bool
	// IdentityFile is an age identity file that decrypts an encrypted
	// backup whose destination keeps no key on this host.
	IdentityFile string
	// AcceptErrors swaps the restored copy in even when it fails its checks
	// (CheckRestored); without it such a copy is discarded and the target
	// kept.
	AcceptErrors bool
	// Only replaces one half of the target (the database, or the
	// filestore) and leaves the other as it is; RestoreAll both.
	Only     RestorePart
	Progress ProgressFunc
}

// RestoreToService restores a backup onto an existing service without ever
// losing what the service held (SPEC rule 7):
//
//  1. the backup, the target and the target's primary destination are checked;
//  2. a safety backup of the target goes to its primary destination; if it
//     fails, nothing else happens;
//  3. the archive's checksum is verified, then the database and filestore are
//     built under temporary names beside the target's, checked as a drill
//     checks (CheckRestored: a copy that fails is discarded unless
//     AcceptErrors), and neutralized if asked;
//  4. only then are they swapped in: the target's connections are ended,
//     the databases renamed and the filestore directories renamed, each step
//     undone if a later one fails;
//  5. the old database and filestore are removed; a failure there is a
//     warning in the result, since the new data is already in place.
//
// Any failure before the swap completes leaves the target exactly as it was.
//
// With Only, one half is restored and swapped in as above and the other is
// left exactly as it was: the database alone keeps the target's filestore
// directory (the attachments the restored database refers to that it lacks
// are counted in the result), the filestore alone keeps the target's
// database and its sessions. The safety backup is a whole one either way,
// and a backup that holds no filestore is refused for the filestore alone
// before it is taken.
func (e *Engine) RestoreToService(ctx context.Context, req ServiceRestoreRequest) (res RestoreResult, err error) {
	defer func() { e.audit(ctx, e.auditRestoreToService(ctx, req, res), err) }()
	if err := e.permit(ctx, ActionRestore); err != nil {
		return res, err
	}
	if err := partialNeutralize(req.Only, req.Neutralize, false); err != nil {
		return res, err
	}
	defer interrupted(ctx, &err, func() string {
		msg := fmt.Sprintf("the restore of backup %d onto %s was interrupted; nothing was changed: %s is as it was", req.BackupID, req.Service, req.Service)
		if res.SafetyBackupID != 0 {
			msg += fmt.Sprintf(" (its safety backup %d was taken and stays)", res.SafetyBackupID)
		}
		return msg
	})
	// One restore onto a service at a time, whatever process runs it.
	release, err := e.holdLease(ctx, RestoreLease(req.Service), fmt.Sprintf("a restore onto service %q", req.Service))
	if err != nil {
		return res, err
	}
	defer release()
	rb, err := e.openReadable(ctx, req.BackupID, req.IdentityFile)
	if err != nil {
		return res, err
	}
	res.Backup, res.Only = rb.b, req.Only
	var files []pool.Entry
	if isPool(rb.b) && req.Only.filestore() {
		// A pool object missing or resized refuses the restore before the
		// safety backup, so nothing at all changes.
		if files, err = e.checkedPoolFiles(ctx, rb); err != nil {
			return res, err
		}
	}
	if req.Only == RestoreFilestoreOnly {
		if err := e.noFilestore(ctx, rb, files); err != nil {
			return res, err
		}
	}
	svc, err := e.Catalog.Service(ctx, req.Service)
	if err != nil {
		return res, err
	}
	primary, err := e.Catalog.Primary(ctx, svc.Name)
	if err := CheckRestoreTarget(svc, err); err != nil {
		return res, err
	}
	finalFS, err := filepath.Abs(svc.FilestoreDir)
	if err != nil {
		return res, err
	}

	server := svc.DB
	server.Database = maintenanceDB
	// Refuse a server the dump could not be loaded on before the safety
	// backup: nothing changes then.
	if req.Only.database() {
		probe, err := createLoader(ctx, server)
		if err != nil {
			return res, err
		}
		if err := probe.drop(context.WithoutCancel(ctx)); err != nil {
			return res, err
		}
	}
	owner, err := replacedOwner(ctx, svc, server, finalFS)
	if err != nil {
		return res, err
	}

	// The service's restore hooks bracket everything that changes it, the
	// safety backup included (see hookjob.go).
	postHook, err := e.preRestore(ctx, svc, rb.b, finalFS)
	if postHook != nil {
		defer func() { postHook(&res, err) }()
	}
	if err != nil {
		return res, err
	}

	rep := e.reporter(req.Progress)
	rep.set(PhaseSafety, 0)
	var safetyProgress ProgressFunc
	if req.Progress != nil {
		safetyProgress = func(p Progress) { p.Phase = PhaseSafety; req.Progress(p) }
	}
	safety, err := e.Backup(ctx, BackupRequest{Service: svc.Name, Destinations: []string{primary.Destination}, Kind: KindSafety, Progress: safetyProgress})
	if err != nil {
		return res, Userf(err, "the safety backup of %q to %q failed, so nothing was restored and %q is unchanged: %s", svc.Name, primary.Destination, svc.Name, message(err))
	}
	if len(safety) != 1 {
		return res, fmt.Errorf("safety backup of %s gave %d backups, want 1", svc.Name, len(safety))
	}
	res.SafetyBackupID = safety[0].ID
	e.log().Info("safety backup taken", "service", svc.Name, "backup", res.SafetyBackupID, "destination", primary.Destination)

	spec := stageSpec{
		rb: rb, server: server, finalDB: svc.DB.Database, finalFS: finalFS, owner: owner,
		judge: true, acceptErrors: req.AcceptErrors, unchanged: fmt.Sprintf("%s is unchanged (safety backup %d stays)", svc.Name, res.SafetyBackupID),
		neutralize: req.Neutralize, files: files, poolChecked: true, only: req.Only, attachDB: svc.DB.Database,
	}
	// The restore is timed from here, after the safety backup, to the swap:
	// what bringing the service back takes (recordRestore).
	start := e.now()
	err = e.restoreStaged(ctx, spec, &res, rep, func(st *staged) error {
		rep.set(PhaseSwap, rb.b.Size)
		old, err := st.swap(ctx)
		if err != nil {
			return err
		}
		res.Warnings = old.remove(context.WithoutCancel(ctx), e)
		st.report(&res)
		return nil
	})
	if req.Only == RestoreAll {
		// Only a whole restore brings a service back: a part is no RTO.
		e.recordRestore(ctx, rb.b, svc.Name, start, err)
	}
	if err != nil {
		return res, err
	}
	if req.Only.database() {
		res.Database = svc.DB.Database
	}
	if req.Only.filestore() {
		res.FilestoreDir = finalFS
	}
	e.log().Info("restore onto service finished", "backup", rb.b.ID, "service", svc.Name, "only", string(req.Only), "safety_backup", res.SafetyBackupID,
		"neutralized", req.Neutralize, "sql_errors", res.SQLErrorCount, "missing_files", res.MissingCount, "warnings", len(res.Warnings))
	return res, nil
}

// replacedOwner is who the restored data of svc belongs to (SPEC rule 7):
// the owner of the database it replaces (the service's connection role if
// there is none), and the owner, group and modes of the filestore it
// replaces (the parent directory's if there is none).
func replacedOwner(ctx context.Context, svc Service, server DBConn, finalFS string) (restoreOwner, error) {
	var o restoreOwner
	role, err := databaseOwner(ctx, server, svc.DB.Database)
	if err != nil {
		return o, err
	}
	if role == "" {
		role = svc.DB.User
	}
	o.role = role
	o.fs, o.fsSet = ownershipOfTree(finalFS)
	return o, nil
}

// message is the sentence of an error, without the layers' prefixes.
func message(err error) string {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return err.Error()
}

// replaced is what a swap moved aside: the target's previous database and
// filestore, under their temporary names.
type replaced struct {
	server DBConn
	db     string // empty when the database was not swapped
	fs     string // empty when the target had no filestore directory, or it was not swapped
}

// remove drops the old database and filestore, and returns what it could
// not remove.
func (r replaced) remove(ctx context.Context, e *Engine) []string {
	var warnings []string
	if r.db != "" {
		if err := dropDatabase(ctx, r.server, r.db); err != nil {
			e.log().Warn("cannot drop the replaced database", "database", r.db, "error", err)
			warnings = append(warnings, fmt.Sprintf("the previous database is still there as %q (%v); drop it by hand once you are satisfied", r.db, err))
		}
	}
	if r.fs != "" {
		if err := os.RemoveAll(r.fs); err != nil {
			e.log().Warn("cannot remove the replaced filestore", "dir", r.fs, "error", err)
			warnings = append(warnings, fmt.Sprintf("the previous filestore is still there in %s (%v); remove it by hand", r.fs, err))
		}
	}
	return warnings
}

// swapAttempts bounds how often the swap ends the target's sessions and
// retries the rename when a client reconnects in between (an Odoo worker
// does within milliseconds).
const swapAttempts = 50

// swap replaces the target database and filestore with the staged ones
// (with the one staged, when a part was: the other is not touched, nor are
// the target database's sessions when only the filestore is swapped).
// On error everything is as before: the target under its name, the staged
// restore under its temporary names (for discard).
func (st *staged) swap(ctx context.Context) (replaced, error) {
	suffix := randomSuffix()
	base := st.finalDB
	if len(base) > 45 {
		base = base[:45]
	}
	old := replaced{server: st.server}
	if err := st.handOver(ctx); err != nil {
		return old, err
	}
	undo := context.WithoutCancel(ctx)
	// undoDB puts the databases back once they are swapped.
	undoDB := func() error { return nil }
	if st.tmpDB != "" {
		old.db = base + "_old_" + suffix
		admin, err := ConnectDB(ctx, st.server)
		if err != nil {
			return old, err
		}
		defer admin.Close(context.WithoutCancel(ctx))
		if err := renameInUse(ctx, admin, st.finalDB, old.db); err != nil {
			return old, Userf(err, "cannot move database %q aside to swap in the restored one (%v); nothing was changed", st.finalDB, err)
		}
		if err := renameDB(ctx, admin, st.tmpDB, st.finalDB); err != nil {
			if uerr := renameInUse(undo, admin, old.db, st.finalDB); uerr != nil {
				return old, fmt.Errorf("rename %s to %s: %w; and moving the original back failed (%v): it is now named %s", st.tmpDB, st.finalDB, err, uerr, old.db)
			}
			return old, Userf(err, "cannot rename the restored database to %q (%v); nothing was changed", st.finalDB, err)
		}
		undoDB = func() error {
			if err := renameInUse(undo, admin, st.finalDB, st.tmpDB); err != nil {
				return err
			}
			return renameInUse(undo, admin, old.db, st.finalDB)
		}
	}
	if st.tmpFS == "" {
		st.tmpDB = ""
		return old, nil
	}

	fsFailed := func(err error, what string) (replaced, error) {
		if uerr := undoDB(); uerr != nil {
			return old, fmt.Errorf("%s: %w; and swapping the databases back failed (%v): the original database is named %s", what, err, uerr, old.db)
		}
		why := err
		var le *os.LinkError
		if errors.As(err, &le) {
			why = le.Err
		}
		return old, Userf(err, "cannot %s (%v); nothing was changed", what, why)
	}
	if _, err := os.Lstat(st.finalFS); err == nil {
		old.fs = filepath.Join(filepath.Dir(st.finalFS), "."+filepath.Base(st.finalFS)+".old-"+suffix)
		if err := renameDir(st.finalFS, old.fs); err != nil {
			old.fs = ""
			return fsFailed(err, "move the filestore "+st.finalFS+" aside")
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fsFailed(err, "look at the filestore "+st.finalFS)
	}
	if err := renameDir(st.tmpFS, st.finalFS); err != nil {
		if old.fs != "" {
			if rerr := renameDir(old.fs, st.finalFS); rerr != nil {
				return old, fmt.Errorf("move the restored filestore to %s: %w; and moving the original back failed (%v): it is in %s", st.finalFS, err, rerr, old.fs)
			}
		}
		old.fs = ""
		return fsFailed(err, "move the restored filestore to "+st.finalFS)
	}
	st.tmpDB, st.tmpFS = "", ""
	return old, nil
}

// renameDir is os.Rename for the filestore directories a swap moves; tests
// make it fail.
var renameDir = os.Rename

func renameDB(ctx context.Context, admin *pgx.Conn, from, to string) error {
	_, err := admin.Exec(ctx, "ALTER DATABASE "+quoteIdent(from)+" RENAME TO "+quoteIdent(to))
	return err
}

// renameInUse ends the sessions on a database and renames it, retrying while
// sessions come back or are still ending (PostgreSQL refuses to rename a
// database anyone is connected to).
func renameInUse(ctx context.Context, admin *pgx.Conn, from, to string) error {
	var err error
	for range swapAttempts {
		if _, err = admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", from); err != nil {
			return err
		}
		if err = renameDB(ctx, admin, from, to); err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			return err
		}
		// A terminated backend takes a moment to exit.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}
