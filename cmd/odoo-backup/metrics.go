package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/odoo-backup/odoo-backup/core/metrics"
)

// checkMetricsListen refuses a --metrics-listen value that is no address
// at all (exit 2), before the daemon starts; an address that is well
// formed but cannot be had (in use, not this machine's) is the daemon's to
// retry.
func checkMetricsListen(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var p int
		p, err = strconv.Atoi(port)
		if err == nil && (p < 1 || p > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return usageError{fmt.Errorf("--metrics-listen %q is not an address to listen on: give HOST:PORT or :PORT with a port from 1 to 65535, such as 127.0.0.1:9860 or :9860", addr)}
	}
	return nil
}

// Binding the metrics address is retried from metricsRetryMin, doubling up
// to metricsRetryMax, while it cannot be had.
var (
	metricsRetryMin = time.Second
	metricsRetryMax = 5 * time.Minute
)

// serveMetrics serves the catalog's metrics (/metrics) on
// --metrics-listen until ctx ends or stop is called; stop returns once the
// server has stopped. An address that cannot be had is logged in one
// sentence and tried again with backoff: the schedules run regardless.
func (a *app) serveMetrics(ctx context.Context, log *slog.Logger) (stop func()) {
	addr := a.daemonFlags.metricsListen
	if addr == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	coll := metrics.New(a.cat, metrics.Options{OnError: func(err error) {
		log.Warn("a metrics scrape could not read the catalog: it reports odoo_backup_catalog_up 0 until the catalog answers", "error", err.Error())
	}})
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(coll, promLog{log}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		backoff, tries, said := metricsRetryMin, 0, ""
		for {
			tries++
			l, err := net.Listen("tcp", addr)
			if err == nil {
				log.Info("serving metrics", "url", "http://"+l.Addr().String()+"/metrics", "tries", tries)
				stopped := make(chan struct{})
				go func() {
					defer close(stopped)
					<-ctx.Done()
					sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					srv.Shutdown(sctx)
				}()
				if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
					log.Error("the metrics server stopped; the schedules go on without it", "error", err.Error())
				}
				<-stopped
				return
			}
			// One sentence per cause, not one per try.
			if msg := metricsBindProblem(addr, err); msg != said {
				said = msg
				log.Warn(msg, "address", addr, "error", err.Error(), "retry_from", backoff.String(), "retry_up_to", metricsRetryMax.String())
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, metricsRetryMax)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// metricsBindProblem says in one sentence why addr cannot be listened on
// and what to do; the backups are not concerned.
func metricsBindProblem(addr string, err error) string {
	const after = "; the backups run meanwhile, and binding is retried with backoff"
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Sprintf("cannot serve metrics: %s is already in use by another process; stop it or give --metrics-listen another port", addr) + after
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Sprintf("cannot serve metrics: %s is not an address of this machine; give --metrics-listen one of its addresses, or :PORT for all of them", addr) + after
	case errors.Is(err, syscall.EACCES):
		return fmt.Sprintf("cannot serve metrics on %s: this user may not listen on that port; give --metrics-listen a port above 1023", addr) + after
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot serve metrics: the host of %s cannot be resolved; give --metrics-listen an IP address of this machine, or :PORT for all of them", addr) + after
	}
	return fmt.Sprintf("cannot serve metrics on %s: %s; give --metrics-listen another address", addr, message(err)) + after
}

// promLog hands the metrics handler's errors (a scraper that went away
// mid-answer) to the daemon's log.
type promLog struct{ log *slog.Logger }

func (p promLog) Println(v ...any) {
	p.log.Warn("writing metrics to a scraper failed", "error", fmt.Sprint(v...))
}
