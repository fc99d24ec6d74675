package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
)

// The checks a restored database must pass before it is put in place (a
// restore) or called restorable (a drill), as named in RestoreChecks.Ran.
const (
	CheckKeyTables = "key tables"
	CheckRowCounts = "row counts"
	CheckBase      = "base installed"
)

// ErrChecksFailed: a restored database failed its checks (CheckRestored),
// so it was not put in place. It is the content of the backup that is
// wrong, not the target: the target is unchanged.
var ErrChecksFailed = errors.New("the restored database failed its checks")

// RestoreChecks is what the checks of a restored database found.
type RestoreChecks struct {
	// Ran names the checks that ran (CheckKeyTables, CheckRowCounts,
	// CheckBase); Skipped says of each one that did not why.
	Ran     []string `json:"ran"`
	Skipped []string `json:"skipped,omitempty"`
	// Tables maps each key table present to its row count in the restored
	// database; Expected holds the counts the backup recorded.
	Tables   map[string]int64 `json:"tables,omitempty"`
	Expected map[string]int64 `json:"expected,omitempty"`
	// Problems lists every check that failed, one phrase each.
	Problems []string `json:"problems,omitempty"`
	// Accepted is set when the problems were there and the restore went
	// ahead anyway because the person asked for it (AcceptErrors).
	Accepted bool `json:"accepted,omitempty"`
}

// Passed reports whether every check that ran found nothing wrong.
func (c RestoreChecks) Passed() bool { return len(c.Problems) == 0 }

// Summary is the problems as one phrase, "" when there are none.
func (c RestoreChecks) Summary() string { return strings.Join(c.Problems, "; ") }

// CheckRestored checks a restored database the same way for every restore
// and for a drill: the key tables are there, those an Odoo database cannot
// start without hold rows, the row counts the backup recorded (expected;
// nil when it recorded none, as for an uploaded file, and noCounts says
// why) are found again, and the base module is installed. A check that
// fails is a Problem, not an error: an error means the database could not
// be inspected at all.
func CheckRestored(ctx context.Context, c DBConn, expected map[string]int64, noCounts string) (RestoreChecks, error) {
	res := RestoreChecks{Ran: []string{CheckKeyTables}}
	tables, err := countRestored(ctx, c)
	var notTable *odoosql.NotATableError
	if errors.As(err, &notTable) {
		// A view under a table's name: nothing of it is read (see
		// odoosql.CheckKeyTables).
		res.Problems = append(res.Problems, notTable.Error())
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Tables = tables
	for _, t := range odoosql.RequiredTables {
		n, ok := tables[t]
		switch {
		case !ok:
			res.Problems = append(res.Problems, fmt.Sprintf("table %s is missing", t))
		case n == 0 && contains(odoosql.NonEmptyTables, t):
			res.Problems = append(res.Problems, fmt.Sprintf("table %s is empty", t))
		}
	}

	if len(expected) == 0 {
		if noCounts == "" {
			noCounts = "the backup recorded none (an uploaded file records none)"
		}
		res.Skipped = append(res.Skipped, CheckRowCounts+": "+noCounts)
	} else {
		res.Ran = append(res.Ran, CheckRowCounts)
		res.Expected = expected
		names := make([]string, 0, len(expected))
		for t := range expected {
			names = append(names, t)
		}
		sort.Strings(names)
		for _, t := range names {
			want := expected[t]
			got, ok := tables[t]
			switch {
			case !ok:
				if !contains(odoosql.RequiredTables, t) {
					res.Problems = append(res.Problems, fmt.Sprintf("table %s is missing", t))
				}
			case got != want:
				res.Problems = append(res.Problems, fmt.Sprintf("table %s has %d rows but %d were backed up", t, got, want))
			}
		}
	}

	res.Ran = append(res.Ran, CheckBase)
	if _, ok := tables["ir_module_module"]; !ok {
		res.Problems = append(res.Problems, "module base is not installed")
		return res, nil
	}
	state, err := baseModuleState(ctx, c)
	if err != nil {
		return res, err
	}
	// "to upgrade" and "to remove" are installed modules with an operation
	// pending, as Odoo counts them.
	switch state {
	case "installed", "to upgrade", "to remove":
	case "":
		res.Problems = append(res.Problems, "module base is not installed")
	default:
		res.Problems = append(res.Problems, fmt.Sprintf("module base is %s, not installed", state))
	}
	return res, nil
}

// baseModuleState is ir_module_module's state of base, "" without a row.
func baseModuleState(ctx context.Context, c DBConn) (string, error) {
	conn, err := ConnectDB(ctx, c)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	state, err := odoosql.BaseModuleState(ctx, conn)
	if err != nil {
		return "", fmt.Errorf("read the state of module base in the restored database: %w", err)
	}
	return state, nil
}

// expectedCounts is what a restore checks the row counts against: those
// recorded in the metadata object next to the archive. Without one (or
// with one that records none) the row counts are not checked, and skip says
// why.
func (e *Engine) expectedCounts(ctx context.Context, rb readableBackup) (counts map[string]int64, skip string) {
	meta, err := e.readMetadata(ctx, rb.store, rb.b.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, "the backup has no metadata object next to its archive"
	case err != nil:
		return nil, fmt.Sprintf("the metadata object next to the archive is unreadable (%v)", err)
	}
	return meta.Tables, ""
}

// checkStaged runs CheckRestored on a staged restore before it is put in
// place. When a check fails and accept is false, it returns an error
// wrapping ErrChecksFailed (phrase it with refusedChecks) and the caller
// discards the staged copy; with accept the problems stay in the result,
// marked Accepted.
func (e *Engine) checkStaged(ctx context.Context, st *staged, rb readableBackup, accept bool, rep *progressReporter) (RestoreChecks, error) {
	rep.set(PhaseCheck, rb.b.Size)
	expected, noCounts := e.expectedCounts(ctx, rb)
	// As the loader, which still owns the staged database: nothing the
	// dump planted runs with more rights than the dump had.
	checks, err := CheckRestored(ctx, st.dbConn(), expected, noCounts)
	if err != nil || checks.Passed() {
		return checks, err
	}
	if accept {
		checks.Accepted = true
		e.log().Info("restored database failed its checks; put in place as asked", "backup", rb.b.ID, "problems", checks.Summary())
		return checks, nil
	}
	e.log().Info("restored database failed its checks; not put in place", "backup", rb.b.ID, "problems", checks.Summary())
	return checks, &checksFailed{checks: checks, backup: rb.b.ID}
}

// checksFailed is the refusal of checkStaged.
type checksFailed struct {
	checks RestoreChecks
	backup int64
}

func (c *checksFailed) Error() string {
	return fmt.Sprintf("backup %d restored with problems: %s", c.backup, c.checks.Summary())
}
func (c *checksFailed) Unwrap() error { return ErrChecksFailed }

// refusedChecks phrases a refusal of checkStaged for its target: what
// failed, and that target stayed as it was.
func refusedChecks(err error, unchanged string) error {
	var cf *checksFailed
	if !errors.As(err, &cf) {
		return err
	}
	return Userf(err, "backup %d was not restored because the restored database failed its checks (%s); %s", cf.backup, cf.checks.Summary(), unchanged)
}
