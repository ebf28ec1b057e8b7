package plugin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// frontEnds are the packages that write no cluster state themselves: every
// write is a domain package's (issue 12), which they call.
var frontEnds = []string{"plugin/commands", "plugin/ui", "plugin/hookserver"}

// writeMethods are the client-go methods that change cluster state.
var writeMethods = []string{"Create", "Update", "UpdateStatus", "UpdateScale", "Patch", "Apply", "ApplyStatus",
	"ApplyScale", "Delete", "DeleteCollection", "Evict", "EvictV1", "EvictV1beta1", "Bind", "Post", "Put"}

// TestFrontEndsWriteNothing: no front end calls (or takes as a value) a
// write method of a client-go client, however it got the client: a chain
// client.CoreV1().Secrets(ns).Create(…), a local variable holding
// Secrets(ns), a parameter of interface type, the dynamic or REST client.
// It type-checks the packages against their dependencies' export data, so a
// renamed variable or a helper in between cannot hide a write. Creating a
// review (SelfSubjectReview, SelfSubjectAccessReview) writes nothing.
func TestFrontEndsWriteNothing(t *testing.T) {
	for _, c := range frontEndCalls(t) {
		if w := clusterWriteCall(c.sel); w != "" {
			t.Errorf("%s writes to the cluster itself (%s): move it into a domain package", c.at, w)
		}
	}
}

// TestFrontEndsWatchRunsThroughRun: `runs --watch` and the UI's live pages
// watch runs through run.Watch, the one watch of runs' Jobs and pods, not a
// Jobs or pods watch of their own (review §3).
func TestFrontEndsWatchRunsThroughRun(t *testing.T) {
	for _, c := range frontEndCalls(t) {
		fn, ok := c.sel.Obj().(*types.Func)
		if !ok || fn.Name() != "Watch" || fn.Pkg() == nil || !strings.HasPrefix(fn.Pkg().Path(), "k8s.io/client-go/") {
			continue
		}
		if recv := types.TypeString(c.sel.Recv(), func(p *types.Package) string { return p.Name() }); strings.Contains(recv, "Job") || strings.Contains(recv, "Pod") {
			t.Errorf("%s watches %s itself: use run.Watch", c.at, recv)
		}
	}
}

// selection is a method or field selected in a front end, and where.
type selection struct {
	at  string
	sel *types.Selection
}

var frontEnd struct {
	once  sync.Once
	calls []selection
	err   error
}

// frontEndCalls are the selections of every front end, in file and line
// order. It type-checks the packages against their dependencies' export
// data, so a renamed variable or a helper in between hides nothing.
func frontEndCalls(t *testing.T) []selection {
	t.Helper()
	frontEnd.once.Do(func() { frontEnd.calls, frontEnd.err = typeCheckFrontEnds(moduleRoot(t)) })
	if frontEnd.err != nil {
		t.Fatal(frontEnd.err)
	}
	return frontEnd.calls
}

func typeCheckFrontEnds(root string) ([]selection, error) {
	pkgs, err := listExports(root, frontEnds)
	if err != nil {
		return nil, err
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		p, ok := pkgs[path]
		if !ok || p.Export == "" {
			return nil, os.ErrNotExist
		}
		return os.Open(p.Export)
	})
	var out []selection
	for _, rel := range frontEnds {
		p := pkgs[module+rel]
		if p == nil || len(p.GoFiles) == 0 {
			return nil, fmt.Errorf("%s: no Go files listed", rel)
		}
		fset := token.NewFileSet()
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp.(types.ImporterFrom)}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			return nil, fmt.Errorf("type-check %s: %w", rel, err)
		}
		var found []selection
		for e, s := range info.Selections {
			pos := fset.Position(e.Sel.Pos())
			found = append(found, selection{at: fmt.Sprintf("%s/%s:%d", rel, filepath.Base(pos.Filename), pos.Line), sel: s})
		}
		slices.SortFunc(found, func(a, b selection) int { return strings.Compare(a.at, b.at) })
		out = append(out, found...)
	}
	return out, nil
}

// clusterWriteCall describes s if it is a write method of a client-go
// client ("" if not).
func clusterWriteCall(s *types.Selection) string {
	fn, ok := s.Obj().(*types.Func)
	if !ok || s.Kind() == types.FieldVal || fn.Pkg() == nil || !slices.Contains(writeMethods, fn.Name()) {
		return ""
	}
	if !strings.HasPrefix(fn.Pkg().Path(), "k8s.io/client-go/") {
		return ""
	}
	recv := types.TypeString(s.Recv(), func(p *types.Package) string { return p.Name() })
	if strings.Contains(recv, "Review") {
		return ""
	}
	return recv + "." + fn.Name()
}

type exported struct {
	ImportPath, Dir, Export string
	GoFiles                 []string
}

// listExports lists pkgs and their dependencies with the files of their
// export data (built if needed).
func listExports(root string, rels []string) (map[string]*exported, error) {
	args := []string{"list", "-export", "-deps", "-json=ImportPath,Dir,Export,GoFiles"}
	for _, r := range rels {
		args = append(args, "./"+r)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export: %w: %s", err, stderr.String())
	}
	pkgs := map[string]*exported{}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p exported
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		pkgs[p.ImportPath] = &p
	}
	return pkgs, nil
}
