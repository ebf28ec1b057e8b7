package postrender

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// aliasBomb is a Job whose data field, levels deep with width aliases a
// level, expands to about width^levels nodes.
func aliasBomb(name string, levels, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\ndata:\n  l0: &l0 [%s]\n",
		name, strings.TrimSuffix(strings.Repeat("x,", width), ","))
	for l := 1; l < levels; l++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", l-1), width), ",")
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", l, l, refs)
	}
	return b.String()
}

func manyJobs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j%d\n  labels: {a: b, c: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: busybox, args: [a, b, c]}]\n", i)
	}
	return b.String()
}

// TestAliasBudget: aliases may expand the parsed documents of a stream to
// at most 10 times their nodes, and at least 65536 (security review L3).
func TestAliasBudget(t *testing.T) {
	bomb := aliasBomb("bomb", 6, 9) // the review's 327-byte document: ~600k nodes
	small := aliasBomb("small", 4, 12)
	cases := map[string]struct {
		in   string
		fail bool
	}{
		"the review's bomb":                    {bomb, true},
		"50 of them":                           {strings.Repeat("---\n"+bomb, 50), true},
		"each below the floor, over it in all": {strings.Repeat("---\n"+small, 4), true},
		"small anchors":                        {aliasBomb("anchors", 3, 10) + manyJobs(3), false},
		"one below the floor":                  {small, false},
		"large input, larger budget":           {manyJobs(1500) + "---\n" + aliasBomb("big", 5, 10), false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "the review's bomb" && len(bomb) > 330 {
				t.Fatalf("bomb is %d bytes", len(bomb))
			}
			start := time.Now()
			out, err := Process([]byte(tc.in), Options{Keep: true})
			switch {
			case !tc.fail && err != nil:
				t.Fatal(err)
			case tc.fail && (err == nil || out != nil):
				t.Fatalf("no error (%d bytes of output)", len(out))
			case tc.fail:
				msg := err.Error()
				if !strings.Contains(msg, "aliases expand the input to too many nodes") || strings.ContainsAny(msg, "\n") {
					t.Errorf("error %q", msg)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v to refuse", d)
				}
			}
		})
	}
}

// countdownCtx is a context that is done after its Err was asked n times.
type countdownCtx struct {
	context.Context
	left atomic.Int64
}

func (c *countdownCtx) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestProcessStopsWhenContextIsDone: ProcessContext gives up between
// documents and while it expands aliases, with no output (L3: SIGTERM).
func TestProcessStopsWhenContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("terminated signal received"))
	out, err := ProcessContext(ctx, []byte(manyJobs(3)), Options{Keep: true})
	if out != nil || err == nil || err.Error() != "postrender: stopped: terminated signal received" {
		t.Fatalf("canceled before: %q, %v", out, err)
	}

	// The first look is before the document, the second after 4096 nodes
	// of the expansion, the third stops it.
	cd := &countdownCtx{Context: context.Background()}
	cd.left.Store(2)
	out, err = ProcessContext(cd, []byte(aliasBomb("expanding", 4, 12)), Options{Keep: true})
	if out != nil || !errors.Is(err, context.Canceled) || strings.ContainsAny(err.Error(), "\n") {
		t.Fatalf("canceled while expanding: %d bytes, %v", len(out), err)
	}
	if cd.left.Load() > -1 {
		t.Fatalf("the expansion did not look at the context")
	}
}
