package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/odoo-backup/odoo-backup/core"
)

// catalogUnreachable is the console's sentence for a catalog whose server
// does not answer; the console keeps trying.
func catalogUnreachable(name string) string {
	if name == "" {
		name = "shared"
	}
	return fmt.Sprintf("the catalog %s is unreachable; retrying", name)
}

// readTimeout bounds the periodic reads of the home and service screens:
// a catalog server that hangs (not stopped, not answering either) shows as
// unreachable after it, instead of leaving the screen as it was forever.
const readTimeout = 15 * time.Second

func readContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), readTimeout)
}

// WaitOptions configure the screen a console shows while it cannot open
// its catalog.
type WaitOptions struct {
	// Catalog names the catalog (a URL without its password).
	Catalog string
	// Open tries to open the catalog; an error wrapping
	// core.ErrCatalogUnreachable is tried again after Every, any other
	// ends the wait with it.
	Open func(ctx context.Context) error
	// Every is the pause between tries; 0 means 3s.
	Every   time.Duration
	NoColor bool
	Context context.Context
	// Now is the clock; nil means time.Now.
	Now core.Clock
}

// ErrQuitWaiting: the person quit before the catalog answered.
var ErrQuitWaiting = errors.New("quit before the catalog answered")

// WaitForCatalog shows "the catalog … is unreachable; retrying" and tries to
// open it until it answers (nil), the person quits (ErrQuitWaiting) or
// opening fails for another reason (that error).
func WaitForCatalog(o WaitOptions) error {
	if o.NoColor {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	opts := []tea.ProgramOption{tea.WithAltScreen()}
	if o.Context != nil {
		opts = append(opts, tea.WithContext(o.Context))
	}
	final, err := tea.NewProgram(NewWaitModel(o), opts...).Run()
	if err != nil {
		return err
	}
	return final.(*WaitModel).Result()
}

// WaitModel is the waiting screen.
type WaitModel struct {
	o     WaitOptions
	theme Theme
	quit  key.Binding
	width int
	// wrap breaks the sentence at the terminal's width: the URL in it can
	// be long, and cutting it would hide what is unreachable.
	wrap   lipgloss.Style
	tries  int
	last   time.Time
	result error
	done   bool
}

// NewWaitModel builds the waiting screen.
func NewWaitModel(o WaitOptions) *WaitModel {
	if o.Every <= 0 {
		o.Every = 3 * time.Second
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &WaitModel{o: o, theme: NewTheme(o.NoColor), width: 80, wrap: lipgloss.NewStyle().Width(78).PaddingLeft(1),
		quit: key.NewBinding(key.WithKeys("q", "ctrl+c", "esc"), key.WithHelp("q", "quit"))}
}

// Result is nil once the catalog opened, ErrQuitWaiting after the person
// quit, or the error that ended the wait.
func (m *WaitModel) Result() error {
	if !m.done {
		return ErrQuitWaiting
	}
	return m.result
}

type openTriedMsg struct{ err error }

type retryOpenMsg struct{}

func (m *WaitModel) try() tea.Cmd {
	ctx, open := m.o.Context, m.o.Open
	return func() tea.Msg { return openTriedMsg{err: open(ctx)} }
}

func (m *WaitModel) Init() tea.Cmd { return m.try() }

func (m *WaitModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width = msg.Width
		m.wrap = m.wrap.Width(max(msg.Width-2, 20))
	case tea.KeyMsg:
		if key.Matches(msg, m.quit) {
			return m, tea.Quit
		}
	case openTriedMsg:
		m.tries++
		m.last = m.o.Now()
		if msg.err == nil || !errors.Is(msg.err, core.ErrCatalogUnreachable) {
			m.done, m.result = true, msg.err
			return m, tea.Quit
		}
		return m, tea.Tick(m.o.Every, func(time.Time) tea.Msg { return retryOpenMsg{} })
	case retryOpenMsg:
		return m, m.try()
	}
	return m, nil
}

func (m *WaitModel) View() string {
	t := m.theme
	s := t.Header.Render(" odoo-backup") + "\n\n"
	if m.tries == 0 {
		return s + m.wrap.Render(t.Muted.Render("opening the catalog "+m.o.Catalog+"…")) + "\n"
	}
	s += m.wrap.Render(t.Error.Render(catalogUnreachable(m.o.Catalog))) + "\n"
	s += m.wrap.Render(t.Muted.Render(fmt.Sprintf("tried %d times, last at %s; trying again every %s", m.tries,
		m.last.Format("15:04:05"), m.o.Every))) + "\n\n"
	s += m.wrap.Render(t.Muted.Render("q quits"))
	return s
}
