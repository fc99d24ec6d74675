package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// ActivityLoadedMsg carries what the activity screen shows, read with the
// service filter Service ("" for every service): the running backups and
// the newest others, the newest drills, the newest audit entries (for the
// jobs) and the newest page of the audit trail.
type ActivityLoadedMsg struct {
	Service  string
	Backups  []core.Backup
	Drills   []core.Drill
	Ops      []core.AuditEntry
	Audit    []core.AuditEntry
	Services []string
	Err      error
}

// AuditPageMsg carries an older page of the audit trail: the entries
// before BeforeID.
type AuditPageMsg struct {
	Service  string
	BeforeID int64
	Rows     []core.AuditEntry
	Err      error
}

// activityLimit is how many recent backups, drills and audited operations
// the jobs pane reads.
const activityLimit = 200

const (
	paneJobs = iota
	paneAudit
)

// activityScreen shows every service's jobs (key 4) — running backups
// first with their progress, then backups, restores, rotations, drills and
// the other operations newest first — and, in a second pane (tab), the
// audit trail, loaded a page at a time. The selected row's detail and
// whole error show under the list; / filters by service.
type activityScreen struct {
	ctx  *Context
	pane int
	err  error
	// loaded is false until the first data came.
	loaded bool

	jobs              []jobRow
	jobCur, jobOffset int

	audit                 []core.AuditEntry
	auditCur, auditOffset int
	// more is false once a page came back short: the trail's end.
	more, loadingMore bool

	services []string
	filter   listFilter
	// queried is the service the data was read for (see queryService).
	queried string
	// live is this console's job progress, by backup id.
	live map[int64]core.Progress
}

func newActivityScreen(ctx *Context) *activityScreen {
	return &activityScreen{ctx: ctx, live: map[int64]core.Progress{}}
}

func (s *activityScreen) Title() string { return "Activity" }

// TakesText while the filter is typed.
func (s *activityScreen) TakesText() bool { return s.filter.typing }

// queryService is the service the catalog is asked for: the one the filter
// names, exactly or as the only service containing it, so a long trail is
// filtered by the catalog; "" when the filter names none or several, which
// the screen then filters itself.
func (s *activityScreen) queryService() string {
	q := strings.ToLower(s.filter.text())
	if q == "" {
		return ""
	}
	var hits []string
	for _, n := range s.services {
		if strings.ToLower(n) == q {
			return n
		}
		if strings.Contains(strings.ToLower(n), q) {
			hits = append(hits, n)
		}
	}
	if len(hits) == 1 {
		return hits[0]
	}
	return ""
}

func (s *activityScreen) Reload() tea.Cmd {
	cat, svc, page := s.ctx.Catalog, s.queryService(), s.ctx.PageSize
	return func() tea.Msg {
		c := context.Background()
		msg := ActivityLoadedMsg{Service: svc}
		fail := func(err error) tea.Msg { msg.Err = err; return msg }
		running, err := cat.Backups(c, core.BackupFilter{Service: svc, Status: core.StatusRunning})
		if err != nil {
			return fail(err)
		}
		recent, err := cat.Backups(c, core.BackupFilter{Service: svc, Limit: activityLimit})
		if err != nil {
			return fail(err)
		}
		msg.Backups = running
		for _, b := range recent {
			if b.Status != core.StatusRunning {
				msg.Backups = append(msg.Backups, b)
			}
		}
		if msg.Drills, err = cat.Drills(c, svc, activityLimit); err != nil && !errors.Is(err, core.ErrNotFound) {
			return fail(err)
		}
		if msg.Ops, err = cat.Audit(c, core.AuditFilter{Service: svc, Limit: activityLimit}); err != nil {
			return fail(err)
		}
		if msg.Audit, err = cat.Audit(c, core.AuditFilter{Service: svc, Limit: page}); err != nil {
			return fail(err)
		}
		svcs, err := cat.Services(c)
		if err != nil {
			return fail(err)
		}
		for _, sv := range svcs {
			msg.Services = append(msg.Services, sv.Name)
		}
		return msg
	}
}

func loadAuditPage(ctx *Context, service string, before int64) tea.Cmd {
	cat, limit := ctx.Catalog, ctx.PageSize
	return func() tea.Msg {
		rows, err := cat.Audit(context.Background(), core.AuditFilter{Service: service, Limit: limit, BeforeID: before})
		return AuditPageMsg{Service: service, BeforeID: before, Rows: rows, Err: err}
	}
}

func (s *activityScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case ActivityLoadedMsg:
		if msg.Err != nil {
			s.loaded, s.err = true, msg.Err
			return nil
		}
		s.services = msg.Services
		if msg.Service != s.queryService() {
			return s.Reload() // the filter changed while this was read
		}
		s.loaded, s.err = true, nil
		s.setJobs(mergeJobs(msg.Backups, msg.Drills, msg.Ops))
		s.mergeNewestAudit(msg.Service, msg.Audit)
		return s.maybeLoadMore()
	case AuditPageMsg:
		s.loadingMore = false
		if msg.Err != nil {
			s.err = msg.Err
			return nil
		}
		if n := len(s.audit); msg.Service == s.queried && n > 0 && s.audit[n-1].ID == msg.BeforeID {
			s.audit = append(s.audit, msg.Rows...)
			s.more = len(msg.Rows) == s.ctx.PageSize
		}
		return s.maybeLoadMore()
	case JobProgressMsg:
		s.live[msg.Progress.BackupID] = msg.Progress
	case tea.KeyMsg:
		if s.filter.typing {
			before := s.queryService()
			s.filter.key(msg)
			s.jobCur, s.jobOffset, s.auditCur, s.auditOffset = 0, 0, 0, 0
			if s.queryService() != before {
				return s.Reload()
			}
			return s.maybeLoadMore()
		}
		if cmd, ok := s.ctx.press(s.keys(), msg); ok {
			return cmd
		}
		return s.maybeLoadMore()
	}
	return nil
}

// keys: the activity screen only reads; its keys move, filter and switch
// panes.
func (s *activityScreen) keys() keyTable {
	k := s.ctx.Keys
	moves := k.moves(s.listRows(), func(d int) tea.Cmd {
		s.move(d)
		return s.maybeLoadMore()
	})
	tab := action{key: k.Tab, run: func() tea.Cmd { s.pane = 1 - s.pane; return s.maybeLoadMore() }}
	filter := action{key: k.Filter, run: func() tea.Cmd { s.filter.start(); return s.maybeLoadMore() }}
	return keyTable{
		groups: [][]action{moves, {tab, filter, globalKey(k.Back)}},
		footer: []action{moves[0], moves[1], tab, filter, globalKey(k.Services), globalKey(k.Back), globalKey(k.Help), globalKey(k.Quit)},
	}
}

// setJobs takes the new jobs and keeps the cursor on the job it was on, so
// a refresh does not move what the user reads.
func (s *activityScreen) setJobs(rows []jobRow) {
	vis := s.visibleJobs()
	if s.jobCur < len(vis) {
		cur := vis[s.jobCur].key
		s.jobs = rows
		for i, r := range s.visibleJobs() {
			if r.key == cur {
				s.jobOffset += i - s.jobCur
				s.jobCur = i
				break
			}
		}
	}
	s.jobs = rows
	s.clampJobs()
}

// mergeNewestAudit puts a fresh newest page in front of the older entries
// already loaded, so a refresh does not reload the pages scrolled through,
// and keeps the cursor on its entry.
func (s *activityScreen) mergeNewestAudit(service string, page []core.AuditEntry) {
	var cur int64
	if vis := s.visibleAudit(); s.auditCur < len(vis) {
		cur = vis[s.auditCur].ID
	}
	if service != s.queried {
		s.audit, s.queried, s.more = nil, service, false
	}
	s.audit, s.more = mergeNewest(page, s.audit, func(a core.AuditEntry) int64 { return a.ID }, s.ctx.PageSize, s.more)
	for i, a := range s.visibleAudit() {
		if a.ID == cur && cur != 0 {
			s.auditOffset += i - s.auditCur
			s.auditCur = i
			break
		}
	}
	s.auditCur = max(0, min(s.auditCur, len(s.visibleAudit())-1))
	s.scroll(&s.auditCur, &s.auditOffset, len(s.visibleAudit()))
}

// visibleJobs and visibleAudit are the rows the filter lets through.
func (s *activityScreen) visibleJobs() []jobRow {
	var out []jobRow
	for _, r := range s.jobs {
		if s.filter.match(r.service) {
			out = append(out, r)
		}
	}
	return out
}

func (s *activityScreen) visibleAudit() []core.AuditEntry {
	var out []core.AuditEntry
	for _, a := range s.audit {
		if s.filter.match(a.Service) {
			out = append(out, a)
		}
	}
	return out
}

func (s *activityScreen) clampJobs() {
	n := len(s.visibleJobs())
	s.jobCur = max(0, min(s.jobCur, n-1))
	s.scroll(&s.jobCur, &s.jobOffset, n)
}

func (s *activityScreen) move(d int) {
	if s.pane == paneJobs {
		s.jobCur += d
		s.clampJobs()
		return
	}
	n := len(s.visibleAudit())
	s.auditCur = max(0, min(s.auditCur+d, n-1))
	s.scroll(&s.auditCur, &s.auditOffset, n)
}

// scroll keeps the cursor within the rows shown.
func (s *activityScreen) scroll(cur, offset *int, n int) {
	rows := s.listRows()
	*offset = max(0, min(*offset, *cur, n-rows))
	if *cur >= *offset+rows {
		*offset = *cur - rows + 1
	}
}

// maybeLoadMore asks for the next older page of the trail when the cursor
// nears the end of what is loaded, or when the filter leaves too few rows
// to fill the list.
func (s *activityScreen) maybeLoadMore() tea.Cmd {
	if s.pane != paneAudit || !s.more || s.loadingMore || len(s.audit) == 0 || s.auditCur < len(s.visibleAudit())-s.listRows() {
		return nil
	}
	s.loadingMore = true
	return loadAuditPage(s.ctx, s.queried, s.audit[len(s.audit)-1].ID)
}

// contentRows is the room inside the box.
func (s *activityScreen) contentRows() int { return max(s.ctx.bodyHeight()-2, 6) }

// detail is the selected row's detail and whole error, headed by which
// job or entry it is, wrapped to the width; it leaves the list at least
// three rows.
func (s *activityScreen) detail() []string {
	room := s.contentRows() - 2 - 3 - 1 // title and column titles, three rows, a blank line
	if room < 2 {
		return nil
	}
	t, w, loc := s.ctx.Theme, s.ctx.innerWidth(), s.ctx.now().Location()
	var head, detail, errText string
	var failed bool
	if s.pane == paneJobs {
		vis := s.visibleJobs()
		if s.jobCur >= len(vis) {
			return nil
		}
		r := vis[s.jobCur]
		head = fmt.Sprintf("%s %s", r.status, r.what)
		if r.by != "" {
			head += " by " + r.by
		}
		head += ", " + r.at.In(loc).Format("2006-01-02 15:04:05")
		detail, errText, failed = r.detail, r.error, r.failed
	} else {
		vis := s.visibleAudit()
		if s.auditCur >= len(vis) {
			return nil
		}
		a := vis[s.auditCur]
		head = fmt.Sprintf("%s #%d %s %s by %s, %s", outcomeMark(a.Outcome), a.ID, a.Action, a.Target, actorOf(a),
			a.At.In(loc).Format("2006-01-02 15:04:05"))
		detail, errText, failed = a.Detail, a.Error, a.Outcome == core.AuditFailed
	}
	if failed || errText != "" {
		head += ":"
	}
	var lines []string
	for _, l := range wrap(head, w, 2) {
		if failed || errText != "" {
			l = t.Error.Render(l)
		}
		lines = append(lines, l)
	}
	if detail != "" {
		for _, l := range wrap(detail, w-2, min(2, room-1)) {
			lines = append(lines, "  "+t.Muted.Render(l))
		}
	}
	if left := room - len(lines); errText != "" && left > 0 {
		for _, l := range wrap(errText, w-2, left) {
			lines = append(lines, "  "+l)
		}
	}
	return lines
}

func outcomeMark(o core.AuditOutcome) string {
	if o == core.AuditFailed {
		return "✗ failed"
	}
	return "✓ " + string(o)
}

// listRows is how many rows show: what the box holds under the title, the
// column titles and the selected row's detail.
func (s *activityScreen) listRows() int {
	n := s.contentRows() - 2
	if d := s.detail(); len(d) > 0 {
		n -= len(d) + 1
	}
	if s.pane == paneAudit && s.loadingMore {
		n--
	}
	return max(n, 3)
}

func (s *activityScreen) jobsTable() table {
	return newTable(s.ctx.innerWidth()-2,
		column{title: "WHEN", min: 16, max: 16},
		column{title: "SERVICE", min: 10, max: 14},
		column{title: "JOB", min: 8, max: 13},
		column{title: "ON", min: 7, max: 32, drop: 2},
		column{title: "BY", min: 9, max: 24, drop: 1},
		column{title: "STATUS", min: 19})
}

func (s *activityScreen) auditTable() table {
	return newTable(s.ctx.innerWidth()-2,
		column{title: "TIME", min: 16, max: 16},
		column{title: "BY", min: 8, max: 22},
		column{title: "ACTION", min: 8, max: 18},
		column{title: "OUTCOME", min: 8, max: 8},
		column{title: "TARGET", min: 22})
}

// summary counts the running and failed jobs listed, or the entries.
func (s *activityScreen) summary() string {
	if s.pane == paneAudit {
		n := len(s.visibleAudit())
		more := ""
		if s.more {
			more = "+"
		}
		return fmt.Sprintf("%d%s entries", n, more)
	}
	running, failed, vis := 0, 0, s.visibleJobs()
	for _, r := range vis {
		switch {
		case r.running:
			running++
		case r.failed:
			failed++
		}
	}
	return fmt.Sprintf("%d running · %d failed of the last %d jobs", running, failed, len(vis)-running)
}

func (s *activityScreen) paneTitle(title string, pane int) string {
	if s.pane == pane {
		return s.ctx.Theme.Title.Render("[" + title + "]")
	}
	return s.ctx.Theme.Muted.Render(" " + title + " ")
}

func (s *activityScreen) View() string {
	t := s.ctx.Theme
	w := s.ctx.innerWidth()
	var b strings.Builder
	head := t.Title.Render("Activity") + "  " + s.paneTitle("Jobs", paneJobs) + s.paneTitle("Audit", paneAudit)
	switch {
	case s.err != nil:
		b.WriteString(head + "\n" + s.ctx.notReady(s.err, true))
	case !s.loaded:
		b.WriteString(head + "\n" + t.Muted.Render(s.ctx.spin()+" loading…") + "\n")
	default:
		head += s.filter.title(t) + t.Muted.Render("  "+s.summary())
		b.WriteString(fit(head, w) + "\n")
		if s.pane == paneJobs {
			s.viewJobs(&b)
		} else {
			s.viewAudit(&b)
		}
		if d := s.detail(); len(d) > 0 {
			b.WriteString("\n" + strings.Join(d, "\n") + "\n")
		}
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

func (s *activityScreen) viewJobs(b *strings.Builder) {
	t, loc := s.ctx.Theme, s.ctx.now().Location()
	vis := s.visibleJobs()
	switch {
	case len(vis) == 0 && s.filter.text() != "":
		b.WriteString("  no job of a service matching " + s.filter.text() + "\n")
		return
	case len(vis) == 0:
		b.WriteString("Nothing ran yet: back up a service with b on the services screen (key 1).\n")
		return
	}
	tbl := s.jobsTable()
	b.WriteString(t.Muted.Render("  "+tbl.header()) + "\n")
	for i := s.jobOffset; i < len(vis) && i < s.jobOffset+s.listRows(); i++ {
		r := vis[i]
		status := r.status
		switch {
		case r.running && r.backupID != 0:
			p, ok := s.live[r.backupID]
			if !ok {
				p = core.Progress{Phase: r.phase, Bytes: r.bytes}
			}
			status = s.ctx.spin() + " " + progressText(string(p.Phase), p.Bytes, p.Total) + stalledText(r.backup, s.ctx.now())
		case r.failed:
			status += ": " + firstLine(r.error)
		}
		by := r.by
		if lipglossWidth(by) > tbl.widths[4] && r.user != "" {
			by = r.user // the client shows under the list
		}
		line := tbl.row(r.at.In(loc).Format("2006-01-02 15:04"), r.service, r.job, r.on, by, status)
		cur := "  "
		if i == s.jobCur {
			cur, line = "▸ ", t.Selected.Render(line)
		}
		b.WriteString(cur + line + "\n")
	}
}

func (s *activityScreen) viewAudit(b *strings.Builder) {
	t, loc := s.ctx.Theme, s.ctx.now().Location()
	vis := s.visibleAudit()
	tbl := s.auditTable()
	switch {
	case len(vis) == 0 && s.loadingMore:
	case len(vis) == 0 && s.filter.text() != "":
		b.WriteString("  nothing recorded for a service matching " + s.filter.text() + "\n")
		return
	case len(vis) == 0:
		b.WriteString("The audit trail is empty: nothing was done yet.\n")
		return
	default:
		b.WriteString(t.Muted.Render("  "+tbl.header()) + "\n")
	}
	for i := s.auditOffset; i < len(vis) && i < s.auditOffset+s.listRows(); i++ {
		a := vis[i]
		by := actorOf(a)
		if lipglossWidth(by) > tbl.widths[1] {
			by = a.User // the client shows under the list
		}
		line := tbl.row(a.At.In(loc).Format("2006-01-02 15:04"), by, a.Action, outcomeMark(a.Outcome), a.Target)
		cur := "  "
		if i == s.auditCur {
			cur, line = "▸ ", t.Selected.Render(line)
		}
		b.WriteString(cur + line + "\n")
	}
	if s.loadingMore {
		b.WriteString(t.Muted.Render("  "+s.ctx.spin()+" loading older entries…") + "\n")
	}
}

// firstLine is a message's first line, for a one-row summary.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
