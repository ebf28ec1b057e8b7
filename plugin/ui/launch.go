package ui

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sync"
)

// loginFile is a private HTML file that sends the browser to the one-time
// login URL, so that the token is never on a process's argv (other local
// users can read every argv): the browser is opened on the file's path
// (Jupyter's approach). It is removed once the token is spent, or when
// the server stops.
type loginFile struct {
	dir, path string
	once      sync.Once
}

// writeLoginFile writes the file into a new private temp dir (0700; the
// file 0600).
func writeLoginFile(loginURL string) (*loginFile, error) {
	dir, err := os.MkdirTemp("", "kubectl-shipjob-ui-")
	if err != nil {
		return nil, fmt.Errorf("login file: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("login file: %w", err)
	}
	u := html.EscapeString(loginURL)
	page := `<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=` + u + `">
<title>kubectl shipjob ui</title></head>
<body><p>Opening <a href="` + u + `">kubectl shipjob ui</a>…</p></body></html>
`
	path := filepath.Join(dir, "login.html")
	if err := os.WriteFile(path, []byte(page), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("login file: %w", err)
	}
	return &loginFile{dir: dir, path: path}, nil
}

// remove deletes the file and its dir (once; later calls do nothing).
func (f *loginFile) remove() {
	f.once.Do(func() { _ = os.RemoveAll(f.dir) })
}
