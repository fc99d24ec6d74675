package core

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core/dumpguard"
	"github.com/odoo-backup/odoo-backup/core/odoozip"
	"github.com/odoo-backup/odoo-backup/core/pool"
)

// UploadInfo is what a backup file from elsewhere holds, as far as it says.
type UploadInfo struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	// Database is the name of the database it was dumped from, where the
	// file says (a zip's manifest, a custom dump's header); else empty.
	Database    string `json:"database,omitempty"`
	OdooVersion string `json:"odoo_version,omitempty"`
	PGVersion   string `json:"pg_version,omitempty"`
	// Modules is the number of installed modules the manifest lists; -1
	// when unknown.
	Modules        int    `json:"modules"`
	WithFilestore  bool   `json:"with_filestore"`
	FilestoreFiles int    `json:"filestore_files"`
	FilestoreBytes uint64 `json:"filestore_bytes"`
}

// UploadRequest uploads a backup file to a service's primary destination.
type UploadRequest struct {
	Path     string
	Service  string
	Progress ProgressFunc
}

// Gzip bounds: a plain SQL dump compresses perhaps 5 to 20 times; past
// maxGzipRatio (once gzipFreeBytes are out) it is a bomb, not a dump.
var (
	maxGzipRatio  int64 = 200
	gzipFreeBytes int64 = 64 << 20
	maxGzipTotal  int64 = 4 << 40
)

var (
	zipMagic    = []byte("PK\x03\x04")
	gzipMagic   = []byte{0x1f, 0x8b}
	customMagic = []byte("PGDMP")
)

// dumpComplete is the comment pg_dump writes at the end of a plain dump; a
// dump without it was cut short.
const dumpComplete = "-- PostgreSQL database dump complete"

// InspectUpload validates a backup file completely, deciding its format by
// its content rather than its name: an Odoo database manager zip (with or
// without filestore), a plain pg_dump (.sql), a gzip-compressed one
// (.sql.gz), or a pg_dump custom-format archive. A file that is hostile
// (paths leaving the archive, links, absurd expansion), broken (truncated,
// bad checksums) or not a backup at all is refused with ErrCorrupt or
// ErrInvalid.
func (e *Engine) InspectUpload(ctx context.Context, path string) (UploadInfo, error) {
	info := UploadInfo{Path: path, Modules: -1}
	f, err := os.Open(path)
	if err != nil {
		return info, Userf(err, "cannot open %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return info, err
	}
	if !fi.Mode().IsRegular() {
		return info, Userf(ErrInvalid, "%s is not a regular file; give a backup file", path)
	}
	info.Size = fi.Size()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, zipMagic):
		info.Format = FormatOdooZip
		err = inspectZip(f, &info)
	case bytes.HasPrefix(head, gzipMagic):
		info.Format = FormatSQLGz
		err = inspectGzip(f, &info)
	case bytes.HasPrefix(head, customMagic):
		info.Format = FormatPGCustom
		err = e.inspectCustom(ctx, path, &info)
	case bytes.HasPrefix(head, []byte(odoozip.DumpHeader)):
		info.Format = FormatPlainSQL
		err = checkPlainDump(io.NewSectionReader(f, 0, info.Size), &info)
	default:
		return info, Userf(ErrInvalid, "%s is not a backup: it is neither an Odoo backup zip, a plain or gzip-compressed pg_dump, nor a pg_dump custom-format file", path)
	}
	if err != nil {
		return info, Userf(err, "%s; nothing was uploaded", strings.TrimSuffix(message(err), "."))
	}
	return info, nil
}

func inspectZip(f *os.File, info *UploadInfo) error {
	a, err := odoozip.Open(f, info.Size, odoozip.DefaultLimits)
	if err != nil {
		return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s cannot be used: %v", info.Path, err)
	}
	if err := odoozip.CheckDumpHeader(a.Dump); err != nil {
		return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s cannot be used: %v", info.Path, err)
	}
	// Every entry is read back, so a damaged one is found now rather than
	// halfway through a restore.
	for _, zf := range append(a.Filestore, a.Dump) {
		if strings.HasPrefix(zf.Name, odoozip.FilestoreDir) {
			if err := odoozip.CheckStoreFname(odoozip.StoreFname(zf)); err != nil {
				return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s holds an unsafe filestore entry (%v)", info.Path, err)
			}
		}
		rc, err := zf.Open()
		if err == nil {
			if zf == a.Dump {
				err = guardedCopy(io.Discard, rc)
			} else {
				_, err = io.Copy(io.Discard, rc)
			}
			rc.Close()
		}
		if refused := dumpRefusal(err); refused != nil {
			return refused
		}
		if err != nil {
			return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s is damaged: entry %s cannot be read (%v)", info.Path, zf.Name, err)
		}
	}
	if m := a.Manifest; m != nil {
		info.Database, info.OdooVersion, info.PGVersion = m.DBName, m.Version, strings.TrimSuffix(m.PGVersion, ".0")
		if m.Modules != nil {
			info.Modules = len(m.Modules)
		}
	}
	info.WithFilestore = len(a.Filestore) > 0
	info.FilestoreFiles, info.FilestoreBytes = len(a.Filestore), a.FilestoreSize
	return nil
}

// boundedGzip fails once the decompressed stream outgrows what a real dump
// could be for its compressed size.
type boundedGzip struct {
	r          io.Reader
	compressed *countingReader
	n          int64
}

func (b *boundedGzip) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > maxGzipTotal || (b.n > gzipFreeBytes && b.n > maxGzipRatio*max(b.compressed.n, 1)) {
		return n, fmt.Errorf("%w: %w: it expands %d compressed bytes into more than %d", ErrCorrupt, odoozip.ErrHostile, b.compressed.n, b.n)
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// gunzipBounded decompresses r with the expansion bounds.
func gunzipBounded(r io.Reader) (io.Reader, error) {
	cr := &countingReader{r: r}
	zr, err := gzip.NewReader(bufio.NewReader(cr))
	if err != nil {
		return nil, err
	}
	return &boundedGzip{r: zr, compressed: cr}, nil
}

func inspectGzip(f *os.File, info *UploadInfo) error {
	zr, err := gunzipBounded(io.NewSectionReader(f, 0, info.Size))
	if err != nil {
		return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s is not a readable gzip file (%v)", info.Path, err)
	}
	return checkPlainDump(zr, info)
}

// checkPlainDump reads a whole plain dump: it must start with pg_dump's
// header, end with its closing comment (a truncated dump does not), and
// hold nothing psql would run as a meta-command (see guardDump).
func checkPlainDump(r io.Reader, info *UploadInfo) error {
	r = dumpguard.NewReader(r)
	head := make([]byte, len(odoozip.DumpHeader))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != odoozip.DumpHeader {
		if refused := dumpRefusal(err); refused != nil {
			return refused
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s cannot be read (%v)", info.Path, err)
		}
		return Userf(ErrInvalid, "%s does not hold a pg_dump plain dump", info.Path)
	}
	tail := &tailBuffer{max: 4096}
	if _, err := io.Copy(tail, r); err != nil {
		if refused := dumpRefusal(err); refused != nil {
			return refused
		}
		return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s is damaged (%v)", info.Path, err)
	}
	if !strings.Contains(tail.String(), dumpComplete) {
		return Userf(ErrCorrupt, "%s is a truncated pg_dump: it lacks the closing %q line", info.Path, dumpComplete)
	}
	return nil
}

// inspectCustom validates a custom-format archive's table of contents with
// pg_restore --list and reads the database name from it.
func (e *Engine) inspectCustom(ctx context.Context, path string, info *UploadInfo) error {
	pgRestore, err := e.Tools.Find("pg_restore", 0)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, pgRestore.Path, "--list", path)
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s is not a usable pg_dump custom-format file: %s", info.Path, stderr.lastLine(err.Error()))
	}
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(l, ";"))
		if v, ok := strings.CutPrefix(l, "dbname:"); ok && info.Database == "" {
			info.Database = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "Dumped from database version:"); ok && info.PGVersion == "" {
			info.PGVersion, _, _ = strings.Cut(strings.TrimSpace(v), ".")
		}
	}
	return nil
}

// uploadExtension is the archive key's extension for a format.
func uploadExtension(format string) string {
	switch format {
	case FormatPlainSQL:
		return ".sql"
	case FormatSQLGz:
		return ".sql.gz"
	case FormatPGCustom:
		return ".dump"
	}
	return ".zip"
}

// Upload validates a backup file completely, then stores it unchanged on the
// service's primary destination as an `upload` backup (SPEC rule 9), with its
// metadata object and catalog row. An Odoo zip with a filestore uploaded to
// a destination that keeps a pool is stored as a pool backup there instead:
// its database part as the archive, its filestore files in the pool (those
// it has are not stored again), a file list; files whose content does not
// match their names are recorded in its pool facts, not refused. Nothing is uploaded when the file is
// refused. Restore it with RestoreToService or RestoreNewDB.
func (e *Engine) Upload(ctx context.Context, req UploadRequest) (out Backup, _ UploadInfo, err error) {
	defer func() { e.audit(ctx, auditUpload(req, out), err) }()
	if err := e.permit(ctx, ActionUpload); err != nil {
		return out, UploadInfo{}, err
	}
	defer interrupted(ctx, &err, func() string {
		return fmt.Sprintf("the upload of %s was interrupted; nothing was stored and %s is as it was", req.Path, req.Service)
	})
	svc, err := e.Catalog.Service(ctx, req.Service)
	if err != nil {
		return Backup{}, UploadInfo{}, err
	}
	primary, err := e.Catalog.Primary(ctx, svc.Name)
	if err != nil {
		return Backup{}, UploadInfo{}, NoPrimaryError(svc.Name, "to upload to", err)
	}
	info, err := e.InspectUpload(ctx, req.Path)
	if err != nil {
		return Backup{}, info, err
	}
	d, err := e.Catalog.Destination(ctx, primary.Destination)
	if err != nil {
		return Backup{}, info, err
	}
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return Backup{}, info, err
	}
	started := e.now().UTC().Truncate(time.Millisecond)
	key, err := freeUploadKey(ctx, st, svc.Name, started, info.Format, d.Encrypted())
	if err != nil {
		return Backup{}, info, err
	}
	db := info.Database
	if db == "" {
		db = svc.DB.Database
	}
	format := info.Format
	if format == FormatOdooZip && info.WithFilestore && d.plainPool() {
		// Stored as the destination keeps backups: its filestore goes
		// into the service's pool there.
		format = FormatOdooPool
	}
	rec, err := e.startRecording(ctx, Backup{
		ServiceID: svc.ID, Service: svc.Name, DestinationID: d.ID, Destination: d.Name,
		Kind: KindUpload, StartedAt: started, Key: key,
		Database: db, Format: format, OdooVersion: info.OdooVersion, PGVersion: info.PGVersion,
		Encryption: d.Encryption(),
	}, PhaseUpload, st)
	if err != nil {
		return Backup{}, info, fmt.Errorf("record upload to %s: %w", d.Name, err)
	}
	b := &rec.b
	rep, stopProgress := e.trackProgress(req.Progress, info.Size, rec)
	rep.set(PhaseUpload, 0)
	var sum string
	var stored, size int64
	var facts PoolFacts
	leftovers := []string{key}
	if format == FormatOdooPool {
		leftovers = append(leftovers, pool.ListKey(key))
		stored, sum, facts, err = e.uploadToPool(ctx, req.Path, info, st, d, svc.Name, key, rep)
		size = info.Size
	} else {
		sum, stored, size, err = putFile(ctx, st, key, req.Path, d, rep)
	}
	stopProgress()
	rec.stop()
	if err == nil && size != info.Size {
		err = Userf(ErrCorrupt, "%s changed while it was uploaded (%d bytes read, %d validated); upload it again once nothing writes to it", req.Path, size, info.Size)
	}
	if err == nil {
		b.Size, b.SHA256 = stored, sum
		if format == FormatOdooPool {
			b.Pool = &facts
		}
		di := dumpInfo{modules: max(info.Modules, 0), filestoreFiles: info.FilestoreFiles}
		err = e.writeMetadata(context.WithoutCancel(ctx), st, *b, di)
	}
	if saveErr := rec.finish(ctx, err, leftovers...); saveErr != nil && err == nil {
		err = saveErr
	}
	if err != nil {
		return *b, info, Userf(err, "uploading %s to %q failed: %s", req.Path, d.Name, message(err))
	}
	e.log().Info("upload succeeded", "service", svc.Name, "destination", d.Name, "backup", b.ID, "format", b.Format, "size", b.Size)
	return *b, info, nil
}

// uploadToPool stores the Odoo zip at path, validated as info, as a pool
// backup on d (store st) whose archive is key: its filestore files go into
// the pool of service there (those it has are not stored again), then its
// file list and its database zip. The zip is opened again with the same
// limits and every filestore name checked again: the file is hostile until
// proven otherwise, and may have changed since it was inspected. It returns
// the archive's size and SHA-256 and the pool facts.
func (e *Engine) uploadToPool(ctx context.Context, path string, info UploadInfo, st ObjectStore, d Destination, service, key string, rep *progressReporter) (int64, string, PoolFacts, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", PoolFacts{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", PoolFacts{}, err
	}
	if fi.Size() != info.Size {
		return 0, "", PoolFacts{}, Userf(ErrCorrupt, "%s changed while it was uploaded (%d bytes now, %d validated); upload it again once nothing writes to it", path, fi.Size(), info.Size)
	}
	a, err := odoozip.Open(f, info.Size, odoozip.DefaultLimits)
	if err != nil {
		return 0, "", PoolFacts{}, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s cannot be used: %v", path, err)
	}
	p, err := e.openPoolTarget(ctx, st, d, service)
	if err != nil {
		return 0, "", PoolFacts{}, err
	}
	n, sum, err := e.zipToPool(ctx, a, p, key, rep)
	if err != nil {
		return 0, "", PoolFacts{}, err
	}
	return n, sum, p.facts, nil
}

// putFile stores the file under key, encrypted when the destination d
// encrypts. It returns the sha256 and size of what was stored, and the
// number of bytes read from the file.
func putFile(ctx context.Context, st ObjectStore, key, path string, d Destination, rep *progressReporter) (string, int64, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, 0, err
	}
	defer f.Close()
	h := sha256.New()
	var size, stored sizeCounter
	r, err := sealReader(io.TeeReader(f, io.MultiWriter(&size, countingWriter{rep})), d)
	if err != nil {
		return "", 0, 0, err
	}
	r = io.TeeReader(r, io.MultiWriter(h, &stored))
	if err := st.Put(ctx, key, r); err != nil {
		return "", 0, 0, fmt.Errorf("upload %s to %s: %w", path, key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), stored.n, size.n, nil
}

// freeUploadKey is freeKey with the extension of the upload's format.
func freeUploadKey(ctx context.Context, st ObjectStore, service string, started time.Time, format string, encrypted bool) (string, error) {
	for n := 1; ; n++ {
		key := withEncryptedExt(strings.TrimSuffix(backupKey(service, started, KindUpload, n), ".zip")+uploadExtension(format), encrypted)
		_, err := st.Stat(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return key, nil
		}
		if err != nil {
			return "", err
		}
	}
}

// loadStream loads a database-only backup (plain SQL, gzipped SQL or a
// custom-format dump) into the staged database, streaming it from its
// destination; the checksum was verified before.
func (st *staged) loadStream(ctx context.Context, rb readableBackup, serverMajor int, rep *progressReporter) error {
	body, err := rb.store.Get(ctx, rb.b.Key, 0, -1)
	if err != nil {
		return fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
	}
	defer body.Close()
	var in io.Reader = io.TeeReader(body, countingWriter{rep})
	if in, err = rb.plainStream(in); err != nil {
		return err
	}
	switch rb.b.Format {
	case FormatPGCustom:
		pgRestore, err := st.e.Tools.Find("pg_restore", serverMajor)
		if err != nil {
			return err
		}
		return st.pgRestore(ctx, in, pgRestore)
	case FormatSQLGz:
		if in, err = gunzipBounded(in); err != nil {
			return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d is not a readable gzip file (%v); pick another backup", rb.b.ID, err)
		}
	}
	psql, err := st.e.Tools.Find("psql", serverMajor)
	if err != nil {
		return err
	}
	return st.loadDump(ctx, readerOpener{in}, psql)
}

type readerOpener struct{ r io.Reader }

func (o readerOpener) Open() (io.ReadCloser, error) { return io.NopCloser(o.r), nil }

// pgRestore feeds a custom-format dump to pg_restore the way Odoo restores
// anything that is not a zip: --no-owner, errors reported but tolerated.
func (st *staged) pgRestore(ctx context.Context, in io.Reader, tool Tool) error {
	args := append([]string{"--no-owner"}, pgArgs(st.loadConn(), st.tmpDB)...)
	cmd := exec.CommandContext(ctx, tool.Path, args...)
	cmd.Env = pgEnv(st.loadConn())
	cmd.Stdin = in
	cmd.Stdout = io.Discard
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stderr = io.MultiWriter(st.sqlErrors, stderr)
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && st.sqlErrors.count > 0 && strings.Contains(stderr.String(), "errors ignored on restore"):
		// Like psql without ON_ERROR_STOP: the errors are in the result.
		return nil
	case err != nil:
		return Userf(err, "pg_restore stopped while loading the backup (%v): %s; the restore was undone", err, stderr.lastLine(err.Error()))
	}
	return nil
}

// verifyStream checks a database-only backup on its destination as
// InspectUpload checked the file: a complete plain dump, or a custom-format
// dump whose table of contents pg_restore reads.
func (e *Engine) verifyStream(ctx context.Context, rb readableBackup) error {
	body, err := rb.store.Get(ctx, rb.b.Key, 0, -1)
	if err != nil {
		return fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
	}
	defer body.Close()
	plain, err := rb.plainStream(body)
	if err != nil {
		return err
	}
	info := &UploadInfo{Path: rb.b.Key}
	switch rb.b.Format {
	case FormatPlainSQL:
		return checkPlainDump(plain, info)
	case FormatSQLGz:
		zr, err := gunzipBounded(plain)
		if err != nil {
			return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s is not a readable gzip file (%v)", rb.b.Key, err)
		}
		return checkPlainDump(zr, info)
	case FormatPGCustom:
		pgRestore, err := e.Tools.Find("pg_restore", 0)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, pgRestore.Path, "--list")
		cmd.Stdin = plain
		cmd.Stdout = io.Discard
		stderr := &tailBuffer{max: 8 << 10}
		cmd.Stderr = stderr
		if err := cmd.Run(); err != nil {
			return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s is not a usable pg_dump custom-format file: %s", rb.b.Key, stderr.lastLine(err.Error()))
		}
		return nil
	}
	return Userf(ErrInvalid, "backup %d has format %q, which this version cannot read", rb.b.ID, rb.b.Format)
}
