// Package plugin_test checks the README's "Layout": every Go package of the
// module has its line there, and imports only what its line allows.
package plugin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/shipjob/kubectl-shipjob/"

// layout is the README's Layout as rules. imports: the module's packages a
// package may import itself (a trailing "/" allows a whole folder); never: packages that must not be among its
// dependencies at all (go list -deps), also through another package.
var layout = map[string]struct{ imports, never []string }{
	"cmd/kubectl-shipjob":                {imports: []string{"plugin/commands", "plugin/helmrun"}},
	"cmd/docgen":                         {imports: []string{"plugin/commands"}},
	"cmd/distpack":                       {},
	"plugin/commands":                    {imports: []string{"plugin/", "postrender"}, never: []string{"plugin/helmrun"}},
	"plugin/ui":                          {imports: []string{"plugin/hook", "plugin/run", "plugin/schedule", "plugin/jobdef"}, never: []string{"plugin/commands", "plugin/helmrun", "plugin/hookserver"}},
	"plugin/console":                     {imports: []string{"plugin/ui", "plugin/run", "plugin/jobdef"}, never: []string{"plugin/commands", "plugin/helmrun", "plugin/hookserver"}},
	"plugin/hook":                        {imports: []string{"plugin/run", "plugin/jobdef"}, never: []string{"plugin/commands", "plugin/helmrun", "plugin/hookserver", "plugin/ui"}},
	"plugin/hookserver":                  {imports: []string{"plugin/hook", "plugin/run", "plugin/jobdef", "plugin/runend", "plugin/schedule", "plugin/notify", "plugin/version"}, never: []string{"plugin/commands", "plugin/helmrun", "plugin/ui"}},
	"plugin/run":                         {imports: []string{"plugin/jobdef"}, never: []string{"plugin/helmrun", "plugin/hook", "plugin/commands", "charts"}},
	"plugin/helmrun":                     {imports: []string{"plugin/run", "plugin/jobdef", "postrender", "charts"}, never: []string{"plugin/hook", "plugin/ui", "plugin/commands"}},
	"plugin/run/runtest":                 {imports: []string{"plugin/run", "plugin/jobdef"}, never: []string{"plugin/helmrun", "plugin/hook", "plugin/commands", "charts"}},
	"plugin/jobdef":                      {imports: []string{"plugin/notify", "postrender"}, never: []string{"plugin/run", "plugin/hook", "plugin/commands"}},
	"plugin/jobdef/jobdeftest":           {imports: []string{"plugin/jobdef"}, never: []string{"plugin/run", "plugin/hook", "plugin/commands"}},
	"plugin/notify":                      {never: []string{"plugin/"}},
	"plugin/runend":                      {imports: []string{"plugin/run", "plugin/jobdef", "plugin/notify"}, never: []string{"plugin/helmrun", "plugin/hook", "plugin/ui", "plugin/commands"}},
	"plugin/schedule":                    {imports: []string{"plugin/run", "plugin/jobdef"}, never: []string{"plugin/helmrun", "plugin/hook", "plugin/ui", "plugin/commands"}},
	"plugin/version":                     {},
	"plugin/startup":                     {},
	"postrender":                         {never: []string{"plugin/"}},
	"postrender/postrendertest":          {},
	"charts":                             {},
	"test/cluster":                       {imports: []string{"test/testcert", "test/oidcprovider"}},
	"test/cluster/cmd/localcluster":      {imports: []string{"test/cluster"}},
	"test/testcert":                      {},
	"test/oidcprovider":                  {imports: []string{"test/testcert"}},
	"test/oidcprovider/cmd/oidcprovider": {imports: []string{"test/oidcprovider"}},
	"test/e2e":                           {imports: []string{"test/cluster", "test/testcert", "test/oidcprovider"}},
}

// helmFree are the packages that import nothing of Helm themselves: the
// command layer reaches Helm only through the domain (run.Engine, which
// main makes with helmrun.New).
var helmFree = []string{"plugin/commands", "plugin/hook", "plugin/hookserver", "plugin/ui", "plugin/console", "plugin/run", "plugin/run/runtest", "plugin/jobdef", "plugin/jobdef/jobdeftest"}

// helmEngineFree are the packages none of whose dependencies, however
// indirect, is Helm's engine (actions and release storage): issue 12's proof
// that the front ends call the domain, not Helm.
var helmEngineFree = []string{"plugin/commands", "plugin/hook", "plugin/hookserver", "plugin/ui", "plugin/console", "plugin/run", "plugin/run/runtest", "plugin/runend", "plugin/schedule", "plugin/notify", "plugin/jobdef", "plugin/jobdef/jobdeftest"}

var helmEngine = []string{"helm.sh/helm/v3/pkg/action", "helm.sh/helm/v3/pkg/storage"}

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	Deps       []string
}

func TestLayout(t *testing.T) {
	root := moduleRoot(t)
	listed := readmeLayout(t, filepath.Join(root, "README.md"))
	for _, p := range listPackages(t, root) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		if rel == "plugin" { // this test
			continue
		}
		if !inLayout(listed, rel) && committed(root, p.Dir) {
			t.Errorf("%s has no line in README.md's Layout", rel)
		}
		if rel != "cmd/kubectl-shipjob" && rel != "cmd/docgen" && slices.Contains(p.Deps, module+"plugin/commands") {
			t.Errorf("%s depends on plugin/commands: nothing but cmd/ may", rel)
		}
		if !strings.HasPrefix(rel, "test/") && slices.Contains(p.Deps, module+"test/testcert") {
			t.Errorf("%s depends on test/testcert: only tests (test/…, _test files) may", rel)
		}
		rule, ok := layout[rel]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if ours, ok := strings.CutPrefix(imp, module); ok && !allowed(rule.imports, ours) {
				t.Errorf("%s imports %s; its Layout line allows %v", rel, ours, rule.imports)
			}
			if slices.Contains(helmFree, rel) && strings.HasPrefix(imp, "helm.sh/helm/") {
				t.Errorf("%s imports %s: it must reach Helm only through plugin/run", rel, imp)
			}
		}
		for _, dep := range p.Deps {
			for _, e := range helmEngine {
				if slices.Contains(helmEngineFree, rel) && (dep == e || strings.HasPrefix(dep, e+"/")) {
					t.Errorf("%s depends on %s: only plugin/helmrun may link Helm's engine", rel, dep)
				}
			}
			for _, never := range rule.never {
				if strings.HasPrefix(dep, module+never) {
					t.Errorf("%s depends on %s; its Layout line forbids %s", rel, strings.TrimPrefix(dep, module), never)
				}
			}
		}
	}
	for path := range listed {
		if _, err := os.Stat(filepath.Join(root, strings.TrimSuffix(path, "/…"))); err != nil {
			t.Errorf("README.md's Layout names %s: %v", path, err)
		}
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func listPackages(t *testing.T, root string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Dir,Imports,Deps", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// readmeLayout returns the first column of the Layout's first code block.
func readmeLayout(t *testing.T, readme string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Layout\n")
	_, block, ok2 := strings.Cut(section, "```\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no Layout code block")
	}
	paths := map[string]bool{}
	for sc := bufio.NewScanner(strings.NewReader(block)); sc.Scan(); {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			paths[f[0]] = true
		}
	}
	return paths
}

func allowed(imports []string, pkg string) bool {
	for _, a := range imports {
		if a == pkg || strings.HasSuffix(a, "/") && strings.HasPrefix(pkg, a) {
			return true
		}
	}
	return false
}

func inLayout(listed map[string]bool, rel string) bool {
	for path := range listed {
		if path == rel || strings.HasSuffix(path, "/…") && strings.HasPrefix(rel, strings.TrimSuffix(path, "…")) {
			return true
		}
	}
	return false
}

// committed reports whether dir holds files known to git (a package being
// written, not yet committed, is not held to the README yet). Without git
// every package counts.
func committed(root, dir string) bool {
	cmd := exec.Command("git", "ls-files", "--", dir)
	cmd.Dir = root
	out, err := cmd.Output()
	return err != nil || len(bytes.TrimSpace(out)) > 0
}

// TestHelmrunIsHelm: plugin/helmrun holds only what speaks Helm (issue 20):
// every product file of it imports a helm.sh package; the trigger's
// Helm-free policy lives in plugin/run.
func TestHelmrunIsHelm(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(moduleRoot(t), "plugin", "helmrun", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no helmrun files: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || filepath.Base(f) == "doc.go" {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(parsed.Imports, func(imp *ast.ImportSpec) bool {
			return strings.HasPrefix(strings.Trim(imp.Path.Value, `"`), "helm.sh/")
		}) {
			t.Errorf("plugin/helmrun/%s imports nothing of Helm: Helm-free trigger code belongs in plugin/run", filepath.Base(f))
		}
	}
}
