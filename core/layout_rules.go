package core

import (
	"fmt"
	"strconv"
)

// DefaultLayout is the layout a new destination gets when none is asked
// for (AddDestination): the pool, so backups cost what changed.
// Destinations already saved keep the layout they have.
func DefaultLayout() Layout { return LayoutPool }

// LayoutChange says what changing a destination's layout from one to
// another does to the backups it holds: "" when it does not change.
func LayoutChange(from, to Layout) string {
	if from == "" {
		from = LayoutZip
	}
	if to == "" || to == from {
		return ""
	}
	return fmt.Sprintf("backups from now on use the %s layout; those already stored keep the %s layout and stay readable", to, from)
}

// PoolSummary says what a pool backup holds and what it stored: "120
// files, 4.5 MB: 12 new files, 3.4 MB; 108 already stored".
func PoolSummary(p PoolFacts) string {
	already := max(p.Files-p.NewObjects, 0)
	return fmt.Sprintf("%s, %s: %s, %s; %s already stored",
		countFiles(p.Files, ""), FormatSize(p.Bytes), countFiles(p.NewObjects, "new "), FormatSize(p.NewBytes), FormatCount(int64(already)))
}

// countFiles is "1 file", "12 new files" (with what "new ").
func countFiles(n int, what string) string {
	if n == 1 {
		return "1 " + what + "file"
	}
	return FormatCount(int64(n)) + " " + what + "files"
}

// FormatCount renders a count with thousands separators: "99,988".
func FormatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MismatchedFiles says which files of a backup had content that does not
// match their name, "" when none: the backup holds the bytes the database
// points to all the same, but the filestore was altered behind Odoo.
func MismatchedFiles(b Backup) string {
	if b.Pool == nil || b.Pool.MismatchCount == 0 {
		return ""
	}
	s := fmt.Sprintf("backup %d holds %d filestore file(s) whose content does not match their name", b.ID, b.Pool.MismatchCount)
	if len(b.Pool.Mismatched) > 0 {
		s += " (first: " + b.Pool.Mismatched[0] + ")"
	}
	return s
}

// BackupWarning is what is worth a look about a succeeded backup, ""
// when nothing: the files it lacks (LacksFiles) and those whose content
// does not match their name (MismatchedFiles). Neither is a failure.
func BackupWarning(b Backup) string {
	lacks, mismatched := LacksFiles(b), MismatchedFiles(b)
	switch {
	case lacks != "" && mismatched != "":
		return lacks + "; " + mismatched
	case lacks != "":
		return lacks
	}
	return mismatched
}
