package core

import (
	"errors"
	"testing"
	"time"
)

// How long a retention keeps a scheduled backup, by table.
func TestLongestKeep(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		r    Retention
		f    Frequency
		want time.Duration
	}{
		{Retention{KeepLast: 7}, Daily, 7 * day},
		{Retention{KeepLast: 24}, Hourly, 24 * time.Hour},
		{Retention{KeepLast: 4}, Weekly, 28 * day},
		{Retention{KeepLast: 3}, Monthly, 93 * day},
		{Retention{GFS: &DefaultGFS}, Daily, 62 * day},
		{Retention{GFS: &GFS{Daily: 7, Yearly: 1}}, Daily, 366 * day},
		// A rule keeps one backup in each of the last N buckets that have
		// one: 24 hourly buckets of a daily run span 24 days.
		{Retention{GFS: &GFS{Hourly: 24}}, Daily, 24 * day},
		{Retention{KeepLast: 7}, Manual, 0},
		{Retention{}, Daily, 0},
	}
	for _, tc := range tests {
		if got := LongestKeep(tc.r, tc.f); got != tc.want {
			t.Errorf("LongestKeep(%s, %s) = %s; want %s", tc.r, tc.f, got, tc.want)
		}
	}
}

// Every bad lock setting is one sentence, about the lock.
func TestLockSettingsRefused(t *testing.T) {
	s3 := Destination{Name: "vault", Kind: DestinationS3, S3: S3Settings{Endpoint: "s3.example.com:443", Bucket: "b"}}
	local := Destination{Name: "nas", Kind: DestinationLocal, Local: LocalSettings{Dir: "/srv/nas"}}
	tests := []struct {
		d    Destination
		lock ObjectLock
		want string
	}{
		{local, ObjectLock{Mode: LockCompliance, Days: 30}, "a local directory cannot lock what it holds, since Object Lock is a feature of S3 buckets; lock an S3 destination whose bucket has Object Lock enabled instead"},
		{s3, ObjectLock{Mode: LockGovernance}, "an Object Lock needs a number of days greater than 0, not 0"},
		{s3, ObjectLock{Mode: LockGovernance, Days: -3}, "an Object Lock needs a number of days greater than 0, not -3"},
		{s3, ObjectLock{Mode: "strict", Days: 3}, `Object Lock mode "strict" is neither governance nor compliance`},
		{s3, ObjectLock{Days: 3}, "a lock of 3 days needs a mode, governance or compliance"},
		{s3, ObjectLock{Mode: LockCompliance, Days: MaxLockDays + 1}, "an Object Lock of 36501 days is longer than the 36500 days (100 years) allowed; give fewer days"},
	}
	for _, tc := range tests {
		d := tc.d
		d.Lock = tc.lock
		err := CheckDestination(&d)
		if err == nil || err.Error() != tc.want || SettingOf(err) != "lock" || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s with lock %+v: %v (setting %q); want %q about the lock", tc.d.Kind, tc.lock, err, SettingOf(err), tc.want)
		}
	}
	ok := s3
	ok.Lock = ObjectLock{Mode: LockCompliance, Days: 30}
	if err := CheckDestination(&ok); err != nil {
		t.Errorf("a compliance lock of 30 days on S3: %v", err)
	}
}

// A lock shorter than what a retention on the destination keeps is refused
// with what would happen; one as long, or a retention on another
// destination, is not.
func TestLockShorterThanRetention(t *testing.T) {
	d := Destination{Name: "vault", Kind: DestinationS3, Lock: ObjectLock{Mode: LockCompliance, Days: 30}}
	cfgs := []Configuration{
		{Service: "prod", Destination: "vault", Frequency: Daily, Retention: Retention{KeepLast: 14}},
		{Service: "crm", Destination: "vault", Frequency: Daily, Retention: Retention{GFS: &DefaultGFS}},
		{Service: "erp", Destination: "other", Frequency: Monthly, Retention: Retention{KeepLast: 12}},
	}
	err := checkLockCoversRetention(d, cfgs)
	const want = "a lock of 30 days on vault is shorter than the 62 days the retention of crm there (GFS 7d,4w,2m, daily) keeps backups, so those backups would stay deletable after their first 30 days"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v;\nwant %q", err, want)
	}
	if a, ok := AdviceOf(err); !ok || a.Action != ActionAllowShortLock || a.Detail != "62" || a.Destination != "vault" {
		t.Errorf("advice %+v; want %s with 62 days", a, ActionAllowShortLock)
	}
	d.Lock.Days = 62
	if err := checkLockCoversRetention(d, cfgs); err != nil {
		t.Errorf("a lock as long as the longest keep: %v", err)
	}
}
