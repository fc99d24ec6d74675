package core

import (
	"context"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// stageSpec says what a restore stages, where, and what it makes of the
// staged copy before the restore uses it.
type stageSpec struct {
	rb readableBackup
	// server is the PostgreSQL server's maintenance database.
	server DBConn
	// finalDB and finalFS are where the copy goes if it is put in place; it
	// is staged beside them under temporary names.
	finalDB, finalFS string
	owner            restoreOwner

	// judge runs CheckRestored on the staged copy; a copy that fails is
	// refused unless acceptErrors, and the refusal says that unchanged
	// stayed as it was. A drill judges the copy itself.
	judge        bool
	acceptErrors bool
	unchanged    string
	// neutralize neutralizes the copy (which gives it a new identity too);
	// newIdentity only gives it a new database.uuid and database.secret.
	neutralize, newIdentity bool

	// files is a pool backup's file list, its objects checked
	// (checkedPoolFiles) when poolChecked; restoreStaged reads and checks it
	// otherwise.
	files       []pool.Entry
	poolChecked bool

	// only stages one half of the backup (stageRestore); a filestore
	// alone has no database to judge or neutralize, and the attachments of
	// attachDB (the service's own database it is for) are looked for in it.
	only     RestorePart
	attachDB string
}

// restoreStaged is the one path of every restore (into a new database, onto
// a service, a drill, and so the upload and the service copy restored by
// them): the archive's checksum is verified, the dump loaded into a staging
// database through the dump guard as a throwaway role and the filestore
// extracted into a staging directory (stageRestore), the copy checked
// (CheckRestored), neutralized or given a new identity as asked, and only
// then handed to use, which puts it in place (publishNew, swap) or looks at
// it (a drill). Whatever use leaves staged (a failure anywhere, or a drill's
// copy) is removed when restoreStaged returns, even once ctx has ended.
// What the checks and changes found goes to res as they happen (res may be
// nil), so a refused copy's result says why.
func (e *Engine) restoreStaged(ctx context.Context, spec stageSpec, res *RestoreResult, rep *progressReporter, use func(*staged) error) error {
	if res == nil {
		res = &RestoreResult{}
	}
	rb := spec.rb
	if isPool(rb.b) && !spec.poolChecked {
		// Every object is there with its size before anything is made.
		var err error
		if spec.files, err = e.checkedPoolFiles(ctx, rb); err != nil {
			return err
		}
	}
	rep.total = rb.b.Size
	rep.set(PhaseVerify, 0)
	if err := e.checksum(ctx, rb, nil, rep); err != nil {
		return err
	}
	st, err := e.stageRestore(ctx, rb, spec.files, spec.server, spec.finalDB, spec.finalFS, spec.owner, spec.only, spec.attachDB, rep)
	if err != nil {
		return err
	}
	defer st.discard(context.WithoutCancel(ctx))
	if !spec.only.database() {
		res.Checks.Skipped = append(res.Checks.Skipped, "the database (key tables, row counts, base installed): only the filestore was restored, the database was left as it was")
		return use(st)
	}
	if spec.judge {
		if res.Checks, err = e.checkStaged(ctx, st, rb, spec.acceptErrors, rep); err != nil {
			return refusedChecks(err, spec.unchanged)
		}
	}
	if spec.neutralize {
		rep.set(PhaseNeutralize, rb.b.Size)
		if res.Neutralized, err = st.neutralize(ctx); err != nil {
			return err
		}
		res.IsNeutralized, res.NewIdentity = true, true
	}
	if spec.newIdentity && !spec.neutralize {
		if err := ResetDatabaseIdentity(ctx, st.dbConn()); err != nil {
			return err
		}
		res.NewIdentity = true
	}
	return use(st)
}

// report fills what res says of the loaded copy once it is in place.
func (st *staged) report(res *RestoreResult) {
	res.FilestoreFiles = st.files
	res.SQLErrorCount, res.SQLErrors = st.sqlErrors.count, st.sqlErrors.first
	res.MissingFiles, res.MissingCount = st.missing, st.missingCount
}
