package core_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// cancelAt is a Progress callback that cancels the operation the first time
// it reports phase: Ctrl-C pressed at that moment.
type cancelAt struct {
	phase  core.Phase
	cancel context.CancelFunc
	mu     sync.Mutex
	seen   bool
}

func (c *cancelAt) progress(p core.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.Phase == c.phase && !c.seen {
		c.seen = true
		c.cancel()
	}
}

func (c *cancelAt) wasSeen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

// wantInterrupted checks the one sentence of an interrupted operation: it
// is ErrInterrupted, says what it left, and never calls the backup damaged.
func wantInterrupted(t *testing.T, err error, says ...string) {
	t.Helper()
	if !errors.Is(err, core.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrInterrupted (wrapping context.Canceled)", err)
	}
	if errors.Is(err, core.ErrCorrupt) {
		t.Errorf("an interruption is classified as corrupt: %v", err)
	}
	msg := err.Error()
	for _, word := range []string{"damaged", "corrupt", "context canceled", "pick another backup"} {
		if strings.Contains(msg, word) {
			t.Errorf("the message of an interruption says %q: %s", word, msg)
		}
	}
	for _, s := range says {
		if !strings.Contains(msg, s) {
			t.Errorf("the message %q does not say %q", msg, s)
		}
	}
}

// Ctrl-C at every phase of a restore onto a service, before the swap has
// put anything in place: the restore says it was interrupted and that
// staging is as it was, and staging is as it was, with nothing left beside
// it. Then the same backup restores fine: it was never damaged.
func TestRestoreInterruptedAtEveryPhase(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 60})
	b := e.backup("minio")[0]
	tg := e.addTarget(61)
	before := e.targetPrint(tg)

	for _, phase := range []core.Phase{core.PhaseSafety, core.PhaseVerify, core.PhaseRestoreDB, core.PhaseRestoreFS, core.PhaseCheck, core.PhaseNeutralize, core.PhaseSwap} {
		t.Run(strings.ReplaceAll(string(phase), " ", "-"), func(t *testing.T) {
			ctx, cancel := context.WithCancel(e.ctx)
			defer cancel()
			c := &cancelAt{phase: phase, cancel: cancel}
			_, err := e.engine.RestoreToService(ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Neutralize: true, Progress: c.progress})
			if !c.wasSeen() {
				t.Fatalf("the restore never reported phase %q (err %v)", phase, err)
			}
			wantInterrupted(t, err, "interrupted", "nothing was changed: staging is as it was")
			e.wantUnchanged(tg, before)
		})
	}

	// The backup was sound all along.
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); err != nil {
		t.Fatalf("verify after the interruptions: %v", err)
	}
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"}); err != nil {
		t.Fatalf("the interrupted backup does not restore: %v", err)
	}
	e.noLeftovers(tg)
}

// cutStore cuts the stream of every Get once cut is set: it cancels the
// operation and ends the read early, as a connection torn down by Ctrl-C
// does. Read alone, that looks like an object that ended early.
type cutStore struct {
	core.ObjectStore
	cut    func() bool
	cancel context.CancelFunc
}

func (s cutStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	rc, err := s.ObjectStore.Get(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	return cutReader{ReadCloser: rc, s: s}, nil
}

type cutReader struct {
	io.ReadCloser
	s cutStore
}

func (r cutReader) Read(p []byte) (int, error) {
	if r.s.cut() {
		r.s.cancel()
		return 0, io.ErrUnexpectedEOF
	}
	return r.ReadCloser.Read(p)
}

// The case once reported: Ctrl-C while the filestore is extracted, where the
// cut read used to come out as "the backup's filestore is damaged".
func TestRestoreCutMidFilestoreIsInterrupted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 62, FilestoreBytes: 4 << 20})
	b := e.backup("minio")[0]
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var mu sync.Mutex
	var phase core.Phase
	e.engine.OpenStore = func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		st, err := s3.Open(ctx, d)
		if err != nil {
			return nil, err
		}
		return cutStore{ObjectStore: st, cancel: cancel, cut: func() bool {
			mu.Lock()
			defer mu.Unlock()
			return phase == core.PhaseRestoreFS
		}}, nil
	}
	progress := func(p core.Progress) { mu.Lock(); phase = p.Phase; mu.Unlock() }
	newDB := e.odoo.Name + "_cut"
	_, err := e.engine.RestoreNewDB(ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, Progress: progress})
	wantInterrupted(t, err, "interrupted", "nothing was created")
	if left := e.databasesLike(newDB); left != "" {
		t.Errorf("databases left behind: %s", left)
	}
	entries, _ := os.ReadDir(filepath.Dir(e.odoo.FilestoreDir))
	for _, en := range entries {
		if strings.Contains(en.Name(), newDB) {
			t.Errorf("filestore left behind: %s", en.Name())
		}
	}
}

// Ctrl-C during a restore into a new database: nothing is created.
func TestRestoreNewDBInterrupted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 63})
	b := e.backup("local")[0]
	for i, phase := range []core.Phase{core.PhaseVerify, core.PhaseRestoreDB, core.PhaseRestoreFS, core.PhaseCheck} {
		newDB := e.odoo.Name + "_new" + string(rune('a'+i))
		ctx, cancel := context.WithCancel(e.ctx)
		c := &cancelAt{phase: phase, cancel: cancel}
		_, err := e.engine.RestoreNewDB(ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, Progress: c.progress})
		cancel()
		if !c.wasSeen() {
			t.Fatalf("the restore never reported phase %q (err %v)", phase, err)
		}
		wantInterrupted(t, err, "nothing was created")
		if left := e.databasesLike(newDB); left != "" {
			t.Errorf("%s: databases left behind: %s", phase, left)
		}
		entries, _ := os.ReadDir(filepath.Dir(e.odoo.FilestoreDir))
		for _, en := range entries {
			if strings.Contains(en.Name(), newDB) {
				t.Errorf("%s: filestore left behind: %s", phase, en.Name())
			}
		}
	}
}

// Ctrl-C during verify and download: verify does not judge the backup,
// download leaves no file, partial or whole.
func TestVerifyAndDownloadInterrupted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 64})
	b := e.backup("minio")[0]

	ctx, cancel := context.WithCancel(e.ctx)
	c := &cancelAt{phase: core.PhaseVerify, cancel: cancel}
	_, err := e.engine.Verify(ctx, core.VerifyRequest{BackupID: b.ID, Progress: c.progress})
	cancel()
	wantInterrupted(t, err, "the check of backup", "the backup was not judged")

	out := filepath.Join(t.TempDir(), "prod.zip")
	ctx, cancel = context.WithCancel(e.ctx)
	c = &cancelAt{phase: core.PhaseDownload, cancel: cancel}
	_, err = e.engine.Download(ctx, core.DownloadRequest{BackupID: b.ID, Path: out, Progress: c.progress})
	cancel()
	wantInterrupted(t, err, "the partial file was removed")
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) > 0 {
		t.Errorf("an interrupted download left %v", entries)
	}

	// Neither interruption touched the backup.
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); err != nil {
		t.Errorf("verify after the interruptions: %v", err)
	}
	got, err := e.cat.Backup(e.ctx, b.ID)
	if err != nil || got.Status != core.StatusSucceeded {
		t.Errorf("backup %d after the interruptions: %+v, %v; want it succeeded", b.ID, got, err)
	}
}

// Ctrl-C during a backup and a drill: the backup is recorded as failed
// with "interrupted", the drill's scratch copy is gone.
func TestBackupAndDrillInterrupted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 65})
	ctx, cancel := context.WithCancel(e.ctx)
	c := &cancelAt{phase: core.PhaseFilestore, cancel: cancel}
	bs, err := e.engine.Backup(ctx, core.BackupRequest{Service: "prod", Destinations: []string{"minio"}, Progress: c.progress})
	cancel()
	wantInterrupted(t, err, "the backup of prod was interrupted")
	if len(bs) != 1 || bs[0].Status != core.StatusFailed || !strings.Contains(bs[0].Error, "interrupted") {
		t.Errorf("interrupted backup recorded as %+v; want failed, interrupted", bs)
	}
	if keys := e.listAll(e.s3); len(keys) > 0 {
		t.Errorf("an interrupted backup left %v on the destination", keys)
	}

	e.backup("minio")
	ctx, cancel = context.WithCancel(e.ctx)
	c = &cancelAt{phase: core.PhaseRestoreFS, cancel: cancel}
	_, err = e.engine.Drill(ctx, core.DrillRequest{Service: "prod", Progress: c.progress})
	cancel()
	if !c.wasSeen() {
		t.Fatalf("the drill never reported phase %q (err %v)", core.PhaseRestoreFS, err)
	}
	wantInterrupted(t, err, "the restore drill of prod was interrupted")
	if left := e.databasesLike(e.odoo.Name + "_drill"); left != "" {
		t.Errorf("databases left behind by the drill: %s", left)
	}
}

// The one rule of when a restore neutralizes (SPEC rule 8).
func TestDefaultNeutralize(t *testing.T) {
	prod := core.Backup{ID: 13, Service: "production", Kind: core.KindScheduled}
	upload := core.Backup{ID: 14, Service: "staging", Kind: core.KindUpload}
	safety := core.Backup{ID: 15, Service: "staging", Kind: core.KindSafety}
	for _, tc := range []struct {
		name             string
		b                core.Backup
		onto             core.RestoreOnto
		neutralize, must bool
	}{
		{"production onto staging", prod, core.RestoreOnto{Service: "staging"}, true, false},
		{"production onto itself", prod, core.RestoreOnto{Service: "production"}, false, false},
		{"a safety backup put back", safety, core.RestoreOnto{Service: "staging"}, false, false},
		{"into a new database", prod, core.RestoreOnto{}, true, false},
		{"a service copy", prod, core.RestoreOnto{ServiceCopy: true}, true, false},
		{"an upload onto its service", upload, core.RestoreOnto{Service: "staging"}, false, true},
		{"an upload onto another service", upload, core.RestoreOnto{Service: "production"}, false, true},
	} {
		r := core.DefaultNeutralize(tc.b, tc.onto)
		if r.Neutralize != tc.neutralize || r.MustChoose != tc.must || r.Why == "" {
			t.Errorf("%s: got %+v, want neutralize %v, must choose %v, and a reason", tc.name, r, tc.neutralize, tc.must)
		}
	}
}

// Ctrl-C during an upload and a copy of a backup: nothing is stored, the
// rows say interrupted, the source is as it was.
func TestUploadAndCopyInterrupted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 66})
	b := e.backup("minio")[0]
	file := filepath.Join(t.TempDir(), "prod.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: file}); err != nil {
		t.Fatal(err)
	}
	localBefore := e.listAll(e.local)

	ctx, cancel := context.WithCancel(e.ctx)
	c := &cancelAt{phase: core.PhaseUpload, cancel: cancel}
	up, _, err := e.engine.Upload(ctx, core.UploadRequest{Path: file, Service: "prod", Progress: c.progress})
	cancel()
	wantInterrupted(t, err, "the upload of "+file+" was interrupted; nothing was stored")
	if up.ID != 0 {
		if got, _ := e.cat.Backup(e.ctx, up.ID); got.Status != core.StatusFailed {
			t.Errorf("the interrupted upload is recorded as %s, want failed", got.Status)
		}
	}

	ctx, cancel = context.WithCancel(e.ctx)
	c = &cancelAt{phase: core.PhaseCopy, cancel: cancel}
	_, err = e.engine.CopyBackup(ctx, core.CopyBackupRequest{BackupID: b.ID, Destination: "local", Progress: c.progress})
	cancel()
	wantInterrupted(t, err, "was interrupted; nothing was stored there")
	if got := e.listAll(e.local); strings.Join(got, ",") != strings.Join(localBefore, ",") {
		t.Errorf("the local destination holds %v after the interruptions, want %v", got, localBefore)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); err != nil {
		t.Errorf("the source after the interrupted copy: %v", err)
	}
}
