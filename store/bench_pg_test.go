package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// The fleet of the scale target: 20 hosts x 50 services, 1,000,000
// backups, in a PostgreSQL catalog of its own on the test bed's server.
// Benchmarks only: go test -run '^$' -bench BenchmarkFleet -benchtime 10x ./store
var fleet = testbed.Fleet{Hosts: 20, ServicesPerHost: 50, Backups: 1_000_000}

// fleetCatalog fills the fleet once per run of the package's benchmarks
// (b.N loops and sub-benchmarks reuse it) and opens it.
func fleetCatalog(b *testing.B) *Catalog {
	b.Helper()
	url, keyFile := servers.FilledFleet(b, fleet, func(ctx context.Context, url, keyFile string) (interface {
		testbed.FleetCatalog
		Close() error
	}, error) {
		return Open(ctx, url, WithKeyFile(keyFile))
	})
	cat, err := Open(context.Background(), url, WithKeyFile(keyFile))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cat.Close() })
	return cat
}

// BenchmarkFleetHealth judges every service of the fleet the way status and
// the console's home screen do.
func BenchmarkFleetHealth(b *testing.B) {
	cat := fleetCatalog(b)
	ctx := context.Background()
	every := func(snapshot bool) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				svcs, err := cat.Services(ctx)
				must(b, err)
				var src core.HealthSource = cat
				if snapshot {
					src, err = core.FleetHealthSource(ctx, cat)
					must(b, err)
				}
				unhealthy := 0
				for _, s := range svcs {
					sh, err := core.EvaluateService(ctx, src, s, time.Now())
					must(b, err)
					if sh.Unhealthy {
						unhealthy++
					}
				}
				if len(svcs) != fleet.Hosts*fleet.ServicesPerHost || unhealthy == 0 || unhealthy == len(svcs) {
					b.Fatalf("%d services, %d unhealthy", len(svcs), unhealthy)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fleet")
		}
	}
	// Before the fleet work: a few queries per service.
	b.Run("PerServiceQueries", every(false))
	// One snapshot of the fleet (core.FleetHealthSource).
	b.Run("Snapshot", every(true))
	b.Run("OneService", func(b *testing.B) {
		s, err := cat.Service(ctx, testbed.FleetService(7, 7))
		must(b, err)
		for b.Loop() {
			_, err := core.EvaluateService(ctx, cat, s, time.Now())
			must(b, err)
		}
	})
}

// BenchmarkFleetExplain logs PostgreSQL's plan and timing of the queries
// behind status, the console and the daemons on the fleet: each must be
// index lookups, never a scan of the backups.
func BenchmarkFleetExplain(b *testing.B) {
	cat := fleetCatalog(b)
	ctx := context.Background()
	svc := testbed.FleetService(3, 4)
	cfgs, err := cat.Configurations(ctx, svc)
	must(b, err)
	queries := map[string][]any{}
	q, args, err := backupsQuery(core.BackupFilter{Service: svc, Destination: cfgs[0].Destination, Limit: 50})
	must(b, err)
	queries[q] = args
	q, args, err = backupsQuery(core.BackupFilter{Service: svc, Limit: 100})
	must(b, err)
	queries[q] = args
	q, args, err = backupsQuery(core.BackupFilter{Service: svc, Destination: cfgs[0].Destination, Kind: core.KindScheduled, Status: core.StatusSucceeded, Limit: 10})
	must(b, err)
	queries[q] = args
	for _, q := range []string{healthBackupIDs + ` UNION ` + healthSizedIDs, healthRunning, healthDrillIDs, backupTotalsQuery} {
		queries[q] = nil
	}
	for b.Loop() {
		for q, args := range queries {
			rows, err := cat.db.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
			must(b, err)
			var plan []string
			for rows.Next() {
				var line string
				must(b, rows.Scan(&line))
				plan = append(plan, line)
			}
			must(b, rows.Err())
			rows.Close()
			text := strings.Join(plan, "\n")
			b.Logf("%s\n%s", q, text)
			if strings.Contains(text, "Seq Scan on backups") {
				b.Errorf("a query scans the backups:\n%s\n%s", q, text)
			}
		}
	}
}
