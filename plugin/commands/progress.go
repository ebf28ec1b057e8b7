package commands

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// progress shows a waiting run's state: one live line on a terminal, a
// plain line per change of state otherwise (logs, CI).
type progress struct {
	w      io.Writer
	live   bool
	quiet  bool
	last   string
	active bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, quiet: quiet, live: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) show(s run.Status) {
	if p.quiet || s.Phase.Finished() {
		return
	}
	if p.live {
		fmt.Fprintf(p.w, "\r\x1b[K%s: %s", s.Phase, s.Message)
		p.active = true
		return
	}
	if line := string(s.Phase) + ": " + s.StableMessage(); line != p.last {
		fmt.Fprintln(p.w, line)
		p.last = line
	}
}

// done ends the live line.
func (p *progress) done() {
	if p.active {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.active = false
	}
}
