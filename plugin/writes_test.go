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
	"testing"
)

// frontEnds are the packages that write no cluster state themselves: every
// write is a domain package's (issue 12), which they call.
var frontEnds = []string{"plugin/commands", "plugin/ui"}

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
	root := moduleRoot(t)
	pkgs := listExports(t, root, frontEnds)
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		p, ok := pkgs[path]
		if !ok || p.Export == "" {
			return nil, os.ErrNotExist
		}
		return os.Open(p.Export)
	})
	for _, rel := range frontEnds {
		p := pkgs[module+rel]
		if p == nil || len(p.GoFiles) == 0 {
			t.Fatalf("%s: no Go files listed", rel)
		}
		fset := token.NewFileSet()
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp.(types.ImporterFrom), Error: func(err error) { t.Errorf("type-check %s: %v", rel, err) }}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", rel, err)
		}
		var found []string
		for sel, s := range info.Selections {
			if w := clusterWriteCall(s); w != "" {
				pos := fset.Position(sel.Sel.Pos())
				found = append(found, fmt.Sprintf("%s/%s:%d writes to the cluster itself (%s): move it into a domain package",
					rel, filepath.Base(pos.Filename), pos.Line, w))
			}
		}
		slices.Sort(found)
		for _, f := range found {
			t.Error(f)
		}
	}
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
func listExports(t *testing.T, root string, rels []string) map[string]*exported {
	t.Helper()
	args := []string{"list", "-export", "-deps", "-json=ImportPath,Dir,Export,GoFiles"}
	for _, r := range rels {
		args = append(args, "./"+r)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	pkgs := map[string]*exported{}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p exported
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = &p
	}
	return pkgs
}
