package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDocsUpToDate fails when docs/commands differs from what the commands
// generate: run `make docs` and commit the result.
func TestDocsUpToDate(t *testing.T) {
	committed := filepath.Join("..", "..", "docs", "commands")
	fresh := t.TempDir()
	home := os.Getenv("HOME")
	t.Cleanup(func() { os.Setenv("HOME", home) })
	if err := generate(fresh); err != nil {
		t.Fatal(err)
	}
	want := readDir(t, fresh)
	got := readDir(t, committed)
	for name, content := range want {
		switch old, ok := got[name]; {
		case !ok:
			t.Errorf("%s is missing: run `make docs`", filepath.Join(committed, name))
		case old != content:
			t.Errorf("%s is out of date: run `make docs`", filepath.Join(committed, name))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s documents no command: run `make docs`", filepath.Join(committed, name))
		}
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = string(data)
	}
	return m
}
