// Package metrics exposes the catalog's state to Prometheus: on each scrape
// a Collector reads the catalog once (the health snapshot that status
// reads, the backup totals, the hosts' daemons) and turns every service,
// configuration, destination and host into metrics. A scrape costs a few
// queries whatever the size of the fleet or the length of its history.
//
// Labels carry names only (services, destinations, hosts, states): never a
// URL, a password or any other secret.
package metrics

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/odoo-backup/odoo-backup/core"
)

// Catalog is what a scrape reads.
type Catalog interface {
	core.HealthSource
	core.HealthSnapshotReader
	core.FleetSource
	core.BackupTotaler
	Services(ctx context.Context) ([]core.Service, error)
}

// Options tune a Collector; the zero value is fine.
type Options struct {
	// Timeout bounds one scrape's reading of the catalog (default 10s).
	Timeout time.Duration
	// OnError hears why a scrape could not read the catalog; the scrape
	// then says odoo_backup_catalog_up 0 and nothing else of the catalog.
	OnError func(error)
	// Now gives the time (default time.Now).
	Now func() time.Time
}

// States are the health states of a configuration, each a series of
// odoo_backup_configuration_state.
var States = []string{core.HealthOK, core.HealthRunning, core.HealthWarning, core.HealthManual, core.HealthStalled, core.HealthStale, core.HealthFailed}

// DaemonStates are the states of a host's daemon, each a series of
// odoo_backup_host_daemon_state.
var DaemonStates = []string{core.DaemonAlive, core.DaemonDead, core.DaemonStopped, core.DaemonNone}

var (
	cfgLabels  = []string{"service", "destination", "host"}
	svcLabels  = []string{"service", "host"}
	destLabels = []string{"destination"}
)

// names are the metric names desc made, in order.
var names []string

func desc(name, help string, labels ...string) *prometheus.Desc {
	names = append(names, name)
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics a Collector exports.
var (
	catalogUp      = desc("odoo_backup_catalog_up", "1 when this scrape could read the catalog, 0 when it could not (the other odoo_backup_ metrics are then missing).")
	scrapeDuration = desc("odoo_backup_scrape_duration_seconds", "How long this scrape took to read the catalog.")

	cfgInfo        = desc("odoo_backup_configuration_info", "A configuration (a service backed up to a destination), with its frequency and whether it is the service's primary.", "service", "destination", "host", "frequency", "primary")
	cfgPeriod      = desc("odoo_backup_configuration_period_seconds", "The period of a scheduled configuration (absent for manual ones): a configuration is stale after twice this without a success.", cfgLabels...)
	cfgState       = desc("odoo_backup_configuration_state", "1 for the configuration's health state, 0 for the others.", "service", "destination", "host", "state")
	cfgLastSuccess = desc("odoo_backup_last_success_timestamp_seconds", "When the configuration's newest successful backup finished (absent when none).", cfgLabels...)
	cfgRPO         = desc("odoo_backup_configuration_rpo_seconds", "Age of the configuration's newest successful backup: the data lost if the service had to be restored from this destination now (absent when none).", cfgLabels...)
	cfgDuration    = desc("odoo_backup_last_duration_seconds", "How long the configuration's newest finished backup took, failed or not.", cfgLabels...)
	cfgSize        = desc("odoo_backup_last_size_bytes", "Size of the configuration's newest successful backup.", cfgLabels...)
	cfgAnomaly     = desc("odoo_backup_size_anomaly", "1 when the size of the configuration's newest successful backup is an anomaly (below half or above three times the median of the ones before it).", cfgLabels...)
	cfgRunning     = desc("odoo_backup_running", "1 while a backup of the configuration runs.", cfgLabels...)
	cfgFailed      = desc("odoo_backup_failed_backups_total", "Failed backups of the configuration the catalog records.", cfgLabels...)

	svcHealthy    = desc("odoo_backup_service_healthy", "1 when the service is healthy (warnings included), 0 when a monitoring check should fail on it.", svcLabels...)
	svcRPO        = desc("odoo_backup_service_rpo_seconds", "Age of the service's newest successful backup on any destination (absent when none).", svcLabels...)
	svcRPOTarget  = desc("odoo_backup_service_rpo_target_seconds", "The service's RPO target (absent when none is set).", svcLabels...)
	svcRTO        = desc("odoo_backup_service_rto_seconds", "The service's last measured restore time: its last drill's or real restore's (absent when never measured).", svcLabels...)
	svcRTOAt      = desc("odoo_backup_service_rto_timestamp_seconds", "When the service's restore time was last measured.", svcLabels...)
	svcRTOTarget  = desc("odoo_backup_service_rto_target_seconds", "The service's RTO target (absent when none is set).", svcLabels...)
	drillSuccess  = desc("odoo_backup_last_drill_success", "1 when the service's last finished restore drill succeeded, 0 when it failed (absent when none ran).", "service", "host", "destination")
	drillAt       = desc("odoo_backup_last_drill_timestamp_seconds", "When the service's last finished restore drill finished.", "service", "host", "destination")
	drillRestore  = desc("odoo_backup_last_drill_restore_seconds", "How long the restore of the service's last finished drill took (absent when not measured).", "service", "host", "destination")
	destHeldBytes = desc("odoo_backup_destination_held_bytes", "Bytes of the backups the destination holds (succeeded, not rotated or deleted).", destLabels...)
	destHeld      = desc("odoo_backup_destination_held_backups", "Backups the destination holds (succeeded, not rotated or deleted).", destLabels...)
	leaseHeld     = desc("odoo_backup_scheduler_lease_held", "1 when a live process (holder daemon or console) holds the host's scheduler lease and so runs its schedules; 0 when none does (holder is the last daemon's, or empty).", "host", "holder")
	hostDaemon    = desc("odoo_backup_host_daemon_state", "1 for the state of the host's daemon (alive, dead, stopped, none), 0 for the others.", "host", "state")
	allDescs      = []*prometheus.Desc{catalogUp, scrapeDuration, cfgInfo, cfgPeriod, cfgState, cfgLastSuccess, cfgRPO, cfgDuration, cfgSize, cfgAnomaly, cfgRunning, cfgFailed, svcHealthy, svcRPO, svcRPOTarget, svcRTO, svcRTOAt, svcRTOTarget, drillSuccess, drillAt, drillRestore, destHeldBytes, destHeld, leaseHeld, hostDaemon}
)

// Collector is a prometheus.Collector of the catalog.
type Collector struct {
	cat  Catalog
	opts Options
}

// New returns a Collector of cat.
func New(cat Catalog, o Options) *Collector {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Collector{cat: cat, opts: o}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads the catalog and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	ms, err := c.read(ctx)
	up := 1.0
	if err != nil {
		up, ms = 0, nil
		if c.opts.OnError != nil {
			c.opts.OnError(err)
		}
	}
	for _, m := range ms {
		ch <- m
	}
	ch <- gauge(catalogUp, up)
	ch <- gauge(scrapeDuration, time.Since(start).Seconds())
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// read takes the catalog's metrics, or none and the error.
func (c *Collector) read(ctx context.Context) ([]prometheus.Metric, error) {
	now := c.opts.Now()
	svcs, err := c.cat.Services(ctx)
	if err != nil {
		return nil, err
	}
	fleet, err := core.LoadFleet(ctx, c.cat, svcs, now)
	if err != nil {
		return nil, err
	}
	// One snapshot of the catalog judges every service, as status does.
	src, err := core.FleetHealthSource(ctx, c.cat)
	if err != nil {
		return nil, err
	}
	totals, err := c.cat.BackupTotals(ctx)
	if err != nil {
		return nil, err
	}
	failed := map[[2]string]int64{}
	held := map[string]*core.BackupTotal{}
	for _, t := range totals {
		failed[[2]string{t.Service, t.Destination}] = t.Failed
		h := held[t.Destination]
		if h == nil {
			h = &core.BackupTotal{Destination: t.Destination}
			held[t.Destination] = h
		}
		h.Held += t.Held
		h.HeldBytes += t.HeldBytes
	}
	var out []prometheus.Metric
	add := func(d *prometheus.Desc, v float64, labels ...string) { out = append(out, gauge(d, v, labels...)) }
	for _, s := range svcs {
		sh, err := core.EvaluateService(ctx, src, s, now)
		if err != nil {
			return nil, err
		}
		fleet.Judge(&sh)
		host := core.ServiceHost(s)
		configs, err := src.Configurations(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		freq := map[string]core.Frequency{}
		for _, cf := range configs {
			freq[cf.Destination] = cf.Frequency
		}
		for _, h := range sh.Configurations {
			l := []string{s.Name, h.Destination, host}
			if held[h.Destination] == nil {
				held[h.Destination] = &core.BackupTotal{Destination: h.Destination}
			}
			add(cfgInfo, 1, s.Name, h.Destination, host, h.Frequency, boolLabel(h.Primary))
			if p := freq[h.Destination].Period(); p > 0 {
				add(cfgPeriod, p.Seconds(), l...)
			}
			for _, st := range States {
				add(cfgState, bit(h.State == st), s.Name, h.Destination, host, st)
			}
			if h.LastSuccess != nil {
				add(cfgLastSuccess, unix(*h.LastSuccess), l...)
				add(cfgRPO, max(now.Sub(*h.LastSuccess), 0).Seconds(), l...)
			}
			if b := h.LastBackup; b != nil && b.FinishedAt != nil {
				add(cfgDuration, max(b.FinishedAt.Sub(b.StartedAt), 0).Seconds(), l...)
			}
			good, err := newestGood(ctx, src, s.Name, h.Destination)
			if err != nil {
				return nil, err
			}
			if good != nil {
				add(cfgSize, float64(good.Size), l...)
				add(cfgAnomaly, bit(good.Anomaly != ""), l...)
			}
			add(cfgRunning, bit(h.Running != nil), l...)
			out = append(out, prometheus.MustNewConstMetric(cfgFailed, prometheus.CounterValue, float64(failed[[2]string{s.Name, h.Destination}]), l...))
		}
		l := []string{s.Name, host}
		add(svcHealthy, bit(!sh.Unhealthy), l...)
		r := sh.Recovery
		if r.RPO != nil {
			add(svcRPO, float64(r.RPO.Seconds), l...)
		}
		if r.RPOTargetSeconds > 0 {
			add(svcRPOTarget, float64(r.RPOTargetSeconds), l...)
		}
		if r.RTO != nil {
			add(svcRTO, r.RTO.Seconds, l...)
			add(svcRTOAt, unix(r.RTO.At), l...)
		}
		if r.RTOTargetSeconds > 0 {
			add(svcRTOTarget, float64(r.RTOTargetSeconds), l...)
		}
		if d := sh.LastDrill; d != nil {
			dl := []string{s.Name, host, d.Destination}
			add(drillSuccess, bit(d.Status == core.DrillOK), dl...)
			at := d.StartedAt
			if d.FinishedAt != nil {
				at = *d.FinishedAt
			}
			add(drillAt, unix(at), dl...)
			if d.Details.RestoreSeconds > 0 {
				add(drillRestore, d.Details.RestoreSeconds, dl...)
			}
		}
	}
	dests := make([]string, 0, len(held))
	for d := range held {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	for _, d := range dests {
		add(destHeldBytes, float64(held[d].HeldBytes), d)
		add(destHeld, float64(held[d].Held), d)
	}
	for _, h := range fleet.Hosts {
		add(leaseHeld, bit(h.Daemon == core.DaemonAlive), h.Name, h.Holder)
		for _, st := range DaemonStates {
			add(hostDaemon, bit(h.Daemon == st), h.Name, st)
		}
	}
	return out, nil
}

// newestGood is the configuration's newest successful backup in src (the
// health snapshot holds it), nil when none.
func newestGood(ctx context.Context, src core.HealthSource, service, dest string) (*core.Backup, error) {
	bs, err := src.Backups(ctx, core.BackupFilter{Service: service, Destination: dest, Limit: 50})
	if err != nil {
		return nil, err
	}
	for i := range bs {
		if bs[i].Status == core.StatusSucceeded || bs[i].Status == core.StatusRotated {
			return &bs[i], nil
		}
	}
	return nil, nil
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Names lists every metric name the Collector exports (without the Go
// runtime's and the process's that Handler adds).
func Names() []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	return out
}

// Handler serves the metrics of c in Prometheus' text format, with the Go
// runtime's, the process's and the build's; errorLog hears a failed write
// to a scraper.
func Handler(c *Collector, errorLog promhttp.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewBuildInfoCollector())
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: errorLog, ErrorHandling: promhttp.ContinueOnError})
}
