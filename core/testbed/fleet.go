package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/odoo-backup/odoo-backup/core"
)

// Fleet is the shape of the catalog the fleet benchmarks fill: Hosts
// hosts of ServicesPerHost services each, every service on
// one to three of the destinations, Backups backups in all.
type Fleet struct {
	Hosts           int
	ServicesPerHost int
	Backups         int
	// Now is when the history ends: every configuration's newest scheduled
	// backup succeeded just before it, so a daemon started soon after has
	// nothing to catch up on.
	Now time.Time
}

// FleetDestinations are the destinations of a filled fleet.
var FleetDestinations = []string{"offsite", "nas", "archive"}

// FleetService names service i (0-based) of host h.
func FleetService(h, i int) string { return fmt.Sprintf("h%02d-odoo%02d", h, i) }

// FleetHost names host h.
func FleetHost(h int) string { return fmt.Sprintf("h%02d", h) }

// FleetCatalog is what FillFleet writes through the catalog's own API, so
// the invariants (one primary, the audit trail, the schedule version) hold.
type FleetCatalog interface {
	AddDestination(ctx context.Context, d *core.Destination) error
	AddService(ctx context.Context, s *core.Service, template string) error
	SetConfiguration(ctx context.Context, c core.Configuration) error
	Destinations(ctx context.Context) ([]core.Destination, error)
	Services(ctx context.Context) ([]core.Service, error)
	AllConfigurations(ctx context.Context) ([]core.Configuration, error)
}

// FillFleet fills an empty catalog: destinations, services and
// configurations through cat, then the history (backups, drills, audit
// entries) with COPY on the catalog's PostgreSQL database at url, the way
// years of schedules would have written it: ids follow time, most backups
// rotated, the newest few of each configuration succeeded, about 2% failed,
// a few running (one per 100 configurations, started a minute before Now),
// sizes growing over time. It returns how many configurations it made.
func FillFleet(ctx context.Context, cat FleetCatalog, url string, f Fleet) (int, error) {
	for _, name := range FleetDestinations {
		d := core.Destination{Name: name, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/srv/backups/" + name}}
		if err := cat.AddDestination(ctx, &d); err != nil {
			return 0, err
		}
	}
	freqs := []core.Frequency{core.Daily, core.Daily, core.Daily, core.Hourly, core.Daily, core.Daily, core.Weekly, core.Daily, core.Daily, core.Daily}
	n := 0
	for h := range f.Hosts {
		for i := range f.ServicesPerHost {
			name := FleetService(h, i)
			s := core.Service{Name: name, Host: FleetHost(h), DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: name},
				FilestoreDir: "/var/lib/odoo/filestore/" + name}
			if err := cat.AddService(ctx, &s, ""); err != nil {
				return 0, err
			}
			for k := range 1 + n%3 {
				c := core.Configuration{Service: name, Destination: FleetDestinations[(n+k)%len(FleetDestinations)],
					Frequency: freqs[(n+k)%len(freqs)], Schedule: core.Schedule{Hour: n % 24, Weekday: time.Sunday, MonthDay: 1},
					Retention: core.Retention{KeepLast: 7 + n%18}, Primary: k == 0}
				if err := cat.SetConfiguration(ctx, c); err != nil {
					return 0, err
				}
			}
			n++
		}
	}
	dests, err := cat.Destinations(ctx)
	if err != nil {
		return 0, err
	}
	svcs, err := cat.Services(ctx)
	if err != nil {
		return 0, err
	}
	cfgs, err := cat.AllConfigurations(ctx)
	if err != nil {
		return 0, err
	}
	destID := map[string]int64{}
	for _, d := range dests {
		destID[d.Name] = d.ID
	}
	svcByName := map[string]core.Service{}
	for _, s := range svcs {
		svcByName[s.Name] = s
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)

	// Each configuration's share of the history, in its own period: an
	// hourly one holds three times a daily one's rows over a shorter span,
	// a weekly one a sixth over a longer one.
	weight := func(c core.Configuration) float64 {
		switch c.Frequency {
		case core.Hourly:
			return 3
		case core.Weekly:
			return 1.0 / 6
		}
		return 1
	}
	var total float64
	for _, c := range cfgs {
		total += weight(c)
	}
	type slot struct {
		cfg, k, of int32
		started    int64
	}
	slots := make([]slot, 0, f.Backups+len(cfgs)/100+1)
	for ci, c := range cfgs {
		count := int(float64(f.Backups) * weight(c) / total)
		if ci == len(cfgs)-1 {
			count = f.Backups - len(slots) // the rounding's rest
		}
		period := c.Frequency.Period()
		newest := f.Now.Add(-time.Duration(1+ci%50) * time.Second)
		for k := range count {
			started := newest.Add(-time.Duration(count-1-k) * period)
			if k < count-1 {
				started = started.Add(time.Duration(ci%600) * time.Second)
			}
			slots = append(slots, slot{cfg: int32(ci), k: int32(k), of: int32(count), started: started.UnixNano()})
		}
		if ci%100 == 7 { // running now, besides its succeeded newest
			slots = append(slots, slot{cfg: int32(ci), k: -1, of: int32(count), started: f.Now.Add(-time.Minute).UnixNano()})
		}
	}
	slices.SortFunc(slots, func(a, b slot) int {
		if a.started != b.started {
			return int(min(max(a.started-b.started, -1), 1))
		}
		return int(a.cfg - b.cfg)
	})

	cols := []string{"service_id", "service_name", "destination_id", "destination_name", "kind", "status", "key", "size", "sha256",
		"started_at", "finished_at", "error", "database", "format", "odoo_version", "pg_version", "phase", "bytes",
		"host", "pid", "updated_at", "encryption", "missing_count", "missing_files", "process_start", "progress_at", "pool"}
	i := 0
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(slots) {
			return nil, nil
		}
		sl := slots[i]
		i++
		c := cfgs[sl.cfg]
		s := svcByName[c.Service]
		started := time.Unix(0, sl.started)
		kind, status, errText := core.KindScheduled, core.StatusRotated, ""
		age := sl.of - 1 - sl.k
		switch {
		case sl.k < 0:
			status = core.StatusRunning
		case age < int32(c.Retention.KeepLast) && (age < 2 || (int(sl.cfg)+int(sl.k))%53 != 0):
			status = core.StatusSucceeded
		case (int(sl.cfg)+int(sl.k))%53 == 0:
			status, errText = core.StatusFailed, `pg_dump: error: connection to server at "127.0.0.1", port 5432 failed: FATAL: the database system is starting up`
		}
		if (int(sl.cfg)*7+int(sl.k))%211 == 0 && status != core.StatusRunning {
			kind = core.KindManual
		}
		size := int64(200_000_000) + int64(sl.k)*1_500_000 + int64(sl.cfg%97)*10_000_000
		var finished any
		phase, bytes, updated, progress := "", int64(0), sl.started, int64(0)
		key := fmt.Sprintf("%s/%s/%s.zip", c.Service, s.DB.Database, started.UTC().Format("2006-01-02T15-04-05Z"))
		switch status {
		case core.StatusRunning:
			phase, bytes, size, key = "filestore", size/3, 0, ""
			updated, progress = f.Now.Add(-5*time.Second).UnixNano(), f.Now.Add(-5*time.Second).UnixNano()
		case core.StatusFailed:
			size, key = 0, ""
			finished = started.Add(3 * time.Second).UnixNano()
		default:
			fin := started.Add(time.Duration(size/20_000_000) * time.Second)
			finished, updated = fin.UnixNano(), fin.UnixNano()
		}
		sha := ""
		if size > 0 {
			sha = fmt.Sprintf("%064x", uint64(sl.started)^uint64(sl.cfg)<<40)
		}
		return []any{s.ID, c.Service, destID[c.Destination], c.Destination, string(kind), string(status), key, size, sha,
			sl.started, finished, errText, s.DB.Database, "zip", "17.0", "15.8", phase, bytes,
			s.Host, int64(0), updated, "", int64(0), "[]", int64(0), progress, ""}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"backups"}, cols, rows); err != nil {
		return 0, fmt.Errorf("copy backups: %w", err)
	}

	// A drill a month of every service, the newest failed for one in 50;
	// and the audit trail of a busy fleet: an entry a day of each service.
	span := 2 * 365 * 24 * time.Hour
	start := f.Now.Add(-span)
	type dated struct {
		svc int
		at  time.Time
	}
	var drills, audits []dated
	for si := range svcs {
		for m := range 24 {
			drills = append(drills, dated{si, start.Add(time.Duration(m)*30*24*time.Hour + time.Duration(si)*time.Minute)})
		}
		for d := range 365 {
			audits = append(audits, dated{si, start.Add(time.Duration(d)*48*time.Hour + time.Duration(si)*time.Second)})
		}
	}
	byTime := func(a, b dated) int { return a.at.Compare(b.at) }
	slices.SortFunc(drills, byTime)
	slices.SortFunc(audits, byTime)
	i = 0
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"drills"},
		[]string{"service_id", "service_name", "backup_id", "destination", "status", "started_at", "finished_at", "details", "error"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(drills) {
				return nil, nil
			}
			d := drills[i]
			i++
			s := svcs[d.svc]
			status, errText := core.DrillOK, ""
			if d.svc%50 == 3 && d.at.After(f.Now.Add(-31*24*time.Hour)) {
				status, errText = core.DrillFailed, "table res_partner: 0 rows, the backup recorded 1204"
			}
			return []any{s.ID, s.Name, int64(0), FleetDestinations[d.svc%len(FleetDestinations)], string(status),
				d.at.UnixNano(), d.at.Add(4 * time.Minute).UnixNano(), `{"tables":{"res_partner":1204}}`, errText}, nil
		}))
	if err != nil {
		return 0, fmt.Errorf("copy drills: %w", err)
	}
	i = 0
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"audit"},
		[]string{"at", "os_user", "ssh_client", "action", "service", "target", "detail", "outcome", "error"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(audits) {
				return nil, nil
			}
			a := audits[i]
			i++
			s := svcs[a.svc]
			return []any{a.at.UnixNano(), "admin", "10.0.0.7 52311 22", "backup", s.Name, "service " + s.Name, "to " + FleetDestinations[a.svc%3], "ok", ""}, nil
		}))
	if err != nil {
		return 0, fmt.Errorf("copy audit: %w", err)
	}
	// As autovacuum leaves a long-lived catalog: statistics and the
	// visibility map (index-only scans) up to date.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return 0, err
	}
	return len(cfgs), nil
}

// filledFleet is the fleet database of one Servers, filled once per test
// binary: every benchmark and b.N loop of a package reuses it.
type filledFleet struct {
	once         sync.Once
	url, keyFile string
	err          error
}

var filledFleets sync.Map // *Servers → *filledFleet

// FilledFleet returns the URL of a database "fleet" on s's PostgreSQL
// filled with shape (FillFleet), and the key file that seals its secrets.
// open opens the catalog at url with that key (store.Open; the test bed
// cannot import the store, whose tests import it). The first call fills it,
// in about a minute for a million backups; later calls reuse it.
func (s *Servers) FilledFleet(tb testing.TB, shape Fleet, open func(ctx context.Context, url, keyFile string) (interface {
	FleetCatalog
	Close() error
}, error)) (url, keyFile string) {
	tb.Helper()
	pg := s.Postgres(tb)
	v, _ := filledFleets.LoadOrStore(s, &filledFleet{})
	f := v.(*filledFleet)
	f.once.Do(func() {
		ctx := context.Background()
		t0 := time.Now()
		dir, err := os.MkdirTemp("", "fleet-key")
		if f.err = err; err != nil {
			return
		}
		f.keyFile = filepath.Join(dir, "catalog.key")
		if f.err = pg.CreateDatabase(ctx, "fleet"); f.err != nil {
			return
		}
		f.url = pg.ConnString("fleet")
		cat, err := open(ctx, f.url, f.keyFile)
		if f.err = err; err != nil {
			return
		}
		defer cat.Close()
		shape.Now = time.Now()
		var n int
		n, f.err = FillFleet(ctx, cat, f.url, shape)
		tb.Logf("fleet of %d services, %d configurations and %d backups filled in %s",
			shape.Hosts*shape.ServicesPerHost, n, shape.Backups, time.Since(t0).Round(time.Millisecond))
	})
	if f.err != nil {
		tb.Fatal(f.err)
	}
	return f.url, f.keyFile
}
