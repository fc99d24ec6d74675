package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/metrics"
	"github.com/odoo-backup/odoo-backup/store"
)

// BenchmarkFleetMetricsScrape: one scrape of /metrics on the fleet (1,000
// services, 2,000 configurations, 1,000,000 backups), as Prometheus makes
// it: reading the catalog, judging every service, writing the text format.
//
//	go test -run '^$' -bench BenchmarkFleetMetricsScrape -benchtime 10x -timeout 30m ./cmd/odoo-backup
func BenchmarkFleetMetricsScrape(b *testing.B) {
	url := fleetCatalog(b)
	cat, err := store.Open(context.Background(), url, store.WithKeyFile(os.Getenv("ODOO_BACKUP_CATALOG_KEY")))
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close()
	// Its parts: the count of the backups, the health snapshot.
	b.Run("Totals", func(b *testing.B) {
		for b.Loop() {
			if _, err := cat.BackupTotals(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/totals")
	})
	b.Run("Snapshot", func(b *testing.B) {
		for b.Loop() {
			if _, err := cat.HealthSnapshot(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
	})
	h := metrics.Handler(metrics.New(cat, metrics.Options{OnError: func(err error) { b.Fatal(err) }}), nil)
	var size, series int
	b.Run("Scrape", func(b *testing.B) {
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			b.StopTimer()
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "odoo_backup_catalog_up 1") {
				b.Fatalf("scrape: %d\n%.1000s", rec.Code, rec.Body.String())
			}
			size = rec.Body.Len()
			series = 0
			for _, l := range strings.Split(rec.Body.String(), "\n") {
				if strings.HasPrefix(l, "odoo_backup_") {
					series++
				}
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scrape")
		b.ReportMetric(float64(series), "series")
		b.ReportMetric(float64(size)/1e6, "MB")
	})
}
