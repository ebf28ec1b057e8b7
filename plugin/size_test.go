package plugin_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The size rules of issue 20 over the product Go files (not _test.go) of
// sizeRoots: a file holds at most maxFileLines lines, a function at most
// maxFuncLines from its func keyword to its closing brace, but for the flat
// tables of longFuncs.
const (
	maxFileLines = 400
	maxFuncLines = 80
)

var sizeRoots = []string{"plugin", "cmd", "postrender", "charts"}

// longFuncs are the functions allowed over maxFuncLines ("file:Func", or
// "file:Type.Method"), each with why: a flat table reads best whole.
var longFuncs = map[string]string{
	"plugin/run/status.go:computeOne": "a flat decision table: one case per state of a run of one task, in the order they are decided",
}

func TestFileAndFunctionSizes(t *testing.T) {
	root := moduleRoot(t)
	files := productGoFiles(t, root)
	if len(files) == 0 {
		t.Fatal("no product Go files found")
	}
	seen := map[string]bool{}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte("\n")); n > maxFileLines {
			t.Errorf("%s:1: %d lines, at most %d: cut it into files by concern", rel, n, maxFileLines)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, rel, data, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			key := rel + ":" + funcName(fd)
			start, end := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
			n := end - start + 1
			if _, ok := longFuncs[key]; ok {
				seen[key] = true
				if n <= maxFuncLines {
					t.Errorf("%s:%d: %s has %d lines now: drop it from longFuncs", rel, start, funcName(fd), n)
				}
				continue
			}
			if n > maxFuncLines {
				t.Errorf("%s:%d: %s has %d lines, at most %d (or name it in longFuncs if it is a flat table)", rel, start, funcName(fd), n, maxFuncLines)
			}
		}
	}
	for key := range longFuncs {
		if !seen[key] {
			t.Errorf("longFuncs names %s, which does not exist", key)
		}
	}
}

// funcName is "Func" or "Type.Method".
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	typ := fd.Recv.List[0].Type
	for {
		switch x := typ.(type) {
		case *ast.StarExpr:
			typ = x.X
			continue
		case *ast.IndexExpr:
			typ = x.X
			continue
		case *ast.IndexListExpr:
			typ = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fmt.Sprintf("%T.%s", typ, fd.Name.Name)
	}
}

// productGoFiles are the Go files of sizeRoots, not tests, relative to
// root: those git knows (committed or added), else every one on disk.
func productGoFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	cmd := exec.Command("git", append([]string{"ls-files", "--cached", "--others", "--exclude-standard", "--"}, sizeRoots...)...)
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		files = strings.Fields(string(out))
	} else {
		for _, r := range sizeRoots {
			_ = filepath.WalkDir(filepath.Join(root, r), func(p string, _ os.DirEntry, err error) error {
				if rel, rerr := filepath.Rel(root, p); err == nil && rerr == nil {
					files = append(files, filepath.ToSlash(rel))
				}
				return nil
			})
		}
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, "_test.go") {
			if _, err := os.Stat(filepath.Join(root, f)); err == nil {
				out = append(out, f)
			}
		}
	}
	return out
}
