package core

import (
	"context"
	"fmt"
	"slices"
)

// HealthSnapshot is what EvaluateService reads of every service, read in a
// few queries instead of a few per service: on a fleet of a thousand
// services, status and the console's home screen would otherwise make
// thousands of round trips to the catalog.
type HealthSnapshot struct {
	Configurations []Configuration
	// Backups holds each configuration's newest finished backup and newest
	// successful one, and every running backup among the newest 50 of its
	// service on its destination with the newest succeeded one with a size
	// there (the console's expected size of the running one).
	Backups []Backup
	// Drills holds each service's newest finished drill.
	Drills []Drill
	// Restores holds each service's newest successful restore.
	Restores []RestoreRecord
}

// HealthSnapshotReader is a catalog that reads a HealthSnapshot in one
// consistent read.
type HealthSnapshotReader interface {
	HealthSnapshot(ctx context.Context) (HealthSnapshot, error)
}

// FleetHealthSource returns what EvaluateService should read when it judges
// many services: one snapshot of cat when cat can take one, else cat
// itself. EvaluateService gives the same answer from either, but for
// LastSuccess when none of a configuration's newest 50 backups succeeded:
// the snapshot has the true one (the newest finished one failed, so the
// state is failed either way, or none of the 50 finished). Its Backups
// also serve a service's running backups, and its newest finished one on
// each configured destination, as the catalog would list them; it holds
// nothing else of the history.
func FleetHealthSource(ctx context.Context, cat HealthSource) (HealthSource, error) {
	r, ok := cat.(HealthSnapshotReader)
	if !ok {
		return cat, nil
	}
	snap, err := r.HealthSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	return newSnapshotSource(snap), nil
}

type snapshotSource struct {
	configs  map[string][]Configuration
	all      []Configuration
	backups  map[string][]Backup // by service, newest first
	byID     map[int64]Backup
	drills   map[string][]Drill // by service, newest first
	restores map[string][]RestoreRecord
}

func newSnapshotSource(s HealthSnapshot) *snapshotSource {
	src := &snapshotSource{configs: map[string][]Configuration{}, all: s.Configurations,
		backups: map[string][]Backup{}, byID: map[int64]Backup{}, drills: map[string][]Drill{},
		restores: map[string][]RestoreRecord{}}
	for _, c := range s.Configurations {
		src.configs[c.Service] = append(src.configs[c.Service], c)
	}
	for _, b := range s.Backups {
		if _, dup := src.byID[b.ID]; dup {
			continue
		}
		src.byID[b.ID] = b
		src.backups[b.Service] = append(src.backups[b.Service], b)
	}
	for _, l := range src.backups {
		slices.SortFunc(l, func(a, b Backup) int { return int(min(max(b.ID-a.ID, -1), 1)) })
	}
	for _, d := range s.Drills {
		src.drills[d.Service] = append(src.drills[d.Service], d)
	}
	for _, r := range s.Restores {
		src.restores[r.Service] = append(src.restores[r.Service], r)
	}
	for _, l := range src.drills {
		slices.SortFunc(l, func(a, b Drill) int { return int(min(max(b.ID-a.ID, -1), 1)) })
	}
	return src
}

func (s *snapshotSource) Configurations(_ context.Context, service string) ([]Configuration, error) {
	return s.configs[service], nil
}

func (s *snapshotSource) AllConfigurations(context.Context) ([]Configuration, error) {
	return s.all, nil
}

func (s *snapshotSource) Primary(_ context.Context, service string) (Configuration, error) {
	for _, c := range s.configs[service] {
		if c.Primary {
			return c, nil
		}
	}
	return Configuration{}, fmt.Errorf("service %q has no configuration: %w", service, ErrNotFound)
}

func (s *snapshotSource) Backup(_ context.Context, id int64) (Backup, error) {
	if b, ok := s.byID[id]; ok {
		return b, nil
	}
	return Backup{}, fmt.Errorf("backup %d is not in the health snapshot: %w", id, ErrNotFound)
}

// Backups filters the snapshot's backups as the catalog filters its
// history; only a filter by service finds any.
func (s *snapshotSource) Backups(_ context.Context, f BackupFilter) ([]Backup, error) {
	var out []Backup
	for _, b := range s.backups[f.Service] {
		switch {
		case f.Destination != "" && b.Destination != f.Destination,
			f.Kind != "" && b.Kind != f.Kind,
			f.Status != "" && b.Status != f.Status,
			f.BeforeID > 0 && b.ID >= f.BeforeID:
			continue
		}
		out = append(out, b)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func (s *snapshotSource) Drills(_ context.Context, service string, limit int) ([]Drill, error) {
	out := s.drills[service]
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Restores gives the snapshot's newest successful restore of service.
func (s *snapshotSource) Restores(_ context.Context, service string, limit int) ([]RestoreRecord, error) {
	out := s.restores[service]
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// AddRestore is refused: a snapshot is read only.
func (s *snapshotSource) AddRestore(context.Context, *RestoreRecord) error {
	return fmt.Errorf("a health snapshot records nothing: %w", ErrInvalid)
}
