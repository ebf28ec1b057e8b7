package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func validateCmd(args []string) error {
	fs := flag.NewFlagSet("validate", flag.ExitOnError)
	manifest := fs.String("manifest", "krew/shipjob.yaml", "rendered manifest")
	dir := fs.String("dir", "dist", "directory holding the archives")
	url := fs.String("url", "", "URL prefix the manifest's archives have")
	validator := fs.String("validator", "validate-krew-manifest", "validate-krew-manifest binary")
	krew := fs.String("krew", "krew", "krew binary (run as kubectl krew)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("validate: -url is required")
	}
	return validate(*manifest, *dir, *url, *validator, *krew)
}

// validate runs validate-krew-manifest with its install check on every
// platform: the archives in dir are served on a loopback port and the
// manifest's URL prefix is pointed at it; nothing else changes.
func validate(manifest, dir, url, validator, krew string) error {
	data, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(url, "/") {
		url += "/"
	}
	if !strings.Contains(string(data), "uri: "+url) {
		return fmt.Errorf("%s has no uri under %s", manifest, url)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(ln)
	defer srv.Close()

	tmp, err := os.MkdirTemp("", "shipjob-krew-validate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	local := strings.ReplaceAll(string(data), "uri: "+url, "uri: http://"+ln.Addr().String()+"/")
	localManifest := filepath.Join(tmp, filepath.Base(manifest))
	if err := os.WriteFile(localManifest, []byte(local), 0o644); err != nil {
		return err
	}
	krewPath, err := filepath.Abs(krew)
	if err != nil {
		return err
	}
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(krewPath, filepath.Join(bin, "kubectl-krew")); err != nil {
		return err
	}
	cmd := exec.Command(validator, "-manifest", localManifest)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
