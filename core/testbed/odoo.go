package testbed

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/odoo-backup/odoo-backup/core"
)

// OdooOptions sizes a generated Odoo database. The zero value gives the
// smallest database (a 90 kB dump, 256 KiB of filestore in 8 files), made
// in a fraction of a second.
type OdooOptions struct {
	// DumpBytes is roughly the size of the plain SQL dump (pg_dump
	// --no-owner), mostly mail_message bodies and res_partner rows. The
	// schema, Odoo's fixed rows, 10 partners and 20 messages make the
	// smallest dump, about 90 kB; from 1 MB up the dump is within a few
	// percent of DumpBytes.
	DumpBytes int64
	// FilestoreBytes is roughly the total size of the filestore's files.
	// Default 256 KiB.
	FilestoreBytes int64
	// Files is the number of distinct stored files the attachments refer to,
	// MissingFiles of them included. Default: one per 128 KiB of
	// FilestoreBytes, at least 8. Negative: no filestore files at all.
	Files int
	// MissingFiles of the Files are referenced by attachments but left off
	// disk, as after a botched copy.
	MissingFiles int
	// OrphanFiles are written to the filestore but referenced by no
	// attachment, as Odoo leaves them until its garbage collector runs.
	OrphanFiles int
	// Seed makes everything deterministic: the same options give the same
	// rows and the same files.
	Seed int64
	// OdooVersion is the series, e.g. "17.0" (default) or "16.0"; module
	// versions are "<series>.<module version>".
	OdooVersion string
	// Owner is the role that owns the database, created if missing (LOGIN,
	// NOSUPERUSER, CREATEDB); default the cluster's Owner, "odoo".
	Owner string
	// Incompressible, between 0 and 1, is the share of the files (beyond
	// the two assets) that are of an already compressed kind (images,
	// PDFs, zips); 0 draws kinds evenly, 4 of 9 of them incompressible.
	Incompressible float64
	// FileSize, when set, makes every file that size instead of drawing
	// sizes around FilestoreBytes/Files (many small files, as benchmark
	// B3 wants).
	FileSize int64
}

// OdooDB describes a generated database and its filestore.
type OdooDB struct {
	Name         string
	DataDir      string // Odoo's data_dir
	FilestoreDir string // DataDir/filestore/Name
	// Conn reaches the database as the cluster's superuser, as odoo-backup
	// connects on a real host.
	Conn        core.DBConn
	OdooVersion string // the series, "17.0"
	// Owner is the non-superuser role that owns the database and every
	// object in it, as Odoo's own role does; OwnerPassword logs it in.
	Owner         string
	OwnerPassword string
	// UID and GID own the filestore tree (DataDir included): the odoo
	// system user when the tests run as root and it exists, else whoever
	// runs them.
	UID, GID int
	UUID     string // ir_config_parameter database.uuid

	Attachments int // ir_attachment rows, url and shared ones included
	// Files maps every file on disk outside checklist/ (relative path, as in
	// store_fname: "ab/ab12...") to the SHA-256 hex of its content; orphans
	// included, missing files not.
	Files map[string]string
	// Missing are the store_fname values referenced but not on disk.
	Missing []string
	// Orphans are the files on disk no attachment refers to.
	Orphans []string
	// Checklist are Odoo's GC markers, relative to FilestoreDir
	// ("checklist/ab/ab12..."), empty files.
	Checklist []string
	// Modules maps each installed module to its latest_version.
	Modules map[string]string
}

// Service is a service protecting this database, for tests of the engine.
func (o *OdooDB) Service(name string) core.Service {
	return core.Service{Name: name, DB: o.Conn, FilestoreDir: o.FilestoreDir}
}

const (
	defaultFilestoreBytes = 256 << 10
	// schemaDumpBytes is what pg_dump writes for the DDL and the fixed rows,
	// measured: the rest of DumpBytes goes to partners and messages.
	schemaDumpBytes = 48 << 10
	// attachmentDumpBytes is one ir_attachment row in the dump, measured.
	attachmentDumpBytes = 330
	// chunkRows bounds one INSERT ... SELECT so that several connections
	// can share a big table.
	chunkRows = 20000
	// Generated partners start after Odoo's own (company, OdooBot, admin,
	// public user, portal template).
	firstPartnerID = 6
)

// GenerateOdoo creates database db on pg the way Odoo does, fills it with the
// tables of an Odoo database that matter to a backup, and writes its
// filestore under dataDir/filestore/db. On error the database and the
// filestore may be half made: drop them.
func GenerateOdoo(ctx context.Context, pg *Postgres, db, dataDir string, opt OdooOptions) (*OdooDB, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	ownerRole := cmp.Or(opt.Owner, pg.Owner)
	ownerPassword, err := pg.EnsureRole(ctx, ownerRole)
	if err != nil {
		return nil, fmt.Errorf("generate Odoo database %s: %w", db, err)
	}
	fsOwner, err := filestoreOwner()
	if err != nil {
		return nil, fmt.Errorf("generate Odoo database %s: %w", db, err)
	}
	g := &generator{
		own: core.DBConn{Host: pg.Host, Port: pg.Port, User: ownerRole, Password: core.Secret(ownerPassword), Database: db},
		opt: opt,
		rng: rand.New(rand.NewPCG(uint64(opt.Seed), 0x0d00)),
		out: &OdooDB{
			Name:          db,
			DataDir:       dataDir,
			FilestoreDir:  filepath.Join(dataDir, "filestore", db),
			Conn:          pg.Conn(db),
			OdooVersion:   opt.OdooVersion,
			Owner:         ownerRole,
			OwnerPassword: ownerPassword,
			UID:           fsOwner.uid,
			GID:           fsOwner.gid,
			Files:         map[string]string{},
			Modules:       map[string]string{},
		},
	}
	g.out.UUID = g.uuid()
	g.planFiles()

	if err := pg.Exec(ctx, "postgres", createDatabaseSQL(db)+" OWNER "+pgx.Identifier{ownerRole}.Sanitize()); err != nil {
		return nil, fmt.Errorf("generate Odoo database %s: %w", db, err)
	}
	if err := makeDataDir(dataDir, g.out.FilestoreDir, fsOwner); err != nil {
		return nil, fmt.Errorf("generate Odoo filestore: %w", err)
	}

	// The server fills the tables while this process writes the files.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var fileErr error
	wg.Go(func() {
		if fileErr = g.writeFiles(ctx); fileErr != nil {
			cancel()
		}
	})
	dbErr := g.fillDatabase(ctx)
	if dbErr != nil {
		cancel()
	}
	wg.Wait()
	if err := errors.Join(fileErr, dbErr); err != nil {
		return nil, fmt.Errorf("generate Odoo database %s: %w", db, err)
	}
	if err := g.finishDatabase(ctx); err != nil {
		return nil, fmt.Errorf("generate Odoo database %s: %w", db, err)
	}
	if err := fsOwner.chownTree(g.out.FilestoreDir); err != nil {
		return nil, fmt.Errorf("generate Odoo filestore: %w", err)
	}
	return g.out, nil
}

func (opt OdooOptions) withDefaults() (OdooOptions, error) {
	if opt.FilestoreBytes <= 0 {
		opt.FilestoreBytes = defaultFilestoreBytes
	}
	switch {
	case opt.Files < 0:
		opt.Files = 0
	case opt.Files == 0:
		opt.Files = int(max(8, opt.FilestoreBytes/(128<<10)))
	}
	if opt.OdooVersion == "" {
		opt.OdooVersion = "17.0"
	}
	if opt.MissingFiles < 0 || opt.MissingFiles > opt.Files {
		return opt, fmt.Errorf("%w: MissingFiles %d is not between 0 and Files (%d)", core.ErrInvalid, opt.MissingFiles, opt.Files)
	}
	if opt.Incompressible < 0 || opt.Incompressible > 1 {
		return opt, fmt.Errorf("%w: Incompressible %g is not a share between 0 and 1", core.ErrInvalid, opt.Incompressible)
	}
	if opt.FileSize < 0 {
		return opt, fmt.Errorf("%w: FileSize %d is negative", core.ErrInvalid, opt.FileSize)
	}
	if opt.OrphanFiles < 0 {
		return opt, fmt.Errorf("%w: OrphanFiles %d is negative", core.ErrInvalid, opt.OrphanFiles)
	}
	return opt, nil
}

type generator struct {
	own   core.DBConn // the owner role, which creates every object
	opt   OdooOptions
	rng   *rand.Rand
	out   *OdooDB
	files []*fileSpec // referenced ones first, then orphans
}

// uuid is a version 4 UUID drawn from the generator, so it is deterministic.
func (g *generator) uuid() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], g.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// fileKind is one sort of attachment content: text-like ones compress,
// the others (already compressed formats) do not.
type fileKind struct {
	ext, mimetype, header string
	text                  bool
}

var (
	assetKinds = []fileKind{
		{"min.js", "application/javascript", "/* web.assets_web.min.js */\n", true},
		{"min.css", "text/css", "/* web.assets_web.min.css */\n", true},
	}
	fileKinds = []fileKind{
		{"jpg", "image/jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", false},
		{"png", "image/png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", false},
		{"pdf", "application/pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", false},
		{"zip", "application/zip", "PK\x03\x04\x14\x00\x00\x00\x08\x00", false},
		{"txt", "text/plain", "", true},
		{"csv", "text/csv", "id,name,email,amount,comment\n", true},
		{"json", "application/json", "{\"jsonrpc\": \"2.0\", \"result\": [\n", true},
		{"xml", "application/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<odoo>\n", true},
		{"html", "text/html", "<!DOCTYPE html>\n<html><body>\n", true},
	}
)

// fileSpec is one filestore file: planned up front from the seed, written
// by any worker, so the content does not depend on scheduling.
type fileSpec struct {
	index   int
	size    int64
	kind    fileKind
	seed    uint64
	missing bool
	orphan  bool

	sha1, sha256 string // set once written
}

func (f *fileSpec) storeFname() string { return f.sha1[:2] + "/" + f.sha1 }

// planFiles draws sizes from a log-normal spread (many small files, a few
// big ones, as in real filestores) scaled to FilestoreBytes.
func (g *generator) planFiles() {
	n := g.opt.Files + g.opt.OrphanFiles
	if n == 0 {
		return
	}
	weights := make([]float64, n)
	var sum float64
	for i := range weights {
		weights[i] = math.Exp(1.5 * g.rng.NormFloat64())
		sum += weights[i]
	}
	g.files = make([]*fileSpec, n)
	for i := range g.files {
		kind := fileKinds[g.rng.IntN(len(fileKinds))]
		if share := g.opt.Incompressible; share > 0 {
			// fileKinds holds the 4 incompressible kinds first.
			if g.rng.Float64() < share {
				kind = fileKinds[g.rng.IntN(4)]
			} else {
				kind = fileKinds[4+g.rng.IntN(len(fileKinds)-4)]
			}
		}
		if i < len(assetKinds) && i < g.opt.Files {
			kind = assetKinds[i]
		}
		size := int64(float64(g.opt.FilestoreBytes) * weights[i] / sum)
		if g.opt.FileSize > 0 {
			size = g.opt.FileSize
		}
		f := &fileSpec{
			index:  i,
			size:   max(int64(len(kind.header))+64, size),
			kind:   kind,
			seed:   g.rng.Uint64(),
			orphan: i >= g.opt.Files,
		}
		g.files[i] = f
	}
	// Missing files are spread over the referenced ones from the end, so
	// the assets go last.
	if m := g.opt.MissingFiles; m > 0 {
		stride := g.opt.Files / m
		for k := range m {
			g.files[g.opt.Files-1-k*stride].missing = true
		}
	}
}

// writeFiles writes the planned files with one worker per CPU, and the
// checklist markers after them.
func (g *generator) writeFiles(ctx context.Context) error {
	corpus := textCorpus(uint64(g.opt.Seed), 256<<10)
	jobs := make(chan *fileSpec)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), 8)) {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for f := range jobs {
				if err := writeFile(g.out.FilestoreDir, f, corpus, buf); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
feed:
	for _, f := range g.files {
		select {
		case jobs <- f:
		case err := <-errs:
			errs <- err
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	for _, f := range g.files {
		switch {
		case f.missing:
			g.out.Missing = append(g.out.Missing, f.storeFname())
			continue
		case f.orphan:
			g.out.Orphans = append(g.out.Orphans, f.storeFname())
		}
		g.out.Files[f.storeFname()] = f.sha256
	}
	// Odoo marks files for its garbage collector as it writes and unlinks
	// attachments: an empty file under checklist/ per candidate.
	for i, f := range g.files {
		if i >= 2 && !f.orphan {
			continue
		}
		rel := "checklist/" + f.storeFname()
		p := filepath.Join(g.out.FilestoreDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return err
		}
		g.out.Checklist = append(g.out.Checklist, rel)
	}
	return nil
}

// writeFile streams f's content through SHA-1 (its name, as Odoo names
// files) and SHA-256 into a temporary file, then moves it into place.
func writeFile(dir string, f *fileSpec, corpus, buf []byte) (err error) {
	h1, h256 := sha1.New(), sha256.New()
	hashes := io.MultiWriter(h1, h256)
	var tmp *os.File
	var dst io.Writer = hashes
	if !f.missing {
		if tmp, err = os.CreateTemp(dir, ".testbed-*"); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		dst = io.MultiWriter(tmp, hashes)
	}
	w := bufio.NewWriterSize(dst, len(buf))
	header := f.kind.header
	if f.kind.text {
		header += fmt.Sprintf("generated file %d, seed %x\n", f.index, f.seed)
	}
	w.WriteString(header)
	left := f.size - int64(len(header))
	if f.kind.text {
		r := rand.New(rand.NewPCG(f.seed, uint64(f.index)))
		const maxRun = 4096
		for left > 0 {
			n := min(int64(256+r.IntN(maxRun-256)), left)
			off := r.IntN(len(corpus) - maxRun)
			w.Write(corpus[off : off+int(n)])
			left -= n
		}
	} else {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], f.seed)
		binary.LittleEndian.PutUint64(seed[8:], uint64(f.index))
		r := rand.NewChaCha8(seed)
		for left > 0 {
			b := buf[:min(int64(len(buf)), left)]
			r.Read(b)
			w.Write(b)
			left -= int64(len(b))
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write filestore file: %w", err)
	}
	f.sha1 = hex.EncodeToString(h1.Sum(nil))
	f.sha256 = hex.EncodeToString(h256.Sum(nil))
	if tmp == nil {
		return nil
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write filestore file: %w", err)
	}
	final := filepath.Join(dir, f.sha1[:2], f.sha1)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

var corpusWords = strings.Fields(`the order invoice customer delivery quotation payment partner
	product price quantity discount total tax amount due date reference please find attached
	thank you for your message regards best kind meeting call tomorrow next week update status
	confirmed cancelled draft posted paid journal entry account bank statement reconciliation
	warehouse stock picking lot serial shipment carrier tracking number address street city zip
	country phone email website company contact sales team manager employee project task stage
	deadline priority note follow-up reminder subscription renewal contract signature approved
	Société Générale Müller Zürich São Paulo Kraków Ångström naïve café résumé déjà façade
	Ñandú Øresund Þórr Dvořák İstanbul Łódź Ελλάδα Москва 東京 北京 서울 مرحبا שלום 🙂 ✓ €
	a an of to in on at by with from and or but not is are was were be been has have had will
	would should could can may might must shall do does did done make made get got take took`)

// textCorpus is n bytes of word salad with the punctuation, line breaks,
// tabs, quotes and backslashes real text has: the pieces text files and
// message bodies are cut from. It compresses about as well as prose.
func textCorpus(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	b := make([]byte, 0, n+64)
	for len(b) < n {
		b = append(b, corpusWords[r.IntN(len(corpusWords))]...)
		switch x := r.IntN(100); {
		case x < 8:
			b = append(b, ". "...)
		case x < 11:
			b = append(b, ", "...)
		case x < 13:
			b = append(b, '\n')
		case x == 13:
			b = append(b, '\t')
		case x == 14:
			b = append(b, ` "quoted" `...)
		case x == 15:
			b = append(b, ` it's `...)
		case x == 16:
			b = append(b, ` C:\odoo\addons `...)
		default:
			b = append(b, ' ')
		}
	}
	// Cut on a character boundary: the SQL side slices it as text.
	b = b[:n]
	for !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return b
}

// corpusPages cuts the corpus into overlapping pages of pageRunes
// characters for the SQL side to slice: substr on UTF-8 text walks the
// string from its start, so short pages keep it cheap.
func corpusPages(corpus []byte) []string {
	const n, pageRunes = 64, 3000
	runes := []rune(string(corpus))
	stride := (len(runes) - pageRunes) / (n - 1)
	pages := make([]string, n)
	for i := range pages {
		pages[i] = string(runes[i*stride : i*stride+pageRunes])
	}
	return pages
}

// fillDatabase creates the schema, the fixed rows, and as many partners and
// messages as DumpBytes asks for.
func (g *generator) fillDatabase(ctx context.Context) error {
	conn, err := Connect(ctx, g.own)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, odooSchema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if err := g.insertFixedRows(ctx, conn); err != nil {
		return err
	}

	nAttachments := int64(len(g.files) - g.opt.OrphanFiles + g.opt.Files/10 + 2)
	budget := g.opt.DumpBytes - schemaDumpBytes - nAttachments*attachmentDumpBytes
	pages := corpusPages(textCorpus(uint64(g.opt.Seed)+1, 128<<10))
	seed := g.opt.Seed

	partners := &tableFill{
		table:    "res_partner",
		firstID:  firstPartnerID,
		minRows:  10,
		estimate: 450,
		budget:   budget / 5,
		sql:      partnerInsert,
		args:     func(lo, hi int64) []any { return []any{lo, hi, seed, firstNames, lastNames, cities, pages, len(pages)} },
	}
	if err := partners.fill(ctx, g.own, conn); err != nil {
		return err
	}
	nPartners := partners.rows
	messages := &tableFill{
		table:    "mail_message",
		firstID:  1,
		minRows:  20,
		estimate: 1250,
		budget:   budget - partners.bytes,
		sql:      messageInsert,
		args: func(lo, hi int64) []any {
			return []any{lo, hi, seed, pages, len(pages), int64(firstPartnerID), nPartners, firstNames, lastNames}
		},
	}
	return messages.fill(ctx, g.own, conn)
}

// tableFill inserts rows with server-side INSERT ... SELECT FROM
// generate_series until the table holds about budget bytes of dump: a first
// chunk measures the real row size, the rest is split over a few
// connections.
type tableFill struct {
	table    string
	firstID  int64
	minRows  int64
	estimate int64 // bytes per row before measuring
	budget   int64
	sql      string // $1, $2: first and last id
	args     func(lo, hi int64) []any

	rows, bytes int64 // what was inserted
}

func (t *tableFill) fill(ctx context.Context, dbc core.DBConn, conn *pgx.Conn) error {
	first := max(t.minRows, min(t.budget/t.estimate, 500))
	if err := t.insert(ctx, conn, t.firstID, t.firstID+first-1); err != nil {
		return err
	}
	var measured int64
	err := conn.QueryRow(ctx, "SELECT coalesce(sum(octet_length(t::text)), 0) FROM "+t.table+" t WHERE id >= $1", t.firstID).Scan(&measured)
	if err != nil {
		return fmt.Errorf("measure %s: %w", t.table, err)
	}
	perRow := max(1, measured/first)
	total := max(first, t.budget/perRow)
	t.rows, t.bytes = total, total*perRow
	lo, hi := t.firstID+first, t.firstID+total-1
	if lo > hi {
		return nil
	}

	chunks := make(chan [2]int64)
	go func() {
		defer close(chunks)
		for a := lo; a <= hi; a += chunkRows {
			select {
			case chunks <- [2]int64{a, min(a+chunkRows-1, hi)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	workers := int(min(int64(runtime.GOMAXPROCS(0)), 4, (hi-lo)/chunkRows+1))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := conn
			if w > 0 {
				var err error
				if c, err = Connect(ctx, dbc); err != nil {
					errs[w] = err
					return
				}
				defer c.Close(context.Background())
			}
			for ch := range chunks {
				if errs[w] = t.insert(ctx, c, ch[0], ch[1]); errs[w] != nil {
					for range chunks { // let the feeder finish
					}
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (t *tableFill) insert(ctx context.Context, conn *pgx.Conn, lo, hi int64) error {
	if _, err := conn.Exec(ctx, t.sql, t.args(lo, hi)...); err != nil {
		return fmt.Errorf("fill %s (ids %d-%d): %w", t.table, lo, hi, err)
	}
	return nil
}

// finishDatabase inserts the attachments (now that the files have their
// names), then builds the indexes and foreign keys and sets the sequences,
// as after a real restore.
func (g *generator) finishDatabase(ctx context.Context) error {
	conn, err := Connect(ctx, g.own)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	rows := g.attachmentRows()
	g.out.Attachments = len(rows)
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"ir_attachment"}, attachmentColumns, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("fill ir_attachment: %w", err)
	}
	if _, err := conn.Exec(ctx, odooConstraints); err != nil {
		return fmt.Errorf("create indexes and foreign keys: %w", err)
	}
	return nil
}

var attachmentColumns = []string{"id", "name", "res_model", "res_field", "res_id", "company_id", "type", "url", "public",
	"access_token", "store_fname", "db_datas", "file_size", "checksum", "mimetype", "index_content",
	"create_uid", "create_date", "write_uid", "write_date"}

var attachmentModels = []string{"res.partner", "mail.message", "sale.order", "account.move", "product.template", "res.company"}

func (g *generator) attachmentRows() [][]any {
	r := rand.New(rand.NewPCG(uint64(g.opt.Seed), 0xa77))
	base := time.Date(2023, 1, 2, 9, 0, 0, 0, time.UTC)
	var rows [][]any
	add := func(name, model string, resID int64, public bool, url any, f *fileSpec, mimetype any) {
		id := int64(len(rows) + 1)
		created := base.Add(time.Duration(id) * 17 * time.Minute)
		var storeFname, checksum, size, index any
		typ := "url"
		if f != nil {
			typ = "binary"
			storeFname, checksum, size = f.storeFname(), f.sha1, int32(f.size)
			if f.kind.text {
				index = "generated " + name
			}
		}
		rows = append(rows, []any{id, name, model, nil, resID, int64(1), typ, url, public,
			nil, storeFname, nil, size, checksum, mimetype, index,
			int64(2), created, int64(2), created})
	}
	add("Odoo website", "ir.ui.menu", 1, true, "https://www.odoo.com", nil, nil)
	add("Documentation", "ir.ui.menu", 2, true, "https://www.odoo.com/documentation/"+g.opt.OdooVersion, nil, nil)
	for i, f := range g.files {
		if f.orphan {
			continue
		}
		if i < len(assetKinds) {
			name := "web.assets_web." + f.kind.ext
			add(name, "ir.ui.view", 0, true, "/web/assets/"+f.sha1[:7]+"/"+name, f, f.kind.mimetype)
			continue
		}
		model := attachmentModels[r.IntN(len(attachmentModels))]
		add(fmt.Sprintf("document_%05d.%s", i, f.kind.ext), model, 1+r.Int64N(1000), false, nil, f, f.kind.mimetype)
		// Odoo stores identical content once: every tenth file is also
		// attached to a second record.
		if i%10 == 9 || (i == len(assetKinds) && g.opt.Files > len(assetKinds)) {
			add(fmt.Sprintf("copy_of_document_%05d.%s", i, f.kind.ext), "mail.message", 1+r.Int64N(1000), false, nil, f, f.kind.mimetype)
		}
	}
	return rows
}

// modules lists Odoo's modules with their own version (latest_version is
// "<series>.<this>"); an empty version means not installed.
var modules = []struct{ name, version, state, category string }{
	{"base", "1.3", "installed", "Hidden/Core"},
	{"web", "1.0", "installed", "Hidden"},
	{"base_setup", "1.0", "installed", "Hidden"},
	{"bus", "1.0", "installed", "Hidden"},
	{"web_tour", "1.0", "installed", "Hidden"},
	{"web_editor", "1.0", "installed", "Hidden"},
	{"base_import", "2.0", "installed", "Hidden/Tools"},
	{"http_routing", "1.0", "installed", "Hidden"},
	{"mail", "1.15", "installed", "Productivity/Discuss"},
	{"contacts", "1.0", "installed", "Sales/CRM"},
	{"auth_signup", "1.0", "installed", "Hidden/Tools"},
	{"portal", "1.0", "installed", "Hidden"},
	{"digest", "1.1", "installed", "Productivity"},
	{"iap", "1.1", "installed", "Hidden/Tools"},
	{"sms", "2.5", "installed", "Hidden/Tools"},
	{"phone_validation", "2.1", "installed", "Hidden"},
	{"resource", "1.1", "installed", "Hidden"},
	{"utm", "1.1", "installed", "Marketing"},
	{"uom", "1.0", "installed", "Sales/Sales"},
	{"product", "1.2", "installed", "Sales/Sales"},
	{"analytic", "1.1", "installed", "Accounting/Accounting"},
	{"account", "1.2", "installed", "Accounting/Accounting"},
	{"payment", "2.0", "installed", "Hidden"},
	{"account_payment", "2.0", "installed", "Accounting/Accounting"},
	{"sale", "1.2", "installed", "Sales/Sales"},
	{"sale_management", "1.0", "installed", "Sales/Sales"},
	{"crm", "", "uninstalled", "Sales/CRM"},
	{"stock", "", "uninstalled", "Inventory/Inventory"},
	{"website", "", "uninstalled", "Website/Website"},
	{"hr", "", "uninstalled", "Human Resources/Employees"},
	{"project", "", "uninstalled", "Services/Project"},
	{"point_of_sale", "", "uninstalled", "Sales/Point of Sale"},
	{"theme_legacy", "", "uninstallable", "Theme"},
}

func (g *generator) insertFixedRows(ctx context.Context, conn *pgx.Conn) error {
	series := g.opt.OdooVersion
	b := &pgx.Batch{}
	for i, m := range modules {
		var latest any
		if m.version != "" {
			v := series + "." + m.version
			latest = v
			g.out.Modules[m.name] = v
		}
		desc := strings.ReplaceAll(strings.ReplaceAll(m.name, "_", " "), "base", "Base")
		b.Queue(`INSERT INTO ir_module_module (id, name, state, latest_version, published_version, author, website,
				license, category_id, summary, shortdesc, description, application, demo, web, sequence, auto_install,
				to_buy, maintainer, icon, create_uid, create_date, write_uid, write_date)
			VALUES ($1, $2::text, $3, $4, $5, 'Odoo S.A.', 'https://www.odoo.com', 'LGPL-3', $6,
				jsonb_build_object('en_US', $7::text), jsonb_build_object('en_US', initcap($7::text), 'fr_FR', initcap($7::text) || ' (fr)'),
				jsonb_build_object('en_US', $8::text), $9, false, false, 100, $10, false, NULL,
				'/' || $2::text || '/static/description/icon.png', 1, $11, 1, $11)`,
			i+1, m.name, m.state, latest, series+"."+cmp.Or(m.version, "1.0"), i/5+1, desc,
			"<p>"+desc+" module.\nCategory: "+m.category+"</p>", m.name == "sale" || m.name == "contacts",
			m.name == "base_setup" || m.name == "web_tour", time.Date(2024, 1, 15, 10, 0, i, 0, time.UTC))
	}

	const created = "2024-01-15 10:23:45"
	createdAt, _ := time.Parse(time.DateTime, created)
	params := [][2]string{
		{"database.uuid", g.out.UUID},
		{"database.secret", g.uuid()},
		{"database.create_date", created},
		{"database.enterprise_code", fmt.Sprintf("M%011d", g.rng.Int64N(1e11))},
		{"web.base.url", "https://erp.example.com"},
		{"mail.catchall.domain", "example.com"},
		{"mail.bounce.alias", "bounce"},
		{"base.template_portal_user_id", "4"},
		{"auth_signup.reset_password", "True"},
		{"base_setup.default_user_rights", "True"},
	}
	for i, p := range params {
		b.Queue(`INSERT INTO ir_config_parameter (id, key, value, create_uid, create_date, write_uid, write_date)
			VALUES ($1, $2, $3, 1, $4, 1, $4)`, i+1, p[0], p[1], createdAt)
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("insert modules and parameters: %w", err)
	}
	if _, err := conn.Exec(ctx, strings.ReplaceAll(fixedRows, "$1::timestamp", "timestamp '"+created+"'")); err != nil {
		return fmt.Errorf("insert fixed rows: %w", err)
	}
	return nil
}

// Sample data for partners; the accents and scripts make sure dumps and
// restores keep UTF-8 intact.
var (
	firstNames = []string{"Anna", "Bruno", "Chloé", "Dmitri", "Émilie", "François", "Gúdrun", "Hiroshi", "Inès", "Jürgen",
		"Kateřina", "Lars", "María", "Nikolaï", "Ørjan", "Paweł", "Quentin", "Renée", "Søren", "Tomás", "Ulrike", "Valérie",
		"Wojciech", "Xiù", "Yusuf", "Zoë", "美咲", "Олег"}
	lastNames = []string{"Dupont", "Müller", "García", "O'Brien", "Nguyễn", "Kowalski", "Rossi", "Johansson", "Öztürk",
		"Lefèvre", "Smith", "Van der Berg", "D'Angelo", "Þórsson", "Novák", "Schröder", "Da Silva", "Yamamoto", "Иванов", "Müller-Lüdenscheidt"}
	cities = []string{"Bruxelles", "Liège", "Paris", "Zürich", "München", "São Paulo", "Kraków", "Québec", "New York",
		"Reykjavík", "Tōkyō", "Genève", "Ghent", "Luxembourg"}
)

// partnerInsert: $1..$2 ids, $3 seed, $4 first names, $5 last names,
// $6 cities, $7 corpus pages, $8 page count.
const partnerInsert = `
INSERT INTO res_partner (id, name, complete_name, company_id, type, street, street2, zip, city, country_id, email,
	email_normalized, phone, mobile, website, vat, ref, lang, tz, comment, is_company, active, color,
	partner_latitude, partner_longitude, commercial_partner_id, partner_share, create_uid, create_date, write_uid, write_date)
SELECT i, nm, nm, 1, 'contact',
	(h % 300 + 1) || ' ' || (ARRAY['Rue de la Loi','Bahnhofstrasse','Main Street','Calle Mayor','Chaussée d''Ixelles'])[1 + h % 5],
	CASE WHEN h % 7 = 0 THEN 'Bâtiment ' || chr(65 + (h % 26)::int) END,
	lpad((h % 99999)::text, 5, '0'),
	($6::text[])[1 + (h >> 3) % array_length($6::text[], 1)],
	1 + h % 250,
	em, em,
	'+32 ' || lpad((h % 1000000000)::text, 9, '0'),
	CASE WHEN h % 3 = 0 THEN '+32 4' || lpad(((h >> 5) % 100000000)::text, 8, '0') END,
	CASE WHEN h % 4 = 0 THEN 'https://www.' || lower(regexp_replace(ln, '[^a-zA-Z]', '', 'g')) || i || '.example.com' END,
	CASE WHEN h % 2 = 0 THEN 'BE0' || lpad((h % 1000000000)::text, 9, '0') END,
	'P' || lpad(i::text, 6, '0'),
	(ARRAY['en_US','fr_BE','nl_BE','de_DE'])[1 + h % 4],
	'Europe/Brussels',
	CASE WHEN h % 3 = 0 THEN '<p>' || substr(($7::text[])[1 + (h >> 7) % $8], 1 + ((h >> 13) % 900)::int, (20 + h % 600)::int) || '</p>' END,
	h % 10 = 0, h % 50 <> 0, (h % 12)::int,
	round(50 + (h % 100000) / 50000.0, 7), round(4 + (h % 70000) / 35000.0, 7),
	i, true, 2, ts, 2, ts + interval '3 days'
FROM generate_series($1::bigint, $2::bigint) AS i,
	LATERAL (SELECT (hashint8extended(i, $3) & 2147483647)::bigint AS h) x,
	LATERAL (SELECT ($4::text[])[1 + h % array_length($4::text[], 1)] AS fn,
		($5::text[])[1 + (h >> 10) % array_length($5::text[], 1)] AS ln) n,
	LATERAL (SELECT fn || ' ' || ln AS nm,
		lower(regexp_replace(fn || '.' || ln, '[^a-zA-Z.]', '', 'g')) || '.' || i || '@example.com' AS em,
		timestamp '2019-06-01' + i * interval '41 minutes' AS ts) y`

// messageInsert: $1..$2 ids, $3 seed, $4 corpus pages, $5 page count,
// $6 first partner id, $7 partner count, $8 first names, $9 last names.
const messageInsert = `
INSERT INTO mail_message (id, subject, date, body, model, res_id, record_name, message_type, subtype_id, is_internal,
	author_id, email_from, message_id, reply_to, email_add_signature, parent_id, create_uid, create_date, write_uid, write_date)
SELECT i,
	CASE WHEN h % 3 = 0 THEN 'Re: ' || substr(($4::text[])[1 + (h >> 9) % $5], 1 + ((h >> 15) % 900)::int, (10 + h % 60)::int) END,
	ts,
	'<p>' || substr(($4::text[])[1 + (h >> 4) % $5], 1 + ((h >> 10) % 900)::int, (50 + (h2 % 1400))::int) || '</p><p>Ref. ' || md5(i::text || $3::text) || '</p>'
		|| CASE WHEN h % 5 = 0 THEN '<blockquote>' || substr(($4::text[])[1 + (h2 >> 11) % $5], 1 + ((h2 >> 17) % 900)::int, ((h2 >> 3) % 2000)::int) || '</blockquote>' ELSE '' END,
	mdl,
	rid,
	CASE mdl WHEN 'res.partner' THEN 'Partner ' || rid ELSE upper(left(mdl, 2)) || '/2024/' || lpad(rid::text, 5, '0') END,
	(ARRAY['comment','notification','email'])[1 + h % 3],
	1 + (h % 3)::int,
	h % 4 = 0,
	$6 + (h2 % $7),
	'"' || ($8::text[])[1 + h2 % array_length($8::text[], 1)] || ' ' || ($9::text[])[1 + (h2 >> 7) % array_length($9::text[], 1)] || '" <contact' || (h2 % $7) || '@example.com>',
	'<' || md5(i::text) || '-openerp-' || rid || '-' || mdl || '@erp.example.com>',
	CASE WHEN h % 6 = 0 THEN 'catchall@example.com' END,
	true,
	CASE WHEN i > 10 AND h % 4 = 1 THEN i - 1 - (h2 % 10) END,
	2, ts, 2, ts
FROM generate_series($1::bigint, $2::bigint) AS i,
	LATERAL (SELECT (hashint8extended(i, $3) & 2147483647)::bigint AS h,
		(hashint8extended(i, $3 # 1) & 2147483647)::bigint AS h2) x,
	LATERAL (SELECT (ARRAY['res.partner','sale.order','account.move','crm.lead'])[1 + (h >> 20) % 4] AS mdl,
		1 + (h >> 6) % 5000 AS rid,
		timestamp '2020-01-01' + i * interval '97 seconds' AS ts) y`

// odooSchema is a subset of an Odoo 17 database: the tables and columns a
// backup, restore or neutralization touches, with Odoo's types (translated
// fields as jsonb) and comments. Indexes and foreign keys come after the
// data (odooConstraints).
const odooSchema = `
-- Odoo creates these as the database's owner (trusted extensions since
-- PostgreSQL 13): pg_trgm for its trigram indexes, unaccent with --unaccent.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TABLE res_company (
	id serial PRIMARY KEY,
	name character varying NOT NULL,
	partner_id integer NOT NULL,
	currency_id integer NOT NULL,
	sequence integer,
	parent_id integer,
	email character varying,
	phone character varying,
	company_registry character varying,
	active boolean,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE res_company IS 'Companies';

CREATE TABLE res_partner (
	id serial PRIMARY KEY,
	name character varying,
	complete_name character varying,
	company_id integer,
	title integer,
	parent_id integer,
	user_id integer,
	state_id integer,
	country_id integer,
	industry_id integer,
	color integer,
	commercial_partner_id integer,
	create_uid integer,
	write_uid integer,
	ref character varying,
	lang character varying,
	tz character varying,
	vat character varying,
	company_registry character varying,
	website character varying,
	function character varying,
	type character varying,
	street character varying,
	street2 character varying,
	zip character varying,
	city character varying,
	email character varying,
	phone character varying,
	mobile character varying,
	commercial_company_name character varying,
	company_name character varying,
	date date,
	comment text,
	partner_latitude numeric(10,7),
	partner_longitude numeric(10,7),
	active boolean,
	employee boolean,
	is_company boolean,
	partner_share boolean,
	email_normalized character varying,
	message_bounce integer,
	signup_type character varying,
	signup_token character varying,
	create_date timestamp without time zone,
	write_date timestamp without time zone
);
COMMENT ON TABLE res_partner IS 'Contact';

CREATE TABLE res_users (
	id serial PRIMARY KEY,
	company_id integer NOT NULL,
	partner_id integer NOT NULL,
	active boolean DEFAULT true,
	login character varying NOT NULL,
	password character varying,
	action_id integer,
	signature text,
	share boolean,
	totp_secret character varying,
	notification_type character varying NOT NULL,
	odoobot_state character varying,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone,
	CONSTRAINT res_users_login_key UNIQUE (login)
);
COMMENT ON TABLE res_users IS 'User';

CREATE TABLE ir_module_module (
	id serial PRIMARY KEY,
	create_uid integer,
	create_date timestamp without time zone,
	write_date timestamp without time zone,
	write_uid integer,
	website character varying,
	summary jsonb,
	name character varying NOT NULL,
	author character varying,
	icon character varying,
	state character varying(16),
	latest_version character varying,
	shortdesc jsonb,
	category_id integer,
	description jsonb,
	application boolean,
	demo boolean,
	web boolean,
	license character varying(32),
	sequence integer,
	auto_install boolean,
	to_buy boolean,
	maintainer character varying,
	contributors text,
	published_version character varying,
	url character varying,
	menus_by_module text,
	reports_by_module text,
	views_by_module text,
	imported boolean,
	CONSTRAINT ir_module_module_name_uniq UNIQUE (name)
);
COMMENT ON TABLE ir_module_module IS 'Module';

CREATE TABLE ir_config_parameter (
	id serial PRIMARY KEY,
	key character varying NOT NULL,
	value text NOT NULL,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone,
	CONSTRAINT ir_config_parameter_key_uniq UNIQUE (key)
);
COMMENT ON TABLE ir_config_parameter IS 'System Parameter';

CREATE TABLE ir_attachment (
	id serial PRIMARY KEY,
	name character varying NOT NULL,
	description text,
	res_model character varying,
	res_field character varying,
	res_id integer,
	company_id integer,
	type character varying NOT NULL,
	url character varying(1024),
	public boolean,
	access_token character varying,
	store_fname character varying,
	db_datas bytea,
	file_size integer,
	checksum character varying(40),
	mimetype character varying,
	index_content text,
	original_id integer,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE ir_attachment IS 'Attachment';

CREATE TABLE ir_mail_server (
	id serial PRIMARY KEY,
	name character varying NOT NULL,
	from_filter character varying,
	smtp_host character varying,
	smtp_port integer,
	smtp_authentication character varying NOT NULL,
	smtp_user character varying,
	smtp_pass character varying,
	smtp_encryption character varying NOT NULL,
	smtp_ssl_certificate bytea,
	smtp_ssl_private_key bytea,
	smtp_debug boolean,
	sequence integer,
	active boolean,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE ir_mail_server IS 'Mail Server';

CREATE TABLE fetchmail_server (
	id serial PRIMARY KEY,
	name character varying NOT NULL,
	active boolean,
	state character varying,
	server character varying,
	port integer,
	server_type character varying NOT NULL,
	is_ssl boolean,
	attach boolean,
	original boolean,
	date timestamp without time zone,
	"user" character varying,
	password character varying,
	object_id integer,
	priority integer,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE fetchmail_server IS 'Incoming Mail Server';

CREATE TABLE ir_act_server (
	id serial PRIMARY KEY,
	name jsonb NOT NULL,
	type character varying NOT NULL,
	binding_type character varying NOT NULL,
	usage character varying NOT NULL,
	state character varying NOT NULL,
	sequence integer,
	model_id integer NOT NULL,
	model_name character varying,
	code text,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE ir_act_server IS 'Server Actions';

CREATE TABLE ir_cron (
	id serial PRIMARY KEY,
	ir_actions_server_id integer NOT NULL,
	cron_name character varying,
	user_id integer NOT NULL,
	active boolean,
	interval_number integer,
	interval_type character varying,
	numbercall integer,
	doall boolean,
	nextcall timestamp without time zone NOT NULL,
	lastcall timestamp without time zone,
	priority integer,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE ir_cron IS 'Scheduled Actions';

CREATE TABLE mail_message (
	id serial PRIMARY KEY,
	subject character varying,
	date timestamp without time zone,
	body text,
	model character varying,
	res_id integer,
	record_name character varying,
	message_type character varying NOT NULL,
	subtype_id integer,
	mail_activity_type_id integer,
	is_internal boolean,
	author_id integer,
	author_guest_id integer,
	email_from character varying,
	message_id character varying,
	reply_to character varying,
	reply_to_force_new boolean,
	email_layout_xmlid character varying,
	email_add_signature boolean,
	mail_server_id integer,
	parent_id integer,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE mail_message IS 'Message';

CREATE TABLE payment_provider (
	id serial PRIMARY KEY,
	sequence integer,
	company_id integer NOT NULL,
	name jsonb NOT NULL,
	code character varying NOT NULL,
	state character varying NOT NULL,
	is_published boolean,
	allow_tokenization boolean,
	capture_manually boolean,
	create_uid integer,
	create_date timestamp without time zone,
	write_uid integer,
	write_date timestamp without time zone
);
COMMENT ON TABLE payment_provider IS 'Payment Provider';
`

// fixedRows are the rows every Odoo database has; $1::timestamp stands for
// the database's creation time.
const fixedRows = `
INSERT INTO res_company (id, name, partner_id, currency_id, sequence, email, phone, company_registry, active, create_uid, create_date, write_uid, write_date)
VALUES (1, 'YourCompany SA', 1, 1, 0, 'info@yourcompany.example.com', '+32 2 290 34 90', 'BE0477472701', true, 1, $1::timestamp, 2, $1::timestamp);

INSERT INTO res_partner (id, name, complete_name, company_id, type, email, is_company, active, partner_share, commercial_partner_id, lang, tz, create_uid, create_date, write_uid, write_date)
VALUES
	(1, 'YourCompany SA', 'YourCompany SA', 1, 'contact', 'info@yourcompany.example.com', true, true, false, 1, 'en_US', 'Europe/Brussels', 1, $1::timestamp, 1, $1::timestamp),
	(2, 'OdooBot', 'OdooBot', 1, 'contact', 'odoobot@example.com', false, false, false, 2, 'en_US', NULL, 1, $1::timestamp, 1, $1::timestamp),
	(3, 'Mitchell Admin', 'YourCompany SA, Mitchell Admin', 1, 'contact', 'admin@yourcompany.example.com', false, true, false, 3, 'en_US', 'Europe/Brussels', 1, $1::timestamp, 2, $1::timestamp),
	(4, 'Public user', 'Public user', 1, 'contact', NULL, false, false, true, 4, 'en_US', NULL, 1, $1::timestamp, 1, $1::timestamp),
	(5, 'Default User Template', 'Default User Template', 1, 'contact', NULL, false, false, false, 5, 'en_US', NULL, 1, $1::timestamp, 1, $1::timestamp);

INSERT INTO res_users (id, company_id, partner_id, active, login, password, share, notification_type, odoobot_state, signature, create_uid, create_date, write_uid, write_date)
VALUES
	(1, 1, 2, false, '__system__', NULL, false, 'email', NULL, '<p>System</p>', 1, $1::timestamp, 1, $1::timestamp),
	(2, 1, 3, true, 'admin', '$pbkdf2-sha512$600000$c2FsdHNhbHQ$YWRtaW5wYXNzd29yZGhhc2hoZXJlbm90cmVhbGx5', false, 'inbox', 'onboarding_emoji', '<p>--<br>Mitchell Admin</p>', 1, $1::timestamp, 2, $1::timestamp),
	(3, 1, 4, false, 'public', NULL, true, 'email', NULL, NULL, 1, $1::timestamp, 1, $1::timestamp),
	(4, 1, 5, false, 'default', NULL, false, 'email', NULL, NULL, 1, $1::timestamp, 1, $1::timestamp);

INSERT INTO ir_mail_server (id, name, from_filter, smtp_host, smtp_port, smtp_authentication, smtp_user, smtp_pass, smtp_encryption, smtp_debug, sequence, active, create_uid, create_date, write_uid, write_date)
VALUES
	(1, 'Production SMTP', 'yourcompany.example.com', 'smtp.example.com', 587, 'login', 'erp@yourcompany.example.com', 'smtp-secret', 'starttls', false, 10, true, 2, $1::timestamp, 2, $1::timestamp),
	(2, 'Relay', NULL, 'relay.example.com', 25, 'login', NULL, NULL, 'none', false, 20, true, 2, $1::timestamp, 2, $1::timestamp);

INSERT INTO fetchmail_server (id, name, active, state, server, port, server_type, is_ssl, attach, original, "user", password, object_id, priority, create_uid, create_date, write_uid, write_date)
VALUES
	(1, 'Catchall IMAP', true, 'done', 'imap.example.com', 993, 'imap', true, true, false, 'catchall@example.com', 'imap-secret', NULL, 5, 2, $1::timestamp, 2, $1::timestamp),
	(2, 'Old POP box', false, 'draft', 'pop.example.com', 995, 'pop', true, true, false, 'old@example.com', 'pop-secret', NULL, 5, 2, $1::timestamp, 2, $1::timestamp);

INSERT INTO ir_act_server (id, name, type, binding_type, usage, state, sequence, model_id, model_name, code, create_uid, create_date, write_uid, write_date)
VALUES
	(1, '{"en_US": "Base: Auto-vacuum internal data"}', 'ir.actions.server', 'action', 'ir_cron', 'code', 5, 10, 'ir.autovacuum', 'model._run_vacuum_cleaner()', 1, $1::timestamp, 1, $1::timestamp),
	(2, '{"en_US": "Mail: Email Queue Manager"}', 'ir.actions.server', 'action', 'ir_cron', 'code', 5, 20, 'mail.mail', 'model.process_email_queue()', 1, $1::timestamp, 1, $1::timestamp),
	(3, '{"en_US": "Mail: Fetchmail Service"}', 'ir.actions.server', 'action', 'ir_cron', 'code', 5, 21, 'fetchmail.server', 'model._fetch_mails()', 1, $1::timestamp, 1, $1::timestamp),
	(4, '{"en_US": "Base: Portal Users Deletion"}', 'ir.actions.server', 'action', 'ir_cron', 'code', 5, 11, 'res.users.deletion', 'model._gc_portal_users()', 1, $1::timestamp, 1, $1::timestamp),
	(5, '{"en_US": "Digest Emails"}', 'ir.actions.server', 'action', 'ir_cron', 'code', 5, 30, 'digest.digest', 'model._cron_send_digest_email()', 1, $1::timestamp, 1, $1::timestamp),
	(6, '{"en_US": "Payment: Post-process transactions"}', 'ir.actions.server', 'action', 'ir_cron', 'code', 5, 40, 'payment.transaction', 'model._cron_finalize_post_processing()', 1, $1::timestamp, 1, $1::timestamp),
	(7, '{"en_US": "Partner Autocomplete: Sync with remote DB"}', 'ir.actions.server', 'action', 'ir_cron', 'code', 5, 41, 'res.partner.autocomplete.sync', 'model.start_sync()', 1, $1::timestamp, 1, $1::timestamp);

INSERT INTO ir_cron (id, ir_actions_server_id, cron_name, user_id, active, interval_number, interval_type, numbercall, doall, nextcall, lastcall, priority, create_uid, create_date, write_uid, write_date)
VALUES
	(1, 1, 'Base: Auto-vacuum internal data', 1, true, 1, 'days', -1, false, $1::timestamp + interval '1 day', $1::timestamp, 5, 1, $1::timestamp, 1, $1::timestamp),
	(2, 2, 'Mail: Email Queue Manager', 1, true, 1, 'hours', -1, false, $1::timestamp + interval '1 hour', $1::timestamp, 5, 1, $1::timestamp, 1, $1::timestamp),
	(3, 3, 'Mail: Fetchmail Service', 1, true, 5, 'minutes', -1, false, $1::timestamp + interval '5 minutes', $1::timestamp, 5, 1, $1::timestamp, 1, $1::timestamp),
	(4, 4, 'Base: Portal Users Deletion', 1, true, 1, 'days', -1, false, $1::timestamp + interval '1 day', NULL, 5, 1, $1::timestamp, 1, $1::timestamp),
	(5, 5, 'Digest Emails', 1, true, 1, 'days', -1, false, $1::timestamp + interval '1 day', NULL, 5, 1, $1::timestamp, 1, $1::timestamp),
	(6, 6, 'Payment: Post-process transactions', 1, true, 10, 'minutes', -1, false, $1::timestamp + interval '10 minutes', NULL, 5, 1, $1::timestamp, 1, $1::timestamp),
	(7, 7, 'Partner Autocomplete: Sync with remote DB', 1, false, 1, 'days', -1, false, $1::timestamp + interval '1 day', NULL, 5, 1, $1::timestamp, 1, $1::timestamp);

INSERT INTO payment_provider (id, sequence, company_id, name, code, state, is_published, allow_tokenization, capture_manually, create_uid, create_date, write_uid, write_date)
VALUES
	(1, 10, 1, '{"en_US": "Stripe"}', 'stripe', 'enabled', true, true, false, 2, $1::timestamp, 2, $1::timestamp),
	(2, 20, 1, '{"en_US": "PayPal"}', 'paypal', 'disabled', false, false, false, 2, $1::timestamp, 2, $1::timestamp),
	(3, 30, 1, '{"en_US": "Wire Transfer", "fr_BE": "Virement bancaire"}', 'custom', 'enabled', true, false, false, 2, $1::timestamp, 2, $1::timestamp),
	(4, 40, 1, '{"en_US": "Adyen"}', 'adyen', 'test', false, true, false, 2, $1::timestamp, 2, $1::timestamp);
`

// odooConstraints are built after the data, as pg_dump's output does, and
// leave the sequences where Odoo would find them.
const odooConstraints = `
CREATE INDEX ir_attachment_res_idx ON ir_attachment (res_model, res_id);
CREATE INDEX ir_attachment_store_fname_idx ON ir_attachment (store_fname);
CREATE INDEX res_partner_commercial_partner_id_index ON res_partner (commercial_partner_id);
CREATE INDEX res_partner_email_normalized_index ON res_partner (email_normalized);
CREATE INDEX mail_message_model_res_id_idx ON mail_message (model, res_id);
CREATE INDEX mail_message_author_id_index ON mail_message (author_id);
CREATE INDEX mail_message_message_id_index ON mail_message (message_id);
ALTER TABLE res_company ADD CONSTRAINT res_company_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES res_partner(id) ON DELETE RESTRICT;
ALTER TABLE res_partner ADD CONSTRAINT res_partner_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE SET NULL;
ALTER TABLE res_users ADD CONSTRAINT res_users_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES res_partner(id) ON DELETE RESTRICT;
ALTER TABLE ir_cron ADD CONSTRAINT ir_cron_ir_actions_server_id_fkey FOREIGN KEY (ir_actions_server_id) REFERENCES ir_act_server(id) ON DELETE RESTRICT;
ALTER TABLE mail_message ADD CONSTRAINT mail_message_author_id_fkey FOREIGN KEY (author_id) REFERENCES res_partner(id) ON DELETE SET NULL;
ALTER TABLE mail_message ADD CONSTRAINT mail_message_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES mail_message(id) ON DELETE SET NULL;
ALTER TABLE payment_provider ADD CONSTRAINT payment_provider_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE RESTRICT;
SELECT setval(pg_get_serial_sequence(t, 'id'), m, true)
FROM (VALUES
	('res_company', (SELECT max(id) FROM res_company)),
	('res_partner', (SELECT max(id) FROM res_partner)),
	('res_users', (SELECT max(id) FROM res_users)),
	('ir_module_module', (SELECT max(id) FROM ir_module_module)),
	('ir_config_parameter', (SELECT max(id) FROM ir_config_parameter)),
	('ir_attachment', (SELECT max(id) FROM ir_attachment)),
	('ir_mail_server', (SELECT max(id) FROM ir_mail_server)),
	('fetchmail_server', (SELECT max(id) FROM fetchmail_server)),
	('ir_act_server', (SELECT max(id) FROM ir_act_server)),
	('ir_cron', (SELECT max(id) FROM ir_cron)),
	('mail_message', (SELECT max(id) FROM mail_message)),
	('payment_provider', (SELECT max(id) FROM payment_provider))
) AS s(t, m) WHERE m IS NOT NULL;
`

// AddAttachment stores content as Odoo does: a file named by the SHA-1 of
// its content in the filestore (owned by the filestore's owner) and an
// ir_attachment row that refers to it. It returns the row's store_fname.
// name, when not empty, is used as the store_fname instead, so a test can
// make a file whose content does not match its name.
func (o *OdooDB) AddAttachment(ctx context.Context, content []byte, name string) (string, error) {
	sum := sha1.Sum(content)
	fname := name
	if fname == "" {
		h := hex.EncodeToString(sum[:])
		fname = h[:2] + "/" + h
	}
	path := filepath.Join(o.FilestoreDir, filepath.FromSlash(fname))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return "", err
	}
	for _, p := range []string{filepath.Dir(path), path} {
		if err := os.Lchown(p, o.UID, o.GID); err != nil && !errors.Is(err, fs.ErrPermission) {
			return "", err
		}
	}
	conn, err := Connect(ctx, o.Conn)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `INSERT INTO ir_attachment (name, res_model, res_id, type, store_fname, file_size, checksum, mimetype, create_date, write_date)
		VALUES ($1, 'res.partner', 1, 'binary', $2, $3, $4, 'application/octet-stream', now(), now())`,
		"added "+fname, fname, len(content), hex.EncodeToString(sum[:]))
	if err != nil {
		return "", fmt.Errorf("insert the attachment of %s: %w", fname, err)
	}
	return fname, nil
}
