package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// servicesScreen is the home screen: every service and its health.
type servicesScreen struct {
	ctx    *Context
	rows   []ServiceRow
	cursor int
	// offset is the first row shown when the list is taller than the screen.
	offset int
	loaded bool
	err    error
	// scheduler says who runs the schedules, from the catalog's lease.
	scheduler string
	// fleet is every host with its services and daemon.
	fleet core.Fleet
	// seq is the newest load applied.
	seq uint64
	// filter narrows the list by name or database (/).
	filter listFilter
	// rpoFull and rpoShort are the widths of the widest RPO with its
	// target and without (rpoWidths).
	rpoFull, rpoShort int
}

func newServicesScreen(ctx *Context) *servicesScreen { return &servicesScreen{ctx: ctx} }

func (s *servicesScreen) Title() string   { return "Services" }
func (s *servicesScreen) Reload() tea.Cmd { return loadServices(s.ctx) }

func (s *servicesScreen) selected() (ServiceRow, bool) {
	rows := s.visible()
	if s.cursor < 0 || s.cursor >= len(rows) {
		return ServiceRow{}, false
	}
	return rows[s.cursor], true
}

// visible are the rows the filter lets through.
func (s *servicesScreen) visible() []ServiceRow {
	// Without a filter, the rows themselves (read only): a fleet's 1,000
	// rows were copied several times a key.
	if s.filter.text() == "" {
		return s.rows
	}
	var out []ServiceRow
	for _, r := range s.rows {
		if s.filter.match(r.Health.Service.Name, r.Health.Service.DB.Database) {
			out = append(out, r)
		}
	}
	return out
}

// TakesText while the filter is typed.
func (s *servicesScreen) TakesText() bool { return s.filter.typing }

func (s *servicesScreen) running() int {
	n := 0
	for _, r := range s.rows {
		n += len(r.Running)
	}
	return n
}

func (s *servicesScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case ServicesLoadedMsg:
		if msg.Seq < s.seq {
			return nil
		}
		s.seq = msg.Seq
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.rows, s.scheduler, s.fleet = msg.Rows, msg.Scheduler, msg.Fleet
			s.rpoFull, s.rpoShort = rpoWidths(s.rows)
			for _, r := range s.rows {
				for _, b := range r.Running {
					s.ctx.progress.observe(b.ID, b.Bytes, s.ctx.now())
				}
			}
		}
		s.cursor = min(s.cursor, max(len(s.visible())-1, 0))
		s.scroll()
	case tea.KeyMsg:
		defer s.scroll()
		if s.filter.typing {
			s.filter.key(msg)
			s.cursor = min(s.cursor, max(len(s.visible())-1, 0))
			return nil
		}
		cmd, _ := s.ctx.press(s.keys(), msg)
		return cmd
	}
	return nil
}

// keys: the home screen's keys act on the selected service.
func (s *servicesScreen) keys() keyTable {
	k := s.ctx.Keys
	onService := func(run func(name string) tea.Cmd) func() tea.Cmd {
		return func() tea.Cmd {
			row, _ := s.selected()
			return run(row.Health.Service.Name)
		}
	}
	noService := func() string {
		if _, ok := s.selected(); !ok {
			return "no service selected"
		}
		return ""
	}
	moves := k.moves(s.visibleRows(), func(d int) tea.Cmd {
		s.cursor = clampCursor(s.cursor, d, len(s.visible()))
		return nil
	})
	open := action{key: k.Open, disabled: noService,
		run: onService(func(n string) tea.Cmd { return push(newServiceScreen(s.ctx, n)) })}
	backup := action{key: k.Backup, changes: "backing up", role: core.RoleOperator, disabled: noService,
		run: onService(func(n string) tea.Cmd { return backupNow(s.ctx, n) })}
	restore := action{key: k.Restore, changes: "restoring", disabled: noService,
		run: onService(func(n string) tea.Cmd { return restoreNewest(s.ctx, n) })}
	upload := action{key: k.Upload, changes: "upload & restore", disabled: noService,
		run: onService(func(n string) tea.Cmd { return openUpload(s.ctx, n) })}
	filter := action{key: k.Filter, run: func() tea.Cmd { s.filter.start(); return nil }}
	add := action{key: k.Add, changes: "adding a service", run: func() tea.Cmd { return addService(s.ctx, "") }}
	return keyTable{
		groups: [][]action{moves, {open, backup, restore, upload, filter, add}},
		footer: []action{open, backup, restore, upload, filter, add, globalKey(k.Quit)},
	}
}

// visibleRows is how many services fit under the title, the daemons' line
// and the column titles.
func (s *servicesScreen) visibleRows() int {
	n := s.ctx.bodyHeight() - 4
	if s.daemonsLine() != "" {
		n--
	}
	return max(n, 1)
}

// multiHost says whether the services are on more than one host: then each
// row shows its host.
func (s *servicesScreen) multiHost() bool { return serviceHosts(s.fleet) > 1 }

// daemonsLine says which hosts' daemons are alive and which are dead or
// stopped (and since when), when the catalog has several hosts or a daemon
// is down; "" otherwise (one host: the header says who runs its schedules).
func (s *servicesScreen) daemonsLine() string {
	var alive, down []string
	for _, h := range s.fleet.Hosts {
		switch h.Daemon {
		case core.DaemonAlive:
			alive = append(alive, h.Name)
		case core.DaemonDead:
			down = append(down, "✗ "+h.Name+" silent since "+when(s.ctx.now(), *h.Since))
		case core.DaemonStopped:
			down = append(down, "■ "+h.Name+" stopped at "+when(s.ctx.now(), *h.Since))
		}
	}
	if len(down) == 0 && !s.multiHost() {
		return ""
	}
	parts := []string{fmt.Sprintf("daemons: %d alive", len(alive))}
	if len(alive) > 0 {
		parts[0] += " (" + strings.Join(alive, ", ") + ")"
	}
	return strings.Join(append(parts, down...), " · ")
}

// scroll keeps the cursor's row in view.
func (s *servicesScreen) scroll() {
	n := s.visibleRows()
	s.offset = max(0, min(s.offset, s.cursor, len(s.visible())-n))
	if s.cursor >= s.offset+n {
		s.offset = s.cursor - n + 1
	}
}

// servicesTable lays the services out for the width: the destination
// count, then the database, give way first (the service screen shows both),
// then the RPO's targets, then the RPO (a missed RPO target fails the
// service: its health says so). With services on several hosts, the host
// comes after the service and gives way last.
func (s *servicesScreen) servicesTable() table {
	tbl := s.servicesTableWith(s.rpoFull)
	if rpoColumn(tbl) == 0 {
		tbl = s.servicesTableWith(s.rpoShort)
	}
	return tbl
}

func (s *servicesScreen) servicesTableWith(rpoMin int) table {
	rpo := column{title: "RPO", min: rpoMin, max: s.rpoFull + rpoGaugeWidth}
	if s.multiHost() {
		rpo.drop = 2
		return newTable(s.ctx.innerWidth()-2,
			column{title: "SERVICE", min: 12, max: 24},
			column{title: "HOST", min: 6, max: 16, drop: 1},
			column{title: "DATABASE", min: 12, max: 24, drop: 3},
			column{title: "DEST", min: 4, max: 4, drop: 4},
			column{title: "LAST BACKUP", min: 27, max: 34},
			rpo,
			column{title: "NEXT", min: 15, max: 20},
			column{title: "HEALTH", min: 9})
	}
	rpo.drop = 1
	return newTable(s.ctx.innerWidth()-2,
		column{title: "SERVICE", min: 12, max: 24},
		column{title: "DATABASE", min: 12, max: 24, drop: 2},
		column{title: "DEST", min: 4, max: 4, drop: 3},
		column{title: "LAST BACKUP", min: 27, max: 34},
		rpo,
		column{title: "NEXT", min: 15, max: 20},
		column{title: "HEALTH", min: 9})
}

// rpoWidths are the widths of the widest RPO of rows with its target
// ("✗ 3h/2h") and without ("✗ 3h"), at least the column's title: the
// column costs little until targets are set.
func rpoWidths(rows []ServiceRow) (full, short int) {
	full, short = len("RPO"), len("RPO")
	for _, r := range rows {
		f, s := rpoTexts(r.Health.Recovery)
		full, short = max(full, lipglossWidth(f)), max(short, lipglossWidth(s))
	}
	return min(full, 14), min(short, 10)
}

// rpoGaugeWidth is the room a gauge takes before an RPO: "▰▰▱▱ ".
const rpoGaugeWidth = 5

// rpoColumn is the RPO column's width in tbl, 0 when it was given up.
func rpoColumn(tbl table) int {
	for i, c := range tbl.cols {
		if c.title == "RPO" {
			return tbl.widths[i]
		}
	}
	return 0
}

func (s *servicesScreen) View() string {
	t, now := s.ctx.Theme, s.ctx.now()
	w := s.ctx.Width - 2
	tbl := s.servicesTable()
	var b strings.Builder
	b.WriteString(t.Title.Render("Services") + s.filter.title(t) + "\n")
	switch {
	case s.err != nil || !s.loaded:
		b.WriteString(s.ctx.notReady(s.err, s.loaded))
	case len(s.rows) == 0:
		b.WriteString("No service yet: press a to add one, or run:\n  odoo-backup service add NAME --from-odoo-conf /etc/odoo/odoo.conf --db DATABASE\n")
	default:
		if line := s.daemonsLine(); line != "" {
			b.WriteString(fit(line, s.ctx.innerWidth()) + "\n")
		}
		b.WriteString(t.Muted.Render("  "+tbl.header()) + "\n")
		visible := s.visible()
		if len(visible) == 0 {
			b.WriteString("  no service matches " + s.filter.text() + "\n")
		}
		for i := s.offset; i < len(visible) && i < s.offset+s.visibleRows(); i++ {
			r := visible[i]
			cursor := "  "
			if i == s.cursor {
				cursor = "▸ "
			}
			last := "never"
			switch {
			case len(r.Running) > 0:
				rb := r.Running[0]
				last = s.ctx.spin() + " " + stalledFirst(rb, now, runningText(core.Progress{Phase: rb.Phase, Bytes: rb.Bytes}, r.Expected[rb.ID], s.ctx.progress.rate(rb.ID), true))
			case r.Last != nil:
				last = age(now, r.Last.StartedAt) + " " + statusMark(*r.Last)
				if r.Last.Size > 0 {
					last += " " + size(r.Last.Size)
				}
			}
			next := "—"
			if r.Next != nil {
				next = when(now, *r.Next) + " " + r.NextSchedule
			}
			state := r.Health.State
			if len(r.Running) > 0 && state != core.HealthFailed && state != core.HealthStalled {
				state = "running"
			}
			rpo := "—"
			if len(r.Health.Configurations) > 0 {
				var missed bool
				// Coloured unless selected: the selection's own style
				// would be cut short by it (the ✗ stays).
				if rpo, missed = rpoCell(r.Health.Recovery, rpoColumn(tbl)); missed && i != s.cursor {
					rpo = t.Error.Render(rpo)
				}
			}
			values := []string{r.Health.Service.Name, r.Health.Service.DB.Database, fmt.Sprintf("%4d", len(r.Health.Configurations)), last, rpo, next, ""}
			if s.multiHost() {
				values = append([]string{values[0], core.ServiceHost(r.Health.Service)}, values[1:]...)
			}
			line := cursor + tbl.row(values...)
			if i == s.cursor {
				line = t.Selected.Render(line)
			}
			b.WriteString(line + t.health(state) + "\n")
		}
	}
	return t.Box.Width(w).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}
