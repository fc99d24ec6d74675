package core

import (
	"context"
	"strings"
	"testing"
	"time"
)

// fleetSource is a catalog of leases and daemon records in memory.
type fleetSource struct {
	leases  map[string]Lease
	records []HostRecord
}

func (f fleetSource) CurrentLease(_ context.Context, name string) (Lease, error) {
	l, ok := f.leases[name]
	if !ok {
		return Lease{}, Userf(ErrNotFound, "no process holds the %s lease", name)
	}
	return l, nil
}

func (f fleetSource) Hosts(context.Context) ([]HostRecord, error) { return f.records, nil }

// Four hosts: a's daemon runs, b's was killed (its lease stale), c's was
// stopped, d never had one. Each scheduled configuration of b's service
// fails with the sentence that names the host and since when; c's warns;
// a's and d's keep their own state; manual-only configurations are not
// concerned; a host without services but with a record is listed.
func TestFleetJudgesEachHostsDaemon(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.Local)
	killed := time.Date(2026, 12, 6, 14, 2, 0, 0, time.Local)
	stopped := time.Date(2026, 12, 5, 9, 30, 0, 0, time.Local)
	src := fleetSource{
		leases: map[string]Lease{
			SchedulerLeaseName("fleet-a"): {Name: SchedulerLeaseName("fleet-a"), Holder: "daemon", PID: 1, Host: "fleet-a", AcquiredAt: now.Add(-time.Hour), Heartbeat: now.Add(-time.Second)},
			SchedulerLeaseName("fleet-b"): {Name: SchedulerLeaseName("fleet-b"), Holder: "daemon", PID: 2, Host: "fleet-b", AcquiredAt: now.Add(-2 * time.Hour), Heartbeat: killed},
		},
		records: []HostRecord{
			{Name: "fleet-a", Holder: "daemon", PID: 1, StartedAt: now.Add(-time.Hour), SeenAt: now.Add(-time.Second)},
			{Name: "fleet-b", Holder: "daemon", PID: 2, StartedAt: now.Add(-2 * time.Hour), SeenAt: killed.Add(-time.Minute)},
			{Name: "fleet-c", Holder: "daemon", PID: 3, StartedAt: stopped.Add(-time.Hour), SeenAt: stopped, StoppedAt: &stopped},
			{Name: "fleet-e", Holder: "daemon", PID: 5, StartedAt: now.Add(-time.Hour), SeenAt: now.Add(-time.Second)},
		},
	}
	svcs := []Service{{Name: "sa", Host: "fleet-a"}, {Name: "sb", Host: "fleet-b"}, {Name: "sc", Host: "fleet-c"}, {Name: "sd", Host: "fleet-d"}}
	f, err := LoadFleet(context.Background(), src, svcs, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range f.Hosts {
		got = append(got, h.Name+":"+h.Daemon+":"+strings.Join(h.Services, "+"))
	}
	want := "fleet-a:alive:sa fleet-b:dead:sb fleet-c:stopped:sc fleet-d:none:sd fleet-e:dead:"
	if strings.Join(got, " ") != want {
		t.Fatalf("fleet %q, want %q", strings.Join(got, " "), want)
	}
	if alive, down := f.Alive(); alive != 1 || down != 3 {
		t.Errorf("Alive() = %d, %d; want 1 alive, 3 down", alive, down)
	}
	b, _ := f.Host("fleet-b")
	if b.Problem != "no daemon on host fleet-b since 14:02" || b.Since == nil || !b.Since.Equal(killed) || b.PID != 2 {
		t.Errorf("fleet-b: %+v, want dead since its last heartbeat, 14:02", b)
	}
	c, _ := f.Host("fleet-c")
	if c.Problem != "daemon on host fleet-c stopped at 2026-12-05 09:30" {
		t.Errorf("fleet-c: problem %q, want the day it stopped too", c.Problem)
	}
	a, _ := f.Host("fleet-a")
	if a.Problem != "" || a.Since == nil || !a.Since.Equal(now.Add(-time.Hour)) || a.Holder != "daemon" {
		t.Errorf("fleet-a: %+v, want alive since it took the lease", a)
	}

	judge := func(service string) ServiceHealth {
		sh := ServiceHealth{Service: Service{Name: service, Host: "fleet-" + service[1:]}, State: HealthFailed, Unhealthy: true, Configurations: []ConfigHealth{
			{Service: service, Destination: "s3", Frequency: Daily.String(), State: HealthOK},
			{Service: service, Destination: "usb", Frequency: Manual.String(), State: HealthManual},
			{Service: service, Destination: "nas", Frequency: Hourly.String(), State: HealthFailed, Reason: "disk full"},
		}}
		f.Judge(&sh)
		return sh
	}
	sb := judge("sb")
	if !sb.Unhealthy || sb.State != HealthFailed {
		t.Errorf("sb: %s unhealthy %v, want failed", sb.State, sb.Unhealthy)
	}
	if c := sb.Configurations[0]; c.State != HealthFailed || c.Reason != "no daemon on host fleet-b since 14:02" {
		t.Errorf("sb on s3: %s %q, want failed for want of a daemon", c.State, c.Reason)
	}
	if c := sb.Configurations[1]; c.State != HealthManual || c.Reason != "" {
		t.Errorf("sb's manual configuration: %s %q, want untouched", c.State, c.Reason)
	}
	if c := sb.Configurations[2]; c.Reason != "no daemon on host fleet-b since 14:02; disk full" {
		t.Errorf("sb on nas: %q, want the daemon first, then its own failure", c.Reason)
	}
	sc := ServiceHealth{Service: Service{Name: "sc", Host: "fleet-c"}, State: HealthOK, Configurations: []ConfigHealth{
		{Service: "sc", Destination: "s3", Frequency: Daily.String(), State: HealthOK}}}
	f.Judge(&sc)
	if sc.Unhealthy || sc.State != HealthWarning || sc.Configurations[0].State != HealthWarning ||
		sc.Configurations[0].Reason != "daemon on host fleet-c stopped at 2026-12-05 09:30; its schedules do not run" {
		t.Errorf("sc: %+v, want a warning, no failure", sc)
	}
	for _, s := range []string{"sa", "sd"} {
		sh := judge(s)
		if sh.Configurations[0].State != HealthOK || sh.Configurations[2].Reason != "disk full" {
			t.Errorf("%s: %+v, want its own states only", s, sh.Configurations)
		}
	}
}

func TestValidateHostName(t *testing.T) {
	for _, ok := range []string{"a", "odoo-1.example.com", "hôte", strings.Repeat("h", MaxHostName)} {
		if err := ValidateHostName(ok); err != nil {
			t.Errorf("%q: %v, want it allowed", ok, err)
		}
	}
	for _, bad := range []string{"", "  ", "two words", "tab\t", "nul\x00", "esc\x1b[31m", strings.Repeat("h", MaxHostName+1)} {
		err := ValidateHostName(bad)
		if err == nil {
			t.Errorf("%q allowed, want refused", bad)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, ". ") || !strings.Contains(msg, "give") || strings.ContainsAny(msg, "\x00\x1b\t") {
			t.Errorf("%q: %q, want one sentence that says what to give, without the raw characters", bad, msg)
		}
	}
}
