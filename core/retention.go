package core

import (
	"fmt"
	"strconv"
	"strings"
)

// Retention is how many automatic backups a configuration keeps: the last
// KeepLast, or a grandfather-father-son rule. The zero value keeps everything.
type Retention struct {
	KeepLast int  `json:"keep_last,omitempty"`
	GFS      *GFS `json:"gfs,omitempty"`
}

// GFS keeps the newest backup of each of the last N hours, days, weeks,
// months and years.
type GFS struct {
	Hourly  int `json:"hourly,omitempty"`
	Daily   int `json:"daily,omitempty"`
	Weekly  int `json:"weekly,omitempty"`
	Monthly int `json:"monthly,omitempty"`
	Yearly  int `json:"yearly,omitempty"`
}

// DefaultGFS is the rule offered when none is given: 7 daily, 4 weekly, 2 monthly.
var DefaultGFS = GFS{Daily: 7, Weekly: 4, Monthly: 2}

// IsZero reports whether the retention keeps everything.
func (r Retention) IsZero() bool { return r.KeepLast == 0 && (r.GFS == nil || *r.GFS == GFS{}) }

func (r Retention) String() string {
	switch {
	case r.GFS != nil && *r.GFS != GFS{}:
		return "GFS " + r.GFS.String()
	case r.KeepLast > 0:
		return fmt.Sprintf("keep %d", r.KeepLast)
	}
	return "keep all"
}

// String renders the rule the way ParseGFS reads it, e.g. "7d,4w,2m".
func (g GFS) String() string {
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{g.Hourly, "h"}, {g.Daily, "d"}, {g.Weekly, "w"}, {g.Monthly, "m"}, {g.Yearly, "y"}} {
		if p.n > 0 {
			parts = append(parts, strconv.Itoa(p.n)+p.unit)
		}
	}
	return strings.Join(parts, ",")
}

// ParseGFS reads a rule such as "24h,7d,4w,12m,1y".
func ParseGFS(s string) (GFS, error) {
	var g GFS
	bad := func(why string) (GFS, error) {
		return GFS{}, Userf(ErrInvalid, "retention rule %q %s; write counts with a unit, e.g. 24h,7d,4w,12m,1y", s, why)
	}
	if strings.TrimSpace(s) == "" {
		return bad("is empty")
	}
	seen := map[byte]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if len(part) < 2 {
			return bad(fmt.Sprintf("has a part %q without a count and a unit", part))
		}
		unit := part[len(part)-1]
		n, err := strconv.Atoi(part[:len(part)-1])
		if err != nil || n <= 0 || n > 100000 {
			return bad(fmt.Sprintf("has a count %q that is not a positive number", part[:len(part)-1]))
		}
		if seen[unit] {
			return bad(fmt.Sprintf("names the unit %q twice", string(unit)))
		}
		seen[unit] = true
		switch unit {
		case 'h':
			g.Hourly = n
		case 'd':
			g.Daily = n
		case 'w':
			g.Weekly = n
		case 'm':
			g.Monthly = n
		case 'y':
			g.Yearly = n
		default:
			return bad(fmt.Sprintf("has an unknown unit %q (use h, d, w, m or y)", string(unit)))
		}
	}
	return g, nil
}
