package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// A command's output is its result, not the engine's log: without
// --verbose or --log-format the log is dropped, except its warnings, which
// are gathered and printed after a successful result as sentences
// ("Warning: ..."); a failure is its one sentence alone.
// The daemon logs everything, in the format asked for.

// commandLogger is the engine's logger for this command.
func (a *app) commandLogger() *slog.Logger {
	if a.daemonFlags.enabled || a.verbose || a.logFormatGiven() {
		return slog.New(logHandler(a.stderr, a.daemonFlags.logFormat))
	}
	return slog.New(&a.warnings)
}

func (a *app) logFormatGiven() bool {
	return a.flags != nil && a.flags.Changed("log-format")
}

// logHandler writes every record from info up in format, text by default.
func logHandler(w io.Writer, format string) slog.Handler {
	if format == "json" {
		return slog.NewJSONHandler(w, nil)
	}
	return slog.NewTextHandler(w, nil)
}

// checkLogFormat refuses a --log-format it does not know.
func (a *app) checkLogFormat() error {
	switch a.daemonFlags.logFormat {
	case "", "text", "json": // "" is an app built without its flags: text
		return nil
	}
	return usageError{fmt.Errorf("--log-format %q is not text or json", a.daemonFlags.logFormat)}
}

// warningSink is a slog.Handler that keeps the warnings and errors of the
// engine as sentences, each once, for the command to print with its result.
type warningSink struct {
	mu    sync.Mutex
	seen  map[string]bool
	lines []string
	attrs []slog.Attr // from WithAttrs, shared read-only by derived handlers
	root  *warningSink
}

func (w *warningSink) sink() *warningSink {
	if w.root != nil {
		return w.root
	}
	return w
}

func (w *warningSink) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warningSink) Handle(_ context.Context, r slog.Record) error {
	var details []string
	add := func(at slog.Attr) bool {
		if v := at.Value.Resolve().String(); v != "" {
			details = append(details, at.Key+" "+v)
		}
		return true
	}
	for _, at := range w.attrs {
		add(at)
	}
	r.Attrs(add)
	line := "Warning: " + r.Message
	if len(details) > 0 {
		line += " (" + strings.Join(details, ", ") + ")"
	}
	s := w.sink()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if !s.seen[line] {
		s.seen[line] = true
		s.lines = append(s.lines, line+".")
	}
	return nil
}

func (w *warningSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &warningSink{root: w.sink(), attrs: append(append([]slog.Attr{}, w.attrs...), attrs...)}
}

func (w *warningSink) WithGroup(string) slog.Handler { return w }

// print writes the gathered warnings, one a line.
func (w *warningSink) print(out io.Writer) {
	s := w.sink()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		fmt.Fprintln(out, l)
	}
	s.lines = nil
}
