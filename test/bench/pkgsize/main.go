// Command pkgsize prints how much of a Go binary each module (or package)
// takes: the sizes of its symbols in the file's text, rodata and data
// sections, aggregated by the longest matching module path from the
// binary's build info. The binary must not be stripped (-s).
//
//	go run ./test/bench/pkgsize [-by module|package|prefix] [-depth N] [-top N] BINARY
//
// -by prefix aggregates by the first -depth elements of the package path
// (k8s.io/client-go/informers for depth 3).
package main

import (
	"debug/buildinfo"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	by := flag.String("by", "module", "aggregate by module, package or prefix")
	depth := flag.Int("depth", 3, "path elements of -by prefix")
	top := flag.Int("top", 30, "rows to print")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pkgsize [-by module|package|prefix] [-depth N] [-top N] BINARY")
		os.Exit(2)
	}
	key := func(pkg string, mods []string) string { return moduleOf(pkg, mods) }
	switch *by {
	case "package":
		key = func(pkg string, _ []string) string { return pkg }
	case "prefix":
		key = func(pkg string, _ []string) string {
			parts := strings.SplitN(pkg, "/", *depth+1)
			return strings.Join(parts[:min(len(parts), *depth)], "/")
		}
	}
	rows, total, err := sizes(flag.Arg(0), key)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgsize:", err)
		os.Exit(1)
	}
	fmt.Printf("| %s | MB | share |\n|---|---:|---:|\n", *by)
	for i, r := range rows {
		if i == *top {
			break
		}
		fmt.Printf("| %s | %.2f | %.1f%% |\n", r.name, float64(r.size)/1e6, 100*float64(r.size)/float64(total))
	}
	fmt.Printf("| (all symbols in the file) | %.2f | 100%% |\n", float64(total)/1e6)
}

type row struct {
	name string
	size uint64
}

// sizes sums symbol sizes of the sections stored in the file (bss is not).
func sizes(path string, keyOf func(pkg string, modules []string) string) ([]row, uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w (build without -ldflags -s)", path, err)
	}
	var mods []string
	if bi, err := buildinfo.ReadFile(path); err == nil {
		mods = append(mods, bi.Main.Path)
		for _, d := range bi.Deps {
			mods = append(mods, d.Path)
		}
	}
	// Longest module path first, so nested modules win.
	sort.Slice(mods, func(i, j int) bool { return len(mods[i]) > len(mods[j]) })
	sum := map[string]uint64{}
	var total uint64
	for _, s := range syms {
		if int(s.Section) <= 0 || int(s.Section) >= len(f.Sections) || s.Size == 0 {
			continue
		}
		if f.Sections[s.Section].Type == elf.SHT_NOBITS {
			continue
		}
		sum[keyOf(packageOf(s.Name), mods)] += s.Size
		total += s.Size
	}
	rows := make([]row, 0, len(sum))
	for k, v := range sum {
		rows = append(rows, row{k, v})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].size != rows[j].size {
			return rows[i].size > rows[j].size
		}
		return rows[i].name < rows[j].name
	})
	return rows, total, nil
}

// packageOf is the import path a symbol belongs to: "k8s.io/api/core/v1"
// for "k8s.io/api/core/v1.(*Pod).Reset" and "type:*k8s.io/api/core/v1.Pod".
func packageOf(sym string) string {
	for _, p := range []string{"go:itab.", "type:.eq.", "type:", "go:"} {
		if strings.HasPrefix(sym, p) {
			if p == "go:" {
				return "(runtime metadata)"
			}
			sym = sym[len(p):]
			break
		}
	}
	sym = strings.TrimLeft(sym, "*([")
	slash := strings.LastIndex(sym, "/")
	if i := strings.IndexAny(sym[slash+1:], ".,[ "); i >= 0 {
		sym = sym[:slash+1+i]
	}
	sym = strings.ReplaceAll(sym, "%2e", ".")
	if sym == "" {
		return "(other)"
	}
	return sym
}

// moduleOf maps a package to its module, or "std" for the standard library.
func moduleOf(pkg string, mods []string) string {
	for _, m := range mods {
		if pkg == m || strings.HasPrefix(pkg, m+"/") {
			return m
		}
	}
	first, _, _ := strings.Cut(pkg, "/")
	if !strings.Contains(first, ".") {
		return "std"
	}
	return pkg
}
