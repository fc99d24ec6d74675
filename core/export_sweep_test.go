package core

// SetSweepStep makes f run before every step of a pool sweep or of a
// removal that sweeps; it returns the previous hook's restorer.
func SetSweepStep(f func(step string)) (restore func()) {
	old := sweepStep
	sweepStep = f
	return func() { sweepStep = old }
}

// SetPoolWaiting makes f run each time a backup waits for a sweep of its
// pool (lease is the pool's lease name).
func SetPoolWaiting(f func(lease string)) (restore func()) {
	old := poolWaiting
	poolWaiting = f
	return func() { poolWaiting = old }
}
