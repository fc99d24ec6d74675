package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// humanSize renders bytes as everywhere in the product.
func humanSize(n int64) string { return core.FormatSize(n) }

func localTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// progressPrinter shows live progress on a terminal, and nothing otherwise
// (scripts and logs get the final line only).
func progressPrinter(w io.Writer) (core.ProgressFunc, func()) {
	f, ok := w.(*os.File)
	if !ok {
		return nil, func() {}
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	printed := false
	fn := func(p core.Progress) {
		line := fmt.Sprintf("%-18s %s", p.Phase, humanSize(p.Bytes))
		if p.Total > 0 {
			line += fmt.Sprintf(" / %s (%d%%)", humanSize(p.Total), p.Bytes*100/p.Total)
		}
		fmt.Fprintf(w, "\r%s%s", line, strings.Repeat(" ", max(0, 60-len(line))))
		printed = true
	}
	return fn, func() {
		if printed {
			fmt.Fprint(w, "\r"+strings.Repeat(" ", 80)+"\r")
		}
	}
}
