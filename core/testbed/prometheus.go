package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// prometheusStartTimeout bounds how long a starting Prometheus may take to
// say it is ready; it normally takes a second or two.
const prometheusStartTimeout = 60 * time.Second

// PrometheusBinaries returns the paths of the prometheus server and of
// promtool (Debian's prometheus package), ErrUnavailable when either is
// missing.
func PrometheusBinaries() (server, promtool string, err error) {
	server, err = exec.LookPath("prometheus")
	if err == nil {
		promtool, err = exec.LookPath("promtool")
	}
	if err != nil {
		return "", "", markUnavailable(fmt.Errorf("prometheus and promtool are not installed (Debian's prometheus package): %w", err))
	}
	return server, promtool, nil
}

// EnsurePrometheus is PrometheusBinaries, except that when they are missing
// and the process runs as root it installs Debian's prometheus package with
// apt-get first (the setup command does; tests never do). Its server is run
// by the tests themselves, never as the package's system service.
func EnsurePrometheus(ctx context.Context) (server, promtool string, err error) {
	server, promtool, err = PrometheusBinaries()
	if err == nil || os.Geteuid() != 0 {
		return server, promtool, err
	}
	installMu.Lock()
	defer installMu.Unlock()
	if server, promtool, err = PrometheusBinaries(); err == nil {
		return server, promtool, nil
	}
	aptGet, lerr := exec.LookPath("apt-get")
	if lerr != nil {
		return "", "", fmt.Errorf("%w (apt-get is not available to install it)", err)
	}
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=600", "update"},
		{"-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", "prometheus"},
	} {
		cmd := exec.CommandContext(ctx, aptGet, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
		}
	}
	return PrometheusBinaries()
}

// Prometheus is a real Prometheus server on a loopback port, scraping the
// targets it was started with every ScrapeInterval, with its data in a
// temporary directory. It is this process's child and dies with it.
type Prometheus struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string
	// Promtool is the path of promtool.
	Promtool string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// ScrapeInterval is how often the test bed's Prometheus scrapes.
const ScrapeInterval = time.Second

// StartPrometheus starts a Prometheus that scrapes /metrics of each target
// (HOST:PORT) as the job "odoo-backup", and stops it when the test ends.
// Where Prometheus is not installed the test skips (fails under CI=true).
func StartPrometheus(tb testing.TB, targets ...string) *Prometheus {
	tb.Helper()
	p, err := NewPrometheus(context.Background(), tb.TempDir(), targets...)
	Need(tb, "Prometheus", err)
	tb.Cleanup(p.Close)
	return p
}

// NewPrometheus starts a Prometheus in dir as StartPrometheus does, and
// returns once it says it is ready.
func NewPrometheus(ctx context.Context, dir string, targets ...string) (*Prometheus, error) {
	server, promtool, err := PrometheusBinaries()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = strconv.Quote(t)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
scrape_configs:
  - job_name: odoo-backup
    static_configs:
      - targets: [%s]
`, ScrapeInterval, ScrapeInterval, strings.Join(quoted, ", "))
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	p := &Prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Promtool: promtool, dir: dir, exited: make(chan struct{})}
	p.cmd = exec.Command(server, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot run %s: %w", server, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("%w; its log says:\n%s", err, tail(p.Log(), 20))
	}
	return p, nil
}

// waitReady polls /-/ready until it answers 200, the server exits or the
// start timeout passes.
func (p *Prometheus) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, prometheusStartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("prometheus exited before it was ready (%v)", p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("prometheus was not ready within %s", prometheusStartTimeout)
		case <-tick.C:
		}
	}
}

// Log is what the server logged so far.
func (p *Prometheus) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "prometheus.log"))
	return string(b)
}

// Close stops the server.
func (p *Prometheus) Close() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// Sample is one series of a query's answer.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query evaluates the PromQL expression expr now through the HTTP API
// (/api/v1/query), and returns its instant vector.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?"+url.Values{"query": {expr}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %s: %s, and an answer that is not JSON: %w", expr, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", expr, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, not an instant vector", expr, body.Data.ResultType)
	}
	out := make([]Sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", expr, r.Value[1], err)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// WaitQuery evaluates expr until ok accepts its answer, every
// ScrapeInterval/4, and returns that answer; it gives up with the last
// answer after timeout. The scrapes it waits for come on their own
// schedule: this polls for their result, it does not guess their time.
func (p *Prometheus) WaitQuery(ctx context.Context, expr string, timeout time.Duration, ok func([]Sample) bool) ([]Sample, error) {
	deadline := time.Now().Add(timeout)
	for {
		got, err := p.Query(ctx, expr)
		if err == nil && ok(got) {
			return got, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("query %s: answer %v not the one awaited after %s", expr, got, timeout)
			}
			return got, err
		}
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-p.exited:
			return got, errors.New("prometheus exited")
		case <-time.After(ScrapeInterval / 4):
		}
	}
}

// CheckMetrics runs `promtool check metrics` on a scrape (the text
// exposition format) and returns what it reports: "" when nothing.
func (p *Prometheus) CheckMetrics(scrape []byte) (string, error) {
	return Promtool(p.Promtool, scrape, "check", "metrics")
}

// Promtool runs promtool with args, stdin as its input, and returns what it
// printed; an exit other than 0 is an error carrying that output.
func Promtool(promtool string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(promtool, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("promtool %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
