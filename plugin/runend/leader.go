package runend

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderConfig names the Lease the replicas share and its timing.
type LeaderConfig struct {
	Namespace, Name, Identity string
	// LeaseDuration (default 15s), RenewDeadline (10s), RetryPeriod (2s):
	// client-go's leader election. A leader that cannot renew within
	// RenewDeadline stops before another may take over after LeaseDuration.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// DrainTimeout bounds how long a stopping leader lets tries in flight
	// finish before it gives up the Lease (default 30s).
	DrainTimeout time.Duration
}

// Lead runs work while this process holds the Lease, again each time it
// gets it back, until ctx ends. work's leading context ends when the lead is
// lost (it must stop writing at once); stop closes when ctx ends, and Lead
// waits for work to return (at most DrainTimeout) before it releases the
// Lease, so the next leader does not send what this one is sending.
func Lead(ctx context.Context, client kubernetes.Interface, cfg LeaderConfig, log *slog.Logger, m *Metrics,
	work func(leading context.Context, stop <-chan struct{}) error) error {
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	// The elector's context outlives ctx until work has drained.
	electCtx, cancelElect := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelElect()
	stop := make(chan struct{})
	working := make(chan struct{}, 1)
	var done chan struct{}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				select {
				case <-stop: // re-elected while stopping: nothing more to do
					return
				default:
				}
				working <- struct{}{}
				defer func() { <-working }()
				m.setLeader(true)
				log.Info("leading: processing run ends", "lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
				if err := work(leading, stop); err != nil && leading.Err() == nil {
					log.Error("run-end processing stopped", "err", err.Error())
				}
			},
			OnStoppedLeading: func() {
				m.setLeader(false)
				m.Reset()
				log.Info("not leading", "identity", cfg.Identity)
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		for electCtx.Err() == nil {
			le.Run(electCtx) // returns when the lead is lost; try again
		}
	}()
	<-ctx.Done()
	close(stop)
	drain := time.NewTimer(cfg.DrainTimeout)
	defer drain.Stop()
	for len(working) > 0 {
		select {
		case <-drain.C:
			log.Warn("tries still in flight at shutdown; the next leader repeats them")
			cancelElect()
			<-done
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancelElect()
	<-done
	return nil
}

func (m *Metrics) setLeader(on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.Leader.Set(v)
}
