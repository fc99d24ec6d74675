package localdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/storekit"
)

// Local is a directory used as an object store: key "a/b/c.zip" is the file
// <dir>/a/b/c.zip, so a person can browse backups with ls. Directories are
// created 0700 and files 0600, since backups hold whole databases.
//
// The directory itself must exist: a missing one is reported, never
// created, so backups are not silently written under an unmounted mount
// point. Local is safe for concurrent use, also by several processes.
type Local struct {
	root string
	// limits cap the bytes Put writes (Up) and Get reads (Down).
	limits core.Limiters
}

var _ core.ObjectStore = (*Local)(nil)

// NewLocal opens the directory dir, which must exist.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, core.Advise(core.Advice{Action: core.ActionGiveDirectory}, core.ErrInvalid, "no directory given for the local destination")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, core.Advise(core.Advice{Action: core.ActionGiveDirectory}, fmt.Errorf("%w: %w", core.ErrInvalid, err), "cannot make %s an absolute path (%v)", dir, err)
	}
	l := &Local{root: abs}
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, l.rootMissing(err)
		}
		return nil, l.fsErr("open", "", err)
	}
	if !fi.IsDir() {
		return nil, userErr(core.ErrInvalid, nil, "%s is not a directory; choose a directory for the destination", abs)
	}
	return l, nil
}

// SetLimits caps the bytes Put writes and Get reads at the limiters'
// rates (nil: no limit). Call it before the store is used.
func (l *Local) SetLimits(lim core.Limiters) { l.limits = lim }

// String is the directory's absolute path.
func (l *Local) String() string { return l.root }

func (l *Local) path(key string) string { return filepath.Join(l.root, filepath.FromSlash(key)) }

// tempFileRE matches the hidden files Put writes before renaming them into
// place: ".<name>.tmp-<digits>" (os.CreateTemp's random part is decimal).
var tempFileRE = regexp.MustCompile(`^\..*\.tmp-[0-9]+$`)

func isTempFile(name string) bool { return tempFileRE.MatchString(name) }

// checkKey validates key and also refuses names Put uses for its temporary
// files, which List hides.
func (l *Local) checkKey(key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if isTempFile(key[strings.LastIndexByte(key, '/')+1:]) {
		return userErr(core.ErrInvalid, nil,
			"object key %q is not allowed (its name is reserved for temporary files); choose another name", key)
	}
	return nil
}

// Put writes a hidden temporary file beside the target, syncs it, renames
// it over the target and syncs the directory, so the key shows either the
// old or the complete new object, also after a crash. On failure the
// temporary file is removed. An error of r is returned unchanged.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) error {
	if err := l.checkKey(key); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return cancelled(ctx, key, l.root)
	}
	src := &storekit.SourceReader{Ctx: ctx, R: r}
	dst := l.path(key)
	dir := filepath.Dir(dst)
	f, err := l.createTemp(dir, filepath.Base(dst))
	if err != nil {
		return l.fsErr("write", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	// A plain io.Writer, so io.CopyBuffer uses the large buffer instead of
	// *os.File's ReadFrom and its 32 KiB one.
	var w io.Writer = &fileWriter{f: f}
	w = core.LimitWriter(ctx, w, l.limits.Up)
	_, err = io.CopyBuffer(w, src, make([]byte, 1<<20))
	if err != nil {
		if src.Failed() {
			return src.Failure(key, l.root)
		}
		if ctx.Err() != nil {
			return cancelled(ctx, key, l.root)
		}
		return l.fsErr("write", key, err)
	}
	if err := f.Sync(); err != nil {
		return l.fsErr("write", key, err)
	}
	if err := f.Close(); err != nil {
		return l.fsErr("write", key, err)
	}
	// The last moment a cancellation can still leave nothing behind.
	if ctx.Err() != nil {
		return cancelled(ctx, key, l.root)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return l.fsErr("write", key, err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return l.fsErr("write", key, err)
	}
	return nil
}

type fileWriter struct{ f *os.File }

func (w *fileWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

// createTemp creates the temporary file for a Put into dir, creating the
// directories below the root as needed. A concurrent Delete may prune an
// empty directory between the two steps, so it tries again.
func (l *Local) createTemp(dir, base string) (*os.File, error) {
	// Leave room in the 255-byte name limit for the dot and the suffix.
	for len(base) > 200 {
		base = base[:len(base)-1]
		for len(base) > 0 && !utf8.RuneStart(base[len(base)-1]) {
			base = base[:len(base)-1]
		}
	}
	var err error
	for range 5 {
		if err = l.mkdirs(dir); err != nil {
			break
		}
		var f *os.File
		f, err = os.CreateTemp(dir, "."+base+".tmp-*")
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return nil, err
}

// mkdirs creates dir and its parents below the root, 0700, syncing each
// parent that gained an entry so the new path survives a crash.
func (l *Local) mkdirs(dir string) error {
	rel, err := filepath.Rel(l.root, dir)
	if err != nil || rel == "." {
		return err
	}
	cur := l.root
	for seg := range strings.SplitSeq(rel, string(filepath.Separator)) {
		parent := cur
		cur = filepath.Join(cur, seg)
		err := os.Mkdir(cur, 0o700)
		switch {
		case err == nil:
			if err := syncDir(parent); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
		default:
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get opens the file and seeks to offset; an offset at or past the end
// gives an empty stream.
func (l *Local) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := l.checkKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, userErr(core.ErrInvalid, nil, "cannot read %s from offset %d; offsets start at 0", key, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(l.path(key))
	if err != nil {
		return nil, l.fsErr("read", key, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = fs.ErrNotExist
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, l.fsErr("read", key, err)
	}
	var rd io.Reader = f
	if length >= 0 {
		rd = io.LimitReader(f, length)
	}
	rd = core.LimitReader(ctx, rd, l.limits.Down)
	return readCloser{Reader: storekit.CtxReader{Ctx: ctx, R: rd}, Closer: f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat describes the file; a directory is not an object.
func (l *Local) Stat(ctx context.Context, key string) (core.ObjectInfo, error) {
	if err := l.checkKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.ObjectInfo{}, err
	}
	fi, err := os.Stat(l.path(key))
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return core.ObjectInfo{}, l.fsErr("read", key, err)
	}
	return core.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// List walks only the directory the prefix names, skipping temporary
// files and anything that is not a regular file.
func (l *Local) List(ctx context.Context, prefix string) ([]core.ObjectInfo, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	objs := []core.ObjectInfo{}
	err := l.walk(ctx, prefix, func(key string, d fs.DirEntry) error {
		if isTempFile(d.Name()) || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while listing
		}
		if err != nil {
			return err
		}
		objs = append(objs, core.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(objs, func(a, b core.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// walk calls fn for every non-directory entry whose key starts with prefix.
func (l *Local) walk(ctx context.Context, prefix string, fn func(key string, d fs.DirEntry) error) error {
	start := l.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = l.path(prefix[:i])
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
				return fs.SkipAll // nothing stored under that prefix yet
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == l.root {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// A freshly formatted disk's lost+found is unreadable to
			// anyone but root, and never holds backups.
			if key == "lost+found" {
				return fs.SkipDir
			}
			// Descend only where keys can still match the prefix.
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		return fn(key, d)
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return err
		}
		return l.fsErr("list", prefix, err)
	}
	// A root that vanished (unmounted disk) must not look like an empty
	// destination.
	if _, err := os.Stat(l.root); err != nil {
		return l.fsErr("list", prefix, err)
	}
	return nil
}

// Incomplete lists the temporary files of unfinished Puts under prefix, as
// paths relative to the directory: those being written now, and those left
// by a process that died while writing.
func (l *Local) Incomplete(ctx context.Context, prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	var temps []string
	err := l.walk(ctx, "", func(key string, d fs.DirEntry) error {
		if isTempFile(d.Name()) && strings.HasPrefix(key, prefix) {
			temps = append(temps, key)
		}
		return nil
	})
	slices.Sort(temps)
	return temps, err
}

// Delete removes the file, then the directories it leaves empty, up to the
// root, so the tree stays tidy for people browsing it.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := l.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := l.path(key)
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		return nil // a directory is not an object: nothing to delete
	}
	if err == nil {
		err = os.Remove(p)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			// Missing is fine, unless the whole directory is gone.
			if _, rerr := os.Stat(l.root); rerr != nil {
				return l.fsErr("delete", key, rerr)
			}
			return nil
		}
		return l.fsErr("delete", key, err)
	}
	for d := filepath.Dir(p); d != l.root && strings.HasPrefix(d, l.root+string(filepath.Separator)); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break // not empty, or someone else's: stop pruning
		}
	}
	return nil
}

// rootMissing is the error for a destination directory that does not exist.
func (l *Local) rootMissing(cause error) error {
	return userErr(core.ErrUnreachable, cause,
		"directory %s does not exist; create it, or check that the disk holding it is mounted", l.root)
}

// fsErr classifies a file system error as it enters: what was being done
// (verb) to which key, and what the user can do about it.
func (l *Local) fsErr(verb, key string, err error) error {
	what := l.root
	switch {
	case verb == "list":
		what = fmt.Sprintf("prefix %q in %s", key, l.root)
	case key != "":
		what = fmt.Sprintf("%s in %s", key, l.root)
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return userErr(core.ErrNoSpace, err,
			"the disk holding %s is full (no space left to %s %s); free some space or remove old backups", l.root, verb, key)
	case errors.Is(err, syscall.EROFS):
		return userErr(core.ErrAccessDenied, err,
			"%s is on a read-only file system; remount it read-write or choose another directory", l.root)
	case errors.Is(err, fs.ErrPermission):
		return userErr(core.ErrAccessDenied, err,
			"permission denied to %s %s (%v); let the user running odoo-backup (uid %d) read and write the directory", verb, what, err, os.Geteuid())
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		if _, rerr := os.Stat(l.root); rerr != nil {
			return l.rootMissing(rerr)
		}
		if verb == "read" {
			return userErr(core.ErrNotFound, err, "object %s does not exist in %s", key, l.root)
		}
	}
	return core.Userf(err, "cannot %s %s (%v)", verb, what, err)
}

var _ core.IncompleteCleaner = (*Local)(nil)

// CleanupIncomplete removes the temporary files a process that died while
// putting key left beside it.
func (l *Local) CleanupIncomplete(ctx context.Context, key string) error {
	if err := l.checkKey(key); err != nil {
		return err
	}
	dir, base := filepath.Split(l.path(key))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return l.fsErr("clean up", key, err)
	}
	for _, e := range entries {
		if isTempFile(e.Name()) && strings.HasPrefix(e.Name(), "."+base+".tmp-") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return l.fsErr("clean up", key, err)
			}
		}
	}
	return ctx.Err()
}
