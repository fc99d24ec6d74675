package core

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
	"github.com/odoo-backup/odoo-backup/core/odoozip"
	"github.com/odoo-backup/odoo-backup/core/pool"
)

const (
	// ActionChooseFilestore: the filestore directory in Detail, where a new
	// database's files would go, is not empty.
	ActionChooseFilestore Action = "choose-filestore"
	// ActionChooseDatabase: the new database named in Detail exists.
	ActionChooseDatabase Action = "choose-database"
	// ActionRestoreWhole: Backup holds no filestore, so only the whole
	// backup or its database (Detail: the part that is there) can be
	// restored.
	ActionRestoreWhole Action = "restore-whole"
)

// RestorePart says which half of a backup a restore puts back.
type RestorePart string

const (
	// RestoreAll puts back the database and the filestore.
	RestoreAll RestorePart = ""
	// RestoreDatabaseOnly puts back the database and leaves the filestore
	// as it is.
	RestoreDatabaseOnly RestorePart = "database"
	// RestoreFilestoreOnly puts back the filestore and leaves the database
	// as it is.
	RestoreFilestoreOnly RestorePart = "filestore"
)

// ParseRestorePart reads a part's name; "" and "all" are the whole backup.
func ParseRestorePart(s string) (RestorePart, error) {
	switch p := RestorePart(strings.ToLower(strings.TrimSpace(s))); p {
	case RestoreAll, RestoreDatabaseOnly, RestoreFilestoreOnly:
		return p, nil
	case "all":
		return RestoreAll, nil
	}
	return "", Userf(ErrInvalid, "restore part %q is not one of database or filestore", s)
}

// database says whether a restore of part p puts the database back.
func (p RestorePart) database() bool { return p != RestoreFilestoreOnly }

// filestore says whether a restore of part p puts the filestore back.
func (p RestorePart) filestore() bool { return p != RestoreDatabaseOnly }

// describe is the part in words for the audit trail and logs: "database
// only", "filestore only", "" for the whole backup.
func (p RestorePart) describe() string {
	if p == RestoreAll {
		return ""
	}
	return string(p) + " only"
}

// noFilestore refuses a restore of the filestore alone from a backup that
// holds none: the archive has no filestore entry and, for a pool backup,
// its file list (files, as read) is empty. It reads the archive's index,
// nothing else, and changes nothing.
func (e *Engine) noFilestore(ctx context.Context, rb readableBackup, files []pool.Entry) error {
	held := len(files) > 0
	switch {
	case isPool(rb.b):
	case rb.b.Format == FormatPlainSQL || rb.b.Format == FormatSQLGz || rb.b.Format == FormatPGCustom:
	default:
		a, closer, err := rb.openZip(ctx)
		if err != nil {
			return err
		}
		defer closer.Close()
		held = len(a.Filestore) > 0
	}
	if held {
		return nil
	}
	return Advise(Advice{Action: ActionRestoreWhole, Backup: rb.b.ID, Detail: string(RestoreDatabaseOnly)}, ErrInvalid,
		"backup %d holds no filestore, so there is none to restore", rb.b.ID)
}

// HoldsFilestore says whether backup b holds filestore files, as far as
// its record and the metadata object next to its archive tell, without
// reading the archive: a database-only format holds none, a pool backup as
// many as its file list counts, an Odoo zip as many as its metadata
// records. When they cannot tell it answers true with the error: the
// restore itself refuses a filestore that is not there.
func (e *Engine) HoldsFilestore(ctx context.Context, b Backup) (bool, error) {
	switch {
	case b.Format == FormatPlainSQL || b.Format == FormatSQLGz || b.Format == FormatPGCustom:
		return false, nil
	case isPool(b):
		return b.Pool == nil || b.Pool.Files > 0, nil
	}
	rb, err := e.openBackup(ctx, b.ID)
	if err != nil {
		return true, err
	}
	meta, err := e.readMetadata(ctx, rb.store, rb.b.Key)
	if err != nil {
		return true, err
	}
	return meta.FilestoreFiles > 0, nil
}

// partialNeutralize refuses to neutralize or give a new identity to a
// restore of the filestore alone: both change a database it leaves as it
// is.
func partialNeutralize(only RestorePart, neutralize, newIdentity bool) error {
	if only == RestoreFilestoreOnly && (neutralize || newIdentity) {
		return Userf(ErrInvalid, "neutralizing changes the restored database, and a restore of the filestore alone leaves the database as it is; restore the filestore without neutralizing")
	}
	return nil
}

// RestoreRequest restores a backup into a database that does not exist yet.
type RestoreRequest struct {
	BackupID int64
	// NewDB is the database to create, on the PostgreSQL server of the
	// backup's service.
	NewDB string
	// FilestoreDir is the new database's filestore; empty means
	// <data_dir>/filestore/<NewDB> beside the service's own.
	FilestoreDir string
	// Neutralize makes the copy safe to run beside production (see
	// Neutralize) before it appears under its name.
	Neutralize bool
	// NewIdentity gives the new database a fresh database.uuid and
	// database.secret, as Odoo does when it duplicates a database.
	NewIdentity bool
	// IdentityFile is an age identity file that decrypts an encrypted
	// backup whose destination keeps no key on this host.
	IdentityFile string
	// Owner is the role the new database and every object in it belong
	// to: an existing role that is not a superuser. Empty means the owner
	// of the backup's service's database if it exists, else the service's
	// connection role.
	Owner string
	// AcceptErrors creates the database even when the restored copy fails
	// its checks (CheckRestored); without it such a copy is discarded.
	AcceptErrors bool
	// Only restores one half of the backup (RestoreDatabaseOnly: the
	// database without a filestore; RestoreFilestoreOnly: the filestore
	// alone, for a database made some other way); RestoreAll both.
	Only     RestorePart
	Progress ProgressFunc
}

// RestoreResult says what a restore produced and what it noticed.
type RestoreResult struct {
	Backup         Backup   `json:"backup"`
	Database       string   `json:"database"`
	FilestoreDir   string   `json:"filestore"`
	FilestoreFiles int      `json:"filestore_files"`
	SQLErrorCount  int      `json:"sql_error_count"`
	SQLErrors      []string `json:"sql_errors,omitempty"`
	MissingFiles   []string `json:"missing_files,omitempty"`
	MissingCount   int      `json:"missing_count"`
	// Only is the part of the backup restored ("" the whole backup); the
	// other half of the target was left as it was, and Database or
	// FilestoreDir is empty for a half that was not restored into a new
	// database.
	Only RestorePart `json:"only,omitempty"`
	// SafetyBackupID is the backup of the target taken before a restore
	// onto an existing service replaced its data.
	SafetyBackupID int64 `json:"safety_backup_id,omitempty"`
	// IsNeutralized says whether the restored database was neutralized
	// (mail servers and crons off, database.is_neutralized set, a fresh
	// database.uuid and database.secret); Neutralized lists what that did.
	IsNeutralized bool     `json:"is_neutralized"`
	Neutralized   []string `json:"neutralized,omitempty"`
	// NewIdentity says whether the restored database got a fresh
	// database.uuid and database.secret (always so when neutralized).
	NewIdentity bool `json:"new_identity"`
	// Warnings are problems after the restore was in place (an old
	// database or filestore that could not be removed).
	Warnings []string `json:"warnings,omitempty"`
	// Checks says which checks the restored database went through before
	// it was put in place, and what they found.
	Checks RestoreChecks `json:"checks"`
}

// maintenanceDB is where CREATE/ALTER/DROP DATABASE run, as Odoo does.
const maintenanceDB = "postgres"

// RestoreNewDB restores a backup into a new database and filestore. The
// checksum is verified before anything is created, the archive's entries are
// validated before anything is extracted, and the database and filestore are
// built under temporary names and appear under their real names only once
// both are complete; any failure removes everything it created.
func (e *Engine) RestoreNewDB(ctx context.Context, req RestoreRequest) (_ RestoreResult, err error) {
	var res RestoreResult
	defer func() { e.audit(ctx, e.auditRestoreNewDB(ctx, req, res), err) }()
	if err := e.permit(ctx, ActionRestore); err != nil {
		return res, err
	}
	fsDir := ""
	defer interrupted(ctx, &err, func() string {
		if req.Only == RestoreFilestoreOnly {
			return fmt.Sprintf("the restore of the filestore of backup %d for database %q was interrupted; nothing was created: no filestore %s", req.BackupID, req.NewDB, fsDir)
		}
		return fmt.Sprintf("the restore of backup %d into a new database was interrupted; nothing was created: database %q does not exist", req.BackupID, req.NewDB)
	})
	if err := ValidateDatabaseName(req.NewDB); err != nil {
		return res, err
	}
	if err := partialNeutralize(req.Only, req.Neutralize, req.NewIdentity); err != nil {
		return res, err
	}
	rb, err := e.openReadable(ctx, req.BackupID, req.IdentityFile)
	if err != nil {
		return res, err
	}
	res.Backup, res.Only = rb.b, req.Only
	svc, err := e.Catalog.Service(ctx, rb.b.Service)
	if err != nil {
		return res, Advise(Advice{Action: ActionAddService, Service: rb.b.Service}, err, "backup %d belongs to service %q, which no longer exists, so there is no PostgreSQL server to restore it to", rb.b.ID, rb.b.Service)
	}
	if svc.Placeholder {
		return res, Advise(Advice{Action: ActionSetConnection, Service: svc.Name, Detail: "restoring"}, ErrInvalid, "service %q has no database connection yet", svc.Name)
	}
	fsDir = req.FilestoreDir
	if fsDir == "" {
		fsDir = NewDatabaseFilestore(svc, req.NewDB)
	}
	if fsDir, err = filepath.Abs(fsDir); err != nil {
		return res, err
	}
	if entries, err := os.ReadDir(fsDir); req.Only.filestore() && err == nil && len(entries) > 0 {
		return res, Advise(Advice{Action: ActionChooseFilestore, Detail: fsDir}, ErrExists, "the filestore directory %s already exists and is not empty", fsDir)
	}
	server := svc.DB
	server.Database = maintenanceDB
	var owner string
	if req.Only.database() {
		admin, err := ConnectDB(ctx, server)
		if err != nil {
			return res, err
		}
		exists, err := odoosql.DatabaseExists(ctx, admin, req.NewDB)
		admin.Close(context.WithoutCancel(ctx))
		if err != nil {
			return res, fmt.Errorf("look up database %s: %w", req.NewDB, err)
		}
		if exists {
			return res, Advise(Advice{Action: ActionChooseDatabase, Detail: req.NewDB}, ErrExists, "database %q already exists on %s", req.NewDB, server.Address())
		}
		if owner, err = newDatabaseOwner(ctx, svc, server, req.Owner); err != nil {
			return res, err
		}
	}

	unchanged := fmt.Sprintf("nothing was created (no database %q, no filestore %s)", req.NewDB, fsDir)
	switch req.Only {
	case RestoreDatabaseOnly:
		unchanged = fmt.Sprintf("nothing was created (no database %q)", req.NewDB)
	case RestoreFilestoreOnly:
		unchanged = fmt.Sprintf("nothing was created (no filestore %s)", fsDir)
	}
	spec := stageSpec{
		rb: rb, server: server, finalDB: req.NewDB, finalFS: fsDir, owner: restoreOwner{role: owner},
		judge: req.Only.database(), acceptErrors: req.AcceptErrors, unchanged: unchanged,
		neutralize: req.Neutralize, newIdentity: req.NewIdentity, only: req.Only,
	}
	if req.Only == RestoreFilestoreOnly {
		// A backup without a filestore is refused before anything is made.
		if isPool(rb.b) {
			if spec.files, err = e.checkedPoolFiles(ctx, rb); err != nil {
				return res, err
			}
			spec.poolChecked = true
		}
		if err := e.noFilestore(ctx, rb, spec.files); err != nil {
			return res, err
		}
	}
	rep := e.reporter(req.Progress)
	// Timed from the archive's first byte to the new database under its
	// name (recordRestore).
	start := e.now()
	err = e.restoreStaged(ctx, spec, &res, rep, func(st *staged) error {
		rep.set(PhaseSwap, rb.b.Size)
		if err := st.publishNew(ctx); err != nil {
			return err
		}
		st.report(&res)
		return nil
	})
	if req.Only == RestoreAll {
		// Only a whole restore brings a service back: a part is no RTO.
		e.recordRestore(ctx, rb.b, req.NewDB, start, err)
	}
	if err != nil {
		return res, err
	}
	if req.Only.database() {
		res.Database = req.NewDB
	}
	if req.Only.filestore() {
		res.FilestoreDir = fsDir
	}
	e.log().Info("restore finished", "backup", rb.b.ID, "database", res.Database, "filestore", res.FilestoreDir, "only", string(req.Only),
		"sql_errors", res.SQLErrorCount, "missing_files", res.MissingCount)
	return res, nil
}

// staged is a restore built beside its target under temporary names.
type staged struct {
	e       *Engine
	server  DBConn // on the maintenance database
	tmpDB   string
	tmpFS   string
	finalDB string
	finalFS string

	files        int
	sqlErrors    *errorLines
	missing      []string
	missingCount int
	// known are the files the backup recorded as missing when it was taken
	// (the first MaxMissingNames); unknownMissing counts the missing files
	// that are not among them.
	known          map[string]bool
	unknownMissing int
	firstUnknown   string

	// loader is the throwaway role the staged database belongs to until
	// handOver gives it to owner; nil after.
	loader *loader
	owner  restoreOwner
}

// loadConn is how the dump's SQL reaches the staged database: as the
// loader, never as the service's (super)user.
func (st *staged) loadConn() DBConn { return st.loader.conn(st.tmpDB) }

// dbConn is how the engine's own checks and changes of the staged
// database (attachments, neutralization, identity, drill counts) reach it:
// as the loader while it owns the database, so no trigger, view or function
// the dump planted ever runs with more rights than the dump had.
func (st *staged) dbConn() DBConn {
	if st.loader != nil {
		return st.loadConn()
	}
	c := st.server
	c.Database = st.tmpDB
	return c
}

// handOver gives the staged database and every object in it to its final
// owner and drops the loader. It is the last step before the staged
// database takes its real name.
func (st *staged) handOver(ctx context.Context) error {
	if st.loader == nil {
		return nil
	}
	if err := st.loader.handOver(ctx, st.tmpDB, st.owner.role); err != nil {
		return err
	}
	st.loader = nil
	return nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// stageRestore loads the archive into a new temporary database and a
// temporary filestore directory next to finalFS. On error it has removed
// both.
//
// An Odoo zip gives the database (dump.sql through psql) and the filestore.
// A pool backup's archive gives the database the same way, and its
// filestore is fetched from the pool (files, its checked file list).
// The database-only formats of uploaded backups (plain or gzipped SQL through
// psql, custom format through pg_restore) give an empty filestore directory:
// the restored service then has exactly what the backup held, and the
// attachments it lacks are reported as missing files.
//
// A part (only) stages that half alone: the database without a filestore
// directory, its attachments looked for in the filestore it will use
// (finalFS, kept as it is); or the filestore without a database, the
// attachments of the database attachDB (a service's own, "" none) looked
// for in it. The archive's entries are validated either way.
func (e *Engine) stageRestore(ctx context.Context, rb readableBackup, files []pool.Entry, server DBConn, finalDB, finalFS string, owner restoreOwner, only RestorePart, attachDB string, rep *progressReporter) (st *staged, err error) {
	ra := newObjectReaderAt(ctx, rb.store, rb.b.Key, rb.b.Size, nil)
	defer ra.Close()
	var a *odoozip.Archive
	zipped := rb.b.Format == "" || rb.b.Format == FormatOdooZip || isPool(rb.b)
	switch {
	case zipped:
		pra, size, err := rb.plainReaderAt(ra)
		if err != nil {
			return nil, err
		}
		if a, err = openArchive(pra, size, rb.b); err != nil {
			if isCancellation(ctx, err) {
				return nil, ctx.Err()
			}
			return nil, err
		}
	case rb.b.Format == FormatPlainSQL || rb.b.Format == FormatSQLGz || rb.b.Format == FormatPGCustom:
		a = &odoozip.Archive{}
	default:
		return nil, Userf(ErrInvalid, "backup %d has format %q, which this version cannot restore", rb.b.ID, rb.b.Format)
	}
	parent := filepath.Dir(finalFS)
	if only.filestore() {
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return nil, Userf(err, "cannot create %s: %v; check its permissions", parent, errors.Unwrap(err))
		}
		need := a.FilestoreSize
		if isPool(rb.b) && rb.b.Pool != nil {
			need = uint64(rb.b.Pool.Bytes)
		}
		if err := checkFreeSpace(parent, need); err != nil {
			return nil, err
		}
		if !owner.fsSet {
			owner.fs = ownershipFromParent(parent)
		}
	}

	base := finalDB
	if len(base) > 40 {
		base = base[:40]
	}
	suffix := randomSuffix()
	st = &staged{
		e: e, server: server, finalDB: finalDB, finalFS: finalFS,
		tmpDB:     base + "_restoring_" + suffix,
		tmpFS:     filepath.Join(parent, "."+filepath.Base(finalFS)+".restoring-"+suffix),
		sqlErrors: &errorLines{max: 20},
		owner:     owner,
		known:     knownMissing(rb.b),
	}
	if !only.filestore() {
		st.tmpFS = ""
	}
	defer func() {
		if err != nil {
			st.discard(context.WithoutCancel(ctx))
			st = nil
		}
	}()
	if !only.database() {
		st.tmpDB = ""
		return st, st.stageFilestore(ctx, rb, a, ra, files, attachDB, rep)
	}

	if st.loader, err = createLoader(ctx, server); err != nil {
		return st, err
	}
	admin, err := ConnectDB(ctx, server)
	if err != nil {
		return st, err
	}
	var versionNum int
	err = admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&versionNum)
	if err == nil {
		// As Odoo's _create_empty_database does, owned by the loader.
		_, err = admin.Exec(ctx, "CREATE DATABASE "+quoteIdent(st.tmpDB)+" OWNER "+quoteIdent(st.loader.name)+" ENCODING 'unicode' LC_COLLATE 'C' TEMPLATE template0")
	}
	admin.Close(context.WithoutCancel(ctx))
	if err != nil {
		return st, Userf(err, "cannot create a database on %s: %v; the service's user needs the CREATEDB right", server.Address(), err)
	}
	rep.set(PhaseRestoreDB, rep.bytes)
	ra.onRead = func(n int64) { rep.add(n) }
	rep.set(PhaseRestoreDB, 0)
	loadCtx := ctx
	var fetch *poolFetch
	if isPool(rb.b) && only.filestore() {
		// The filestore comes from the pool while psql loads the dump; a
		// file that fails stops the load.
		rep.total = rb.b.Size + rb.b.Pool.Bytes
		var stopLoad context.CancelFunc
		loadCtx, stopLoad = context.WithCancel(ctx)
		defer stopLoad()
		fetch = st.startPoolFetch(ctx, rb, files, rep, stopLoad)
		defer fetch.abort()
	}
	if zipped {
		psql, err := e.Tools.Find("psql", versionNum/10000)
		if err == nil {
			err = st.loadDump(loadCtx, a.Dump, psql)
		}
		if err != nil {
			return st, fetch.rather(err)
		}
	} else if err := st.loadStream(ctx, rb, versionNum/10000, rep); err != nil {
		return st, err
	}
	switch {
	case !only.filestore():
		// The database alone: its attachments are looked for in the
		// filestore it keeps.
		rep.set(PhaseCheck, rep.bytes)
		return st, st.checkAttachments(ctx, st.dbConn(), finalFS)
	case fetch != nil:
		// The fetch may still be adding its bytes.
		rep.enter(PhaseRestoreFS)
		if err := fetch.wait(); err != nil {
			return st, err
		}
		rep.total = rb.b.Size
	default:
		rep.set(PhaseRestoreFS, rep.bytes)
		if err := st.extractFilestore(ctx, a.Filestore); err != nil {
			return st, err
		}
	}
	rep.set(PhaseCheck, rep.bytes)
	if err := st.checkAttachments(ctx, st.dbConn(), st.tmpFS); err != nil {
		return st, err
	}
	return st, nil
}

// stageFilestore stages the filestore alone, from the archive a (read
// through ra) or, for a pool backup, from the pool (files), then looks for
// the attachments of database attachDB in it. That database, a service's
// own, is only read, as the service's connection role reads it for a
// backup; one that does not exist or cannot be read leaves the attachments
// unchecked. A database made some other way is not read at all ("").
func (st *staged) stageFilestore(ctx context.Context, rb readableBackup, a *odoozip.Archive, ra *objectReaderAt, files []pool.Entry, attachDB string, rep *progressReporter) error {
	ra.onRead = func(n int64) { rep.add(n) }
	if isPool(rb.b) {
		rep.total = rb.b.Size + rb.b.Pool.Bytes
		rep.set(PhaseRestoreFS, rep.bytes)
		if err := st.fetchPoolFiles(ctx, rb, files, rep); err != nil {
			return err
		}
		rep.total = rb.b.Size
	} else {
		rep.set(PhaseRestoreFS, rep.bytes)
		if err := st.extractFilestore(ctx, a.Filestore); err != nil {
			return err
		}
	}
	if attachDB == "" {
		return nil
	}
	rep.set(PhaseCheck, rep.bytes)
	exists, err := databaseOwner(ctx, st.server, attachDB)
	if err == nil && exists != "" {
		c := st.server
		c.Database = attachDB
		err = st.checkAttachments(ctx, c, st.tmpFS)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		st.missing, st.missingCount = nil, 0
		st.e.log().Warn("the attachments of the database were not looked for in the restored filestore", "database", attachDB, "error", err)
	}
	return nil
}

// loadDump runs dump.sql through psql the way Odoo restores a zip: errors
// are collected and reported but do not stop the load; psql itself failing
// does. The dump passes through the guard, which stops the load at anything
// psql would run as a meta-command (SPEC rule 13); a psql that knows
// \restrict is also told to refuse every meta-command itself, with a key
// the dump cannot know.
func (st *staged) loadDump(ctx context.Context, dump interface {
	Open() (io.ReadCloser, error)
}, psql Tool) error {
	rc, err := dump.Open()
	if err != nil && isCancellation(ctx, err) {
		return ctx.Err()
	}
	if err != nil {
		return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "cannot read dump.sql from the backup: %v", err)
	}
	defer rc.Close()
	in := guardDump(rc, psql)
	conn := st.loadConn()
	args := append([]string{"--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=0", "--file", "-"}, pgArgs(conn, st.tmpDB)...)
	cmd := exec.CommandContext(ctx, psql.Path, args...)
	cmd.Env = append(pgEnv(conn), psqlEncodingEnv)
	cmd.Stdout = io.Discard
	cmd.Stderr = st.sqlErrors
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", psql.Path, err)
	}
	_, copyErr := io.Copy(stdin, in)
	refused := refusedDump(copyErr)
	if refused != nil {
		// Before its input ends: at the end psql would send the statement
		// it is collecting.
		_ = cmd.Process.Kill()
	}
	stdin.Close()
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case refused != nil:
		return refused
	case waitErr != nil:
		return Userf(waitErr, "psql stopped while loading dump.sql (%v): %s; the restore was undone", waitErr, st.sqlErrors.lastLine())
	case copyErr != nil && !errors.Is(copyErr, syscall.EPIPE):
		if errors.Is(copyErr, odoozipErrChecksum) || errors.Is(copyErr, ErrCorrupt) {
			return Userf(fmt.Errorf("%w: %w", ErrCorrupt, copyErr), "dump.sql in the backup is damaged (%v); the restore was undone, pick another backup", copyErr)
		}
		return fmt.Errorf("feed dump.sql to psql: %w", copyErr)
	}
	return nil
}

// extractFilestore writes every filestore entry into the temporary directory.
func (st *staged) extractFilestore(ctx context.Context, files []*zipFile) error {
	if err := os.Mkdir(st.tmpFS, 0o700); err != nil {
		return Userf(err, "cannot create the filestore directory %s: %v; check the permissions of %s", st.tmpFS, errors.Unwrap(err), filepath.Dir(st.tmpFS))
	}
	owner := st.owner.fs
	if err := owner.apply(st.tmpFS, 0o700); err != nil {
		return st.fsError(ctx, err)
	}
	made := map[string]bool{st.tmpFS: true}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := odoozip.StoreFname(f)
		if err := odoozip.CheckStoreFname(name); err != nil {
			return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "the backup holds an unsafe filestore entry: %v", err)
		}
		path := filepath.Join(st.tmpFS, filepath.FromSlash(name))
		dir := filepath.Dir(path)
		if !made[dir] {
			if err := mkdirAllOwned(st.tmpFS, dir, owner); err != nil {
				return st.fsError(ctx, err)
			}
			made[dir] = true
		}
		if err := writeEntry(ctx, f, path); err != nil {
			return st.fsError(ctx, err)
		}
		if err := owner.apply(path, owner.fileMode); err != nil {
			return st.fsError(ctx, err)
		}
		st.files++
	}
	// The root gets its mode last: until then the tree is the restore's.
	if err := os.Chmod(st.tmpFS, owner.rootMode); err != nil {
		return st.fsError(ctx, err)
	}
	return nil
}

func (st *staged) fsError(ctx context.Context, err error) error {
	if isCancellation(ctx, err) {
		// The entry's read was cut by the cancellation: the backup is
		// not judged, let alone damaged.
		return err
	}
	if errors.Is(err, syscall.ENOSPC) {
		return Userf(fmt.Errorf("%w: %w", ErrNoSpace, err), "the disk holding %s is full; free space and restore again (nothing was changed)", filepath.Dir(st.tmpFS))
	}
	if errors.Is(err, fs.ErrPermission) {
		return Userf(fmt.Errorf("%w: %w", ErrAccessDenied, err), "cannot write the filestore under %s (permission denied); check that directory's owner and mode", filepath.Dir(st.tmpFS))
	}
	if errors.Is(err, ErrCorrupt) {
		return Userf(err, "the backup's filestore is damaged (%v); the restore was undone, pick another backup", err)
	}
	return err
}

func writeEntry(ctx context.Context, f *zipFile, path string) error {
	rc, err := f.Open()
	if err != nil && isCancellation(ctx, err) {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, rc)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, fs.ErrPermission) && !isCancellation(ctx, err) {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = fmt.Errorf("%w: %s: %w", ErrCorrupt, f.Name, err)
		}
	}
	return err
}

// checkAttachments reports every attachment file the database at conn
// refers to that the filestore dir lacks.
func (st *staged) checkAttachments(ctx context.Context, c DBConn, dir string) error {
	conn, err := connectPinned(ctx, c)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	has, err := odoosql.HasAttachments(ctx, conn)
	if errors.As(err, new(*odoosql.NotATableError)) {
		// Not read: the checks of the restored database name it.
		return nil
	}
	if err != nil || !has {
		return err
	}
	return odoosql.EachAttachmentFile(ctx, conn, func(fname string) error {
		if odoozip.CheckStoreFname(fname) != nil {
			return nil
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(fname))); err != nil {
			st.missingCount++
			if len(st.missing) < 20 {
				st.missing = append(st.missing, fname)
			}
			if !st.known[fname] {
				st.unknownMissing++
				if st.firstUnknown == "" {
					st.firstUnknown = fname
				}
			}
		}
		return nil
	})
}

// knownMissing is the set of files b recorded as missing when it was taken.
func knownMissing(b Backup) map[string]bool {
	known := make(map[string]bool, len(b.MissingFiles))
	for _, f := range b.MissingFiles {
		known[f] = true
	}
	return known
}

// neutralize neutralizes the staged database.
func (st *staged) neutralize(ctx context.Context) ([]string, error) {
	return Neutralize(ctx, st.dbConn())
}

// publishNew gives the staged database and filestore (or the one of them
// staged) their real names.
func (st *staged) publishNew(ctx context.Context) error {
	if err := st.handOver(ctx); err != nil {
		return err
	}
	if st.tmpFS != "" {
		if err := os.Rename(st.tmpFS, st.finalFS); err != nil {
			// An empty directory left where the filestore goes is replaced.
			if rmErr := os.Remove(st.finalFS); rmErr != nil || os.Rename(st.tmpFS, st.finalFS) != nil {
				return Userf(err, "cannot move the restored filestore into %s: %v", st.finalFS, errors.Unwrap(err))
			}
		}
	}
	if st.tmpDB != "" {
		admin, err := ConnectDB(ctx, st.server)
		if err == nil {
			_, err = admin.Exec(ctx, "ALTER DATABASE "+quoteIdent(st.tmpDB)+" RENAME TO "+quoteIdent(st.finalDB))
			admin.Close(context.WithoutCancel(ctx))
		}
		if err != nil {
			if st.tmpFS != "" {
				if rerr := os.Rename(st.finalFS, st.tmpFS); rerr != nil {
					return fmt.Errorf("rename database %s to %s: %w (and moving the filestore back failed: %v)", st.tmpDB, st.finalDB, err, rerr)
				}
			}
			return Userf(err, "cannot rename the restored database to %q: %v; nothing was changed", st.finalDB, err)
		}
	}
	st.tmpDB, st.tmpFS = "", ""
	return nil
}

// discard removes whatever the staged restore created.
func (st *staged) discard(ctx context.Context) {
	if st.tmpFS != "" {
		if err := os.RemoveAll(st.tmpFS); err != nil {
			st.e.log().Error("cannot remove the temporary filestore", "dir", st.tmpFS, "error", err)
		}
	}
	if st.tmpDB != "" {
		if err := dropDatabase(ctx, st.server, st.tmpDB); err != nil {
			st.e.log().Error("cannot drop the temporary database", "database", st.tmpDB, "error", err)
		}
	}
	if st.loader != nil {
		if err := st.loader.drop(ctx); err != nil {
			st.e.log().Error("cannot drop the temporary role the dump was loaded as", "role", st.loader.name, "error", err)
		} else {
			st.loader = nil
		}
	}
}

// dropDatabase ends the database's connections and drops it, on any server
// version.
func dropDatabase(ctx context.Context, server DBConn, name string) error {
	admin, err := ConnectDB(ctx, server)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		return err
	}
	_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name))
	return err
}

// checkFreeSpace refuses a restore whose filestore cannot fit.
func checkFreeSpace(dir string, need uint64) error {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return nil
	}
	avail := s.Bavail * uint64(s.Bsize)
	if need+need/20 > avail {
		return Userf(ErrNoSpace, "the filestore needs %d bytes but only %d are free under %s; free space first (nothing was changed)", need, avail, dir)
	}
	return nil
}

// mkdirAllOwned makes dir and the directories between root and it, with
// o's owner and directory mode.
func mkdirAllOwned(root, dir string, o fsOwnership) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%w: %s escapes %s", ErrCorrupt, dir, root)
	}
	cur := root
	for _, seg := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, seg)
		if err := os.Mkdir(cur, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err := os.Lstat(cur)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrCorrupt, cur)
		}
		if err := o.apply(cur, o.dirMode); err != nil {
			return err
		}
	}
	return nil
}

// errorLines collects psql's error output: how many errors, the first few,
// and the last line, in bounded memory.
type errorLines struct {
	mu      sync.Mutex
	max     int
	count   int
	first   []string
	partial []byte
	last    string
}

func (e *errorLines) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	data := append(e.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		e.line(string(data[:i]))
		data = data[i+1:]
	}
	if len(data) > 4096 {
		data = data[:4096]
	}
	e.partial = append(e.partial[:0], data...)
	return len(p), nil
}

func (e *errorLines) line(l string) {
	l = strings.TrimSpace(l)
	if l == "" {
		return
	}
	if len(l) > 500 {
		l = l[:500] + "…"
	}
	e.last = l
	if strings.Contains(l, "ERROR:") || strings.Contains(l, "FATAL:") {
		e.count++
		if len(e.first) < e.max {
			e.first = append(e.first, l)
		}
	}
}

func (e *errorLines) lastLine() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.partial) > 0 {
		return strings.TrimSpace(string(e.partial))
	}
	return e.last
}

type zipFile = zip.File

var odoozipErrChecksum = zip.ErrChecksum
