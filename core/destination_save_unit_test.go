package core

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// destCatalog is the part of the catalog the destination use cases take,
// in memory.
type destCatalog struct {
	dests  map[string]Destination
	nextID int64
}

func newDestCatalog(ds ...Destination) *destCatalog {
	c := &destCatalog{dests: map[string]Destination{}}
	for _, d := range ds {
		c.nextID++
		d.ID = c.nextID
		c.dests[d.Name] = d
	}
	return c
}

func (c *destCatalog) AddDestination(_ context.Context, d *Destination) error {
	if _, ok := c.dests[d.Name]; ok {
		return Userf(ErrExists, "destination %q already exists", d.Name)
	}
	c.nextID++
	d.ID = c.nextID
	c.dests[d.Name] = *d
	return nil
}

func (c *destCatalog) UpdateDestination(_ context.Context, d Destination) error {
	if _, ok := c.dests[d.Name]; !ok {
		return Userf(ErrNotFound, "no destination %q", d.Name)
	}
	c.dests[d.Name] = d
	return nil
}

func (c *destCatalog) Destination(_ context.Context, name string) (Destination, error) {
	d, ok := c.dests[name]
	if !ok {
		return d, Userf(ErrNotFound, "no destination %q", name)
	}
	return d, nil
}

func (c *destCatalog) RemoveDestination(_ context.Context, name string, _ bool) error {
	delete(c.dests, name)
	return nil
}

// opener hands out st for every destination and remembers the last one.
type opener struct {
	st     ObjectStore
	opened []Destination
}

func (o *opener) open(_ context.Context, d Destination) (ObjectStore, error) {
	o.opened = append(o.opened, d)
	return o.st, nil
}

// refusingStore refuses every write, as a bucket with a wrong secret does.
type refusingStore struct{ memStore }

func (*refusingStore) Put(context.Context, string, io.Reader) error {
	return Userf(ErrAccessDenied, "the storage refused the secret key")
}

// silentStore never answers a write until its context ends.
type silentStore struct{ memStore }

func (*silentStore) Put(ctx context.Context, _ string, _ io.Reader) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestAddDestinationRefusesBadSettingsBeforeTouchingAnything(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       Destination
		setting string
		class   error
		action  Action
	}{
		{"bad name", Destination{Name: "a b", Kind: DestinationLocal, Local: LocalSettings{Dir: "/tmp/x"}}, "name", ErrInvalid, ""},
		{"local without a directory", Destination{Name: "disk", Kind: DestinationLocal}, "dir", ErrInvalid, ""},
		{"S3 without an endpoint", Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Bucket: "b"}}, "endpoint", ErrInvalid, ""},
		{"S3 endpoint with a scheme", Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Endpoint: "http://h:9000", Bucket: "b"}}, "endpoint", ErrInvalid, ActionPlainHTTP},
		{"S3 without a bucket", Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Endpoint: "h:9000"}}, "bucket", ErrInvalid, ""},
		{"unknown SSE", Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Endpoint: "h:9000", Bucket: "b", SSE: "SSE-C"}}, "sse", ErrInvalid, ""},
		{"KMS key without SSE-KMS", Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Endpoint: "h:9000", Bucket: "b", SSE: SSES3, SSEKMSKeyID: "k"}}, "kmskey", ErrInvalid, ""},
		{"not a recipient", Destination{Name: "disk", Kind: DestinationLocal, Local: LocalSettings{Dir: "/tmp/x"}, Encrypt: EncryptionSettings{Recipient: "ssh-ed25519 AAAA"}}, "recipient", ErrInvalid, ActionGiveRecipient},
		{"name taken", Destination{Name: "taken", Kind: DestinationLocal, Local: LocalSettings{Dir: "/tmp/x"}}, "name", ErrExists, ""},
		{"unreadable key file", Destination{Name: "disk", Kind: DestinationLocal, Local: LocalSettings{Dir: "/tmp/x"}, Encrypt: EncryptionSettings{KeyFile: "/nonexistent/key.txt"}}, "keyfile", nil, ""},
		{"unknown layout", Destination{Name: "disk", Kind: DestinationLocal, Local: LocalSettings{Dir: "/tmp/x"}, Layout: "tar"}, "layout", ErrInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat := newDestCatalog(Destination{Name: "taken", Kind: DestinationLocal, Local: LocalSettings{Dir: "/elsewhere"}})
			op := &opener{st: &memStore{}}
			d := tc.d
			err := AddDestination(context.Background(), cat, op.open, &d)
			if err == nil {
				t.Fatalf("AddDestination(%+v) = nil, want a refusal of %s", tc.d, tc.setting)
			}
			if got := SettingOf(err); got != tc.setting {
				t.Errorf("setting of %q = %q, want %q", err, got, tc.setting)
			}
			if tc.class != nil && !errors.Is(err, tc.class) {
				t.Errorf("error %q is not %v", err, tc.class)
			}
			if a, _ := AdviceOf(err); a.Action != tc.action {
				t.Errorf("advice of %q = %q, want %q", err, a.Action, tc.action)
			}
			if len(op.opened) != 0 || len(cat.dests) != 1 {
				t.Errorf("a refused destination was probed (%d) or saved (%d destinations)", len(op.opened), len(cat.dests))
			}
		})
	}
}

func TestAddDestinationMakesTheDirectoryProbesAndSaves(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups", "odoo")
	cat := newDestCatalog()
	st := &memStore{}
	op := &opener{st: st}
	d := Destination{Name: "disk", Kind: DestinationLocal, Local: LocalSettings{Dir: dir}}
	if err := AddDestination(context.Background(), cat, op.open, &d); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory %s: %v, %v; want it made, mode 0700", dir, fi, err)
	}
	if len(op.opened) != 1 || op.opened[0].Local.Dir != dir {
		t.Errorf("probed %+v, want the destination in %s once", op.opened, dir)
	}
	if len(st.objects) != 0 {
		t.Errorf("the probe left %d objects behind", len(st.objects))
	}
	if got, err := cat.Destination(context.Background(), "disk"); err != nil || got.ID == 0 || got.Local.Dir != dir {
		t.Errorf("catalog has %+v, %v; want disk in %s with an id", got, err, dir)
	}
}

func TestAddDestinationNormalisesS3Settings(t *testing.T) {
	t.Chdir(t.TempDir())
	cat := newDestCatalog()
	op := &opener{st: &memStore{}}
	d := Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Endpoint: "h:9000", Bucket: "b", Prefix: "/prod/", CAFile: "ca.pem", SSE: SSEKMS, SSEKMSKeyID: "alias/k"}}
	if err := AddDestination(context.Background(), cat, op.open, &d); err != nil {
		t.Fatal(err)
	}
	got := cat.dests["s3"]
	if got.S3.Prefix != "prod" || !filepath.IsAbs(got.S3.CAFile) || filepath.Base(got.S3.CAFile) != "ca.pem" {
		t.Errorf("saved prefix %q and CA file %q, want prod and an absolute path to ca.pem", got.S3.Prefix, got.S3.CAFile)
	}
}

func TestAddDestinationReadsTheKeyFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	recipient, err := GenerateIdentityFile(filepath.Join(dir, "key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cat := newDestCatalog()
	d := Destination{Name: "sealed", Kind: DestinationLocal, Local: LocalSettings{Dir: filepath.Join(dir, "b")}, Encrypt: EncryptionSettings{KeyFile: "key.txt"}}
	if err := AddDestination(context.Background(), cat, (&opener{st: &memStore{}}).open, &d); err != nil {
		t.Fatal(err)
	}
	got := cat.dests["sealed"]
	if got.Encrypt.KeyFile != filepath.Join(dir, "key.txt") || got.Encrypt.Recipient != recipient {
		t.Errorf("saved key file %q and recipient %q, want %s and %s", got.Encrypt.KeyFile, got.Encrypt.Recipient, filepath.Join(dir, "key.txt"), recipient)
	}
}

func TestDestinationThatFailsItsProbeIsNotSaved(t *testing.T) {
	ctx := context.Background()
	stored := Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Endpoint: "h:9000", Bucket: "b", AccessKey: "a", SecretKey: "right"}}
	cat := newDestCatalog(stored)
	op := &opener{st: &refusingStore{}}

	d := Destination{Name: "new", Kind: DestinationS3, S3: S3Settings{Endpoint: "h:9000", Bucket: "b"}}
	err := AddDestination(ctx, cat, op.open, &d)
	var pe *DestinationProbeError
	if !errors.As(err, &pe) || !errors.Is(err, ErrAccessDenied) ||
		!strings.HasPrefix(err.Error(), `destination "new" does not work, so it was not saved: cannot write a test object to mem`) {
		t.Errorf("add: got %v, want the probe's refusal, access denied", err)
	}
	if _, ok := cat.dests["new"]; ok {
		t.Error("a destination that failed its probe was saved")
	}

	changed := cat.dests["s3"]
	changed.S3.SecretKey = "wrong"
	if err := UpdateDestination(ctx, cat, op.open, changed); !errors.As(err, &pe) {
		t.Errorf("update: got %v, want a DestinationProbeError", err)
	}
	if cat.dests["s3"].S3.SecretKey.Reveal() != "right" {
		t.Error("a change that failed its probe was saved")
	}
	op.st = &memStore{}
	if err := UpdateDestination(ctx, cat, op.open, changed); err != nil || cat.dests["s3"].S3.SecretKey.Reveal() != "wrong" {
		t.Errorf("update that works: %v, secret saved %v", err, cat.dests["s3"].S3.SecretKey.Reveal() == "wrong")
	}
}

func TestTestDestination(t *testing.T) {
	ctx := context.Background()
	cat := newDestCatalog(Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{Endpoint: "h:9000", Bucket: "b"}})
	if _, err := TestDestination(ctx, cat, (&opener{st: &memStore{}}).open, "s3", time.Second); err != nil {
		t.Errorf("a working destination: %v", err)
	}
	if _, err := TestDestination(ctx, cat, (&opener{st: &memStore{}}).open, "nosuch", time.Second); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown destination: got %v, want ErrNotFound", err)
	}
	d, err := TestDestination(ctx, cat, (&opener{st: &silentStore{}}).open, "s3", 50*time.Millisecond)
	if d.Name != "s3" || !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "s3 h:9000/b did not answer within 50ms") {
		t.Errorf("a silent destination: got %+v, %v; want ErrUnreachable saying it did not answer within 50ms", d, err)
	}
}

// A destination added without a layout gets DefaultLayout; one given a
// layout keeps it, spelled as ParseLayout spells it.
func TestAddDestinationLayout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given Layout
		want  Layout
	}{
		{"none given", "", DefaultLayout()},
		{"pool", LayoutPool, LayoutPool},
		{"zip", LayoutZip, LayoutZip},
		{"spelled loosely", " Pool ", LayoutPool},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat := newDestCatalog()
			d := Destination{Name: "disk", Kind: DestinationLocal, Local: LocalSettings{Dir: t.TempDir()}, Layout: tc.given}
			if err := AddDestination(context.Background(), cat, (&opener{st: &memStore{}}).open, &d); err != nil {
				t.Fatal(err)
			}
			if got := cat.dests["disk"].Layout; got != tc.want {
				t.Errorf("saved layout %q, want %q", got, tc.want)
			}
		})
	}
}

// Changing the layout says that earlier backups keep theirs; keeping it
// says nothing.
func TestLayoutChange(t *testing.T) {
	if got := LayoutChange(LayoutZip, LayoutZip); got != "" {
		t.Errorf("LayoutChange(zip, zip) = %q, want nothing", got)
	}
	if got := LayoutChange("", LayoutZip); got != "" {
		t.Errorf(`LayoutChange("", zip) = %q, want nothing: "" reads as zip`, got)
	}
	got := LayoutChange("", LayoutPool)
	if !strings.Contains(got, "from now on use the pool layout") || !strings.Contains(got, "keep the zip layout and stay readable") {
		t.Errorf("LayoutChange(\"\", pool) = %q, want new backups in the pool and the stored ones readable in zip", got)
	}
}

func TestPoolSummary(t *testing.T) {
	got := PoolSummary(PoolFacts{Files: 100000, Bytes: 10_500_000_000, NewObjects: 12, NewBytes: 3_400_000})
	if want := "100,000 files, 10.5 GB: 12 new files, 3.4 MB; 99,988 already stored"; got != want {
		t.Errorf("PoolSummary = %q, want %q", got, want)
	}
	if got, want := PoolSummary(PoolFacts{Files: 1, Bytes: 29, NewObjects: 1, NewBytes: 29}), "1 file, 29 B: 1 new file, 29 B; 0 already stored"; got != want {
		t.Errorf("PoolSummary = %q, want %q", got, want)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q, want %q", n, got, want)
		}
	}
}
