package core

import (
	"strings"
	"testing"
	"time"
)

func TestSizeAnomaly(t *testing.T) {
	week := []int64{100, 110, 90, 105, 95, 100, 102}
	cases := []struct {
		name   string
		size   int64
		before []int64
		want   string // a word of the sentence, "" for none
	}{
		{"ordinary", 101, week, ""},
		{"just above half", 51, week, ""},
		{"below half", 49, week, "below half"},
		{"just below three times", 299, week, ""},
		{"above three times", 301, week, "above three times"},
		{"too little history", 1, []int64{100, 100}, ""},
		{"only the last seven count", 100, append([]int64{10, 10, 10, 10, 10, 10, 10}, 100, 100, 100), "above three times"},
		{"even count median", 49, []int64{90, 110, 100, 100}, "below half"},
	}
	for _, c := range cases {
		got := SizeAnomaly(c.size, c.before)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: SizeAnomaly(%d) = %q, want %q", c.name, c.size, got, c.want)
		}
	}
}

func TestMeasureRecovery(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *time.Time { t := now.Add(-ago); return &t }
	svc := Service{Name: "app", RPOTargetSeconds: 7200, RTOTargetSeconds: 1800}
	configs := []ConfigHealth{
		{Destination: "s3", LastSuccess: at(3 * time.Hour)},
		{Destination: "local", LastSuccess: at(90 * time.Minute)},
		{Destination: "never"},
	}
	drill := &Drill{ID: 4, BackupID: 9, Status: DrillOK, FinishedAt: at(48 * time.Hour), Details: DrillDetails{RestoreSeconds: 2400}}
	r := MeasureRecovery(svc, configs, drill, nil, now)
	if r.RPO == nil || r.RPO.Seconds != 5400 || len(r.Destinations) != 2 || r.RPOMissed {
		t.Fatalf("RPO = %+v over %+v, missed %v; want 1h30m from local, not missed", r.RPO, r.Destinations, r.RPOMissed)
	}
	if r.RTO == nil || r.RTO.Source != "drill" || !r.RTOMissed || !strings.Contains(r.RTOProblem(), "40m") {
		t.Fatalf("RTO = %+v missed %v (%q); want the drill's 40m, missed", r.RTO, r.RTOMissed, r.RTOProblem())
	}
	restore := &RestoreRecord{ID: 2, BackupID: 10, Status: RestoreSucceeded, StartedAt: now.Add(-time.Hour), FinishedAt: now.Add(-time.Hour + 10*time.Minute)}
	r = MeasureRecovery(svc, configs[:1], drill, restore, now)
	if r.RTO == nil || r.RTO.Source != "restore" || r.RTOMissed {
		t.Fatalf("RTO = %+v missed %v; want the newer restore's 10m, not missed", r.RTO, r.RTOMissed)
	}
	if !r.RPOMissed || !strings.Contains(r.RPOProblem(), "3h old") {
		t.Fatalf("RPO problem %q; want the 2h target missed by a 3h old backup", r.RPOProblem())
	}
	if r := MeasureRecovery(svc, nil, nil, nil, now); !r.RPOMissed || r.RTOMissed || !strings.Contains(r.RPOProblem(), "no good backup") {
		t.Fatalf("no backups: %+v %q", r, r.RPOProblem())
	}
}

func TestFormatTarget(t *testing.T) {
	for d, want := range map[time.Duration]string{2 * time.Hour: "2h", 30 * time.Minute: "30m", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 0: "0s", 3*time.Hour + 5*time.Second: "3h0m5s"} {
		if got := FormatTarget(d); got != want {
			t.Errorf("FormatTarget(%v) = %q, want %q", d, got, want)
		}
	}
}
