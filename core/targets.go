package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MinTarget is the shortest recovery target a service may have: below a
// minute no backup or restore could meet it.
const MinTarget = time.Minute

// ParseTarget reads a recovery target as people write it: a Go duration
// ("90m", "2h", "1h30m"), days with a d ("1d", "2d12h"), or "0" or "none"
// for no target (0). A value that is negative, or below MinTarget but not
// 0, is refused with a sentence that says what to give.
func ParseTarget(s string) (time.Duration, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "none" || v == "0" {
		return 0, nil
	}
	d, ok := parseDays(v)
	if !ok {
		return 0, Userf(ErrInvalid, "%q is not a duration; give one like 30m, 2h or 1d, or 0 or none for no target", s)
	}
	if err := checkTarget(d); err != nil {
		return 0, Userf(ErrInvalid, "%q %s", s, err.Error())
	}
	return d, nil
}

// parseDays is time.ParseDuration with whole days in front: "2d", "1d12h".
func parseDays(v string) (time.Duration, bool) {
	days := int64(0)
	if i := strings.IndexByte(v, 'd'); i > 0 {
		n, err := strconv.ParseInt(v[:i], 10, 64)
		if err != nil || n < 0 || n > 365*100 {
			return 0, false
		}
		days, v = n, v[i+1:]
		if v == "" {
			return time.Duration(days) * 24 * time.Hour, true
		}
		if v[0] == '-' || v[0] == '+' {
			return 0, false
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, false
	}
	return time.Duration(days)*24*time.Hour + d, true
}

func checkTarget(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("is negative; give a target of at least %s, or 0 for none", FormatTarget(MinTarget))
	case d > 0 && d < MinTarget:
		return fmt.Errorf("is below %s, which no backup or restore could meet; give at least %s, or 0 for none", FormatTarget(MinTarget), FormatTarget(MinTarget))
	}
	return nil
}

// CheckTargets refuses a service whose recovery targets are negative or
// below MinTarget (0 is none).
func CheckTargets(s Service) error {
	for _, t := range []struct {
		what    string
		seconds int64
	}{{"RPO", s.RPOTargetSeconds}, {"RTO", s.RTOTargetSeconds}} {
		d := time.Duration(t.seconds) * time.Second
		if err := checkTarget(d); err != nil {
			return Userf(ErrInvalid, "the %s target of service %s (%s) %s", t.what, s.Name, FormatTarget(d), err.Error())
		}
	}
	return nil
}
