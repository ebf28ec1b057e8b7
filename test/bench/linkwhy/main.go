// Command linkwhy explains why the Go linker keeps symbols in a binary: it
// reads the linker's reachability dump (`go build -ldflags=-dumpdep`, on
// stderr) and prints, for the symbols that start with each prefix given,
// the chain of references from the program's entry point that first marked
// them reachable.
//
//	CGO_ENABLED=0 go build -ldflags=-dumpdep -o /dev/null ./cmd/kubectl-shipjob 2> dumpdep.txt
//	go run ./test/bench/linkwhy -dump dumpdep.txt 'oras.land/' 'github.com/lib/pq.'
//
// A step marked <UsedInIface> is a type stored in an interface somewhere:
// in a binary that uses text/template (Helm's engine does), the linker keeps
// every exported method of such a type, and of every type reachable from
// its fields, because templates may call methods through reflection. Most
// of what a binary links without calling it comes in this way; the chain
// shows the first of our own types that let it in (see BENCHMARKS.md,
// "Binary size").
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	dump := flag.String("dump", "", "file with the output of go build -ldflags=-dumpdep (default stdin)")
	limit := flag.Int("max", 1, "symbols to explain per prefix")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: linkwhy [-dump FILE] [-max N] SYMBOL-PREFIX...")
		os.Exit(2)
	}
	in := io.Reader(os.Stdin)
	if *dump != "" {
		f, err := os.Open(*dump)
		if err != nil {
			fmt.Fprintln(os.Stderr, "linkwhy:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	g, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkwhy:", err)
		os.Exit(1)
	}
	for _, prefix := range flag.Args() {
		syms := g.find(prefix, *limit)
		if len(syms) == 0 {
			fmt.Printf("%s: not reachable\n", prefix)
			continue
		}
		for _, s := range syms {
			fmt.Printf("%s:\n", s)
			for _, step := range g.chain(s) {
				fmt.Printf("    %s\n", step)
			}
		}
	}
}

// graph is the first-marking tree of the linker's dead-code pass.
type graph struct {
	parent map[string]string
	order  []string // symbols in the order they were marked
}

const ifaceTag = " <UsedInIface>"

// parse reads "FROM -> TO" lines. A symbol is marked once, and once more
// when it turns out to be used in an interface; both markings are kept
// (the tag is part of the name), so a chain shows where a type entered an
// interface.
func parse(r io.Reader) (*graph, error) {
	g := &graph{parent: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		from, to, ok := strings.Cut(sc.Text(), " -> ")
		if !ok {
			continue
		}
		from = strings.ReplaceAll(from, " <ReflectMethod>", "")
		to = strings.ReplaceAll(to, " <ReflectMethod>", "")
		if _, seen := g.parent[to]; !seen {
			g.parent[to] = from
			g.order = append(g.order, to)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read dump: %w", err)
	}
	if len(g.order) == 0 {
		return nil, fmt.Errorf("no \"A -> B\" lines: is this the output of go build -ldflags=-dumpdep?")
	}
	return g, nil
}

// find returns up to limit symbols starting with prefix, in marking order,
// leaving out package initialization bookkeeping and the compiler's
// per-function metadata (stack maps and the like), which the linker
// deduplicates by content: such a symbol can be marked on behalf of another
// function with the same metadata.
func (g *graph) find(prefix string, limit int) []string {
	var out []string
	for _, s := range g.order {
		if len(out) == limit {
			break
		}
		name := strings.TrimSuffix(s, ifaceTag)
		if strings.HasPrefix(name, prefix) && !strings.HasSuffix(name, "..inittask") && !funcMetadata(name) {
			out = append(out, s)
		}
	}
	return out
}

func funcMetadata(name string) bool {
	i := strings.LastIndexByte(name, '.')
	switch name[i+1:] {
	case "stkobj", "argliveinfo", "arginfo0", "arginfo1", "opendefer", "args_stackmap", "wrapinfo":
		return true
	}
	return false
}

// chain returns sym and its markers up to the entry point, skipping the
// runtime's start-up frames.
func (g *graph) chain(sym string) []string {
	out := []string{sym}
	seen := map[string]bool{sym: true}
	for s := sym; ; {
		p, ok := g.parent[s]
		if !ok || p == "_" || seen[p] {
			break
		}
		seen[p] = true
		if p == "main.main" || p == "go:main.inittasks" {
			out = append(out, p)
			break
		}
		out = append(out, p)
		s = p
	}
	return out
}
