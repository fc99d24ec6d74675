package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// ActionRebuildAgain: some destinations (Destination, or the list in
// Detail) could not be read during a rebuild; once fixed, rebuild again.
const ActionRebuildAgain Action = "rebuild-again"

// RebuildResult says what a catalog rebuild found on each destination.
type RebuildResult struct {
	Destinations []DestinationRebuild `json:"destinations"`
	// Placeholders are the services the rebuild created because backups
	// named them and the catalog did not know them; each needs its
	// connection given with `service add` before it can be restored.
	Placeholders []string `json:"placeholders"`
	// Renumbered are the backups whose recorded id another backup already
	// held, and which got a new one.
	Renumbered []RenumberedBackup `json:"renumbered"`
}

// RenumberedBackup is a backup that could not keep the id its metadata
// object recorded: a backup of the catalog, or one found before it (older,
// or as old on a destination or key that sorts first), already had it. That
// happens when destinations written by two catalogs are rebuilt into one.
type RenumberedBackup struct {
	Destination string `json:"destination"`
	Key         string `json:"key"`
	RecordedID  int64  `json:"recorded_id"`
	ID          int64  `json:"id"`
}

// Added is the number of backups recorded by the rebuild.
func (r RebuildResult) Added() int {
	n := 0
	for _, d := range r.Destinations {
		n += d.Added
	}
	return n
}

// DestinationRebuild counts the metadata objects of one destination:
// Found = Added + AlreadyKnown + len(Skipped), unless Error says the
// destination could not be read.
type DestinationRebuild struct {
	Destination  string          `json:"destination"`
	Found        int             `json:"found"`
	Added        int             `json:"added"`
	AlreadyKnown int             `json:"already_known"`
	Skipped      []SkippedObject `json:"skipped"`
	Error        string          `json:"error,omitempty"`
}

// SkippedObject is a metadata object that did not give a backup, and why.
type SkippedObject struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// maxMetadataSize bounds what is read of a ".json" object: a real metadata
// object is well under a kilobyte, and an unrelated huge file must not be
// read into memory.
const maxMetadataSize = 64 << 10

// rebuildCandidate is a backup found on a destination and not yet known.
type rebuildCandidate struct {
	dest *DestinationRebuild
	b    Backup
}

// RebuildCatalog restores the backup history from the destinations alone:
// for every destination in the catalog it reads each ".json" metadata
// object, and records a succeeded backup for each one whose archive is
// beside it with the recorded size. Each backup keeps the id its metadata
// object recorded, so ids printed before (a safety backup's "restore 14")
// still name the same backup. Ids are unique in a catalog, one row per
// destination; when two objects claim one id (destinations written by two
// catalogs) or the catalog already uses it, the oldest object found keeps
// it (then by destination name and key) and the others, like objects
// written before ids were recorded, get new ids after the highest recorded
// one, oldest first, listed in Renumbered. Backups already recorded (same
// destination and key, whatever their status) are left alone, so running it
// twice adds nothing. A service named by a backup but unknown to the catalog
// is created as a placeholder. Objects that are not readable metadata, or
// whose archive is missing or of another size, are skipped and reported; so
// is a pool backup whose file list is. A pool backup keeps the pool facts
// its metadata object records (format, file list size and checksum, counts).
//
// Destinations themselves are configuration, not history: after losing the
// catalog they are added again (same names) before the rebuild. The rebuilt
// backups are orphans until their configurations are set again, so nothing
// is rotated in the meantime.
//
// A destination that cannot be read is reported in its result and the others
// are still rebuilt; the error then names the failed destinations.
func (e *Engine) RebuildCatalog(ctx context.Context) (RebuildResult, error) {
	res := RebuildResult{Destinations: []DestinationRebuild{}, Placeholders: []string{}, Renumbered: []RenumberedBackup{}}
	dests, err := e.Catalog.Destinations(ctx)
	if err != nil {
		return res, err
	}
	res.Destinations = make([]DestinationRebuild, len(dests))
	var candidates []rebuildCandidate
	var failed []string
	for i, d := range dests {
		dr := &res.Destinations[i]
		dr.Destination = d.Name
		dr.Skipped = []SkippedObject{}
		found, err := e.scanDestination(ctx, d, dr)
		if err != nil {
			dr.Error = describe(ctx, err)
			failed = append(failed, d.Name)
			e.log().Error("catalog rebuild: destination not read", "destination", d.Name, "error", dr.Error)
			continue
		}
		for _, b := range found {
			candidates = append(candidates, rebuildCandidate{dest: dr, b: b})
		}
	}

	// Oldest first, so ids grow with time as they do for backups taken
	// here, and listings (newest first by id) read naturally.
	sort.SliceStable(candidates, func(i, j int) bool {
		a, b := candidates[i].b, candidates[j].b
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.Before(b.StartedAt)
		}
		if a.Destination != b.Destination {
			return a.Destination < b.Destination
		}
		return a.Key < b.Key
	})
	if err := e.assignRebuildIDs(ctx, candidates, &res); err != nil {
		return res, err
	}
	known := map[string]bool{}
	for _, c := range candidates {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		created, err := e.rebuildService(ctx, c.b, known)
		if err != nil && !errors.Is(err, ErrInvalid) {
			return res, err
		}
		if err != nil {
			c.dest.Skipped = append(c.dest.Skipped, SkippedObject{Key: MetadataKey(c.b.Key), Reason: describe(ctx, err)})
			continue
		}
		if created {
			res.Placeholders = append(res.Placeholders, c.b.Service)
		}
		b := c.b
		err = e.Catalog.CreateBackup(ctx, &b)
		if errors.Is(err, ErrExists) && b.ID != 0 {
			// A backup started meanwhile took the id: take the next free one.
			recorded := b.ID
			b.ID = 0
			if err = e.Catalog.CreateBackup(ctx, &b); err == nil {
				res.Renumbered = append(res.Renumbered, RenumberedBackup{Destination: b.Destination, Key: b.Key, RecordedID: recorded, ID: b.ID})
			}
		}
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				c.dest.Skipped = append(c.dest.Skipped, SkippedObject{Key: MetadataKey(c.b.Key), Reason: describe(ctx, err)})
				continue
			}
			return res, fmt.Errorf("record backup %s of %s: %w", b.Key, b.Destination, err)
		}
		c.dest.Added++
		e.log().Info("catalog rebuild: backup recorded", "backup", b.ID, "service", b.Service, "destination", b.Destination, "key", b.Key)
	}
	if len(failed) == 1 {
		return res, Advise(Advice{Action: ActionRebuildAgain, Destination: failed[0]}, ErrUnreachable, "could not read destination %q, so its backups were not rebuilt (those of the other destinations were)", failed[0])
	}
	if len(failed) > 1 {
		return res, Advise(Advice{Action: ActionRebuildAgain, Detail: quoteList(failed)}, ErrUnreachable, "could not read destinations %s, so their backups were not rebuilt (those of the other destinations were)", quoteList(failed))
	}
	return res, nil
}

// assignRebuildIDs gives every candidate (sorted oldest first) the id it
// will be recorded with: its recorded id when nobody holds it yet, else
// the next id after the highest recorded or used one.
func (e *Engine) assignRebuildIDs(ctx context.Context, candidates []rebuildCandidate, res *RebuildResult) error {
	rows, err := e.Catalog.Backups(ctx, BackupFilter{})
	if err != nil {
		return err
	}
	taken := make(map[int64]bool, len(rows)+len(candidates))
	var highest int64
	for _, b := range rows {
		taken[b.ID] = true
		highest = max(highest, b.ID)
	}
	for _, c := range candidates {
		highest = max(highest, c.b.ID)
	}
	for i := range candidates {
		b := &candidates[i].b
		recorded := b.ID
		if recorded > 0 && !taken[recorded] {
			taken[recorded] = true
			continue
		}
		highest++
		b.ID = highest
		taken[b.ID] = true
		if recorded > 0 {
			res.Renumbered = append(res.Renumbered, RenumberedBackup{Destination: b.Destination, Key: b.Key, RecordedID: recorded, ID: b.ID})
			e.log().Warn("catalog rebuild: a backup's recorded id is taken; it gets a new one",
				"destination", b.Destination, "key", b.Key, "recorded_id", recorded, "id", b.ID)
		}
	}
	return nil
}

// scanDestination reads every metadata object of one destination and
// returns the backups not yet in the catalog.
func (e *Engine) scanDestination(ctx context.Context, d Destination, dr *DestinationRebuild) ([]Backup, error) {
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return nil, err
	}
	objects, err := st.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.Name, err)
	}
	// The rows are read after the listing: a backup whose metadata object
	// is listed had its row created before its archive was written, so it
	// is seen here and not recorded twice.
	rows, err := e.Catalog.Backups(ctx, BackupFilter{Destination: d.Name})
	if err != nil {
		return nil, err
	}
	knownKeys := map[string]bool{}
	for _, b := range rows {
		if b.DestinationID == d.ID && b.Key != "" {
			knownKeys[b.Key] = true
		}
	}
	sizes := make(map[string]int64, len(objects))
	for _, o := range objects {
		sizes[o.Key] = o.Size
	}
	var out []Backup
	for _, o := range objects {
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		dr.Found++
		skip := func(format string, args ...any) {
			dr.Skipped = append(dr.Skipped, SkippedObject{Key: o.Key, Reason: fmt.Sprintf(format, args...)})
		}
		if o.Size > maxMetadataSize {
			skip("not a backup metadata object (%d bytes)", o.Size)
			continue
		}
		m, err := readMetadata(ctx, st, o.Key)
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				skip("not a backup metadata object (%s)", strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": "))
				continue
			}
			return nil, fmt.Errorf("read %s on %s: %w", o.Key, d.Name, err)
		}
		// Where the archive is counts, not what the metadata says: a person
		// may have moved both to another prefix.
		key := strings.TrimSuffix(o.Key, ".json")
		if knownKeys[key] {
			dr.AlreadyKnown++
			continue
		}
		if reason := metadataProblem(m); reason != "" {
			skip("%s", reason)
			continue
		}
		size, ok := sizes[key]
		switch {
		case !ok:
			skip("its archive %s is missing", key)
			continue
		case size != m.Size:
			skip("its archive %s holds %d bytes but %d were recorded", key, size, m.Size)
			continue
		}
		if m.Format == FormatOdooPool {
			// A pool backup is its archive and its file list: one
			// without the other restores nothing.
			list := pool.ListKey(key)
			size, ok := sizes[list]
			switch {
			case !ok:
				skip("its file list %s is missing", list)
				continue
			case size != m.Pool.ListSize:
				skip("its file list %s holds %d bytes but %d were recorded", list, size, m.Pool.ListSize)
				continue
			}
			m.Pool.Mismatched = boundedNames(m.Pool.Mismatched)
		}
		if m.Format == "" {
			m.Format = FormatOdooZip
		}
		fin := m.FinishedAt.UTC()
		out = append(out, Backup{
			ID:      max(m.ID, 0),
			Service: m.Service, DestinationID: d.ID, Destination: d.Name,
			Kind: m.Kind, Status: StatusSucceeded, Size: m.Size, SHA256: m.SHA256,
			StartedAt: m.StartedAt.UTC(), FinishedAt: &fin,
			Key: key, Database: m.Database, Format: m.Format,
			OdooVersion: m.OdooVersion, PGVersion: m.PGVersion, Encryption: m.Encryption,
			MissingCount: m.MissingFiles, MissingFiles: boundedNames(m.MissingNames), Pool: m.Pool,
		})
		// On a locking destination the storage says how long the
		// backup is locked (a request per object of it).
		e.recordLock(ctx, st, &out[len(out)-1])
		knownKeys[key] = true
	}
	return out, nil
}

func readMetadata(ctx context.Context, st ObjectStore, key string) (BackupMetadata, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return BackupMetadata{}, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxMetadataSize+1))
	if err != nil {
		return BackupMetadata{}, err
	}
	if len(raw) > maxMetadataSize {
		return BackupMetadata{}, fmt.Errorf("%w: over %d bytes", ErrCorrupt, maxMetadataSize)
	}
	return ParseMetadata(raw)
}

// metadataProblem says why parsed metadata cannot become a backup row, or "".
func metadataProblem(m BackupMetadata) string {
	switch {
	case m.MetadataVersion > MetadataVersion:
		return fmt.Sprintf("written by a newer odoo-backup (metadata version %d); rebuild with that version", m.MetadataVersion)
	case ValidateName("service", m.Service) != nil:
		return fmt.Sprintf("names no valid service (%q)", m.Service)
	case m.StartedAt.IsZero() || m.FinishedAt.IsZero():
		return "lacks its start or finish time"
	case m.Size <= 0 || len(m.SHA256) != 64:
		return "lacks its size or sha256"
	case m.Format == FormatOdooPool && (m.Pool == nil || m.Pool.ListSize <= 0 || len(m.Pool.ListSHA256) != 64):
		return "is a pool backup that lacks its file list's size or sha256"
	}
	switch m.Kind {
	case KindScheduled, KindManual, KindSafety, KindUpload, KindCopy:
	default:
		return fmt.Sprintf("has an unknown kind %q", m.Kind)
	}
	return ""
}

// rebuildService makes sure the backup's service exists, creating a
// placeholder when the catalog does not know it; created says it did.
func (e *Engine) rebuildService(ctx context.Context, b Backup, known map[string]bool) (created bool, err error) {
	if known[b.Service] {
		return false, nil
	}
	_, err = e.Catalog.Service(ctx, b.Service)
	if err == nil {
		known[b.Service] = true
		return false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	s := Service{Name: b.Service, Placeholder: true}
	if ValidateDatabaseName(b.Database) == nil {
		s.DB.Database = b.Database
	}
	if err := e.Catalog.AddService(ctx, &s, ""); err != nil {
		return false, fmt.Errorf("create placeholder service %q: %w", b.Service, err)
	}
	known[b.Service] = true
	// Info, not a warning: the rebuild's result names its placeholders.
	e.log().Info("catalog rebuild: placeholder service created", "service", b.Service, "database", s.DB.Database)
	return true, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// boundedNames keeps at most MaxMissingNames of a metadata object's names.
func boundedNames(names []string) []string {
	if len(names) > MaxMissingNames {
		return names[:MaxMissingNames]
	}
	return names
}
