package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Validate checks the schedule's fields.
func (s Schedule) Validate() error {
	switch {
	case s.Minute < 0 || s.Minute > 59:
		return Userf(ErrInvalid, "minute %d is not between 0 and 59", s.Minute)
	case s.Hour < 0 || s.Hour > 23:
		return Userf(ErrInvalid, "hour %d is not between 0 and 23", s.Hour)
	case s.Weekday < time.Sunday || s.Weekday > time.Saturday:
		return Userf(ErrInvalid, "weekday %d is not between 0 (Sunday) and 6", s.Weekday)
	case s.MonthDay < 1 || s.MonthDay > 28:
		// Days past the 28th do not exist every month; refusing them keeps
		// "monthly" meaning every month.
		return Userf(ErrInvalid, "day of the month %d is not between 1 and 28", s.MonthDay)
	}
	return nil
}

// Describe renders the schedule of a frequency for people, e.g. "daily 01:00",
// "hourly :15", "weekly Sun 01:00", "monthly 1st 01:00".
func (s Schedule) Describe(f Frequency) string {
	at := fmt.Sprintf("%02d:%02d", s.Hour, s.Minute)
	switch f {
	case Hourly:
		return fmt.Sprintf("hourly :%02d", s.Minute)
	case Daily:
		return "daily " + at
	case Weekly:
		return "weekly " + s.Weekday.String()[:3] + " " + at
	case Monthly:
		return fmt.Sprintf("monthly day %d %s", s.MonthDay, at)
	}
	return "manual only"
}

// ParseTimeOfDay reads "HH:MM".
func ParseTimeOfDay(v string) (hour, minute int, err error) {
	h, m, ok := strings.Cut(v, ":")
	hour, err1 := strconv.Atoi(h)
	minute, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return 0, 0, Userf(ErrInvalid, "time %q is not HH:MM (00:00 to 23:59)", v)
	}
	return hour, minute, nil
}

// ParseWeekday reads a weekday name ("sun", "Monday") or number (0 = Sunday).
func ParseWeekday(v string) (time.Weekday, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 6 {
		return time.Weekday(n), nil
	}
	l := strings.ToLower(v)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if len(l) >= 3 && strings.HasPrefix(name, l) {
			return d, nil
		}
	}
	return 0, Userf(ErrInvalid, "%q is not a weekday (sun, mon, ... or 0-6)", v)
}

// NextRun is the first slot of the schedule strictly after `after`, in
// after's location; ok is false for manual-only configurations. A monthly
// day past the end of a short month runs on its last day; a time that does
// not exist on a daylight-saving day runs at the time Go normalizes it to.
func NextRun(f Frequency, s Schedule, after time.Time) (next time.Time, ok bool) {
	loc := after.Location()
	y, mo, d := after.Date()
	switch f {
	case Hourly:
		t := time.Date(y, mo, d, after.Hour(), s.Minute, 0, 0, loc)
		if !t.After(after) {
			t = t.Add(time.Hour)
		}
		return t, true
	case Daily:
		for i := 0; ; i++ {
			if t := time.Date(y, mo, d+i, s.Hour, s.Minute, 0, 0, loc); t.After(after) {
				return t, true
			}
		}
	case Weekly:
		for i := 0; ; i++ {
			t := time.Date(y, mo, d+i, s.Hour, s.Minute, 0, 0, loc)
			if t.Weekday() == s.Weekday && t.After(after) {
				return t, true
			}
		}
	case Monthly:
		for i := 0; ; i++ {
			first := time.Date(y, mo+time.Month(i), 1, 0, 0, 0, 0, loc)
			day := min(s.MonthDay, daysIn(first.Year(), first.Month()))
			if t := time.Date(first.Year(), first.Month(), day, s.Hour, s.Minute, 0, 0, loc); t.After(after) {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// PreviousRun is the last slot of the schedule at or before `at`.
func PreviousRun(f Frequency, s Schedule, at time.Time) (time.Time, bool) {
	period := f.Period()
	if period == 0 {
		return time.Time{}, false
	}
	// The slot after (at - a bit more than a period) is the latest one not
	// after `at`, or `at`'s own successor when nothing fell in between.
	t, _ := NextRun(f, s, at.Add(-period-24*time.Hour))
	prev := time.Time{}
	for !t.After(at) {
		prev = t
		t, _ = NextRun(f, s, t)
	}
	return prev, !prev.IsZero()
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }
